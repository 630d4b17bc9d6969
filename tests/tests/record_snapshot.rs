//! A record snapshot taken anywhere in an election restores to a record that
//! continues exactly like the original: same final state, same results.

use urne_crypto::entry::{Ballot, Entry};
use urne_crypto::record::{BallotCheck, BallotHistory, Record};
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
        for e in &f[cut..] {
            restored
                .apply(e, BallotCheck::Deferred, &Board(f))
                .expect("rest applies to the restored record");
        }
        assert!(restored.is_complete());
        assert_eq!(restored.snapshot(), full.snapshot(), "cut at {cut}");
    }
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
