//! The helper side: `letta __sandbox POLICY PROGRAM ARGS…` applies the policy to itself with
//! Landlock, then execs the program. It runs before anything else in `main`, so its cost is a
//! process start and a few system calls.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

use super::Policy;
use super::carve::readable_roots;

/// Why the sandbox could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("usage: letta __sandbox POLICY PROGRAM [ARGS…]")]
    Usage,
    #[error("the sandbox policy is not valid JSON: {0}")]
    Policy(#[from] serde_json::Error),
    #[error("Landlock refused the sandbox: {0}")]
    Landlock(#[from] landlock::RulesetError),
    #[error("this kernel does not enforce Landlock; the command was not run")]
    NotEnforced,
}

/// Restrict this process to `policy`.
pub fn restrict(policy: &Policy) -> Result<(), HelperError> {
    let abi = ABI::V6;
    let all = AccessFs::from_all(abi);
    let mut rs = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)?;
    if !policy.network {
        rs = rs.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?;
        rs = rs.scope(Scope::AbstractUnixSocket)?;
    }
    rs = rs.scope(Scope::Signal)?;
    let status = rs
        .create()?
        .add_rules(path_beneath_rules(
            readable_roots(&policy.hidden),
            AccessFs::from_read(abi),
        ))?
        .add_rules(path_beneath_rules(&policy.writable, all))?
        .restrict_self()?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(HelperError::NotEnforced);
    }
    Ok(())
}

/// Run as the helper; returns only when the program could not be started.
pub fn run(mut args: impl Iterator<Item = OsString>) -> ExitCode {
    let result = (|| {
        let policy = args.next().ok_or(HelperError::Usage)?;
        let program = args.next().ok_or(HelperError::Usage)?;
        let policy: Policy = serde_json::from_str(&policy.to_string_lossy())?;
        restrict(&policy)?;
        let err = std::process::Command::new(&program).args(args).exec();
        eprintln!(
            "letta sandbox: cannot run {}: {err}",
            program.to_string_lossy()
        );
        Ok::<_, HelperError>(())
    })();
    if let Err(e) = result {
        eprintln!("letta sandbox: {e}");
    }
    // 126: "found but could not be executed", as shells report it.
    ExitCode::from(126)
}
