//! Subagents through the real binary: two Task calls in one step run at the same time, a
//! custom type is held to its tools, a background task reports back, stream-json events carry
//! their parent call, it works against `letta server`, and Esc leaves nothing running.

use crate::support;

use serde_json::{Value, json};

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};

fn tools(calls: &[(&str, &str, Value)]) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: calls
            .iter()
            .map(|(id, name, args)| ((*id).into(), (*name).into(), args.to_string()))
            .collect(),
    }
}

fn of(calls: Vec<(String, String, Value)>) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: calls
            .into_iter()
            .map(|(i, n, a)| (i, n, a.to_string()))
            .collect(),
    }
}

fn task(id: &str, kind: &str, prompt: &str) -> (String, String, Value) {
    (
        id.into(),
        "Task".into(),
        json!({"description": format!("job {id}"), "prompt": prompt, "subagent_type": kind}),
    )
}

/// A command that waits (10 s at most) for the other subagent's mark: it says "met" only if
/// both ran at the same time.
fn meet(me: &str, other: &str) -> Value {
    json!({"command": format!(
        "touch {me}.mark; for i in $(seq 200); do [ -f {other}.mark ] && {{ echo {me}-met; exit 0; }}; sleep 0.05; done; echo {me}-alone"
    )})
}

fn two_at_once(llm: &ScriptedLlm, sb: &Sandbox, extra: &[&str]) {
    llm.push_for(
        "child-A",
        [
            tools(&[("a1", "Bash", meet("a", "b"))]),
            Reply::Text("A is done".into()),
        ],
    );
    llm.push_for(
        "child-B",
        [
            tools(&[("b1", "Bash", meet("b", "a"))]),
            Reply::Text("B is done".into()),
        ],
    );
    let (ta, tb) = (
        task("tA", "general-purpose", "child-A: wait for B"),
        task("tB", "general-purpose", "child-B: wait for A"),
    );
    llm.push([of(vec![ta, tb]), Reply::Text("both done".into())]);
    let mut args = vec![
        "-p",
        "run two jobs",
        "-m",
        "openai/gpt-test",
        "--allowedTools",
        "Bash",
    ];
    args.extend_from_slice(extra);
    let o = sb.run(&args);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("both done"), "{stdout}");
    assert_eq!(llm.tool_result("a1").trim(), "a-met", "A ran alone");
    assert_eq!(llm.tool_result("b1").trim(), "b-met", "B ran alone");
    let a = llm.tool_result("tA");
    assert!(
        a.contains("A is done") && a.contains("[subagent general-purpose · job tA"),
        "{a}"
    );
    assert!(llm.tool_result("tB").contains("B is done"));
}

#[test]
fn two_task_calls_in_one_step_run_at_the_same_time() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    two_at_once(&llm, &sb, &[]);
    // Each ran in a conversation of its own, titled after it.
    let (list, _) = out(&sb.run(&["conversations", "list"]));
    assert!(
        list.contains("general-purpose: job tA") && list.contains("general-purpose: job tB"),
        "{list}"
    );
}

#[test]
fn subagents_work_against_letta_server() {
    let llm = ScriptedLlm::start_in_background();
    let home = Sandbox::new(&llm.openai_url());
    let server = home.start_server(&[]);
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env.push(("LETTA_BASE_URL".into(), server.url.clone()));
    two_at_once(&llm, &sb, &[]);
}

#[test]
fn a_custom_type_keeps_to_its_tools_and_events_carry_the_parent() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let agents = sb.project.path().join(".letta/agents");
    std::fs::create_dir_all(&agents).unwrap();
    std::fs::write(
        agents.join("reviewer.md"),
        "---\nname: reviewer\ndescription: Reviews code without changing it.\ntools: Read, Grep\n---\nReview the code you are pointed at.\n",
    )
    .unwrap();
    // Listing Task does not let a subagent start its own; a built-in's name is not taken.
    std::fs::write(
        agents.join("nester.md"),
        "---\nname: nester\ndescription: Tries to nest.\ntools: Task, Read\n---\nGo deeper.\n",
    )
    .unwrap();
    std::fs::write(
        agents.join("explore.md"),
        "---\nname: explore\ndescription: A fake explore with every tool.\n---\nAnything.\n",
    )
    .unwrap();
    llm.push_for(
        "nest-me",
        [
            of(vec![task("n2", "nester", "deeper")]),
            Reply::Text("could not nest".into()),
        ],
    );
    llm.push_for(
        "review-me",
        [
            tools(&[("r1", "Bash", json!({"command": "ls"}))]),
            Reply::Text("I may not run commands".into()),
        ],
    );
    llm.push([
        of(vec![
            task("t1", "reviewer", "review-me please"),
            task("t2", "nester", "nest-me now"),
        ]),
        Reply::Text("reviewed".into()),
    ]);
    let o = sb.run(&[
        "-p",
        "review",
        "-m",
        "openai/gpt-test",
        "--yolo",
        "--output-format",
        "stream-json",
    ]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let nested = llm.tool_result("n2");
    assert!(
        nested.contains("Task is not one of the tools available here (Read)"),
        "{nested}"
    );
    let refused = llm.tool_result("r1");
    assert!(
        refused.contains("Bash is not one of the tools available here (Read, Grep)"),
        "{refused}"
    );
    // The subagent's events in stream-json name the Task call they belong to.
    let child: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["parent_tool_call_id"] == "t1")
        .collect();
    assert!(
        child.iter().any(|v| v["subagent"] == "reviewer · job t1"),
        "{stdout}"
    );
    assert!(
        child.iter().any(|v| v["type"] == "approval_received"),
        "{stdout}"
    );
    let (types, _) = out(&sb.run_with_stdin(&["--plain", "-m", "openai/gpt-test"], "/subagents\n"));
    assert!(
        types.contains("● reviewer — Reviews code") && types.contains("tools: Read, Grep"),
        "{types}"
    );
    assert!(
        types.contains("● explore") && types.contains("● plan"),
        "{types}"
    );
    assert!(
        types.contains("✗ explore — not usable: the name is a built-in type's"),
        "{types}"
    );
}

#[test]
fn a_background_task_reports_back() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push_for(
        "bg-job",
        [Reply::Text("the background answer is 42".into())],
    );
    let mut t = task("t1", "explore", "bg-job: find the answer");
    t.2["run_in_background"] = json!(true);
    llm.push([
        of(vec![t]),
        tools(&[("o1", "TaskOutput", json!({"task_id": "task-1"}))]),
        Reply::Text("waited".into()),
        Reply::Text("second turn".into()),
    ]);
    let o = sb.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "start it\nand then?\n",
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        llm.tool_result("t1")
            .contains("Started the subagent in the background as task task-1")
    );
    assert!(
        llm.tool_result("o1")
            .contains("the background answer is 42"),
        "{}",
        llm.tool_result("o1")
    );
    let last = llm.requests().last().unwrap().body.to_string();
    assert!(
        last.contains("task-notification") && last.contains("the background answer is 42"),
        "{last}"
    );
}

/// Runs the engine still counts as running.
fn running_runs(sb: &Sandbox) -> i64 {
    let db = rusqlite::Connection::open(sb.db()).unwrap();
    db.query_row(
        "SELECT COUNT(*) FROM runs WHERE status = 'running'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn esc_cancels_the_parent_and_both_children_and_nothing_is_left_running() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push_for("child-A", [Reply::Stall]);
    llm.push_for("child-B", [Reply::Stall]);
    llm.push([of(vec![
        task("tA", "explore", "child-A: look around"),
        task("tB", "plan", "child-B: make a plan"),
    ])]);
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.send("start two\r");
    p.wait_text("explore · job tA · thinking");
    p.wait_text("plan · job tB · thinking");
    p.wait_for("both children to be running", |_| running_runs(&sb) == 2);
    // Ctrl+O shows what they did so far (nothing yet), and hides it again.
    p.send("\x0f");
    p.wait_for("the expanded cells", |s| !s.contains("(ctrl+o)"));
    p.send("\x1b");
    p.wait_for("the turn to stop", |s| !s.contains("esc to interrupt"));
    p.wait_for("no run left running", |_| running_runs(&sb) == 0);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn a_killed_parent_leaves_no_run_behind_and_approvals_name_the_subagent() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    std::fs::write(sb.project.path().join("a.txt"), "alpha\n").unwrap();
    let edit = json!({"file_path": "a.txt", "old_string": "alpha", "new_string": "beta"});
    llm.push_for(
        "child-E",
        [tools(&[("e1", "Edit", edit)]), Reply::Text("edited".into())],
    );
    llm.push_for("child-S", [Reply::Stall]);
    llm.push([of(vec![
        task("tE", "general-purpose", "child-E: change it"),
        task("tS", "explore", "child-S: look"),
    ])]);
    let p = sb.pty(&["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.send("go\r");
    // The edit asks, and says which subagent wants it.
    p.wait_text("Update a.txt?");
    p.wait_text("subagent general-purpose · job tE");
    // The editing child waits on the question; the other is still running.
    p.wait_for("the other child to be running", |_| running_runs(&sb) == 1);
    // SAFETY: killing the child process this test started.
    unsafe {
        libc::kill(p.pid().unwrap() as i32, libc::SIGKILL);
    }
    drop(p);
    // The next letta to open the database ends the runs of the dead process.
    let o = sb.run(&["conversations", "list"]);
    assert!(o.status.success(), "{:?}", out(&o));
    assert_eq!(running_runs(&sb), 0);
    assert_eq!(
        std::fs::read_to_string(sb.project.path().join("a.txt")).unwrap(),
        "alpha\n"
    );
}

#[test]
fn a_forked_subagent_starts_from_the_conversation_so_far() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run(&["-p", "the secret word is zebra", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{:?}", out(&o));
    llm.push_for("child-F", [Reply::Text("the word was zebra".into())]);
    let mut t = task("tF", "general-purpose", "child-F: which word?");
    t.2["fork"] = json!(true);
    llm.push([of(vec![t]), Reply::Text("asked a fork".into())]);
    let o = sb.run(&["-p", "ask a fork", "-m", "openai/gpt-test"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        llm.tool_result("tF").contains("the word was zebra"),
        "{}",
        llm.tool_result("tF")
    );
    // The fork's request carried the parent's earlier talk.
    let child = llm
        .requests()
        .into_iter()
        .find(|r| r.body.to_string().contains("child-F"))
        .unwrap();
    assert!(child.body.to_string().contains("the secret word is zebra"));
}

#[test]
fn two_subagents_asking_at_once_are_asked_one_after_the_other() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    std::fs::write(p.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(p.join("b.txt"), "bravo\n").unwrap();
    let edit = |f: &str, o: &str| json!({"file_path": f, "old_string": o, "new_string": "done"});
    llm.push_for(
        "child-1",
        [
            tools(&[("e1", "Edit", edit("a.txt", "alpha"))]),
            Reply::Text("one".into()),
        ],
    );
    llm.push_for(
        "child-2",
        [
            tools(&[("e2", "Edit", edit("b.txt", "bravo"))]),
            Reply::Text("two".into()),
        ],
    );
    llm.push([
        of(vec![
            task("t1", "general-purpose", "child-1: edit a"),
            task("t2", "general-purpose", "child-2: edit b"),
        ]),
        Reply::Text("both edited".into()),
    ]);
    let mut t = sb.pty(&["-m", "openai/gpt-test"], &[]);
    t.wait_text("conversation");
    t.send("edit both\r");
    t.wait_for("a question", |s| {
        s.contains("Update a.txt?") || s.contains("Update b.txt?")
    });
    let (first, second) = if t.screen().contains("Update a.txt?") {
        ("a.txt", "b.txt")
    } else {
        ("b.txt", "a.txt")
    };
    t.send("1");
    // The second question comes once the first is answered; neither is lost.
    t.wait_for("the first edit", |_| {
        std::fs::read_to_string(p.join(first)).unwrap() == "done\n"
    });
    t.wait_text(&format!("Update {second}?"));
    t.send("1");
    t.wait_text("both edited");
    assert_eq!(std::fs::read_to_string(p.join("a.txt")).unwrap(), "done\n");
    assert_eq!(std::fs::read_to_string(p.join("b.txt")).unwrap(), "done\n");
    t.wait_for("the turn to end", |s| !s.contains("esc to interrupt"));
    t.send("\x03\x03");
    assert_eq!(t.wait_exit(), 0);
}
