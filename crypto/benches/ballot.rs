//! Ballot proving and verification costs, with the `bulletproofs` crate side
//! by side on the 0/1 statement.
//!
//! Run: `cargo bench -p urne-crypto --bench ballot -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use urne_crypto::ballot::{verify_batch, BallotStatement, EncryptedVote};
use urne_crypto::encoding::Canonical;
use urne_crypto::schnorr::BallotSecretKey;

const SIZES: [u32; 4] = [8, 16, 64, 256];
const BATCH: usize = 32;

fn statement(n: u32, rng: &mut ChaCha20Rng) -> BallotStatement {
    let pk = RistrettoPoint::mul_base(&Scalar::random(rng));
    BallotStatement::new(
        [1; 32],
        "north",
        pk,
        BallotSecretKey::generate(rng).public_key(),
        n,
        0,
        n,
    )
    .expect("statement")
}

fn choices(n: u32) -> Vec<bool> {
    (0..n).map(|i| i % 3 == 0).collect()
}

fn ballots(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([42; 32]);
    for n in SIZES {
        let base = statement(n, &mut rng);
        let statements: Vec<BallotStatement> = (0..BATCH)
            .map(|_| BallotStatement {
                ballot_key: BallotSecretKey::generate(&mut rng).public_key(),
                ..base.clone()
            })
            .collect();
        let votes: Vec<EncryptedVote> = statements
            .iter()
            .map(|st| {
                EncryptedVote::prove(st, &choices(n), &mut rng)
                    .expect("prove")
                    .0
            })
            .collect();
        let bytes = votes[0].to_bytes();
        println!(
            "encrypted vote, {n} candidates: {} bytes (0/1 proof {} B, count proof {} B)",
            bytes.len(),
            votes[0].bits_proof().to_bytes().len(),
            votes[0].count_proof().to_bytes().len()
        );

        let mut g = c.benchmark_group("ballot");
        g.sample_size(10);
        g.bench_function(BenchmarkId::new("prove", n), |b| {
            b.iter(|| EncryptedVote::prove(&base, &choices(n), &mut rng).expect("prove"))
        });
        g.bench_function(BenchmarkId::new("verify", n), |b| {
            b.iter(|| votes[0].verify(&statements[0]).expect("valid"))
        });
        g.bench_function(BenchmarkId::new("decode", n), |b| {
            b.iter(|| EncryptedVote::from_bytes(&bytes).expect("decode"))
        });
        let items: Vec<(&BallotStatement, &EncryptedVote)> =
            statements.iter().zip(&votes).collect();
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function(BenchmarkId::new("verify_batch32", n), |b| {
            b.iter(|| verify_batch(&items).expect("valid"))
        });
        g.finish();
    }
}

/// The same statement — n commitments each in {0, 1} — on its own: tari
/// Bulletproofs+ with bit length 1, and the `bulletproofs` crate.
fn bits_side_by_side(c: &mut Criterion) {
    use tari_bulletproofs_plus::commitment_opening::CommitmentOpening;
    use tari_bulletproofs_plus::generators::pedersen_gens::ExtensionDegree;
    use tari_bulletproofs_plus::range_parameters::RangeParameters;
    use tari_bulletproofs_plus::range_proof::{RangeProof, VerifyAction};
    use tari_bulletproofs_plus::range_statement::RangeStatement;
    use tari_bulletproofs_plus::range_witness::RangeWitness;
    use tari_bulletproofs_plus::PedersenGens;

    let mut rng = ChaCha20Rng::from_seed([43; 32]);
    for n in SIZES {
        let m = n as usize;
        let h = urne_crypto::group::h();
        let pk = RistrettoPoint::mul_base(&Scalar::random(&mut rng));
        let gens = PedersenGens {
            h_base: h,
            h_base_compressed: h.compress(),
            g_base_vec: vec![pk],
            g_base_compressed_vec: vec![pk.compress()],
            extension_degree: ExtensionDegree::DefaultPedersen,
        };
        let params = RangeParameters::init(1, m, gens).expect("params");
        let values: Vec<u64> = (0..n).map(|i| u64::from(i % 3 == 0)).collect();
        let blindings: Vec<Scalar> = (0..m).map(|_| Scalar::random(&mut rng)).collect();
        let commitments: Vec<RistrettoPoint> = values
            .iter()
            .zip(&blindings)
            .map(|(v, r)| {
                params
                    .pc_gens()
                    .commit(&Scalar::from(*v), &[*r])
                    .expect("commit")
            })
            .collect();
        let statement =
            RangeStatement::init(params, commitments, vec![None; m], None).expect("statement");
        let witness = RangeWitness::init(
            values
                .iter()
                .zip(&blindings)
                .map(|(v, r)| CommitmentOpening::new(*v, vec![*r]))
                .collect(),
        )
        .expect("witness");
        let transcript = tari_bulletproofs_plus::Transcript::new(b"bench");
        let proof =
            RangeProof::prove_with_rng(&mut transcript.clone(), &statement, &witness, &mut rng)
                .expect("prove");

        let mut g = c.benchmark_group("bits");
        g.sample_size(10);
        g.bench_function(BenchmarkId::new("tari_bp+_1bit_prove", n), |b| {
            b.iter(|| {
                RangeProof::prove_with_rng(&mut transcript.clone(), &statement, &witness, &mut rng)
                    .expect("prove")
            })
        });
        g.bench_function(BenchmarkId::new("tari_bp+_1bit_verify", n), |b| {
            b.iter(|| {
                RangeProof::verify_batch(
                    &mut [transcript.clone()],
                    std::slice::from_ref(&statement),
                    std::slice::from_ref(&proof),
                    VerifyAction::VerifyOnly,
                )
                .expect("valid")
            })
        });

        // The `bulletproofs` crate (curve25519-dalek 4, merlin 3). Its smallest
        // range is 8 bits: `[0, 2^8)` per value is a lower bound on its cost;
        // a sound 0/1 proof needs `m` and `128·m` both in `[0, 2^8)` (2n values).
        use curve25519_dalek_v4::scalar::Scalar as Scalar4;
        let pc_gens = bulletproofs::PedersenGens::default();
        for (name, values) in [
            ("8bit", values.clone()),
            (
                "01_as_2x8bit",
                values
                    .iter()
                    .flat_map(|&v| [v, 128 * v])
                    .collect::<Vec<u64>>(),
            ),
        ] {
            let count = values.len();
            let bp_gens = bulletproofs::BulletproofGens::new(8, count);
            let blindings4: Vec<Scalar4> = (1..=count as u64)
                .map(|i| Scalar4::from(i) * Scalar4::from(0x1234_5678_9abc_def1u64))
                .collect();
            let prove = || {
                bulletproofs::RangeProof::prove_multiple(
                    &bp_gens,
                    &pc_gens,
                    &mut merlin::Transcript::new(b"bench"),
                    &values,
                    &blindings4,
                    8,
                )
                .expect("prove")
            };
            let (proof4, commitments4) = prove();
            g.bench_function(BenchmarkId::new(format!("dalek_bp_{name}_prove"), n), |b| {
                b.iter(prove)
            });
            g.bench_function(
                BenchmarkId::new(format!("dalek_bp_{name}_verify"), n),
                |b| {
                    b.iter(|| {
                        proof4
                            .verify_multiple(
                                &bp_gens,
                                &pc_gens,
                                &mut merlin::Transcript::new(b"bench"),
                                &commitments4,
                                8,
                            )
                            .expect("valid")
                    })
                },
            );
        }
        g.finish();
    }
}

criterion_group!(benches, ballots, bits_side_by_side);
criterion_main!(benches);
