//! `urne auditor`: verify an export, then sign and post an attestation.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use urne_crypto::encoding::Canonical;
use urne_crypto::merkle;

use super::{Context, ElectionArg, Failure};
use crate::client::auditor::{self, ExportVerdict};
use crate::client::keys::KeyFile;
use crate::client::receipt::decode_hashes;
use crate::client::{Client, Receipt};

/// Auditor commands.
#[derive(Debug, Subcommand)]
pub enum AuditorCommand {
    /// Generate an auditor key file (mode 0600).
    Keygen {
        /// Where to write the key file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Your display name.
        #[arg(long, default_value = "auditor")]
        name: String,
    },
    /// Verify an export; if it verifies and the server's board extends it,
    /// post a signed attestation over its final checkpoint.
    Attest {
        /// Your key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The export file (`GET /v1/elections/{id}/export`).
        #[arg(long, value_name = "FILE")]
        export: PathBuf,
        /// The election [default: the export's].
        #[command(flatten)]
        election: ElectionArg,
    },
}

/// Runs an auditor command.
pub async fn run(ctx: &Context, cmd: AuditorCommand) -> Result<(), Failure> {
    match cmd {
        AuditorCommand::Keygen { out, name } => super::trustee::keygen(&out, "auditor", &name),
        AuditorCommand::Attest {
            key,
            export,
            election,
        } => {
            let keys = KeyFile::load(&key, "auditor")?;
            let verdict = verify_file(&export)?;
            if let Some(e) = &election.election {
                if super::parse_hex32(e, "election id")? != verdict.election {
                    return Err(Failure::new(
                        "the export is of another election",
                        "check --export and --election",
                    ));
                }
            }
            let client = ctx.client()?;
            let r = attest(&client, &verdict, &keys).await?;
            println!(
                "export verified: {} entries, {} ballots counted, {}; attestation posted at board entry {}",
                verdict.size,
                verdict.ballots_counted,
                if verdict.complete { "complete" } else { "incomplete" },
                r.index
            );
            Ok(())
        }
    }
}

/// Reads and verifies an export file.
pub fn verify_file(path: &Path) -> Result<ExportVerdict, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::new(
            format!("cannot read {}: {e}", path.display()),
            "check --export",
        )
    })?;
    auditor::verify_export(&bytes).map_err(|e| {
        Failure::new(
            format!("the export does not verify: {e}"),
            "do not attest this board; report the problem",
        )
    })
}

/// Checks that the server's board extends the verified export, then signs and
/// posts the attestation.
pub async fn attest(
    client: &Client,
    verdict: &ExportVerdict,
    keys: &KeyFile,
) -> Result<Receipt, Failure> {
    let election = verdict.election;
    let (fresh, _) = client.checkpoint(&election).await?;
    let proof = client
        .consistency_proof(&election, verdict.size, fresh.size)
        .await?;
    merkle::verify_consistency(
        verdict.size,
        fresh.size,
        &verdict.root,
        &fresh.root,
        &decode_hashes(&proof)?,
    )
    .map_err(|e| {
        Failure::new(
            format!("the server's board does not extend the export ({e})"),
            "the server shows different histories (split view); report it",
        )
    })?;
    let statement = format!("urne {} auditor attest", env!("CARGO_PKG_VERSION"));
    let entry = auditor::attestation_entry(
        election,
        verdict.size,
        verdict.root,
        true,
        verdict.ballots_counted,
        &statement,
        &keys.signing()?,
    );
    Ok(client.post_entry(&election, &entry.to_bytes()).await?)
}
