//! The rules of an election's log: every entry goes through the election's
//! [`Record`] on the sequencer thread, so rule checks and appends are one
//! ordered, atomic step, and the record never runs ahead of a durable log
//! (if a commit fails the sequencer stops; a restart replays the log).

use std::any::Any;
use std::cell::Cell;
use std::sync::Arc;

use rayon::prelude::*;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Attestation, Ballot, Entry, EntryError, EntryKind, StoredBallot};
use urne_crypto::manifest::Manifest;
use urne_crypto::merkle::{self, leaf_hash};
use urne_crypto::record::{BallotCheck, BallotHistory, Record, RecordError};

use super::registry::{Election, Elections};
use super::status::Snapshot;
use super::tables::{
    u32_key, RECORD_SNAPSHOTS, RECORD_SNAPSHOT_KEY, REGISTRAR_KEYS, ROSTER_COMMITTING,
    ROSTER_COMMITTING_KEY,
};
use super::ElectionId;
use crate::sequencer::{
    AppendError, CommittedView, Head, LogRules, LogView, Rejection, RejectionKind, RowWrite,
};
use crate::store::{Store, StoreError};

/// Proof, handed to the machine with a ballot entry, that the ballot's
/// credential, signature and proofs were verified before sequencing; the
/// machine then applies it with [`BallotCheck::Deferred`]. Only ballot
/// verification ([`super::verification`]) makes one, bound to the leaf hash
/// of the entry's exact bytes.
pub struct VerifiedBallot {
    leaf: [u8; 32],
}

impl VerifiedBallot {
    /// The ballot of the entry with this leaf hash passed verification.
    pub(super) fn new(leaf: [u8; 32]) -> Self {
        VerifiedBallot { leaf }
    }
}

/// The rejection a record error becomes: out-of-phase and duplicates
/// conflict with the state (409), undecodable entries are malformed (400),
/// everything else is invalid (422).
pub fn rejection(e: &RecordError) -> Rejection {
    let kind = match e.code() {
        "out_of_phase"
        | "duplicate"
        | "lottery_out_of_order"
        | "beacon_round_passed"
        | "outside_voting_window"
        | "missing_acknowledgement" => RejectionKind::Conflict,
        "malformed_entry" | "unknown_kind" => RejectionKind::Malformed,
        _ => RejectionKind::Invalid,
    };
    Rejection::new(kind, e.code(), e.to_string())
}

/// An election's log rules: its record, and the handle it publishes to.
#[derive(Clone)]
pub struct ElectionMachine {
    election: Arc<Election>,
    /// `None` until the manifest (entry 0) is applied.
    record: Option<Record>,
}

impl ElectionMachine {
    /// The rules of a new election; the first entry must be its manifest.
    pub fn new(election: Arc<Election>) -> Self {
        ElectionMachine {
            election,
            record: None,
        }
    }

    /// The record, once the manifest is applied.
    pub fn record(&self) -> Option<&Record> {
        self.record.as_ref()
    }

    /// The election handle.
    pub fn election(&self) -> &Arc<Election> {
        &self.election
    }

    fn apply_with(
        &mut self,
        index: u64,
        bytes: &[u8],
        check: BallotCheck,
        view: &dyn LogView,
    ) -> Result<(), AppendError> {
        let entry =
            Entry::from_bytes(bytes).map_err(|e| rejection(&RecordError::Entry(e.into())))?;
        if entry.kind == EntryKind::Open as u8 {
            no_import_appending(view)?;
        }
        self.apply_entry(index, &entry, check, None, view)
    }

    /// Applies a decoded entry; a ballot entry given with its
    /// [`StoredBallot`] is applied as one of the service's own store.
    fn apply_entry(
        &mut self,
        index: u64,
        entry: &Entry,
        check: BallotCheck,
        stored: Option<&StoredBallot>,
        view: &dyn LogView,
    ) -> Result<(), AppendError> {
        let Some(record) = self.record.as_mut() else {
            if index != 0 {
                tracing::error!(index, "election rules without a manifest");
                return Err(AppendError::Internal);
            }
            let record = Record::open(entry).map_err(|e| rejection(&e))?;
            if record.election() != self.election.id().as_bytes() {
                return Err(rejection(&RecordError::Entry(EntryError::WrongElection)).into());
            }
            self.record = Some(record);
            return Ok(());
        };
        if record.size() != index {
            tracing::error!(
                index,
                size = record.size(),
                "election record out of step with its log"
            );
            return Err(AppendError::Internal);
        }
        if entry.kind == EntryKind::Attestation as u8 {
            check_attestation(entry, view)?;
        }
        let history = ViewHistory {
            view,
            store_failed: Cell::new(false),
        };
        let applied = match stored {
            Some(ballot) => record.apply_stored_ballot(entry, ballot, &history),
            None => record.apply(entry, check, &history),
        };
        match applied {
            Ok(_) => Ok(()),
            Err(e) if history.store_failed.get() => {
                tracing::error!(error = %e, "store read failed while replacing a ballot");
                Err(AppendError::Unavailable)
            }
            Err(e @ (RecordError::History(_) | RecordError::SupersededMismatch { .. })) => {
                tracing::error!(error = %e, "ballot history inconsistent with the record");
                Err(AppendError::Internal)
            }
            Err(e) => Err(rejection(&e).into()),
        }
    }

    /// Applies a durable entry at start-up, as read by [`read_stored`]. The
    /// store's own entries were decoded strictly and verified in full when
    /// they were appended, so ballots are read as [`BallotCheck::Stored`]: no
    /// proofs checked, no canonical re-encoding, only the ciphertexts
    /// decompressed.
    fn replay(
        &mut self,
        index: u64,
        bytes: &[u8],
        read: Option<(Entry, Option<StoredBallot>)>,
        view: &dyn LogView,
    ) -> Result<(), AppendError> {
        match read {
            Some((entry, stored)) => {
                self.apply_entry(index, &entry, BallotCheck::Stored, stored.as_ref(), view)
            }
            // Undecodable: the strict path says why.
            None => self.apply_with(index, bytes, BallotCheck::Stored, view),
        }
    }
}

/// A stored entry decoded for the replay, with its [`StoredBallot`] if it is
/// a ballot (`None` if the entry does not decode).
fn read_stored(bytes: &[u8]) -> Option<(Entry, Option<StoredBallot>)> {
    let entry = Entry::from_bytes(bytes).ok()?;
    let ballot = (entry.kind == EntryKind::Ballot as u8)
        .then(|| StoredBallot::from_stored_bytes(&entry.body).ok())
        .flatten();
    Some((entry, ballot))
}

impl LogRules for ElectionMachine {
    fn apply(
        &mut self,
        index: u64,
        entry: &[u8],
        context: Option<&(dyn Any + Send)>,
        view: &dyn LogView,
    ) -> Result<(), AppendError> {
        // A ballot verified by its route skips re-verification; any other
        // (e.g. one sent to a generic route) is verified here, in full.
        let verified = context
            .and_then(|c| c.downcast_ref::<VerifiedBallot>())
            .is_some_and(|v| v.leaf == leaf_hash(entry));
        let check = if verified {
            BallotCheck::Deferred
        } else {
            BallotCheck::Full
        };
        self.apply_with(index, entry, check, view)
    }

    fn fork(&self) -> Box<dyn LogRules> {
        Box::new(self.clone())
    }

    fn committed(&mut self, _head: &Arc<Head>) {
        if let Some(record) = &self.record {
            let verifier = match self.election.verifier() {
                None => record.ballot_verifier().ok(),
                Some(_) => None,
            };
            self.election
                .publish(Snapshot::of(record), verifier.as_ref());
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn snapshot(&self) -> Option<RowWrite> {
        let record = self.record.as_ref()?;
        Some(RowWrite::upsert(
            RECORD_SNAPSHOTS,
            RECORD_SNAPSHOT_KEY.to_vec(),
            record.snapshot(),
        ))
    }
}

/// The record of an election, as a check sees it through [`LogView::rules`].
pub fn record_of(view: &dyn LogView) -> Result<&Record, Rejection> {
    view.rules()
        .and_then(|r| r.downcast_ref::<ElectionMachine>())
        .and_then(ElectionMachine::record)
        .ok_or_else(|| {
            Rejection::new(
                RejectionKind::Invalid,
                "not_an_election",
                "this log holds no election",
            )
        })
}

/// The election opens only once no roster import is midway through
/// appending its entries (§8.6): its last entries could not follow.
fn no_import_appending(view: &dyn LogView) -> Result<(), AppendError> {
    let committing = view
        .get(ROSTER_COMMITTING, ROSTER_COMMITTING_KEY)
        .map_err(|e| {
            tracing::error!(error = %e, "store read failed");
            AppendError::Unavailable
        })?;
    if committing.is_some_and(|k| !k.is_empty()) {
        return Err(Rejection::conflict(
            "roster_import_in_progress",
            "a roster import is still being appended; open the election once it is complete",
        )
        .into());
    }
    Ok(())
}

/// An attestation must name a durable checkpoint of this board: its size
/// within the committed log and its root the log's root at that size.
fn check_attestation(entry: &Entry, view: &dyn LogView) -> Result<(), AppendError> {
    // An undecodable body is the record's to report.
    let Ok(a) = entry.body::<Attestation>() else {
        return Ok(());
    };
    let mismatch = |m: &str| AppendError::from(rejection(&RecordError::Mismatch(m.to_string())));
    if a.size == 0 || a.size > view.committed_size() {
        return Err(mismatch(
            "attestation of a checkpoint this board has not issued",
        ));
    }
    let root = merkle::root_at(a.size, |id| {
        view.node(id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("node ({}, {}) missing", id.level, id.index))
        })
    })
    .map_err(|e| {
        tracing::error!(error = %e, "reading the tree for an attestation");
        AppendError::Unavailable
    })?;
    if root != a.root {
        return Err(mismatch(
            "attested root differs from the board's root at that size",
        ));
    }
    Ok(())
}

/// Earlier ballots, read from the log (durable or earlier in the group).
struct ViewHistory<'a> {
    view: &'a dyn LogView,
    store_failed: Cell<bool>,
}

impl BallotHistory for ViewHistory<'_> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        let bytes = match self.view.entry(index) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(format!("no entry {index}")),
            Err(e) => {
                self.store_failed.set(true);
                return Err(e.to_string());
            }
        };
        let entry = Entry::from_bytes(&bytes).map_err(|e| e.to_string())?;
        entry.body().map_err(|e| e.to_string())
    }
}

/// Why an election could not be restored at start-up.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A registrar key is missing or unreadable.
    #[error("election {election}: registrar key of constituency {index} {problem}")]
    RegistrarKey {
        /// The election.
        election: ElectionId,
        /// Constituency index.
        index: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// A stored entry does not pass the record (the log was altered, or
    /// the rules changed).
    #[error("election {election}: entry {index} does not replay: {reason}")]
    Replay {
        /// The election.
        election: ElectionId,
        /// Leaf index.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// Bytes read per page while replaying a log.
const REPLAY_PAGE_BYTES: usize = 16 << 20;

/// Rebuilds an election's rules by replaying its durable log, and registers
/// the election. Returns `None` for a log that is not an election (its first
/// entry is not the manifest whose hash is the log's id).
pub fn restore(
    store: &dyn Store,
    log: ElectionId,
    size: u64,
    elections: &Elections,
) -> Result<Option<ElectionMachine>, RestoreError> {
    let Some(first) = store.entry(&log, 0)? else {
        return Ok(None);
    };
    let manifest = match Entry::from_bytes(&first) {
        Ok(e) if e.kind == EntryKind::Manifest as u8 && e.election == log.0 => {
            match e.body::<Manifest>() {
                Ok(m) if m.election_id() == log.0 => m,
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let manifest_bytes = manifest.to_bytes();
    let mut registrars = Vec::with_capacity(manifest.constituencies.len());
    for index in 0..manifest.constituencies.len() {
        let problem = |problem| RestoreError::RegistrarKey {
            election: log,
            index,
            problem,
        };
        let secret = store
            .get(&log, REGISTRAR_KEYS, &u32_key(index as u32))?
            .ok_or_else(|| problem("is missing"))?;
        let secret = zeroize::Zeroizing::new(secret);
        let key = urne_crypto::credential::RegistrarKey::from_secret_bytes(&secret)
            .map_err(|_| problem("is malformed"))?;
        if key.public() != manifest.constituencies[index].registrar_key {
            return Err(problem("does not match the manifest"));
        }
        registrars.push(key);
    }
    let election = Arc::new(Election::new(log, manifest, manifest_bytes, registrars));
    let mut machine = ElectionMachine::new(election.clone());
    let mut index = 0;
    let started = std::time::Instant::now();
    if let Some(record) = stored_record(store, log, size) {
        index = record.size();
        machine.record = Some(record);
    }
    let resumed = index;
    let snapshot_micros = started.elapsed().as_micros() as u64;
    while index < size {
        let page = store.entries(&log, index, size, REPLAY_PAGE_BYTES)?;
        if page.is_empty() {
            return Err(StoreError::Corrupt(format!("log {log}: entry {index} missing")).into());
        }
        // Decoding (the ciphertexts' points) on every core; applying in order.
        let read: Vec<_> = page.par_iter().map(|bytes| read_stored(bytes)).collect();
        for (bytes, read) in page.iter().zip(read) {
            let view = CommittedView {
                store,
                log,
                size: index,
            };
            machine
                .replay(index, bytes, read, &view)
                .map_err(|e| RestoreError::Replay {
                    election: log,
                    index,
                    reason: e.to_string(),
                })?;
            index += 1;
        }
    }
    tracing::debug!(
        election = %log,
        size,
        from_snapshot = resumed,
        snapshot_micros,
        replay_micros = started.elapsed().as_micros() as u64 - snapshot_micros,
        "election record restored"
    );
    elections.insert(election);
    Ok(Some(machine))
}

/// The record kept in the newest stored snapshot of `log`, if it is one
/// this log can continue from: it restores, is of this election, and covers
/// at least the manifest and at most `size` entries. Anything else is
/// logged (`bad_snapshot`) and ignored: the log is then replayed from its
/// first entry, which gives the same record; a snapshot never stops the
/// service from starting.
fn stored_record(store: &dyn Store, log: ElectionId, size: u64) -> Option<Record> {
    let bytes = match store.get(&log, RECORD_SNAPSHOTS, RECORD_SNAPSHOT_KEY) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(election = %log, error = %e, code = "bad_snapshot",
                "record snapshot unreadable; replaying the whole log");
            return None;
        }
    };
    match Record::restore(&bytes) {
        Ok(record) if record.election() == &log.0 && (1..=size).contains(&record.size()) => {
            Some(record)
        }
        Ok(record) => {
            tracing::warn!(election = %log, snapshot_size = record.size(), size,
                code = "bad_snapshot",
                "record snapshot does not fit the log; replaying the whole log");
            None
        }
        Err(e) => {
            tracing::warn!(election = %log, error = %e, code = "bad_snapshot",
                "record snapshot does not restore; replaying the whole log");
            None
        }
    }
}
