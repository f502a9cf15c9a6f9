//! Skills: folders with a `SKILL.md` (frontmatter `name` and `description`, then the
//! instructions) that teach the agent a procedure. Only names and descriptions go to the model
//! each time; the `Skill` tool loads a body when the model picks it. Found in the project
//! (`.agents/skills/`, `.letta/skills/`, `.claude/skills/`), the user's `skills/` folder, and
//! the binary. A malformed skill is listed with the reason, never skipped in silence.

mod tool;

pub use tool::SkillTool;

use std::path::{Path, PathBuf};

use crate::settings::frontmatter;

/// Skills shipped in the binary.
const BUNDLED: &[(&str, &str)] = &[(
    "creating-skills",
    include_str!("bundled/creating-skills.md"),
)];

/// Longest description sent to the model (every request carries them all).
const MAX_DESCRIPTION: usize = 1024;

/// Largest `SKILL.md` read.
const MAX_BYTES: u64 = 256 * 1024;

/// Where a skill was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Project(PathBuf),
    User(PathBuf),
    Bundled,
}

impl Source {
    pub fn label(&self) -> String {
        match self {
            Self::Project(p) => format!("project {}", p.display()),
            Self::User(p) => format!("user {}", p.display()),
            Self::Bundled => "bundled".into(),
        }
    }
}

/// One skill, or a `SKILL.md` that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    pub name: String,
    pub description: String,
    pub source: Source,
    /// The folder, for files beside `SKILL.md` (none for bundled skills).
    pub dir: Option<PathBuf>,
    pub body: String,
    /// `/NAME args` runs it.
    pub user_invocable: bool,
    /// Why it cannot be used; such a skill is listed but never offered.
    pub problem: Option<String>,
    /// A skill of the same name from a nearer source replaces this one.
    pub shadowed: bool,
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn read(text: &str, folder: &str, source: Source, dir: Option<PathBuf>) -> Skill {
    let mut s = Skill {
        name: folder.to_string(),
        description: String::new(),
        source,
        dir,
        body: String::new(),
        user_invocable: true,
        problem: None,
        shadowed: false,
    };
    match frontmatter::parse(text) {
        Err(e) => s.problem = Some(format!("SKILL.md: {e}")),
        Ok(d) => {
            s.body = d.body.trim().to_string();
            s.user_invocable = d.flag("user-invocable", true);
            match (d.text("name"), d.text("description")) {
                (None, _) => s.problem = Some("SKILL.md has no name".into()),
                (_, None) => s.problem = Some("SKILL.md has no description".into()),
                (Some(_), Some(desc)) if desc.chars().count() > MAX_DESCRIPTION => {
                    s.problem = Some(format!(
                        "its description has {} characters; at most {MAX_DESCRIPTION}",
                        desc.chars().count()
                    ));
                }
                (Some(n), Some(desc)) => {
                    s.description = desc.split_whitespace().collect::<Vec<_>>().join(" ");
                    if valid_name(&n) {
                        s.name = n;
                    } else {
                        s.problem = Some(format!(
                            "the name {n:?} must be lowercase letters, digits, - or _ (at most 64)"
                        ));
                    }
                }
            }
        }
    }
    s
}

fn scan(root: &Path, source: &dyn Fn(PathBuf) -> Source, out: &mut Vec<Skill>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    // A skill must really be in its folder: a link out of it could hand the model any file.
    let real_root = std::fs::canonicalize(root).ok();
    for dir in dirs {
        let file = dir.join("SKILL.md");
        let folder = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let inside = std::fs::canonicalize(&file)
            .ok()
            .zip(real_root.as_ref())
            .is_some_and(|(f, r)| f.starts_with(r));
        let text = match std::fs::metadata(&file) {
            Err(_) => continue,
            Ok(_) if !inside => {
                Err("SKILL.md leads outside its skills folder (a link); it is not read".to_string())
            }
            Ok(m) if !m.is_file() => Err("SKILL.md is not a regular file".to_string()),
            Ok(m) if m.len() > MAX_BYTES => {
                Err(format!("SKILL.md is {} bytes, over {MAX_BYTES}", m.len()))
            }
            Ok(_) => std::fs::read(&file)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| format!("SKILL.md cannot be read ({e})")),
        };
        let skill = match text {
            Ok(t) => read(&t, &folder, source(file.clone()), Some(dir.clone())),
            Err(e) => {
                let mut s = read("", &folder, source(file.clone()), Some(dir.clone()));
                s.problem = Some(e);
                s
            }
        };
        out.push(skill);
    }
}

/// Every skill, nearest source first: project folders, the user's, then bundled ones. A later
/// skill with a name already seen is marked shadowed.
pub fn discover(cwd: &Path, user_dir: Option<&Path>) -> Vec<Skill> {
    let mut out = Vec::new();
    for sub in [".agents/skills", ".letta/skills", ".claude/skills"] {
        scan(&cwd.join(sub), &Source::Project, &mut out);
    }
    if let Some(u) = user_dir {
        scan(u, &Source::User, &mut out);
    }
    for (folder, text) in BUNDLED {
        out.push(read(text, folder, Source::Bundled, None));
    }
    let mut seen = std::collections::HashSet::new();
    for s in &mut out {
        if s.problem.is_none() && !seen.insert(s.name.clone()) {
            s.shadowed = true;
        }
    }
    out
}

/// The user's skills folder: `skills/` beside the global settings.
pub fn user_dir() -> Option<PathBuf> {
    crate::settings::Paths::user_folder("skills")
}

/// The skill `/NAME args` runs: its body as a message for the agent, or `None` when `name`
/// is no usable, user-invocable skill.
pub fn invocation(cwd: &Path, line: &str) -> Option<String> {
    let (name, args) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(n, a)| (n, a.trim()));
    let all = discover(cwd, user_dir().as_deref());
    let s = usable(&all).find(|s| s.name == name && s.user_invocable)?;
    Some(format!(
        "The user ran the skill /{name}. Follow its instructions{}.\n\n{}",
        if args.is_empty() {
            String::new()
        } else {
            format!(" for: {args}")
        },
        tool::body_of(s, args)
    ))
}

/// The skills the model may load.
pub fn usable(all: &[Skill]) -> impl Iterator<Item = &Skill> {
    all.iter().filter(|s| s.problem.is_none() && !s.shadowed)
}

/// What `/skills` and `letta skills list` print.
pub fn listing(all: &[Skill]) -> String {
    let mut s = String::new();
    for k in all {
        let state = match (&k.problem, k.shadowed) {
            (Some(p), _) => format!("✗ {} — not usable: {p}", k.name),
            (None, true) => format!("○ {} — replaced by a nearer skill of the same name", k.name),
            (None, false) => format!("● {} — {}", k.name, k.description),
        };
        s.push_str(&format!("{state}\n    {}\n", k.source.label()));
    }
    if all.is_empty() {
        s.push_str("No skills.\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_project_user_and_bundled_skills_and_lists_broken_ones() {
        let proj = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let mk = |root: &Path, name: &str, text: &str| {
            std::fs::create_dir_all(root.join(name)).unwrap();
            std::fs::write(root.join(name).join("SKILL.md"), text).unwrap();
        };
        let skills = proj.path().join(".agents/skills");
        mk(
            &skills,
            "deploy",
            "---\nname: deploy\ndescription: Ship it.\n---\nRun make deploy.",
        );
        mk(&skills, "broken", "no frontmatter here");
        mk(
            &proj.path().join(".claude/skills"),
            "nodesc",
            "---\nname: nodesc\n---\n",
        );
        mk(
            user.path(),
            "deploy",
            "---\nname: deploy\ndescription: Old way.\n---\n",
        );
        let long = format!("---\nname: long\ndescription: {}\n---\n", "x".repeat(2000));
        mk(&skills, "long", &long);
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.md");
        std::fs::write(&secret, "---\nname: sec\ndescription: s\n---\nTOP").unwrap();
        std::fs::create_dir_all(skills.join("sec")).unwrap();
        std::os::unix::fs::symlink(&secret, skills.join("sec/SKILL.md")).unwrap();
        let all = discover(proj.path(), Some(user.path()));
        let names: Vec<_> = usable(&all).map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["deploy", "creating-skills"]);
        assert_eq!(usable(&all).next().unwrap().body, "Run make deploy.");
        let text = listing(&all);
        assert!(
            text.contains("✗ broken — not usable: SKILL.md: it does not start"),
            "{text}"
        );
        assert!(
            text.contains("✗ nodesc — not usable: SKILL.md has no description"),
            "{text}"
        );
        assert!(text.contains("○ deploy — replaced"), "{text}");
        assert!(
            text.contains("✗ long — not usable: its description has 2000"),
            "{text}"
        );
        assert!(
            text.contains("✗ sec — not usable: SKILL.md leads outside"),
            "{text}"
        );
        assert!(!all.iter().any(|s| s.body.contains("TOP")));
    }
}
