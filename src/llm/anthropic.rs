//! Anthropic's Messages API (`/v1/messages`), with thinking deltas as reasoning.

use std::collections::HashMap;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::http::{LazyClient, error_for, network, sse_events};
use super::openai::CompletionCheck;
use super::{
    ChatMessage, ChatRequest, LlmError, LlmEvent, LlmProvider, LlmStream, LlmUsage, ModelInfo,
};

const API_VERSION: &str = "2023-06-01";
const DEFAULT_MAX_TOKENS: u32 = 8192;

/// An Anthropic-compatible provider.
#[derive(Clone)]
pub struct AnthropicProvider {
    base_url: String,
    api_key: Option<String>,
    http: LazyClient,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// `base_url` without `/v1`, e.g. `https://api.anthropic.com`.
    pub fn new(base_url: &str, api_key: Option<String>) -> Self {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        Self {
            base_url: base.to_string(),
            api_key,
            http: LazyClient::default(),
        }
    }

    fn with_auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let r = r.header("anthropic-version", API_VERSION);
        match &self.api_key {
            Some(k) => r.header("x-api-key", k),
            None => r,
        }
    }
}

/// The JSON body of a streaming Messages request.
pub fn request_body(req: &ChatRequest) -> Value {
    let mut system = Vec::new();
    let mut messages: Vec<(String, Vec<Value>)> = Vec::new();
    let mut push = |role: &str, block: Value| match messages.last_mut() {
        Some((r, blocks)) if r == role => blocks.push(block),
        _ => messages.push((role.to_string(), vec![block])),
    };
    for m in &req.messages {
        match m {
            ChatMessage::System(t) => system.push(t.clone()),
            ChatMessage::User(t) => push("user", json!({"type": "text", "text": t})),
            ChatMessage::Assistant { text, tool_calls } => {
                if !text.is_empty() {
                    push("assistant", json!({"type": "text", "text": text}));
                }
                for c in tool_calls {
                    let input: Value = serde_json::from_str(&c.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    push(
                        "assistant",
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
            }
            ChatMessage::Tool {
                tool_call_id,
                content,
                ..
            } => push(
                "user",
                json!({"type": "tool_result", "tool_use_id": tool_call_id, "content": content}),
            ),
        }
    }
    let messages: Vec<Value> = messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
        "stream": true,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    body
}

/// Decodes Anthropic stream events; content blocks map to tool-call indexes.
#[derive(Debug, Default)]
pub struct EventMapper {
    tool_index: HashMap<u64, usize>,
    usage: LlmUsage,
}

impl EventMapper {
    /// Events for one SSE payload, or the error the stream carried.
    pub fn map(&mut self, v: &Value) -> Result<Vec<LlmEvent>, String> {
        let mut out = Vec::new();
        match v["type"].as_str().unwrap_or("") {
            "message_start" => {
                let u = &v["message"]["usage"];
                self.usage.prompt_tokens = u["input_tokens"].as_u64().unwrap_or(0);
                self.usage.cached_input_tokens = u["cache_read_input_tokens"].as_u64().unwrap_or(0);
            }
            "content_block_start" => {
                let block = &v["content_block"];
                if block["type"] == "tool_use" {
                    let next = self.tool_index.len();
                    let idx = v["index"].as_u64().unwrap_or(next as u64);
                    self.tool_index.insert(idx, next);
                    out.push(LlmEvent::ToolCallStart {
                        index: next,
                        id: block["id"].as_str().unwrap_or("").to_string(),
                        name: block["name"].as_str().unwrap_or("").to_string(),
                    });
                }
            }
            "content_block_delta" => {
                let d = &v["delta"];
                match d["type"].as_str().unwrap_or("") {
                    "text_delta" => {
                        out.push(LlmEvent::Text(d["text"].as_str().unwrap_or("").into()));
                    }
                    "thinking_delta" => out.push(LlmEvent::Reasoning(
                        d["thinking"].as_str().unwrap_or("").into(),
                    )),
                    "input_json_delta" => {
                        let idx = v["index"].as_u64().unwrap_or(0);
                        if let Some(&index) = self.tool_index.get(&idx) {
                            out.push(LlmEvent::ToolCallArgs {
                                index,
                                delta: d["partial_json"].as_str().unwrap_or("").into(),
                            });
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(n) = v["usage"]["output_tokens"].as_u64() {
                    self.usage.completion_tokens = n;
                }
                if let Some(r) = v["delta"]["stop_reason"].as_str() {
                    out.push(LlmEvent::Usage(self.usage));
                    out.push(LlmEvent::Done {
                        finish_reason: Some(r.to_string()),
                    });
                }
            }
            "error" => {
                return Err(v["error"]["message"]
                    .as_str()
                    .unwrap_or("error inside the stream")
                    .to_string());
            }
            _ => {}
        }
        out.retain(|e| !matches!(e, LlmEvent::Text(t) | LlmEvent::Reasoning(t) if t.is_empty()));
        Ok(out)
    }
}

#[async_trait]
impl LlmProvider for AnthropicProvider {
    async fn stream(&self, req: ChatRequest) -> Result<LlmStream, LlmError> {
        let url = format!("{}/v1/messages", self.base_url);
        let resp = self
            .with_auth(self.http.get().post(&url))
            .json(&request_body(&req))
            .send()
            .await
            .map_err(|e| network("anthropic", &url, e))?;
        if !resp.status().is_success() {
            return Err(error_for("anthropic", "ANTHROPIC_API_KEY", &req.model, resp).await);
        }
        let mut mapper = EventMapper::default();
        let stream = sse_events("anthropic".into(), resp).flat_map(move |ev| {
            let items: Vec<Result<LlmEvent, LlmError>> = match ev {
                Err(e) => vec![Err(e)],
                Ok(ev) => match serde_json::from_str::<Value>(&ev.data) {
                    Ok(v) => match mapper.map(&v) {
                        Ok(evs) => evs.into_iter().map(Ok).collect(),
                        Err(detail) => vec![Err(LlmError::Server {
                            provider: "anthropic".into(),
                            status: 200,
                            detail,
                        })],
                    },
                    Err(e) => vec![Err(LlmError::BadResponse {
                        provider: "anthropic".into(),
                        detail: e.to_string(),
                    })],
                },
            };
            futures_util::stream::iter(items)
        });
        Ok(CompletionCheck::wrap(Box::pin(stream), "anthropic".into()))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let url = format!("{}/v1/models", self.base_url);
        let resp = self
            .with_auth(self.http.get().get(&url))
            .send()
            .await
            .map_err(|e| network("anthropic", &url, e))?;
        if !resp.status().is_success() {
            return Err(error_for("anthropic", "ANTHROPIC_API_KEY", "", resp).await);
        }
        let v: Value = resp.json().await.map_err(|e| LlmError::BadResponse {
            provider: "anthropic".into(),
            detail: e.to_string(),
        })?;
        Ok(v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some(ModelInfo {
                    id: m["id"].as_str()?.to_string(),
                    context_window: None,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolCall;

    #[test]
    fn merges_roles_and_maps_tools() {
        let req = ChatRequest {
            model: "claude".into(),
            messages: vec![
                ChatMessage::System("sys".into()),
                ChatMessage::User("hi".into()),
                ChatMessage::Assistant {
                    text: "let me".into(),
                    tool_calls: vec![ToolCall {
                        id: "t1".into(),
                        name: "Read".into(),
                        arguments: "not json".into(),
                    }],
                },
                ChatMessage::Tool {
                    tool_call_id: "t1".into(),
                    name: "Read".into(),
                    content: "data".into(),
                },
                ChatMessage::User("next".into()),
            ],
            tools: vec![],
            max_tokens: None,
            temperature: None,
        };
        let b = request_body(&req);
        assert_eq!(b["system"], "sys");
        assert_eq!(b["messages"].as_array().unwrap().len(), 3);
        assert_eq!(b["messages"][1]["content"][1]["input"], json!({}));
        assert_eq!(b["messages"][2]["content"][0]["type"], "tool_result");
        assert_eq!(b["messages"][2]["content"][1]["text"], "next");
    }

    #[test]
    fn maps_stream_events() {
        let mut m = EventMapper::default();
        let evs: Vec<LlmEvent> = [
            json!({"type":"message_start","message":{"usage":{"input_tokens":9}}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}),
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu","name":"LS"}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}),
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}}),
        ]
        .iter()
        .flat_map(|v| m.map(v).unwrap())
        .collect();
        assert_eq!(evs[0], LlmEvent::Reasoning("hmm".into()));
        assert!(matches!(&evs[1], LlmEvent::ToolCallStart { index: 0, name, .. } if name == "LS"));
        assert!(
            matches!(&evs[3], LlmEvent::Usage(u) if u.prompt_tokens == 9 && u.completion_tokens == 4)
        );
        assert!(
            m.map(&json!({"type":"error","error":{"message":"overloaded"}}))
                .is_err()
        );
    }
}
