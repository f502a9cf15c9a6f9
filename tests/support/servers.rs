//! Backends for the behaviour suite: the engine in-process, or behind `letta server`'s router.

use std::sync::Arc;

use letta::backend::Backend;
use letta::llm::{ProviderKind, ProviderRegistry, ProviderSpec};
use letta::local::Engine;
use letta::local::store::Store;
use letta::remote::RemoteClient;

use super::llm::ScriptedLlm;

/// An engine on a temp database that calls `llm`.
pub fn engine(llm: &ScriptedLlm, dir: &std::path::Path) -> Arc<Engine> {
    let providers = ProviderRegistry::from_specs(vec![ProviderSpec {
        name: "openai".into(),
        kind: ProviderKind::OpenAi,
        base_url: llm.openai_url(),
        api_key: None,
        key_var: "OPENAI_API_KEY".into(),
        source: "env",
    }]);
    Arc::new(Engine::new(
        Store::open(&dir.join("letta.db")).unwrap(),
        providers,
        Some("openai/gpt-test".into()),
    ))
}

/// Serve `engine` on 127.0.0.1:0 in this runtime; returns the base URL.
pub async fn serve(engine: Arc<Engine>, token: Option<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = letta::server::router(engine, token);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Which backend a suite case runs against.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Local,
    Remote,
}

/// A backend of `kind` over a fresh engine.
pub async fn backend(kind: Kind, llm: &ScriptedLlm, dir: &std::path::Path) -> Arc<dyn Backend> {
    let e = engine(llm, dir);
    match kind {
        Kind::Local => e,
        Kind::Remote => Arc::new(RemoteClient::new(&serve(e, None).await, None)),
    }
}
