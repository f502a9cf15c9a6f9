//! The rules of a session in a folder: permission rules, the sandbox, hooks and MCP servers,
//! with the folder's trust applied.

use super::AppContext;
use crate::permissions::Checker;
use crate::session::sandbox::SessionSandbox;
use crate::settings::ProjectSettings;

/// What governs a session in a folder: its rules, sandbox, hooks, and MCP servers (not yet
/// started: only where the folder is trusted will the project's start).
pub(super) struct Rules {
    pub checker: Checker,
    pub sandbox: SessionSandbox,
    pub mcp: crate::mcp::Loaded,
    pub trusted: bool,
    pub hooks: crate::hooks::Hooks,
}

/// The rules and the sandbox for this folder. A folder the user has not trusted gets only what
/// its own settings tighten; when they would loosen something, an interactive session asks
/// once, and headless mode says what was left out.
pub(super) fn permissions(
    flags: &super::cli::SessionArgs,
    ctx: &AppContext,
    cwd: &std::path::Path,
    interactive: bool,
) -> anyhow::Result<Rules> {
    use crate::session::trust;
    let mode_flag = if flags.yolo {
        Some(crate::permissions::PermissionMode::Unrestricted)
    } else {
        flags.permission_mode
    };
    let source = ctx.paths.settings_file().display().to_string();
    let mut trusted = trust::is_trusted(&ctx.settings, cwd);
    let load = |trusted: bool| {
        Checker::load(&crate::permissions::Load {
            global: ctx.settings.permissions.as_ref(),
            global_source: &source,
            cwd,
            trusted,
            mode_flag,
            allowed: &flags.allowed_tools,
            disallowed: &flags.disallowed_tools,
        })
    };
    let mut checker = load(trusted)?;
    let project = vec![
        ProjectSettings::load(&crate::settings::project_shared_file(cwd))?,
        ProjectSettings::load(&crate::settings::project_local_file(cwd))?,
    ];
    // A project's MCP servers are programs the repository would have letta start.
    let mcp = crate::mcp::config::load(&ctx.paths.settings_file(), cwd);
    if !trusted {
        let mut ignored = checker.ignored.clone();
        ignored.extend(trust::loosening_beyond_rules(&project));
        ignored.extend(
            mcp.servers
                .iter()
                .filter(|s| s.scope.from_project())
                .map(|s| format!("MCP server {} (starts {})", s.name, s.config.target())),
        );
        if ignored.is_empty() {
            checker.trust_on_save = Some(ctx.paths.settings_file());
        } else if interactive && crate::ui::ask_trust(cwd, &ignored) {
            trust::trust(&ctx.paths.settings_file(), cwd)?;
            trusted = true;
            checker = load(true)?;
        } else {
            eprintln!(
                "note: this folder is not trusted, so its .letta settings were applied only where they tighten; left out: {}. Run `letta` here and answer yes to trust it.",
                crate::ui::safe_text::neutralise(&ignored.join("; "))
            );
        }
    }
    let env = |k: &str| std::env::var(k).ok();
    let applied = trust::as_applied(project, trusted);
    let sandbox = crate::session::sandbox::prepare(
        &ctx.paths,
        &ctx.settings,
        &applied,
        &checker,
        cwd,
        std::env::current_exe().ok(),
        &env,
    );
    // An untrusted folder's hooks were left out of `applied`.
    let docs: Vec<(std::path::PathBuf, Option<serde_json::Value>)> = [
        (ctx.paths.settings_file(), ctx.settings.extra.get("hooks")),
        (
            crate::settings::project_shared_file(cwd),
            applied.first().and_then(|p| p.extra.get("hooks")),
        ),
        (
            crate::settings::project_local_file(cwd),
            applied.get(1).and_then(|p| p.extra.get("hooks")),
        ),
    ]
    .into_iter()
    .map(|(f, h)| (f, h.map(|h| serde_json::json!({ "hooks": h }))))
    .collect();
    let sources: Vec<_> = docs.iter().map(|(f, d)| (f.clone(), d.as_ref())).collect();
    let hooks = crate::hooks::Hooks::load(&sources, cwd);
    Ok(Rules {
        checker,
        sandbox,
        mcp,
        trusted,
        hooks,
    })
}
