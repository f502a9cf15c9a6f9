//! The built-in tools as [`Tool`]s: Claude Code's names and schemas, run by the functions in
//! `bash.rs`, `files.rs`, `search.rs` and `todo.rs`.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::tool::{Access, CallView, Effect, PermissionClass, Tool, blocking, relative, str_arg};
use super::{ToolContext, ToolOutput, bash, files, read, search, todo};
use crate::protocol::ClientTool;

fn view(verb: &str, arg: String, effect: Effect) -> CallView {
    CallView {
        verb: verb.to_string(),
        arg,
        effect,
    }
}

/// The (old, new) pairs of one `Edit`-shaped object.
fn edit_pair(e: &Value) -> (String, String) {
    (
        str_arg(e, "old_string").to_string(),
        str_arg(e, "new_string").to_string(),
    )
}

/// A synchronous tool: its name, schema, class, rule family, how it shows, and its function.
macro_rules! sync_tool {
    ($ty:ident, $name:literal, $def:path, $class:ident, $family:literal, $run:path, $describe:expr) => {
        #[doc = concat!("The `", $name, "` tool.")]
        pub struct $ty;

        #[async_trait]
        impl Tool for $ty {
            fn name(&self) -> &str {
                $name
            }
            fn definition(&self) -> ClientTool {
                $def()
            }
            fn class(&self) -> PermissionClass {
                PermissionClass::$class
            }
            fn rule_family(&self) -> &str {
                $family
            }
            fn describe(&self, args: &Value, cwd: &Path) -> CallView {
                let f: fn(&Value, &Path) -> CallView = $describe;
                f(args, cwd)
            }
            async fn run(
                &self,
                ctx: Arc<ToolContext>,
                args: Value,
                _cancel: CancellationToken,
            ) -> ToolOutput {
                blocking(ctx, args, $name, $run).await
            }
        }
    };
}

sync_tool!(
    Read,
    "Read",
    files::read_definition,
    Read,
    "Read",
    read::read,
    |a, cwd| {
        view(
            "Read",
            relative(str_arg(a, "file_path"), cwd),
            Effect::Output,
        )
    }
);
sync_tool!(
    Ls,
    "LS",
    files::ls_definition,
    Read,
    "Read",
    files::ls,
    |a, cwd| { view("LS", relative(str_arg(a, "path"), cwd), Effect::Output) }
);
sync_tool!(
    Glob,
    "Glob",
    search::glob_definition,
    Read,
    "Read",
    search::glob,
    |a, _| { view("Glob", str_arg(a, "pattern").to_string(), Effect::Output) }
);
sync_tool!(
    Grep,
    "Grep",
    search::grep_definition,
    Read,
    "Read",
    search::grep_tool,
    |a, _| { view("Grep", str_arg(a, "pattern").to_string(), Effect::Output) }
);
sync_tool!(
    Write,
    "Write",
    files::write_definition,
    Write,
    "Edit",
    files::write,
    |a, cwd| {
        let path = str_arg(a, "file_path").to_string();
        let content = str_arg(a, "content").to_string();
        view(
            "Write",
            relative(&path, cwd),
            Effect::Writes { path, content },
        )
    }
);
sync_tool!(
    Edit,
    "Edit",
    files::edit_definition,
    Write,
    "Edit",
    files::edit,
    |a, cwd| {
        let path = str_arg(a, "file_path").to_string();
        let edits = vec![edit_pair(a)];
        view(
            "Update",
            relative(&path, cwd),
            Effect::Edits { path, edits },
        )
    }
);
sync_tool!(
    MultiEdit,
    "MultiEdit",
    files::multi_edit_definition,
    Write,
    "Edit",
    files::multi_edit,
    |a, cwd| {
        let path = str_arg(a, "file_path").to_string();
        let edits = a
            .get("edits")
            .and_then(Value::as_array)
            .map(|l| l.iter().map(edit_pair).collect())
            .unwrap_or_default();
        view(
            "Update",
            relative(&path, cwd),
            Effect::Edits { path, edits },
        )
    }
);
sync_tool!(
    TodoWrite,
    "TodoWrite",
    todo::definition,
    Read,
    "TodoWrite",
    todo::write,
    |_, _| { view("Update Todos", String::new(), Effect::Todos) }
);

/// The `Bash` tool.
pub struct Bash;

#[async_trait]
impl Tool for Bash {
    fn name(&self) -> &'static str {
        "Bash"
    }
    fn definition(&self) -> ClientTool {
        bash::definition()
    }
    fn class(&self) -> PermissionClass {
        PermissionClass::Execute
    }
    fn access(&self, _ctx: &ToolContext, args: &Value) -> Access {
        Access {
            class: PermissionClass::Execute,
            paths: Vec::new(),
            command: Some(str_arg(args, "command").to_string()),
        }
    }
    fn describe(&self, args: &Value, _cwd: &Path) -> CallView {
        let command = str_arg(args, "command").to_string();
        view("Bash", command.clone(), Effect::Runs { command })
    }
    async fn run(
        &self,
        ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
    ) -> ToolOutput {
        bash::run(&ctx, &args, &cancel).await
    }
}

/// Every built-in tool, in the order the model sees them.
pub static BUILTIN: [&dyn Tool; 10] = [
    &Bash,
    &Read,
    &Write,
    &Edit,
    &MultiEdit,
    &Glob,
    &Grep,
    &Ls,
    &TodoWrite,
    &super::plan::ExitPlanMode,
];
