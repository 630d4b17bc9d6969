//! `urne-verify` in the browser: a thin wasm-bindgen layer over the
//! verifier's library (built without threads, the progress bar or the
//! network). The page splits the ballots' cryptography into shares, one per
//! Web Worker, each worker verifies the export under its share, and
//! [`merge_reports`] joins the reports into the one report the command line
//! gives: the same named checks, verdict and failure messages.
//!
//! Every error leaves as a JSON text `{"code": …, "message": …}`.
//!
//! Not here: fetching, workers, wording (all in the TypeScript pages).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Cursor;

use serde::Serialize;
use urne_verify::{merge_shares, BallotShare, GivenCheckpoint, Options, Report};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The worker's `urneProgress(done, total)`, told how far the reading is.
    #[wasm_bindgen(js_namespace = globalThis, js_name = urneProgress)]
    fn progress_to_page(done: f64, total: f64);
}

fn progress(done: u64, total: Option<u64>) {
    progress_to_page(done as f64, total.map_or(-1.0, |t| t as f64));
}

/// An error as the page receives it.
#[derive(Debug, Serialize)]
struct WebError {
    code: &'static str,
    message: String,
}

fn error(code: &'static str, message: impl std::fmt::Display) -> JsValue {
    let e = WebError {
        code,
        message: message.to_string(),
    };
    JsValue::from_str(&serde_json::to_string(&e).unwrap_or_else(|_| code.to_string()))
}

/// Verifies the export `bytes`, checking the ballot cryptography of share
/// `share` of `of` (`of` ≤ 1: all of it); the report as JSON. `checkpoints`
/// is a JSON array of signed checkpoint notes from outside the export (a
/// voter's receipt), each checked against the export's tree. With
/// `report_progress`, calls `globalThis.urneProgress(bytes read, length)`.
#[wasm_bindgen]
pub fn verify_export(
    bytes: &[u8],
    share: u32,
    of: u32,
    checkpoints: &str,
    report_progress: bool,
) -> Result<String, JsValue> {
    let notes: Vec<String> =
        serde_json::from_str(checkpoints).map_err(|e| error("bad_checkpoints", e))?;
    let options = Options {
        threads: 1,
        checkpoints: notes
            .into_iter()
            .enumerate()
            .map(|(i, n)| GivenCheckpoint {
                label: format!("receipt {}", i + 1),
                note: n.into_bytes(),
            })
            .collect(),
        ballot_share: (of > 1).then_some(BallotShare { index: share, of }),
        on_progress: report_progress.then_some(progress as fn(u64, Option<u64>)),
        ..Options::default()
    };
    Ok(urne_verify::verify_export(Cursor::new(bytes), &options).to_json())
}

/// A voter's receipt as the voter page downloads it.
#[derive(Debug, serde::Deserialize)]
struct ReceiptFile {
    index: u64,
    size: u64,
    leaf: String,
    checkpoint: String,
    inclusion: Vec<String>,
}

/// What a receipt proves on its own.
#[derive(Debug, Serialize)]
struct ReceiptProof {
    index: u64,
    size: u64,
    root: String,
    leaf: String,
    /// The receipt's signed checkpoint, to check against the whole board.
    checkpoint: String,
}

/// Checks a receipt file (JSON) on its own: its checkpoint is signed by the
/// board key `board_vkey` (a note verifier key) and its inclusion proof puts
/// its leaf at its index under the checkpoint's root. Whether the board
/// still extends that checkpoint is the verification's `checkpoints` check.
#[wasm_bindgen]
pub fn check_receipt(receipt: &str, board_vkey: &str) -> Result<String, JsValue> {
    use urne_crypto::checkpoint::{open_signed_checkpoint, NoteVerifier};
    use urne_crypto::merkle::{decode_hash_hex, encode_hash_hex, verify_inclusion};
    let r: ReceiptFile = serde_json::from_str(receipt).map_err(|e| error("bad_receipt", e))?;
    let verifier =
        NoteVerifier::from_vkey_string(board_vkey.trim()).map_err(|e| error("bad_board_key", e))?;
    let cp = open_signed_checkpoint(r.checkpoint.as_bytes(), &verifier)
        .map_err(|e| error("receipt_signature", e))?;
    if cp.size != r.size {
        return Err(error(
            "receipt_size",
            format!(
                "the receipt says size {} but its checkpoint has size {}",
                r.size, cp.size
            ),
        ));
    }
    let leaf = decode_hash_hex(&r.leaf).map_err(|e| error("bad_receipt", e))?;
    let proof = r
        .inclusion
        .iter()
        .map(|h| decode_hash_hex(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error("bad_receipt", e))?;
    verify_inclusion(r.index, r.size, &leaf, &proof, &cp.root)
        .map_err(|e| error("receipt_inclusion", e))?;
    let out = ReceiptProof {
        index: r.index,
        size: r.size,
        root: encode_hash_hex(&cp.root),
        leaf: encode_hash_hex(&leaf),
        checkpoint: r.checkpoint,
    };
    serde_json::to_string(&out).map_err(|e| error("internal_error", e))
}

/// Joins the share reports in `reports` (a JSON array) into the whole
/// run's report, as JSON.
#[wasm_bindgen]
pub fn merge_reports(reports: &str) -> Result<String, JsValue> {
    let list: Vec<Report> = serde_json::from_str(reports).map_err(|e| error("bad_report", e))?;
    let whole = merge_shares(list).map_err(|e| error("bad_shares", e))?;
    Ok(whole.to_json())
}

/// The report as `urne-verify` prints it for people.
#[wasm_bindgen]
pub fn report_text(report: &str) -> Result<String, JsValue> {
    let r: Report = serde_json::from_str(report).map_err(|e| error("bad_report", e))?;
    Ok(r.to_text())
}

/// One board entry as the board explorer shows it.
#[derive(Debug, Serialize)]
struct EntryView {
    index: u64,
    /// Kind name, or `unknown`.
    kind: String,
    /// Bytes of the whole entry.
    size: usize,
    /// Its leaf hash (§6.1), lowercase hex: the entry's fingerprint.
    leaf_hash: String,
    /// Signer's key, lowercase hex (empty for ballots).
    signer: String,
    /// The body in CBOR diagnostic notation (at most 4,000 characters);
    /// `None` for ballots, shown by fingerprint only.
    content: Option<String>,
}

/// Longest body text the explorer shows.
const CONTENT_CHARS: usize = 4000;

/// Decodes board entry `index` from its canonical bytes for the explorer,
/// as JSON. Ballots are shown by their fingerprint, never their content.
#[wasm_bindgen]
pub fn describe_entry(index: u64, bytes: &[u8]) -> Result<String, JsValue> {
    use urne_crypto::encoding::Canonical;
    use urne_crypto::entry::{Entry, EntryKind};
    let entry = Entry::from_bytes(bytes).map_err(|e| error("malformed_entry", e))?;
    let kind = entry.kind().ok();
    let content = match kind {
        Some(EntryKind::Ballot) => None,
        _ => {
            let mut text = minicbor::display(&entry.body).to_string();
            if text.chars().count() > CONTENT_CHARS {
                text = text.chars().take(CONTENT_CHARS).collect::<String>() + " …";
            }
            Some(text)
        }
    };
    let view = EntryView {
        index,
        kind: kind.map_or("unknown", |k| k.name()).to_string(),
        size: bytes.len(),
        leaf_hash: hex::encode(urne_crypto::merkle::leaf_hash(bytes)),
        signer: hex::encode(&entry.signer),
        content,
    };
    serde_json::to_string(&view).map_err(|e| error("internal_error", e))
}
