//! Monitoring: verify a board, keep a small state, and on the next run verify
//! only what was appended since, with the same result as a full run.
//!
//! The state file (JSON, format `urne-verify-state/v1`) holds the verified
//! checkpoint (size, root and note), the board key, every entry's leaf hash,
//! the election record's snapshot (`Record::snapshot`) and the replay's check
//! counters. It is written only after a valid run, atomically (a temporary
//! file renamed over the old one).
//!
//! On the next run the new board must extend the stored one: an export is
//! read again from its start and each entry of the stored prefix must hash to
//! the stored leaf (only the entries after it are replayed); a service must
//! serve the same board key and a valid consistency proof from the stored
//! checkpoint to its new one, and only the new entries are fetched. In both
//! cases the new root is recomputed from the stored leaves and the new entries.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use urne_crypto::checkpoint::{open_signed_checkpoint, NoteVerifier};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::verify_consistency;
use urne_crypto::record::Record;

use crate::engine::{Engine, Parts, Resume};
use crate::remote::{is_url, Service, ServiceSource};
use crate::report::{CheckId, Checks, Report};
use crate::source::{signed_size, ExportSource, SourceError};
use crate::tiles::{TileBase, TilesSource};
use crate::tree::Tree;
use crate::Options;

/// Format tag of state files.
pub const STATE_FORMAT: &str = "urne-verify-state/v1";

/// Why a verification could not be run (as opposed to: it ran and failed).
#[derive(Debug, Error)]
pub enum MonitorError {
    /// The export cannot be opened.
    #[error("{path}: {source}")]
    Unreadable {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The state file cannot be read or is not a valid state.
    #[error("state file {path}: {message}")]
    State {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The export could be opened but reading it failed.
    #[error("reading the export failed: {0}")]
    Read(String),
    /// The service cannot be reached or answers unusably.
    #[error("service: {0}")]
    Remote(String),
    /// Internal failure (thread pool).
    #[error("{0}")]
    Internal(String),
}

#[derive(Serialize, Deserialize)]
struct StoredCheckpoint {
    size: u64,
    root: String,
    note: String,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: String,
    election: String,
    board_key: String,
    checkpoint: StoredCheckpoint,
    /// Leaf hashes of every entry, concatenated, hex.
    leaves: String,
    /// `Record::snapshot`, hex.
    record: String,
    checks: Checks,
    ballot_entries: u64,
}

impl StateFile {
    fn load(path: &Path) -> Result<Self, MonitorError> {
        let err = |message: String| MonitorError::State {
            path: path.display().to_string(),
            message,
        };
        let text = fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let state: StateFile = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        if state.format != STATE_FORMAT {
            return Err(err(format!("unknown format {:?}", state.format)));
        }
        Ok(state)
    }

    fn resume(&self, path: &Path, source_repeats_prefix: bool) -> Result<Resume, MonitorError> {
        let err = |message: String| MonitorError::State {
            path: path.display().to_string(),
            message,
        };
        let raw = hex::decode(&self.leaves).map_err(|e| err(format!("leaves: {e}")))?;
        if raw.len() % 32 != 0 || (raw.len() / 32) as u64 != self.checkpoint.size {
            return Err(err("leaves do not match the checkpoint size".into()));
        }
        let leaves: Vec<Digest32> = raw
            .chunks_exact(32)
            .map(|c| {
                let mut d = [0u8; 32];
                d.copy_from_slice(c);
                d
            })
            .collect();
        let tree = Tree::from_leaves(&leaves).map_err(|e| err(e.to_string()))?;
        if hex::encode(tree.root()) != self.checkpoint.root {
            return Err(err("leaves do not hash to the stored root".into()));
        }
        let snapshot = hex::decode(&self.record).map_err(|e| err(format!("record: {e}")))?;
        let record = Record::restore(&snapshot).map_err(|e| err(e.to_string()))?;
        if record.size() != self.checkpoint.size || hex::encode(record.election()) != self.election
        {
            return Err(err("record does not match the checkpoint".into()));
        }
        Ok(Resume {
            record,
            tree,
            board_key: self.board_key.clone(),
            checks: self.checks.clone(),
            ballot_entries: self.ballot_entries,
            source_repeats_prefix,
        })
    }

    fn from_parts(parts: &Parts) -> Option<Self> {
        let record = parts.record.as_ref()?;
        let checkpoint = parts.checkpoint.as_ref()?;
        let mut leaves = String::with_capacity(parts.tree.leaves().len() * 64);
        for l in parts.tree.leaves() {
            leaves.push_str(&hex::encode(l));
        }
        Some(StateFile {
            format: STATE_FORMAT.into(),
            election: hex::encode(record.election()),
            board_key: parts.board_key.clone()?,
            checkpoint: StoredCheckpoint {
                size: checkpoint.size,
                root: hex::encode(checkpoint.root),
                note: parts.note.clone()?,
            },
            leaves,
            record: hex::encode(record.snapshot()),
            checks: parts.checks.clone(),
            ballot_entries: parts.ballot_entries,
        })
    }

    fn save(&self, path: &Path) -> Result<(), MonitorError> {
        let err = |message: String| MonitorError::State {
            path: path.display().to_string(),
            message,
        };
        let mut tmp = PathBuf::from(path);
        tmp.set_extension("tmp");
        let text = serde_json::to_string(self).map_err(|e| err(e.to_string()))?;
        let mut f = File::create(&tmp).map_err(|e| err(e.to_string()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err(e.to_string()))?;
        fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }
}

/// What the state file held before a run: the board verified last time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousRun {
    /// Entries verified by the previous run.
    pub entries: u64,
    /// Ballot entries among them (revotes included).
    pub ballot_entries: u64,
}

/// Verifies `target` (an export file, or a service URL
/// `http://HOST/v1/elections/ID`), continuing from the state file `state` if
/// it exists and updating it after a valid run.
pub fn verify_target(
    target: &str,
    state: Option<&Path>,
    options: &Options,
) -> Result<Report, MonitorError> {
    verify_target_since(target, state, options).map(|(report, _)| report)
}

/// [`verify_target`], also telling what the state file held before the run
/// (`None` on a first run), so that a monitor can say what is new. A
/// directory is read as a tile base (see [`verify_tiles_since`]).
pub fn verify_target_since(
    target: &str,
    state: Option<&Path>,
    options: &Options,
) -> Result<(Report, Option<PreviousRun>), MonitorError> {
    let kind = if is_url(target) {
        Kind::Service
    } else if Path::new(target).is_dir() {
        Kind::Tiles
    } else {
        Kind::Export
    };
    verify_kind_since(target, kind, state, options)
}

/// Verifies the board at the tile base `target` (§6.10: a URL such as
/// `http://HOST/v1/elections/ID/` or a directory written by `urne export
/// --tiles`), with the state file `state` as [`verify_target_since`]; a
/// resumed run fetches only the tiles of the entries appended since.
pub fn verify_tiles_since(
    target: &str,
    state: Option<&Path>,
    options: &Options,
) -> Result<(Report, Option<PreviousRun>), MonitorError> {
    verify_kind_since(target, Kind::Tiles, state, options)
}

/// How a target is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Export,
    Service,
    Tiles,
}

fn verify_kind_since(
    target: &str,
    kind: Kind,
    state: Option<&Path>,
    options: &Options,
) -> Result<(Report, Option<PreviousRun>), MonitorError> {
    let stored = match state {
        Some(p) if p.exists() => Some((StateFile::load(p)?, p)),
        _ => None,
    };
    let previous = stored.as_ref().map(|(s, _)| PreviousRun {
        entries: s.checkpoint.size,
        ballot_entries: s.ballot_entries,
    });
    let resume = stored
        .as_ref()
        .map(|(s, p)| s.resume(p, kind == Kind::Export))
        .transpose()?;
    let prefix = resume
        .as_ref()
        .map(|r| r.tree.leaves().to_vec())
        .unwrap_or_default();
    let mut engine = Engine::new(options, resume).map_err(MonitorError::Internal)?;
    let (report, parts) = if kind == Kind::Tiles {
        let base = TileBase::new(target).map_err(remote_error)?;
        let key = base.board_key().map_err(tile_error)?;
        let note = base.checkpoint().map_err(tile_error)?;
        let (from, size) = range_to_read(
            &mut engine.checks,
            stored.as_ref().map(|(s, _)| s),
            None,
            &key,
            &note,
        )?;
        let key_record = stored.is_none().then_some(key);
        let mut source =
            TilesSource::new(base, key_record, (from, size), note, prefix).map_err(remote_error)?;
        engine.run(&mut source)
    } else if kind == Kind::Service {
        let service = Service::new(target).map_err(remote_error)?;
        let key = service.board_key().map_err(remote_error)?;
        let note = service.checkpoint().map_err(remote_error)?;
        let (from, size) = range_to_read(
            &mut engine.checks,
            stored.as_ref().map(|(s, _)| s),
            Some(&service),
            &key,
            &note,
        )?;
        let key_record = stored.is_none().then_some(key);
        let mut source = ServiceSource::new(service, key_record, (from, size), note, prefix);
        let (report, parts) = engine.run(&mut source);
        (report, parts)
    } else {
        let file = File::open(target).map_err(|source| MonitorError::Unreadable {
            path: target.to_string(),
            source,
        })?;
        let mut source = ExportSource::new(file).map_err(|source| MonitorError::Unreadable {
            path: target.to_string(),
            source,
        })?;
        engine.run(&mut source)
    };
    // Reading that failed is no verdict on the board.
    if let Some(f) = report.failures.iter().find(|f| f.code == "remote") {
        return Err(MonitorError::Remote(f.message.clone()));
    }
    if let Some(f) = report.failures.iter().find(|f| f.code == "io") {
        return Err(MonitorError::Read(f.message.clone()));
    }
    if let (Some(path), true) = (state, report.valid) {
        if let Some(s) = StateFile::from_parts(&parts) {
            s.save(path)?;
        }
    }
    Ok((report, previous))
}

fn remote_error(e: SourceError) -> MonitorError {
    MonitorError::Remote(e.to_string())
}

/// A tile base without its `board-key` or `checkpoint` cannot be read at all.
fn tile_error(e: SourceError) -> MonitorError {
    match e {
        SourceError::Tile { message, .. } => MonitorError::Read(message),
        e => remote_error(e),
    }
}

/// A service resumed from a stored checkpoint must serve the same board key
/// and prove that its new checkpoint extends the stored one. A tile base
/// (`service` `None`) proves it by the root recomputed from the stored
/// leaves and the new entries, which must be the signed checkpoint's.
/// The entries a run reads, `from..size`: from the size the stored state
/// verified (after checking the new checkpoint `note` against that state) to
/// the size `note` gives under the trusted key (the stored one, else `key`).
fn range_to_read(
    checks: &mut Checks,
    stored: Option<&StateFile>,
    service: Option<&Service>,
    key: &str,
    note: &str,
) -> Result<(u64, u64), MonitorError> {
    let from = match stored {
        Some(s) => {
            check_service_consistency(checks, s, service, key, note)?;
            s.checkpoint.size
        }
        None => 0,
    };
    let trusted = stored.map_or(key, |s| s.board_key.as_str());
    let size = signed_size(trusted, note).map_or(from, |size| size.max(from));
    Ok((from, size))
}

fn check_service_consistency(
    checks: &mut Checks,
    stored: &StateFile,
    service: Option<&Service>,
    key: &str,
    note: &str,
) -> Result<(), MonitorError> {
    if key != stored.board_key {
        checks.fail(
            CheckId::Consistency,
            None,
            "board_key_changed",
            "the service's board key is not the one verified before",
        );
        return Ok(());
    }
    let Ok(cp) = NoteVerifier::from_vkey_string(key)
        .map_err(|e| e.to_string())
        .and_then(|v| open_signed_checkpoint(note.as_bytes(), &v).map_err(|e| e.to_string()))
    else {
        // The final-checkpoint check reports the bad note.
        return Ok(());
    };
    let old_size = stored.checkpoint.size;
    if cp.size < old_size {
        checks.fail(
            CheckId::Consistency,
            None,
            "board_shrank",
            format!(
                "the service's checkpoint has size {}, smaller than the {old_size} verified before",
                cp.size
            ),
        );
        return Ok(());
    }
    let mut old_root = [0u8; 32];
    hex::decode_to_slice(&stored.checkpoint.root, &mut old_root).map_err(|e| {
        MonitorError::State {
            path: "state".into(),
            message: e.to_string(),
        }
    })?;
    let Some(service) = service else {
        return Ok(());
    };
    let proof = service
        .consistency(old_size, cp.size)
        .map_err(remote_error)?;
    if let Err(e) = verify_consistency(old_size, cp.size, &old_root, &cp.root, &proof) {
        checks.fail(
            CheckId::Consistency,
            None,
            "inconsistent",
            format!(
                "no valid consistency proof from the verified size {old_size} to {}: {e}",
                cp.size
            ),
        );
    }
    Ok(())
}
