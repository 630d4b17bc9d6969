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

use std::io::{Read, Seek};

pub mod attest;
mod engine;
pub mod monitor;
mod remote;
pub mod report;
mod source;
mod tiles;
mod tree;

pub use monitor::{
    verify_target, verify_target_since, verify_tiles_since, MonitorError, PreviousRun,
};
pub use report::{Check, CheckId, CheckStatus, Failure, Outcome, Report};
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
