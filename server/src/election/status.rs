//! What readers see of an election: a snapshot of its record, taken after
//! each commit, and the status document built from it and the manifest.

use serde::Serialize;

use super::ElectionId;
use urne_crypto::manifest::Manifest;
use urne_crypto::record::{Phase, Record};

/// The record's state as of a committed head (cheap to take: counters and
/// small sets, no per-member data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The phase.
    pub phase: Phase,
    /// Board size (entries applied).
    pub size: u64,
    /// Per constituency, in manifest order.
    pub constituencies: Vec<ConstituencyState>,
    /// The election public key (compressed point), once published.
    pub election_key: Option<[u8; 32]>,
    /// Trustees whose dealing is on the board.
    pub dealings: Vec<u32>,
    /// Trustees disqualified by a justified complaint.
    pub disqualified: Vec<u32>,
    /// Trustees whose acknowledgement covers the dealings on the board now.
    pub acknowledged: Vec<u32>,
    /// Contributors who committed.
    pub commits: Vec<u32>,
    /// Contributors who revealed.
    pub reveals: Vec<u32>,
    /// Whether the reveal window was closed.
    pub reveals_closed: bool,
    /// Whether the beacon value is posted.
    pub beacon: bool,
    /// Contributors named as withholding in the lottery seed, once posted.
    pub withheld: Option<Vec<u32>>,
    /// Whether every constituency has its seat result.
    pub complete: bool,
}

/// The changing part of one constituency's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstituencyState {
    /// Before the open: why the lottery pool cannot complete the assembly
    /// yet (`None` when it can, and from the open on).
    pub pool_shortfall: Option<String>,
    /// Members of the roster.
    pub members: u64,
    /// Members enrolled.
    pub enrolled: u64,
    /// Credentials issued.
    pub issuances: u64,
    /// Credentials issued while voting was open (their ballots the board order may link).
    pub issued_while_open: u64,
    /// Distinct ballot keys counted.
    pub ballots: u64,
    /// Trustees whose decryption share is posted.
    pub shares: Vec<u32>,
    /// Whether the tally is posted.
    pub tallied: bool,
    /// Whether the seat result is posted.
    pub seated: bool,
}

impl Snapshot {
    /// The state before the manifest is applied: nothing happened yet.
    pub fn empty(manifest: &Manifest) -> Self {
        Snapshot {
            phase: Phase::Setup,
            size: 0,
            constituencies: manifest
                .constituencies
                .iter()
                .map(|_| ConstituencyState {
                    pool_shortfall: None,
                    members: 0,
                    enrolled: 0,
                    issuances: 0,
                    issued_while_open: 0,
                    ballots: 0,
                    shares: Vec::new(),
                    tallied: false,
                    seated: false,
                })
                .collect(),
            election_key: None,
            dealings: Vec::new(),
            disqualified: Vec::new(),
            acknowledged: Vec::new(),
            commits: Vec::new(),
            reveals: Vec::new(),
            reveals_closed: false,
            beacon: false,
            withheld: None,
            complete: false,
        }
    }

    /// Takes the snapshot of `record`.
    pub fn of(record: &Record) -> Self {
        let constituencies = record
            .manifest()
            .constituencies
            .iter()
            .map(|c| {
                let (issuances, ballots) = record.counts(&c.id).unwrap_or_default();
                let (members, enrolled) = record.members_enrolled(&c.id).unwrap_or_default();
                let pool_shortfall = (record.phase() == Phase::Setup)
                    .then(|| record.pool_feasibility(&c.id).and_then(Result::err))
                    .flatten()
                    .map(|e| e.to_string());
                ConstituencyState {
                    pool_shortfall,
                    members,
                    enrolled,
                    issuances,
                    issued_while_open: record.issued_while_open(&c.id).unwrap_or_default(),
                    ballots,
                    shares: record.share_trustees(&c.id),
                    tallied: record.tally(&c.id).is_some(),
                    seated: record.seat_result(&c.id).is_some(),
                }
            })
            .collect();
        Snapshot {
            phase: record.phase(),
            size: record.size(),
            constituencies,
            election_key: record
                .election_key()
                .map(|k| k.public_key().compress().to_bytes()),
            dealings: record.dealings().keys().copied().collect(),
            disqualified: record.disqualified().iter().copied().collect(),
            acknowledged: {
                // The key needed every trustee's acknowledgement: no need to hash again.
                let waiting = if record.election_key().is_some() {
                    Vec::new()
                } else {
                    record.unacknowledged()
                };
                (1..=record.manifest().trustees.len() as u32)
                    .filter(|i| !waiting.contains(i))
                    .collect()
            },
            commits: record.commits().keys().copied().collect(),
            reveals: record.reveals().keys().copied().collect(),
            reveals_closed: record.reveals_closed().is_some(),
            beacon: record.beacon().is_some(),
            withheld: record.seed().map(|s| s.withheld.clone()),
            complete: record.is_complete(),
        }
    }
}

/// `GET /v1/elections/{id}`: the status document.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    /// Election id, hex.
    pub election: String,
    /// Title.
    pub title: &'a str,
    /// `setup`, `open`, `closed` or `seated`.
    pub phase: &'static str,
    /// Board size.
    pub size: u64,
    /// Per constituency, in manifest order.
    pub constituencies: Vec<ConstituencyStatus<'a>>,
    /// Election public key, hex, once published.
    pub election_key: Option<String>,
    /// Decryption threshold.
    pub threshold: u32,
    /// Number of trustees.
    pub trustees: usize,
    /// Trustees whose dealing is on the board.
    pub dealings: &'a [u32],
    /// Trustees disqualified by a justified complaint.
    pub disqualified: &'a [u32],
    /// Trustees whose acknowledgement covers the dealings on the board now
    /// (the election key needs every trustee).
    pub acknowledged: &'a [u32],
    /// Voting opens (Unix seconds, from the manifest).
    pub voting_opens: u64,
    /// Voting closes (Unix seconds, from the manifest).
    pub voting_closes: u64,
    /// The lottery's progress.
    pub lottery: LotteryStatus<'a>,
    /// Names of the witnesses that cosign the board's checkpoints.
    pub witnesses: Vec<&'a str>,
    /// Cosignatures of distinct witnesses that make a checkpoint witnessed.
    pub witness_quorum: u32,
    /// Whether every constituency has its seat result.
    pub complete: bool,
}

/// One constituency in the status document.
#[derive(Debug, Serialize)]
pub struct ConstituencyStatus<'a> {
    /// Id.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Candidates in ballot order.
    pub candidates: Vec<CandidateStatus<'a>>,
    /// Fewest approvals on a ballot.
    pub approval_min: u32,
    /// Most approvals on a ballot.
    pub approval_max: u32,
    /// Seats in total.
    pub seats: u32,
    /// Seats drawn by lot.
    pub lottery_seats: u32,
    /// The per-category quotas of the assembly (elected + drawn).
    pub quotas: Vec<QuotaStatus<'a>>,
    /// The parity rule: `none`, `max-share <percent>` or `alternating`.
    pub parity: String,
    /// Before the open: why the lottery pool cannot complete the assembly
    /// yet, whatever the vote (the open is refused until it can).
    pub pool_shortfall: Option<&'a str>,
    /// Members of the roster.
    pub members: u64,
    /// Members enrolled.
    pub enrolled: u64,
    /// Credentials issued.
    pub issuances: u64,
    /// Credentials issued while voting was open: the board order may link
    /// such a credential to its ballot (§10).
    pub issued_while_open: u64,
    /// Distinct ballot keys counted.
    pub ballots: u64,
    /// Trustees whose decryption share is posted.
    pub shares: &'a [u32],
    /// Whether the tally is posted.
    pub tallied: bool,
    /// Whether the seat result is posted.
    pub seated: bool,
}

/// One category's quota in the status document.
#[derive(Debug, Serialize)]
pub struct QuotaStatus<'a> {
    /// The category.
    pub category: &'a str,
    /// Fewest seats it must hold.
    pub min: u32,
    /// Most seats it may hold.
    pub max: u32,
}

/// One candidate in the status document.
#[derive(Debug, Serialize)]
pub struct CandidateStatus<'a> {
    /// Candidate id.
    pub id: &'a str,
    /// Quota category.
    pub category: &'a str,
}

/// The lottery in the status document.
#[derive(Debug, Serialize)]
pub struct LotteryStatus<'a> {
    /// `drbg` or `rfc3797`.
    pub method: &'static str,
    /// DRBG: the beacon network's name, as the manifest gives it.
    pub beacon_network: Option<&'a str>,
    /// DRBG: the round the draw waits for.
    pub beacon_round: Option<u64>,
    /// Number of contributors in the manifest.
    pub contributors: usize,
    /// The contributors' names, by index − 1.
    pub contributor_names: Vec<&'a str>,
    /// Contributors who committed.
    pub commits: &'a [u32],
    /// Contributors who revealed.
    pub reveals: &'a [u32],
    /// Whether the reveal window was closed.
    pub reveals_closed: bool,
    /// Whether the beacon value is posted.
    pub beacon: bool,
    /// Whether the lottery seed is posted.
    pub seed: bool,
    /// Contributors excluded for withholding their reveal (once the seed is posted).
    pub withheld: &'a [u32],
}

impl<'a> Status<'a> {
    /// The status document of election `id` with `manifest`, at `snapshot`.
    pub fn new(id: &ElectionId, manifest: &'a Manifest, snapshot: &'a Snapshot) -> Self {
        let constituencies = manifest
            .constituencies
            .iter()
            .zip(&snapshot.constituencies)
            .map(|(c, s)| ConstituencyStatus {
                id: &c.id,
                name: &c.name,
                candidates: c
                    .candidates
                    .iter()
                    .map(|k| CandidateStatus {
                        id: &k.id,
                        category: &k.category,
                    })
                    .collect(),
                approval_min: c.approval_min,
                approval_max: c.approval_max,
                seats: c.rules.seats,
                lottery_seats: c.rules.lottery_seats,
                quotas: c
                    .rules
                    .quotas
                    .iter()
                    .map(|q| QuotaStatus {
                        category: &q.category,
                        min: q.min,
                        max: q.max,
                    })
                    .collect(),
                parity: c.rules.parity.to_string(),
                pool_shortfall: s.pool_shortfall.as_deref(),
                members: s.members,
                enrolled: s.enrolled,
                issuances: s.issuances,
                issued_while_open: s.issued_while_open,
                ballots: s.ballots,
                shares: &s.shares,
                tallied: s.tallied,
                seated: s.seated,
            })
            .collect();
        Status {
            election: id.to_hex(),
            title: &manifest.title,
            phase: snapshot.phase.name(),
            size: snapshot.size,
            constituencies,
            election_key: snapshot.election_key.map(hex::encode),
            threshold: manifest.threshold,
            trustees: manifest.trustees.len(),
            dealings: &snapshot.dealings,
            disqualified: &snapshot.disqualified,
            acknowledged: &snapshot.acknowledged,
            voting_opens: manifest.voting_opens,
            voting_closes: manifest.voting_closes,
            lottery: LotteryStatus {
                method: manifest.lottery.method.name(),
                beacon_network: manifest.lottery.beacon.as_ref().map(|b| b.network.as_str()),
                beacon_round: manifest.lottery.beacon.as_ref().map(|b| b.round),
                contributors: manifest.lottery.contributors.len(),
                contributor_names: manifest
                    .lottery
                    .contributors
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect(),
                commits: &snapshot.commits,
                reveals: &snapshot.reveals,
                reveals_closed: snapshot.reveals_closed,
                beacon: snapshot.beacon,
                seed: snapshot.withheld.is_some(),
                withheld: snapshot.withheld.as_deref().unwrap_or(&[]),
            },
            witnesses: manifest.witnesses.iter().map(|w| w.name.as_str()).collect(),
            witness_quorum: manifest.witness_quorum,
            complete: snapshot.complete,
        }
    }
}
