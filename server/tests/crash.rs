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
use std::time::Duration;

use common::{election, Client, TOKEN};
use urne_crypto::checkpoint::{open_signed_checkpoint, Checkpoint, NoteVerifier};
use urne_crypto::merkle;

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
