//! A fault-injecting [`Store`] for power-loss tests: a simulated device whose
//! writes sit in a volatile buffer until they are flushed, and which can lose
//! power at a chosen point of a chosen commit.
//!
//! Each commit is one record `u32be(len) ‖ SHA-256(payload) ‖ payload` (the
//! payload lists the key–value pairs of the [`WriteSet`]), written to the
//! device's volatile buffer and then flushed to its durable bytes; reads see a
//! commit as soon as it is written (as [`Store`] allows). A power cut drops
//! the volatile buffer, or, during a flush, keeps only a prefix of the record
//! (a torn write). After the cut the store refuses every commit, like a
//! machine that is off. [`PowerCutStore::recover`] rebuilds a store from the
//! durable bytes alone, replaying whole records and dropping a torn tail.
//!
//! Not here: faults of a real file system or of sled itself (see the
//! durability notes in `specs/protocol.md` §6.9); this layer checks what urne
//! adds on top of a store that keeps its promise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use super::sled::{be_u64, is_key_of, key, node_key, row_key, CHECKPOINT, ENTRY, SIZE};
use super::{Digest, Store, StoreError, Table, Write, WriteSet};
use crate::election::ElectionId;
use urne_crypto::merkle::NodeId;

/// Where, within a commit, the power goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutPoint {
    /// Before anything of the commit is written.
    BeforeWrite,
    /// After the commit is written (and visible), before its flush.
    BeforeFlush,
    /// During the flush: only the first `n` bytes of the record reach the device.
    TornFlush(usize),
    /// After the flush, before the commit returns.
    AfterFlush,
}

#[derive(Debug, Default)]
struct Device {
    durable: Vec<u8>,
    commits: u64,
    cut: Option<(u64, CutPoint)>,
    off: bool,
}

/// The simulated device, shared by the store and the test across power cycles.
#[derive(Debug, Clone, Default)]
pub struct PowerCutDevice(Arc<Mutex<Device>>);

impl PowerCutDevice {
    /// A blank device.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms a power cut at `point` of the `commit`-th commit (0-based) from now.
    pub fn cut_at(&self, commit: u64, point: CutPoint) {
        let mut d = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        d.cut = Some((d.commits + commit, point));
    }

    /// Whether the power is off.
    pub fn is_off(&self) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).off
    }
}

/// A [`Store`] on a [`PowerCutDevice`].
pub struct PowerCutStore {
    device: PowerCutDevice,
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

/// One stored key and its value.
type Pair = (Vec<u8>, Vec<u8>);

/// Key prefix of a record's removal marker, `REMOVED ‖ log` with an empty
/// value: the log's keys are dropped there (no stored key starts with it).
const REMOVED: u8 = b'x';

/// Applies a record's pairs in order, removal markers included.
fn apply(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, pairs: Vec<Pair>) {
    for (k, v) in pairs {
        if k.first() == Some(&REMOVED) && k.len() == 33 {
            let mut id = [0u8; 32];
            id.copy_from_slice(&k[1..]);
            let log = ElectionId(id);
            map.retain(|key, _| !is_key_of(key, &log));
        } else {
            map.insert(k, v);
        }
    }
}

/// The key–value pairs a write set stores, in order (later ones win).
fn pairs(writes: &WriteSet) -> Vec<Pair> {
    writes
        .writes()
        .iter()
        .map(|w| match w {
            Write::Size { log, size } => (key(SIZE, log, &[]), size.to_be_bytes().to_vec()),
            Write::Entry { log, index, bytes } => {
                (key(ENTRY, log, &index.to_be_bytes()), bytes.clone())
            }
            Write::Node { log, node, hash } => (node_key(log, *node), hash.to_vec()),
            Write::Checkpoint { log, size, note } => {
                (key(CHECKPOINT, log, &size.to_be_bytes()), note.clone())
            }
            Write::Row {
                log,
                table,
                key: row,
                value,
            } => (row_key(log, *table, row), value.to_vec()),
            Write::RemoveLog { log } => (key(REMOVED, log, &[]), Vec::new()),
        })
        .collect()
}

/// Decodes one record's payload into its pairs, or `None` if it is torn.
fn decode(bytes: &[u8]) -> Option<(Vec<Pair>, usize)> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let sum = bytes.get(4..36)?;
    let payload = bytes.get(36..36 + len)?;
    if Sha256::digest(payload).as_slice() != sum {
        return None;
    }
    let mut out = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize| -> Option<Vec<u8>> {
        let n = u32::from_be_bytes(payload.get(*at..*at + 4)?.try_into().ok()?) as usize;
        let v = payload.get(*at + 4..*at + 4 + n)?.to_vec();
        *at += 4 + n;
        Some(v)
    };
    while at < payload.len() {
        let k = take(&mut at)?;
        let v = take(&mut at)?;
        out.push((k, v));
    }
    Some((out, 36 + len))
}

impl PowerCutStore {
    /// The store the device holds after power comes back: every whole record
    /// on the durable bytes, replayed in order; a torn tail is cut off.
    pub fn recover(device: &PowerCutDevice) -> Self {
        let mut d = device.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = BTreeMap::new();
        let mut at = 0;
        while let Some((pairs, used)) = decode(&d.durable[at..]) {
            apply(&mut map, pairs);
            at += used;
        }
        d.durable.truncate(at);
        d.off = false;
        d.cut = None;
        drop(d);
        Self {
            device: device.clone(),
            map: Mutex::new(map),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn power_off(d: &mut Device) -> StoreError {
        d.off = true;
        StoreError::Engine("simulated power cut".into())
    }
}

impl Store for PowerCutStore {
    fn logs(&self) -> Result<Vec<(ElectionId, u64)>, StoreError> {
        self.map()
            .range(vec![SIZE]..vec![SIZE + 1])
            .map(|(k, v)| {
                let id: [u8; 32] = k[1..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("size key length".into()))?;
                Ok((ElectionId(id), be_u64(v)?))
            })
            .collect()
    }

    fn size(&self, log: &ElectionId) -> Result<Option<u64>, StoreError> {
        self.map()
            .get(&key(SIZE, log, &[]))
            .map(|v| be_u64(v))
            .transpose()
    }

    fn entry(&self, log: &ElectionId, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .map()
            .get(&key(ENTRY, log, &index.to_be_bytes()))
            .cloned())
    }

    fn entries(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let map = self.map();
        let mut out = Vec::new();
        let mut bytes = 0;
        for i in start..end {
            match map.get(&key(ENTRY, log, &i.to_be_bytes())) {
                Some(v) if bytes < max_bytes => {
                    bytes += v.len();
                    out.push(v.clone());
                }
                _ => break,
            }
        }
        Ok(out)
    }

    fn node(&self, log: &ElectionId, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.map()
            .get(&node_key(log, node))
            .map(|v| {
                v.as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("node hash length".into()))
            })
            .transpose()
    }

    fn checkpoint(&self, log: &ElectionId, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .map()
            .get(&key(CHECKPOINT, log, &size.to_be_bytes()))
            .cloned())
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
        self.map()
            .range(range)
            .map(|(k, v)| Ok((be_u64(&k[33..])?, v.clone())))
            .collect()
    }

    fn get(
        &self,
        log: &ElectionId,
        table: Table,
        row: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map().get(&row_key(log, table, row)).cloned())
    }

    fn commit(&self, writes: WriteSet) -> Result<(), StoreError> {
        let record_pairs = pairs(&writes);
        let record = encode_pairs(&record_pairs);
        let mut d = self.device.0.lock().unwrap_or_else(PoisonError::into_inner);
        if d.off {
            return Err(StoreError::Engine("the device is off".into()));
        }
        let n = d.commits;
        d.commits += 1;
        let cut = d.cut.filter(|(at, _)| *at == n).map(|(_, p)| p);
        if cut == Some(CutPoint::BeforeWrite) {
            return Err(Self::power_off(&mut d));
        }
        // Written: visible to readers, in the volatile buffer only.
        apply(&mut self.map(), record_pairs);
        match cut {
            Some(CutPoint::BeforeFlush) => return Err(Self::power_off(&mut d)),
            Some(CutPoint::TornFlush(k)) => {
                let k = k.min(record.len().saturating_sub(1));
                d.durable.extend_from_slice(&record[..k]);
                return Err(Self::power_off(&mut d));
            }
            _ => {}
        }
        d.durable.extend_from_slice(&record);
        if cut == Some(CutPoint::AfterFlush) {
            return Err(Self::power_off(&mut d));
        }
        Ok(())
    }
}

/// One commit's record: `u32be(len) ‖ SHA-256(payload) ‖ payload`.
fn encode_pairs(pairs: &[Pair]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (k, v) in pairs {
        payload.extend((k.len() as u32).to_be_bytes());
        payload.extend(k);
        payload.extend((v.len() as u32).to_be_bytes());
        payload.extend(v);
    }
    let mut record = (payload.len() as u32).to_be_bytes().to_vec();
    record.extend(Sha256::digest(&payload));
    record.extend(payload);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::sequencer::{AppendRequest, LogRequirement};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};
    use urne_crypto::merkle::{leaf_hash, Frontier};

    const LOG: ElectionId = ElectionId([9; 32]);

    #[test]
    fn torn_records_are_dropped_and_whole_ones_kept() {
        let device = PowerCutDevice::new();
        let store = PowerCutStore::recover(&device);
        let entry = |i: u64| {
            let mut w = WriteSet::new();
            w.push(Write::Entry {
                log: LOG,
                index: i,
                bytes: vec![i as u8; 100],
            });
            w
        };
        store.commit(entry(0)).unwrap();
        device.cut_at(0, CutPoint::TornFlush(60));
        assert!(store.commit(entry(1)).is_err());
        assert!(store.commit(entry(2)).is_err(), "the device is off");
        // Visible before the cut, gone after it.
        assert!(store.entry(&LOG, 1).unwrap().is_some());
        let store = PowerCutStore::recover(&device);
        assert_eq!(store.entry(&LOG, 0).unwrap(), Some(vec![0; 100]));
        assert_eq!(store.entry(&LOG, 1).unwrap(), None);
        store.commit(entry(3)).unwrap();
        device.cut_at(0, CutPoint::BeforeFlush);
        assert!(store.commit(entry(4)).is_err());
        let store = PowerCutStore::recover(&device);
        assert!(store.entry(&LOG, 3).unwrap().is_some());
        assert!(store.entry(&LOG, 4).unwrap().is_none());
    }

    #[test]
    fn a_removed_log_stays_removed_after_power_comes_back() {
        let device = PowerCutDevice::new();
        let store = PowerCutStore::recover(&device);
        let other = ElectionId([8; 32]);
        let mut w = WriteSet::new();
        for log in [LOG, other] {
            w.push(Write::Entry {
                log,
                index: 0,
                bytes: vec![1; 10],
            });
            w.push(Write::Size { log, size: 1 });
        }
        store.commit(w).unwrap();
        let mut w = WriteSet::new();
        w.push(Write::RemoveLog { log: LOG });
        store.commit(w).unwrap();
        assert_eq!(store.size(&LOG).unwrap(), None);
        // A removal cut before its flush is lost whole; a flushed one is kept.
        let mut w = WriteSet::new();
        w.push(Write::RemoveLog { log: other });
        device.cut_at(0, CutPoint::BeforeFlush);
        assert!(store.commit(w).is_err());
        let store = PowerCutStore::recover(&device);
        assert_eq!(store.logs().unwrap(), vec![(other, 1)]);
        assert_eq!(store.entry(&LOG, 0).unwrap(), None);
        assert_eq!(store.entry(&other, 0).unwrap(), Some(vec![1; 10]));
    }

    /// What the clients were told: acknowledged entries and the checkpoints
    /// handed out with them.
    #[derive(Default)]
    struct Told {
        entries: BTreeMap<u64, Vec<u8>>,
        checkpoints: BTreeMap<u64, (Digest, String)>,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn power_cuts_under_concurrent_appends_lose_nothing_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let device = PowerCutDevice::new();
        let told = Arc::new(Mutex::new(Told::default()));
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        const CUTS: u64 = 40;
        for round in 0..=CUTS {
            let store = Arc::new(PowerCutStore::recover(&device));
            let (board, thread) = Board::open_on(dir.path(), store, &mut |_, _, _| Ok(None))
                .expect("the board reopens after a power cut");

            // Everything acknowledged before survives, and every checkpoint
            // handed out is a prefix of today's log.
            {
                let told = told.lock().unwrap();
                let size = board.head(&LOG).map_or(0, |h| h.size);
                let entries = board
                    .entries(
                        &LOG,
                        0,
                        Some(size),
                        crate::board::PageLimit {
                            entries: u64::MAX,
                            bytes: usize::MAX,
                        },
                    )
                    .map(|p| p.entries)
                    .unwrap_or_default();
                assert_eq!(entries.len() as u64, size, "round {round}");
                for (index, bytes) in &told.entries {
                    assert_eq!(entries.get(*index as usize), Some(bytes), "round {round}");
                }
                let mut frontier = Frontier::new();
                let mut roots = vec![frontier.root()];
                for e in &entries {
                    frontier.append(leaf_hash(e)).unwrap();
                    roots.push(frontier.root());
                }
                for (size, (root, note)) in &told.checkpoints {
                    assert_eq!(roots.get(*size as usize), Some(root), "round {round}");
                    let stored = board.checkpoints(&LOG, *size, *size + 1).unwrap();
                    assert_eq!(
                        stored.first().map(|(_, n)| n.as_slice()),
                        Some(note.as_bytes()),
                        "round {round}"
                    );
                }
            }
            if round == CUTS {
                thread.stop().await;
                break;
            }

            let point = match rng.next_u32() % 4 {
                0 => CutPoint::BeforeWrite,
                1 => CutPoint::BeforeFlush,
                2 => CutPoint::TornFlush(rng.next_u32() as usize % 400),
                _ => CutPoint::AfterFlush,
            };
            device.cut_at(u64::from(rng.next_u32() % 12), point);
            let writers: Vec<_> = (0..4u32)
                .map(|w| {
                    let (board, told) = (board.clone(), told.clone());
                    tokio::spawn(async move {
                        for i in 0u32.. {
                            let bytes = format!("round {round} writer {w} entry {i}").into_bytes();
                            let request =
                                AppendRequest::new(LOG, bytes.clone(), LogRequirement::Any);
                            match board.append(request).await {
                                Ok(appended) => {
                                    let mut told = told.lock().unwrap();
                                    told.entries.insert(appended.index, bytes);
                                    let head = &appended.head;
                                    told.checkpoints.insert(
                                        head.size,
                                        (head.root, head.checkpoint.to_string()),
                                    );
                                }
                                Err(_) => return,
                            }
                        }
                    })
                })
                .collect();
            for w in writers {
                w.await.unwrap();
            }
            assert!(device.is_off(), "round {round}: the cut happened");
            thread.stop().await;
            drop(board);
        }
        let told = told.lock().unwrap();
        assert!(
            told.entries.len() > 50,
            "{} entries acknowledged",
            told.entries.len()
        );
    }
}
