//! Trustee benchmarks: DLEQ proofs, decryption shares, baby-step giant-step.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use urne_crypto::decryption::{decryption_share, verify_share, DiscreteLog};
use urne_crypto::dkg::{deal, DkgOutcome, DkgParams, TrusteeKey};
use urne_crypto::dleq::{self, DleqStatement};
use urne_crypto::group::{h, G};
use urne_crypto::transcript::ProofTranscript;

const EID: &[u8; 32] = b"bench-election..................";
const CONS: &[u8] = b"bench-constituency";

fn dleq_bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let x = Scalar::random(&mut rng);
    let a = G * Scalar::random(&mut rng);
    let st = DleqStatement {
        base1: G,
        public1: G * x,
        base2: a,
        public2: a * x,
    };
    let t = || ProofTranscript::new(b"urne/v1/bench-dleq", EID, CONS);
    let proof = dleq::prove(&mut t(), &st, &x, &mut rng);
    c.bench_function("dleq/prove", |b| {
        b.iter(|| dleq::prove(&mut t(), &st, &x, &mut rng))
    });
    c.bench_function("dleq/verify", |b| {
        b.iter(|| dleq::verify(&mut t(), &st, &proof).expect("valid"))
    });
}

fn decryption_share_bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let keys: Vec<TrusteeKey> = (0..3).map(|_| TrusteeKey::generate(&mut rng)).collect();
    let params =
        DkgParams::new(EID, 2, keys.iter().map(TrusteeKey::public_key).collect()).expect("params");
    let dealers: Vec<_> = (1..=3)
        .map(|i| deal(&params, i, &mut rng).expect("deal"))
        .collect();
    let ek = DkgOutcome::from_transcript(&params, &dealers, &[])
        .expect("dkg")
        .election_key;
    let share = keys[0].secret_share(&params, &ek, &dealers).expect("share");
    let a: Vec<_> = (0..64).map(|_| G * Scalar::random(&mut rng)).collect();
    let d = decryption_share(&share, EID, CONS, &a, &mut rng);
    c.bench_function("decryption_share/create/64", |b| {
        b.iter(|| decryption_share(&share, EID, CONS, &a, &mut rng))
    });
    c.bench_function("decryption_share/verify/64", |b| {
        b.iter(|| verify_share(&ek, EID, CONS, &a, &d).expect("valid"))
    });
}

fn bsgs_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("bsgs");
    for bound in [10_000u64, 100_000] {
        group.bench_with_input(BenchmarkId::new("table", bound), &bound, |b, &bound| {
            b.iter(|| DiscreteLog::new(bound).expect("table"))
        });
        let dlog = DiscreteLog::new(bound).expect("table");
        // Worst case: the largest value needs every giant step.
        let worst = [h() * Scalar::from(bound)];
        group.bench_with_input(BenchmarkId::new("solve_max", bound), &bound, |b, _| {
            b.iter(|| dlog.solve(&worst).expect("in range"))
        });
        // A tally of 64 candidates with values spread over the range.
        let spread: Vec<_> = (0..64u64)
            .map(|c| h() * Scalar::from(c * bound / 63))
            .collect();
        group.bench_with_input(
            BenchmarkId::new("solve_64_spread", bound),
            &bound,
            |b, _| b.iter(|| dlog.solve(&spread).expect("in range")),
        );
    }
    group.finish();
}

criterion_group!(benches, dleq_bench, decryption_share_bench, bsgs_bench);
criterion_main!(benches);
