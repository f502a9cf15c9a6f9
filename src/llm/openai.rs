//! Any OpenAI-compatible `/v1/chat/completions` endpoint: OpenAI, Ollama, vLLM, llama.cpp, LM
//! Studio, OpenRouter…

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::http::{LazyClient, error_for, network, sse_events};
use super::{
    ChatMessage, ChatRequest, LlmError, LlmEvent, LlmProvider, LlmStream, LlmUsage, ModelInfo,
};

/// An OpenAI-compatible provider.
#[derive(Clone)]
pub struct OpenAiProvider {
    name: String,
    base_url: String,
    api_key: Option<String>,
    key_var: String,
    http: LazyClient,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// `base_url` includes the `/v1` part, e.g. `https://api.openai.com/v1`.
    pub fn new(name: &str, base_url: &str, api_key: Option<String>, key_var: &str) -> Self {
        Self {
            name: name.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            key_var: key_var.to_string(),
            http: LazyClient::default(),
        }
    }

    fn request(&self, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.get().post(url);
        match &self.api_key {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    }
}

/// The JSON body of a streaming chat completion.
pub fn request_body(req: &ChatRequest) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(message_json).collect();
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        body["tool_choice"] = json!("auto");
    }
    if let Some(m) = req.max_tokens {
        body["max_tokens"] = json!(m);
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    body
}

fn message_json(m: &ChatMessage) -> Value {
    match m {
        ChatMessage::System(t) => json!({"role": "system", "content": t}),
        ChatMessage::User(t) => json!({"role": "user", "content": t}),
        ChatMessage::Assistant { text, tool_calls } => {
            let mut v = json!({"role": "assistant", "content": text});
            if !tool_calls.is_empty() {
                v["tool_calls"] = tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect();
            }
            v
        }
        ChatMessage::Tool {
            tool_call_id,
            name,
            content,
        } => {
            let mut v = json!({"role": "tool", "tool_call_id": tool_call_id, "content": content});
            // Strict OpenAI-compatible servers refuse an empty name.
            if !name.is_empty() {
                v["name"] = json!(name);
            }
            v
        }
    }
}

/// Events carried by one `chat.completion.chunk`.
pub fn chunk_events(v: &Value) -> Vec<LlmEvent> {
    let mut out = Vec::new();
    if let Some(choice) = v.pointer("/choices/0") {
        let delta = &choice["delta"];
        for key in ["reasoning_content", "reasoning"] {
            if let Some(r) = delta[key].as_str().filter(|s| !s.is_empty()) {
                out.push(LlmEvent::Reasoning(r.to_string()));
                break;
            }
        }
        if let Some(t) = delta["content"].as_str().filter(|s| !s.is_empty()) {
            out.push(LlmEvent::Text(t.to_string()));
        }
        if let Some(calls) = delta["tool_calls"].as_array() {
            for (pos, c) in calls.iter().enumerate() {
                let index = c["index"].as_u64().map_or(pos, |i| i as usize);
                if let Some(name) = c.pointer("/function/name").and_then(Value::as_str) {
                    let id = c["id"].as_str().map_or_else(
                        || format!("call_{}", uuid::Uuid::new_v4().simple()),
                        str::to_string,
                    );
                    out.push(LlmEvent::ToolCallStart {
                        index,
                        id,
                        name: name.to_string(),
                    });
                }
                if let Some(a) = c
                    .pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    out.push(LlmEvent::ToolCallArgs {
                        index,
                        delta: a.to_string(),
                    });
                }
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            out.push(LlmEvent::Done {
                finish_reason: Some(f.to_string()),
            });
        }
    }
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        out.push(LlmEvent::Usage(LlmUsage {
            prompt_tokens: n("/prompt_tokens"),
            completion_tokens: n("/completion_tokens"),
            cached_input_tokens: n("/prompt_tokens_details/cached_tokens"),
            reasoning_tokens: n("/completion_tokens_details/reasoning_tokens"),
        }));
    }
    out
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    async fn stream(&self, req: ChatRequest) -> Result<LlmStream, LlmError> {
        let url = format!("{}/chat/completions", self.base_url);
        let resp = self
            .request(&url)
            .json(&request_body(&req))
            .send()
            .await
            .map_err(|e| network(&self.name, &url, e))?;
        if !resp.status().is_success() {
            return Err(error_for(&self.name, &self.key_var, &req.model, resp).await);
        }
        let provider = self.name.clone();
        let events = sse_events(provider.clone(), resp);
        // Track completion so a body that just stops is reported, not taken as an answer.
        let stream = events
            .scan((false, false), move |(done, failed), ev| {
                let provider = provider.clone();
                let out: Vec<Result<LlmEvent, LlmError>> = if *failed {
                    Vec::new()
                } else {
                    match ev {
                        Err(e) => {
                            *failed = true;
                            vec![Err(e)]
                        }
                        Ok(ev) if ev.data.trim() == "[DONE]" => {
                            let first = !*done;
                            *done = true;
                            if first {
                                vec![Ok(LlmEvent::Done {
                                    finish_reason: None,
                                })]
                            } else {
                                Vec::new()
                            }
                        }
                        Ok(ev) => match super::openai_chunk::decode(&ev.data) {
                            Ok(super::openai_chunk::Decoded::Error(detail)) => {
                                *failed = true;
                                vec![Err(LlmError::Server {
                                    provider,
                                    status: 200,
                                    detail,
                                })]
                            }
                            Ok(super::openai_chunk::Decoded::Events(evs)) => {
                                if evs.iter().any(|e| matches!(e, LlmEvent::Done { .. })) {
                                    *done = true;
                                }
                                evs.into_iter().map(Ok).collect()
                            }
                            Err(detail) => {
                                *failed = true;
                                vec![Err(LlmError::BadResponse { provider, detail })]
                            }
                        },
                    }
                };
                futures_util::future::ready(Some((out, *done, *failed)))
            })
            .flat_map(|(evs, _, _)| futures_util::stream::iter(evs));
        let name = self.name.clone();
        let checked = CompletionCheck::wrap(Box::pin(stream), name);
        Ok(checked)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let url = format!("{}/models", self.base_url);
        let mut r = self.http.get().get(&url);
        if let Some(k) = &self.api_key {
            r = r.bearer_auth(k);
        }
        let resp = r.send().await.map_err(|e| network(&self.name, &url, e))?;
        if !resp.status().is_success() {
            return Err(error_for(&self.name, &self.key_var, "", resp).await);
        }
        let v: Value = resp.json().await.map_err(|e| LlmError::BadResponse {
            provider: self.name.clone(),
            detail: e.to_string(),
        })?;
        let list = v["data"]
            .as_array()
            .or_else(|| v["models"].as_array())
            .cloned()
            .unwrap_or_default();
        Ok(list
            .iter()
            .filter_map(|m| {
                let id = m["id"].as_str().or_else(|| m["name"].as_str())?;
                Some(ModelInfo {
                    id: id.to_string(),
                    context_window: m["context_window"]
                        .as_u64()
                        .or_else(|| m["context_length"].as_u64()),
                })
            })
            .collect())
    }
}

/// Wraps a provider stream: if it ends without a `Done`, yields `StreamDropped` last.
pub(super) struct CompletionCheck;

impl CompletionCheck {
    pub(super) fn wrap(inner: LlmStream, provider: String) -> LlmStream {
        let s = futures_util::stream::unfold(
            (inner, false, false),
            move |(mut inner, mut seen_done, finished)| {
                let provider = provider.clone();
                async move {
                    if finished {
                        return None;
                    }
                    match inner.next().await {
                        Some(Ok(ev)) => {
                            if matches!(ev, LlmEvent::Done { .. }) {
                                seen_done = true;
                            }
                            Some((Ok(ev), (inner, seen_done, false)))
                        }
                        Some(Err(e)) => Some((Err(e), (inner, seen_done, true))),
                        None if seen_done => None,
                        None => Some((
                            Err(LlmError::StreamDropped { provider }),
                            (inner, seen_done, true),
                        )),
                    }
                }
            },
        );
        Box::pin(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ToolCall, ToolSpec};

    #[test]
    fn body_has_tools_and_history() {
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![
                ChatMessage::System("sys".into()),
                ChatMessage::User("hi".into()),
                ChatMessage::Assistant {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "c1".into(),
                        name: "Bash".into(),
                        arguments: "{}".into(),
                    }],
                },
                ChatMessage::Tool {
                    tool_call_id: "c1".into(),
                    name: "Bash".into(),
                    content: "ok".into(),
                },
            ],
            tools: vec![ToolSpec {
                name: "Bash".into(),
                description: "d".into(),
                parameters: json!({"type":"object"}),
            }],
            max_tokens: None,
            temperature: None,
        };
        let b = request_body(&req);
        assert_eq!(
            b["messages"][2]["tool_calls"][0]["function"]["name"],
            "Bash"
        );
        assert_eq!(b["messages"][3]["tool_call_id"], "c1");
        assert_eq!(b["tools"][0]["function"]["name"], "Bash");
        assert_eq!(b["stream"], true);
    }

    #[test]
    fn parses_chunks() {
        let v = json!({"choices":[{"index":0,"delta":{"reasoning_content":"hm","content":"Hi",
            "tool_calls":[{"index":1,"id":"call_9","function":{"name":"Read","arguments":"{\"a"}}]},
            "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":2}});
        let ev = chunk_events(&v);
        assert_eq!(ev[0], LlmEvent::Reasoning("hm".into()));
        assert_eq!(ev[1], LlmEvent::Text("Hi".into()));
        assert!(matches!(&ev[2], LlmEvent::ToolCallStart { index: 1, name, .. } if name == "Read"));
        assert!(matches!(&ev[3], LlmEvent::ToolCallArgs { index: 1, delta } if delta == "{\"a"));
        assert!(matches!(&ev[4], LlmEvent::Done { .. }));
        assert!(matches!(&ev[5], LlmEvent::Usage(u) if u.prompt_tokens == 5));
        assert!(chunk_events(&json!({"weird": true})).is_empty());
    }
}
