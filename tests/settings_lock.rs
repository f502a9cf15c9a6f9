//! Two `letta` processes that save a permission rule at the same moment keep both rules: every
//! settings write is a re-read, change and atomic write under an advisory file lock.

use std::process::Command;

const WRITER: &str = "LETTA_TEST_RULE_WRITER";
const RULES: usize = 40;

#[test]
fn two_processes_saving_rules_at_once_keep_both() {
    // Re-run as a writer: this same test binary, told which project and which name to use.
    if let (Ok(dir), Ok(who)) = (std::env::var(WRITER), std::env::var("LETTA_TEST_WRITER_ID")) {
        for n in 0..RULES {
            let rule = letta::permissions::Rule::parse(&format!("Bash({who}-{n}:*)")).unwrap();
            letta::permissions::save_allow_rule(std::path::Path::new(&dir), &rule).unwrap();
        }
        return;
    }
    let project = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let writers: Vec<_> = ["a", "b"]
        .iter()
        .map(|who| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "settings_lock::two_processes_saving_rules_at_once_keep_both",
                    "--test-threads=1",
                ])
                .env(WRITER, project.path())
                .env("LETTA_TEST_WRITER_ID", who)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut w in writers {
        assert!(w.wait().unwrap().success(), "a writer failed");
    }
    let file = letta::settings::project_local_file(project.path());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let allow = saved["permissions"]["allow"].as_array().unwrap();
    for who in ["a", "b"] {
        for n in 0..RULES {
            let rule = format!("Bash({who}-{n}:*)");
            assert!(allow.iter().any(|r| r == &rule), "{rule} was lost: {saved}");
        }
    }
    assert_eq!(allow.len(), 2 * RULES);
}
