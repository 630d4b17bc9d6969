//! `urne`: the voting service and everyone's command line.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use urne_server::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service logs at info; client commands and the demo only warn, so
    // their own output stays readable. `URNE_LOG` overrides both.
    let default = match cli.command {
        cli::Command::Serve(_) | cli::Command::Witness(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("URNE_LOG").unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("urne: error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
