//! Crash safety of the `urne` binary: clients append concurrently while the
//! server is SIGKILLed at random moments, then restarted on the same data
//! directory. After every restart, every acknowledged entry must be at its
//! acknowledged index, the log must match its signed head, and every
//! checkpoint handed out before must be consistent with the new head.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use urne_crypto::encoding::Canonical;
use urne_crypto::voter;

use common::{election, Client, TOKEN};
use urne_crypto::checkpoint::{open_signed_checkpoint, Checkpoint, NoteVerifier};
use urne_crypto::entry::{Ballot, Entry};
use urne_crypto::merkle;
use urne_crypto::record::{BallotCheck, BallotHistory, Record};
use urne_server::election::machine::restore;
use urne_server::election::registry::Elections;
use urne_server::election::tables::{RECORD_SNAPSHOTS, RECORD_SNAPSHOT_KEY};
use urne_server::election::ElectionId;
use urne_server::store::sealed::SealedStore;
use urne_server::store::sled::SledStore;
use urne_server::store::{Store, Write, WriteSet};

const ROUNDS: u32 = 5;
const CLIENTS: u32 = 8;

struct Server {
    child: Child,
    client: Client,
}

/// Starts `urne serve` on a free port and reads the bound address it prints.
async fn spawn(data: &Path, log: PathBuf) -> Server {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_urne"))
            .arg("serve")
            .env("URNE_SECRETS_KEY", "5e".repeat(32))
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0", "--test-support-append"])
            .args(["--read-rate", "0", "--write-rate", "0"])
            .env("URNE_ORGANISER_TOKEN", TOKEN)
            .env("URNE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn urne");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("urne: listening on http://") else {
            let _ = child.kill();
            panic!(
                "urne did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
        };
        let client = Client::new(addr);
        Server { child, client }
    })
    .await
    .unwrap()
}

/// What clients were told: entries at indices, and checkpoints handed out.
#[derive(Default)]
struct Acknowledged {
    entries: BTreeMap<u64, Vec<u8>>,
    checkpoints: HashMap<u64, String>,
}

/// Checks the restarted server against everything acknowledged so far.
async fn verify(client: &Client, verifier: &NoteVerifier, acked: &Acknowledged) {
    let id = election(1);
    let (_, head) = client.checkpoint(&id, verifier).await;
    let entries = client.all_entries(&id).await;
    assert_eq!(entries.len() as u64, head.size);
    let leaves: Vec<_> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    assert_eq!(
        merkle::root(&leaves),
        head.root,
        "the log matches its signed head"
    );
    for (index, entry) in &acked.entries {
        assert_eq!(
            entries.get(*index as usize),
            Some(entry),
            "acknowledged entry {index} lost or moved"
        );
    }
    for note in acked.checkpoints.values() {
        let old: Checkpoint = open_signed_checkpoint(note.as_bytes(), verifier).unwrap();
        client.check_consistent(&id, &old, &head).await;
    }
}

/// Appends until the server goes away; returns what was acknowledged.
async fn append_until_killed(client: Client, round: u32, task: u32) -> Vec<(u64, Vec<u8>, String)> {
    let mut acked = Vec::new();
    for i in 0.. {
        let entry = format!("round {round} client {task} entry {i}").into_bytes();
        match client.try_append(&election(1), &entry, None).await {
            Ok(Ok(receipt)) => {
                assert!(receipt.index < receipt.size);
                acked.push((receipt.index, entry, receipt.checkpoint));
            }
            Ok(Err(e)) => panic!("append refused: {e:?}"),
            Err(_) => break,
        }
    }
    acked
}

fn kill(child: &mut Child) {
    // `Child::kill` is SIGKILL on Unix: no chance to flush or clean up.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_entries_survive_repeated_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut acked = Acknowledged::default();
    let mut verifier: Option<NoteVerifier> = None;
    let random = std::collections::hash_map::RandomState::new();

    for round in 0..ROUNDS {
        let log = dir.path().join(format!("serve-{round}.log"));
        let mut server = spawn(&data, log).await;
        match &verifier {
            Some(v) => {
                assert_eq!(
                    &server.client.verifier(&election(1)).await,
                    v,
                    "board key persists"
                );
                verify(&server.client, v, &acked).await;
            }
            None => {
                let receipt = server.client.append(&election(1), b"genesis").await;
                acked.entries.insert(receipt.index, b"genesis".to_vec());
                verifier = Some(server.client.verifier(&election(1)).await);
            }
        }
        let clients: Vec<_> = (0..CLIENTS)
            .map(|t| tokio::spawn(append_until_killed(server.client.clone(), round, t)))
            .collect();
        // Let some appends through, then kill at a random moment.
        let delay = Duration::from_millis(random.hash_one(round) % 500);
        tokio::time::sleep(delay).await;
        kill(&mut server.child);
        for c in clients {
            for (index, entry, checkpoint) in c.await.unwrap() {
                assert!(
                    acked.entries.insert(index, entry).is_none(),
                    "index {index} acknowledged twice"
                );
                let size =
                    open_signed_checkpoint(checkpoint.as_bytes(), verifier.as_ref().unwrap())
                        .unwrap()
                        .size;
                if let Some(previous) = acked.checkpoints.insert(size, checkpoint.clone()) {
                    assert_eq!(previous, checkpoint, "two checkpoints for size {size}");
                }
            }
        }
        eprintln!(
            "round {round}: killed after {delay:?}, {} entries acknowledged so far",
            acked.entries.len()
        );
    }
    assert!(
        acked.entries.len() > ROUNDS as usize,
        "the clients got appends through"
    );

    // A last restart: everything still holds, and SIGTERM shuts down cleanly.
    let mut server = spawn(&data, dir.path().join("serve-final.log")).await;
    verify(&server.client, verifier.as_ref().unwrap(), &acked).await;
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
}

/// Enrols members one after another until the server goes away; returns
/// the acknowledged (member index, leaf index, entry).
async fn enrol_until_killed(
    client: Client,
    id: String,
    members: Arc<Vec<(String, String, SigningKey)>>,
    next: Arc<AtomicUsize>,
) -> Vec<(usize, u64, Vec<u8>)> {
    let mut acked = Vec::new();
    let election = hex_id(&id);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some((pseudonym, token, key)) = members.get(i) else {
            break;
        };
        let entry = voter::enrollment(election, pseudonym, key).to_bytes();
        let body = serde_json::json!({ "token": token, "entry": hex::encode(&entry) });
        let sent = client
            .http
            .post(client.url(&format!("/v1/elections/{id}/enroll")))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                let receipt: serde_json::Value = r.json().await.unwrap();
                acked.push((i, receipt["index"].as_u64().unwrap(), entry));
            }
            Ok(r) => panic!("enrolment refused: {}", r.status()),
            Err(_) => break,
        }
    }
    acked
}

fn hex_id(id: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(id, &mut out).unwrap();
    out
}

/// The members of an election: (pseudonym, enrolment token, member key).
type Members = Arc<Vec<(String, String, SigningKey)>>;

/// Creates an election with a roster of `count` members, ready for enrolments.
async fn election_with_roster(client: &Client, count: usize) -> (String, Members) {
    let trustee = SigningKey::from_bytes(&[3; 32]);
    let encryption = urne_crypto::dkg::TrusteeKey::generate(&mut urne_crypto::group::os_rng());
    let draft = serde_json::json!({
        "title": "crash",
        "constituencies": [{ "id": "c", "candidates": [{ "id": "a" }, { "id": "b" }],
                             "approval_min": 1, "approval_max": 1, "rules": { "seats": 1 } }],
        "trustees": [{ "name": "t", "signing_key": hex::encode(trustee.verifying_key().to_bytes()),
                       "encryption_key": hex::encode(encryption.public_key().compress().to_bytes()) }],
        "threshold": 1,
        "lottery": { "reveal_deadline": "2030-01-02T00:00:00Z", "beacon": { "network": "quicknet" } },
        "voting_opens": "2020-01-01T00:00:00Z",
        "voting_closes": "2030-01-01T00:00:00Z",
    });
    let created: serde_json::Value = client
        .http
        .post(client.url("/v1/elections"))
        .bearer_auth(TOKEN)
        .json(&draft)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["election"].as_str().unwrap().to_string();
    let mut csv = String::from("pseudonym,constituency,pool,category\n");
    for i in 0..count {
        csv.push_str(&format!("m{i},c,yes,\n"));
    }
    let tokens =
        urne_server::client::invitations::draw(&csv, &mut urne_crypto::group::os_rng()).unwrap();
    let body = urne_server::client::invitations::import_body(&csv, &tokens).unwrap();
    let imported = client
        .http
        .post(client.url(&format!("/v1/elections/{id}/roster")))
        .bearer_auth(TOKEN)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(imported.status().is_success());
    let members: Members = Arc::new(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (t.pseudonym.clone(), t.token.to_string(), {
                    let mut seed = [7u8; 32];
                    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    SigningKey::from_bytes(&seed)
                })
            })
            .collect(),
    );
    (id, members)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_election_server_replays_its_record_and_tables() {
    const MEMBERS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = spawn(&data, dir.path().join("serve-0.log")).await;
    let (id, members) = election_with_roster(&server.client, MEMBERS).await;

    // Kill the server while members enrol.
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(enrol_until_killed(
                server.client.clone(),
                id.clone(),
                members.clone(),
                next.clone(),
            ))
        })
        .collect();
    while next.load(Ordering::Relaxed) < MEMBERS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill(&mut server.child);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(!acked.is_empty());

    // The restarted server rebuilt the record from the log: its status agrees
    // with the signed head, acknowledged enrolments are where they were, and
    // every token is consumed exactly when its enrolment is on the board.
    let mut server = spawn(&data, dir.path().join("serve-1.log")).await;
    let client = &server.client;
    let verifier = client.verifier(&common::ElectionIdText(&id).id()).await;
    let (_, head) = client
        .checkpoint(&common::ElectionIdText(&id).id(), &verifier)
        .await;
    let (_, status) = client.get_json(&format!("/v1/elections/{id}")).await;
    assert_eq!(status["size"].as_u64(), Some(head.size));
    for (_, index, entry) in &acked {
        let r = client
            .http
            .get(client.url(&format!("/v1/elections/{id}/entries/{index}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            &r.bytes().await.unwrap()[..],
            &entry[..],
            "enrolment {index} kept"
        );
    }
    let election = hex_id(&id);
    let mut enrolled = 0;
    for (i, (pseudonym, token, key)) in members.iter().enumerate() {
        let entry = voter::enrollment(election, pseudonym, key).to_bytes();
        let r = client
            .http
            .post(client.url(&format!("/v1/elections/{id}/enroll")))
            .json(&serde_json::json!({ "token": token, "entry": hex::encode(&entry) }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let acknowledged = acked.iter().any(|(m, _, _)| *m == i);
        if acknowledged {
            assert_eq!(status, 409, "an acknowledged token stays used");
        } else {
            assert!(status == 200 || status == 409, "{status}");
        }
        enrolled += 1;
    }
    assert_eq!(enrolled, MEMBERS);
    // Every member is on the board exactly once.
    let entries = client.all_entries(&common::ElectionIdText(&id).id()).await;
    let enrolments = entries
        .iter()
        .filter(|e| {
            urne_crypto::entry::Entry::from_bytes(e).unwrap().kind
                == urne_crypto::entry::EntryKind::Enrollment as u8
        })
        .count();
    assert_eq!(enrolments, MEMBERS);
    kill(&mut server.child);
}

/// The record of `log` as the service restores it from the store in `data`
/// (its stored snapshot and the entries after it), and as a replay of every
/// entry from the first one, with every check, rebuilds it independently.
fn restored_and_replayed(data: &Path, log: &ElectionId) -> (Vec<u8>, Vec<u8>, u64) {
    let store = store(data);
    let size = store.size(log).unwrap().expect("the log exists");
    let machine = restore(&store, *log, size, &Elections::default())
        .expect("the log restores")
        .expect("the log is an election");
    let restored = machine.record().expect("manifest applied").snapshot();
    let mut entries = Vec::new();
    while (entries.len() as u64) < size {
        let page = store
            .entries(log, entries.len() as u64, size, 1 << 20)
            .unwrap();
        assert!(!page.is_empty());
        entries.extend(page.iter().map(|b| Entry::from_bytes(b).unwrap()));
    }
    struct Earlier<'a>(&'a [Entry]);
    impl BallotHistory for Earlier<'_> {
        fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
            self.0[index as usize].body().map_err(|e| e.to_string())
        }
    }
    let mut record = Record::open(&entries[0]).unwrap();
    for e in &entries[1..] {
        record
            .apply(e, BallotCheck::Full, &Earlier(&entries))
            .unwrap();
    }
    (restored, record.snapshot(), size)
}

/// The store in `data`, opened as `urne serve` opens it (files it creates
/// private to the user, or the service refuses the directory).
fn store(data: &Path) -> SealedStore<SledStore> {
    urne_server::store::permissions::private_file_mask();
    let sled = SledStore::open(&data.join(urne_server::board::STORE_DIR)).unwrap();
    SealedStore::new(sled, &common::secrets_key())
}

/// The size of the record in the stored snapshot of `log`, if there is one.
fn snapshot_size(data: &Path, log: &ElectionId) -> Option<u64> {
    let bytes = store(data)
        .get(log, RECORD_SNAPSHOTS, RECORD_SNAPSHOT_KEY)
        .unwrap()?;
    Some(
        Record::restore(&bytes)
            .expect("the stored snapshot restores")
            .size(),
    )
}

async fn log_size(client: &Client, id: &str) -> u64 {
    let (_, status) = client.get_json(&format!("/v1/elections/{id}")).await;
    status["size"].as_u64().unwrap()
}

/// SIGKILL at random moments around the sizes where the sequencer stores a
/// record snapshot (with the entries it covers, in one commit): after every
/// restart, the record the service rebuilt from its newest snapshot and the
/// entries after it equals a replay of the whole log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_writing_snapshots_restarts_to_the_full_replay() {
    const MEMBERS: usize = 3300;
    let interval = urne_server::sequencer::SNAPSHOT_MIN_INTERVAL;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = spawn(&data, dir.path().join("serve-0.log")).await;
    let (id, members) = election_with_roster(&server.client, MEMBERS).await;
    let log = common::ElectionIdText(&id).id();
    let next = Arc::new(AtomicUsize::new(0));
    let random = std::collections::hash_map::RandomState::new();
    let mut snapshots_seen = 0;
    for round in 1..=3u64 {
        // Kill within a few entries of the next snapshot size: just after it
        // in rounds 1 and 3, just before it (or after, if the kill is late)
        // in round 2.
        let jitter = random.hash_one(round) % 12;
        let target = if round % 2 == 1 {
            round * interval + jitter
        } else {
            round * interval - 1 - jitter
        };
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                tokio::spawn(enrol_until_killed(
                    server.client.clone(),
                    id.clone(),
                    members.clone(),
                    next.clone(),
                ))
            })
            .collect();
        while log_size(&server.client, &id).await < target {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        kill(&mut server.child);
        for t in tasks {
            t.await.unwrap();
        }
        let (restored, replayed, size) = restored_and_replayed(&data, &log);
        assert_eq!(restored, replayed, "round {round}: killed at size {size}");
        let snapshot = snapshot_size(&data, &log);
        if size >= round * interval {
            // The commit that crossed the snapshot size stored one.
            let at = snapshot.expect("a snapshot once the log crossed its size");
            assert!(
                at >= round * interval && at <= size,
                "snapshot at {at}, log {size}"
            );
            snapshots_seen += 1;
        }
        server = spawn(&data, dir.path().join(format!("serve-{round}.log"))).await;
        let verifier = server.client.verifier(&log).await;
        let (_, head) = server.client.checkpoint(&log, &verifier).await;
        assert_eq!(log_size(&server.client, &id).await, head.size);
        assert_eq!(head.size, size);
    }
    assert!(
        snapshots_seen >= 2,
        "the kills fell after {snapshots_seen} snapshot(s)"
    );
    kill(&mut server.child);
}

/// A stored snapshot that does not restore (here: cut short, then garbage)
/// is ignored with a warning: the service replays the whole log, starts,
/// and holds the same record as a full replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_snapshot_falls_back_to_a_full_replay() {
    const MEMBERS: usize = 1100;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = spawn(&data, dir.path().join("serve-0.log")).await;
    let (id, members) = election_with_roster(&server.client, MEMBERS).await;
    let log = common::ElectionIdText(&id).id();
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(enrol_until_killed(
                server.client.clone(),
                id.clone(),
                members.clone(),
                next.clone(),
            ))
        })
        .collect();
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap().len();
    }
    assert_eq!(acked, MEMBERS);
    kill(&mut server.child);
    let snapshot = {
        let store = store(&data);
        store
            .get(&log, RECORD_SNAPSHOTS, RECORD_SNAPSHOT_KEY)
            .unwrap()
            .expect("a snapshot after more than 1024 entries")
    };
    let (restored, replayed, size) = restored_and_replayed(&data, &log);
    assert_eq!(restored, replayed);
    assert!(Record::restore(&snapshot).unwrap().size() < size);

    let cut = snapshot[..snapshot.len() - 1].to_vec();
    for (round, bad) in [cut, b"not a snapshot".to_vec()].into_iter().enumerate() {
        let mut writes = WriteSet::new();
        writes.push(Write::Row {
            log,
            table: RECORD_SNAPSHOTS,
            key: RECORD_SNAPSHOT_KEY.to_vec(),
            value: zeroize::Zeroizing::new(bad.clone()),
        });
        store(&data).commit(writes).unwrap();
        let (restored, again, _) = restored_and_replayed(&data, &log);
        assert_eq!(restored, replayed, "a bad snapshot gives the full replay");
        assert_eq!(again, replayed);

        let server_log = dir.path().join(format!("serve-bad-{round}.log"));
        server = spawn(&data, server_log.clone()).await;
        assert_eq!(log_size(&server.client, &id).await, size);
        // The restarted record is the one the log says: every token is used.
        let (pseudonym, token, key) = &members[0];
        let entry = voter::enrollment(hex_id(&id), pseudonym, key).to_bytes();
        let r = server
            .client
            .http
            .post(server.client.url(&format!("/v1/elections/{id}/enroll")))
            .json(&serde_json::json!({ "token": token, "entry": hex::encode(&entry) }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 409);
        kill(&mut server.child);
        let warned = std::fs::read_to_string(&server_log).unwrap();
        assert!(warned.contains("bad_snapshot"), "{warned}");
    }
}
