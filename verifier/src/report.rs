//! The verification report: named checks in the order the verifier performs
//! them (§9), the outcome, and the results per constituency.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use urne_crypto::entry::EntryKind;

/// The named checks, in report order (`specs/protocol.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    /// Magic, record framing and record order of the export.
    ExportFormat,
    /// The export's board key is the manifest's, named after the election.
    BoardKey,
    /// Every entry decodes as a canonical envelope of a known kind.
    EntryEncoding,
    /// Entry 0 is a valid manifest signed by its board key.
    Manifest,
    /// Roster and enrolment entries.
    Roster,
    /// Key generation: dealings, complaints, the election key.
    KeyGeneration,
    /// Opening and closing the vote.
    Phases,
    /// Credential issuance: one per member, counted per constituency.
    Issuance,
    /// Ballot rules: phase, constituency, revotes, ballot keys ≤ issuances, aggregation.
    Ballots,
    /// Ballot cryptography: credential, Schnorr signature, vote proofs.
    BallotProofs,
    /// Decryption shares and their DLEQ proofs.
    DecryptionShares,
    /// Tallies recomputed from the shares.
    Tallies,
    /// Lottery commitments, beacon, reveals and seed.
    Lottery,
    /// Seat results: allocation under quotas and tie-break, and the draw.
    Seats,
    /// Attestation entries: signature and consistency with the verified tree.
    Attestations,
    /// Intermediate checkpoints: signature and consistency with the verified tree.
    Checkpoints,
    /// The final checkpoint: signature and size.
    FinalCheckpoint,
    /// The Merkle root over every entry equals the final checkpoint's root.
    MerkleRoot,
    /// Monitoring: the stored checkpoint is a prefix of the new one.
    Consistency,
    /// Every constituency has its seat result.
    Complete,
    /// The web client a service serves is the one its manifest names (§3.10).
    WebClient,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: [CheckId; 21] = [
        CheckId::ExportFormat,
        CheckId::BoardKey,
        CheckId::EntryEncoding,
        CheckId::Manifest,
        CheckId::Roster,
        CheckId::KeyGeneration,
        CheckId::Phases,
        CheckId::Issuance,
        CheckId::Ballots,
        CheckId::BallotProofs,
        CheckId::DecryptionShares,
        CheckId::Tallies,
        CheckId::Lottery,
        CheckId::Seats,
        CheckId::Attestations,
        CheckId::Checkpoints,
        CheckId::FinalCheckpoint,
        CheckId::MerkleRoot,
        CheckId::Consistency,
        CheckId::Complete,
        CheckId::WebClient,
    ];

    /// The stable name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            CheckId::ExportFormat => "export-format",
            CheckId::BoardKey => "board-key",
            CheckId::EntryEncoding => "entry-encoding",
            CheckId::Manifest => "manifest",
            CheckId::Roster => "roster",
            CheckId::KeyGeneration => "key-generation",
            CheckId::Phases => "phases",
            CheckId::Issuance => "issuance",
            CheckId::Ballots => "ballots",
            CheckId::BallotProofs => "ballot-proofs",
            CheckId::DecryptionShares => "decryption-shares",
            CheckId::Tallies => "tallies",
            CheckId::Lottery => "lottery",
            CheckId::Seats => "seats",
            CheckId::Attestations => "attestations",
            CheckId::Checkpoints => "checkpoints",
            CheckId::FinalCheckpoint => "final-checkpoint",
            CheckId::MerkleRoot => "merkle-root",
            CheckId::Consistency => "consistency",
            CheckId::Complete => "complete",
            CheckId::WebClient => "web-client",
        }
    }

    /// The check that covers the rules of an entry kind.
    pub fn for_kind(kind: EntryKind) -> CheckId {
        use EntryKind as K;
        match kind {
            K::Manifest => CheckId::Manifest,
            K::Roster | K::Enrollment => CheckId::Roster,
            K::DkgDealing | K::DkgComplaint | K::DkgAcknowledgement | K::ElectionKey => {
                CheckId::KeyGeneration
            }
            K::Open | K::Close => CheckId::Phases,
            K::Issuance => CheckId::Issuance,
            K::Ballot => CheckId::Ballots,
            K::DecryptionShare => CheckId::DecryptionShares,
            K::Tally => CheckId::Tallies,
            K::SeatResult => CheckId::Seats,
            K::LotteryCommit | K::LotteryReveal | K::RevealsClosed | K::Beacon | K::Seed => {
                CheckId::Lottery
            }
            K::Attestation => CheckId::Attestations,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Everything this check covers verified.
    Pass,
    /// Something this check covers is wrong (see the failures).
    Fail,
    /// Not performed to the end, because an earlier failure stopped the replay.
    Skipped,
    /// The election has not reached the stage this check covers yet.
    Pending,
}

impl CheckStatus {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Skipped => "skipped",
            CheckStatus::Pending => "pending",
        }
    }
}

/// One check of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable check name ([`CheckId::name`]).
    pub name: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was checked, or what went wrong.
    pub detail: String,
}

/// One failed check, located on the board where it has a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The check that failed.
    pub check: String,
    /// Board index of the offending entry, if the failure is about an entry.
    pub entry: Option<u64>,
    /// Kind name of that entry, if known.
    pub kind: Option<String>,
    /// Stable error code (`RecordError::code` for record rules).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl Failure {
    /// `check: entry 12 (tally): mismatch: …` in one line.
    pub fn line(&self) -> String {
        let mut s = String::new();
        if let Some(i) = self.entry {
            let _ = write!(s, "entry {i}");
            if let Some(k) = &self.kind {
                let _ = write!(s, " ({k})");
            }
            s.push_str(": ");
        }
        let _ = write!(s, "[{}] {}", self.code, self.message);
        s
    }
}

/// Approvals of one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateVotes {
    /// Candidate pseudonym.
    pub candidate: String,
    /// Quota category.
    pub category: String,
    /// Approval count.
    pub votes: u64,
}

/// A seat won by vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectedMember {
    /// Candidate pseudonym.
    pub id: String,
    /// Quota category.
    pub category: String,
    /// Approval count.
    pub votes: u64,
    /// Rank of election, from 1.
    pub rank: u32,
}

/// A seat drawn by lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawnMember {
    /// Pool pseudonym.
    pub id: String,
    /// Quota category.
    pub category: String,
    /// Draw order, from 1.
    pub order: u32,
}

/// Candidates with equal votes, in the order their tie hashes rank them
/// (specs/protocol.md §7.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TieGroup {
    /// The votes each of them has.
    pub votes: u64,
    /// True when the tie decided a seat: some of them were elected, some not.
    pub decisive: bool,
    /// The tied candidates, best-ranked first.
    pub candidates: Vec<TiedCandidate>,
}

/// A candidate of a [`TieGroup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiedCandidate {
    /// Candidate pseudonym.
    pub id: String,
    /// `TaggedHash("urne/v1/seats/tie-break", tie_seed, id)`, lowercase hex.
    pub tie_hash: String,
}

/// One draw of the lottery (specs/protocol.md §7.7), so that a person can
/// follow it: of the `eligible` members in ascending id order, numbered from
/// 0, the one at `index` was drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawStepInfo {
    /// Draw order, from 1 (replacements continue the numbering).
    pub order: u32,
    /// `minimum` (step 1), `open` (step 2) or `replacement` (step 3).
    pub stage: String,
    /// Step 1: the category whose minimum the draw meets.
    pub minimum_of: Option<String>,
    /// Members eligible for this draw.
    pub eligible: u64,
    /// The index drawn, below `eligible`.
    pub index: u64,
    /// The member drawn.
    pub id: String,
    /// Their category.
    pub category: String,
}

/// One category's quota, as the manifest sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaRule {
    /// The category.
    pub category: String,
    /// Fewest seats it must hold.
    pub min: u32,
    /// Most seats it may hold.
    pub max: u32,
}

/// What the verified board says about one constituency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstituencyResult {
    /// Constituency id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Seats (by vote and by lot).
    pub seats: u32,
    /// Of which seats drawn by lot.
    #[serde(default)]
    pub lottery_seats: u32,
    /// The manifest's per-category quotas of the assembly (elected + drawn).
    #[serde(default)]
    pub quotas: Vec<QuotaRule>,
    /// The parity rule: `none`, `max-share <percent>` or `alternating`.
    #[serde(default)]
    pub parity: String,
    /// Credentials issued.
    pub issuances: u64,
    /// Credentials issued while voting was open: the board order may link
    /// such a credential to its ballot (specs/protocol.md §10).
    #[serde(default)]
    pub issued_while_open: u64,
    /// Distinct ballot keys counted (the last ballot of each).
    pub ballots_counted: u64,
    /// The verified tally, once published.
    pub tally: Option<Vec<CandidateVotes>>,
    /// Trustees whose shares the tally combines.
    pub trustees: Option<Vec<u32>>,
    /// Seats by vote, once published.
    pub elected: Option<Vec<ElectedMember>>,
    /// Seats by lot, once published.
    pub drawn: Option<Vec<DrawnMember>>,
    /// Once seated: every group of candidates with equal votes (§7.4).
    #[serde(default)]
    pub ties: Option<Vec<TieGroup>>,
    /// Once seated: every draw of §7.7, the seats' then the replacements'.
    #[serde(default)]
    pub draw_steps: Option<Vec<DrawStepInfo>>,
    /// Once seated: the informative replacement list (as many ranks as seats,
    /// off the board, from the same seed and pool; §7.7 vacancies).
    #[serde(default)]
    pub replacements: Option<Vec<DrawnMember>>,
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Complete, and everything verifies.
    Valid,
    /// Still running: everything on the board so far verifies.
    ValidSoFar,
    /// Something does not verify.
    Invalid,
}

impl Outcome {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::ValidSoFar => "valid-so-far",
            Outcome::Invalid => "invalid",
        }
    }
}

/// What the verified board says about the lottery's randomness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotteryInfo {
    /// `drbg` or `rfc3797`.
    pub method: String,
    /// DRBG: the beacon network's name as the manifest gives it.
    pub beacon_network: Option<String>,
    /// DRBG: true iff the manifest's network is drand quicknet (key, chain
    /// hash, genesis and period); any other network's operator may know its
    /// rounds in advance.
    pub beacon_is_quicknet: bool,
    /// DRBG: the manifest's round.
    pub beacon_round: Option<u64>,
    /// DRBG: the round's publication time (Unix seconds).
    pub beacon_round_time: Option<u64>,
    /// DRBG: true once the round's signature verified on the board.
    pub beacon_verified: bool,
    /// Board time the reveal window closed (Unix seconds), once closed.
    pub reveals_closed_at: Option<u64>,
    /// Contributors without a valid reveal, once the window closed.
    pub withheld: Option<Vec<u32>>,
    /// RFC 3797: each declared source with the values posted for it; a person
    /// must compare them with the source's published results.
    pub rfc3797_sources: Vec<Rfc3797SourceValues>,
    /// DRBG: each contributor of the manifest with its commitment and its
    /// revealed secret, as far as the board has them.
    #[serde(default)]
    pub contributions: Vec<Contribution>,
    /// DRBG: the beacon's randomness (SHA-256 of its signature), lowercase
    /// hex, once the beacon is posted.
    #[serde(default)]
    pub beacon_randomness: Option<String>,
    /// The verified lottery seed (in RFC 3797 mode the tie seed), lowercase
    /// hex, once posted.
    #[serde(default)]
    pub seed: Option<String>,
}

/// A lottery contributor's part in the seed (specs/protocol.md §7.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// The contributor's index in the manifest, from 1.
    pub index: u32,
    /// Its display name.
    pub name: String,
    /// Its commitment, lowercase hex, once on the board.
    pub commitment: Option<String>,
    /// Its revealed secret, lowercase hex, once on the board.
    pub secret: Option<String>,
}

/// One RFC 3797 source, as declared and as posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rfc3797SourceValues {
    /// The source's name.
    pub name: String,
    /// The date of its draw.
    pub draw_date: String,
    /// The values posted, once the beacon entry is on the board.
    pub values: Option<Vec<u64>>,
}

impl LotteryInfo {
    /// The lottery part of a verified record.
    pub fn of(record: &urne_crypto::record::Record) -> Self {
        let lottery = &record.manifest().lottery;
        let beacon = lottery.beacon.as_ref();
        let posted = record.beacon();
        LotteryInfo {
            method: lottery.method.name().into(),
            beacon_network: beacon.map(|b| b.network.clone()),
            beacon_is_quicknet: beacon.is_some_and(|b| b.is_quicknet()),
            beacon_round: beacon.map(|b| b.round),
            beacon_round_time: beacon.and_then(|b| b.round_time().ok()),
            beacon_verified: beacon.is_some() && posted.is_some(),
            reveals_closed_at: record.reveals_closed().map(|c| c.at),
            withheld: record.reveals_closed().map(|c| c.withheld.clone()),
            rfc3797_sources: lottery
                .sources
                .iter()
                .enumerate()
                .map(|(i, src)| Rfc3797SourceValues {
                    name: src.name.clone(),
                    draw_date: src.draw_date.clone(),
                    values: posted.and_then(|b| b.values.get(i).cloned()),
                })
                .collect(),
            contributions: lottery
                .contributors
                .iter()
                .map(|c| Contribution {
                    index: c.index,
                    name: c.name.clone(),
                    commitment: record.commits().get(&c.index).map(hex::encode),
                    secret: record.reveals().get(&c.index).map(hex::encode),
                })
                .collect(),
            beacon_randomness: posted
                .filter(|_| lottery.method == urne_crypto::lottery::DrawMethod::Drbg)
                .map(|b| hex::encode(urne_crypto::beacon::randomness(&b.signature))),
            seed: record.seed().map(|s| hex::encode(s.seed)),
        }
    }

    /// One line for people.
    pub fn line(&self) -> String {
        let mut s = String::new();
        if let (Some(net), Some(round)) = (&self.beacon_network, self.beacon_round) {
            let _ = write!(s, "beacon round {round} of {net:?}");
            if self.beacon_verified {
                s.push_str(", signature verified");
            } else {
                s.push_str(", not posted yet");
            }
            if !self.beacon_is_quicknet {
                s.push_str(
                    "; NOT drand quicknet: whoever runs this network may know its rounds in advance",
                );
            }
        }
        if !self.rfc3797_sources.is_empty() {
            let srcs: Vec<String> = self
                .rfc3797_sources
                .iter()
                .map(|x| match &x.values {
                    Some(v) => format!("{} ({}): {v:?}", x.name, x.draw_date),
                    None => format!("{} ({}): not posted", x.name, x.draw_date),
                })
                .collect();
            let _ = write!(
                s,
                "RFC 3797 key from {}; compare these values with the sources' published results yourself",
                srcs.join("; ")
            );
        }
        match &self.withheld {
            Some(w) if w.is_empty() => s.push_str("; every contributor revealed"),
            Some(w) => {
                let list: Vec<String> = w.iter().map(u32::to_string).collect();
                let _ = write!(s, "; withheld: contributor {}", list.join(", "));
            }
            None => s.push_str("; reveal window open"),
        }
        if let (Some(at), Some(t)) = (self.reveals_closed_at, self.beacon_round_time) {
            let _ = write!(
                s,
                "; reveals closed {}s before the round (board clock, not witnessed)",
                t.saturating_sub(at)
            );
        }
        s
    }
}

/// The verified final checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// Tree size (number of entries).
    pub size: u64,
    /// Merkle root, lowercase hex.
    pub root: String,
}

/// Everything `urne-verify` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// True iff no check failed (the election verifies, completely or so far).
    pub valid: bool,
    /// `valid`, `valid-so-far` or `invalid`.
    pub status: Outcome,
    /// True iff every constituency has its verified seat result.
    pub complete: bool,
    /// Election id, lowercase hex (if the manifest was read).
    pub election: Option<String>,
    /// Election title.
    pub title: Option<String>,
    /// The manifest's client digest (§3.10), lowercase hex.
    #[serde(default)]
    pub client_digest: Option<String>,
    /// The verified election key `PK` (compressed ristretto255), lowercase
    /// hex, once published.
    #[serde(default)]
    pub election_key: Option<String>,
    /// Phase reached by the replay.
    pub phase: Option<String>,
    /// Entries read from the board.
    pub entries: u64,
    /// The verified final checkpoint (size and root), if it verified.
    pub checkpoint: Option<CheckpointInfo>,
    /// Ballots counted: distinct ballot keys over all constituencies.
    pub ballots_counted: u64,
    /// Ballot entries on the board, revotes included.
    pub ballot_entries: u64,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// Every failure found, in board order where located.
    pub failures: Vec<Failure>,
    /// Results per constituency, in manifest order.
    pub constituencies: Vec<ConstituencyResult>,
    /// The lottery's randomness (if the manifest was read).
    pub lottery: Option<LotteryInfo>,
    /// The share of the ballots' cryptography this run verified, if only a
    /// share (see [`crate::BallotShare`]): such a report is a part, whole
    /// only once [`merge_shares`] has joined it with the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot_share: Option<crate::BallotShare>,
    /// Wall-clock seconds the verification took (informative).
    pub seconds: f64,
}

/// The `ballot-proofs` detail of a run that counted `n` ballots.
pub(crate) fn ballot_proofs_detail(n: u64, share: Option<crate::BallotShare>) -> String {
    match share {
        Some(s) if s.of > 1 => format!(
            "{n} ballots: credential, signature and proofs of share {} of {} verify",
            s.index + 1,
            s.of
        ),
        _ => format!("{n} ballots: credential, signature and proofs verify"),
    }
}

/// Why share reports cannot be joined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// No report was given.
    #[error("no report to join")]
    Empty,
    /// A report is of a whole run, or of shares of another split.
    #[error("report {0} is not a share of the same split")]
    NotAShare(usize),
    /// A share is missing or given twice.
    #[error("share {0} is missing or given twice")]
    Share(u32),
    /// The reports are of different boards.
    #[error("the shares verified different boards")]
    DifferentBoards,
}

/// Joins the reports of the runs of every share of one split (in any order)
/// into the report one whole run gives.
///
/// Every run applies every entry, so their reports differ only in the
/// ballots whose cryptography they verified. If every share is valid, the
/// whole run is; otherwise a whole run stops at the first failure on the
/// board, which the share holding it reports as a whole run would: its
/// report is the answer. Reports of different boards are refused.
pub fn merge_shares(mut reports: Vec<Report>) -> Result<Report, ShareError> {
    let of = match reports.first().and_then(|r| r.ballot_share) {
        Some(s) => s.of,
        None if reports.is_empty() => return Err(ShareError::Empty),
        None => return Err(ShareError::NotAShare(0)),
    };
    let mut seen = vec![false; of as usize];
    for (i, r) in reports.iter().enumerate() {
        let s = r
            .ballot_share
            .filter(|s| s.of == of)
            .ok_or(ShareError::NotAShare(i))?;
        match seen.get_mut(s.index as usize) {
            Some(slot) if !*slot => *slot = true,
            _ => return Err(ShareError::Share(s.index)),
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(ShareError::Share(missing as u32));
    }
    let first = &reports[0];
    // Runs that stop at different failures count different ballots, but
    // every run reads every entry.
    if reports
        .iter()
        .any(|r| r.election != first.election || r.entries != first.entries)
    {
        return Err(ShareError::DifferentBoards);
    }
    // The first failure on the board: located failures by index, then unlocated.
    let first_failure = |r: &Report| r.failures.iter().map(|f| f.entry.unwrap_or(u64::MAX)).min();
    let pick = reports
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            first_failure(r).map(|at| (at, r.ballot_share.map_or(0, |s| s.index), i))
        })
        .min()
        .map(|(_, _, i)| i);
    let mut whole = match pick {
        Some(i) => reports.swap_remove(i),
        None => {
            if reports.iter().any(|r| {
                r.checkpoint != first.checkpoint || r.constituencies != first.constituencies
            }) {
                return Err(ShareError::DifferentBoards);
            }
            let i = reports
                .iter()
                .position(|r| r.ballot_share.is_some_and(|s| s.index == 0))
                .unwrap_or(0);
            reports.swap_remove(i)
        }
    };
    let counted = whole.ballot_entries;
    if let Some(c) = whole
        .checks
        .iter_mut()
        .find(|c| c.name == CheckId::BallotProofs.name() && c.status == CheckStatus::Pass)
    {
        c.detail = ballot_proofs_detail(counted, None);
    }
    whole.ballot_share = None;
    Ok(whole)
}

/// `n` and the noun in the right number: "1 entry", "2 entries".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Report {
    /// The check named `name`, if present.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Names of the failed checks.
    pub fn failed_checks(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The report as one JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report for people: one line per check, then the results.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if let (Some(id), Some(title)) = (&self.election, &self.title) {
            let _ = writeln!(s, "election {id}\n  {title:?}");
        }
        if let Some(d) = &self.client_digest {
            let _ = writeln!(s, "  web client {d}");
        }
        for c in &self.checks {
            let mark = match c.status {
                CheckStatus::Pass => "ok  ",
                CheckStatus::Fail => "FAIL",
                CheckStatus::Skipped => "skip",
                CheckStatus::Pending => "wait",
            };
            let _ = writeln!(s, "  {mark} {:<18} {}", c.name, c.detail);
        }
        for c in &self.constituencies {
            let _ = write!(
                s,
                "constituency {}: {} ballots counted of {} credentials",
                c.id, c.ballots_counted, c.issuances
            );
            if c.issued_while_open > 0 {
                let _ = write!(
                    s,
                    " ({} issued while voting was open: their ballots may be linked by board order)",
                    c.issued_while_open
                );
            }
            if let Some(e) = &c.elected {
                let ids: Vec<String> = e
                    .iter()
                    .map(|m| format!("{} ({})", m.id, m.votes))
                    .collect();
                let _ = write!(s, "\n  elected: {}", ids.join(", "));
            }
            if let Some(d) = &c.drawn {
                let ids: Vec<&str> = d.iter().map(|m| m.id.as_str()).collect();
                let drawn = if ids.is_empty() {
                    "(none)".to_string()
                } else {
                    ids.join(", ")
                };
                let _ = write!(s, "\n  drawn:   {drawn}");
            }
            for t in c.ties.iter().flatten().filter(|t| t.decisive) {
                let ids: Vec<&str> = t.candidates.iter().map(|m| m.id.as_str()).collect();
                let _ = write!(
                    s,
                    "\n  tie at {} votes, broken by tie hash: {}",
                    t.votes,
                    ids.join(" > ")
                );
            }
            s.push('\n');
        }
        if let Some(l) = &self.lottery {
            let _ = writeln!(s, "lottery: {}", l.line());
        }
        for f in &self.failures {
            let _ = writeln!(s, "failure in {}: {}", f.check, f.line());
        }
        let verdict = match self.status {
            Outcome::Valid => "VALID: the election verifies".to_string(),
            Outcome::ValidSoFar => format!(
                "VALID SO FAR: the election is still running (phase {}); everything on the board verifies",
                self.phase.as_deref().unwrap_or("?")
            ),
            Outcome::Invalid => "INVALID: the election does not verify".to_string(),
        };
        let _ = writeln!(
            s,
            "{verdict}; {}, {} counted ({}), {:.1} s",
            count(self.entries, "entry", "entries"),
            count(self.ballots_counted, "ballot", "ballots"),
            count(self.ballot_entries, "ballot entry", "ballot entries"),
            self.seconds
        );
        s
    }
}

/// Accumulates check outcomes while the verifier runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Checks {
    /// Entries (or objects) checked per check.
    counts: std::collections::BTreeMap<String, u64>,
    /// Failures, in the order found.
    pub(crate) failures: Vec<Failure>,
    /// Explicit details set by the verifier.
    details: std::collections::BTreeMap<String, String>,
    /// Checks explicitly marked pending.
    pending: std::collections::BTreeSet<String>,
    /// Entries (or objects) not checked because the replay had stopped.
    unchecked: std::collections::BTreeMap<String, u64>,
    /// Checks that could not be made at all, with the reason.
    not_made: std::collections::BTreeMap<String, String>,
    /// Board index at which the replay stopped, if it did.
    pub(crate) stopped_at: Option<u64>,
    /// Notes appended to a passing check's detail (e.g. the lottery's timing).
    #[serde(default)]
    notes: std::collections::BTreeMap<String, String>,
}

impl Checks {
    pub(crate) fn count(&mut self, id: CheckId) {
        *self.counts.entry(id.name().into()).or_default() += 1;
    }

    pub(crate) fn reset(&mut self, id: CheckId) {
        self.counts.remove(id.name());
        self.details.remove(id.name());
    }

    /// Marks a check as not made (`skipped`), e.g. a root with nothing to compare it to.
    pub(crate) fn not_made(&mut self, id: CheckId, reason: impl Into<String>) {
        self.not_made.insert(id.name().into(), reason.into());
    }

    pub(crate) fn clear_pending(&mut self) {
        self.pending.clear();
    }

    pub(crate) fn skip(&mut self, id: CheckId) {
        *self.unchecked.entry(id.name().into()).or_default() += 1;
    }

    pub(crate) fn counted(&self, id: CheckId) -> u64 {
        self.counts.get(id.name()).copied().unwrap_or(0)
    }

    pub(crate) fn detail(&mut self, id: CheckId, detail: impl Into<String>) {
        self.details.insert(id.name().into(), detail.into());
    }

    /// Appends `note` to a check's detail when it passes (`; ` between).
    pub(crate) fn add_detail(&mut self, id: CheckId, note: impl Into<String>) {
        self.notes.insert(id.name().into(), note.into());
    }

    pub(crate) fn pending(&mut self, id: CheckId, detail: impl Into<String>) {
        self.pending.insert(id.name().into());
        self.detail(id, detail);
    }

    pub(crate) fn fail(
        &mut self,
        id: CheckId,
        entry: Option<(u64, Option<EntryKind>)>,
        code: &str,
        message: impl Into<String>,
    ) {
        self.failures.push(Failure {
            check: id.name().into(),
            entry: entry.map(|(i, _)| i),
            kind: entry.and_then(|(_, k)| k).map(|k| k.name().to_string()),
            code: code.into(),
            message: message.into(),
        });
    }

    pub(crate) fn has_failed(&self, id: CheckId) -> bool {
        self.failures.iter().any(|f| f.check == id.name())
    }

    pub(crate) fn any_failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The final list of checks; `used` are the checks that apply to this run.
    pub(crate) fn finish(&self, used: &[CheckId]) -> Vec<Check> {
        used.iter()
            .map(|&id| {
                let name = id.name();
                let failures: Vec<&Failure> =
                    self.failures.iter().filter(|f| f.check == name).collect();
                let (status, detail) = if let Some(first) = failures.first() {
                    let more = if failures.len() > 1 {
                        format!(" (and {} more)", failures.len() - 1)
                    } else {
                        String::new()
                    };
                    (CheckStatus::Fail, format!("{}{more}", first.line()))
                } else if let Some(reason) = self.not_made.get(name) {
                    (CheckStatus::Skipped, reason.clone())
                } else if let (Some(n), Some(at)) = (self.unchecked.get(name), self.stopped_at) {
                    (
                        CheckStatus::Skipped,
                        format!(
                            "{} checked, {n} not checked: the replay stopped at entry {at}",
                            self.counted(id)
                        ),
                    )
                } else if self.pending.contains(name) {
                    (
                        CheckStatus::Pending,
                        self.details.get(name).cloned().unwrap_or_default(),
                    )
                } else {
                    let mut detail = self
                        .details
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| count(self.counted(id), "entry", "entries"));
                    if let Some(note) = self.notes.get(name) {
                        detail = format!("{detail}; {note}");
                    }
                    (CheckStatus::Pass, detail)
                };
                Check {
                    name: name.into(),
                    status,
                    detail,
                }
            })
            .collect()
    }
}

impl Report {
    /// A report for a verification that could not start at all.
    pub fn error(code: &str, message: &str) -> Report {
        let failure = Failure {
            check: CheckId::ExportFormat.name().into(),
            entry: None,
            kind: None,
            code: code.into(),
            message: message.into(),
        };
        Report {
            valid: false,
            status: Outcome::Invalid,
            complete: false,
            election: None,
            title: None,
            client_digest: None,
            election_key: None,
            phase: None,
            entries: 0,
            checkpoint: None,
            ballots_counted: 0,
            ballot_entries: 0,
            checks: vec![Check {
                name: failure.check.clone(),
                status: CheckStatus::Fail,
                detail: failure.line(),
            }],
            failures: vec![failure],
            constituencies: vec![],
            lottery: None,
            ballot_share: None,
            seconds: 0.0,
        }
    }
}
