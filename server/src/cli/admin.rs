//! `urne admin`: the organiser's commands.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{BeaconValue, Entry, EntryKind};
use urne_crypto::manifest::Manifest;

use super::output::Table;
use super::{parse_hex, Context, ElectionArg, Failure};
use crate::client::api::ElectionStatus;
use crate::client::draft::ManifestDraft;
use crate::client::invitations::{self, MemberToken};
use crate::client::receipt::ReceiptJson;
use crate::client::{board, secret_file, Client};
use urne_crypto::group::os_rng;

/// Organiser commands (they need the organiser token).
#[derive(Debug, Args)]
pub struct AdminCommand {
    /// Organiser bearer token [default: from the config file]
    #[arg(
        long,
        global = true,
        env = "URNE_ORGANISER_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: AdminAction,
}

/// What the organiser does.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Elections.
    #[command(subcommand)]
    Election(ElectionCommand),
    /// The roster of members.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Manifest drafts.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// List the server's elections (same as `urne admin election list`).
    Elections,
    /// Publish the election key computed from the trustees' dealings.
    ElectionKey(ElectionArg),
    /// Open the vote (credential issuance and ballots).
    Open(ElectionArg),
    /// Close the vote.
    Close(ElectionArg),
    /// Publish the tally of every constituency from the trustees' shares.
    Tally(ElectionArg),
    /// End the lottery's reveal window (before the beacon round is published).
    RevealsClose(ElectionArg),
    /// Publish the beacon round named in the manifest (verified by the board).
    Beacon(BeaconArgs),
    /// Fix the lottery seed and publish the seats of every constituency.
    Seats(ElectionArg),
    /// Show the phase and the counters of every constituency.
    Status(ElectionArg),
    /// Print every member's invitation link, ready to paste into a mail.
    Invitations {
        /// The tokens file written by `urne admin roster import`.
        #[arg(long, value_name = "FILE")]
        tokens: PathBuf,
        /// `txt`: a short letter per member; `csv`: `pseudonym,invitation`.
        #[arg(long, value_enum, default_value = "txt")]
        format: InvitationsFormat,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
}

/// Output format of `urne admin invitations`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InvitationsFormat {
    /// One short letter per member.
    Txt,
    /// CSV `pseudonym,invitation`.
    Csv,
}

/// `urne admin election ...`
#[derive(Debug, Subcommand)]
pub enum ElectionCommand {
    /// Create an election from a TOML manifest draft (`urne admin manifest
    /// template` prints a complete example).
    Create {
        /// The manifest draft (TOML).
        #[arg(long, value_name = "FILE.toml")]
        manifest: PathBuf,
        /// Check the draft and show what the election would be; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the server's elections: id, title, phase.
    List,
    /// Remove an election still in setup that nothing depends on yet (no
    /// member has enrolled, no trustee has dealt): its whole board goes.
    Cancel {
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// `urne admin manifest ...`
#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Print a complete, commented manifest draft to start from.
    Template,
}

/// The complete manifest example `urne admin manifest template` prints.
pub const MANIFEST_TEMPLATE: &str = include_str!("manifest_template.toml");

/// `urne admin roster ...`
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Import members from a CSV file with header `pseudonym,constituency,pool,category`.
    Import {
        /// The roster (CSV).
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
        /// The members' one-time enrolment tokens (CSV, mode 0600): drawn here
        /// and written before the import; if the file exists (an import whose
        /// answer was lost), its tokens are sent again. Required: without it
        /// the invitations would be lost.
        #[arg(long, value_name = "FILE")]
        tokens_out: Option<PathBuf>,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
    /// Replace a member's unused invitation (the old one stops working).
    Reissue {
        /// The member's pseudonym.
        #[arg(value_name = "PSEUDONYM")]
        pseudonym: String,
        /// The tokens file of the import (updated in place, mode 0600).
        #[arg(long, value_name = "FILE")]
        tokens: PathBuf,
        /// The election.
        #[command(flatten)]
        election: ElectionArg,
    },
}

/// `urne admin beacon`.
#[derive(Debug, Clone, Args)]
pub struct BeaconArgs {
    /// The round as drand serves it (JSON with `round` and `signature`, e.g.
    /// saved from `https://api.drand.sh/v2/beacons/quicknet/rounds/R`).
    #[arg(long, value_name = "FILE.json", conflicts_with_all = ["round", "signature", "values"])]
    pub from: Option<PathBuf>,
    /// The round number (with --signature).
    #[arg(long, value_name = "R", requires = "signature")]
    pub round: Option<u64>,
    /// The round's signature, hex (with --round).
    #[arg(long, value_name = "HEX", requires = "round")]
    pub signature: Option<String>,
    /// RFC 3797 method: the sources' published numbers, in manifest order,
    /// sources separated by `/`, numbers by `,` (e.g. `9319/2,5,12,8,10`).
    #[arg(long, value_name = "LIST", conflicts_with_all = ["round", "signature"])]
    pub values: Option<String>,
    /// The election.
    #[command(flatten)]
    pub election: ElectionArg,
}

/// A round as drand's HTTP API serves it.
#[derive(Debug, serde::Deserialize)]
struct DrandRound {
    round: u64,
    signature: String,
    #[serde(default)]
    randomness: Option<String>,
}

impl BeaconArgs {
    /// The beacon entry's body these arguments give.
    fn value(&self) -> Result<BeaconValue, Failure> {
        if let Some(list) = &self.values {
            let values = list
                .split('/')
                .map(|src| {
                    src.split(',')
                        .map(|n| n.trim().parse::<u64>())
                        .collect::<Result<Vec<u64>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    Failure::new(
                        format!("--values {list:?} is not a list of whole numbers"),
                        "write each source's numbers separated by commas, sources by `/`, e.g. --values 9319/2,5,12,8,10",
                    )
                })?;
            return Ok(BeaconValue {
                round: 0,
                signature: Vec::new(),
                values,
            });
        }
        let (round, signature) = match (&self.from, self.round, &self.signature) {
            (Some(path), _, _) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Failure::new(
                        format!("cannot read {}: {e}", path.display()),
                        "check the --from path",
                    )
                })?;
                let r: DrandRound = serde_json::from_str(&text).map_err(|e| {
                    Failure::new(
                        format!("{} is not a drand round ({e})", path.display()),
                        "save the round's JSON as drand serves it (with \"round\" and \"signature\")",
                    )
                })?;
                let signature = parse_hex(&r.signature, "beacon signature")?;
                if let Some(randomness) = &r.randomness {
                    if hex::encode(urne_crypto::beacon::randomness(&signature)) != *randomness {
                        return Err(Failure::new(
                            format!(
                                "{}: the randomness is not SHA-256 of the signature",
                                path.display()
                            ),
                            "download the round again from drand",
                        ));
                    }
                }
                (r.round, signature)
            }
            (None, Some(round), Some(sig)) => (round, parse_hex(sig, "beacon signature")?),
            _ => return Err(Failure::new(
                "no beacon round given",
                "pass --from ROUND.json, or --round R --signature HEX (RFC 3797 method: --values)",
            )),
        };
        Ok(BeaconValue {
            round,
            signature,
            values: Vec::new(),
        })
    }
}

/// Runs an organiser command.
pub async fn run(ctx: &Context, cmd: AdminCommand) -> Result<(), Failure> {
    // What needs no server.
    match &cmd.command {
        AdminAction::Manifest(ManifestCommand::Template) => {
            super::output::print(MANIFEST_TEMPLATE);
            return Ok(());
        }
        AdminAction::Election(ElectionCommand::Create {
            manifest,
            dry_run: true,
        }) => {
            // The server's board key when one is given, a stand-in otherwise.
            let client = ctx.client().ok();
            return dry_run(client.as_ref(), manifest).await;
        }
        _ => {}
    }
    let mut client = ctx.client()?;
    if let Some(t) = cmd.token {
        client = client.with_organiser_token(Some(t));
    }
    match cmd.command {
        AdminAction::Election(ElectionCommand::Create { manifest, .. }) => {
            create(&client, &manifest).await
        }
        AdminAction::Election(ElectionCommand::List) | AdminAction::Elections => {
            list_elections(&client).await
        }
        AdminAction::Election(ElectionCommand::Cancel { election, yes }) => {
            let id = ctx.election(&client, &election).await?;
            cancel_election(&client, &id, yes).await
        }
        AdminAction::Manifest(ManifestCommand::Template) => Ok(()),
        AdminAction::Roster(RosterCommand::Import {
            file,
            tokens_out,
            election,
        }) => {
            let tokens_out = tokens_out.ok_or_else(|| {
                Failure::new(
                    "refusing to import without --tokens-out: the members' invitations \
                     would exist nowhere",
                    "pass --tokens-out FILE (e.g. --tokens-out tokens.csv); the file is \
                     written, mode 0600, before anything is sent",
                )
            })?;
            let id = ctx.election(&client, &election).await?;
            import_roster(&client, &id, &file, &tokens_out).await
        }
        AdminAction::ElectionKey(e) => action(ctx, &client, &e, "election-key").await,
        AdminAction::Open(e) => action(ctx, &client, &e, "open").await,
        AdminAction::Close(e) => action(ctx, &client, &e, "close").await,
        AdminAction::Tally(e) => action(ctx, &client, &e, "tally").await,
        AdminAction::Seats(e) => action(ctx, &client, &e, "seats").await,
        AdminAction::RevealsClose(e) => action(ctx, &client, &e, "reveals-close").await,
        AdminAction::Beacon(b) => beacon(ctx, &client, &b).await,
        AdminAction::Status(e) => status(ctx, &client, &e).await,
        AdminAction::Roster(RosterCommand::Reissue {
            pseudonym,
            tokens,
            election,
        }) => {
            let id = ctx.election(&client, &election).await?;
            reissue(&client, &id, &pseudonym, &tokens).await
        }
        AdminAction::Invitations {
            tokens,
            format,
            election,
        } => {
            let id = ctx.election(&client, &election).await?;
            let manifest = board::manifest(&client, &id).await?;
            let bytes = secret_file::read(&tokens)?;
            let members = invitations::read_tokens_file(&bytes).map_err(|e| {
                Failure::new(
                    format!("{}: {e}", tokens.display()),
                    "pass the tokens file written by `urne admin roster import`",
                )
            })?;
            let format = match format {
                InvitationsFormat::Txt => invitations::InvitationFormat::Txt,
                InvitationsFormat::Csv => invitations::InvitationFormat::Csv,
            };
            let text = invitations::render(format, client.base(), &id, &manifest.title, &members);
            print!("{}", text.as_str());
            Ok(())
        }
    }
}

/// Reads a TOML manifest draft.
pub fn read_draft(path: &std::path::Path) -> Result<ManifestDraft, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            format!("cannot read {}: {e}", path.display()),
            "check the --manifest path",
        )
    })?;
    parse_draft(&text).map_err(|reason| {
        Failure::new(
            format!("manifest draft {}: {reason}", path.display()),
            "compare with the example of `urne admin manifest template`",
        )
    })
}

/// Parses a TOML manifest draft; the error names the line, the key and the
/// full reason.
pub fn parse_draft(text: &str) -> Result<ManifestDraft, String> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let place = inner.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}")
        });
        let reason = inner.message().trim_end().to_string();
        match (place, key.as_str()) {
            (Some(p), "" | ".") => format!("{p}: {reason}"),
            (Some(p), k) => format!("{p}, at `{k}`: {reason}"),
            (None, "" | ".") => reason,
            (None, k) => format!("at `{k}`: {reason}"),
        }
    })
}

/// What an election's manifest says, as the organiser should check it: per
/// constituency its candidates, seats, approval bounds, quotas and parity
/// rule; the trustees, the window and the lottery.
pub fn describe(manifest: &Manifest) -> String {
    use urne_crypto::seats::ParityRule;
    use urne_verify::report::count;
    let mut out = format!("title: {}\n", manifest.title);
    out.push_str(&format!(
        "voting: from {} to {}\n",
        time_text(manifest.voting_opens),
        time_text(manifest.voting_closes)
    ));
    out.push_str(&format!(
        "trustees: {} ({} needed to decrypt): {}\n",
        manifest.trustees.len(),
        manifest.threshold,
        manifest
            .trustees
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let l = &manifest.lottery;
    let method = match (&l.beacon, l.sources.is_empty()) {
        (Some(b), _) => format!(
            "contributors' secrets and {} beacon round {}",
            b.network, b.round
        ),
        (None, false) => format!(
            "RFC 3797 over {}",
            count(l.sources.len() as u64, "public source", "public sources")
        ),
        (None, true) => "no beacon".into(),
    };
    out.push_str(&format!(
        "lottery: {}; {}; reveals end {}\n",
        method,
        count(l.contributors.len() as u64, "contributor", "contributors"),
        time_text(l.reveal_deadline)
    ));
    for c in &manifest.constituencies {
        let r = &c.rules;
        out.push_str(&format!(
            "\n{} ({}): {}, {} by vote and {} by lot; a ballot approves {} to {} of {}\n",
            c.name,
            c.id,
            count(u64::from(r.seats), "seat", "seats"),
            r.elected_seats(),
            r.lottery_seats,
            c.approval_min,
            c.approval_max,
            count(c.candidates.len() as u64, "candidate", "candidates"),
        ));
        let mut categories: Vec<&str> = c.candidates.iter().map(|k| k.category.as_str()).collect();
        categories.sort_unstable();
        categories.dedup();
        for cat in categories {
            let n = c.candidates.iter().filter(|k| k.category == cat).count();
            out.push_str(&format!(
                "  category {:?}: {}, seats between {} and {}\n",
                cat,
                count(n as u64, "candidate", "candidates"),
                r.min_for(cat),
                r.max_for(cat)
            ));
        }
        out.push_str(&format!(
            "  parity: {}\n",
            match r.parity {
                ParityRule::None => "quotas only".to_string(),
                ParityRule::Alternating =>
                    "elected seats alternate categories while possible".to_string(),
                ParityRule::MaxShare { percent } =>
                    format!("no category above {percent} % of the seats"),
            }
        ));
    }
    out
}

/// `urne admin election create --dry-run`: the draft checked as the server
/// would, with stand-in service keys; nothing is sent.
async fn dry_run(client: Option<&Client>, path: &std::path::Path) -> Result<(), Failure> {
    use urne_crypto::credential::RegistrarKey;
    let draft = read_draft(path)?;
    let served = match client {
        Some(c) => c.board_key().await.ok(),
        None => None,
    };
    let board_key = served.unwrap_or_else(|| {
        *ed25519_dalek::SigningKey::from_bytes(&[9u8; 32])
            .verifying_key()
            .as_bytes()
    });
    let registrars: Vec<_> = draft
        .constituencies
        .iter()
        .map(|_| RegistrarKey::generate(&mut os_rng()).public())
        .collect();
    let manifest = draft
        .to_manifest(board_key, [0u8; 16], &registrars, [0u8; 32])
        .map_err(|e| {
            Failure::new(
                format!("manifest draft {}: {e}", path.display()),
                "fix the draft and run --dry-run again",
            )
        })?;
    manifest.validate().map_err(|e| {
        Failure::new(
            format!("manifest draft {}: {e}", path.display()),
            "fix the draft and run --dry-run again",
        )
    })?;
    super::output::print(&format!(
        "{}\nthe draft is valid; nothing was sent. Create the election with \
         `urne admin election create --manifest {}`\n",
        describe(&manifest),
        path.display()
    ));
    Ok(())
}

/// `urne admin elections`: id, title and phase of each election.
async fn list_elections(client: &Client) -> Result<(), Failure> {
    let ids = client.elections().await?;
    if ids.is_empty() {
        println!("no election yet: create one with `urne admin election create --manifest FILE`");
        return Ok(());
    }
    let mut t = Table::new(&["election", "phase", "title"]);
    for id in ids {
        let parsed = super::parse_hex32(&id, "election id")?;
        let s = client.status(&parsed).await?;
        t.row(vec![id, s.phase, s.title]);
    }
    super::output::print(&t.render());
    Ok(())
}

/// Shows the election, asks for confirmation (unless `yes`), and removes it.
async fn cancel_election(client: &Client, id: &[u8; 32], yes: bool) -> Result<(), Failure> {
    let status = client.status(id).await?;
    let hex_id = hex::encode(id);
    println!(
        "election {hex_id}\n  title: {}\n  phase: {}",
        status.title, status.phase
    );
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::new(
                "not cancelling without a confirmation",
                "run it in a terminal to confirm, or pass --yes",
            ));
        }
        eprint!("Remove this election and its whole board? This cannot be undone. Type `cancel` to confirm: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::plain(format!("cannot read the confirmation: {e}")))?;
        if answer.trim() != "cancel" {
            return Err(Failure::new(
                "not cancelled: the confirmation was not `cancel`",
                "nothing was changed; run the command again to cancel",
            ));
        }
    }
    let entries = client.cancel_election(id).await?;
    println!(
        "election {hex_id} cancelled: its board ({}) is removed; its invitations no longer work",
        urne_verify::report::count(entries, "entry", "entries")
    );
    Ok(())
}

/// Creates the election and checks what the service made of the draft.
pub async fn create_election(
    client: &Client,
    draft: &ManifestDraft,
) -> Result<([u8; 32], Manifest), Failure> {
    let created = client.create_election(draft).await?;
    let id = super::parse_hex32(&created.election, "election id")?;
    let bytes = parse_hex(&created.manifest, "manifest")?;
    let manifest = Manifest::from_bytes(&bytes)
        .map_err(|e| Failure::plain(format!("the server returned a malformed manifest: {e}")))?;
    if manifest.election_id() != id {
        return Err(Failure::plain(
            "the server's election id is not the hash of its manifest",
        ));
    }
    if !draft.matches(&manifest) {
        return Err(Failure::plain(
            "the server's manifest differs from the draft",
        ));
    }
    if manifest.board_key != client.board_key().await? {
        return Err(Failure::plain(
            "the manifest names another board key than the server's",
        ));
    }
    let (entry, _) = board::check_service_receipt(client, &id, &created.receipt).await?;
    if entry.kind() != Ok(EntryKind::Manifest) || entry.body != bytes {
        return Err(Failure::plain("the receipt does not cover the manifest"));
    }
    Ok((id, manifest))
}

async fn create(client: &Client, path: &std::path::Path) -> Result<(), Failure> {
    let draft = read_draft(path)?;
    let (id, manifest) = create_election(client, &draft).await?;
    println!("election {}", hex::encode(id));
    print!("{}", describe(&manifest));
    println!(
        "hint: add `election = \"{}\"` to your config file",
        hex::encode(id)
    );
    Ok(())
}

/// Imports a roster whose tokens the caller holds (saved before this call),
/// and checks the receipt; returns the number of members imported.
pub async fn roster(
    client: &Client,
    election: &[u8; 32],
    csv: &str,
    tokens: &[MemberToken],
) -> Result<u64, Failure> {
    let body = invitations::import_body(csv, tokens).map_err(|e| {
        Failure::new(
            e.to_string(),
            "check the roster file (header `pseudonym,constituency,pool,category`)",
        )
    })?;
    let import = client.import_roster(election, body).await?;
    let (entry, _) = board::check_service_receipt(client, election, &import.receipt).await?;
    if entry.kind() != Ok(EntryKind::Roster) {
        return Err(Failure::plain("the receipt does not cover a roster entry"));
    }
    Ok(import.members)
}

/// The tokens for `csv`: those of an existing tokens file (a retried import),
/// or fresh ones, written to `path` (0600, atomically) before anything is sent.
fn tokens_for(
    server: &str,
    election: &[u8; 32],
    csv: &str,
    path: &std::path::Path,
) -> Result<Vec<MemberToken>, Failure> {
    if path.exists() {
        let bytes = secret_file::read(path)?;
        let tokens = invitations::read_tokens_file(&bytes).map_err(|e| {
            Failure::new(
                format!("{}: {e}", path.display()),
                "pass another --tokens-out file; keep this one if its tokens were handed out",
            )
        })?;
        invitations::import_body(csv, &tokens).map_err(|e| {
            Failure::new(
                format!("{} holds tokens for another roster: {e}", path.display()),
                "pass another --tokens-out file; keep this one if its tokens were handed out",
            )
        })?;
        println!(
            "reusing the tokens in {} (this import was started before)",
            path.display()
        );
        return Ok(tokens);
    }
    let tokens = invitations::draw(csv, &mut os_rng()).map_err(|e| {
        Failure::new(
            e.to_string(),
            "check the roster file (header `pseudonym,constituency,pool,category`)",
        )
    })?;
    secret_file::create(path, &invitations::tokens_file(server, election, &tokens))?;
    Ok(tokens)
}

async fn import_roster(
    client: &Client,
    election: &[u8; 32],
    file: &std::path::Path,
    tokens_out: &std::path::Path,
) -> Result<(), Failure> {
    let csv = std::fs::read_to_string(file).map_err(|e| {
        Failure::new(
            format!("cannot read {}: {e}", file.display()),
            "check the roster path",
        )
    })?;
    let tokens = tokens_for(client.base(), election, &csv, tokens_out)?;
    println!(
        "tokens written to {} before the import (give each member their invitation)",
        tokens_out.display()
    );
    let members = roster(client, election, &csv, &tokens)
        .await
        .inspect_err(|_| {
            eprintln!(
                "the tokens stay in {}: the same command again sends the same tokens, \
             so a retry is safe whether or not this import went through",
                tokens_out.display()
            );
        })?;
    println!(
        "imported {}",
        urne_verify::report::count(members, "member", "members")
    );
    // The pool must be able to complete each assembly before the open.
    if let Ok(status) = client.status(election).await {
        for c in &status.constituencies {
            if let Some(why) = &c.pool_shortfall {
                eprintln!(
                    "warning: constituency {}: the lottery pool cannot complete the assembly yet \
                     ({why}); import more pool members before `urne admin open`",
                    c.id
                );
            }
        }
    }
    Ok(())
}

/// The file that keeps a reissue's old and new tokens until its answer
/// arrives: `FILE.reissue` beside the tokens file (mode 0600).
fn pending_reissue_path(tokens: &std::path::Path) -> PathBuf {
    let mut name = tokens.as_os_str().to_owned();
    name.push(".reissue");
    PathBuf::from(name)
}

/// Replaces `pseudonym`'s unused enrolment token. The new token is written
/// (with the old one) to the pending file before anything is sent, so a lost
/// answer loses nothing: the same command again sends the same pair. The
/// tokens file is rewritten with the new token once the service has it.
async fn reissue(
    client: &Client,
    election: &[u8; 32],
    pseudonym: &str,
    tokens_path: &std::path::Path,
) -> Result<(), Failure> {
    let bad_file = |e: invitations::InvitationError| {
        Failure::new(
            format!("{}: {e}", tokens_path.display()),
            "pass the tokens file written by `urne admin roster import`",
        )
    };
    let mut tokens =
        invitations::read_tokens_file(&secret_file::read(tokens_path)?).map_err(bad_file)?;
    let at = tokens
        .iter()
        .position(|t| t.pseudonym == pseudonym)
        .ok_or_else(|| {
            Failure::new(
                format!("{pseudonym:?} is not in {}", tokens_path.display()),
                "check the pseudonym and pass the tokens file of this roster",
            )
        })?;
    let pending_path = pending_reissue_path(tokens_path);
    let (old, new) = if pending_path.exists() {
        let pending =
            invitations::read_tokens_file(&secret_file::read(&pending_path)?).map_err(bad_file)?;
        match pending.as_slice() {
            [old, new] if old.pseudonym == pseudonym && new.pseudonym == pseudonym => {
                println!("resuming the reissue started before for {pseudonym}");
                (old.token.clone(), new.token.clone())
            }
            _ => {
                return Err(Failure::new(
                    format!(
                        "{} holds an unfinished reissue for another member",
                        pending_path.display()
                    ),
                    "finish that one first: run the same reissue command for its member again",
                ))
            }
        }
    } else {
        let new = invitations::fresh_token(&mut os_rng());
        let old = tokens[at].token.clone();
        let pair = [
            tokens[at].clone(),
            MemberToken {
                pseudonym: pseudonym.to_string(),
                token: new.clone(),
            },
        ];
        secret_file::create(
            &pending_path,
            &invitations::tokens_file(client.base(), election, &pair),
        )?;
        (old, new)
    };
    let digest = |t: &str| -> Result<[u8; 32], Failure> {
        let token: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(
            urne_crypto::text::decode_hex_array(t)
                .map_err(|_| Failure::plain(format!("the token of {pseudonym:?} is malformed")))?,
        );
        Ok(urne_crypto::entry::enrolment_token_digest(&token))
    };
    let (old_digest, new_digest) = (digest(&old)?, digest(&new)?);
    if let Err(e) = client
        .reissue_token(election, &old_digest, &new_digest)
        .await
    {
        if e.code() == Some("already_enrolled") {
            let _ = std::fs::remove_file(&pending_path);
            return Err(Failure::new(
                format!("{pseudonym} has already enrolled, so a new invitation cannot help"),
                "if they lost their wallet, only the recovery code they were shown at enrolment \
                 can rebuild it: `urne voter recover --code CODE --invitation INVITATION`",
            ));
        }
        let mut f = Failure::from(e);
        f.hint = Some(format!(
            "{}; the new token is kept in {}, so the same command again is safe",
            f.hint.unwrap_or_else(|| "try again".into()),
            pending_path.display()
        ));
        return Err(f);
    }
    tokens[at].token = new;
    secret_file::write(
        tokens_path,
        &invitations::tokens_file(client.base(), election, &tokens),
    )?;
    std::fs::remove_file(&pending_path)
        .map_err(|e| Failure::plain(format!("cannot remove {}: {e}", pending_path.display())))?;
    println!("the old invitation of {pseudonym} no longer works; the new one:");
    println!(
        "{}",
        invitations::invitation_link(client.base(), election, pseudonym, &tokens[at].token)
    );
    println!("(also written to {})", tokens_path.display());
    Ok(())
}

/// Runs an organiser action and checks the receipts of the entries it appended.
pub async fn admin_action(
    client: &Client,
    election: &[u8; 32],
    name: &str,
) -> Result<Vec<Entry>, Failure> {
    let receipts: Vec<ReceiptJson> = client.admin(election, name).await?;
    let mut entries = Vec::with_capacity(receipts.len());
    for r in &receipts {
        entries.push(board::check_service_receipt(client, election, r).await?.0);
    }
    Ok(entries)
}

async fn action(
    ctx: &Context,
    client: &Client,
    e: &ElectionArg,
    name: &str,
) -> Result<(), Failure> {
    let id = ctx.election(client, e).await?;
    let entries = admin_action(client, &id, name).await?;
    let kinds: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.kind().ok())
        .map(|k| k.name())
        .collect();
    println!(
        "{name}: done ({} entries: {})",
        kinds.len(),
        kinds.join(", ")
    );
    Ok(())
}

/// Posts the beacon round and checks the receipt.
pub async fn post_beacon(
    client: &Client,
    election: &[u8; 32],
    value: &BeaconValue,
) -> Result<(), Failure> {
    for r in client.beacon(election, value).await? {
        board::check_service_receipt(client, election, &r).await?;
    }
    Ok(())
}

/// `urne admin beacon` (also `urne lottery beacon`).
pub async fn beacon(ctx: &Context, client: &Client, b: &BeaconArgs) -> Result<(), Failure> {
    let id = ctx.election(client, &b.election).await?;
    let value = b.value()?;
    post_beacon(client, &id, &value).await?;
    if value.values.is_empty() {
        println!("beacon round {} posted and verified", value.round);
    } else {
        println!("RFC 3797 values of {} sources posted", value.values.len());
    }
    Ok(())
}

async fn status(ctx: &Context, client: &Client, e: &ElectionArg) -> Result<(), Failure> {
    let id = ctx.election(client, e).await?;
    let s = client.status(&id).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    super::output::print(&status_text(&id, &s, now));
    Ok(())
}

/// A Unix time as RFC 3339 (UTC, seconds).
fn time_text(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

/// `urne admin status`: the phase, the window, the trustees, the lottery,
/// one line per constituency, and the next step.
pub fn status_text(id: &[u8; 32], s: &ElectionStatus, now: u64) -> String {
    use urne_verify::report::count;
    let mut out = format!("{} ({})\n", s.title, hex::encode(id));
    out.push_str(&format!(
        "phase: {}; board: {}\n",
        s.phase,
        count(s.size, "entry", "entries")
    ));
    out.push_str(&format!(
        "voting: from {} to {}\n",
        time_text(s.voting_opens),
        time_text(s.voting_closes)
    ));
    out.push_str(&format!(
        "trustees: {} of {} dealt, {} acknowledged{}; {} needed to decrypt{}\n",
        s.dealings.len(),
        s.trustees,
        s.acknowledged.len(),
        if s.disqualified.is_empty() {
            String::new()
        } else {
            format!(", disqualified: {:?}", s.disqualified)
        },
        s.threshold,
        if s.election_key.is_some() {
            "; election key published"
        } else {
            ""
        }
    ));
    let l = &s.lottery;
    out.push_str(&format!(
        "lottery: {} of {} contributors committed, {} revealed{}{}{}\n",
        l.commits.len(),
        l.contributors,
        l.reveals.len(),
        if l.reveals_closed {
            "; reveals closed"
        } else {
            ""
        },
        if l.beacon { "; beacon posted" } else { "" },
        if l.seed { "; seed fixed" } else { "" }
    ));
    let mut t = Table::new(&[
        "constituency",
        "candidates",
        "seats",
        "by lot",
        "members",
        "enrolled",
        "credentials",
        "ballots",
        "result",
    ]);
    for c in &s.constituencies {
        let result = if c.seated {
            "seated".to_string()
        } else if c.tallied {
            "tallied".to_string()
        } else if !c.shares.is_empty() {
            format!("{} of {} shares", c.shares.len(), s.threshold)
        } else {
            "-".to_string()
        };
        t.row(vec![
            c.id.clone(),
            c.candidates.len().to_string(),
            c.seats.to_string(),
            c.lottery_seats.to_string(),
            c.members.to_string(),
            c.enrolled.to_string(),
            c.issuances.to_string(),
            c.ballots.to_string(),
            result,
        ]);
    }
    out.push_str(&t.render());
    for c in &s.constituencies {
        if let Some(why) = &c.pool_shortfall {
            out.push_str(&format!(
                "lottery pool of {}: cannot complete the assembly yet: {why}\n",
                c.id
            ));
        }
    }
    out.push_str(&format!("next step: {}\n", next_step(s, now)));
    out
}

/// What the organiser (or whom they wait for) does next, with the command.
pub fn next_step(s: &ElectionStatus, now: u64) -> String {
    let l = &s.lottery;
    let waiting_trustees = |done: &[u32]| {
        (1..=s.trustees as u32)
            .filter(|i| !done.contains(i) && !s.disqualified.contains(i))
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match s.phase.as_str() {
        "setup" => {
            if s.constituencies.iter().all(|c| c.members == 0) {
                "import the roster: `urne admin roster import ROSTER.csv --tokens-out tokens.csv`"
                    .into()
            } else if let Some(c) = s.constituencies.iter().find(|c| c.pool_shortfall.is_some()) {
                format!(
                    "import more lottery pool members for {} (see above): \
                     `urne admin roster import MORE.csv --tokens-out more-tokens.csv`",
                    c.id
                )
            } else if s.dealings.len() < s.trustees && s.election_key.is_none() {
                format!(
                    "wait for the trustees' dealings (missing: trustee {}): each runs `urne trustee dkg --key KEY.json`",
                    waiting_trustees(&s.dealings)
                )
            } else if s.election_key.is_none() && s.acknowledged.len() < s.trustees {
                format!(
                    "wait for the trustees' acknowledgements (missing: trustee {}): each runs `urne trustee dkg --key KEY.json` again",
                    waiting_trustees(&s.acknowledged)
                )
            } else if s.election_key.is_none() {
                "publish the election key: `urne admin election-key`".into()
            } else if now < s.voting_opens {
                format!(
                    "members enrol and take their credentials; open the vote from {}: `urne admin open`",
                    time_text(s.voting_opens)
                )
            } else {
                "open the vote: `urne admin open`".into()
            }
        }
        "open" if now < s.voting_closes => format!(
            "voting is open until {}; then close it: `urne admin close`",
            time_text(s.voting_closes)
        ),
        "open" => "close the vote: `urne admin close`".into(),
        "closed" => {
            if let Some(c) = s
                .constituencies
                .iter()
                .find(|c| !c.tallied && (c.shares.len() as u32) < s.threshold)
            {
                format!(
                    "wait for the trustees' decryption shares ({} of {} for {}): each runs `urne trustee decrypt --key KEY.json`",
                    c.shares.len(),
                    s.threshold,
                    c.id
                )
            } else if s.constituencies.iter().any(|c| !c.tallied) {
                "publish the tallies: `urne admin tally`".into()
            } else if l.contributors > 0 && !l.reveals_closed {
                format!(
                    "contributors reveal ({} of {} so far: `urne lottery reveal --key KEY.json`); then end the reveals: `urne admin reveals-close`",
                    l.reveals.len(),
                    l.commits.len()
                )
            } else if !l.beacon {
                "post the beacon round once it is published: `urne admin beacon --from ROUND.json`"
                    .into()
            } else {
                "fix the seed and draw the seats: `urne admin seats`".into()
            }
        }
        _ => "the election is complete: `urne results`, then `urne export --out EXPORT` and `urne-verify EXPORT`"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::api::{ConstituencyStatus, LotteryStatus};

    fn status(phase: &str) -> ElectionStatus {
        ElectionStatus {
            phase: phase.into(),
            trustees: 3,
            threshold: 2,
            voting_opens: 100,
            voting_closes: 200,
            constituencies: vec![ConstituencyStatus {
                id: "north".into(),
                members: 10,
                ..Default::default()
            }],
            lottery: LotteryStatus {
                contributors: 2,
                commits: vec![1, 2],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn the_next_step_follows_the_election() {
        let mut s = status("setup");
        s.constituencies[0].members = 0;
        assert!(next_step(&s, 0).contains("roster import"));
        let mut s = status("setup");
        s.dealings = vec![1, 3];
        assert!(next_step(&s, 0).contains("missing: trustee 2"));
        s.dealings = vec![1, 2, 3];
        s.acknowledged = vec![1, 2];
        assert!(next_step(&s, 0).contains("acknowledgements (missing: trustee 3)"));
        s.acknowledged = vec![1, 2, 3];
        assert!(next_step(&s, 0).contains("urne admin election-key"));
        s.election_key = Some("ab".into());
        assert!(next_step(&s, 50).contains("open the vote from"));
        assert_eq!(next_step(&s, 150), "open the vote: `urne admin open`");
        let s = status("open");
        assert!(next_step(&s, 150).contains("voting is open until"));
        assert!(next_step(&s, 250).contains("urne admin close"));
        let mut s = status("closed");
        s.constituencies[0].shares = vec![1];
        assert!(next_step(&s, 250).contains("decryption shares (1 of 2 for north)"));
        s.constituencies[0].shares = vec![1, 2];
        assert!(next_step(&s, 250).contains("urne admin tally"));
        s.constituencies[0].tallied = true;
        assert!(next_step(&s, 250).contains("urne admin reveals-close"));
        s.lottery.reveals_closed = true;
        assert!(next_step(&s, 250).contains("urne admin beacon"));
        s.lottery.beacon = true;
        assert!(next_step(&s, 250).contains("urne admin seats"));
        assert!(next_step(&status("seated"), 250).contains("urne results"));
        // Every command a step names exists.
        for step in [
            "admin roster import",
            "trustee dkg",
            "admin election-key",
            "admin open",
            "admin close",
            "trustee decrypt",
            "admin tally",
            "lottery reveal",
            "admin reveals-close",
            "admin beacon",
            "admin seats",
            "results",
        ] {
            let args: Vec<&str> = std::iter::once("urne")
                .chain(step.split(' '))
                .chain(["--help"])
                .collect();
            let parsed = <crate::cli::Cli as clap::Parser>::try_parse_from(&args);
            assert!(
                matches!(&parsed, Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp),
                "{args:?}: {parsed:?}"
            );
        }
        let text = status_text(&[0u8; 32], &status("open"), 150);
        assert!(text.contains("next step: voting is open until"), "{text}");
        assert!(text.contains("enrolled"), "{text}");
    }
}
