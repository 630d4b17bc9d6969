//! Verification of complete ballots (credential, signature, all proofs) as the
//! service and the verifier run it: `BallotVerifier::verify` one by one and
//! `verify_batch` over a batch, for 16 and 256 candidates.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use urne_crypto::entry::{Ballot, EntryKind};
use urne_e2e::fixture::{build, ConstituencySpec, Params};

const BATCH: usize = 64;

fn ballots(candidates: usize) -> (urne_crypto::record::BallotVerifier, Vec<Ballot>) {
    let params = Params {
        constituencies: vec![ConstituencySpec {
            id: "bench".into(),
            candidates,
            voters: BATCH,
            seats: 4,
            lottery_seats: 1,
        }],
        trustees: 3,
        threshold: 2,
        contributors: 1,
        withhold: 0,
        revote_every: 0,
        seed: 1,
        method: urne_crypto::lottery::DrawMethod::Drbg,
        bad_dealer: false,
    };
    let f = build(&params);
    let record = f.replay().expect("fixture replays");
    let verifier = record.ballot_verifier().expect("verifier");
    let ballots = f
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Ballot as u8)
        .map(|e| e.body().expect("ballot"))
        .collect();
    (verifier, ballots)
}

fn complete_ballot(c: &mut Criterion) {
    let mut g = c.benchmark_group("complete_ballot");
    g.sample_size(10);
    for n in [16usize, 256] {
        let (verifier, ballots) = ballots(n);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("verify_single", n), &n, |b, _| {
            b.iter(|| verifier.verify(&ballots[0]).expect("valid"))
        });
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_with_input(BenchmarkId::new("verify_batch_64", n), &n, |b, _| {
            b.iter(|| verifier.verify_batch(&ballots).expect("valid"))
        });
    }
    g.finish();
}

criterion_group!(benches, complete_ballot);
criterion_main!(benches);
