//! The first-run screen: shown when no backend or provider is usable. A short choice list;
//! each choice asks what it needs, checks the connection, explains a failure in one line and
//! saves on success. Then the chat view opens.

use std::path::Path;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::input::Input;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::cells;
use super::composer::{Composer, Edit};
use super::term;
use crate::connect::{self, Target};
use crate::llm::ProviderSpec;
use crate::settings::paths::Paths;

/// How the screen ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Connected,
    Exit,
}

const CHOICES: [(Option<Target>, &str); 6] = [
    (
        Some(Target::Letta),
        "Letta Cloud or a Letta server (URL and API key)",
    ),
    (
        Some(Target::OpenAi),
        "OpenAI-compatible endpoint (base URL, key, model)",
    ),
    (Some(Target::Anthropic), "Anthropic (key)"),
    (Some(Target::Ollama), "Ollama"),
    (
        Some(Target::Local),
        "A small local model that runs offline (SmolLM2: tiny and not smart, no key)",
    ),
    (None, "Exit"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Url,
    Key,
}

enum Step {
    Choose,
    Ask {
        target: Target,
        field: Field,
    },
    Pick {
        spec: ProviderSpec,
        models: Vec<String>,
    },
    Busy(String),
}

struct Screen {
    step: Step,
    sel: usize,
    input: Composer,
    url: String,
    error: Option<String>,
    ollama: Option<(String, usize)>,
}

impl Screen {
    fn lines(&self) -> Vec<Line<'static>> {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let dim = Style::default().add_modifier(Modifier::DIM);
        let accent = Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD);
        let mut out = vec![
            Line::from(Span::styled(
                "✻ Welcome to letta",
                Style::default()
                    .fg(Color::Magenta)
                    .add_modifier(Modifier::BOLD),
            )),
            Line::from(Span::styled("Connect a model to start:", bold)),
        ];
        // Not cut here: the screen's paragraph clips at the terminal's width.
        let row =
            |i: usize, sel: usize, text: String| cells::choice(i, i == sel, &text, usize::MAX);
        match &self.step {
            Step::Choose => {
                for (i, (t, label)) in CHOICES.iter().enumerate() {
                    let mut text = label.to_string();
                    if *t == Some(Target::Ollama) {
                        text = match &self.ollama {
                            Some((url, n)) => format!(
                                "Ollama — found at {url} ({n} model{})",
                                if *n == 1 { "" } else { "s" }
                            ),
                            None => format!("Ollama (not detected at {})", probe_url()),
                        };
                    }
                    out.push(row(i, self.sel, text));
                }
                out.push(Line::from(Span::styled(
                    "↑↓ or 1-6 to pick · enter to confirm · esc exits",
                    dim,
                )));
            }
            Step::Ask { target, field } => {
                let (label, shown) = match field {
                    Field::Url => (
                        format!("{} base URL:", target.name()),
                        self.input.text().to_string(),
                    ),
                    Field::Key => (
                        format!(
                            "{} API key (only the last 4 characters are shown):",
                            target.name()
                        ),
                        masked(self.input.text()),
                    ),
                };
                out.push(Line::from(Span::styled(label, bold)));
                out.push(Line::from(vec![
                    Span::styled("› ", accent),
                    Span::raw(shown),
                ]));
                out.push(Line::from(Span::styled(
                    "enter to continue · esc goes back",
                    dim,
                )));
            }
            Step::Pick { spec, models } => {
                out.push(Line::from(Span::styled(
                    format!("Pick a model from {}:", spec.base_url),
                    bold,
                )));
                let start = self.sel.saturating_sub(7);
                for (i, m) in models.iter().enumerate().skip(start).take(8) {
                    out.push(row(i, self.sel, m.clone()));
                }
                out.push(Line::from(Span::styled(
                    "↑↓ to pick · enter to confirm · esc goes back",
                    dim,
                )));
            }
            Step::Busy(what) => out.push(Line::from(Span::styled(what.clone(), dim))),
        }
        if let Some(e) = &self.error {
            out.push(Line::from(Span::styled(
                format!("✗ {e}"),
                Style::default().fg(Color::Red),
            )));
        }
        out
    }
}

/// The screen, wrapped to the terminal's width (a long reason is never cut).
fn paint(f: &mut ratatui::Frame, s: &Screen) {
    f.render_widget(
        Paragraph::new(s.lines()).wrap(Wrap { trim: false }),
        f.area(),
    );
}

/// A key as it may be shown while typed.
fn masked(s: &str) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(4)).collect();
    format!("{}{tail}", "•".repeat(n.saturating_sub(4)))
}

/// Whether the first-run screen is needed: nothing is connected yet.
pub fn needed(
    choice: &crate::settings::choice::BackendChoice,
    env: &dyn Fn(&str) -> Option<String>,
    settings: &crate::settings::GlobalSettings,
) -> bool {
    !connect::anything_configured(choice, env, settings)
}

/// Where Ollama is looked for (OLLAMA_PROBE_URL lets tests point away from a real one).
fn probe_url() -> String {
    std::env::var("OLLAMA_PROBE_URL")
        .or_else(|_| std::env::var("OLLAMA_BASE_URL"))
        .unwrap_or_else(|_| "http://localhost:11434".into())
}

async fn detect_ollama() -> Option<(String, usize)> {
    let url = probe_url();
    let spec = connect::spec(Target::Ollama, Some(&url), None);
    let models = tokio::time::timeout(Duration::from_millis(400), connect::check_provider(&spec))
        .await
        .ok()?
        .ok()?;
    Some((url, models.len()))
}

/// Run the screen until connected or exited. The terminal is restored before it returns.
/// The input stream comes back for the chat view to go on reading (there can be only one).
pub async fn run(paths: &Paths) -> std::io::Result<(Outcome, Input)> {
    term::install_panic_hook();
    term::enable()?;
    let mut events = None;
    let r = run_inner(paths, &mut events).await;
    term::restore();
    Ok((r?, events.unwrap_or_else(Input::start)))
}

async fn run_inner(paths: &Paths, slot: &mut Option<Input>) -> std::io::Result<Outcome> {
    let mut terminal = Terminal::with_options(
        super::backend::Tracked::new(),
        TerminalOptions {
            viewport: Viewport::Inline(14),
        },
    )?;
    let mut s = Screen {
        step: Step::Busy("Looking for a local Ollama…".into()),
        sel: 0,
        input: Composer::default(),
        url: String::new(),
        error: None,
        ollama: None,
    };
    terminal.draw(|f| paint(f, &s))?;
    s.ollama = detect_ollama().await;
    s.step = Step::Choose;
    let events = slot.insert(Input::start());
    loop {
        terminal.draw(|f| paint(f, &s))?;
        let Some(Ok(ev)) = events.next().await else {
            return Ok(Outcome::Exit);
        };
        let k = match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => k,
            Event::Paste(p) => {
                if matches!(s.step, Step::Ask { .. }) {
                    s.input.insert_str(p.trim());
                }
                continue;
            }
            _ => continue,
        };
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            terminal.clear()?;
            return Ok(Outcome::Exit);
        }
        if let Some(done) = key(&mut s, k, paths, &mut terminal).await? {
            if done == Outcome::Exit {
                // Nothing stays behind of a screen the user left.
                terminal.clear()?;
                return Ok(done);
            }
            // The screen goes; the chat view starts where it began (its banner says what is
            // connected). The position is recorded for the chat view's terminal.
            let top = terminal.get_frame().area().top();
            terminal.clear()?;
            terminal.set_cursor_position((0, top))?;
            return Ok(done);
        }
    }
}

type Term = Terminal<super::backend::Tracked>;

fn busy(s: &mut Screen, t: &mut Term, what: &str) -> std::io::Result<()> {
    s.step = Step::Busy(what.into());
    s.error = None;
    t.draw(|f| paint(f, s))?;
    Ok(())
}

async fn key(
    s: &mut Screen,
    k: KeyEvent,
    paths: &Paths,
    t: &mut Term,
) -> std::io::Result<Option<Outcome>> {
    let settings_file = paths.settings_file();
    let settings = settings_file.as_path();
    match &s.step {
        Step::Choose => {
            let pick = match k.code {
                KeyCode::Up => {
                    s.sel = s.sel.saturating_sub(1);
                    None
                }
                KeyCode::Down => {
                    s.sel = (s.sel + 1).min(CHOICES.len() - 1);
                    None
                }
                KeyCode::Char(c @ '1'..='6') => Some(c as usize - '1' as usize),
                KeyCode::Enter => Some(s.sel),
                KeyCode::Esc => return Ok(Some(Outcome::Exit)),
                _ => None,
            };
            let Some(i) = pick else { return Ok(None) };
            s.sel = i;
            s.error = None;
            let Some(target) = CHOICES[i].0 else {
                return Ok(Some(Outcome::Exit));
            };
            match target {
                Target::Local => {
                    busy(
                        s,
                        t,
                        "Setting up the offline model (about a minute the first time)…",
                    )?;
                    return local(s, paths, t).await;
                }
                Target::Anthropic => ask(s, target, Field::Key, ""),
                Target::Ollama => {
                    let url = s
                        .ollama
                        .as_ref()
                        .map_or_else(|| "http://localhost:11434".into(), |o| o.0.clone());
                    ask(s, target, Field::Url, &url);
                }
                _ => ask(s, target, Field::Url, target.default_url()),
            }
        }
        Step::Ask { target, field } => {
            let (target, field) = (*target, *field);
            if k.code == KeyCode::Esc {
                s.error = None;
                // From the key, Esc goes back to the URL it belongs to; from there, to the list.
                if field == Field::Key && target != Target::Anthropic {
                    let url = s.url.clone();
                    ask(s, target, Field::Url, &url);
                } else {
                    s.step = Step::Choose;
                }
                return Ok(None);
            }
            let Edit::Submit(text) = s.input.key(k) else {
                return Ok(None);
            };
            let mut text = text.trim().to_string();
            if field == Field::Url {
                match connect::valid_url(&text) {
                    Ok(u) => text = u,
                    Err(why) => {
                        s.error = Some(why);
                        return Ok(None);
                    }
                }
            }
            // What was wrong before is answered now.
            s.error = None;
            match field {
                Field::Url if target == Target::Ollama => {
                    s.url = text;
                    return check(s, target, None, settings, t).await;
                }
                Field::Url => {
                    s.url = text;
                    ask(s, target, Field::Key, "");
                }
                Field::Key => {
                    return check(s, target, Some(text).filter(|k| !k.is_empty()), settings, t)
                        .await;
                }
            }
        }
        Step::Pick { spec, models } => match k.code {
            KeyCode::Up => s.sel = s.sel.saturating_sub(1),
            KeyCode::Down => s.sel = (s.sel + 1).min(models.len().saturating_sub(1)),
            KeyCode::Esc => s.step = Step::Choose,
            KeyCode::Enter => {
                let model = format!("{}/{}", spec.name, models[s.sel.min(models.len() - 1)]);
                if let Err(e) = connect::save_provider(settings, spec, None, None) {
                    s.error = Some(e.to_string());
                    return Ok(None);
                }
                crate::settings::GlobalSettings::update(settings, |g| {
                    g.default_model = Some(model);
                    Ok(())
                })
                .map_err(std::io::Error::other)?;
                return Ok(Some(Outcome::Connected));
            }
            _ => {}
        },
        Step::Busy(_) => {}
    }
    Ok(None)
}

fn ask(s: &mut Screen, target: Target, field: Field, prefill: &str) {
    s.input = Composer::default();
    s.input.set_text(prefill);
    s.step = Step::Ask { target, field };
}

async fn check(
    s: &mut Screen,
    target: Target,
    key: Option<String>,
    settings: &Path,
    t: &mut Term,
) -> std::io::Result<Option<Outcome>> {
    let url = (!s.url.is_empty()).then(|| s.url.clone());
    let at = url
        .clone()
        .unwrap_or_else(|| target.default_url().to_string());
    let what = if key.is_some() {
        format!("Checking the key with {at}…")
    } else {
        format!("Checking {at}…")
    };
    busy(s, t, &crate::settings::mask_url(&what))?;
    if target == Target::Letta {
        let url = url.unwrap_or_else(|| target.default_url().into());
        return Ok(match connect::check_letta(&url, key.clone()).await {
            Ok(()) => match connect::save_letta(settings, &url, key.as_deref()) {
                Ok(()) => Some(Outcome::Connected),
                Err(e) => fail(s, target, Field::Url, &url, e.to_string()),
            },
            Err(why) => fail(s, target, Field::Key, "", why),
        });
    }
    let spec = connect::spec(target, url.as_deref(), key);
    match connect::check_provider(&spec).await {
        Ok(models) if models.is_empty() => Ok(fail(
            s,
            target,
            Field::Url,
            &spec.base_url,
            "it lists no models".into(),
        )),
        Ok(models) => {
            s.sel = 0;
            s.step = Step::Pick { spec, models };
            Ok(None)
        }
        // A rejected key is asked for again; anything else goes back to the URL.
        Err(why) if why == "the key was rejected" => Ok(fail(s, target, Field::Key, "", why)),
        Err(why) => {
            let field = if target == Target::Anthropic {
                Field::Key
            } else {
                Field::Url
            };
            let url = s.url.clone();
            Ok(fail(s, target, field, &url, why))
        }
    }
}

fn fail(
    s: &mut Screen,
    target: Target,
    field: Field,
    prefill: &str,
    why: String,
) -> Option<Outcome> {
    ask(s, target, field, prefill);
    s.error = Some(why);
    None
}

/// Set up the offline model, its progress ("Fetching the model: 37 of about 95 MB") shown on
/// the screen's busy line as it comes.
async fn local(s: &mut Screen, paths: &Paths, t: &mut Term) -> std::io::Result<Option<Outcome>> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let work = crate::connect::local::connect(paths, move |m| {
        let _ = tx.send(m.to_string());
    });
    tokio::pin!(work);
    let done = loop {
        tokio::select! {
            r = &mut work => break r,
            Some(m) = rx.recv() => busy(s, t, &m)?,
        }
    };
    match done {
        Ok(()) => Ok(Some(Outcome::Connected)),
        Err(why) => {
            s.step = Step::Choose;
            s.error = Some(why);
            Ok(None)
        }
    }
}
