//! Hand-written decoders for the message kinds streamed once per token.
//!
//! `#[serde(flatten)]` buffers every field of an object before decoding it; these walk the
//! object once, typed fields straight into place, unknown ones into `extra`.

use std::borrow::Cow;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::message::{MessageCommon, ReasoningMessage, SimpleMessage, ToolCallMessage};
use super::{Extra, MessageContent};

/// A kind decoded straight from JSON text whose `message_type` a scan has guessed.
pub(super) trait Tagged: Sized {
    /// Fails when the object's `message_type` is not `tag`.
    fn from_tagged_json(text: &str, tag: &'static str) -> serde_json::Result<Self>;
}

/// The value of the first `"message_type"` key in `text`, found without parsing. Only a guess
/// (the key could sit in a nested object): [`Tagged`] decoders confirm it.
pub(super) fn scan_tag(text: &str) -> Option<&str> {
    const KEY: &str = "\"message_type\"";
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    let at = FINDER.find(text.as_bytes())?;
    let rest = text[at + KEY.len()..].trim_start().strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    Some(&rest[..end])
}

/// A map key, borrowed from the input when it can be.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Walk a message object once: common fields typed, the kind's own fields through `own`
/// (which returns false for keys it does not know), everything else kept in `extra`.
/// Hand-written because `#[serde(flatten)]` buffers every field first, and these kinds
/// arrive once per streamed token.
/// With `expect`, the object's `message_type` must be that tag (a guess from a text scan is
/// confirmed here, so a wrong guess fails and the caller falls back to the general decoder).
fn walk<'de, A: MapAccess<'de>>(
    mut map: A,
    expect: Option<&'static str>,
    mut own: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<(MessageCommon, Extra), A::Error> {
    let mut c = MessageCommon::default();
    let mut extra = Extra::new();
    let mut tag_seen = false;
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        match key.as_ref() {
            "id" => c.id = map.next_value()?,
            "date" => c.date = map.next_value()?,
            "name" => c.name = map.next_value()?,
            "otid" => c.otid = map.next_value()?,
            "sender_id" => c.sender_id = map.next_value()?,
            "step_id" => c.step_id = map.next_value()?,
            "is_err" => c.is_err = map.next_value()?,
            "seq_id" => c.seq_id = map.next_value()?,
            "run_id" => c.run_id = map.next_value()?,
            // The caller already knows the kind; keeping the tag would cost a map per chunk.
            "message_type" => match expect {
                Some(tag) => {
                    let Key(got) = map.next_value::<Key<'de>>()?;
                    if got != tag {
                        return Err(serde::de::Error::custom(
                            "message_type is not the expected one",
                        ));
                    }
                    tag_seen = true;
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            },
            k => {
                if !own(k, &mut map)? {
                    extra.insert(k.to_string(), map.next_value::<Value>()?);
                }
            }
        }
    }
    if expect.is_some() && !tag_seen {
        return Err(serde::de::Error::custom("message_type is missing"));
    }
    Ok((c, extra))
}

macro_rules! walked {
    ($ty:ident, $what:literal, |$k:ident, $map:ident, $out:ident| $own:block, $build:expr) => {
        const _: () = {
            struct V(Option<&'static str>);
            impl<'de> Visitor<'de> for V {
                type Value = $ty;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str($what)
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                    let mut $out = $ty::default();
                    let (common, extra) = walk(map, self.0, |$k, $map| $own)?;
                    $out.common = common;
                    $out.extra = extra;
                    Ok($build)
                }
            }
            impl<'de> Deserialize<'de> for $ty {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    d.deserialize_map(V(None))
                }
            }
            impl Tagged for $ty {
                fn from_tagged_json(text: &str, tag: &'static str) -> serde_json::Result<Self> {
                    let mut d = serde_json::Deserializer::from_str(text);
                    let v = d.deserialize_map(V(Some(tag)))?;
                    d.end()?;
                    Ok(v)
                }
            }
        };
    };
}

walked!(
    SimpleMessage,
    "a message object",
    |k, map, out| {
        match k {
            "content" => {
                out.content = map
                    .next_value::<Option<MessageContent>>()?
                    .unwrap_or_default();
            }
            _ => return Ok(false),
        }
        Ok(true)
    },
    out
);

walked!(
    ReasoningMessage,
    "a reasoning message object",
    |k, map, out| {
        match k {
            "reasoning" => out.reasoning = map.next_value::<Option<String>>()?.unwrap_or_default(),
            "source" => out.source = map.next_value()?,
            "signature" => out.signature = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    },
    out
);

walked!(
    ToolCallMessage,
    "a tool call message object",
    |k, map, out| {
        match k {
            "tool_call" => out.tool_call = map.next_value()?,
            "tool_calls" => out.tool_calls = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    },
    out
);

#[cfg(test)]
mod tests {
    use super::scan_tag;
    use crate::protocol::LettaMessage;

    #[test]
    fn scan_finds_the_tag_with_or_without_spaces() {
        assert_eq!(
            scan_tag(r#"{"id":"m","message_type":"assistant_message"}"#),
            Some("assistant_message")
        );
        assert_eq!(
            scan_tag(r#"{"message_type" : "reasoning_message"}"#),
            Some("reasoning_message")
        );
        assert_eq!(scan_tag(r#"{"id":"m"}"#), None);
    }

    #[test]
    fn a_wrong_guess_falls_back_to_the_full_decoder() {
        // The first "message_type" in the text belongs to a nested object.
        let text = r#"{"meta":{"message_type":"assistant_message"},"message_type":"user_message","content":"hi"}"#;
        let m = LettaMessage::from_json(text).unwrap();
        assert_eq!(m.message_type(), "user_message");
        // A tag that only a nested object has: not an assistant message.
        let text = r#"{"meta":{"message_type":"assistant_message"},"content":"hi"}"#;
        assert!(matches!(
            LettaMessage::from_json(text).unwrap(),
            LettaMessage::Unknown(_)
        ));
    }
}
