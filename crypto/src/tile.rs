//! The board as C2SP `tlog-tiles` (§6.10 of the protocol): tile paths, the
//! tiles a tree has, and entry bundles.
//!
//! A hash tile at level `L` holds the hashes of the perfect nodes of tree
//! height `8·L`, 256 to a full tile. An entry bundle holds the entries of one
//! level-0 tile, each as a big-endian `u16` length and the entry's canonical
//! bytes. The service serves tiles, the verifier and the voter's client read
//! them; this module is the one home of their encoding.

use core::fmt;

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
    pub fn height(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(level) => level * TILE_HEIGHT,
            TileKind::Entries => 0,
        }
    }

    /// Index of the first node (or entry) in the tile and one past its last,
    /// at the tile's height, or `None` past `u64`.
    pub fn span(&self) -> Option<(u64, u64)> {
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

/// Why an entry does not fit an entry bundle, or a bundle does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The entry is longer than a bundle's `u16` length can say.
    #[error(
        "an entry of {0} bytes is longer than an entry bundle can carry ({MAX_BUNDLED_ENTRY})"
    )]
    EntryTooLarge(usize),
    /// The bundle ends inside a length prefix.
    #[error("ends inside a length")]
    TruncatedLength,
    /// The bundle ends inside an entry.
    #[error("ends inside an entry")]
    TruncatedEntry,
    /// The bundle holds another number of entries than its width.
    #[error("holds {found} entries, not {width}")]
    Width {
        /// Entries found.
        found: usize,
        /// The tile's width.
        width: u16,
    },
}

/// Appends one entry to an entry bundle: its length as a big-endian `u16`,
/// then its bytes.
pub fn push_bundled_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), BundleError> {
    let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle that must hold exactly `width` entries.
pub fn split_bundle(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(BundleError::TruncatedLength);
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(BundleError::TruncatedEntry);
        }
        let (entry, next) = tail.split_at(len);
        out.push(entry);
        rest = next;
    }
    if out.len() != usize::from(width) {
        return Err(BundleError::Width {
            found: out.len(),
            width,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        push_bundled_entry(&mut bundle, &[0x61, 0x62]).unwrap();
        push_bundled_entry(&mut bundle, &[0x63]).unwrap();
        assert_eq!(bundle, [0, 2, 0x61, 0x62, 0, 1, 0x63]);
        assert_eq!(
            split_bundle(&bundle, 2),
            Ok(vec![&[0x61, 0x62][..], &[0x63][..]])
        );
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
    }

    #[test]
    fn malformed_bundles_are_refused() {
        assert_eq!(split_bundle(&[0], 1), Err(BundleError::TruncatedLength));
        assert_eq!(
            split_bundle(&[0, 2, 1], 1),
            Err(BundleError::TruncatedEntry)
        );
        assert_eq!(
            split_bundle(&[0, 1, 1, 0, 0], 1),
            Err(BundleError::Width { found: 2, width: 1 })
        );
        assert_eq!(split_bundle(&[], 0), Ok(vec![]));
        let mut bundle = Vec::new();
        assert_eq!(
            push_bundled_entry(&mut bundle, &vec![0; MAX_BUNDLED_ENTRY + 1]),
            Err(BundleError::EntryTooLarge(MAX_BUNDLED_ENTRY + 1))
        );
        assert!(bundle.is_empty());
        assert!(push_bundled_entry(&mut bundle, &vec![0; MAX_BUNDLED_ENTRY]).is_ok());
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
