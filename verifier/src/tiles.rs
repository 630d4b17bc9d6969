//! Reading a board from its C2SP `tlog-tiles` (protocol §6.10): a tile base
//! served over HTTP (`http://HOST/v1/elections/ID/`, or any static mirror) or
//! a directory written by `urne export --tiles`.
//!
//! A tile base holds `board-key`, `checkpoint`, the hash tiles
//! `tile/<L>/<N>[.p/<W>]`, the entry bundles `tile/entries/<N>[.p/<W>]` and,
//! for entries too long for a bundle, `entries/<index>`. Nothing in it is
//! trusted: every entry is hashed, every node of height `8·L` the entries
//! complete is compared with the hash tile that holds it, and the engine
//! recomputes the root from the entries and compares it with the signed
//! checkpoint, exactly as for an export.

use std::collections::{HashMap, VecDeque};
#[cfg(feature = "native")]
use std::path::PathBuf;
#[cfg(feature = "native")]
use std::time::Duration;

use urne_crypto::entry::Ballot;
use urne_crypto::export::Record as ExportRecord;
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{leaf_hash, Frontier};
use urne_crypto::record::BallotHistory;
use urne_crypto::tile::{self, TileId, TILE_HEIGHT};

use crate::source::{refetched_ballot, Item, Source, SourceError};

/// Hashes (or entries) in a full tile, as a count of leaves.
const FULL_WIDTH: u64 = tile::FULL_WIDTH as u64;

/// Where the tiles are.
pub(crate) enum TileBase {
    /// The files of a tile base, by path, fetched beforehand (a browser's
    /// reading of a mirror; a path absent is a file the base does not have).
    Files(HashMap<String, Vec<u8>>),
    /// A directory written by `urne export --tiles` (or any copy of a tile base).
    #[cfg(feature = "native")]
    Directory(PathBuf),
    /// A tile base URL; paths are appended after a `/`.
    #[cfg(feature = "native")]
    Http {
        /// The HTTP client.
        client: reqwest::blocking::Client,
        /// The base URL without its trailing `/`.
        base: String,
    },
}

/// A file of the tile base that is not there (as opposed to unreadable).
enum Fetch {
    Found(Vec<u8>),
    Missing,
}

impl TileBase {
    /// The tile base at `target`: a URL, or a directory.
    #[cfg(feature = "native")]
    pub(crate) fn new(target: &str) -> Result<Self, SourceError> {
        if crate::remote::is_url(target) {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| SourceError::Remote(format!("HTTP client: {e}")))?;
            Ok(TileBase::Http {
                client,
                base: target.trim_end_matches('/').to_string(),
            })
        } else {
            Ok(TileBase::Directory(PathBuf::from(target)))
        }
    }

    fn fetch(&self, path: &str) -> Result<Fetch, SourceError> {
        match self {
            TileBase::Files(files) => Ok(files
                .get(path)
                .map_or(Fetch::Missing, |b| Fetch::Found(b.clone()))),
            #[cfg(feature = "native")]
            TileBase::Directory(dir) => match std::fs::read(dir.join(path)) {
                Ok(bytes) => Ok(Fetch::Found(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Fetch::Missing),
                Err(e) => Err(SourceError::Remote(format!(
                    "{}: {e}",
                    dir.join(path).display()
                ))),
            },
            #[cfg(feature = "native")]
            TileBase::Http { client, base } => {
                let url = format!("{base}/{path}");
                let response = client
                    .get(&url)
                    .send()
                    .map_err(|e| SourceError::Remote(format!("{url}: {e}")))?;
                let status = response.status();
                if status == reqwest::StatusCode::NOT_FOUND
                    || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY
                {
                    return Ok(Fetch::Missing);
                }
                if !status.is_success() {
                    return Err(SourceError::Remote(format!("{url}: HTTP {status}")));
                }
                response
                    .bytes()
                    .map(|b| Fetch::Found(b.to_vec()))
                    .map_err(|e| SourceError::Remote(format!("{url}: {e}")))
            }
        }
    }

    /// The file at `path`, which must exist.
    fn get(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.fetch(path)? {
            Fetch::Found(bytes) => Ok(bytes),
            Fetch::Missing => Err(SourceError::Tile {
                code: "tile_missing",
                message: format!("the tile base has no {path}"),
            }),
        }
    }

    fn text(&self, path: &str) -> Result<String, SourceError> {
        String::from_utf8(self.get(path)?).map_err(|_| SourceError::Tile {
            code: "tile_malformed",
            message: format!("{path} is not UTF-8 text"),
        })
    }

    /// The election's board key (note verifier key string).
    pub(crate) fn board_key(&self) -> Result<String, SourceError> {
        Ok(self.text("board-key")?.trim_end_matches('\n').to_string())
    }

    /// The signed checkpoint note.
    pub(crate) fn checkpoint(&self) -> Result<String, SourceError> {
        self.text("checkpoint")
    }

    /// Entry `index` alone, from `entries/<index>`.
    fn entry(&self, index: u64) -> Result<Vec<u8>, SourceError> {
        self.get(&format!("entries/{index}"))
    }
}

/// The path of a tile below the base (§6.10): a hash tile of `level`, or
/// the entry bundle for `level` `None`.
pub(crate) fn tile_path(level: Option<u8>, index: u64, width: u64) -> String {
    let width = width.min(FULL_WIDTH) as u16;
    match level {
        Some(l) => TileId::hashes(l, index, width),
        None => TileId::entries(index, width),
    }
    .path()
}

/// The files a fresh reading of a board of `size` entries fetches, in
/// reading order of their kind: every entry bundle, then every hash tile of
/// every level (§6.10). Entries of a bundle the base lacks come from
/// `entries/<index>` instead.
pub(crate) fn tile_files(size: u64) -> Vec<String> {
    let mut paths: Vec<String> = (0..size.div_ceil(FULL_WIDTH))
        .map(|n| tile_path(None, n, width_of(size, n)))
        .collect();
    for level in 0u8.. {
        let nodes = size
            .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
            .unwrap_or(0);
        if nodes == 0 {
            break;
        }
        paths.extend(
            (0..nodes.div_ceil(FULL_WIDTH)).map(|n| tile_path(Some(level), n, width_of(nodes, n))),
        );
    }
    paths
}

/// Width of tile `n` of a level holding `nodes` nodes.
fn width_of(nodes: u64, n: u64) -> u64 {
    nodes.saturating_sub(n * FULL_WIDTH).min(FULL_WIDTH)
}

/// Splits an entry bundle of `width` entries starting at entry `first`.
fn split_bundle(bytes: &[u8], first: u64, width: u64) -> Result<Vec<Vec<u8>>, SourceError> {
    tile::split_bundle(bytes, width.min(FULL_WIDTH) as u16)
        .map(|entries| entries.into_iter().map(<[u8]>::to_vec).collect())
        .map_err(|e| SourceError::Tile {
            code: "tile_malformed",
            message: format!(
                "the entry bundle {} {e}",
                tile_path(None, first / FULL_WIDTH, width)
            ),
        })
}

/// The board as a tile base holds it: the key record (unless resuming), the
/// entries `from..size` of the checkpoint of `size` entries, then that
/// checkpoint. Every hash of every hash tile covering those entries is
/// checked against the nodes the entries complete.
pub(crate) struct TilesSource {
    base: TileBase,
    board_key: Option<String>,
    from: u64,
    next: u64,
    size: u64,
    note: Option<String>,
    buffer: VecDeque<Vec<u8>>,
    frontier: Frontier,
    /// The hash tile of each level last fetched, by (level, N).
    hash_tiles: HashMap<u8, (u64, Vec<u8>)>,
    /// Leaf hash of every entry read so far (the verified prefix included).
    leaves: Vec<Digest32>,
    /// Tiles fetched (hash tiles, bundles, single entries).
    pub(crate) fetched: u64,
}

impl TilesSource {
    /// Entries `from..size` and then `note`, the checkpoint of `size`
    /// entries; `prefix` holds the leaf hashes of the entries before `from`.
    pub(crate) fn new(
        base: TileBase,
        board_key: Option<String>,
        (from, size): (u64, u64),
        note: String,
        prefix: Vec<Digest32>,
    ) -> Result<Self, SourceError> {
        let mut frontier = Frontier::new();
        for leaf in &prefix {
            frontier
                .append(*leaf)
                .map_err(|e| SourceError::Remote(format!("the stored tree: {e}")))?;
        }
        Ok(TilesSource {
            base,
            board_key,
            from,
            next: from,
            size,
            note: Some(note),
            buffer: VecDeque::new(),
            frontier,
            hash_tiles: HashMap::new(),
            leaves: prefix,
            fetched: 0,
        })
    }

    /// The entries of the bundle holding entry `self.next`, from its first
    /// unread entry; entries of a bundle the base does not have (it holds an
    /// entry too long for a bundle) are read one by one.
    fn fill(&mut self) -> Result<(), SourceError> {
        let n = self.next / FULL_WIDTH;
        let width = width_of(self.size, n);
        let first = n * FULL_WIDTH;
        self.fetched += 1;
        let entries = match self.base.fetch(&tile_path(None, n, width))? {
            Fetch::Found(bytes) => split_bundle(&bytes, first, width)?,
            Fetch::Missing => {
                let mut out = Vec::new();
                for index in first..first + width {
                    if index >= self.next {
                        self.fetched += 1;
                        out.push(self.base.entry(index)?);
                    } else {
                        out.push(Vec::new());
                    }
                }
                out
            }
        };
        let skip = (self.next - first) as usize;
        self.buffer.extend(entries.into_iter().skip(skip));
        Ok(())
    }

    /// Appends the next entry's leaf and checks every node of a tile level
    /// it completes against its hash tile.
    fn append(&mut self, leaf: Digest32) -> Result<(), SourceError> {
        let created = self
            .frontier
            .append(leaf)
            .map_err(|e| SourceError::Remote(format!("the tree: {e}")))?;
        for (id, hash) in created {
            if id.level % TILE_HEIGHT != 0 {
                continue;
            }
            let level = id.level / TILE_HEIGHT;
            let n = id.index / FULL_WIDTH;
            let held = match self.hash_tiles.get(&level) {
                Some((held, _)) => *held == n,
                None => false,
            };
            if !held {
                let width = width_of(self.size >> id.level, n);
                let path = tile_path(Some(level), n, width);
                self.fetched += 1;
                let bytes = self.base.get(&path)?;
                if bytes.len() as u64 != width * 32 {
                    return Err(SourceError::Tile {
                        code: "tile_malformed",
                        message: format!(
                            "the hash tile {path} has {} bytes, not {}",
                            bytes.len(),
                            width * 32
                        ),
                    });
                }
                self.hash_tiles.insert(level, (n, bytes));
            }
            let Some((_, bytes)) = self.hash_tiles.get(&level) else {
                continue;
            };
            let at = ((id.index % FULL_WIDTH) * 32) as usize;
            if bytes.get(at..at + 32) != Some(&hash[..]) {
                let width = width_of(self.size >> id.level, n);
                return Err(SourceError::Tile {
                    code: "tile_mismatch",
                    message: format!(
                        "hash {} of the hash tile {} is not the hash of the entries it covers",
                        id.index % FULL_WIDTH,
                        tile_path(Some(level), n, width)
                    ),
                });
            }
        }
        Ok(())
    }
}

impl BallotHistory for TilesSource {
    /// An earlier entry, fetched again, must hash to the leaf computed when it
    /// was first read.
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        refetched_ballot(&self.leaves, index, "the tile base", || {
            let n = index / FULL_WIDTH;
            let width = width_of(self.size, n);
            let bytes = match self
                .base
                .fetch(&tile_path(None, n, width))
                .map_err(|e| e.to_string())?
            {
                Fetch::Found(bundle) => split_bundle(&bundle, n * FULL_WIDTH, width)
                    .map_err(|e| e.to_string())?
                    .swap_remove((index % FULL_WIDTH) as usize),
                Fetch::Missing => self.base.entry(index).map_err(|e| e.to_string())?,
            };
            Ok(bytes)
        })
    }
}

impl Source for TilesSource {
    fn next_item(&mut self) -> Result<Option<Item>, SourceError> {
        if let Some(key) = self.board_key.take() {
            return Ok(Some(ExportRecord::BoardKey(key)));
        }
        if self.buffer.is_empty() && self.next < self.size {
            self.fill()?;
        }
        if let Some(e) = self.buffer.pop_front() {
            let leaf = leaf_hash(&e);
            self.append(leaf)?;
            self.next += 1;
            self.leaves.push(leaf);
            return Ok(Some(ExportRecord::Entry(e)));
        }
        Ok(self.note.take().map(ExportRecord::FinalCheckpoint))
    }

    fn history(&self) -> &dyn BallotHistory {
        self
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.next - self.from, Some(self.size - self.from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_split_exactly() {
        let bundle = [0, 2, 0x61, 0x62, 0, 1, 0x63];
        let entries = split_bundle(&bundle, 0, 2).ok();
        assert_eq!(entries, Some(vec![vec![0x61, 0x62], vec![0x63]]));
        assert!(split_bundle(&bundle, 0, 3).is_err());
        assert!(split_bundle(&bundle[..6], 0, 2).is_err());
        assert!(split_bundle(&bundle[..5], 0, 2).is_err());
    }
}
