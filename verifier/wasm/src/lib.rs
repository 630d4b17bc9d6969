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

use std::fmt::Write;
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
    let options = options(share, of, checkpoints, report_progress)?;
    Ok(urne_verify::verify_export(Cursor::new(bytes), &options).to_json())
}

/// The files to fetch from a tile base to verify a board of `size`
/// entries (urne-verify's `tile_files`), as a JSON array of paths.
#[wasm_bindgen]
pub fn tile_files(size: u64) -> String {
    serde_json::to_string(&urne_verify::tile_files(size)).unwrap_or_else(|_| "[]".into())
}

/// Verifies a board from the files of a tile base fetched beforehand:
/// `paths` is a JSON array of their paths, and file `i` is
/// `blob[ends[i-1]..ends[i]]` (from 0 for the first). A bundle the base
/// lacks is left out and its entries are given as `entries/<index>`. The
/// other arguments and the report are [`verify_export`]'s.
#[wasm_bindgen]
pub fn verify_tiles(
    paths: &str,
    blob: &[u8],
    ends: &[u32],
    share: u32,
    of: u32,
    checkpoints: &str,
    report_progress: bool,
) -> Result<String, JsValue> {
    let paths: Vec<String> = serde_json::from_str(paths).map_err(|e| error("bad_files", e))?;
    if paths.len() != ends.len() {
        return Err(error("bad_files", "one end per path"));
    }
    let mut files = std::collections::HashMap::with_capacity(paths.len());
    let mut start = 0usize;
    for (path, &end) in paths.into_iter().zip(ends) {
        let end = end as usize;
        let bytes = blob
            .get(start..end)
            .ok_or_else(|| error("bad_files", "the ends do not fit the blob"))?;
        files.insert(path, bytes.to_vec());
        start = end;
    }
    let options = options(share, of, checkpoints, report_progress)?;
    Ok(urne_verify::verify_tile_files(files, &options).to_json())
}

/// The verifier's options for one worker's run.
fn options(
    share: u32,
    of: u32,
    checkpoints: &str,
    report_progress: bool,
) -> Result<Options, JsValue> {
    let notes: Vec<String> =
        serde_json::from_str(checkpoints).map_err(|e| error("bad_checkpoints", e))?;
    Ok(Options {
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
    })
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

/// Checks a receipt file (the voter page's receipt, JSON) on its own with
/// urne-client's check: its checkpoint is signed by the board key
/// `board_vkey` (a note verifier key) and has the receipt's size and root,
/// and its inclusion proof puts its leaf at its index under that root.
/// Whether the board still extends that checkpoint is the verification's
/// `checkpoints` check.
#[wasm_bindgen]
pub fn check_receipt(receipt: &str, board_vkey: &str) -> Result<String, JsValue> {
    use urne_client::receipt::Receipt;
    use urne_crypto::checkpoint::NoteVerifier;
    let r: Receipt = serde_json::from_str(receipt).map_err(|e| error("bad_receipt", e))?;
    let verifier =
        NoteVerifier::from_vkey_string(board_vkey.trim()).map_err(|e| error("bad_board_key", e))?;
    r.verify(&verifier)
        .map_err(|e| error("receipt_invalid", e))?;
    let out = ReceiptProof {
        index: r.index,
        size: r.size,
        root: r.root,
        leaf: r.leaf,
        checkpoint: r.checkpoint,
    };
    serde_json::to_string(&out).map_err(|e| error("internal_error", e))
}

/// Checks a ballot check file (the voter page's cast-as-intended audit,
/// JSON) against a verified board: `manifest_entry` is the board's entry 0,
/// which must be the manifest of `election` (the verified report's id), and
/// `election_key` the report's verified key (hex). JSON `{constituency,
/// approved, candidates}` when the ballot encrypts exactly the choices the
/// file shows, with valid proofs (urne-client's check).
#[wasm_bindgen]
pub fn check_ballot_audit(
    audit: &str,
    manifest_entry: &[u8],
    election: &str,
    election_key: &str,
) -> Result<String, JsValue> {
    use urne_client::audit::BallotAudit;
    use urne_crypto::encoding::Canonical;
    use urne_crypto::entry::Entry;
    use urne_crypto::group::decode_nonidentity_point;
    use urne_crypto::manifest::Manifest;
    let opened: BallotAudit =
        serde_json::from_str(audit).map_err(|e| error("audit_malformed", e))?;
    let manifest: Manifest = Entry::from_bytes(manifest_entry)
        .ok()
        .and_then(|e| e.body().ok())
        .ok_or_else(|| error("bad_manifest", "entry 0 is not a manifest"))?;
    if hex::encode(manifest.election_id()) != election {
        return Err(error(
            "bad_manifest",
            "entry 0 is not the manifest of the verified election",
        ));
    }
    let pk = hex::decode(election_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| decode_nonidentity_point(&b).ok())
        .ok_or_else(|| error("bad_election_key", "not an election key"))?;
    let shown = opened
        .verify_on_board(&manifest, &pk)
        .map_err(|e| error(e.code(), e))?;
    serde_json::to_string(&shown).map_err(|e| error("internal_error", e))
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

/// A text that takes at most `left` more characters, then refuses the rest.
struct Bounded {
    text: String,
    left: usize,
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.left == 0 {
                return Err(std::fmt::Error);
            }
            self.text.push(c);
            self.left -= 1;
        }
        Ok(())
    }
}

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
            // Only the shown characters are formatted (a roster entry's
            // notation runs to megabytes).
            let mut text = Bounded {
                text: String::new(),
                left: CONTENT_CHARS,
            };
            if write!(text, "{}", minicbor::display(&entry.body)).is_err() {
                text.text.push_str(" …");
            }
            Some(text.text)
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

#[cfg(test)]
mod tests {
    use super::*;
    use urne_crypto::encoding::Canonical;
    use urne_crypto::entry::{Entry, EntryKind};

    fn entry(kind: EntryKind, body: Vec<u8>) -> Vec<u8> {
        Entry {
            kind: kind as u8,
            election: [3; 32],
            body,
            signer: vec![],
            signature: vec![],
        }
        .to_bytes()
    }

    #[test]
    fn the_explorer_shows_a_long_body_cut_and_a_ballot_not_at_all() {
        let long: Vec<u32> = (0..5000).collect();
        let bytes = entry(EntryKind::Roster, minicbor::to_vec(&long).unwrap());
        let view: serde_json::Value =
            serde_json::from_str(&describe_entry(4, &bytes).unwrap()).unwrap();
        let content = view["content"].as_str().unwrap();
        assert_eq!(content.chars().count(), CONTENT_CHARS + 2);
        assert!(content.starts_with("[0, 1, 2") && content.ends_with(" …"));
        assert_eq!(view["kind"], "roster");
        assert_eq!(view["index"], 4);

        let short = entry(EntryKind::Roster, minicbor::to_vec([1u32, 2]).unwrap());
        let view: serde_json::Value =
            serde_json::from_str(&describe_entry(5, &short).unwrap()).unwrap();
        assert_eq!(view["content"], "[1, 2]");

        let ballot = entry(EntryKind::Ballot, vec![0x80]);
        let view: serde_json::Value =
            serde_json::from_str(&describe_entry(6, &ballot).unwrap()).unwrap();
        assert!(view["content"].is_null());
        assert_eq!(
            view["leaf_hash"],
            hex::encode(urne_crypto::merkle::leaf_hash(&ballot))
        );
    }

    /// A ballot check file made for the verified board checks; the same
    /// file read against another election key, or claiming other choices,
    /// is refused.
    #[test]
    fn an_audited_ballot_checks_against_the_verified_board() {
        use curve25519_dalek::ristretto::RistrettoPoint;
        use rand_chacha::rand_core::SeedableRng;
        use urne_client::audit::{AuditError, BallotAudit};
        use urne_crypto::group::decode_nonidentity_point;
        use urne_crypto::schnorr::BallotSecretKey;
        use urne_e2e::fixture::{build, Params};

        let f = build(&Params::micro(41));
        let report: Report =
            serde_json::from_str(&verify_export(&f.export(), 0, 1, "[]", false).unwrap()).unwrap();
        assert!(report.valid, "{:#?}", report.failures);
        let pk_hex = report.election_key.clone().expect("verified election key");
        let pk_bytes: [u8; 32] = hex::decode(&pk_hex).unwrap().try_into().unwrap();
        let pk = decode_nonidentity_point(&pk_bytes).unwrap();
        let c = &f.manifest.constituencies[0];
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([41; 32]);
        let key = BallotSecretKey::generate(&mut rng).public_key();
        let choices = [false, true];
        let audit = BallotAudit::challenge(f.election, c, &pk, key, &choices, &mut rng).unwrap();
        let text = serde_json::to_string(&audit).unwrap();
        let manifest_entry = f.entries[0].to_bytes();
        let election = report.election.as_deref().unwrap();
        let shown: serde_json::Value = serde_json::from_str(
            &check_ballot_audit(&text, &manifest_entry, election, &pk_hex).unwrap(),
        )
        .unwrap();
        assert_eq!(shown["approved"], serde_json::json!([c.candidates[1].id]));
        assert_eq!(shown["constituency"], c.id.as_str());

        let other = pk + RistrettoPoint::mul_base(&1u64.into());
        assert!(matches!(
            audit.verify_on_board(&f.manifest, &other),
            Err(AuditError::OtherElection(_))
        ));
        let mut lying = audit.clone();
        lying.approved = vec![c.candidates[0].id.clone()];
        assert!(matches!(
            lying.verify_on_board(&f.manifest, &pk),
            Err(AuditError::Mismatch { .. })
        ));
        let mut elsewhere = audit;
        elsewhere.constituency = "south".into();
        assert!(matches!(
            elsewhere.verify_on_board(&f.manifest, &pk),
            Err(AuditError::OtherElection(_))
        ));
    }
}
