//! The `urne` command line: one module per subcommand or role.

pub mod admin;
pub mod auditor;
pub mod bench_board;
pub mod bench_election;
pub mod config;
pub mod export;
pub mod failure;
pub mod lottery;
pub mod output;
pub mod results;
pub mod serve;
pub mod trustee;
pub mod voter;
pub mod witness;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use config::Config;
pub use failure::Failure;

use crate::client::Client;

/// urne: anonymous, verifiable elections.
#[derive(Debug, Parser)]
#[command(name = "urne", version, about)]
pub struct Cli {
    /// Server URL, e.g. http://127.0.0.1:8080 [default: from the config file]
    #[arg(long, global = true, env = "URNE_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// TOML file with defaults: server, election, organiser_token, wallet
    #[arg(long, global = true, env = "URNE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Measure the election routes under load: enrolment, issuance, casts, proofs.
    BenchElection(bench_election::BenchElectionArgs),
    /// Organiser: create and run an election.
    Admin(admin::AdminCommand),
    /// Trustee: keys, key generation ceremony, decryption.
    #[command(subcommand)]
    Trustee(trustee::TrusteeCommand),
    /// Voter: enrol, obtain a credential, vote, check the receipt.
    Voter(voter::VoterArgs),
    /// Lottery contributor: keys, commit, reveal.
    #[command(subcommand)]
    Lottery(lottery::LotteryCommand),
    /// Print the results: every candidate's approvals, the elected and drawn seats, parity.
    Results(results::ResultsArgs),
    /// Auditor: verify an export and post a signed attestation.
    #[command(subcommand)]
    Auditor(auditor::AuditorCommand),
    /// Run a whole election against a local server, as separate users would.
    Demo(crate::demo::DemoArgs),
    /// Write an election's export file (from --server, or a stopped server's --data).
    Export(export::ExportArgs),
    /// Witness: cosign boards' checkpoints (keygen, serve).
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
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
    /// A client command failed.
    #[error("{0}")]
    Failed(#[from] Failure),
}

impl CliError {
    /// What to try next, if known.
    pub fn hint(&self) -> Option<&str> {
        match self {
            CliError::Failed(f) => f.hint.as_deref(),
            _ => None,
        }
    }
}

/// The election to act on.
#[derive(Debug, Clone, clap::Args)]
pub struct ElectionArg {
    /// Election id, 64 hex digits [default: from the config file, or the
    /// server's only election]
    #[arg(long, value_name = "ID")]
    pub election: Option<String>,
}

/// What every client command gets: the effective configuration.
#[derive(Debug, Clone)]
pub struct Context {
    /// Configuration file values overridden by flags.
    pub config: Config,
}

impl Context {
    /// A client of the configured server.
    pub fn client(&self) -> Result<Client, Failure> {
        let url = self.config.server.clone().ok_or_else(|| {
            Failure::new(
                "no server given",
                "pass --server URL or set `server` in the config file",
            )
        })?;
        Ok(Client::new(&url)?.with_organiser_token(self.config.organiser_token.clone()))
    }

    /// The election to act on: `--election`, the config file's, or the
    /// server's only election.
    pub async fn election(&self, client: &Client, arg: &ElectionArg) -> Result<[u8; 32], Failure> {
        let text = match arg
            .election
            .clone()
            .or_else(|| self.config.election.clone())
        {
            Some(t) => t,
            None => {
                let list = client.elections().await?;
                match list.as_slice() {
                    [one] => one.clone(),
                    [] => {
                        return Err(Failure::new(
                            "the server has no election",
                            "create one with `urne admin election create`",
                        ))
                    }
                    _ => {
                        return Err(Failure::new(
                            "the server has several elections",
                            "pass --election ID",
                        ))
                    }
                }
            }
        };
        parse_hex32(&text, "election id")
    }
}

/// Parses 64 hex digits.
pub fn parse_hex32(text: &str, what: &str) -> Result<[u8; 32], Failure> {
    urne_crypto::text::decode_hex_array(text.trim()).map_err(|_| {
        Failure::new(
            format!("{what} {text:?} is not 64 lowercase hex digits"),
            "copy the value exactly as it was printed (digits 0-9 and a-f only)",
        )
    })
}

/// Parses a hex value of any length.
pub fn parse_hex(text: &str, what: &str) -> Result<Vec<u8>, Failure> {
    urne_crypto::text::decode_hex(text.trim()).map_err(|_| {
        Failure::new(
            format!("{what} is not lowercase hex"),
            "give the value as hexadecimal digits 0-9 and a-f (lowercase)",
        )
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if cli.server.is_some() {
        config.server = cli.server.clone();
    }
    if matches!(cli.command, Command::Demo(_)) && cli.server.is_some() {
        return Err(CliError::Usage(
            "urne demo runs its own server on the loopback interface and takes no --server \
             (nor URNE_SERVER): drop it, or use the role commands against your server"
                .into(),
        ));
    }
    let ctx = Context { config };
    let done: Result<(), Failure> = match cli.command {
        Command::Serve(args) => return runtime.block_on(serve::run(args)),
        Command::BenchBoard(args) => return runtime.block_on(bench_board::run(args)),
        Command::BenchElection(args) => return runtime.block_on(bench_election::run(args)),
        Command::Admin(c) => runtime.block_on(admin::run(&ctx, c)),
        Command::Trustee(c) => runtime.block_on(trustee::run(&ctx, c)),
        Command::Voter(a) => runtime.block_on(voter::run(&ctx, a)),
        Command::Lottery(c) => runtime.block_on(lottery::run(&ctx, c)),
        Command::Results(a) => runtime.block_on(results::run(&ctx, &a)),
        Command::Auditor(c) => runtime.block_on(auditor::run(&ctx, c)),
        Command::Demo(a) => runtime.block_on(crate::demo::run(a)),
        Command::Export(a) => runtime.block_on(export::run(&ctx, a)),
        Command::Witness(c) => return runtime.block_on(witness::run(c)),
    };
    Ok(done?)
}
