//! Which model a session uses: names given by the user resolved to full handles, and the
//! request that creates a new agent.

use std::path::Path;

use crate::backend::Backend;
use crate::protocol::CreateAgent;

/// A new agent as this process would create it, on either backend: our base instructions and
/// `persona`/`human` blocks, and a name that tells agents apart (the project folder's name and
/// a short id).
pub fn new_agent_request(model: Option<String>, cwd: &Path) -> CreateAgent {
    let folder: String = cwd
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let folder = if folder.is_empty() {
        "letta".to_string()
    } else {
        folder
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    CreateAgent {
        name: Some(format!("{folder}-{}", &id[..6])),
        model,
        agent_type: Some("letta_v1_agent".into()),
        system: Some(crate::local::prompt::BASE_INSTRUCTIONS.to_string()),
        memory_blocks: Some(crate::local::prompt::default_blocks()),
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

/// A model named by the user, resolved (short names) and, when `check`, verified against the
/// backend's list so a typo is refused with the models that exist instead of being saved.
pub async fn checked_model(
    backend: &dyn Backend,
    name: &str,
    check: bool,
) -> Result<String, String> {
    let handle = resolve_model_with(backend, name).await?;
    if !check {
        return Ok(handle);
    }
    let Ok(models) = backend.list_models().await else {
        return Ok(handle);
    };
    let handles: Vec<String> = models.into_iter().map(|m| m.handle).collect();
    if handles.is_empty() || handles.contains(&handle) {
        return Ok(handle);
    }
    let shown: Vec<&str> = handles.iter().take(12).map(String::as_str).collect();
    Err(format!(
        "there is no model {handle:?}; the models are: {}{}",
        shown.join(", "),
        if handles.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    ))
}

/// The first model the backend offers, for an agent no one named a model for.
pub async fn first_model(backend: &dyn Backend) -> Option<String> {
    backend
        .list_models()
        .await
        .ok()?
        .into_iter()
        .next()
        .map(|m| m.handle)
}

/// The id of the agent called `name` (`-n`): a pinned one first, else any with exactly that
/// name; several of the same name are listed so the user can pick by id.
pub async fn agent_named(
    backend: &dyn Backend,
    name: &str,
    settings_file: &std::path::Path,
) -> Result<String, String> {
    let query = crate::backend::AgentQuery {
        page: crate::protocol::ListParams::latest(100),
        name: Some(name.to_string()),
    };
    let agents = backend
        .list_agents(query)
        .await
        .map_err(|e| format!("could not list agents: {e}"))?;
    let exact: Vec<_> = agents
        .into_iter()
        .filter(|a| a.name.eq_ignore_ascii_case(name))
        .collect();
    let pins = super::query::pins(settings_file, &backend.location());
    let pinned: Vec<_> = exact.iter().filter(|a| pins.contains(&a.id)).collect();
    let pool: Vec<_> = if pinned.is_empty() {
        exact.iter().collect()
    } else {
        pinned
    };
    match pool.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(format!(
            "no agent is named {name:?}; `letta agents list` shows them, /agents pins one"
        )),
        many => Err(format!(
            "{} agents are named {name:?}: {}; pick one with --agent ID",
            many.len(),
            many.iter()
                .map(|a| a.id.as_str())
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
