//! The `letta` binary: parse flags, then hand over to the library.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use letta::app::cli::{Cli, Command};

fn main() -> ExitCode {
    // The sandbox helper: nothing but the restriction and an exec, before any other work.
    let mut args = std::env::args_os();
    if args.nth(1).as_deref() == Some(std::ffi::OsStr::new(letta::sandbox::HELPER_ARG)) {
        return letta::sandbox::helper::run(args);
    }
    let cli = Cli::parse();
    if let Err(reason) = cli.session.validate() {
        eprintln!("error: {}", letta::ui::safe_text::neutralise(&reason));
        return ExitCode::from(2);
    }
    if let Some(Command::Completions { shell }) = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "letta", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    match letta::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A server's or provider's text may carry control sequences.
            eprintln!(
                "error: {}",
                letta::ui::safe_text::neutralise(&format!("{e:#}"))
            );
            ExitCode::from(1)
        }
    }
}
