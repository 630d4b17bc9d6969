//! Test vectors for encrypted votes and ballot signatures (`specs/vectors/ballot.json`).
//!
//! Besides regenerating the file, this test re-derives every Fiat–Shamir
//! challenge and Bulletproofs+ statement from the description in
//! `specs/protocol.md` §4 using only public building blocks, so the spec and
//! the implementation cannot drift apart.

mod common;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use serde_json::{json, Value};
use tari_bulletproofs_plus::generators::pedersen_gens::ExtensionDegree;
use tari_bulletproofs_plus::range_parameters::RangeParameters;
use tari_bulletproofs_plus::range_proof::VerifyAction;
use tari_bulletproofs_plus::range_statement::RangeStatement;
use tari_bulletproofs_plus::PedersenGens;
use urne_crypto::ballot::{BallotStatement, BulletproofPlus, EncryptedVote};
use urne_crypto::encoding::Canonical;
use urne_crypto::group::{h, G};
use urne_crypto::schnorr::{self, BallotSecretKey, Signature};
use urne_crypto::transcript::ProofTranscript;

struct Case {
    candidates: u32,
    min: u32,
    max: u32,
    choices: &'static [u8],
}

const CASES: [Case; 4] = [
    Case {
        candidates: 1,
        min: 0,
        max: 1,
        choices: &[1],
    },
    Case {
        candidates: 3,
        min: 1,
        max: 2,
        choices: &[0, 1, 1],
    },
    Case {
        candidates: 5,
        min: 0,
        max: 5,
        choices: &[0, 0, 0, 0, 0],
    },
    Case {
        candidates: 17,
        min: 2,
        max: 4,
        choices: &[0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    },
];

fn hex_point(p: &RistrettoPoint) -> String {
    hex::encode(p.compress().as_bytes())
}

fn generate() -> Value {
    let mut vectors = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let mut rng = common::rng(&format!("urne/v1/test-vectors/ballot/{i}"));
        let x = Scalar::random(&mut rng);
        let pk = RistrettoPoint::mul_base(&x);
        let ballot_sk = BallotSecretKey::generate(&mut rng);
        let mut election_id = [0u8; 32];
        election_id[0] = i as u8;
        election_id[31] = 0xe1;
        let statement = BallotStatement::new(
            election_id,
            format!("constituency-{i}"),
            pk,
            ballot_sk.public_key(),
            case.candidates,
            case.min,
            case.max,
        )
        .expect("statement");
        let choices: Vec<bool> = case.choices.iter().map(|&c| c == 1).collect();
        let (vote, opening) = EncryptedVote::prove(&statement, &choices, &mut rng).expect("prove");
        let vote_bytes = vote.to_bytes();
        let signature = schnorr::sign(
            &ballot_sk,
            &statement.election_id,
            &statement.constituency,
            &vote_bytes,
            &mut rng,
        );
        let (omega, challenge) = representation_challenges(&statement, &vote);
        vectors.push(json!({
            "election_id": hex::encode(statement.election_id),
            "constituency": statement.constituency,
            "election_secret_key": hex::encode(x.as_bytes()),
            "election_key": hex_point(&pk),
            "ballot_secret_key": hex::encode(ballot_sk.to_bytes().as_ref()),
            "ballot_key": hex::encode(statement.ballot_key.as_bytes()),
            "candidates": case.candidates,
            "min_approvals": case.min,
            "max_approvals": case.max,
            "statement": hex::encode(statement.to_bytes()),
            "choices": choices,
            "randomness": opening.randomness().iter().map(|r| hex::encode(r.as_bytes())).collect::<Vec<_>>(),
            "encrypted_vote": hex::encode(&vote_bytes),
            "bits_proof": hex::encode(vote.bits_proof().to_bytes()),
            "count_proof": hex::encode(vote.count_proof().to_bytes()),
            "representation_weight_omega": hex::encode(omega.as_bytes()),
            "representation_challenge": hex::encode(challenge.as_bytes()),
            "signature_message": "encrypted_vote",
            "signature": hex::encode(signature.to_bytes()),
        }));
    }
    json!({
        "description": "urne v1 encrypted approval votes (specs/protocol.md §4): statement, choices, \
                        ElGamal randomness, canonical encrypted vote, and a ballot-key signature over \
                        the encrypted vote bytes. Deterministic: ChaCha20 seeded with \
                        SHA-256(\"urne/v1/test-vectors/ballot/<i>\").",
        "G": hex_point(&G),
        "H": hex_point(&h()),
        "vectors": vectors,
    })
}

/// `T` of §4.4, rebuilt from the spec with public building blocks.
fn spec_transcript(st: &BallotStatement, vote: &EncryptedVote) -> ProofTranscript {
    let mut t = ProofTranscript::new(
        b"urne/v1/ballot",
        &st.election_id,
        st.constituency.as_bytes(),
    );
    t.append_point(b"election-key", &st.election_key);
    t.append_bytes(b"ballot-key", st.ballot_key.as_bytes());
    t.append_u64(b"candidates", st.candidates.into());
    t.append_u64(b"min", st.min_approvals.into());
    t.append_u64(b"max", st.max_approvals.into());
    for c in vote.ciphertexts() {
        t.append_point(b"A", &c.a);
        t.append_point(b"B", &c.b);
    }
    t
}

fn representation_challenges(st: &BallotStatement, vote: &EncryptedVote) -> (Scalar, Scalar) {
    let mut t = spec_transcript(st, vote);
    t.append_bytes(b"sub-proof", b"representation");
    let omega = t.challenge_scalar(b"weight");
    t.append_point(b"R_A", &vote.representation().commitment_a);
    t.append_point(b"R_B", &vote.representation().commitment_b);
    (omega, t.challenge_scalar(b"challenge"))
}

/// Checks every proof of `vote` from the spec's equations alone.
fn check_against_spec(st: &BallotStatement, vote: &EncryptedVote) {
    let n = st.candidates as usize;
    assert_eq!(vote.ciphertexts().len(), n);
    let pk = st.election_key;

    // Representation proof (§4.6).
    let (omega, c) = representation_challenges(st, vote);
    let mut w = Scalar::ONE;
    let (mut sum_a, mut sum_b) = (RistrettoPoint::identity(), RistrettoPoint::identity());
    for ct in vote.ciphertexts() {
        sum_a += ct.a * w;
        sum_b += ct.b * w;
        w *= omega;
    }
    let rep = vote.representation();
    assert_eq!(G * rep.response_rho, rep.commitment_a + sum_a * c);
    assert_eq!(
        h() * rep.response_mu + pk * rep.response_rho,
        rep.commitment_b + sum_b * c
    );

    // Range proofs (§4.5): generators, padding, transcripts.
    let range_check = |label: &'static [u8],
                       bit_length: usize,
                       commitments: Vec<RistrettoPoint>,
                       proof: &BulletproofPlus| {
        let gens = PedersenGens {
            h_base: h(),
            h_base_compressed: h().compress(),
            g_base_vec: vec![pk],
            g_base_compressed_vec: vec![pk.compress()],
            extension_degree: ExtensionDegree::DefaultPedersen,
        };
        let params = RangeParameters::init(bit_length, commitments.len(), gens).expect("params");
        let m = commitments.len();
        let statement =
            RangeStatement::init(params, commitments, vec![None; m], None).expect("statement");
        let mut t = spec_transcript(st, vote);
        t.append_bytes(b"sub-proof", label);
        BulletproofPlus::verify_batch(
            &mut [t.merlin().clone()],
            &[statement],
            std::slice::from_ref(proof),
            VerifyAction::VerifyOnly,
        )
        .expect("range proof verifies per the spec");
    };
    let aggregation = n.next_power_of_two().max(2);
    let mut bits: Vec<RistrettoPoint> = vote.ciphertexts().iter().map(|c| c.b).collect();
    bits.resize(aggregation, RistrettoPoint::identity());
    range_check(b"bits", 1, bits, vote.bits_proof());
    let k = [1usize, 2, 4, 8, 16, 32, 64]
        .into_iter()
        .find(|&k| (n as u128) < (1u128 << k))
        .expect("k");
    let total: RistrettoPoint = vote.ciphertexts().iter().map(|c| c.b).sum();
    let count = vec![
        total - h() * Scalar::from(st.min_approvals),
        h() * Scalar::from(st.max_approvals) - total,
    ];
    range_check(b"count", k, count, vote.count_proof());
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().expect(field)).expect("hex")
}

#[test]
fn stored_vectors_verify() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/vectors/ballot.json");
    let Ok(stored) = std::fs::read_to_string(&path) else {
        // First generation: nothing stored yet (the regeneration test writes it).
        assert_eq!(std::env::var("URNE_REGENERATE_VECTORS").as_deref(), Ok("1"));
        return;
    };
    let stored: Value = serde_json::from_str(&stored).expect("json");
    assert_eq!(stored["H"].as_str(), Some(hex_point(&h()).as_str()));
    for v in stored["vectors"].as_array().expect("vectors") {
        let st = BallotStatement::from_bytes(&bytes(v, "statement")).expect("statement");
        assert_eq!(
            hex::encode(st.election_id),
            v["election_id"].as_str().expect("id")
        );
        assert_eq!(
            st.constituency,
            v["constituency"].as_str().expect("constituency")
        );
        let vote = EncryptedVote::from_bytes(&bytes(v, "encrypted_vote")).expect("vote");
        assert_eq!(vote.verify(&st), Ok(()));
        check_against_spec(&st, &vote);

        // The ciphertexts decrypt to the choices.
        let x =
            Scalar::from_canonical_bytes(bytes(v, "election_secret_key").try_into().expect("32"))
                .expect("scalar");
        let choices = v["choices"].as_array().expect("choices");
        for (ct, choice) in vote.ciphertexts().iter().zip(choices) {
            let m = Scalar::from(u8::from(choice.as_bool().expect("bool")));
            assert_eq!(ct.decrypt_to_point(&x), h() * m);
        }
        for (ct, r) in vote
            .ciphertexts()
            .iter()
            .zip(v["randomness"].as_array().expect("r"))
        {
            let r: [u8; 32] = hex::decode(r.as_str().expect("hex"))
                .expect("hex")
                .try_into()
                .expect("32");
            let r = Scalar::from_canonical_bytes(r).expect("scalar");
            assert_eq!(G * r, ct.a);
        }

        let sig = Signature::from_bytes(&bytes(v, "signature")).expect("signature");
        assert_eq!(
            schnorr::verify(
                &st.ballot_key,
                &st.election_id,
                &st.constituency,
                &bytes(v, "encrypted_vote"),
                &sig
            ),
            Ok(())
        );
        assert!(schnorr::verify(
            &st.ballot_key,
            &st.election_id,
            "elsewhere",
            &bytes(v, "encrypted_vote"),
            &sig
        )
        .is_err());
    }
}

#[test]
fn vectors_regenerate_identically() {
    common::check_vectors("ballot", &generate());
}
