//! The conformance suite (`specs/conformance/`): every committed export is
//! run through the `urne-verify` binary and its `--json` report must equal
//! the committed one (without the informative `seconds`); each must get the
//! verdict its index entry names (and, if it fails, a failure of the named
//! check with the named code); and the generator must reproduce every
//! committed export byte for byte.
//!
//! `URNE_REGENERATE_CONFORMANCE=1 cargo test -p urne-verify --test conformance`
//! rewrites the suite from the generator (`tests/src/conformance.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use urne_e2e::conformance::{cases, Case, Expect};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/conformance")
}

fn expect_json(e: &Expect) -> Value {
    match e {
        Expect::Valid => json!({"status": "valid"}),
        Expect::ValidSoFar => json!({"status": "valid-so-far"}),
        Expect::Fails { check, code, entry } => {
            json!({"status": "invalid", "check": check, "code": code, "entry": entry})
        }
    }
}

fn index_of(cases: &[Case]) -> Value {
    Value::Array(
        cases
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "description": c.description,
                    "expect": expect_json(&c.expect),
                })
            })
            .collect(),
    )
}

/// Runs `urne-verify --json FILE`: exit status and report without `seconds`.
fn verify(path: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg("--json")
        .arg("--threads")
        .arg("1")
        .arg(path)
        .output()
        .expect("run urne-verify");
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: the report is not JSON ({e}): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    if let Some(o) = report.as_object_mut() {
        o.remove("seconds");
    }
    (out.status.code().unwrap_or(-1), report)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("json");
    s.push('\n');
    s
}

/// The verdict and failure the index names.
fn check_expectation(name: &str, expect: &Value, code: i32, report: &Value) {
    let status = expect["status"].as_str().expect("status");
    assert_eq!(
        report["status"], status,
        "{name}: verdict; report {report:#}"
    );
    assert_eq!(
        code,
        if status == "invalid" { 1 } else { 0 },
        "{name}: exit status"
    );
    if status != "invalid" {
        assert!(
            report["failures"].as_array().is_some_and(Vec::is_empty),
            "{name}: {report:#}"
        );
        return;
    }
    let failures = report["failures"].as_array().expect("failures");
    let hit = failures.iter().any(|f| {
        f["check"] == expect["check"]
            && f["code"] == expect["code"]
            && f["entry"] == expect["entry"]
    });
    assert!(
        hit,
        "{name}: expected a failure {expect}, got {failures:#?}"
    );
    let check = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == expect["check"]))
        .expect("check listed");
    assert_eq!(check["status"], "fail", "{name}: {check}");
}

#[test]
fn conformance_suite() {
    let dir = dir();
    let cases = cases();
    if std::env::var("URNE_REGENERATE_CONFORMANCE").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).expect("create specs/conformance");
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("export") | Some("json")
            ) {
                std::fs::remove_file(&path).expect("remove old case");
            }
        }
        for c in &cases {
            let export = dir.join(format!("{}.export", c.name));
            std::fs::write(&export, &c.export).expect("write export");
            let (code, report) = verify(&export);
            check_expectation(c.name, &expect_json(&c.expect), code, &report);
            std::fs::write(dir.join(format!("{}.json", c.name)), pretty(&report))
                .expect("write report");
        }
        std::fs::write(dir.join("index.json"), pretty(&index_of(&cases))).expect("write index");
        return;
    }
    let hint = "regenerate with URNE_REGENERATE_CONFORMANCE=1 cargo test -p urne-verify --test conformance";
    let index: Value = serde_json::from_slice(
        &std::fs::read(dir.join("index.json"))
            .unwrap_or_else(|e| panic!("index.json: {e}; {hint}")),
    )
    .expect("index.json is JSON");
    assert_eq!(
        index,
        index_of(&cases),
        "specs/conformance/index.json differs from the generator; {hint}"
    );
    // Every committed file belongs to a case.
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        match path.extension().and_then(|e| e.to_str()) {
            Some("export") | Some("json") if stem != "index" => {
                files += 1;
                assert!(
                    cases.iter().any(|c| c.name == stem),
                    "{} is no case of the generator; {hint}",
                    path.display()
                );
            }
            _ => {}
        }
    }
    assert_eq!(
        files,
        2 * cases.len(),
        "one export and one report per case; {hint}"
    );
    let work: Vec<&Case> = cases.iter().collect();
    let chunks: Vec<&[&Case]> = work.chunks(work.len().div_ceil(2).max(1)).collect();
    std::thread::scope(|s| {
        for chunk in chunks {
            let dir = &dir;
            s.spawn(move || {
                for c in chunk {
                    let export = dir.join(format!("{}.export", c.name));
                    let committed = std::fs::read(&export)
                        .unwrap_or_else(|e| panic!("{}: {e}; {hint}", export.display()));
                    assert!(
                        committed == c.export,
                        "{}: the generator no longer reproduces it byte for byte; {hint}",
                        export.display()
                    );
                    let (code, report) = verify(&export);
                    let expected: Value = serde_json::from_slice(
                        &std::fs::read(dir.join(format!("{}.json", c.name))).expect("report"),
                    )
                    .expect("report is JSON");
                    assert_eq!(report, expected, "{}: the report changed; {hint}", c.name);
                    check_expectation(c.name, &expect_json(&c.expect), code, &report);
                }
            });
        }
    });
}
