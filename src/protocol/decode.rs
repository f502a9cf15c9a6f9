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
fn walk<'de, A: MapAccess<'de>>(
    mut map: A,
    mut own: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<(MessageCommon, Extra), A::Error> {
    let mut c = MessageCommon::default();
    let mut extra = Extra::new();
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
            "message_type" => {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
            k => {
                if !own(k, &mut map)? {
                    extra.insert(k.to_string(), map.next_value::<Value>()?);
                }
            }
        }
    }
    Ok((c, extra))
}

macro_rules! walked {
    ($ty:ident, $what:literal, |$k:ident, $map:ident, $out:ident| $own:block, $build:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        let mut $out = $ty::default();
                        let (common, extra) = walk(map, |$k, $map| $own)?;
                        $out.common = common;
                        $out.extra = extra;
                        Ok($build)
                    }
                }
                d.deserialize_map(V)
            }
        }
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
                    .unwrap_or_default()
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
