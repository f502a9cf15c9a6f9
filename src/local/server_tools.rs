//! Tools the engine runs itself: memory edits and conversation search.

use serde_json::{Value, json};

use super::store::{Handle, Store, StoreResult};
use crate::llm::ToolSpec;

/// Names of the server tools.
pub const NAMES: &[&str] = &[
    "memory_replace",
    "memory_insert",
    "memory_rethink",
    "conversation_search",
];

/// Whether a tool name is one the engine runs.
pub fn is_server_tool(name: &str) -> bool {
    NAMES.contains(&name)
}

/// The schemas the model sees.
pub fn specs() -> Vec<ToolSpec> {
    let label = json!({"type": "string", "description": "Label of the memory block to change, e.g. human or persona."});
    vec![
        ToolSpec {
            name: "memory_replace".into(),
            description: "Replace one exact occurrence of old_string with new_string in a memory block. The old text must appear exactly once.".into(),
            parameters: json!({"type": "object", "properties": {
                "label": label,
                "old_string": {"type": "string", "description": "Exact text currently in the block."},
                "new_string": {"type": "string", "description": "Text to put in its place (may be empty to delete)."}},
                "required": ["label", "old_string", "new_string"]}),
        },
        ToolSpec {
            name: "memory_insert".into(),
            description: "Insert text into a memory block after a given line (0 = at the top, -1 = at the end).".into(),
            parameters: json!({"type": "object", "properties": {
                "label": label,
                "new_string": {"type": "string", "description": "Text to insert."},
                "insert_line": {"type": "integer", "description": "Line after which to insert; -1 (default) appends."}},
                "required": ["label", "new_string"]}),
        },
        ToolSpec {
            name: "memory_rethink".into(),
            description: "Rewrite a memory block completely with new_memory (a block that does not exist yet is created). Use it to reorganise a block or start a new one, not for small edits.".into(),
            parameters: json!({"type": "object", "properties": {
                "label": label,
                "new_memory": {"type": "string", "description": "The block's complete new text."}},
                "required": ["label", "new_memory"]}),
        },
        ToolSpec {
            name: "conversation_search".into(),
            description: "Search the text of all past conversations with this user. Returns matching messages with their conversation id and date.".into(),
            parameters: json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "Words to look for."},
                "limit": {"type": "integer", "description": "Maximum number of results (default 10)."}},
                "required": ["query"]}),
        },
    ]
}

/// Run a server tool: memory edits on the writer (each reads the block it changes), search on
/// the reader. The inner `Ok` is the tool's answer, `Err` an error message for the model; the
/// outer error is the store failing, which ends the run.
pub async fn run(
    store: &Handle,
    agent_id: &str,
    name: &str,
    arguments: &str,
) -> StoreResult<Result<String, String>> {
    let args: Value = if arguments.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str(arguments) {
            Ok(v) => v,
            Err(e) => return Ok(Err(format!("arguments are not valid JSON: {e}"))),
        }
    };
    let (agent_id, name) = (agent_id.to_string(), name.to_string());
    match name.as_str() {
        "memory_replace" | "memory_insert" | "memory_rethink" => {
            store
                .write(move |st| Ok(edit_memory(st, &agent_id, &name, &args)))
                .await
        }
        "conversation_search" => store.read(move |st| Ok(search(st, &agent_id, &args))).await,
        other => Ok(Err(format!("unknown server tool {other:?}"))),
    }
}

fn string_arg(args: &Value, k: &str) -> Result<String, String> {
    args.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("missing string argument {k:?}"))
}

fn edit_memory(
    store: &mut Store,
    agent_id: &str,
    name: &str,
    args: &Value,
) -> Result<String, String> {
    let s = |k: &str| string_arg(args, k);
    let label = s("label")?;
    let block = match store.block(agent_id, &label) {
        // Inserting into or rewriting a block that is not there yet creates it.
        Err(crate::local::store::StoreError::NotFound(_)) if name != "memory_replace" => store
            .add_block(agent_id, &label, "", "Created by the agent.")
            .map_err(|e| e.to_string())?,
        other => other.map_err(|e| e.to_string())?,
    };
    if block.read_only == Some(true) {
        return Err(format!("block {label:?} is read-only"));
    }
    let new_value = match name {
        "memory_replace" => {
            let old = s("old_string")?;
            let new = s("new_string")?;
            if old.is_empty() {
                return Err("old_string must not be empty".into());
            }
            match block.value.matches(&old).count() {
                0 => return Err(format!("old_string was not found in block {label:?}")),
                1 => block.value.replacen(&old, &new, 1),
                n => {
                    return Err(format!(
                        "old_string occurs {n} times in block {label:?}; include more context so it is unique"
                    ));
                }
            }
        }
        "memory_insert" => {
            let new = s("new_string")?;
            let at = args
                .get("insert_line")
                .and_then(Value::as_i64)
                .unwrap_or(-1);
            let mut lines: Vec<&str> = if block.value.is_empty() {
                Vec::new()
            } else {
                block.value.lines().collect()
            };
            let pos = if at < 0 {
                lines.len()
            } else {
                (at as usize).min(lines.len())
            };
            lines.insert(pos, &new);
            lines.join("\n")
        }
        _ => s("new_memory")?,
    };
    store
        .update_block(agent_id, &label, Some(&new_value), None, None)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "Memory block {label:?} updated ({} characters).",
        new_value.chars().count()
    ))
}

fn search(store: &Store, agent_id: &str, args: &Value) -> Result<String, String> {
    let query = string_arg(args, "query")?;
    let limit = args
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(10)
        .clamp(1, 100) as u32;
    let hits = store
        .search_messages(Some(agent_id), &query, limit)
        .map_err(|e| e.to_string())?;
    let results: Vec<Value> = hits
        .iter()
        .map(|h| json!({"conversation_id": h.conversation_id, "date": h.created_at, "role": h.role, "text": h.text}))
        .collect();
    Ok(json!({"query": query, "count": results.len(), "results": results}).to_string())
}
