//! Command-line interface. Parsing does no I/O, so `letta --version` stays instant.

use clap::{Args, Parser, Subcommand};

use crate::permissions::PermissionMode;
use crate::settings::BackendKind;
use crate::ui::headless::OutputFormat;

/// letta: a terminal coding agent with stateful agents and parallel conversations.
#[derive(Debug, Parser)]
#[command(name = "letta", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true, disable_version_flag = true)]
pub struct Cli {
    /// Print version (-v as in Letta Code; -V also works)
    #[arg(short = 'v', short_alias = 'V', long, action = clap::ArgAction::Version)]
    version: Option<bool>,

    #[command(flatten)]
    pub session: SessionArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags of the chat view and of headless mode.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// Open a new conversation with the agent, in parallel with the others
    #[arg(long)]
    pub new: bool,
    /// Browse past conversations of the last agent
    #[arg(long)]
    pub resume: bool,
    /// Open this conversation (its agent comes with it)
    #[arg(long = "conv", visible_alias = "conversation", value_name = "ID")]
    pub conv: Option<String>,
    /// Use this agent
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
    /// Use the agent with this name (pinned agents first), as Letta Code's -n
    #[arg(short = 'n', long = "name", value_name = "NAME", conflicts_with_all = ["agent", "new_agent"])]
    pub agent_name: Option<String>,
    /// Create a fresh agent
    #[arg(long)]
    pub new_agent: bool,
    /// Model handle (provider/model) or an unambiguous short name
    #[arg(short = 'm', long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Use the embedded engine or a Letta server (default: remote when LETTA_BASE_URL or LETTA_API_KEY is set)
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// Line-mode REPL instead of the full-screen chat view
    #[arg(long)]
    pub plain: bool,
    /// Permission mode
    #[arg(long, value_enum, value_name = "MODE")]
    pub permission_mode: Option<PermissionMode>,
    /// Allow everything except deny rules (same as --permission-mode unrestricted)
    #[arg(long)]
    pub yolo: bool,
    /// Run one turn headless and print the answer; the prompt may also come on stdin
    #[arg(short = 'p', long = "prompt", value_name = "PROMPT", num_args = 0..=1, default_missing_value = "")]
    pub prompt: Option<String>,
    /// Output format of -p
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    /// stream-json: read user messages and approval answers from stdin, one JSON per line
    /// (needs --output-format stream-json)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormat>,
    /// With stream-json output: each chunk as a stream_event wrapper
    #[arg(long)]
    pub include_partial_messages: bool,
    /// Stop after this many agent steps (then one more step to wrap up, without tools)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_turns: Option<u32>,
    /// Seconds to wait when another session is replying in the conversation (0 fails at once)
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub wait_busy: u64,
    /// Extra allow rules, e.g. "Bash(npm test:*)" (comma or space separated)
    #[arg(
        long = "allowedTools",
        visible_alias = "allowed-tools",
        value_name = "RULES"
    )]
    pub allowed_tools: Vec<String>,
    /// Extra deny rules (comma or space separated)
    #[arg(
        long = "disallowedTools",
        visible_alias = "disallowed-tools",
        value_name = "RULES"
    )]
    pub disallowed_tools: Vec<String>,
    /// Do not tell the model about the folder, OS, date and git state on the first turn
    #[arg(long)]
    pub no_system_info_reminder: bool,
}

impl SessionArgs {
    /// Reject flag combinations that contradict each other, with a one-line reason.
    pub fn validate(&self) -> Result<(), String> {
        let pairs: [(bool, &str, bool, &str); 6] = [
            (self.new, "--new", self.conv.is_some(), "--conv"),
            (self.resume, "--resume", self.conv.is_some(), "--conv"),
            (
                self.new_agent,
                "--new-agent",
                self.agent.is_some(),
                "--agent",
            ),
            (self.new, "--new", self.resume, "--resume"),
            (self.new_agent, "--new-agent", self.conv.is_some(), "--conv"),
            (
                self.yolo,
                "--yolo",
                self.permission_mode.is_some(),
                "--permission-mode",
            ),
        ];
        for (a, an, b, bn) in pairs {
            if a && b {
                return Err(format!("{an} cannot be used with {bn}"));
            }
        }
        if self.resume && self.prompt.is_some() {
            return Err("--resume cannot be used with -p".into());
        }
        if self.plain && self.prompt.is_some() {
            return Err("--plain cannot be used with -p".into());
        }
        Ok(())
    }

    /// The permission mode in force, counting `--yolo`.
    pub fn effective_mode(&self) -> PermissionMode {
        if self.yolo {
            PermissionMode::Unrestricted
        } else {
            self.permission_mode.unwrap_or_default()
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the embedded engine as the Letta REST API
    Server(ServerArgs),
    /// Agents
    Agents {
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Conversations
    Conversations {
        #[command(subcommand)]
        command: ConversationsCommand,
    },
    /// Messages
    Messages {
        #[command(subcommand)]
        command: MessagesCommand,
    },
    /// Models of the configured providers
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Configure a provider or Letta server non-interactively
    Connect(ConnectArgs),
    /// Skills: `letta skills list`
    Skills {
        #[command(subcommand)]
        command: SkillsCommand,
    },
    /// MCP servers: add, list, get, remove; `serve` exposes an agent's memory over MCP
    Mcp {
        #[command(subcommand)]
        command: McpCommand,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `letta server`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to bind; anything but loopback needs a token
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind
    #[arg(long, default_value_t = 8283)]
    pub port: u16,
    /// `-` reads the bearer token clients must send from stdin; or set LETTA_SERVER_TOKEN
    #[arg(long, value_name = "-")]
    pub token: Option<String>,
    /// A web origin whose requests are accepted (repeatable); none by default
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Connections served at once
    #[arg(long, default_value_t = 512)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout: f64,
}

/// `letta agents …`.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// List agents as JSON
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only agents whose name contains this
        #[arg(long)]
        name: Option<String>,
    },
    /// Write an agent as a Letta Agent File (.af): memory, system prompt, model, conversations
    Export {
        /// The agent (default: this project's)
        id: Option<String>,
        /// Write here instead of to stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Create the agents of an Agent File (.af); prints their ids as JSON
    Import { file: std::path::PathBuf },
}

/// `letta conversations …`.
#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// List conversations as JSON (of the given agent, or of this project's agent)
    List {
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// The agent's conversations as a tree of forks, as JSON
    Tree {
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
    },
    /// Write a conversation as Markdown or as the Letta message list (JSON)
    Export {
        /// A conversation id, or `default` (with --agent, or this project's agent)
        id: String,
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// Write here instead of to stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
}

/// How `letta conversations export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

/// `letta messages …`.
#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// Full-text search over an agent's conversations, as JSON
    Search {
        query: String,
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// `letta model …`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// List the models of every configured provider
    List,
}

/// `letta connect PROVIDER`.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// openai, anthropic, ollama, letta or local (none: choose from a list)
    pub provider: Option<String>,
    /// Show what is configured, keys masked
    #[arg(long)]
    pub list: bool,
    #[arg(long)]
    pub base_url: Option<String>,
    /// `-` reads the key from stdin (a key on the command line would show in `ps`)
    #[arg(long, value_name = "-")]
    pub api_key: Option<String>,
    /// Name of an environment variable holding the key
    #[arg(long)]
    pub api_key_env: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("letta").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn contradictions() {
        for (args, msg) in [
            (
                &["--new", "--conv", "c"][..],
                "--new cannot be used with --conv",
            ),
            (
                &["--resume", "--conv", "c"],
                "--resume cannot be used with --conv",
            ),
            (
                &["--new-agent", "--agent", "a"],
                "--new-agent cannot be used with --agent",
            ),
            (
                &["--yolo", "--permission-mode", "strict"],
                "--yolo cannot be used with --permission-mode",
            ),
        ] {
            assert_eq!(parse(args).session.validate().unwrap_err(), msg);
        }
        assert!(parse(&["--new", "--agent", "a"]).session.validate().is_ok());
    }

    #[test]
    fn prompt_forms() {
        assert_eq!(parse(&["-p", "hi"]).session.prompt.as_deref(), Some("hi"));
        assert_eq!(parse(&["-p"]).session.prompt.as_deref(), Some(""));
        let c = parse(&["-p", "x", "--output-format", "stream-json"]);
        assert_eq!(c.session.output_format, OutputFormat::StreamJson);
    }

    #[test]
    fn modes() {
        assert_eq!(
            parse(&["--yolo"]).session.effective_mode(),
            PermissionMode::Unrestricted
        );
        assert_eq!(
            parse(&["--permission-mode", "acceptEdits"])
                .session
                .effective_mode(),
            PermissionMode::AcceptEdits
        );
        assert_eq!(
            parse(&[]).session.effective_mode(),
            PermissionMode::Standard
        );
    }

    #[test]
    fn version_flags() {
        for flag in ["-v", "-V", "--version"] {
            let e = Cli::try_parse_from(["letta", flag]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion, "{flag}");
        }
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

/// Where `letta mcp add` writes a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum McpScope {
    /// This project, this machine: .letta/settings.local.json
    Local,
    /// This project, shared with the team: .mcp.json (Claude Code's file)
    Project,
    /// Every project: the global settings file
    User,
}

/// `letta mcp …`.
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Add a server: `letta mcp add NAME -- COMMAND [ARGS…]`, or `--transport http NAME URL`
    Add {
        name: String,
        /// The command and its arguments (stdio), or the URL (http, sse)
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        target: Vec<String>,
        #[arg(short = 't', long, default_value = "stdio", value_parser = ["stdio", "http", "sse"])]
        transport: String,
        #[arg(short = 's', long, value_enum, default_value_t = McpScope::Local)]
        scope: McpScope,
        /// KEY=VALUE for the server's environment (repeatable)
        #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// "Name: value" header for an http server (repeatable)
        #[arg(short = 'H', long = "header", value_name = "HEADER")]
        header: Vec<String>,
        /// Seconds one tool call may take (default 120)
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Start every configured server and show its status and tools
    List,
    /// One server: where it is configured, what it runs, its status and tools
    Get { name: String },
    /// Remove a server (from the narrowest scope that has it, or from --scope)
    Remove {
        name: String,
        #[arg(short = 's', long, value_enum)]
        scope: Option<McpScope>,
    },
    /// Serve an agent's memory, history and conversations as an MCP server (stdio by default)
    Serve(McpServeArgs),
}

/// `letta mcp serve`.
#[derive(Debug, Clone, Args)]
pub struct McpServeArgs {
    /// The agent to serve (default: this project's)
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
    /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// `-` reads the bearer token clients must send from stdin; or set LETTA_MCP_TOKEN
    #[arg(long, value_name = "-")]
    pub token: Option<String>,
}

/// `--input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    StreamJson,
}

/// `letta skills …`.
#[derive(Debug, Subcommand)]
pub enum SkillsCommand {
    /// Every skill with its source; broken ones with the reason
    List,
}
