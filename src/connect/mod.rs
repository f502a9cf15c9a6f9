//! Connecting letta to a model provider or a Letta server: check the connection, explain a
//! failure in one line, save it (settings are 0600 and written atomically), list what is
//! configured with keys masked, and resolve short model names.

pub mod local;

use std::path::Path;

use crate::backend::Backend;
use crate::llm::{LlmError, ProviderKind, ProviderRegistry, ProviderSpec};
use crate::settings::{GlobalSettings, SettingsError};

/// What can be connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    OpenAi,
    Anthropic,
    Ollama,
    Letta,
    Local,
}

impl Target {
    /// Parse a provider name as typed after `letta connect`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" => Self::OpenAi,
            "anthropic" | "claude" => Self::Anthropic,
            "ollama" => Self::Ollama,
            "letta" | "letta-cloud" | "cloud" => Self::Letta,
            "local" => Self::Local,
            _ => return None,
        })
    }

    /// The provider name used in handles (`openai/gpt-4.1`).
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Ollama => "ollama",
            Self::Letta => "letta",
            Self::Local => "local",
        }
    }

    /// The base URL used when none is given.
    pub fn default_url(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Anthropic => "https://api.anthropic.com",
            Self::Ollama => "http://localhost:11434/v1",
            Self::Letta => "https://api.letta.com",
            Self::Local => "http://127.0.0.1:8765/v1",
        }
    }

    /// The variable a key is usually kept in.
    pub fn key_var(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("OPENAI_API_KEY"),
            Self::Anthropic => Some("ANTHROPIC_API_KEY"),
            Self::Letta => Some("LETTA_API_KEY"),
            Self::Ollama | Self::Local => None,
        }
    }
}

/// Connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The check failed; the text is one line saying why.
    #[error("{0}")]
    Check(String),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// A secret as it may be shown: only its last 4 characters.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 4 {
        return "****".into();
    }
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("…{tail}")
}

/// A base URL as typed, checked before anything is sent: `http(s)://host…`, or why not.
pub fn valid_url(text: &str) -> Result<String, String> {
    let t = text.trim();
    match reqwest::Url::parse(t) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(t.trim_end_matches('/').to_string())
        }
        Ok(u) => Err(format!(
            "{t:?} is not a web address (it starts with {}:, not http:// or https://)",
            u.scheme()
        )),
        Err(_) => Err(format!(
            "{t:?} is not a URL; it looks like https://api.example.com/v1"
        )),
    }
}

/// A failed check in one line.
pub fn explain(e: &LlmError, url: &str) -> String {
    let url = &crate::settings::mask_url(url);
    match e {
        LlmError::Auth { .. } => "the key was rejected".into(),
        LlmError::Unreachable { why, .. } => format!("cannot reach {url}: {why}"),
        LlmError::Network { detail, .. } => format!("cannot reach {url}: {detail}"),
        LlmError::Server { status: 404, .. } => {
            format!("{url} does not look like an OpenAI-compatible endpoint (no /models)")
        }
        other => other.to_string(),
    }
}

/// The provider spec `target` would be saved as.
pub fn spec(target: Target, base_url: Option<&str>, api_key: Option<String>) -> ProviderSpec {
    let mut url = base_url
        .unwrap_or(target.default_url())
        .trim_end_matches('/')
        .to_string();
    if target == Target::Ollama && !url.ends_with("/v1") {
        url.push_str("/v1");
    }
    ProviderSpec {
        name: target.name().into(),
        kind: if target == Target::Anthropic {
            ProviderKind::Anthropic
        } else {
            ProviderKind::OpenAi
        },
        base_url: url,
        api_key,
        key_var: target.key_var().unwrap_or("the saved key").into(),
        source: "settings",
    }
}

/// Check a provider by listing its models; the model ids on success.
pub async fn check_provider(spec: &ProviderSpec) -> Result<Vec<String>, String> {
    let reg = ProviderRegistry::from_specs(vec![spec.clone()]);
    let Some(p) = reg.provider(&spec.name) else {
        return Err(format!("provider {} could not be set up", spec.name));
    };
    match p.list_models().await {
        Ok(models) => Ok(models.into_iter().map(|m| m.id).collect()),
        Err(e) => Err(explain(&e, &spec.base_url)),
    }
}

/// Check a Letta server: the key must be accepted for listing agents.
pub async fn check_letta(base_url: &str, api_key: Option<String>) -> Result<(), String> {
    let client = crate::remote::RemoteClient::new(base_url, api_key);
    let base_url = &crate::settings::mask_url(base_url);
    let q = crate::backend::AgentQuery {
        page: crate::protocol::ListParams::latest(1),
        name: None,
    };
    match client.list_agents(q).await {
        Ok(_) => Ok(()),
        Err(crate::backend::BackendError::Unauthorized(_)) => Err("the key was rejected".into()),
        Err(e) if e.http_status() == 403 => Err("the key was rejected".into()),
        Err(crate::backend::BackendError::Unreachable(why)) => Err(why),
        Err(e) => Err(format!("{base_url} did not answer as a Letta server: {e}")),
    }
}

/// Whether `letta` has something to talk to: a Letta server, or a provider for the embedded
/// engine.
pub fn anything_configured(
    choice: &crate::settings::BackendChoice,
    env: &dyn Fn(&str) -> Option<String>,
    settings: &GlobalSettings,
) -> bool {
    !matches!(choice, crate::settings::BackendChoice::Local)
        || !ProviderRegistry::from_env(env, settings).is_empty()
}

/// Save a checked provider (and, when none is set yet, its first model as the default).
pub fn save_provider(
    settings_file: &Path,
    spec: &ProviderSpec,
    api_key_env: Option<&str>,
    default_model: Option<&str>,
) -> Result<(), ConnectError> {
    GlobalSettings::update(settings_file, |s| {
        let mut cfg = s.providers.remove(&spec.name).unwrap_or_default();
        cfg.base_url = Some(spec.base_url.clone());
        if let Some(var) = api_key_env {
            cfg.api_key_env = Some(var.to_string());
            cfg.api_key = None;
        } else {
            cfg.api_key.clone_from(&spec.api_key);
            cfg.api_key_env = None;
        }
        if spec.kind == ProviderKind::Anthropic && spec.name != "anthropic" {
            cfg.extra.insert("kind".into(), "anthropic".into());
        }
        s.providers.insert(spec.name.clone(), cfg);
        if let Some(m) = default_model
            && s.default_model.is_none()
        {
            s.default_model = Some(m.to_string());
        }
        Ok(())
    })?;
    Ok(())
}

/// Save a Letta server as the backend (in `env`, as Letta Code keeps it).
pub fn save_letta(
    settings_file: &Path,
    base_url: &str,
    api_key: Option<&str>,
) -> Result<(), ConnectError> {
    GlobalSettings::update(settings_file, |s| {
        s.env.insert("LETTA_BASE_URL".into(), base_url.to_string());
        match api_key {
            Some(k) => s.env.insert("LETTA_API_KEY".into(), k.to_string()),
            None => s.env.remove("LETTA_API_KEY"),
        };
        Ok(())
    })?;
    Ok(())
}

/// `letta connect --list`: one line per configured thing, keys masked, with the source.
pub fn list_lines(env: &dyn Fn(&str) -> Option<String>, settings: &GlobalSettings) -> Vec<String> {
    let mut out = Vec::new();
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let (url, url_src) = match (get("LETTA_BASE_URL"), settings.letta_base_url()) {
        (Some(u), _) => (Some(u), "env LETTA_BASE_URL"),
        (None, Some(u)) => (Some(u.to_string()), "settings"),
        _ => (None, ""),
    };
    let (key, key_src) = match (get("LETTA_API_KEY"), settings.letta_api_key()) {
        (Some(k), _) => (Some(k), "env LETTA_API_KEY"),
        (None, Some(k)) => (Some(k.to_string()), "settings"),
        _ => (None, ""),
    };
    if url.is_some() || key.is_some() {
        out.push(format!(
            "letta      {}  key {}  (url from {}, key from {})",
            crate::settings::mask_url(url.as_deref().unwrap_or("https://api.letta.com")),
            key.as_deref().map_or_else(|| "none".into(), mask),
            if url_src.is_empty() {
                "default"
            } else {
                url_src
            },
            if key_src.is_empty() {
                "nowhere"
            } else {
                key_src
            },
        ));
    }
    let reg = ProviderRegistry::from_env(env, settings);
    for s in reg.specs() {
        let key_from = match reg.key_source(&s.name) {
            Some("env") => format!("env {}", s.key_var),
            _ => match settings
                .providers
                .get(&s.name)
                .and_then(|p| p.api_key_env.clone())
            {
                Some(var) => format!("env {var} (named in settings)"),
                None => "settings".into(),
            },
        };
        let url_from = match s.source {
            "env" => format!("env {}_BASE_URL", s.name.to_uppercase()),
            other => other.to_string(),
        };
        out.push(format!(
            "{:<10} {}  key {}  (url from {url_from}{})",
            s.name,
            crate::settings::mask_url(&s.base_url),
            s.api_key.as_deref().map_or_else(|| "none".into(), mask),
            if s.api_key.is_some() {
                format!(", key from {key_from}")
            } else {
                String::new()
            },
        ));
    }
    if let Some(m) = &settings.default_model {
        out.push(format!("default model: {m}"));
    }
    if out.is_empty() {
        out.push(
            "nothing is configured; run `letta connect openai|anthropic|ollama|letta|local`".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_use() {
        assert_eq!(valid_url(" https://x.io/v1/ ").unwrap(), "https://x.io/v1");
        assert!(valid_url("not a url").unwrap_err().contains("is not a URL"));
        assert!(
            valid_url("ftp://x")
                .unwrap_err()
                .contains("not http:// or https://")
        );
    }

    #[test]
    fn keys_are_masked_to_the_last_four() {
        assert_eq!(mask("sk-abcdef123456"), "…3456");
        assert_eq!(mask("abc"), "****");
    }
}
