//! Paths whose change would let a model grant itself more, or run code later: letta's own
//! settings, git hooks and config, and shell startup files. Writes there always ask, in every
//! mode but `unrestricted`, whatever the rules say.

use std::path::{Path, PathBuf};

/// Shell startup files under the home folder.
const RC_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".config/fish/config.fish",
];

/// The protected paths for a project in `cwd`, with letta's settings folder.
pub fn protected(cwd: &Path, settings_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut out = vec![
        cwd.join(".letta"),
        cwd.join(".git/hooks"),
        cwd.join(".git/config"),
    ];
    out.extend(settings_dir.map(Path::to_path_buf));
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        out.extend(RC_FILES.iter().map(|f| home.join(f)));
    }
    out
}

/// Whether `path` (absolute, real) is, or is inside, a protected path.
pub fn is_protected(path: &Path, cwd: &Path, settings_dir: Option<&Path>) -> bool {
    protected(&super::real(cwd), settings_dir.map(super::real).as_deref())
        .iter()
        .any(|p| path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letta_git_and_rc_files_are_protected() {
        let cwd = Path::new("/p");
        for p in [
            "/p/.letta/settings.local.json",
            "/p/.git/hooks/pre-commit",
            "/p/.git/config",
        ] {
            assert!(is_protected(Path::new(p), cwd, None), "{p}");
        }
        assert!(is_protected(
            Path::new("/cfg/letta/settings.json"),
            cwd,
            Some(Path::new("/cfg/letta"))
        ));
        assert!(!is_protected(Path::new("/p/src/main.rs"), cwd, None));
        assert!(!is_protected(Path::new("/p/.git/index"), cwd, None));
    }
}
