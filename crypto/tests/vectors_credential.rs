//! Test vectors for partially blind credentials (`specs/vectors/credential.json`).

mod common;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::Rng;
use serde_json::{json, Value};
use urne_crypto::credential::{
    BlindChallenge, Credential, CredentialContext, CredentialError, RegistrarKey,
    RegistrarPublicKey, SignerCommitment, SignerResponse, SignerState, UserState,
};
use urne_crypto::encoding::Canonical;
use urne_crypto::group::{decode_point, G};

fn pt(p: &RistrettoPoint) -> String {
    hex::encode(p.compress().as_bytes())
}

fn sc(s: &Scalar) -> String {
    hex::encode(s.as_bytes())
}

fn generate() -> Value {
    let mut rng = common::rng("urne/v1/credential vectors");
    let key = RegistrarKey::generate(&mut rng);
    let pk = key.public();
    let mut election_id = [0u8; 32];
    rng.fill_bytes(&mut election_id);
    let ctx = CredentialContext::new(election_id, "north-east");
    // The signed message is the 32-byte encoding of a one-time ballot key P.
    let message = RistrettoPoint::mul_base(&Scalar::random(&mut rng))
        .compress()
        .to_bytes();

    let (mut signer, commitment) = SignerState::commit(&key, &ctx, &mut rng);
    let state_after_commit = signer.to_bytes();
    let (user, challenge) =
        UserState::blind(&pk, &ctx, &message, &commitment, &mut rng).expect("blind");
    let response = signer.respond(&key, &challenge).expect("respond");
    let state_after_respond = signer.to_bytes();
    let cred = user.finish(&response).expect("finish");
    cred.verify(&pk, &ctx, &message).expect("verify");

    // The user's blinding factors are the unique solution of
    // y' = γ1·y, e = c·γ2, s' = γ·s + r1, t' = γ1·t + r2.
    let gamma1 = cred.y * response.y.invert();
    let gamma2 = challenge.e * cred.c.invert();
    let gamma = gamma1 * gamma2.invert();
    let r1 = cred.s - gamma * response.s;
    let r2 = cred.t - gamma1 * response.t;
    let a_blind = r1 * G + gamma * commitment.a;
    let c_blind = gamma1 * commitment.c + r2 * G;

    let mut tampered = cred;
    tampered.s += Scalar::ONE;

    json!({
        "description": "urne partially blind credential (Tessaro–Zhu): one issuance session; specs/protocol.md §3",
        "registrar": {
            "secret_x": hex::encode(key.to_secret_bytes().as_slice()),
            "public_X": hex::encode(pk.to_bytes()),
        },
        "context": {
            "election_id": hex::encode(ctx.election_id),
            "constituency": ctx.constituency,
            "cbor": hex::encode(ctx.to_bytes()),
            "Z": pt(&ctx.z()),
        },
        "message": hex::encode(message),
        "signer_commitment": {
            "A": pt(&commitment.a),
            "C": pt(&commitment.c),
            "cbor": hex::encode(commitment.to_bytes()),
        },
        "signer_state_after_commit": hex::encode(state_after_commit.as_slice()),
        "blinding": {
            "gamma1": sc(&gamma1),
            "gamma2": sc(&gamma2),
            "r1": sc(&r1),
            "r2": sc(&r2),
            "A_blinded": pt(&a_blind),
            "C_blinded": pt(&c_blind),
        },
        "challenge": {
            "e": sc(&challenge.e),
            "cbor": hex::encode(challenge.to_bytes()),
        },
        "signer_response": {
            "s": sc(&response.s),
            "y": sc(&response.y),
            "t": sc(&response.t),
            "cbor": hex::encode(response.to_bytes()),
        },
        "signer_state_after_respond": hex::encode(state_after_respond.as_slice()),
        "credential": {
            "c": sc(&cred.c),
            "s": sc(&cred.s),
            "y": sc(&cred.y),
            "t": sc(&cred.t),
            "cbor": hex::encode(cred.to_bytes()),
        },
        "invalid": [
            {
                "reason": "other constituency",
                "constituency": "north-west",
                "credential_cbor": hex::encode(cred.to_bytes()),
            },
            {
                "reason": "tampered s'",
                "constituency": ctx.constituency,
                "credential_cbor": hex::encode(tampered.to_bytes()),
            },
        ],
    })
}

#[test]
fn credential_vectors() {
    common::check_vectors("credential", &generate());
}

fn field<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_else(|| panic!("missing {path:?}"))
}

fn bytes(v: &Value, path: &[&str]) -> Vec<u8> {
    hex::decode(field(v, path)).expect("hex")
}

/// Checks the stored file on its own terms, as another implementation would.
#[test]
fn stored_vector_verifies() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specs/vectors/credential.json"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");

    let key = RegistrarKey::from_secret_bytes(&bytes(&v, &["registrar", "secret_x"])).expect("x");
    let pk = RegistrarPublicKey::from_bytes(&bytes(&v, &["registrar", "public_X"])).expect("X");
    assert_eq!(key.public(), pk);
    let election_id: [u8; 32] = bytes(&v, &["context", "election_id"])
        .try_into()
        .expect("32 bytes");
    let ctx = CredentialContext::new(election_id, field(&v, &["context", "constituency"]));
    assert_eq!(
        CredentialContext::from_bytes(&bytes(&v, &["context", "cbor"])),
        Ok(ctx.clone())
    );
    assert_eq!(Ok(ctx.z()), decode_point(&bytes(&v, &["context", "Z"])));
    let message = bytes(&v, &["message"]);

    let cred = Credential::from_bytes(&bytes(&v, &["credential", "cbor"])).expect("credential");
    assert_eq!(cred.verify(&pk, &ctx, &message), Ok(()));
    // The verifier's A*, C* are the user's blinded A', C'.
    let a_star = cred.s * G - (cred.c * cred.y) * pk.point();
    let c_star = cred.t * G + cred.y * ctx.z();
    assert_eq!(
        Ok(a_star),
        decode_point(&bytes(&v, &["blinding", "A_blinded"]))
    );
    assert_eq!(
        Ok(c_star),
        decode_point(&bytes(&v, &["blinding", "C_blinded"]))
    );

    // The signer side is reproducible from the stored state and challenge.
    let commitment =
        SignerCommitment::from_bytes(&bytes(&v, &["signer_commitment", "cbor"])).expect("commit");
    let challenge = BlindChallenge::from_bytes(&bytes(&v, &["challenge", "cbor"])).expect("e");
    let response =
        SignerResponse::from_bytes(&bytes(&v, &["signer_response", "cbor"])).expect("response");
    let mut state =
        SignerState::from_bytes(&bytes(&v, &["signer_state_after_commit"])).expect("state");
    assert_eq!(state.commitment(&ctx), commitment);
    assert_eq!(state.respond(&key, &challenge), Ok(response));
    assert_eq!(
        state.to_bytes().as_slice(),
        bytes(&v, &["signer_state_after_respond"]).as_slice()
    );

    let invalid = v["invalid"].as_array().expect("invalid cases");
    assert_eq!(invalid.len(), 2);
    for case in invalid {
        let ctx = CredentialContext::new(election_id, field(case, &["constituency"]));
        let cred = Credential::from_bytes(&bytes(case, &["credential_cbor"])).expect("decode");
        assert_eq!(
            cred.verify(&pk, &ctx, &message),
            Err(CredentialError::Invalid)
        );
    }
}
