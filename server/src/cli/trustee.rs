//! `urne trustee`: keys, the key generation ceremony, decryption.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use curve25519_dalek::ristretto::RistrettoPoint;
use urne_crypto::dkg::DealerMessage;
use urne_crypto::encoding::Canonical;
use urne_crypto::group::os_rng;
use urne_crypto::record::{BallotCheck, Phase};

use super::output::progress;
use super::{Context, ElectionArg, Failure};
use crate::client::board::{self, Replay};
use crate::client::keys::KeyFile;
use crate::client::{trustee as steps, Client};

/// Trustee commands.
#[derive(Debug, Subcommand)]
pub enum TrusteeCommand {
    /// Generate a trustee key file (mode 0600) and print its public keys for the manifest.
    Keygen {
        /// Where to write the key file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Your display name in the manifest.
        #[arg(long, default_value = "trustee")]
        name: String,
    },
    /// Key generation: post your dealing, check the others' shares, complain about bad ones.
    Dkg {
        /// Your key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
    /// Post your decryption shares for every constituency (after the vote closes).
    Decrypt {
        /// Your key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Verify every ballot's proofs while replaying the board.
        #[arg(long)]
        verify_ballots: bool,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
}

/// Runs a trustee command.
pub async fn run(ctx: &Context, cmd: TrusteeCommand) -> Result<(), Failure> {
    match cmd {
        TrusteeCommand::Keygen { out, name } => keygen(&out, "trustee", &name),
        TrusteeCommand::Dkg { key, election } => {
            let client = ctx.client()?;
            let id = ctx.election(&client, &election).await?;
            let keys = KeyFile::load(&key, "trustee")?;
            let report = dkg(&client, &id, &keys).await?;
            println!("{report}");
            Ok(())
        }
        TrusteeCommand::Decrypt {
            key,
            verify_ballots,
            election,
        } => {
            let client = ctx.client()?;
            let id = ctx.election(&client, &election).await?;
            let keys = KeyFile::load(&key, "trustee")?;
            let check = if verify_ballots {
                BallotCheck::Full
            } else {
                BallotCheck::Deferred
            };
            let bar = progress(0, "replaying the board");
            let replay = board::replay(&client, &id, check, &|at, size| {
                bar.set_length(size);
                bar.set_position(at);
            })
            .await?;
            bar.finish_and_clear();
            let posted = decrypt(&client, &replay, &keys).await?;
            println!(
                "posted {} decryption shares ({} constituencies)",
                posted,
                replay.record.manifest().constituencies.len()
            );
            Ok(())
        }
    }
}

/// Writes a new key file for `role` and prints its public part.
pub fn keygen(out: &Path, role: &str, name: &str) -> Result<(), Failure> {
    let k = KeyFile::generate(role, name, &mut os_rng());
    crate::client::secret_file::create(
        out,
        &serde_json::to_vec_pretty(&k).map_err(|e| Failure::plain(e.to_string()))?,
    )?;
    println!("key file written to {} (keep it private)", out.display());
    println!("public keys for the manifest draft:\n{}", k.public_toml()?);
    Ok(())
}

/// One DKG round for this trustee: posts the dealing if not yet on the
/// board, then checks every other dealing present and complains about bad shares.
pub async fn dkg(client: &Client, election: &[u8; 32], keys: &KeyFile) -> Result<String, Failure> {
    let signing = keys.signing()?;
    let tkey = keys.trustee_key()?;
    let replay = board::replay(client, election, BallotCheck::Deferred, &|_, _| {}).await?;
    let manifest = replay.record.manifest().clone();
    let me = steps::index(&manifest, &signing, &tkey)
        .map_err(|e| Failure::new(e.to_string(), "check --key and --election"))?;
    if replay.record.phase() != Phase::Setup || replay.record.election_key().is_some() {
        return Err(Failure::new(
            "key generation is over for this election",
            "run `urne trustee decrypt` after the vote closes",
        ));
    }
    let mut report = Vec::new();
    if replay.record.dealings().contains_key(&me) {
        report.push(format!("trustee {me}: dealing already on the board"));
    } else {
        let entry = steps::dealing_entry(&manifest, &signing, &tkey, &mut os_rng())
            .map_err(|e| Failure::plain(e.to_string()))?;
        let r = client.post_entry(election, &entry.to_bytes()).await?;
        report.push(format!(
            "trustee {me}: dealing posted at board entry {}",
            r.index
        ));
    }
    let complained: Vec<u32> = replay
        .complaints
        .iter()
        .filter(|c| c.complainant == me)
        .map(|c| c.dealer)
        .collect();
    let others: Vec<DealerMessage> = replay
        .record
        .dealings()
        .values()
        .filter(|d| d.dealer != me && !complained.contains(&d.dealer))
        .cloned()
        .collect();
    let (good, complaints) =
        steps::check_dealings(&manifest, &signing, &tkey, &others, &mut os_rng())
            .map_err(|e| Failure::plain(e.to_string()))?;
    for c in &complaints {
        client.post_entry(election, &c.to_bytes()).await?;
    }
    let n = manifest.trustees.len();
    let dealt =
        replay.record.dealings().len() + usize::from(!replay.record.dealings().contains_key(&me));
    report.push(format!(
        "{dealt}/{n} dealings on the board; shares checked: {} good, {} complaints posted",
        good.len(),
        complaints.len()
    ));
    if dealt < n {
        report.push("run this again once every trustee has dealt, to check their shares".into());
        return Ok(report.join("\n"));
    }
    // Every dealing was on the board before this run (ours included) and is
    // now checked: acknowledge them, once for this set of dealings.
    let dealings: Vec<DealerMessage> = replay.record.dealings().values().cloned().collect();
    if dealings.len() < n {
        report.push(
            "run this again to acknowledge the dealings (the election key waits for it)".into(),
        );
    } else if replay.record.acknowledgements().get(&me) == Some(&replay.record.dealings_digest()) {
        report.push(format!(
            "trustee {me}: acknowledgement already on the board"
        ));
    } else {
        let entry = steps::acknowledgement_entry(&manifest, &signing, &tkey, &dealings)
            .map_err(|e| Failure::plain(e.to_string()))?;
        let r = client.post_entry(election, &entry.to_bytes()).await?;
        report.push(format!(
            "trustee {me}: dealings acknowledged at board entry {}",
            r.index
        ));
    }
    Ok(report.join("\n"))
}

/// Posts this trustee's decryption share for every constituency that has no
/// tally and no share from it yet; returns how many were posted.
pub async fn decrypt(client: &Client, replay: &Replay, keys: &KeyFile) -> Result<usize, Failure> {
    let record = &replay.record;
    if record.phase() != Phase::Closed {
        return Err(Failure::new(
            format!(
                "the election is in phase {}, not closed",
                record.phase().name()
            ),
            "decryption shares are posted after `urne admin close`",
        ));
    }
    let signing = keys.signing()?;
    let tkey = keys.trustee_key()?;
    let manifest = record.manifest();
    let me = steps::index(manifest, &signing, &tkey)
        .map_err(|e| Failure::new(e.to_string(), "check --key and --election"))?;
    let dealings: Vec<DealerMessage> = record.dealings().values().cloned().collect();
    let election = *record.election();
    let mut posted = 0;
    for c in &manifest.constituencies {
        if record.tally(&c.id).is_some() || record.share_trustees(&c.id).contains(&me) {
            continue;
        }
        let a: Vec<RistrettoPoint> = record
            .aggregate(&c.id)
            .map_err(|e| Failure::plain(e.to_string()))?
            .iter()
            .map(|ct| ct.a)
            .collect();
        let entry = steps::decryption_entry(
            manifest,
            &signing,
            &tkey,
            &dealings,
            &replay.complaints,
            &c.id,
            &a,
            &mut os_rng(),
        )
        .map_err(|e| Failure::plain(e.to_string()))?;
        client.post_entry(&election, &entry.to_bytes()).await?;
        posted += 1;
    }
    Ok(posted)
}
