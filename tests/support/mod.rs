//! Shared test helpers. Each integration test picks what it needs.
#![allow(dead_code)]

pub mod bin;
pub mod chunks;
pub mod fixtures;
pub mod llm;
pub mod procstat;
pub mod provider;
pub mod proxy;
pub mod pty;
pub mod py_mcp;
pub mod real_llm;
pub mod replay;
pub mod seed;
pub mod servers;

use serde_json::Value;

/// Poll until `done` holds, for at most 30 s: for what the program under test writes in the
/// background (a file it remembers, a process it starts), which sends no event to await.
pub fn until(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// JSON with null-valued object keys removed: "missing" and "null" mean the same on this API.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}
