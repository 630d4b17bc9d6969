//! `urne bench-election`: the election routes under load, server and load
//! generator in one process on this machine, over loopback HTTP.
//!
//! One constituency of `--candidates` candidates, 3-of-5 trustees. Measured:
//! enrolments/s; credential issuances/s (commit, blinding, respond and
//! unblinding, end to end); durable ballot casts/s sustained by `--clients`
//! concurrent clients, with ballots proved in parallel beforehand (untimed);
//! the latency of casts (revotes) offered at a fixed rate, open loop; and
//! inclusion-proof reads/s. Every append is acknowledged only once durable.

use crate::client::invitations;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rayon::prelude::*;
use serde_json::{json, Value};
use urne_crypto::credential::{
    Credential, CredentialContext, SignerCommitment, SignerResponse, UserState,
};
use urne_crypto::dkg::{self, TrusteeKey};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{member_id, Entry, EntryKind};
use urne_crypto::group::{decode_nonidentity_point, decode_scalar};
use urne_crypto::manifest::Manifest;
use urne_crypto::record::{BallotCheck, BallotHistory, BallotVerifier, Record};
use urne_crypto::schnorr::BallotSecretKey;
use urne_crypto::voter;

use super::bench_board::{measure, ms, splitmix64, Rate};
use super::CliError;
use crate::api::auth::OrganiserToken;
use crate::api::limits::Limits;
use crate::election::machine::restore;
use crate::election::registry::Elections;
use crate::election::tables::RECORD_SNAPSHOTS;
use crate::election::ElectionId;
use crate::server::{self, ServerConfig};
use crate::store::sealed::{SealedStore, SecretsAtRest, SecretsKey};
use crate::store::{Digest, Store, StoreError, Table, WriteSet};
use urne_crypto::merkle::NodeId;

/// Arguments of `urne bench-election`.
#[derive(Debug, clap::Args)]
pub struct BenchElectionArgs {
    /// Voters (each enrols, obtains a credential and casts one ballot).
    #[arg(long, default_value_t = 2000)]
    pub voters: usize,
    /// Candidates on the ballot.
    #[arg(long, default_value_t = 16)]
    pub candidates: usize,
    /// Concurrent clients for the throughput measurements.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Casts per second offered in the fixed-load latency measurement.
    #[arg(long, default_value_t = 50.0)]
    pub offered_rate: f64,
    /// Casts (revotes) sent at the fixed rate.
    #[arg(long, default_value_t = 500)]
    pub offered: usize,
    /// Percentage of the sustained casts that are garbage (a ballot whose
    /// credential does not verify, refused with 422), mixed evenly among the valid ones.
    #[arg(long, default_value_t = 0.0)]
    pub garbage: f64,
    /// Inclusion proofs read.
    #[arg(long, default_value_t = 20000)]
    pub proofs: u64,
    /// Also measure revotes and checkpoint reads (at `--offered-rate`) while a
    /// roster of this many members is imported into a second election, against
    /// the same load on an idle server (0: skip).
    #[arg(long, default_value_t = 0)]
    pub import_members: usize,
    /// Data directory (default: a temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// After the load, restart the server this many times on the same data
    /// directory and report the time until it listens with every record
    /// current, then the time a replay from the first entry takes.
    #[arg(long, default_value_t = 0)]
    pub restarts: usize,
    /// Run no load: only restart the server on `--data`, a board left by an
    /// earlier run with `--data` (its secrets key is kept beside it, in
    /// `DIR.secrets-key`), `--restarts` times.
    #[arg(long, requires = "data")]
    pub restart_only: bool,
    /// Witnesses to run on loopback and name in the manifest (all form the
    /// quorum), to measure the service with witnessing on.
    #[arg(long, default_value_t = 0)]
    pub witnesses: u32,
}

const TOKEN: &str = "bench-election-organiser-token";
const APPROVALS: usize = 8;

fn rng(label: u64, i: u64) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&label.to_le_bytes());
    seed[8..16].copy_from_slice(&i.to_le_bytes());
    ChaCha20Rng::from_seed(seed)
}

struct Voter {
    pseudonym: String,
    member: [u8; 32],
    key: SigningKey,
    ballot_key: BallotSecretKey,
}

/// A thin HTTP client for the bench: JSON and CBOR posts, errors as text.
#[derive(Clone)]
struct Http {
    http: reqwest::Client,
    base: String,
}

impl Http {
    async fn post(
        &self,
        path: &str,
        ty: &str,
        body: Vec<u8>,
        organiser: bool,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", ty)
            .body(body);
        if organiser {
            req = req.bearer_auth(TOKEN);
        }
        let r = req.send().await.map_err(|e| e.to_string())?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("{path}: {status} {v}"))
        }
    }

    async fn json(&self, path: &str, body: &Value, organiser: bool) -> Result<Value, String> {
        self.post(
            path,
            "application/json",
            body.to_string().into_bytes(),
            organiser,
        )
        .await
    }

    async fn cbor(&self, path: &str, body: Vec<u8>) -> Result<Value, String> {
        self.post(path, "application/cbor", body, false).await
    }
}

fn hex32(v: &Value) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().ok_or("not a string")?, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Runs the benchmark and prints its table.
pub async fn run(args: BenchElectionArgs) -> Result<(), CliError> {
    let bench = CliError::Bench;
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| temp.path().join("data"));
    let config = ServerConfig {
        data_dir,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        organiser_token: Some(OrganiserToken::new(TOKEN).map_err(|e| bench(e.to_string()))?),
        limits: Limits {
            read_rate: None,
            write_rate: None,
            max_concurrent_requests: 4096,
            ..Limits::default()
        },
        clock: crate::clock::BoardClock::system(),
        test_support: false,
        secrets: SecretsAtRest::Sealed(
            match &args.data {
                Some(dir) => SecretsKey::load_or_create(&dir.with_extension("secrets-key"), dir),
                None => SecretsKey::generate(),
            }
            .map_err(|e| CliError::Usage(e.to_string()))?,
        ),
    };
    if args.restart_only {
        return restarts(&config, args.restarts.max(1)).await.map_err(bench);
    }
    let running = server::start(config.clone()).await?;
    let http = Http {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()
            .map_err(|e| bench(e.to_string()))?,
        base: format!("http://{}", running.local_addr()),
    };
    let mut witnesses = Vec::new();
    let mut witness_tasks = Vec::new();
    if args.witnesses > 0 {
        let board_key = crate::client::Client::new(&http.base)
            .map_err(|e| bench(e.to_string()))?
            .board_key()
            .await
            .map_err(|e| bench(e.to_string()))?;
        for i in 1..=args.witnesses {
            let (draft, task) = crate::witness::spawn_loopback(
                &format!("witness-{i}.bench"),
                &temp.path().join(format!("witness-{i}")),
                board_key,
            )
            .await?;
            witnesses.push(draft);
            witness_tasks.push(task);
        }
    }
    let result = drive(&args, &http, &witnesses).await;
    for task in witness_tasks {
        task.abort();
    }
    running.shutdown().await?;
    result.map_err(bench)?;
    if args.restarts > 0 {
        restarts(&config, args.restarts).await.map_err(bench)?;
    }
    Ok(())
}

/// Fixed-rate load of one kind: revotes, or checkpoint reads.
enum Load {
    Revotes(Vec<Vec<u8>>),
    Reads(usize),
}

/// Sends `load` at `rate` per second, open loop, and returns each request's
/// latency, and whether `until` stopped it (with `until`, it stops sending
/// once `until` is set).
async fn fixed_rate(
    http: &Http,
    id: &str,
    load: Load,
    rate: f64,
    started: Instant,
    until: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> Result<(Vec<Duration>, bool), String> {
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let (count, mut revotes) = match load {
        Load::Revotes(v) => (v.len(), Some(v.into_iter())),
        Load::Reads(n) => (n, None),
    };
    let mut tasks = Vec::with_capacity(count.min(1 << 16));
    let mut stopped = false;
    for k in 0..count {
        tokio::time::sleep_until((started + interval * k as u32).into()).await;
        if until.as_ref().is_some_and(|u| u.load(Ordering::Acquire)) {
            stopped = true;
            break;
        }
        let (http, id) = (http.clone(), id.to_string());
        let revote = revotes.as_mut().and_then(Iterator::next);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            match revote {
                Some(bytes) => http
                    .cbor(&format!("/v1/elections/{id}/ballots"), bytes)
                    .await
                    .map(drop)?,
                None => {
                    let r = http
                        .http
                        .get(format!("{}/v1/elections/{id}/checkpoint", http.base))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if !r.status().is_success() {
                        return Err(format!("checkpoint answered {}", r.status()));
                    }
                    r.bytes().await.map_err(|e| e.to_string())?;
                }
            }
            Ok(t.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for t in tasks {
        latencies.push(t.await.map_err(|e| e.to_string())??);
    }
    Ok((latencies, stopped))
}

/// Checkpoint reads idle, then revotes and checkpoint reads of election `id`
/// while a roster of `--import-members` members goes into a second election
/// created from `draft`: the rows of the during-import table.
async fn during_import(
    args: &BenchElectionArgs,
    http: &Http,
    id: &str,
    draft: &Value,
    revotes: Vec<Vec<u8>>,
) -> Result<Vec<(String, usize, usize, Rate)>, String> {
    let mut rows = Vec::new();
    let rate = args.offered_rate;
    let started = Instant::now();
    let (idle, _) = fixed_rate(http, id, Load::Reads(args.offered), rate, started, None).await?;
    rows.push((
        format!("checkpoint read offered at {rate}/s, idle"),
        idle.len(),
        0,
        Rate::of(idle, started.elapsed()),
    ));

    let created = http.json("/v1/elections", draft, true).await?;
    let other = created["election"].as_str().ok_or("no id")?.to_string();
    let mut csv = String::from("pseudonym,constituency,pool,category\n");
    for i in 0..args.import_members {
        csv.push_str(&format!("i{i:07},all,yes,\n"));
    }
    let drawn = invitations::draw(&csv, &mut rng(101, 0)).map_err(|e| e.to_string())?;
    let body = invitations::import_body(&csv, &drawn).map_err(|e| e.to_string())?;

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let import = {
        let (http, done) = (http.clone(), done.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let r = http
                .post(
                    &format!("/v1/elections/{other}/roster"),
                    "text/csv",
                    body.into_bytes(),
                    true,
                )
                .await;
            done.store(true, Ordering::Release);
            r.map(|_| t.elapsed())
        })
    };
    let casts = fixed_rate(
        http,
        id,
        Load::Revotes(revotes),
        rate,
        started,
        Some(done.clone()),
    );
    let reads = fixed_rate(
        http,
        id,
        Load::Reads(usize::MAX >> 1),
        rate,
        started,
        Some(done.clone()),
    );
    let (casts, reads) = tokio::join!(casts, reads);
    let took = import.await.map_err(|e| e.to_string())??;
    let elapsed = started.elapsed();
    let n = args.import_members;
    let (casts, stopped) = casts?;
    if !stopped {
        return Err("the revotes ran out before the import ended: raise --offered".into());
    }
    rows.push((
        format!("roster import of {n} members (1 request)"),
        1,
        0,
        Rate::of(vec![took], took),
    ));
    rows.push((
        "ballot cast (revote) during the import".to_string(),
        casts.len(),
        0,
        Rate::of(casts, elapsed),
    ));
    let (reads, _) = reads?;
    rows.push((
        "checkpoint read during the import".to_string(),
        reads.len(),
        0,
        Rate::of(reads, elapsed),
    ));
    Ok(rows)
}

/// Restarts the server `count` times on `config`'s data directory, printing
/// for each the time until it listens (every record is current by then) and
/// until it has answered a read; then, for comparison, the time a replay of
/// every log from its first entry takes, stored snapshots ignored.
async fn restarts(config: &ServerConfig, count: usize) -> Result<(), String> {
    println!();
    for k in 0..count {
        // sled's background threads may hold the directory's lock for a
        // while after the previous server closed its store: wait for it.
        let mut waited = Duration::ZERO;
        let (running, started) = loop {
            let started = Instant::now();
            match server::start(config.clone()).await {
                Ok(running) => break (running, started),
                Err(e)
                    if e.to_string().contains("could not acquire lock")
                        && waited.as_secs() < 30 =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    waited += Duration::from_millis(100) + started.elapsed();
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        let listening = started.elapsed();
        let base = format!("http://{}", running.local_addr());
        let boards: Value = reqwest::get(format!("{base}/v1/elections"))
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let read = started.elapsed();
        running.shutdown().await.map_err(|e| e.to_string())?;
        let elections = boards["elections"].as_array().map_or(0, Vec::len);
        println!(
            "restart {k}: {elections} election(s), listening and current after {:.1} ms, first read after {:.1} ms",
            ms(listening),
            ms(read)
        );
    }
    let store = crate::store::sled::SledStore::open(&config.data_dir.join(crate::board::STORE_DIR))
        .map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = match &config.secrets {
        SecretsAtRest::Plain => Arc::new(store),
        SecretsAtRest::Sealed(key) => Arc::new(SealedStore::new(store, key)),
    };
    let logs = store.logs().map_err(|e| e.to_string())?;
    let entries: u64 = logs.iter().map(|(_, size)| size).sum();
    let without: Arc<dyn Store> = Arc::new(WithoutSnapshots(store.clone()));
    for (label, store) in [
        ("from the stored snapshots", store.clone()),
        ("from the first entry", without),
    ] {
        let started = Instant::now();
        for (log, size) in &logs {
            restore(&*store, *log, *size, &Elections::default()).map_err(|e| e.to_string())?;
        }
        println!(
            "record replay {label}: {} logs, {entries} entries, {:.1} ms",
            logs.len(),
            ms(started.elapsed())
        );
    }
    // The replay of every entry with strict decoding, as a verifier reads an
    // export (ballot proofs not verified), for comparison.
    let mut strict = Duration::ZERO;
    for (log, size) in &logs {
        let mut bytes = Vec::new();
        while (bytes.len() as u64) < *size {
            let page = store
                .entries(log, bytes.len() as u64, *size, 16 << 20)
                .map_err(|e| e.to_string())?;
            if page.is_empty() {
                return Err(format!("log {log}: entry {} missing", bytes.len()));
            }
            bytes.extend(page);
        }
        let started = Instant::now();
        let entries = bytes
            .iter()
            .map(|b| Entry::from_bytes(b).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(first) = entries.first() else {
            continue;
        };
        let Ok(mut record) = Record::open(first) else {
            continue;
        };
        let history = Earlier(&entries);
        for e in &entries[1..] {
            record
                .apply(e, BallotCheck::Deferred, &history)
                .map_err(|e| e.to_string())?;
        }
        strict += started.elapsed();
    }
    println!(
        "record replay from the first entry, strict decoding: {entries} entries, {:.1} ms",
        ms(strict)
    );
    Ok(())
}

/// Earlier ballots of a log held in memory.
struct Earlier<'a>(&'a [Entry]);

impl BallotHistory for Earlier<'_> {
    fn ballot_at(&self, index: u64) -> Result<urne_crypto::entry::Ballot, String> {
        let entry = self.0.get(index as usize).ok_or("no such entry")?;
        entry.body().map_err(|e| e.to_string())
    }
}

/// A store whose record snapshots are not there: a replay from it starts
/// at the first entry.
struct WithoutSnapshots(Arc<dyn Store>);

impl Store for WithoutSnapshots {
    fn logs(&self) -> Result<Vec<(ElectionId, u64)>, StoreError> {
        self.0.logs()
    }
    fn size(&self, log: &ElectionId) -> Result<Option<u64>, StoreError> {
        self.0.size(log)
    }
    fn entry(&self, log: &ElectionId, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.entry(log, index)
    }
    fn entries(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.0.entries(log, start, end, max_bytes)
    }
    fn node(&self, log: &ElectionId, node: NodeId) -> Result<Option<Digest>, StoreError> {
        self.0.node(log, node)
    }
    fn checkpoint(&self, log: &ElectionId, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.checkpoint(log, size)
    }
    fn checkpoints(
        &self,
        log: &ElectionId,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.0.checkpoints(log, start, end)
    }
    fn get(
        &self,
        log: &ElectionId,
        table: Table,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if table == RECORD_SNAPSHOTS {
            return Ok(None);
        }
        self.0.get(log, table, key)
    }
    fn commit(&self, _: WriteSet) -> Result<(), StoreError> {
        Err(StoreError::Corrupt("a read-only view".into()))
    }
}

#[allow(clippy::too_many_lines)]
async fn drive(
    args: &BenchElectionArgs,
    http: &Http,
    witnesses: &[crate::client::draft::WitnessDraft],
) -> Result<(), String> {
    let clients = args.clients.max(1);
    let n = args.voters.max(1);
    let mut rows: Vec<(String, usize, usize, Rate)> = Vec::new();

    // Election: one constituency, 3-of-5 trustees.
    let trustee_keys: Vec<TrusteeKey> = (0..5)
        .map(|j| TrusteeKey::generate(&mut rng(1, j)))
        .collect();
    let trustee_signers: Vec<SigningKey> = (0..5u64)
        .map(|j| {
            let mut s = [0u8; 32];
            rng(2, j).fill_bytes(&mut s);
            SigningKey::from_bytes(&s)
        })
        .collect();
    let draft = json!({
        "title": "bench",
        "constituencies": [{
            "id": "all",
            "candidates": (0..args.candidates).map(|k| json!({ "id": format!("c{k:03}") })).collect::<Vec<_>>(),
            "approval_min": 1,
            "approval_max": APPROVALS.min(args.candidates),
            "rules": { "seats": 4 },
        }],
        "trustees": trustee_keys.iter().zip(&trustee_signers).enumerate().map(|(i, (k, s))| json!({
            "name": format!("t{i}"),
            "signing_key": hex::encode(s.verifying_key().to_bytes()),
            "encryption_key": hex::encode(k.public_key().compress().to_bytes()),
        })).collect::<Vec<_>>(),
        "threshold": 3,
        "lottery": { "reveal_deadline": "2030-01-02T00:00:00Z", "beacon": { "network": "quicknet" } },
        "voting_opens": "2020-01-01T00:00:00Z",
        "voting_closes": "2030-01-01T00:00:00Z",
        "witnesses": witnesses.iter().map(|w| json!({ "vkey": w.vkey, "url": w.url })).collect::<Vec<_>>(),
        "witness_quorum": witnesses.len(),
    });
    let created = http.json("/v1/elections", &draft, true).await?;
    let id = created["election"].as_str().ok_or("no id")?.to_string();
    let election = hex32(&created["election"])?;
    let manifest = Manifest::from_bytes(
        &hex::decode(created["manifest"].as_str().ok_or("no manifest")?)
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;

    let mut csv = String::from("pseudonym,constituency,pool,category\n");
    let voters: Vec<Voter> = (0..n)
        .map(|i| {
            let pseudonym = format!("m{i:07}");
            csv.push_str(&format!("{pseudonym},all,yes,\n"));
            let mut s = [0u8; 32];
            rng(3, i as u64).fill_bytes(&mut s);
            Voter {
                member: member_id(&election, &pseudonym),
                pseudonym,
                key: SigningKey::from_bytes(&s),
                ballot_key: BallotSecretKey::generate(&mut rng(4, i as u64)),
            }
        })
        .collect();
    let voters = Arc::new(voters);
    let drawn = invitations::draw(&csv, &mut rng(100, 0)).map_err(|e| e.to_string())?;
    let body = invitations::import_body(&csv, &drawn).map_err(|e| e.to_string())?;
    http.post(
        &format!("/v1/elections/{id}/roster"),
        "text/csv",
        body.into_bytes(),
        true,
    )
    .await?;
    let tokens: Arc<Vec<String>> = Arc::new(drawn.iter().map(|t| t.token.to_string()).collect());

    // Enrolment.
    let next = Arc::new(AtomicUsize::new(0));
    let rate = {
        let (http, id, voters, tokens, next) = (
            http.clone(),
            id.clone(),
            voters.clone(),
            tokens.clone(),
            next.clone(),
        );
        measure(clients, n as u64, move |_, _| {
            let (http, id, voters, tokens, next) = (
                http.clone(),
                id.clone(),
                voters.clone(),
                tokens.clone(),
                next.clone(),
            );
            async move {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let v = &voters[i];
                let entry = voter::enrollment(election, &v.pseudonym, &v.key);
                http.json(
                    &format!("/v1/elections/{id}/enroll"),
                    &json!({ "token": tokens[i], "entry": hex::encode(entry.to_bytes()) }),
                    false,
                )
                .await
                .map(drop)
            }
        })
        .await?
    };
    rows.push(("enrolment".into(), n, clients, rate));

    // Key generation and opening.
    let params = manifest.dkg_params().map_err(|e| e.to_string())?;
    let mut dealings = Vec::new();
    for j in 0..5u32 {
        let d = dkg::deal(&params, j + 1, &mut rng(5, j.into())).map_err(|e| e.to_string())?;
        let e = Entry::signed(
            EntryKind::DkgDealing,
            election,
            &d,
            &trustee_signers[j as usize],
        );
        http.cbor(&format!("/v1/elections/{id}/entries"), e.to_bytes())
            .await?;
        dealings.push(d);
    }
    for (signer, key) in trustee_signers.iter().zip(&trustee_keys) {
        let e = crate::client::trustee::acknowledgement_entry(&manifest, signer, key, &dealings)
            .map_err(|e| e.to_string())?;
        http.cbor(&format!("/v1/elections/{id}/entries"), e.to_bytes())
            .await?;
    }
    http.json(
        &format!("/v1/elections/{id}/admin/election-key"),
        &json!({}),
        true,
    )
    .await?;
    http.json(&format!("/v1/elections/{id}/admin/open"), &json!({}), true)
        .await?;
    let status = reqwest::get(format!("{}/v1/elections/{id}", http.base))
        .await
        .map_err(|e| e.to_string())?
        .json::<Value>()
        .await
        .map_err(|e| e.to_string())?;
    let pk =
        decode_nonidentity_point(&hex32(&status["election_key"])?).map_err(|e| e.to_string())?;
    let verifier = BallotVerifier::new(manifest.clone(), pk);
    let constituency = manifest.constituencies[0].clone();

    // Credential issuance, end to end.
    let credentials: Arc<Vec<std::sync::Mutex<Option<Credential>>>> =
        Arc::new((0..n).map(|_| std::sync::Mutex::new(None)).collect());
    next.store(0, Ordering::Relaxed);
    let rate = {
        let (http, id, voters, next, credentials, key) = (
            http.clone(),
            id.clone(),
            voters.clone(),
            next.clone(),
            credentials.clone(),
            constituency.registrar_key,
        );
        measure(clients, n as u64, move |_, _| {
            let (http, id, voters, next, credentials) = (http.clone(), id.clone(), voters.clone(), next.clone(), credentials.clone());
            async move {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let v = &voters[i];
                let sig = voter::sign_commit_request(&election, &v.member, &v.key);
                let c = http
                    .json(
                        &format!("/v1/elections/{id}/credential/commit"),
                        &json!({ "member": hex::encode(v.member), "signature": hex::encode(sig.to_bytes()) }),
                        false,
                    )
                    .await?;
                let point = |f: &str| -> Result<_, String> {
                    decode_nonidentity_point(&hex32(&c[f])?).map_err(|e| e.to_string())
                };
                let commitment = SignerCommitment { a: point("commitment_a")?, c: point("commitment_c")? };
                let ctx = CredentialContext::new(election, "all");
                let p = v.ballot_key.public_key();
                let (user, challenge) = UserState::blind(&key, &ctx, p.as_bytes(), &commitment, &mut rng(6, i as u64))
                    .map_err(|e| e.to_string())?;
                let entry = voter::issuance(election, v.member, "all", &commitment, &challenge, &v.key);
                let r = http.cbor(&format!("/v1/elections/{id}/credential/respond"), entry.to_bytes()).await?;
                let scalar = |f: &str| -> Result<_, String> { decode_scalar(&hex32(&r[f])?).map_err(|e| e.to_string()) };
                let response = SignerResponse { s: scalar("s")?, y: scalar("y")?, t: scalar("t")? };
                let credential = user.finish(&response).map_err(|e| e.to_string())?;
                *credentials[i].lock().map_err(|_| "poisoned")? = Some(credential);
                Ok(())
            }
        })
        .await?
    };
    rows.push((
        "credential issuance (commit + respond)".into(),
        n,
        clients,
        rate,
    ));

    // Ballots, proved on every core beforehand (untimed).
    let creds: Vec<Credential> = credentials
        .iter()
        .map(|c| c.lock().ok().and_then(|c| *c).ok_or("missing credential"))
        .collect::<Result<_, _>>()?;
    let prove = |round: u64, who: &[usize]| -> Result<Vec<Vec<u8>>, String> {
        who.par_iter()
            .map(|&i| {
                let mut r = rng(7 + round, i as u64);
                let k = 1 + (r.next_u64() as usize) % APPROVALS.min(args.candidates);
                let choices: Vec<bool> = (0..args.candidates).map(|c| c < k).collect();
                voter::ballot(
                    &verifier,
                    "all",
                    &voters[i].ballot_key,
                    &creds[i],
                    &choices,
                    &mut r,
                )
                .map(|e| e.to_bytes())
                .map_err(|e| e.to_string())
            })
            .collect()
    };
    let started = Instant::now();
    let all: Vec<usize> = (0..n).collect();
    let ballots = Arc::new(prove(0, &all)?);
    let proving = started.elapsed();
    let ballot_bytes = ballots.first().map_or(0, Vec::len);
    eprintln!(
        "proved {n} ballots of {ballot_bytes} bytes in {:.1} s on {} threads",
        proving.as_secs_f64(),
        rayon::current_num_threads()
    );
    // Garbage casts: a valid ballot's body under a credential that does not verify.
    let pct = args.garbage.clamp(0.0, 90.0);
    let garbage = ((n as f64) * pct / (100.0 - pct)).round() as usize;
    let forged: Vec<Vec<u8>> = (0..garbage)
        .map(|g| {
            let i = g % n;
            let wrong = Credential {
                t: creds[i].t + creds[i].t,
                ..creds[i]
            };
            let mut r = rng(11, g as u64);
            let choices: Vec<bool> = (0..args.candidates).map(|c| c == 0).collect();
            voter::ballot(
                &verifier,
                "all",
                &voters[i].ballot_key,
                &wrong,
                &choices,
                &mut r,
            )
            .map(|e| e.to_bytes())
            .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    // Valid and garbage casts interleaved evenly: `None` is the next valid ballot.
    let total = n + garbage;
    let order: Arc<Vec<Option<usize>>> = Arc::new({
        let mut order = Vec::with_capacity(total);
        let (mut g, mut v) = (0usize, 0usize);
        for k in 0..total {
            if g < garbage && (k + 1) * garbage >= (g + 1) * total {
                order.push(Some(g));
                g += 1;
            } else {
                order.push(None);
                v += 1;
            }
        }
        debug_assert_eq!(v, n);
        order
    });
    let forged = Arc::new(forged);
    next.store(0, Ordering::Relaxed);
    let valid = Arc::new(AtomicUsize::new(0));
    let rate = {
        let (http, id, ballots, next) = (http.clone(), id.clone(), ballots.clone(), next.clone());
        let (order, forged, valid) = (order.clone(), forged.clone(), valid.clone());
        measure(clients, total as u64, move |_, _| {
            let (http, id, ballots, next) =
                (http.clone(), id.clone(), ballots.clone(), next.clone());
            let (order, forged, valid) = (order.clone(), forged.clone(), valid.clone());
            async move {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let path = format!("/v1/elections/{id}/ballots");
                match order[k] {
                    None => {
                        let i = valid.fetch_add(1, Ordering::Relaxed);
                        http.cbor(&path, ballots[i].clone()).await.map(drop)
                    }
                    Some(g) => match http.cbor(&path, forged[g].clone()).await {
                        Err(e) if e.contains("422") => Ok(()),
                        Err(e) => Err(e),
                        Ok(_) => Err("a garbage ballot was accepted".into()),
                    },
                }
            }
        })
        .await?
    };
    rows.push((
        if garbage == 0 {
            format!("ballot cast ({} candidates), sustained", args.candidates)
        } else {
            format!(
                "ballot cast ({} candidates), sustained, {pct} % garbage",
                args.candidates
            )
        },
        total,
        clients,
        rate,
    ));

    // Revotes offered at a fixed rate, open loop.
    let offered = args.offered.min(n);
    let revoters: Vec<usize> = (0..offered).collect();
    let revotes = prove(1, &revoters)?;
    let interval = Duration::from_secs_f64(1.0 / args.offered_rate.max(0.1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(offered);
    for (k, bytes) in revotes.into_iter().enumerate() {
        tokio::time::sleep_until((started + interval * k as u32).into()).await;
        let (http, id) = (http.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            http.cbor(&format!("/v1/elections/{id}/ballots"), bytes)
                .await
                .map(|_| t.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(offered);
    for t in tasks {
        latencies.push(t.await.map_err(|e| e.to_string())??);
    }
    let rate = Rate::of(latencies, started.elapsed());
    rows.push((
        format!("ballot cast (revote) offered at {}/s", args.offered_rate),
        offered,
        0,
        rate,
    ));

    if args.import_members > 0 {
        let revotes = prove(2, &revoters)?;
        rows.extend(during_import(args, http, &id, &draft, revotes).await?);
    }

    // Inclusion proofs of random entries.
    let size = reqwest::get(format!("{}/v1/elections/{id}", http.base))
        .await
        .map_err(|e| e.to_string())?
        .json::<Value>()
        .await
        .map_err(|e| e.to_string())?["size"]
        .as_u64()
        .ok_or("no size")?;
    let rate = {
        let (http, id) = (http.clone(), id.clone());
        measure(clients, args.proofs, move |task, i| {
            let (http, id) = (http.clone(), id.clone());
            async move {
                let index = splitmix64((task as u64) << 32 | i) % size;
                let r = http
                    .http
                    .get(format!(
                        "{}/v1/elections/{id}/proof/inclusion?index={index}&size={size}",
                        http.base
                    ))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("proof answered {}", r.status()));
                }
                r.bytes().await.map_err(|e| e.to_string()).map(drop)
            }
        })
        .await?
    };
    rows.push((
        format!("inclusion proof read (board of {size})"),
        args.proofs as usize,
        clients,
        rate,
    ));

    println!(
        "{:<44} {:>7} {:>8} {:>10} {:>9} {:>9}",
        "operation", "count", "clients", "per second", "p50 ms", "p99 ms"
    );
    for (name, count, clients, r) in rows {
        let clients = if clients == 0 {
            "open".to_string()
        } else {
            clients.to_string()
        };
        println!(
            "{:<44} {:>7} {:>8} {:>10.1} {:>9.2} {:>9.2}",
            name,
            count,
            clients,
            r.per_second,
            ms(r.p50),
            ms(r.p99)
        );
    }
    Ok(())
}
