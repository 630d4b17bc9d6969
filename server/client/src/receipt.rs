//! Receipts: where an entry sits on the board, checked against a signed
//! checkpoint under the pinned board key.
//!
//! Everything here is pure: the HTTP client fetches, these functions decide.

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Serialize};
use urne_crypto::checkpoint::{self, election_origin, Checkpoint, NoteVerifier};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, Entry, EntryKind};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle;

use crate::error::ClientError;

/// A receipt as the server sends it (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptJson {
    /// Leaf index of the entry.
    pub index: u64,
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Signed checkpoint note.
    pub checkpoint: String,
    /// Inclusion proof, hex hashes (the client fetches it when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<Vec<String>>,
}

/// A receipt the client has checked: the entry's leaf is included in the
/// tree of a checkpoint signed by the pinned board key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Leaf index of the entry.
    pub index: u64,
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Merkle root at `size`, hex.
    pub root: String,
    /// Leaf hash of the entry, hex.
    pub leaf: String,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The inclusion proof, hex hashes.
    pub inclusion: Vec<String>,
}

impl Receipt {
    /// The leaf hash.
    pub fn leaf_hash(&self) -> Result<Digest32, ClientError> {
        merkle::decode_hash_hex(&self.leaf).map_err(ClientError::decode)
    }

    /// The root at `size`.
    pub fn root_hash(&self) -> Result<Digest32, ClientError> {
        merkle::decode_hash_hex(&self.root).map_err(ClientError::decode)
    }

    /// Checks a kept receipt on its own, without its entry: the checkpoint
    /// is signed by `verifier` and has the receipt's size and root, and the
    /// inclusion proof puts the leaf at `index` under that root. Whether the
    /// board still extends the checkpoint is another check (a re-check, or
    /// a verification given the checkpoint).
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<Checkpoint, ClientError> {
        let cp = receipt_checkpoint(&self.checkpoint, self.size, verifier)?;
        if cp.root != self.root_hash()? {
            return Err(ClientError::proof(
                "the receipt's root is not its checkpoint's",
            ));
        }
        check_inclusion(
            self.index,
            self.size,
            &self.leaf_hash()?,
            &self.inclusion,
            &cp.root,
        )?;
        Ok(cp)
    }
}

/// The note verifier for an election's checkpoints under the board's Ed25519
/// public key: key name `urne/<hex election id>` (the checkpoint origin).
pub fn election_verifier(
    board_key: &[u8; 32],
    election: &[u8; 32],
) -> Result<NoteVerifier, ClientError> {
    let name = election_origin(election);
    let mut raw = [0u8; 33];
    raw[0] = checkpoint::ED25519_SIGNATURE_TYPE;
    raw[1..].copy_from_slice(board_key);
    let id = checkpoint::key_id(&name, board_key);
    let vkey = format!("{name}+{}+{}", hex::encode(id), Base64::encode_string(&raw));
    NoteVerifier::from_vkey_string(&vkey).map_err(|e| ClientError::proof(format!("board key: {e}")))
}

/// The Ed25519 public key inside a note verifier key string
/// `<name>+<hex8 id>+<base64(0x01 ‖ key)>`, checked by the crypto crate first.
pub fn public_key_of_vkey(vkey: &str) -> Result<[u8; 32], ClientError> {
    let vkey = vkey.trim();
    NoteVerifier::from_vkey_string(vkey)
        .map_err(|e| ClientError::decode(format!("board key: {e}")))?;
    let b64 = vkey
        .splitn(3, '+')
        .nth(2)
        .ok_or_else(|| ClientError::decode("board key string"))?;
    let raw = Base64::decode_vec(b64).map_err(|_| ClientError::decode("board key base64"))?;
    raw.get(1..33)
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ClientError::decode("board key length"))
}

/// Opens a signed checkpoint note under `verifier`.
pub fn open_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, ClientError> {
    checkpoint::open_signed_checkpoint(note.as_bytes(), verifier)
        .map_err(|e| ClientError::proof(format!("checkpoint: {e}")))
}

/// Decodes a list of hex hashes.
pub fn decode_hashes(hashes: &[String]) -> Result<Vec<Digest32>, ClientError> {
    hashes
        .iter()
        .map(|h| merkle::decode_hash_hex(h).map_err(ClientError::decode))
        .collect()
}

/// Opens a receipt's checkpoint `note` under `verifier` and checks that
/// it has the receipt's `size`.
fn receipt_checkpoint(
    note: &str,
    size: u64,
    verifier: &NoteVerifier,
) -> Result<Checkpoint, ClientError> {
    let cp = open_checkpoint(note, verifier)?;
    if cp.size != size {
        return Err(ClientError::proof(format!(
            "receipt claims size {size} but its checkpoint has size {}",
            cp.size
        )));
    }
    Ok(cp)
}

/// Checks that `proof` puts `leaf` at `index` in the tree of `size` entries with `root`.
fn check_inclusion(
    index: u64,
    size: u64,
    leaf: &Digest32,
    proof: &[String],
    root: &Digest32,
) -> Result<(), ClientError> {
    merkle::verify_inclusion(index, size, leaf, &decode_hashes(proof)?, root)
        .map_err(|e| ClientError::proof(format!("inclusion of entry {index}: {e}")))
}

/// Checks a receipt for `entry` (its canonical bytes): the checkpoint is
/// signed by `verifier`, covers the receipt's size, and `proof` puts the
/// entry's leaf at `index` under its root.
pub fn check_receipt(
    entry: &[u8],
    receipt: &ReceiptJson,
    proof: &[String],
    verifier: &NoteVerifier,
) -> Result<Receipt, ClientError> {
    let cp = receipt_checkpoint(&receipt.checkpoint, receipt.size, verifier)?;
    let leaf = merkle::leaf_hash(entry);
    check_inclusion(receipt.index, receipt.size, &leaf, proof, &cp.root)?;
    Ok(Receipt {
        index: receipt.index,
        size: receipt.size,
        root: merkle::encode_hash_hex(&cp.root),
        leaf: merkle::encode_hash_hex(&leaf),
        checkpoint: receipt.checkpoint.clone(),
        inclusion: proof.to_vec(),
    })
}

/// What a later check of a stored receipt established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptCheck {
    /// Size of the fresh checkpoint.
    pub size: u64,
    /// Root of the fresh checkpoint.
    pub root: Digest32,
}

/// Re-checks a stored receipt against a fresh checkpoint: the entry is still
/// included (`inclusion` in the fresh tree) and the fresh tree extends the
/// receipt's (`consistency` from the receipt's size), so the board did not
/// fork or rewrite history since the receipt was issued.
pub fn recheck_receipt(
    receipt: &Receipt,
    fresh: &Checkpoint,
    inclusion: &[String],
    consistency: &[String],
) -> Result<ReceiptCheck, ClientError> {
    let leaf = receipt.leaf_hash()?;
    let old_root = receipt.root_hash()?;
    if fresh.size < receipt.size {
        return Err(ClientError::proof(format!(
            "the board shrank: receipt at size {}, checkpoint at size {}",
            receipt.size, fresh.size
        )));
    }
    merkle::verify_inclusion(
        receipt.index,
        fresh.size,
        &leaf,
        &decode_hashes(inclusion)?,
        &fresh.root,
    )
    .map_err(|e| ClientError::proof(format!("inclusion in the fresh checkpoint: {e}")))?;
    merkle::verify_consistency(
        receipt.size,
        fresh.size,
        &old_root,
        &fresh.root,
        &decode_hashes(consistency)?,
    )
    .map_err(|e| ClientError::proof(format!("consistency with the receipt's checkpoint: {e}")))?;
    Ok(ReceiptCheck {
        size: fresh.size,
        root: fresh.root,
    })
}

/// Whether the ballot of a receipt still counts, by a read of the whole board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BallotStanding {
    /// No later ballot carries the same ballot key: this one counts.
    Counted,
    /// A later ballot with the same ballot key replaced it.
    Replaced {
        /// Board index of the replacing ballot.
        by: u64,
    },
}

/// Re-checks a ballot receipt by reading every entry of the board from 0 to
/// a fresh checkpoint's size, so that the service does not learn which entry
/// is the voter's (no inclusion or consistency proof for one index is asked
/// for). Feed it every entry in order with [`BoardScan::push`], then
/// [`BoardScan::finish`] checks the recomputed roots and says whether a later
/// ballot with the same key replaced the voter's.
pub struct BoardScan<'a> {
    receipt: &'a Receipt,
    constituency: &'a str,
    ballot_key: [u8; 32],
    frontier: merkle::Frontier,
    receipt_root: Option<Digest32>,
    receipt_leaf: Option<Digest32>,
    replaced_by: Option<u64>,
}

impl<'a> BoardScan<'a> {
    /// Starts a scan for the ballot of `receipt`, cast in `constituency` under `ballot_key`.
    pub fn new(receipt: &'a Receipt, constituency: &'a str, ballot_key: [u8; 32]) -> Self {
        BoardScan {
            receipt,
            constituency,
            ballot_key,
            frontier: merkle::Frontier::new(),
            receipt_root: None,
            receipt_leaf: None,
            replaced_by: None,
        }
    }

    /// Number of entries read so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Reads the next entry (canonical bytes).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let index = self.frontier.size();
        let leaf = merkle::leaf_hash(bytes);
        self.frontier
            .append(leaf)
            .map_err(|e| ClientError::decode(format!("board entry {index}: {e}")))?;
        if index == self.receipt.index {
            self.receipt_leaf = Some(leaf);
        }
        if self.frontier.size() == self.receipt.size {
            self.receipt_root = Some(self.frontier.root());
        }
        if index > self.receipt.index && self.replaced_by.is_none() {
            let entry = Entry::from_bytes(bytes)
                .map_err(|e| ClientError::decode(format!("board entry {index}: {e}")))?;
            if entry.kind == EntryKind::Ballot as u8 {
                let ballot: Ballot = entry
                    .body()
                    .map_err(|e| ClientError::decode(format!("board entry {index}: {e}")))?;
                if ballot.body.ballot_key.as_bytes() == &self.ballot_key
                    && ballot.body.constituency == self.constituency
                {
                    self.replaced_by = Some(index);
                }
            }
        }
        Ok(())
    }

    /// Checks what was read against `fresh`: all of it hashes to the fresh
    /// root, its first `receipt.size` entries to the receipt's root, and the
    /// receipt's entry is at its index; then says whether the ballot counts.
    pub fn finish(self, fresh: &Checkpoint) -> Result<(ReceiptCheck, BallotStanding), ClientError> {
        if fresh.size < self.receipt.size {
            return Err(ClientError::proof(format!(
                "the board shrank: receipt at size {}, checkpoint at size {}",
                self.receipt.size, fresh.size
            )));
        }
        if self.frontier.size() != fresh.size || self.frontier.root() != fresh.root {
            return Err(ClientError::proof(
                "the board's entries do not hash to its fresh checkpoint",
            ));
        }
        if self.receipt_root != Some(self.receipt.root_hash()?) {
            return Err(ClientError::proof(
                "the board no longer extends the receipt's checkpoint (history was rewritten)",
            ));
        }
        if self.receipt_leaf != Some(self.receipt.leaf_hash()?) {
            return Err(ClientError::proof(format!(
                "board entry {} is no longer your ballot",
                self.receipt.index
            )));
        }
        let standing = match self.replaced_by {
            Some(by) => BallotStanding::Replaced { by },
            None => BallotStanding::Counted,
        };
        Ok((
            ReceiptCheck {
                size: fresh.size,
                root: fresh.root,
            },
            standing,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use urne_crypto::checkpoint::{sign_checkpoint, BoardKey};
    use urne_crypto::merkle::{leaf_hash, node_hash};

    const ELECTION: [u8; 32] = [7; 32];

    fn board() -> BoardKey {
        BoardKey::from_seed(&election_origin(&ELECTION), &[9; 32]).unwrap()
    }

    fn note(key: &BoardKey, size: u64, root: Digest32) -> String {
        sign_checkpoint(
            key,
            &Checkpoint::new(election_origin(&ELECTION), size, root),
        )
        .unwrap()
    }

    fn hexes(h: &[Digest32]) -> Vec<String> {
        h.iter().map(merkle::encode_hash_hex).collect()
    }

    #[test]
    fn receipts_verify_and_forgeries_do_not() {
        let key = board();
        let verifier = election_verifier(&key.public_key(), &ELECTION).unwrap();
        let entries: Vec<Vec<u8>> = (0u8..4).map(|i| vec![i; 10]).collect();
        let l: Vec<Digest32> = entries.iter().map(|e| leaf_hash(e)).collect();
        let root3 = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        let receipt = ReceiptJson {
            index: 2,
            size: 3,
            checkpoint: note(&key, 3, root3),
            inclusion: None,
        };
        let proof = hexes(&[node_hash(&l[0], &l[1])]);
        let ok = check_receipt(&entries[2], &receipt, &proof, &verifier).unwrap();
        assert_eq!(ok.root, merkle::encode_hash_hex(&root3));

        // The kept receipt checks on its own; any field changed does not.
        assert_eq!(ok.verify(&verifier).unwrap().root, root3);
        let kept = |f: &dyn Fn(&mut Receipt)| {
            let mut r = ok.clone();
            f(&mut r);
            r.verify(&verifier)
        };
        assert!(kept(&|r| r.leaf = merkle::encode_hash_hex(&l[1])).is_err());
        assert!(kept(&|r| r.index = 1).is_err());
        assert!(kept(&|r| r.size = 4).is_err());
        assert!(kept(&|r| r.root = merkle::encode_hash_hex(&l[0])).is_err());
        assert!(kept(&|r| r.inclusion = hexes(&[l[0]])).is_err());
        assert!(kept(&|r| r.leaf = "zz".into()).is_err());
        let other_key = BoardKey::from_seed(&election_origin(&ELECTION), &[8; 32]).unwrap();
        assert!(kept(&|r| r.checkpoint = note(&other_key, 3, root3)).is_err());

        // Another entry, another index, a wrong proof, a lying size, another key: all refused.
        assert!(check_receipt(&entries[1], &receipt, &proof, &verifier).is_err());
        let moved = ReceiptJson {
            index: 1,
            ..receipt.clone()
        };
        assert!(check_receipt(&entries[2], &moved, &proof, &verifier).is_err());
        assert!(check_receipt(&entries[2], &receipt, &hexes(&[l[0]]), &verifier).is_err());
        let lying = ReceiptJson {
            size: 4,
            ..receipt.clone()
        };
        assert!(check_receipt(&entries[2], &lying, &proof, &verifier).is_err());
        let other = BoardKey::from_seed(&election_origin(&ELECTION), &[8; 32]).unwrap();
        let forged = ReceiptJson {
            checkpoint: note(&other, 3, root3),
            ..receipt.clone()
        };
        assert!(check_receipt(&entries[2], &forged, &proof, &verifier).is_err());

        // Later: the board grew to 4; inclusion and consistency hold.
        let root4 = node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &l[3]));
        let fresh = Checkpoint::new(election_origin(&ELECTION), 4, root4);
        let inclusion = hexes(&[l[3], node_hash(&l[0], &l[1])]);
        let consistency = hexes(&[l[2], l[3], node_hash(&l[0], &l[1])]);
        assert_eq!(
            recheck_receipt(&ok, &fresh, &inclusion, &consistency)
                .unwrap()
                .size,
            4
        );
        // A rewritten history (another entry 2) is detected.
        let l2 = leaf_hash(b"rewritten");
        let rewritten = Checkpoint::new(
            election_origin(&ELECTION),
            4,
            node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l2, &l[3])),
        );
        let forged_consistency = hexes(&[l2, l[3], node_hash(&l[0], &l[1])]);
        assert!(recheck_receipt(&ok, &rewritten, &inclusion, &forged_consistency).is_err());
    }

    #[test]
    fn the_public_key_round_trips_through_a_verifier_key_string() {
        let key = board();
        let verifier = election_verifier(&key.public_key(), &ELECTION).unwrap();
        assert_eq!(
            public_key_of_vkey(&verifier.to_vkey_string()).unwrap(),
            key.public_key()
        );
        assert!(public_key_of_vkey("urne+00000000+AAAA").is_err());
    }
}
