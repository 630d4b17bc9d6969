//! Revotes must be new ballots: re-posting an earlier ballot of the same key
//! (which would undo the voter's later choice) is refused.

use urne_crypto::entry::{Ballot, Entry, EntryKind};
use urne_crypto::record::{BallotCheck, BallotHistory, Record};
use urne_e2e::fixture::{build, Params};

struct Board<'a>(&'a [Entry]);

impl BallotHistory for Board<'_> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        self.0[index as usize].body().map_err(|e| e.to_string())
    }
}

#[test]
fn replayed_ballots_are_refused() {
    let fx = build(&Params::small(5));
    let f = &fx.entries;
    let ballot_key = |e: &Entry| -> [u8; 32] {
        let b: Ballot = e.body().expect("ballot");
        *b.body.ballot_key.as_bytes()
    };
    // The first revote and the ballot it replaces.
    let ballots: Vec<usize> = (0..f.len())
        .filter(|&i| f[i].kind == EntryKind::Ballot as u8)
        .collect();
    let (first, second) = ballots
        .iter()
        .enumerate()
        .find_map(|(n, &j)| {
            let k = ballot_key(&f[j]);
            ballots[..n]
                .iter()
                .find(|&&i| ballot_key(&f[i]) == k)
                .map(|&i| (i, j))
        })
        .expect("the fixture has revotes");

    // Board order up to and including the revote.
    let mut board: Vec<Entry> = f[..=second].to_vec();
    let mut record = Record::open(&board[0]).expect("manifest");
    for e in &board[1..] {
        record
            .apply(e, BallotCheck::Full, &Board(&board))
            .expect("prefix applies");
    }
    let size = record.size();
    for (what, replay) in [
        ("the replaced ballot", first),
        ("the current ballot", second),
    ] {
        board.push(f[replay].clone());
        let err = record
            .apply(&f[replay], BallotCheck::Full, &Board(&board))
            .expect_err(what);
        assert_eq!(err.code(), "duplicate", "{what}: {err}");
        assert_eq!(record.size(), size, "a refused replay changes nothing");
        board.pop();
    }
}
