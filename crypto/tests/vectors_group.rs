//! Vectors for §2 (group, hashing, transcripts) and §8 (entry envelope):
//! `specs/vectors/group.json`.

mod common;

use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use serde_json::json;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{member_id, signing_digest, Entry, EntryKind, PhaseChange};
use urne_crypto::group::{h, hash_to_group, hash_to_scalar, G};
use urne_crypto::hash::tagged;
use urne_crypto::transcript::ProofTranscript;

fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

fn vectors() -> serde_json::Value {
    let election = tagged("urne/v1/test-election", &[b"vectors"]);
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let entry = Entry::signed(
        EntryKind::Close,
        election,
        &PhaseChange { at: 1_764_705_600 },
        &key,
    );
    let mut t = ProofTranscript::new(b"urne/v1/test", &election, b"north");
    t.append_point(b"G", &G);
    t.append_u64(b"n", 16);
    let challenge = t.challenge_scalar(b"c");
    json!({
        "G": hx(G.compress().as_bytes()),
        "H": hx(h().compress().as_bytes()),
        "tagged_hash": [
            { "label": "urne/v1/test", "parts": [], "digest": hx(&tagged("urne/v1/test", &[])) },
            { "label": "urne/v1/test", "parts": [hx(b"ab"), hx(b"c")],
              "digest": hx(&tagged("urne/v1/test", &[b"ab", b"c"])) },
        ],
        "hash_to_group": [
            { "dst": "urne/v1/generator-H", "parts": [], "point": hx(h().compress().as_bytes()) },
            { "dst": "urne/v1/test", "parts": [hx(b"abc")],
              "point": hx(hash_to_group("urne/v1/test", &[b"abc"]).compress().as_bytes()) },
        ],
        "hash_to_scalar": [
            { "dst": "urne/v1/test", "parts": [hx(b"abc")],
              "scalar": hx(hash_to_scalar("urne/v1/test", &[b"abc"]).as_bytes()) },
        ],
        "transcript": {
            "label": "urne/v1/test", "election": hx(&election), "constituency": "north",
            "appends": [["G", hx(G.compress().as_bytes())], ["n", "u64 16"]],
            "challenge_function": "ChallengeScalar (§2.3): 64 bytes of challenge_bytes(label), reduced mod ℓ",
            "challenge_label": "c", "challenge_scalar": hx(challenge.as_bytes()),
        },
        "entry": {
            "kind": EntryKind::Close as u8,
            "election": hx(&election),
            "body": hx(&PhaseChange { at: 1_764_705_600 }.to_bytes()),
            "signer_seed": hx(&[7u8; 32]),
            "signing_digest": hx(&signing_digest(EntryKind::Close, &election, &entry.body)),
            "encoded": hx(&entry.to_bytes()),
        },
        "member_id": { "election": hx(&election), "pseudonym": "alice",
                       "member": hx(&member_id(&election, "alice")) },
        "scalar_one": hx(Scalar::ONE.as_bytes()),
    })
}

#[test]
fn group_vectors_match() {
    common::check_vectors("group", &vectors());
}

#[test]
fn stored_entry_vector_decodes_and_verifies() {
    let v = vectors();
    let bytes = hex::decode(v["entry"]["encoded"].as_str().expect("hex")).expect("hex");
    let e = Entry::from_bytes(&bytes).expect("canonical entry");
    e.verify_signature().expect("signature");
    let mut tampered = e.clone();
    tampered.body[1] ^= 1;
    assert!(tampered.verify_signature().is_err());
}

proptest! {
    #[test]
    fn entry_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(e) = Entry::from_bytes(&bytes) {
            prop_assert_eq!(e.to_bytes(), bytes);
            let _ = e.verify_signature();
            let _ = e.body::<urne_crypto::entry::Ballot>();
            let _ = e.body::<urne_crypto::manifest::Manifest>();
        }
    }

    #[test]
    fn mutated_entries_are_rejected_or_canonical(i in 0usize..200, v in any::<u8>()) {
        let entry = Entry::signed(EntryKind::Close, [1u8; 32], &PhaseChange { at: 5 },
            &SigningKey::from_bytes(&[3u8; 32]));
        let mut bytes = entry.to_bytes();
        let k = i % bytes.len();
        bytes[k] = v;
        if let Ok(e) = Entry::from_bytes(&bytes) {
            prop_assert_eq!(e.to_bytes(), bytes.clone());
            if bytes != entry.to_bytes() {
                prop_assert!(e.verify_signature().is_err() || e == entry);
            }
        }
    }
}
