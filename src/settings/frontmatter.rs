//! The YAML frontmatter of `SKILL.md` and subagent files, in the subset those files use:
//! `key: value` (plain or quoted), block scalars (`|`, `>`), and lists (`- item`, `[a, b]`).
//! Anything else is an error naming the line, so a file is never half-read in silence.

use std::collections::BTreeMap;

/// One value: text or a list of texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    List(Vec<String>),
}

impl Value {
    /// The text, or a list joined with ", ".
    pub fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::List(l) => l.join(", "),
        }
    }

    /// The items: a list as it is, a text split on commas (`tools: Read, Grep`).
    pub fn items(&self) -> Vec<String> {
        match self {
            Self::List(l) => l.clone(),
            Self::Text(t) => t
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

/// A file split into its frontmatter and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub fields: BTreeMap<String, Value>,
    pub body: String,
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        let inner = &s[1..s.len() - 1];
        return if s.starts_with('"') {
            inner.replace("\\\"", "\"").replace("\\n", "\n")
        } else {
            inner.replace("''", "'")
        };
    }
    s.to_string()
}

/// Split and read `text`; `Err` says what is wrong, with the line.
pub fn parse(text: &str) -> Result<Document, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err("it does not start with a --- frontmatter block".into());
    }
    let mut head = Vec::new();
    let mut closed = false;
    for l in lines.by_ref() {
        if l.trim_end() == "---" {
            closed = true;
            break;
        }
        head.push(l);
    }
    if !closed {
        return Err("its frontmatter is not closed with ---".into());
    }
    let body = lines.collect::<Vec<_>>().join("\n");
    let mut fields = BTreeMap::new();
    let mut i = 0;
    while i < head.len() {
        let line = head[i];
        let n = i + 2;
        i += 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            return Err(format!("line {n} is indented where a key was expected"));
        }
        let Some((key, rest)) = line.split_once(':') else {
            return Err(format!("line {n} is not `key: value`"));
        };
        let key = key.trim().to_string();
        let rest = rest.trim();
        let value = if rest == "|" || rest == ">" || rest == "|-" || rest == ">-" {
            let mut parts = Vec::new();
            while i < head.len() && (head[i].starts_with(' ') || head[i].trim().is_empty()) {
                parts.push(head[i].trim());
                i += 1;
            }
            let sep = if rest.starts_with('|') { "\n" } else { " " };
            Value::Text(parts.join(sep).trim().to_string())
        } else if rest.is_empty() {
            let mut items = Vec::new();
            while i < head.len() && head[i].trim_start().starts_with("- ") {
                items.push(unquote(&head[i].trim_start()[2..]));
                i += 1;
            }
            if items.is_empty() {
                Value::Text(String::new())
            } else {
                Value::List(items)
            }
        } else if let Some(inner) = rest.strip_prefix('[') {
            let Some(inner) = inner.strip_suffix(']') else {
                return Err(format!("line {n}: a [list] is not closed"));
            };
            Value::List(
                inner
                    .split(',')
                    .map(unquote)
                    .filter(|s| !s.is_empty())
                    .collect(),
            )
        } else {
            Value::Text(unquote(rest))
        };
        fields.insert(key, value);
    }
    Ok(Document { fields, body })
}

impl Document {
    /// A field as text, if present and not empty.
    pub fn text(&self, key: &str) -> Option<String> {
        self.fields
            .get(key)
            .map(Value::text)
            .filter(|t| !t.trim().is_empty())
    }

    /// A yes/no field; `default` when absent.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.text(key).as_deref() {
            Some("true" | "yes") => true,
            Some("false" | "no") => false,
            _ => default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_skill_and_agent_files_use() {
        let d = parse(
            "---\nname: pdf-tools\ndescription: >\n  Work with PDFs.\n  Fill forms.\ntools: Read, Grep\nmodel: \"openai/x\"\nlist:\n  - a\n  - 'b c'\ninline: [x, \"y\"]\n# a comment\n---\n# Body\ntext\n",
        )
        .unwrap();
        assert_eq!(d.text("name").unwrap(), "pdf-tools");
        assert_eq!(
            d.text("description").unwrap(),
            "Work with PDFs. Fill forms."
        );
        assert_eq!(d.fields["tools"].items(), ["Read", "Grep"]);
        assert_eq!(d.text("model").unwrap(), "openai/x");
        assert_eq!(d.fields["list"].items(), ["a", "b c"]);
        assert_eq!(d.fields["inline"].items(), ["x", "y"]);
        assert_eq!(d.body, "# Body\ntext");
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(
            parse("no frontmatter")
                .unwrap_err()
                .contains("does not start")
        );
        assert!(parse("---\nname: x\n").unwrap_err().contains("not closed"));
        assert!(
            parse("---\njust words\n---\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            parse("---\nx: [a, b\n---\n")
                .unwrap_err()
                .contains("not closed")
        );
    }
}
