//! `urne witness`: the key it writes, and the add-checkpoint service run as
//! its own process, refusing rollbacks, forks, bad signatures, bad proofs
//! and unknown logs, and keeping its word across SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use urne_crypto::checkpoint::{election_origin, sign_checkpoint, BoardKey, Checkpoint};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{consistency_proof, leaf_hash, root, MerkleError, NodeId};
use urne_crypto::witness::{add_signature_lines, AddCheckpoint, WitnessVerifier};

const ELECTION: [u8; 32] = [0x42; 32];

fn board() -> BoardKey {
    BoardKey::from_seed(&election_origin(&ELECTION), &[0x24; 32]).unwrap()
}

/// Leaves `[seed, i]` of a tree of `n` entries (another seed: another tree).
fn leaves(n: u64, seed: u8) -> Vec<Digest32> {
    (0..n).map(|i| leaf_hash(&[seed, i as u8])).collect()
}

fn note(n: u64, seed: u8) -> String {
    let cp = Checkpoint::new(election_origin(&ELECTION), n, root(&leaves(n, seed)));
    sign_checkpoint(&board(), &cp).unwrap()
}

fn proof(old: u64, new: u64, seed: u8) -> Vec<Digest32> {
    if old == 0 {
        return Vec::new();
    }
    let l = leaves(new, seed);
    consistency_proof(old, new, |id: NodeId| -> Result<Digest32, MerkleError> {
        let w = 1usize << id.level;
        let s = id.index as usize * w;
        Ok(root(&l[s..s + w]))
    })
    .unwrap()
}

fn body(old: u64, new: u64, seed: u8) -> String {
    AddCheckpoint {
        old_size: old,
        proof: proof(old, new, seed),
        checkpoint: note(new, seed),
    }
    .to_body()
}

struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(key: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["witness", "keygen", "--name", "w.example/one", "--key"])
        .arg(key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn serve(key: &Path, data: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(key)
        .arg("--data")
        .arg(data)
        .arg("--log")
        .arg(format!(
            "{}={}",
            election_origin(&ELECTION),
            board().verifier().to_vkey_string()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");
    Running { child, url }
}

async fn post(w: &Running, body: &str) -> (u16, Option<String>, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", w.url))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn the_witness_cosigns_growth_and_refuses_what_the_spec_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.key");
    let vkey = keygen(&key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let verifier = WitnessVerifier::from_vkey_string(&vkey).unwrap();
    // keygen refuses to overwrite a key.
    let again = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["witness", "keygen", "--name", "x", "--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let w = serve(&key, &dir.path().join("data"));
    // First checkpoint, then growth with a proof: cosigned, verifiably.
    let (s, _, line) = post(&w, &body(0, 3, 1)).await;
    assert_eq!(s, 200, "{line}");
    let cosigned = add_signature_lines(&note(3, 1), &line).unwrap();
    assert!(verifier.cosignature(cosigned.as_bytes()).unwrap().is_some());
    let (s, _, line) = post(&w, &body(3, 8, 1)).await;
    assert_eq!(s, 200, "{line}");
    // A wrong old size: 409 with the witness's size as text/x.tlog.size.
    let (s, ct, size) = post(&w, &body(3, 9, 1)).await;
    assert_eq!(
        (s, ct.as_deref(), size.as_str()),
        (409, Some("text/x.tlog.size"), "8\n")
    );
    // Rollback to a smaller tree.
    let rollback = AddCheckpoint {
        old_size: 8,
        proof: vec![],
        checkpoint: note(5, 1),
    };
    assert_eq!(post(&w, &rollback.to_body()).await.0, 400);
    // Fork: same size, other root.
    let fork = AddCheckpoint {
        old_size: 8,
        proof: vec![],
        checkpoint: note(8, 2),
    };
    assert_eq!(post(&w, &fork.to_body()).await.0, 409);
    // A longer fork: its proof cannot start from the witness's root.
    let mut bad = AddCheckpoint {
        old_size: 8,
        proof: proof(8, 12, 2),
        checkpoint: note(12, 2),
    };
    assert_eq!(post(&w, &bad.to_body()).await.0, 422);
    bad.proof.clear();
    assert_eq!(post(&w, &bad.to_body()).await.0, 422);
    // Signed by another key only.
    let other = BoardKey::from_seed(&election_origin(&ELECTION), &[7; 32]).unwrap();
    let forged = AddCheckpoint {
        old_size: 8,
        proof: proof(8, 12, 1),
        checkpoint: sign_checkpoint(
            &other,
            &Checkpoint::new(election_origin(&ELECTION), 12, root(&leaves(12, 1))),
        )
        .unwrap(),
    };
    assert_eq!(post(&w, &forged.to_body()).await.0, 403);
    // An origin it does not follow, and garbage.
    let stranger = BoardKey::from_seed(&election_origin(&[1; 32]), &[0x24; 32]).unwrap();
    let unknown = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: sign_checkpoint(
            &stranger,
            &Checkpoint::new(election_origin(&[1; 32]), 1, root(&leaves(1, 1))),
        )
        .unwrap(),
    };
    assert_eq!(post(&w, &unknown.to_body()).await.0, 404);
    assert_eq!(post(&w, "old 08\n\n").await.0, 400);
    // After all the refusals, the good log still grows.
    assert_eq!(post(&w, &body(8, 12, 1)).await.0, 200);
}

#[tokio::test]
async fn after_sigkill_the_witness_never_cosigns_two_roots_for_one_size() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.key");
    keygen(&key);
    let data = dir.path().join("data");
    let mut size = 0;
    for round in 0..4u64 {
        let mut w = serve(&key, &data);
        let next = size + 1 + round * 3;
        let (s, _, msg) = post(&w, &body(size, next, 1)).await;
        assert_eq!(s, 200, "round {round}: {msg}");
        // Killed right after answering: the answer was durable.
        w.child.kill().unwrap();
        w.child.wait().unwrap();
        let w = serve(&key, &data);
        let fork = AddCheckpoint {
            old_size: next,
            proof: vec![],
            checkpoint: note(next, 9),
        };
        assert_eq!(post(&w, &fork.to_body()).await.0, 409, "round {round}");
        let (s, _, body_text) = post(&w, &body(0, next, 9)).await;
        assert_eq!((s, body_text), (409, format!("{next}\n")), "round {round}");
        size = next;
    }
}
