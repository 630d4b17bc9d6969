//! Durable storage of board logs, behind a small engine-agnostic trait.
//!
//! The store holds, for every election's log:
//! * the entries, by leaf index (opaque bytes: the store never parses them);
//! * the hash of every perfect Merkle subtree `(level, index)`, as produced by
//!   [`urne_crypto::merkle::Frontier::append`], so proofs never rehash the log;
//! * the committed size (from which the frontier is restored at start-up);
//! * every checkpoint issued, by tree size (the signed note, verbatim);
//! * keyed tables for the election logic (e.g. "member X holds a credential"),
//!   written in the same atomic commit as the entry that justifies them.
//!
//! Writes go through [`Store::commit`] only, which applies a whole [`WriteSet`]
//! atomically and returns once it is durable. The single writer is the
//! [`crate::sequencer`]; readers may call the getters concurrently and must bound
//! what they read by a size they learnt from a commit (a later, unfinished commit
//! may already be visible).

pub mod permissions;
pub mod power_cut;
pub mod sealed;
pub mod sled;

use crate::election::ElectionId;
use urne_crypto::merkle::NodeId;

/// A SHA-256 digest as stored for Merkle nodes.
pub type Digest = [u8; 32];

/// Name of a keyed table of the election logic (1 to 255 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table(&'static str);

impl Table {
    /// Names a table; panics at compile time (in a `const`) on an empty or
    /// over-long name, since table names are constants of the program.
    pub const fn new(name: &'static str) -> Self {
        assert!(!name.is_empty() && name.len() <= 255, "table name length");
        Self(name)
    }

    /// The table's name.
    pub const fn name(&self) -> &'static str {
        self.0
    }
}

/// One write of a [`WriteSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Sets the committed size of a log (creating the log).
    Size {
        /// The log.
        log: ElectionId,
        /// Number of entries.
        size: u64,
    },
    /// Stores the entry at a leaf index.
    Entry {
        /// The log.
        log: ElectionId,
        /// Leaf index.
        index: u64,
        /// The entry bytes.
        bytes: Vec<u8>,
    },
    /// Stores the hash of a perfect subtree.
    Node {
        /// The log.
        log: ElectionId,
        /// Which subtree.
        node: NodeId,
        /// Its hash.
        hash: Digest,
    },
    /// Stores the checkpoint issued for a tree size.
    Checkpoint {
        /// The log.
        log: ElectionId,
        /// Tree size the checkpoint commits to.
        size: u64,
        /// The signed note.
        note: Vec<u8>,
    },
    /// Sets a row of a keyed table.
    Row {
        /// The log the table belongs to.
        log: ElectionId,
        /// The table.
        table: Table,
        /// Row key.
        key: Vec<u8>,
        /// Row value (zeroized on drop: rows may hold secrets).
        value: zeroize::Zeroizing<Vec<u8>>,
    },
    /// Removes the log and everything stored under it (size, entries,
    /// nodes, checkpoints, rows); writes after it in the set apply after it.
    RemoveLog {
        /// The log.
        log: ElectionId,
    },
}

/// Writes that a [`Store`] commits all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSet {
    writes: Vec<Write>,
}

impl WriteSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write; later writes to the same key win.
    pub fn push(&mut self, write: Write) {
        self.writes.push(write);
    }

    /// The writes, in order.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// Failures of the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine failed (I/O error, corruption it detected, …).
    #[error("storage engine: {0}")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value does not have the shape this program writes.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The data directory was written by an incompatible version.
    #[error("unsupported store format version {0}")]
    UnsupportedFormat(u64),
    /// A sealed secret row does not open under the secrets key.
    #[error("{0}")]
    Sealed(String),
}

/// A durable store of board logs.
///
/// Implementations must make [`commit`](Store::commit) atomic (all of a
/// [`WriteSet`] or none of it survives a crash at any instant) and durable
/// (on return, the writes survive a crash), and must let getters run
/// concurrently with a commit.
pub trait Store: Send + Sync + 'static {
    /// Every log with its committed size.
    fn logs(&self) -> Result<Vec<(ElectionId, u64)>, StoreError>;

    /// The committed size of a log, or `None` if the log does not exist.
    fn size(&self, log: &ElectionId) -> Result<Option<u64>, StoreError>;

    /// The entry at `index`.
    fn entry(&self, log: &ElectionId, index: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// The entries at `start..end`, in order. Stops early at the first missing
    /// one, and after the entry that brings the total to `max_bytes` or more.
    fn entries(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError>;

    /// The hash of a perfect subtree.
    fn node(&self, log: &ElectionId, node: NodeId) -> Result<Option<Digest>, StoreError>;

    /// The checkpoint issued for tree size `size`.
    fn checkpoint(&self, log: &ElectionId, size: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// The checkpoints issued for tree sizes in `start..end`, in size order.
    fn checkpoints(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// A row of a keyed table.
    fn get(
        &self,
        log: &ElectionId,
        table: Table,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies all `writes` atomically and returns once they are durable.
    fn commit(&self, writes: WriteSet) -> Result<(), StoreError>;
}
