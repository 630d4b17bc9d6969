//! The library entry point: the same verdict and results whatever the batch
//! size and the number of threads, including ballots dispatched before the
//! election key was known (verified on the replaying thread).

use std::io::Cursor;

use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, Entry, EntryKind};
use urne_e2e::fixture::{build, Params};
use urne_verify::{verify_export, CheckStatus, Options, Outcome, Report};

fn without_timing(mut r: Report) -> Report {
    r.seconds = 0.0;
    r
}

#[test]
fn outcome_does_not_depend_on_batches_or_threads() {
    let f = build(&Params::small(61));
    let export = f.export();
    let reference = without_timing(verify_export(Cursor::new(&export), &Options::default()));
    assert_eq!(
        reference.status,
        Outcome::Valid,
        "{:#?}",
        reference.failures
    );
    assert!(reference
        .checks
        .iter()
        .all(|c| c.status == CheckStatus::Pass));
    for (batch, threads) in [(1, 1), (7, 2), (64, 1), (100_000, 1), (100_000, 3)] {
        let options = Options {
            batch,
            threads,
            progress: false,
            ..Options::default()
        };
        let r = without_timing(verify_export(Cursor::new(&export), &options));
        assert_eq!(r, reference, "batch {batch}, threads {threads}");
    }
}

#[test]
fn a_forged_ballot_is_named_whatever_the_batching() {
    let f = build(&Params::small(62));
    // Replace the signature of one ballot by another ballot's: the ballot
    // still decodes and obeys every record rule, only its cryptography fails.
    let ballots: Vec<usize> = (0..f.entries.len())
        .filter(|&i| f.entries[i].kind == EntryKind::Ballot as u8)
        .collect();
    let (at, donor) = (ballots[3], ballots[4]);
    let mut forged: Ballot = f.entries[at].body().expect("ballot");
    let other: Ballot = f.entries[donor].body().expect("ballot");
    forged.signature = other.signature;
    let mut entries = f.entry_bytes();
    entries[at] = Entry::anonymous(EntryKind::Ballot, f.election, &forged).to_bytes();
    let export = f.export_of(&entries);
    for (batch, threads) in [(1, 1), (5, 2), (64, 2), (100_000, 1)] {
        let options = Options {
            batch,
            threads,
            progress: false,
            ..Options::default()
        };
        let r = verify_export(Cursor::new(&export), &options);
        assert_eq!(r.status, Outcome::Invalid);
        let first = &r.failures[0];
        assert_eq!(first.check, "ballot-proofs", "batch {batch}: {first:?}");
        assert_eq!(first.entry, Some(at as u64));
        assert_eq!(first.kind.as_deref(), Some("ballot"));
        assert_eq!(first.code, "invalid_proof");
        assert_eq!(r.failed_checks(), ["ballot-proofs"]);
        // Later ballots and results were not replayed.
        let tallies = r.check("tallies").expect("tallies");
        assert_eq!(tallies.status, CheckStatus::Skipped, "{tallies:?}");
    }
}
