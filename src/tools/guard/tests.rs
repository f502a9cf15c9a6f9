use super::*;

#[test]
fn changed_added_and_deleted_files_come_back() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::create_dir_all(cwd.join(".letta")).unwrap();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    std::fs::write(cwd.join(".letta/settings.local.json"), "{}").unwrap();
    std::fs::write(cwd.join(".git/config"), "[core]").unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::write(
        cwd.join(".letta/settings.local.json"),
        r#"{"permissions":{"allow":["Bash"]},"sessionsByServer":{"x":1}}"#,
    )
    .unwrap();
    std::fs::write(cwd.join(".git/hooks/pre-commit"), "#!/bin/sh\nevil").unwrap();
    std::fs::remove_file(cwd.join(".git/config")).unwrap();
    std::fs::write(cwd.join("ok.txt"), "fine").unwrap();
    let changed = g.restore();
    assert_eq!(changed.len(), 3, "{changed:?}");
    let kept: Value = crate::settings::load_json(&cwd.join(".letta/settings.local.json")).unwrap();
    assert_eq!(
        kept,
        serde_json::json!({"sessionsByServer": {"x": 1}}),
        "the grant goes, the session stays"
    );
    assert!(!cwd.join(".git/hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(cwd.join(".git/config")).unwrap(),
        "[core]"
    );
    assert!(cwd.join("ok.txt").exists());
}

#[test]
fn a_symlinked_hooks_folder_is_removed_not_written_through() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    std::fs::write(cwd.join(".git/hooks/pre-commit.sample"), "sample").unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::remove_dir_all(cwd.join(".git/hooks")).unwrap();
    std::fs::create_dir(cwd.join("evil")).unwrap();
    std::fs::write(cwd.join("evil/pre-commit"), "#!/bin/sh\nevil").unwrap();
    std::os::unix::fs::symlink("../evil", cwd.join(".git/hooks")).unwrap();
    g.restore();
    let m = std::fs::symlink_metadata(cwd.join(".git/hooks")).unwrap();
    assert!(m.is_dir() && !m.file_type().is_symlink());
    assert!(!cwd.join(".git/hooks/pre-commit").exists());
    assert!(cwd.join(".git/hooks/pre-commit.sample").exists());
    assert!(
        !cwd.join("evil/pre-commit.sample").exists(),
        "written through"
    );
    // A new symlinked hook goes too.
    std::os::unix::fs::symlink("/tmp/x", cwd.join(".git/hooks/post-checkout")).unwrap();
    g.restore();
    assert!(std::fs::symlink_metadata(cwd.join(".git/hooks/post-checkout")).is_err());
}

#[test]
fn a_replaced_git_folder_is_set_aside() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::rename(cwd.join(".git"), cwd.join("old")).unwrap();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    std::fs::write(cwd.join(".git/hooks/pre-commit"), "evil").unwrap();
    let changed = g.restore();
    assert!(!cwd.join(".git").exists(), "{changed:?}");
    assert!(
        changed
            .iter()
            .any(|p| p.to_string_lossy().contains(".git.replaced-"))
    );
}

#[test]
fn a_settings_file_turned_into_a_link_is_not_written_through() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path().join("p");
    std::fs::create_dir_all(cwd.join(".letta")).unwrap();
    let global = d.path().join("global.json");
    std::fs::write(&global, r#"{"permissions":{"deny":["Bash(rm:*)"]}}"#).unwrap();
    std::fs::write(cwd.join(".letta/settings.json"), r#"{"x":1}"#).unwrap();
    let g = Guard::snapshot(&cwd);
    std::fs::remove_file(cwd.join(".letta/settings.json")).unwrap();
    std::os::unix::fs::symlink(&global, cwd.join(".letta/settings.json")).unwrap();
    std::os::unix::fs::symlink(
        d.path().join("made"),
        cwd.join(".letta/.settings.local.json.lock"),
    )
    .unwrap();
    g.restore();
    assert_eq!(
        std::fs::read_to_string(&global).unwrap(),
        r#"{"permissions":{"deny":["Bash(rm:*)"]}}"#,
        "the global file is untouched"
    );
    let m = std::fs::symlink_metadata(cwd.join(".letta/settings.json")).unwrap();
    assert!(m.is_file());
    assert_eq!(
        std::fs::read_to_string(cwd.join(".letta/settings.json")).unwrap(),
        r#"{"x":1}"#
    );
    assert!(std::fs::symlink_metadata(cwd.join(".letta/.settings.local.json.lock")).is_err());
    assert!(!d.path().join("made").exists());
}

#[test]
fn limits_do_not_hide_a_hook() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    std::fs::create_dir_all(cwd.join(".letta")).unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::create_dir_all(cwd.join(".letta/junk")).unwrap();
    for i in 0..700 {
        std::fs::write(cwd.join(format!(".letta/junk/f{i}")), "").unwrap();
    }
    std::fs::write(cwd.join(".git/hooks/pre-commit"), "x".repeat(2 << 20)).unwrap();
    std::fs::write(cwd.join(".git/commondir"), "../evil").unwrap();
    g.restore();
    assert!(!cwd.join(".git/hooks/pre-commit").exists());
    assert!(!cwd.join(".git/commondir").exists());
    assert!(!cwd.join(".letta/junk").exists());
}

#[test]
fn a_git_file_pointed_elsewhere_is_put_back() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::write(cwd.join(".git"), "gitdir: ../main/.git/worktrees/w\n").unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::write(cwd.join(".git"), "gitdir: evilgit\n").unwrap();
    g.restore();
    assert_eq!(
        std::fs::read_to_string(cwd.join(".git")).unwrap(),
        "gitdir: ../main/.git/worktrees/w\n"
    );
}

#[test]
fn a_submodule_git_folder_made_by_the_command_loses_its_hooks() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::create_dir_all(cwd.join(".git/modules/new/hooks")).unwrap();
    std::fs::write(cwd.join(".git/modules/new/hooks/post-checkout"), "evil").unwrap();
    std::fs::write(
        cwd.join(".git/modules/new/config"),
        "[core]\nfsmonitor = evil\n",
    )
    .unwrap();
    g.restore();
    assert!(!cwd.join(".git/modules/new/hooks/post-checkout").exists());
    assert!(!cwd.join(".git/modules/new/config").exists());
}

#[test]
fn a_hook_comes_back_with_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
    let hook = cwd.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let disabled = cwd.join(".git/hooks/post-merge.sample");
    std::fs::write(&disabled, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&disabled, std::fs::Permissions::from_mode(0o644)).unwrap();
    let g = Guard::snapshot(cwd);
    std::fs::write(&hook, "#!/bin/sh\nevil\n").unwrap();
    std::fs::set_permissions(&disabled, std::fs::Permissions::from_mode(0o755)).unwrap();
    g.restore();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\nexit 0\n"
    );
    assert_eq!(mode(&hook), 0o755);
    assert_eq!(mode(&disabled), 0o644);
}
