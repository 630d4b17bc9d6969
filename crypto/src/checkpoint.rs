//! Board checkpoints: C2SP `tlog-checkpoint` bodies in C2SP `signed-note`s,
//! signed with Ed25519.
//!
//! A checkpoint commits to the board's Merkle root ([`crate::merkle`]) at a tree
//! size. The formats are those of the transparency-log ecosystem (Go's
//! `golang.org/x/mod/sumdb/note`, transparency-dev witnesses), so their tools
//! can read urne checkpoints:
//!
//! ```text
//! urne/<hex election id>
//! <tree size, decimal>
//! <base64 root>
//!
//! — urne/<hex election id> <base64(key id ‖ Ed25519 signature)>
//! ```
//!
//! As for the Merkle hashes, the key id and the signed bytes are fixed by the
//! C2SP specifications and therefore carry no `urne/v1/` label; the origin
//! line, which every signature covers, names the election instead.
//!
//! Parsing is strict (see `specs/protocol.md` §6): anything the board would
//! not have produced byte for byte, apart from signatures by other keys, which
//! the signed-note specification requires verifiers to ignore, is refused.

use core::fmt;

use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::hash::Digest32;

/// Signed-note signature type of Ed25519 (C2SP `signed-note`).
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;
/// Largest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// Most signature lines accepted in one note (the limit of Go's `sumdb/note`).
pub const MAX_SIGNATURES: usize = 100;

/// Prefix of every signature line: U+2014 EM DASH, then a space.
pub(crate) const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Prefix of the storage encoding of a [`BoardKey`] (that of Go's `sumdb/note`).
pub(crate) const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Errors of checkpoint encoding, parsing, signing and verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The note exceeds [`MAX_NOTE_LEN`].
    #[error("note larger than {MAX_NOTE_LEN} bytes")]
    NoteTooLarge,
    /// The note is not valid UTF-8.
    #[error("note is not UTF-8")]
    NotUtf8,
    /// The note holds a control character other than newline (e.g. CR, tab).
    #[error("control character in note")]
    ControlCharacter,
    /// The note does not end with a newline.
    #[error("note does not end with a newline")]
    MissingFinalNewline,
    /// No blank line separates a text from signature lines.
    #[error("note has no signature block")]
    MissingSignatures,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line")]
    MalformedSignatureLine,
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature by the verifier's key does not verify.
    #[error("invalid signature by the board key")]
    InvalidSignature,
    /// The verifier's key signed the note more than once.
    #[error("duplicate signature by the board key")]
    DuplicateSignature,
    /// No signature by the verifier's key.
    #[error("note is not signed by the board key")]
    NotSigned,
    /// Base64 that is malformed or not in canonical form (RFC 4648 §4, padded).
    #[error("malformed or non-canonical base64")]
    Base64,
    /// A key name or origin is empty or holds a space or `+`.
    #[error("invalid key name or origin")]
    InvalidName,
    /// The checkpoint body is not origin, size, root and non-empty extension lines.
    #[error("malformed checkpoint body")]
    MalformedBody,
    /// The tree size is not canonical decimal (no sign, no leading zero) or overflows.
    #[error("malformed tree size")]
    MalformedSize,
    /// The root is not the base64 of 32 bytes.
    #[error("malformed root hash")]
    MalformedRoot,
    /// The checkpoint origin is not the name of the board key.
    #[error("checkpoint origin does not match the board key name")]
    OriginMismatch,
    /// A key string is not `<name>+<hex8 key id>+<base64>`.
    #[error("malformed key string")]
    MalformedKey,
    /// A key is not of signature type Ed25519.
    #[error("unsupported signature type")]
    UnsupportedKeyType,
    /// A key's stated id is not the one derived from its name and public key.
    #[error("key id does not match the key")]
    KeyIdMismatch,
    /// A public key is not a canonical point, or is of small order.
    #[error("invalid public key")]
    InvalidPublicKey,
}

/// The origin (and board key name) of an election's board: `urne/` followed by
/// the lowercase hex of the election id.
pub fn election_origin(election_id: &[u8]) -> String {
    format!("urne/{}", hex::encode(election_id))
}

/// C2SP key id of an Ed25519 key:
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let d: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ED25519_SIGNATURE_TYPE])
        .chain_update(public_key)
        .finalize()
        .into();
    [d[0], d[1], d[2], d[3]]
}

/// A key name per C2SP `signed-note`: non-empty, no Unicode space, no `+`
/// (and, as everywhere in a note, no control character).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// Decodes standard padded base64, refusing anything but its canonical form.
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>, CheckpointError> {
    let bytes = Base64::decode_vec(s).map_err(|_| CheckpointError::Base64)?;
    if Base64::encode_string(&bytes) != s {
        return Err(CheckpointError::Base64);
    }
    Ok(bytes)
}

/// Decodes 8 lowercase hex digits.
fn decode_key_id(s: &str) -> Result<[u8; 4], CheckpointError> {
    let mut id = [0u8; 4];
    if s.len() != 8 || s.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(CheckpointError::MalformedKey);
    }
    hex::decode_to_slice(s, &mut id).map_err(|_| CheckpointError::MalformedKey)?;
    Ok(id)
}

/// Checks the note-wide rules: UTF-8, size, no control character but newline.
pub(crate) fn check_note_text(note: &[u8]) -> Result<&str, CheckpointError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(CheckpointError::NoteTooLarge);
    }
    let text = core::str::from_utf8(note).map_err(|_| CheckpointError::NotUtf8)?;
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(CheckpointError::ControlCharacter);
    }
    Ok(text)
}

// ---------------------------------------------------------------------------
// Checkpoint bodies

/// A checkpoint: the board's Merkle tree head at a size, under an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log identity: [`election_origin`] of the election.
    pub origin: String,
    /// Number of board entries.
    pub size: u64,
    /// RFC 6962 root of the first `size` entries.
    pub root: Digest32,
    /// Extension lines (opaque, non-empty; urne writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Digest32) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` then each extension line.
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        if !is_valid_name(&self.origin) {
            return Err(CheckpointError::InvalidName);
        }
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            Base64::encode_string(&self.root)
        );
        for ext in &self.extensions {
            if ext.is_empty() || ext.chars().any(|c| c < ' ') {
                return Err(CheckpointError::MalformedBody);
            }
            body.push_str(ext);
            body.push('\n');
        }
        Ok(body)
    }

    /// Parses a note text produced by [`Checkpoint::to_body`], strictly.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        check_note_text(text.as_bytes())?;
        let lines = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MalformedBody);
        };
        if !is_valid_name(origin) {
            return Err(CheckpointError::InvalidName);
        }
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::MalformedBody);
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions,
        })
    }
}

/// ASCII decimal with no sign and no leading zero (except `0` itself).
fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let digits_only = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits_only || (s.len() > 1 && s.starts_with('0')) {
        return Err(CheckpointError::MalformedSize);
    }
    s.parse().map_err(|_| CheckpointError::MalformedSize)
}

fn parse_root(s: &str) -> Result<Digest32, CheckpointError> {
    let bytes = decode_base64(s).map_err(|_| CheckpointError::MalformedRoot)?;
    bytes.try_into().map_err(|_| CheckpointError::MalformedRoot)
}

// ---------------------------------------------------------------------------
// Keys

/// How a key type derives its 4-byte key id from the key name and public key.
pub(crate) type KeyIdRule = fn(&str, &[u8; 32]) -> [u8; 4];

/// What the board's signing key and a witness's cosigning key share: an
/// Ed25519 key under a key name, its key id (each key type has its own
/// rule), and the storage encoding of Go's `sumdb/note` signer keys,
/// `PRIVATE+KEY+<name>+<hex8 key id>+<base64(type ‖ seed)>`. The secret is
/// zeroized on drop.
pub(crate) struct NamedKey {
    pub(crate) name: String,
    pub(crate) key: SigningKey,
    pub(crate) id: [u8; 4],
}

impl NamedKey {
    /// A fresh key named `name`.
    pub(crate) fn generate<R: rand_core::CryptoRng + ?Sized>(
        name: &str,
        rng: &mut R,
        rule: KeyIdRule,
    ) -> Result<Self, CheckpointError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(name, &seed, rule)
    }

    /// The key named `name` with the RFC 8032 32-byte secret `seed`.
    pub(crate) fn from_seed(
        name: &str,
        seed: &[u8; 32],
        rule: KeyIdRule,
    ) -> Result<Self, CheckpointError> {
        if !is_valid_name(name) {
            return Err(CheckpointError::InvalidName);
        }
        let key = SigningKey::from_bytes(seed);
        let id = rule(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// The storage encoding with type byte `key_type`.
    pub(crate) fn encode(&self, key_type: u8) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 33]);
        raw[0] = key_type;
        raw[1..].copy_from_slice(self.key.as_bytes());
        let mut b64 = Zeroizing::new([0u8; 44]);
        let mut out = Zeroizing::new(String::with_capacity(
            PRIVATE_KEY_PREFIX.len() + self.name.len() + 1 + 8 + 1 + 44,
        ));
        out.push_str(PRIVATE_KEY_PREFIX);
        out.push_str(&self.name);
        out.push('+');
        out.push_str(&hex::encode(self.id));
        out.push('+');
        // 33 bytes always fit the 44-byte buffer.
        if let Ok(s) = Base64::encode(raw.as_ref(), b64.as_mut()) {
            out.push_str(s);
        }
        out
    }

    /// Parses [`NamedKey::encode`]'s output for `key_type` (another type
    /// byte is [`CheckpointError::UnsupportedKeyType`]), refusing a
    /// non-canonical base64 and checking the key id.
    pub(crate) fn decode(s: &str, key_type: u8, rule: KeyIdRule) -> Result<Self, CheckpointError> {
        let rest = s
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(CheckpointError::MalformedKey)?;
        let (name, id, b64) = split_key_string(rest)?;
        // 33 bytes are exactly 44 base64 characters, without padding.
        if b64.len() != 44 {
            return Err(CheckpointError::MalformedKey);
        }
        let mut raw = Zeroizing::new([0u8; 33]);
        let decoded = Base64::decode(b64, raw.as_mut())
            .map_err(|_| CheckpointError::Base64)?
            .len();
        if decoded != 33 || *Zeroizing::new(Base64::encode_string(raw.as_ref())) != b64 {
            return Err(CheckpointError::MalformedKey);
        }
        if raw[0] != key_type {
            return Err(CheckpointError::UnsupportedKeyType);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[1..]);
        let key = Self::from_seed(name, &seed, rule)?;
        if key.id != id {
            return Err(CheckpointError::KeyIdMismatch);
        }
        Ok(key)
    }

    /// Debug output naming the key, never its secret.
    pub(crate) fn fmt_debug(&self, f: &mut fmt::Formatter<'_>, label: &str) -> fmt::Result {
        f.debug_struct(label)
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.id))
            .finish_non_exhaustive()
    }
}

/// The board's checkpoint signing key: an Ed25519 key under a key name (the
/// election origin). The secret is zeroized on drop.
pub struct BoardKey(NamedKey);

impl fmt::Debug for BoardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_debug(f, "BoardKey")
    }
}

impl BoardKey {
    /// A fresh key named `name`.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, CheckpointError> {
        NamedKey::generate(name, rng, key_id).map(Self)
    }

    /// The key named `name` with the RFC 8032 32-byte secret `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        NamedKey::from_seed(name, seed, key_id).map(Self)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.0.id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.verifying_key().to_bytes()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.0.name.clone(),
            id: self.0.id,
            key: self.0.key.verifying_key(),
        }
    }

    /// Storage encoding, that of Go's `sumdb/note` signer keys:
    /// `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x01 ‖ seed)>`.
    pub fn encode(&self) -> Zeroizing<String> {
        self.0.encode(ED25519_SIGNATURE_TYPE)
    }

    /// Parses [`BoardKey::encode`]'s output, checking the key id.
    pub fn decode(s: &str) -> Result<Self, CheckpointError> {
        NamedKey::decode(s, ED25519_SIGNATURE_TYPE, key_id).map(Self)
    }

    /// Signs a note text (non-empty, ending in a newline, no control character
    /// other than newline) and returns the signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, CheckpointError> {
        check_note_text(text.as_bytes())?;
        if !text.ends_with('\n') {
            return Err(CheckpointError::MissingFinalNewline);
        }
        let sig: Signature = self.0.key.sign(text.as_bytes());
        let mut blob = [0u8; 68];
        blob[..4].copy_from_slice(&self.0.id);
        blob[4..].copy_from_slice(&sig.to_bytes());
        let note = format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.0.name,
            Base64::encode_string(&blob)
        );
        if note.len() > MAX_NOTE_LEN {
            return Err(CheckpointError::NoteTooLarge);
        }
        Ok(note)
    }
}

/// Splits `<name>+<hex8 id>+<base64>`; the base64 may itself contain `+`.
pub(crate) fn split_key_string(s: &str) -> Result<(&str, [u8; 4], &str), CheckpointError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(CheckpointError::MalformedKey);
    };
    if !is_valid_name(name) {
        return Err(CheckpointError::InvalidName);
    }
    Ok((name, decode_key_id(id)?, b64))
}

/// A verifier for notes signed by one Ed25519 key under one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key string `<name>+<hex8 key id>+<base64(0x01 ‖ public key)>`,
    /// checking the key id and refusing non-canonical and small-order keys.
    pub fn from_vkey_string(s: &str) -> Result<Self, CheckpointError> {
        let (name, id, b64) = split_key_string(s)?;
        let raw = decode_base64(b64)?;
        let Some((&kind, public)) = raw.split_first() else {
            return Err(CheckpointError::MalformedKey);
        };
        if kind != ED25519_SIGNATURE_TYPE {
            return Err(CheckpointError::UnsupportedKeyType);
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| CheckpointError::MalformedKey)?;
        if !crate::entry::is_valid_signing_key(&public) {
            return Err(CheckpointError::InvalidPublicKey);
        }
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| CheckpointError::InvalidPublicKey)?;
        if key_id(name, &public) != id {
            return Err(CheckpointError::KeyIdMismatch);
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The verifier key string.
    pub fn to_vkey_string(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = ED25519_SIGNATURE_TYPE;
        raw[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            Base64::encode_string(&raw)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// Opens a signed note: checks its syntax and exactly one valid signature by
    /// this key (signatures by other keys are checked for syntax only), and
    /// returns the signed text, final newline included.
    pub fn open_note<'a>(&self, note: &'a [u8]) -> Result<&'a str, CheckpointError> {
        let (text, sigs) = split_note(note)?;
        let mut verified = false;
        for line in sigs {
            let (name, id, sig) = parse_signature_line(line)?;
            if name != self.name || id != self.id {
                continue; // another key: ignored, as C2SP signed-note requires
            }
            if verified {
                return Err(CheckpointError::DuplicateSignature);
            }
            let sig: [u8; 64] = sig
                .try_into()
                .map_err(|_| CheckpointError::InvalidSignature)?;
            self.key
                .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                .map_err(|_| CheckpointError::InvalidSignature)?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(CheckpointError::NotSigned)
        }
    }
}

/// Splits a signed note into its text (final newline included) and its
/// signature lines (at most [`MAX_SIGNATURES`], at least one), checking the
/// note-wide rules.
pub(crate) fn split_note(note: &[u8]) -> Result<(&str, Vec<&str>), CheckpointError> {
    let note = check_note_text(note)?;
    if !note.ends_with('\n') {
        return Err(CheckpointError::MissingFinalNewline);
    }
    let split = note
        .rfind("\n\n")
        .ok_or(CheckpointError::MissingSignatures)?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(CheckpointError::MissingSignatures);
    };
    let lines: Vec<&str> = sigs.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(CheckpointError::TooManySignatures);
    }
    Ok((text, lines))
}

/// `— <name> <base64(key id ‖ signature)>` → (name, key id, signature bytes).
pub(crate) fn parse_signature_line(
    line: &str,
) -> Result<(&str, [u8; 4], Vec<u8>), CheckpointError> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(CheckpointError::MalformedSignatureLine)?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(CheckpointError::MalformedSignatureLine)?;
    if !is_valid_name(name) {
        return Err(CheckpointError::MalformedSignatureLine);
    }
    let blob = decode_base64(b64)?;
    // A key id and at least one signature byte.
    if blob.len() < 5 {
        return Err(CheckpointError::MalformedSignatureLine);
    }
    let id = [blob[0], blob[1], blob[2], blob[3]];
    Ok((name, id, blob[4..].to_vec()))
}

/// Signs a checkpoint as a signed note. The origin must be the key's name.
pub fn sign_checkpoint(key: &BoardKey, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
    if checkpoint.origin != key.name() {
        return Err(CheckpointError::OriginMismatch);
    }
    key.sign_note(&checkpoint.to_body()?)
}

/// Opens a signed checkpoint note: the note must carry a valid signature by
/// `verifier`, its text must be a well-formed checkpoint body, and its origin
/// must be the verifier's key name.
pub fn open_signed_checkpoint(
    note: &[u8],
    verifier: &NoteVerifier,
) -> Result<Checkpoint, CheckpointError> {
    let text = verifier.open_note(note)?;
    let checkpoint = Checkpoint::parse_body(text)?;
    if checkpoint.origin != verifier.name {
        return Err(CheckpointError::OriginMismatch);
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_and_witness_keys_round_trip_and_refuse_each_other() {
        use crate::witness::{WitnessError, WitnessKey};
        let board = BoardKey::from_seed("example.org/board", &[7; 32]).unwrap();
        let witness = WitnessKey::from_seed("example.org/witness", &[7; 32]).unwrap();
        let board_text = board.encode();
        let witness_text = witness.encode();
        let back = BoardKey::decode(&board_text).unwrap();
        assert_eq!(
            (back.name(), back.key_id(), back.public_key()),
            (board.name(), board.key_id(), board.public_key())
        );
        assert_eq!(
            WitnessKey::decode(&witness_text).unwrap().verifier(),
            witness.verifier()
        );
        // Each refuses the other's type byte.
        assert_eq!(
            BoardKey::decode(&witness_text).unwrap_err(),
            CheckpointError::UnsupportedKeyType
        );
        assert!(matches!(
            WitnessKey::decode(&board_text),
            Err(WitnessError::NotCosignatureKey)
        ));
        // Another name under the same id, a cut key, no prefix.
        let renamed = board_text.replace("example.org/board", "example.org/other");
        assert_eq!(
            BoardKey::decode(&renamed).unwrap_err(),
            CheckpointError::KeyIdMismatch
        );
        let cut = &board_text[..board_text.len() - 1];
        assert_eq!(
            BoardKey::decode(cut).unwrap_err(),
            CheckpointError::MalformedKey
        );
        assert_eq!(
            BoardKey::decode(&board_text["PRIVATE+KEY+".len()..]).unwrap_err(),
            CheckpointError::MalformedKey
        );
        // Debug output never holds the secret.
        let shown = format!("{board:?} {witness:?}");
        assert!(
            !shown.contains(&board_text[board_text.len() - 44..]),
            "{shown}"
        );
        assert!(
            shown.contains("BoardKey") && shown.contains("WitnessKey"),
            "{shown}"
        );
    }

    #[test]
    fn sizes_are_canonical_decimal() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("20852163"), Ok(20852163));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "00",
            "007",
            "+7",
            "-1",
            " 7",
            "7 ",
            "0x10",
            "18446744073709551616",
            "٣",
        ] {
            assert_eq!(
                parse_size(bad),
                Err(CheckpointError::MalformedSize),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64_must_be_canonical() {
        assert_eq!(decode_base64("AA=="), Ok(vec![0]));
        assert_eq!(decode_base64(""), Ok(vec![]));
        // Non-zero padding bits, missing padding, URL alphabet, whitespace.
        for bad in [
            "AB==", "AA", "AA=", "_w==", "-w==", "AA==\n", " AA==", "AAA=A", "A===",
        ] {
            assert_eq!(decode_base64(bad), Err(CheckpointError::Base64), "{bad:?}");
        }
    }

    #[test]
    fn names_follow_signed_note() {
        assert!(is_valid_name("urne/00ff"));
        assert!(is_valid_name("PeterNeumann"));
        for bad in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{2003}b", "a\rb"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn key_ids_are_lowercase_hex() {
        assert_eq!(decode_key_id("c74f20a3"), Ok([0xc7, 0x4f, 0x20, 0xa3]));
        for bad in ["C74F20A3", "c74f20a", "c74f20a30", "g74f20a3", ""] {
            assert!(decode_key_id(bad).is_err(), "{bad:?}");
        }
    }
}
