//! Who may read the data directory: only the service's own user. The
//! directory is created mode 0700, every file the service creates is 0600
//! (the process file-mode mask is set to 077 before the store opens), and the
//! service refuses to start when the directory or anything in it is open to
//! group or others (someone loosened it, or copied it carelessly).

use std::path::{Path, PathBuf};

/// Part of the data directory is open to other users.
#[derive(Debug, thiserror::Error)]
pub enum PermissionsError {
    /// Reading the directory failed.
    #[error("data directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory may be read by group or others.
    #[error("{path} is accessible by other users; run chmod -R go-rwx {dir} and start again")]
    Exposed {
        /// The exposed file or directory.
        path: PathBuf,
        /// The data directory.
        dir: PathBuf,
    },
}

/// Files created by this process from now on are private (mask 077).
pub fn private_file_mask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Creates `dir` (mode 0700) if needed, then checks that neither it nor
/// anything in it is accessible by group or others.
pub fn prepare_data_dir(dir: &Path) -> Result<(), PermissionsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PermissionsError::Io { path, source }
    };
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io(dir))?;
    }
    check_private(dir, dir)
}

#[cfg(unix)]
fn check_private(path: &Path, dir: &Path) -> Result<(), PermissionsError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| PermissionsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.permissions().mode() & 0o077 != 0 && !meta.file_type().is_symlink() {
        return Err(PermissionsError::Exposed {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    if meta.is_dir() {
        for item in std::fs::read_dir(path).map_err(io)? {
            check_private(&item.map_err(io)?.path(), dir)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &Path) -> Result<(), PermissionsError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_private_and_refuses_exposed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        prepare_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = dir.join("f");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            prepare_data_dir(&dir),
            Err(PermissionsError::Exposed { path, .. }) if path == file
        ));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        prepare_data_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(prepare_data_dir(&dir).is_err());
    }
}
