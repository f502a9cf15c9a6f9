//! Pages of messages put in the order that was asked for. A real Letta server returns the
//! `default` conversation's `order=desc` pages oldest first, and its dates tie within a second
//! with no `seq_id`, so the page's own order is read from its content before it is trusted.

use std::cmp::Ordering;

use crate::protocol::{LettaMessage, Order};

/// `page` in `order` (newest first when `Desc`, the default).
pub fn in_order(mut page: Vec<LettaMessage>, order: Option<Order>) -> Vec<LettaMessage> {
    let desc = order.unwrap_or_default() == Order::Desc;
    let evidence = ascending_evidence(&page);
    if (evidence > 0 && desc) || (evidence < 0 && !desc) {
        page.reverse();
    }
    // Dates (and sequence numbers) then settle what they can; ties keep the order found
    // above. Only when every message has a date (and sequence numbers only when every one
    // has one): a comparison that holds for some pairs and not others is no order at all.
    if page.iter().all(|m| date(m).is_some()) {
        let seq = page.iter().all(|m| m.seq_id().is_some());
        let key = |m: &LettaMessage| (not_system(m), date(m), m.seq_id().filter(|_| seq));
        if desc {
            page.sort_by_cached_key(|m| std::cmp::Reverse(key(m)));
        } else {
            page.sort_by_cached_key(key);
        }
    }
    page
}

/// The system prompt opens the conversation whatever its date (a server may date it by its
/// last rebuild).
fn not_system(m: &LettaMessage) -> bool {
    m.message_type() != "system_message"
}

fn date(m: &LettaMessage) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    m.common()
        .and_then(|c| c.date.as_deref())
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
}

/// Positive when the page reads oldest first, negative when newest first, 0 when unknown.
fn ascending_evidence(page: &[LettaMessage]) -> i64 {
    let mut score = 0;
    for pair in page.windows(2) {
        score += match chronological(&pair[0], &pair[1]) {
            Ordering::Less => 1,
            Ordering::Greater => -1,
            Ordering::Equal => 0,
        };
    }
    // Within one run, the user's message (or the system prompt) comes before the answer.
    for (i, m) in page.iter().enumerate() {
        if !opens_a_run(m) {
            continue;
        }
        let Some(run) = run_of(m) else { continue };
        for (j, other) in page.iter().enumerate() {
            if j != i && !opens_a_run(other) && run_of(other) == Some(run) {
                score += if i < j { 1 } else { -1 };
            }
        }
    }
    score
}

fn opens_a_run(m: &LettaMessage) -> bool {
    matches!(m.message_type(), "user_message" | "system_message")
}

fn run_of(m: &LettaMessage) -> Option<&str> {
    m.common()?.run_id.as_deref()
}

/// Older first by date, then by sequence number; `Equal` when neither tells (the system prompt
/// first).
fn chronological(a: &LettaMessage, b: &LettaMessage) -> Ordering {
    let by_date = match (date(a), date(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => Ordering::Equal,
    };
    let by_seq = match (a.seq_id(), b.seq_id()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => Ordering::Equal,
    };
    not_system(a).cmp(&not_system(b)).then(by_date).then(by_seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: &str, date: &str, run: &str, text: &str) -> LettaMessage {
        LettaMessage::from_json(
            &serde_json::json!({
                "id": format!("message-{text}"), "message_type": kind, "date": date,
                "run_id": run, "content": text, "seq_id": null
            })
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn texts(page: &[LettaMessage]) -> Vec<String> {
        page.iter()
            .map(|m| m.common().and_then(|c| c.id.clone()).unwrap_or_default())
            .collect()
    }

    const T: &str = "2026-12-02T11:00:36+00:00";

    #[test]
    fn a_desc_page_served_oldest_first_with_tied_dates_is_turned_round() {
        // As the real server sends `default` with order=desc (fixture 25d).
        let page = vec![
            msg("assistant_message", T, "r2", "a2"),
            msg("user_message", T, "r3", "u3"),
            msg("assistant_message", T, "r3", "a3"),
        ];
        let got = texts(&in_order(page, Some(Order::Desc)));
        assert_eq!(got, ["message-a3", "message-u3", "message-a2"]);
    }

    #[test]
    fn a_page_already_in_order_is_kept() {
        let page = vec![
            msg("assistant_message", T, "r3", "a3"),
            msg("user_message", T, "r3", "u3"),
            msg("assistant_message", T, "r2", "a2"),
        ];
        let got = texts(&in_order(page.clone(), Some(Order::Desc)));
        assert_eq!(got, ["message-a3", "message-u3", "message-a2"]);
        let asc = texts(&in_order(page, Some(Order::Asc)));
        assert_eq!(asc, ["message-a2", "message-u3", "message-a3"]);
    }

    #[test]
    fn a_page_with_an_undated_message_is_only_turned_round() {
        let mut undated = msg("assistant_message", T, "r2", "x");
        if let Some(c) = undated.common_mut() {
            c.date = None;
        }
        let page = vec![
            msg("user_message", T, "r1", "u1"),
            undated,
            msg("assistant_message", T, "r1", "a1"),
        ];
        let got = texts(&in_order(page, Some(Order::Desc)));
        assert_eq!(got, ["message-a1", "message-x", "message-u1"]);
    }

    #[test]
    fn dates_win_over_the_servers_order() {
        let page = vec![
            msg("user_message", "2026-12-02T11:00:01+00:00", "r1", "old"),
            msg("user_message", "2026-12-02T11:00:09+00:00", "r2", "new"),
            msg("user_message", "2026-12-02T11:00:05+00:00", "r3", "mid"),
        ];
        let got = texts(&in_order(page, None));
        assert_eq!(got, ["message-new", "message-mid", "message-old"]);
    }
}
