//! `urne demo`: a whole election against a real in-process server, driven
//! through the HTTP API exactly as separate users would, each with their own keys.

use std::path::PathBuf;

use crate::cli::Failure;

/// Size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// 3 constituencies, ~300 voters, 3-of-5 trustees.
    Small,
    /// The reference case: ~1,000 candidates over 13 constituencies, 10,000 voters.
    M6r,
}

/// Arguments of `urne demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Size of the election.
    #[arg(long, value_enum, default_value = "small")]
    pub preset: Preset,
    /// Seed of every synthetic choice and key (reproducible runs).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep everything in DIR: the server's data in DIR/data, the export in DIR/export.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs the demo.
pub async fn run(_args: DemoArgs) -> Result<(), Failure> {
    Err(Failure::plain("not yet"))
}
