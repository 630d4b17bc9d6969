//! The conformance suite (`specs/conformance/`): every committed case is
//! run through the `urne-verify` binary from its committed files (as a file,
//! after an earlier export for a monitored case, or served over HTTP for a
//! service case) and its `--json` report must equal the committed one
//! (without the informative `seconds`); each must get the verdict its index
//! entry names (and, if it fails, a failure of the named check with the named
//! code); the generator must reproduce every committed file byte for byte;
//! and every check and code of §9.3 must have a case.
//!
//! `URNE_REGENERATE_CONFORMANCE=1 cargo test -p urne-verify --test conformance`
//! rewrites the suite from the generator (`tests/src/conformance.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::atomic::{AtomicUsize, Ordering};

use base64ct::{Base64, Encoding};
use serde_json::{json, Value};
use urne_e2e::conformance::{cases, Case, Expect, Served};
use urne_e2e::served::{ServedBoard, Service};

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
                    "source": if c.served.is_some() { "service" } else { "file" },
                    "before": c.before.as_ref().map(|_| format!("{}.before.export", c.name)),
                    "expect": expect_json(&c.expect),
                })
            })
            .collect(),
    )
}

/// `NAME.service.json`: what a service case serves beyond its export.
fn served_json(served: &Served) -> Value {
    let mut out = serde_json::Map::new();
    if let Some((index, bytes)) = &served.again {
        out.insert(
            "again".into(),
            json!({ "index": index, "entry": Base64::encode_string(bytes) }),
        );
    }
    if let Some(files) = &served.client_files {
        let files: Vec<Value> = files
            .iter()
            .map(|(p, b)| json!({ "path": p, "bytes": Base64::encode_string(b) }))
            .collect();
        out.insert("client_files".into(), Value::Array(files));
    }
    if let Some(listing) = &served.client_listing {
        out.insert("client_listing".into(), json!(listing));
    }
    Value::Object(out)
}

/// The files of one case, written from the generator.
fn write_case(dir: &Path, c: &Case) {
    std::fs::write(dir.join(format!("{}.export", c.name)), &c.export).expect("write export");
    if let Some(before) = &c.before {
        std::fs::write(dir.join(format!("{}.before.export", c.name)), before)
            .expect("write before");
    }
    if let Some(served) = &c.served {
        std::fs::write(
            dir.join(format!("{}.service.json", c.name)),
            pretty(&served_json(served)),
        )
        .expect("write service");
    }
}

/// The board a service case serves for `export`, read from the committed files.
fn served_board(dir: &Path, name: &str, export: &Path) -> ServedBoard {
    let board = ServedBoard::of_export(&std::fs::read(export).expect("export"));
    let spec: Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("{name}.service.json"))).expect("service.json"),
    )
    .expect("service.json is JSON");
    let mut board = match spec.get("again") {
        Some(again) => board.answering_again(
            again["index"].as_u64().expect("index"),
            Base64::decode_vec(again["entry"].as_str().expect("entry")).expect("base64"),
        ),
        None => board,
    };
    if let Some(files) = spec.get("client_files").and_then(Value::as_array) {
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|f| {
                let path = f["path"].as_str().expect("path").to_string();
                let bytes =
                    Base64::decode_vec(f["bytes"].as_str().expect("bytes")).expect("base64");
                (path, bytes)
            })
            .collect();
        let borrowed: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        board = board.serving_client(&borrowed);
    }
    if let Some(listing) = spec.get("client_listing").and_then(Value::as_str) {
        board = board.with_client_listing(listing);
    }
    board
}

/// Runs one case from its committed files as an outside verifier would:
/// the `before` run first (keeping state), then the case itself.
fn run_case(dir: &Path, entry: &Value) -> (i32, Value) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = entry["name"].as_str().expect("name");
    let export = dir.join(format!("{name}.export"));
    let before = entry["before"].as_str().map(|b| dir.join(b));
    let state = before.as_ref().map(|_| {
        std::env::temp_dir().join(format!(
            "urne-conformance-{}-{}.state",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    });
    let result = if entry["source"] == "service" {
        let first = before.as_ref().unwrap_or(&export);
        let service = Service::start(served_board(dir, name, first), "conformance");
        if let Some(b) = &before {
            let (code, report) = verify(service.url(), state.as_deref());
            assert_eq!(code, 0, "{name}: the run on {}: {report:#}", b.display());
            service.replace(served_board(dir, name, &export));
        }
        verify(service.url(), state.as_deref())
    } else {
        if let Some(b) = &before {
            let (code, report) = verify(&b.to_string_lossy(), state.as_deref());
            assert_eq!(code, 0, "{name}: the run on {}: {report:#}", b.display());
        }
        verify(&export.to_string_lossy(), state.as_deref())
    };
    if let Some(s) = state {
        let _ = std::fs::remove_file(s);
    }
    result
}

/// Runs `urne-verify --json TARGET` (with `--state`): exit status and report
/// without `seconds`.
fn verify(target: &str, state: Option<&Path>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urne-verify"));
    cmd.arg("--json").arg("--threads").arg("1");
    if let Some(s) = state {
        cmd.arg("--state").arg(s);
    }
    let out = cmd.arg(target).output().expect("run urne-verify");
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{target}: the report is not JSON ({e}): {}",
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
        let index = index_of(&cases);
        for (c, entry) in cases.iter().zip(index.as_array().expect("index")) {
            write_case(&dir, c);
            let (code, report) = run_case(&dir, entry);
            check_expectation(c.name, &expect_json(&c.expect), code, &report);
            std::fs::write(dir.join(format!("{}.json", c.name)), pretty(&report))
                .expect("write report");
        }
        std::fs::write(dir.join("index.json"), pretty(&index)).expect("write index");
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
        let file = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let stem = [".before.export", ".service.json", ".export", ".json"]
            .iter()
            .find_map(|suffix| file.strip_suffix(suffix))
            .unwrap_or(file);
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
    let expected_files: usize = cases
        .iter()
        .map(|c| 2 + usize::from(c.before.is_some()) + usize::from(c.served.is_some()))
        .sum();
    assert_eq!(
        files, expected_files,
        "an export and a report per case, and its before export and service file; {hint}"
    );
    let entries = index.as_array().expect("index is a list");
    let work: Vec<(&Case, &Value)> = cases.iter().zip(entries).collect();
    let chunks: Vec<&[(&Case, &Value)]> = work.chunks(work.len().div_ceil(2).max(1)).collect();
    std::thread::scope(|s| {
        for chunk in chunks {
            let dir = &dir;
            s.spawn(move || {
                for (c, entry) in chunk {
                    let same = |file: String, bytes: &[u8]| {
                        let path = dir.join(file);
                        let committed = std::fs::read(&path)
                            .unwrap_or_else(|e| panic!("{}: {e}; {hint}", path.display()));
                        assert!(
                            committed == bytes,
                            "{}: the generator no longer reproduces it byte for byte; {hint}",
                            path.display()
                        );
                    };
                    same(format!("{}.export", c.name), &c.export);
                    if let Some(before) = &c.before {
                        same(format!("{}.before.export", c.name), before);
                    }
                    if let Some(served) = &c.served {
                        same(
                            format!("{}.service.json", c.name),
                            pretty(&served_json(served)).as_bytes(),
                        );
                    }
                    let (code, report) = run_case(dir, entry);
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

/// Backticked words of a Markdown table cell, outside parentheses (which
/// explain a code and may quote other words).
fn ticked(cell: &str) -> Vec<String> {
    let mut depth = 0usize;
    let outside: String = cell
        .chars()
        .filter(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect();
    outside
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Every check of §9.3 and every stable failure code of its table has a case
/// that fails with it, except the codes §9.3 says no board can produce.
#[test]
fn the_suite_covers_every_check_and_code() {
    let spec = std::fs::read_to_string(dir().join("../protocol.md")).expect("protocol.md");
    let table = spec
        .split_once("The stable codes, per check:")
        .expect("§9.3 code table")
        .1;
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect();
    assert!(rows.len() > 10, "the §9.3 table was not found");
    // Codes that §9.3 says no export, monitored run or service case can give.
    // The tile codes (§6.10) come from reading a tile base, which no export
    // case is; verifier/tests/tiles.rs gives each of them.
    let unreachable = [
        "tree_full",
        "history_mismatch",
        "tile_missing",
        "tile_malformed",
        "tile_mismatch",
    ];
    let cases = cases();
    let failed: Vec<(&str, &str)> = cases
        .iter()
        .filter_map(|c| match &c.expect {
            Expect::Fails { check, code, .. } => Some((*check, *code)),
            _ => None,
        })
        .collect();
    let mut missing = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row.split('|').collect();
        let (checks, codes) = (ticked(cells[1]), ticked(cells[2]));
        if checks == ["complete"] {
            continue;
        }
        for check in &checks {
            if !failed.iter().any(|(c, _)| c == check) {
                missing.push(format!("check {check}"));
            }
        }
        for code in codes {
            if !unreachable.contains(&code.as_str()) && !failed.iter().any(|(_, k)| *k == code) {
                missing.push(format!("code {code} ({})", checks.join(", ")));
            }
        }
    }
    assert!(missing.is_empty(), "no conformance case for: {missing:?}");
}
