//! What a shell command would run, read with a real shell parser (tree-sitter-bash), for the
//! permission checker and the sandbox: the simple commands with their literal words, environment prefixes and
//! redirections, and anything we cannot vouch for (substitutions, loops, functions, exports,
//! parse errors). A command string checked as text can always be beaten; a parsed one is
//! allowed without asking only when every part is plain and known to only read.

mod safe;
mod words;

pub use safe::is_read_only;

use tree_sitter::{Node, Parser};

use words::{literal, text};

/// One simple command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// The words as the shell would pass them, when they are literal: the name first.
    pub words: Vec<String>,
    /// For each word, whether its value is known here (not an expansion, glob or brace).
    pub literal: Vec<bool>,
    /// Some word holds an expansion (`$X`, `${X}`, `$((…))`): its value is not known here.
    pub dynamic: bool,
    /// The command name itself is not a literal word.
    pub dynamic_name: bool,
    /// It starts with `VAR=value` assignments.
    pub env: bool,
    pub redirects: Vec<Redirect>,
}

/// Programs that run the rest of their words as a command.
const WRAPPERS: &[&str] = &[
    "command", "builtin", "exec", "env", "nohup", "nice", "time", "timeout", "stdbuf", "sudo",
    "doas", "xargs", "setsid", "ionice", "chrt", "taskset", "unbuffer",
];

/// One redirection of a command (or of the statement around it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// `>`, `>>`, `<`, `&>`, `>&`, `<<<`…
    pub op: String,
    /// The literal target, when it is one.
    pub target: Option<String>,
}

impl Redirect {
    /// Whether it can write to a file.
    pub fn writes(&self) -> bool {
        self.op.contains('>') && !self.is_dup()
    }

    /// `2>&1`, `>&2`: to another descriptor, not to a file.
    fn is_dup(&self) -> bool {
        self.op.ends_with('&')
            && self
                .target
                .as_deref()
                .is_some_and(|t| t == "-" || t.chars().all(|c| c.is_ascii_digit()))
    }

    /// The file it writes to, when it writes to one that is not `/dev/null`.
    pub fn written_file(&self) -> Option<Option<&str>> {
        if !self.writes() {
            return None;
        }
        match self.target.as_deref() {
            Some("/dev/null" | "/dev/stdout" | "/dev/stderr") => None,
            other => Some(other),
        }
    }
}

impl Command {
    fn push(&mut self, word: String, literal: bool) {
        self.words.push(word);
        self.literal.push(literal);
        self.dynamic |= !literal;
    }

    /// Whether every word's value is known before it runs.
    pub fn all_literal(&self) -> bool {
        !self.dynamic
    }

    /// The words joined by spaces, as permission rules match them.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }

    /// Every way a deny rule should see this command: as written, with the program's folder
    /// dropped (`/bin/rm x` → `rm x`), and, after a wrapper that runs its arguments, every
    /// tail (`sudo -u root rm x` → … `rm x`): which word is the program depends on the
    /// wrapper's options, so all are checked.
    pub fn forms(&self) -> Vec<String> {
        let mut out = vec![self.text()];
        let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
        let mut words: Vec<String> = self.words.clone();
        if let Some(first) = words.first_mut() {
            *first = base(first);
        }
        out.push(words.join(" "));
        // After a wrapper, any later word may be the program (`sudo -u root rm x`,
        // `xargs -I {} rm {}`): every such tail is a form.
        if words
            .first()
            .is_some_and(|w| WRAPPERS.contains(&w.as_str()))
        {
            for i in 1..words.len() {
                let mut tail = words[i..].to_vec();
                tail[0] = base(&tail[0]);
                out.push(tail.join(" "));
            }
        }
        out.dedup();
        out
    }

    /// The command's name without its folder (`/usr/bin/git` → `git`).
    pub fn name(&self) -> &str {
        self.words
            .first()
            .map_or("", |w| w.rsplit('/').next().unwrap_or(w))
    }
}

/// Everything a command string would run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// Every simple command, including those inside substitutions, groups and loops.
    pub commands: Vec<Command>,
    /// Why the script is not plain (empty when it is): each reason once.
    pub complex: Vec<&'static str>,
}

impl Script {
    /// Plain: a list or pipeline of simple commands, nothing the parser could not vouch for.
    pub fn is_plain(&self) -> bool {
        self.complex.is_empty()
    }

    fn flag(&mut self, why: &'static str) {
        if !self.complex.contains(&why) {
            self.complex.push(why);
        }
    }
}

/// Parse `src` as bash.
pub fn analyse(src: &str) -> Script {
    let mut script = Script::default();
    let mut parser = Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        script.flag("the shell parser could not start");
        return script;
    }
    let Some(tree) = parser.parse(src, None) else {
        script.flag("the command could not be parsed");
        return script;
    };
    let root = tree.root_node();
    if root.has_error() {
        script.flag("the command could not be parsed");
    }
    walk(root, src.as_bytes(), &mut script, &[]);
    script
}

/// Visit a node; `redirects` are those of enclosing redirected statements.
fn walk(node: Node, src: &[u8], script: &mut Script, redirects: &[Redirect]) {
    match node.kind() {
        "command" => command(node, src, script, redirects),
        "redirected_statement" => {
            let mut outer = redirects.to_vec();
            let mut c = node.walk();
            for r in node.children_by_field_name("redirect", &mut c) {
                redirect(r, src, script, &mut outer);
            }
            let before = script.commands.len();
            if let Some(body) = node.child_by_field_name("body") {
                walk(body, src, script, &outer);
            }
            // `> X`, `((1)) > X`, `[ … ] 2>> f`: the write has no command to be checked with.
            if script.commands.len() == before && outer.iter().any(|r| r.written_file().is_some()) {
                script.flag("a redirection to a file without a command");
            }
            return;
        }
        "command_substitution" => script.flag("a command substitution"),
        "process_substitution" => script.flag("a process substitution"),
        "function_definition" => script.flag("a function definition"),
        "for_statement"
        | "c_style_for_statement"
        | "while_statement"
        | "if_statement"
        | "case_statement" => script.flag("a loop or condition"),
        "declaration_command" | "unset_command" => script.flag("a change to the environment"),
        "variable_assignment" if !is_prefix_assignment(node) => {
            script.flag("a variable assignment");
        }
        "heredoc_body" => {
            // An unquoted delimiter expands the body: its substitutions run.
            walk_substitutions(node, src, script);
            return;
        }
        "test_command" => test_command(node, src, script),
        // `((…))` evaluates like `$((…))` (`((_))` runs what the last word held).
        "compound_statement" if text(node, src).trim_start().starts_with("((") => {
            script.flag("an arithmetic command");
        }
        "arithmetic_expansion" | "expansion" => expansion(node, src, script),
        "heredoc_start" | "heredoc_end" | "comment" => return,
        "ERROR" => script.flag("the command could not be parsed"),
        _ => {}
    }
    let mut c = node.walk();
    for child in node.children(&mut c) {
        if node.kind() == "command" && child.kind() != "command_substitution" {
            // A command's own words were read already; only look inside substitutions.
            walk_substitutions(child, src, script);
            continue;
        }
        walk(child, src, script, redirects);
    }
}

/// Inside a command's words: the commands run by substitutions, and expansions that do more
/// than read a variable.
fn walk_substitutions(node: Node, src: &[u8], script: &mut Script) {
    match node.kind() {
        "command_substitution" | "process_substitution" => walk(node, src, script, &[]),
        "arithmetic_expansion" | "expansion" => {
            expansion(node, src, script);
            let mut c = node.walk();
            for child in node.children(&mut c) {
                walk_substitutions(child, src, script);
            }
        }
        _ => {
            let mut c = node.walk();
            for child in node.children(&mut c) {
                walk_substitutions(child, src, script);
            }
        }
    }
}

/// `$((…))` evaluates (and assigns: `$((PATH=0))`; a variable's value is evaluated too, so
/// `$((_))` runs what the last word held); `${x@P}`, `${x:=y}` and the like prompt-expand or
/// assign. Only `${name}` reads a variable and nothing more.
fn expansion(node: Node, src: &[u8], script: &mut Script) {
    if node.kind() == "arithmetic_expansion" {
        script.flag("an arithmetic expansion");
        return;
    }
    let t = text(node, src);
    let inner = t
        .strip_prefix("${")
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or("");
    let plain = !inner.is_empty()
        && (inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || (inner.len() == 1 && "@*#?$!-".contains(inner)));
    if !plain {
        script.flag("a parameter expansion that does more than read");
    }
}

/// `[[ … ]]` evaluates its operands as arithmetic (`a[$(cmd)]` runs cmd), and `[ -v … ]`
/// does the same with an array subscript: neither is plain.
fn test_command(node: Node, src: &[u8], script: &mut Script) {
    let t = text(node, src);
    if t.trim_start().starts_with("[[") {
        script.flag("a [[ … ]] test, which evaluates its operands");
    } else if has_operator(node, src, "-v") {
        script.flag("a -v test, which evaluates its operand");
    }
}

fn has_operator(node: Node, src: &[u8], op: &str) -> bool {
    if node.kind() == "test_operator" && text(node, src) == op {
        return true;
    }
    let mut c = node.walk();
    node.children(&mut c).any(|n| has_operator(n, src, op))
}

/// An assignment that is part of a command (`VAR=x cmd`), not a statement of its own.
fn is_prefix_assignment(node: Node) -> bool {
    node.parent().is_some_and(|p| p.kind() == "command")
}

fn command(node: Node, src: &[u8], script: &mut Script, outer: &[Redirect]) {
    let mut cmd = Command {
        redirects: outer.to_vec(),
        ..Default::default()
    };
    let mut c = node.walk();
    let mut prev_end = None;
    for child in node.children(&mut c) {
        // `-\<newline>o` is one word (`-o`) to bash; the parser splits it in two.
        if prev_end.is_some_and(|e| src.get(e..child.start_byte()) == Some(b"\\\n")) {
            script.flag("a line continuation inside a word");
            cmd.dynamic = true;
        }
        prev_end = Some(child.end_byte());
        match child.kind() {
            "variable_assignment" => cmd.env = true,
            "command_name" => {
                if let Some(w) = literal(child, src) {
                    cmd.push(w, true);
                } else {
                    cmd.dynamic_name = true;
                    cmd.push(text(child, src), false);
                }
            }
            "file_redirect" | "herestring_redirect" => {
                redirect(child, src, script, &mut cmd.redirects);
            }
            _ if child.is_named() => {
                if let Some(w) = literal(child, src) {
                    cmd.push(w, true);
                } else {
                    cmd.push(text(child, src), false);
                }
            }
            _ => {}
        }
    }
    script.commands.push(cmd);
}

/// Read one redirection into `out` (a here-document may carry more after it: `<<EOF > f`).
fn redirect(node: Node, src: &[u8], script: &mut Script, out: &mut Vec<Redirect>) {
    let whole = text(node, src);
    // Bash joins a backslash-newline in a here-document before it looks for the delimiter;
    // the parser does not, so where the body ends is not known here.
    if node.kind() == "heredoc_redirect" && whole.contains("\\\n") {
        script.flag("a here-document with a line continuation");
    }
    let mut op = String::new();
    let mut target = None;
    let mut more = Vec::new();
    let mut c = node.walk();
    for child in node.children(&mut c) {
        if child.is_named() {
            match child.kind() {
                "file_descriptor" => op.push_str(&text(child, src)),
                "heredoc_body" => walk_substitutions(child, src, script),
                "heredoc_start" | "heredoc_end" => {}
                "file_redirect" | "herestring_redirect" if node.kind() == "heredoc_redirect" => {
                    redirect(child, src, script, &mut more);
                }
                // What follows `<<EOF` on its line (`&& cmd`, `| cmd`) is parsed inside it.
                _ if node.kind() == "heredoc_redirect" => walk(child, src, script, &[]),
                _ => {
                    walk_substitutions(child, src, script);
                    target = literal(child, src);
                }
            }
        } else {
            op.push_str(child.kind());
        }
    }
    if node.kind() == "heredoc_redirect" {
        op = "<<".into();
    }
    // Bash opens a connection for these; other descriptors than 0-2 are for the network
    // (`3</dev/tcp/…`, `>&3`) or tricks.
    if target
        .as_deref()
        .is_some_and(|t| t.starts_with("/dev/tcp/") || t.starts_with("/dev/udp/"))
    {
        script.flag("a network connection through /dev/tcp");
    }
    let descriptor = op
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>();
    let dup_to = target
        .as_deref()
        .filter(|_| op.ends_with('&'))
        .filter(|t| t.chars().all(|c| c.is_ascii_digit()));
    if [Some(descriptor.as_str()), dup_to]
        .into_iter()
        .flatten()
        .any(|d| d.parse::<u32>().is_ok_and(|n| n > 2))
    {
        script.flag("a file descriptor above 2");
    }
    out.push(Redirect { op, target });
    out.extend(more);
}

#[cfg(test)]
mod tests;
