//! Conversations as a tree, end to end: branching before an earlier message (Esc Esc in the
//! chat, numbered choices in the REPL), the tree, and finding a conversation by its text.

use crate::support;

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};
use support::pty::Pty;

fn wait_idle(p: &Pty) {
    p.wait_for("the turn to end", |s| !s.contains("esc to interrupt"));
}

fn say(p: &Pty, text: &str) {
    p.send(&format!("{text}\r"));
    p.wait_text(&format!("echo: {text}"));
    wait_idle(p);
}

#[test]
fn esc_esc_branches_before_a_picked_message_and_hands_it_back() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[("TZ", "UTC")]);
    p.wait_text("›");
    for w in ["msg one", "msg two", "msg three", "msg four"] {
        say(&p, w);
    }
    let original = sb.project_session()["conversationId"].clone();

    p.send("\x1b");
    p.wait_text("Press Esc again to branch");
    p.send("\x1b");
    p.wait_text("Branch before which message?");
    p.wait_text("→ echo: msg one");
    // Newest first: the third from the end is "msg two".
    p.send("\x1b[B\x1b[B\r");
    p.wait_text("Branched before that message");
    p.wait_text("Now in 'conv-");
    p.wait_for("the picked message in the input", |s| {
        s.contains("› msg two")
    });
    support::until(|| sb.project_session()["conversationId"] != original);
    let fork = sb.project_session()["conversationId"]
        .as_str()
        .unwrap()
        .to_string();
    let short = format!("conv-{}", &fork[fork.len() - 8..]);
    p.wait_for("the status line names the branch", |s| s.contains(&short));

    // Edited and sent: the model sees exactly the history before the picked message.
    let before = llm.requests().len();
    p.send(" edited\r");
    p.wait_text("echo: msg two edited");
    wait_idle(&p);
    assert_eq!(llm.requests().len(), before + 1);
    let body = llm.last_body().to_string();
    for kept in ["msg one", "echo: msg one", "msg two edited"] {
        assert!(body.contains(kept), "{kept} is missing: {body}");
    }
    for dropped in ["echo: msg two", "msg three", "msg four"] {
        assert!(
            !body.contains(dropped),
            "{dropped} leaked into the fork: {body}"
        );
    }

    // The tree: the branch under the conversation it came from, marked as the current one.
    p.send("/tree\r");
    p.wait_text("← you are here");
    let screen = p.screen();
    assert!(screen.contains("(forked at"), "{screen}");
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);

    // The same tree as JSON for scripts.
    let o = sb.run(&["conversations", "tree"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let forest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let parent = original.as_str().unwrap();
    let holder = forest
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == parent)
        .unwrap_or_else(|| panic!("{parent} is not a root: {stdout}"));
    assert_eq!(holder["children"][0]["id"], fork.as_str(), "{stdout}");
    assert_eq!(holder["children"][0]["current"], true, "{stdout}");
    assert!(holder.get("current").is_none(), "{stdout}");
    assert!(
        holder["children"][0]["fork_message_id"].is_string(),
        "{stdout}"
    );
}

#[test]
fn resume_search_finds_a_conversation_by_a_word_only_in_a_reply() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[]);
    p.wait_text("›");
    p.send("/new holiday plans\r");
    p.wait_text("Now in 'holiday plans'");
    llm.push([Reply::Text("Try the island of Zanzibar in June.".into())]);
    p.send("where should we go\r");
    p.wait_text("Zanzibar in June");
    wait_idle(&p);
    // Enough later talk that the match is no longer among the newest messages.
    for i in 0..26 {
        say(&p, &format!("filler {i}"));
    }
    p.send("/new something else\r");
    p.wait_text("Now in 'something else'");
    say(&p, "unrelated");

    p.send("/resume\r");
    p.wait_text("Resume a previous conversation");
    p.send("zanzibar");
    p.wait_text("agent: Try the island of Zanzibar");
    p.wait_for("only the conversation that said it", |s| {
        s.contains("holiday plans") && !s.contains("something else")
    });
    p.send("\r");
    p.wait_text("The message that matched");
    p.wait_text("Now in 'holiday plans'");
    // Opened at that point: the match with what led to it, then the newest messages.
    let all = p.transcript();
    let t = &all[all.rfind("echo: unrelated").unwrap()..];
    let at = |what: &str| {
        t.find(what)
            .unwrap_or_else(|| panic!("{what} missing: {t}"))
    };
    assert!(
        at("where should we go") < at("Try the island of Zanzibar"),
        "{t}"
    );
    assert!(
        at("Try the island of Zanzibar") < at("⋯ later messages ⋯"),
        "{t}"
    );
    assert!(at("⋯ later messages ⋯") < at("echo: filler 25"), "{t}");
    assert!(
        at("echo: filler 25") < at("The message that matched"),
        "{t}"
    );
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn the_repl_branches_by_number_against_letta_server() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let server = sb.start_server(&[]);
    let mut client = Sandbox::new(&llm.openai_url());
    client.env = vec![("LETTA_BASE_URL".into(), server.url.clone())];
    // Two messages, then /fork picks the older one (2) and its text comes back to resend.
    let o = client.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "first words\nsecond words\n/fork\n2\n first words, again\n/tree\n/exit\n",
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Branch before which message?"), "{stdout}");
    assert!(
        stdout.contains("(to send again, edited: first words)"),
        "{stdout}"
    );
    assert!(stdout.contains("Now in 'conv-"), "{stdout}");
    assert!(stdout.contains("echo: first words, again"), "{stdout}");
    let body = llm.last_body().to_string();
    assert!(
        !body.contains("second words") && !body.contains("echo: first words\""),
        "the branch starts before the picked message: {body}"
    );
    assert!(stdout.contains("← you are here"), "{stdout}");
    assert!(stdout.contains("(forked at"), "{stdout}");
}

#[test]
fn the_resume_tree_after_two_levels_of_forks() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[("TZ", "UTC")]);
    p.wait_text("›");
    // The window is named after the agent and conversation.
    p.wait_for_raw("the window title", |raw| raw.contains("\x1b]0;letta · "));
    say(&p, "trunk talk");
    p.send("/fork --all level one\r");
    p.wait_text("Now in 'level one' (forked from 'default' at");
    say(&p, "first branch talk");
    p.send("/fork --all level two\r");
    p.wait_text("Now in 'level two' (forked from 'level one' at");
    p.send("/new a side topic\r");
    p.wait_text("Now in 'a side topic'");
    say(&p, "side talk");
    // From the tree, Enter on a branch switches to it.
    p.send("/resume\r");
    p.wait_text("Resume a previous conversation");
    p.send("t");
    p.wait_text("Conversations and their forks");
    p.wait_text("a side topic");
    p.send("\x1b[A\r");
    // (The fork's own note said "Now in 'level two'" earlier: wait for the switch's.)
    p.wait_text("Resumed conversation \"level two\"");
    p.send("/resume\r");
    p.wait_text("Resume a previous conversation");
    p.send("t");
    p.wait_text("Conversations and their forks");
    p.wait_text("(current)");
    let screen = p.screen();
    let ids = regex_lite_ids(&screen);
    insta::with_settings!({filters => vec![
        (r"conv-[0-9a-f]{8}", "conv-ID"),
        (r"(\d{4}-\d\d-\d\d )?\d\d:\d\d", "HH:MM"),
    ]}, {
        insta::assert_snapshot!("resume_tree_pty", ids);
    });
    p.send("\x1b");
    p.wait_for("the chat back", |s| {
        !s.contains("Conversations and their forks")
    });
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

/// The screen's non-blank lines, trailing spaces cut.
fn regex_lite_ids(screen: &str) -> String {
    screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
