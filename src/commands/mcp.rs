//! `/mcp`: the session's MCP servers, and reconnecting one.

use super::{Ctx, Outcome};

/// `/mcp`: the servers with their tools; `/mcp reconnect NAME` starts one again.
pub(super) async fn mcp(ctx: &Ctx, arg: Option<&str>) -> Outcome {
    match arg
        .map(str::split_whitespace)
        .map(|mut w| (w.next(), w.next(), w.next()))
    {
        None => Outcome::Info(crate::mcp::listing(
            &ctx.mcp.views(),
            ctx.mcp.problems(),
            true,
        )),
        Some((Some("reconnect"), Some(name), None)) => {
            if let Err(e) = ctx.mcp.reconnect(name) {
                return Outcome::Error(e);
            }
            ctx.mcp.settled(std::time::Duration::from_secs(35)).await;
            let views: Vec<_> = ctx
                .mcp
                .views()
                .into_iter()
                .filter(|v| v.name == name)
                .collect();
            Outcome::Info(crate::mcp::listing(&views, &[], true))
        }
        _ => Outcome::Error("use /mcp, or /mcp reconnect NAME".into()),
    }
}
