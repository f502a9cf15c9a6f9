//! Paths a `Read(…)` deny rule names, so that searching tools leave them out: `Read(secrets/**)`
//! must hold for Grep over `.` and Glob as well as for Read itself.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// One deny pattern.
#[derive(Debug, Clone)]
struct Denied {
    matcher: GlobMatcher,
    absolute: bool,
    /// For `dir/**`: the folder itself.
    dir: Option<PathBuf>,
}

/// The denied read patterns of a session, matched as the permission rules match them.
#[derive(Debug, Clone, Default)]
pub struct DeniedReads {
    cwd: PathBuf,
    patterns: Vec<Denied>,
}

impl DeniedReads {
    /// From the patterns of `Read(…)` deny rules; a pattern that is not a valid glob (the
    /// rules were checked when loaded) is skipped.
    pub fn new(cwd: &Path, patterns: &[String]) -> Self {
        let patterns = patterns
            .iter()
            .filter_map(|p| {
                let g = GlobBuilder::new(p).literal_separator(true).build().ok()?;
                Some(Denied {
                    matcher: g.compile_matcher(),
                    absolute: Path::new(p).is_absolute(),
                    dir: p.strip_suffix("/**").map(PathBuf::from),
                })
            })
            .collect();
        Self {
            cwd: cwd.to_path_buf(),
            patterns,
        }
    }

    /// Whether reading `path` (absolute) is denied.
    pub fn denies(&self, path: &Path) -> bool {
        self.patterns.iter().any(|d| {
            if d.absolute {
                return d.matcher.is_match(path);
            }
            let Ok(rel) = path.strip_prefix(&self.cwd) else {
                return false;
            };
            d.matcher.is_match(rel) || d.dir.as_deref().is_some_and(|dir| rel.starts_with(dir))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_patterns() {
        let d = DeniedReads::new(
            Path::new("/p"),
            &["secrets/**".into(), "/etc/shadow".into(), "**/*.pem".into()],
        );
        assert!(d.denies(Path::new("/p/secrets/key")));
        assert!(d.denies(Path::new("/p/secrets")));
        assert!(d.denies(Path::new("/etc/shadow")));
        assert!(d.denies(Path::new("/p/a/b/c.pem")));
        assert!(!d.denies(Path::new("/p/src/main.rs")));
    }
}
