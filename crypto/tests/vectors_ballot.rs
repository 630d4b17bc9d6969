//! Test vectors for encrypted votes and ballot signatures (`specs/vectors/ballot.json`).
//!
//! Besides regenerating the file, this test re-derives every Fiat–Shamir
//! challenge and Bulletproofs+ statement from the description in
//! `specs/protocol.md` §4 using only public building blocks, so the spec and
//! the implementation cannot drift apart.

mod common;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
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
        let mut t = spec_transcript(st, vote);
        t.append_bytes(b"sub-proof", label);
        generators_match_spec(&params, bit_length, m);
        // The spec's verifier, then the library's.
        assert!(spec_range_verify(
            t.merlin().clone(),
            &pk,
            bit_length,
            &commitments,
            &proof.to_bytes()
        ));
        let mut tampered = proof.to_bytes();
        tampered[1] ^= 1; // d1
        assert!(!spec_range_verify(
            t.merlin().clone(),
            &pk,
            bit_length,
            &commitments,
            &tampered
        ));
        let statement = RangeStatement::init(params.clone(), commitments, vec![None; m], None)
            .expect("statement");
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

/// `GeneratorsChain(label)` of §4.5: SHAKE256("GeneratorsChain" ‖ label),
/// each 64-byte block mapped with the RFC 9496 one-way map.
fn generators_chain(label: &[u8], count: usize) -> Vec<RistrettoPoint> {
    use sha3::digest::{ExtendableOutput, Update, XofReader};
    let mut shake = sha3::Shake256::default();
    shake.update(b"GeneratorsChain");
    shake.update(label);
    let mut reader = shake.finalize_xof();
    (0..count)
        .map(|_| {
            let mut block = [0u8; 64];
            reader.read(&mut block);
            RistrettoPoint::from_uniform_bytes(&block)
        })
        .collect()
}

/// The vector generators `G_i`, `H_i` of an aggregated proof of `m` values of
/// `bits` bits: party `j`'s first `bits` generators, parties in order.
fn spec_generators(bits: usize, m: usize) -> (Vec<RistrettoPoint>, Vec<RistrettoPoint>) {
    let (mut g, mut h) = (Vec::new(), Vec::new());
    for j in 0..m as u32 {
        let idx = j.to_le_bytes();
        g.extend(generators_chain(&[b"G".as_slice(), &idx].concat(), bits));
        h.extend(generators_chain(&[b"H".as_slice(), &idx].concat(), bits));
    }
    (g, h)
}

fn generators_match_spec(params: &RangeParameters<RistrettoPoint>, bits: usize, m: usize) {
    let (g, h) = spec_generators(bits, m);
    assert!(params.gi_base_iter().copied().eq(g));
    assert!(params.hi_base_iter().copied().eq(h));
}

/// A Bulletproofs+ verifier written from §4.5 alone (one proof, weight 1).
fn spec_range_verify(
    mut t: tari_bulletproofs_plus::Transcript,
    pk: &RistrettoPoint,
    bits: usize,
    commitments: &[RistrettoPoint],
    proof: &[u8],
) -> bool {
    use curve25519_dalek::traits::VartimeMultiscalarMul;
    let m = commitments.len();
    let mn = bits * m;
    let rounds = mn.trailing_zeros() as usize;
    if !mn.is_power_of_two() || proof.len() != 1 + 6 * 32 + 64 * rounds || proof[0] != 1 {
        return false;
    }
    let chunk = |i: usize| -> [u8; 32] { proof[1 + 32 * i..33 + 32 * i].try_into().expect("32") };
    let scalar = |i: usize| Option::<Scalar>::from(Scalar::from_canonical_bytes(chunk(i)));
    let point = |i: usize| {
        CompressedRistretto(chunk(i))
            .decompress()
            .filter(|p| *p != RistrettoPoint::identity())
    };
    let (Some(d1), Some(a), Some(a1), Some(b), Some(r1), Some(s1)) = (
        scalar(0),
        point(1),
        point(2),
        point(3),
        scalar(4),
        scalar(5),
    ) else {
        return false;
    };
    let challenge = |t: &mut tari_bulletproofs_plus::Transcript, label: &'static [u8]| {
        let mut buf = [0u8; 64];
        t.challenge_bytes(label, &mut buf);
        Scalar::from_bytes_mod_order_wide(&buf)
    };
    t.append_message(b"dom-sep", b"Bulletproofs+ Range Proof");
    t.append_message(b"H", h().compress().as_bytes());
    t.append_message(b"G", pk.compress().as_bytes());
    t.append_u64(b"N", bits as u64);
    t.append_u64(b"T", 1);
    t.append_u64(b"M", m as u64);
    for c in commitments {
        t.append_message(b"Ci", c.compress().as_bytes());
    }
    for _ in commitments {
        t.append_u64(b"vi - minimum_value", 0);
    }
    t.append_message(b"A", &chunk(1));
    let y = challenge(&mut t, b"y");
    let z = challenge(&mut t, b"z");
    let mut ls = Vec::new();
    let mut rs = Vec::new();
    let mut es = Vec::new();
    for j in 0..rounds {
        let (Some(l), Some(r)) = (point(6 + 2 * j), point(7 + 2 * j)) else {
            return false;
        };
        t.append_message(b"L", &chunk(6 + 2 * j));
        t.append_message(b"R", &chunk(7 + 2 * j));
        es.push(challenge(&mut t, b"e"));
        ls.push(l);
        rs.push(r);
    }
    t.append_message(b"A1", &chunk(2));
    t.append_message(b"B", &chunk(3));
    let e = challenge(&mut t, b"e");

    let pow = |x: Scalar, k: usize| (0..k).fold(Scalar::ONE, |acc, _| acc * x);
    let y_inv = y.invert();
    // s_0 = Π e_j^{-1}; s_i = s_{i - 2^k} · e_{rounds-1-k}^2 with k = ⌊log2 i⌋.
    let mut s = vec![es.iter().fold(Scalar::ONE, |acc, e| acc * e.invert())];
    for i in 1..mn {
        let k = i.ilog2() as usize;
        s.push(s[i - (1 << k)] * es[rounds - 1 - k] * es[rounds - 1 - k]);
    }
    let e2 = e * e;
    let y_mn = pow(y, mn);
    let mut scalars = Vec::new();
    let mut points = Vec::new();
    let (g_vec, h_vec) = spec_generators(bits, m);
    for i in 0..mn {
        let (j, bit) = (i / bits, i % bits);
        let d_i = pow(z, 2 * (j + 1)) * Scalar::from(1u64 << bit);
        scalars.push(r1 * e * pow(y_inv, i) * s[i] + e2 * z);
        points.push(g_vec[i]);
        scalars.push(s1 * e * s[mn - 1 - i] - e2 * d_i * pow(y, mn - i) - e2 * z);
        points.push(h_vec[i]);
    }
    for (j, c) in commitments.iter().enumerate() {
        scalars.push(-e2 * y_mn * y * pow(z, 2 * (j + 1)));
        points.push(*c);
    }
    let y_sum: Scalar = (1..=mn).map(|i| pow(y, i)).sum();
    let z_sum: Scalar = (1..=m).map(|j| pow(z, 2 * j)).sum();
    let d_sum = z_sum * (pow(Scalar::from(2u8), bits) - Scalar::ONE);
    scalars.push(r1 * y * s1 + e2 * (y_mn * y * z * d_sum + (z * z - z) * y_sum));
    points.push(h());
    scalars.push(d1);
    points.push(*pk);
    scalars.extend([-e, -Scalar::ONE, -e2]);
    points.extend([a1, b, a]);
    for (j, e_j) in es.iter().enumerate() {
        scalars.push(-e2 * e_j * e_j);
        points.push(ls[j]);
        let inv = e_j.invert();
        scalars.push(-e2 * inv * inv);
        points.push(rs[j]);
    }
    RistrettoPoint::vartime_multiscalar_mul(&scalars, &points) == RistrettoPoint::identity()
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
