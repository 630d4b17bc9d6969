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
//! A log may have [`LogRules`]: a state machine (for an election, its
//! record) that the writer runs on *every* entry of that log, as the last
//! check before the entry is accepted, whatever route sent it. The rules
//! live on the writer thread, so rule checks and appends are one ordered,
//! atomic step: two requests that cannot both be valid cannot both pass.
//! An [`UpdateRequest`] writes rows without an entry, under the same
//! ordering, and lets a check consult the rules.
//!
//! If a commit fails the writer stops accepting appends (fail-stop): the state
//! on disk is then uncertain, and a restart re-reads it (and rebuilds every
//! log's rules from the durable entries). Answers of a failed group,
//! including rejections decided against its uncommitted state, are
//! [`AppendError::Unavailable`].

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};
use urne_crypto::merkle::{leaf_hash, Frontier, NodeId};
use zeroize::Zeroizing;

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
    /// Row value (zeroized on drop: rows may hold secrets).
    pub value: Zeroizing<Vec<u8>>,
    /// Behaviour when the row already exists.
    pub mode: RowMode,
}

impl RowWrite {
    /// A row that must not exist yet; its existence rejects the append with `conflict`.
    pub fn insert_new(table: Table, key: Vec<u8>, value: Vec<u8>, conflict: &'static str) -> Self {
        Self {
            table,
            key,
            value: Zeroizing::new(value),
            mode: RowMode::InsertNew { conflict },
        }
    }

    /// A row written whatever it held before.
    pub fn upsert(table: Table, key: Vec<u8>, value: Vec<u8>) -> Self {
        Self {
            table,
            key,
            value: Zeroizing::new(value),
            mode: RowMode::Upsert,
        }
    }
}

/// The state a precondition sees: committed data plus the earlier requests
/// of the same group.
pub trait LogView {
    /// The log's size before this request (0 if it does not exist yet).
    fn size(&self) -> u64;
    /// The log's durable size (entries of the current group excluded).
    fn committed_size(&self) -> u64;
    /// Whether the log exists.
    fn exists(&self) -> bool;
    /// A row of one of the log's tables.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// The entry at `index` (durable, or accepted earlier in the group).
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// A durable Merkle node of the log (nodes of the current group excluded).
    fn node(&self, node: NodeId) -> Result<Option<Digest>, StoreError>;
    /// The log's rules, for checks that consult them (`None` while the rules
    /// themselves run, or for a log without rules).
    fn rules(&self) -> Option<&dyn Any>;
}

/// A custom precondition run by the writer: it accepts the request, possibly
/// with further row writes, or rejects it. It runs before the log's rules.
pub type Check = Box<dyn FnOnce(&dyn LogView) -> Result<Vec<RowWrite>, Rejection> + Send>;

/// Extra facts a route established about an entry (e.g. "this ballot's
/// proofs were verified"), handed to the log's rules with the entry.
pub type Context = Box<dyn Any + Send>;

/// The rules of a log: a state machine over its entries, run by the writer
/// on every entry appended to the log.
pub trait LogRules: Send + 'static {
    /// Checks the entry about to be appended at `index` and, if it is
    /// valid, applies it to the state. On error the state must be unchanged.
    fn apply(
        &mut self,
        index: u64,
        entry: &[u8],
        context: Option<&(dyn Any + Send)>,
        view: &dyn LogView,
    ) -> Result<(), AppendError>;

    /// An independent copy of the state, so that a batch of entries can be
    /// applied all or nothing.
    fn fork(&self) -> Box<dyn LogRules>;

    /// Every entry applied so far is durable and covered by `head`.
    fn committed(&mut self, head: &Arc<Head>);

    /// The state, for checks that consult it (see [`LogView::rules`]).
    fn as_any(&self) -> &dyn Any;

    /// A snapshot of the state, as the row to store in the same commit as
    /// the entries it covers when one is due ([`snapshot_due`]), so that a
    /// restart replays only the entries after it; `None` (the default) for
    /// rules that keep none.
    fn snapshot(&self) -> Option<RowWrite> {
        None
    }
}

/// Fewest entries between two stored snapshots of a log's rules.
pub const SNAPSHOT_MIN_INTERVAL: u64 = 1024;

/// A log of `n` entries stores a snapshot of its rules about every
/// `n / SNAPSHOT_RATIO` entries (see [`snapshot_due`]).
pub const SNAPSHOT_RATIO: u64 = 64;

/// Entry bytes after which a log stores a snapshot of its rules even within
/// an interval, unless its last snapshot was larger (see [`snapshot_due`]).
pub const SNAPSHOT_MIN_BYTES: u64 = 4 << 20;

/// Whether a group that takes a log from `from` to `to` entries stores a
/// snapshot of its rules: when it crosses a multiple of the interval for
/// `to` entries, the larger of [`SNAPSHOT_MIN_INTERVAL`] and the largest
/// power of two at most `to / SNAPSHOT_RATIO`; or when `since` entry bytes
/// were appended since the last snapshot, at least [`SNAPSHOT_MIN_BYTES`]
/// and at least that snapshot's size `last`. A snapshot's cost grows with
/// the log, so the interval does too: the snapshot bytes written per entry
/// stay bounded, and a restart replays at most one interval of entries, and
/// no more entry bytes (large ballots cost their size to replay) than the
/// larger of the minimum and a snapshot. (Intervals are powers of two, so
/// each interval's multiples are multiples of every smaller one.)
pub fn snapshot_due(from: u64, to: u64, since: u64, last: u64) -> bool {
    if since >= SNAPSHOT_MIN_BYTES.max(last) {
        return true;
    }
    let share = to / SNAPSHOT_RATIO;
    let power = if share == 0 { 0 } else { 1 << share.ilog2() };
    let interval = SNAPSHOT_MIN_INTERVAL.max(power);
    from / interval != to / interval
}

/// A request to append one entry, or several consecutive ones all or nothing.
pub struct AppendRequest {
    /// The log.
    pub log: ElectionId,
    /// The entries (opaque to the sequencer), at least one.
    pub entries: Vec<Vec<u8>>,
    /// What the log must be.
    pub requirement: LogRequirement,
    /// Row writes committed with the entries.
    pub rows: Vec<RowWrite>,
    /// Further precondition, evaluated after `requirement` and `rows`.
    pub check: Option<Check>,
    /// Rules for the log this request creates (ignored if the log exists).
    pub rules: Option<Box<dyn LogRules>>,
    /// Handed to the log's rules with each entry.
    pub context: Option<Context>,
    /// May be reordered with the other mixable requests of its group
    /// (ballots and credential requests, so the board order does not tell
    /// which of them arrived first).
    pub mixable: bool,
}

impl AppendRequest {
    /// A plain append of one entry with no side effects.
    pub fn new(log: ElectionId, entry: Vec<u8>, requirement: LogRequirement) -> Self {
        Self::batch(log, vec![entry], requirement)
    }

    /// Consecutive entries, appended all or none.
    pub fn batch(log: ElectionId, entries: Vec<Vec<u8>>, requirement: LogRequirement) -> Self {
        Self {
            log,
            entries,
            requirement,
            rows: Vec::new(),
            check: None,
            rules: None,
            context: None,
            mixable: false,
        }
    }
}

/// A request to write rows without an entry (the log must exist). With no
/// rows, it runs its check against the log's current state: an ordered read.
pub struct UpdateRequest {
    /// The log.
    pub log: ElectionId,
    /// Row writes.
    pub rows: Vec<RowWrite>,
    /// Precondition, evaluated after `rows`.
    pub check: Option<Check>,
}

/// A request to remove a log and everything stored under it (an election
/// that nothing depends on yet). Runs alone, after the appends before it.
pub struct RemoveRequest {
    /// The log.
    pub log: ElectionId,
    /// Precondition, evaluated against the log's committed state; the rows it
    /// returns are ignored.
    pub check: Check,
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
    /// Malformed request (bytes that do not decode): 400.
    Malformed,
    /// The caller is not entitled to this (bad token, unknown member): 401.
    Unauthorized,
    /// Conflicts with the log's state (duplicate, out of phase): 409.
    Conflict,
    /// Semantically invalid whatever the state: 422.
    Invalid,
    /// The check could not read the state it needs: 503.
    Unavailable,
}

impl Rejection {
    /// A conflict with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RejectionKind::Conflict, code, message)
    }

    /// An invalid request.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RejectionKind::Invalid, code, message)
    }

    /// A rejection of the given kind.
    pub fn new(kind: RejectionKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
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
    /// A precondition of the election logic panicked or misbehaved (a bug);
    /// nothing was written.
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

/// A successful append: the entries' leaf indices and the head that includes them.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Leaf index of the (first) entry.
    pub index: u64,
    /// Number of entries appended.
    pub count: u64,
    /// The log's head after the group that committed the entries.
    pub head: Arc<Head>,
}

impl Appended {
    /// Leaf indices of the appended entries.
    pub fn indices(&self) -> Range<u64> {
        self.index..self.index + self.count
    }
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

    /// Every log with its head, in id order.
    pub fn all(&self) -> Vec<(ElectionId, Arc<Head>)> {
        let logs = self.logs.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = logs.iter().map(|(k, v)| (*k, v.clone())).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    fn publish(&self, log: ElectionId, head: Arc<Head>) {
        let mut logs = self.logs.write().unwrap_or_else(PoisonError::into_inner);
        logs.insert(log, head);
    }

    fn remove(&self, log: &ElectionId) {
        let mut logs = self.logs.write().unwrap_or_else(PoisonError::into_inner);
        logs.remove(log);
    }
}

/// Error of a [`CheckpointSigner`].
pub type SignError = Box<dyn std::error::Error + Send + Sync>;

/// Signs the checkpoint of `(log, size, root)`, returning the signed note.
pub type CheckpointSigner =
    Box<dyn FnMut(&ElectionId, u64, &Digest) -> Result<String, SignError> + Send>;

type Reply = oneshot::Sender<Result<Appended, AppendError>>;
type UpdateReply = oneshot::Sender<Result<(), AppendError>>;

enum Job {
    Append(AppendRequest, Reply),
    Update(UpdateRequest, UpdateReply),
}

enum Message {
    Job(Job),
    Remove(RemoveRequest, UpdateReply),
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

/// A log as the writer starts it: its committed frontier, head and rules.
pub struct LogState {
    /// The log.
    pub log: ElectionId,
    /// Frontier of the committed entries.
    pub frontier: Frontier,
    /// The published head.
    pub head: Arc<Head>,
    /// The log's rules, already replayed over its committed entries.
    pub rules: Option<Box<dyn LogRules>>,
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
        let mut rules = HashMap::new();
        let mut snapshots = HashMap::new();
        for mut state in logs {
            let unknown = SnapshotState {
                since: SNAPSHOT_MIN_BYTES,
                last: 0,
            };
            snapshots.insert(state.log, unknown);
            if let Some(r) = state.rules.as_mut() {
                r.committed(&state.head);
            }
            heads.publish(state.log, state.head);
            frontiers.insert(state.log, state.frontier);
            if let Some(r) = state.rules {
                rules.insert(state.log, r);
            }
        }
        let writer = Writer {
            store,
            heads,
            signer,
            frontiers,
            rules,
            snapshots,
            failed: handle.failed.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("urne-sequencer".into())
            .spawn(move || writer.run(rx))?;
        Ok(SequencerThread { handle, thread })
    }

    fn ready(&self) -> Result<(), AppendError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(AppendError::Unavailable);
        }
        if self.closing.load(Ordering::Acquire) {
            return Err(AppendError::ShuttingDown);
        }
        Ok(())
    }

    /// Appends entries; returns once they are durable, or why they were not appended.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        self.ready()?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Job(Job::Append(request, reply)))
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        // A dropped reply means the writer stopped before reaching this request.
        answer.await.unwrap_or(Err(AppendError::ShuttingDown))
    }

    /// Writes rows without an entry; returns once they are durable.
    pub async fn update(&self, request: UpdateRequest) -> Result<(), AppendError> {
        self.ready()?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Job(Job::Update(request, reply)))
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        answer.await.unwrap_or(Err(AppendError::ShuttingDown))
    }

    /// Removes a log if its check allows; returns once the removal is durable.
    pub async fn remove(&self, request: RemoveRequest) -> Result<(), AppendError> {
        self.ready()?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Remove(request, reply))
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
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
    rules: HashMap<ElectionId, Box<dyn LogRules>>,
    snapshots: HashMap<ElectionId, SnapshotState>,
    failed: Arc<AtomicBool>,
}

/// A group's uncommitted state.
#[derive(Default)]
struct Pending {
    frontiers: HashMap<ElectionId, Frontier>,
    /// Touched logs in first-touch order, so checkpoints are signed deterministically.
    order: Vec<ElectionId>,
    rows: HashMap<(ElectionId, Table, Vec<u8>), Zeroizing<Vec<u8>>>,
    /// Accepted entries of the group: position of their write in `writes`.
    entries: HashMap<(ElectionId, u64), usize>,
    /// Rules of the logs the group appended to (moved back after the group).
    rules: HashMap<ElectionId, Box<dyn LogRules>>,
    /// Entry bytes the group appends to each log.
    appended_bytes: HashMap<ElectionId, u64>,
    writes: WriteSet,
}

/// What the writer knows of a log's stored snapshots.
#[derive(Debug, Clone, Copy, Default)]
struct SnapshotState {
    /// Entry bytes appended since the last snapshot. Unknown for a log
    /// restored at start-up, so taken as [`SNAPSHOT_MIN_BYTES`]: the first
    /// commit to it stores a snapshot, and the entries that start-up
    /// replayed are not replayed again at the next one.
    since: u64,
    /// Size in bytes of the last snapshot written (0: none since start-up).
    last: u64,
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

    fn committed_size(&self) -> u64 {
        self.writer
            .frontiers
            .get(&self.log)
            .map_or(0, Frontier::size)
    }

    fn exists(&self) -> bool {
        self.pending.frontiers.contains_key(&self.log)
            || self.writer.frontiers.contains_key(&self.log)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.pending.rows.get(&(self.log, table, key.to_vec())) {
            return Ok(Some(v.to_vec()));
        }
        self.writer.store.get(&self.log, table, key)
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if index >= self.size() {
            return Ok(None);
        }
        if let Some(&at) = self.pending.entries.get(&(self.log, index)) {
            if let Some(Write::Entry { bytes, .. }) = self.pending.writes.writes().get(at) {
                return Ok(Some(bytes.clone()));
            }
        }
        self.writer.store.entry(&self.log, index)
    }

    fn node(&self, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.writer.store.node(&self.log, node)
    }

    fn rules(&self) -> Option<&dyn Any> {
        self.pending
            .rules
            .get(&self.log)
            .or_else(|| self.writer.rules.get(&self.log))
            .map(|r| r.as_any())
    }
}

/// A [`LogView`] of the durable log up to `size` entries, for replaying a
/// log's rules at start-up (no rules, no pending state).
pub struct CommittedView<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The log.
    pub log: ElectionId,
    /// Entries visible (the replay position).
    pub size: u64,
}

impl LogView for CommittedView<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn committed_size(&self) -> u64 {
        self.size
    }

    fn exists(&self) -> bool {
        self.size > 0
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(&self.log, table, key)
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if index >= self.size {
            return Ok(None);
        }
        self.store.entry(&self.log, index)
    }

    fn node(&self, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.store.node(&self.log, node)
    }

    fn rules(&self) -> Option<&dyn Any> {
        None
    }
}

/// An answer waiting for the group's commit.
enum Outcome {
    Append(Result<(ElectionId, Range<u64>), AppendError>, Reply),
    Update(Result<(), AppendError>, UpdateReply),
}

impl Outcome {
    fn fail(self, error: fn() -> AppendError) {
        match self {
            Outcome::Append(_, reply) => {
                let _ = reply.send(Err(error()));
            }
            Outcome::Update(_, reply) => {
                let _ = reply.send(Err(error()));
            }
        }
    }

    fn is_ok(&self) -> bool {
        matches!(self, Outcome::Append(Ok(_), _) | Outcome::Update(Ok(()), _))
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
            let mut removal = None;
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Stop => {
                        stopping = true;
                        break;
                    }
                    // A removal ends the group: it runs alone, after it.
                    Message::Remove(request, reply) => {
                        removal = Some((request, reply));
                        break;
                    }
                    Message::Job(job) => {
                        if let Job::Append(request, _) = &job {
                            bytes += request.entries.iter().map(Vec::len).sum::<usize>();
                        }
                        group.push(job);
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
                // guess what reached the store or what the rules hold.
                // Unanswered requests see `ShuttingDown`.
                tracing::error!("the sequencer panicked; the board stops taking entries");
                self.failed.store(true, Ordering::Release);
            }
            if let Some((request, reply)) = removal {
                match catch_unwind(AssertUnwindSafe(|| self.remove(request))) {
                    Ok(result) => drop(reply.send(result)),
                    Err(_) => {
                        tracing::error!("the sequencer panicked; the board stops taking entries");
                        self.failed.store(true, Ordering::Release);
                        drop(reply.send(Err(AppendError::Internal)));
                    }
                }
            }
        }
        tracing::info!("sequencer stopped");
    }

    /// Removes a log if its check allows, and forgets it.
    fn remove(&mut self, request: RemoveRequest) -> Result<(), AppendError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(AppendError::Unavailable);
        }
        let RemoveRequest { log, check } = request;
        if !self.frontiers.contains_key(&log) {
            return Err(AppendError::UnknownLog);
        }
        let pending = Pending::default();
        let view = View {
            writer: self,
            pending: &pending,
            log,
        };
        catch_unwind(AssertUnwindSafe(|| check(&view))).map_err(|_| {
            tracing::error!("a removal precondition panicked");
            AppendError::Internal
        })??;
        let mut writes = WriteSet::new();
        writes.push(Write::RemoveLog { log });
        if let Err(e) = self.store.commit(writes) {
            // Whether the removal reached the store is unknown: stop writing.
            tracing::error!(error = %e, "removing a log failed; the board stops taking entries");
            self.failed.store(true, Ordering::Release);
            return Err(AppendError::Unavailable);
        }
        self.frontiers.remove(&log);
        self.rules.remove(&log);
        self.snapshots.remove(&log);
        self.heads.remove(&log);
        Ok(())
    }

    /// Stops taking entries: the rules may now be ahead of the store.
    fn fail_stop(&mut self, pending: Pending, outcomes: Vec<Outcome>, error: fn() -> AppendError) {
        self.failed.store(true, Ordering::Release);
        self.rules.extend(pending.rules);
        for outcome in outcomes {
            outcome.fail(error);
        }
    }

    fn commit_group(&mut self, group: Vec<Job>) {
        if self.failed.load(Ordering::Acquire) {
            for job in group {
                match job {
                    Job::Append(_, reply) => drop(reply.send(Err(AppendError::Unavailable))),
                    Job::Update(_, reply) => drop(reply.send(Err(AppendError::Unavailable))),
                }
            }
            return;
        }
        let started = std::time::Instant::now();
        let mut group = group;
        mix(&mut group);
        let mut pending = Pending::default();
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            outcomes.push(match job {
                Job::Append(request, reply) => {
                    Outcome::Append(self.apply(&mut pending, request), reply)
                }
                Job::Update(request, reply) => {
                    Outcome::Update(self.update(&mut pending, request), reply)
                }
            });
        }

        let mut new_heads = Vec::with_capacity(pending.order.len());
        let mut snapshot_bytes = 0;
        let mut snapshot_states = Vec::with_capacity(pending.order.len());
        for log in &pending.order {
            let frontier = &pending.frontiers[log];
            let (size, root) = (frontier.size(), frontier.root());
            let before = self.frontiers.get(log).map_or(0, Frontier::size);
            let mut state = self.snapshots.get(log).copied().unwrap_or_default();
            state.since += pending.appended_bytes.get(log).copied().unwrap_or(0);
            if snapshot_due(before, size, state.since, state.last) {
                let taken = std::time::Instant::now();
                if let Some(row) = pending.rules.get(log).and_then(|r| r.snapshot()) {
                    tracing::debug!(
                        size,
                        bytes = row.value.len(),
                        micros = taken.elapsed().as_micros() as u64,
                        "rules snapshot taken"
                    );
                    snapshot_bytes += row.value.len();
                    state = SnapshotState {
                        since: 0,
                        last: row.value.len() as u64,
                    };
                    pending.writes.push(Write::Row {
                        log: *log,
                        table: row.table,
                        key: row.key,
                        value: row.value,
                    });
                }
            }
            let note = match (self.signer)(log, size, &root) {
                Ok(note) => note,
                Err(e) => {
                    tracing::error!(error = %e, "checkpoint signing failed; the board stops taking entries");
                    self.fail_stop(pending, outcomes, || AppendError::Internal);
                    return;
                }
            };
            snapshot_states.push((*log, state));
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
            let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
            let committing = std::time::Instant::now();
            let prepared = committing.duration_since(started);
            if let Err(e) = self.store.commit(std::mem::take(&mut pending.writes)) {
                tracing::error!(error = %e, "commit failed; the board stops taking entries");
                self.fail_stop(pending, outcomes, || AppendError::Unavailable);
                return;
            }
            tracing::debug!(
                accepted,
                logs = new_heads.len(),
                snapshot_bytes,
                prepared_micros = prepared.as_micros() as u64,
                micros = committing.elapsed().as_micros() as u64,
                "group committed"
            );
        }

        self.frontiers.extend(pending.frontiers);
        self.snapshots.extend(snapshot_states);
        self.rules.extend(pending.rules);
        let mut published = HashMap::with_capacity(new_heads.len());
        let publishing = std::time::Instant::now();
        for (log, head) in new_heads {
            if let Some(rules) = self.rules.get_mut(&log) {
                rules.committed(&head);
            }
            self.heads.publish(log, head.clone());
            published.insert(log, head);
        }
        if publishing.elapsed() > std::time::Duration::from_millis(1) {
            tracing::debug!(
                micros = publishing.elapsed().as_micros() as u64,
                "group published"
            );
        }
        for outcome in outcomes {
            match outcome {
                Outcome::Append(result, reply) => {
                    let answer = result.map(|(log, indices)| Appended {
                        index: indices.start,
                        count: indices.end - indices.start,
                        head: published[&log].clone(),
                    });
                    let _ = reply.send(answer);
                }
                Outcome::Update(result, reply) => {
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Runs the rows checks and the custom check of a request; returns every row to write.
    fn preconditions(
        &self,
        pending: &Pending,
        log: ElectionId,
        mut rows: Vec<RowWrite>,
        check: Option<Check>,
    ) -> Result<Vec<RowWrite>, AppendError> {
        let view = View {
            writer: self,
            pending,
            log,
        };
        check_rows(&view, &rows).map_err(RowCheckError::into_append)?;
        if let Some(check) = check {
            let extra = catch_unwind(AssertUnwindSafe(|| check(&view))).map_err(|_| {
                tracing::error!("an append precondition panicked");
                AppendError::Internal
            })??;
            rows.extend(extra);
            check_rows(&view, &rows).map_err(RowCheckError::into_append)?;
        }
        Ok(rows)
    }

    fn push_rows(pending: &mut Pending, log: ElectionId, rows: Vec<RowWrite>) {
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
    }

    /// Checks an update against the committed and pending state and, if it
    /// is accepted, adds its rows to `pending`.
    fn update(&self, pending: &mut Pending, request: UpdateRequest) -> Result<(), AppendError> {
        let UpdateRequest { log, rows, check } = request;
        let exists = pending.frontiers.contains_key(&log) || self.frontiers.contains_key(&log);
        if !exists {
            return Err(AppendError::UnknownLog);
        }
        let rows = self.preconditions(pending, log, rows, check)?;
        Self::push_rows(pending, log, rows);
        Ok(())
    }

    /// Checks `request` against the committed and pending state, runs the
    /// log's rules on its entries and, if all are accepted, adds its writes
    /// to `pending`. Returns the leaf indices.
    fn apply(
        &mut self,
        pending: &mut Pending,
        request: AppendRequest,
    ) -> Result<(ElectionId, Range<u64>), AppendError> {
        let AppendRequest {
            log,
            entries,
            requirement,
            rows,
            check,
            rules: new_rules,
            context,
            mixable: _,
        } = request;
        if entries.is_empty() {
            tracing::error!("an append request without entries");
            return Err(AppendError::Internal);
        }
        let exists = pending.frontiers.contains_key(&log) || self.frontiers.contains_key(&log);
        match (requirement, exists) {
            (LogRequirement::Exists, false) => return Err(AppendError::UnknownLog),
            (LogRequirement::Absent, true) => {
                return Err(
                    Rejection::conflict("election_exists", "the election already exists").into(),
                )
            }
            _ => {}
        }
        let rows = self.preconditions(pending, log, rows, check)?;

        let mut frontier = pending
            .frontiers
            .get(&log)
            .or_else(|| self.frontiers.get(&log))
            .cloned()
            .unwrap_or_default();
        let start = frontier.size();
        // Hash first: once the rules accept, nothing may refuse the request.
        let mut writes = Vec::with_capacity(entries.len() * 2);
        for (i, entry) in entries.iter().enumerate() {
            let nodes = frontier.append(leaf_hash(entry)).map_err(|_| {
                Rejection::conflict("board_full", "the board holds 2^64 - 1 entries")
            })?;
            writes.extend(
                nodes
                    .into_iter()
                    .map(|(node, hash)| Write::Node { log, node, hash }),
            );
            writes.push(Write::Entry {
                log,
                index: start + i as u64,
                bytes: Vec::new(),
            });
        }
        // The rules run last.
        let mut rules = pending
            .rules
            .remove(&log)
            .or_else(|| self.rules.remove(&log))
            .or(if exists { None } else { new_rules });
        let verdict = match rules.as_mut() {
            None => Ok(None),
            Some(r) => {
                let view = View {
                    writer: self,
                    pending,
                    log,
                };
                apply_rules(r.as_mut(), start, &entries, context.as_deref(), &view)
            }
        };
        match verdict {
            Ok(Some(forked)) => rules = Some(forked),
            Ok(None) => {}
            Err(e) => {
                // The rules are unchanged; a new log's rules are dropped with it.
                if let (true, Some(r)) = (exists, rules) {
                    pending.rules.insert(log, r);
                }
                return Err(e);
            }
        }
        if let Some(r) = rules {
            pending.rules.insert(log, r);
        }

        let appended: u64 = entries.iter().map(|e| e.len() as u64).sum();
        let mut entries = entries.into_iter();
        for mut write in writes {
            if let Write::Entry { index, bytes, .. } = &mut write {
                *bytes = entries.next().unwrap_or_default();
                pending
                    .entries
                    .insert((log, *index), pending.writes.writes().len());
            }
            pending.writes.push(write);
        }
        let end = frontier.size();
        *pending.appended_bytes.entry(log).or_default() += appended;
        if !pending.frontiers.contains_key(&log) {
            pending.order.push(log);
        }
        pending.frontiers.insert(log, frontier);
        Self::push_rows(pending, log, rows);
        Ok((log, start..end))
    }
}

/// Applies `entries` from leaf `start` on: one entry directly (the rules
/// leave their state unchanged on error), several on a fork that replaces the
/// rules only if all of them pass. Returns the fork, if one was made.
fn apply_rules(
    rules: &mut dyn LogRules,
    start: u64,
    entries: &[Vec<u8>],
    context: Option<&(dyn Any + Send)>,
    view: &dyn LogView,
) -> Result<Option<Box<dyn LogRules>>, AppendError> {
    if let [entry] = entries {
        rules.apply(start, entry, context, view)?;
        return Ok(None);
    }
    let mut fork = rules.fork();
    for (i, entry) in entries.iter().enumerate() {
        let view = BatchView {
            base: view,
            start,
            earlier: &entries[..i],
        };
        fork.apply(start + i as u64, entry, context, &view)?;
    }
    Ok(Some(fork))
}

/// Puts the mixable appends of one group in a uniformly random order among
/// their own positions (the others keep theirs): they were concurrent, so
/// any order is a valid one, and a random one keeps the board from recording
/// which was sent first (§10).
fn mix(group: &mut [Job]) {
    let positions: Vec<usize> = group
        .iter()
        .enumerate()
        .filter(|(_, job)| matches!(job, Job::Append(r, _) if r.mixable))
        .map(|(i, _)| i)
        .collect();
    if positions.len() < 2 {
        return;
    }
    let mut order = positions.clone();
    shuffle(&mut order);
    permute(group, &positions, &order);
}

/// Moves `items[order[k]]` to `items[positions[k]]` for every `k` (`order`
/// is a permutation of `positions`).
fn permute<T>(items: &mut [T], positions: &[usize], order: &[usize]) {
    let mut slots: Vec<Option<usize>> = vec![None; items.len()];
    for (&to, &from) in positions.iter().zip(order) {
        slots[to] = Some(from);
    }
    // Follow each cycle of the permutation with swaps.
    let mut done = vec![false; items.len()];
    for &start in positions {
        if done[start] {
            continue;
        }
        let mut at = start;
        while let Some(from) = slots[at] {
            done[at] = true;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// A uniformly random order of `items` (Fisher–Yates, unbiased indices).
fn shuffle<T>(items: &mut [T]) {
    let mut rng = urne_crypto::group::os_rng();
    for i in (1..items.len()).rev() {
        let bound = std::num::NonZeroU64::MIN.saturating_add(i as u64);
        let j = urne_crypto::lottery::uniform_below(&mut rng, bound);
        items.swap(i, j as usize);
    }
}

/// A view that includes the earlier entries of the batch being applied.
struct BatchView<'a> {
    base: &'a dyn LogView,
    start: u64,
    earlier: &'a [Vec<u8>],
}

impl LogView for BatchView<'_> {
    fn size(&self) -> u64 {
        self.start + self.earlier.len() as u64
    }

    fn committed_size(&self) -> u64 {
        self.base.committed_size()
    }

    fn exists(&self) -> bool {
        self.base.exists() || !self.earlier.is_empty()
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.base.get(table, key)
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        match index.checked_sub(self.start) {
            Some(i) if i < self.earlier.len() as u64 => Ok(Some(self.earlier[i as usize].clone())),
            _ => self.base.entry(index),
        }
    }

    fn node(&self, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.base.node(node)
    }

    fn rules(&self) -> Option<&dyn Any> {
        self.base.rules()
    }
}

enum RowCheckError {
    Rejected(Rejection),
    Store(StoreError),
}

impl RowCheckError {
    fn into_append(self) -> AppendError {
        match self {
            RowCheckError::Rejected(r) => AppendError::Rejected(r),
            RowCheckError::Store(e) => {
                tracing::error!(error = %e, "store read failed in a precondition");
                AppendError::Unavailable
            }
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
            rules: HashMap::new(),
            snapshots: HashMap::new(),
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
                Job::Append(r, tx)
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
    fn snapshots_are_due_at_multiples_of_a_growing_power_of_two() {
        let due = |from, to| snapshot_due(from, to, 0, 0);
        let min = SNAPSHOT_MIN_INTERVAL;
        assert!(!due(0, min - 1));
        assert!(due(min - 1, min));
        assert!(due(0, 3 * min + 5), "a group crossing several");
        assert!(!due(min, 2 * min - 1));
        assert!(due(2 * min - 1, 2 * min));
        // Once a sixty-fourth of the log exceeds the minimum, the interval
        // is the largest power of two within it: 2^11 at 2^17 entries.
        let base = 1 << 17;
        assert!(!due(base, base + 1024));
        assert!(!due(base + 1024, base + 2047));
        assert!(due(base + 2047, base + 2048));
        assert!(!due(base + 2048, base + 4095));
    }

    #[test]
    fn snapshots_are_due_after_enough_entry_bytes() {
        let bytes = SNAPSHOT_MIN_BYTES;
        assert!(!snapshot_due(10, 20, bytes - 1, 0));
        assert!(snapshot_due(10, 20, bytes, 0));
        // Not before as many bytes as the last snapshot held.
        assert!(!snapshot_due(10, 20, 2 * bytes - 1, 2 * bytes));
        assert!(snapshot_due(10, 20, 2 * bytes, 2 * bytes));
    }

    #[test]
    fn mixing_permutes_only_the_mixable_requests_and_reaches_every_order() {
        let make = |n: u8, mixable: bool| {
            let mut r = AppendRequest::new(id(1), vec![n], LogRequirement::Any);
            r.mixable = mixable;
            let (tx, _rx) = oneshot::channel();
            Job::Append(r, tx)
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let mut group = vec![
                make(0, true),
                make(1, false),
                make(2, true),
                make(3, true),
                make(4, false),
            ];
            mix(&mut group);
            let order: Vec<u8> = group
                .iter()
                .map(|j| match j {
                    Job::Append(r, _) => r.entries[0][0],
                    Job::Update(..) => unreachable!(),
                })
                .collect();
            assert_eq!((order[1], order[4]), (1, 4), "the others keep their place");
            let mut mixed = vec![order[0], order[2], order[3]];
            mixed.sort_unstable();
            assert_eq!(mixed, vec![0, 2, 3], "a permutation of the mixable ones");
            seen.insert(order);
        }
        assert_eq!(seen.len(), 6, "all 3! orders occur");
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
        fn checkpoints(
            &self,
            log: &ElectionId,
            s: u64,
            e: u64,
        ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
            self.0.checkpoints(log, s, e)
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

    /// Rules for tests: accept entries whose first byte is even and not
    /// below the previous one; count them; remember the committed size.
    #[derive(Clone, Default)]
    struct Ascending {
        last: u8,
        applied: u64,
        committed: Arc<std::sync::atomic::AtomicU64>,
    }

    impl LogRules for Ascending {
        fn apply(
            &mut self,
            index: u64,
            entry: &[u8],
            context: Option<&(dyn Any + Send)>,
            view: &dyn LogView,
        ) -> Result<(), AppendError> {
            assert_eq!(index, self.applied, "rules see every entry, in order");
            assert_eq!(
                view.size(),
                index,
                "the view includes earlier entries of the batch"
            );
            let b = *entry.first().ok_or(AppendError::Internal)?;
            // A context may waive the evenness rule.
            let waived = context.and_then(|c| c.downcast_ref::<&str>()) == Some(&"odd ok");
            if (b % 2 == 1 && !waived) || b < self.last {
                return Err(Rejection::invalid("bad_entry", format!("{b}")).into());
            }
            if index > 0 {
                // Earlier entries, durable or of this group, are readable.
                let previous = view.entry(index - 1).unwrap().expect("previous entry");
                assert!(previous[0] <= b);
            }
            self.last = b;
            self.applied += 1;
            Ok(())
        }

        fn fork(&self) -> Box<dyn LogRules> {
            Box::new(self.clone())
        }

        fn committed(&mut self, head: &Arc<Head>) {
            assert_eq!(head.size, self.applied);
            self.committed.store(head.size, Ordering::SeqCst);
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn with_rules(entries: &[u8], rules: Option<Ascending>) -> AppendRequest {
        let mut r = AppendRequest::batch(
            id(1),
            entries.iter().map(|b| vec![*b]).collect(),
            LogRequirement::Any,
        );
        r.rules = rules.map(|r| Box::new(r) as Box<dyn LogRules>);
        r
    }

    #[test]
    fn rules_see_every_entry_and_batches_are_all_or_nothing() {
        let (_dir, store) = sled();
        let mut w = writer(store.clone());
        let rules = Ascending::default();
        let committed = rules.committed.clone();
        // A refused first entry does not install the rules nor create the log.
        let answers = run_group(&mut w, vec![with_rules(&[1], Some(rules.clone()))]);
        assert!(matches!(&answers[0], Err(AppendError::Rejected(r)) if r.code == "bad_entry"));
        assert!(w.rules.is_empty());
        assert_eq!(store.size(&id(1)).unwrap(), None);

        let answers = run_group(
            &mut w,
            vec![
                with_rules(&[2], Some(rules)),
                // Rules given for an existing log are ignored.
                with_rules(&[4, 6], Some(Ascending::default())),
                // The third entry breaks the batch: none of it is appended.
                with_rules(&[8, 10, 9], None),
                with_rules(&[7], None),
                {
                    let mut r = with_rules(&[7], None);
                    r.context = Some(Box::new("odd ok"));
                    r
                },
                with_rules(&[8], None),
            ],
        );
        let indices: Vec<_> = answers
            .iter()
            .map(|a| a.as_ref().map(Appended::indices).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(indices[0], Ok(0..1));
        assert_eq!(indices[1], Ok(1..3));
        assert_eq!(indices[2], Err("bad_entry: 9".into()));
        assert_eq!(indices[3], Err("bad_entry: 7".into()));
        assert_eq!(indices[4], Ok(3..4));
        assert_eq!(indices[5], Ok(4..5));
        assert_eq!(
            store.entries(&id(1), 0, 10, usize::MAX).unwrap(),
            vec![vec![2], vec![4], vec![6], vec![7], vec![8]]
        );
        assert_eq!(committed.load(Ordering::SeqCst), 5);
        // The rules kept only the accepted entries: 8 was the last.
        let state = w.rules[&id(1)]
            .as_any()
            .downcast_ref::<Ascending>()
            .unwrap();
        assert_eq!((state.last, state.applied), (8, 5));
    }

    #[test]
    fn updates_write_rows_without_entries_and_checks_read_the_rules() {
        let (_dir, store) = sled();
        let mut w = writer(store.clone());
        run_group(
            &mut w,
            vec![with_rules(&[2, 4], Some(Ascending::default()))],
        );
        let (tx, rx) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        let update = UpdateRequest {
            log: id(1),
            rows: vec![RowWrite::upsert(MEMBERS, b"k".to_vec(), b"v".to_vec())],
            check: Some(Box::new(|view: &dyn LogView| {
                let rules = view.rules().and_then(|r| r.downcast_ref::<Ascending>());
                assert_eq!(rules.map(|r| r.last), Some(4));
                Ok(vec![RowWrite::upsert(
                    MEMBERS,
                    b"k2".to_vec(),
                    b"v2".to_vec(),
                )])
            })),
        };
        let unknown = UpdateRequest {
            log: id(9),
            rows: vec![],
            check: None,
        };
        w.commit_group(vec![Job::Update(update, tx), Job::Update(unknown, tx2)]);
        assert!(matches!(rx.blocking_recv().unwrap(), Ok(())));
        assert!(matches!(
            rx2.blocking_recv().unwrap(),
            Err(AppendError::UnknownLog)
        ));
        assert_eq!(
            store.get(&id(1), MEMBERS, b"k2").unwrap(),
            Some(b"v2".to_vec())
        );
        assert_eq!(store.size(&id(1)).unwrap(), Some(2));
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
