//! A typed `/…` line read into a [`Parsed`] command.

use super::table;

/// A command that needs the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    New(Option<String>),
    /// `/mcp [reconnect NAME]`.
    Mcp(Option<String>),
    /// `/hooks`: the configured hooks and their files.
    Hooks,
    /// `/skills`: every skill with its source, and the broken ones with the reason.
    Skills,
    /// `/subagents`: the subagent types, built in and from files.
    Subagents,
    Clear,
    /// Copy the whole conversation (optionally titled) and switch to the copy.
    Fork(Option<String>),
    /// Choose a message to branch before (the front end shows the choices).
    ForkPick,
    /// Branch keeping everything up to `before` (nothing: a fresh branch); `draft` is the
    /// picked message, put back in the input to edit and resend.
    ForkAt {
        before: Option<String>,
        draft: String,
    },
    /// The agent's conversations as a tree.
    Tree,
    /// Write the conversation to a file.
    Export(Option<String>),
    RenameConvo(String),
    /// Title the conversation after what it is about.
    AutoTitle,
    RenameAgent(String),
    Resume(Option<String>),
    /// Resume a conversation found by a message in it, quoting the message.
    ResumeAt {
        id: String,
        /// The message that matched, shown with what surrounds it.
        message_id: String,
        quote: String,
        date: String,
    },
    Model(Option<String>),
    Search(String),
    Permissions,
    Memory,
    Agents,
    SwitchAgent(String),
    /// A new agent (same model as the current one), switched to.
    NewAgent(Option<String>),
    Compact,
    Context,
}

impl Cmd {
    /// A line to show while it runs, for commands that can take a while.
    pub fn progress(&self) -> Option<&'static str> {
        match self {
            Self::Compact => Some("Compacting this conversation (the model writes a summary)…"),
            Self::Search(_) => Some("Searching…"),
            Self::Export(_) => Some("Exporting…"),
            Self::Mcp(Some(_)) => Some("Reconnecting…"),
            _ => None,
        }
    }

    /// The table entry this command comes from.
    pub fn name(&self) -> &'static str {
        match self {
            Self::New(_) => "new",
            Self::Clear => "clear",
            Self::Fork(_) | Self::ForkPick | Self::ForkAt { .. } => "fork",
            Self::Tree => "tree",
            Self::Mcp(_) => "mcp",
            Self::Hooks => "hooks",
            Self::Skills => "skills",
            Self::Subagents => "subagents",
            Self::Export(_) => "export",
            Self::RenameConvo(_) | Self::RenameAgent(_) | Self::AutoTitle => "rename",
            Self::Resume(_) | Self::ResumeAt { .. } => "resume",
            Self::Model(_) => "model",
            Self::Search(_) => "search",
            Self::Permissions => "permissions",
            Self::Memory => "memory",
            Self::Agents | Self::SwitchAgent(_) | Self::NewAgent(_) => "agents",
            Self::Compact => "compact",
            Self::Context => "context",
        }
    }

    /// Whether it must wait for a running turn to end (it changes what the turn works on).
    pub fn waits_for_turn(&self) -> bool {
        match self {
            // Choosing from the agent browser switches the session.
            Self::SwitchAgent(_) | Self::NewAgent(_) => true,
            other => !table::find(other.name()).is_some_and(|s| s.during_turn),
        }
    }
}

/// Commands the front end handles itself, without the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    Help,
    Usage,
    Exit,
}

/// What a typed `/…` line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Local(Local),
    /// Sent to the agent as a message.
    Send(String),
    Backend(Cmd),
}

fn rest(line: &str) -> Option<String> {
    let r = line
        .split_once(char::is_whitespace)
        .map(|(_, r)| r.trim())?;
    (!r.is_empty()).then(|| r.to_string())
}

/// Parse a command line (without its `/`).
pub fn parse(line: &str) -> Result<Parsed, String> {
    let typed = line.split_whitespace().next().unwrap_or("");
    let Some(spec) = table::find(typed) else {
        return Err(format!("Unknown command /{typed} — try /help"));
    };
    let arg = rest(line);
    Ok(match spec.name {
        "help" => Parsed::Local(Local::Help),
        "usage" => Parsed::Local(Local::Usage),
        "exit" => Parsed::Local(Local::Exit),
        "new" => Parsed::Backend(Cmd::New(arg)),
        "clear" => Parsed::Backend(Cmd::Clear),
        "fork" => Parsed::Backend(fork(arg)?),
        "tree" => Parsed::Backend(Cmd::Tree),
        "mcp" => Parsed::Backend(Cmd::Mcp(arg)),
        "hooks" => Parsed::Backend(Cmd::Hooks),
        "skills" => Parsed::Backend(Cmd::Skills),
        "subagents" => Parsed::Backend(Cmd::Subagents),
        "export" => Parsed::Backend(Cmd::Export(arg)),
        "resume" => Parsed::Backend(Cmd::Resume(arg)),
        "model" => Parsed::Backend(Cmd::Model(arg)),
        "permissions" => Parsed::Backend(Cmd::Permissions),
        "memory" => Parsed::Backend(Cmd::Memory),
        "agents" => Parsed::Backend(Cmd::Agents),
        "compact" => Parsed::Backend(Cmd::Compact),
        "context" => Parsed::Backend(Cmd::Context),
        "search" => match arg {
            Some(q) => Parsed::Backend(Cmd::Search(q)),
            None => return Err("/search needs a query: /search QUERY".into()),
        },
        "remember" => Parsed::Send(remember(arg)),
        "init" => Parsed::Send(init(arg.as_deref())?),
        "rename" => rename(arg.unwrap_or_default())?,
        other => return Err(format!("/{other} is listed but not handled")),
    })
}

fn fork(arg: Option<String>) -> Result<Cmd, String> {
    Ok(match arg.as_deref() {
        None => Cmd::ForkPick,
        Some("--all") => Cmd::Fork(None),
        Some(a) => {
            let title = a.strip_prefix("--all ").unwrap_or(a).trim();
            if title.starts_with("--") {
                return Err(format!(
                    "/fork knows no {}; use /fork to pick a message, or /fork --all [title]",
                    title.split_whitespace().next().unwrap_or(title)
                ));
            }
            Cmd::Fork(Some(title.to_string()))
        }
    })
}

fn remember(arg: Option<String>) -> String {
    match arg {
        Some(t) => format!(
            "Please store this in your memory so you keep it in later conversations: {t}"
        ),
        None => "Please look at our conversation so far and store in your memory whatever is worth keeping for later conversations.".into(),
    }
}

/// `/init`: an ordinary turn with a purpose-made prompt, so it costs only the model's time
/// and works the same on both backends.
fn init(arg: Option<&str>) -> Result<String, String> {
    let agents_md = match arg {
        None => false,
        Some("--agents-md") => true,
        Some(other) => {
            return Err(format!(
                "/init knows no {other}; use /init or /init --agents-md"
            ));
        }
    };
    let mut p = String::from(
        "Study this project so that you can work in it well in later conversations. \
         Use your read-only tools: list the top folders, read the README, the build and \
         package files (Cargo.toml, package.json, pyproject.toml, Makefile and the like), the \
         CI configuration, and any AGENTS.md or CLAUDE.md. Do not change any file unless told \
         below.\n\nThen store what you learned in your memory block labelled \"project\", \
         replacing what it held: memory_rethink with label \"project\" creates or rewrites \
         it; where your tools cannot create a block that way, use the one that creates blocks. Write terse notes, under 2,000 characters:\n\
         - how to build, test and lint, as exact commands;\n\
         - the layout: the main folders and what each holds;\n\
         - the conventions: style, naming, error handling, tests, commits.\n",
    );
    if agents_md {
        p.push_str(
            "\nAlso write these notes, a little fuller and for people as well as agents, to \
             AGENTS.md at the project root. If it exists, edit it and keep what is still true.\n",
        );
    }
    p.push_str("\nEnd with a short summary of what you stored.");
    Ok(p)
}

fn rename(r: String) -> Result<Parsed, String> {
    let (what, value) = r
        .split_once(char::is_whitespace)
        .map_or((r.as_str(), ""), |(a, b)| (a, b.trim()));
    match (what, value) {
        ("convo" | "conversation", v) if !v.is_empty() => {
            Ok(Parsed::Backend(Cmd::RenameConvo(v.into())))
        }
        ("convo" | "conversation", _) => Ok(Parsed::Backend(Cmd::AutoTitle)),
        ("agent", v) if !v.is_empty() => Ok(Parsed::Backend(Cmd::RenameAgent(v.into()))),
        _ => Err("use /rename convo TITLE or /rename agent NAME".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse("fork my branch"),
            Ok(Parsed::Backend(Cmd::Fork(Some("my branch".into()))))
        );
        assert_eq!(parse("fork"), Ok(Parsed::Backend(Cmd::ForkPick)));
        assert_eq!(parse("fork --all"), Ok(Parsed::Backend(Cmd::Fork(None))));
        assert!(
            parse("fork --bogus")
                .unwrap_err()
                .contains("/fork knows no --bogus")
        );
        assert_eq!(
            parse("fork --all  try two"),
            Ok(Parsed::Backend(Cmd::Fork(Some("try two".into()))))
        );
        assert_eq!(parse("new"), Ok(Parsed::Backend(Cmd::New(None))));
        assert_eq!(
            parse("rename agent Bob"),
            Ok(Parsed::Backend(Cmd::RenameAgent("Bob".into())))
        );
        assert!(parse("rename").is_err());
        assert_eq!(
            parse("resume conv-1"),
            Ok(Parsed::Backend(Cmd::Resume(Some("conv-1".into()))))
        );
        assert!(
            matches!(parse("remember tabs not spaces"), Ok(Parsed::Send(t)) if t.contains("tabs not spaces"))
        );
        assert_eq!(parse("quit"), Ok(Parsed::Local(Local::Exit)));
        assert_eq!(
            parse("nope"),
            Err("Unknown command /nope — try /help".into())
        );
    }

    #[test]
    fn every_listed_command_parses() {
        for s in table::TABLE {
            let line = format!("{} x y", s.name);
            assert!(
                !matches!(parse(&line), Err(e) if e.contains("not handled")),
                "/{} is in the table but parse does not know it",
                s.name
            );
        }
    }

    #[test]
    fn state_changes_wait_for_the_turn() {
        assert!(Cmd::New(None).waits_for_turn());
        assert!(Cmd::SwitchAgent("a".into()).waits_for_turn());
        assert!(!Cmd::Permissions.waits_for_turn());
        assert!(!Cmd::Memory.waits_for_turn());
    }
}
