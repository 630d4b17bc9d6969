//! The command line: RFC 3797 selection, auditor keys and attestations,
//! usage errors and the human report.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Attestation, Entry, EntryKind};
use urne_e2e::fixture::{build, Params};

fn temp_path(suffix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "urne-verify-cli-{}-{}{suffix}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn urne_verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .args(args)
        .output()
        .expect("run urne-verify")
}

#[test]
fn rfc3797_reproduces_the_rfc_example() {
    // RFC 3797 §6: 25 names, 11 selected with the example's key string.
    let out = urne_verify(&[
        "rfc3797",
        "--key",
        "9319./2.5.8.10.12./9.18.26.34.41.45./",
        "--pool",
        "25",
        "--select",
        "11",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let positions: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().expect("a position"))
        .collect();
    assert_eq!(positions, [17, 7, 2, 16, 25, 23, 8, 24, 19, 13, 22]);
    // More than the pool: a usage error.
    let out = urne_verify(&["rfc3797", "--key", "1./", "--pool", "3", "--select", "4"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(urne_verify(&[]).status.code(), Some(2));
    assert_eq!(urne_verify(&["/nonexistent/export"]).status.code(), Some(2));
    assert_eq!(urne_verify(&["--threads", "0", "x"]).status.code(), Some(2));
    assert_eq!(urne_verify(&["--bogus", "x"]).status.code(), Some(2));
    assert_eq!(urne_verify(&["--attest", "k", "x"]).status.code(), Some(2));
    assert_eq!(urne_verify(&["--help"]).status.code(), Some(0));
}

#[test]
fn an_auditor_attests_a_verified_election() {
    let f = build(&Params::small(51));
    let export = temp_path(".export");
    std::fs::write(&export, f.export()).expect("write");
    let key = temp_path(".key");
    let out = urne_verify(&["keygen", "--out", key.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0));
    let public = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(public.len(), 64);
    let text = std::fs::read_to_string(&key).expect("key file");
    let file: serde_json::Value = serde_json::from_str(&text).expect("a JSON key file");
    assert_eq!(file["role"], "auditor");
    assert_eq!(file["public_signing_key"], public.as_str());
    let seed = file["secret_signing_key"]
        .as_str()
        .expect("the secret, labelled");
    assert_eq!(seed.len(), 64);
    // keygen never overwrites.
    let again = urne_verify(&["keygen", "--out", key.to_str().expect("path")]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&key).expect("key file"), text);

    let att = temp_path(".cbor");
    let out = urne_verify(&[
        "--attest",
        key.to_str().expect("path"),
        "--attest-out",
        att.to_str().expect("path"),
        export.to_str().expect("path"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(human.contains("VALID: the election verifies"), "{human}");
    assert!(human.contains("ok   merkle-root"), "{human}");

    let bytes = std::fs::read(&att).expect("attestation written");
    let entry = Entry::from_bytes(&bytes).expect("canonical entry");
    assert_eq!(entry.kind().expect("kind"), EntryKind::Attestation);
    assert_eq!(entry.election, f.election);
    assert_eq!(hex::encode(&entry.signer), public);
    entry.verify_signature().expect("signed by the auditor");
    let a: Attestation = entry.body().expect("body");
    assert_eq!(a.size, f.entries.len() as u64);
    assert!(a.valid);
    assert_eq!(a.ballots_counted, 27);

    // The board accepts it and verifiers check it.
    let mut entries = f.entry_bytes();
    entries.push(bytes);
    std::fs::write(&export, f.export_of(&entries)).expect("write");
    let out = urne_verify(&["--json", export.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let checks = report["checks"].as_array().expect("checks");
    let att_check = checks
        .iter()
        .find(|c| c["name"] == "attestations")
        .expect("attestations");
    assert_eq!(att_check["status"], "pass");
    assert_eq!(att_check["detail"], "1 entry");

    // A key file of the earlier format (the seed alone) attests the same.
    let legacy = temp_path(".key");
    std::fs::write(&legacy, format!("{seed}\n")).expect("write");
    let att2 = temp_path(".cbor");
    let out = urne_verify(&[
        "--attest",
        legacy.to_str().expect("path"),
        "--attest-out",
        att2.to_str().expect("path"),
        export.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let again = Entry::from_bytes(&std::fs::read(&att2).expect("written")).expect("entry");
    assert_eq!(hex::encode(&again.signer), public);
    // A key file that is neither is refused with the next step.
    std::fs::write(
        &legacy,
        "{\"role\": \"trustee\", \"secret_signing_key\": \"00\"}",
    )
    .expect("write");
    let out = urne_verify(&[
        "--attest",
        legacy.to_str().expect("path"),
        "--attest-out",
        att2.to_str().expect("path"),
        export.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("urne-verify keygen"));
    for p in [&legacy, &att2] {
        let _ = std::fs::remove_file(p);
    }

    // No attestation for an election that does not verify.
    let mut broken = f.export();
    let n = broken.len();
    broken.truncate(n - 3);
    std::fs::write(&export, broken).expect("write");
    let _ = std::fs::remove_file(&att);
    let out = urne_verify(&[
        "--attest",
        key.to_str().expect("path"),
        "--attest-out",
        att.to_str().expect("path"),
        export.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!att.exists());
    for p in [export, key, att] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn a_monitor_says_what_is_new_and_a_closed_pipe_is_quiet() {
    let f = build(&Params::small(52));
    let entries = f.entry_bytes();
    let export = temp_path(".export");
    let state = temp_path(".state");
    let run = |size: usize| {
        std::fs::write(&export, f.export_of(&entries[..size])).expect("write");
        let out = urne_verify(&[
            "--state",
            state.to_str().expect("path"),
            export.to_str().expect("path"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = run(10);
    assert!(first.contains("first run with"), "{first}");
    let more = run(11);
    assert!(
        more.contains("new since the last run: 1 entry (10 → 11)"),
        "{more}"
    );
    let same = run(11);
    assert!(
        same.contains("nothing new since the last run (11 entries verified then)"),
        "{same}"
    );

    // The report written into a pipe whose reader is gone: no panic, and
    // the exit status is still the verdict's.
    std::fs::write(&export, f.export()).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg(&export)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for p in [export, state] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn given_checkpoints_must_be_the_boards_and_agree_with_the_export() {
    let f = build(&Params::micro(31));
    let entries = f.entry_bytes();
    let n = entries.len() as u64;
    let export = temp_path(".export");
    std::fs::write(&export, f.export()).unwrap();
    let write = |text: &[u8]| {
        let p = temp_path(".checkpoint");
        std::fs::write(&p, text).unwrap();
        p
    };
    let run = |files: &[&PathBuf]| {
        let mut args = vec![
            "--json".to_string(),
            export.display().to_string(),
            "--checkpoint".to_string(),
        ];
        args.extend(files.iter().map(|p| p.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = urne_verify(&args);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), report)
    };
    let inconsistent = |report: &serde_json::Value| {
        report["failures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["check"] == "checkpoints" && x["code"] == "inconsistent_checkpoint")
            .count()
    };

    // An honest receipt's checkpoint (as a note, and inside a receipt's JSON) passes.
    let honest = write(f.checkpoint_for(&entries, n / 2).as_bytes());
    let receipt = serde_json::json!({
        "index": 1,
        "size": 3,
        "checkpoint": f.checkpoint_for(&entries, 3),
        "inclusion": [],
    });
    let receipt = write(receipt.to_string().as_bytes());
    let final_size = write(f.checkpoint_for(&entries, n).as_bytes());
    let (code, report) = run(&[&honest, &receipt, &final_size]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(inconsistent(&report), 0);

    // A checkpoint of a forked board (another entry at index 2), validly
    // signed by the board key, is caught.
    let mut forked = entries.clone();
    forked[2].push(0);
    let fork = write(f.checkpoint_for(&forked, n / 2).as_bytes());
    let (code, report) = run(&[&honest, &fork]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(inconsistent(&report), 1);

    // A checkpoint beyond the export, one not signed by the board key, and
    // one that is not a note at all are caught too.
    let mut longer = entries.clone();
    longer.push(entries[0].clone());
    let beyond = write(f.checkpoint_for(&longer, n + 1).as_bytes());
    let mut foreign = f.checkpoint_for(&entries, n / 2).into_bytes();
    let last = foreign.len() - 3;
    foreign[last] ^= 1;
    let foreign = write(&foreign);
    let junk = write(b"not a checkpoint\n");
    let (code, report) = run(&[&beyond, &foreign, &junk]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(inconsistent(&report), 3);

    // An unreadable checkpoint file is a usage error.
    let missing = temp_path(".missing");
    let (code, _) = {
        let out = urne_verify(&[
            export.to_str().unwrap(),
            "--checkpoint",
            missing.to_str().unwrap(),
        ]);
        (out.status.code(), ())
    };
    assert_eq!(code, Some(2));
}
