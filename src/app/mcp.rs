//! `letta mcp add|list|get|remove|serve`: MCP servers managed from scripts, and an agent served
//! as one.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use super::cli::{McpCommand, McpScope, McpServeArgs};
use super::{AppContext, cwd, open_backend, project_agent, secret};
use crate::mcp::{McpManager, ServerConfig, config};

pub(super) async fn run(command: McpCommand, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let here = cwd()?;
    let global = ctx.paths.settings_file();
    match command {
        McpCommand::Add {
            name,
            target,
            transport,
            scope,
            env,
            header,
            timeout,
        } => {
            let cfg = added(&target, &transport, &env, &header, timeout)?;
            let file = scope_file(scope, &global, &here);
            config::add(&file, &name, &cfg, scope == McpScope::User).map_err(anyhow::Error::msg)?;
            println!(
                "Added MCP server {name} ({}) to {}",
                cfg.target(),
                file.display()
            );
        }
        McpCommand::List | McpCommand::Get { .. } => {
            let only = match &command {
                McpCommand::Get { name } => Some(name.clone()),
                _ => None,
            };
            let mut loaded = config::load(&global, &here);
            if let Some(n) = &only {
                loaded.servers.retain(|s| &s.name == n);
                if loaded.servers.is_empty() {
                    bail!("no MCP server is called {n:?} here; `letta mcp list` shows them");
                }
            }
            // A project's servers start only in a folder the user trusts, as in a session.
            let trusted = crate::session::trust::is_trusted(&ctx.settings, &here);
            let manager = McpManager::start(loaded, here, trusted);
            manager.settled(Duration::from_secs(40)).await;
            print!(
                "{}",
                crate::ui::safe_text::neutralise(&crate::mcp::listing(
                    &manager.views(),
                    manager.problems(),
                    only.is_some(),
                ))
            );
        }
        McpCommand::Remove { name, scope } => {
            let scopes = match scope {
                Some(s) => vec![s],
                None => vec![McpScope::Local, McpScope::Project, McpScope::User],
            };
            for s in scopes {
                let file = scope_file(s, &global, &here);
                if config::remove(&file, &name, s == McpScope::User).map_err(anyhow::Error::msg)? {
                    println!("Removed MCP server {name} from {}", file.display());
                    return Ok(ExitCode::SUCCESS);
                }
            }
            bail!("no MCP server {name:?} was found to remove");
        }
        McpCommand::Serve(args) => return serve(args, ctx).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn scope_file(
    scope: McpScope,
    global: &std::path::Path,
    here: &std::path::Path,
) -> std::path::PathBuf {
    match scope {
        McpScope::User => global.to_path_buf(),
        McpScope::Project => here.join(".mcp.json"),
        McpScope::Local => crate::settings::project_local_file(here),
    }
}

/// The entry `letta mcp add` writes.
fn added(
    target: &[String],
    transport: &str,
    env: &[String],
    header: &[String],
    timeout: Option<u64>,
) -> anyhow::Result<ServerConfig> {
    let mut cfg = ServerConfig {
        timeout,
        ..Default::default()
    };
    if transport == "stdio" {
        cfg.command = target.first().cloned();
        cfg.args = target.iter().skip(1).cloned().collect();
    } else {
        let [url] = target else {
            bail!("an {transport} server takes one URL");
        };
        cfg.kind = Some(transport.to_string());
        cfg.url = Some(url.clone());
    }
    cfg.env = pairs(env, '=', "--env takes KEY=VALUE")?;
    cfg.headers = pairs(header, ':', "--header takes \"Name: value\"")?;
    cfg.transport().map_err(anyhow::Error::msg)?;
    Ok(cfg)
}

fn pairs(items: &[String], sep: char, usage: &str) -> anyhow::Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|i| match i.split_once(sep) {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => bail!("{usage}; got {i:?}"),
        })
        .collect()
}

/// `letta mcp serve`: stdio, or streamable HTTP with a token off loopback.
async fn serve(args: McpServeArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let backend = open_backend(ctx)?;
    let agent = match args.agent {
        Some(a) => a,
        None => match project_agent(ctx)? {
            Some(a) => a,
            None => bail!(
                "no agent to serve: pass --agent ID (`letta agents list` shows them), or run letta in this project once"
            ),
        },
    };
    backend
        .get_agent(&agent)
        .await
        .map_err(|e| anyhow::anyhow!("agent {agent}: {e}"))?;
    let here = cwd()?;
    let r = super::rules::permissions(&Default::default(), ctx, &here, false)?;
    let rules = crate::server::mcp::Rules {
        tools: std::sync::Arc::new(r.sandbox.tool_context(here.clone(), &r.checker)),
        checker: std::sync::Arc::new(std::sync::Mutex::new(r.checker)),
        hooks: std::sync::Arc::new(r.hooks),
        cwd: here,
    };
    let service = crate::server::mcp::AgentService::new(backend, agent, rules);
    match args.http {
        None => service.serve_stdio().await?,
        Some(addr) => {
            let token = secret(args.token.as_deref(), "--token", "LETTA_MCP_TOKEN")?
                .or_else(|| std::env::var("LETTA_MCP_TOKEN").ok())
                .filter(|t| !t.trim().is_empty());
            let addr: std::net::SocketAddr = addr.parse().map_err(|e| {
                anyhow::anyhow!("--http {addr:?} is not an address like 127.0.0.1:8765 ({e})")
            })?;
            if !addr.ip().is_loopback() && token.is_none() {
                bail!(
                    "--http on {addr} is reachable from other machines; give a token with --token - or LETTA_MCP_TOKEN"
                );
            }
            service
                .serve_http(addr, token, |local| {
                    println!("letta mcp serve listening on http://{local}/mcp");
                })
                .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
