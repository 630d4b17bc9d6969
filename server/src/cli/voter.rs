//! `urne voter`: enrol, obtain a credential, vote, check the receipt.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use curve25519_dalek::ristretto::RistrettoPoint;
use urne_crypto::credential::{SignerCommitment, SignerResponse};
use urne_crypto::encoding::Canonical;
use urne_crypto::group::{decode_nonidentity_point, decode_scalar, os_rng};
use urne_crypto::manifest::{Constituency, Manifest};
use urne_crypto::record::BallotVerifier;
use urne_crypto::recovery::RecoverySecret;
use zeroize::Zeroizing;

use super::{parse_hex32, Context, Failure};
use crate::client::api::{CommitmentJson, ResponseJson};
use crate::client::board;
use crate::client::receipt::{self, Receipt};
use crate::client::voter as steps;
use crate::client::wallet::{CastBallot, PendingIssuance, Wallet};
use crate::client::{invitations, secret_file, Client};

/// Voter commands.
#[derive(Debug, Args)]
pub struct VoterArgs {
    /// The wallet file (mode 0600) [default: from the config file, or urne-wallet.json]
    #[arg(long, global = true, env = "URNE_WALLET", value_name = "FILE")]
    pub wallet: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: VoterCommand,
}

/// What a voter does.
#[derive(Debug, Subcommand)]
pub enum VoterCommand {
    /// Enrol with the invitation (or token) the organiser sent you; creates the wallet.
    Enroll {
        /// Your invitation: the link (`https://…/#join=urne1:...`, which also
        /// names the server), the text `urne1:...`, or the bare token with
        /// --pseudonym and --election.
        #[arg(long, value_name = "T")]
        token: String,
        /// Your pseudonym (only with a bare token).
        #[arg(long)]
        pseudonym: Option<String>,
        /// The election id (only with a bare token).
        #[arg(long, value_name = "ID")]
        election: Option<String>,
    },
    /// Rebuild a lost wallet from the recovery code shown when you enrolled:
    /// the same keys and the same credential come back, and you can vote again.
    Recover {
        /// Your recovery code (eight groups of four letters and digits); or set
        /// URNE_RECOVERY_CODE, which keeps it out of the shell history.
        #[arg(
            long,
            value_name = "CODE",
            env = "URNE_RECOVERY_CODE",
            hide_env_values = true
        )]
        code: String,
        /// Your invitation (the link or `urne1:...`), for the election and your pseudonym.
        #[arg(long, value_name = "INVITATION", conflicts_with = "election")]
        invitation: Option<String>,
        /// The election id (instead of --invitation).
        #[arg(long, value_name = "ID", required_unless_present = "invitation")]
        election: Option<String>,
    },
    /// Obtain your anonymous voting credential (as soon as the election key is
    /// published; best before the vote opens).
    Credential,
    /// Show the candidates of your constituency.
    Candidates,
    /// Cast your ballot.
    Vote(ApproveArgs),
    /// Replace your ballot (the last ballot counts).
    Revote(ApproveArgs),
    /// Check a ballot that the web app opened for the cast-as-intended check
    /// (the file it downloaded): it must encrypt exactly the choices shown,
    /// under this election's key on the board.
    Audit {
        /// The downloaded file (`urne-ballot-check.json`).
        file: PathBuf,
    },
    /// Receipts.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
}

/// The approvals of a ballot.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The candidates you approve, comma-separated pseudonyms.
    #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "NAME,NAME…")]
    pub approve: Vec<String>,
    /// Send the ballot at once, even right after obtaining the credential
    /// (anyone reading the board could then link the two).
    #[arg(long)]
    pub now: bool,
    /// Longest wait before a ballot cast soon after a credential obtained
    /// during the vote is sent (e.g. 15m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub max_delay: humantime::Duration,
}

/// `urne voter receipt ...`
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check that your last ballot is still on the board and the board did not fork.
    Check,
    /// Write the signed checkpoint your wallet holds for your last ballot
    /// (the witnessed one of the last check, else the receipt's) to a file,
    /// for `urne-verify --checkpoint`.
    Checkpoint {
        /// The file to write (refused if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Runs a voter command.
pub async fn run(ctx: &Context, args: VoterArgs) -> Result<(), Failure> {
    let path = args
        .wallet
        .or_else(|| ctx.config.wallet.clone())
        .unwrap_or_else(|| PathBuf::from("urne-wallet.json"));
    match args.command {
        VoterCommand::Audit { file } => audit(ctx, &file).await,
        VoterCommand::Enroll {
            token: token_arg,
            pseudonym,
            election,
        } => {
            let (election, pseudonym, token) = parse_invitation(&token_arg, pseudonym, election)
                .map(|(e, p, t)| (e, p, Zeroizing::new(t)))?;
            let client = client_for(ctx, &token_arg)?;
            let w = enroll(&client, &election, &pseudonym, &token, &path).await?;
            println!(
                "enrolled {} in constituency {} (board entry {})",
                w.pseudonym,
                w.constituency,
                w.enrollment.as_ref().map(|r| r.index).unwrap_or_default()
            );
            println!(
                "wallet saved to {} — keep it private; it is never sent anywhere",
                path.display()
            );
            print_backup_notice(&w, &path)?;
            // Take the credential as early as possible: before the vote opens,
            // the board cannot link it to the ballot.
            let mut w = w;
            match credential(&client, &mut w, &path).await {
                Ok(r) => println!(
                    "credential obtained for constituency {} (issuance recorded at board entry {})",
                    w.constituency, r.index
                ),
                Err(e) if e.message.contains("not published yet") => println!(
                    "next: once the election key is published, run `urne voter credential` \
                     (best before the vote opens)"
                ),
                Err(e) => return Err(e),
            }
            Ok(())
        }
        VoterCommand::Recover {
            code,
            invitation,
            election,
        } => {
            let secret = RecoverySecret::from_code(&code).map_err(|e| {
                Failure::new(
                    format!("the recovery code is not valid: {e}"),
                    "type the code exactly as you wrote it down when you enrolled",
                )
            })?;
            let client = match &invitation {
                Some(i) => client_for(ctx, i)?,
                None => ctx.client()?,
            };
            let (election, pseudonym) = match (invitation, election) {
                (Some(i), _) => {
                    let (e, p, _) = parse_invitation(&i, None, None)?;
                    (e, Some(p))
                }
                (None, Some(e)) => (parse_hex32(&e, "election id")?, None),
                (None, None) => {
                    return Err(Failure::new(
                        "no election given",
                        "pass your invitation with --invitation, or --election ID",
                    ))
                }
            };
            recover(&client, &election, pseudonym.as_deref(), &secret, &path).await
        }
        VoterCommand::Credential => {
            let (client, mut w) = open_wallet(ctx, &path)?;
            let r = credential(&client, &mut w, &path).await?;
            println!(
                "credential obtained for constituency {} (issuance recorded at board entry {})",
                w.constituency, r.index
            );
            Ok(())
        }
        VoterCommand::Candidates => {
            let (client, w) = open_wallet(ctx, &path)?;
            let manifest = board::manifest(&client, &w.election_id()?).await?;
            print_candidates(constituency(&manifest, &w)?);
            Ok(())
        }
        VoterCommand::Vote(a) => vote_command(ctx, &path, &a, false).await,
        VoterCommand::Revote(a) => vote_command(ctx, &path, &a, true).await,
        VoterCommand::Receipt(ReceiptCommand::Checkpoint { out }) => {
            let (_, w) = open_wallet(ctx, &path)?;
            let cast = w.ballots.last().ok_or_else(|| {
                Failure::new(
                    "this wallet has not cast a ballot",
                    "vote first with `urne voter vote --approve ...`",
                )
            })?;
            let (receipt, what) = match &cast.witnessed {
                Some(r) => (r, "the witnessed checkpoint of your last receipt check"),
                None => (&cast.receipt, "the checkpoint of your ballot's receipt"),
            };
            secret_file::create(&out, receipt.checkpoint.as_bytes())?;
            println!(
                "wrote {what} (board of {} entries) to {}; check it against the final board \
                 with `urne-verify EXPORT --checkpoint {}`",
                receipt.size,
                out.display(),
                out.display()
            );
            Ok(())
        }
        VoterCommand::Receipt(ReceiptCommand::Check) => {
            let (client, mut w) = open_wallet(ctx, &path)?;
            let cast = w.ballots.last().cloned().ok_or_else(|| {
                Failure::new(
                    "this wallet has not cast a ballot",
                    "vote first with `urne voter vote --approve ...`",
                )
            })?;
            let ballot_key = *w.ballot_secret_key()?.public_key().as_bytes();
            let (check, standing, witnessed) = check_receipt(
                &client,
                &w.election_id()?,
                &cast.receipt,
                &w.constituency,
                ballot_key,
            )
            .await?;
            let witnesses = witnessed.names;
            if let receipt::BallotStanding::Replaced { by } = standing {
                return Err(Failure::new(
                    format!(
                        "your ballot at entry {} was replaced by a later ballot with your \
                         credential at entry {by}",
                        cast.receipt.index
                    ),
                    "someone holding a copy of your wallet voted in your place: tell the \
                     organiser, keep your wallet file safe, and vote again with \
                     `urne voter revote --approve ...` (the last ballot counts)",
                ));
            }
            println!(
                "receipt OK: ballot at board entry {} is included in the board of size {} (root {}), \
                 which extends the receipt's board of size {}",
                cast.receipt.index,
                check.size,
                hex::encode(check.root),
                cast.receipt.size
            );
            if witnesses.is_empty() {
                println!(
                    "this election names no witnesses: compare your receipt with other voters' \
                     to be sure everyone is shown the same board"
                );
            } else {
                println!(
                    "witnessed: that board is cosigned by {}",
                    witnesses.join(", ")
                );
                if let Some(last) = w.ballots.last_mut() {
                    last.witnessed = Some(witnessed.receipt);
                }
                w.save(&path)?;
                println!(
                    "the wallet now keeps your ballot's place in that cosigned checkpoint; \
                     `urne voter receipt checkpoint --out FILE` writes it for \
                     `urne-verify --checkpoint FILE`"
                );
            }
            Ok(())
        }
    }
}

/// The client for a command given an invitation: the configured server, or
/// else the one the invitation link names.
fn client_for(ctx: &Context, invitation: &str) -> Result<Client, Failure> {
    match (&ctx.config.server, invitations::split_link(invitation).0) {
        (None, Some(url)) => Ok(Client::new(url)?),
        _ => ctx.client(),
    }
}

/// Splits an invitation `urne1:<election hex>:<pseudonym hex>:<token>` (or
/// its link, `SERVER/#join=urne1:…`), or takes a bare token with the
/// pseudonym and election given separately.
pub fn parse_invitation(
    token: &str,
    pseudonym: Option<String>,
    election: Option<String>,
) -> Result<([u8; 32], String, String), Failure> {
    let (_, token) = invitations::split_link(token);
    let bad = || {
        Failure::new(
            "the invitation is malformed",
            "copy the whole invitation `urne1:...` exactly",
        )
    };
    if token.starts_with("urne1:") {
        let inv = urne_client::invitation::parse(token).map_err(|_| bad())?;
        return Ok((inv.election, inv.pseudonym, inv.token.to_string()));
    }
    match (pseudonym, election) {
        (Some(p), Some(e)) => Ok((parse_hex32(&e, "election id")?, p, token.to_string())),
        _ => Err(Failure::new(
            "a bare token needs --pseudonym and --election",
            "or pass the whole invitation `urne1:...` as --token",
        )),
    }
}

fn open_wallet(ctx: &Context, path: &Path) -> Result<(Client, Wallet), Failure> {
    let w = Wallet::load(path).map_err(|e| {
        let mut e = Failure::from(e);
        if e.message.contains("does not exist") {
            e.hint = Some(
                "enrol first with `urne voter enroll --token ... --wallet FILE`, or pass --wallet"
                    .into(),
            );
        }
        e
    })?;
    let server = ctx
        .config
        .server
        .clone()
        .unwrap_or_else(|| w.server.clone());
    let client = Client::new(&server)?;
    client.pin_board_key(w.board_public_key()?)?;
    Ok((client, w))
}

fn constituency<'m>(manifest: &'m Manifest, w: &Wallet) -> Result<&'m Constituency, Failure> {
    manifest.constituency(&w.constituency).ok_or_else(|| {
        Failure::plain(format!(
            "constituency {} is not in the manifest",
            w.constituency
        ))
    })
}

fn print_candidates(c: &Constituency) {
    println!(
        "{} ({}): approve between {} and {} of {} candidates:",
        c.name,
        c.id,
        c.approval_min,
        c.approval_max,
        c.candidates.len()
    );
    let names: Vec<String> = c
        .candidates
        .iter()
        .map(|k| {
            if k.category.is_empty() {
                k.id.clone()
            } else {
                format!("{} ({})", k.id, k.category)
            }
        })
        .collect();
    for line in names.chunks(6) {
        println!("  {}", line.join(", "));
    }
}

/// Enrols a member: creates the wallet (keys first, saved before anything is
/// sent), posts the enrolment entry with the token, stores the receipt.
pub async fn enroll(
    client: &Client,
    election: &[u8; 32],
    pseudonym: &str,
    token: &str,
    path: &Path,
) -> Result<Wallet, Failure> {
    if path.exists() {
        return Err(Failure::new(
            format!("{} already exists", path.display()),
            "each member enrols once; use another --wallet path for another member",
        ));
    }
    let setup = board::setup(client, election).await?;
    let member = urne_crypto::entry::member_id(election, pseudonym);
    let line = setup
        .roster
        .iter()
        .find(|m| m.member == member)
        .ok_or_else(|| {
            Failure::new(
                format!("{pseudonym:?} is not on the roster of this election"),
                "check your pseudonym and the election",
            )
        })?;
    let secret = RecoverySecret::generate(&mut os_rng());
    let member_key = secret.member_key(election);
    let mut w = new_wallet(client, election, pseudonym, &line.constituency, &secret).await?;
    secret_file::create(
        path,
        &serde_json::to_vec_pretty(&w).map_err(|e| Failure::plain(e.to_string()))?,
    )?;
    let entry = urne_crypto::voter::enrollment(*election, pseudonym, &member_key);
    match client.enroll(election, token, &entry.to_bytes()).await {
        Ok(r) => {
            w.enrollment = Some(r);
            w.save(path)?;
            Ok(w)
        }
        Err(e) => {
            // The server refused: nothing was recorded, so the wallet is useless.
            if e.status().is_some() {
                let _ = std::fs::remove_file(path);
            }
            Err(e.into())
        }
    }
}

/// A wallet whose keys are derived from `secret`, before anything is recorded.
async fn new_wallet(
    client: &Client,
    election: &[u8; 32],
    pseudonym: &str,
    constituency: &str,
    secret: &RecoverySecret,
) -> Result<Wallet, Failure> {
    let member_key = secret.member_key(election);
    let ballot_key = secret.ballot_key(election);
    Ok(Wallet {
        server: client.base().to_string(),
        election: hex::encode(election),
        board_key: hex::encode(client.board_key().await?),
        pseudonym: pseudonym.to_string(),
        constituency: constituency.to_string(),
        member: hex::encode(urne_crypto::entry::member_id(election, pseudonym)),
        recovery: Some(hex::encode(secret.as_bytes())),
        member_key: hex::encode(member_key.to_bytes()),
        ballot_key: hex::encode(ballot_key.to_bytes().as_ref()),
        issuance: None,
        credential: None,
        enrollment: None,
        issuance_receipt: None,
        credential_time: None,
        ballots: Vec::new(),
        earlier_ballot: None,
    })
}

/// Tells the voter, once, when the wallet is created, that it is the only
/// copy and how to keep a way back: the recovery code, shown only here.
fn print_backup_notice(w: &Wallet, path: &Path) -> Result<(), Failure> {
    let Some(secret) = w.recovery_secret()? else {
        return Ok(());
    };
    println!();
    println!("IMPORTANT: this wallet is the only copy of your voting keys and credential.");
    println!("Your recovery code, shown only this once:");
    println!();
    println!("    {}", secret.code().as_str());
    println!();
    println!(
        "Write it down on paper and keep it somewhere safe (or keep a copy of {} on a USB \
         stick). If the wallet is lost, `urne voter recover --code CODE --invitation \
         INVITATION` rebuilds it on any machine, with the same credential, so you can still \
         vote or change your vote. Anyone who has the code can vote in your place: show it to \
         nobody.",
        path.display()
    );
    println!();
    Ok(())
}

/// Rebuilds a lost wallet from its recovery secret (`specs/protocol.md`
/// §3.9): finds the member's enrolment by its derived key, and if the
/// credential was issued, sends the same issuance entry again, so the
/// registrar's stored answer gives back the same credential.
pub async fn recover(
    client: &Client,
    election: &[u8; 32],
    pseudonym: Option<&str>,
    secret: &RecoverySecret,
    path: &Path,
) -> Result<(), Failure> {
    if path.exists() {
        return Err(Failure::new(
            format!("{} already exists", path.display()),
            "recover into a new wallet file: pass --wallet NEW.json",
        ));
    }
    let setup = board::setup(client, election).await?;
    let member_key = secret.member_key(election);
    let ballot_key = secret.ballot_key(election);
    let trail = board::member_trail(
        client,
        election,
        &member_key.verifying_key().to_bytes(),
        ballot_key.public_key().as_bytes(),
    )
    .await?;
    let member = trail.member.ok_or_else(|| {
        Failure::new(
            "nobody enrolled in this election with this recovery code",
            "check the code and the election; if you never enrolled, enrol with your invitation",
        )
    })?;
    if let Some(p) = pseudonym {
        if urne_crypto::entry::member_id(election, p) != member {
            return Err(Failure::new(
                format!("this recovery code belongs to another member than {p:?}"),
                "use the invitation that goes with this code, or pass --election instead",
            ));
        }
    }
    let line = setup
        .roster
        .iter()
        .find(|m| m.member == member)
        .ok_or_else(|| Failure::plain("the enrolled member is not on the roster"))?;
    let mut w = new_wallet(
        client,
        election,
        pseudonym.unwrap_or_default(),
        &line.constituency,
        secret,
    )
    .await?;
    // The member id comes from the board when no pseudonym is given.
    w.member = hex::encode(member);
    w.earlier_ballot = trail.last_ballot;
    let session = urne_client::recovery::resumed_session(
        &setup.manifest,
        election,
        &w.constituency,
        &trail,
        // Checked against the pseudonym above, with its own next step.
        None,
        secret,
    )
    .map_err(|e| match e {
        urne_client::recovery::RecoveryError::OtherSession(_) => Failure::new(
            e.to_string(),
            "this wallet was created before recovery codes existed, or the code is \
             another wallet's: only the original wallet file can vote",
        ),
        e => Failure::plain(e.to_string()),
    })?;
    if let Some(commitment) = session {
        w.issuance = Some(PendingIssuance {
            seed: String::new(),
            commitment_a: hex::encode(commitment.a.compress().to_bytes()),
            commitment_c: hex::encode(commitment.c.compress().to_bytes()),
        });
    }
    secret_file::create(
        path,
        &serde_json::to_vec_pretty(&w).map_err(|e| Failure::plain(e.to_string()))?,
    )?;
    println!(
        "wallet rebuilt in {} for member {} of constituency {}",
        path.display(),
        pseudonym.map_or_else(|| hex::encode(member), str::to_string),
        w.constituency
    );
    if trail.issuance.is_some() || setup.election_key.is_some() {
        let r = credential(client, &mut w, path).await?;
        // A credential issued before the vote opened needs no hold-back of
        // the ballot (§10): every such issuance precedes every ballot.
        if trail.opened_at.is_none_or(|open| r.index < open) {
            w.credential_time = Some(steps::CredentialTime {
                at: unix_now(),
                while_open: false,
            });
            w.save(path)?;
        }
        println!(
            "credential recovered for constituency {} (issuance at board entry {})",
            w.constituency, r.index
        );
    } else {
        println!(
            "next: once the election key is published, run `urne voter credential` \
             (best before the vote opens)"
        );
    }
    match w.earlier_ballot {
        Some(at) => println!(
            "your earlier ballot is at board entry {at}; to change it, run \
             `urne voter revote --approve ...` (the last ballot counts)"
        ),
        None => println!("no ballot of yours is on the board yet"),
    }
    Ok(())
}

/// Decodes the signer's commitment sent by the server.
pub fn commitment_of(j: &CommitmentJson) -> Result<SignerCommitment, Failure> {
    let point = |s: &str| -> Result<RistrettoPoint, Failure> {
        let b = parse_hex32(s, "commitment")?;
        decode_nonidentity_point(&b)
            .map_err(|_| Failure::plain("the server sent a malformed commitment"))
    };
    Ok(SignerCommitment {
        a: point(&j.commitment_a)?,
        c: point(&j.commitment_c)?,
    })
}

/// Obtains the credential: commit → blind → respond → finish. The pending
/// session is saved before the challenge is sent, so an interrupted run can
/// be resumed: the same challenge is sent again and gets the same response.
pub async fn credential(client: &Client, w: &mut Wallet, path: &Path) -> Result<Receipt, Failure> {
    if w.credential.is_some() {
        return Err(Failure::new(
            "this wallet already holds a credential",
            "vote with `urne voter vote --approve ...`",
        ));
    }
    let election = w.election_id()?;
    let member = w.member_id()?;
    let key = w.member_signing_key()?;
    let ballot_key = w.ballot_secret_key()?;
    // The setup replayed: the election key must follow from the dealings.
    let setup = board::setup(client, &election).await?;
    if setup.election_key.is_none() {
        return Err(Failure::new(
            "the election key is not published yet, so no credential can be issued",
            "run `urne voter credential` again once the trustees are done",
        ));
    }
    let while_open = setup.opened;
    let manifest = setup.manifest;
    let registrar = constituency(&manifest, w)?.registrar_key;
    let commitment_json = match &w.issuance {
        Some(p) => CommitmentJson {
            commitment_a: p.commitment_a.clone(),
            commitment_c: p.commitment_c.clone(),
        },
        None => {
            let sig = steps::commit_signature(&election, &member, &key);
            let c = client.credential_commit(&election, &member, &sig).await?;
            // Only a wallet without a recovery secret needs a blinding seed.
            let seed = if w.recovery.is_none() {
                let mut seed = Zeroizing::new([0u8; 32]);
                rand_core::Rng::fill_bytes(&mut os_rng(), seed.as_mut());
                hex::encode(seed.as_ref())
            } else {
                String::new()
            };
            w.issuance = Some(PendingIssuance {
                seed,
                commitment_a: c.commitment_a.clone(),
                commitment_c: c.commitment_c.clone(),
            });
            w.save(path)?;
            c
        }
    };
    let commitment = commitment_of(&commitment_json)?;
    let (state, challenge) = match w.recovery_secret()? {
        Some(secret) => steps::blind_recoverable(
            &registrar,
            &election,
            &w.constituency,
            &ballot_key,
            &commitment,
            &secret,
        ),
        None => {
            let seed = {
                let p = w
                    .issuance
                    .as_ref()
                    .ok_or_else(|| Failure::plain("no pending credential session"))?;
                Zeroizing::new(parse_hex32(&p.seed, "seed")?)
            };
            steps::blind(
                &registrar,
                &election,
                &w.constituency,
                &ballot_key,
                &commitment,
                &seed,
            )
        }
    }
    .map_err(|e| Failure::plain(e.to_string()))?;
    let entry = urne_crypto::voter::issuance(
        election,
        member,
        &w.constituency,
        &commitment,
        &challenge,
        &key,
    );
    let (resp, receipt) = client
        .credential_respond(&election, &entry.to_bytes())
        .await?;
    let response = response_of(&resp)?;
    let cred = steps::finish(
        state,
        &response,
        &registrar,
        &election,
        &w.constituency,
        &ballot_key,
    )
    .map_err(|e| {
        Failure::new(
            e.to_string(),
            "the registrar's answer does not verify; do not vote with it",
        )
    })?;
    w.credential = Some(hex::encode(cred.to_bytes()));
    w.issuance = None;
    w.issuance_receipt = Some(receipt.clone());
    w.credential_time = Some(steps::CredentialTime {
        at: unix_now(),
        while_open,
    });
    w.save(path)?;
    Ok(receipt)
}

/// Decodes the signer's response sent by the server.
pub fn response_of(resp: &ResponseJson) -> Result<SignerResponse, Failure> {
    let scalar = |s: &str| -> Result<_, Failure> {
        decode_scalar(&parse_hex32(s, "response")?)
            .map_err(|_| Failure::plain("the server sent a malformed response"))
    };
    Ok(SignerResponse {
        s: scalar(&resp.s)?,
        y: scalar(&resp.y)?,
        t: scalar(&resp.t)?,
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn vote_command(
    ctx: &Context,
    path: &Path,
    args: &ApproveArgs,
    revote: bool,
) -> Result<(), Failure> {
    let approve = &args.approve;
    let (client, mut w) = open_wallet(ctx, path)?;
    let voted = !w.ballots.is_empty() || w.earlier_ballot.is_some();
    match (revote, voted) {
        (false, true) => {
            return Err(Failure::new(
                "this wallet has already voted",
                "use `urne voter revote --approve ...` to replace the ballot",
            ))
        }
        (true, false) => {
            return Err(Failure::new(
                "this wallet has not voted yet",
                "use `urne voter vote --approve ...`",
            ))
        }
        _ => {}
    }
    let election = w.election_id()?;
    if w.credential.is_none() {
        let r = credential(&client, &mut w, path).await?;
        println!(
            "credential obtained (issuance recorded at board entry {})",
            r.index
        );
    }
    let setup = board::setup(&client, &election).await?;
    let c = constituency(&setup.manifest, &w)?;
    let approvals = steps::choices(c, approve)
        .map_err(|e| {
            print_candidates(c);
            Failure::new(e.to_string(), "see the candidate list above")
        })?
        .iter()
        .filter(|&&a| a)
        .count();
    let max_delay = if args.now {
        0
    } else {
        args.max_delay.as_secs()
    };
    let now = unix_now();
    let delay = steps::cast_delay(w.credential_time, now, max_delay, &mut os_rng());
    if delay > 0 {
        let waited = now.saturating_sub(w.credential_time.map_or(now, |t| t.at));
        println!(
            "Your credential was obtained during the vote, {waited} s ago. So that nobody \
             reading the board can link it to your ballot, the ballot is held back and sent \
             in {}. Keep this running (or stop it with Ctrl-C and vote later; \
             `--now` sends it at once if you accept that risk).",
            humantime::format_duration(std::time::Duration::from_secs(delay))
        );
        tokio::time::sleep(std::time::Duration::from_secs(delay)).await;
    }
    print_candidates(c);
    let receipt = vote(
        &client,
        &mut w,
        path,
        &setup.manifest,
        setup.election_key.as_ref().map(|k| *k.public_key()),
        approve,
    )
    .await?;
    println!(
        "ballot cast: {}",
        urne_verify::report::count(approvals as u64, "approval", "approvals")
    );
    println!(
        "receipt: board entry {} in the board of size {} (root {})",
        receipt.index, receipt.size, receipt.root
    );
    println!(
        "checked: the signed checkpoint includes your ballot; later run `urne voter receipt check`"
    );
    Ok(())
}

/// Builds, casts and records a ballot approving the named candidates.
pub async fn vote(
    client: &Client,
    w: &mut Wallet,
    path: &Path,
    manifest: &Manifest,
    election_key: Option<RistrettoPoint>,
    approve: &[String],
) -> Result<Receipt, Failure> {
    let election = w.election_id()?;
    let c = constituency(manifest, w)?;
    let choices = steps::choices(c, approve)
        .map_err(|e| Failure::new(e.to_string(), "see the candidate list above"))?;
    let credential = w.credential()?.ok_or_else(|| {
        Failure::new(
            "this wallet has no credential yet",
            "obtain it with `urne voter credential` once the election key is published",
        )
    })?;
    let key = election_key.ok_or_else(|| {
        Failure::new(
            "the election key is not published yet",
            "wait until the vote opens",
        )
    })?;
    let ballot_key = w.ballot_secret_key()?;
    let mut rng = os_rng();
    let verifier = BallotVerifier::new(manifest.clone(), key);
    let entry = steps::ballot_entry(
        &verifier,
        &c.id,
        &ballot_key,
        &credential,
        &choices,
        &mut rng,
    )
    .map_err(|e| Failure::plain(e.to_string()))?;
    let receipt = client.cast_ballot(&election, &entry.to_bytes()).await?;
    w.ballots.push(CastBallot {
        receipt: receipt.clone(),
        witnessed: None,
    });
    w.save(path)?;
    Ok(receipt)
}

/// The board's newest checkpoint and, when the manifest names witnesses,
/// the names of those that cosigned it: a quorum, waited for up to 15 s
/// (they cosign within seconds), or an error (§6.11).
pub async fn witnessed_checkpoint(
    client: &Client,
    election: &[u8; 32],
) -> Result<(urne_crypto::checkpoint::Checkpoint, String, Vec<String>), Failure> {
    let manifest = board::manifest(client, election).await?;
    let quorum = manifest.witness_quorum as usize;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (fresh, note) = client.checkpoint(election).await?;
        let cosigners = manifest.cosigners(note.as_bytes());
        if let Some((name, e)) = cosigners.forged.first() {
            return Err(Failure::new(
                format!("the board's checkpoint carries a forged cosignature of {name}: {e}"),
                "keep your wallet and tell the organiser and the witness operator",
            ));
        }
        let names = cosigners.names();
        if names.len() >= quorum {
            return Ok((fresh, note, names));
        }
        if std::time::Instant::now() > deadline {
            return Err(Failure::new(
                format!(
                    "the board's newest checkpoint is cosigned by {} of the {quorum} witnesses \
                     the election requires",
                    names.len()
                ),
                "try again in a minute; if it persists, the board may be showing you a view \
                 the witnesses have not seen: keep your wallet and tell the organiser",
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// What a receipt check adds to the wallet: the witnesses that cosigned the
/// fresh checkpoint, and the ballot's receipt under it.
pub struct Witnessed {
    /// Names of the manifest witnesses that cosigned (empty without witnesses).
    pub names: Vec<String>,
    /// The ballot's inclusion in the fresh checkpoint, whose note carries
    /// the cosignatures.
    pub receipt: Receipt,
}

/// Re-checks a stored ballot receipt against a fresh, witnessed checkpoint
/// by reading the whole board from its entry bundles (the same files for
/// every voter, so the service does not learn which entry is the voter's),
/// and says whether a later ballot with the same key replaced it.
pub async fn check_receipt(
    client: &Client,
    election: &[u8; 32],
    stored: &Receipt,
    constituency: &str,
    ballot_key: [u8; 32],
) -> Result<(receipt::ReceiptCheck, receipt::BallotStanding, Witnessed), Failure> {
    let (fresh, note, witnesses) = witnessed_checkpoint(client, election).await?;
    let mut scan = receipt::BoardScan::new(stored, constituency, ballot_key);
    let mut leaves = Vec::with_capacity(fresh.size as usize);
    let mut entries = board::BoardReader::new(client, election, 0, fresh.size);
    while let Some((_, bytes)) = entries.next().await? {
        leaves.push(urne_crypto::merkle::leaf_hash(&bytes));
        scan.push(&bytes)?;
    }
    let (check, standing) = scan.finish(&fresh)?;
    // The same ballot under the witnessed checkpoint, its inclusion proof
    // computed from the leaves just read (no proof asked of the service).
    let proof = urne_crypto::merkle::inclusion_proof::<urne_crypto::merkle::MerkleError>(
        stored.index,
        fresh.size,
        |id| {
            let start = (id.index << id.level) as usize;
            let end = start + (1usize << id.level);
            leaves.get(start..end).map(urne_crypto::merkle::root).ok_or(
                urne_crypto::merkle::MerkleError::IndexOutOfRange {
                    index: end as u64,
                    size: fresh.size,
                },
            )
        },
    )
    .map_err(|e| Failure::plain(format!("inclusion proof: {e}")))?;
    let inclusion: Vec<String> = proof
        .iter()
        .map(urne_crypto::merkle::encode_hash_hex)
        .collect();
    urne_crypto::merkle::verify_inclusion(
        stored.index,
        fresh.size,
        &stored.leaf_hash()?,
        &proof,
        &fresh.root,
    )
    .map_err(|e| Failure::plain(format!("inclusion proof: {e}")))?;
    let witnessed_receipt = Receipt {
        index: stored.index,
        size: fresh.size,
        root: urne_crypto::merkle::encode_hash_hex(&fresh.root),
        leaf: stored.leaf.clone(),
        checkpoint: note,
        inclusion,
    };
    let witnessed = Witnessed {
        names: witnesses,
        receipt: witnessed_receipt,
    };
    Ok((check, standing, witnessed))
}

/// `urne voter audit FILE`: checks an opened ballot against the board's
/// election key and candidates (`urne_client::audit`).
async fn audit(ctx: &Context, file: &Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::new(
            format!("cannot read {}: {e}", file.display()),
            "give the file the web app downloaded when you checked your ballot",
        )
    })?;
    let opened: urne_client::audit::BallotAudit = serde_json::from_str(&text).map_err(|_| {
        Failure::new(
            format!("{} is not a ballot check file", file.display()),
            "give the file the web app downloaded when you checked your ballot",
        )
    })?;
    let election = parse_hex32(&opened.election, "election id")?;
    let client = ctx.client()?;
    let setup = board::setup(&client, &election).await?;
    let key = setup
        .election_key
        .as_ref()
        .map(|k| *k.public_key())
        .ok_or_else(|| {
            Failure::new(
                "the election key is not published on the board",
                "this file cannot come from this election's web app",
            )
        })?;
    if setup.manifest.constituency(&opened.constituency).is_none() {
        return Err(Failure::new(
            format!("the election has no constituency {:?}", opened.constituency),
            "check that --server names the service of this election",
        ));
    }
    let shown = opened.verify_on_board(&setup.manifest, &key).map_err(|e| {
        Failure::new(
            e.to_string(),
            "do not vote on the device that made this ballot; tell the organisers and \
             keep the file as evidence",
        )
    })?;
    println!(
        "checked: this ballot encrypts exactly {} of the {} candidates of {} under the \
         election key on the board: {}",
        urne_verify::report::count(shown.approved.len() as u64, "approval", "approvals"),
        shown.candidates,
        shown.constituency,
        if shown.approved.is_empty() {
            "none".to_string()
        } else {
            shown.approved.join(", ")
        }
    );
    Ok(())
}
