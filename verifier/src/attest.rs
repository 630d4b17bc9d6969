//! Auditor attestations: after a successful verification, an auditor signs an
//! `attestation` board entry (§8.3) over the verified final checkpoint, which
//! the service accepts at `POST /v1/elections/{id}/entries` (`application/cbor`,
//! the entry's canonical bytes).
//!
//! **Key file format** (spec §9.7), shared with `urne auditor keygen`: a JSON
//! object with `role` = `"auditor"`, `name`, `public_signing_key` (hex, for
//! reading) and `secret_signing_key`, the 32-byte Ed25519 seed (RFC 8032) as
//! 64 lowercase hexadecimal digits. The earlier format, the seed alone on one
//! line, is still read. `urne-verify keygen` creates one (readable by its
//! owner only, on Unix).

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::SigningKey;
use thiserror::Error;
use zeroize::Zeroizing;

use urne_crypto::entry::{Attestation, Entry, EntryKind};
use urne_crypto::manifest::ElectionId;

use crate::report::Report;

/// Why an attestation cannot be made.
#[derive(Debug, Error)]
pub enum AttestError {
    /// The key file cannot be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is neither an auditor key file nor 64 lowercase hex digits.
    #[error(
        "key file {0}: not an auditor key file (make one with `urne-verify keygen --out FILE`)"
    )]
    MalformedKey(String),
    /// The key file exists already (keygen never overwrites).
    #[error("key file {0} exists already")]
    Exists(String),
    /// Only a valid verification may be attested.
    #[error("the election did not verify; nothing to attest")]
    NotValid,
}

/// Reads an auditor key file.
pub fn load_key(path: &Path) -> Result<SigningKey, AttestError> {
    let shown = path.display().to_string();
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| AttestError::Io {
        path: shown.clone(),
        source,
    })?);
    parse_key(&text).ok_or(AttestError::MalformedKey(shown))
}

/// The JSON auditor key file (extra fields, such as a trustee's, are ignored).
#[derive(serde::Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct KeyFileJson {
    role: String,
    #[serde(alias = "signing_key")]
    secret_signing_key: String,
}

fn parse_key(text: &str) -> Option<SigningKey> {
    if text.trim_start().starts_with('{') {
        let file: KeyFileJson = serde_json::from_str(text).ok()?;
        return (file.role == "auditor")
            .then(|| parse_seed(&file.secret_signing_key))
            .flatten();
    }
    parse_seed(text.strip_suffix('\n').unwrap_or(text))
}

fn parse_seed(hex_digits: &str) -> Option<SigningKey> {
    if hex_digits.len() != 64 || hex_digits.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_digits, seed.as_mut()).ok()?;
    Some(SigningKey::from_bytes(&seed))
}

/// Creates a new key file at `path` (never overwriting) and returns the key.
pub fn generate_key_file(path: &Path) -> Result<SigningKey, AttestError> {
    use rand_core::Rng;
    let shown = path.display().to_string();
    let mut seed = Zeroizing::new([0u8; 32]);
    urne_crypto::group::os_rng().fill_bytes(seed.as_mut());
    let key = SigningKey::from_bytes(&seed);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            AttestError::Exists(shown.clone())
        } else {
            AttestError::Io {
                path: shown.clone(),
                source,
            }
        }
    })?;
    let text = Zeroizing::new(format!(
        "{{\n  \"role\": \"auditor\",\n  \"name\": \"auditor\",\n  \"public_signing_key\": \"{}\",\n  \"secret_signing_key\": \"{}\"\n}}\n",
        hex::encode(key.verifying_key().as_bytes()),
        hex::encode(seed.as_ref())
    ));
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| AttestError::Io {
            path: shown,
            source,
        })?;
    Ok(key)
}

/// The signed attestation entry for a valid report: the verified final
/// checkpoint's size and root, `valid = true`, the ballots counted, and a
/// statement naming the tool and the outcome.
pub fn attestation_entry(report: &Report, key: &SigningKey) -> Result<Entry, AttestError> {
    let (Some(cp), Some(election)) = (&report.checkpoint, &report.election) else {
        return Err(AttestError::NotValid);
    };
    if !report.valid {
        return Err(AttestError::NotValid);
    }
    let mut id: ElectionId = [0u8; 32];
    let mut root = [0u8; 32];
    hex::decode_to_slice(election, &mut id).map_err(|_| AttestError::NotValid)?;
    hex::decode_to_slice(&cp.root, &mut root).map_err(|_| AttestError::NotValid)?;
    let body = Attestation {
        size: cp.size,
        root,
        valid: true,
        ballots_counted: report.ballots_counted,
        statement: format!(
            "urne-verify {}: {} at size {}",
            env!("CARGO_PKG_VERSION"),
            report.status.name(),
            cp.size
        ),
    };
    Ok(Entry::signed(EntryKind::Attestation, id, &body, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_is_strict() {
        let good = "00".repeat(32);
        assert!(parse_key(&good).is_some());
        assert!(parse_key(&format!("{good}\n")).is_some());
        assert!(parse_key(&format!("{good}\n\n")).is_none());
        assert!(parse_key(&good.to_uppercase().replace("00", "AB")).is_none());
        assert!(parse_key(&good[2..]).is_none());
        assert!(parse_key(&format!(" {good}")).is_none());
        assert!(parse_key(&"zz".repeat(32)).is_none());
    }
}
