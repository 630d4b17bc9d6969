//! Secrets at rest: the rows of secret tables (registrar keys, signer
//! states) are sealed with ChaCha20-Poly1305 before they reach the storage
//! engine, under a key that does not live in the store (`urne serve
//! --secrets-key FILE` or `URNE_SECRETS_KEY`).
//!
//! A sealed row is `0x01 ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag`, under
//! the AEAD key `TaggedHash("urne/v1/secrets-at-rest", secrets key)` with
//! associated data `"urne/v1/sealed-row" ‖ election id ‖ len(table) (u8) ‖
//! table ‖ row key`, so a sealed value cannot be moved to another row.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use zeroize::Zeroizing;

use super::{Digest, Store, StoreError, Table, Write, WriteSet};
use crate::election::tables::{REGISTRAR_KEYS, SIGNER_STATES};
use crate::election::ElectionId;
use urne_crypto::merkle::NodeId;

/// The tables whose rows are secrets.
pub const SECRET_TABLES: [Table; 2] = [REGISTRAR_KEYS, SIGNER_STATES];

/// Environment variable holding the secrets key as 64 hex digits.
pub const SECRETS_KEY_ENV: &str = "URNE_SECRETS_KEY";

const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why the secrets key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretsKeyError {
    /// Reading or writing the key file failed.
    #[error("secrets key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key is not 64 hexadecimal digits.
    #[error("the secrets key {0} is not 64 hexadecimal digits")]
    Malformed(String),
    /// Other users may read the key file.
    #[error("secrets key file {0} is readable by other users; run chmod 600 on it")]
    Permissions(PathBuf),
    /// The key file is inside the data directory, next to what it protects.
    #[error("secrets key file {0} is inside the data directory; keep it elsewhere (another disk, a secrets manager)")]
    InsideStore(PathBuf),
}

/// The key sealing secret rows (zeroized on drop).
#[derive(Clone)]
pub struct SecretsKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

impl SecretsKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, SecretsKeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut()).map_err(|e| SecretsKeyError::Io {
            path: PathBuf::from("(random)"),
            source: std::io::Error::other(e),
        })?;
        Ok(SecretsKey(Arc::new(k)))
    }

    /// Parses 64 hex digits (surrounding whitespace ignored); `what` names the source in errors.
    pub fn from_hex(text: &str, what: &str) -> Result<Self, SecretsKeyError> {
        let t = text.trim();
        let mut k = Zeroizing::new([0u8; 32]);
        if t.len() != 64 || hex::decode_to_slice(t, k.as_mut()).is_err() {
            return Err(SecretsKeyError::Malformed(what.to_string()));
        }
        Ok(SecretsKey(Arc::new(k)))
    }

    /// The 64 hex digits of the key (for writing it to its file).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }

    /// Loads the key file `path` (mode 0600, outside `data_dir`), creating it
    /// with a fresh key first if it does not exist.
    pub fn load_or_create(path: &Path, data_dir: &Path) -> Result<Self, SecretsKeyError> {
        let io = |source| SecretsKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        if !path.exists() {
            let key = Self::generate()?;
            crate::board::key::write_private(path, key.to_hex().to_string() + "\n").map_err(io)?;
            tracing::info!(path = %path.display(), "created a new secrets key; back it up");
        }
        let (file, dir) = (path.canonicalize().map_err(io)?, data_dir.canonicalize());
        if dir.is_ok_and(|d| file.starts_with(d)) {
            return Err(SecretsKeyError::InsideStore(path.to_path_buf()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path).map_err(io)?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(SecretsKeyError::Permissions(path.to_path_buf()));
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Self::from_hex(&text, &path.display().to_string())
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        let k = Zeroizing::new(urne_crypto::hash::tagged(
            "urne/v1/secrets-at-rest",
            &[self.0.as_slice()],
        ));
        ChaCha20Poly1305::new(Key::from_slice(k.as_ref()))
    }
}

/// How secret rows are kept at rest.
#[derive(Debug, Clone)]
pub enum SecretsAtRest {
    /// In the clear (`urne demo` only, whose data is throw-away).
    Plain,
    /// Sealed under this key.
    Sealed(SecretsKey),
}

fn is_secret(table: Table) -> bool {
    SECRET_TABLES.contains(&table)
}

fn associated_data(log: &ElectionId, table: Table, key: &[u8]) -> Vec<u8> {
    let name = table.name().as_bytes();
    let mut ad = Vec::with_capacity(18 + 33 + name.len() + key.len());
    ad.extend_from_slice(b"urne/v1/sealed-row");
    ad.extend_from_slice(log.as_bytes());
    ad.push(name.len() as u8);
    ad.extend_from_slice(name);
    ad.extend_from_slice(key);
    ad
}

/// A [`Store`] that seals the rows of [`SECRET_TABLES`] on commit and opens them on read.
pub struct SealedStore<S> {
    inner: S,
    cipher: ChaCha20Poly1305,
}

impl<S: Store> SealedStore<S> {
    /// Wraps `inner`, sealing under `key`.
    pub fn new(inner: S, key: &SecretsKey) -> Self {
        SealedStore {
            inner,
            cipher: key.cipher(),
        }
    }

    fn seal(
        &self,
        log: &ElectionId,
        table: Table,
        key: &[u8],
        value: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Sealed(format!("no randomness to seal a row: {e}")))?;
        let ad = associated_data(log, table, key);
        let payload = chacha20poly1305::aead::Payload {
            msg: value,
            aad: &ad,
        };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| StoreError::Sealed("sealing a row failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(
        &self,
        log: &ElectionId,
        table: Table,
        key: &[u8],
        stored: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let unsealable = || {
            StoreError::Sealed(format!(
                "a secret row of table {} cannot be opened: wrong secrets key, or a store written without one",
                table.name()
            ))
        };
        if stored.len() < 1 + NONCE_LEN || stored[0] != SEALED_V1 {
            return Err(unsealable());
        }
        let (nonce, sealed) = stored[1..].split_at(NONCE_LEN);
        let ad = associated_data(log, table, key);
        let payload = chacha20poly1305::aead::Payload {
            msg: sealed,
            aad: &ad,
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| unsealable())
    }
}

impl<S: Store> Store for SealedStore<S> {
    fn logs(&self) -> Result<Vec<(ElectionId, u64)>, StoreError> {
        self.inner.logs()
    }

    fn size(&self, log: &ElectionId) -> Result<Option<u64>, StoreError> {
        self.inner.size(log)
    }

    fn entry(&self, log: &ElectionId, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.entry(log, index)
    }

    fn entries(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.entries(log, start, end, max_bytes)
    }

    fn node(&self, log: &ElectionId, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.inner.node(log, node)
    }

    fn checkpoint(&self, log: &ElectionId, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.checkpoint(log, size)
    }

    fn checkpoints(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.checkpoints(log, start, end)
    }

    fn get(
        &self,
        log: &ElectionId,
        table: Table,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self.inner.get(log, table, key)?;
        match stored {
            Some(v) if is_secret(table) => {
                let stored = Zeroizing::new(v);
                self.open(log, table, key, &stored).map(Some)
            }
            other => Ok(other),
        }
    }

    fn commit(&self, writes: WriteSet) -> Result<(), StoreError> {
        let mut sealed = WriteSet::new();
        for w in writes.writes() {
            sealed.push(match w {
                Write::Row {
                    log,
                    table,
                    key,
                    value,
                } if is_secret(*table) => Write::Row {
                    log: *log,
                    table: *table,
                    key: key.clone(),
                    value: Zeroizing::new(self.seal(log, *table, key, value)?),
                },
                other => other.clone(),
            });
        }
        self.inner.commit(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sled::SledStore;

    fn row(table: Table, key: &[u8], value: &[u8]) -> WriteSet {
        let mut w = WriteSet::new();
        w.push(Write::Row {
            log: ElectionId([1; 32]),
            table,
            key: key.to_vec(),
            value: Zeroizing::new(value.to_vec()),
        });
        w
    }

    #[test]
    fn secret_rows_are_sealed_bound_to_their_row_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretsKey::generate().unwrap();
        let log = ElectionId([1; 32]);
        let secret = [0x5au8; 32];
        {
            let store = SealedStore::new(SledStore::open(dir.path()).unwrap(), &key);
            store.commit(row(REGISTRAR_KEYS, b"k0", &secret)).unwrap();
            store
                .commit(row(Table::new("public"), b"p", b"plain"))
                .unwrap();
            assert_eq!(
                store.get(&log, REGISTRAR_KEYS, b"k0").unwrap().as_deref(),
                Some(&secret[..])
            );
        }
        let raw = SledStore::open(dir.path()).unwrap();
        let stored = raw.get(&log, REGISTRAR_KEYS, b"k0").unwrap().unwrap();
        assert!(!stored.windows(32).any(|w| w == secret), "sealed at rest");
        assert_eq!(
            raw.get(&log, Table::new("public"), b"p")
                .unwrap()
                .as_deref(),
            Some(&b"plain"[..])
        );
        // Moved to another row, the sealed value no longer opens.
        raw.commit(row(REGISTRAR_KEYS, b"k1", &stored)).unwrap();
        drop(raw);
        let store = SealedStore::new(SledStore::open(dir.path()).unwrap(), &key);
        assert!(matches!(
            store.get(&log, REGISTRAR_KEYS, b"k1"),
            Err(StoreError::Sealed(_))
        ));
        drop(store);
        // Another key opens nothing.
        let other = SecretsKey::generate().unwrap();
        let store = SealedStore::new(SledStore::open(dir.path()).unwrap(), &other);
        assert!(matches!(
            store.get(&log, REGISTRAR_KEYS, b"k0"),
            Err(StoreError::Sealed(_))
        ));
    }
}
