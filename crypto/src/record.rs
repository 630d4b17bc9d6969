//! The election record: replays board entries in order and enforces every
//! protocol rule of §8–§9. The service runs it before accepting an entry; the
//! verifier runs it over an exported board. It keeps only O(ballot keys)
//! state, so a whole election streams through it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use curve25519_dalek::ristretto::RistrettoPoint;
use thiserror::Error;

use crate::ballot::{self, BallotStatement};
use crate::credential::CredentialContext;
use crate::elgamal::Ciphertext;
use crate::encoding::Canonical;
use crate::entry::*;
use crate::lottery::{DrawMethod, DrawSource};
use crate::manifest::{ElectionId, Manifest};
use crate::schnorr::{self, SignedMessage};
use crate::{decryption, dkg, lottery, seats};

mod snapshot;
pub use snapshot::SnapshotError;

/// The phases of an election, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Roster, enrolment, key generation, lottery commitments.
    Setup,
    /// Credential issuance and voting.
    Open,
    /// Decryption, tally, beacon and reveals.
    Closed,
    /// The seed is fixed; seat results are posted.
    Seated,
}

impl Phase {
    /// Stable name for messages and status.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Open => "open",
            Phase::Closed => "closed",
            Phase::Seated => "seated",
        }
    }
}

/// Why an entry breaks the election rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// Envelope problem (encoding, kind, election, signature).
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The first entry is not a valid manifest, or a second manifest appears.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The entry is not allowed in the current phase.
    #[error("{kind} not allowed in phase {phase}")]
    OutOfPhase {
        /// Entry kind name.
        kind: &'static str,
        /// Current phase name.
        phase: &'static str,
    },
    /// The entry repeats something that may happen once.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The entry refers to something unknown (member, constituency, trustee...).
    #[error("unknown: {0}")]
    Unknown(String),
    /// A cryptographic proof or signature inside the body does not verify.
    #[error("invalid proof: {0}")]
    Proof(String),
    /// A published value differs from the value recomputed from the record.
    #[error("mismatch: {0}")]
    Mismatch(String),
    /// A prerequisite entry is missing.
    #[error("missing: {0}")]
    Missing(String),
    /// The history needed to process a revote could not be read.
    #[error("history: {0}")]
    History(String),
    /// A lottery step out of its order (commit → reveal → reveals closed →
    /// beacon → seed → seats).
    #[error("lottery order: {0}")]
    LotteryOrder(String),
    /// The reveal window was closed at or after the beacon round's publication.
    #[error(
        "the reveals were closed at {at}, not before the beacon round's publication at {published}"
    )]
    BeaconRoundPassed {
        /// Board time of the closing entry.
        at: u64,
        /// Publication time of the manifest's round.
        published: u64,
    },
    /// The beacon entry does not carry the manifest's round, verified.
    #[error("beacon: {0}")]
    Beacon(#[from] crate::beacon::BeaconError),
    /// The RFC 3797 values do not match the sources the manifest declares.
    #[error("RFC 3797 values: {0}")]
    Rfc3797Values(String),
    /// The history supplied, for the ballot a revote replaces, a ballot other
    /// than the one the record counted at that index.
    #[error("history: entry {index} is not the ballot the record counted there")]
    SupersededMismatch {
        /// Board index of the replaced ballot.
        index: u64,
    },
    /// A text field is too long or holds a control character (§2.5).
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    /// A phase change outside the manifest's voting window, or before the
    /// phase change it follows.
    #[error("voting window: {0}")]
    Window(String),
    /// The election key before every trustee acknowledged the final dealings.
    #[error("trustees {0:?} have not acknowledged the dealings on the board")]
    Unacknowledged(Vec<u32>),
    /// A record snapshot cannot be restored.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

impl RecordError {
    /// Stable machine-readable code, used by the HTTP API and the verifier.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Entry(EntryError::Decode(_)) => "malformed_entry",
            RecordError::Entry(EntryError::UnknownKind(_)) => "unknown_kind",
            RecordError::Entry(EntryError::WrongElection) => "wrong_election",
            RecordError::Entry(EntryError::BadSignature) => "bad_signature",
            RecordError::Manifest(_) => "bad_manifest",
            RecordError::OutOfPhase { .. } => "out_of_phase",
            RecordError::Duplicate(_) => "duplicate",
            RecordError::Unknown(_) => "unknown_reference",
            RecordError::Proof(_) => "invalid_proof",
            RecordError::Mismatch(_) => "mismatch",
            RecordError::Missing(_) => "missing_prerequisite",
            RecordError::History(_) => "history_unavailable",
            RecordError::LotteryOrder(_) => "lottery_out_of_order",
            RecordError::BeaconRoundPassed { .. } => "beacon_round_passed",
            RecordError::Beacon(_) => "bad_beacon",
            RecordError::Rfc3797Values(_) => "bad_rfc3797_values",
            RecordError::SupersededMismatch { .. } => "history_mismatch",
            RecordError::Text(_) => "invalid_text",
            RecordError::Window(_) => "outside_voting_window",
            RecordError::Unacknowledged(_) => "missing_acknowledgement",
            RecordError::Snapshot(_) => "bad_snapshot",
        }
    }
}

/// A roster line's pool pseudonym and category within their §2.5 limits.
fn check_roster_text(m: &RosterMember) -> Result<(), crate::text::TextError> {
    use crate::text::{check, TextField};
    check(TextField::Id, "pool pseudonym", &m.pool_pseudonym)?;
    check(TextField::Category, "category", &m.category)
}

/// Read access to earlier ballots, needed when a ballot key votes again
/// (its earlier ballot leaves the aggregate).
pub trait BallotHistory {
    /// The ballot at board index `index`.
    fn ballot_at(&self, index: u64) -> Result<Ballot, String>;
}

/// Whether [`Record::apply`] verifies ballot proofs itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BallotCheck {
    /// Verify credential, signature and proofs of every ballot.
    Full,
    /// The caller has verified (or will batch-verify) ballot cryptography;
    /// every other rule is still enforced.
    Deferred,
    /// As [`BallotCheck::Deferred`], for the service replaying its own store,
    /// whose entries were decoded strictly and verified when appended: ballots
    /// are read as [`StoredBallot`]s (no canonical re-encoding check, only the
    /// ciphertexts decompressed). Never for entries from outside the service.
    Stored,
}

/// What applying an entry did, for callers that track more than the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Nothing beyond the record's own state.
    Recorded,
    /// A ballot was counted; `superseded` is the board index of the earlier
    /// ballot by the same key, if any.
    Ballot {
        /// Index of the ballot this one replaces.
        superseded: Option<u64>,
    },
    /// An attestation over an earlier checkpoint (checked by the caller
    /// against the Merkle tree).
    Attestation(Attestation),
}

#[derive(Default, Clone)]
struct ConstituencyState {
    /// Members of the roster in this constituency.
    members: u64,
    /// Of them, members enrolled.
    enrolled: u64,
    /// Lottery pool members per category.
    pool_categories: BTreeMap<String, u64>,
    issuances: u64,
    /// Issuances recorded after the open entry: their ballots may be linked by board order.
    issued_while_open: u64,
    /// Ballot key → the ballot it counts: board index and [`ballot_digest`].
    ballots: HashMap<[u8; 32], CountedBallot>,
    aggregate: Vec<Ciphertext>,
    /// Digests of the ballots that revotes replaced (a replayed one is refused).
    superseded: BTreeSet<[u8; 32]>,
    shares: BTreeMap<u32, decryption::DecryptionShare>,
    tally: Option<Tally>,
    seats: Option<SeatResult>,
}

/// How a constituency's seats came about ([`Record::explain_seats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatExplanation {
    /// Every group of candidates with equal votes, in ranking order (§7.4).
    pub ties: Vec<seats::Tie>,
    /// Every draw of §7.7, the seats' then the replacements'.
    pub steps: Vec<lottery::DrawStep>,
    /// The informative replacement ranks, in order.
    pub replacements: Vec<lottery::DrawnSeat>,
}

/// The inputs and outputs of §7.4 and §7.7 for one constituency.
struct SeatWork {
    candidates: Vec<seats::Candidate>,
    tie_seed: [u8; 32],
    elected: Vec<seats::ElectedSeat>,
    draw: lottery::Draw,
    steps: Vec<lottery::DrawStep>,
}

/// The ballot a ballot key counts: where it is on the board and its digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CountedBallot {
    index: u64,
    digest: [u8; 32],
}

/// `TaggedHash("urne/v1/ballot-digest", canonical ballot bytes)`: identifies a
/// ballot for the replay rule of revotes and pins the ballot a revote replaces.
pub fn ballot_digest(ballot: &Ballot) -> [u8; 32] {
    ballot_bytes_digest(&ballot.to_bytes())
}

/// [`ballot_digest`] of a ballot given by its canonical bytes.
fn ballot_bytes_digest(bytes: &[u8]) -> [u8; 32] {
    crate::hash::tagged("urne/v1/ballot-digest", &[bytes])
}

/// The replayed state of one election.
#[derive(Clone)]
pub struct Record {
    manifest: Manifest,
    election: ElectionId,
    board_key: [u8; 32],
    phase: Phase,
    next_index: u64,
    members: HashMap<[u8; 32], RosterMember>,
    pool: BTreeMap<String, Vec<lottery::PoolMember>>,
    enrolled: HashMap<[u8; 32], [u8; 32]>,
    /// The values of `enrolled`, so a reused member key is found in O(1).
    enrolled_keys: HashSet<[u8; 32]>,
    credentialed: BTreeSet<[u8; 32]>,
    dkg_params: dkg::DkgParams,
    dealings: BTreeMap<u32, dkg::DealerMessage>,
    complaints: Vec<dkg::Complaint>,
    disqualified: BTreeSet<u32>,
    /// Trustee → the [`dealings_digest`] of its latest acknowledgement.
    acknowledgements: BTreeMap<u32, [u8; 32]>,
    election_key: Option<ElectionKey>,
    /// Board times of the open and close entries.
    opened_at: Option<u64>,
    closed_at: Option<u64>,
    constituencies: Vec<ConstituencyState>,
    commits: BTreeMap<u32, [u8; 32]>,
    reveals: BTreeMap<u32, [u8; 32]>,
    reveals_closed: Option<RevealsClosed>,
    beacon: Option<BeaconValue>,
    seed: Option<LotterySeed>,
}

impl Record {
    /// Starts a record from the manifest entry (board index 0).
    pub fn open(entry: &Entry) -> Result<Self, RecordError> {
        if entry.kind()? != EntryKind::Manifest {
            return Err(RecordError::Manifest(
                "first entry is not a manifest".into(),
            ));
        }
        let manifest: Manifest = entry.body()?;
        manifest
            .validate()
            .map_err(|e| RecordError::Manifest(e.to_string()))?;
        let election = manifest.election_id();
        if entry.election != election {
            return Err(EntryError::WrongElection.into());
        }
        entry.verify_signer(&manifest.board_key)?;
        let dkg_params = manifest
            .dkg_params()
            .map_err(|e| RecordError::Manifest(e.to_string()))?;
        let constituencies = manifest
            .constituencies
            .iter()
            .map(|c| ConstituencyState {
                aggregate: vec![Ciphertext::zero(); c.candidates.len()],
                ..Default::default()
            })
            .collect();
        Ok(Record {
            board_key: manifest.board_key,
            manifest,
            election,
            phase: Phase::Setup,
            next_index: 1,
            members: HashMap::new(),
            pool: BTreeMap::new(),
            enrolled: HashMap::new(),
            enrolled_keys: HashSet::new(),
            credentialed: BTreeSet::new(),
            dkg_params,
            dealings: BTreeMap::new(),
            complaints: Vec::new(),
            disqualified: BTreeSet::new(),
            acknowledgements: BTreeMap::new(),
            election_key: None,
            opened_at: None,
            closed_at: None,
            constituencies,
            commits: BTreeMap::new(),
            reveals: BTreeMap::new(),
            reveals_closed: None,
            beacon: None,
            seed: None,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The election id.
    pub fn election(&self) -> &ElectionId {
        &self.election
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Number of entries applied (the board size).
    pub fn size(&self) -> u64 {
        self.next_index
    }

    /// The published election key, once key generation is complete.
    pub fn election_key(&self) -> Option<&ElectionKey> {
        self.election_key.as_ref()
    }

    /// The roster line of a member, if any.
    pub fn member(&self, member: &[u8; 32]) -> Option<&RosterMember> {
        self.members.get(member)
    }

    /// The enrolled key of a member, if any.
    pub fn member_key(&self, member: &[u8; 32]) -> Option<&[u8; 32]> {
        self.enrolled.get(member)
    }

    /// Whether a member has already obtained its credential.
    pub fn has_credential(&self, member: &[u8; 32]) -> bool {
        self.credentialed.contains(member)
    }

    /// DKG dealings received so far, by dealer index.
    pub fn dealings(&self) -> &BTreeMap<u32, dkg::DealerMessage> {
        &self.dealings
    }

    /// Dealers disqualified by a justified complaint.
    pub fn disqualified(&self) -> &BTreeSet<u32> {
        &self.disqualified
    }

    /// Trustee → the dealings digest of its latest acknowledgement.
    pub fn acknowledgements(&self) -> &BTreeMap<u32, [u8; 32]> {
        &self.acknowledgements
    }

    /// The [`dealings_digest`] of the dealings on the board now.
    pub fn dealings_digest(&self) -> [u8; 32] {
        dealings_digest(&self.election, self.dealings.values())
    }

    /// Trustees of the manifest without an acknowledgement of the dealings on the board now.
    pub fn unacknowledged(&self) -> Vec<u32> {
        let now = self.dealings_digest();
        self.manifest
            .trustees
            .iter()
            .map(|t| t.index)
            .filter(|i| self.acknowledgements.get(i) != Some(&now))
            .collect()
    }

    /// Board times (Unix seconds) of the open and close entries, once posted.
    pub fn phase_times(&self) -> (Option<u64>, Option<u64>) {
        (self.opened_at, self.closed_at)
    }

    /// Credentials of `constituency` issued while voting was open (their
    /// ballots are the ones the board order may link to a member).
    pub fn issued_while_open(&self, constituency: &str) -> Option<u64> {
        let i = self.cidx(constituency).ok()?;
        Some(self.constituencies[i].issued_while_open)
    }

    /// Members of the roster in `constituency`, and how many of them enrolled.
    pub fn members_enrolled(&self, constituency: &str) -> Option<(u64, u64)> {
        let i = self.cidx(constituency).ok()?;
        let c = &self.constituencies[i];
        Some((c.members, c.enrolled))
    }

    /// The key-generation parameters of this election.
    pub fn dkg_params(&self) -> &dkg::DkgParams {
        &self.dkg_params
    }

    /// Committed lottery contributors.
    pub fn commits(&self) -> &BTreeMap<u32, [u8; 32]> {
        &self.commits
    }

    /// Revealed lottery contributors.
    pub fn reveals(&self) -> &BTreeMap<u32, [u8; 32]> {
        &self.reveals
    }

    /// The verified beacon entry, once posted.
    pub fn beacon(&self) -> Option<&BeaconValue> {
        self.beacon.as_ref()
    }

    /// The entry that closed the reveal window, once posted.
    pub fn reveals_closed(&self) -> Option<&RevealsClosed> {
        self.reveals_closed.as_ref()
    }

    /// The contributors without a valid reveal so far, ascending (every
    /// contributor of the manifest, whether it committed or not).
    pub fn withheld_now(&self) -> Vec<u32> {
        self.manifest
            .lottery
            .contributors
            .iter()
            .map(|c| c.index)
            .filter(|i| !self.reveals.contains_key(i))
            .collect()
    }

    /// The lottery seed entry, once posted.
    pub fn seed(&self) -> Option<&LotterySeed> {
        self.seed.as_ref()
    }

    /// The tie seed the seat allocation breaks equal counts with (§7.6),
    /// once the lottery seed is posted.
    pub fn tie_seed(&self) -> Option<[u8; 32]> {
        let seed = self.seed.as_ref()?;
        self.draw_source(&seed.seed).ok().map(|s| s.tie_seed())
    }

    fn cidx(&self, id: &str) -> Result<usize, RecordError> {
        self.manifest
            .constituencies
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| RecordError::Unknown(format!("constituency {id:?}")))
    }

    /// Per-constituency counters: (issuances, distinct ballot keys).
    pub fn counts(&self, constituency: &str) -> Option<(u64, u64)> {
        let i = self.cidx(constituency).ok()?;
        let c = &self.constituencies[i];
        Some((c.issuances, c.ballots.len() as u64))
    }

    /// Total distinct ballot keys over all constituencies (ballots counted).
    pub fn ballots_counted(&self) -> u64 {
        self.constituencies
            .iter()
            .map(|c| c.ballots.len() as u64)
            .sum()
    }

    /// The homomorphic aggregate of the counted ballots of a constituency.
    pub fn aggregate(&self, constituency: &str) -> Result<&[Ciphertext], RecordError> {
        Ok(&self.constituencies[self.cidx(constituency)?].aggregate)
    }

    /// The published tally of a constituency, if any.
    pub fn tally(&self, constituency: &str) -> Option<&Tally> {
        self.constituencies[self.cidx(constituency).ok()?]
            .tally
            .as_ref()
    }

    /// The published seat result of a constituency, if any.
    pub fn seat_result(&self, constituency: &str) -> Option<&SeatResult> {
        self.constituencies[self.cidx(constituency).ok()?]
            .seats
            .as_ref()
    }

    /// Trustee indices that posted a decryption share for a constituency.
    pub fn share_trustees(&self, constituency: &str) -> Vec<u32> {
        self.cidx(constituency)
            .map(|i| self.constituencies[i].shares.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The lottery pool of a constituency, sorted by pseudonym.
    pub fn pool(&self, constituency: &str) -> &[lottery::PoolMember] {
        self.pool
            .get(constituency)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn phase_is(&self, kind: EntryKind, allowed: &[Phase]) -> Result<(), RecordError> {
        if allowed.contains(&self.phase) {
            Ok(())
        } else {
            Err(RecordError::OutOfPhase {
                kind: kind.name(),
                phase: self.phase.name(),
            })
        }
    }

    /// Key-generation messages are allowed in setup, until the election key is published.
    fn before_election_key(&self, kind: EntryKind) -> Result<(), RecordError> {
        self.phase_is(kind, &[Phase::Setup])?;
        if self.election_key.is_some() {
            return Err(RecordError::OutOfPhase {
                kind: kind.name(),
                phase: "key published",
            });
        }
        Ok(())
    }

    fn trustee_key(&self, index: u32) -> Result<[u8; 32], RecordError> {
        self.manifest
            .trustees
            .get((index as usize).wrapping_sub(1))
            .map(|t| t.signing_key)
            .ok_or_else(|| RecordError::Unknown(format!("trustee {index}")))
    }

    /// Applies the entry at board index [`Record::size`]. On error the record
    /// is unchanged.
    pub fn apply(
        &mut self,
        entry: &Entry,
        check: BallotCheck,
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        if entry.election != self.election {
            return Err(EntryError::WrongElection.into());
        }
        let kind = entry.kind()?;
        let applied = self.apply_kind(kind, entry, check, history)?;
        self.next_index += 1;
        Ok(applied)
    }

    /// Applies a ballot entry whose body the caller has already decoded from
    /// `entry.body` (a verifier decodes ballots on worker threads, where it
    /// also verifies them, and must not decode them twice). `ballot` MUST be
    /// `entry.body()`; the rules and their order are those of [`Record::apply`].
    pub fn apply_ballot_entry(
        &mut self,
        entry: &Entry,
        ballot: &Ballot,
        check: BallotCheck,
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        if entry.election != self.election {
            return Err(EntryError::WrongElection.into());
        }
        let kind = entry.kind()?;
        if kind != EntryKind::Ballot {
            return self.apply(entry, check, history);
        }
        self.ballot_envelope(entry)?;
        let applied = self.apply_ballot(ballot, check, history)?;
        self.next_index += 1;
        Ok(applied)
    }

    /// Applies an entry of the service's own store, as [`Record::apply`]
    /// with [`BallotCheck::Stored`], given for a ballot entry the
    /// [`StoredBallot`] the caller has already read from `entry.body` (the
    /// service reads a page of them on worker threads). `stored` MUST be
    /// `StoredBallot::from_stored_bytes(&entry.body)`.
    pub fn apply_stored_ballot(
        &mut self,
        entry: &Entry,
        stored: &StoredBallot,
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        if entry.election != self.election {
            return Err(EntryError::WrongElection.into());
        }
        if entry.kind()? != EntryKind::Ballot {
            return self.apply(entry, BallotCheck::Stored, history);
        }
        self.ballot_envelope(entry)?;
        let applied = self.count_stored_ballot(entry, stored, history)?;
        self.next_index += 1;
        Ok(applied)
    }

    fn count_stored_ballot(
        &mut self,
        entry: &Entry,
        stored: &StoredBallot,
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        let i = self.ballot_constituency(&stored.constituency, &stored.ciphertexts)?;
        let digest = ballot_bytes_digest(&entry.body);
        self.count_ballot(i, stored.ballot_key, &stored.ciphertexts, digest, history)
    }

    fn ballot_envelope(&self, entry: &Entry) -> Result<(), RecordError> {
        self.phase_is(EntryKind::Ballot, &[Phase::Open])?;
        if !entry.is_anonymous() {
            return Err(RecordError::Entry(EntryError::BadSignature));
        }
        Ok(())
    }

    fn apply_kind(
        &mut self,
        kind: EntryKind,
        entry: &Entry,
        check: BallotCheck,
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        use EntryKind as K;
        let board = self.board_key;
        match kind {
            K::Manifest => Err(RecordError::Manifest("second manifest".into())),
            K::Roster => {
                self.phase_is(kind, &[Phase::Setup])?;
                entry.verify_signer(&board)?;
                let roster: Roster = entry.body()?;
                self.apply_roster(roster)
            }
            K::Enrollment => {
                self.phase_is(kind, &[Phase::Setup, Phase::Open])?;
                let e: Enrollment = entry.body()?;
                entry.verify_signer(&e.member_key)?;
                if !self.members.contains_key(&e.member) {
                    return Err(RecordError::Unknown("member not on the roster".into()));
                }
                if self.enrolled.contains_key(&e.member) {
                    return Err(RecordError::Duplicate("member already enrolled".into()));
                }
                if self.enrolled_keys.contains(&e.member_key) {
                    return Err(RecordError::Duplicate("member key already used".into()));
                }
                if let Some(i) = self
                    .members
                    .get(&e.member)
                    .and_then(|m| self.cidx(&m.constituency).ok())
                {
                    self.constituencies[i].enrolled += 1;
                }
                self.enrolled.insert(e.member, e.member_key);
                self.enrolled_keys.insert(e.member_key);
                Ok(Applied::Recorded)
            }
            K::DkgDealing => {
                self.before_election_key(kind)?;
                let d: DkgDealing = entry.body()?;
                let dealer = d.dealer;
                entry.verify_signer(&self.trustee_key(dealer)?)?;
                if self.dealings.contains_key(&dealer) {
                    return Err(RecordError::Duplicate(format!(
                        "dealing of trustee {dealer}"
                    )));
                }
                dkg::verify_dealer_message(&self.dkg_params, &d)
                    .map_err(|e| RecordError::Proof(e.to_string()))?;
                self.dealings.insert(dealer, d);
                Ok(Applied::Recorded)
            }
            K::DkgComplaint => {
                self.before_election_key(kind)?;
                let c: DkgComplaint = entry.body()?;
                entry.verify_signer(&self.trustee_key(c.complainant)?)?;
                if self.acknowledgements.get(&c.complainant) == Some(&self.dealings_digest()) {
                    return Err(RecordError::Mismatch(format!(
                        "trustee {} complains about dealings it acknowledged",
                        c.complainant
                    )));
                }
                let dealer = c.dealer;
                let dealing = self
                    .dealings
                    .get(&dealer)
                    .ok_or_else(|| RecordError::Unknown(format!("dealing of trustee {dealer}")))?;
                if self
                    .complaints
                    .iter()
                    .any(|k| k.complainant == c.complainant && k.dealer == dealer)
                {
                    return Err(RecordError::Duplicate(format!(
                        "complaint of trustee {} against {dealer}",
                        c.complainant
                    )));
                }
                let fault = dkg::verify_complaint(&self.dkg_params, dealing, &c)
                    .map_err(|e| RecordError::Proof(e.to_string()))?;
                if fault != dkg::Fault::Dealer(dealer) {
                    return Err(RecordError::Proof(format!(
                        "complaint against trustee {dealer} is refuted"
                    )));
                }
                self.disqualified.insert(dealer);
                self.complaints.push(c);
                Ok(Applied::Recorded)
            }
            K::DkgAcknowledgement => {
                self.before_election_key(kind)?;
                let a: DkgAcknowledgement = entry.body()?;
                entry.verify_signer(&self.trustee_key(a.trustee)?)?;
                if a.dealings != self.dealings_digest() {
                    return Err(RecordError::Mismatch(format!(
                        "trustee {} acknowledges other dealings than those on the board",
                        a.trustee
                    )));
                }
                if self.acknowledgements.get(&a.trustee) == Some(&a.dealings) {
                    return Err(RecordError::Duplicate(format!(
                        "acknowledgement of trustee {}",
                        a.trustee
                    )));
                }
                self.acknowledgements.insert(a.trustee, a.dealings);
                Ok(Applied::Recorded)
            }
            K::ElectionKey => {
                self.phase_is(kind, &[Phase::Setup])?;
                entry.verify_signer(&board)?;
                if self.election_key.is_some() {
                    return Err(RecordError::Duplicate("election key".into()));
                }
                let waiting = self.unacknowledged();
                if !waiting.is_empty() {
                    return Err(RecordError::Unacknowledged(waiting));
                }
                let k: ElectionKey = entry.body()?;
                let expected = self.compute_election_key()?;
                if k != expected {
                    return Err(RecordError::Mismatch(
                        "election key differs from the DKG transcript".into(),
                    ));
                }
                self.election_key = Some(k);
                Ok(Applied::Recorded)
            }
            K::Open => {
                self.phase_is(kind, &[Phase::Setup])?;
                entry.verify_signer(&board)?;
                let p: PhaseChange = entry.body()?;
                if self.election_key.is_none() {
                    return Err(RecordError::Missing("election key".into()));
                }
                let m = &self.manifest;
                if p.at < m.voting_opens || p.at >= m.voting_closes {
                    return Err(RecordError::Window(format!(
                        "opened at {}, outside the manifest's voting window [{}, {})",
                        p.at, m.voting_opens, m.voting_closes
                    )));
                }
                self.check_pools()?;
                self.opened_at = Some(p.at);
                self.phase = Phase::Open;
                Ok(Applied::Recorded)
            }
            K::Issuance => {
                self.phase_is(kind, &[Phase::Setup, Phase::Open])?;
                if self.election_key.is_none() {
                    return Err(RecordError::Missing("election key".into()));
                }
                let r: Issuance = entry.body()?;
                let key = *self
                    .enrolled
                    .get(&r.member)
                    .ok_or_else(|| RecordError::Unknown("member not enrolled".into()))?;
                entry.verify_signer(&key)?;
                let line = &self.members[&r.member];
                if line.constituency != r.constituency {
                    return Err(RecordError::Mismatch(
                        "issuance for another constituency".into(),
                    ));
                }
                if self.credentialed.contains(&r.member) {
                    return Err(RecordError::Duplicate(
                        "second credential for a member".into(),
                    ));
                }
                let i = self.cidx(&r.constituency)?;
                self.credentialed.insert(r.member);
                self.constituencies[i].issuances += 1;
                if self.phase == Phase::Open {
                    self.constituencies[i].issued_while_open += 1;
                }
                Ok(Applied::Recorded)
            }
            K::Ballot => {
                self.ballot_envelope(entry)?;
                if check == BallotCheck::Stored {
                    let stored =
                        StoredBallot::from_stored_bytes(&entry.body).map_err(EntryError::from)?;
                    return self.count_stored_ballot(entry, &stored, history);
                }
                let ballot: Ballot = entry.body()?;
                self.apply_ballot(&ballot, check, history)
            }
            K::Close => {
                self.phase_is(kind, &[Phase::Open])?;
                entry.verify_signer(&board)?;
                let p: PhaseChange = entry.body()?;
                let earliest = self.manifest.voting_closes.max(self.opened_at.unwrap_or(0));
                if p.at < earliest {
                    return Err(RecordError::Window(format!(
                        "closed at {}, before the manifest's voting close {} (or the open)",
                        p.at, self.manifest.voting_closes
                    )));
                }
                self.closed_at = Some(p.at);
                self.phase = Phase::Closed;
                Ok(Applied::Recorded)
            }
            K::DecryptionShare => {
                self.phase_is(kind, &[Phase::Closed])?;
                let s: DecryptionShare = entry.body()?;
                let trustee = s.share.trustee;
                entry.verify_signer(&self.trustee_key(trustee)?)?;
                let i = self.cidx(&s.constituency)?;
                if self.constituencies[i].shares.contains_key(&trustee) {
                    return Err(RecordError::Duplicate(format!(
                        "share of trustee {trustee}"
                    )));
                }
                if self.constituencies[i].tally.is_some() {
                    return Err(RecordError::OutOfPhase {
                        kind: kind.name(),
                        phase: "tallied",
                    });
                }
                let key = self
                    .election_key
                    .as_ref()
                    .ok_or_else(|| RecordError::Missing("election key".into()))?;
                let a: Vec<RistrettoPoint> = self.constituencies[i]
                    .aggregate
                    .iter()
                    .map(|c| c.a)
                    .collect();
                decryption::verify_share(
                    key,
                    &self.election,
                    s.constituency.as_bytes(),
                    &a,
                    &s.share,
                )
                .map_err(|e| {
                    RecordError::Proof(format!("decryption share of trustee {trustee}: {e}"))
                })?;
                self.constituencies[i].shares.insert(trustee, s.share);
                Ok(Applied::Recorded)
            }
            K::Tally => {
                self.phase_is(kind, &[Phase::Closed])?;
                entry.verify_signer(&board)?;
                let t: Tally = entry.body()?;
                let i = self.cidx(&t.constituency)?;
                if self.constituencies[i].tally.is_some() {
                    return Err(RecordError::Duplicate(format!(
                        "tally of {}",
                        t.constituency
                    )));
                }
                let expected = self.compute_tally_with(&t.constituency, &t.trustees)?;
                if expected != t {
                    return Err(RecordError::Mismatch(format!(
                        "tally of {}",
                        t.constituency
                    )));
                }
                self.constituencies[i].tally = Some(t);
                Ok(Applied::Recorded)
            }
            K::LotteryCommit => {
                self.phase_is(kind, &[Phase::Setup, Phase::Open])?;
                let c: LotteryCommit = entry.body()?;
                entry.verify_signer(&self.contributor_key(c.contributor)?)?;
                if self.commits.contains_key(&c.contributor) {
                    return Err(RecordError::Duplicate(format!(
                        "commitment of contributor {}",
                        c.contributor
                    )));
                }
                self.commits.insert(c.contributor, c.commitment);
                Ok(Applied::Recorded)
            }
            K::LotteryReveal => {
                self.phase_is(kind, &[Phase::Closed])?;
                if self.reveals_closed.is_some() {
                    return Err(RecordError::LotteryOrder(
                        "a reveal after the reveal window was closed".into(),
                    ));
                }
                let r: LotteryReveal = entry.body()?;
                entry.verify_signer(&self.contributor_key(r.contributor)?)?;
                let commitment = self.commits.get(&r.contributor).ok_or_else(|| {
                    RecordError::Missing(format!("commitment of contributor {}", r.contributor))
                })?;
                if self.reveals.contains_key(&r.contributor) {
                    return Err(RecordError::Duplicate(format!(
                        "reveal of contributor {}",
                        r.contributor
                    )));
                }
                lottery::verify_reveal(&self.election, r.contributor, &r.secret, commitment)
                    .map_err(|e| RecordError::Mismatch(e.to_string()))?;
                self.reveals.insert(r.contributor, r.secret);
                Ok(Applied::Recorded)
            }
            K::RevealsClosed => {
                self.phase_is(kind, &[Phase::Closed])?;
                entry.verify_signer(&board)?;
                if self.reveals_closed.is_some() {
                    return Err(RecordError::Duplicate("closing of the reveals".into()));
                }
                let c: RevealsClosed = entry.body()?;
                if Some(c.at) < self.closed_at {
                    return Err(RecordError::Window(format!(
                        "reveals closed at {}, before the vote closed",
                        c.at
                    )));
                }
                if c.withheld != self.withheld_now() {
                    return Err(RecordError::Mismatch(
                        "the withheld contributors are not those without a valid reveal".into(),
                    ));
                }
                if let Some(b) = &self.manifest.lottery.beacon {
                    let published = b.round_time()?;
                    if c.at >= published {
                        return Err(RecordError::BeaconRoundPassed {
                            at: c.at,
                            published,
                        });
                    }
                }
                self.reveals_closed = Some(c);
                Ok(Applied::Recorded)
            }
            K::Beacon => {
                self.phase_is(kind, &[Phase::Closed])?;
                entry.verify_signer(&board)?;
                if self.beacon.is_some() {
                    return Err(RecordError::Duplicate("beacon value".into()));
                }
                if self.reveals_closed.is_none() {
                    return Err(RecordError::LotteryOrder(
                        "the beacon before the reveal window was closed".into(),
                    ));
                }
                let b: BeaconValue = entry.body()?;
                self.check_beacon(&b)?;
                self.beacon = Some(b);
                Ok(Applied::Recorded)
            }
            K::Seed => {
                self.phase_is(kind, &[Phase::Closed])?;
                entry.verify_signer(&board)?;
                if self.beacon.is_none() {
                    return Err(RecordError::LotteryOrder(
                        "the seed before the beacon".into(),
                    ));
                }
                let s: LotterySeed = entry.body()?;
                let expected = self.compute_seed()?;
                if s != expected {
                    return Err(RecordError::Mismatch("lottery seed".into()));
                }
                self.seed = Some(s);
                self.phase = Phase::Seated;
                Ok(Applied::Recorded)
            }
            K::SeatResult => {
                self.phase_is(kind, &[Phase::Seated])?;
                entry.verify_signer(&board)?;
                let r: SeatResult = entry.body()?;
                let i = self.cidx(&r.constituency)?;
                if self.constituencies[i].seats.is_some() {
                    return Err(RecordError::Duplicate(format!(
                        "seat result of {}",
                        r.constituency
                    )));
                }
                let expected = self.compute_seats(&r.constituency)?;
                if expected != r {
                    return Err(RecordError::Mismatch(format!(
                        "seat result of {}",
                        r.constituency
                    )));
                }
                self.constituencies[i].seats = Some(r);
                Ok(Applied::Recorded)
            }
            K::Attestation => {
                entry.verify_signature()?;
                let a: Attestation = entry.body()?;
                if a.size > self.next_index {
                    return Err(RecordError::Mismatch(
                        "attestation of a future checkpoint".into(),
                    ));
                }
                Ok(Applied::Attestation(a))
            }
        }
    }

    fn contributor_key(&self, index: u32) -> Result<[u8; 32], RecordError> {
        self.manifest
            .lottery
            .contributors
            .get((index as usize).wrapping_sub(1))
            .map(|c| c.signing_key)
            .ok_or_else(|| RecordError::Unknown(format!("contributor {index}")))
    }

    fn apply_roster(&mut self, roster: Roster) -> Result<Applied, RecordError> {
        let mut seen = BTreeSet::new();
        // One namespace (§8.3): a pool pseudonym that is a candidate id names that candidate.
        let candidates: HashMap<&str, (&str, &str)> = self
            .manifest
            .constituencies
            .iter()
            .flat_map(|c| {
                c.candidates
                    .iter()
                    .map(move |k| (k.id.as_str(), (c.id.as_str(), k.category.as_str())))
            })
            .collect();
        for m in &roster.members {
            self.cidx(&m.constituency)?;
            check_roster_text(m)?;
            if self.members.contains_key(&m.member) || !seen.insert(m.member) {
                return Err(RecordError::Duplicate("member listed twice".into()));
            }
            if !m.pool_pseudonym.is_empty() {
                if m.member != member_id(&self.election, &m.pool_pseudonym) {
                    return Err(RecordError::Mismatch(format!(
                        "pool pseudonym {:?} is not the member's pseudonym",
                        m.pool_pseudonym
                    )));
                }
                if let Some(&(constituency, category)) = candidates.get(m.pool_pseudonym.as_str()) {
                    if constituency != m.constituency || category != m.category {
                        return Err(RecordError::Mismatch(format!(
                            "pool member {:?} is the candidate of {constituency:?} in category \
                             {category:?}, not a member of {:?} in category {:?}",
                            m.pool_pseudonym, m.constituency, m.category
                        )));
                    }
                }
                let pool = self
                    .pool
                    .get(&m.constituency)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                // The pool is kept sorted by id.
                if pool
                    .binary_search_by(|p| p.id.as_str().cmp(&m.pool_pseudonym))
                    .is_ok()
                {
                    return Err(RecordError::Duplicate(format!(
                        "pool pseudonym {:?}",
                        m.pool_pseudonym
                    )));
                }
            }
        }
        let mut grown = BTreeSet::new();
        for m in roster.members {
            if !m.pool_pseudonym.is_empty() {
                let pool = self.pool.entry(m.constituency.clone()).or_default();
                pool.push(lottery::PoolMember {
                    id: m.pool_pseudonym.clone(),
                    category: m.category.clone(),
                });
                grown.insert(m.constituency.clone());
                if let Ok(i) = self.cidx(&m.constituency) {
                    *self.constituencies[i]
                        .pool_categories
                        .entry(m.category.clone())
                        .or_insert(0) += 1;
                }
            }
            if let Ok(i) = self.cidx(&m.constituency) {
                self.constituencies[i].members += 1;
            }
            self.members.insert(m.member, m);
        }
        // Sorted again once per entry, not per member: the new members form
        // a run after the sorted old ones, which the sort merges in linear time.
        for constituency in grown {
            if let Some(pool) = self.pool.get_mut(&constituency) {
                pool.sort_by(|a, b| a.id.cmp(&b.id));
            }
        }
        Ok(Applied::Recorded)
    }

    /// The context that ballot verification needs, once the election key is
    /// published; it is independent of later entries, so it can be handed to
    /// worker threads while the record moves on.
    pub fn ballot_verifier(&self) -> Result<BallotVerifier, RecordError> {
        let key = self
            .election_key
            .as_ref()
            .ok_or_else(|| RecordError::Missing("election key".into()))?;
        Ok(BallotVerifier {
            manifest: self.manifest.clone(),
            election: self.election,
            public_key: *key.public_key(),
        })
    }

    /// Verifies a ballot's credential, signature and proofs (§4, §8.4).
    pub fn verify_ballot(&self, ballot: &Ballot) -> Result<(), RecordError> {
        self.ballot_verifier()?.verify(ballot)
    }

    fn apply_ballot(
        &mut self,
        ballot: &Ballot,
        check: BallotCheck,
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        let body = &ballot.body;
        let i = self.ballot_constituency(&body.constituency, body.vote.ciphertexts())?;
        if check == BallotCheck::Full {
            self.verify_ballot(ballot)?;
        }
        let key = *body.ballot_key.as_bytes();
        self.count_ballot(
            i,
            key,
            body.vote.ciphertexts(),
            ballot_digest(ballot),
            history,
        )
    }

    /// The index of a ballot's constituency, if it has one ciphertext per candidate.
    fn ballot_constituency(
        &self,
        constituency: &str,
        ciphertexts: &[Ciphertext],
    ) -> Result<usize, RecordError> {
        let i = self.cidx(constituency)?;
        let n = self.manifest.constituencies[i].candidates.len();
        if ciphertexts.len() != n {
            return Err(RecordError::Proof("wrong number of ciphertexts".into()));
        }
        Ok(i)
    }

    /// Counts the ballot of `key` in constituency `i`, replacing the one it
    /// counted before (a revote).
    fn count_ballot(
        &mut self,
        i: usize,
        key: [u8; 32],
        ciphertexts: &[Ciphertext],
        new_digest: [u8; 32],
        history: &dyn BallotHistory,
    ) -> Result<Applied, RecordError> {
        let constituency = &self.manifest.constituencies[i].id;
        let state = &self.constituencies[i];
        let counted = state.ballots.get(&key).copied();
        let superseded = counted.map(|c| c.index);
        if counted.is_none() && state.ballots.len() as u64 >= state.issuances {
            return Err(RecordError::Mismatch(format!(
                "more ballot keys than credentials issued in {constituency}"
            )));
        }
        // Compute the new aggregate before touching state, so errors leave it unchanged.
        let mut aggregate = state.aggregate.clone();
        let mut replaced = None;
        if let Some(CountedBallot { index: old, digest }) = counted {
            let previous = history.ballot_at(old).map_err(RecordError::History)?;
            // Whoever supplies the history (an export, a service), the ballot
            // leaving the aggregate must be the one the record counted.
            let old_digest = ballot_digest(&previous);
            if old_digest != digest {
                return Err(RecordError::SupersededMismatch { index: old });
            }
            // A revote must be a new ballot: re-posting an earlier ballot of
            // the same key would undo the voter's later choice.
            if new_digest == old_digest || state.superseded.contains(&new_digest) {
                return Err(RecordError::Duplicate(
                    "ballot replays an earlier ballot of the same key".into(),
                ));
            }
            replaced = Some(old_digest);
            for (acc, c) in aggregate.iter_mut().zip(previous.body.vote.ciphertexts()) {
                *acc -= *c;
            }
        }
        for (acc, c) in aggregate.iter_mut().zip(ciphertexts) {
            *acc += *c;
        }
        let state = &mut self.constituencies[i];
        state.aggregate = aggregate;
        state.superseded.extend(replaced);
        state.ballots.insert(
            key,
            CountedBallot {
                index: self.next_index,
                digest: new_digest,
            },
        );
        Ok(Applied::Ballot { superseded })
    }

    fn check_pools(&self) -> Result<(), RecordError> {
        for c in &self.manifest.constituencies {
            if let Some(Err(e)) = self.pool_feasibility(&c.id) {
                return Err(RecordError::Missing(format!(
                    "seat rules of {} cannot be met: {e}",
                    c.id
                )));
            }
        }
        Ok(())
    }

    /// Whether the lottery pool of `constituency` as it stands can complete
    /// the assembly whatever the vote (§7.3); the open requires it of every
    /// constituency, and an organiser wants to know at import.
    pub fn pool_feasibility(&self, constituency: &str) -> Option<Result<(), seats::SeatError>> {
        let i = self.cidx(constituency).ok()?;
        let c = &self.manifest.constituencies[i];
        let candidates = seats::count_categories(c.candidates.iter().map(|k| k.category.as_str()));
        let pool = self.constituencies[i]
            .pool_categories
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        Some(seats::check_feasible_counts(&c.rules, &candidates, &pool))
    }

    /// The election key the DKG transcript so far determines (§5).
    pub fn compute_election_key(&self) -> Result<ElectionKey, RecordError> {
        let dealings: Vec<dkg::DealerMessage> = self.dealings.values().cloned().collect();
        let outcome =
            dkg::DkgOutcome::from_transcript(&self.dkg_params, &dealings, &self.complaints)
                .map_err(|e| RecordError::Missing(format!("key generation: {e}")))?;
        Ok(outcome.election_key)
    }

    /// The tally that the first `threshold` posted shares of `constituency` give.
    pub fn compute_tally(&self, constituency: &str) -> Result<Tally, RecordError> {
        let i = self.cidx(constituency)?;
        let trustees: Vec<u32> = self.constituencies[i]
            .shares
            .keys()
            .take(self.manifest.threshold as usize)
            .copied()
            .collect();
        self.compute_tally_with(constituency, &trustees)
    }

    fn compute_tally_with(
        &self,
        constituency: &str,
        trustees: &[u32],
    ) -> Result<Tally, RecordError> {
        let i = self.cidx(constituency)?;
        let state = &self.constituencies[i];
        let t = self.manifest.threshold as usize;
        if trustees.len() != t || trustees.windows(2).any(|w| w[0] >= w[1]) {
            return Err(RecordError::Mismatch(format!(
                "tally must combine exactly {t} distinct trustees, ascending"
            )));
        }
        let mut shares = Vec::with_capacity(t);
        for j in trustees {
            let s = state.shares.get(j).ok_or_else(|| {
                RecordError::Missing(format!("share of trustee {j} for {constituency}"))
            })?;
            shares.push(s.clone());
        }
        let key = self
            .election_key
            .as_ref()
            .ok_or_else(|| RecordError::Missing("election key".into()))?;
        let ballots = state.ballots.len() as u64;
        let a: Vec<RistrettoPoint> = state.aggregate.iter().map(|c| c.a).collect();
        let b: Vec<RistrettoPoint> = state.aggregate.iter().map(|c| c.b).collect();
        let dlog =
            decryption::DiscreteLog::new(ballots).map_err(|e| RecordError::Proof(e.to_string()))?;
        let counts = decryption::combine(
            key,
            &self.election,
            constituency.as_bytes(),
            &a,
            &b,
            &shares,
            &dlog,
        )
        .map_err(|e| RecordError::Proof(e.to_string()))?;
        Ok(Tally {
            constituency: constituency.to_string(),
            ballots,
            counts,
            trustees: trustees.to_vec(),
        })
    }

    /// Checks a beacon entry against the manifest (§7.5, §7.8): in DRBG mode
    /// the manifest's round, signed by the manifest's network; in RFC 3797 mode
    /// one list of the declared length of values per declared source.
    fn check_beacon(&self, b: &BeaconValue) -> Result<(), RecordError> {
        let lottery = &self.manifest.lottery;
        match (lottery.method, &lottery.beacon) {
            (DrawMethod::Drbg, Some(spec)) => {
                if !b.values.is_empty() {
                    return Err(RecordError::Rfc3797Values(
                        "RFC 3797 values in a DRBG election".into(),
                    ));
                }
                if b.round != spec.round {
                    return Err(crate::beacon::BeaconError::WrongRound {
                        posted: b.round,
                        expected: spec.round,
                    }
                    .into());
                }
                spec.network().verify(b.round, &b.signature)?;
                Ok(())
            }
            (DrawMethod::Drbg, None) => Err(RecordError::Manifest("no beacon".into())),
            (DrawMethod::Rfc3797, _) => {
                if b.round != 0 || !b.signature.is_empty() {
                    return Err(RecordError::Rfc3797Values(
                        "a drand round in an RFC 3797 election".into(),
                    ));
                }
                if b.values.len() != lottery.sources.len() {
                    return Err(RecordError::Rfc3797Values(format!(
                        "{} value lists for {} declared sources",
                        b.values.len(),
                        lottery.sources.len()
                    )));
                }
                for (src, vals) in lottery.sources.iter().zip(&b.values) {
                    if vals.len() != src.values as usize {
                        return Err(RecordError::Rfc3797Values(format!(
                            "source {:?} declares {} values, {} posted",
                            src.name,
                            src.values,
                            vals.len()
                        )));
                    }
                }
                self.rfc3797_key(b)?;
                Ok(())
            }
        }
    }

    /// The RFC 3797 key string built from the posted values (§7.8).
    fn rfc3797_key(&self, b: &BeaconValue) -> Result<String, RecordError> {
        let lists: Vec<&[u64]> = b.values.iter().map(Vec::as_slice).collect();
        crate::rfc3797::key_from_sources(&lists)
            .map_err(|e| RecordError::Rfc3797Values(e.to_string()))
    }

    /// The lottery seed the verified beacon and the reveals determine (§7.5):
    /// in RFC 3797 mode, the tie seed of the key string (§7.8).
    pub fn compute_seed(&self) -> Result<LotterySeed, RecordError> {
        let beacon = self
            .beacon
            .as_ref()
            .ok_or_else(|| RecordError::LotteryOrder("the seed before the beacon".into()))?;
        for c in &self.manifest.constituencies {
            if self.tally(&c.id).is_none() {
                return Err(RecordError::Missing(format!("tally of {}", c.id)));
            }
        }
        let withheld = self
            .reveals_closed
            .as_ref()
            .map(|c| c.withheld.clone())
            .ok_or_else(|| {
                RecordError::LotteryOrder("the seed before the reveals closed".into())
            })?;
        let seed = match self.manifest.lottery.method {
            DrawMethod::Drbg => {
                let randomness = crate::beacon::randomness(&beacon.signature);
                let reveals: Vec<(u32, [u8; 32])> =
                    self.reveals.iter().map(|(i, s)| (*i, *s)).collect();
                lottery::seed(&self.election, &randomness, &reveals)
                    .map_err(|e| RecordError::Mismatch(e.to_string()))?
            }
            DrawMethod::Rfc3797 => DrawSource::Rfc3797 {
                key: self.rfc3797_key(beacon)?,
            }
            .tie_seed(),
        };
        Ok(LotterySeed { seed, withheld })
    }

    /// The seat result of `constituency` that the tally and seed determine (§7).
    pub fn compute_seats(&self, constituency: &str) -> Result<SeatResult, RecordError> {
        let seats = self.seat_work(constituency, 0)?;
        Ok(SeatResult {
            constituency: constituency.to_string(),
            elected: seats.elected,
            drawn: seats.draw.seats,
        })
    }

    /// How `constituency`'s seats came about, for people (§9.5): the ties the
    /// tie hash broke, every draw of §7.7, and an informative replacement list
    /// of as many ranks as the constituency has seats (off the board, from the
    /// same seed and pool; the seats do not depend on it).
    pub fn explain_seats(&self, constituency: &str) -> Result<SeatExplanation, RecordError> {
        let i = self.cidx(constituency)?;
        let n_rep = self.manifest.constituencies[i].rules.seats as usize;
        let seats = self.seat_work(constituency, n_rep)?;
        Ok(SeatExplanation {
            ties: seats::ties(&seats.candidates, &seats.tie_seed),
            steps: seats.steps,
            replacements: seats.draw.replacements,
        })
    }

    /// §7.4 and §7.7 over the tally and the seed, with `n_rep` replacement ranks.
    fn seat_work(&self, constituency: &str, n_rep: usize) -> Result<SeatWork, RecordError> {
        let i = self.cidx(constituency)?;
        let seed = self
            .seed
            .as_ref()
            .ok_or_else(|| RecordError::Missing("lottery seed".into()))?;
        let tally = self.constituencies[i]
            .tally
            .as_ref()
            .ok_or_else(|| RecordError::Missing(format!("tally of {constituency}")))?;
        let c = &self.manifest.constituencies[i];
        let candidates: Vec<seats::Candidate> = c
            .candidates
            .iter()
            .zip(&tally.counts)
            .map(|(k, v)| seats::Candidate {
                id: k.id.clone(),
                category: k.category.clone(),
                votes: *v,
            })
            .collect();
        let source = self.draw_source(&seed.seed)?;
        let tie_seed = source.tie_seed();
        let elected = seats::allocate(&c.rules, &candidates, &tie_seed)
            .map_err(|e| RecordError::Mismatch(format!("seat allocation: {e}")))?;
        let (draw, steps) = lottery::draw_steps(
            &source,
            c.id.as_bytes(),
            &c.rules,
            &elected,
            self.pool(&c.id),
            n_rep,
        )
        .map_err(|e| RecordError::Mismatch(format!("lottery draw: {e}")))?;
        Ok(SeatWork {
            candidates,
            tie_seed,
            elected,
            draw,
            steps,
        })
    }

    /// The randomness the draw uses: the seed (DRBG mode) or, in RFC 3797
    /// mode, the key string built from the posted source values.
    fn draw_source(&self, seed: &[u8; 32]) -> Result<DrawSource, RecordError> {
        Ok(match self.manifest.lottery.method {
            DrawMethod::Drbg => DrawSource::Drbg { seed: *seed },
            DrawMethod::Rfc3797 => {
                let beacon = self
                    .beacon
                    .as_ref()
                    .ok_or_else(|| RecordError::Missing("beacon value".into()))?;
                DrawSource::Rfc3797 {
                    key: self.rfc3797_key(beacon)?,
                }
            }
        })
    }

    /// True when every constituency has its seat result: the election is complete.
    pub fn is_complete(&self) -> bool {
        self.constituencies.iter().all(|c| c.seats.is_some())
    }
}

/// What ballot verification needs: the manifest, the election id and `PK`.
#[derive(Clone)]
pub struct BallotVerifier {
    manifest: Manifest,
    election: ElectionId,
    public_key: RistrettoPoint,
}

impl BallotVerifier {
    /// Builds the context from a manifest and the published election key `PK`
    /// (what a voting client knows).
    pub fn new(manifest: Manifest, public_key: RistrettoPoint) -> Self {
        let election = manifest.election_id();
        BallotVerifier {
            manifest,
            election,
            public_key,
        }
    }

    /// The election id.
    pub fn election(&self) -> &ElectionId {
        &self.election
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The statement a ballot of `constituency` under key `p` proves (§4).
    pub fn statement(
        &self,
        constituency: &str,
        p: crate::schnorr::BallotPublicKey,
    ) -> Result<BallotStatement, RecordError> {
        let c = self
            .manifest
            .constituency(constituency)
            .ok_or_else(|| RecordError::Unknown(format!("constituency {constituency:?}")))?;
        BallotStatement::new(
            self.election,
            constituency,
            self.public_key,
            p,
            c.candidates.len() as u32,
            c.approval_min,
            c.approval_max,
        )
        .map_err(|e| RecordError::Proof(e.to_string()))
    }

    fn credential(&self, ballot: &Ballot) -> Result<(), RecordError> {
        let body = &ballot.body;
        let c = self
            .manifest
            .constituency(&body.constituency)
            .ok_or_else(|| RecordError::Unknown(format!("constituency {:?}", body.constituency)))?;
        let ctx = CredentialContext::new(self.election, body.constituency.clone());
        body.credential
            .verify(&c.registrar_key, &ctx, body.ballot_key.as_bytes())
            .map_err(|e| RecordError::Proof(format!("credential: {e}")))
    }

    /// Verifies one ballot: credential, signature, then proofs.
    pub fn verify(&self, ballot: &Ballot) -> Result<(), RecordError> {
        self.credential(ballot)?;
        let body = &ballot.body;
        schnorr::verify(
            &body.ballot_key,
            &self.election,
            &body.constituency,
            &body.to_bytes(),
            &ballot.signature,
        )
        .map_err(|e| RecordError::Proof(format!("ballot signature: {e}")))?;
        let statement = self.statement(&body.constituency, body.ballot_key)?;
        body.vote
            .verify(&statement)
            .map_err(|e| RecordError::Proof(format!("ballot proof: {e}")))
    }

    /// Verifies many ballots at once: credentials one by one (a ballot whose
    /// credential or statement fails is set aside without touching the
    /// batch), then signatures and proofs of the others in two batches. A
    /// failing batch is split in halves, each batched again, down to single
    /// ballots, so a few bad ballots cost a few extra batches and every valid
    /// one stays batched. Returns every invalid ballot's position with its
    /// error, in position order.
    pub fn verify_batch(&self, ballots: &[Ballot]) -> Result<(), Vec<(usize, RecordError)>> {
        let mut bad = Vec::new();
        let mut kept = Vec::with_capacity(ballots.len());
        let mut statements = Vec::with_capacity(ballots.len());
        for (i, b) in ballots.iter().enumerate() {
            let checked = self
                .credential(b)
                .and_then(|()| self.statement(&b.body.constituency, b.body.ballot_key));
            match checked {
                Ok(s) => {
                    kept.push(i);
                    statements.push(s);
                }
                Err(e) => bad.push((i, e)),
            }
        }
        let bodies: Vec<Vec<u8>> = kept.iter().map(|&i| ballots[i].body.to_bytes()).collect();
        let all: Vec<usize> = (0..kept.len()).collect();
        self.bisect(ballots, &kept, &statements, &bodies, &all, &mut bad);
        if bad.is_empty() {
            return Ok(());
        }
        bad.sort_by_key(|(i, _)| *i);
        Err(bad)
    }

    /// Batch-verifies signatures and proofs of the kept ballots at `part`
    /// (positions into `kept`), halving on failure.
    fn bisect(
        &self,
        ballots: &[Ballot],
        kept: &[usize],
        statements: &[BallotStatement],
        bodies: &[Vec<u8>],
        part: &[usize],
        bad: &mut Vec<(usize, RecordError)>,
    ) {
        if part.is_empty() {
            return;
        }
        let signed: Vec<SignedMessage<'_>> = part
            .iter()
            .map(|&k| {
                let b = &ballots[kept[k]];
                SignedMessage {
                    key: &b.body.ballot_key,
                    election_id: &self.election,
                    constituency: &b.body.constituency,
                    message: &bodies[k],
                    signature: &b.signature,
                }
            })
            .collect();
        let items: Vec<(&BallotStatement, &crate::ballot::EncryptedVote)> = part
            .iter()
            .map(|&k| (&statements[k], &ballots[kept[k]].body.vote))
            .collect();
        if schnorr::verify_batch(&signed).is_ok() && ballot::verify_batch(&items).is_ok() {
            return;
        }
        if let [k] = part {
            let i = kept[*k];
            // A ballot failing its batch of one must fail alone too; name it either way.
            let e = self
                .verify(&ballots[i])
                .err()
                .unwrap_or_else(|| RecordError::Proof("batch verification failed".into()));
            bad.push((i, e));
            return;
        }
        let (left, right) = part.split_at(part.len() / 2);
        self.bisect(ballots, kept, statements, bodies, left, bad);
        self.bisect(ballots, kept, statements, bodies, right, bad);
    }
}
