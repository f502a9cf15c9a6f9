//! The permission modes: how much the agent may do without asking.

use clap::ValueEnum;

/// How much the agent may do without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PermissionMode {
    /// Reads are allowed; edits and commands ask.
    #[default]
    #[value(alias = "default")]
    Standard,
    /// File edits are allowed; commands ask.
    #[value(name = "acceptEdits", alias = "accept-edits")]
    AcceptEdits,
    /// Everything is allowed except deny rules.
    #[value(alias = "bypassPermissions", alias = "yolo", alias = "fullAccess")]
    Unrestricted,
    /// Everything asks.
    Strict,
    /// Research only: read-only tools run, nothing else, until the user approves the plan
    /// the model hands in with `ExitPlanMode`.
    Plan,
}

impl PermissionMode {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "default",
            Self::AcceptEdits => "acceptEdits",
            Self::Unrestricted => "unrestricted",
            Self::Strict => "strict",
            Self::Plan => "plan",
        }
    }

    /// What it lets run without asking, for the model's session reminder.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Standard => "reads run; edits and commands ask the user first",
            Self::AcceptEdits => "reads and file edits run; commands ask the user first",
            Self::Unrestricted => "everything runs without asking, except what deny rules forbid",
            Self::Strict => "every tool call asks the user first",
            Self::Plan => {
                "plan mode: research with read-only tools only, then call ExitPlanMode with your plan for the user to approve; nothing else runs until then"
            }
        }
    }

    /// The next mode for Shift+Tab, as Letta Code cycles: the modes picked day to day, in a
    /// ring (standard → accept edits → plan → unrestricted → standard). Strict is only chosen
    /// explicitly; Shift+Tab leaves it for standard.
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            Self::Standard => Self::AcceptEdits,
            Self::AcceptEdits => Self::Plan,
            Self::Plan => Self::Unrestricted,
            Self::Unrestricted | Self::Strict => Self::Standard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_reaches_every_day_to_day_mode_and_never_strict() {
        let mut m = PermissionMode::Unrestricted;
        let mut seen = Vec::new();
        for _ in 0..6 {
            m = m.next();
            seen.push(m);
        }
        assert!(
            seen.contains(&PermissionMode::Unrestricted),
            "after --yolo it comes back"
        );
        assert!(!seen.contains(&PermissionMode::Strict));
        assert_eq!(PermissionMode::Strict.next(), PermissionMode::Standard);
    }
}
