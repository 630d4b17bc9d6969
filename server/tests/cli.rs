//! The `urne` command line: argument checks, data-directory locking, and the
//! board benchmark's output.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn urne() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_urne"));
    c.env("URNE_LOG", "warn").env_remove("URNE_ORGANISER_TOKEN");
    c
}

#[test]
fn serve_refuses_a_weak_organiser_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = urne()
        .arg("serve")
        .env("URNE_SECRETS_KEY", "5e".repeat(32))
        .arg("--data")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .env("URNE_ORGANISER_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = urne()
        .arg("serve")
        .env("URNE_SECRETS_KEY", "5e".repeat(32))
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("urne: listening on http://127.0.0.1:"),
        "{line}"
    );

    let second = urne()
        .arg("serve")
        .env("URNE_SECRETS_KEY", "5e".repeat(32))
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("lock"), "{stderr}");
}

#[test]
fn bench_board_prints_a_row_per_size_and_client_count() {
    let out = urne()
        .args(["bench-board", "--sizes", "20,40", "--clients", "1,4"])
        .args(["--appends", "8", "--proofs", "8", "--entry-bytes", "64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    for row in &rows {
        assert_eq!(row.len(), 8, "{stdout}");
        assert!(row.iter().all(|c| c.parse::<f64>().is_ok()), "{stdout}");
    }
    // The first row is measured at the first size, with one client.
    assert_eq!((rows[0][0], rows[0][1]), ("20", "1"));
}

#[test]
fn bench_election_prints_a_row_per_operation() {
    let out = urne()
        .args(["bench-election", "--voters", "6", "--candidates", "4"])
        .args(["--clients", "3", "--offered", "3", "--offered-rate", "20"])
        .args(["--proofs", "10"])
        .env("URNE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    let names = [
        "enrolment",
        "credential issuance",
        "ballot cast (4 candidates), sustained",
        "ballot cast (revote) offered at 20/s",
        "inclusion proof read",
    ];
    assert_eq!(rows.len(), names.len(), "{stdout}");
    for (row, name) in rows.iter().zip(names) {
        assert!(row.starts_with(name), "{stdout}");
        // The last three columns: rate and two latencies.
        let numbers: Vec<f64> = row
            .split_whitespace()
            .rev()
            .take(3)
            .map(|c| c.parse().unwrap())
            .collect();
        assert!(numbers.iter().all(|n| *n > 0.0), "{stdout}");
    }
}

#[test]
fn the_manifest_template_is_a_valid_draft_and_mistakes_name_their_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = urne()
        .args(["admin", "manifest", "template"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let template = String::from_utf8(out.stdout).expect("utf-8");
    for key in [
        "quotas",
        "parity",
        "contributors",
        "beacon",
        "lottery_seats",
    ] {
        assert!(template.contains(key), "the template shows {key}");
    }
    let path = dir.path().join("manifest.toml");
    std::fs::write(&path, &template).expect("write");
    // No server needed to check a draft.
    let out = urne()
        .args(["admin", "election", "create", "--dry-run", "--manifest"])
        .arg(&path)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("North (north): 4 seats, 3 by vote and 1 by lot"),
        "{stdout}"
    );
    assert!(
        stdout.contains("category \"f\": 3 candidates, seats between 2 and 2"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing was sent"), "{stdout}");

    // A wrong value: line, column, key and the full reason.
    std::fs::write(&path, template.replacen("seats = 4", "seats = \"four\"", 1)).expect("write");
    let out = urne()
        .args(["admin", "election", "create", "--dry-run", "--manifest"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(
            "at `constituencies[0].rules.seats`: invalid type: string \"four\", expected u32"
        ) && stderr.contains("line "),
        "{stderr}"
    );
    // A rule the manifest breaks.
    std::fs::write(
        &path,
        template.replacen(
            "{ category = \"f\", min = 2, max = 2 }",
            "{ category = \"f\", min = 3, max = 2 }",
            1,
        ),
    )
    .expect("write");
    let out = urne()
        .args(["admin", "election", "create", "--dry-run", "--manifest"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("minimum 3 is above maximum 2"), "{stderr}");
}

/// The commands named in backticks (`urne …`) in the program's messages.
fn named_commands() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for quoted in text.split('`').skip(1).step_by(2) {
                let Some(rest) = quoted.strip_prefix("urne ") else {
                    continue;
                };
                // The subcommand words: up to the first flag or placeholder.
                let words: Vec<String> = rest
                    .split_whitespace()
                    .take_while(|w| {
                        w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
                    })
                    .map(str::to_string)
                    .collect();
                if !words.is_empty() && !out.contains(&words) {
                    out.push(words);
                }
            }
        }
    }
    out
}

#[test]
fn every_command_a_message_names_exists() {
    let commands = named_commands();
    assert!(commands.len() > 20, "{commands:?}");
    for words in commands {
        let out = urne().args(&words).arg("--help").output().expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("Usage: urne"),
            "`urne {}` named in a message does not exist: {}",
            words.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_demo_refuses_a_server() {
    let out = urne()
        .args(["demo", "--server", "http://127.0.0.1:9"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes no --server"));
}
