//! Commands known to only read, with the flags that would make them write or run something
//! else. Used only for plain commands (no redirection to a file, no substitution, no
//! environment prefix, a literal name found on `PATH`).

use super::Command;

/// Commands that only read whatever their arguments are: no option of theirs writes or runs
/// anything, so even arguments whose value is only known when it runs (`*.rs`, `$HOME`) are fine.
const PURE_READERS: &[&str] = &[
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "pwd", "echo", "which", "whoami",
    "uname", "stat", "du", "df", "true", "false", "basename", "dirname", "realpath", "readlink",
    "cut", "tr", "diff", "cmp", "type", "id", "nl", "od", "hexdump", "jq", "column", "seq",
    "printenv",
];

/// Commands that only read unless given certain options: every word must be known (a glob
/// or `{-o,x}` could become an option) and the options are read as getopt would.
const READ_UNLESS: &[&str] = &[
    "printf", "test", "file", "date", "hostname", "tree", "sort", "uniq", "rg", "find", "git",
];

/// Git subcommands that only read (with the option checks below).
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

/// `find` actions that run, delete or write (find takes no abbreviations).
const FIND_WRITES: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

/// The options of `words` (after the name) up to `--`.
fn options(words: &[String]) -> impl Iterator<Item = &str> {
    words
        .iter()
        .skip(1)
        .map(String::as_str)
        .take_while(|w| *w != "--")
        .filter(|w| w.starts_with('-') && *w != "-")
}

/// A short option: alone or in a cluster (`-uo`), conservatively anywhere in the cluster.
fn short(words: &[String], letters: &str) -> bool {
    options(words)
        .filter(|w| !w.starts_with("--"))
        .any(|w| w[1..].chars().any(|c| letters.contains(c)))
}

/// A long option, also as getopt_long accepts it: any prefix (`--outp=x` is `--output=x`).
fn long(words: &[String], names: &[&str]) -> bool {
    options(words)
        .filter_map(|w| w.strip_prefix("--"))
        .any(|w| {
            let name = w.split('=').next().unwrap_or(w);
            !name.is_empty() && names.iter().any(|n| n.starts_with(name))
        })
}

/// Arguments that are not options (`-` is one: standard input or output).
fn positional(words: &[String]) -> usize {
    words
        .iter()
        .skip(1)
        .filter(|w| !w.starts_with('-') || *w == "-")
        .count()
}

/// Whether a plain command only reads.
pub fn is_read_only(cmd: &Command) -> bool {
    let words = &cmd.words;
    let Some(first) = words.first() else {
        return false;
    };
    // A path to a program (`./ls`) may be anything; only names looked up on `PATH` are known.
    if first.contains('/') || cmd.dynamic_name {
        return false;
    }
    if PURE_READERS.contains(&first.as_str()) {
        return true;
    }
    if !READ_UNLESS.contains(&first.as_str()) || !cmd.all_literal() {
        return false;
    }
    match first.as_str() {
        // `-v` assigns to a variable (`-vPATH` too), and an array subscript there runs code.
        "printf" => !words.iter().skip(1).any(|w| w.starts_with("-v")),
        "test" => !words.iter().any(|w| w == "-v"),
        "find" => !words
            .iter()
            .skip(1)
            .any(|w| FIND_WRITES.contains(&w.as_str())),
        "sort" => !short(words, "o") && !long(words, &["output", "compress-program"]),
        // `uniq IN OUT` writes OUT.
        "uniq" => positional(words) <= 1,
        // `-o` writes a file, `-R` with `-H` writes an HTML page into every folder.
        "tree" => !short(words, "oR") && !long(words, &["output"]),
        "rg" => !long(words, &["pre"]),
        // `-C` compiles a magic file, `-z` runs decompressors.
        "file" => !short(words, "CzZ") && !long(words, &["compile", "uncompress"]),
        "date" => !short(words, "s") && !long(words, &["set"]),
        "hostname" => words
            .iter()
            .skip(1)
            .all(|w| matches!(w.as_str(), "-f" | "-s" | "-d" | "-i" | "-I" | "-A")),
        "git" => git_reads(words),
        _ => false,
    }
}

/// `git SUB …` that only reads: no global options (`-c` sets config, `-C` moves), a read-only
/// subcommand, no output files or external programs, and no listing forms that create.
fn git_reads(words: &[String]) -> bool {
    let Some(sub) = words.get(1) else {
        return false;
    };
    if !GIT_READ_ONLY.contains(&sub.as_str()) {
        return false;
    }
    // Git, like getopt_long, accepts abbreviated long options.
    let writes = long(
        words,
        &[
            "output",
            "ext-diff",
            "textconv",
            "open-files-in-pager",
            "exec",
            "delete",
            "copy",
            "move",
            "set-upstream-to",
            "unset-upstream",
            "edit-description",
            "create-reflog",
            "track",
            "force",
        ],
    ) || short(words, "OdDmMcCfut");
    if writes {
        return false;
    }
    let args: Vec<&String> = words.iter().skip(2).collect();
    let listing = |allowed: &[&str]| args.iter().all(|a| allowed.contains(&a.as_str()));
    match sub.as_str() {
        // With a name these create or change a branch, tag or remote.
        "branch" => listing(&[
            "-a",
            "-r",
            "-l",
            "--list",
            "-v",
            "-vv",
            "--all",
            "--remotes",
            "--show-current",
        ]),
        "tag" => listing(&["-l", "--list"]),
        "remote" => listing(&["-v", "--verbose"]),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Command {
        let script = crate::shell::analyse(s);
        assert_eq!(script.commands.len(), 1, "{s}");
        script.commands[0].clone()
    }

    #[test]
    fn reads_and_writes() {
        for ok in [
            "ls -la",
            "cat a.txt",
            "git status",
            "git log --oneline",
            "git branch -a",
            "grep -r foo .",
            "find . -name x",
            "sort a.txt",
            "uniq a.txt",
            "printenv",
            "ls *.rs ~/x",
            "cat $HOME/notes",
            "git log -p --stat",
            "git diff HEAD~1",
            "sort -u a.txt",
            "test -f x",
            "hostname",
        ] {
            assert!(is_read_only(&w(ok)), "{ok}");
        }
        for no in [
            "rm x",
            "env touch X",
            "env",
            "./ls",
            "find . -delete",
            "find . -fprint0 out",
            "sort -o out a",
            "sort --output=out a",
            "uniq in out",
            "uniq - out",
            "git push",
            "git log --output=/tmp/x",
            "git -c core.pager=sh status",
            "git branch newbranch",
            "git tag v1",
            "git remote add x y",
            "git grep -O vim foo",
            "sed -n 1p f",
            "npm test",
            "cargo build",
            "tree -o out",
            "rg --pre sh x",
            "date -s now",
            "hostname evil",
            "xargs rm",
            "awk 'BEGIN{system(\"x\")}'",
            // Found in review: each of these writes or runs something.
            "printf -v PATH %s .",
            "test -v 'a[$(touch X)]'",
            "find . -maxdepth 0 $'\\x2dexec' touch X \\;",
            "sort $'\\055o' X f.txt",
            "sort {-o,X} f.txt",
            "find . -maxdepth 0 {-exec,touch,X} \\;",
            "sort -uo X f.txt",
            "sort --outp=X f.txt",
            "sort *",
            "git grep --no-index -O'touch X' line",
            "git grep --no-index --open='touch X' line",
            "git diff --outp=x",
            "tree -R -H .",
            "file -zC x",
            "date --s=now",
            "hostname -Ffile",
            "cargo metadata",
            // rustup's proxy runs the toolchain a project's rust-toolchain.toml names.
            "cargo --version",
            "printf -vPATH %s .",
            "printf -v'a[$(touch X)]' x",
            "cargo tree",
            "sort \"-\\\no\" X f.txt",
            "sort -\\\no X f.txt",
        ] {
            assert!(!is_read_only(&w(no)), "{no}");
        }
    }
}
