//! Files that hold secrets (wallets, key files): written atomically (temp file
//! in the same directory, fsync, rename) with mode 0600, and refused on
//! reading when other users may read them.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Why a secret file cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// The file does not exist.
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Other users may read the file.
    #[error("{0} is readable by other users; run chmod 600 on it")]
    Permissions(PathBuf),
    /// The file exists and overwriting was not asked for.
    #[error("{0} already exists; refusing to overwrite a secret file")]
    Exists(PathBuf),
    /// The content is not what was expected.
    #[error("{path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SecretFileError + '_ {
    move |source| SecretFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` atomically with mode 0600 (replacing any
/// earlier version).
pub fn write(path: &Path, contents: &[u8]) -> Result<(), SecretFileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".urne-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io_err(path))?;
    restrict(tmp.path()).map_err(io_err(path))?;
    tmp.write_all(contents).map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| SecretFileError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    if let Ok(d) = fs::File::open(&dir) {
        // Make the rename durable; not all platforms allow syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes a new secret file; refuses to replace an existing one.
pub fn create(path: &Path, contents: &[u8]) -> Result<(), SecretFileError> {
    if path.exists() {
        return Err(SecretFileError::Exists(path.to_path_buf()));
    }
    write(path, contents)
}

/// Reads a secret file, refusing one that other users may read.
pub fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretFileError> {
    if !path.exists() {
        return Err(SecretFileError::Missing(path.to_path_buf()));
    }
    check_permissions(path)?;
    Ok(Zeroizing::new(fs::read(path).map_err(io_err(path))?))
}

/// Reads and parses a JSON secret file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SecretFileError> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| SecretFileError::Malformed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Serialises `value` as pretty JSON and writes it atomically with mode 0600.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), SecretFileError> {
    let mut text = Zeroizing::new(serde_json::to_vec_pretty(value).map_err(|e| {
        SecretFileError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })?);
    text.push(b'\n');
    write(path, &text)
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), SecretFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path)
        .map_err(io_err(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(SecretFileError::Permissions(path.to_path_buf()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), SecretFileError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_private_files_atomically_and_refuses_shared_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.json");
        create(&path, b"one").unwrap();
        assert!(matches!(
            create(&path, b"two"),
            Err(SecretFileError::Exists(_))
        ));
        write(&path, b"two").unwrap();
        assert_eq!(read(&path).unwrap().as_slice(), b"two");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(read(&path), Err(SecretFileError::Permissions(_))));
        }
        assert!(matches!(
            read(&dir.path().join("none")),
            Err(SecretFileError::Missing(_))
        ));
    }
}
