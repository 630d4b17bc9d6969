//! Everyone's command line: organisers, trustees, voters, lottery
//! contributors and auditors, plus `urne demo`.

pub mod admin;
pub mod auditor;
pub mod config;
pub mod error;
pub mod lottery;
pub mod output;
pub mod trustee;
pub mod voter;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use config::Config;
pub use error::CliError;

use crate::client::Client;

/// urne: anonymous, verifiable elections for pseudonymous organisations.
#[derive(Debug, Parser)]
#[command(name = "urne", version, about, propagate_version = true)]
pub struct Cli {
    /// Server URL, e.g. http://127.0.0.1:8080 [default: from the config file]
    #[arg(long, global = true, env = "URNE_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// TOML file with defaults: server, election, organiser_token, wallet
    #[arg(long, global = true, env = "URNE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands, by role.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Organiser: create and run an election.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Trustee: keys, key generation ceremony, decryption.
    #[command(subcommand)]
    Trustee(trustee::TrusteeCommand),
    /// Voter: enrol, obtain a credential, vote, check the receipt.
    Voter(voter::VoterArgs),
    /// Lottery contributor: commit, reveal; the beacon and the draw.
    #[command(subcommand)]
    Lottery(lottery::LotteryCommand),
    /// Print the assembly of each constituency.
    Results(ElectionArg),
    /// Auditor: verify an export and post a signed attestation.
    #[command(subcommand)]
    Auditor(auditor::AuditorCommand),
    /// Run a whole election against a local server, as separate users would.
    Demo(crate::demo::DemoArgs),
}

/// The election to act on.
#[derive(Debug, Clone, clap::Args)]
pub struct ElectionArg {
    /// Election id, 64 hex digits [default: from the config file, or the
    /// server's only election]
    #[arg(long, value_name = "ID")]
    pub election: Option<String>,
}

/// What every command gets: the configuration and a client.
pub struct Context {
    /// Effective configuration (file and flags).
    pub config: Config,
    /// Path of the configuration file, if any.
    pub config_path: Option<PathBuf>,
}

impl Context {
    /// A client of the configured server.
    pub fn client(&self) -> Result<Client, CliError> {
        let url = self.config.server.clone().ok_or_else(|| {
            CliError::new("no server given", "pass --server URL or set `server` in the config file")
        })?;
        Ok(Client::new(&url)?.with_organiser_token(self.config.organiser_token.clone()))
    }

    /// The election to act on: `--election`, the config file's, or the
    /// server's only election.
    pub async fn election(&self, client: &Client, arg: &ElectionArg) -> Result<[u8; 32], CliError> {
        let text = match arg.election.clone().or_else(|| self.config.election.clone()) {
            Some(t) => t,
            None => {
                let list = client.elections().await?;
                match list.as_slice() {
                    [one] => one.clone(),
                    [] => return Err(CliError::new("the server has no election", "create one with `urne admin election create`")),
                    _ => return Err(CliError::new("the server has several elections", "pass --election ID")),
                }
            }
        };
        parse_hex32(&text, "election id")
    }
}

/// Parses 64 hex digits.
pub fn parse_hex32(text: &str, what: &str) -> Result<[u8; 32], CliError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out)
        .map_err(|_| CliError::new(format!("{what} {text:?} is not 64 hex digits"), "copy the id exactly"))?;
    Ok(out)
}

/// Parses a hex value of any length.
pub fn parse_hex(text: &str, what: &str) -> Result<Vec<u8>, CliError> {
    hex::decode(text.trim())
        .map_err(|_| CliError::new(format!("{what} is not hex"), "give the value as hexadecimal digits"))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("urne: error: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if cli.server.is_some() {
        config.server = cli.server.clone();
    }
    let ctx = Context { config, config_path: cli.config.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::plain(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        match cli.command {
            Command::Admin(c) => admin::run(&ctx, c).await,
            Command::Trustee(c) => trustee::run(&ctx, c).await,
            Command::Voter(a) => voter::run(&ctx, a).await,
            Command::Lottery(c) => lottery::run(&ctx, c).await,
            Command::Results(a) => lottery::results(&ctx, &a).await,
            Command::Auditor(c) => auditor::run(&ctx, c).await,
            Command::Demo(a) => crate::demo::run(a).await,
        }
    })
}
