//! Which providers are configured, from the environment (which wins) and settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{AnthropicProvider, LlmProvider, OpenAiProvider};
use crate::settings::GlobalSettings;

/// The wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
}

/// A configured provider, with where its values came from (for `letta connect --list`).
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSpec {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub api_key: Option<String>,
    /// The variable a user would set to fix a rejected key.
    pub key_var: String,
    /// Where the base URL came from: `env`, `settings` or `default`.
    pub source: &'static str,
}

impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("source", &self.source)
            .finish()
    }
}

/// What to tell a user who has no provider at all.
pub const NO_PROVIDER_HELP: &str = "no LLM provider is configured for the embedded engine. Set \
OPENAI_API_KEY (and OPENAI_BASE_URL for any OpenAI-compatible server), ANTHROPIC_API_KEY, or \
OLLAMA_BASE_URL; or run `letta connect openai|anthropic|ollama|local`; or point LETTA_BASE_URL \
at a Letta server";

/// The configured providers by name.
/// Saved providers by name, and those letta starts itself.
type Saved = (
    BTreeMap<String, ProviderSpec>,
    Vec<(String, Arc<dyn LlmProvider>)>,
);

#[derive(Clone, Default)]
pub struct ProviderRegistry {
    specs: BTreeMap<String, ProviderSpec>,
    built: BTreeMap<String, Arc<dyn LlmProvider>>,
    /// Where each provider's key came from (`env` or `settings`), for `letta connect --list`.
    key_sources: BTreeMap<String, &'static str>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.specs.values()).finish()
    }
}

impl ProviderRegistry {
    /// The providers saved in settings (keys named by `apiKeyEnv` read through `get`), and the
    /// ones letta starts itself.
    fn saved(settings: &GlobalSettings, get: &dyn Fn(&str) -> Option<String>) -> Saved {
        let mut specs = BTreeMap::new();
        let mut managed: Vec<(String, Arc<dyn LlmProvider>)> = Vec::new();
        for (name, p) in &settings.providers {
            if p.extra.get("kind").and_then(|k| k.as_str()) == Some(crate::llm::local_model::KIND) {
                // The offline model: started on first use.
                if let Some(m) = crate::llm::local_model::LocalModel::from_config(&p.extra) {
                    managed.push((name.clone(), Arc::new(m)));
                }
                continue;
            }
            let kind = if name == "anthropic"
                || p.extra.get("kind").and_then(|k| k.as_str()) == Some("anthropic")
            {
                ProviderKind::Anthropic
            } else {
                ProviderKind::OpenAi
            };
            let key = p
                .api_key_env
                .as_deref()
                .and_then(get)
                .or_else(|| p.api_key.clone());
            let default_url = match name.as_str() {
                "anthropic" => "https://api.anthropic.com",
                "ollama" => "http://localhost:11434/v1",
                _ => "https://api.openai.com/v1",
            };
            specs.insert(
                name.clone(),
                ProviderSpec {
                    name: name.clone(),
                    kind,
                    base_url: p.base_url.clone().unwrap_or_else(|| default_url.into()),
                    api_key: key,
                    key_var: p
                        .api_key_env
                        .clone()
                        .unwrap_or_else(|| "the saved key".into()),
                    source: "settings",
                },
            );
        }
        (specs, managed)
    }

    /// Providers from `env` (wins) and `settings.providers`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>, settings: &GlobalSettings) -> Self {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let (mut specs, managed) = Self::saved(settings, &get);
        // The environment overrides field by field: a saved key stays when only the URL is
        // set there, and a saved URL stays when only the key is.
        let mut key_sources: BTreeMap<String, &'static str> = specs
            .iter()
            .filter(|(_, s)| s.api_key.is_some())
            .map(|(n, _)| (n.clone(), "settings"))
            .collect();
        for (name, kind, url_var, key_var, default_url) in [
            (
                "openai",
                ProviderKind::OpenAi,
                "OPENAI_BASE_URL",
                "OPENAI_API_KEY",
                "https://api.openai.com/v1",
            ),
            (
                "anthropic",
                ProviderKind::Anthropic,
                "ANTHROPIC_BASE_URL",
                "ANTHROPIC_API_KEY",
                "https://api.anthropic.com",
            ),
        ] {
            let (url, key) = (get(url_var), get(key_var));
            if url.is_none() && key.is_none() {
                continue;
            }
            let spec = specs
                .entry(name.to_string())
                .or_insert_with(|| ProviderSpec {
                    name: name.into(),
                    kind,
                    base_url: default_url.into(),
                    api_key: None,
                    key_var: key_var.into(),
                    source: "default",
                });
            if let Some(u) = url {
                spec.base_url = u;
                spec.source = "env";
            }
            if let Some(k) = key {
                spec.api_key = Some(k);
                spec.key_var = key_var.into();
                key_sources.insert(name.to_string(), "env");
            }
        }
        if let Some(url) = get("OLLAMA_BASE_URL") {
            let url = url.trim_end_matches('/');
            let url = if url.ends_with("/v1") {
                url.to_string()
            } else {
                format!("{url}/v1")
            };
            specs.insert(
                "ollama".into(),
                ProviderSpec {
                    name: "ollama".into(),
                    kind: ProviderKind::OpenAi,
                    base_url: url,
                    api_key: None,
                    key_var: "OLLAMA_BASE_URL".into(),
                    source: "env",
                },
            );
        }
        let mut reg = Self::from_specs(specs.into_values().collect());
        reg.key_sources = key_sources;
        for (name, p) in managed {
            if !reg.specs.contains_key(&name) {
                reg.insert(&name, p);
                if let Some(s) = reg.specs.get_mut(&name) {
                    s.base_url = "127.0.0.1 (started by letta)".into();
                    s.source = "settings";
                }
            }
        }
        reg
    }

    /// A registry of exactly these providers.
    pub fn from_specs(specs: Vec<ProviderSpec>) -> Self {
        let mut reg = Self::default();
        for s in specs {
            let p: Arc<dyn LlmProvider> = match s.kind {
                ProviderKind::OpenAi => Arc::new(OpenAiProvider::new(
                    &s.name,
                    &s.base_url,
                    s.api_key.clone(),
                    &s.key_var,
                )),
                ProviderKind::Anthropic => {
                    Arc::new(AnthropicProvider::new(&s.base_url, s.api_key.clone()))
                }
            };
            reg.built.insert(s.name.clone(), p);
            reg.specs.insert(s.name.clone(), s);
        }
        reg
    }

    /// Add a provider built elsewhere (an in-process one for tests and benchmarks).
    pub fn insert(&mut self, name: &str, provider: Arc<dyn LlmProvider>) {
        self.specs.insert(
            name.to_string(),
            ProviderSpec {
                name: name.to_string(),
                kind: ProviderKind::OpenAi,
                base_url: String::new(),
                api_key: None,
                key_var: String::new(),
                source: "code",
            },
        );
        self.built.insert(name.to_string(), provider);
    }

    /// Whether any provider is configured.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The configured providers.
    pub fn specs(&self) -> impl Iterator<Item = &ProviderSpec> {
        self.specs.values()
    }

    /// Where a provider's key came from, if it has one.
    pub fn key_source(&self, name: &str) -> Option<&'static str> {
        self.key_sources.get(name).copied()
    }

    /// The provider of a `provider/model` handle, and the model id to send it.
    pub fn resolve(&self, handle: &str) -> Result<(Arc<dyn LlmProvider>, String), String> {
        if self.specs.is_empty() {
            return Err(NO_PROVIDER_HELP.to_string());
        }
        let Some((provider, model)) = handle.split_once('/') else {
            return Err(format!(
                "model {handle:?} is not a provider/model handle; `letta model list` shows the valid ones"
            ));
        };
        match self.built.get(provider) {
            Some(p) if !model.is_empty() => Ok((p.clone(), model.to_string())),
            Some(_) => Err(format!(
                "model {handle:?} names no model after the provider"
            )),
            None => Err(format!(
                "model {handle:?} needs provider {provider:?}, which is not configured (configured: {}); `letta model list` shows the valid ones",
                self.specs.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The built provider of a configured name.
    pub fn provider(&self, name: &str) -> Option<Arc<dyn LlmProvider>> {
        self.built.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_configures_providers() {
        let env = |k: &str| match k {
            "OPENAI_BASE_URL" => Some("http://127.0.0.1:1/v1".to_string()),
            "OLLAMA_BASE_URL" => Some("http://h:11434/".to_string()),
            _ => None,
        };
        let r = ProviderRegistry::from_env(&env, &GlobalSettings::default());
        assert!(r.resolve("openai/gpt-x").is_ok());
        assert_eq!(
            r.specs().find(|s| s.name == "ollama").unwrap().base_url,
            "http://h:11434/v1"
        );
        let err = r.resolve("anthropic/claude").err().unwrap();
        assert!(err.contains("not configured"), "{err}");
        assert!(r.resolve("nohandle").is_err());
    }

    #[test]
    fn empty_registry_explains_the_fix() {
        let r = ProviderRegistry::from_env(&|_| None, &GlobalSettings::default());
        let err = r.resolve("openai/x").err().unwrap();
        assert!(
            err.contains("OPENAI_API_KEY") && err.contains("letta connect"),
            "{err}"
        );
    }
}
