//! `urne demo`: a whole election against a real in-process server, driven
//! through the HTTP API exactly as separate users would, each with their own
//! keys: organiser, trustees, lottery contributors, voters and an auditor.

pub mod population;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use indicatif::ProgressBar;
use rand_chacha::rand_core::Rng;
use rayon::prelude::*;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use urne_crypto::ballot::EncryptedVote;
use urne_crypto::beacon::{DemoNetwork, DEMO_NETWORK_NAME};
use urne_crypto::credential::Credential;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, BeaconValue, Entry};
use urne_crypto::group::{h, os_rng};
use urne_crypto::manifest::Manifest;
use urne_crypto::record::{BallotVerifier, Record};
use urne_crypto::schnorr::BallotSecretKey;

use crate::api::auth::OrganiserToken;
use crate::api::limits::Limits;
use crate::cli::output::{progress, Table};
use crate::cli::Failure;
use crate::cli::{
    admin, auditor as auditor_cli, lottery as lottery_cli, trustee as trustee_cli,
    voter as voter_cli,
};
use crate::client::auditor::{self, ExportVerdict};
use crate::client::draft::{ContributorDraft, TrusteeDraft, WitnessDraft};
use crate::client::keys::KeyFile;
use crate::client::{board, secret_file, voter as steps, Client, ClientError};
use crate::server::{self, ServerConfig};
use crate::store::sealed::{SecretsAtRest, SecretsKey};
use population::{Member, Shape};

/// Size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// 3 constituencies, 300 voters, 3-of-5 trustees (about 15 s).
    Small,
    /// The reference case: 1,000 candidates over 13 constituencies (one with
    /// 210), 10,000 voters, a quarter of the seats by lot, gender parity
    /// (about 10 minutes on two cores in a release build, most of it the
    /// voters' proving; far longer in a debug build).
    M6r,
}

/// Arguments of `urne demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Size of the election.
    #[arg(long, value_enum, default_value = "small")]
    pub preset: Preset,
    /// Seed of every synthetic choice and participant key (reproducible runs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep everything in DIR: server data in DIR/data, keys in DIR/keys, the export in DIR/export.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Once done, keep serving the board and its public site (results,
    /// lottery, board explorer, verification in the browser) until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// Where the demo's service listens (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

/// An attack the demo attempts and the server must refuse.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// What was attempted.
    pub attempt: String,
    /// The server's error code, or what happened instead.
    pub outcome: String,
    /// Whether it was refused.
    pub refused: bool,
}

/// What a demo run established.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The election id.
    pub election: [u8; 32],
    /// Phases: name, duration, detail.
    pub phases: Vec<(String, Duration, String)>,
    /// The attacks and their outcomes.
    pub refusals: Vec<Refusal>,
    /// The verdict of the export check.
    pub verdict: ExportVerdict,
    /// Whether every tally equals the count of the voters' last choices.
    pub tallies_match: bool,
    /// The assembly per constituency, as tables.
    pub assembly: String,
    /// Where the export was written.
    pub export: PathBuf,
    /// The public site's results page of the election.
    pub results_url: String,
}

impl DemoReport {
    /// Whether everything the demo checks holds.
    pub fn passed(&self) -> bool {
        self.verdict.complete && self.tallies_match && self.refusals.iter().all(|r| r.refused)
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("election {}\n\n", hex::encode(self.election)));
        out.push_str(&self.assembly);
        out.push_str("refused as they must be:\n");
        let mut t = Table::new(&["attempt", "outcome", "refused"]);
        for r in &self.refusals {
            t.row(vec![
                r.attempt.clone(),
                r.outcome.clone(),
                if r.refused { "yes" } else { "NO" }.into(),
            ]);
        }
        out.push_str(&t.render());
        out.push_str("\nverification (urne-verify):\n");
        let v = &self.verdict;
        out.push_str(&format!(
            "  export {}: {} entries, root {}\n",
            self.export.display(),
            v.size,
            hex::encode(v.root),
        ));
        for line in &v.checks {
            out.push_str(&format!("  {line}\n"));
        }
        out.push_str(&format!(
            "  {} ballots counted; tallies equal the voters' last choices: {}; election complete: {}\n\n",
            v.ballots_counted,
            if self.tallies_match { "yes" } else { "NO" },
            if v.complete { "yes" } else { "NO" },
        ));
        let mut t = Table::new(&["phase", "seconds", "detail"]);
        let mut total = Duration::ZERO;
        for (name, d, detail) in &self.phases {
            total += *d;
            t.row(vec![
                name.clone(),
                format!("{:.2}", d.as_secs_f64()),
                detail.clone(),
            ]);
        }
        t.row(vec![
            "total".into(),
            format!("{:.2}", total.as_secs_f64()),
            String::new(),
        ]);
        out.push_str(&t.render());
        out.push_str(&format!("\nresults page: {}\n", self.results_url));
        out.push_str(if self.passed() {
            "\ndemo passed\n"
        } else {
            "\ndemo FAILED\n"
        });
        out
    }
}

/// Where a demo run with `--dir` keeps the key that seals its secret rows.
const KEPT_SECRETS_KEY: &str = "keys/secrets.key";

/// Writes the manifest and roster the demo used into `root`: a starting
/// point for a real election.
fn keep_templates(
    root: &std::path::Path,
    draft: &crate::client::draft::ManifestDraft,
    roster_csv: &str,
) -> Result<(), Failure> {
    let toml = toml::to_string(draft).map_err(|e| Failure::plain(format!("manifest: {e}")))?;
    let manifest = format!(
        "# The election manifest `urne demo` used: a starting point for a real\n\
         # election. Change the title, the dates, the constituencies and candidates,\n\
         # and put your trustees' and contributors' keys in; then\n\
         # `urne admin election create --manifest manifest.toml --dry-run`.\n\n{toml}"
    );
    let write = |name: &str, text: &str| {
        std::fs::write(root.join(name), text)
            .map_err(|e| Failure::plain(format!("{}: {e}", root.join(name).display())))
    };
    write("manifest.toml", &manifest)?;
    write("roster.csv", roster_csv)
}

/// Runs the demo and prints its report.
pub async fn run(args: DemoArgs) -> Result<(), Failure> {
    let report = run_demo(&args, true).await?;
    if !args.serve {
        print!("{}", report.render());
        println!("(the service has stopped; `urne demo --serve` keeps it serving that page)");
    }
    if let Some(dir) = &args.dir {
        println!(
            "\nkept in {d}: manifest.toml and roster.csv (templates), keys/, export, data/.\n\
             To serve the board again: urne serve --data {d}/data --secrets-key {d}/{KEPT_SECRETS_KEY}",
            d = dir.display()
        );
    }
    if report.passed() {
        Ok(())
    } else {
        Err(Failure::new(
            "the demo's checks failed",
            "see the report above",
        ))
    }
}

struct Phases {
    rows: Vec<(String, Duration, String)>,
    started: Instant,
    show: bool,
}

impl Phases {
    fn done(&mut self, name: &str, detail: String) {
        let d = self.started.elapsed();
        if self.show {
            eprintln!("{name:>28}: {:>7.2}s  {detail}", d.as_secs_f64());
        }
        self.rows.push((name.to_string(), d, detail));
        self.started = Instant::now();
    }

    fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        if self.show {
            progress(len, msg)
        } else {
            ProgressBar::hidden()
        }
    }
}

/// A voter of the demo, with its own keys.
struct Voter {
    index: usize,
    pseudonym: String,
    member: [u8; 32],
    constituency: String,
    key: SigningKey,
    ballot: BallotSecretKey,
    token: String,
}

fn fail(what: &str) -> impl Fn(ClientError) -> Failure + '_ {
    move |e| Failure::plain(format!("{what}: {e}"))
}

/// Runs `f` over `items` with at most `limit` in flight; results in item order.
async fn concurrently<T, R, F, Fut>(
    items: Vec<T>,
    limit: usize,
    bar: &ProgressBar,
    f: F,
) -> Result<Vec<R>, Failure>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, Failure>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut set = JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Failure::plain(e.to_string()))?;
        let fut = f(item);
        set.spawn(async move {
            let r = fut.await;
            drop(permit);
            (i, r)
        });
    }
    let mut out: Vec<Option<R>> = (0..set.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.map_err(|e| Failure::plain(format!("task failed: {e}")))?;
        out[i] = Some(r?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out.into_iter().flatten().collect())
}

/// The outcome of an attempt that must be refused.
fn refusal<T>(attempt: &str, result: Result<T, ClientError>) -> Refusal {
    match result {
        Ok(_) => Refusal {
            attempt: attempt.into(),
            outcome: "accepted".into(),
            refused: false,
        },
        Err(e) => match e.code() {
            Some(code) => Refusal {
                attempt: attempt.into(),
                outcome: code.to_string(),
                refused: true,
            },
            None => Refusal {
                attempt: attempt.into(),
                outcome: e.to_string(),
                refused: false,
            },
        },
    }
}

/// Runs the whole election; `show` prints phases and progress bars.
pub async fn run_demo(args: &DemoArgs, show: bool) -> Result<DemoReport, Failure> {
    let shape = Shape::of(args.preset);
    let seed = args.seed;
    let mut phases = Phases {
        rows: Vec::new(),
        started: Instant::now(),
        show,
    };
    let tmp;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()
                .map_err(|e| Failure::plain(format!("temporary directory: {e}")))?;
            tmp.path().to_path_buf()
        }
    };
    let io = |what: &str, e: std::io::Error| Failure::plain(format!("{what}: {e}"));
    std::fs::create_dir_all(root.join("keys")).map_err(|e| io("keys directory", e))?;

    // The service.
    let mut token = [0u8; 24];
    os_rng().fill_bytes(&mut token);
    let organiser_token = hex::encode(token);
    // The board's clock: the system clock, moved forward to the planned close
    // once the voters are done (the demo plays its schedule in seconds).
    let clock = crate::clock::BoardClock::system();
    let config = ServerConfig {
        data_dir: root.join("data"),
        listen: args.listen,
        organiser_token: Some(
            OrganiserToken::new(&organiser_token).map_err(|e| Failure::plain(e.to_string()))?,
        ),
        limits: Limits {
            read_rate: None,
            write_rate: None,
            ..Limits::default()
        },
        clock: clock.clone(),
        test_support: false,
        // Throw-away data keeps its secret rows in the clear; data kept in
        // --dir is sealed under DIR/keys/secrets.key, so that `urne serve`
        // can reopen it.
        secrets: match &args.dir {
            Some(_) => SecretsAtRest::Sealed(
                SecretsKey::load_or_create(&root.join(KEPT_SECRETS_KEY), &root.join("data"))
                    .map_err(|e| Failure::plain(e.to_string()))?,
            ),
            None => SecretsAtRest::Plain,
        },
    };
    let running = server::start(config)
        .await
        .map_err(|e| Failure::plain(format!("starting the server: {e}")))?;
    let url = format!("http://{}", running.local_addr());
    let organiser = Client::new(&url)?.with_organiser_token(Some(organiser_token));
    // Two witnesses on loopback, following every election of this board.
    let board_key = organiser.board_key().await.map_err(fail("board key"))?;
    let mut witnesses = Vec::new();
    let mut witness_tasks = Vec::new();
    for i in 1..=DEMO_WITNESSES {
        let (draft, task) = start_witness(i, &root, board_key).await?;
        witnesses.push(draft);
        witness_tasks.push(task);
    }
    let service = Service {
        url: &url,
        organiser: &organiser,
        clock: &clock,
        witnesses: &witnesses,
    };
    let result = drive(args, &shape, seed, &root, service, &mut phases).await;
    let report = result.map(
        |(election, refusals, verdict, tallies_match, assembly)| DemoReport {
            election,
            phases: Vec::new(),
            refusals,
            verdict,
            tallies_match,
            assembly,
            export: root.join("export"),
            results_url: format!("{url}/elections/{}#results", hex::encode(election)),
        },
    );
    if let (true, Ok(served)) = (args.serve, &report) {
        if show {
            let so_far = DemoReport {
                phases: phases.rows.clone(),
                ..served.clone()
            };
            print!("{}", so_far.render());
            println!("serving the board and its public site at {url}/elections; Ctrl-C stops");
        }
        // A failed signal handler ends the serving at once.
        let _ = tokio::signal::ctrl_c().await;
    }
    for task in witness_tasks {
        task.abort();
    }
    running
        .shutdown()
        .await
        .map_err(|e| Failure::plain(format!("stopping the server: {e}")))?;
    phases.done("server shutdown", String::new());
    Ok(DemoReport {
        phases: phases.rows,
        ..report?
    })
}

type Outcome = ([u8; 32], Vec<Refusal>, ExportVerdict, bool, String);

/// Witnesses the demo runs (all of them form the quorum).
const DEMO_WITNESSES: u32 = 2;

/// Starts witness `i` on a loopback port, its state in `root/witness-i`.
async fn start_witness(
    i: u32,
    root: &Path,
    board_key: [u8; 32],
) -> Result<(WitnessDraft, tokio::task::JoinHandle<()>), Failure> {
    crate::witness::spawn_loopback(
        &format!("witness-{i}.demo"),
        &root.join(format!("witness-{i}")),
        board_key,
    )
    .await
    .map_err(|e| Failure::plain(format!("witness {i}: {e}")))
}

/// Waits (up to a minute) until a quorum of the manifest's witnesses has
/// cosigned the board's newest checkpoint; returns their names.
async fn witnessed(
    client: &Client,
    election: &[u8; 32],
    manifest: &Manifest,
) -> Result<Vec<String>, Failure> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, note) = client
            .checkpoint(election)
            .await
            .map_err(fail("checkpoint"))?;
        let names = manifest.cosigners(note.as_bytes()).names();
        if names.len() >= manifest.witness_quorum as usize {
            return Ok(names);
        }
        if Instant::now() > deadline {
            return Err(Failure::new(
                format!(
                    "the witnesses did not cosign the board's checkpoint in time ({} of {})",
                    names.len(),
                    manifest.witness_quorum
                ),
                "this is a bug; rerun with URNE_LOG=warn to see the witnesses' answers",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The demo's running service, as `drive` uses it.
#[derive(Clone, Copy)]
struct Service<'a> {
    url: &'a str,
    organiser: &'a Client,
    clock: &'a crate::clock::BoardClock,
    witnesses: &'a [WitnessDraft],
}

#[allow(clippy::too_many_lines)]
async fn drive(
    args: &DemoArgs,
    shape: &Shape,
    seed: u64,
    root: &Path,
    service: Service<'_>,
    phases: &mut Phases,
) -> Result<Outcome, Failure> {
    let Service {
        url,
        organiser,
        clock,
        witnesses,
    } = service;
    let keys_dir = root.join("keys");
    let mut rng = population::voter_rng(seed, 0, 0);
    let limit = args.concurrency;

    // Participants' keys, each in its own key file.
    let mut trustee_files = Vec::new();
    let mut trustees = Vec::new();
    for i in 1..=shape.trustees.0 {
        let k = KeyFile::generate("trustee", &format!("trustee {i}"), &mut rng);
        let path = keys_dir.join(format!("trustee-{i}.json"));
        k.save(&path)?;
        trustees.push(TrusteeDraft {
            name: k.name.clone(),
            signing_key: hex::encode(k.signing()?.verifying_key().to_bytes()),
            encryption_key: hex::encode(k.trustee_key()?.public_key().compress().to_bytes()),
        });
        trustee_files.push(path);
    }
    let mut contributor_files = Vec::new();
    let mut contributors = Vec::new();
    for i in 1..=shape.contributors {
        let k = KeyFile::generate("contributor", &format!("contributor {i}"), &mut rng);
        let path = keys_dir.join(format!("contributor-{i}.json"));
        k.save(&path)?;
        contributors.push(ContributorDraft {
            name: k.name.clone(),
            signing_key: hex::encode(k.signing()?.verifying_key().to_bytes()),
        });
        contributor_files.push(path);
    }
    let auditor_key = KeyFile::generate("auditor", "auditor", &mut rng);
    auditor_key.save(&keys_dir.join("auditor.json"))?;
    // The demo's own beacon network (a BLS key of drand's quicknet scheme):
    // a real election names drand quicknet instead.
    let mut network_seed = zeroize::Zeroizing::new([0u8; 64]);
    population::voter_rng(seed, 9, 0).fill_bytes(network_seed.as_mut());
    let beacon_network = DemoNetwork::from_seed(&network_seed);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let schedule = population::Schedule::new(args.preset, started, &beacon_network);
    let mut draft = population::manifest_draft(shape, &mut rng, trustees, contributors, &schedule);
    draft.witnesses = witnesses.to_vec();
    draft.witness_quorum = Some(DEMO_WITNESSES);
    let members = population::members(shape, &mut rng);
    phases.done(
        "keys and synthetic data",
        format!(
            "{} trustees, {} contributors, {} members",
            shape.trustees.0,
            shape.contributors,
            members.len()
        ),
    );

    if args.dir.is_some() {
        keep_templates(root, &draft, &population::roster_csv(&members))?;
    }

    // Organiser: election and roster.
    let (election, manifest) = admin::create_election(organiser, &draft).await?;
    // The organiser's side draws the tokens and holds them before the import
    // (a real organiser writes them to a file first: `urne admin roster import`).
    let roster_csv = population::roster_csv(&members);
    let tokens =
        crate::client::invitations::draw(&roster_csv, &mut population::voter_rng(seed, 5, 0))
            .map_err(|e| Failure::plain(e.to_string()))?;
    let imported = admin::roster(organiser, &election, &roster_csv, &tokens).await?;
    if imported != members.len() as u64 {
        return Err(Failure::plain(format!(
            "{imported} members imported of {}",
            members.len()
        )));
    }
    let candidates: usize = manifest
        .constituencies
        .iter()
        .map(|c| c.candidates.len())
        .sum();
    phases.done(
        "manifest and roster",
        format!(
            "{} constituencies, {candidates} candidates",
            manifest.constituencies.len()
        ),
    );

    // Members enrol, each with its own key.
    let voters: Vec<Arc<Voter>> = members
        .iter()
        .enumerate()
        .map(|(i, m): (usize, &Member)| {
            let mut r = population::voter_rng(seed, 1, i);
            let mut key_seed = [0u8; 32];
            r.fill_bytes(&mut key_seed);
            let token = tokens
                .iter()
                .find(|t| t.pseudonym == m.pseudonym)
                .map(|t| t.token.to_string())
                .ok_or_else(|| Failure::plain(format!("no token for {}", m.pseudonym)))?;
            Ok(Arc::new(Voter {
                index: i,
                pseudonym: m.pseudonym.clone(),
                member: urne_crypto::entry::member_id(&election, &m.pseudonym),
                constituency: m.constituency.clone(),
                key: SigningKey::from_bytes(&key_seed),
                ballot: BallotSecretKey::generate(&mut population::voter_rng(seed, 2, i)),
                token,
            }))
        })
        .collect::<Result<_, Failure>>()?;
    let bar = phases.bar(voters.len() as u64, "enrolment");
    concurrently(voters.clone(), limit, &bar, |v| {
        let client = organiser.clone();
        async move {
            let entry = urne_crypto::voter::enrollment(election, &v.pseudonym, &v.key);
            client
                .enroll(&election, &v.token, &entry.to_bytes())
                .await
                .map_err(fail("enrolment"))
        }
    })
    .await?;
    let mut refusals = vec![refusal(
        "enrolment with a used token",
        organiser
            .enroll(
                &election,
                &voters[0].token,
                &urne_crypto::voter::enrollment(election, &voters[1].pseudonym, &voters[1].key)
                    .to_bytes(),
            )
            .await,
    )];
    phases.done("enrolment", format!("{} members", voters.len()));

    // Trustees: dealings, then share checks; contributors commit.
    let trustee_keys: Vec<KeyFile> = trustee_files
        .iter()
        .map(|p| KeyFile::load(p, "trustee"))
        .collect::<Result<_, _>>()?;
    for k in &trustee_keys {
        trustee_cli::dkg(organiser, &election, k).await?;
    }
    for k in &trustee_keys {
        trustee_cli::dkg(organiser, &election, k).await?;
    }
    phases.done(
        "key generation (DKG)",
        format!(
            "{} trustees, threshold {}",
            shape.trustees.0, shape.trustees.1
        ),
    );
    for path in &contributor_files {
        lottery_cli::commit(organiser, &election, path).await?;
    }
    phases.done(
        "lottery commitments",
        format!("{} contributors", contributor_files.len()),
    );
    admin::admin_action(organiser, &election, "election-key").await?;
    let setup = board::setup(organiser, &election).await?;
    let election_key = *setup
        .election_key
        .as_ref()
        .ok_or_else(|| Failure::plain("no election key after publishing it"))?
        .public_key();
    phases.done("election key", String::new());

    // Every voter obtains a credential before the vote opens: no ballot can
    // then follow its credential request on the board.
    let manifest = Arc::new(manifest);
    let bar = phases.bar(voters.len() as u64, "credentials");
    let credentials: Vec<Credential> = concurrently(voters.clone(), limit, &bar, |v| {
        let client = organiser.clone();
        let manifest = manifest.clone();
        async move { credential(&client, &manifest, &election, &v, seed).await }
    })
    .await?;
    let first = &voters[0];
    refusals.push(refusal(
        "second credential request",
        organiser
            .credential_commit(
                &election,
                &first.member,
                &steps::commit_signature(&election, &first.member, &first.key),
            )
            .await,
    ));
    phases.done(
        "credential issuance",
        format!("{} credentials, before the vote opens", credentials.len()),
    );
    admin::admin_action(organiser, &election, "open").await?;
    phases.done("open", String::new());

    // Ballots, proved on all cores, then cast concurrently; then some revotes.
    let weights: Vec<Vec<u64>> = manifest
        .constituencies
        .iter()
        .enumerate()
        .map(|(i, c)| {
            population::popularity(c.candidates.len(), &mut population::voter_rng(seed, 7, i))
        })
        .collect();
    let revoters: Vec<usize> = (0..voters.len()).filter(|i| i % 10 == 3).collect();
    let mut last_choice: Vec<Vec<bool>> = vec![Vec::new(); voters.len()];
    for (round, who) in [
        (0u64, (0..voters.len()).collect::<Vec<_>>()),
        (1, revoters.clone()),
    ] {
        let t = Instant::now();
        let built = build_ballots(
            &manifest,
            &election_key,
            &voters,
            &credentials,
            &weights,
            &who,
            seed,
            round,
            phases.show,
        )?;
        let proving = t.elapsed();
        for (i, choices, _) in &built {
            last_choice[*i] = choices.clone();
        }
        let bar = phases.bar(
            built.len() as u64,
            if round == 0 { "ballots" } else { "revotes" },
        );
        concurrently(built, limit, &bar, |(_, _, bytes)| {
            let client = organiser.clone();
            async move {
                client
                    .cast_ballot(&election, &bytes)
                    .await
                    .map_err(fail("ballot"))
            }
        })
        .await?;
        let name = if round == 0 { "ballots" } else { "revotes" };
        phases.done(
            name,
            format!(
                "{} cast ({:.1}s proving on {} threads)",
                who.len(),
                proving.as_secs_f64(),
                rayon::current_num_threads()
            ),
        );
    }

    // Invalid ballots the server must refuse.
    let verifier = BallotVerifier::new((*manifest).clone(), election_key);
    let v = &voters[1];
    let c = manifest
        .constituency(&v.constituency)
        .ok_or_else(|| Failure::plain("constituency missing"))?;
    let choices = last_choice[1].clone();
    let mut r = population::voter_rng(seed, 8, 1);
    let body = steps::ballot_body(
        election,
        c,
        &election_key,
        &v.ballot,
        &credentials[1],
        &choices,
        &mut r,
    )
    .map_err(|e| Failure::plain(e.to_string()))?;
    let mut cts = body.vote.ciphertexts().to_vec();
    cts[0].b += h();
    let tampered_vote = EncryptedVote::from_parts(
        cts,
        body.vote.bits_proof().clone(),
        body.vote.count_proof().clone(),
        *body.vote.representation(),
    );
    let tampered = urne_crypto::entry::BallotBody {
        vote: tampered_vote,
        ..body.clone()
    };
    let entry = steps::sign_ballot(election, tampered, &v.ballot, &mut r);
    refusals.push(refusal(
        "ballot with a tampered proof",
        organiser.cast_ballot(&election, &entry.to_bytes()).await,
    ));
    let other = manifest
        .constituencies
        .iter()
        .find(|k| k.id != v.constituency)
        .ok_or_else(|| Failure::plain("the demo needs two constituencies"))?;
    let approve: Vec<bool> = (0..other.candidates.len())
        .map(|i| i < other.approval_min.max(1) as usize)
        .collect();
    let entry = steps::ballot_entry(
        &verifier,
        &other.id,
        &v.ballot,
        &credentials[1],
        &approve,
        &mut r,
    )
    .map_err(|e| Failure::plain(e.to_string()))?;
    refusals.push(refusal(
        "ballot in another constituency's race",
        organiser.cast_ballot(&election, &entry.to_bytes()).await,
    ));
    let copied: Ballot = Entry::from_bytes(
        &steps::ballot_entry(
            &verifier,
            &c.id,
            &v.ballot,
            &credentials[1],
            &choices,
            &mut r,
        )
        .map_err(|e| Failure::plain(e.to_string()))?
        .to_bytes(),
    )
    .ok()
    .and_then(|e| e.body().ok())
    .ok_or_else(|| Failure::plain("ballot round trip"))?;
    let thief = &voters[2];
    let stolen = urne_crypto::entry::BallotBody {
        ballot_key: thief.ballot.public_key(),
        ..copied.body
    };
    let entry = steps::sign_ballot(election, stolen, &thief.ballot, &mut r);
    refusals.push(refusal(
        "another voter's credential and ciphertexts under a new key",
        organiser.cast_ballot(&election, &entry.to_bytes()).await,
    ));
    let late = steps::ballot_entry(
        &verifier,
        &c.id,
        &v.ballot,
        &credentials[1],
        &choices,
        &mut r,
    )
    .map_err(|e| Failure::plain(e.to_string()))?;
    refusals.push(refusal(
        "close before the manifest's voting_closes",
        organiser.admin(&election, "close").await,
    ));
    // The planned close: from it the service takes no ballot, even before
    // the organiser closes (and the board could not close earlier).
    clock.advance_to(manifest.voting_closes);
    refusals.push(refusal(
        "ballot at the planned close, before the close entry",
        organiser.cast_ballot(&election, &late.to_bytes()).await,
    ));
    admin::admin_action(organiser, &election, "close").await?;
    refusals.push(refusal(
        "ballot after close",
        organiser.cast_ballot(&election, &late.to_bytes()).await,
    ));
    phases.done(
        "attacks refused, close",
        format!("{} attempts", refusals.len()),
    );

    // Decryption by the first `threshold` trustees, tally.
    let bar = phases.bar(0, "replaying the board");
    let replay = board::replay(
        organiser,
        &election,
        urne_crypto::record::BallotCheck::Deferred,
        &|at, size| {
            bar.set_length(size);
            bar.set_position(at);
        },
    )
    .await?;
    bar.finish_and_clear();
    let mut shares = 0;
    for k in trustee_keys.iter().take(shape.trustees.1 as usize) {
        shares += trustee_cli::decrypt(organiser, &replay, k).await?;
    }
    admin::admin_action(organiser, &election, "tally").await?;
    phases.done(
        "decryption and tally",
        format!("{shares} decryption shares"),
    );

    // Lottery: reveals (the last contributor withholds), the reveal window
    // closed, then the beacon round (after it, as the manifest fixes), seats.
    for path in contributor_files
        .iter()
        .take(contributor_files.len().saturating_sub(1))
    {
        lottery_cli::reveal(organiser, &election, path).await?;
    }
    admin::admin_action(organiser, &election, "reveals-close").await?;
    // The witnesses' clock vouches that the reveals closed before the
    // beacon round: wait for their cosignatures before taking the round.
    let reveals_witnessed = witnessed(organiser, &election, &manifest).await?;
    let round = manifest.lottery.beacon.as_ref().map_or(0, |b| b.round);
    // A real network publishes the round at its time; the demo network signs
    // it at once, which is why its name says it is not drand.
    let beacon = BeaconValue {
        round,
        signature: beacon_network.sign(round).to_vec(),
        values: Vec::new(),
    };
    admin::post_beacon(organiser, &election, &beacon).await?;
    admin::admin_action(organiser, &election, "seats").await?;
    phases.done(
        "reveals, beacon, seats",
        format!(
            "{} of {} contributors revealed; {DEMO_NETWORK_NAME}, round {round}",
            contributor_files.len() - 1,
            contributor_files.len()
        ),
    );

    // Export, verification, attestation.
    let final_witnesses = witnessed(organiser, &election, &manifest).await?;
    phases.done(
        "witnesses",
        format!(
            "reveals closed under a checkpoint cosigned by {}; final checkpoint cosigned by {}",
            reveals_witnessed.join(", "),
            final_witnesses.join(", ")
        ),
    );
    let export = organiser.export(&election).await?;
    let strict = urne_verify::verify_export(
        std::io::Cursor::new(&export),
        &urne_verify::Options {
            progress: false,
            require_witnesses: true,
            ..Default::default()
        },
    );
    if !strict.valid {
        return Err(Failure::new(
            format!(
                "the export does not verify with --require-witnesses: {:?}",
                strict.failures
            ),
            "this is a bug; keep the export",
        ));
    }
    let export_path = root.join("export");
    secret_file::write(&export_path, &export)?;
    let (verdict, record) = auditor::check_export(&export).map_err(|e| {
        Failure::new(
            format!("the export does not verify: {e}"),
            "this is a bug; keep the export",
        )
    })?;
    auditor_cli::attest(organiser, &verdict, &auditor_key).await?;
    phases.done("export, verify, attest", format!("{} bytes", export.len()));
    let tallies_match = tallies_match(&record, &manifest, &voters, &last_choice);
    let assembly = crate::cli::results::table(&crate::client::results::Results::of(&record));
    let _ = url;
    Ok((election, refusals, verdict, tallies_match, assembly))
}

/// A voter's credential session: commit, blind, respond, finish.
async fn credential(
    client: &Client,
    manifest: &Manifest,
    election: &[u8; 32],
    v: &Voter,
    seed: u64,
) -> Result<Credential, Failure> {
    let c = manifest
        .constituency(&v.constituency)
        .ok_or_else(|| Failure::plain("constituency missing"))?;
    let sig = steps::commit_signature(election, &v.member, &v.key);
    let commitment = voter_cli::commitment_of(
        &client
            .credential_commit(election, &v.member, &sig)
            .await
            .map_err(fail("commit"))?,
    )?;
    let mut blind_seed = [0u8; 32];
    population::voter_rng(seed, 3, v.index).fill_bytes(&mut blind_seed);
    let (state, challenge) = steps::blind(
        &c.registrar_key,
        election,
        &v.constituency,
        &v.ballot,
        &commitment,
        &blind_seed,
    )
    .map_err(|e| Failure::plain(e.to_string()))?;
    let entry = urne_crypto::voter::issuance(
        *election,
        v.member,
        &v.constituency,
        &commitment,
        &challenge,
        &v.key,
    );
    let (resp, _) = client
        .credential_respond(election, &entry.to_bytes())
        .await
        .map_err(fail("respond"))?;
    steps::finish(
        state,
        &voter_cli::response_of(&resp)?,
        &c.registrar_key,
        election,
        &v.constituency,
        &v.ballot,
    )
    .map_err(|e| Failure::plain(e.to_string()))
}

/// A proved ballot: voter index, its choices, the entry bytes.
type BuiltBallot = (usize, Vec<bool>, Vec<u8>);

/// Proves the ballots of voters `who` in parallel; returns (voter, choices, entry bytes).
#[allow(clippy::too_many_arguments)]
fn build_ballots(
    manifest: &Manifest,
    election_key: &curve25519_dalek::ristretto::RistrettoPoint,
    voters: &[Arc<Voter>],
    credentials: &[Credential],
    weights: &[Vec<u64>],
    who: &[usize],
    seed: u64,
    round: u64,
    show: bool,
) -> Result<Vec<BuiltBallot>, Failure> {
    let verifier = BallotVerifier::new(manifest.clone(), *election_key);
    let bar = if show {
        progress(who.len() as u64, "proving ballots")
    } else {
        ProgressBar::hidden()
    };
    let out = who
        .par_iter()
        .map(|&i| {
            let v = &voters[i];
            let (ci, c) = manifest
                .constituencies
                .iter()
                .enumerate()
                .find(|(_, c)| c.id == v.constituency)
                .ok_or_else(|| Failure::plain("constituency missing"))?;
            let mut r = population::voter_rng(seed, 4 + 10 * round, i);
            let choices =
                population::approvals(&weights[ci], c.approval_min, c.approval_max, &mut r);
            let entry = steps::ballot_entry(
                &verifier,
                &c.id,
                &v.ballot,
                &credentials[i],
                &choices,
                &mut r,
            )
            .map_err(|e| Failure::plain(e.to_string()))?;
            bar.inc(1);
            Ok((i, choices, entry.to_bytes()))
        })
        .collect();
    bar.finish_and_clear();
    out
}

/// Whether every published tally equals the count of the voters' last choices.
fn tallies_match(
    record: &Record,
    manifest: &Manifest,
    voters: &[Arc<Voter>],
    last: &[Vec<bool>],
) -> bool {
    manifest.constituencies.iter().all(|c| {
        let mut counts = vec![0u64; c.candidates.len()];
        let mut ballots = 0u64;
        for (v, choices) in voters.iter().zip(last) {
            if v.constituency == c.id && !choices.is_empty() {
                ballots += 1;
                for (n, b) in counts.iter_mut().zip(choices) {
                    *n += u64::from(*b);
                }
            }
        }
        record
            .tally(&c.id)
            .is_some_and(|t| t.counts == counts && t.ballots == ballots)
    })
}
