//! Neutralising terminal control sequences in text from models and tools before display.

/// `s` with control characters made visible (`ESC` → `␛`, other C0/C1 controls → `^X` or
/// `\u{..}`), keeping newlines and tabs. What a model or tool prints can then never move the
/// cursor, change colours, set the title or talk to the terminal.
pub fn neutralise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => out.push('␛'),
            '\r' => out.push_str("^M"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c if ('\u{80}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_become_visible() {
        assert_eq!(neutralise("a\u{1b}[2Jb"), "a␛[2Jb");
        assert_eq!(neutralise("title\u{1b}]0;pwned\u{7}"), "title␛]0;pwned^G");
        assert_eq!(neutralise("x\r\ny\tz\u{9b}"), "x^M\ny\tz\\u{9b}");
        assert_eq!(neutralise("日本語 ok"), "日本語 ok");
    }
}
