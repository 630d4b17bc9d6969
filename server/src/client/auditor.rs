//! An auditor's step, as a pure function: a signed attestation over a
//! checkpoint the auditor has verified.

use std::io::Cursor;

use ed25519_dalek::SigningKey;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Attestation, Entry, EntryKind};
use urne_crypto::export::{ExportReader, Record as ExportRecord};
use urne_crypto::hash::Digest32;
use urne_crypto::manifest::ElectionId;
use urne_crypto::record::{Applied, BallotCheck, Record};

use super::board::BallotStore;

/// The signed attestation that the board of size `size` and root `root`
/// verified (or not), counting `ballots_counted` ballots.
pub fn attestation_entry(
    election: ElectionId,
    size: u64,
    root: Digest32,
    valid: bool,
    ballots_counted: u64,
    statement: &str,
    signing: &SigningKey,
) -> Entry {
    let body = Attestation {
        size,
        root,
        valid,
        ballots_counted,
        statement: statement.to_string(),
    };
    Entry::signed(EntryKind::Attestation, election, &body, signing)
}

/// The outcome of checking an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportVerdict {
    /// The election id.
    pub election: ElectionId,
    /// Size of the final checkpoint.
    pub size: u64,
    /// Root of the final checkpoint.
    pub root: Digest32,
    /// Ballots counted.
    pub ballots_counted: u64,
    /// Whether every constituency has its seat result.
    pub complete: bool,
    /// `urne-verify`'s check lines (`name: status — detail`), in order.
    pub checks: Vec<String>,
}

/// Why an export does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExportRejected(pub String);

/// Verifies an export with the standalone verifier (`urne-verify`'s library):
/// every check of `specs/protocol.md` §9.
pub fn verify_export(bytes: &[u8]) -> Result<ExportVerdict, ExportRejected> {
    let options = urne_verify::Options {
        progress: false,
        ..Default::default()
    };
    let report = urne_verify::verify_export(Cursor::new(bytes), &options);
    if !report.valid {
        let lines: Vec<String> = report.failures.iter().map(|f| f.line()).collect();
        return Err(ExportRejected(lines.join("; ")));
    }
    let bad = |m: &str| ExportRejected(m.to_string());
    let checkpoint = report
        .checkpoint
        .as_ref()
        .ok_or_else(|| bad("no verified final checkpoint"))?;
    let election = report
        .election
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| bad("no election id in the report"))?;
    let root = hex::decode(&checkpoint.root)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| bad("malformed root in the report"))?;
    Ok(ExportVerdict {
        election,
        size: checkpoint.size,
        root,
        ballots_counted: report.ballots_counted,
        complete: report.complete,
        checks: report
            .checks
            .iter()
            .map(|c| format!("{}: {} — {}", c.name, c.status.name(), c.detail))
            .collect(),
    })
}

/// [`verify_export`], also returning the record replayed from the verified
/// entries (for presenting tallies and seats).
pub fn check_export(bytes: &[u8]) -> Result<(ExportVerdict, Record), ExportRejected> {
    let verdict = verify_export(bytes)?;
    let bad = |m: String| ExportRejected(m);
    let mut reader = ExportReader::new(bytes).map_err(|e| bad(format!("export: {e}")))?;
    let mut record: Option<Record> = None;
    let mut store = BallotStore::default();
    let mut index = 0u64;
    while let Some(r) = reader
        .next_record()
        .map_err(|e| bad(format!("export: {e}")))?
    {
        let ExportRecord::Entry(bytes) = r else {
            continue;
        };
        let entry = Entry::from_bytes(&bytes).map_err(|e| bad(format!("entry {index}: {e}")))?;
        match record.as_mut() {
            None => record = Some(Record::open(&entry).map_err(|e| bad(e.to_string()))?),
            Some(rec) => {
                // Already verified in full above: replay without re-verifying proofs.
                if let Applied::Ballot { superseded } = rec
                    .apply(&entry, BallotCheck::Deferred, &store)
                    .map_err(|e| bad(format!("entry {index}: {e}")))?
                {
                    if let Some(old) = superseded {
                        store.remove(old);
                    }
                    store.insert(index, bytes);
                }
            }
        }
        index += 1;
    }
    let record = record.ok_or_else(|| bad("no entries".into()))?;
    Ok((verdict, record))
}
