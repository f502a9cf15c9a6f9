//! A note in the stream that the model call failed and will be tried again. Letta's stream has
//! no such message; ours carries it as an `event_message` (`event_type: "retry"`), which
//! other clients pass over.

use serde_json::{Value, json};

use super::{EventMessage, LettaMessage};

/// The event for attempt `next` of `max`, after `wait_ms`, because of `reason`.
pub fn retry_event(next: u32, max: u32, wait_ms: u64, reason: &str) -> LettaMessage {
    let extra = [
        ("event_type", json!("retry")),
        ("attempt", json!(next)),
        ("max_attempts", json!(max)),
        ("wait_ms", json!(wait_ms)),
        ("reason", json!(reason)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    LettaMessage::Event(EventMessage {
        common: Default::default(),
        extra,
    })
}

/// "retrying (2/4) in 3 s: the server is busy", for a retry event.
pub fn retry_note(m: &LettaMessage) -> Option<String> {
    let LettaMessage::Event(e) = m else {
        return None;
    };
    if e.extra.get("event_type").and_then(Value::as_str) != Some("retry") {
        return None;
    }
    let n = |k: &str| e.extra.get(k).and_then(Value::as_u64).unwrap_or(0);
    let secs = n("wait_ms").div_ceil(1000);
    let reason = e.extra.get("reason").and_then(Value::as_str).unwrap_or("");
    Some(format!(
        "retrying ({}/{}) in {secs} s: {reason}",
        n("attempt"),
        n("max_attempts")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_reads_as_a_note_and_survives_the_wire() {
        let e = retry_event(2, 4, 2500, "rate limited");
        let wire: LettaMessage = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(
            retry_note(&wire).as_deref(),
            Some("retrying (2/4) in 3 s: rate limited")
        );
        assert_eq!(retry_note(&LettaMessage::Ping(Default::default())), None);
    }
}
