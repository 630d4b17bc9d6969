//! The `urne` command line: one module per subcommand.

pub mod bench_board;
pub mod serve;

use clap::{Parser, Subcommand};

/// urne: anonymous, verifiable elections.
#[derive(Debug, Parser)]
#[command(name = "urne", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands of `urne`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the board service.
    Serve(serve::ServeArgs),
    /// Measure durable appends and proof reads against a local board.
    BenchBoard(bench_board::BenchArgs),
}

/// A failed command, reported on stderr with a non-zero exit.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An invalid argument.
    #[error("{0}")]
    Usage(String),
    /// The service failed.
    #[error(transparent)]
    Serve(#[from] crate::server::ServeError),
    /// The benchmark failed.
    #[error("benchmark: {0}")]
    Bench(String),
    /// A local I/O failure (starting the runtime, a temporary directory).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::BenchBoard(args) => runtime.block_on(bench_board::run(args)),
    }
}
