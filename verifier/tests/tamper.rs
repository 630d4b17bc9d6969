//! The tamper suite: every kind of change to a valid exported election makes
//! `urne-verify` exit 1 and name the check that catches it; the untouched
//! export exits 0. Where a tamper must be re-signed to get past an envelope
//! signature (so that the check exercised is the recomputation), both the
//! re-signed and the plain variant are run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use serde_json::Value;

use urne_crypto::checkpoint::{election_origin, sign_checkpoint, BoardKey, Checkpoint};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::*;
use urne_crypto::export::{ExportWriter, Record as ExportRecord};
use urne_e2e::fixture::{build, resign, Fixture, Params};

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build(&Params::small(21)))
}

fn temp_path(suffix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "urne-verify-tamper-{}-{}{suffix}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Runs `urne-verify --json EXPORT` and returns its exit code and report.
fn run(export: &[u8], extra: &[&str]) -> (i32, Value) {
    let path = temp_path(".export");
    std::fs::write(&path, export).expect("write export");
    let out = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg("--json")
        .args(extra)
        .arg(&path)
        .output()
        .expect("run urne-verify");
    let _ = std::fs::remove_file(&path);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// Asserts exit 1 and a failure of `check` (at `entry`, if given).
fn assert_caught(what: &str, export: &[u8], check: &str, entry: Option<usize>) -> Value {
    assert_caught_by(what, export, &[check], entry)
}

/// Asserts exit 1 and a failure of one of `checks` (at `entry`, if given).
fn assert_caught_by(what: &str, export: &[u8], checks: &[&str], entry: Option<usize>) -> Value {
    let (code, report) = run(export, &[]);
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    assert_eq!(code, 1, "{what}: exit code; failures {failures:#?}");
    assert_eq!(report["valid"], false, "{what}");
    assert_eq!(report["status"], "invalid", "{what}");
    let hit = failures.iter().find(|f| {
        checks.iter().any(|c| f["check"] == *c)
            && entry.is_none_or(|i| f["entry"].as_u64() == Some(i as u64))
    });
    let Some(hit) = hit else {
        panic!("{what}: expected a failure of {checks:?} at {entry:?}, got {failures:#?}");
    };
    let check = hit["check"].as_str().unwrap_or_default();
    let listed = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == check))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(listed["status"], "fail", "{what}: {listed}");
    report
}

fn bytes(f: &Fixture) -> Vec<Vec<u8>> {
    f.entry_bytes()
}

fn first(f: &Fixture, kind: EntryKind) -> usize {
    f.entries
        .iter()
        .position(|e| e.kind == kind as u8)
        .expect("kind on the board")
}

/// An export of `entries` whose final checkpoint is the honest board's:
/// tampering without access to the board key.
fn unsigned_export(f: &Fixture, honest: &[Vec<u8>], entries: &[Vec<u8>]) -> Vec<u8> {
    let note = f.checkpoint_for(honest, honest.len() as u64);
    let vkey = f.board_key().verifier().to_vkey_string();
    let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
    for e in entries {
        w.write(&ExportRecord::Entry(e.clone())).expect("export");
    }
    w.finish(&note).expect("export")
}

fn root_of(entries: &[Vec<u8>]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = entries
        .iter()
        .map(|e| urne_crypto::merkle::leaf_hash(e))
        .collect();
    urne_crypto::merkle::root(&leaves)
}

fn auditor() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// The honest board plus one valid attestation of its full size.
fn with_attestation(f: &Fixture) -> Vec<Vec<u8>> {
    let mut entries = bytes(f);
    let n = entries.len() as u64;
    let root = root_of(&entries);
    let a = Attestation {
        size: n,
        root,
        valid: true,
        ballots_counted: 27,
        statement: "test auditor".into(),
    };
    entries.push(Entry::signed(EntryKind::Attestation, f.election, &a, &auditor()).to_bytes());
    entries
}

#[test]
fn untouched_export_verifies() {
    let f = fixture();
    let (code, report) = run(&f.export(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["status"], "valid");
    assert_eq!(report["complete"], true);
    let voters: u64 = Params::small(21)
        .constituencies
        .iter()
        .map(|c| c.voters as u64)
        .sum();
    assert_eq!(report["ballots_counted"], voters);
    assert_eq!(
        report["ballot_entries"],
        f.count(EntryKind::Ballot) as u64,
        "revotes are on the board"
    );
    assert!(report["failures"].as_array().is_some_and(Vec::is_empty));
    for c in report["checks"].as_array().expect("checks") {
        assert_eq!(c["status"], "pass", "{c}");
    }
    for (c, expected) in report["constituencies"]
        .as_array()
        .expect("constituencies")
        .iter()
        .zip(&f.expected_counts)
    {
        let votes: Vec<u64> = c["tally"]
            .as_array()
            .expect("tally")
            .iter()
            .map(|v| v["votes"].as_u64().expect("votes"))
            .collect();
        assert_eq!(&votes, expected, "tally of {}", c["id"]);
        let seats = c["seats"].as_u64().expect("seats");
        let elected = c["elected"].as_array().expect("elected").len() as u64;
        let drawn = c["drawn"].as_array().expect("drawn").len() as u64;
        assert_eq!(elected + drawn, seats, "every seat of {} filled", c["id"]);
    }
    // One worker thread gives the same verdict and results.
    let (code1, report1) = run(&f.export(), &["--threads", "1"]);
    assert_eq!(code1, 0);
    assert_eq!(report1["constituencies"], report["constituencies"]);
    assert_eq!(report1["checkpoint"], report["checkpoint"]);
}

#[test]
fn a_flipped_byte_in_any_entry_is_caught() {
    let f = fixture();
    let honest = with_attestation(f);
    let (code, _) = run(&f.export_of(&honest), &[]);
    assert_eq!(code, 0, "the board with an attestation verifies");
    let mut seen = std::collections::BTreeSet::new();
    for (i, raw) in honest.iter().enumerate() {
        let entry = Entry::from_bytes(raw).expect("entry");
        let kind = entry.kind().expect("kind");
        if !seen.insert(kind) {
            continue;
        }
        // Flip a byte in the middle of the body (inside the envelope's byte string).
        let tail = if entry.is_anonymous() { 2 } else { 34 + 66 };
        let body_start = raw.len() - tail - entry.body.len();
        let mut tampered = honest.clone();
        tampered[i][body_start + entry.body.len() / 2] ^= 0x04;
        let what = format!("flipped byte in entry {i} ({})", kind.name());
        // With a checkpoint re-signed over the tampered board, the entry's own
        // check catches it (a ballot's rules or, if it still decodes, its proofs).
        let checks: &[&str] = if kind == EntryKind::Ballot {
            &["ballots", "ballot-proofs"]
        } else {
            &[kind_check(kind)]
        };
        assert_caught_by(&what, &f.export_of(&tampered), checks, Some(i));
        // Without the board key, the Merkle root gives it away as well.
        assert_caught(
            &what,
            &unsigned_export(f, &honest, &tampered),
            "merkle-root",
            None,
        );
    }
    let all: std::collections::BTreeSet<EntryKind> = EntryKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != EntryKind::DkgComplaint)
        .collect();
    assert_eq!(
        seen, all,
        "every entry kind but complaints was tampered with"
    );
}

/// The check a tampered entry of `kind` fails (ballots may also fail their proofs).
fn kind_check(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Manifest => "manifest",
        EntryKind::Roster | EntryKind::Enrollment => "roster",
        EntryKind::DkgDealing
        | EntryKind::DkgComplaint
        | EntryKind::DkgAcknowledgement
        | EntryKind::ElectionKey => "key-generation",
        EntryKind::Open | EntryKind::Close => "phases",
        EntryKind::Issuance => "issuance",
        EntryKind::Ballot => "ballots",
        EntryKind::DecryptionShare => "decryption-shares",
        EntryKind::Tally => "tallies",
        EntryKind::SeatResult => "seats",
        EntryKind::LotteryCommit
        | EntryKind::LotteryReveal
        | EntryKind::RevealsClosed
        | EntryKind::Beacon
        | EntryKind::Seed => "lottery",
        EntryKind::Attestation => "attestations",
    }
}

#[test]
fn dropped_entries_are_caught() {
    let f = fixture();
    // A counted ballot (of a key that does not vote again): the aggregate
    // changes, so the decryption shares no longer prove it.
    let key = |i: usize| -> [u8; 32] {
        let b: Ballot = f.entries[i].body().expect("ballot");
        *b.body.ballot_key.as_bytes()
    };
    let ballots: Vec<usize> = (0..f.entries.len())
        .filter(|&i| f.entries[i].kind == EntryKind::Ballot as u8)
        .collect();
    let ballot = *ballots
        .iter()
        .find(|&&i| ballots.iter().filter(|&&j| key(j) == key(i)).count() == 1)
        .expect("a ballot without revote");
    let mut entries = bytes(f);
    entries.remove(ballot);
    let share = first(f, EntryKind::DecryptionShare) - 1;
    assert_caught(
        "dropped ballot",
        &f.export_of(&entries),
        "decryption-shares",
        Some(share),
    );
    assert_caught(
        "dropped ballot, checkpoint kept",
        &unsigned_export(f, &bytes(f), &entries),
        "final-checkpoint",
        None,
    );
    // An issuance: one ballot key more than credentials issued.
    let issuance = first(f, EntryKind::Issuance);
    let mut entries = bytes(f);
    entries.remove(issuance);
    let report = assert_caught("dropped issuance", &f.export_of(&entries), "ballots", None);
    assert_eq!(report["failures"][0]["code"], "mismatch");
}

#[test]
fn duplicated_ballot_is_caught() {
    let f = fixture();
    let ballot = first(f, EntryKind::Ballot);
    let mut entries = bytes(f);
    entries.insert(ballot + 1, entries[ballot].clone());
    let report = assert_caught(
        "duplicated ballot",
        &f.export_of(&entries),
        "ballots",
        Some(ballot + 1),
    );
    assert_eq!(report["failures"][0]["code"], "duplicate");
}

#[test]
fn reordered_entries_are_caught() {
    let f = fixture();
    // The first ballot moved before the opening of the vote.
    let open = first(f, EntryKind::Open);
    let ballot = first(f, EntryKind::Ballot);
    let mut entries = bytes(f);
    let b = entries.remove(ballot);
    entries.insert(open, b);
    let report = assert_caught(
        "ballot before open",
        &f.export_of(&entries),
        "ballots",
        Some(open),
    );
    assert_eq!(report["failures"][0]["code"], "out_of_phase");
    // The seed moved before the last reveal.
    let seed = first(f, EntryKind::Seed);
    let mut entries = bytes(f);
    entries.swap(seed - 1, seed);
    assert_caught(
        "seed before a reveal",
        &f.export_of(&entries),
        "lottery",
        Some(seed - 1),
    );
}

#[test]
fn swapped_decryption_share_is_caught() {
    let f = fixture();
    let at = first(f, EntryKind::DecryptionShare);
    let one: DecryptionShare = f.entries[at].body().expect("share");
    let (_, other) = f
        .entries
        .iter()
        .enumerate()
        .skip(at + 1)
        .filter(|(_, e)| e.kind == EntryKind::DecryptionShare as u8)
        .map(|(i, e)| (i, e.body::<DecryptionShare>().expect("share")))
        .find(|(_, s)| s.share.trustee == one.share.trustee)
        .expect("the same trustee's share for another constituency");
    let signer = &f.trustee_signers[one.share.trustee as usize - 1];
    let mut entries = bytes(f);
    let mut swapped = f.entries[at].clone();
    swapped.body = DecryptionShare {
        constituency: one.constituency.clone(),
        share: other.share.clone(),
    }
    .to_bytes();
    let mut plain = swapped.clone();
    resign(&mut swapped, signer);
    entries[at] = swapped.to_bytes();
    let report = assert_caught(
        "share of another constituency, re-signed",
        &f.export_of(&entries),
        "decryption-shares",
        Some(at),
    );
    assert_eq!(report["failures"][0]["code"], "invalid_proof");
    plain.signature = f.entries[at].signature.clone();
    entries[at] = plain.to_bytes();
    let report = assert_caught(
        "share of another constituency",
        &f.export_of(&entries),
        "decryption-shares",
        Some(at),
    );
    assert_eq!(report["failures"][0]["code"], "bad_signature");
}

/// Builds a tampered export, re-signed with the given key or not.
type Tamper<'a> = Box<dyn Fn(Option<&SigningKey>) -> Vec<u8> + 'a>;

/// Changes the body of entry `at` with `change`, re-signed by `key` or not.
fn tamper_body<B: Canonical>(
    f: &Fixture,
    at: usize,
    key: Option<&SigningKey>,
    change: impl FnOnce(&mut B),
) -> Vec<u8> {
    let mut e = f.entries[at].clone();
    let mut body: B = e.body().expect("body");
    change(&mut body);
    e.body = body.to_bytes();
    if let Some(k) = key {
        resign(&mut e, k);
    }
    let mut entries = bytes(f);
    entries[at] = e.to_bytes();
    f.export_of(&entries)
}

#[test]
fn changed_results_are_caught_signed_or_not() {
    let f = fixture();
    let board = f.board_signer();
    let cases: Vec<(&str, usize, &str, Tamper)> = vec![
        (
            "tally count",
            first(f, EntryKind::Tally),
            "tallies",
            Box::new(|k| {
                tamper_body::<Tally>(f, first(f, EntryKind::Tally), k, |t| t.counts[0] += 1)
            }),
        ),
        (
            "tally ballots",
            first(f, EntryKind::Tally),
            "tallies",
            Box::new(|k| {
                tamper_body::<Tally>(f, first(f, EntryKind::Tally), k, |t| t.ballots -= 1)
            }),
        ),
        (
            "seat",
            first(f, EntryKind::SeatResult),
            "seats",
            Box::new(|k| {
                tamper_body::<SeatResult>(f, first(f, EntryKind::SeatResult), k, |s| {
                    s.elected.swap(0, 1)
                })
            }),
        ),
        (
            "drawn seat",
            first(f, EntryKind::SeatResult),
            "seats",
            Box::new(|k| {
                tamper_body::<SeatResult>(f, first(f, EntryKind::SeatResult), k, |s| {
                    s.drawn[0].id = "north-member00001".into()
                })
            }),
        ),
        (
            "lottery seed",
            first(f, EntryKind::Seed),
            "lottery",
            Box::new(|k| {
                tamper_body::<LotterySeed>(f, first(f, EntryKind::Seed), k, |s| s.seed[0] ^= 1)
            }),
        ),
        (
            "election key",
            first(f, EntryKind::ElectionKey),
            "key-generation",
            Box::new(|k| {
                let at = first(f, EntryKind::ElectionKey);
                let mut e = f.entries[at].clone();
                let last = e.body.len() - 1;
                e.body[last] ^= 1;
                if let Some(k) = k {
                    resign(&mut e, k);
                }
                let mut entries = bytes(f);
                entries[at] = e.to_bytes();
                f.export_of(&entries)
            }),
        ),
    ];
    for (what, at, check, make) in &cases {
        let report = assert_caught(
            &format!("{what}, re-signed"),
            &make(Some(&board)),
            check,
            Some(*at),
        );
        let code = &report["failures"][0]["code"];
        assert!(
            *code == "mismatch" || *code == "malformed_entry",
            "{what}, re-signed: caught by recomputation, got {code}"
        );
        let report = assert_caught(what, &make(None), check, Some(*at));
        assert_eq!(report["failures"][0]["code"], "bad_signature", "{what}");
    }
}

#[test]
fn changed_lottery_reveal_is_caught() {
    let f = fixture();
    let at = first(f, EntryKind::LotteryReveal);
    let r: LotteryReveal = f.entries[at].body().expect("reveal");
    let key = &f.contributor_signers[r.contributor as usize - 1];
    let report = assert_caught(
        "reveal, re-signed by its contributor",
        &tamper_body::<LotteryReveal>(f, at, Some(key), |r| r.secret[0] ^= 1),
        "lottery",
        Some(at),
    );
    assert_eq!(report["failures"][0]["code"], "mismatch");
    let report = assert_caught(
        "reveal",
        &tamper_body::<LotteryReveal>(f, at, None, |r| r.secret[0] ^= 1),
        "lottery",
        Some(at),
    );
    assert_eq!(report["failures"][0]["code"], "bad_signature");
}

fn replace_final(f: &Fixture, note: &str) -> Vec<u8> {
    let vkey = f.board_key().verifier().to_vkey_string();
    let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
    for e in bytes(f) {
        w.write(&ExportRecord::Entry(e)).expect("export");
    }
    w.finish(note).expect("export")
}

#[test]
fn replaced_checkpoints_are_caught() {
    let f = fixture();
    let n = f.entries.len() as u64;
    let origin = election_origin(&f.election);
    // Signed by another key under the same name.
    let other = BoardKey::from_seed(&origin, &[3u8; 32]).expect("key");
    let honest = f.checkpoint_for(&bytes(f), n);
    let forged = sign_checkpoint(
        &other,
        &Checkpoint::new(origin.clone(), n, root_of(&bytes(f))),
    )
    .expect("sign");
    assert_caught(
        "checkpoint signed by another key",
        &replace_final(f, &forged),
        "final-checkpoint",
        None,
    );
    // Signed by the board key, over another root: a split view.
    let split = sign_checkpoint(
        &f.board_key(),
        &Checkpoint::new(origin.clone(), n, [9u8; 32]),
    )
    .expect("sign");
    assert_caught(
        "checkpoint over another root",
        &replace_final(f, &split),
        "merkle-root",
        None,
    );
    // Over fewer entries than the export holds.
    let short = f.checkpoint_for(&bytes(f), n - 1);
    assert_caught(
        "checkpoint of a prefix",
        &replace_final(f, &short),
        "final-checkpoint",
        None,
    );
    // An intermediate checkpoint of a different board at the same size.
    let vkey = f.board_key().verifier().to_vkey_string();
    let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
    let fork =
        sign_checkpoint(&f.board_key(), &Checkpoint::new(origin, 5, [1u8; 32])).expect("sign");
    for (i, e) in bytes(f).into_iter().enumerate() {
        w.write(&ExportRecord::Entry(e)).expect("export");
        if i == 10 {
            w.write(&ExportRecord::Checkpoint(fork.clone()))
                .expect("export");
        }
    }
    let export = w.finish(&honest).expect("export");
    assert_caught(
        "forked intermediate checkpoint",
        &export,
        "checkpoints",
        None,
    );
}

#[test]
fn wrong_board_key_is_caught() {
    let f = fixture();
    // Every checkpoint consistently signed by a key that is not the manifest's.
    let origin = election_origin(&f.election);
    let other = BoardKey::from_seed(&origin, &[5u8; 32]).expect("key");
    let entries = bytes(f);
    let mut w = ExportWriter::new(Vec::new(), &other.verifier().to_vkey_string()).expect("export");
    for e in &entries {
        w.write(&ExportRecord::Entry(e.clone())).expect("export");
    }
    let root = root_of(&entries);
    let note = sign_checkpoint(&other, &Checkpoint::new(origin, entries.len() as u64, root))
        .expect("sign");
    assert_caught(
        "another board key",
        &w.finish(&note).expect("export"),
        "board-key",
        None,
    );
}

#[test]
fn inconsistent_attestation_is_caught() {
    let f = fixture();
    let mut entries = bytes(f);
    let a = Attestation {
        size: 10,
        root: [4u8; 32],
        valid: true,
        ballots_counted: 0,
        statement: "attests another board".into(),
    };
    entries.push(Entry::signed(EntryKind::Attestation, f.election, &a, &auditor()).to_bytes());
    let at = entries.len() - 1;
    assert_caught(
        "attested split view",
        &f.export_of(&entries),
        "attestations",
        Some(at),
    );
}

#[test]
fn truncated_and_malformed_exports_are_caught() {
    let f = fixture();
    let export = f.export();
    for cut in [0, 5, 15, 16, 100, export.len() / 2, export.len() - 1] {
        assert_caught(
            &format!("cut at {cut}"),
            &export[..cut],
            "export-format",
            None,
        );
    }
    // Cut on a record boundary: everything but the final checkpoint.
    let honest = bytes(f);
    let vkey = f.board_key().verifier().to_vkey_string();
    let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
    for e in &honest {
        w.write(&ExportRecord::Entry(e.clone())).expect("export");
    }
    let report = assert_caught(
        "no final checkpoint",
        &w.finish("")
            .map(|mut b| {
                // Drop the (empty) final record again: 5 bytes of header.
                b.truncate(b.len() - 5);
                b
            })
            .expect("export"),
        "export-format",
        None,
    );
    assert_eq!(report["failures"][0]["code"], "truncated");
    // Trailing bytes after the final checkpoint.
    let mut trailing = export.clone();
    trailing.extend_from_slice(&[3, 0, 0, 0, 0]);
    assert_caught(
        "record after the final checkpoint",
        &trailing,
        "export-format",
        None,
    );
    // Not an export at all.
    assert_caught("not an export", b"hello, world\n", "export-format", None);
}

#[test]
fn running_election_is_valid_so_far() {
    let f = fixture();
    let honest = bytes(f);
    let cut = first(f, EntryKind::Close);
    let prefix = &honest[..cut];
    let vkey = f.board_key().verifier().to_vkey_string();
    let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
    for e in prefix {
        w.write(&ExportRecord::Entry(e.clone())).expect("export");
    }
    let export = w
        .finish(&f.checkpoint_for(&honest, cut as u64))
        .expect("export");
    let (code, report) = run(&export, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["status"], "valid-so-far");
    assert_eq!(report["complete"], false);
    assert_eq!(report["phase"], "open");
    let complete = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "complete"))
        .expect("complete check");
    assert_eq!(complete["status"], "pending");
    let (code, _) = run(&export, &["--require-complete"]);
    assert_eq!(code, 1);
}

#[test]
fn checkpoints_ahead_of_their_entries_are_checked_when_reached() {
    let f = fixture();
    let entries = bytes(f);
    let n = entries.len() as u64;
    let honest = f.checkpoint_for(&entries, n);
    let vkey = f.board_key().verifier().to_vkey_string();
    let export_with_early = |early: &[String]| {
        let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
        for note in early {
            w.write(&ExportRecord::Checkpoint(note.clone()))
                .expect("export");
        }
        for e in &entries {
            w.write(&ExportRecord::Entry(e.clone())).expect("export");
        }
        w.finish(&honest).expect("export")
    };
    // Two checkpoints, of a middle size and of the final size, before any entry.
    let middle = f.checkpoint_for(&entries, n / 2);
    let (code, report) = run(
        &export_with_early(&[honest.clone(), middle, honest.clone()]),
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    let cps = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "checkpoints"))
        .expect("checkpoints");
    assert_eq!(
        cps["detail"],
        "3 intermediate checkpoints consistent; the final checkpoint has no witness \
         cosignature (quorum 1 of 1)"
    );
    // A checkpoint beyond the final size: a longer board exists somewhere.
    let origin = election_origin(&f.election);
    let longer =
        sign_checkpoint(&f.board_key(), &Checkpoint::new(origin, n + 1, [2u8; 32])).expect("sign");
    assert_caught(
        "checkpoint beyond the export",
        &export_with_early(&[longer]),
        "checkpoints",
        None,
    );
}
