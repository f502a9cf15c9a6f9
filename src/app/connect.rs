//! `letta connect …`: check a provider or server, then save it.

use std::process::ExitCode;

use anyhow::bail;

use super::AppContext;
use crate::settings::GlobalSettings;

/// Progress on stderr: the download's line is rewritten in place on a terminal, and printed
/// every tenth of the way otherwise (a log should not get a line per megabyte).
fn progress_printer() -> impl Fn(&str) + Send + Sync + 'static {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let shown = std::sync::atomic::AtomicU64::new(u64::MAX);
    move |m: &str| {
        if let Some(out) = progress_text(m, tty, &shown) {
            eprint!("{out}");
        }
    }
}

/// What to write for a progress message; `shown` is the tenth last printed off a terminal.
fn progress_text(m: &str, tty: bool, shown: &std::sync::atomic::AtomicU64) -> Option<String> {
    use std::sync::atomic::Ordering;
    let pct = m
        .rsplit_once('(')
        .and_then(|(_, p)| p.strip_suffix("%)"))
        .and_then(|p| p.parse::<u64>().ok());
    match (pct, tty) {
        (Some(_), true) => Some(format!("\r{m}\x1b[K")),
        (Some(p), false) => {
            (shown.swap(p / 10, Ordering::Relaxed) != p / 10).then(|| format!("{m}\n"))
        }
        (None, true) => Some(format!("\r\x1b[K{m}\n")),
        (None, false) => Some(format!("{m}\n")),
    }
}

/// What `letta connect` alone offers, as the first-run screen does.
const CHOICES: &[(&str, &str)] = &[
    (
        "openai",
        "OpenAI or any OpenAI-compatible endpoint (a base URL and a key)",
    ),
    ("anthropic", "Anthropic (a key)"),
    ("ollama", "Ollama on this machine or another"),
    ("letta", "A Letta server: Letta Cloud or self-hosted"),
    (
        "local",
        "The offline model: no key and no network (downloads about 100 MB once)",
    ),
];

/// Ask which provider, on a terminal; elsewhere say how to name one.
fn choose() -> Option<String> {
    use std::io::IsTerminal;
    println!("Connect letta to a model provider or a Letta server:");
    for (i, (name, what)) in CHOICES.iter().enumerate() {
        println!("  {}. {name:<10} {what}", i + 1);
    }
    if !std::io::stdin().is_terminal() {
        eprintln!("error: name one: letta connect openai|anthropic|ollama|letta|local");
        return None;
    }
    let answer = crate::ui::ask_line("number or name (enter to cancel) › ")?;
    let picked = answer
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| CHOICES.get(i))
        .map(|c| c.0.to_string())
        .unwrap_or(answer);
    Some(picked)
}

/// The base URL (enter keeps the usual one) and, when the provider takes one and none is in
/// the environment, the key (hidden while typed).
fn ask_details(
    target: crate::connect::Target,
    url: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Option<String>, Option<String>) {
    use crate::connect::Target;
    let url = match (url, target) {
        (Some(u), _) => Some(u),
        (None, Target::OpenAi | Target::Ollama | Target::Letta) => crate::ui::ask_line(&format!(
            "{} base URL (enter for {}) › ",
            target.name(),
            target.default_url()
        )),
        (None, _) => None,
    };
    let in_env = target
        .key_var()
        .and_then(env)
        .is_some_and(|k| !k.trim().is_empty());
    let key = match target {
        Target::OpenAi | Target::Anthropic | Target::Letta if !in_env => crate::ui::ask_secret(
            &format!("{} API key (hidden; enter for none) › ", target.name()),
        )
        .filter(|k| !k.trim().is_empty()),
        _ => None,
    };
    (url, key)
}

/// `letta connect …`: check, then save; `--list` shows what is configured.
pub(super) async fn run(
    args: crate::app::cli::ConnectArgs,
    ctx: &AppContext,
) -> anyhow::Result<ExitCode> {
    use crate::connect::{self, Target};
    let env = |k: &str| std::env::var(k).ok();
    if args.list {
        for l in connect::list_lines(&env, &ctx.settings) {
            println!("{l}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen = args.provider.is_none();
    let name = match args.provider.clone() {
        Some(n) => n,
        None => match choose() {
            Some(n) => n,
            None => return Ok(ExitCode::from(2)),
        },
    };
    let Some(target) = Target::parse(&name) else {
        eprintln!(
            "error: unknown provider {name:?}; use openai, anthropic, ollama, letta or local"
        );
        return Ok(ExitCode::from(2));
    };
    let mut args = args;
    let mut typed_key = None;
    if chosen {
        // Chosen from the list at a terminal: what the flags would have said is asked for.
        (args.base_url, typed_key) = ask_details(target, args.base_url.take(), &env);
    }
    if target == Target::Local {
        return Ok(
            match crate::connect::local::connect(&ctx.paths, progress_printer()).await {
                Ok(()) => {
                    println!(
                        "Connected the offline model local/{} (SmolLM2-135M: tiny and not smart, but no network and no key).",
                        crate::llm::local_model::MODEL
                    );
                    println!("letta starts it on 127.0.0.1 when needed and stops it on exit.");
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    eprintln!("error: {why}");
                    ExitCode::from(1)
                }
            },
        );
    }
    // The key: given, or named by --api-key-env, or the provider's usual variable.
    let given = match typed_key {
        Some(k) => Some(k),
        None => super::secret(args.api_key.as_deref(), "--api-key", "--api-key-env VAR")?,
    };
    let (key, key_env) = match (&given, &args.api_key_env) {
        (Some(k), _) => (Some(k.clone()), None),
        (None, Some(var)) => match env(var).filter(|v| !v.trim().is_empty()) {
            Some(k) => (Some(k), Some(var.clone())),
            None => bail!("{var} is not set (named by --api-key-env)"),
        },
        (None, None) => match target
            .key_var()
            .and_then(|v| env(v).filter(|k| !k.trim().is_empty()).map(|k| (k, v)))
        {
            Some((k, var)) => (Some(k), Some(var.to_string())),
            None => (None, None),
        },
    };
    let file = ctx.paths.settings_file();
    if let Some(u) = &args.base_url {
        match connect::valid_url(u) {
            Ok(u) => args.base_url = Some(u),
            Err(why) => {
                eprintln!("error: --base-url {why}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    if target == Target::Letta {
        let url = args
            .base_url
            .clone()
            .unwrap_or_else(|| target.default_url().into());
        if let Err(why) = connect::check_letta(&url, key.clone()).await {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(1));
        }
        connect::save_letta(&file, &url, key.as_deref())?;
        println!(
            "Connected to the Letta server at {}{}",
            crate::settings::mask_url(&url),
            key.as_deref()
                .map(|k| format!(" (key {})", connect::mask(k)))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if key.is_none()
        && matches!(target, Target::OpenAi | Target::Anthropic)
        && args.base_url.is_none()
    {
        eprintln!(
            "error: {} needs a key: pass --api-key-env VAR (or --api-key KEY), or set {}",
            target.name(),
            target.key_var().unwrap_or("its key")
        );
        return Ok(ExitCode::from(2));
    }
    let spec = connect::spec(target, args.base_url.as_deref(), key.clone());
    let models = match connect::check_provider(&spec).await {
        Ok(m) => m,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(1));
        }
    };
    let first = models.first().map(|m| format!("{}/{m}", spec.name));
    connect::save_provider(&file, &spec, key_env.as_deref(), first.as_deref())?;
    println!(
        "Connected {} at {} ({} model{}){}",
        spec.name,
        crate::settings::mask_url(&spec.base_url),
        models.len(),
        if models.len() == 1 { "" } else { "s" },
        key.as_deref()
            .map(|k| format!(", key {}", connect::mask(k)))
            .unwrap_or_default()
    );
    let saved = GlobalSettings::load(&file)?;
    if let Some(m) = saved.default_model {
        println!("Default model for new agents: {m} (change with -m or `letta model list`)");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_progress_rewrites_a_line_or_logs_each_tenth() {
        let shown = std::sync::atomic::AtomicU64::new(u64::MAX);
        let m = |p: u64| format!("Fetching the model: {p} of about 95 MB ({p}%)");
        assert_eq!(
            progress_text(&m(3), true, &shown).unwrap(),
            format!("\r{}\x1b[K", m(3))
        );
        let logged: Vec<u64> = (0..100)
            .filter(|p| progress_text(&m(*p), false, &shown).is_some())
            .collect();
        assert_eq!(logged, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(
            progress_text("Unpacking", false, &shown).unwrap(),
            "Unpacking\n"
        );
    }
}
