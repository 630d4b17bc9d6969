//! Witnesses: C2SP `tlog-cosignature` (cosignature/v1, Ed25519) and the C2SP
//! `tlog-witness` `add-checkpoint` exchange, as pure formats and rules.
//!
//! A witness cosigns a board checkpoint once it has checked that it is
//! consistent with the last checkpoint of the same log it cosigned. A
//! cosignature is a signed-note signature line on the checkpoint:
//!
//! ```text
//! — <witness name> base64(key id ‖ u64be timestamp ‖ Ed25519 signature)
//! key id  = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[..4]
//! message = "cosignature/v1\ntime <timestamp>\n" ‖ checkpoint body
//! ```
//!
//! The `add-checkpoint` request body is `old <size>\n`, up to 63 consistency
//! proof lines (base64 hashes), an empty line and the signed checkpoint; the
//! answer is the witness's cosignature line(s). [`decide`] is the witness's
//! whole rule, from its stored `(size, root)` to a cosignature or a refusal
//! with the status code the specification gives (`specs/protocol.md` §6.11).
//!
//! Not here: the witness's durable state and HTTP service (urne-server's
//! `witness` module), the manifest's witness list ([`crate::manifest`]), the
//! verifier's quorum rule (urne-verify).

use core::fmt;

use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::checkpoint::{
    check_note_text, decode_base64, is_valid_name, parse_signature_line, split_key_string,
    split_note, Checkpoint, CheckpointError, NamedKey, NoteVerifier, MAX_SIGNATURES,
    SIGNATURE_PREFIX,
};
use crate::hash::Digest32;
use crate::merkle;

/// Signature type of a cosignature/v1 (Ed25519) key, in key ids and vkeys.
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;
/// Most consistency proof lines in an `add-checkpoint` request.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest cosignature timestamp (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Header line of the cosigned message.
const HEADER: &str = "cosignature/v1\n";
/// Bytes of a cosignature blob: key id, timestamp, signature.
const BLOB_LEN: usize = 4 + 8 + 64;

/// Errors of witness keys, cosignatures and `add-checkpoint` bodies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WitnessError {
    /// A note or key rule shared with checkpoints is broken.
    #[error(transparent)]
    Note(#[from] CheckpointError),
    /// A key string is not a cosignature/v1 key (`0x04`).
    #[error("not a cosignature/v1 key")]
    NotCosignatureKey,
    /// A cosignature by this witness does not verify.
    #[error("invalid cosignature by {0}")]
    InvalidCosignature(String),
    /// This witness cosigned the note more than once.
    #[error("duplicate cosignature by {0}")]
    DuplicateCosignature(String),
    /// A timestamp above 2^63 − 1.
    #[error("cosignature timestamp above 2^63 - 1")]
    Timestamp,
    /// An `add-checkpoint` body or answer that does not follow the format.
    #[error("malformed add-checkpoint message: {0}")]
    Malformed(&'static str),
}

/// Key id of a cosignature/v1 key: `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[..4]`.
pub fn cosigner_key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let d: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', COSIGNATURE_V1_TYPE])
        .chain_update(public_key)
        .finalize()
        .into();
    [d[0], d[1], d[2], d[3]]
}

/// The message a cosignature signs: `"cosignature/v1\ntime <t>\n" ‖ body`.
pub fn cosigned_message(timestamp: u64, body: &str) -> String {
    format!("{HEADER}time {timestamp}\n{body}")
}

/// A witness's cosigning key: Ed25519 under the witness's name.
pub struct WitnessKey(NamedKey);

impl fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_debug(f, "WitnessKey")
    }
}

impl WitnessKey {
    /// A fresh key named `name`.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, WitnessError> {
        Ok(Self(NamedKey::generate(name, rng, cosigner_key_id)?))
    }

    /// The key named `name` with the RFC 8032 secret `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, WitnessError> {
        Ok(Self(NamedKey::from_seed(name, seed, cosigner_key_id)?))
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> WitnessVerifier {
        WitnessVerifier {
            name: self.0.name.clone(),
            id: self.0.id,
            key: self.0.key.verifying_key(),
        }
    }

    /// Storage encoding: `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x04 ‖ seed)>`.
    pub fn encode(&self) -> Zeroizing<String> {
        self.0.encode(COSIGNATURE_V1_TYPE)
    }

    /// Parses [`WitnessKey::encode`]'s output, checking the key id.
    pub fn decode(s: &str) -> Result<Self, WitnessError> {
        match NamedKey::decode(s, COSIGNATURE_V1_TYPE, cosigner_key_id) {
            Ok(key) => Ok(Self(key)),
            Err(CheckpointError::UnsupportedKeyType) => Err(WitnessError::NotCosignatureKey),
            Err(e) => Err(e.into()),
        }
    }

    /// The cosignature line (with its final newline) on a checkpoint body at `timestamp`.
    pub fn cosign(&self, body: &str, timestamp: u64) -> Result<String, WitnessError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(WitnessError::Timestamp);
        }
        Checkpoint::parse_body(body)?;
        let sig: Signature = self
            .0
            .key
            .sign(cosigned_message(timestamp, body).as_bytes());
        let mut blob = [0u8; BLOB_LEN];
        blob[..4].copy_from_slice(&self.0.id);
        blob[4..12].copy_from_slice(&timestamp.to_be_bytes());
        blob[12..].copy_from_slice(&sig.to_bytes());
        Ok(format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.0.name,
            Base64::encode_string(&blob)
        ))
    }
}

/// A witness as a verifier knows it: name and cosignature/v1 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl WitnessVerifier {
    /// The witness `name` with Ed25519 public key `public_key` (canonical, not of small order).
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, WitnessError> {
        if !is_valid_name(name) {
            return Err(CheckpointError::InvalidName.into());
        }
        if !crate::entry::is_valid_signing_key(public_key) {
            return Err(CheckpointError::InvalidPublicKey.into());
        }
        let key =
            VerifyingKey::from_bytes(public_key).map_err(|_| CheckpointError::InvalidPublicKey)?;
        Ok(Self {
            name: name.to_owned(),
            id: cosigner_key_id(name, public_key),
            key,
        })
    }

    /// Parses a vkey `<name>+<hex8 key id>+<base64(0x04 ‖ public key)>`, checking the key id.
    pub fn from_vkey_string(s: &str) -> Result<Self, WitnessError> {
        let (name, id, b64) = split_key_string(s)?;
        let raw = decode_base64(b64)?;
        let Some((&kind, public)) = raw.split_first() else {
            return Err(CheckpointError::MalformedKey.into());
        };
        if kind != COSIGNATURE_V1_TYPE {
            return Err(WitnessError::NotCosignatureKey);
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| CheckpointError::MalformedKey)?;
        let verifier = Self::new(name, &public)?;
        if verifier.id != id {
            return Err(CheckpointError::KeyIdMismatch.into());
        }
        Ok(verifier)
    }

    /// The vkey string.
    pub fn to_vkey_string(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = COSIGNATURE_V1_TYPE;
        raw[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            Base64::encode_string(&raw)
        )
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// This witness's cosignature on a signed note, if any: its timestamp.
    /// A line with this witness's name and key id that does not verify, or
    /// a second such line, is an error; other lines are ignored (signed-note).
    pub fn cosignature(&self, note: &[u8]) -> Result<Option<u64>, WitnessError> {
        let (text, lines) = split_note(note)?;
        let mut found = None;
        for line in lines {
            let (name, id, blob) = parse_signature_line(line)?;
            if name != self.name || id != self.id {
                continue;
            }
            if found.is_some() {
                return Err(WitnessError::DuplicateCosignature(self.name.clone()));
            }
            let bad = || WitnessError::InvalidCosignature(self.name.clone());
            // `blob` is the key id's remainder: timestamp ‖ signature.
            if blob.len() != BLOB_LEN - 4 {
                return Err(bad());
            }
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&blob[..8]);
            let timestamp = u64::from_be_bytes(ts);
            if timestamp > MAX_TIMESTAMP {
                return Err(bad());
            }
            let mut sig = [0u8; 64];
            sig.copy_from_slice(&blob[8..]);
            self.key
                .verify_strict(
                    cosigned_message(timestamp, text).as_bytes(),
                    &Signature::from_bytes(&sig),
                )
                .map_err(|_| bad())?;
            found = Some(timestamp);
        }
        Ok(found)
    }
}

/// Appends signature lines (each `— name base64\n`) to a signed note,
/// dropping those the note already holds; the syntax of each is checked.
pub fn add_signature_lines(note: &str, lines: &str) -> Result<String, WitnessError> {
    let (_, existing) = split_note(note.as_bytes())?;
    let mut out = note.to_owned();
    let mut count = existing.len();
    if lines.is_empty() {
        return Ok(out);
    }
    let lines = lines.strip_suffix('\n').ok_or(WitnessError::Malformed(
        "signature lines must end with a newline",
    ))?;
    for line in lines.split('\n') {
        parse_signature_line(line)?;
        if existing.contains(&line) || out.contains(&format!("\n{line}\n")) {
            continue;
        }
        count += 1;
        if count > MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures.into());
        }
        out.push_str(line);
        out.push('\n');
    }
    check_note_text(out.as_bytes())?;
    Ok(out)
}

/// The note's signature lines by names other than `board_name` (its cosignatures), verbatim.
pub fn cosignature_lines(note: &[u8], board_name: &str) -> Result<Vec<String>, WitnessError> {
    let (_, lines) = split_note(note)?;
    let mut out = Vec::new();
    for line in lines {
        let (name, _, _) = parse_signature_line(line)?;
        if name != board_name {
            out.push(line.to_owned());
        }
    }
    Ok(out)
}

/// An `add-checkpoint` request (C2SP `tlog-witness`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Digest32>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for h in &self.proof {
            body.push_str(&Base64::encode_string(h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    /// Parses a request body strictly (canonical size and base64, at most
    /// [`MAX_PROOF_LINES`] proof lines, a non-empty note).
    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        let bad = WitnessError::Malformed;
        let text = check_note_text(body)?;
        let (first, mut rest) = text.split_once('\n').ok_or(bad("no old size line"))?;
        let size = first.strip_prefix("old ").ok_or(bad("no old size line"))?;
        let old_size = parse_decimal(size).ok_or(bad("old size is not canonical decimal"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(bad("no empty line"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 proof lines"));
            }
            let hash = decode_base64(line).map_err(|_| bad("proof line is not base64"))?;
            proof.push(
                hash.try_into()
                    .map_err(|_| bad("proof line is not a 32-byte hash"))?,
            );
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint"));
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: rest.to_owned(),
        })
    }
}

/// Canonical ASCII decimal (no sign, no leading zero but `0`).
fn parse_decimal(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Parses a `409 Conflict` body (`text/x.tlog.size`): the witness's size.
pub fn parse_size_body(body: &[u8]) -> Option<u64> {
    let s = core::str::from_utf8(body).ok()?;
    parse_decimal(s.strip_suffix('\n')?)
}

/// Why a witness refuses an `add-checkpoint` request, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// 400: the body is malformed, or the old size exceeds the checkpoint's.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no signature verifies under the log's key.
    #[error("the checkpoint is not signed by the log's key")]
    BadSignature,
    /// 404: the witness does not follow this origin.
    #[error("unknown log origin")]
    UnknownOrigin,
    /// 409: the old size is not the witness's size (which the body reports).
    #[error("the witness's latest cosigned size is {0}")]
    WrongOldSize(u64),
    /// 409: same size as the witness's latest, other root (a fork).
    #[error("a different root for size {0}: the log forked")]
    Fork(u64),
    /// 422: the consistency proof does not verify.
    #[error("consistency proof does not verify")]
    BadProof,
}

impl Refusal {
    /// The HTTP status code C2SP `tlog-witness` gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::BadSignature => 403,
            Refusal::UnknownOrigin => 404,
            Refusal::WrongOldSize(_) | Refusal::Fork(_) => 409,
            Refusal::BadProof => 422,
        }
    }
}

/// The origin named by a request's checkpoint (its first line), for
/// looking up the log's key before [`decide`].
pub fn request_origin(request: &AddCheckpoint) -> Result<&str, Refusal> {
    let origin = request.checkpoint.split('\n').next().unwrap_or_default();
    if is_valid_name(origin) {
        Ok(origin)
    } else {
        Err(Refusal::BadRequest("malformed checkpoint origin".into()))
    }
}

/// The witness's rule: given the log's key and the `(size, root)` it last
/// cosigned for the log (`None`: never), accepts the request's checkpoint
/// (returning it, to be stored durably before cosigning) or refuses it.
pub fn decide(
    request: &AddCheckpoint,
    log_key: &NoteVerifier,
    last: Option<(u64, Digest32)>,
) -> Result<Checkpoint, Refusal> {
    let text = match log_key.open_note(request.checkpoint.as_bytes()) {
        Ok(text) => text,
        Err(CheckpointError::InvalidSignature | CheckpointError::NotSigned) => {
            return Err(Refusal::BadSignature)
        }
        Err(e) => return Err(Refusal::BadRequest(e.to_string())),
    };
    let checkpoint =
        Checkpoint::parse_body(text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    if checkpoint.origin != log_key.name() {
        return Err(Refusal::UnknownOrigin);
    }
    if request.old_size > checkpoint.size {
        return Err(Refusal::BadRequest(format!(
            "old size {} exceeds the checkpoint's size {}",
            request.old_size, checkpoint.size
        )));
    }
    let (size, root) = last.unwrap_or((0, merkle::EMPTY_ROOT));
    if request.old_size != size {
        return Err(Refusal::WrongOldSize(size));
    }
    if checkpoint.size == size && checkpoint.root != root {
        return Err(Refusal::Fork(size));
    }
    merkle::verify_consistency(
        size,
        checkpoint.size,
        &root,
        &checkpoint.root,
        &request.proof,
    )
    .map_err(|_| Refusal::BadProof)?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_sizes_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("12"), Some(12));
        for bad in ["", "01", "+1", "1 ", "x"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
        assert_eq!(parse_size_body(b"7\n"), Some(7));
        assert_eq!(parse_size_body(b"7"), None);
    }
}
