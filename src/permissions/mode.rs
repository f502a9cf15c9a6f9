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
    #[value(alias = "bypassPermissions", alias = "yolo")]
    Unrestricted,
    /// Everything asks.
    Strict,
}
