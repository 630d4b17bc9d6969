//! Witness formats: cosignature/v1 lines, witness keys, `add-checkpoint`
//! bodies and the witness's rule; generates and checks `specs/vectors/witness.json`,
//! and cross-checks cosignatures with the independent `signed_note` crate.

mod common;

use base64ct::Encoding as _;
use serde_json::json;
use urne_crypto::checkpoint::{
    election_origin, open_signed_checkpoint, sign_checkpoint, BoardKey, Checkpoint,
};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{consistency_proof, leaf_hash, root, MerkleError, NodeId};
use urne_crypto::witness::{
    add_signature_lines, cosignature_lines, cosigned_message, cosigner_key_id, decide,
    parse_size_body, AddCheckpoint, Refusal, WitnessError, WitnessKey, WitnessVerifier,
    MAX_PROOF_LINES,
};

const ELECTION: [u8; 32] = [0x11; 32];

fn board() -> BoardKey {
    BoardKey::from_seed(&election_origin(&ELECTION), &[0x21; 32]).unwrap()
}

fn witness() -> WitnessKey {
    WitnessKey::from_seed("witness.example.org/w1", &[0x31; 32]).unwrap()
}

/// The leaves of a tree of `n` entries `[i]`.
fn leaves(n: u64) -> Vec<Digest32> {
    (0..n).map(|i| leaf_hash(&[i as u8])).collect()
}

/// The signed checkpoint of the first `n` leaves, and its root.
fn checkpoint(n: u64) -> (String, Digest32) {
    let r = root(&leaves(n));
    let cp = Checkpoint::new(election_origin(&ELECTION), n, r);
    (sign_checkpoint(&board(), &cp).unwrap(), r)
}

/// Consistency proof between the first `old` and `new` leaves, built from the leaves.
fn proof(old: u64, new: u64) -> Vec<Digest32> {
    let l = leaves(new);
    consistency_proof(old, new, |id: NodeId| -> Result<Digest32, MerkleError> {
        let width = 1u64 << id.level;
        let start = (id.index * width) as usize;
        Ok(root(&l[start..start + width as usize]))
    })
    .unwrap()
}

fn request(old: u64, new: u64) -> AddCheckpoint {
    AddCheckpoint {
        old_size: old,
        proof: if old == 0 { vec![] } else { proof(old, new) },
        checkpoint: checkpoint(new).0,
    }
}

#[test]
fn witness_vectors() {
    let w = witness();
    let v = w.verifier();
    let (note, _) = checkpoint(5);
    let body = open_signed_checkpoint(note.as_bytes(), &board().verifier())
        .unwrap()
        .to_body()
        .unwrap();
    let line = w.cosign(&body, 1_700_000_000).unwrap();
    let cosigned = add_signature_lines(&note, &line).unwrap();
    assert_eq!(v.cosignature(cosigned.as_bytes()), Ok(Some(1_700_000_000)));
    // A cosigned checkpoint still opens as the board's.
    assert!(open_signed_checkpoint(cosigned.as_bytes(), &board().verifier()).is_ok());
    let req = request(3, 5);
    common::check_vectors(
        "witness",
        &json!({
            "witness_name": w.name(),
            "witness_seed": hex::encode([0x31; 32]),
            "witness_public_key": hex::encode(v.public_key()),
            "witness_key_id": hex::encode(v.key_id()),
            "witness_vkey": v.to_vkey_string(),
            "timestamp": 1_700_000_000u64,
            "checkpoint_body": body,
            "cosigned_message": cosigned_message(1_700_000_000, &body),
            "cosignature_line": line,
            "cosigned_checkpoint": cosigned,
            "add_checkpoint_3_to_5": req.to_body(),
        }),
    );
    assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()), Ok(req));
}

#[test]
fn keys_round_trip_and_ids_follow_the_cosignature_rule() {
    let w = witness();
    let v = w.verifier();
    assert_eq!(WitnessKey::decode(&w.encode()).unwrap().verifier(), v);
    assert_eq!(
        WitnessVerifier::from_vkey_string(&v.to_vkey_string()),
        Ok(v.clone())
    );
    assert_eq!(v.key_id(), cosigner_key_id(v.name(), &v.public_key()));
    // The same key as a board (0x01) key has another id and is no witness key.
    let as_board = BoardKey::from_seed(v.name(), &[0x31; 32]).unwrap();
    assert_ne!(as_board.key_id(), v.key_id());
    assert_eq!(
        WitnessVerifier::from_vkey_string(&as_board.verifier().to_vkey_string()),
        Err(WitnessError::NotCosignatureKey)
    );
    assert!(WitnessKey::decode(&as_board.encode()).is_err());
    // A wrong key id is refused.
    let vk = v.to_vkey_string();
    let forged = vk.replacen(&hex::encode(v.key_id()), "00000000", 1);
    assert!(WitnessVerifier::from_vkey_string(&forged).is_err());
    // A small-order key is refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(WitnessVerifier::new("w", &identity).is_err());
}

#[test]
fn tampered_cosignatures_are_refused_and_others_ignored() {
    let w = witness();
    let v = w.verifier();
    let (note, _) = checkpoint(4);
    let cp = open_signed_checkpoint(note.as_bytes(), &board().verifier()).unwrap();
    let line = w.cosign(&cp.to_body().unwrap(), 1000).unwrap();
    let cosigned = add_signature_lines(&note, &line).unwrap();
    assert_eq!(v.cosignature(note.as_bytes()), Ok(None));
    assert_eq!(v.cosignature(cosigned.as_bytes()), Ok(Some(1000)));
    // A cosignature on another checkpoint, moved here.
    let (other, _) = checkpoint(3);
    let other_cp = open_signed_checkpoint(other.as_bytes(), &board().verifier()).unwrap();
    let moved = add_signature_lines(
        &note,
        &w.cosign(&other_cp.to_body().unwrap(), 1000).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        v.cosignature(moved.as_bytes()),
        Err(WitnessError::InvalidCosignature(_))
    ));
    // Every byte of the blob matters (timestamp and signature).
    let b64 = line.trim_end().rsplit(' ').next().unwrap();
    let mut blob = base64ct::Base64::decode_vec(b64).unwrap();
    for i in [4usize, 11, 12, 75] {
        blob[i] ^= 1;
        let tampered = format!(
            "— {} {}\n",
            v.name(),
            <base64ct::Base64 as base64ct::Encoding>::encode_string(&blob)
        );
        blob[i] ^= 1;
        let n = add_signature_lines(&note, &tampered).unwrap();
        assert!(v.cosignature(n.as_bytes()).is_err(), "byte {i}");
    }
    // A duplicate (same witness, another time) is refused; a stranger is ignored.
    let twice =
        add_signature_lines(&cosigned, &w.cosign(&cp.to_body().unwrap(), 1001).unwrap()).unwrap();
    assert!(matches!(
        v.cosignature(twice.as_bytes()),
        Err(WitnessError::DuplicateCosignature(_))
    ));
    let stranger = WitnessKey::from_seed("other.example/w", &[9; 32]).unwrap();
    let with_stranger = add_signature_lines(
        &cosigned,
        &stranger.cosign(&cp.to_body().unwrap(), 5).unwrap(),
    )
    .unwrap();
    assert_eq!(v.cosignature(with_stranger.as_bytes()), Ok(Some(1000)));
    assert_eq!(
        cosignature_lines(with_stranger.as_bytes(), board().name())
            .unwrap()
            .len(),
        2
    );
    // Adding a line already there changes nothing; a malformed line is refused.
    assert_eq!(add_signature_lines(&cosigned, &line).unwrap(), cosigned);
    assert!(add_signature_lines(&note, "— w AAAA\n").is_err());
    assert!(add_signature_lines(&note, "w xyz\n").is_err());
    assert!(add_signature_lines(&note, &line[..line.len() - 1]).is_err());
}

#[test]
fn add_checkpoint_bodies_are_parsed_strictly() {
    let good = request(2, 6).to_body();
    assert!(AddCheckpoint::parse(good.as_bytes()).is_ok());
    let proof_line = base64ct::Base64::encode_string(&[7u8; 32]);

    let (cp, _) = checkpoint(6);
    let too_many = format!(
        "old 2\n{}\n{cp}",
        format!("{proof_line}\n").repeat(MAX_PROOF_LINES + 1)
    );
    for bad in [
        good.replacen("old 2", "old 02", 1),
        good.replacen("old 2", "old +2", 1),
        good.replacen("old 2", "new 2", 1),
        good.replacen("old 2\n", "old 2\r\n", 1),
        format!("old 2\n{}\n\n{cp}", &proof_line[..40]),
        format!(
            "old 2\n{}\n\n{cp}",
            base64ct::Base64::encode_string(&[7u8; 31])
        ),
        "old 2\n\n".to_string(),
        "old 2\n".to_string(),
        too_many,
    ] {
        assert!(AddCheckpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    assert_eq!(parse_size_body(b"12\n"), Some(12));
    assert_eq!(parse_size_body(b"012\n"), None);
}

#[test]
fn the_witness_cosigns_growth_and_refuses_rollbacks_forks_bad_signatures_and_bad_proofs() {
    let key = board().verifier();
    // First checkpoint: old size 0, no proof.
    let first = decide(&request(0, 3), &key, None).unwrap();
    let last = Some((first.size, first.root));
    // Growth with a valid proof.
    let grown = decide(&request(3, 7), &key, last).unwrap();
    assert_eq!(grown.size, 7);
    let last = Some((7, grown.root));
    // The same checkpoint again is cosigned again.
    assert!(decide(&request(7, 7), &key, last).is_ok());
    // Rollback: a smaller checkpoint from the witness's size is a bad request...
    let back = AddCheckpoint {
        old_size: 7,
        proof: vec![],
        checkpoint: checkpoint(5).0,
    };
    assert_eq!(decide(&back, &key, last).unwrap_err().status(), 400);
    // ...and from its own size it is a wrong old size, reported with the witness's.
    assert_eq!(
        decide(&request(3, 5), &key, last),
        Err(Refusal::WrongOldSize(7))
    );
    // Fork: same size, another root.
    let forged_root = root(&[leaf_hash(b"other"); 7]);
    let fork = AddCheckpoint {
        old_size: 7,
        proof: vec![],
        checkpoint: sign_checkpoint(
            &board(),
            &Checkpoint::new(election_origin(&ELECTION), 7, forged_root),
        )
        .unwrap(),
    };
    assert_eq!(decide(&fork, &key, last), Err(Refusal::Fork(7)));
    // A bigger fork: the proof from the witness's root cannot verify.
    let mut bad_proof = request(7, 9);
    bad_proof.proof[0][0] ^= 1;
    assert_eq!(decide(&bad_proof, &key, last), Err(Refusal::BadProof));
    let mut short = request(7, 9);
    short.proof.pop();
    assert_eq!(decide(&short, &key, last), Err(Refusal::BadProof));
    // Another key's signature only.
    let stranger = BoardKey::from_seed(&election_origin(&ELECTION), &[0x99; 32]).unwrap();
    let mut unsigned = request(7, 9);
    unsigned.checkpoint = sign_checkpoint(
        &stranger,
        &Checkpoint::new(election_origin(&ELECTION), 9, root(&leaves(9))),
    )
    .unwrap();
    assert_eq!(decide(&unsigned, &key, last), Err(Refusal::BadSignature));
    assert_eq!(Refusal::BadSignature.status(), 403);
    // A tampered signature by the log's key.
    let mut tampered = request(7, 9);
    let at = tampered.checkpoint.len() - 3;
    tampered.checkpoint.replace_range(at..at + 1, "A");
    let refused = decide(&tampered, &key, last).unwrap_err();
    assert!(
        matches!(refused, Refusal::BadSignature | Refusal::BadRequest(_)),
        "{refused:?}"
    );
    assert_eq!(Refusal::Fork(1).status(), 409);
    assert_eq!(Refusal::BadProof.status(), 422);
}

/// A cosignature/v1 verifier written from the C2SP text for `signed_note`'s traits.
struct SpecCosigner {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl SpecCosigner {
    fn key_bytes(&self) -> Vec<u8> {
        let mut k = vec![0x04];
        k.extend_from_slice(self.key.verifying_key().as_bytes());
        k
    }
}

impl signed_note::Verifier for SpecCosigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        signed_note::key_id(&self.name, &self.key_bytes())
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let t = u64::from_be_bytes(sig[..8].try_into().unwrap());
        let mut m = format!("cosignature/v1\ntime {t}\n").into_bytes();
        m.extend_from_slice(msg);
        let s = ed25519_dalek::Signature::from_bytes(&sig[8..].try_into().unwrap());
        self.key.verifying_key().verify_strict(&m, &s).is_ok()
    }
}

impl signed_note::Signer for SpecCosigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        signed_note::Verifier::key_id(self)
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature_2::Error> {
        use ed25519_dalek::Signer as _;
        let t: u64 = 1_234_567;
        let mut m = format!("cosignature/v1\ntime {t}\n").into_bytes();
        m.extend_from_slice(msg);
        let mut out = t.to_be_bytes().to_vec();
        out.extend_from_slice(&self.key.sign(&m).to_bytes());
        Ok(out)
    }
}

#[test]
fn signed_note_reads_our_cosignatures_and_we_read_theirs() {
    let spec = SpecCosigner {
        name: "witness.example.org/w1".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[0x31; 32]),
    };
    let ours = witness();
    assert_eq!(
        u32::from_be_bytes(ours.verifier().key_id()),
        signed_note::Verifier::key_id(&spec)
    );
    let (note, _) = checkpoint(6);
    let body = open_signed_checkpoint(note.as_bytes(), &board().verifier())
        .unwrap()
        .to_body()
        .unwrap();
    // Ours, read by signed_note.
    let cosigned = add_signature_lines(&note, &ours.cosign(&body, 99).unwrap()).unwrap();
    let parsed = signed_note::Note::from_bytes(cosigned.as_bytes()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(SpecCosigner {
        name: spec.name.clone(),
        key: spec.key.clone(),
    })]);
    let (verified, unverified) = parsed.verify(&list).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(unverified.len(), 1); // the board's own signature
                                     // A tampered one of ours is refused by signed_note too.
    let tampered = cosigned.replacen("\n6\n", "\n7\n", 1);
    let parsed = signed_note::Note::from_bytes(tampered.as_bytes()).unwrap();
    assert!(parsed.verify(&list).is_err());
    // Theirs (signed_note's add_sigs with the spec cosigner), read by us.
    let mut theirs = signed_note::Note::from_bytes(note.as_bytes()).unwrap();
    theirs.add_sigs(&[&spec]).unwrap();
    let theirs = theirs.to_bytes();
    assert_eq!(ours.verifier().cosignature(&theirs), Ok(Some(1_234_567)));
    assert!(open_signed_checkpoint(&theirs, &board().verifier()).is_ok());
}
