//! Opening a session at startup and remembering it, on any backend.

pub mod context;
pub mod export;
pub mod forks;
pub mod git;
pub mod history;
pub mod model;
pub mod place;
pub mod query;
pub mod sandbox;
pub mod search;
pub mod setup;
pub mod startup;
pub mod trust;

use std::path::{Path, PathBuf};

use crate::backend::{Backend, BackendError};
use crate::protocol::{Conversation, CreateAgent, CreateConversation, DEFAULT_CONVERSATION};
use crate::settings::{
    GlobalSettings, ProjectSettings, SessionRef, SettingsError, project_local_file,
};
use startup::{ConversationChoice, StartupFlags, StartupInput, Target};

/// The agent and conversation a UI works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub agent_id: String,
    /// A `conv-…` id or `default`.
    pub conversation_id: String,
}

/// What startup produced: a session to open, or the browser to show first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Session {
        session: Session,
        warnings: Vec<String>,
    },
    /// Show the conversation browser; `session` is where Esc leaves the user (the project's
    /// last conversation with that agent, else its default one).
    Browse { session: Session },
}

/// Startup failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// Files where sessions are remembered.
#[derive(Debug, Clone)]
pub struct SessionStore {
    pub global_file: PathBuf,
    pub project_file: PathBuf,
    pub server_key: String,
}

impl SessionStore {
    /// The store for a project folder, a settings file and a server key.
    pub fn new(global_file: &Path, cwd: &Path, server_key: String) -> Self {
        Self {
            global_file: global_file.to_path_buf(),
            project_file: project_local_file(cwd),
            server_key,
        }
    }

    /// Remember `session` as this project's and the global last session for this server.
    /// Blocks on the settings locks: async callers use [`Self::persist_async`].
    pub fn persist(&self, session: &Session) -> Result<(), SettingsError> {
        let entry = SessionRef::new(&session.agent_id, &session.conversation_id);
        let key = self.server_key.clone();
        ProjectSettings::update(&self.project_file, |p| {
            p.sessions_by_server.insert(key.clone(), entry.clone());
            Ok(())
        })?;
        GlobalSettings::update(&self.global_file, |g| {
            g.sessions_by_server.insert(key, entry);
            Ok(())
        })
    }

    /// [`Self::persist`] on the blocking pool.
    pub async fn persist_async(&self, session: Session) -> Result<(), SettingsError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.persist(&session))
            .await
            .map_err(|e| SettingsError::Write {
                path: self.global_file.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

/// Resolve flags against remembered sessions and the backend, create what is needed, persist.
/// Also returns the session's agent when it was fetched on the way, so the caller need not ask
/// the server again before the first frame.
pub async fn open(
    backend: &dyn Backend,
    store: &SessionStore,
    flags: StartupFlags,
    new_agent: impl AsyncFnOnce() -> CreateAgent,
) -> Result<(Opened, Option<crate::protocol::Agent>), OpenError> {
    let project = ProjectSettings::load(&store.project_file)?;
    let global = GlobalSettings::load(&store.global_file)?;
    let mut input = StartupInput {
        flags,
        project_session: project.sessions_by_server.get(&store.server_key).cloned(),
        global_session: global.sessions_by_server.get(&store.server_key).cloned(),
        ..StartupInput::default()
    };
    let (agents, convs) = input.ids_to_check();
    // All at once: one round trip to a server, not one per id.
    let (found_agents, found_convs) = futures_util::future::join(
        futures_util::future::join_all(agents.iter().map(|id| backend.get_agent(id))),
        futures_util::future::join_all(convs.iter().map(|id| backend.get_conversation(id))),
    )
    .await;
    let mut fetched = std::collections::HashMap::new();
    for (id, r) in agents.into_iter().zip(found_agents) {
        if let Some(a) = exists(r)? {
            input.existing_agents.insert(id.clone());
            fetched.insert(id, a);
        }
    }
    for (id, r) in convs.into_iter().zip(found_convs) {
        if let Some(c) = exists(r)? {
            input.existing_conversations.insert(id, c.agent_id);
        }
    }
    let decision = startup::resolve(&input)?;
    let (agent_id, choice) = match decision.target {
        Target::Browse { agent_id } => {
            let conversation_id = input
                .project_session
                .as_ref()
                .filter(|p| {
                    p.agent_id == agent_id
                        && input
                            .existing_conversations
                            .contains_key(&p.conversation_id)
                })
                .map_or_else(
                    || DEFAULT_CONVERSATION.to_string(),
                    |p| p.conversation_id.clone(),
                );
            let agent = fetched.remove(&agent_id);
            return Ok((
                Opened::Browse {
                    session: Session {
                        agent_id,
                        conversation_id,
                    },
                },
                agent,
            ));
        }
        Target::Open {
            agent_id,
            conversation,
        } => (agent_id, conversation),
        Target::CreateAgent { conversation } => (
            backend.create_agent(new_agent().await).await?.id,
            conversation,
        ),
    };
    let conversation_id = match choice {
        ConversationChoice::Existing(id) => id,
        ConversationChoice::Default => DEFAULT_CONVERSATION.to_string(),
        ConversationChoice::New => {
            let c: Conversation = backend
                .create_conversation(&agent_id, CreateConversation::default())
                .await?;
            c.id
        }
    };
    let session = Session {
        agent_id,
        conversation_id,
    };
    store.persist(&session)?;
    let agent = fetched.remove(&session.agent_id);
    Ok((
        Opened::Session {
            session,
            warnings: decision.warnings,
        },
        agent,
    ))
}

/// `Ok(None)` for not-found (and an id the server rejects as malformed), other errors pass.
fn exists<T>(r: Result<T, BackendError>) -> Result<Option<T>, BackendError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(BackendError::NotFound(_) | BackendError::Validation(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
