//! Which backend to talk to, from flags, the environment and settings (env wins).

use crate::settings::GlobalSettings;
use crate::settings::paths::server_key;

/// Which backend to use, overriding the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    Local,
    Remote,
}

/// Letta Cloud, used when a key is set without a base URL.
pub const LETTA_CLOUD_URL: &str = "https://api.letta.com";

/// Where agents live for this process.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// The embedded engine.
    Local,
    /// A Letta server.
    Remote {
        base_url: String,
        api_key: Option<String>,
    },
}

impl std::fmt::Debug for BackendChoice {
    // Hand-written so that the API key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local => f.write_str("Local"),
            Self::Remote { base_url, api_key } => f
                .debug_struct("Remote")
                .field("base_url", base_url)
                .field("api_key", &api_key.as_ref().map(|_| "<set>"))
                .finish(),
        }
    }
}

impl BackendChoice {
    /// Decide from `--backend`, then `LETTA_BASE_URL`/`LETTA_API_KEY` (env, then settings).
    pub fn resolve(
        flag: Option<BackendKind>,
        env: &dyn Fn(&str) -> Option<String>,
        settings: &GlobalSettings,
    ) -> Self {
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let base_url = non_empty(env("LETTA_BASE_URL"))
            .or_else(|| settings.letta_base_url().map(str::to_string));
        let api_key = non_empty(env("LETTA_API_KEY"))
            .or_else(|| settings.letta_api_key().map(str::to_string));
        let remote = || Self::Remote {
            base_url: base_url
                .clone()
                .unwrap_or_else(|| LETTA_CLOUD_URL.to_string()),
            api_key: api_key.clone(),
        };
        match flag {
            Some(BackendKind::Local) => Self::Local,
            Some(BackendKind::Remote) => remote(),
            None if base_url.is_some() || api_key.is_some() => remote(),
            None => Self::Local,
        }
    }

    /// The `sessionsByServer` key for this backend.
    pub fn server_key(&self) -> String {
        match self {
            Self::Local => server_key(None),
            Self::Remote { base_url, .. } => server_key(Some(base_url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn local_by_default() {
        let c = BackendChoice::resolve(None, &env_of(&[]), &GlobalSettings::default());
        assert_eq!(c, BackendChoice::Local);
        assert_eq!(c.server_key(), "local");
    }

    #[test]
    fn env_selects_remote_and_wins_over_settings() {
        let mut s = GlobalSettings::default();
        s.env
            .insert("LETTA_BASE_URL".into(), "http://settings:1".into());
        let c = BackendChoice::resolve(None, &env_of(&[("LETTA_BASE_URL", "http://env:2/")]), &s);
        assert_eq!(c.server_key(), "env:2");
        let c = BackendChoice::resolve(None, &env_of(&[]), &s);
        assert_eq!(c.server_key(), "settings:1");
    }

    #[test]
    fn key_alone_means_cloud() {
        let c = BackendChoice::resolve(
            None,
            &env_of(&[("LETTA_API_KEY", "sk-secret")]),
            &GlobalSettings::default(),
        );
        assert_eq!(c.server_key(), "api.letta.com");
        assert!(!format!("{c:?}").contains("sk-secret"));
    }

    #[test]
    fn flag_overrides() {
        let c = BackendChoice::resolve(
            Some(BackendKind::Local),
            &env_of(&[("LETTA_API_KEY", "k")]),
            &GlobalSettings::default(),
        );
        assert_eq!(c, BackendChoice::Local);
    }
}
