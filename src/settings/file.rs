//! Loading and saving JSON settings files safely.

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

/// What can go wrong with a settings file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "{path}: not valid settings JSON ({source}); fix or remove the file, letta leaves it untouched"
    )]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A FIFO, device or folder where a settings file should be.
    #[error("{path}: not a regular file; settings are read only from regular files")]
    NotAFile { path: PathBuf },
    /// A project's settings reached through a symbolic link: a repository (or a command) could
    /// point it at letta's global settings.
    #[error(
        "{path}: a symbolic link; a project's .letta settings must be regular files in the project (remove the link)"
    )]
    Linked { path: PathBuf },
    /// Bigger than any settings file should be.
    #[error("{path}: {size} bytes, more than a settings file may hold")]
    TooLarge { path: PathBuf, size: u64 },
    /// Valid JSON in a shape letta cannot edit.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: cannot read ({source})")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot write ({source})")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The largest settings file letta reads.
const MAX_SETTINGS_BYTES: u64 = 8 << 20;

/// Read a settings file; a missing (or empty) file is the default value.
pub fn load_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T, SettingsError> {
    // A FIFO or device in place of a settings file would hang the read, a huge file eat memory.
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(SettingsError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        Ok(m) if m.len() > MAX_SETTINGS_BYTES => {
            return Err(SettingsError::TooLarge {
                path: path.to_path_buf(),
                size: m.len(),
            });
        }
        _ => {}
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(T::default()),
        Err(source) => {
            return Err(SettingsError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(&text).map_err(|source| SettingsError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// Write a settings file atomically, pretty-printed, with `mode` on Unix.
pub(super) fn save_json<T: Serialize>(
    path: &Path,
    value: &T,
    mode: Option<u32>,
) -> Result<(), SettingsError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| SettingsError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    crate::settings::fsutil::write_atomic(path, text.as_bytes(), mode).map_err(|source| {
        SettingsError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}
