//! `urne-verify`: checks an exported urne election, trusting nothing the
//! service says (`specs/protocol.md` §9).
//!
//! [`verify_export`] reads an export (§8.5) once, in constant memory apart
//! from the record's index of ballot keys and two hashes per entry, and
//! returns a [`Report`] of named checks. The `urne-verify` binary is a thin
//! command line around this library, which other tools (the service's demo,
//! auditors' tooling) call directly.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Without `native`, the monitor's parts of the engine and sources are unused.
#![cfg_attr(not(feature = "native"), allow(dead_code))]

use std::io::{Read, Seek};

#[cfg(feature = "native")]
pub mod attest;
mod engine;
#[cfg(feature = "native")]
pub mod monitor;
#[cfg(feature = "native")]
mod remote;
pub mod report;
mod source;
mod tiles;
mod tree;

#[cfg(feature = "native")]
pub use monitor::{
    verify_target, verify_target_since, verify_tiles_since, MonitorError, PreviousRun,
};
pub use report::{merge_shares, Check, CheckId, CheckStatus, Failure, Outcome, Report, ShareError};
pub use source::SourceError;

/// How to run a verification.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads for decoding and ballot verification (0: one per core).
    pub threads: usize,
    /// Entries per work unit (ballots in one batch verification).
    pub batch: usize,
    /// Draw a progress bar on standard error (when it is a terminal).
    pub progress: bool,
    /// Signed checkpoints held outside the export (a voter's receipt, a
    /// witness, anyone): each must be signed by the board key and agree with
    /// the export's tree at its size (§9, `checkpoints`).
    pub checkpoints: Vec<GivenCheckpoint>,
    /// Fail `checkpoints` unless a quorum of the manifest's witnesses
    /// cosigned the final checkpoint (§6.11, code `witness_quorum`).
    pub require_witnesses: bool,
    /// Verify only one share of the ballots' cryptography, so that separate
    /// workers (the browser's Web Workers) split it; [`merge_shares`] joins
    /// their reports into the one report of a whole run. `None`: all.
    pub ballot_share: Option<BallotShare>,
    /// Called every 256 entries with the bytes read and the source's length
    /// (where known), for a progress bar the library does not draw itself.
    pub on_progress: Option<fn(u64, Option<u64>)>,
}

/// The ballots one of `of` verification runs checks the cryptography of:
/// those whose board index is `index` modulo `of`. Every run applies every
/// entry to its record; only the ballot proofs are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BallotShare {
    /// This run's share, from 0.
    pub index: u32,
    /// How many shares the ballots are split into (at least 1).
    pub of: u32,
}

impl BallotShare {
    /// Whether the ballot at board `index` is this share's.
    pub fn covers(self, index: u64) -> bool {
        self.of <= 1 || index % u64::from(self.of) == u64::from(self.index)
    }
}

/// A signed checkpoint note from outside the export, with a label for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenCheckpoint {
    /// Where it came from (a file name), for the report.
    pub label: String,
    /// The signed note's bytes.
    pub note: Vec<u8>,
}

impl GivenCheckpoint {
    /// The checkpoint in `bytes` read from `label`: a signed note, or a JSON
    /// receipt whose `checkpoint` field holds one.
    pub fn from_file_bytes(label: impl Into<String>, bytes: &[u8]) -> Self {
        let note = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("checkpoint")?.as_str().map(|s| s.as_bytes().to_vec()))
            .unwrap_or_else(|| bytes.to_vec());
        GivenCheckpoint {
            label: label.into(),
            note,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: 0,
            batch: 64,
            progress: false,
            checkpoints: Vec::new(),
            require_witnesses: false,
            ballot_share: None,
            on_progress: None,
        }
    }
}

/// Verifies the export read from `reader` (positioned at its first byte).
///
/// Never panics on malformed input: every problem, including an unreadable
/// or truncated stream, is a failed check in the report.
pub fn verify_export<R: Read + Seek>(reader: R, options: &Options) -> Report {
    let engine = match engine::Engine::new(options, None) {
        Ok(e) => e,
        Err(e) => return Report::error("internal_error", &e),
    };
    match source::ExportSource::new(reader) {
        Ok(mut src) => engine.run(&mut src).0,
        Err(e) => Report::error("io", &format!("cannot read the export: {e}")),
    }
}

/// The files to fetch from a tile base (§6.10) to verify a board of `size`
/// entries with [`verify_tile_files`]: `board-key`, `checkpoint`, every
/// entry bundle and every hash tile. A bundle the base does not have (it
/// holds an entry too long for one) is replaced by the `entries/<index>`
/// files of its entries.
pub fn tile_files(size: u64) -> Vec<String> {
    let mut paths = vec!["board-key".to_string(), "checkpoint".to_string()];
    paths.extend(tiles::tile_files(size));
    paths
}

/// Verifies a board from the files of a tile base fetched beforehand (by
/// path, as [`tile_files`] names them), exactly as `urne-verify --tiles`
/// reads a base: the entries with the checkpoint as the final checkpoint,
/// every hash tile against the nodes the entries complete.
pub fn verify_tile_files(
    files: std::collections::HashMap<String, Vec<u8>>,
    options: &Options,
) -> Report {
    let base = tiles::TileBase::Files(files);
    let (key, note) = match (base.board_key(), base.checkpoint()) {
        (Ok(k), Ok(n)) => (k, n),
        (Err(e), _) | (_, Err(e)) => return Report::error("tile_missing", &e.to_string()),
    };
    let size = source::signed_size(&key, &note).unwrap_or(0);
    let engine = match engine::Engine::new(options, None) {
        Ok(e) => e,
        Err(e) => return Report::error("internal_error", &e),
    };
    match tiles::TilesSource::new(base, Some(key), (0, size), note, Vec::new()) {
        Ok(mut src) => engine.run(&mut src).0,
        Err(e) => Report::error("tile_missing", &e.to_string()),
    }
}
