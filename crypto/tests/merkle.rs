//! Merkle tree: published RFC 6962 vectors, exhaustive proof checks on small
//! trees (every tamper rejected), and never-panic properties.

use std::collections::HashMap;

use proptest::prelude::*;
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root, root_at,
    root_from_inclusion_proof, verify_consistency, verify_inclusion, Frontier, MerkleError, NodeId,
    EMPTY_ROOT,
};

fn h(s: &str) -> Digest32 {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

// The RFC 6962 reference tree used by certificate-transparency and
// transparency-dev/merkle (`proof/verify_test.go`).
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, proof); the published table numbers leaves from 1.
fn rfc_inclusion_proofs() -> Vec<(u64, u64, Vec<Digest32>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof).
fn rfc_consistency_proofs() -> Vec<(u64, u64, Vec<Digest32>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// An in-memory node store filled by a [`Frontier`], as a server keeps it.
struct Store {
    leaves: Vec<Digest32>,
    nodes: HashMap<NodeId, Digest32>,
    frontier: Frontier,
}

impl Store {
    fn new(leaves: Vec<Digest32>) -> Self {
        let mut s = Store {
            leaves: Vec::new(),
            nodes: HashMap::new(),
            frontier: Frontier::new(),
        };
        for l in leaves {
            s.push(l);
        }
        s
    }

    fn push(&mut self, leaf: Digest32) {
        self.leaves.push(leaf);
        self.nodes.extend(self.frontier.append(leaf).unwrap());
    }

    fn get(&self) -> impl FnMut(NodeId) -> Result<Digest32, MerkleError> + '_ {
        |id| {
            self.nodes
                .get(&id)
                .copied()
                .ok_or(MerkleError::MissingNode(id))
        }
    }

    fn inclusion(&self, index: u64, size: u64) -> Vec<Digest32> {
        inclusion_proof(index, size, self.get()).unwrap()
    }

    fn consistency(&self, old: u64, new: u64) -> Vec<Digest32> {
        consistency_proof(old, new, self.get()).unwrap()
    }

    fn root(&self, size: u64) -> Digest32 {
        root(&self.leaves[..size as usize])
    }
}

fn rfc_store() -> Store {
    Store::new(
        LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect(),
    )
}

#[test]
fn rfc6962_roots_for_every_size() {
    let store = rfc_store();
    for (i, want) in ROOTS.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(store.root(n), h(want), "reference root, size {n}");
        assert_eq!(
            root_at(n, store.get()).unwrap(),
            h(want),
            "root_at, size {n}"
        );
    }
    assert_eq!(store.frontier.root(), h(ROOTS[7]));
    assert_eq!(root_at(0, store.get()).unwrap(), EMPTY_ROOT);
}

#[test]
fn rfc6962_inclusion_proofs() {
    let store = rfc_store();
    for (index, size, proof) in rfc_inclusion_proofs() {
        assert_eq!(
            store.inclusion(index, size),
            proof,
            "generated ({index}, {size})"
        );
        let leaf = store.leaves[index as usize];
        let root = h(ROOTS[size as usize - 1]);
        verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
        assert_eq!(
            root_from_inclusion_proof(index, size, &leaf, &proof),
            Ok(root)
        );
    }
}

#[test]
fn rfc6962_consistency_proofs() {
    let store = rfc_store();
    for (old, new, proof) in rfc_consistency_proofs() {
        assert_eq!(
            store.consistency(old, new),
            proof,
            "generated ({old}, {new})"
        );
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        verify_consistency(old, new, &r1, &r2, &proof).unwrap();
        if !proof.is_empty() {
            assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());
        }
    }
}

#[test]
fn rfc_edge_cases() {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    // An empty tree has no leaves to prove.
    for (index, size) in [(0, 0), (1, 0), (2, 1), (u64::MAX, u64::MAX)] {
        assert_eq!(
            verify_inclusion(index, size, &some, &[], &EMPTY_ROOT),
            Err(MerkleError::IndexOutOfRange { index, size })
        );
    }
    // Single entry: root = leaf hash, empty proof.
    let leaf = leaf_hash(b"data");
    verify_inclusion(0, 1, &leaf, &[], &leaf).unwrap();
    assert!(verify_inclusion(0, 1, &leaf, &[], &some).is_err());
    assert!(verify_inclusion(0, 1, &leaf, &[leaf], &leaf).is_err());

    // Consistency special cases.
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
    verify_consistency(0, 5, &EMPTY_ROOT, &some, &[]).unwrap();
    verify_consistency(3, 3, &some, &some, &[]).unwrap();
    assert_eq!(
        verify_consistency(0, 5, &some, &some, &[]),
        Err(MerkleError::NotEmptyRoot)
    );
    assert!(verify_consistency(0, 5, &EMPTY_ROOT, &some, &[EMPTY_ROOT]).is_err());
    assert_eq!(
        verify_consistency(3, 3, &some, &leaf, &[]),
        Err(MerkleError::RootMismatch)
    );
    assert!(verify_consistency(3, 3, &some, &some, &[some]).is_err());
    assert_eq!(
        verify_consistency(2, 1, &some, &some, &[]),
        Err(MerkleError::SizesOutOfOrder { old: 2, new: 1 })
    );
    assert!(verify_consistency(1, 2, &some, &leaf, &[]).is_err());
}

#[test]
fn generation_rejects_bad_arguments_and_missing_nodes() {
    let store = Store::new((0..5u8).map(|i| leaf_hash(&[i])).collect());
    assert_eq!(
        inclusion_proof(5, 5, store.get()),
        Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        consistency_proof(6, 5, store.get()),
        Err(MerkleError::SizesOutOfOrder { old: 6, new: 5 })
    );
    // The store only knows 5 leaves: a proof in a larger tree needs a node it lacks.
    assert!(matches!(
        inclusion_proof(0, 6, store.get()),
        Err(MerkleError::MissingNode(_))
    ));
    assert!(matches!(
        root_at(8, store.get()),
        Err(MerkleError::MissingNode(_))
    ));
}

fn flip(mut d: Digest32, bit: usize) -> Digest32 {
    d[bit / 8] ^= 1 << (bit % 8);
    d
}

/// Every structural tamper of a proof: each node bit-flipped (at `bit(j)`) or
/// replaced, neighbours swapped, truncated at either end, extended at either end.
fn tampered(
    proof: &[Digest32],
    extra: &[Digest32],
    bit: impl Fn(usize) -> usize,
) -> Vec<Vec<Digest32>> {
    let mut out = Vec::new();
    for j in 0..proof.len() {
        let mut p = proof.to_vec();
        p[j] = flip(p[j], bit(j));
        out.push(p);
        for e in extra {
            let mut p = proof.to_vec();
            if p[j] != *e {
                p[j] = *e;
                out.push(p);
            }
        }
        if j + 1 < proof.len() && proof[j] != proof[j + 1] {
            let mut p = proof.to_vec();
            p.swap(j, j + 1);
            out.push(p);
        }
    }
    if !proof.is_empty() {
        out.push(proof[1..].to_vec());
        out.push(proof[..proof.len() - 1].to_vec());
    }
    for e in extra {
        out.push([proof, &[*e]].concat());
        out.push([&[*e], proof].concat());
    }
    out
}

const MAX_N: u64 = 70;

#[test]
fn exhaustive_inclusion_proofs_verify_and_resist_tampering() {
    let store = Store::new((0..MAX_N).map(|i| leaf_hash(&i.to_le_bytes())).collect());
    let junk = leaf_hash(b"junk");
    for size in 1..=MAX_N {
        let root = store.root(size);
        assert_eq!(root_at(size, store.get()).unwrap(), root);
        for index in 0..size {
            let leaf = store.leaves[index as usize];
            let proof = store.inclusion(index, size);
            verify_inclusion(index, size, &leaf, &proof, &root)
                .unwrap_or_else(|e| panic!("({index}, {size}): {e}"));

            let reject =
                |i: u64, n: u64, l: &Digest32, p: &[Digest32], r: &Digest32, what: &str| {
                    assert!(
                        verify_inclusion(i, n, l, p, r).is_err(),
                        "({index}, {size}) accepted with {what}"
                    );
                };
            for (k, p) in tampered(&proof, &[junk, root, leaf], |j| {
                (index as usize * 7 + j * 13) % 256
            })
            .iter()
            .enumerate()
            {
                reject(index, size, &leaf, p, &root, &format!("tamper #{k}"));
            }
            reject(
                index,
                size,
                &flip(leaf, index as usize % 256),
                &proof,
                &root,
                "flipped leaf",
            );
            reject(
                index,
                size,
                &leaf,
                &proof,
                &flip(root, size as usize % 256),
                "flipped root",
            );
            reject(index, size, &leaf, &proof, &EMPTY_ROOT, "empty root");
            // Another position, with that position's real leaf.
            for other in (0..size).filter(|&o| o != index) {
                reject(
                    other,
                    size,
                    &store.leaves[other as usize],
                    &proof,
                    &root,
                    "other index",
                );
                reject(other, size, &leaf, &proof, &root, "moved leaf");
            }
            // Another size, against that size's real root.
            for other in [size - 1, size + 1, size * 2, size / 2] {
                if other != size && (1..=MAX_N).contains(&other) {
                    reject(
                        index,
                        other,
                        &leaf,
                        &proof,
                        &store.root(other),
                        "other size",
                    );
                }
            }
        }
    }
}

#[test]
fn exhaustive_consistency_proofs_verify_and_resist_tampering() {
    let store = Store::new((0..MAX_N).map(|i| leaf_hash(&i.to_le_bytes())).collect());
    let junk = leaf_hash(b"junk");
    for new in 0..=MAX_N {
        let r2 = store.root(new);
        for old in 0..=new {
            let r1 = store.root(old);
            let proof = store.consistency(old, new);
            verify_consistency(old, new, &r1, &r2, &proof)
                .unwrap_or_else(|e| panic!("({old}, {new}): {e}"));

            let reject =
                |m: u64, n: u64, a: &Digest32, b: &Digest32, p: &[Digest32], what: &str| {
                    assert!(
                        verify_consistency(m, n, a, b, p).is_err(),
                        "({old}, {new}) accepted with {what}"
                    );
                };
            for (k, p) in tampered(&proof, &[junk, r1, r2], |j| {
                (old as usize * 5 + new as usize * 3 + j * 11) % 256
            })
            .iter()
            .enumerate()
            {
                reject(old, new, &r1, &r2, p, &format!("tamper #{k}"));
            }
            if old != new {
                reject(old, new, &r2, &r1, &proof, "swapped roots");
                reject(
                    old,
                    new,
                    &flip(r1, old as usize % 256),
                    &r2,
                    &proof,
                    "flipped old root",
                );
            }
            if old > 0 {
                // (The empty tree is consistent with every tree.)
                reject(
                    old,
                    new,
                    &r1,
                    &flip(r2, new as usize % 256),
                    &proof,
                    "flipped new root",
                );
            }
            if old > 0 && old != new {
                reject(old, new, &r1, &r2, &[], "empty proof");
            }
            // Other sizes, against those sizes' real roots.
            for m in [old.wrapping_sub(1), old + 1, old ^ 2] {
                if m != old && m <= new && m > 0 {
                    if store.consistency(m, new) != proof {
                        reject(m, new, &store.root(m), &r2, &proof, "other old size");
                    }
                    reject(m, new, &r1, &r2, &proof, "other old size, same root");
                }
            }
            for n in [new.wrapping_sub(1), new + 1, new * 2, new / 2] {
                if n != new && n >= old && n <= MAX_N && old > 0 {
                    reject(old, n, &r1, &store.root(n), &proof, "other new size");
                }
            }
        }
    }
}

#[test]
fn every_single_bit_flip_is_rejected_in_small_trees() {
    let store = Store::new((0..17u64).map(|i| leaf_hash(&i.to_be_bytes())).collect());
    for size in 1..=17 {
        let root = store.root(size);
        for index in 0..size {
            let proof = store.inclusion(index, size);
            let leaf = store.leaves[index as usize];
            for j in 0..proof.len() {
                for bit in 0..256 {
                    let mut p = proof.clone();
                    p[j] = flip(p[j], bit);
                    assert!(verify_inclusion(index, size, &leaf, &p, &root).is_err());
                }
            }
        }
        for old in 1..size {
            let proof = store.consistency(old, size);
            let r1 = store.root(old);
            for j in 0..proof.len() {
                for bit in 0..256 {
                    let mut p = proof.clone();
                    p[j] = flip(p[j], bit);
                    assert!(verify_consistency(old, size, &r1, &root, &p).is_err());
                }
            }
        }
    }
}

/// A virtual tree of `u64::MAX` identical leaves: every perfect node of a level
/// has the same hash, so any node is O(1) to produce and consistent with its
/// children; proofs of astronomically large trees can then be checked.
fn uniform_node(id: NodeId) -> Result<Digest32, MerkleError> {
    let mut d = leaf_hash(b"uniform");
    for _ in 0..id.level {
        d = node_hash(&d, &d);
    }
    Ok(d)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn inclusion_verification_never_panics(
        index in any::<u64>(),
        size in prop_oneof![any::<u64>(), 0u64..80],
        leaf in any::<[u8; 32]>(),
        root in any::<[u8; 32]>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..140),
    ) {
        let _ = verify_inclusion(index, size, &leaf, &proof, &root);
        let _ = verify_inclusion(index % size.max(1), size, &leaf, &proof, &root);
    }

    #[test]
    fn consistency_verification_never_panics(
        old in prop_oneof![any::<u64>(), 0u64..80],
        new in prop_oneof![any::<u64>(), 0u64..80],
        r1 in any::<[u8; 32]>(),
        r2 in any::<[u8; 32]>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..140),
    ) {
        let _ = verify_consistency(old, new, &r1, &r2, &proof);
        let _ = verify_consistency(old.min(new), old.max(new), &r1, &r2, &proof);
        let _ = verify_consistency(old.min(new), old.max(new), &EMPTY_ROOT, &r2, &proof);
    }

    #[test]
    fn huge_trees_prove_and_verify(a in any::<u64>(), b in any::<u64>()) {
        let (index, size) = (a.min(b), a.max(b).max(1));
        let index = index.min(size - 1);
        let leaf = uniform_node(NodeId::new(0, index)).unwrap();
        let root = root_at(size, uniform_node).unwrap();
        let proof = inclusion_proof(index, size, uniform_node).unwrap();
        prop_assert!(proof.len() <= 64);
        prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));

        let (old, new) = (a.min(b), a.max(b));
        let proof = consistency_proof(old, new, uniform_node).unwrap();
        let r1 = root_at(old, uniform_node).unwrap();
        let r2 = root_at(new, uniform_node).unwrap();
        prop_assert!(proof.len() <= 128);
        prop_assert_eq!(verify_consistency(old, new, &r1, &r2, &proof), Ok(()));
    }
}
