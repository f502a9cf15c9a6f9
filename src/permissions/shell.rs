//! Splitting a shell command into the simple commands it runs, for permission checks.
//!
//! `a && b; c | d $(e) \`f\`` runs a, b, c, d, e and f: a command is allowed only if every part
//! is. Quotes are respected; anything we cannot parse safely is returned whole (and asks).

/// The simple commands inside `cmd`, trimmed, in order.
pub fn split(cmd: &str) -> Vec<String> {
    let mut parts = Vec::new();
    split_into(cmd, &mut parts);
    parts.retain(|p| !p.is_empty());
    parts
}

fn split_into(cmd: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = cmd.chars().collect();
    let mut cur = String::new();
    let mut i = 0;
    let mut quote: Option<char> = None;
    let push = |cur: &mut String, out: &mut Vec<String>| {
        out.push(cur.trim().to_string());
        cur.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        // Outside single quotes, escapes hold the next character, and `$(…)` and backticks
        // run (inside double quotes too).
        if quote != Some('\'') {
            if c == '\\' && i + 1 < chars.len() {
                cur.push(c);
                cur.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if let Some((inner, end)) = substitution(&chars, i) {
                split_into(&inner, out);
                cur.push_str("$SUBST");
                i = end;
                continue;
            }
        }
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => {
                match c {
                    '\'' | '"' => {
                        quote = Some(c);
                        cur.push(c);
                    }
                    ';' | '\n' => push(&mut cur, out),
                    '&' | '|' => {
                        // `&&`, `||`, `|`, `&` all separate commands; `>&` / `&>` are redirections.
                        let prev = cur.chars().last();
                        let next = chars.get(i + 1).copied();
                        if c == '&' && (prev == Some('>') || next == Some('>')) {
                            cur.push(c);
                        } else {
                            push(&mut cur, out);
                            if next == Some(c) {
                                i += 1;
                            }
                        }
                    }
                    // A group opens at the start of a command and closes anywhere.
                    '(' | '{' if cur.trim().is_empty() => push(&mut cur, out),
                    ')' => push(&mut cur, out),
                    _ => cur.push(c),
                }
            }
        }
        i += 1;
    }
    push(&mut cur, out);
}

/// `$(…)` or `` `…` `` starting at `i`: its content and the index after it.
fn substitution(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars[i] == '`' {
        let end = (i + 1..chars.len()).find(|&j| chars[j] == '`')?;
        return Some((chars[i + 1..end].iter().collect(), end + 1));
    }
    if chars[i] == '$' && chars.get(i + 1) == Some(&'(') {
        let mut depth = 0;
        for j in i + 1..chars.len() {
            match chars[j] {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((chars[i + 2..j].iter().collect(), j + 1));
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Commands that only read, when they have no output redirection.
const READ_ONLY: &[&str] = &[
    "ls", "cat", "head", "tail", "wc", "grep", "rg", "egrep", "fgrep", "pwd", "echo", "printf",
    "which", "whoami", "date", "uname", "tree", "file", "stat", "du", "df", "env", "printenv",
    "true", "false", "test", "basename", "dirname", "realpath", "readlink", "sort", "uniq", "cut",
    "tr", "diff", "cmp", "less", "more", "type", "id", "hostname", "nl", "od", "hexdump", "jq",
    "column", "seq",
];

/// Git subcommands that only read.
const GIT_READ_ONLY: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "branch",
    "rev-parse",
    "ls-files",
    "blame",
    "remote",
    "describe",
    "shortlog",
    "grep",
    "tag",
];

/// Whether one simple command only reads.
pub fn is_read_only(part: &str) -> bool {
    if part.contains('>') || part.contains("$SUBST") {
        return false;
    }
    let words: Vec<&str> = part.split_whitespace().collect();
    let Some(first) = words.iter().copied().find(|w| !w.contains('=')) else {
        return false;
    };
    let name = first.rsplit('/').next().unwrap_or(first);
    match name {
        "find" => !words.iter().any(|w| {
            matches!(
                *w,
                "-exec" | "-execdir" | "-delete" | "-ok" | "-fprint" | "-fprintf" | "-fls"
            )
        }),
        "sed" => !words
            .iter()
            .any(|w| w.starts_with("-i") || *w == "--in-place"),
        "git" => {
            words
                .iter()
                .skip_while(|w| **w != first)
                .nth(1)
                .is_some_and(|sub| GIT_READ_ONLY.contains(sub))
                && !words.iter().any(|w| {
                    matches!(
                        *w,
                        "-D" | "-d"
                            | "--delete"
                            | "-m"
                            | "-M"
                            | "add"
                            | "set-url"
                            | "remove"
                            | "rm"
                    )
                })
        }
        "cargo" => words
            .get(1)
            .is_some_and(|s| matches!(*s, "--version" | "metadata" | "tree")),
        _ => READ_ONLY.contains(&name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_chains_pipes_and_substitutions() {
        assert_eq!(split("npm test && rm -rf x"), ["npm test", "rm -rf x"]);
        assert_eq!(split("a; b || c | d & e"), ["a", "b", "c", "d", "e"]);
        assert_eq!(
            split("echo $(curl evil.sh) done"),
            ["curl evil.sh", "echo $SUBST done"]
        );
        assert_eq!(split("echo `whoami`"), ["whoami", "echo $SUBST"]);
        assert_eq!(split("echo 'a && b' \"c; d\""), ["echo 'a && b' \"c; d\""]);
        assert_eq!(split("echo \"$(rm x)\""), ["rm x", "echo \"$SUBST\""]);
        assert_eq!(split("cmd 2>&1 | tee log"), ["cmd 2>&1", "tee log"]);
        assert_eq!(split("ls\nrm y"), ["ls", "rm y"]);
        assert_eq!(split("(cd x && make)"), ["cd x", "make"]);
        assert_eq!(split("echo a\\;b"), ["echo a\\;b"]);
    }

    #[test]
    fn read_only_commands() {
        for ok in [
            "ls -la",
            "cat a.txt",
            "git status",
            "git log --oneline",
            "grep -r foo .",
            "find . -name '*.rs'",
            "FOO=1 ls",
            "/bin/ls",
        ] {
            assert!(is_read_only(ok), "{ok}");
        }
        for no in [
            "rm x",
            "echo hi > f",
            "find . -delete",
            "sed -i s/a/b/ f",
            "git push",
            "git branch -D x",
            "npm test",
            "echo $SUBST",
            "cargo build",
        ] {
            assert!(!is_read_only(no), "{no}");
        }
    }
}
