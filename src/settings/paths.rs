//! Where letta keeps its files. `LETTA_HOME` overrides everything, which is how tests isolate.

use std::path::{Path, PathBuf};

/// The three directories letta uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Settings (`settings.json`, secrets).
    pub config: PathBuf,
    /// The SQLite store, input history and logs.
    pub data: PathBuf,
    /// Downloaded or rebuildable things (the offline model).
    pub cache: PathBuf,
}

/// No home directory could be determined and `LETTA_HOME` is not set.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory; set LETTA_HOME to a folder letta may use")]
pub struct NoHomeDir;

impl Paths {
    /// Paths from the environment: `LETTA_HOME` if set and non-empty, else the platform dirs.
    pub fn from_env() -> Result<Self, NoHomeDir> {
        match std::env::var_os("LETTA_HOME") {
            Some(home) if !home.is_empty() => Ok(Self::under(Path::new(&home))),
            _ => {
                let dirs = directories::ProjectDirs::from("", "", "letta").ok_or(NoHomeDir)?;
                Ok(Self {
                    config: dirs.config_dir().to_path_buf(),
                    data: dirs.data_dir().to_path_buf(),
                    cache: dirs.cache_dir().to_path_buf(),
                })
            }
        }
    }

    /// All three directories inside one folder.
    pub fn under(home: &Path) -> Self {
        Self {
            config: home.to_path_buf(),
            data: home.join("data"),
            cache: home.join("cache"),
        }
    }

    /// A folder of the user's own beside the global settings (`skills/`, `agents/`), from
    /// the environment as [`Paths::from_env`] reads it.
    pub fn user_folder(name: &str) -> Option<PathBuf> {
        Self::from_env().ok().map(|p| p.config.join(name))
    }

    /// The global settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
    }

    /// The embedded engine's database.
    pub fn database_file(&self) -> PathBuf {
        self.data.join("letta.db")
    }

    /// Where logs go; never the screen.
    pub fn log_file(&self) -> PathBuf {
        self.data.join("letta.log")
    }
}

/// The key of `sessionsByServer`: the base URL without scheme and trailing slash, or `local`.
pub fn server_key(base_url: Option<&str>) -> String {
    let Some(url) = base_url else {
        return "local".to_string();
    };
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    // Credentials in the URL never go into a settings file that may be committed.
    let rest = match rest.split_once('@') {
        Some((userinfo, host)) if !userinfo.contains('/') => host,
        _ => rest,
    };
    rest.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys() {
        assert_eq!(server_key(None), "local");
        assert_eq!(server_key(Some("https://api.letta.com")), "api.letta.com");
        assert_eq!(server_key(Some("http://localhost:8283/")), "localhost:8283");
        assert_eq!(server_key(Some("http://h:1/base//")), "h:1/base");
    }

    #[test]
    fn letta_home_layout() {
        let p = Paths::under(Path::new("/tmp/x"));
        assert_eq!(p.settings_file(), Path::new("/tmp/x/settings.json"));
        assert_eq!(p.database_file(), Path::new("/tmp/x/data/letta.db"));
    }
}
