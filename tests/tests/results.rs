//! The results people read (`urne results`) agree with the verified record:
//! every candidate with its approvals, the elected seats, the replacement
//! order, who was passed over for the quotas, ties and parity.

use urne_crypto::entry::EntryKind;
use urne_crypto::record::{Applied, BallotCheck, BallotHistory, Record};
use urne_e2e::fixture::{build, Fixture, Params};
use urne_server::cli::results::{csv, table};
use urne_server::client::results::{Outcome, Results, Stage};

struct Board<'a>(&'a [urne_crypto::entry::Entry]);

impl BallotHistory for Board<'_> {
    fn ballot_at(&self, index: u64) -> Result<urne_crypto::entry::Ballot, String> {
        let e = self.0.get(index as usize).ok_or("no such entry")?;
        e.body().map_err(|e| e.to_string())
    }
}

/// The record of the board's entries before the first of `kind` (all if none).
fn record_before(f: &Fixture, kind: Option<EntryKind>) -> Record {
    let mut record = Record::open(&f.entries[0]).expect("manifest");
    for e in &f.entries[1..] {
        if kind.is_some_and(|k| e.kind == k as u8) {
            break;
        }
        match record.apply(e, BallotCheck::Deferred, &Board(&f.entries)) {
            Ok(Applied::Recorded | Applied::Ballot { .. } | Applied::Attestation(_)) => {}
            Err(err) => panic!("the fixture replays: {err}"),
        }
    }
    record
}

#[test]
fn results_follow_the_record() {
    let f = build(&Params::small(5));
    let record = record_before(&f, None);
    let results = Results::of(&record);
    assert!(results.any_tallied());
    assert_eq!(results.phase, "seated");
    for (c, m) in results
        .constituencies
        .iter()
        .zip(&record.manifest().constituencies)
    {
        assert_eq!(c.stage, Stage::Seated);
        let tally = record.tally(&m.id).expect("tally");
        let seats = record.seat_result(&m.id).expect("seats");
        assert_eq!(c.ballots, Some(tally.ballots));
        // Every candidate once, with the tally's count.
        assert_eq!(c.candidates.len(), m.candidates.len());
        for (i, k) in m.candidates.iter().enumerate() {
            let line = c.candidates.iter().find(|l| l.id == k.id).expect("listed");
            assert_eq!(line.votes, Some(tally.counts[i]), "{}", k.id);
            assert_eq!(line.category, k.category);
        }
        // Places follow approvals, equal approvals by ascending tie hash.
        for (place, pair) in c.candidates.windows(2).enumerate() {
            assert_eq!(pair[0].place as usize, place + 1);
            assert!(pair[0].votes >= pair[1].votes);
            if pair[0].votes == pair[1].votes {
                assert!(pair[0].tie_hash < pair[1].tie_hash, "{pair:?}");
                assert!(pair[0].tied_with.contains(&pair[1].id));
            }
        }
        // Elected exactly as the seat result; the others numbered in order;
        // passed over exactly when ranked above the last elected.
        let last_elected = c
            .candidates
            .iter()
            .rposition(|l| matches!(l.outcome, Outcome::Elected { .. }));
        let mut next = 0;
        for (pos, line) in c.candidates.iter().enumerate() {
            match &line.outcome {
                Outcome::Elected { seat } => {
                    let e = seats
                        .elected
                        .iter()
                        .find(|e| e.id == line.id)
                        .expect("elected");
                    assert_eq!(*seat, e.rank);
                }
                Outcome::NextInLine { order, passed_over } => {
                    next += 1;
                    assert_eq!(*order, next);
                    assert_eq!(*passed_over, last_elected.is_some_and(|l| pos < l));
                    assert!(seats.elected.iter().all(|e| e.id != line.id));
                }
                Outcome::Pending => panic!("seated, yet pending: {line:?}"),
            }
        }
        let elected = c
            .candidates
            .iter()
            .filter(|l| matches!(l.outcome, Outcome::Elected { .. }))
            .count();
        assert_eq!(elected, seats.elected.len());
        assert_eq!(c.drawn.len(), seats.drawn.len());
        // The parity outcome counts the assembly and holds for a valid board.
        let total: u32 = c.parity.iter().map(|p| p.elected + p.drawn).sum();
        assert_eq!(total as usize, seats.elected.len() + seats.drawn.len());
        assert!(c.parity.iter().all(|p| p.met), "{:?}", c.parity);
    }
    // The CSV has a header, a row per candidate and per drawn seat.
    let rows = csv(&results).expect("csv").lines().count();
    let expected: usize = results
        .constituencies
        .iter()
        .map(|c| c.candidates.len() + c.drawn.len())
        .sum();
    assert_eq!(rows, 1 + expected);
    let text = table(&results);
    assert!(text.contains("elected (seat 1)"), "{text}");
    assert!(text.contains("drawn by lot"), "{text}");
}

#[test]
fn before_the_seats_results_show_the_tally_with_seats_pending() {
    let f = build(&Params::small(5));
    let record = record_before(&f, Some(EntryKind::Seed));
    let results = Results::of(&record);
    assert!(results.any_tallied());
    for c in &results.constituencies {
        assert_eq!(c.stage, Stage::Tallied);
        assert!(c.candidates.iter().all(|l| l.outcome == Outcome::Pending));
        assert!(c.candidates.iter().all(|l| l.votes.is_some()));
        // Without the seed, ties are not ordered yet.
        assert!(c.candidates.iter().all(|l| l.tie_hash.is_none()));
        assert!(c.drawn.is_empty() && c.parity.is_empty());
    }
    assert!(table(&results).contains("seats: pending"));

    let record = record_before(&f, Some(EntryKind::Tally));
    let results = Results::of(&record);
    assert!(!results.any_tallied());
    assert!(results
        .constituencies
        .iter()
        .all(|c| c.stage == Stage::Pending && c.candidates.iter().all(|l| l.votes.is_none())));
}
