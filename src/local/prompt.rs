//! The system prompt: base instructions plus the agent's memory, compiled fresh before each step
//! so that a memory edit in one conversation reaches every other one on its next turn.

use crate::protocol::{Block, BlockCreate};

/// Our base instructions for new agents.
pub const BASE_INSTRUCTIONS: &str = include_str!("../../assets/system.md");
const PERSONA: &str = include_str!("../../assets/persona.md");
const HUMAN: &str = include_str!("../../assets/human.md");

/// The `persona` and `human` blocks every new agent gets unless the caller gives blocks.
pub fn default_blocks() -> Vec<BlockCreate> {
    vec![
        BlockCreate {
            label: "persona".into(),
            value: PERSONA.trim().into(),
            description: Some("Who I am and how I behave.".into()),
            ..Default::default()
        },
        BlockCreate {
            label: "human".into(),
            value: HUMAN.trim().into(),
            description: Some("What I know about the user.".into()),
            ..Default::default()
        },
    ]
}

/// Compile instructions and blocks into the system prompt text.
pub fn compile(instructions: &str, blocks: &[Block], memory_updated_at: Option<&str>) -> String {
    let mut s = String::with_capacity(instructions.len() + 256);
    s.push_str(instructions.trim_end());
    s.push_str("\n\n<memory_blocks>\nThese blocks are your persistent memory, shared by all your conversations.\n");
    for b in blocks {
        let chars = b.value.chars().count();
        s.push_str(&format!("<{}>\n", b.label));
        if let Some(d) = b.description.as_deref().filter(|d| !d.is_empty()) {
            s.push_str(&format!("<description>{d}</description>\n"));
        }
        s.push_str(&format!(
            "<metadata>chars_current={chars} chars_limit={}{}</metadata>\n<value>\n{}\n</value>\n</{}>\n",
            b.limit.unwrap_or(0),
            if b.read_only == Some(true) { " read_only=true" } else { "" },
            b.value,
            b.label
        ));
    }
    s.push_str("</memory_blocks>\n");
    if let Some(ts) = memory_updated_at {
        s.push_str(&format!(
            "\n<memory_metadata>\n- Memory last updated: {ts}\n</memory_metadata>\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_blocks_in_order() {
        let blocks = vec![
            Block {
                label: "persona".into(),
                value: "I help.".into(),
                limit: Some(100),
                ..Default::default()
            },
            Block {
                label: "human".into(),
                value: "Ada".into(),
                limit: Some(100),
                ..Default::default()
            },
        ];
        let s = compile("Base.", &blocks, Some("2026-01-01"));
        assert!(s.starts_with("Base."));
        let (p, h) = (s.find("<persona>").unwrap(), s.find("<human>").unwrap());
        assert!(p < h);
        assert!(s.contains("Ada") && s.contains("Memory last updated: 2026-01-01"));
    }
}
