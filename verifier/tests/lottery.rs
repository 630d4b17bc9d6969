//! The lottery cannot be steered: every ordering and beacon forgery a hostile
//! organiser can write with the board key alone makes `urne-verify` report
//! `invalid`, naming the `lottery` check, the entry and a stable code.

use std::io::Cursor;
use std::process::Command;
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use serde_json::Value;

use urne_crypto::beacon::{self, DemoNetwork};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::*;
use urne_crypto::lottery;
use urne_crypto::seats::{self, Candidate};
use urne_e2e::fixture::{build, resign, Fixture, Params, RFC3797_SOURCES};
use urne_verify::{verify_export, Options, Report};

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build(&Params::small(31)))
}

fn rfc_fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build(&Params::small(32).rfc3797()))
}

fn verify(export: &[u8]) -> Report {
    verify_export(Cursor::new(export.to_vec()), &Options::default())
}

fn index_of(f: &Fixture, kind: EntryKind) -> usize {
    f.entries
        .iter()
        .position(|e| e.kind == kind as u8)
        .expect("kind on the board")
}

/// `f`'s entries with the body of entry `at` replaced and re-signed by `key`.
fn with_body<B: Canonical>(f: &Fixture, at: usize, body: &B, key: &SigningKey) -> Vec<Vec<u8>> {
    let mut entries = f.entry_bytes();
    let mut e = f.entries[at].clone();
    e.body = body.to_bytes();
    resign(&mut e, key);
    entries[at] = e.to_bytes();
    entries
}

/// Asserts the export (final checkpoint re-signed by the board key, as the
/// organiser could) is invalid with a `lottery` failure at `entry` and `code`.
fn assert_lottery_failure(what: &str, f: &Fixture, entries: &[Vec<u8>], entry: usize, code: &str) {
    let report = verify(&f.export_of(entries));
    assert!(!report.valid, "{what}: accepted");
    let hit = report.failures.iter().find(|x| x.check == "lottery");
    let Some(hit) = hit else {
        panic!("{what}: no lottery failure in {:#?}", report.failures);
    };
    assert_eq!(hit.entry, Some(entry as u64), "{what}: {hit:?}");
    assert_eq!(hit.code, code, "{what}: {hit:?}");
}

fn beacon_of(f: &Fixture) -> (usize, BeaconValue) {
    let at = index_of(f, EntryKind::Beacon);
    (at, f.entries[at].body().expect("beacon body"))
}

#[test]
fn honest_lottery_verifies_and_the_report_names_beacon_round_network_and_withheld() {
    let f = fixture();
    let report = verify(&f.export());
    assert!(report.valid, "{:#?}", report.failures);
    let l = report.lottery.as_ref().expect("lottery info");
    let round = f.manifest.lottery.beacon.as_ref().expect("beacon").round;
    assert_eq!(l.method, "drbg");
    assert_eq!(l.beacon_round, Some(round));
    assert!(l.beacon_verified);
    assert!(!l.beacon_is_quicknet);
    assert_eq!(l.beacon_network.as_deref(), Some(beacon::DEMO_NETWORK_NAME));
    assert_eq!(l.withheld, Some(vec![3]));
    let text = report.to_text();
    assert!(text.contains(&format!("beacon round {round}")), "{text}");
    assert!(text.contains("NOT drand quicknet"), "{text}");
    assert!(text.contains("withheld: contributor 3"), "{text}");
}

/// The report explains the lottery so that a reader can redo it: the seed
/// from the contributions and the beacon, the tie hashes from the seed, and
/// every draw naming the seat or replacement it produced.
#[test]
fn the_report_explains_the_seed_the_ties_and_every_draw() {
    let f = fixture();
    let report = verify(&f.export());
    assert!(report.valid, "{:#?}", report.failures);
    let l = report.lottery.as_ref().expect("lottery info");
    let unhex = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    assert_eq!(l.contributions.len(), f.manifest.lottery.contributors.len());
    let mut reveals = Vec::new();
    for c in &l.contributions {
        let commitment = unhex(
            c.commitment
                .as_deref()
                .expect("every contributor committed"),
        );
        match &c.secret {
            Some(secret) => {
                lottery::verify_reveal(&f.election, c.index, &unhex(secret), &commitment).unwrap();
                reveals.push((c.index, unhex(secret)));
            }
            None => assert_eq!(l.withheld, Some(vec![c.index])),
        }
    }
    let randomness = unhex(l.beacon_randomness.as_deref().expect("beacon randomness"));
    let seed = lottery::seed(&f.election, &randomness, &reveals).unwrap();
    assert_eq!(l.seed.as_deref(), Some(hex::encode(seed).as_str()));

    let mut drew_any = false;
    for c in &report.constituencies {
        let elected = c.elected.as_ref().expect("seated");
        let drawn = c.drawn.as_ref().expect("seated");
        let replacements = c.replacements.as_ref().expect("replacement list");
        let steps = c.draw_steps.as_ref().expect("draw steps");
        assert_eq!(steps.len(), drawn.len() + replacements.len(), "{}", c.id);
        assert!(!replacements.is_empty() && replacements.len() <= c.seats as usize);
        for (s, d) in steps.iter().zip(drawn.iter().chain(replacements)) {
            assert_eq!((&s.id, &s.category, s.order), (&d.id, &d.category, d.order));
            assert!(s.index < s.eligible, "{s:?}");
        }
        for s in &steps[..drawn.len()] {
            assert_ne!(s.stage, "replacement");
            assert_eq!(s.minimum_of.is_some(), s.stage == "minimum");
        }
        assert!(steps[drawn.len()..]
            .iter()
            .all(|s| s.stage == "replacement"));
        for r in replacements {
            assert!(!drawn.iter().any(|d| d.id == r.id) && !elected.iter().any(|e| e.id == r.id));
        }
        drew_any |= !drawn.is_empty();

        let tally = c.tally.as_ref().expect("tally");
        for t in c.ties.as_ref().expect("ties") {
            assert!(t.candidates.len() >= 2);
            for m in &t.candidates {
                assert_eq!(m.tie_hash, hex::encode(seats::tie_hash(&seed, &m.id)));
                let votes = tally
                    .iter()
                    .find(|v| v.candidate == m.id)
                    .expect("in tally");
                assert_eq!(votes.votes, t.votes);
            }
            assert!(t
                .candidates
                .windows(2)
                .all(|w| w[0].tie_hash < w[1].tie_hash));
            let won = t
                .candidates
                .iter()
                .filter(|m| elected.iter().any(|e| e.id == m.id))
                .count();
            assert_eq!(t.decisive, won > 0 && won < t.candidates.len());
        }
        let tied: usize = c.ties.iter().flatten().map(|t| t.candidates.len()).sum();
        let distinct = tally
            .iter()
            .filter(|v| tally.iter().filter(|w| w.votes == v.votes).count() > 1)
            .count();
        assert_eq!(tied, distinct, "every tied candidate is in one group");
    }
    assert!(drew_any, "the fixture draws seats");
}

#[test]
fn beacon_before_the_reveals_are_closed_is_refused() {
    let f = fixture();
    let closed = index_of(f, EntryKind::RevealsClosed);
    let (beacon_at, _) = beacon_of(f);
    assert_eq!(beacon_at, closed + 1);
    let mut entries = f.entry_bytes();
    entries.swap(closed, beacon_at);
    assert_lottery_failure("beacon first", f, &entries, closed, "lottery_out_of_order");
}

#[test]
fn seed_before_the_beacon_is_refused() {
    let f = fixture();
    let (beacon_at, _) = beacon_of(f);
    let seed_at = index_of(f, EntryKind::Seed);
    let mut entries = f.entry_bytes();
    entries.swap(beacon_at, seed_at);
    assert_lottery_failure("seed first", f, &entries, beacon_at, "lottery_out_of_order");
}

#[test]
fn a_reveal_after_the_window_is_refused() {
    let f = fixture();
    let closed_at = index_of(f, EntryKind::RevealsClosed);
    let reveal_at = closed_at - 1;
    assert_eq!(f.entries[reveal_at].kind, EntryKind::LotteryReveal as u8);
    let r: LotteryReveal = f.entries[reveal_at].body().expect("reveal");
    // The organiser closes first, naming the contributor as withheld (so the
    // closing itself is right), then posts the reveal.
    let mut closed: RevealsClosed = f.entries[closed_at].body().expect("closed");
    closed.withheld.push(r.contributor);
    closed.withheld.sort_unstable();
    let mut entries = with_body(f, closed_at, &closed, &f.board_signer());
    entries.swap(reveal_at, closed_at);
    assert_lottery_failure(
        "late reveal",
        f,
        &entries,
        closed_at,
        "lottery_out_of_order",
    );
}

#[test]
fn a_wrong_withheld_list_is_refused() {
    let f = fixture();
    let at = index_of(f, EntryKind::RevealsClosed);
    let mut closed: RevealsClosed = f.entries[at].body().expect("closed");
    closed.withheld = vec![];
    let entries = with_body(f, at, &closed, &f.board_signer());
    assert_lottery_failure("nobody withheld", f, &entries, at, "mismatch");
    closed.withheld = vec![1, 3];
    let entries = with_body(f, at, &closed, &f.board_signer());
    assert_lottery_failure("an honest contributor named", f, &entries, at, "mismatch");
}

#[test]
fn reveals_closed_once_the_round_is_published_is_refused() {
    let f = fixture();
    let at = index_of(f, EntryKind::RevealsClosed);
    let mut closed: RevealsClosed = f.entries[at].body().expect("closed");
    closed.at = f
        .manifest
        .lottery
        .beacon
        .as_ref()
        .expect("beacon")
        .round_time()
        .expect("time");
    let entries = with_body(f, at, &closed, &f.board_signer());
    assert_lottery_failure("late closing", f, &entries, at, "beacon_round_passed");
}

#[test]
fn beacon_of_another_round_or_network_or_a_flipped_bit_is_refused() {
    let f = fixture();
    let (at, honest) = beacon_of(f);
    let network = DemoNetwork::from_seed(&f.beacon_seed);
    let board = f.board_signer();
    // Another round, correctly signed by the right network.
    let other_round = BeaconValue {
        round: honest.round + 1,
        signature: network.sign(honest.round + 1).to_vec(),
        values: vec![],
    };
    let entries = with_body(f, at, &other_round, &board);
    assert_lottery_failure("another round", f, &entries, at, "bad_beacon");
    // The right round's number with another round's signature.
    let swapped = BeaconValue {
        signature: network.sign(honest.round - 1).to_vec(),
        ..honest.clone()
    };
    let entries = with_body(f, at, &swapped, &board);
    assert_lottery_failure("another round's signature", f, &entries, at, "bad_beacon");
    // Another network (a key the organiser holds).
    let forged = BeaconValue {
        signature: DemoNetwork::from_seed(&[0x66; 64])
            .sign(honest.round)
            .to_vec(),
        ..honest.clone()
    };
    let entries = with_body(f, at, &forged, &board);
    assert_lottery_failure("another network", f, &entries, at, "bad_beacon");
    // A flipped bit, a truncated or empty signature.
    for bit in [0usize, 9, 200, 383] {
        let mut flipped = honest.clone();
        flipped.signature[bit / 8] ^= 1 << (bit % 8);
        let entries = with_body(f, at, &flipped, &board);
        assert_lottery_failure(&format!("bit {bit}"), f, &entries, at, "bad_beacon");
    }
    for sig in [vec![], honest.signature[..47].to_vec()] {
        let short = BeaconValue {
            signature: sig,
            ..honest.clone()
        };
        let entries = with_body(f, at, &short, &board);
        assert_lottery_failure("short signature", f, &entries, at, "bad_beacon");
    }
    // RFC 3797 values in a DRBG election.
    let mixed = BeaconValue {
        values: vec![vec![1]],
        ..honest
    };
    let entries = with_body(f, at, &mixed, &board);
    assert_lottery_failure("values in drbg", f, &entries, at, "bad_rfc3797_values");
}

#[test]
fn a_reveal_from_another_election_is_refused() {
    let f = fixture();
    let at = index_of(f, EntryKind::LotteryReveal);
    let r: LotteryReveal = f.entries[at].body().expect("reveal");
    let key = &f.contributor_signers[r.contributor as usize - 1];
    // The same contributor's reveal, posted for another election.
    let mut e = f.entries[at].clone();
    e.election[0] ^= 1;
    resign(&mut e, key);
    let mut entries = f.entry_bytes();
    entries[at] = e.to_bytes();
    let report = verify(&f.export_of(&entries));
    assert!(!report.valid);
    let hit = report
        .failures
        .iter()
        .find(|x| x.entry == Some(at as u64))
        .expect("failure at the reveal");
    assert_eq!(hit.code, "wrong_election", "{hit:?}");
    // A secret committed for another election does not open this commitment.
    let other = LotteryReveal {
        contributor: r.contributor,
        secret: [0x42; 32],
    };
    let entries = with_body(f, at, &other, key);
    assert_lottery_failure("other secret", f, &entries, at, "mismatch");
}

#[test]
fn rfc3797_values_must_be_those_of_the_declared_sources() {
    let f = rfc_fixture();
    let report = verify(&f.export());
    assert!(report.valid, "{:#?}", report.failures);
    let l = report.lottery.as_ref().expect("lottery");
    assert_eq!(l.method, "rfc3797");
    assert_eq!(l.rfc3797_sources.len(), RFC3797_SOURCES.len());
    assert_eq!(l.rfc3797_sources[1].values, Some(vec![2, 5, 12, 8, 10]));
    let text = report.to_text();
    assert!(text.contains("compare these values"), "{text}");
    let (at, honest) = beacon_of(f);
    let board = f.board_signer();
    let bad = [
        ("a source missing", vec![vec![9319]]),
        (
            "an undeclared source",
            vec![vec![9319], vec![2, 5, 12, 8, 10], vec![7]],
        ),
        ("a value short", vec![vec![9319], vec![2, 5, 12, 8]]),
        ("free text instead", vec![]),
    ];
    for (what, values) in bad {
        let b = BeaconValue {
            values,
            ..honest.clone()
        };
        let entries = with_body(f, at, &b, &board);
        assert_lottery_failure(what, f, &entries, at, "bad_rfc3797_values");
    }
    let drand = BeaconValue {
        round: 5,
        signature: vec![1; 48],
        values: honest.values.clone(),
    };
    let entries = with_body(f, at, &drand, &board);
    assert_lottery_failure("a drand round", f, &entries, at, "bad_rfc3797_values");
    // Other numbers of the right shape verify structurally but change the key,
    // hence the seed: the published seed no longer matches.
    let other = BeaconValue {
        values: vec![vec![1], vec![1, 2, 3, 4, 5]],
        ..honest
    };
    let entries = with_body(f, at, &other, &board);
    let seed_at = index_of(f, EntryKind::Seed);
    assert_lottery_failure("other numbers", f, &entries, seed_at, "mismatch");
}

/// The grinding attack that used to work: with only the board key, the
/// organiser tries beacon values offline until a chosen pool member is drawn,
/// then rewrites the tail of the board (beacon, seed, seat results) and
/// re-signs the checkpoint. Every rule but the beacon's signature holds.
#[test]
fn grinding_the_beacon_with_the_board_key_is_caught() {
    let f = fixture();
    let record = f.replay().expect("honest board replays");
    let (beacon_at, honest) = beacon_of(f);
    let election = f.election;
    let c = &f.manifest.constituencies[0];
    let honest_drawn = &record.seat_result(&c.id).expect("seats").drawn;
    let pool = record.pool(&c.id);
    let tally = record.tally(&c.id).expect("tally");
    let candidates = |id: &str| -> Vec<Candidate> {
        let k = f.manifest.constituency(id).expect("constituency");
        let t = record.tally(id).expect("tally");
        k.candidates
            .iter()
            .zip(&t.counts)
            .map(|(k, v)| Candidate {
                id: k.id.clone(),
                category: k.category.clone(),
                votes: *v,
            })
            .collect()
    };
    assert_eq!(tally.counts.len(), c.candidates.len());
    let elected_ids: Vec<&str> = record
        .seat_result(&c.id)
        .expect("seats")
        .elected
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    let target = pool
        .iter()
        .find(|m| {
            // Of a category the honest draw shows eligible for a drawn seat.
            honest_drawn.iter().any(|d| d.category == m.category)
                && !honest_drawn.iter().any(|d| d.id == m.id)
                && !elected_ids.contains(&m.id.as_str())
        })
        .expect("a pool member the honest draw left out")
        .id
        .clone();
    let reveals: Vec<(u32, [u8; 32])> = record.reveals().iter().map(|(i, s)| (*i, *s)).collect();
    let mut found = None;
    for t in 0u32..5_000 {
        let mut s = [0u8; 64];
        s[..4].copy_from_slice(&t.to_be_bytes());
        let sig = DemoNetwork::from_seed(&s).sign(honest.round);
        let seed = lottery::seed(&election, &beacon::randomness(&sig), &reveals).expect("seed");
        let elected = seats::allocate(&c.rules, &candidates(&c.id), &seed).expect("allocate");
        let drawn = lottery::draw(&seed, c.id.as_bytes(), &c.rules, &elected, pool).expect("draw");
        if drawn.iter().any(|d| d.id == target) {
            found = Some((t, sig, seed));
            break;
        }
    }
    let (tries, sig, seed) = found.expect("grinding finds a beacon value within 5000 tries");
    // The forged tail, signed with the board key.
    let board = f.board_signer();
    let sign = |kind, body: &dyn Fn() -> Vec<u8>| {
        let mut e = Entry {
            kind: kind as u8,
            election,
            body: body(),
            signer: vec![],
            signature: vec![],
        };
        resign(&mut e, &board);
        e.to_bytes()
    };
    let mut entries: Vec<Vec<u8>> = f.entry_bytes()[..beacon_at].to_vec();
    let forged_beacon = BeaconValue {
        signature: sig.to_vec(),
        ..honest
    };
    entries.push(sign(EntryKind::Beacon, &|| forged_beacon.to_bytes()));
    let withheld = record.seed().expect("seed").withheld.clone();
    entries.push(sign(EntryKind::Seed, &|| {
        LotterySeed {
            seed,
            withheld: withheld.clone(),
        }
        .to_bytes()
    }));
    for k in &f.manifest.constituencies {
        let elected = seats::allocate(&k.rules, &candidates(&k.id), &seed).expect("allocate");
        let drawn = lottery::draw(
            &seed,
            k.id.as_bytes(),
            &k.rules,
            &elected,
            record.pool(&k.id),
        )
        .expect("draw");
        if k.id == c.id {
            assert!(drawn.iter().any(|d| d.id == target), "the ground draw");
        }
        let result = SeatResult {
            constituency: k.id.clone(),
            elected,
            drawn,
        };
        entries.push(sign(EntryKind::SeatResult, &|| result.to_bytes()));
    }
    let export = f.export_of(&entries);
    // Through the command line, as anyone would run it.
    let path = std::env::temp_dir().join(format!("urne-grind-{}.export", std::process::id()));
    std::fs::write(&path, &export).expect("write export");
    let out = Command::new(env!("CARGO_BIN_EXE_urne-verify"))
        .arg("--json")
        .arg(&path)
        .output()
        .expect("run urne-verify");
    let _ = std::fs::remove_file(&path);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(out.status.code(), Some(1), "ground after {tries} tries");
    assert_eq!(report["status"], "invalid");
    let failures = report["failures"].as_array().expect("failures");
    assert!(
        failures.iter().any(|x| x["check"] == "lottery"
            && x["entry"] == beacon_at as u64
            && x["code"] == "bad_beacon"),
        "{failures:#?}"
    );
}
