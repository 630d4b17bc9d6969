//! An auditor's step, as a pure function: a signed attestation over a
//! checkpoint the auditor has verified.

use ed25519_dalek::SigningKey;
use urne_crypto::checkpoint::NoteVerifier;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Attestation, Entry, EntryKind};
use urne_crypto::export::{ExportReader, Record as ExportRecord};
use urne_crypto::hash::Digest32;
use urne_crypto::manifest::ElectionId;
use urne_crypto::merkle;
use urne_crypto::record::{Applied, BallotCheck, Record};

use super::board::BallotStore;
use super::receipt;

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
    /// Intermediate checkpoints checked consistent with the final one.
    pub checkpoints: usize,
    /// Attestations on the board checked against the tree.
    pub attestations: usize,
}

/// Why an export does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExportRejected(pub String);

/// Verifies an export with the crypto crate alone: the final checkpoint is
/// signed by the export's board key under the election's origin, the entries
/// hash to its root, every intermediate checkpoint and attestation matches the
/// prefix of the same tree (no split view), and replaying the entries with
/// full ballot verification breaks no rule of the protocol.
pub fn verify_export(bytes: &[u8]) -> Result<ExportVerdict, ExportRejected> {
    check_export(bytes).map(|(verdict, _)| verdict)
}

/// [`verify_export`], also returning the replayed record (results, tallies).
pub fn check_export(bytes: &[u8]) -> Result<(ExportVerdict, Record), ExportRejected> {
    let bad = |m: String| ExportRejected(m);
    let mut reader = ExportReader::new(bytes).map_err(|e| bad(format!("export: {e}")))?;
    let mut vkey = None;
    let mut notes = Vec::new();
    let mut final_note = None;
    let mut leaves = Vec::new();
    let mut record: Option<Record> = None;
    let mut store = BallotStore::default();
    let mut attestations = Vec::new();
    while let Some(r) = reader
        .next_record()
        .map_err(|e| bad(format!("export: {e}")))?
    {
        if final_note.is_some() {
            return Err(bad("records after the final checkpoint".into()));
        }
        match r {
            ExportRecord::BoardKey(k) if vkey.is_none() && leaves.is_empty() => vkey = Some(k),
            ExportRecord::BoardKey(_) => return Err(bad("a second board key record".into())),
            ExportRecord::Checkpoint(n) => notes.push(n),
            ExportRecord::FinalCheckpoint(n) => final_note = Some(n),
            ExportRecord::Entry(e) => {
                let index = leaves.len() as u64;
                leaves.push(merkle::leaf_hash(&e));
                let entry =
                    Entry::from_bytes(&e).map_err(|err| bad(format!("entry {index}: {err}")))?;
                match record.as_mut() {
                    None => {
                        record = Some(
                            Record::open(&entry).map_err(|err| bad(format!("entry 0: {err}")))?,
                        )
                    }
                    Some(rec) => {
                        let applied = rec
                            .apply(&entry, BallotCheck::Full, &store)
                            .map_err(|err| bad(format!("entry {index}: {err}")))?;
                        match applied {
                            Applied::Attestation(a) => attestations.push((index, a)),
                            Applied::Ballot { superseded } => {
                                if let Some(old) = superseded {
                                    store.remove(old);
                                }
                                store.insert(index, e);
                            }
                            Applied::Recorded => {}
                        }
                    }
                }
            }
        }
    }
    let vkey = vkey.ok_or_else(|| bad("no board key record".into()))?;
    let final_note = final_note.ok_or_else(|| bad("no final checkpoint".into()))?;
    let record = record.ok_or_else(|| bad("no entries".into()))?;
    let verifier =
        NoteVerifier::from_vkey_string(vkey.trim()).map_err(|e| bad(format!("board key: {e}")))?;
    let expected = receipt::election_verifier(&record.manifest().board_key, record.election())
        .map_err(|e| bad(e.to_string()))?;
    if verifier != expected {
        return Err(bad(
            "the export's board key is not the manifest's board key for this election".into(),
        ));
    }
    let fin = receipt::open_checkpoint(&final_note, &verifier).map_err(|e| bad(e.to_string()))?;
    if fin.size != leaves.len() as u64 || merkle::root(&leaves) != fin.root {
        return Err(bad("the entries do not hash to the final checkpoint".into()));
    }
    for n in &notes {
        let cp = receipt::open_checkpoint(n, &verifier).map_err(|e| bad(e.to_string()))?;
        if cp.size > fin.size || merkle::root(&leaves[..cp.size as usize]) != cp.root {
            return Err(bad(format!(
                "checkpoint at size {} is not a prefix of the final tree (split view)",
                cp.size
            )));
        }
    }
    for (index, a) in &attestations {
        if a.size > *index || merkle::root(&leaves[..a.size as usize]) != a.root {
            return Err(bad(format!(
                "attestation at entry {index} names a tree that is not on this board"
            )));
        }
    }
    let verdict = ExportVerdict {
        election: *record.election(),
        size: fin.size,
        root: fin.root,
        ballots_counted: record.ballots_counted(),
        complete: record.is_complete(),
        checkpoints: notes.len(),
        attestations: attestations.len(),
    };
    Ok((verdict, record))
}
