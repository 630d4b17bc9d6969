//! Board Merkle tree at 10^6 leaves: proof generation from stored perfect
//! subtrees, and proof verification; checkpoint signing and opening.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use urne_crypto::checkpoint::{
    election_origin, open_signed_checkpoint, sign_checkpoint, BoardKey, Checkpoint,
};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root_at, verify_consistency, verify_inclusion,
    Frontier, MerkleError, NodeId,
};

const N: u64 = 1_000_000;

/// Perfect-subtree hashes, one vector per level, as a server's store holds them.
struct Store {
    levels: Vec<Vec<Digest32>>,
    root: Digest32,
}

impl Store {
    fn build(n: u64) -> Self {
        let mut levels: Vec<Vec<Digest32>> = Vec::new();
        let mut frontier = Frontier::new();
        for i in 0..n {
            for (id, hash) in frontier
                .append(leaf_hash(&i.to_be_bytes()))
                .expect("append")
            {
                let level = id.level as usize;
                if levels.len() <= level {
                    levels.push(Vec::new());
                }
                debug_assert_eq!(levels[level].len() as u64, id.index);
                levels[level].push(hash);
            }
        }
        let root = frontier.root();
        Self { levels, root }
    }

    fn get(&self) -> impl FnMut(NodeId) -> Result<Digest32, MerkleError> + '_ {
        |id| {
            self.levels
                .get(id.level as usize)
                .and_then(|l| l.get(id.index as usize))
                .copied()
                .ok_or(MerkleError::MissingNode(id))
        }
    }
}

fn board(c: &mut Criterion) {
    let store = Store::build(N);
    assert_eq!(root_at(N, store.get()).expect("root"), store.root);
    // A spread of leaf indices (an odd stride visits every residue class).
    let indices: Vec<u64> = (0..1024u64).map(|k| (k * 976_541 + 17) % N).collect();

    let mut g = c.benchmark_group("board 10^6 leaves");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));

    let mut k = 0usize;
    g.bench_function("inclusion proof generation", |b| {
        b.iter(|| {
            k = (k + 1) % indices.len();
            black_box(inclusion_proof(indices[k], N, store.get()).expect("proof"))
        })
    });

    let proofs: Vec<(u64, Digest32, Vec<Digest32>)> = indices
        .iter()
        .map(|&i| {
            let p = inclusion_proof(i, N, store.get()).expect("proof");
            (i, store.levels[0][i as usize], p)
        })
        .collect();
    let mut k = 0usize;
    g.bench_function("inclusion proof verification", |b| {
        b.iter(|| {
            k = (k + 1) % proofs.len();
            let (i, leaf, p) = &proofs[k];
            verify_inclusion(*i, N, leaf, p, &store.root).expect("valid")
        })
    });

    let olds: Vec<u64> = indices.iter().map(|i| i + 1).collect();
    let mut k = 0usize;
    g.bench_function("consistency proof generation", |b| {
        b.iter(|| {
            k = (k + 1) % olds.len();
            black_box(consistency_proof(olds[k], N, store.get()).expect("proof"))
        })
    });

    let cons: Vec<(u64, Digest32, Vec<Digest32>)> = olds
        .iter()
        .map(|&m| {
            let r = root_at(m, store.get()).expect("root");
            (m, r, consistency_proof(m, N, store.get()).expect("proof"))
        })
        .collect();
    let mut k = 0usize;
    g.bench_function("consistency proof verification", |b| {
        b.iter(|| {
            k = (k + 1) % cons.len();
            let (m, r, p) = &cons[k];
            verify_consistency(*m, N, r, &store.root, p).expect("valid")
        })
    });

    let mut k = 0usize;
    g.bench_function("root of a past size", |b| {
        b.iter(|| {
            k = (k + 1) % olds.len();
            black_box(root_at(olds[k], store.get()).expect("root"))
        })
    });

    let mut frontier = Frontier::new();
    let leaf = leaf_hash(b"entry");
    g.bench_function("frontier append", |b| {
        b.iter(|| black_box(frontier.append(leaf).expect("append")))
    });
    g.finish();

    let key = BoardKey::from_seed(&election_origin(&[1; 32]), &[2; 32]).expect("key");
    let verifier = key.verifier();
    let checkpoint = Checkpoint::new(key.name(), N, store.root);
    let mut g = c.benchmark_group("checkpoint");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.bench_function("sign", |b| {
        b.iter(|| black_box(sign_checkpoint(&key, &checkpoint).expect("sign")))
    });
    let note = sign_checkpoint(&key, &checkpoint).expect("sign");
    g.bench_function("open", |b| {
        b.iter(|| black_box(open_signed_checkpoint(note.as_bytes(), &verifier).expect("open")))
    });
    g.finish();
}

criterion_group!(benches, board);
criterion_main!(benches);
