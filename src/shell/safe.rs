//! Commands known to only read, with the flags that would make them write or run something
//! else. Used only for plain commands (no redirection to a file, no substitution, no
//! environment prefix, a literal name found on `PATH`).

/// Commands that only read, whatever their arguments (beyond the checks in [`is_read_only`]).
const READ_ONLY: &[&str] = &[
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "pwd", "echo", "printf", "which",
    "whoami", "uname", "file", "stat", "du", "df", "true", "false", "test", "[", "basename",
    "dirname", "realpath", "readlink", "cut", "tr", "diff", "cmp", "type", "id", "nl", "od",
    "hexdump", "jq", "column", "seq", "printenv", "date", "hostname", "tree", "sort", "uniq", "rg",
    "find", "git", "cargo",
];

/// Git subcommands that only read (with the flag checks below).
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

/// `find` actions that run, delete or write.
const FIND_WRITES: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

fn has(words: &[String], pred: impl Fn(&str) -> bool) -> bool {
    words.iter().skip(1).any(|w| pred(w))
}

/// Arguments that are not options.
fn positional(words: &[String]) -> usize {
    words.iter().skip(1).filter(|w| !w.starts_with('-')).count()
}

/// Whether a plain command with these literal words only reads.
pub fn is_read_only(words: &[String]) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    // A path to a program (`./ls`) may be anything; only names looked up on `PATH` are known.
    if first.contains('/') || !READ_ONLY.contains(&first.as_str()) {
        return false;
    }
    match first.as_str() {
        // `env CMD` runs CMD; bare `env` lists the (secret-free) environment.
        "printenv" => true,
        "find" => !has(words, |w| FIND_WRITES.contains(&w)),
        "sort" => !has(words, |w| {
            w == "-o"
                || w.starts_with("--output")
                || (w.starts_with("-o") && w.len() > 2)
                || w.starts_with("--compress-program")
        }),
        // `uniq IN OUT` writes OUT.
        "uniq" => positional(words) <= 1,
        "tree" => !has(words, |w| w == "-o" || w.starts_with("-o")),
        "rg" => !has(words, |w| w.starts_with("--pre")),
        "file" => !has(words, |w| w == "-C" || w == "--compile"),
        "date" => !has(words, |w| w == "-s" || w.starts_with("--set")),
        "hostname" => positional(words) == 0,
        "git" => git_reads(words),
        "cargo" => words
            .get(1)
            .is_some_and(|s| matches!(s.as_str(), "--version" | "metadata" | "tree")),
        _ => true,
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
    let writes = has(words, |w| {
        w.starts_with("--output")
            || w.starts_with("--ext-diff")
            || w == "--textconv"
            || w == "-O"
            || w.starts_with("--open-files-in-pager")
            || w.starts_with("--exec")
            || matches!(
                w,
                "-d" | "-D" | "--delete" | "-m" | "-M" | "-c" | "-C" | "--copy" | "--move"
            )
    });
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

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
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
        ] {
            assert!(!is_read_only(&w(no)), "{no}");
        }
    }
}
