//! The real `letta` binary in a pseudo-terminal, its screen kept by a vt100 parser.
//! Cursor-position queries (`ESC [6n`) are answered from the parser, as a terminal would.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Shared {
    parser: vt100::Parser,
    raw: Vec<u8>,
    eof: bool,
}

/// A running `letta` in a PTY.
pub struct Pty {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

/// How long any wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

impl Pty {
    /// Start `program args` with `env` in `cwd` on a `cols`×`rows` terminal.
    pub fn spawn(
        program: &str,
        args: &[&str],
        cwd: &std::path::Path,
        env: &[(String, String)],
        cols: u16,
        rows: u16,
    ) -> Self {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env_clear();
        for k in ["PATH", "HOME"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer: Arc<Mutex<Box<dyn Write + Send>>> =
            Arc::new(Mutex::new(pair.master.take_writer().unwrap()));
        let shared = Arc::new((
            Mutex::new(Shared {
                parser: vt100::Parser::new(
                    std::num::NonZeroU16::new(rows).unwrap(),
                    std::num::NonZeroU16::new(cols).unwrap(),
                    5000,
                ),
                raw: Vec::new(),
                eof: false,
            }),
            Condvar::new(),
        ));
        {
            let (shared, writer) = (shared.clone(), writer.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut tail: Vec<u8> = Vec::new();
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let (lock, cv) = &*shared;
                    let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
                    s.parser.process(&buf[..n]);
                    s.raw.extend_from_slice(&buf[..n]);
                    tail.extend_from_slice(&buf[..n]);
                    let queries = tail.windows(4).filter(|w| w == b"\x1b[6n").count();
                    if tail.len() > 3 {
                        tail.drain(..tail.len() - 3);
                    }
                    if queries > 0 {
                        let (row, col) = s.parser.screen().cursor_position();
                        let answer = format!("\x1b[{};{}R", row + 1, col + 1);
                        let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
                        for _ in 0..queries {
                            let _ = w.write_all(answer.as_bytes());
                        }
                        let _ = w.flush();
                    }
                    cv.notify_all();
                }
                let (lock, cv) = &*shared;
                lock.lock().unwrap_or_else(|e| e.into_inner()).eof = true;
                cv.notify_all();
            });
        }
        Self {
            shared,
            writer,
            child,
            _master: pair.master,
        }
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .parser
            .screen()
            .contents()
    }

    /// Everything written so far, as text (scrolled-off lines included).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.shared.0.lock().unwrap_or_else(|e| e.into_inner()).raw)
            .into_owned()
    }

    /// Scrollback plus the screen, as text.
    pub fn transcript(&self) -> String {
        let mut s = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        let screen = s.parser.screen_mut();
        let mut lines = Vec::new();
        let total = screen.scrollback_len();
        for off in (1..=total).rev() {
            screen.set_scrollback(off);
            let first = screen.contents().lines().next().unwrap_or("").to_string();
            lines.push(first);
        }
        screen.set_scrollback(0);
        lines.push(screen.contents());
        lines.join("\n")
    }

    /// Wait until `cond(screen)` holds; panics with the screen after [`TIMEOUT`].
    pub fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let text = s.parser.screen().contents();
            if cond(&text) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || s.eof {
                if let Some(path) = std::env::var_os("LETTA_PTY_DUMP") {
                    let _ = std::fs::write(path, &s.raw);
                }
                panic!("timed out waiting for {what}; screen:\n{text}");
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
    }

    /// Wait until `cond(everything written so far)` holds.
    pub fn wait_for_raw(&self, what: &str, cond: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if cond(&String::from_utf8_lossy(&s.raw)) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || s.eof {
                panic!(
                    "timed out waiting for {what}; screen:\n{}",
                    s.parser.screen().contents()
                );
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
    }

    /// Resize the terminal (the program gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) {
        // Both under the lock, so no output is read at one size and shown at the other.
        let mut s = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        s.parser.screen_mut().set_size(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
        );
        self._master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    }

    /// Wait for `needle` on screen.
    pub fn wait_text(&self, needle: &str) {
        self.wait_for(needle, |s| s.contains(needle));
    }

    /// Type bytes.
    pub fn send(&self, bytes: &str) {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(bytes.as_bytes()).unwrap();
        w.flush().unwrap();
    }

    /// Wait for the process to exit; its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                // Let the reader drain what was written before the exit.
                let (lock, cv) = &*self.shared;
                let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !s.eof && Instant::now() < deadline {
                    s = cv.wait_timeout(s, Duration::from_millis(200)).unwrap().0;
                }
                return st.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit; screen:\n{}",
                self.screen()
            );
            let (lock, cv) = &*self.shared;
            let s = lock.lock().unwrap_or_else(|e| e.into_inner());
            let _ = cv.wait_timeout(s, Duration::from_millis(50)).unwrap();
        }
    }

    /// The PTY's descriptor, to read the terminal mode the program left.
    pub fn master_fd(&self) -> i32 {
        self._master.as_raw_fd().unwrap_or(-1)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
