//! Monitoring (`--state`): a run continued from a stored state verifies only
//! what was appended, and its result equals a full run at every cut point;
//! a board that does not extend the stored one is refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

use urne_crypto::export::{ExportWriter, Record as ExportRecord};
use urne_e2e::fixture::{build, Fixture, Params};

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build(&Params::small(31)))
}

fn temp_path(suffix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "urne-verify-monitor-{}-{}{suffix}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The export of the first `size` entries, with the board's checkpoint at that size.
fn prefix_export(f: &Fixture, size: usize) -> Vec<u8> {
    let entries = f.entry_bytes();
    let vkey = f.board_key().verifier().to_vkey_string();
    let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
    for (i, e) in entries[..size].iter().enumerate() {
        w.write(&ExportRecord::Entry(e.clone())).expect("export");
        if f.checkpoint_sizes.contains(&(i as u64 + 1)) {
            w.write(&ExportRecord::Checkpoint(
                f.checkpoint_for(&entries, i as u64 + 1),
            ))
            .expect("export");
        }
    }
    w.finish(&f.checkpoint_for(&entries, size as u64))
        .expect("export")
}

fn run(export: &[u8], state: Option<&Path>) -> (i32, Value) {
    let path = temp_path(".export");
    std::fs::write(&path, export).expect("write export");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urne-verify"));
    cmd.arg("--json");
    if let Some(s) = state {
        cmd.arg("--state").arg(s);
    }
    let out = cmd.arg(&path).output().expect("run urne-verify");
    let _ = std::fs::remove_file(&path);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

/// The report without what legitimately differs between a full and a
/// resumed run: the timing and the resumed run's own consistency check.
fn comparable(mut report: Value) -> Value {
    report["seconds"] = Value::Null;
    if let Some(checks) = report["checks"].as_array_mut() {
        checks.retain(|c| c["name"] != "consistency");
    }
    report
}

fn consistency(report: &Value) -> Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "consistency"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn resumed_runs_equal_full_runs_at_every_cut() {
    let f = fixture();
    let n = f.entries.len();
    let (code, full) = run(&f.export(), None);
    assert_eq!(code, 0);
    for cut in [1, 2, n / 3, n / 2, n - 3, n - 1, n] {
        let state = temp_path(".state");
        let (code, first) = run(&prefix_export(f, cut), Some(&state));
        assert_eq!(code, 0, "prefix of {cut}: {first:#}");
        assert_eq!(first["valid"], true);
        assert!(state.exists(), "state written after a valid run");
        let (code, resumed) = run(&f.export(), Some(&state));
        assert_eq!(code, 0, "resumed from {cut}: {resumed:#}");
        assert_eq!(consistency(&resumed)["status"], "pass", "cut {cut}");
        assert_eq!(comparable(resumed), comparable(full.clone()), "cut {cut}");
        let _ = std::fs::remove_file(&state);
    }
}

#[test]
fn a_monitor_follows_a_growing_board() {
    let f = fixture();
    let n = f.entries.len();
    let (_, full) = run(&f.export(), None);
    let state = temp_path(".state");
    let mut last = Value::Null;
    for cut in [3, 10, n / 2, n / 2, n - 5, n] {
        let (code, report) = run(&prefix_export(f, cut), Some(&state));
        assert_eq!(code, 0, "at {cut}: {report:#}");
        assert_eq!(report["entries"], cut as u64);
        last = report;
    }
    assert_eq!(last["status"], "valid");
    assert_eq!(comparable(last), comparable(full));
    let _ = std::fs::remove_file(&state);
}

#[test]
fn a_board_that_does_not_extend_the_stored_one_is_refused() {
    let f = fixture();
    let n = f.entries.len();
    // Shrinking.
    let state = temp_path(".state");
    assert_eq!(run(&f.export(), Some(&state)).0, 0);
    let before = std::fs::read(&state).expect("state");
    let (code, report) = run(&prefix_export(f, n / 2), Some(&state));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(consistency(&report)["status"], "fail");
    assert_eq!(
        std::fs::read(&state).expect("state"),
        before,
        "an invalid run leaves the state alone"
    );
    let _ = std::fs::remove_file(&state);

    // A different history: another election's board.
    let state = temp_path(".state");
    assert_eq!(run(&prefix_export(f, n / 2), Some(&state)).0, 0);
    let other = build(&Params::small(32));
    let (code, report) = run(&other.export(), Some(&state));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(consistency(&report)["status"], "fail");
    let _ = std::fs::remove_file(&state);

    // A corrupt state file is a usage error.
    let state = temp_path(".state");
    std::fs::write(&state, "{}").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg("--state")
        .arg(&state)
        .arg("/nonexistent")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_file(&state);
}
