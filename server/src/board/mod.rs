//! The board: append-only Merkle logs, one per election, with signed
//! checkpoints and proofs.
//!
//! [`Board::open`] opens the store in the data directory, loads the board key,
//! restores every log's frontier and head (checking each against its stored
//! checkpoint) and starts the [`sequencer`](crate::sequencer). Reads are
//! served from the store, bounded by the published heads, so a reader never
//! sees an entry before it is durable and covered by a checkpoint.

pub mod export;
pub mod key;
pub mod tiles;

use std::path::Path;
use std::sync::Arc;

use urne_crypto::checkpoint::{
    election_origin, open_signed_checkpoint, sign_checkpoint, BoardKey, Checkpoint, NoteVerifier,
};
use urne_crypto::merkle::{self, Frontier, MerkleError, NodeId};

use crate::election::ElectionId;
use crate::sequencer::{
    AppendError, AppendRequest, Appended, CheckpointSigner, Head, Heads, LogRules, LogState,
    LogView, Rejection, RemoveRequest, RowWrite, Sequencer, SequencerThread, UpdateRequest,
};
use crate::store::permissions::{self, PermissionsError};
use crate::store::sealed::{SealedStore, SecretsAtRest};
use crate::store::sled::SledStore;
use crate::store::{Digest, Store, StoreError, Table};
use key::{BoardKeyError, BoardSecret};

/// Directory of the store inside the data directory.
pub const STORE_DIR: &str = "store";

/// Failures of board reads and of opening the board.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// No log for this election.
    #[error("unknown election")]
    UnknownElection,
    /// A tree size or index past the log's current size.
    #[error("{requested} is beyond the board's size {size}")]
    BeyondHead {
        /// What was asked for.
        requested: u64,
        /// The log's size.
        size: u64,
    },
    /// A range whose bounds are out of order.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// An entry bundle would hold an entry longer than its `u16` length allows.
    #[error("entry {index} is {len} bytes, more than an entry bundle holds (65535)")]
    EntryTooLarge {
        /// The entry's index.
        index: u64,
        /// Its length.
        len: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored Merkle data is inconsistent.
    #[error("merkle: {0}")]
    Merkle(#[from] MerkleError),
    /// The board key could not be loaded.
    #[error(transparent)]
    Key(#[from] BoardKeyError),
    /// The data directory is open to other users.
    #[error(transparent)]
    Permissions(#[from] PermissionsError),
    /// A stored checkpoint does not match the log it belongs to.
    #[error("log {log}: {message}")]
    Inconsistent {
        /// The log.
        log: ElectionId,
        /// What disagrees.
        message: String,
    },
    /// A log's rules could not be rebuilt from its entries.
    #[error("log {log}: {message}")]
    Rules {
        /// The log.
        log: ElectionId,
        /// Why.
        message: String,
    },
    /// The data directory could not be prepared.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Rebuilds the rules of a log from its durable entries at start-up:
/// `(store, log, size)` → the rules, or `None` for a log without rules.
pub type RulesLoader<'a> =
    dyn FnMut(&dyn Store, ElectionId, u64) -> Result<Option<Box<dyn LogRules>>, String> + 'a;

/// A page of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPage {
    /// Leaf index of the first entry.
    pub start: u64,
    /// The log's size when the page was read.
    pub size: u64,
    /// The entries, in index order.
    pub entries: Vec<Vec<u8>>,
}

/// Bounds on one page of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit {
    /// Most entries in a page.
    pub entries: u64,
    /// A page ends after the entry that brings it to this many bytes.
    pub bytes: usize,
}

/// The board service: every log of this server.
pub struct Board {
    store: Arc<dyn Store>,
    heads: Arc<Heads>,
    sequencer: Sequencer,
    secret: Arc<BoardSecret>,
}

impl Board {
    /// Opens the board in `data_dir` (created if needed) and starts its
    /// writer; no log has rules.
    pub fn open(data_dir: &Path) -> Result<(Arc<Board>, SequencerThread), BoardError> {
        Self::open_with(data_dir, &mut |_, _, _| Ok(None))
    }

    /// Opens the board in `data_dir` (created if needed), rebuilds each
    /// log's rules with `loader`, and starts its writer.
    pub fn open_with(
        data_dir: &Path,
        loader: &mut RulesLoader<'_>,
    ) -> Result<(Arc<Board>, SequencerThread), BoardError> {
        Self::open_sealed(data_dir, &SecretsAtRest::Plain, loader)
    }

    /// Opens the board in `data_dir` (created mode 0700 if needed; refused if
    /// open to other users), keeping secret rows as `secrets` says, rebuilds
    /// each log's rules with `loader`, and starts its writer.
    pub fn open_sealed(
        data_dir: &Path,
        secrets: &SecretsAtRest,
        loader: &mut RulesLoader<'_>,
    ) -> Result<(Arc<Board>, SequencerThread), BoardError> {
        permissions::private_file_mask();
        permissions::prepare_data_dir(data_dir)?;
        let sled = SledStore::open(&data_dir.join(STORE_DIR))?;
        let store: Arc<dyn Store> = match secrets {
            SecretsAtRest::Plain => Arc::new(sled),
            SecretsAtRest::Sealed(key) => Arc::new(SealedStore::new(sled, key)),
        };
        Self::open_on(data_dir, store, loader)
    }

    /// Opens the board kept in `store` (its key in `data_dir`), rebuilds each
    /// log's rules with `loader`, and starts its writer.
    pub fn open_on(
        data_dir: &Path,
        store: Arc<dyn Store>,
        loader: &mut RulesLoader<'_>,
    ) -> Result<(Arc<Board>, SequencerThread), BoardError> {
        std::fs::create_dir_all(data_dir)?;
        let sizes = store.logs()?;
        let key_path = data_dir.join(key::KEY_FILE);
        if !sizes.is_empty() && !key_path.exists() {
            // A fresh key could not vouch for checkpoints already handed out.
            return Err(BoardKeyError::Missing(key_path).into());
        }
        let secret = Arc::new(BoardSecret::load_or_create(data_dir)?);
        let mut logs = Vec::new();
        for (log, size) in sizes {
            let mut state = restore_log(store.as_ref(), &secret, log, size)?;
            state.rules = loader(store.as_ref(), log, size)
                .map_err(|message| BoardError::Rules { log, message })?;
            logs.push(state);
        }
        tracing::info!(logs = logs.len(), "board opened");
        let heads = Arc::new(Heads::default());
        let thread = Sequencer::start(store.clone(), logs, heads.clone(), signer(secret.clone()))?;
        let board = Board {
            store,
            heads,
            sequencer: thread.handle(),
            secret,
        };
        Ok((Arc::new(board), thread))
    }

    /// Appends an entry through the sequencer.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        self.sequencer.append(request).await
    }

    /// Writes rows without an entry, through the sequencer.
    pub async fn update(&self, request: UpdateRequest) -> Result<(), AppendError> {
        self.sequencer.update(request).await
    }

    /// Runs `check` on the writer against `log`, commits the rows it returns
    /// and hands back what it found: a read, check and write that no other
    /// request of the log can interleave with.
    pub async fn check<T, F>(&self, log: ElectionId, check: F) -> Result<T, AppendError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn LogView) -> Result<(T, Vec<RowWrite>), Rejection> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let check = move |view: &dyn LogView| {
            let (found, rows) = check(view)?;
            let _ = tx.send(found);
            Ok(rows)
        };
        self.update(UpdateRequest {
            log,
            rows: Vec::new(),
            check: Some(Box::new(check)),
        })
        .await?;
        rx.try_recv().map_err(|_| AppendError::Internal)
    }

    /// Removes a log if its check allows, through the sequencer.
    pub async fn remove(&self, request: RemoveRequest) -> Result<(), AppendError> {
        self.sequencer.remove(request).await
    }

    /// The Ed25519 key of the board's own entries (see [`BoardSecret::entry_signing_key`]).
    pub fn entry_signing_key(&self) -> ed25519_dalek::SigningKey {
        self.secret.entry_signing_key()
    }

    /// Checkpoints issued for tree sizes in `start..end`, in size order.
    pub fn checkpoints(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, BoardError> {
        Ok(self.store.checkpoints(log, start, end)?)
    }

    /// Whether the board takes appends (not failed, not shutting down).
    pub fn is_writable(&self) -> bool {
        self.sequencer.is_healthy()
    }

    /// The published head of a log.
    pub fn head(&self, log: &ElectionId) -> Result<Arc<Head>, BoardError> {
        self.heads.get(log).ok_or(BoardError::UnknownElection)
    }

    /// Every log with its published head, in id order.
    pub fn logs(&self) -> Vec<(ElectionId, Arc<Head>)> {
        self.heads.all()
    }

    /// The Ed25519 public key of every checkpoint signature.
    pub fn public_key(&self) -> [u8; 32] {
        self.secret.public_key()
    }

    /// The signed-note verifier of a log's checkpoints (the log must exist).
    pub fn verifier(&self, log: &ElectionId) -> Result<NoteVerifier, BoardError> {
        self.head(log)?;
        Ok(self.secret.election_verifier(log)?)
    }

    /// Entries from `start` up to `end` (default: the head), bounded by the
    /// head and by `page`: a page may hold fewer entries than asked.
    pub fn entries(
        &self,
        log: &ElectionId,
        start: u64,
        end: Option<u64>,
        page: PageLimit,
    ) -> Result<EntryPage, BoardError> {
        let head = self.head(log)?;
        let end = end.unwrap_or(u64::MAX);
        if end < start {
            return Err(BoardError::InvalidRange(format!(
                "end {end} < start {start}"
            )));
        }
        if start > head.size {
            return Err(BoardError::BeyondHead {
                requested: start,
                size: head.size,
            });
        }
        let end = end.min(head.size).min(start.saturating_add(page.entries));
        let entries = self.store.entries(log, start, end, page.bytes)?;
        let bytes: usize = entries.iter().map(Vec::len).sum();
        if (entries.len() as u64) < end - start && bytes < page.bytes {
            return Err(StoreError::Corrupt(format!(
                "log {log}: entries missing in {start}..{end}"
            ))
            .into());
        }
        Ok(EntryPage {
            start,
            size: head.size,
            entries,
        })
    }

    /// A row of one of a log's keyed tables.
    ///
    /// Rows are written only with the entries that justify them, but a row
    /// may become visible here while its group is being flushed, shortly
    /// before it is durable. A decision that must rest on durable state
    /// belongs in an append's precondition, which the sequencer evaluates.
    pub fn row(
        &self,
        log: &ElectionId,
        table: Table,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, BoardError> {
        Ok(self.store.get(log, table, key)?)
    }

    /// Audit path of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(
        &self,
        log: &ElectionId,
        index: u64,
        size: u64,
    ) -> Result<Vec<Digest>, BoardError> {
        self.check_size(log, size)?;
        if index >= size {
            return Err(BoardError::InvalidRange(format!(
                "index {index} is not below tree size {size}"
            )));
        }
        merkle::inclusion_proof(index, size, self.nodes(log))
    }

    /// Consistency proof from the tree of `from` leaves to that of `to` leaves.
    pub fn consistency_proof(
        &self,
        log: &ElectionId,
        from: u64,
        to: u64,
    ) -> Result<Vec<Digest>, BoardError> {
        self.check_size(log, to)?;
        if from > to {
            return Err(BoardError::InvalidRange(format!("from {from} > to {to}")));
        }
        merkle::consistency_proof(from, to, self.nodes(log))
    }

    fn check_size(&self, log: &ElectionId, size: u64) -> Result<(), BoardError> {
        let head = self.head(log)?;
        if size > head.size {
            return Err(BoardError::BeyondHead {
                requested: size,
                size: head.size,
            });
        }
        Ok(())
    }

    fn nodes(&self, log: &ElectionId) -> impl FnMut(NodeId) -> Result<Digest, BoardError> + '_ {
        let log = *log;
        move |id| node(self.store.as_ref(), &log, id)
    }
}

fn node(store: &dyn Store, log: &ElectionId, id: NodeId) -> Result<Digest, BoardError> {
    store.node(log, id)?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "log {log}: node ({}, {}) missing",
            id.level, id.index
        ))
        .into()
    })
}

/// Rebuilds a log's frontier and head from the store, checking that the stored
/// checkpoint for its size is validly signed and commits to the same root.
fn restore_log(
    store: &dyn Store,
    secret: &BoardSecret,
    log: ElectionId,
    size: u64,
) -> Result<LogState, BoardError> {
    let frontier = Frontier::restore(size, |id| node(store, &log, id))?;
    let root = frontier.root();
    let inconsistent = |message: String| BoardError::Inconsistent { log, message };
    let note = store
        .checkpoint(&log, size)?
        .ok_or_else(|| inconsistent(format!("no checkpoint for size {size}")))?;
    let checkpoint = open_signed_checkpoint(&note, &secret.election_verifier(&log)?)
        .map_err(|e| inconsistent(format!("stored checkpoint: {e}")))?;
    if checkpoint.size != size || checkpoint.root != root {
        return Err(inconsistent(format!(
            "stored checkpoint (size {}) disagrees with the stored tree (size {size})",
            checkpoint.size
        )));
    }
    let note = String::from_utf8(note).map_err(|_| inconsistent("checkpoint not UTF-8".into()))?;
    Ok(LogState {
        log,
        rules: None,
        frontier,
        head: Arc::new(Head {
            size,
            root,
            checkpoint: note.into(),
        }),
    })
}

/// The sequencer's checkpoint signer: caches each election's named key.
fn signer(secret: Arc<BoardSecret>) -> CheckpointSigner {
    let mut keys: std::collections::HashMap<ElectionId, BoardKey> = Default::default();
    Box::new(move |log, size, root| {
        let key = match keys.entry(*log) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(secret.election_key(log)?),
        };
        let checkpoint = Checkpoint::new(election_origin(log.as_bytes()), size, *root);
        Ok(sign_checkpoint(key, &checkpoint).map_err(BoardKeyError::from)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::{LogRequirement, RowWrite};
    use crate::store::Write;

    const MEMBERS: Table = Table::new("members");
    const ID: ElectionId = ElectionId([5; 32]);

    /// A temporary data directory only its owner may open (the board refuses others).
    fn private_tempdir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        dir
    }

    async fn board_with_entries(dir: &Path, n: u8) {
        let (board, thread) = Board::open(dir).unwrap();
        for i in 0..n {
            let mut r = AppendRequest::new(ID, vec![i], LogRequirement::Any);
            r.rows
                .push(RowWrite::upsert(MEMBERS, vec![i], b"yes".to_vec()));
            board.append(r).await.unwrap();
        }
        thread.stop().await;
    }

    #[tokio::test]
    async fn reopening_restores_heads_rows_and_proofs() {
        let dir = private_tempdir();
        board_with_entries(dir.path(), 5).await;
        let (board, thread) = Board::open(dir.path()).unwrap();
        let head = board.head(&ID).unwrap();
        assert_eq!(head.size, 5);
        let leaves: Vec<_> = (0..5u8).map(|i| merkle::leaf_hash(&[i])).collect();
        assert_eq!(head.root, merkle::root(&leaves));
        assert_eq!(
            board.row(&ID, MEMBERS, &[4]).unwrap(),
            Some(b"yes".to_vec())
        );
        assert_eq!(board.row(&ID, MEMBERS, &[5]).unwrap(), None);
        let proof = board.inclusion_proof(&ID, 3, 5).unwrap();
        merkle::verify_inclusion(3, 5, &leaves[3], &proof, &head.root).unwrap();
        // The frontier was restored: the next append extends the same tree.
        let next = board
            .append(AppendRequest::new(ID, vec![5], LogRequirement::Exists))
            .await
            .unwrap();
        assert_eq!(next.index, 5);
        let proof = board.consistency_proof(&ID, 5, 6).unwrap();
        merkle::verify_consistency(5, 6, &head.root, &next.head.root, &proof).unwrap();
        thread.stop().await;
    }

    #[tokio::test]
    async fn opening_refuses_a_store_that_disagrees_with_its_checkpoint() {
        let dir = private_tempdir();
        board_with_entries(dir.path(), 3).await;
        {
            // Replace the checkpoint for size 3 by a validly signed one over another root.
            let secret = BoardSecret::load_or_create(dir.path()).unwrap();
            let forged = Checkpoint::new(election_origin(ID.as_bytes()), 3, [7; 32]);
            let note = sign_checkpoint(&secret.election_key(&ID).unwrap(), &forged).unwrap();
            let store = SledStore::open(&dir.path().join(STORE_DIR)).unwrap();
            let mut w = crate::store::WriteSet::new();
            w.push(Write::Checkpoint {
                log: ID,
                size: 3,
                note: note.into_bytes(),
            });
            store.commit(w).unwrap();
        }
        assert!(matches!(
            Board::open(dir.path()),
            Err(BoardError::Inconsistent { log: ID, .. })
        ));
    }

    #[tokio::test]
    async fn opening_refuses_a_checkpoint_signed_by_another_key() {
        let dir = private_tempdir();
        board_with_entries(dir.path(), 2).await;
        let key_file = dir.path().join(key::KEY_FILE);
        std::fs::remove_file(&key_file).unwrap();
        // No new key replaces a lost one under existing checkpoints.
        assert!(matches!(
            Board::open(dir.path()),
            Err(BoardError::Key(BoardKeyError::Missing(_)))
        ));
        // Another key put in its place does not verify them.
        key::write_private(&key_file, "cd".repeat(32) + "\n").unwrap();
        assert!(matches!(
            Board::open(dir.path()),
            Err(BoardError::Inconsistent { log: ID, .. })
        ));
    }
}
