//! `urne lottery`: a contributor's keys, commitment and reveal (the beacon and the draw are the organiser's `urne admin beacon` and `urne admin seats`).

use std::path::PathBuf;

use clap::Subcommand;
use urne_crypto::encoding::Canonical;
use urne_crypto::lottery;

use super::admin::{self, BeaconArgs};
use super::{Context, ElectionArg, Failure};
use crate::client::keys::KeyFile;
use crate::client::{board, contributor, Client};

/// Lottery commands.
#[derive(Debug, Subcommand)]
pub enum LotteryCommand {
    /// Generate a contributor key file (mode 0600) and print its public key for the manifest.
    Keygen {
        /// Where to write the key file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Your display name in the manifest.
        #[arg(long, default_value = "contributor")]
        name: String,
    },
    /// Commit to a fresh secret (kept in the key file) before the vote closes.
    Commit {
        /// Your key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
    /// Reveal your committed secret (after the close, before the reveal window closes).
    Reveal {
        /// Your key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
    /// Same as `urne admin beacon` (kept as an alias).
    #[command(hide = true)]
    Beacon {
        /// Organiser bearer token.
        #[arg(
            long,
            env = "URNE_ORGANISER_TOKEN",
            value_name = "TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
        /// Beacon value and election.
        #[command(flatten)]
        args: BeaconArgs,
    },
    /// Same as `urne admin seats`, then `urne results` (kept as an alias).
    #[command(hide = true)]
    Draw {
        /// Organiser bearer token.
        #[arg(
            long,
            env = "URNE_ORGANISER_TOKEN",
            value_name = "TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
}

/// Runs a lottery command.
pub async fn run(ctx: &Context, cmd: LotteryCommand) -> Result<(), Failure> {
    match cmd {
        LotteryCommand::Keygen { out, name } => super::trustee::keygen(&out, "contributor", &name),
        LotteryCommand::Commit { key, election } => {
            let client = ctx.client()?;
            let id = ctx.election(&client, &election).await?;
            let index = commit(&client, &id, &key).await?;
            println!(
                "contributor {index}: commitment posted; keep {} until the reveal",
                key.display()
            );
            Ok(())
        }
        LotteryCommand::Reveal { key, election } => {
            let client = ctx.client()?;
            let id = ctx.election(&client, &election).await?;
            let index = reveal(&client, &id, &key).await?;
            println!("contributor {index}: secret revealed");
            Ok(())
        }
        LotteryCommand::Beacon { token, args } => {
            let client = ctx
                .client()?
                .with_organiser_token(token.or_else(|| ctx.config.organiser_token.clone()));
            admin::beacon(ctx, &client, &args).await
        }
        LotteryCommand::Draw { token, election } => {
            let client = ctx
                .client()?
                .with_organiser_token(token.or_else(|| ctx.config.organiser_token.clone()));
            let id = ctx.election(&client, &election).await?;
            let entries = admin::admin_action(&client, &id, "seats").await?;
            println!(
                "draw done: {} entries (seed and seat results)",
                entries.len()
            );
            let args = super::results::ResultsArgs {
                election,
                format: super::results::Format::Table,
            };
            super::results::run(ctx, &args).await
        }
    }
}

/// Commits to a fresh secret: the secret is saved in the key file before the
/// commitment is sent. Returns the contributor index.
pub async fn commit(
    client: &Client,
    election: &[u8; 32],
    path: &std::path::Path,
) -> Result<u32, Failure> {
    let mut keys = KeyFile::load(path, "contributor")?;
    let manifest = board::manifest(client, election).await?;
    let signing = keys.signing()?;
    let index = contributor::index(&manifest, &signing)
        .map_err(|e| Failure::new(e.to_string(), "check --key and --election"))?;
    if keys.lottery_secret(election)?.is_some() {
        return Err(Failure::new(
            "this key file already holds a secret for this election",
            "a contributor commits once; reveal it with `urne lottery reveal` after the close",
        ));
    }
    let secret = lottery::fresh_secret();
    keys.set_lottery_secret(election, &secret);
    keys.save(path)?;
    let entry = contributor::commit_entry(&manifest, &signing, &secret)
        .map_err(|e| Failure::plain(e.to_string()))?;
    client.post_entry(election, &entry.to_bytes()).await?;
    Ok(index)
}

/// Reveals the committed secret. Returns the contributor index.
pub async fn reveal(
    client: &Client,
    election: &[u8; 32],
    path: &std::path::Path,
) -> Result<u32, Failure> {
    let keys = KeyFile::load(path, "contributor")?;
    let manifest = board::manifest(client, election).await?;
    let signing = keys.signing()?;
    let index = contributor::index(&manifest, &signing)
        .map_err(|e| Failure::new(e.to_string(), "check --key and --election"))?;
    let secret = keys.lottery_secret(election)?.ok_or_else(|| {
        Failure::new(
            "this key file holds no committed secret for this election",
            "only a contributor who committed can reveal",
        )
    })?;
    let entry = contributor::reveal_entry(&manifest, &signing, &secret)
        .map_err(|e| Failure::plain(e.to_string()))?;
    client.post_entry(election, &entry.to_bytes()).await?;
    Ok(index)
}
