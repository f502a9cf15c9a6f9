//! Ways out of the sandbox that are not files or TCP: UDP, Unix sockets, a process left behind
//! to write after the command ended, letta's memory through `/proc` (as root), a terminal to
//! type into, and letta's own database. Every command is approved by a bare `Bash` rule, so
//! only the sandbox stands in the way; the control run without it shows each probe works.

use std::net::UdpSocket;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use crate::probes::{fill, project_with_files, run_probes};
use crate::support;
use support::bin::Sandbox;
use support::llm::ScriptedLlm;

const PROBES: &[&str] = &[
    "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"udp\", (\"127.0.0.1\", {UDP}))'",
    "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"{SOCK}\"); s.sendall(b\"unix\")'",
    "(setsid sh -c 'while :; do echo evil > .git/hooks/pre-commit; sleep 0.05; done' 2>/dev/null || while :; do echo evil > .git/hooks/pre-commit; sleep 0.05; done) </dev/null >/dev/null 2>&1 &",
    "cat /proc/$PPID/environ > environ.txt",
    "cp {HOME}/data/letta.db copied.db",
    "python3 -c 'import pty,fcntl,termios; m,s=pty.openpty(); fcntl.ioctl(s, termios.TIOCSTI, b\"x\"); open(\"typed\",\"w\")'",
    "python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendmsg([b\"dg\"], [], 0, \"{DGRAM}\")'",
    "python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_RAW).sendmsg([b\"dg\"], [], 0, \"{DGRAM}\")'",
    "python3 -c 'import socket; a,b=socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); a.sendmsg([b\"dg\"], [], 0, \"{DGRAM}\")'",
    "ls /dev/pts > terminals.txt",
    "chmod 644 {HOME}/settings.json",
];

struct Doors {
    udp: UdpSocket,
    unix: UnixListener,
    dgram: std::os::unix::net::UnixDatagram,
    _dir: tempfile::TempDir,
}

impl Doors {
    fn open() -> (Self, Vec<(&'static str, String)>) {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("agent.sock");
        let unix = UnixListener::bind(&sock).unwrap();
        unix.set_nonblocking(true).unwrap();
        let dg = dir.path().join("dg.sock");
        let dgram = std::os::unix::net::UnixDatagram::bind(&dg).unwrap();
        dgram.set_nonblocking(true).unwrap();
        let vars = vec![
            ("{UDP}", udp.local_addr().unwrap().port().to_string()),
            ("{SOCK}", sock.display().to_string()),
            ("{DGRAM}", dg.display().to_string()),
        ];
        (
            Self {
                udp,
                unix,
                dgram,
                _dir: dir,
            },
            vars,
        )
    }

    fn dgram_got(&self) -> bool {
        let mut buf = [0u8; 16];
        self.dgram.recv(&mut buf).is_ok()
    }

    fn udp_got(&self) -> bool {
        let mut buf = [0u8; 16];
        self.udp.recv(&mut buf).is_ok()
    }

    fn unix_got(&self) -> bool {
        self.unix.accept().is_ok()
    }
}

fn mode(sb: &Sandbox) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(sb.home.path().join("settings.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// A hook planted now, or within a moment (a writer left running would replant it).
fn hook_planted(project: &Path) -> bool {
    let hook = project.join(".git/hooks/pre-commit");
    for _ in 0..5 {
        if hook.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(60));
    }
    false
}

fn run(sandbox: &str) -> (Doors, std::path::PathBuf, String, Sandbox) {
    let llm = ScriptedLlm::start_in_background();
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env
        .push(("OPENAI_API_KEY".into(), "sk-probe-secret-key".into()));
    sb.env.push(("LETTA_SANDBOX".into(), sandbox.into()));
    let project = project_with_files(&sb);
    std::fs::create_dir_all(project.join(".git/hooks")).unwrap();
    sb.settings(serde_json::json!({}));
    let settings = sb.home.path().join("settings.json");
    std::fs::set_permissions(
        &settings,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let (doors, mut vars) = Doors::open();
    vars.push(("{HOME}", sb.home.path().display().to_string()));
    let commands: Vec<String> = PROBES.iter().map(|c| fill(c, "", &vars)).collect();
    let log = run_probes(&sb, &llm, &commands, &["--allowedTools", "Bash"]);
    (doors, project, log, sb)
}

#[test]
fn the_sandbox_closes_the_side_doors() {
    if letta::sandbox::landlock_abi().is_none() {
        eprintln!("skipped: this kernel has no Landlock");
        return;
    }
    let (doors, project, log, _sb) = run("on");
    assert!(!doors.udp_got(), "a datagram got out\n{log}");
    assert!(!doors.unix_got(), "a Unix socket was reached\n{log}");
    assert!(!hook_planted(&project), "a git hook was planted\n{log}");
    let environ = std::fs::read(project.join("environ.txt")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&environ).contains("sk-probe-secret-key"),
        "letta's environment was read"
    );
    assert!(
        !project.join("copied.db").exists(),
        "letta's database was read"
    );
    assert!(!project.join("typed").exists(), "TIOCSTI worked");
    assert!(
        !doors.dgram_got(),
        "a datagram reached a named Unix socket\n{log}"
    );
    let terminals = std::fs::read_to_string(project.join("terminals.txt")).unwrap_or_default();
    assert!(
        terminals.trim().is_empty(),
        "terminals were listed: {terminals}"
    );
    assert_eq!(
        mode(&_sb),
        0o600,
        "letta's settings were left readable to others"
    );
    let (doors, project, log, _sb) = run("off");
    let planted = hook_planted(&project);
    // The control's writer runs on unconfined: stop it before anything can fail.
    let _ = std::process::Command::new("pkill")
        .args(["-f", "echo evil > .git/hooks/pre-commit"])
        .status();
    assert!(doors.udp_got(), "control: UDP\n{log}");
    assert!(doors.unix_got(), "control: Unix socket\n{log}");
    assert!(planted, "control: the writer\n{log}");
    assert!(doors.dgram_got(), "control: the datagram\n{log}");
    assert_eq!(mode(&_sb), 0o644, "control: chmod");
    assert!(project.join("copied.db").exists(), "control: the database");
}

#[test]
fn a_background_command_cannot_leave_a_hook_behind() {
    if letta::sandbox::landlock_abi().is_none() {
        eprintln!("skipped: this kernel has no Landlock");
        return;
    }
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let project = project_with_files(&sb);
    std::fs::create_dir_all(project.join(".git/hooks")).unwrap();
    // Its own words: the side-door test's `pkill` of its control writer must not match it.
    let writer = "while :; do echo bg-planted > .git/hooks/pre-commit; sleep 0.05; done";
    let calls = vec![(
        "bg".to_string(),
        "Bash".to_string(),
        serde_json::json!({"command": writer, "run_in_background": true}).to_string(),
    )];
    let log = support::bin::calls_turn(&sb, &llm, calls, &["--allowedTools", "Bash"]);
    assert!(log.contains("done"), "{log}");
    // letta has exited: the writer went with it, and what it planted was undone.
    assert!(!hook_planted(&project), "{log}");
}
