//! Verifying and monitoring a board straight from a service's read API
//! (`board-key`, `checkpoint`, `entries`, `proof/consistency`), served here
//! by a minimal HTTP responder on the loopback interface over a fixture
//! board that can grow between runs or be replaced by a forked history.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64ct::{Base64, Encoding};
use serde_json::{json, Value};

use urne_crypto::merkle::{consistency_proof, leaf_hash, Frontier, MerkleError, NodeId};
use urne_e2e::fixture::{build, Fixture, Params};
use urne_e2e::forgery::forge_first_revote;

/// What the fake service serves: a board (possibly forked) and its visible size.
struct Served {
    fixture: Fixture,
    entries: Vec<Vec<u8>>,
    nodes: HashMap<NodeId, [u8; 32]>,
    size: usize,
    /// An entry served instead of the board's when it is fetched alone again.
    again: Option<(u64, Vec<u8>)>,
}

impl Served {
    fn new(fixture: Fixture, entries: Vec<Vec<u8>>, size: usize) -> Self {
        let mut nodes = HashMap::new();
        let mut f = Frontier::new();
        for e in &entries {
            nodes.extend(f.append(leaf_hash(e)).expect("append"));
        }
        Served {
            fixture,
            entries,
            nodes,
            size,
            again: None,
        }
    }

    fn answer(&self, target: &str) -> (u16, &'static str, String) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: HashMap<&str, u64> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect();
        let tail = path
            .rsplit_once(&hex::encode(self.fixture.election))
            .map(|(_, t)| t);
        let size = self.size as u64;
        match tail {
            Some("/board-key") => (
                200,
                "text/plain",
                self.fixture.board_key().verifier().to_vkey_string() + "\n",
            ),
            Some("/checkpoint") => (
                200,
                "text/plain",
                self.fixture.checkpoint_for(&self.entries, size),
            ),
            Some("/entries") => {
                let start = q.get("start").copied().unwrap_or(0);
                if let Some((index, bytes)) = &self.again {
                    if start == *index && q.get("end") == Some(&(index + 1)) {
                        let page = vec![Base64::encode_string(bytes)];
                        let body = json!({ "start": start, "size": size, "entries": page });
                        return (200, "application/json", body.to_string());
                    }
                }
                let end = q
                    .get("end")
                    .copied()
                    .unwrap_or(size)
                    .min(size)
                    .min(start + 7);
                let page: Vec<String> = (start..end.max(start))
                    .map(|i| Base64::encode_string(&self.entries[i as usize]))
                    .collect();
                let body = json!({ "start": start, "size": size, "entries": page });
                (200, "application/json", body.to_string())
            }
            Some("/proof/consistency") => {
                let (from, to) = (q["from"], q["to"]);
                let proof = consistency_proof(from, to, |id| {
                    self.nodes
                        .get(&id)
                        .copied()
                        .ok_or(MerkleError::MissingNode(id))
                });
                match proof {
                    Ok(p) => {
                        let hashes: Vec<String> = p.iter().map(hex::encode).collect();
                        let body = json!({ "from": from, "to": to, "hashes": hashes });
                        (200, "application/json", body.to_string())
                    }
                    Err(_) => (400, "application/json", "{}".into()),
                }
            }
            _ => (404, "application/json", "{}".into()),
        }
    }
}

/// Starts the responder; returns the election's base URL.
fn serve(served: Arc<Mutex<Served>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let election = hex::encode(served.lock().expect("lock").fixture.election);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                    break;
                }
            }
            let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, ctype, body) = served.lock().expect("lock").answer(&target);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/v1/elections/{election}")
}

fn temp_state() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "urne-verify-service-{}-{}.state",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn run(target: &str, state: Option<&PathBuf>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urne-verify"));
    cmd.arg("--json");
    if let Some(s) = state {
        cmd.arg("--state").arg(s);
    }
    let out = cmd.arg(target).output().expect("run urne-verify");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

fn comparable(mut report: Value) -> Value {
    report["seconds"] = Value::Null;
    if let Some(checks) = report["checks"].as_array_mut() {
        checks.retain(|c| {
            c["name"] != "consistency" && c["name"] != "checkpoints" && c["name"] != "export-format"
        });
    }
    report
}

fn check(report: &Value, name: &str) -> Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_service_is_verified_and_followed() {
    let fixture = build(&Params::small(41));
    let export = fixture.export();
    let entries = fixture.entry_bytes();
    let n = entries.len();
    let served = Arc::new(Mutex::new(Served::new(fixture, entries, n)));
    let url = serve(served.clone());

    // The whole board at once equals the export's verification.
    let file =
        std::env::temp_dir().join(format!("urne-verify-service-{}.export", std::process::id()));
    std::fs::write(&file, &export).expect("write");
    let (code, from_file) = run(file.to_str().expect("path"), None);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 0);
    let (code, remote) = run(&url, None);
    assert_eq!(code, 0, "{remote:#}");
    assert_eq!(comparable(remote), comparable(from_file.clone()));

    // A monitor follows the board as it grows.
    let state = temp_state();
    for size in [5, n / 3, n / 3, n - 2, n] {
        served.lock().expect("lock").size = size;
        let (code, report) = run(&url, Some(&state));
        assert_eq!(code, 0, "at {size}: {report:#}");
        assert_eq!(report["entries"], size as u64);
        if size > 5 {
            assert_eq!(check(&report, "consistency")["status"], "pass");
        }
        if size == n {
            assert_eq!(comparable(report), comparable(from_file.clone()));
        }
    }
    let _ = std::fs::remove_file(&state);
}

#[test]
fn a_forked_service_is_caught() {
    let fixture = build(&Params::small(42));
    let entries = fixture.entry_bytes();
    let n = entries.len();
    // The monitor sees the honest board up to n/2 ...
    let state = temp_state();
    let honest = Served::new(build(&Params::small(42)), entries.clone(), n / 2);
    let served = Arc::new(Mutex::new(honest));
    let url = serve(served.clone());
    assert_eq!(run(&url, Some(&state)).0, 0);
    // ... then a board that rewrote an early entry (re-signing every checkpoint).
    let mut forked = entries.clone();
    forked.swap(3, 4);
    *served.lock().expect("lock") = Served::new(fixture, forked, n);
    let (code, report) = run(&url, Some(&state));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        check(&report, "consistency")["status"],
        "fail",
        "{report:#}"
    );
    let _ = std::fs::remove_file(&state);

    // An unreachable service is a usage error, not a verdict.
    let out = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg("http://127.0.0.1:9/v1/elections/00")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_service_forging_a_revote_history_is_caught() {
    let fixture = build(&Params::small(43));
    let forged = forge_first_revote(&fixture);
    let n = forged.entries.len();
    // As a file, the forged board is invalid: its tally does not follow from its ballots.
    let file = std::env::temp_dir().join(format!(
        "urne-verify-service-forged-{}.export",
        std::process::id()
    ));
    std::fs::write(&file, fixture.export_of(&forged.entries)).expect("write");
    let (code, report) = run(file.to_str().expect("path"), None);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 1, "{report:#}");

    // Served, with the replaced ballot answered by a forged one when fetched again.
    let mut served = Served::new(fixture, forged.entries.clone(), n);
    served.again = Some((forged.index, forged.forged.clone()));
    let served = Arc::new(Mutex::new(served));
    let url = serve(served.clone());
    let (code, report) = run(&url, None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(check(&report, "ballots")["status"], "fail", "{report:#}");

    // The same when monitoring resumes after the replaced ballot.
    let state = temp_state();
    served.lock().expect("lock").size = forged.index as usize + 1;
    let (code, report) = run(&url, Some(&state));
    assert_eq!(code, 0, "{report:#}");
    served.lock().expect("lock").size = n;
    let (code, report) = run(&url, Some(&state));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(check(&report, "ballots")["status"], "fail", "{report:#}");
    let _ = std::fs::remove_file(&state);
}
