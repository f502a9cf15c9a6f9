use super::*;

#[test]
fn carving_hides_a_file_and_keeps_its_siblings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/b/secret.json"), "k").unwrap();
    std::fs::write(root.join("a/b/other.txt"), "x").unwrap();
    std::fs::write(root.join("a/c.txt"), "x").unwrap();
    let roots = carve::readable_roots(&[root.join("a/b/secret.json")]);
    assert!(roots.contains(&root.join("a/b/other.txt")), "{roots:?}");
    assert!(roots.contains(&root.join("a/c.txt")));
    assert!(
        !roots
            .iter()
            .any(|r| root.join("a/b/secret.json").starts_with(r))
    );
    assert!(roots.contains(&PathBuf::from("/usr")) || !Path::new("/usr").exists());
}

#[test]
fn a_symlink_on_the_way_does_not_leak_the_hidden_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("real/cfg")).unwrap();
    std::fs::write(root.join("real/cfg/settings.json"), "k").unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("home")).unwrap();
    let roots = carve::readable_roots(&[root.join("home/cfg/settings.json")]);
    let secret = root.join("real/cfg/settings.json");
    for r in &roots {
        let covers =
            secret.starts_with(r) || secret.starts_with(r.canonicalize().unwrap_or(r.clone()));
        assert!(!covers, "{r:?} covers the secret");
    }
}

#[test]
fn wrap_passes_the_policy_and_the_command() {
    let sb = Sandbox {
        helper: "/bin/letta".into(),
        policy: Policy {
            hidden: vec![],
            writable: vec!["/p".into()],
            sealed: vec![],
            network: false,
        },
        tmp: "/tmp/x".into(),
        excluded: vec!["npm install".into()],
    };
    let (prog, args) = sb.wrap("/bin/sh", "ls -la");
    assert_eq!(prog, PathBuf::from("/bin/letta"));
    assert_eq!(args[0], HELPER_ARG);
    assert_eq!(serde_json::from_str::<Policy>(&args[1]).unwrap(), sb.policy);
    assert_eq!(&args[2..], ["/bin/sh", "-c", "ls -la"]);
    assert!(sb.is_excluded(" npm install "));
    assert!(!sb.is_excluded("npm install x"));
}

#[test]
fn a_writable_folder_holding_letta_home_is_granted_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(home.join(".letta/data")).unwrap();
    std::fs::create_dir_all(home.join("src")).unwrap();
    std::fs::write(home.join("notes.txt"), "x").unwrap();
    let roots = carve::within(&home, &[home.join(".letta")]);
    assert!(roots.contains(&home.join("src")) && roots.contains(&home.join("notes.txt")));
    assert!(
        !roots
            .iter()
            .any(|r| home.join(".letta/settings.json").starts_with(r))
    );
    assert!(carve::within(&home.join(".letta/data"), &[home.join(".letta")]).is_empty());
}
