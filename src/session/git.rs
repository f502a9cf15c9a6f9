//! What the session reminder says about git: the branch, the changed files and the last
//! commits, asked of git so that the repository's own config cannot run anything.

use std::path::Path;
use std::process::Command;

/// Changed files listed in the session reminder.
const DIRTY_CAP: usize = 20;

/// How long one git command may take for the reminder.
const GIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// One git command's output, or `None`. The repository's own config cannot run anything
/// (no fsmonitor, hooks or external diff), and a slow repository is given up on.
fn git_output(cwd: &Path, args: &[&str]) -> Option<String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(cwd)
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "diff.external=",
            "-c",
            "core.untrackedCache=false",
            "--no-pager",
        ])
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(&mut out, 1 << 20), &mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + GIT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let bytes = reader.join().ok()?;
    status
        .success()
        .then(|| String::from_utf8_lossy(&bytes).trim_end().to_string())
}

/// The git facts the session reminder gives: branch, changed files, last commits.
pub fn facts(cwd: &Path) -> Option<String> {
    // Content filters (`filter.X.clean`…) in the repository's config would run on a status:
    // each one configured is blanked for these commands.
    let filters = git_output(
        cwd,
        &["config", "--name-only", "--get-regexp", r"^filter\."],
    )
    .unwrap_or_default();
    let blanked: Vec<String> = filters
        .lines()
        .filter(|k| !k.is_empty() && k.chars().all(|c| !c.is_whitespace() && c != '='))
        .flat_map(|k| ["-c".to_string(), format!("{k}=")])
        .collect();
    let git = |args: &[&str]| {
        let all: Vec<&str> = blanked
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect();
        git_output(cwd, &all)
    };
    git(&["rev-parse", "--is-inside-work-tree"]).filter(|o| o == "true")?;
    let branch = git(&["symbolic-ref", "--short", "-q", "HEAD"])
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]).map(|c| format!("(detached at {c})")))
        .unwrap_or_else(|| "(unknown)".into());
    let mut out = format!("- Git repository: yes, on branch {branch}\n");
    let status = git(&["status", "--porcelain"]).unwrap_or_default();
    let dirty: Vec<&str> = status.lines().collect();
    if dirty.is_empty() {
        out.push_str("- Working tree: clean\n");
    } else {
        out.push_str(&format!("- Changed files ({}):\n", dirty.len()));
        for l in dirty.iter().take(DIRTY_CAP) {
            out.push_str(&format!("  {l}\n"));
        }
        if dirty.len() > DIRTY_CAP {
            out.push_str(&format!("  … and {} more\n", dirty.len() - DIRTY_CAP));
        }
    }
    if let Some(log) = git(&["log", "--oneline", "-5", "--no-decorate"]).filter(|l| !l.is_empty()) {
        out.push_str("- Recent commits:\n");
        for l in log.lines() {
            out.push_str(&format!("  {l}\n"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run git in `d` with a committer set; whether it succeeded.
    fn git(d: &Path, args: &[&str]) -> bool {
        Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@e"])
            .args(args)
            .current_dir(d)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// A new repository on branch `trunk`; `None` where git is missing.
    fn repo() -> Option<tempfile::TempDir> {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "trunk"]).then_some(dir)
    }

    #[test]
    fn a_repository_without_commits_is_still_one() {
        let Some(dir) = repo() else { return };
        let facts = facts(dir.path()).unwrap();
        assert!(facts.contains("on branch trunk"), "{facts}");
    }

    #[test]
    fn a_repositorys_filters_do_not_run() {
        let Some(dir) = repo() else { return };
        let d = dir.path();
        std::fs::write(d.join(".gitattributes"), "*.txt filter=evil\n").unwrap();
        std::fs::write(d.join("a.txt"), "hi\n").unwrap();
        let mark = d.join("PWNED");
        let filter = format!("touch {}; cat", mark.display());
        assert!(git(d, &["config", "filter.evil.clean", &filter]));
        assert!(git(d, &["add", "."]) && git(d, &["commit", "-qm", "x"]));
        let _ = std::fs::remove_file(&mark);
        // Same size, same second: git must look at the content, through the filter.
        std::fs::write(d.join("a.txt"), "ho\n").unwrap();
        let facts = facts(d).unwrap();
        assert!(facts.contains("M a.txt"), "{facts}");
        assert!(!mark.exists(), "the repository's clean filter ran");
    }

    #[test]
    fn a_repositorys_fsmonitor_does_not_run() {
        let Some(dir) = repo() else { return };
        let d = dir.path();
        std::fs::write(d.join("a.txt"), "hi\n").unwrap();
        assert!(git(d, &["add", "."]) && git(d, &["commit", "-qm", "x"]));
        let mark = d.join("PWNED");
        let hook = format!("touch {}; false", mark.display());
        assert!(git(d, &["config", "core.fsmonitor", &hook]));
        let f = facts(d).unwrap();
        assert!(f.contains("Working tree: clean"), "{f}");
        assert!(!mark.exists(), "the repository's fsmonitor ran");
    }
}
