//! The helper side: `letta __sandbox POLICY PROGRAM ARGS…` applies the policy to itself, then
//! execs the program. It runs before anything else in `main`, so its cost is a process start
//! and a few system calls. In order: a session of its own (no controlling terminal to type
//! into), no capabilities (root gets no way around the rules), Landlock for files and TCP, and
//! a seccomp filter for what Landlock does not cover (see [`super::syscalls`]).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

use super::Policy;
use super::carve::{readable_roots, within};

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
    #[error("the system call filter could not be set up: {0}")]
    Seccomp(String),
}

/// Restrict this process to `policy`.
pub fn restrict(policy: &Policy) -> Result<(), HelperError> {
    detach();
    drop_capabilities();
    landlock(policy)?;
    super::syscalls::install(policy.network).map_err(HelperError::Seccomp)
}

/// A new session: the command and everything it starts lose letta's controlling terminal (no
/// typing into it with `TIOCSTI`), and form one process group letta can stop whole.
fn detach() {
    // SAFETY: setsid/setpgid take no pointers; failure leaves the process as it was.
    unsafe {
        if libc::setsid() < 0 {
            libc::setpgid(0, 0);
        }
    }
}

/// Run as root, a command could read letta's memory and environment through `/proc` or open
/// raw sockets; with every capability gone (and none regained at exec) it cannot.
fn drop_capabilities() {
    use caps::CapSet;
    // The bounding set first: it needs CAP_SETPCAP, which the next steps take away.
    for set in [
        CapSet::Bounding,
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        // Not root: there is nothing to drop, and some sets refuse to be touched.
        let _ = caps::clear(None, set);
    }
}

fn landlock(policy: &Policy) -> Result<(), HelperError> {
    let abi = ABI::V6;
    let all = AccessFs::from_all(abi);
    // No ioctl on devices: a terminal opened by path must not take typed-in input.
    let mut write = all;
    write.remove(AccessFs::IoctlDev);
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
            readable_roots(&[policy.hidden.clone(), policy.sealed.clone()].concat()),
            AccessFs::from_read(abi),
        ))?
        .add_rules(path_beneath_rules(
            policy
                .writable
                .iter()
                // A folder a Read deny rule hides stays hidden inside a writable one too.
                .flat_map(|w| within(w, &[policy.sealed.clone(), policy.hidden.clone()].concat())),
            write,
        ))?
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
