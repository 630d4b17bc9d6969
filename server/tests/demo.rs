//! `urne demo --preset small --seed 1` end to end: the verifier's verdict and
//! the seat table.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod spawned;

#[test]
fn small_demo_runs_verifies_and_seats_the_assembly() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["demo", "--preset", "small", "--seed", "1", "--dir"])
        .arg(dir.path())
        .env("URNE_LOG", "warn")
        .output()
        .expect("run urne demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for line in [
        "verification (urne-verify):",
        "ballot-proofs: pass",
        "tallies: pass",
        "seats: pass",
        "final-checkpoint: pass",
        "complete: pass",
        "tallies equal the voters' last choices: yes",
        "election complete: yes",
        "demo passed",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("| NO") && !stdout.lines().any(|l| l.trim_end().ends_with("NO")),
        "{stdout}"
    );
    // Three constituencies of 4 seats: 3 elected and 1 drawn each.
    for c in [
        "North (north): 4 seats, 3 by vote and 1 by lot",
        "South (south): 4 seats, 3 by vote and 1 by lot",
        "East (east): 4 seats, 3 by vote and 1 by lot",
    ] {
        assert!(stdout.contains(c), "missing {c:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("drawn by lot: 1. "))
            .count(),
        3,
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("elected (seat "))
            .count(),
        9,
        "{stdout}"
    );
    assert!(stdout
        .lines()
        .any(|l| l.starts_with("parity, f: ") && l.ends_with(": met")));
    assert!(!stdout.contains("NOT met"), "{stdout}");
    assert!(dir.path().join("export").exists());
}

/// `urne demo --serve` prints its results page and keeps serving it.
#[test]
fn demo_serve_keeps_serving_its_results_page() {
    let child = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["demo", "--preset", "small", "--seed", "2", "--serve"])
        .env("URNE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run urne demo --serve");
    let mut demo = spawned::Spawned {
        child,
        url: String::new(),
    };
    let stdout = demo.child.stdout.take().expect("stdout");
    let mut results = None;
    let mut passed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the demo's output");
        if let Some(u) = line.strip_prefix("results page: ") {
            results = Some(u.to_string());
        }
        passed |= line == "demo passed";
        if line.starts_with("serving the board and its public site at ") {
            break;
        }
    }
    assert!(passed, "the demo did not pass");
    let results = results.expect("the demo prints its results page");
    let (page_url, fragment) = results.split_once('#').expect("a #results fragment");
    assert_eq!(fragment, "results");
    let (page, _) = spawned::get(page_url);
    assert!(page.contains("/assets/"), "{page}");
    let (base, election) = page_url
        .split_once("/elections/")
        .expect("an election page");
    let (status, _) = spawned::get(&format!("{base}/v1/elections/{election}"));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["phase"], "seated", "{status}");
}
