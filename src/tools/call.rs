//! One tool call as the model made it.

use serde_json::Value;

/// One client tool call, its arguments fully collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallInfo {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl ToolCallInfo {
    /// The arguments as JSON (an empty object when they are not valid JSON).
    pub fn args(&self) -> Value {
        serde_json::from_str(&self.arguments).unwrap_or_else(|_| Value::Object(Default::default()))
    }
}
