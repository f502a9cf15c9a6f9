//! Startup resolution: which agent and conversation `letta` opens.
//!
//! One pure function from (flags, remembered sessions, what the backend says exists) to a
//! decision, so every rule is unit-tested without a backend. The caller looks up the handful of
//! ids involved first (see [`StartupInput::ids_to_check`]) and applies the decision afterwards.

use std::collections::{HashMap, HashSet};

use crate::protocol::DEFAULT_CONVERSATION;
use crate::settings::SessionRef;

/// The startup flags that affect resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartupFlags {
    pub new: bool,
    pub resume: bool,
    pub conv: Option<String>,
    pub agent: Option<String>,
    pub new_agent: bool,
}

/// Everything the decision depends on.
#[derive(Debug, Clone, Default)]
pub struct StartupInput {
    pub flags: StartupFlags,
    /// This project's last session for this server (`.letta/settings.local.json`).
    pub project_session: Option<SessionRef>,
    /// The last session for this server in any project (global settings).
    pub global_session: Option<SessionRef>,
    /// Which of the mentioned agent ids exist.
    pub existing_agents: HashSet<String>,
    /// Mentioned conversation ids that exist, mapped to their agent.
    pub existing_conversations: HashMap<String, String>,
}

impl StartupInput {
    /// The agent and conversation ids whose existence the caller must check first.
    pub fn ids_to_check(&self) -> (Vec<String>, Vec<String>) {
        let mut agents = Vec::new();
        let mut convs = Vec::new();
        let sessions = [&self.project_session, &self.global_session];
        for s in sessions.into_iter().flatten() {
            agents.push(s.agent_id.clone());
            if s.conversation_id != DEFAULT_CONVERSATION {
                convs.push(s.conversation_id.clone());
            }
        }
        agents.extend(self.flags.agent.clone());
        if let Some(c) = &self.flags.conv
            && c != DEFAULT_CONVERSATION
        {
            convs.push(c.clone());
        }
        agents.dedup();
        convs.dedup();
        (agents, convs)
    }
}

/// Which conversation to open once the agent is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationChoice {
    Existing(String),
    Default,
    New,
}

/// What to do at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Open this agent on this conversation.
    Open {
        agent_id: String,
        conversation: ConversationChoice,
    },
    /// Create a default agent, then open this conversation on it.
    CreateAgent { conversation: ConversationChoice },
    /// Show the conversation browser for this agent.
    Browse { agent_id: String },
}

/// The decision plus warnings for the user (e.g. a remembered conversation that is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub target: Target,
    pub warnings: Vec<String>,
}

/// Startup cannot go on; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    #[error("No recent session found; run `letta` to start one")]
    NoRecentSession,
    #[error("Conversation {0} not found")]
    ConversationNotFound(String),
    #[error("Agent {0} not found; `letta agents list` shows the agents")]
    AgentNotFound(String),
    #[error("--conv default needs --agent ID: every agent has its own default conversation")]
    DefaultNeedsAgent,
    #[error("Conversation {conv} belongs to agent {owner}, not {agent}")]
    WrongAgent {
        conv: String,
        owner: String,
        agent: String,
    },
}

/// Decide what to open. Follows Letta Code's rules (see the foundation issue).
pub fn resolve(input: &StartupInput) -> Result<Decision, StartupError> {
    let f = &input.flags;
    let agent_exists = |id: &str| input.existing_agents.contains(id);
    let mut warnings = Vec::new();

    if let Some(conv) = &f.conv {
        if conv == DEFAULT_CONVERSATION {
            let agent = f.agent.clone().ok_or(StartupError::DefaultNeedsAgent)?;
            if !agent_exists(&agent) {
                return Err(StartupError::AgentNotFound(agent));
            }
            return Ok(open(agent, ConversationChoice::Default, warnings));
        }
        let owner = input
            .existing_conversations
            .get(conv)
            .ok_or_else(|| StartupError::ConversationNotFound(conv.clone()))?;
        if let Some(agent) = &f.agent
            && agent != owner
        {
            return Err(StartupError::WrongAgent {
                conv: conv.clone(),
                owner: owner.clone(),
                agent: agent.clone(),
            });
        }
        return Ok(open(
            owner.clone(),
            ConversationChoice::Existing(conv.clone()),
            warnings,
        ));
    }

    let live = |s: &Option<SessionRef>| s.clone().filter(|s| agent_exists(&s.agent_id));
    let project = live(&input.project_session);
    let global = live(&input.global_session);

    if f.resume {
        let agent = match (&f.agent, &project, &global) {
            (Some(a), _, _) if agent_exists(a) => a.clone(),
            (Some(a), _, _) => return Err(StartupError::AgentNotFound(a.clone())),
            (None, Some(p), _) => p.agent_id.clone(),
            (None, None, Some(g)) => g.agent_id.clone(),
            (None, None, None) => return Err(StartupError::NoRecentSession),
        };
        return Ok(Decision {
            target: Target::Browse { agent_id: agent },
            warnings,
        });
    }

    let fresh = if f.new {
        ConversationChoice::New
    } else {
        ConversationChoice::Default
    };

    if f.new_agent {
        return Ok(Decision {
            target: Target::CreateAgent {
                conversation: fresh,
            },
            warnings,
        });
    }

    // The project's remembered conversation, if it still exists and belongs to `agent`.
    let remembered = |agent: &str, warnings: &mut Vec<String>| -> ConversationChoice {
        let Some(p) = project.as_ref().filter(|p| p.agent_id == agent) else {
            return ConversationChoice::Default;
        };
        let conv = &p.conversation_id;
        if conv == DEFAULT_CONVERSATION {
            return ConversationChoice::Default;
        }
        match input.existing_conversations.get(conv) {
            Some(owner) if owner == agent => ConversationChoice::Existing(conv.clone()),
            _ => {
                warnings.push(format!(
                    "Previous conversation {conv} not found, falling back to default"
                ));
                ConversationChoice::Default
            }
        }
    };

    if let Some(agent) = &f.agent {
        if !agent_exists(agent) {
            return Err(StartupError::AgentNotFound(agent.clone()));
        }
        let conv = if f.new {
            ConversationChoice::New
        } else {
            remembered(agent, &mut warnings)
        };
        return Ok(open(agent.clone(), conv, warnings));
    }

    if let Some(p) = &project {
        let conv = if f.new {
            ConversationChoice::New
        } else {
            remembered(&p.agent_id, &mut warnings)
        };
        return Ok(open(p.agent_id.clone(), conv, warnings));
    }
    if input.project_session.is_some() {
        warnings.push("This project's last agent no longer exists".to_string());
    }
    if let Some(g) = &global {
        // Conversations stay project-scoped: another project's agent opens on its default.
        return Ok(open(g.agent_id.clone(), fresh, warnings));
    }
    Ok(Decision {
        target: Target::CreateAgent {
            conversation: fresh,
        },
        warnings,
    })
}

fn open(agent_id: String, conversation: ConversationChoice, warnings: Vec<String>) -> Decision {
    Decision {
        target: Target::Open {
            agent_id,
            conversation,
        },
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConversationChoice::*;

    fn input() -> StartupInput {
        StartupInput::default()
    }

    fn with_agents(mut i: StartupInput, ids: &[&str]) -> StartupInput {
        i.existing_agents = ids.iter().map(std::string::ToString::to_string).collect();
        i
    }

    fn with_conv(mut i: StartupInput, conv: &str, agent: &str) -> StartupInput {
        i.existing_conversations.insert(conv.into(), agent.into());
        i
    }

    fn target(i: &StartupInput) -> Target {
        resolve(i).unwrap().target
    }

    fn opened(agent: &str, conv: ConversationChoice) -> Target {
        Target::Open {
            agent_id: agent.into(),
            conversation: conv,
        }
    }

    #[test]
    fn bare_with_nothing_creates_default_agent() {
        assert_eq!(
            target(&input()),
            Target::CreateAgent {
                conversation: Default
            }
        );
    }

    #[test]
    fn bare_resumes_project_session() {
        let mut i = with_conv(with_agents(input(), &["a1"]), "conv-1", "a1");
        i.project_session = Some(SessionRef::new("a1", "conv-1"));
        assert_eq!(target(&i), opened("a1", Existing("conv-1".into())));
    }

    #[test]
    fn bare_project_default_conversation() {
        let mut i = with_agents(input(), &["a1"]);
        i.project_session = Some(SessionRef::new("a1", "default"));
        assert_eq!(target(&i), opened("a1", Default));
    }

    #[test]
    fn deleted_conversation_warns_and_falls_back() {
        let mut i = with_agents(input(), &["a1"]);
        i.project_session = Some(SessionRef::new("a1", "conv-gone"));
        let d = resolve(&i).unwrap();
        assert_eq!(d.target, opened("a1", Default));
        assert!(d.warnings[0].contains("conv-gone"), "{:?}", d.warnings);
    }

    #[test]
    fn conversation_of_other_agent_is_not_reused() {
        let mut i = with_conv(with_agents(input(), &["a1", "a2"]), "conv-1", "a2");
        i.project_session = Some(SessionRef::new("a1", "conv-1"));
        assert_eq!(target(&i), opened("a1", Default));
    }

    #[test]
    fn deleted_project_agent_falls_back_to_global_default() {
        let mut i = with_conv(with_agents(input(), &["g1"]), "conv-g", "g1");
        i.project_session = Some(SessionRef::new("gone", "conv-1"));
        i.global_session = Some(SessionRef::new("g1", "conv-g"));
        let d = resolve(&i).unwrap();
        assert_eq!(d.target, opened("g1", Default));
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn global_agent_gone_creates_agent() {
        let mut i = input();
        i.global_session = Some(SessionRef::new("gone", "default"));
        assert_eq!(
            target(&i),
            Target::CreateAgent {
                conversation: Default
            }
        );
    }

    #[test]
    fn new_on_project_agent() {
        let mut i = with_conv(with_agents(input(), &["a1"]), "conv-1", "a1");
        i.flags.new = true;
        i.project_session = Some(SessionRef::new("a1", "conv-1"));
        assert_eq!(target(&i), opened("a1", New));
    }

    #[test]
    fn new_on_global_agent() {
        let mut i = with_agents(input(), &["g1"]);
        i.flags.new = true;
        i.global_session = Some(SessionRef::new("g1", "default"));
        assert_eq!(target(&i), opened("g1", New));
    }

    #[test]
    fn new_with_nothing_creates_agent_with_new_conversation() {
        let mut i = input();
        i.flags.new = true;
        assert_eq!(target(&i), Target::CreateAgent { conversation: New });
    }

    #[test]
    fn resume_opens_browser_for_last_agent() {
        let mut i = with_agents(input(), &["a1", "g1"]);
        i.flags.resume = true;
        i.project_session = Some(SessionRef::new("a1", "default"));
        i.global_session = Some(SessionRef::new("g1", "default"));
        assert_eq!(
            target(&i),
            Target::Browse {
                agent_id: "a1".into()
            }
        );
        i.project_session = None;
        assert_eq!(
            target(&i),
            Target::Browse {
                agent_id: "g1".into()
            }
        );
    }

    #[test]
    fn resume_with_agent_flag() {
        let mut i = with_agents(input(), &["a7"]);
        i.flags.resume = true;
        i.flags.agent = Some("a7".into());
        assert_eq!(
            target(&i),
            Target::Browse {
                agent_id: "a7".into()
            }
        );
        i.flags.agent = Some("nope".into());
        assert_eq!(resolve(&i), Err(StartupError::AgentNotFound("nope".into())));
    }

    #[test]
    fn resume_with_nothing_fails() {
        let mut i = input();
        i.flags.resume = true;
        i.global_session = Some(SessionRef::new("gone", "default"));
        let e = resolve(&i).unwrap_err();
        assert_eq!(e, StartupError::NoRecentSession);
        assert_eq!(
            e.to_string().split(';').next(),
            Some("No recent session found")
        );
    }

    #[test]
    fn conv_flag_opens_its_agent() {
        let i = with_conv(with_agents(input(), &["a1"]), "conv-9", "a1");
        let mut i = i;
        i.flags.conv = Some("conv-9".into());
        assert_eq!(target(&i), opened("a1", Existing("conv-9".into())));
    }

    #[test]
    fn conv_flag_not_found() {
        let mut i = input();
        i.flags.conv = Some("conv-x".into());
        assert_eq!(
            resolve(&i),
            Err(StartupError::ConversationNotFound("conv-x".into()))
        );
    }

    #[test]
    fn conv_flag_with_mismatched_agent() {
        let mut i = with_conv(with_agents(input(), &["a1", "a2"]), "conv-9", "a1");
        i.flags.conv = Some("conv-9".into());
        i.flags.agent = Some("a2".into());
        assert!(matches!(resolve(&i), Err(StartupError::WrongAgent { .. })));
    }

    #[test]
    fn conv_default_needs_agent() {
        let mut i = with_agents(input(), &["a1"]);
        i.flags.conv = Some("default".into());
        assert_eq!(resolve(&i), Err(StartupError::DefaultNeedsAgent));
        i.flags.agent = Some("a1".into());
        assert_eq!(target(&i), opened("a1", Default));
        i.flags.agent = Some("zz".into());
        assert_eq!(resolve(&i), Err(StartupError::AgentNotFound("zz".into())));
    }

    #[test]
    fn agent_flag_reuses_project_conversation() {
        let mut i = with_conv(with_agents(input(), &["a1"]), "conv-1", "a1");
        i.flags.agent = Some("a1".into());
        i.project_session = Some(SessionRef::new("a1", "conv-1"));
        assert_eq!(target(&i), opened("a1", Existing("conv-1".into())));
        i.flags.new = true;
        assert_eq!(target(&i), opened("a1", New));
    }

    #[test]
    fn agent_flag_other_agent_opens_default() {
        let mut i = with_conv(with_agents(input(), &["a1", "a2"]), "conv-1", "a1");
        i.flags.agent = Some("a2".into());
        i.project_session = Some(SessionRef::new("a1", "conv-1"));
        assert_eq!(target(&i), opened("a2", Default));
    }

    #[test]
    fn agent_flag_unknown_agent() {
        let mut i = input();
        i.flags.agent = Some("a404".into());
        assert_eq!(resolve(&i), Err(StartupError::AgentNotFound("a404".into())));
    }

    #[test]
    fn new_agent_skips_sessions() {
        let mut i = with_agents(input(), &["a1"]);
        i.flags.new_agent = true;
        i.project_session = Some(SessionRef::new("a1", "default"));
        assert_eq!(
            target(&i),
            Target::CreateAgent {
                conversation: Default
            }
        );
    }

    #[test]
    fn ids_to_check_lists_mentioned_ids() {
        let mut i = input();
        i.project_session = Some(SessionRef::new("a1", "conv-1"));
        i.global_session = Some(SessionRef::new("g1", "default"));
        i.flags.conv = Some("conv-2".into());
        i.flags.agent = Some("a3".into());
        let (agents, convs) = i.ids_to_check();
        assert_eq!(agents, vec!["a1", "g1", "a3"]);
        assert_eq!(convs, vec!["conv-1", "conv-2"]);
    }
}
