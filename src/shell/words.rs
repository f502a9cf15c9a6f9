//! The words of a command as the shell would pass them, when they are known before it runs:
//! quotes removed and escapes decoded, and anything the shell would change (globs, braces,
//! tildes, numeric escapes) left unknown.

use tree_sitter::Node;

pub(super) fn text(node: Node, src: &[u8]) -> String {
    node.utf8_text(src).unwrap_or_default().to_string()
}

/// The value of a word when it is literal: plain words, quoted strings without expansions,
/// `$'…'` strings, and concatenations of those.
pub(super) fn literal(node: Node, src: &[u8]) -> Option<String> {
    let t = text(node, src);
    match node.kind() {
        "word" | "command_name" if node.named_child_count() == 0 => {
            (!expands(&t)).then(|| unescape(&t))
        }
        "command_name" | "concatenation" => {
            let mut out = String::new();
            let mut c = node.walk();
            for child in node.named_children(&mut c) {
                out.push_str(&literal(child, src)?);
            }
            Some(out)
        }
        "raw_string" => Some(t.trim_matches('\'').to_string()),
        "string" => {
            let mut c = node.walk();
            let plain = node
                .named_children(&mut c)
                .all(|n| n.kind() == "string_content");
            plain.then(|| {
                let inner = t.strip_prefix('"').unwrap_or(&t);
                unquote(inner.strip_suffix('"').unwrap_or(inner))
            })
        }
        "ansi_c_string" => ansi_c(&t),
        "number" => Some(t),
        _ => None,
    }
}

/// Whether the shell would change a bare word before passing it: a glob, a brace expansion,
/// a tilde, or a line continuation (which the parser splits words at, unlike bash).
fn expands(w: &str) -> bool {
    let mut chars = w.chars();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                None | Some('\n') => return true,
                Some(_) => {}
            },
            '*' | '?' | '[' | '{' => return true,
            '~' if first => return true,
            _ => {}
        }
        first = false;
    }
    false
}

/// A bare word with its backslashes removed.
fn unescape(w: &str) -> String {
    let mut out = String::new();
    let mut chars = w.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// The inside of a double-quoted string without expansions, as bash reads it: a backslash
/// escapes only `$`, a backquote, `"`, `\\` and a newline (which it removes).
fn unquote(inner: &str) -> String {
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('\n') => {
                chars.next();
            }
            Some(&e @ ('$' | '`' | '"' | '\\')) => {
                chars.next();
                out.push(e);
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// `$'…'` with its escapes decoded. Numeric and control escapes (`\x2d`, `\055`, `\cX`,
/// `\u…`) are not decoded here: such a word is treated as unknown rather than guessed at.
fn ansi_c(t: &str) -> Option<String> {
    let inner = t.strip_prefix("$'").and_then(|s| s.strip_suffix('\''))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            e @ ('\\' | '\'' | '"' | '?') => e,
            _ => return None,
        });
    }
    Some(out)
}
