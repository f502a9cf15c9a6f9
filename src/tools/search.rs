//! `Glob` and `Grep`, on ripgrep's own crates: .gitignore is honoured and the walk is parallel.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{
    BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkContextKind, SinkMatch,
};
use ignore::{WalkBuilder, WalkState};
use serde_json::{Value, json};

use super::{OUTPUT_CAP, ToolContext, ToolOutput, cap_text};
use crate::protocol::ClientTool;

const GLOB_LIMIT: usize = 1000;

pub fn glob_definition() -> ClientTool {
    ClientTool {
        name: "Glob".into(),
        description:
            "Find files by glob pattern (e.g. \"**/*.rs\"), newest first. Honours .gitignore."
                .into(),
        parameters: json!({"type": "object", "properties": {
            "pattern": {"type": "string", "description": "Glob pattern, relative to path."},
            "path": {"type": "string", "description": "Folder to search (default: the working directory)."}},
            "required": ["pattern"]}),
        extra: Default::default(),
    }
}

pub fn grep_definition() -> ClientTool {
    ClientTool {
        name: "Grep".into(),
        description: "Search file contents with a regular expression (ripgrep syntax). Honours .gitignore. output_mode: files_with_matches (default), content or count.".into(),
        parameters: json!({"type": "object", "properties": {
            "pattern": {"type": "string", "description": "Regular expression."},
            "path": {"type": "string", "description": "File or folder to search (default: the working directory)."},
            "glob": {"type": "string", "description": "Only files matching this glob, e.g. \"*.rs\"."},
            "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
            "-i": {"type": "boolean", "description": "Case-insensitive."},
            "-n": {"type": "boolean", "description": "Line numbers in content mode (default true)."},
            "-A": {"type": "number", "description": "Lines after each match."},
            "-B": {"type": "number", "description": "Lines before each match."},
            "-C": {"type": "number", "description": "Lines before and after each match."},
            "head_limit": {"type": "number", "description": "Only the first N lines or entries."}},
            "required": ["pattern"]}),
        extra: Default::default(),
    }
}

fn walker(root: &Path) -> WalkBuilder {
    let mut b = WalkBuilder::new(root);
    b.hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .parents(true);
    b
}

pub fn glob(ctx: &ToolContext, args: &Value) -> ToolOutput {
    let Some(pattern) = args.get("pattern").and_then(Value::as_str) else {
        return ToolOutput::err("Glob needs a string \"pattern\"");
    };
    let root = ctx.resolve(args.get("path").and_then(Value::as_str).unwrap_or("."));
    let matcher = match globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
    {
        Ok(g) => g.compile_matcher(),
        Err(e) => return ToolOutput::err(format!("bad glob pattern {pattern:?}: {e}")),
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for entry in walker(&root).build().filter_map(Result::ok) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry.path().strip_prefix(&root).unwrap_or(entry.path());
        if matcher.is_match(rel) && !ctx.denied_reads.denies(entry.path()) {
            let mtime = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .unwrap_or(std::time::UNIX_EPOCH);
            found.push((mtime, entry.into_path()));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if found.is_empty() {
        return ToolOutput::ok("No files found");
    }
    let total = found.len();
    let mut out = String::new();
    for (_, p) in found.iter().take(GLOB_LIMIT) {
        out.push_str(&p.display().to_string());
        out.push('\n');
    }
    if total > GLOB_LIMIT {
        out.push_str(&format!(
            "[{} more files not shown; narrow the pattern]\n",
            total - GLOB_LIMIT
        ));
    }
    ToolOutput::ok(out)
}

/// Parsed `Grep` arguments.
pub struct GrepArgs {
    matcher: RegexMatcher,
    root: PathBuf,
    glob: Option<globset::GlobMatcher>,
    mode: Mode,
    line_numbers: bool,
    before: usize,
    after: usize,
    head_limit: Option<usize>,
    denied: super::DeniedReads,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Content,
    Files,
    Count,
}

impl GrepArgs {
    /// Validate the model's arguments; an `Err` is the tool's answer.
    pub fn parse(ctx: &ToolContext, args: &Value) -> Result<Self, ToolOutput> {
        let Some(pattern) = args.get("pattern").and_then(Value::as_str) else {
            return Err(ToolOutput::err("Grep needs a string \"pattern\""));
        };
        let flag = |k: &str| args.get(k).and_then(Value::as_bool);
        let num = |k: &str| {
            args.get(k)
                .and_then(Value::as_f64)
                .map(|n| n.max(0.0) as usize)
        };
        let matcher = RegexMatcherBuilder::new()
            .case_insensitive(flag("-i").unwrap_or(false))
            .build(pattern)
            .map_err(|e| ToolOutput::err(format!("bad regular expression {pattern:?}: {e}")))?;
        let glob = match args.get("glob").and_then(Value::as_str) {
            Some(g) => Some(
                globset::Glob::new(g)
                    .map_err(|e| ToolOutput::err(format!("bad glob {g:?}: {e}")))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let mode = match args
            .get("output_mode")
            .and_then(Value::as_str)
            .unwrap_or("files_with_matches")
        {
            "content" => Mode::Content,
            "count" => Mode::Count,
            "files_with_matches" => Mode::Files,
            other => {
                return Err(ToolOutput::err(format!(
                    "unknown output_mode {other:?}: use content, files_with_matches or count"
                )));
            }
        };
        let ctx_lines = num("-C").unwrap_or(0);
        Ok(Self {
            matcher,
            root: ctx.resolve(args.get("path").and_then(Value::as_str).unwrap_or(".")),
            glob,
            mode,
            line_numbers: flag("-n").unwrap_or(true),
            before: num("-B").unwrap_or(ctx_lines),
            after: num("-A").unwrap_or(ctx_lines),
            head_limit: num("head_limit").filter(|n| *n > 0),
            denied: ctx.denied_reads.clone(),
        })
    }
}

/// Bytes of matching text collected across all files; the search stops adding text past it,
/// so a huge match (one 60 MB line) never sits in memory.
const COLLECT_BUDGET: usize = 4 * OUTPUT_CAP;
/// Characters of one line kept.
const LINE_CHARS: usize = 2000;

/// Formats matches and context lines of one file, rg style.
struct Lines<'a> {
    path: &'a str,
    numbers: bool,
    out: String,
    count: u64,
    files_only: bool,
    /// Only content mode keeps the text.
    keep_text: bool,
    last_line: Option<u64>,
    /// What is left of [`COLLECT_BUDGET`], shared by every file being searched.
    budget: &'a std::sync::atomic::AtomicUsize,
}

impl Lines<'_> {
    fn line(&mut self, sep: char, number: Option<u64>, bytes: &[u8]) {
        use std::sync::atomic::Ordering;
        if !self.keep_text || self.budget.load(Ordering::Relaxed) == 0 {
            return;
        }
        let bytes = &bytes[..bytes.len().min(LINE_CHARS * 4)];
        if let (Some(last), Some(n)) = (self.last_line, number)
            && n > last + 1
        {
            self.out.push_str("--\n");
        }
        self.last_line = number;
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_end_matches(['\n', '\r']);
        match (self.numbers, number) {
            (true, Some(n)) => self
                .out
                .push_str(&format!("{}{sep}{n}{sep}{text}\n", self.path)),
            _ => self.out.push_str(&format!("{}{sep}{text}\n", self.path)),
        }
        let used = text.len() + self.path.len() + 16;
        let _ = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(used))
            });
    }
}

impl Sink for Lines<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        self.count += 1;
        if self.files_only {
            return Ok(false);
        }
        self.line(':', m.line_number(), m.bytes());
        // With the text budget spent, content mode has nothing more to show from this file.
        Ok(!self.keep_text || self.budget.load(std::sync::atomic::Ordering::Relaxed) > 0)
    }

    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, Self::Error> {
        if !matches!(c.kind(), SinkContextKind::Other) {
            self.line('-', c.line_number(), c.bytes());
        }
        Ok(true)
    }
}

/// `Grep` as a tool: parse, then search (blocking).
pub fn grep_tool(ctx: &ToolContext, args: &Value) -> ToolOutput {
    match GrepArgs::parse(ctx, args) {
        Ok(g) => grep(&ctx.cwd, g),
        Err(e) => e,
    }
}

/// Run a search (blocking; call it off the async runtime).
pub fn grep(cwd: &Path, a: GrepArgs) -> ToolOutput {
    let results: Mutex<Vec<(String, u64, String)>> = Mutex::new(Vec::new());
    let budget = std::sync::atomic::AtomicUsize::new(COLLECT_BUDGET);
    let single_file = a.root.is_file();
    walker(&a.root)
        .threads(
            std::thread::available_parallelism()
                .map_or(2, std::num::NonZero::get)
                .min(8),
        )
        .build_parallel()
        .run(|| {
            let mut searcher = SearcherBuilder::new()
                .binary_detection(BinaryDetection::quit(0))
                .line_number(true)
                .before_context(a.before)
                .after_context(a.after)
                .build();
            let (matcher, results, glob, root, denied, budget) =
                (&a.matcher, &results, &a.glob, &a.root, &a.denied, &budget);
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) || denied.denies(entry.path()) {
                    return WalkState::Continue;
                }
                if let Some(g) = glob {
                    let name_match = entry.path().file_name().is_some_and(|n| g.is_match(n));
                    let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
                    if !name_match && !g.is_match(rel) && !single_file {
                        return WalkState::Continue;
                    }
                }
                let shown = entry
                    .path()
                    .strip_prefix(cwd)
                    .unwrap_or(entry.path())
                    .display()
                    .to_string();
                let mut sink = Lines {
                    path: &shown,
                    numbers: a.line_numbers,
                    out: String::new(),
                    count: 0,
                    files_only: a.mode == Mode::Files,
                    keep_text: a.mode == Mode::Content,
                    last_line: None,
                    budget,
                };
                if searcher
                    .search_path(matcher, entry.path(), &mut sink)
                    .is_ok()
                    && sink.count > 0
                {
                    let Lines { count, out, .. } = sink;
                    if let Ok(mut r) = results.lock() {
                        r.push((shown, count, out));
                    }
                }
                WalkState::Continue
            })
        });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|x, y| x.0.cmp(&y.0));
    if results.is_empty() {
        return ToolOutput::ok("No matches found");
    }
    let lines: Vec<String> = match a.mode {
        Mode::Files => results.iter().map(|(p, _, _)| p.clone()).collect(),
        Mode::Count => results.iter().map(|(p, n, _)| format!("{p}:{n}")).collect(),
        Mode::Content => results
            .iter()
            .flat_map(|(_, _, o)| o.lines().map(str::to_string).collect::<Vec<_>>())
            .collect(),
    };
    let total = lines.len();
    let shown = a.head_limit.unwrap_or(total).min(total);
    let mut out = lines[..shown].join("\n");
    out.push('\n');
    if shown < total {
        out.push_str(&format!(
            "[{} more lines not shown (head_limit {shown})]\n",
            total - shown
        ));
    }
    if a.mode == Mode::Files {
        out = format!(
            "Found {} file{}\n{out}",
            results.len(),
            if results.len() == 1 { "" } else { "s" }
        );
    }
    ToolOutput::ok(cap_text(&out, OUTPUT_CAP))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, ToolContext) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("src/deep")).unwrap();
        std::fs::create_dir_all(p.join("target")).unwrap();
        std::fs::write(p.join(".gitignore"), "target/\n*.log\n").unwrap();
        std::fs::write(
            p.join("src/main.rs"),
            "fn main() {\n    println!(\"Hello\");\n}\n",
        )
        .unwrap();
        std::fs::write(
            p.join("src/deep/lib.rs"),
            "pub fn hello() {}\n// hello again\n",
        )
        .unwrap();
        std::fs::write(p.join("target/gen.rs"), "fn hello() {}\n").unwrap();
        std::fs::write(p.join("debug.log"), "hello\n").unwrap();
        std::fs::write(p.join("notes.md"), "say hello\n").unwrap();
        let c = ToolContext::new(p.to_path_buf());
        (d, c)
    }

    fn run(c: &ToolContext, args: Value) -> ToolOutput {
        match GrepArgs::parse(c, &args) {
            Ok(g) => grep(&c.cwd, g),
            Err(e) => e,
        }
    }

    #[test]
    fn grep_honours_gitignore_and_modes() {
        let (_d, c) = tree();
        let r = run(&c, json!({"pattern": "hello"}));
        assert_eq!(r.text, "Found 2 files\nnotes.md\nsrc/deep/lib.rs\n");
        let r = run(
            &c,
            json!({"pattern": "hello", "-i": true, "output_mode": "count"}),
        );
        assert_eq!(r.text, "notes.md:1\nsrc/deep/lib.rs:2\nsrc/main.rs:1\n");
        let r = run(
            &c,
            json!({"pattern": "Hello", "output_mode": "content", "glob": "*.rs"}),
        );
        assert_eq!(r.text, "src/main.rs:2:    println!(\"Hello\");\n");
        let r = run(
            &c,
            json!({"pattern": "println", "output_mode": "content", "-C": 1}),
        );
        assert_eq!(
            r.text,
            "src/main.rs-1-fn main() {\nsrc/main.rs:2:    println!(\"Hello\");\nsrc/main.rs-3-}\n"
        );
        let r = run(&c, json!({"pattern": "hello", "-i": true, "head_limit": 1}));
        assert!(r.text.contains("[2 more lines not shown"), "{}", r.text);
        assert_eq!(run(&c, json!({"pattern": "zzz"})).text, "No matches found");
        assert!(!run(&c, json!({"pattern": "("})).ok);
    }

    #[test]
    fn glob_honours_gitignore() {
        let (d, c) = tree();
        let r = glob(&c, &json!({"pattern": "**/*.rs"}));
        let files: Vec<&str> = r.text.lines().collect();
        assert_eq!(files.len(), 2, "{}", r.text);
        assert!(
            files
                .iter()
                .all(|f| f.starts_with(&d.path().display().to_string()) && !f.contains("target"))
        );
        let r = glob(&c, &json!({"pattern": "*.rs", "path": "src"}));
        assert_eq!(r.text.lines().count(), 1);
        assert_eq!(glob(&c, &json!({"pattern": "*.py"})).text, "No files found");
    }
}
