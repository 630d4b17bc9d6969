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

use std::fmt;

use urne_crypto::merkle::{Frontier, MerkleError, NodeId};

use super::{node, Board, BoardError};
use crate::election::ElectionId;
use crate::store::StoreError;

/// Height of a tile: a full tile spans `2^8` nodes of its level.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const FULL_WIDTH: u16 = 1 << TILE_HEIGHT;
/// Highest level a tree of at most `2^64 − 1` leaves has tiles at (nodes of
/// height 56; level 8 would need `2^64` leaves).
pub const MAX_LEVEL: u8 = 7;
/// Longest entry an entry bundle can carry (its length is a `u16`).
pub const MAX_BUNDLED_ENTRY: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Hashes of the nodes of tree height `8 · level`.
    Hashes(u8),
    /// The entries of a level-0 tile.
    Entries,
}

/// One tile: its kind, its index `N` within its level and its width `W`
/// (`1 ..= 256`; 256 is a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Hash tile (with its level) or entry bundle.
    pub kind: TileKind,
    /// `N`: the tile's position among the tiles of its level.
    pub index: u64,
    /// `W`: how many hashes or entries it holds.
    pub width: u16,
}

/// Why a tile path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    /// The path does not have the form `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    #[error("not a tile path (expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])")]
    Shape,
    /// The level is not canonical decimal.
    #[error("the tile level is not canonical decimal")]
    Level,
    /// The level is above the highest any tree has.
    #[error("tile level {0} is above {MAX_LEVEL}, the highest a tree has")]
    LevelTooHigh(u64),
    /// `N` is not in the `x001/x234/067` encoding, or has needless leading groups.
    #[error("the tile index is not in canonical x001/x234/067 form")]
    Index,
    /// The width is not canonical decimal in `1 ..= 255`.
    #[error("a partial tile's width must be canonical decimal from 1 to 255")]
    Width,
    /// The tile covers nodes past `2^64 − 1` leaves.
    #[error("the tile lies beyond any tree")]
    OutOfRange,
}

impl TileId {
    /// A hash tile.
    pub fn hashes(level: u8, index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Hashes(level),
            index,
            width,
        }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        self.width == FULL_WIDTH
    }

    /// Tree height of the nodes the tile holds (0 for entry bundles).
    fn height(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(level) => level * TILE_HEIGHT,
            TileKind::Entries => 0,
        }
    }

    /// Index of the first node (or entry) in the tile and one past its last,
    /// at the tile's height, or `None` past `u64`.
    fn span(&self) -> Option<(u64, u64)> {
        let start = self.index.checked_mul(u64::from(FULL_WIDTH))?;
        let end = start.checked_add(u64::from(self.width))?;
        // The last node must end within 2^64 − 1 leaves.
        (end <= u64::MAX >> self.height()).then_some((start, end))
    }

    /// Parses the part of a tile path after `tile/`, refusing every
    /// non-canonical spelling (each tile has one path).
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        let (kind, rest) = path.split_once('/').ok_or(TilePathError::Shape)?;
        let kind = if kind == "entries" {
            TileKind::Entries
        } else {
            let level = canonical_decimal(kind).ok_or(TilePathError::Level)?;
            if level > u64::from(MAX_LEVEL) {
                return Err(TilePathError::LevelTooHigh(level));
            }
            TileKind::Hashes(level as u8)
        };
        let (index_path, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = canonical_decimal(w)
                    .filter(|w| (1..u64::from(FULL_WIDTH)).contains(w))
                    .ok_or(TilePathError::Width)?;
                (n, w as u16)
            }
            None => (rest, FULL_WIDTH),
        };
        let tile = Self {
            kind,
            index: parse_index(index_path)?,
            width,
        };
        tile.span().ok_or(TilePathError::OutOfRange)?;
        Ok(tile)
    }

    /// The path below an election's prefix: `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(level) => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let last = groups.len() - 1;
        for (i, g) in groups.iter().rev().enumerate() {
            if i < last {
                write!(f, "x{g:03}/")?;
            } else {
                write!(f, "{g:03}")?;
            }
        }
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// `s` as decimal with no sign and no leading zero (`0` itself allowed).
fn canonical_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// `N` in the spec's encoding: groups of three digits, all but the last
/// prefixed with `x`, the first group not `x000`.
fn parse_index(s: &str) -> Result<u64, TilePathError> {
    let groups: Vec<&str> = s.split('/').collect();
    let last = groups.len() - 1;
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = if i < last {
            g.strip_prefix('x').ok_or(TilePathError::Index)?
        } else {
            g
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TilePathError::Index);
        }
        if i == 0 && i < last && digits == "000" {
            return Err(TilePathError::Index);
        }
        let value: u64 = digits.parse().map_err(|_| TilePathError::Index)?;
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(value))
            .ok_or(TilePathError::OutOfRange)?;
    }
    Ok(n)
}

/// The tiles a tree of `size` leaves has, hash tiles level by level, then
/// the entry bundles: every full tile and, where a level does not end on a
/// tile boundary, its rightmost partial tile.
pub fn tiles_of(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level_tiles = |height: u8, make: &dyn Fn(u64, u16) -> TileId| {
        let nodes = size >> height;
        let full = nodes / u64::from(FULL_WIDTH);
        out.extend((0..full).map(|n| make(n, FULL_WIDTH)));
        let rest = (nodes % u64::from(FULL_WIDTH)) as u16;
        if rest != 0 {
            out.push(make(full, rest));
        }
    };
    for level in 0..=MAX_LEVEL {
        if size >> (level * TILE_HEIGHT) == 0 {
            break;
        }
        level_tiles(level * TILE_HEIGHT, &|n, w| TileId::hashes(level, n, w));
    }
    level_tiles(0, &TileId::entries);
    out
}

/// Appends one entry to an entry bundle: its length as a big-endian `u16`,
/// then its bytes.
pub fn push_bundled_entry(
    bundle: &mut Vec<u8>,
    index: u64,
    entry: &[u8],
) -> Result<(), BoardError> {
    let len = u16::try_from(entry.len()).map_err(|_| BoardError::EntryTooLarge {
        index,
        len: entry.len(),
    })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

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
                        push_bundled_entry(&mut out, index, &entry)?;
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
        if push_bundled_entry(&mut self.bundle, index, entry).is_err() {
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

    #[test]
    fn paths_round_trip_in_the_spec_encoding() {
        for (tile, path) in [
            (TileId::hashes(0, 0, 256), "tile/0/000"),
            (TileId::hashes(0, 1_234_067, 256), "tile/0/x001/x234/067"),
            (TileId::hashes(1, 5, 3), "tile/1/005.p/3"),
            (TileId::entries(1000, 255), "tile/entries/x001/000.p/255"),
        ] {
            assert_eq!(tile.path(), path);
            assert_eq!(TileId::parse(&path["tile/".len()..]), Ok(tile));
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        use TilePathError::*;
        for (path, error) in [
            ("0/5", Index),
            ("0/0005", Index),
            ("0/x000/005", Index),
            ("0/001/005", Index),
            ("0/x1/005", Index),
            ("0/005.p/0", Width),
            ("0/005.p/256", Width),
            ("0/005.p/07", Width),
            ("00/005", Level),
            ("-1/005", Level),
            ("8/000", LevelTooHigh(8)),
            ("entries", Shape),
            ("0/x018/x446/x744/x073/x709/x551/615", OutOfRange),
            ("7/001", OutOfRange),
        ] {
            assert_eq!(TileId::parse(path), Err(error), "{path}");
        }
        // The highest tile of level 7: nodes of height 56, below 2^64 leaves.
        assert!(TileId::parse("7/000.p/255").is_ok());
    }

    /// The example of protocol §6.10.
    #[test]
    fn the_spec_example() {
        let mut bundle = Vec::new();
        push_bundled_entry(&mut bundle, 0, &[0x61, 0x62]).unwrap();
        push_bundled_entry(&mut bundle, 1, &[0x63]).unwrap();
        assert_eq!(bundle, [0, 2, 0x61, 0x62, 0, 1, 0x63]);
        let paths: Vec<String> = tiles_of(1000).iter().map(TileId::path).collect();
        assert_eq!(
            paths,
            [
                "tile/0/000",
                "tile/0/001",
                "tile/0/002",
                "tile/0/003.p/232",
                "tile/1/000.p/3",
                "tile/entries/000",
                "tile/entries/001",
                "tile/entries/002",
                "tile/entries/003.p/232",
            ]
        );
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

    #[test]
    fn tile_list_of_small_trees() {
        assert!(tiles_of(0).is_empty());
        assert_eq!(
            tiles_of(257),
            vec![
                TileId::hashes(0, 0, 256),
                TileId::hashes(0, 1, 1),
                TileId::hashes(1, 0, 1),
                TileId::entries(0, 256),
                TileId::entries(1, 1),
            ]
        );
    }
}
