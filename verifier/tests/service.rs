//! Verifying and monitoring a board straight from a service's read API
//! (`board-key`, `checkpoint`, `entries`, `proof/consistency`), served here
//! by a minimal HTTP responder on the loopback interface over a fixture
//! board that can grow between runs or be replaced by a forked history.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use urne_e2e::fixture::{build, Fixture, Params};
use urne_e2e::forgery::forge_first_revote;
use urne_e2e::served::{ServedBoard, Service};

/// The fixture's board cut to its first `size` of `entries`, as served.
fn board(fixture: &Fixture, entries: &[Vec<u8>], size: usize) -> ServedBoard {
    ServedBoard::of_export(&fixture.export_of(&entries[..size]))
}

fn serve(fixture: &Fixture, board: ServedBoard) -> Service {
    Service::start(board, &hex::encode(fixture.election))
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
            !["consistency", "checkpoints", "export-format", "web-client"]
                .contains(&c["name"].as_str().unwrap_or_default())
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
    let service = serve(&fixture, board(&fixture, &entries, n));
    let url = service.url().to_string();

    // The whole board at once equals the export's verification.
    let file =
        std::env::temp_dir().join(format!("urne-verify-service-{}.export", std::process::id()));
    std::fs::write(&file, &export).expect("write");
    let (code, from_file) = run(file.to_str().expect("path"), None);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 0);
    let (code, remote) = run(&url, None);
    assert_eq!(code, 0, "{remote:#}");
    // Only a service serves a web client to check.
    assert_eq!(check(&from_file, "web-client"), Value::Null);
    assert_eq!(check(&remote, "web-client")["status"], "pass", "{remote:#}");
    assert_eq!(comparable(remote), comparable(from_file.clone()));

    // A monitor follows the board as it grows.
    let state = temp_state();
    for size in [5, n / 3, n / 3, n - 2, n] {
        service.replace(board(&fixture, &entries, size));
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
    let service = serve(&fixture, board(&fixture, &entries, n / 2));
    let url = service.url().to_string();
    assert_eq!(run(&url, Some(&state)).0, 0);
    // ... then a board that rewrote an early entry (re-signing every checkpoint).
    let mut forked = entries.clone();
    forked.swap(3, 4);
    service.replace(board(&fixture, &forked, n));
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
    let forged_board = |size: usize| {
        board(&fixture, &forged.entries, size).answering_again(forged.index, forged.forged.clone())
    };
    let service = serve(&fixture, forged_board(n));
    let url = service.url().to_string();
    let (code, report) = run(&url, None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(check(&report, "ballots")["status"], "fail", "{report:#}");

    // The same when monitoring resumes after the replaced ballot.
    let state = temp_state();
    service.replace(forged_board(forged.index as usize + 1));
    let (code, report) = run(&url, Some(&state));
    assert_eq!(code, 0, "{report:#}");
    service.replace(forged_board(n));
    let (code, report) = run(&url, Some(&state));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(check(&report, "ballots")["status"], "fail", "{report:#}");
    let _ = std::fs::remove_file(&state);
}

#[test]
fn a_service_serving_another_web_client_is_caught() {
    use urne_e2e::fixture::{client_digest, CLIENT_FILES};
    let fixture = build(&Params::small(44));
    let entries = fixture.entry_bytes();
    let n = entries.len();
    let digest = hex::encode(client_digest());
    let service = serve(&fixture, board(&fixture, &entries, n));
    let url = service.url().to_string();

    // The client the manifest names: the check passes and the report names it.
    let (code, report) = run(&url, None);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["client_digest"], digest.as_str());
    let passed = check(&report, "web-client");
    assert_eq!(passed["status"], "pass", "{report:#}");
    assert!(passed["detail"]
        .as_str()
        .unwrap_or_default()
        .contains(&digest));
    let text = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg(&url)
        .output()
        .expect("run urne-verify");
    assert!(String::from_utf8_lossy(&text.stdout).contains(&format!("web client {digest}")));

    // A file served with other bytes than its listing says.
    let mut altered = CLIENT_FILES;
    altered[0].1 = b"steal()";
    let listing = urne_crypto::web_client::listing(CLIENT_FILES.iter().copied());
    service.replace(
        board(&fixture, &entries, n)
            .serving_client(&altered)
            .with_client_listing(&listing),
    );
    let (code, report) = run(&url, None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(check(&report, "web-client")["status"], "fail");
    assert_eq!(
        report["failures"][0]["code"], "client_file_mismatch",
        "{report:#}"
    );

    // Another client altogether, consistently listed.
    let mut other = CLIENT_FILES;
    other[0].1 = b"// a modified client\n";
    service.replace(board(&fixture, &entries, n).serving_client(&other));
    let (code, report) = run(&url, None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        report["failures"][0]["code"], "client_digest_mismatch",
        "{report:#}"
    );
    // The board itself still verifies: only the client is wrong.
    assert_eq!(check(&report, "merkle-root")["status"], "pass");

    // No client served at all.
    service.replace(board(&fixture, &entries, n).serving_client(&[]));
    let (code, report) = run(&url, None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        report["failures"][0]["code"], "client_unavailable",
        "{report:#}"
    );
}
