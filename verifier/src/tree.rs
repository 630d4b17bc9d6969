//! The board's Merkle tree as the verifier rebuilds it from the entries: every
//! perfect subtree is kept (two hashes per entry), so the root at any earlier
//! size, which an intermediate checkpoint or an attestation claims, costs at
//! most 64 lookups.

use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{self, Frontier, MerkleError};

/// The tree of the entries read so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    /// `levels[l][i]`: the perfect subtree of `2^l` leaves starting at leaf `i·2^l`.
    levels: Vec<Vec<Digest32>>,
    frontier: Frontier,
}

impl Tree {
    /// Rebuilds the tree of the given leaf hashes.
    pub(crate) fn from_leaves(leaves: &[Digest32]) -> Result<Self, MerkleError> {
        let mut t = Tree::default();
        for l in leaves {
            t.push(*l)?;
        }
        Ok(t)
    }

    /// Appends a leaf hash.
    pub(crate) fn push(&mut self, leaf: Digest32) -> Result<(), MerkleError> {
        for (id, hash) in self.frontier.append(leaf)? {
            let level = id.level as usize;
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            // `append` completes the nodes of each level left to right.
            self.levels[level].push(hash);
        }
        Ok(())
    }

    /// Number of leaves.
    pub(crate) fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The leaf hashes.
    pub(crate) fn leaves(&self) -> &[Digest32] {
        self.levels.first().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Root of the whole tree.
    pub(crate) fn root(&self) -> Digest32 {
        self.frontier.root()
    }

    /// Root of the first `size` leaves, if `size` does not exceed the tree.
    pub(crate) fn root_at(&self, size: u64) -> Option<Digest32> {
        if size > self.size() {
            return None;
        }
        if size == self.size() {
            return Some(self.root());
        }
        merkle::root_at(size, |id| {
            self.levels
                .get(id.level as usize)
                .and_then(|l| l.get(usize::try_from(id.index).ok()?))
                .copied()
                .ok_or(MerkleError::MissingNode(id))
        })
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use urne_crypto::merkle::{leaf_hash, root};

    #[test]
    fn roots_at_every_size_match_the_reference() {
        let leaves: Vec<Digest32> = (0u32..77).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let t = Tree::from_leaves(&leaves).expect("tree");
        assert_eq!(t.size(), 77);
        for n in 0..=77 {
            assert_eq!(t.root_at(n), Some(root(&leaves[..n as usize])), "size {n}");
        }
        assert_eq!(t.root_at(78), None);
        assert_eq!(t.leaves(), &leaves[..]);
    }
}
