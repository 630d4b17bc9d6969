//! The single writer of the board: every append goes through one thread.
//!
//! Request handlers send an [`AppendRequest`] and await its answer. The writer
//! thread takes every request already queued (a *group*), checks each one's
//! preconditions against the committed state *plus the earlier requests of
//! the same group*, appends the accepted entries to the working Merkle
//! frontiers, signs one checkpoint per touched log for its new size, and hands
//! the whole group to [`Store::commit`] as one atomic, durable write (group
//! commit: one fsync for many entries). Only then does it publish the new
//! heads to readers and answer every request of the group. An entry is thus
//! acknowledged only once it is durable, together with a checkpoint that
//! includes it, and a checkpoint is handed out only once it is stored.
//!
//! If a commit fails the writer stops accepting appends (fail-stop): the state
//! on disk is then uncertain, and a restart re-reads it. Answers of a failed
//! group, including rejections decided against its uncommitted state, are
//! [`AppendError::Unavailable`].

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};
use urne_crypto::merkle::{leaf_hash, Frontier};

use crate::election::ElectionId;
use crate::store::{Digest, Store, StoreError, Table, Write, WriteSet};

/// Most requests committed in one group.
const MAX_GROUP_ENTRIES: usize = 4096;
/// Group size in entry bytes past which no further request joins the group.
const MAX_GROUP_BYTES: usize = 64 << 20;
/// Requests that may wait for the writer before senders are held back.
const QUEUE_DEPTH: usize = 8192;

/// What an append requires of its log before it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRequirement {
    /// The log must exist (every entry after an election's first).
    Exists,
    /// The log must not exist: this entry creates it (an election's first).
    Absent,
    /// Either; the entry creates the log if needed.
    Any,
}

/// How a row write treats an existing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMode {
    /// Refuse the whole append if the row exists, with this error code.
    InsertNew {
        /// Stable error code of the rejection (e.g. `credential_already_issued`).
        conflict: &'static str,
    },
    /// Overwrite any existing row.
    Upsert,
}

/// A keyed-table write committed atomically with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWrite {
    /// The table.
    pub table: Table,
    /// Row key.
    pub key: Vec<u8>,
    /// Row value.
    pub value: Vec<u8>,
    /// Behaviour when the row already exists.
    pub mode: RowMode,
}

impl RowWrite {
    /// A row that must not exist yet; its existence rejects the append with `conflict`.
    pub fn insert_new(table: Table, key: Vec<u8>, value: Vec<u8>, conflict: &'static str) -> Self {
        Self {
            table,
            key,
            value,
            mode: RowMode::InsertNew { conflict },
        }
    }

    /// A row written whatever it held before.
    pub fn upsert(table: Table, key: Vec<u8>, value: Vec<u8>) -> Self {
        Self {
            table,
            key,
            value,
            mode: RowMode::Upsert,
        }
    }
}

/// The state a precondition sees: committed data plus the earlier requests
/// of the same group.
pub trait LogView {
    /// The log's size before this entry (0 if it does not exist yet).
    fn size(&self) -> u64;
    /// Whether the log exists.
    fn exists(&self) -> bool;
    /// A row of one of the log's tables.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

/// A custom precondition run by the writer: it accepts the entry, possibly
/// with further row writes, or rejects it.
pub type Check = Box<dyn FnOnce(&dyn LogView) -> Result<Vec<RowWrite>, Rejection> + Send>;

/// A request to append one entry.
pub struct AppendRequest {
    /// The log.
    pub log: ElectionId,
    /// The entry bytes (opaque to the sequencer).
    pub entry: Vec<u8>,
    /// What the log must be.
    pub requirement: LogRequirement,
    /// Row writes committed with the entry.
    pub rows: Vec<RowWrite>,
    /// Further precondition, evaluated after `requirement` and `rows`.
    pub check: Option<Check>,
}

impl AppendRequest {
    /// A plain append with no side effects.
    pub fn new(log: ElectionId, entry: Vec<u8>, requirement: LogRequirement) -> Self {
        Self {
            log,
            entry,
            requirement,
            rows: Vec::new(),
            check: None,
        }
    }
}

/// Why a precondition refused an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// Whether the request conflicts with the state or is invalid in itself.
    pub kind: RejectionKind,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

/// Category of a [`Rejection`], which fixes its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Conflicts with the log's state (duplicate, out of phase): 409.
    Conflict,
    /// Semantically invalid whatever the state: 422.
    Invalid,
}

impl Rejection {
    /// A conflict with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectionKind::Conflict,
            code,
            message: message.into(),
        }
    }

    /// An invalid request.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectionKind::Invalid,
            code,
            message: message.into(),
        }
    }
}

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The log does not exist and the request required it.
    #[error("unknown election")]
    UnknownLog,
    /// A precondition refused the entry.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The board is shutting down and takes no more entries.
    #[error("the board is shutting down")]
    ShuttingDown,
    /// The store failed; the board takes no more entries until restarted.
    #[error("the board's storage is unavailable")]
    Unavailable,
    /// A precondition of the election logic panicked (a bug); nothing was written.
    #[error("internal error while checking the entry")]
    Internal,
}

/// The published state of one log: its size and the checkpoint for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Number of committed entries.
    pub size: u64,
    /// Merkle root of those entries.
    pub root: Digest,
    /// The signed checkpoint note for `size`.
    pub checkpoint: Arc<str>,
}

/// A successful append: the entry's leaf index and the head that includes it.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Leaf index of the entry.
    pub index: u64,
    /// The log's head after the group that committed the entry.
    pub head: Arc<Head>,
}

/// The committed heads of all logs, as readers see them.
#[derive(Debug, Default)]
pub struct Heads {
    logs: RwLock<HashMap<ElectionId, Arc<Head>>>,
}

impl Heads {
    /// The head of a log, if it exists.
    pub fn get(&self, log: &ElectionId) -> Option<Arc<Head>> {
        let logs = self.logs.read().unwrap_or_else(PoisonError::into_inner);
        logs.get(log).cloned()
    }

    fn publish(&self, log: ElectionId, head: Arc<Head>) {
        let mut logs = self.logs.write().unwrap_or_else(PoisonError::into_inner);
        logs.insert(log, head);
    }
}

/// Error of a [`CheckpointSigner`].
pub type SignError = Box<dyn std::error::Error + Send + Sync>;

/// Signs the checkpoint of `(log, size, root)`, returning the signed note.
pub type CheckpointSigner =
    Box<dyn FnMut(&ElectionId, u64, &Digest) -> Result<String, SignError> + Send>;

type Reply = oneshot::Sender<Result<Appended, AppendError>>;

enum Message {
    Append(AppendRequest, Reply),
    Stop,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::Sender<Message>,
    closing: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
}

/// Owns the writer thread; [`SequencerThread::stop`] drains and joins it.
pub struct SequencerThread {
    handle: Sequencer,
    thread: JoinHandle<()>,
}

/// A log as the writer starts it: its committed frontier and head.
pub struct LogState {
    /// The log.
    pub log: ElectionId,
    /// Frontier of the committed entries.
    pub frontier: Frontier,
    /// The published head.
    pub head: Arc<Head>,
}

impl Sequencer {
    /// Starts the writer thread over `store`, from the given committed logs,
    /// publishing heads into `heads`.
    pub fn start(
        store: Arc<dyn Store>,
        logs: Vec<LogState>,
        heads: Arc<Heads>,
        signer: CheckpointSigner,
    ) -> std::io::Result<SequencerThread> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let handle = Sequencer {
            tx,
            closing: Arc::new(AtomicBool::new(false)),
            failed: Arc::new(AtomicBool::new(false)),
        };
        let mut frontiers = HashMap::new();
        for state in logs {
            heads.publish(state.log, state.head);
            frontiers.insert(state.log, state.frontier);
        }
        let writer = Writer {
            store,
            heads,
            signer,
            frontiers,
            failed: handle.failed.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("urne-sequencer".into())
            .spawn(move || writer.run(rx))?;
        Ok(SequencerThread { handle, thread })
    }

    /// Appends an entry; returns once it is durable, or why it was not appended.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(AppendError::Unavailable);
        }
        if self.closing.load(Ordering::Acquire) {
            return Err(AppendError::ShuttingDown);
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Append(request, reply))
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        // A dropped reply means the writer stopped before reaching this request.
        answer.await.unwrap_or(Err(AppendError::ShuttingDown))
    }

    /// Whether the writer still accepts appends.
    pub fn is_healthy(&self) -> bool {
        !self.failed.load(Ordering::Acquire) && !self.closing.load(Ordering::Acquire)
    }
}

impl SequencerThread {
    /// A handle for sending appends.
    pub fn handle(&self) -> Sequencer {
        self.handle.clone()
    }

    /// Refuses new appends, commits those already queued, and waits for the
    /// writer to finish.
    pub async fn stop(self) {
        self.handle.closing.store(true, Ordering::Release);
        // Requests queued before `Stop` are still committed; later ones are
        // answered `ShuttingDown` when the receiver is dropped.
        let _ = self.handle.tx.send(Message::Stop).await;
        let thread = self.thread;
        let joined = tokio::task::spawn_blocking(move || thread.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            tracing::error!("sequencer thread ended abnormally");
        }
    }
}

struct Writer {
    store: Arc<dyn Store>,
    heads: Arc<Heads>,
    signer: CheckpointSigner,
    frontiers: HashMap<ElectionId, Frontier>,
    failed: Arc<AtomicBool>,
}

/// A group's uncommitted state.
#[derive(Default)]
struct Pending {
    frontiers: HashMap<ElectionId, Frontier>,
    /// Touched logs in first-touch order, so checkpoints are signed deterministically.
    order: Vec<ElectionId>,
    rows: HashMap<(ElectionId, Table, Vec<u8>), Vec<u8>>,
    writes: WriteSet,
}

struct View<'a> {
    writer: &'a Writer,
    pending: &'a Pending,
    log: ElectionId,
}

impl LogView for View<'_> {
    fn size(&self) -> u64 {
        self.pending
            .frontiers
            .get(&self.log)
            .or_else(|| self.writer.frontiers.get(&self.log))
            .map_or(0, Frontier::size)
    }

    fn exists(&self) -> bool {
        self.pending.frontiers.contains_key(&self.log)
            || self.writer.frontiers.contains_key(&self.log)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.pending.rows.get(&(self.log, table, key.to_vec())) {
            return Ok(Some(v.clone()));
        }
        self.writer.store.get(&self.log, table, key)
    }
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Message>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut group = Vec::new();
            let mut bytes = 0;
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Stop => {
                        stopping = true;
                        break;
                    }
                    Message::Append(request, reply) => {
                        bytes += request.entry.len();
                        group.push((request, reply));
                    }
                }
                if group.len() < MAX_GROUP_ENTRIES && bytes < MAX_GROUP_BYTES {
                    next = rx.try_recv().ok();
                }
            }
            if !group.is_empty()
                && catch_unwind(AssertUnwindSafe(|| self.commit_group(group))).is_err()
            {
                // Unreachable by design; if it happens, stop writing rather than
                // guess what reached the store. Unanswered requests see `ShuttingDown`.
                tracing::error!("the sequencer panicked; the board stops taking entries");
                self.failed.store(true, Ordering::Release);
            }
        }
        tracing::info!("sequencer stopped");
    }

    fn commit_group(&mut self, group: Vec<(AppendRequest, Reply)>) {
        if self.failed.load(Ordering::Acquire) {
            for (_, reply) in group {
                let _ = reply.send(Err(AppendError::Unavailable));
            }
            return;
        }
        let mut pending = Pending::default();
        let mut outcomes = Vec::with_capacity(group.len());
        for (request, reply) in group {
            let log = request.log;
            let outcome = self.apply(&mut pending, request).map(|index| (log, index));
            outcomes.push((outcome, reply));
        }

        let mut new_heads = Vec::with_capacity(pending.order.len());
        for log in &pending.order {
            let frontier = &pending.frontiers[log];
            let (size, root) = (frontier.size(), frontier.root());
            let note = match (self.signer)(log, size, &root) {
                Ok(note) => note,
                Err(e) => {
                    tracing::error!(error = %e, "checkpoint signing failed; group dropped");
                    for (_, reply) in outcomes {
                        let _ = reply.send(Err(AppendError::Internal));
                    }
                    return;
                }
            };
            pending.writes.push(Write::Checkpoint {
                log: *log,
                size,
                note: note.clone().into_bytes(),
            });
            pending.writes.push(Write::Size { log: *log, size });
            let head = Head {
                size,
                root,
                checkpoint: note.into(),
            };
            new_heads.push((*log, Arc::new(head)));
        }

        if !pending.writes.is_empty() {
            let entries = outcomes.iter().filter(|(o, _)| o.is_ok()).count();
            if let Err(e) = self.store.commit(std::mem::take(&mut pending.writes)) {
                tracing::error!(error = %e, "commit failed; the board stops taking entries");
                self.failed.store(true, Ordering::Release);
                for (_, reply) in outcomes {
                    let _ = reply.send(Err(AppendError::Unavailable));
                }
                return;
            }
            tracing::debug!(entries, logs = new_heads.len(), "group committed");
        }

        self.frontiers.extend(pending.frontiers);
        let mut published = HashMap::with_capacity(new_heads.len());
        for (log, head) in new_heads {
            self.heads.publish(log, head.clone());
            published.insert(log, head);
        }
        for (outcome, reply) in outcomes {
            let answer = outcome.map(|(log, index)| Appended {
                index,
                head: published[&log].clone(),
            });
            let _ = reply.send(answer);
        }
    }

    /// Checks `request` against the committed and pending state and, if it is
    /// accepted, adds its writes to `pending`. Returns the leaf index.
    fn apply(&self, pending: &mut Pending, request: AppendRequest) -> Result<u64, AppendError> {
        let AppendRequest {
            log,
            entry,
            requirement,
            mut rows,
            check,
        } = request;
        let view = View {
            writer: self,
            pending,
            log,
        };
        match (requirement, view.exists()) {
            (LogRequirement::Exists, false) => return Err(AppendError::UnknownLog),
            (LogRequirement::Absent, true) => {
                return Err(
                    Rejection::conflict("election_exists", "the election already exists").into(),
                )
            }
            _ => {}
        }
        let store_failure = |e: StoreError| {
            tracing::error!(error = %e, "store read failed in a precondition");
            AppendError::Unavailable
        };
        check_rows(&view, &rows).map_err(|e| e.map_store(store_failure))?;
        if let Some(check) = check {
            let extra = catch_unwind(AssertUnwindSafe(|| check(&view))).map_err(|_| {
                tracing::error!("an append precondition panicked");
                AppendError::Internal
            })??;
            rows.extend(extra);
            check_rows(&view, &rows).map_err(|e| e.map_store(store_failure))?;
        }

        let frontier = match pending.frontiers.entry(log) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                pending.order.push(log);
                v.insert(self.frontiers.get(&log).cloned().unwrap_or_default())
            }
        };
        let index = frontier.size();
        let nodes = frontier
            .append(leaf_hash(&entry))
            .map_err(|_| Rejection::conflict("board_full", "the board holds 2^64 - 1 entries"))?;
        for (node, hash) in nodes {
            pending.writes.push(Write::Node { log, node, hash });
        }
        pending.writes.push(Write::Entry {
            log,
            index,
            bytes: entry,
        });
        for row in rows {
            pending
                .rows
                .insert((log, row.table, row.key.clone()), row.value.clone());
            pending.writes.push(Write::Row {
                log,
                table: row.table,
                key: row.key,
                value: row.value,
            });
        }
        Ok(index)
    }
}

enum RowCheckError {
    Rejected(Rejection),
    Store(StoreError),
}

impl RowCheckError {
    fn map_store(self, f: impl FnOnce(StoreError) -> AppendError) -> AppendError {
        match self {
            RowCheckError::Rejected(r) => AppendError::Rejected(r),
            RowCheckError::Store(e) => f(e),
        }
    }
}

/// Every `InsertNew` row must be absent from the view and not repeated in `rows`.
fn check_rows(view: &View<'_>, rows: &[RowWrite]) -> Result<(), RowCheckError> {
    let mut seen = HashSet::new();
    for row in rows {
        let fresh = seen.insert((row.table, row.key.as_slice()));
        if let RowMode::InsertNew { conflict } = row.mode {
            let present = view
                .get(row.table, &row.key)
                .map_err(RowCheckError::Store)?;
            if present.is_some() || !fresh {
                return Err(RowCheckError::Rejected(Rejection::conflict(
                    conflict,
                    format!("this {} entry already exists", row.table.name()),
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sled::SledStore;
    use urne_crypto::merkle;

    const MEMBERS: Table = Table::new("members");

    fn id(b: u8) -> ElectionId {
        ElectionId([b; 32])
    }

    fn fake_signer() -> CheckpointSigner {
        Box::new(|log, size, root| Ok(format!("{log}\n{size}\n{}\n", hex::encode(root))))
    }

    fn writer(store: Arc<dyn Store>) -> Writer {
        Writer {
            store,
            heads: Arc::default(),
            signer: fake_signer(),
            frontiers: HashMap::new(),
            failed: Arc::default(),
        }
    }

    /// Runs one group through `commit_group` and returns the answers in order.
    fn run_group(
        w: &mut Writer,
        requests: Vec<AppendRequest>,
    ) -> Vec<Result<Appended, AppendError>> {
        let mut answers = Vec::new();
        let group = requests
            .into_iter()
            .map(|r| {
                let (tx, rx) = oneshot::channel();
                answers.push(rx);
                (r, tx)
            })
            .collect();
        w.commit_group(group);
        answers
            .into_iter()
            .map(|mut rx| rx.try_recv().expect("every request is answered"))
            .collect()
    }

    fn credential(log: ElectionId, member: &[u8]) -> AppendRequest {
        let mut r = AppendRequest::new(log, member.to_vec(), LogRequirement::Any);
        r.rows.push(RowWrite::insert_new(
            MEMBERS,
            member.to_vec(),
            b"issued".to_vec(),
            "credential_already_issued",
        ));
        r
    }

    fn sled() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        (dir, Arc::new(store))
    }

    #[test]
    fn a_group_sees_its_own_earlier_entries() {
        let (_dir, store) = sled();
        let mut w = writer(store.clone());
        let answers = run_group(
            &mut w,
            vec![
                credential(id(1), b"alice"),
                credential(id(1), b"alice"),
                credential(id(1), b"bob"),
                credential(id(2), b"alice"),
            ],
        );
        assert_eq!(answers[0].as_ref().unwrap().index, 0);
        match &answers[1] {
            Err(AppendError::Rejected(r)) => {
                assert_eq!(r.code, "credential_already_issued");
                assert_eq!(r.kind, RejectionKind::Conflict);
            }
            other => panic!("duplicate accepted: {other:?}"),
        }
        let bob = answers[2].as_ref().unwrap();
        assert_eq!(bob.index, 1);
        assert_eq!(bob.head.size, 2);
        // Another election's table is separate.
        assert_eq!(answers[3].as_ref().unwrap().index, 0);

        // Committed: entries, rows, size and a checkpoint for the new size.
        assert_eq!(store.size(&id(1)).unwrap(), Some(2));
        assert_eq!(
            store.entries(&id(1), 0, 9, usize::MAX).unwrap(),
            vec![b"alice".to_vec(), b"bob".to_vec()]
        );
        assert_eq!(
            store.get(&id(1), MEMBERS, b"bob").unwrap(),
            Some(b"issued".to_vec())
        );
        let root = merkle::root(&[merkle::leaf_hash(b"alice"), merkle::leaf_hash(b"bob")]);
        assert_eq!(bob.head.root, root);
        assert_eq!(
            store.checkpoint(&id(1), 2).unwrap().unwrap(),
            bob.head.checkpoint.as_bytes()
        );
        assert_eq!(w.heads.get(&id(1)), Some(bob.head.clone()));

        // And in a later group, the committed row still refuses the duplicate.
        let again = run_group(&mut w, vec![credential(id(1), b"bob")]);
        assert!(matches!(&again[0], Err(AppendError::Rejected(_))));
        assert_eq!(store.size(&id(1)).unwrap(), Some(2));
    }

    #[test]
    fn log_requirements_are_enforced_within_a_group() {
        let (_dir, store) = sled();
        let mut w = writer(store.clone());
        let answers = run_group(
            &mut w,
            vec![
                AppendRequest::new(id(1), b"m".to_vec(), LogRequirement::Exists),
                AppendRequest::new(id(1), b"m".to_vec(), LogRequirement::Absent),
                AppendRequest::new(id(1), b"m2".to_vec(), LogRequirement::Absent),
                AppendRequest::new(id(1), b"x".to_vec(), LogRequirement::Exists),
            ],
        );
        assert!(matches!(answers[0], Err(AppendError::UnknownLog)));
        assert_eq!(answers[1].as_ref().unwrap().index, 0);
        match &answers[2] {
            Err(AppendError::Rejected(r)) => assert_eq!(r.code, "election_exists"),
            other => panic!("second genesis accepted: {other:?}"),
        }
        assert_eq!(answers[3].as_ref().unwrap().index, 1);
        assert_eq!(store.size(&id(1)).unwrap(), Some(2));
    }

    #[test]
    fn custom_checks_see_pending_state_and_add_rows() {
        let (_dir, store) = sled();
        let mut w = writer(store.clone());
        let at_most_two = |n: u8| {
            let mut r = AppendRequest::new(id(1), vec![n], LogRequirement::Any);
            r.check = Some(Box::new(move |view: &dyn LogView| {
                if view.size() >= 2 {
                    return Err(Rejection::conflict("out_of_phase", "the log is closed"));
                }
                Ok(vec![RowWrite::upsert(MEMBERS, b"last".to_vec(), vec![n])])
            }));
            r
        };
        let invalid = {
            let mut r = AppendRequest::new(id(1), vec![9], LogRequirement::Any);
            r.check = Some(Box::new(|_: &dyn LogView| {
                Err(Rejection::invalid("bad_entry", "no"))
            }));
            r
        };
        let answers = run_group(
            &mut w,
            vec![at_most_two(0), invalid, at_most_two(1), at_most_two(2)],
        );
        assert!(answers[0].is_ok() && answers[2].is_ok());
        assert!(
            matches!(&answers[1], Err(AppendError::Rejected(r)) if r.kind == RejectionKind::Invalid)
        );
        assert!(matches!(&answers[3], Err(AppendError::Rejected(r)) if r.code == "out_of_phase"));
        assert_eq!(store.get(&id(1), MEMBERS, b"last").unwrap(), Some(vec![1]));
    }

    #[test]
    fn a_panicking_check_rejects_only_its_request() {
        let (_dir, store) = sled();
        let mut w = writer(store);
        let mut bad = AppendRequest::new(id(1), vec![1], LogRequirement::Any);
        bad.check = Some(Box::new(|_: &dyn LogView| panic!("bug in election logic")));
        let answers = run_group(
            &mut w,
            vec![bad, AppendRequest::new(id(1), vec![2], LogRequirement::Any)],
        );
        assert!(matches!(answers[0], Err(AppendError::Internal)));
        assert_eq!(answers[1].as_ref().unwrap().index, 0);
    }

    /// A store whose commits fail.
    struct BrokenStore(Arc<dyn Store>);

    impl Store for BrokenStore {
        fn logs(&self) -> Result<Vec<(ElectionId, u64)>, StoreError> {
            self.0.logs()
        }
        fn size(&self, log: &ElectionId) -> Result<Option<u64>, StoreError> {
            self.0.size(log)
        }
        fn entry(&self, log: &ElectionId, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.entry(log, index)
        }
        fn entries(
            &self,
            log: &ElectionId,
            s: u64,
            e: u64,
            max: usize,
        ) -> Result<Vec<Vec<u8>>, StoreError> {
            self.0.entries(log, s, e, max)
        }
        fn node(
            &self,
            log: &ElectionId,
            node: merkle::NodeId,
        ) -> Result<Option<Digest>, StoreError> {
            self.0.node(log, node)
        }
        fn checkpoint(&self, log: &ElectionId, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.checkpoint(log, size)
        }
        fn get(&self, log: &ElectionId, t: Table, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.get(log, t, k)
        }
        fn commit(&self, _: WriteSet) -> Result<(), StoreError> {
            Err(StoreError::Engine("disk on fire".into()))
        }
    }

    #[test]
    fn a_failed_commit_acknowledges_nothing_and_stops_the_writer() {
        let (_dir, store) = sled();
        let mut w = writer(Arc::new(BrokenStore(store.clone())));
        let answers = run_group(
            &mut w,
            vec![credential(id(1), b"a"), credential(id(1), b"a")],
        );
        // Even the rejection was decided on state that never committed.
        assert!(answers
            .iter()
            .all(|a| matches!(a, Err(AppendError::Unavailable))));
        assert_eq!(w.heads.get(&id(1)), None);
        assert!(w.frontiers.is_empty());
        assert!(w.failed.load(Ordering::Acquire));
        let later = run_group(&mut w, vec![credential(id(1), b"b")]);
        assert!(matches!(later[0], Err(AppendError::Unavailable)));
        assert_eq!(store.size(&id(1)).unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_get_distinct_indices_and_stop_drains() {
        let (_dir, store) = sled();
        let heads = Arc::new(Heads::default());
        let thread =
            Sequencer::start(store.clone(), Vec::new(), heads.clone(), fake_signer()).unwrap();
        let seq = thread.handle();
        let tasks: Vec<_> = (0..200u32)
            .map(|i| {
                let seq = seq.clone();
                tokio::spawn(async move {
                    let entry = i.to_be_bytes().to_vec();
                    let done = seq
                        .append(AppendRequest::new(
                            id(7),
                            entry.clone(),
                            LogRequirement::Any,
                        ))
                        .await
                        .unwrap();
                    assert!(done.index < done.head.size);
                    (done.index, entry)
                })
            })
            .collect();
        let mut placed = Vec::new();
        for t in tasks {
            placed.push(t.await.unwrap());
        }
        placed.sort();
        let indices: Vec<u64> = placed.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, (0..200).collect::<Vec<_>>());
        for (index, entry) in &placed {
            assert_eq!(store.entry(&id(7), *index).unwrap().as_ref(), Some(entry));
        }
        let leaves: Vec<_> = placed.iter().map(|(_, e)| merkle::leaf_hash(e)).collect();
        assert_eq!(heads.get(&id(7)).unwrap().root, merkle::root(&leaves));

        thread.stop().await;
        assert!(!seq.is_healthy());
        assert!(matches!(
            seq.append(AppendRequest::new(id(7), vec![], LogRequirement::Any))
                .await,
            Err(AppendError::ShuttingDown)
        ));
    }
}
