//! Test vectors for the recovery secret (`specs/vectors/recovery.json`).

mod common;

use curve25519_dalek::scalar::Scalar;
use rand_core::Rng;
use serde_json::{json, Value};
use urne_crypto::credential::{
    BlindChallenge, Credential, CredentialContext, RegistrarKey, SignerCommitment, SignerResponse,
    SignerState, UserState,
};
use urne_crypto::encoding::Canonical;
use urne_crypto::group::{hash_to_scalar, G};
use urne_crypto::hash::tagged;
use urne_crypto::recovery::{RecoveryError, RecoverySecret};

fn sc(s: &Scalar) -> String {
    hex::encode(s.as_bytes())
}

fn generate() -> Value {
    let mut rng = common::rng("urne/v1/recovery vectors");
    let secret = RecoverySecret::generate(&mut rng);
    let mut election = [0u8; 32];
    rng.fill_bytes(&mut election);
    let ctx = CredentialContext::new(election, "north-east");
    let key = RegistrarKey::generate(&mut rng);
    let pk = key.public();
    let (mut signer, commitment) = SignerState::commit(&key, &ctx, &mut rng);

    let member_key = secret.member_key(&election);
    let ballot_key = secret.ballot_key(&election);
    let p = ballot_key.public_key();
    let f = secret.blinding(&election, &commitment, 0);
    let (user, challenge) = UserState::blind_with(&pk, &ctx, p.as_bytes(), &commitment, |n| {
        secret.blinding(&election, &commitment, n)
    })
    .expect("blind");
    let response = signer.respond(&key, &challenge).expect("respond");
    let cred = user.finish(&response).expect("finish");
    cred.verify(&pk, &ctx, p.as_bytes()).expect("verify");

    let code = secret.code().to_string();
    let mut typo = code.clone();
    let swapped = if typo.starts_with('0') { "1" } else { "0" };
    typo.replace_range(0..1, swapped);

    json!({
        "description": "urne recovery secret: the code, the member key, the ballot key and the blinding factors derived from it, and the credential they give; specs/protocol.md §3.9",
        "secret": hex::encode(secret.as_bytes()),
        "checksum": hex::encode(&tagged("urne/v1/recovery/checksum", &[secret.as_bytes()])[..4]),
        "code": code,
        "election_id": hex::encode(election),
        "constituency": ctx.constituency,
        "member_key": {
            "seed": hex::encode(member_key.to_bytes()),
            "public": hex::encode(member_key.verifying_key().to_bytes()),
        },
        "ballot_key": {
            "p": hex::encode(ballot_key.to_bytes().as_ref()),
            "P": hex::encode(p.as_bytes()),
        },
        "registrar_public_X": hex::encode(pk.to_bytes()),
        "signer_commitment": hex::encode(commitment.to_bytes()),
        "blinding_attempt_0": {
            "r1": sc(&f.r1),
            "r2": sc(&f.r2),
            "gamma1": sc(&f.gamma1),
            "gamma2": sc(&f.gamma2),
        },
        "challenge": hex::encode(challenge.to_bytes()),
        "signer_response": hex::encode(response.to_bytes()),
        "credential": hex::encode(cred.to_bytes()),
        "invalid_codes": [
            { "code": typo, "error": "checksum" },
            { "code": &code[..code.len() - 2], "error": "length" },
            { "code": code.replacen(&code[..1], "U", 1), "error": "character" },
        ],
    })
}

#[test]
fn recovery_vectors() {
    common::check_vectors("recovery", &generate());
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    key.split('.')
        .fold(v, |v, k| &v[k])
        .as_str()
        .unwrap_or_else(|| panic!("missing {key}"))
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(field(v, key)).expect("hex")
}

/// Checks the stored file from the spec's formulas, as another implementation would.
#[test]
fn stored_vector_follows_the_spec() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specs/vectors/recovery.json"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let secret = bytes(&v, "secret");
    let election = bytes(&v, "election_id");
    let recovered = RecoverySecret::from_code(field(&v, "code")).expect("code");
    assert_eq!(recovered.as_bytes()[..], secret[..]);
    assert_eq!(
        tagged("urne/v1/recovery/checksum", &[&secret])[..4],
        bytes(&v, "checksum")[..]
    );

    let seed = tagged("urne/v1/recovery/member-key", &[&secret, &election]);
    assert_eq!(seed[..], bytes(&v, "member_key.seed")[..]);
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert_eq!(public.to_bytes()[..], bytes(&v, "member_key.public")[..]);

    let p = hash_to_scalar(
        "urne/v1/recovery/ballot-key",
        &[&secret, &election, &0u32.to_be_bytes()],
    );
    assert_eq!(p.as_bytes()[..], bytes(&v, "ballot_key.p")[..]);
    let big_p = (p * G).compress().to_bytes();
    assert_eq!(big_p[..], bytes(&v, "ballot_key.P")[..]);

    let commitment = SignerCommitment::from_bytes(&bytes(&v, "signer_commitment")).expect("A, C");
    let (a, c) = (
        commitment.a.compress().to_bytes(),
        commitment.c.compress().to_bytes(),
    );
    let factor = |name: &str| {
        hash_to_scalar(
            "urne/v1/recovery/blinding",
            &[
                &secret,
                &election,
                &a,
                &c,
                name.as_bytes(),
                &0u32.to_be_bytes(),
            ],
        )
    };
    for name in ["r1", "r2", "gamma1", "gamma2"] {
        assert_eq!(
            factor(name).as_bytes()[..],
            bytes(&v, &format!("blinding_attempt_0.{name}"))[..],
            "{name}"
        );
    }

    // The registrar's view (e, s, y, t) and the credential follow §3.2 with these factors.
    let e = BlindChallenge::from_bytes(&bytes(&v, "challenge")).expect("e");
    let r = SignerResponse::from_bytes(&bytes(&v, "signer_response")).expect("response");
    let cred = Credential::from_bytes(&bytes(&v, "credential")).expect("credential");
    let (gamma1, gamma2) = (factor("gamma1"), factor("gamma2"));
    assert_eq!(e.e, cred.c * gamma2);
    assert_eq!(cred.y, gamma1 * r.y);
    assert_eq!(cred.t, gamma1 * r.t + factor("r2"));
    assert_eq!(
        cred.s,
        gamma1 * gamma2.invert() * r.s + factor("r1"),
        "s' = γ·s + r1"
    );
    let pk =
        urne_crypto::credential::RegistrarPublicKey::from_bytes(&bytes(&v, "registrar_public_X"))
            .expect("X");
    let election: [u8; 32] = election.try_into().expect("32 bytes");
    let ctx = CredentialContext::new(election, field(&v, "constituency"));
    assert_eq!(cred.verify(&pk, &ctx, &big_p), Ok(()));

    let invalid = v["invalid_codes"].as_array().expect("invalid codes");
    assert_eq!(invalid.len(), 3);
    for case in invalid {
        let got = RecoverySecret::from_code(field(case, "code")).map(|_| ());
        let kind = match got {
            Err(RecoveryError::Checksum) => "checksum",
            Err(RecoveryError::Length(_)) => "length",
            Err(RecoveryError::Character(_)) => "character",
            Ok(()) => "accepted",
        };
        assert_eq!(kind, field(case, "error"));
    }
}
