//! The service's side of witnessing: submits each election's newest
//! checkpoint to the manifest's witnesses and keeps their cosignatures
//! (`specs/protocol.md` §6.11).
//!
//! One task per (election, witness), at most one submission a second, with
//! exponential back-off while the witness fails. Tasks hold the board weakly
//! and never sit on the sequencer's path: a ballot never waits for a witness.
//! Cosignatures are stored durably (through the sequencer, as rows of
//! [`COSIGNATURES`] keyed by tree size) once verified.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use urne_crypto::manifest::Witness;
use urne_crypto::witness::{add_signature_lines, parse_size_body, AddCheckpoint};

use crate::board::{Board, BoardError};
use crate::election::registry::Elections;
use crate::election::ElectionId;
use crate::sequencer::{RowWrite, UpdateRequest};
use crate::store::Table;

/// Rows: tree size (u64 BE) → the cosignature lines received for that checkpoint.
pub const COSIGNATURES: Table = Table::new("cosignatures");

/// Shortest interval between two submissions to one witness.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest back-off after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Time allowed for one witness answer.
const TIMEOUT: Duration = Duration::from_secs(5);

impl Board {
    /// `note` (the checkpoint of `size`) with the cosignatures stored for it.
    pub fn with_cosignatures(
        &self,
        log: &ElectionId,
        size: u64,
        note: &str,
    ) -> Result<String, BoardError> {
        let Some(lines) = self.row(log, COSIGNATURES, &size.to_be_bytes())? else {
            return Ok(note.to_owned());
        };
        let lines = String::from_utf8_lossy(&lines);
        add_signature_lines(note, &lines).map_err(|e| {
            crate::store::StoreError::Corrupt(format!("cosignatures of size {size}: {e}")).into()
        })
    }
}

/// Starts watching `elections`: every election with witnesses gets its
/// submission tasks. Returns at once; the tasks end with the board.
pub fn spawn(board: Weak<Board>, elections: Arc<Elections>) {
    tokio::spawn(async move {
        let mut started: HashSet<(ElectionId, String)> = HashSet::new();
        let http = match http_client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for witnesses");
                return;
            }
        };
        loop {
            if board.strong_count() == 0 {
                return;
            }
            for id in elections.ids() {
                let Some(election) = elections.get(&id) else {
                    continue;
                };
                let new: Vec<Witness> = election
                    .manifest()
                    .witnesses
                    .iter()
                    .filter(|w| started.insert((id, w.name.clone())))
                    .cloned()
                    .collect();
                if !new.is_empty() {
                    spawn_for(board.clone(), id, new, http.clone());
                }
            }
            tokio::time::sleep(MIN_INTERVAL).await;
        }
    });
}

/// Starts the submission tasks of one log to `witnesses` (all of the
/// log's witnesses: they share one lock on its cosignature rows).
pub fn spawn_for(
    board: Weak<Board>,
    log: ElectionId,
    witnesses: Vec<Witness>,
    http: reqwest::Client,
) {
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    for w in witnesses {
        tokio::spawn(submit_loop(
            board.clone(),
            log,
            w,
            http.clone(),
            lock.clone(),
        ));
    }
}

/// The HTTP client of submissions (each answer within a few seconds).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder().timeout(TIMEOUT).build()
}

/// What one submission achieved.
enum Outcome {
    /// Cosigned at this size.
    Cosigned(u64),
    /// The witness's size is this one: resubmit from it.
    From(u64),
}

async fn submit_loop(
    board: Weak<Board>,
    log: ElectionId,
    witness: Witness,
    http: reqwest::Client,
    lock: Arc<tokio::sync::Mutex<()>>,
) {
    let Ok(verifier) = witness.verifier() else {
        return; // the manifest was validated: unreachable
    };
    let url = format!("{}/add-checkpoint", witness.url);
    let mut old = 0u64;
    let mut cosigned: Option<u64> = None;
    let mut backoff = MIN_INTERVAL;
    loop {
        let Some(b) = board.upgrade() else { return };
        if !b.is_writable() {
            return;
        }
        let Ok(head) = b.head(&log) else { return };
        if cosigned == Some(head.size) {
            drop(b);
            tokio::time::sleep(MIN_INTERVAL).await;
            continue;
        }
        let result = submit(&b, &log, &head, old, &http, &url, &verifier, &lock).await;
        drop(b);
        match result {
            Ok(Outcome::Cosigned(size)) => {
                old = size;
                cosigned = Some(size);
                backoff = MIN_INTERVAL;
            }
            Ok(Outcome::From(size)) => {
                old = size;
                backoff = MIN_INTERVAL;
            }
            Err(e) => {
                tracing::warn!(witness = %witness.name, error = %e, retry_in = ?backoff, "witness");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        }
        tokio::time::sleep(MIN_INTERVAL).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn submit(
    board: &Board,
    log: &ElectionId,
    head: &crate::sequencer::Head,
    old: u64,
    http: &reqwest::Client,
    url: &str,
    verifier: &urne_crypto::witness::WitnessVerifier,
    lock: &tokio::sync::Mutex<()>,
) -> Result<Outcome, String> {
    if old > head.size {
        return Err(format!(
            "the witness has size {old}, beyond the board's {}",
            head.size
        ));
    }
    let proof = if old == 0 {
        Vec::new()
    } else {
        board
            .consistency_proof(log, old, head.size)
            .map_err(|e| e.to_string())?
    };
    let request = AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: head.checkpoint.to_string(),
    };
    let answer = http
        .post(url)
        .body(request.to_body())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status().as_u16();
    let body = answer.bytes().await.map_err(|e| e.to_string())?;
    match status {
        200 => {}
        409 => {
            return match parse_size_body(&body) {
                Some(size) if size != old => Ok(Outcome::From(size)),
                _ => Err(format!(
                    "the witness refused size {} (409: {})",
                    head.size,
                    String::from_utf8_lossy(&body).trim()
                )),
            }
        }
        s => {
            return Err(format!(
                "status {s}: {}",
                String::from_utf8_lossy(&body).trim()
            ))
        }
    }
    let lines = std::str::from_utf8(&body).map_err(|_| "answer is not UTF-8".to_string())?;
    let note = add_signature_lines(&head.checkpoint, lines).map_err(|e| e.to_string())?;
    match verifier.cosignature(note.as_bytes()) {
        Ok(Some(_)) => {}
        Ok(None) => return Err("the answer holds no cosignature by this witness".into()),
        Err(e) => return Err(e.to_string()),
    }
    // Keep only this witness's line(s), added to those already stored.
    let _guard = lock.lock().await;
    let key = head.size.to_be_bytes().to_vec();
    let stored = board
        .row(log, COSIGNATURES, &key)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let stored = String::from_utf8_lossy(&stored).into_owned();
    let mut merged = stored.clone();
    let prefix = format!("\u{2014} {} ", verifier.name());
    if !stored.lines().any(|l| l.starts_with(&prefix)) {
        // One line per witness and size: a verifier refuses duplicates.
        if let Some(line) = lines.lines().find(|l| l.starts_with(&prefix)) {
            merged.push_str(line);
            merged.push('\n');
        }
    }
    if merged != stored {
        board
            .update(UpdateRequest {
                log: *log,
                rows: vec![RowWrite::upsert(COSIGNATURES, key, merged.into_bytes())],
                check: None,
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Outcome::Cosigned(head.size))
}
