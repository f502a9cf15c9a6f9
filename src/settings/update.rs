//! The one way settings files are written: a typed edit applied under an advisory lock, as a
//! re-read, change and atomic write. Two `letta` processes that change one file at the same
//! moment keep both changes, and a symlinked file is written through its link.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::file::{SettingsError, load_json, save_json};

/// Where a write to `path` lands: the link's target when `path` is a symlink, so the user's
/// linked settings file stays a link.
fn through_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    // A few hops at most: a loop of links is left to fail at the write.
    for _ in 0..8 {
        match std::fs::read_link(&p) {
            Ok(target) => {
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                }
            }
            Err(_) => break,
        }
    }
    p
}

/// The lock beside a settings file: `.settings.json.lock` next to `settings.json`. The file
/// itself cannot carry the lock, since the atomic write replaces it.
fn lock_file(path: &Path) -> Result<File, SettingsError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "settings".into(), |n| n.to_string_lossy().into_owned());
    let write_err = |source| SettingsError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(write_err)?;
    let lock = dir.join(format!(".{name}.lock"));
    // Never through a link: one planted there would make letta create a file anywhere.
    let open = || {
        let mut o = OpenOptions::new();
        o.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, libc::O_NOFOLLOW);
        o.open(&lock)
    };
    let f = match open() {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            std::fs::remove_file(&lock).map_err(write_err)?;
            open()
        }
        other => other,
    }
    .map_err(write_err)?;
    f.lock().map_err(write_err)?;
    Ok(f)
}

/// Apply `edit` to the file at `path` (written with `mode` on Unix) under the lock: the file is
/// read afresh, changed, and written atomically. Blocks while another process holds the lock,
/// so call it off the UI thread (see [`update_async`]). A corrupt file is never overwritten.
pub fn update<T, R>(
    path: &Path,
    mode: Option<u32>,
    edit: impl FnOnce(&mut T) -> Result<R, SettingsError>,
) -> Result<R, SettingsError>
where
    T: Serialize + DeserializeOwned + Default,
{
    edit_at(&through_links(path), mode, edit)
}

/// [`update`] on the path itself: a link there is replaced by the written file, never followed
/// (for files a command in the project may have swapped for a link).
pub fn update_in_place<T, R>(
    path: &Path,
    mode: Option<u32>,
    edit: impl FnOnce(&mut T) -> Result<R, SettingsError>,
) -> Result<R, SettingsError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let linked = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if linked {
        return Err(SettingsError::Linked {
            path: path.to_path_buf(),
        });
    }
    edit_at(path, mode, edit)
}

fn edit_at<T, R>(
    target: &Path,
    mode: Option<u32>,
    edit: impl FnOnce(&mut T) -> Result<R, SettingsError>,
) -> Result<R, SettingsError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let _lock = lock_file(target)?;
    let mut value: T = load_json(target)?;
    let out = edit(&mut value)?;
    save_json(target, &value, mode)?;
    Ok(out)
}

/// [`update`] on the blocking pool, for async callers.
pub async fn update_async<T, R>(
    path: PathBuf,
    mode: Option<u32>,
    edit: impl FnOnce(&mut T) -> Result<R, SettingsError> + Send + 'static,
) -> Result<R, SettingsError>
where
    T: Serialize + DeserializeOwned + Default + Send + 'static,
    R: Send + 'static,
{
    let p = path.clone();
    tokio::task::spawn_blocking(move || update(&p, mode, edit))
        .await
        .map_err(|e| SettingsError::Write {
            path,
            source: std::io::Error::other(e.to_string()),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn threads_editing_at_once_keep_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::thread::scope(|s| {
            for t in 0..8 {
                let p = &p;
                s.spawn(move || {
                    for i in 0..10 {
                        update(p, None, |v: &mut Value| {
                            if !v.is_object() {
                                *v = json!({});
                            }
                            v[format!("k{t}-{i}")] = json!(true);
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        let v: Value = load_json(&p).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 80);
    }

    #[test]
    fn a_symlinked_file_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{\"a\": 1}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        update(&link, None, |v: &mut Value| {
            v["b"] = json!(2);
            Ok(())
        })
        .unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        let v: Value = load_json(&real).unwrap();
        assert_eq!(v, json!({"a": 1, "b": 2}));
    }

    #[test]
    fn a_corrupt_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, "{oops").unwrap();
        let r = update(&p, None, |v: &mut Value| {
            *v = json!({});
            Ok(())
        });
        assert!(matches!(r, Err(SettingsError::Corrupt { .. })));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{oops");
    }
}
