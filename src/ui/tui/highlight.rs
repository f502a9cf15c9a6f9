//! Code highlighting with syntect. The syntax and theme sets take tens of milliseconds to
//! load, so they load lazily (and [`warm_up`] starts that off the UI thread at startup).

use std::sync::LazyLock;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

/// Code longer than this is shown plain: highlighting it would stall the stream.
const MAX_HIGHLIGHT_BYTES: usize = 256 * 1024;

struct Sets {
    syntaxes: SyntaxSet,
    dark: Theme,
    light: Theme,
}

static SETS: LazyLock<Sets> = LazyLock::new(|| {
    let mut themes = ThemeSet::load_defaults().themes;
    Sets {
        syntaxes: SyntaxSet::load_defaults_newlines(),
        dark: themes.remove("base16-ocean.dark").unwrap_or_default(),
        light: themes.remove("InspiredGitHub").unwrap_or_default(),
    }
});

/// Load the sets on a background thread so the first code block does not wait for them.
pub fn warm_up() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::thread::spawn(|| {
            LazyLock::force(&SETS);
        });
    });
}

/// Whether the terminal background is light, from `COLORFGBG` ("15;0" is light text on dark).
pub fn light_background() -> bool {
    std::env::var("COLORFGBG")
        .ok()
        .and_then(|v| v.rsplit(';').next().and_then(|b| b.parse::<u8>().ok()))
        .is_some_and(|bg| bg == 7 || bg == 15)
}

/// `code` as highlighted lines (no background colour, so the terminal's own shows through).
/// An unknown language, or very long code, comes back plain.
pub fn highlight(code: &str, lang: &str, light: bool) -> Vec<Line<'static>> {
    let plain = || {
        code.lines()
            .map(|l| Line::from(Span::raw(l.to_string())))
            .collect()
    };
    if code.len() > MAX_HIGHLIGHT_BYTES {
        return plain();
    }
    let sets = &*SETS;
    let token = lang.split([',', ' ', '{']).next().unwrap_or("").trim();
    let Some(syntax) = (!token.is_empty())
        .then(|| {
            sets.syntaxes
                .find_syntax_by_token(token)
                .or_else(|| sets.syntaxes.find_syntax_by_extension(token))
        })
        .flatten()
    else {
        return plain();
    };
    let theme = if light { &sets.light } else { &sets.dark };
    let mut h = HighlightLines::new(syntax, theme);
    let mut out = Vec::new();
    for line in syntect::util::LinesWithEndings::from(code) {
        let Ok(regions) = h.highlight_line(line, &sets.syntaxes) else {
            return plain();
        };
        let spans: Vec<Span<'static>> = regions
            .into_iter()
            .map(|(st, text)| {
                let mut style = Style::default().fg(Color::Rgb(
                    st.foreground.r,
                    st.foreground.g,
                    st.foreground.b,
                ));
                if st.font_style.contains(FontStyle::BOLD) {
                    style = style.add_modifier(Modifier::BOLD);
                }
                Span::styled(text.trim_end_matches(['\n', '\r']).to_string(), style)
            })
            .filter(|s| !s.content.is_empty())
            .collect();
        out.push(Line::from(spans));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_is_coloured_and_unknown_is_plain() {
        let l = highlight("fn main() {}\n", "rust", false);
        assert_eq!(l.len(), 1);
        assert!(l[0].spans.len() > 1);
        assert_eq!(l[0].to_string(), "fn main() {}");
        let p = highlight("x y\n", "no-such-lang", false);
        assert_eq!(p[0].spans.len(), 1);
    }
}
