//! Skills through the real binary: a project skill is listed, loaded by the `Skill` tool with
//! its body reaching the model, run as `/NAME args`, and a broken one is listed with why.

use crate::support;

use serde_json::json;

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};

fn project_skills(sb: &Sandbox) {
    let skills = sb.project.path().join(".agents/skills");
    std::fs::create_dir_all(skills.join("deploy")).unwrap();
    std::fs::write(
        skills.join("deploy/SKILL.md"),
        "---\nname: deploy\ndescription: Ship the app to an environment. Use when asked to deploy.\n---\n# Deploying\nRun `make deploy-prod` and watch the health check.\n",
    )
    .unwrap();
    std::fs::create_dir_all(sb.project.path().join(".claude/skills/broken")).unwrap();
    std::fs::write(
        sb.project.path().join(".claude/skills/broken/SKILL.md"),
        "name: broken\n",
    )
    .unwrap();
}

#[test]
fn a_project_skill_is_listed_loaded_and_its_body_reaches_the_model() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    project_skills(&sb);
    let (list, _) = out(&sb.run(&["skills", "list"]));
    assert!(list.contains("● deploy — Ship the app"), "{list}");
    assert!(
        list.contains("✗ broken — not usable: SKILL.md: it does not start"),
        "{list}"
    );
    assert!(list.contains("● creating-skills"), "{list}");

    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "s1".into(),
                "Skill".into(),
                json!({"skill": "deploy"}).to_string(),
            )],
        },
        Reply::Text("deploying now".into()),
    ]);
    let o = sb.run(&["-p", "deploy it", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{:?}", out(&o));
    let first = &llm.requests()[0].body;
    let skill_tool = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "Skill")
        .unwrap();
    let desc = skill_tool["function"]["description"].as_str().unwrap();
    assert!(
        desc.contains("- deploy: Ship the app to an environment."),
        "{desc}"
    );
    assert!(
        !desc.contains("make deploy-prod"),
        "only names and descriptions are sent"
    );
    assert!(!desc.contains("broken"), "{desc}");
    let second = llm.requests()[1].body.to_string();
    assert!(second.contains("make deploy-prod"), "{second}");
}

#[test]
fn a_skill_runs_as_a_slash_command_in_the_chat_view() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    project_skills(&sb);
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.send("/skills\r");
    p.wait_text("● deploy — Ship the app");
    llm.push([Reply::Text("on it".into())]);
    p.send("/deploy staging please\r");
    p.wait_text("on it");
    let asked = llm.requests().last().unwrap().body.to_string();
    assert!(asked.contains("The user ran the skill /deploy"), "{asked}");
    assert!(
        asked.contains("for: staging please") && asked.contains("make deploy-prod"),
        "{asked}"
    );
    // The model loads it itself with the Skill tool.
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "s2".into(),
                "Skill".into(),
                json!({"skill": "deploy"}).to_string(),
            )],
        },
        Reply::Text("loaded it".into()),
    ]);
    p.send("how do we ship?\r");
    p.wait_text("loaded it");
    assert!(llm.tool_result("s2").contains("make deploy-prod"));
    p.send("/nosuchskill\r");
    p.wait_text("Unknown command /nosuchskill");
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}
