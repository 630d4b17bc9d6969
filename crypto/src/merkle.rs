//! The board's Merkle tree: RFC 6962 / RFC 9162 hashing, proofs and a compact
//! frontier for appending.
//!
//! The hashes here are deliberately **not** domain-separated with `urne/v1/`
//! labels (unlike every other hash in urne, see [`crate::hash`]): they must be
//! bit-for-bit those of RFC 6962 §2.1 / RFC 9162 §2.1 so that existing
//! transparency-log tooling (checkpoint witnesses, monitors, `tlog` clients)
//! can check the board. RFC 6962's own `0x00` / `0x01` prefixes separate leaves
//! from interior nodes.
//!
//! # Stored nodes
//!
//! A server never rehashes the log. As it appends, it stores the hash of every
//! *perfect* subtree, addressed by [`NodeId`] `(level, index)`: the subtree of
//! `2^level` leaves starting at leaf `index·2^level` (level 0 holds the leaf
//! hashes). [`Frontier::append`] returns exactly the nodes completed by each
//! leaf. Every subtree hash a proof or a past root needs is either such a
//! perfect node or, on the right edge of a tree whose size is not a power of
//! two, an *ephemeral* node folded on the fly from O(log n) perfect ones
//! ([`inclusion_proof`], [`consistency_proof`], [`root_at`]).

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::hash::Digest32;

/// `SHA-256("")`, the root of the empty tree (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Digest32 = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Longest inclusion proof for any tree of at most `u64::MAX` leaves.
const MAX_INCLUSION_PROOF_LEN: usize = 64;
/// Longest consistency proof for any pair of tree sizes of at most `u64::MAX` leaves.
const MAX_CONSISTENCY_PROOF_LEN: usize = 128;

/// Errors of Merkle proof generation and verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// A leaf index is not smaller than the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} exceeds new tree size {new}")]
    SizesOutOfOrder {
        /// The old (first) tree size.
        old: u64,
        /// The new (second) tree size.
        new: u64,
    },
    /// A proof has a different number of hashes than the tree sizes imply.
    #[error("proof has {got} hashes, {expected} expected")]
    WrongProofLength {
        /// Hashes the sizes call for.
        expected: usize,
        /// Hashes received.
        got: usize,
    },
    /// A proof is well formed but does not lead to the claimed root(s).
    #[error("proof does not match the root")]
    RootMismatch,
    /// A tree of size 0 was claimed with a root other than `SHA-256("")`.
    #[error("empty tree with a root other than SHA-256(\"\")")]
    NotEmptyRoot,
    /// A proof hash is not 64 lowercase hexadecimal digits.
    #[error("malformed hash encoding")]
    MalformedHash,
    /// The node store does not hold a node a proof needs.
    #[error("node {0:?} is not stored")]
    MissingNode(NodeId),
    /// The tree already holds `u64::MAX` leaves.
    #[error("tree is full")]
    TreeFull,
}

/// A perfect subtree: the `2^level` leaves starting at leaf `index · 2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf hash).
    pub level: u8,
    /// Position among the nodes of the same level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// RFC 6962 leaf hash: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Digest32 {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(entry)
        .finalize()
        .into()
}

/// RFC 6962 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Digest32, right: &Digest32) -> Digest32 {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// `MTH(D[n])` of RFC 9162 §2.1.1 over the given leaf hashes, by its recursive
/// definition. The reference for tests and small trees; a log uses
/// [`Frontier`] or [`root_at`].
pub fn root(leaf_hashes: &[Digest32]) -> Digest32 {
    match leaf_hashes.len() {
        0 => EMPTY_ROOT,
        1 => leaf_hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&root(&leaf_hashes[..k]), &root(&leaf_hashes[k..]))
        }
    }
}

/// Largest power of two strictly smaller than `n` (`n ≥ 2`).
fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Parses one hash as it travels in JSON: exactly 64 lowercase hex digits.
pub fn decode_hash_hex(s: &str) -> Result<Digest32, MerkleError> {
    let mut out = [0u8; 32];
    if s.len() != 64 || s.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(MerkleError::MalformedHash);
    }
    hex::decode_to_slice(s, &mut out).map_err(|_| MerkleError::MalformedHash)?;
    Ok(out)
}

/// Encodes one hash for JSON: 64 lowercase hex digits.
pub fn encode_hash_hex(h: &Digest32) -> String {
    hex::encode(h)
}

// ---------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

/// Root reached by an inclusion proof (RFC 9162 §2.1.3.2, steps 1–5) for the
/// leaf hash `leaf` at `index` in a tree of `size` leaves.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Digest32,
    proof: &[Digest32],
) -> Result<Digest32, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(MerkleError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(MerkleError::RootMismatch);
    }
    Ok(r)
}

/// Verifies that `leaf` (a leaf hash) is at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Digest32,
    proof: &[Digest32],
    root: &Digest32,
) -> Result<(), MerkleError> {
    if root_from_inclusion_proof(index, size, leaf, proof)? == *root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Beyond the RFC (which only defines `0 < old_size < new_size`): equal sizes
/// need an empty proof and equal roots; `old_size = 0` needs an empty proof
/// and `old_root = SHA-256("")`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest32,
    new_root: &Digest32,
    proof: &[Digest32],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if old_size == 0 {
        return if *old_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(MerkleError::NotEmptyRoot)
        };
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch)
        };
    }

    // Step 2: a power-of-two old tree is itself a node of the new tree, so its
    // root opens the path.
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() {
        old_root
    } else {
        match path.next() {
            Some(h) => h,
            None => return Err(MerkleError::RootMismatch),
        }
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in path {
        if sn == 0 {
            return Err(MerkleError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

// ---------------------------------------------------------------------------
// Generation from stored perfect subtrees

/// The subtrees `[start, end)` whose hashes make up `PATH(index, D[size])`
/// (RFC 9162 §2.1.3.1), from the leaf up.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// The subtrees making up `PROOF(old, D[new])` (RFC 9162 §2.1.4.1), in proof
/// order; empty when `old = 0` or `old = new`.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if old == 0 || old >= new {
        return out;
    }
    let (mut lo, mut hi) = (0u64, new);
    let mut whole = true; // SUBPROOF's flag b
    loop {
        if old == hi {
            if !whole {
                out.push((lo, hi));
            }
            break;
        }
        let k = largest_power_of_two_below(hi - lo);
        if old - lo <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            whole = false;
        }
    }
    out.reverse();
    out
}

fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let len = inclusion_ranges(index, size).len();
    debug_assert!(len <= MAX_INCLUSION_PROOF_LEN);
    len
}

fn consistency_proof_len(old: u64, new: u64) -> usize {
    let len = consistency_ranges(old, new).len();
    debug_assert!(len <= MAX_CONSISTENCY_PROOF_LEN);
    len
}

/// `MTH(D[start:end])` from stored perfect subtrees. `start` is a multiple of
/// the smallest power of two `≥ end − start` (true of every subtree the RFC
/// recursion visits), so the range splits into aligned perfect subtrees of
/// decreasing size, folded from the right.
fn range_hash<E>(
    start: u64,
    end: u64,
    get: &mut impl FnMut(NodeId) -> Result<Digest32, E>,
) -> Result<Digest32, E> {
    if start == end {
        return Ok(EMPTY_ROOT);
    }
    let mut parts = Vec::with_capacity(64);
    let (mut pos, mut rem) = (start, end - start);
    while rem > 0 {
        let level = 63 - rem.leading_zeros() as u8;
        parts.push(get(NodeId::new(level, pos >> level))?);
        pos += 1 << level;
        rem -= 1 << level;
    }
    let mut acc = parts.pop().unwrap_or(EMPTY_ROOT);
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// Inclusion proof for leaf `index` in the tree of `size` leaves, assembled
/// from the stored perfect subtrees that `get` returns.
pub fn inclusion_proof<E: From<MerkleError>>(
    index: u64,
    size: u64,
    mut get: impl FnMut(NodeId) -> Result<Digest32, E>,
) -> Result<Vec<Digest32>, E> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size }.into());
    }
    inclusion_ranges(index, size)
        .into_iter()
        .map(|(a, b)| range_hash(a, b, &mut get))
        .collect()
}

/// Consistency proof from the tree of `old_size` leaves to that of `new_size`
/// leaves (empty when `old_size` is 0 or equals `new_size`).
pub fn consistency_proof<E: From<MerkleError>>(
    old_size: u64,
    new_size: u64,
    mut get: impl FnMut(NodeId) -> Result<Digest32, E>,
) -> Result<Vec<Digest32>, E> {
    if old_size > new_size {
        return Err(MerkleError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        }
        .into());
    }
    consistency_ranges(old_size, new_size)
        .into_iter()
        .map(|(a, b)| range_hash(a, b, &mut get))
        .collect()
}

/// Root of the tree of the first `size` leaves, from stored perfect subtrees
/// (at most 64 lookups).
pub fn root_at<E>(
    size: u64,
    mut get: impl FnMut(NodeId) -> Result<Digest32, E>,
) -> Result<Digest32, E> {
    range_hash(0, size, &mut get)
}

// ---------------------------------------------------------------------------
// Appending

/// The right edge of a growing tree: one perfect subtree per set bit of the
/// size, largest (leftmost) first. Enough to append and to compute the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, Digest32)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier of a tree of `size` leaves from stored nodes.
    pub fn restore<E>(
        size: u64,
        mut get: impl FnMut(NodeId) -> Result<Digest32, E>,
    ) -> Result<Self, E> {
        let mut nodes = Vec::with_capacity(size.count_ones() as usize);
        let mut pos = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                let id = NodeId::new(level, pos >> level);
                nodes.push((id, get(id)?));
                pos += 1 << level;
            }
        }
        Ok(Self { size, nodes })
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees of the right edge, largest first.
    pub fn nodes(&self) -> &[(NodeId, Digest32)] {
        &self.nodes
    }

    /// Appends a leaf hash; returns every node it completes (the leaf itself at
    /// level 0, then each new parent), which the store must persist.
    pub fn append(&mut self, leaf: Digest32) -> Result<Vec<(NodeId, Digest32)>, MerkleError> {
        let index = self.size;
        self.size = self.size.checked_add(1).ok_or(MerkleError::TreeFull)?;
        let mut created = vec![(NodeId::new(0, index), leaf)];
        let (mut id, mut hash) = (NodeId::new(0, index), leaf);
        while id.index & 1 == 1 {
            // The last node is our left sibling exactly when our index is odd.
            let Some((_, left)) = self.nodes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            id = NodeId::new(id.level + 1, id.index >> 1);
            created.push((id, hash));
        }
        self.nodes.push((id, hash));
        Ok(created)
    }

    /// Root of the tree appended so far.
    pub fn root(&self) -> Digest32 {
        let mut it = self.nodes.iter().rev();
        let Some((_, last)) = it.next() else {
            return EMPTY_ROOT;
        };
        it.fold(*last, |acc, (_, left)| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn leaves(n: u64) -> Vec<Digest32> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(root(&[]), EMPTY_ROOT);
    }

    #[test]
    fn largest_power_of_two() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (u64::MAX, 1 << 63),
        ] {
            assert_eq!(largest_power_of_two_below(n), k, "n={n}");
        }
    }

    #[test]
    fn frontier_matches_reference_root_and_restores() {
        let mut store = HashMap::new();
        let mut f = Frontier::new();
        let hs = leaves(70);
        for (i, h) in hs.iter().enumerate() {
            for (id, d) in f.append(*h).unwrap() {
                assert!(store.insert(id, d).is_none(), "{id:?} produced twice");
            }
            let n = i as u64 + 1;
            assert_eq!(f.root(), root(&hs[..=i]));
            assert_eq!(f.nodes().len(), n.count_ones() as usize);
            let get = |id| store.get(&id).copied().ok_or(MerkleError::MissingNode(id));
            assert_eq!(Frontier::restore(n, get).unwrap(), f);
        }
        // Every perfect subtree of 70 leaves, and nothing else, was stored.
        let perfect: usize = (0..7).map(|l| 70usize >> l).sum();
        assert_eq!(store.len(), perfect);
    }

    #[test]
    fn full_tree_refuses_to_grow() {
        let mut f = Frontier::restore(u64::MAX, |_| Ok::<_, MerkleError>([7u8; 32])).unwrap();
        assert_eq!(f.nodes().len(), 64);
        assert_eq!(f.append([0u8; 32]), Err(MerkleError::TreeFull));
    }

    #[test]
    fn proof_lengths_at_extreme_sizes() {
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert!(consistency_proof_len(u64::MAX - 1, u64::MAX) <= MAX_CONSISTENCY_PROOF_LEN);
        assert!(consistency_proof_len(1, u64::MAX) <= MAX_CONSISTENCY_PROOF_LEN);
    }

    #[test]
    fn hash_hex_is_canonical() {
        let h = leaf_hash(b"x");
        assert_eq!(decode_hash_hex(&encode_hash_hex(&h)), Ok(h));
        assert!(decode_hash_hex(&encode_hash_hex(&h).to_uppercase()).is_err());
        assert!(decode_hash_hex(&encode_hash_hex(&h)[..62]).is_err());
        assert!(decode_hash_hex(&(encode_hash_hex(&h) + "00")).is_err());
        assert!(decode_hash_hex(&("zz".to_owned() + &encode_hash_hex(&h)[2..])).is_err());
    }
}
