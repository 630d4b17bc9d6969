//! The member's side of the protocol composed into board entries: enrolment,
//! the credential request, and casting a ballot. Pure functions, so the
//! command-line client and the offline test fixtures share one implementation.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;

use crate::ballot::EncryptedVote;
use crate::credential::{BlindChallenge, Credential, SignerCommitment};
use crate::encoding::Canonical;
use crate::entry::{member_id, Ballot, BallotBody, Enrollment, Entry, EntryKind, Issuance};
use crate::hash::tagged;
use crate::manifest::ElectionId;
use crate::record::{BallotVerifier, RecordError};
use crate::schnorr::{self, BallotSecretKey};

/// The enrolment entry binding `key` to the roster line of `pseudonym`.
pub fn enrollment(election: ElectionId, pseudonym: &str, key: &SigningKey) -> Entry {
    let body = Enrollment {
        member: member_id(&election, pseudonym),
        member_key: key.verifying_key().to_bytes(),
    };
    Entry::signed(EntryKind::Enrollment, election, &body, key)
}

/// `TaggedHash("urne/v1/credential-commit", election, member)`: what a member
/// signs to ask the registrar for a signing commitment.
pub fn commit_request_digest(election: &ElectionId, member: &[u8; 32]) -> [u8; 32] {
    tagged("urne/v1/credential-commit", &[election, member])
}

/// Signs a credential commitment request.
pub fn sign_commit_request(
    election: &ElectionId,
    member: &[u8; 32],
    key: &SigningKey,
) -> Signature {
    key.sign(&commit_request_digest(election, member))
}

/// Checks a credential commitment request against the member's enrolled key.
pub fn verify_commit_request(
    election: &ElectionId,
    member: &[u8; 32],
    member_key: &[u8; 32],
    signature: &[u8],
) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(member_key) else {
        return false;
    };
    let Ok(sig) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    vk.verify_strict(
        &commit_request_digest(election, member),
        &Signature::from_bytes(&sig),
    )
    .is_ok()
}

/// The member-signed issuance entry carrying the blinded challenge.
pub fn issuance(
    election: ElectionId,
    member: [u8; 32],
    constituency: &str,
    commitment: &SignerCommitment,
    challenge: &BlindChallenge,
    key: &SigningKey,
) -> Entry {
    let body = Issuance {
        member,
        constituency: constituency.to_string(),
        commitment_a: commitment.a,
        commitment_c: commitment.c,
        challenge: challenge.e,
    };
    Entry::signed(EntryKind::Issuance, election, &body, key)
}

/// Builds an anonymous ballot entry: encrypts and proves `choices`, then signs
/// the body with the one-time ballot key.
pub fn ballot<R: CryptoRng>(
    verifier: &BallotVerifier,
    constituency: &str,
    ballot_key: &BallotSecretKey,
    credential: &Credential,
    choices: &[bool],
    rng: &mut R,
) -> Result<Entry, RecordError> {
    let p = ballot_key.public_key();
    let statement = verifier.statement(constituency, p)?;
    let (vote, _opening) = EncryptedVote::prove(&statement, choices, rng)
        .map_err(|e| RecordError::Proof(format!("ballot: {e}")))?;
    let body = BallotBody {
        constituency: constituency.to_string(),
        ballot_key: p,
        credential: *credential,
        vote,
    };
    let signature = schnorr::sign(
        ballot_key,
        verifier.election(),
        constituency,
        &body.to_bytes(),
        rng,
    );
    Ok(Entry::anonymous(
        EntryKind::Ballot,
        *verifier.election(),
        &Ballot { body, signature },
    ))
}
