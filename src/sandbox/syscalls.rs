//! The seccomp filter of a sandboxed command, for what Landlock does not cover: without the
//! network, no sockets but Unix stream ones and no `connect` at all (UDP, and Unix sockets such
//! as the SSH agent, D-Bus or Docker, are otherwise open); never leaving the process group letta
//! stops when the command ends; no `TIOCSTI`; no io_uring (its operations bypass seccomp).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Install the filter on this thread (the helper has only one); it outlives the exec.
pub fn install(network: bool) -> Result<(), String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let program: BpfProgram = SeccompFilter::new(
        rules(network)?,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .and_then(TryInto::try_into)
    .map_err(|e| e.to_string())?;
    seccompiler::apply_filter(&program).map_err(|e| e.to_string())
}

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, String> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| e.to_string())
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

/// Syscall → rules; an empty list refuses the call whatever its arguments.
fn rules(network: bool) -> Result<BTreeMap<i64, Vec<SeccompRule>>, String> {
    let mut r: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in [
        libc::SYS_setsid,
        libc::SYS_setpgid,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
    ] {
        r.insert(call, Vec::new());
    }
    r.insert(
        libc::SYS_ioctl,
        vec![rule(vec![cond(1, SeccompCmpOp::Eq, libc::TIOCSTI)?])?],
    );
    if !network {
        // Unix stream sockets only: a datagram one (and `SOCK_RAW`, which the kernel makes
        // one) reaches named sockets with no connect, even from a connected pair.
        let not_stream = || -> Result<Vec<SeccompRule>, String> {
            (0..16)
                .filter(|k| *k != libc::SOCK_STREAM as u64)
                .map(|k| rule(vec![cond(1, SeccompCmpOp::MaskedEq(0xf), k)?]))
                .collect()
        };
        let mut socket = vec![rule(vec![cond(
            0,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )?])?];
        socket.extend(not_stream()?);
        r.insert(libc::SYS_socket, socket);
        r.insert(libc::SYS_socketpair, not_stream()?);
        r.insert(libc::SYS_connect, Vec::new());
        // A datagram to a named Unix socket (syslog, the journal) needs no connect.
        r.insert(
            libc::SYS_sendto,
            vec![rule(vec![
                SeccompCondition::new(4, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, 0)
                    .map_err(|e| e.to_string())?,
            ])?],
        );
    }
    Ok(r)
}
