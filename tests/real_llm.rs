//! A full turn through the engine against a real model (llama.cpp + SmolLM2), with both the
//! OpenAI-compatible and the Anthropic provider. Asserts structure, never wording.

use crate::support;

use futures_util::StreamExt;
use letta::backend::Backend;
use letta::llm::{ProviderKind, ProviderRegistry, ProviderSpec};
use letta::local::Engine;
use letta::local::store::Store;
use letta::protocol::*;

async fn full_turn(engine: &Engine, model: &str) {
    let agent = engine
        .create_agent(CreateAgent {
            model: Some(model.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let conv = engine
        .create_conversation(&agent.id, CreateConversation::default())
        .await
        .unwrap();
    let req = SendMessageRequest {
        messages: Some(vec![MessageCreate::user(
            "Say hello in one short sentence.",
        )]),
        max_steps: Some(3),
        ..Default::default()
    };
    let chunks: Vec<LettaMessage> = engine
        .send_message(&conv.id, req)
        .await
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert!(
        matches!(chunks.first(), Some(LettaMessage::Ping(_))),
        "{model}: ping first"
    );
    let produced = chunks
        .iter()
        .filter(|c| {
            matches!(
                c,
                LettaMessage::Assistant(_) | LettaMessage::ToolCall(_) | LettaMessage::Reasoning(_)
            )
        })
        .count();
    assert!(
        produced > 0,
        "{model}: the model streamed something: {chunks:?}"
    );
    let stop = chunks
        .iter()
        .find_map(|c| match c {
            LettaMessage::StopReason { stop_reason, .. } => Some(stop_reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(!stop.is_error(), "{model}: stopped with {stop}: {chunks:?}");
    let LettaMessage::Usage(u) = chunks.last().unwrap() else {
        panic!("{model}: usage last")
    };
    assert!(u.prompt_tokens > 0 && u.step_count >= 1, "{model}: {u:?}");
    // Stored and listed afterwards.
    let listed = engine
        .list_messages(
            &conv.id,
            None,
            ListParams {
                order: Some(Order::Asc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(listed.iter().any(|m| matches!(m, LettaMessage::User(_))));
    assert!(
        listed.iter().any(|m| matches!(
            m,
            LettaMessage::Assistant(_) | LettaMessage::ToolCall(_) | LettaMessage::Reasoning(_)
        )),
        "{model}: reply stored"
    );
}

#[tokio::test]
async fn real_model_streams_a_turn_through_both_providers() {
    let server = match support::real_llm::RealLlm::start() {
        Ok(s) => s,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let providers = ProviderRegistry::from_specs(vec![
        ProviderSpec {
            name: "openai".into(),
            kind: ProviderKind::OpenAi,
            base_url: format!("{}/v1", server.url()),
            api_key: None,
            key_var: "OPENAI_API_KEY".into(),
            source: "env",
        },
        ProviderSpec {
            name: "anthropic".into(),
            kind: ProviderKind::Anthropic,
            base_url: server.url(),
            api_key: None,
            key_var: "ANTHROPIC_API_KEY".into(),
            source: "env",
        },
    ]);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(
        Store::open(&dir.path().join("db")).unwrap(),
        providers,
        None,
    );
    let models = engine.list_models().await.unwrap();
    assert!(
        models.iter().any(|m| m.handle == "openai/smollm2"),
        "{models:?}"
    );
    full_turn(&engine, "openai/smollm2").await;
    full_turn(&engine, "anthropic/smollm2").await;
}
