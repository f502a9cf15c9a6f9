//! One `chat.completion.chunk`, decoded straight into borrowed structs: a stream has one per
//! token, and going through `serde_json::Value` (a map per object, a string per field) was a
//! quarter of the engine's time per token. Anything the structs do not fit falls back to the
//! `Value` reading, so odd providers decode exactly as before.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::openai::chunk_events;
use super::{LlmEvent, LlmUsage};

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    /// Present: an error inside the stream (read through `Value` for its message).
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<CallDelta<'a>>>,
}

#[derive(Deserialize)]
struct CallDelta<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// What one `data:` line says.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Events(Vec<LlmEvent>),
    /// An `error` object inside the stream, with its message.
    Error(String),
}

/// Decode one chunk's JSON; `Err` with serde's message when it is not JSON.
pub fn decode(data: &str) -> Result<Decoded, String> {
    match serde_json::from_str::<Chunk>(data) {
        Ok(c) if c.error.is_none() => Ok(Decoded::Events(events(c))),
        // An error, or a shape the structs do not fit: the general reading.
        _ => {
            let v = serde_json::from_str::<Value>(data).map_err(|e| e.to_string())?;
            if v.get("error").is_some_and(|e| !e.is_null()) {
                return Ok(Decoded::Error(
                    v["error"]["message"]
                        .as_str()
                        .unwrap_or("error inside the stream")
                        .to_string(),
                ));
            }
            Ok(Decoded::Events(chunk_events(&v)))
        }
    }
}

fn events(c: Chunk) -> Vec<LlmEvent> {
    let mut out = Vec::new();
    if let Some(choice) = c.choices.into_iter().next() {
        if let Some(delta) = choice.delta {
            let reasoning = [delta.reasoning_content, delta.reasoning]
                .into_iter()
                .flatten()
                .find(|r| !r.is_empty());
            if let Some(r) = reasoning {
                out.push(LlmEvent::Reasoning(r.into_owned()));
            }
            if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
                out.push(LlmEvent::Text(t.into_owned()));
            }
            for (pos, call) in delta.tool_calls.into_iter().flatten().enumerate() {
                let index = call.index.map_or(pos, |i| i as usize);
                let (name, args) = call
                    .function
                    .map_or((None, None), |f| (f.name, f.arguments));
                if let Some(name) = name {
                    let id = call.id.map_or_else(
                        || format!("call_{}", uuid::Uuid::new_v4().simple()),
                        Cow::into_owned,
                    );
                    out.push(LlmEvent::ToolCallStart {
                        index,
                        id,
                        name: name.into_owned(),
                    });
                }
                if let Some(a) = args.filter(|a| !a.is_empty()) {
                    out.push(LlmEvent::ToolCallArgs {
                        index,
                        delta: a.into_owned(),
                    });
                }
            }
        }
        if let Some(f) = choice.finish_reason {
            out.push(LlmEvent::Done {
                finish_reason: Some(f.into_owned()),
            });
        }
    }
    if let Some(u) = c.usage {
        out.push(LlmEvent::Usage(LlmUsage {
            prompt_tokens: u.prompt_tokens.unwrap_or(0),
            completion_tokens: u.completion_tokens.unwrap_or(0),
            cached_input_tokens: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            reasoning_tokens: u
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed reading gives what the `Value` reading gives, for every shape seen.
    #[test]
    fn the_typed_reading_agrees_with_the_general_one() {
        let cases = [
            r#"{"choices":[{"index":0,"delta":{"content":"Hi \"there\"\n"},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"hm","content":"x"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"","reasoning_content":"r"}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_9","function":{"name":"Read","arguments":"{\"a"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3}}}"#,
            r#"{"choices":[{"delta":{"content":"a"}}],"usage":null}"#,
            r#"{"choices":[{"delta":{"content":null,"role":"assistant"}}]}"#,
            r#"{"weird":true}"#,
            r#"{"choices":[{"delta":{"content":["parts"]}}]}"#,
            r#"{"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":null}}"#,
        ];
        for data in cases {
            let general = chunk_events(&serde_json::from_str::<Value>(data).unwrap());
            let Decoded::Events(typed) = decode(data).unwrap() else {
                panic!("{data}");
            };
            assert_eq!(typed, general, "{data}");
        }
    }

    #[test]
    fn errors_and_garbage_are_told_apart() {
        assert_eq!(
            decode(r#"{"error":{"message":"overloaded"}}"#).unwrap(),
            Decoded::Error("overloaded".into())
        );
        assert!(decode("{not json").is_err());
        // A null error is no error, whichever reading takes the chunk.
        for data in [
            r#"{"error":null,"choices":[{"delta":{"content":"a"}}]}"#,
            r#"{"error":null,"choices":[{"delta":{"content":["x"]}}]}"#,
        ] {
            assert!(
                matches!(decode(data).unwrap(), Decoded::Events(_)),
                "{data}"
            );
        }
    }
}
