//! Which model a session uses: names given by the user resolved to full handles, and the
//! request that creates a new agent.

use crate::backend::Backend;
use crate::protocol::CreateAgent;

/// A new agent as this process would create it.
pub fn new_agent_request(model: Option<String>) -> CreateAgent {
    CreateAgent {
        name: Some("letta".into()),
        model,
        agent_type: Some("letta_v1_agent".into()),
        ..Default::default()
    }
}

/// A model named by `-m`: a full `provider/model` handle, or a short name that exactly one
/// listed handle ends with. An ambiguous name lists its candidates.
pub fn resolve_model(name: &str, handles: &[String]) -> Result<String, String> {
    if name.contains('/') {
        return Ok(name.to_string());
    }
    let hits: Vec<&String> = handles
        .iter()
        .filter(|h| h.rsplit_once('/').is_some_and(|(_, m)| m == name))
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "no configured provider has a model named {name:?}; `letta model list` shows the valid ones"
        )),
        many => Err(format!(
            "model {name:?} is ambiguous; use one of: {}",
            many.iter()
                .map(|h| h.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Resolve `-m` against the backend's models (only short names cost a listing).
pub async fn resolve_model_with(backend: &dyn Backend, name: &str) -> Result<String, String> {
    if name.contains('/') {
        return Ok(name.to_string());
    }
    let models = backend.list_models().await.map_err(|e| e.to_string())?;
    let handles: Vec<String> = models.into_iter().map(|m| m.handle).collect();
    resolve_model(name, &handles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handles() -> Vec<String> {
        [
            "openai/gpt-4.1-mini",
            "openai/gpt-4.1",
            "openrouter/gpt-4.1",
            "anthropic/claude-sonnet-4",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn short_names_resolve_when_unambiguous() {
        assert_eq!(
            resolve_model("gpt-4.1-mini", &handles()).unwrap(),
            "openai/gpt-4.1-mini"
        );
        assert_eq!(
            resolve_model("claude-sonnet-4", &handles()).unwrap(),
            "anthropic/claude-sonnet-4"
        );
        assert_eq!(resolve_model("x/y", &handles()).unwrap(), "x/y");
    }

    #[test]
    fn ambiguous_names_list_the_candidates() {
        let e = resolve_model("gpt-4.1", &handles()).unwrap_err();
        assert!(
            e.contains("ambiguous")
                && e.contains("openai/gpt-4.1")
                && e.contains("openrouter/gpt-4.1"),
            "{e}"
        );
        let e = resolve_model("gpt-5", &handles()).unwrap_err();
        assert!(e.contains("letta model list"), "{e}");
    }
}
