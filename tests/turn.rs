//! The turn driver with an answering approver (what the chat view and REPL do).

use crate::support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use letta::backend::Backend;
use letta::llm::{ProviderKind, ProviderRegistry, ProviderSpec};
use letta::local::Engine;
use letta::local::store::Store;
use letta::permissions::Checker;
use letta::permissions::PermissionMode;
use letta::protocol::CreateAgent;
use letta::session::Session;
use letta::tools::ToolContext;
use letta::turn::{ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent, TurnOptions};
use serde_json::json;
use support::llm::{Reply, ScriptedLlm};
use tokio_util::sync::CancellationToken;

/// Answers from a script and records what it was asked.
struct Scripted {
    answers: Mutex<Vec<ApprovalAnswer>>,
    asked: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl Approver for Scripted {
    async fn ask(&self, call: &ToolCallInfo, _reason: &str, suggested: &str) -> ApprovalAnswer {
        self.asked
            .lock()
            .unwrap()
            .push((call.name.clone(), suggested.to_string()));
        let mut a = self.answers.lock().unwrap();
        if a.is_empty() {
            ApprovalAnswer::No { reason: None }
        } else {
            a.remove(0)
        }
    }
}

#[tokio::test]
async fn yes_always_saves_a_rule_and_no_carries_the_reason() {
    let llm = ScriptedLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let providers = ProviderRegistry::from_specs(vec![ProviderSpec {
        name: "openai".into(),
        kind: ProviderKind::OpenAi,
        base_url: llm.openai_url(),
        api_key: None,
        key_var: "OPENAI_API_KEY".into(),
        source: "env",
    }]);
    let engine = Arc::new(Engine::new(
        Store::open(&home.path().join("db")).unwrap(),
        providers,
        Some("openai/gpt-test".into()),
    ));
    let agent = engine.create_agent(CreateAgent::default()).await.unwrap();
    let session = Session {
        agent_id: agent.id.clone(),
        conversation_id: "default".into(),
    };
    let approver = Arc::new(Scripted {
        answers: Mutex::new(vec![
            ApprovalAnswer::YesAlways("Bash(touch:*)".into()),
            ApprovalAnswer::No {
                reason: Some("use a different name".into()),
            },
        ]),
        asked: Mutex::new(Vec::new()),
    });
    let checker = Checker::load(&letta::permissions::Load {
        global: None,
        global_source: "test",
        cwd: project.path(),
        trusted: true,
        mode_flag: Some(PermissionMode::Standard),
        allowed: &[],
        disallowed: &[],
    })
    .unwrap();
    let driver = TurnDriver {
        backend: engine.clone(),
        tools: Arc::new(ToolContext::new(project.path().to_path_buf())),
        registry: Arc::new(letta::tools::Registry::builtin()),
        checker: Arc::new(Mutex::new(checker)),
        approver: approver.clone(),
        project_dir: project.path().to_path_buf(),
        journal: letta::turn::Journal::none(),
        context: std::sync::Arc::new(letta::session::context::ProjectContext::none()),
        hooks: Default::default(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "c1".into(),
                "Bash".into(),
                json!({"command": "touch made.txt"}).to_string(),
            )],
        },
        Reply::Text("made it".into()),
    ]);
    let r = driver
        .run(
            &session,
            "make a file",
            &TurnOptions::default(),
            &tx,
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(r.text, "made it");
    assert!(project.path().join("made.txt").exists());
    assert_eq!(
        approver.asked.lock().unwrap()[0],
        ("Bash".to_string(), "Bash(touch:*)".to_string())
    );
    let saved = std::fs::read_to_string(project.path().join(".letta/settings.local.json")).unwrap();
    assert!(saved.contains("Bash(touch:*)"), "{saved}");

    // The saved rule now allows the same kind of call without asking; a new kind asks, and
    // the user's "no" reason reaches the model.
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![
                (
                    "c2".into(),
                    "Bash".into(),
                    json!({"command": "touch again.txt"}).to_string(),
                ),
                (
                    "c3".into(),
                    "Write".into(),
                    json!({"file_path": "w.txt", "content": "x"}).to_string(),
                ),
            ],
        },
        Reply::Text("ok".into()),
    ]);
    driver
        .run(&session, "more", &TurnOptions::default(), &tx, &cancel)
        .await
        .unwrap();
    assert!(project.path().join("again.txt").exists());
    assert!(!project.path().join("w.txt").exists());
    assert_eq!(
        approver.asked.lock().unwrap().len(),
        2,
        "only the Write asked"
    );
    let body = llm.last_body().to_string();
    assert!(body.contains("User reason: use a different name"), "{body}");
    drop(tx);
    let mut auto = 0;
    while let Some(ev) = rx.recv().await {
        if let TurnEvent::AutoApproved { matched_rule, .. } = ev {
            assert_eq!(
                matched_rule.as_deref(),
                Some("Bash(touch:*) (from .letta/settings.local.json)")
            );
            auto += 1;
        }
    }
    assert_eq!(auto, 1);
}
