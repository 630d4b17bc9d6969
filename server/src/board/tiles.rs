//! The board as C2SP `tlog-tiles` (§6.10 of the protocol): hash tiles of
//! height 8 and entry bundles, addressed by the spec's paths.
//!
//! A hash tile at level `L` holds the hashes of the perfect nodes of tree
//! height `8·L`, 256 to a full tile; every one of them is a stored node
//! ([`urne_crypto::merkle`]), so a tile is read, never recomputed. An entry
//! bundle holds the entries of one level-0 tile, each as a big-endian `u16`
//! length and the entry's canonical bytes. [`Board::tile`] serves tiles of the
//! published head; [`StaticTiles`] builds every tile of a finished log from
//! its entries alone, for a static mirror.

use urne_crypto::merkle::{Frontier, MerkleError, NodeId};
use urne_crypto::tile::push_bundled_entry;
pub use urne_crypto::tile::{
    tiles_of, BundleError, TileId, TileKind, TilePathError, FULL_WIDTH, MAX_BUNDLED_ENTRY,
    MAX_LEVEL, TILE_HEIGHT,
};

use super::{node, Board, BoardError};
use crate::election::ElectionId;
use crate::store::StoreError;

impl Board {
    /// The bytes of a tile of `log`'s published head: 32 bytes per hash, or
    /// the entry bundle. A tile past the head is [`BoardError::BeyondHead`];
    /// a bundle holding an entry longer than 65535 bytes is
    /// [`BoardError::EntryTooLarge`].
    pub fn tile(&self, log: &ElectionId, tile: &TileId) -> Result<Vec<u8>, BoardError> {
        let head = self.head(log)?;
        let (start, end) = tile.span().ok_or(BoardError::BeyondHead {
            requested: u64::MAX,
            size: head.size,
        })?;
        let available = head.size >> tile.height();
        if end > available {
            return Err(BoardError::BeyondHead {
                requested: end << tile.height(),
                size: head.size,
            });
        }
        match tile.kind {
            TileKind::Hashes(_) => {
                let mut out = Vec::with_capacity(usize::from(tile.width) * 32);
                for i in start..end {
                    out.extend_from_slice(&node(
                        self.store.as_ref(),
                        log,
                        NodeId::new(tile.height(), i),
                    )?);
                }
                Ok(out)
            }
            TileKind::Entries => {
                let mut out = Vec::new();
                let mut index = start;
                while index < end {
                    let page = self.store.entries(log, index, end, 4 << 20)?;
                    if page.is_empty() {
                        return Err(StoreError::Corrupt(format!(
                            "log {log}: entry {index} missing"
                        ))
                        .into());
                    }
                    for entry in page {
                        push_bundled_entry(&mut out, &entry).map_err(|_| {
                            BoardError::EntryTooLarge {
                                index,
                                len: entry.len(),
                            }
                        })?;
                        index += 1;
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Every tile of a log, built from its entries alone (for a static mirror).
#[derive(Debug, Default)]
pub struct StaticTiles {
    frontier: Frontier,
    /// Hashes of the current (unfinished) tile of each level.
    pending: Vec<Vec<u8>>,
    /// The current entry bundle.
    bundle: Vec<u8>,
    /// Entries in `bundle` that are too long for it, by index.
    oversized: Vec<u64>,
    done: Vec<(TileId, Vec<u8>)>,
}

impl StaticTiles {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next entry.
    pub fn push(&mut self, entry: &[u8]) -> Result<(), MerkleError> {
        let index = self.frontier.size();
        for (id, hash) in self
            .frontier
            .append(urne_crypto::merkle::leaf_hash(entry))?
        {
            if id.level % TILE_HEIGHT != 0 {
                continue;
            }
            let level = usize::from(id.level / TILE_HEIGHT);
            if self.pending.len() <= level {
                self.pending.resize(level + 1, Vec::new());
            }
            self.pending[level].extend_from_slice(&hash);
            if self.pending[level].len() == usize::from(FULL_WIDTH) * 32 {
                let tile =
                    TileId::hashes(level as u8, id.index / u64::from(FULL_WIDTH), FULL_WIDTH);
                self.done
                    .push((tile, std::mem::take(&mut self.pending[level])));
            }
        }
        if push_bundled_entry(&mut self.bundle, entry).is_err() {
            self.oversized.push(index);
        }
        if (index + 1) % u64::from(FULL_WIDTH) == 0 {
            self.finish_bundle(index / u64::from(FULL_WIDTH), FULL_WIDTH);
        }
        Ok(())
    }

    fn finish_bundle(&mut self, n: u64, width: u16) {
        let bundle = std::mem::take(&mut self.bundle);
        let first = n * u64::from(FULL_WIDTH);
        let complete = !self.oversized.iter().any(|i| *i >= first);
        if complete {
            self.done.push((TileId::entries(n, width), bundle));
        }
    }

    /// Number of entries appended.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the entries appended.
    pub fn root(&self) -> urne_crypto::hash::Digest32 {
        self.frontier.root()
    }

    /// Entries longer than an entry bundle can carry: their bundles are left out.
    pub fn oversized(&self) -> &[u64] {
        &self.oversized
    }

    /// Every tile of the tree appended, full ones and the rightmost partial
    /// ones, in the order of [`tiles_of`].
    pub fn finish(mut self) -> Vec<(TileId, Vec<u8>)> {
        let size = self.size();
        let rest = (size % u64::from(FULL_WIDTH)) as u16;
        if rest != 0 {
            self.finish_bundle(size / u64::from(FULL_WIDTH), rest);
        }
        for (level, hashes) in self.pending.iter().enumerate() {
            if !hashes.is_empty() {
                let nodes = size >> (level as u32 * u32::from(TILE_HEIGHT));
                let tile = TileId::hashes(
                    level as u8,
                    nodes / u64::from(FULL_WIDTH),
                    (hashes.len() / 32) as u16,
                );
                self.done.push((tile, hashes.clone()));
            }
        }
        self.done.sort_by_key(|(id, _)| *id);
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use urne_crypto::merkle;

    /// The tiles of the example of protocol §6.10, built from entries alone,
    /// give the tree's root.
    #[test]
    fn static_tiles_of_the_spec_example() {
        let entries: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let leaves: Vec<_> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        let mut built = StaticTiles::new();
        for e in &entries {
            built.push(e).unwrap();
        }
        let tiles = built.finish();
        let hashes = |i: usize| -> Vec<[u8; 32]> {
            tiles[i]
                .1
                .chunks(32)
                .map(|c| c.try_into().unwrap())
                .collect()
        };
        let (t0_3, t1) = (hashes(3), hashes(4));
        let r = merkle::root(&t0_3);
        let root = merkle::node_hash(
            &merkle::node_hash(&t1[0], &t1[1]),
            &merkle::node_hash(&t1[2], &r),
        );
        assert_eq!(root, merkle::root(&leaves));
    }
}
