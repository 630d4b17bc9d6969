//! The default [`Store`]: an embedded sled database.
//!
//! Everything lives in sled's default tree so that one [`::sled::Batch`]
//! commits a whole [`WriteSet`] atomically (sled batches are atomic within one
//! tree). Keys start with a one-byte kind, then the 32-byte election id, then
//! big-endian numbers, so each kind of record of a log is contiguous and in
//! index order:
//!
//! | key                                         | value                  |
//! |---------------------------------------------|------------------------|
//! | `"v"`                                       | format version (u64 BE) |
//! | `"s" ‖ id`                                  | committed size (u64 BE) |
//! | `"e" ‖ id ‖ index (u64 BE)`                 | entry bytes            |
//! | `"n" ‖ id ‖ level (u8) ‖ index (u64 BE)`    | node hash (32 bytes)   |
//! | `"c" ‖ id ‖ size (u64 BE)`                  | signed checkpoint note |
//! | `"t" ‖ id ‖ len(table) (u8) ‖ table ‖ key`  | row value              |
//!
//! Durability: [`Store::commit`] applies the batch, `flush`es it, then
//! fsyncs sled's files itself. On Linux, sled 0.34's `flush` ends with
//! `sync_file_range`, which neither persists file metadata (the log's growth)
//! nor flushes the device's write cache, and sled writes large messages to
//! `blobs/` files without any sync; so after each flush the store calls
//! `fdatasync` on sled's log file and `fsync` on every blob file written
//! since the previous commit (and on the blob directory). One commit, one
//! round of syncs, however many entries it holds.

use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Digest, Store, StoreError, Table, Write, WriteSet};
use crate::election::ElectionId;
use urne_crypto::merkle::NodeId;

const FORMAT_VERSION: u64 = 1;
const VERSION_KEY: &[u8] = b"v";
pub(super) const SIZE: u8 = b's';
pub(super) const ENTRY: u8 = b'e';
pub(super) const NODE: u8 = b'n';
pub(super) const CHECKPOINT: u8 = b'c';
pub(super) const ROW: u8 = b't';

/// A [`Store`] on a sled database.
pub struct SledStore {
    db: ::sled::Db,
    /// sled's log file, for `fdatasync` after each flush.
    log_file: File,
    blob_dir: PathBuf,
    /// Blob files are named by log sequence number; those up to this one are synced.
    blobs_synced_through: AtomicU64,
}

impl From<::sled::Error> for StoreError {
    fn from(e: ::sled::Error) -> Self {
        StoreError::Engine(Box::new(e))
    }
}

impl SledStore {
    /// Opens (or creates) the database in directory `path`.
    ///
    /// sled locks the directory; a store just closed in this process may
    /// hold the lock for a few milliseconds more (sled's background writers
    /// finish after the last handle is dropped), so a locked directory is
    /// retried for up to a second before the error is returned.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let db = loop {
            match ::sled::Config::new().path(path).open() {
                Err(e)
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other?,
            }
        };
        match db.get(VERSION_KEY)? {
            None => {
                db.insert(VERSION_KEY, &FORMAT_VERSION.to_be_bytes())?;
                db.flush()?;
            }
            Some(v) => {
                let version = be_u64(&v)?;
                if version != FORMAT_VERSION {
                    return Err(StoreError::UnsupportedFormat(version));
                }
            }
        }
        let io = |e: std::io::Error| StoreError::Engine(Box::new(e));
        let store = Self {
            db,
            log_file: File::open(path.join("db")).map_err(io)?,
            blob_dir: path.join("blobs"),
            blobs_synced_through: AtomicU64::new(0),
        };
        store.sync_files().map_err(io)?;
        Ok(store)
    }

    /// Makes everything sled has written so far durable (see the module doc).
    fn sync_files(&self) -> std::io::Result<()> {
        self.log_file.sync_data()?;
        let synced = self.blobs_synced_through.load(Ordering::Relaxed);
        let mut newest = synced;
        let mut any = false;
        for item in std::fs::read_dir(&self.blob_dir)? {
            let path = item?.path();
            let lsn = path
                .file_name()
                .and_then(|n| n.to_str()?.parse::<u64>().ok());
            if let Some(lsn) = lsn.filter(|&l| l > synced) {
                // A blob can be collected by sled between listing and opening.
                match File::open(&path) {
                    Ok(f) => f.sync_all()?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                newest = newest.max(lsn);
                any = true;
            }
        }
        if any {
            File::open(&self.blob_dir)?.sync_all()?;
            self.blobs_synced_through.store(newest, Ordering::Relaxed);
        }
        Ok(())
    }
}

pub(super) fn key(kind: u8, log: &ElectionId, extra: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33 + extra.len());
    k.push(kind);
    k.extend_from_slice(log.as_bytes());
    k.extend_from_slice(extra);
    k
}

pub(super) fn node_key(log: &ElectionId, node: NodeId) -> Vec<u8> {
    let mut extra = [0u8; 9];
    extra[0] = node.level;
    extra[1..].copy_from_slice(&node.index.to_be_bytes());
    key(NODE, log, &extra)
}

pub(super) fn row_key(log: &ElectionId, table: Table, row: &[u8]) -> Vec<u8> {
    let name = table.name().as_bytes();
    let mut k = key(ROW, log, &[name.len() as u8]);
    k.extend_from_slice(name);
    k.extend_from_slice(row);
    k
}

/// A key and its new value (`None`: removed), as a commit applies them.
type KeyOp<'a> = (Vec<u8>, Option<Cow<'a, [u8]>>);

/// Every kind of key stored under a log.
pub(super) const LOG_KINDS: [u8; 5] = [SIZE, ENTRY, NODE, CHECKPOINT, ROW];

/// Whether `k` is one of the keys stored under `log`.
pub(super) fn is_key_of(k: &[u8], log: &ElectionId) -> bool {
    k.len() >= 33 && LOG_KINDS.contains(&k[0]) && &k[1..33] == log.as_bytes()
}

pub(super) fn be_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("expected 8 bytes, found {}", bytes.len())))?;
    Ok(u64::from_be_bytes(b))
}

impl Store for SledStore {
    fn logs(&self) -> Result<Vec<(ElectionId, u64)>, StoreError> {
        self.db
            .scan_prefix([SIZE])
            .map(|kv| {
                let (k, v) = kv?;
                let id: [u8; 32] = k[1..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("size key length".into()))?;
                Ok((ElectionId(id), be_u64(&v)?))
            })
            .collect()
    }

    fn size(&self, log: &ElectionId) -> Result<Option<u64>, StoreError> {
        self.db
            .get(key(SIZE, log, &[]))?
            .map(|v| be_u64(&v))
            .transpose()
    }

    fn entry(&self, log: &ElectionId, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get(key(ENTRY, log, &index.to_be_bytes()))?
            .map(|v| v.to_vec()))
    }

    fn entries(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity((end - start).min(1024) as usize);
        let mut bytes = 0;
        let range = key(ENTRY, log, &start.to_be_bytes())..key(ENTRY, log, &end.to_be_bytes());
        for (expected, kv) in (start..end).zip(self.db.range(range)) {
            let (k, v) = kv?;
            if bytes >= max_bytes || be_u64(&k[33..])? != expected {
                break;
            }
            bytes += v.len();
            out.push(v.to_vec());
        }
        Ok(out)
    }

    fn node(&self, log: &ElectionId, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.db
            .get(node_key(log, node))?
            .map(|v| {
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt(format!("node hash of {} bytes", v.len())))
            })
            .transpose()
    }

    fn checkpoint(&self, log: &ElectionId, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get(key(CHECKPOINT, log, &size.to_be_bytes()))?
            .map(|v| v.to_vec()))
    }

    fn checkpoints(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let range =
            key(CHECKPOINT, log, &start.to_be_bytes())..key(CHECKPOINT, log, &end.to_be_bytes());
        self.db
            .range(range)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((be_u64(&k[33..])?, v.to_vec()))
            })
            .collect()
    }

    fn get(
        &self,
        log: &ElectionId,
        table: Table,
        row: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(row_key(log, table, row))?.map(|v| v.to_vec()))
    }

    fn commit(&self, writes: WriteSet) -> Result<(), StoreError> {
        // Keys in write order (`None`: removed), so that a later write wins
        // and a removal also drops what this set wrote to the log before it.
        let mut ops: Vec<KeyOp<'_>> = Vec::with_capacity(writes.writes().len());
        for w in writes.writes() {
            match w {
                Write::Size { log, size } => {
                    ops.push((
                        key(SIZE, log, &[]),
                        Some(Cow::Owned(size.to_be_bytes().to_vec())),
                    ));
                }
                Write::Entry { log, index, bytes } => {
                    ops.push((
                        key(ENTRY, log, &index.to_be_bytes()),
                        Some(Cow::Borrowed(bytes)),
                    ));
                }
                Write::Node { log, node, hash } => {
                    ops.push((node_key(log, *node), Some(Cow::Borrowed(hash))))
                }
                Write::Checkpoint { log, size, note } => {
                    ops.push((
                        key(CHECKPOINT, log, &size.to_be_bytes()),
                        Some(Cow::Borrowed(note)),
                    ));
                }
                Write::Row {
                    log,
                    table,
                    key: row,
                    value,
                } => ops.push((
                    row_key(log, *table, row),
                    Some(Cow::Borrowed(value.as_slice())),
                )),
                Write::RemoveLog { log } => {
                    ops.retain(|(k, _)| !is_key_of(k, log));
                    for kind in LOG_KINDS {
                        for item in self.db.scan_prefix(key(kind, log, &[])).keys() {
                            ops.push((item?.to_vec(), None));
                        }
                    }
                }
            }
        }
        let mut batch = ::sled::Batch::default();
        for (k, v) in ops {
            match v {
                Some(v) => batch.insert(k, v.as_ref()),
                None => batch.remove(k),
            }
        }
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.sync_files()
            .map_err(|e| StoreError::Engine(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table::new("members");

    fn id(b: u8) -> ElectionId {
        ElectionId([b; 32])
    }

    #[test]
    fn commits_and_reads_back_every_kind_of_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.logs().unwrap(), vec![]);
        assert_eq!(store.size(&id(1)).unwrap(), None);

        let mut w = WriteSet::new();
        for i in 0..3u64 {
            w.push(Write::Entry {
                log: id(1),
                index: i,
                bytes: vec![i as u8; 3],
            });
        }
        w.push(Write::Size {
            log: id(1),
            size: 3,
        });
        w.push(Write::Node {
            log: id(1),
            node: NodeId::new(1, 0),
            hash: [7; 32],
        });
        w.push(Write::Checkpoint {
            log: id(1),
            size: 3,
            note: b"note".to_vec(),
        });
        w.push(Write::Row {
            log: id(1),
            table: T,
            key: b"alice".to_vec(),
            value: b"1".to_vec().into(),
        });
        w.push(Write::Size {
            log: id(2),
            size: 0,
        });
        store.commit(w).unwrap();

        assert_eq!(store.logs().unwrap(), vec![(id(1), 3), (id(2), 0)]);
        assert_eq!(store.size(&id(1)).unwrap(), Some(3));
        assert_eq!(store.entry(&id(1), 2).unwrap(), Some(vec![2; 3]));
        assert_eq!(store.entry(&id(1), 3).unwrap(), None);
        assert_eq!(
            store.entries(&id(1), 1, 10, usize::MAX).unwrap(),
            vec![vec![1; 3], vec![2; 3]]
        );
        // The byte bound stops after the entry that reaches it.
        assert_eq!(
            store.entries(&id(1), 0, 10, 4).unwrap(),
            vec![vec![0; 3], vec![1; 3]]
        );
        assert_eq!(store.entries(&id(1), 0, 10, 1).unwrap(), vec![vec![0; 3]]);
        assert_eq!(
            store.entries(&id(2), 0, 10, usize::MAX).unwrap(),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(
            store.node(&id(1), NodeId::new(1, 0)).unwrap(),
            Some([7; 32])
        );
        assert_eq!(store.node(&id(1), NodeId::new(0, 0)).unwrap(), None);
        assert_eq!(store.checkpoint(&id(1), 3).unwrap(), Some(b"note".to_vec()));
        assert_eq!(
            store.checkpoints(&id(1), 0, 10).unwrap(),
            vec![(3, b"note".to_vec())]
        );
        assert_eq!(store.checkpoints(&id(1), 0, 3).unwrap(), vec![]);
        assert_eq!(store.get(&id(1), T, b"alice").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.get(&id(2), T, b"alice").unwrap(), None);
        assert_eq!(
            store.get(&id(1), Table::new("other"), b"alice").unwrap(),
            None
        );
    }

    /// Every kind of record of log `b`: two entries, a node, a checkpoint, a row.
    fn full_log(b: u8) -> WriteSet {
        let mut w = WriteSet::new();
        for i in 0..2u64 {
            w.push(Write::Entry {
                log: id(b),
                index: i,
                bytes: vec![b; 4],
            });
        }
        w.push(Write::Node {
            log: id(b),
            node: NodeId::new(1, 0),
            hash: [b; 32],
        });
        w.push(Write::Checkpoint {
            log: id(b),
            size: 2,
            note: b"note".to_vec(),
        });
        w.push(Write::Row {
            log: id(b),
            table: T,
            key: b"alice".to_vec(),
            value: b"1".to_vec().into(),
        });
        w.push(Write::Size {
            log: id(b),
            size: 2,
        });
        w
    }

    #[test]
    fn removing_a_log_drops_all_of_it_durably_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.commit(full_log(1)).unwrap();
            store.commit(full_log(2)).unwrap();
            // A removal also drops what its own set wrote to the log before it,
            // and the writes after it apply.
            let mut w = WriteSet::new();
            w.push(Write::Row {
                log: id(1),
                table: T,
                key: b"bob".to_vec(),
                value: b"2".to_vec().into(),
            });
            w.push(Write::RemoveLog { log: id(1) });
            w.push(Write::Row {
                log: id(3),
                table: T,
                key: b"carol".to_vec(),
                value: b"3".to_vec().into(),
            });
            store.commit(w).unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.logs().unwrap(), vec![(id(2), 2)]);
        assert_eq!(store.size(&id(1)).unwrap(), None);
        assert_eq!(store.entry(&id(1), 0).unwrap(), None);
        assert_eq!(store.node(&id(1), NodeId::new(1, 0)).unwrap(), None);
        assert_eq!(store.checkpoints(&id(1), 0, 10).unwrap(), vec![]);
        assert_eq!(store.get(&id(1), T, b"alice").unwrap(), None);
        assert_eq!(store.get(&id(1), T, b"bob").unwrap(), None);
        assert_eq!(store.get(&id(3), T, b"carol").unwrap(), Some(b"3".to_vec()));
        // The other log is whole.
        assert_eq!(store.entries(&id(2), 0, 10, usize::MAX).unwrap().len(), 2);
        assert_eq!(
            store.node(&id(2), NodeId::new(1, 0)).unwrap(),
            Some([2; 32])
        );
        assert_eq!(store.checkpoint(&id(2), 2).unwrap(), Some(b"note".to_vec()));
        assert_eq!(store.get(&id(2), T, b"alice").unwrap(), Some(b"1".to_vec()));
        // The log can be created again from nothing.
        store.commit(full_log(1)).unwrap();
        assert_eq!(store.logs().unwrap(), vec![(id(1), 2), (id(2), 2)]);
    }

    #[test]
    fn reopening_keeps_committed_data() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            let mut w = WriteSet::new();
            w.push(Write::Size {
                log: id(9),
                size: 1,
            });
            w.push(Write::Entry {
                log: id(9),
                index: 0,
                bytes: b"x".to_vec(),
            });
            store.commit(w).unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.size(&id(9)).unwrap(), Some(1));
        assert_eq!(store.entry(&id(9), 0).unwrap(), Some(b"x".to_vec()));
    }

    #[test]
    fn large_entries_go_through_synced_blobs_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![0x5a; 512 << 10];
        {
            let store = SledStore::open(dir.path()).unwrap();
            let mut w = WriteSet::new();
            w.push(Write::Size {
                log: id(3),
                size: 1,
            });
            w.push(Write::Entry {
                log: id(3),
                index: 0,
                bytes: big.clone(),
            });
            store.commit(w).unwrap();
            // sled keeps messages this large in blob files; each was synced.
            let newest = std::fs::read_dir(dir.path().join("blobs"))
                .unwrap()
                .filter_map(|e| e.unwrap().file_name().to_str()?.parse::<u64>().ok())
                .max()
                .expect("a blob file");
            assert!(store.blobs_synced_through.load(Ordering::Relaxed) >= newest);
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.entry(&id(3), 0).unwrap(), Some(big));
    }

    #[test]
    fn refuses_a_store_of_another_format_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = ::sled::open(dir.path()).unwrap();
            db.insert(VERSION_KEY, &99u64.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        assert!(matches!(
            SledStore::open(dir.path()),
            Err(StoreError::UnsupportedFormat(99))
        ));
    }
}
