//! Splitting the ballot proofs between runs (specs/protocol.md §9.8), as the
//! browser's Web Workers do: the joined reports of every share equal one
//! whole run's report, on a valid board and on boards with a bad ballot at
//! either share; an incomplete, repeated or mixed set of shares is refused.

use std::io::Cursor;
use std::sync::OnceLock;

use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Entry, EntryKind};
use urne_e2e::fixture::{build, Fixture, Params};
use urne_verify::{merge_shares, BallotShare, Options, Report, ShareError};

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build(&Params::small(23)))
}

fn run(export: &[u8], share: Option<BallotShare>) -> Report {
    let options = Options {
        threads: 1,
        ballot_share: share,
        ..Options::default()
    };
    let mut r = urne_verify::verify_export(Cursor::new(export), &options);
    r.seconds = 0.0;
    r
}

fn shares(export: &[u8], of: u32) -> Vec<Report> {
    (0..of)
        .map(|index| run(export, Some(BallotShare { index, of })))
        .collect()
}

fn joined(export: &[u8], of: u32) -> Report {
    // Any order.
    let mut parts = shares(export, of);
    parts.reverse();
    merge_shares(parts).expect("the shares join")
}

/// The board with the ballot at board index `at` altered inside its body.
fn with_bad_ballot(f: &Fixture, at: usize) -> Vec<u8> {
    let mut entries = f.entry_bytes();
    let raw = &mut entries[at];
    let entry = Entry::from_bytes(raw).expect("entry");
    assert_eq!(entry.kind().expect("kind"), EntryKind::Ballot);
    let body_start = raw.len() - 2 - entry.body.len();
    let flip = body_start + entry.body.len() - 40;
    raw[flip] ^= 0x04;
    f.export_of(&entries)
}

fn ballot_indices(f: &Fixture) -> Vec<usize> {
    f.entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EntryKind::Ballot as u8)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn joined_shares_of_a_valid_board_are_the_whole_run() {
    let export = fixture().export();
    let whole = run(&export, None);
    assert!(whole.valid && whole.complete, "{:?}", whole.failures);
    for of in [2, 3] {
        let parts = shares(&export, of);
        for (k, p) in parts.iter().enumerate() {
            assert_eq!(
                p.ballot_share,
                Some(BallotShare {
                    index: k as u32,
                    of
                })
            );
            let detail = &p.check("ballot-proofs").expect("ballot-proofs").detail;
            assert!(
                detail.contains(&format!("share {} of {of}", k + 1)),
                "{detail}"
            );
        }
        assert_eq!(joined(&export, of), whole, "{of} shares");
    }
}

#[test]
fn a_bad_ballot_in_any_share_fails_the_join_as_it_fails_a_whole_run() {
    let f = fixture();
    let ballots = ballot_indices(f);
    // Two ballots next to each other fall in different shares of two.
    for at in [ballots[3], ballots[4]] {
        let export = with_bad_ballot(f, at);
        let whole = run(&export, None);
        assert!(!whole.valid, "ballot {at} altered");
        assert!(
            whole
                .failures
                .iter()
                .any(|x| x.entry == Some(at as u64) && x.check == "ballot-proofs"),
            "{:?}",
            whole.failures
        );
        for of in [2, 3] {
            let parts = shares(&export, of);
            // Only the share holding the ballot sees its proofs fail...
            let failing = parts
                .iter()
                .filter(|p| p.failures.iter().any(|x| x.entry == Some(at as u64)))
                .count();
            assert_eq!(failing, 1, "ballot {at}, {of} shares");
            // ...and the join is the whole run's report all the same.
            assert_eq!(joined(&export, of), whole, "ballot {at}, {of} shares");
        }
    }
}

#[test]
fn an_incomplete_repeated_or_mixed_set_of_shares_is_refused() {
    let f = fixture();
    let export = f.export();
    let parts = shares(&export, 3);
    assert_eq!(merge_shares(vec![]), Err(ShareError::Empty));
    assert_eq!(
        merge_shares(parts[..2].to_vec()),
        Err(ShareError::Share(2)),
        "a missing share"
    );
    assert_eq!(
        merge_shares(vec![parts[0].clone(), parts[1].clone(), parts[1].clone()]),
        Err(ShareError::Share(1)),
        "a share twice"
    );
    let whole = run(&export, None);
    assert_eq!(
        merge_shares(vec![whole, parts[1].clone(), parts[2].clone()]),
        Err(ShareError::NotAShare(0)),
        "a whole run is no share"
    );
    let halves = shares(&export, 2);
    assert_eq!(
        merge_shares(vec![parts[0].clone(), halves[1].clone(), parts[2].clone()]),
        Err(ShareError::NotAShare(1)),
        "a share of another split"
    );
    // A share of another board: one entry fewer.
    let mut shorter = f.entry_bytes();
    shorter.pop();
    let other = shares(&f.export_of(&shorter), 3);
    assert_eq!(
        merge_shares(vec![parts[0].clone(), other[1].clone(), parts[2].clone()]),
        Err(ShareError::DifferentBoards)
    );
}
