//! Searching an agent's messages. Letta Cloud searches on the server; a self-hosted Letta
//! server refuses (`/v1/messages/search` needs embeddings and Turbopuffer there), so the
//! recent messages of each conversation are searched here instead, and the result says so.

use crate::backend::{Backend, BackendError};
use crate::protocol::{DEFAULT_CONVERSATION, LettaMessage, ListParams, SearchHit, SearchRequest};

use super::query::{conversation_query, text_of};

/// How many conversations, and messages of each, the fallback reads.
const CONVERSATIONS: u32 = 50;
const PER_CONVERSATION: u32 = 100;

/// Hits, and why they come from the fallback when they do.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub hits: Vec<SearchHit>,
    pub fallback: Option<String>,
}

/// Up to `limit` messages of `agent_id` that mention `query`, newest first.
pub async fn search(
    b: &dyn Backend,
    agent_id: &str,
    query: &str,
    limit: u32,
) -> Result<Found, BackendError> {
    let req = SearchRequest {
        query: query.to_string(),
        agent_id: Some(agent_id.to_string()),
        limit: Some(limit),
        extra: Default::default(),
    };
    match b.search_messages(req).await {
        Ok(hits) => Ok(Found {
            hits,
            fallback: None,
        }),
        Err(BackendError::Validation(why) | BackendError::NotFound(why)) => {
            let (hits, read) = scan(b, agent_id, query, limit).await?;
            Ok(Found {
                hits,
                fallback: Some(format!(
                    "this server does not search messages ({why}); searched the last {PER_CONVERSATION} messages of {read} conversations here instead"
                )),
            })
        }
        Err(e) => Err(e),
    }
}

async fn scan(
    b: &dyn Backend,
    agent_id: &str,
    query: &str,
    limit: u32,
) -> Result<(Vec<SearchHit>, usize), BackendError> {
    let mut ids = vec![DEFAULT_CONVERSATION.to_string()];
    let listed = b
        .list_conversations(conversation_query(agent_id, None, None, CONVERSATIONS))
        .await?;
    ids.extend(listed.into_iter().map(|c| c.id));
    let needle = query.to_lowercase();
    let mut hits = Vec::new();
    for id in &ids {
        let page = ListParams::latest(PER_CONVERSATION);
        let Ok(msgs) = b.list_messages(id, Some(agent_id), page).await else {
            continue;
        };
        hits.extend(msgs.iter().filter_map(|m| hit(m, id, agent_id, &needle)));
    }
    hits.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    hits.truncate(limit as usize);
    Ok((hits, ids.len()))
}

fn hit(m: &LettaMessage, conv: &str, agent: &str, needle: &str) -> Option<SearchHit> {
    let (user, text) = text_of(m)?;
    let role = if user { "user" } else { "assistant" };
    if !text.to_lowercase().contains(needle) {
        return None;
    }
    let common = m.common();
    Some(SearchHit {
        message_id: common.and_then(|c| c.id.clone()).unwrap_or_default(),
        agent_id: agent.to_string(),
        conversation_id: conv.to_string(),
        role: role.into(),
        text,
        created_at: common.and_then(|c| c.date.clone()).unwrap_or_default(),
        extra: Default::default(),
    })
}
