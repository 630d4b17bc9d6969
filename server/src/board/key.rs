//! The board's Ed25519 signing key, kept in the data directory.
//!
//! One secret signs the checkpoints of every election on this server. Each
//! election's checkpoints are signed-notes under the key name
//! `urne/<hex election id>` (the checkpoint origin, see
//! [`urne_crypto::checkpoint`]), so each election has its own verifier key
//! string, while all of them share one Ed25519 public key.
//!
//! The secret is the file `board.key`: 64 lowercase hex digits of the RFC 8032
//! seed and a newline, mode 0600, created on first start and reused after.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use urne_crypto::checkpoint::{election_origin, BoardKey, CheckpointError, NoteVerifier};
use zeroize::Zeroizing;

use crate::election::ElectionId;

/// Name of the key file in the data directory.
pub const KEY_FILE: &str = "board.key";

/// Failures loading or creating the board key.
#[derive(Debug, thiserror::Error)]
pub enum BoardKeyError {
    /// Reading or writing the key file failed.
    #[error("board key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key file is gone although the board holds checkpoints it signed.
    #[error(
        "board key file {0} is missing but the store holds signed logs; restore it from backup"
    )]
    Missing(PathBuf),
    /// The key file does not hold a key.
    #[error("board key file {0} is malformed")]
    Malformed(PathBuf),
    /// Other users may read the key file.
    #[error("board key file {0} is readable by other users; run chmod 600 on it")]
    Permissions(PathBuf),
    /// The key could not be made into a signing key.
    #[error("board key: {0}")]
    Key(#[from] CheckpointError),
}

/// The board's signing secret.
pub struct BoardSecret {
    seed: Zeroizing<[u8; 32]>,
    public_key: [u8; 32],
}

impl BoardSecret {
    /// Loads the key from `dir`, creating it first if there is none.
    pub fn load_or_create(dir: &Path) -> Result<Self, BoardKeyError> {
        let path = dir.join(KEY_FILE);
        let io = |source| BoardKeyError::Io {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).map_err(|e| io(std::io::Error::other(e)))?;
            write_private(&path, hex::encode(seed.as_ref()) + "\n").map_err(io)?;
            tracing::info!(path = %path.display(), "created a new board key");
        }
        check_permissions(&path)?;
        let text = Zeroizing::new(fs::read_to_string(&path).map_err(io)?);
        let hex_seed = text
            .strip_suffix('\n')
            .filter(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| BoardKeyError::Malformed(path.clone()))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_seed, seed.as_mut())
            .map_err(|_| BoardKeyError::Malformed(path.clone()))?;
        Self::from_seed(seed)
    }

    fn from_seed(seed: Zeroizing<[u8; 32]>) -> Result<Self, BoardKeyError> {
        let public_key = BoardKey::from_seed("urne", &seed)?.public_key();
        Ok(Self { seed, public_key })
    }

    /// The Ed25519 public key shared by every election's checkpoints.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// The Ed25519 key that signs the board's own entries (manifest, roster,
    /// election key, phase changes, tallies, lottery seed, seat results):
    /// the same key as the checkpoints', so the manifest's `board_key` is
    /// [`BoardSecret::public_key`].
    pub fn entry_signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.seed)
    }

    /// The signing key of one election's checkpoints.
    pub fn election_key(&self, election: &ElectionId) -> Result<BoardKey, BoardKeyError> {
        Ok(BoardKey::from_seed(
            &election_origin(election.as_bytes()),
            &self.seed,
        )?)
    }

    /// The verifier of one election's checkpoints.
    pub fn election_verifier(&self, election: &ElectionId) -> Result<NoteVerifier, BoardKeyError> {
        Ok(self.election_key(election)?.verifier())
    }
}

/// Writes `contents` to `path` with mode 0600, atomically: a crash leaves
/// either no key file or the whole one.
pub(crate) fn write_private(path: &Path, contents: String) -> std::io::Result<()> {
    let contents = Zeroizing::new(contents);
    let tmp = path.with_extension("key.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), BoardKeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|source| BoardKeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(BoardKeyError::Permissions(path.to_owned()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> Result<(), BoardKeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use urne_crypto::checkpoint::{open_signed_checkpoint, sign_checkpoint, Checkpoint};

    #[test]
    fn created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = BoardSecret::load_or_create(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = BoardSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(
            first.entry_signing_key().verifying_key().to_bytes(),
            first.public_key()
        );
        let other = BoardSecret::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert_ne!(first.public_key(), other.public_key());
    }

    #[test]
    fn election_keys_sign_checkpoints_their_verifiers_accept() {
        let dir = tempfile::tempdir().unwrap();
        let secret = BoardSecret::load_or_create(dir.path()).unwrap();
        let (a, b) = (ElectionId([1; 32]), ElectionId([2; 32]));
        let key = secret.election_key(&a).unwrap();
        assert_eq!(key.public_key(), secret.public_key());
        let cp = Checkpoint::new(election_origin(a.as_bytes()), 5, [9; 32]);
        let note = sign_checkpoint(&key, &cp).unwrap();
        let opened =
            open_signed_checkpoint(note.as_bytes(), &secret.election_verifier(&a).unwrap())
                .unwrap();
        assert_eq!(opened, cp);
        // Another election's verifier refuses it: the origin is bound.
        assert!(
            open_signed_checkpoint(note.as_bytes(), &secret.election_verifier(&b).unwrap())
                .is_err()
        );
    }

    #[test]
    fn refuses_malformed_or_exposed_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        write_private(&path, "not a key\n".into()).unwrap();
        assert!(matches!(
            BoardSecret::load_or_create(dir.path()),
            Err(BoardKeyError::Malformed(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            write_private(&path, "ab".repeat(32) + "\n").unwrap();
            assert!(BoardSecret::load_or_create(dir.path()).is_ok());
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                BoardSecret::load_or_create(dir.path()),
                Err(BoardKeyError::Permissions(_))
            ));
        }
    }
}
