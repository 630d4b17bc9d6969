//! A record snapshot taken anywhere in an election restores to a record that
//! continues exactly like the original: same final state, same results.

use std::ops::Range;

use urne_crypto::entry::{Ballot, Entry, EntryKind};
use urne_crypto::record::{BallotCheck, BallotHistory, Record, RecordError, SnapshotError};
use urne_e2e::fixture::{build, Params};

struct Board<'a>(&'a [Entry]);

impl BallotHistory for Board<'_> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        self.0[index as usize].body().map_err(|e| e.to_string())
    }
}

#[test]
fn snapshot_restores_at_every_phase() {
    let fx = build(&Params::small(11));
    let f = &fx.entries;
    let full = fx.replay().expect("honest board");
    let n = f.len();
    for cut in [1, 2, n / 4, n / 2, 3 * n / 4, n - 2, n - 1, n] {
        let mut record = Record::open(&f[0]).expect("manifest");
        for e in &f[1..cut] {
            record
                .apply(e, BallotCheck::Deferred, &Board(f))
                .expect("prefix applies");
        }
        let bytes = record.snapshot();
        let mut restored = Record::restore(&bytes).expect("restore");
        assert_eq!(restored.snapshot(), bytes, "snapshot round trip at {cut}");
        assert_eq!(restored.size(), cut as u64);
        // The member and enrolment counts are recounted on restore.
        for c in &fx.manifest.constituencies {
            assert_eq!(
                restored.members_enrolled(&c.id),
                record.members_enrolled(&c.id),
                "{} at {cut}",
                c.id
            );
            assert_eq!(
                restored.pool_feasibility(&c.id),
                record.pool_feasibility(&c.id),
                "{} at {cut}",
                c.id
            );
            // Before the roster, no pool can fill a seat by lot.
            if cut == 1 && c.rules.lottery_seats > 0 {
                assert!(matches!(record.pool_feasibility(&c.id), Some(Err(_))));
            }
        }
        for e in &f[cut..] {
            restored
                .apply(e, BallotCheck::Deferred, &Board(f))
                .expect("rest applies to the restored record");
        }
        assert!(restored.is_complete());
        assert_eq!(restored.snapshot(), full.snapshot(), "cut at {cut}");
    }
    // Every member of the fixture enrolled; the counts add up to the roster.
    let (members, enrolled): (u64, u64) = fx
        .manifest
        .constituencies
        .iter()
        .filter_map(|c| full.members_enrolled(&c.id))
        .fold((0, 0), |(m, e), (cm, ce)| (m + cm, e + ce));
    assert_eq!(
        members,
        fx.count(urne_crypto::entry::EntryKind::Enrollment) as u64
    );
    assert_eq!(enrolled, members);
    // The board opened, so every pool was feasible.
    for c in &fx.manifest.constituencies {
        assert_eq!(full.pool_feasibility(&c.id), Some(Ok(())));
    }
}

/// The service's replay of its own store ([`BallotCheck::Stored`]: ballots
/// read without the canonical re-encoding and the proofs' points) reaches
/// the same record as the strict replay, at every step, revotes included.
#[test]
fn stored_replay_equals_strict_replay() {
    let fx = build(&Params::small(13));
    let f = &fx.entries;
    let mut strict = Record::open(&f[0]).expect("manifest");
    let mut stored = Record::open(&f[0]).expect("manifest");
    for (i, e) in f.iter().enumerate().skip(1) {
        let a = strict.apply(e, BallotCheck::Deferred, &Board(f));
        let b = stored.apply(e, BallotCheck::Stored, &Board(f));
        assert_eq!(a.expect("strict applies"), b.expect("stored applies"));
        if i % 16 == 0 {
            assert_eq!(stored.snapshot(), strict.snapshot(), "after entry {i}");
        }
    }
    assert!(stored.is_complete());
    assert_eq!(stored.snapshot(), strict.snapshot());
    assert_eq!(
        stored.snapshot(),
        fx.replay().expect("honest board").snapshot()
    );
}

/// A stored replay still enforces the rules: a ballot out of its phase, a
/// replayed ballot and an undecodable one are refused as by the strict replay.
#[test]
fn stored_replay_keeps_the_rules() {
    let fx = build(&Params::small(14));
    let f = &fx.entries;
    let first_ballot = f
        .iter()
        .position(|e| e.kind == EntryKind::Ballot as u8)
        .expect("a ballot");
    let mut record = Record::open(&f[0]).expect("manifest");
    for e in &f[1..first_ballot] {
        record
            .apply(e, BallotCheck::Stored, &Board(f))
            .expect("prefix applies");
    }
    let ballot = &f[first_ballot];
    record
        .apply(ballot, BallotCheck::Stored, &Board(f))
        .expect("ballot applies");
    let before = record.snapshot();
    // The same ballot again (same key, same digest): a replay.
    assert_eq!(
        record
            .apply(ballot, BallotCheck::Stored, &Board(f))
            .map_err(|e| e.code()),
        Err("duplicate")
    );
    // A truncated ballot body does not decode.
    let mut cut = ballot.clone();
    cut.body.truncate(cut.body.len() - 1);
    assert_eq!(
        record
            .apply(&cut, BallotCheck::Stored, &Board(f))
            .map_err(|e| e.code()),
        Err("malformed_entry")
    );
    // Trailing bytes are refused too.
    let mut long = ballot.clone();
    long.body.push(0);
    assert!(record.apply(&long, BallotCheck::Stored, &Board(f)).is_err());
    assert_eq!(
        record.snapshot(),
        before,
        "refusals leave the record unchanged"
    );
    // Before the vote opens, a ballot is out of phase.
    let mut early = Record::open(&f[0]).expect("manifest");
    assert_eq!(
        early
            .apply(ballot, BallotCheck::Stored, &Board(f))
            .map_err(|e| e.code()),
        Err("out_of_phase")
    );
}

#[test]
fn corrupt_snapshots_are_refused() {
    let fx = build(&Params::small(12));
    let record = fx.replay().expect("honest board");
    let bytes = record.snapshot();
    assert!(Record::restore(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Record::restore(&longer).is_err());
    assert!(Record::restore(&[]).is_err());
}

/// The byte ranges of the items of the CBOR array reached from the top-level
/// array of `bytes` by following `path` (item indices, one per level).
fn items(bytes: &[u8], path: &[usize]) -> Vec<Range<usize>> {
    let mut d = minicbor::Decoder::new(bytes);
    for &step in path {
        d.array().expect("array");
        for _ in 0..step {
            d.skip().expect("item");
        }
    }
    let len = d.array().expect("array").expect("definite length");
    (0..len)
        .map(|_| {
            let start = d.position();
            d.skip().expect("item");
            start..d.position()
        })
        .collect()
}

/// `bytes` with the items `a < b` of one array swapped.
fn swapped(bytes: &[u8], list: &[Range<usize>], a: usize, b: usize) -> Vec<u8> {
    let (x, y) = (list[a].clone(), list[b].clone());
    [
        &bytes[..x.start],
        &bytes[y.clone()],
        &bytes[x.end..y.start],
        &bytes[x.clone()],
        &bytes[y.end..],
    ]
    .concat()
}

/// `bytes` with item `b` of one array replaced by a copy of item `a < b`.
fn duplicated(bytes: &[u8], list: &[Range<usize>], a: usize, b: usize) -> Vec<u8> {
    let (x, y) = (list[a].clone(), list[b].clone());
    [&bytes[..y.start], &bytes[x], &bytes[y.end..]].concat()
}

#[test]
fn snapshots_with_unordered_or_repeated_keys_are_refused() {
    let fx = build(&Params::small(13));
    let record = fx.replay().expect("honest board");
    let bytes = record.snapshot();
    Record::restore(&bytes).expect("the honest snapshot restores");
    // Top-level items: 3 members, 4 enrolled, 5 credentialed, 6 dealings,
    // 9 constituencies (each: 1 ballots, 3 shares, 6 superseded), 10 commits,
    // 11 reveals.
    for (what, path) in [
        ("members", vec![3]),
        ("enrolled", vec![4]),
        ("credentialed", vec![5]),
        ("dealings", vec![6]),
        ("ballots", vec![9, 0, 1]),
        ("shares", vec![9, 0, 3]),
        ("superseded", vec![9, 0, 6]),
        ("commits", vec![10]),
        ("reveals", vec![11]),
    ] {
        let list = items(&bytes, &path);
        assert!(list.len() >= 2, "{what} has {} items", list.len());
        let last = list.len() - 1;
        for (how, tampered) in [
            ("first and last swapped", swapped(&bytes, &list, 0, last)),
            ("first two swapped", swapped(&bytes, &list, 0, 1)),
            ("last two swapped", swapped(&bytes, &list, last - 1, last)),
            ("first repeated", duplicated(&bytes, &list, 0, 1)),
            ("last repeated", duplicated(&bytes, &list, last - 1, last)),
        ] {
            assert_ne!(tampered, bytes);
            match Record::restore(&tampered) {
                Err(RecordError::Snapshot(SnapshotError::Unordered(list))) => {
                    assert_eq!(list, what, "{how} {what}")
                }
                Err(e) => panic!("{how} {what}: wrong error {e}"),
                Ok(_) => panic!("{how} {what}: accepted"),
            }
        }
    }
}

#[test]
fn the_fuzz_fixture_replays() {
    let fx = build(&Params::tiny(urne_e2e::fixture::FUZZ_SEED));
    assert!(fx.replay().expect("honest board").is_complete());
    assert!(
        fx.entries.len() < 256,
        "replay target indexes entries by one byte"
    );
}
