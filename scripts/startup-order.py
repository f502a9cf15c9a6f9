#!/usr/bin/env python3
"""Write scripts/startup.order: the functions letta runs from launch to its first prompt.

build.rs passes the list to lld in release builds, which places those functions together, so
start-up maps a few hundred KB of code instead of most of `.text`. Run it again after large
changes (names that no longer exist are ignored; new start-up code is merely not grouped):

    python3 scripts/startup-order.py        # from the repository root; needs valgrind

It builds the release binary with the linker's map (target/order/letta.map), launches it
under callgrind in a pseudo-terminal (a new conversation, resuming it, and a new one through
`letta server`, on a temporary LETTA_HOME), and names the functions whose code ran.
"""

import bisect
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "scripts", "startup.order")


def build():
    """The release binary as users get it, and the linker's map of where each function went."""
    map_path = os.path.join(ROOT, "target", "order", "letta.map")
    os.makedirs(os.path.dirname(map_path), exist_ok=True)
    env = dict(os.environ, LETTA_LINK_MAP=map_path)
    subprocess.run(["cargo", "build", "--release", "--bin", "letta"], cwd=ROOT, env=env, check=True)
    return os.path.join(ROOT, "target", "release", "letta"), map_path


def sections(map_path):
    """(start, end, symbol) of each function's own section (.text.SYMBOL), by address."""
    out = []
    with open(map_path, errors="replace") as f:
        for line in f:
            m = re.match(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\(\.text\.(\S+)\)$", line)
            if m:
                start, size = int(m.group(1), 16), int(m.group(2), 16)
                out.append((start, start + size, m.group(3)))
    out.sort()
    return out


def launch(argv, env, cwd):
    """Run argv in a 120x40 PTY until letta's prompt shows, then end it with SIGTERM."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    buf, deadline = b"", time.time() + 120
    while time.time() < deadline and "↑0 ↓0".encode() not in buf:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            buf += data
            if b"\x1b[6n" in data:  # a cursor position query
                os.write(fd, b"\x1b[40;1R")
    if "↑0 ↓0".encode() not in buf:
        sys.exit("letta did not show its prompt:\n" + buf[-2000:].decode(errors="replace"))
    time.sleep(1.5)  # what start-up does just after the first frame
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for p in children.stdout.split() + [str(pid)]:
        try:
            os.kill(int(p), signal.SIGTERM)
        except OSError:
            pass
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        try:
            if ready and not os.read(fd, 65536):
                break
        except OSError:
            break
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            break


def addresses(path, binary):
    """Addresses of the instructions of `binary` that ran, from a callgrind --dump-instr file."""
    objs, ob, addr, out = {}, None, 0, set()
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            # Object names are given once, at their first use in ob= or cob=.
            m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, ident, name = m.groups()
                if name is not None:
                    objs[ident] = name
                if kind == "ob":
                    ob = objs.get(ident)
                continue
            # A cost line: its first field is the address, absolute or relative to the last.
            m = re.match(r"^(0x[0-9a-f]+|[+-]\d+|\*)\s", line)
            if not m:
                continue
            tok = m.group(1)
            if tok.startswith("0x"):
                addr = int(tok, 16)
            elif tok != "*":
                addr += int(tok)
            if ob == binary:
                out.add(addr)
    return out


def symbols(addrs, secs):
    """The functions holding `addrs`, in address order."""
    starts = [s[0] for s in secs]
    found = []
    for a in sorted(addrs):
        i = bisect.bisect_right(starts, a) - 1
        if i >= 0 and a < secs[i][1]:
            found.append(secs[i][2])
    return found


def main():
    binary, map_path = build()
    secs = sections(map_path)
    valgrind = shutil.which("valgrind") or sys.exit("valgrind is needed")
    with tempfile.TemporaryDirectory() as tmp:
        home, proj = os.path.join(tmp, "home"), os.path.join(tmp, "proj")
        os.makedirs(home)
        os.makedirs(proj)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "TERM": "xterm-256color",
            "LETTA_HOME": home,
            "OPENAI_API_KEY": "sk-order",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        }
        # The remote backend's start too, against `letta server` on the same home.
        server = subprocess.Popen([binary, "server", "--port", "0"], env=env, cwd=proj,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = server.stdout.readline().strip().rsplit(" ", 1)[-1]
        remote = dict(env, LETTA_BASE_URL=url)
        seen, order = set(), []
        runs = [(["--new", "-m", "openai/gpt-test"], env), ([], env), (["--new"], remote)]
        try:
            for i, (args, run_env) in enumerate(runs):
                out = os.path.join(tmp, f"cg.{i}")
                argv = [valgrind, "--tool=callgrind", "--dump-instr=yes",
                        f"--callgrind-out-file={out}", binary] + args
                launch(argv, run_env, proj)
                for name in symbols(addresses(out, binary), secs):
                    if name and name not in seen:
                        seen.add(name)
                        order.append(name)
        finally:
            server.terminate()
            server.wait()
    with open(OUT, "w") as f:
        f.write("\n".join(order) + "\n")
    print(f"{len(order)} functions written to {OUT}")


if __name__ == "__main__":
    main()
