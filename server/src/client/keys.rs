//! Key files of trustees, lottery contributors and auditors: JSON, mode 0600,
//! written atomically. Each holds an Ed25519 key that signs the holder's board
//! entries; a trustee's also holds its ristretto255 DKG key, a contributor's
//! its committed secret. Secret fields are named `secret_…`; the public key
//! is written beside them for reading. An auditor's key file is the format
//! `urne-verify keygen` writes too (spec §9.7), and an auditor key file of
//! `urne-verify`'s earlier format (the seed as one hex line) is read as well.

use std::path::Path;

use ed25519_dalek::SigningKey;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use urne_crypto::dkg::TrusteeKey;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::secret_file::{self, SecretFileError};

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error(transparent)]
    File(#[from] SecretFileError),
    /// A field does not decode.
    #[error("key file field {0} is malformed")]
    Field(&'static str),
    /// The file holds another kind of key.
    #[error("this is a {found} key file, not a {expected} key file")]
    Role {
        /// Role expected.
        expected: &'static str,
        /// Role found.
        found: String,
    },
}

/// The content of a key file.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct KeyFile {
    /// `trustee`, `contributor` or `auditor`.
    pub role: String,
    /// Display name.
    pub name: String,
    /// Ed25519 public key, hex (for reading; derived from the secret).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_signing_key: String,
    /// Ed25519 seed, hex (secret).
    #[serde(rename = "secret_signing_key", alias = "signing_key")]
    pub signing_key: String,
    /// Trustee DKG secret scalar, hex (secret).
    #[serde(
        default,
        rename = "secret_encryption_key",
        alias = "encryption_key",
        skip_serializing_if = "Option::is_none"
    )]
    pub encryption_key: Option<String>,
    /// Lottery secret committed to, hex (secret), per election id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lottery_secrets: Vec<(String, String)>,
}

fn hex32(s: &str, what: &'static str) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(s, out.as_mut()).map_err(|_| KeyFileError::Field(what))?;
    Ok(out)
}

impl KeyFile {
    /// Generates a key file for `role` (`trustee` gets a DKG key too).
    pub fn generate<R: CryptoRng + ?Sized>(role: &str, name: &str, rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let encryption_key = (role == "trustee")
            .then(|| hex::encode(TrusteeKey::generate(rng).secret_bytes().as_ref()));
        let public = SigningKey::from_bytes(&seed).verifying_key();
        KeyFile {
            role: role.to_string(),
            name: name.to_string(),
            public_signing_key: hex::encode(public.as_bytes()),
            signing_key: hex::encode(seed.as_ref()),
            encryption_key,
            lottery_secrets: Vec::new(),
        }
    }

    /// Loads a key file and checks its role.
    pub fn load(path: &Path, role: &'static str) -> Result<Self, KeyFileError> {
        if role == "auditor" {
            if let Some(k) = Self::load_seed_line(path)? {
                return Ok(k);
            }
        }
        let k: KeyFile = secret_file::read_json(path)?;
        if k.role != role {
            return Err(KeyFileError::Role {
                expected: role,
                found: k.role.clone(),
            });
        }
        Ok(k)
    }

    /// An auditor key file of `urne-verify`'s earlier format: the seed as 64
    /// lowercase hex digits and an optional newline; `None` if it is not one.
    fn load_seed_line(path: &Path) -> Result<Option<Self>, KeyFileError> {
        let bytes = secret_file::read(path)?;
        let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        if text.len() != 64 || !text.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Ok(None);
        }
        let seed = String::from_utf8_lossy(text).into_owned();
        let public = SigningKey::from_bytes(&*hex32(&seed, "secret_signing_key")?).verifying_key();
        Ok(Some(KeyFile {
            role: "auditor".into(),
            name: "auditor".into(),
            public_signing_key: hex::encode(public.as_bytes()),
            signing_key: seed,
            encryption_key: None,
            lottery_secrets: Vec::new(),
        }))
    }

    /// Saves the key file atomically (replacing an earlier version).
    pub fn save(&self, path: &Path) -> Result<(), KeyFileError> {
        Ok(secret_file::write_json(path, self)?)
    }

    /// The Ed25519 signing key.
    pub fn signing(&self) -> Result<SigningKey, KeyFileError> {
        Ok(SigningKey::from_bytes(&*hex32(
            &self.signing_key,
            "signing_key",
        )?))
    }

    /// The trustee's DKG key.
    pub fn trustee_key(&self) -> Result<TrusteeKey, KeyFileError> {
        let s = self
            .encryption_key
            .as_ref()
            .ok_or(KeyFileError::Field("encryption_key"))?;
        TrusteeKey::from_secret_bytes(&*hex32(s, "encryption_key")?)
            .map_err(|_| KeyFileError::Field("encryption_key"))
    }

    /// The lottery secret committed for `election`, if any.
    pub fn lottery_secret(
        &self,
        election: &[u8; 32],
    ) -> Result<Option<Zeroizing<[u8; 32]>>, KeyFileError> {
        let id = hex::encode(election);
        self.lottery_secrets
            .iter()
            .find(|(e, _)| *e == id)
            .map(|(_, s)| hex32(s, "lottery_secrets"))
            .transpose()
    }

    /// Records the lottery secret for `election`.
    pub fn set_lottery_secret(&mut self, election: &[u8; 32], secret: &[u8; 32]) {
        let id = hex::encode(election);
        self.lottery_secrets.retain(|(e, _)| *e != id);
        self.lottery_secrets.push((id, hex::encode(secret)));
    }

    /// The public part, as it goes into a manifest draft (TOML).
    pub fn public_toml(&self) -> Result<String, KeyFileError> {
        let signing = hex::encode(self.signing()?.verifying_key().to_bytes());
        let mut out = format!("name = {:?}\nsigning_key = \"{signing}\"\n", self.name);
        if self.role == "trustee" {
            let e = hex::encode(self.trustee_key()?.public_key().compress().to_bytes());
            out.push_str(&format!("encryption_key = \"{e}\"\n"));
        }
        Ok(out)
    }
}
