//! Permission rules: `Bash(npm test:*)`, `Read(src/**)`, `Edit(**/*.rs)`, or a bare tool name.

use std::path::Path;

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub tool: String,
    pub pattern: Option<String>,
}

/// A rule names the call's tool, or the family that covers it: `Edit` covers every file
/// change, `Read` every file read (each tool says which family it is in).
/// MCP tools are named `mcp__server__tool`: `mcp__server` and `mcp__server__*` cover all of a
/// server's tools, and any name ending in `*` covers the names it starts.
fn covers(rule_tool: &str, call_tool: &str, family: &str) -> bool {
    if rule_tool == call_tool || rule_tool == family {
        return true;
    }
    if let Some(prefix) = rule_tool.strip_suffix('*') {
        return call_tool.starts_with(prefix);
    }
    rule_tool.starts_with("mcp__")
        && !rule_tool["mcp__".len()..].contains("__")
        && call_tool.starts_with(&format!("{rule_tool}__"))
}

impl Rule {
    /// Parse a rule; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (tool, pattern) = match s.find('(') {
            Some(open) => {
                let Some(inner) = s[open + 1..].strip_suffix(')') else {
                    return Err(format!(
                        "rule {s:?} opens a parenthesis but does not end with ')'"
                    ));
                };
                (&s[..open], Some(inner.trim().to_string()))
            }
            None => (s, None),
        };
        let name = match tool.strip_suffix('*') {
            Some(prefix) if pattern.is_none() && !prefix.is_empty() => prefix,
            _ => tool,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "rule {s:?} must start with a tool name like Bash or Edit"
            ));
        }
        let pattern = pattern.filter(|p| !p.is_empty() && p != "*");
        if let Some(p) = &pattern
            && tool != "Bash"
            && let Err(e) = globset::Glob::new(p)
        {
            return Err(format!("rule {s:?}: bad path pattern ({e})"));
        }
        Ok(Self {
            tool: tool.to_string(),
            pattern,
        })
    }

    /// Whether this rule matches one command of a `Bash` call.
    pub fn matches_command(&self, command: &str) -> bool {
        if self.tool != "Bash" {
            return false;
        }
        let Some(p) = &self.pattern else { return true };
        let command = command.trim();
        match p.strip_suffix(":*").or_else(|| p.strip_suffix('*')) {
            Some(prefix) => {
                let prefix = prefix.trim_end();
                command == prefix
                    || command.starts_with(&format!("{prefix} "))
                    || (p.ends_with('*') && !p.ends_with(":*") && command.starts_with(prefix))
            }
            None => command == p,
        }
    }

    /// Whether this rule matches a file tool call on `path` (absolute, under `cwd` or not).
    pub fn matches_path(&self, tool: &str, family: &str, path: Option<&Path>, cwd: &Path) -> bool {
        if !covers(&self.tool, tool, family) {
            return false;
        }
        let (Some(p), Some(path)) = (&self.pattern, path) else {
            return self.pattern.is_none();
        };
        let Ok(glob) = globset::GlobBuilder::new(p).literal_separator(true).build() else {
            return false;
        };
        let m = glob.compile_matcher();
        if Path::new(p).is_absolute() {
            return m.is_match(path);
        }
        match path.strip_prefix(cwd) {
            Ok(rel) => {
                m.is_match(rel)
                    || (p.ends_with("/**") && rel == Path::new(p.trim_end_matches("/**")))
            }
            Err(_) => false,
        }
    }

    /// Whether this rule names the tool of a call that is neither Bash nor a file tool.
    pub fn matches_tool(&self, tool: &str, family: &str) -> bool {
        self.pattern.is_none() && covers(&self.tool, tool, family)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pattern {
            Some(p) => write!(f, "{}({p})", self.tool),
            None => f.write_str(&self.tool),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mcp_rules_cover_a_server_or_a_tool() {
        let r = |s: &str| Rule::parse(s).unwrap();
        let t = "mcp__github__create_issue";
        assert!(r("mcp__github__*").matches_tool(t, t));
        assert!(r("mcp__github").matches_tool(t, t));
        assert!(r("mcp__github__create_issue").matches_tool(t, t));
        assert!(!r("mcp__git").matches_tool(t, t));
        assert!(!r("mcp__github__read").matches_tool(t, t));
        assert!(!r("mcp__fs__*").matches_tool(t, t));
        assert!(r("mcp__*").matches_tool(t, t));
        assert!(Rule::parse("*").is_err());
        assert!(Rule::parse("mcp__x*(a)").is_err());
    }

    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            Rule::parse("Bash(npm test:*)").unwrap(),
            Rule {
                tool: "Bash".into(),
                pattern: Some("npm test:*".into())
            }
        );
        assert_eq!(
            Rule::parse("Read").unwrap(),
            Rule {
                tool: "Read".into(),
                pattern: None
            }
        );
        assert_eq!(Rule::parse("Edit(*)").unwrap().pattern, None);
        assert!(Rule::parse("Bash(oops").is_err());
        assert!(Rule::parse("(x)").is_err());
        assert!(Rule::parse("Read([)").is_err());
        assert_eq!(
            Rule::parse("Bash(git log:*)").unwrap().to_string(),
            "Bash(git log:*)"
        );
    }

    #[test]
    fn command_prefixes() {
        let r = Rule::parse("Bash(npm test:*)").unwrap();
        assert!(r.matches_command("npm test"));
        assert!(r.matches_command("npm test -- --watch"));
        assert!(!r.matches_command("npm testing"));
        assert!(!r.matches_command("npm install"));
        let exact = Rule::parse("Bash(make)").unwrap();
        assert!(exact.matches_command("make") && !exact.matches_command("make install"));
        assert!(
            Rule::parse("Bash")
                .unwrap()
                .matches_command("anything at all")
        );
        assert!(!Rule::parse("Read").unwrap().matches_command("ls"));
    }

    #[test]
    fn path_globs() {
        let cwd = Path::new("/p");
        let r = Rule::parse("Read(src/**)").unwrap();
        assert!(r.matches_path("Read", "Read", Some(Path::new("/p/src/a/b.rs")), cwd));
        assert!(r.matches_path("Grep", "Read", Some(Path::new("/p/src/x")), cwd));
        assert!(!r.matches_path("Read", "Read", Some(Path::new("/p/tests/a.rs")), cwd));
        assert!(!r.matches_path("Read", "Read", Some(Path::new("/elsewhere/src/a")), cwd));
        let e = Rule::parse("Edit(**/*.rs)").unwrap();
        assert!(e.matches_path("Write", "Edit", Some(Path::new("/p/a/b/c.rs")), cwd));
        assert!(e.matches_path("MultiEdit", "Edit", Some(Path::new("/p/c.rs")), cwd));
        assert!(!e.matches_path("Edit", "Edit", Some(Path::new("/p/c.py")), cwd));
        assert!(!e.matches_path("Read", "Read", Some(Path::new("/p/c.rs")), cwd));
        let abs = Rule::parse("Edit(/tmp/**)").unwrap();
        assert!(abs.matches_path("Edit", "Edit", Some(Path::new("/tmp/x/y")), cwd));
        assert!(Rule::parse("Edit").unwrap().matches_path(
            "Write",
            "Edit",
            Some(Path::new("/anywhere")),
            cwd
        ));
        assert!(
            Rule::parse("TodoWrite")
                .unwrap()
                .matches_tool("TodoWrite", "TodoWrite")
        );
    }
}
