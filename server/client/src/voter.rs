//! A voter's protocol steps, as pure functions: enrolment, the credential
//! session (commit → blind → respond → finish) and ballots.

use curve25519_dalek::ristretto::RistrettoPoint;
use ed25519_dalek::SigningKey;
use rand_chacha::rand_core::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use rand_core::CryptoRng;
use urne_crypto::ballot::{BallotStatement, EncryptedVote};
use urne_crypto::credential::{
    BlindChallenge, Credential, CredentialContext, RegistrarPublicKey, SignerCommitment,
    SignerResponse, UserState,
};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, BallotBody, Entry, EntryKind};
use urne_crypto::manifest::{Constituency, ElectionId};
use urne_crypto::record::BallotVerifier;
use urne_crypto::recovery::RecoverySecret;
use urne_crypto::schnorr::{self, BallotSecretKey};

/// Why a voter step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoterError {
    /// A named candidate does not stand in the constituency.
    #[error("{name:?} is not a candidate in {constituency}{}", match suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    })]
    UnknownCandidate {
        /// The name given.
        name: String,
        /// The constituency.
        constituency: String,
        /// The nearest candidate's name, when one is close.
        suggestion: Option<String>,
    },
    /// A name matches several candidates that differ only in case.
    #[error("{0:?} matches several candidates that differ only in upper and lower case: write it exactly")]
    AmbiguousCandidate(String),
    /// A candidate is named twice.
    #[error("{0:?} is approved twice")]
    DuplicateApproval(String),
    /// The number of approvals is outside the constituency's rule.
    #[error("{count} approvals, but {constituency} allows {min} to {max}")]
    ApprovalCount {
        /// Approvals given.
        count: usize,
        /// Constituency.
        constituency: String,
        /// Fewest allowed.
        min: u32,
        /// Most allowed.
        max: u32,
    },
    /// The credential step failed (bad commitment or response).
    #[error("credential: {0}")]
    Credential(String),
    /// The ballot could not be built.
    #[error("ballot: {0}")]
    Ballot(String),
}

/// The signature that authenticates a credential commit request:
/// Ed25519 over `TaggedHash("urne/v1/credential-commit", election, member)`.
pub fn commit_signature(election: &ElectionId, member: &[u8; 32], key: &SigningKey) -> [u8; 64] {
    urne_crypto::voter::sign_commit_request(election, member, key).to_bytes()
}

/// Blinds the ballot key against the signer's commitment. The blinding
/// factors come from `seed` (kept in the wallet until the response arrives),
/// so calling this again with the same inputs gives the same challenge.
pub fn blind(
    registrar_key: &RegistrarPublicKey,
    election: &ElectionId,
    constituency: &str,
    ballot_key: &BallotSecretKey,
    commitment: &SignerCommitment,
    seed: &[u8; 32],
) -> Result<(UserState, BlindChallenge), VoterError> {
    let ctx = CredentialContext::new(*election, constituency);
    let message = ballot_key.public_key().as_bytes().to_owned();
    let mut rng = ChaCha20Rng::from_seed(*seed);
    UserState::blind(registrar_key, &ctx, &message, commitment, &mut rng)
        .map_err(|e| VoterError::Credential(e.to_string()))
}

/// Blinds the ballot key against the signer's commitment with the factors
/// derived from the recovery secret (`specs/protocol.md` §3.9): a wallet
/// rebuilt from the recovery code sends the same challenge again.
pub fn blind_recoverable(
    registrar_key: &RegistrarPublicKey,
    election: &ElectionId,
    constituency: &str,
    ballot_key: &BallotSecretKey,
    commitment: &SignerCommitment,
    secret: &RecoverySecret,
) -> Result<(UserState, BlindChallenge), VoterError> {
    let ctx = CredentialContext::new(*election, constituency);
    let message = ballot_key.public_key().as_bytes().to_owned();
    UserState::blind_with(registrar_key, &ctx, &message, commitment, |n| {
        secret.blinding(election, commitment, n)
    })
    .map_err(|e| VoterError::Credential(e.to_string()))
}

/// Unblinds the signer's response and checks the resulting credential.
pub fn finish(
    state: UserState,
    response: &SignerResponse,
    registrar_key: &RegistrarPublicKey,
    election: &ElectionId,
    constituency: &str,
    ballot_key: &BallotSecretKey,
) -> Result<Credential, VoterError> {
    let credential = state
        .finish(response)
        .map_err(|e| VoterError::Credential(e.to_string()))?;
    let ctx = CredentialContext::new(*election, constituency);
    credential
        .verify(registrar_key, &ctx, ballot_key.public_key().as_bytes())
        .map_err(|e| VoterError::Credential(e.to_string()))?;
    Ok(credential)
}

/// The choice vector for the approved candidates named, checked against the
/// constituency's candidates and its `min..max` rule.
pub fn choices(constituency: &Constituency, approved: &[String]) -> Result<Vec<bool>, VoterError> {
    let mut choices = vec![false; constituency.candidates.len()];
    let mut count = 0;
    for given in approved {
        let name = given.trim();
        if name.is_empty() {
            continue;
        }
        let i = candidate_position(constituency, name)?;
        if std::mem::replace(&mut choices[i], true) {
            return Err(VoterError::DuplicateApproval(
                constituency.candidates[i].id.clone(),
            ));
        }
        count += 1;
    }
    if count < constituency.approval_min as usize || count > constituency.approval_max as usize {
        return Err(VoterError::ApprovalCount {
            count,
            constituency: constituency.id.clone(),
            min: constituency.approval_min,
            max: constituency.approval_max,
        });
    }
    Ok(choices)
}

/// The candidate a voter means by `name`: the exact pseudonym, else the only
/// one equal to it ignoring case; an unknown name comes with the nearest
/// candidate's name when one is close (a typo).
fn candidate_position(constituency: &Constituency, name: &str) -> Result<usize, VoterError> {
    let ids = || constituency.candidates.iter().map(|c| c.id.as_str());
    if let Some(i) = ids().position(|id| id == name) {
        return Ok(i);
    }
    let folded = name.to_lowercase();
    let same: Vec<usize> = ids()
        .enumerate()
        .filter(|(_, id)| id.to_lowercase() == folded)
        .map(|(i, _)| i)
        .collect();
    match same[..] {
        [i] => return Ok(i),
        [_, _, ..] => return Err(VoterError::AmbiguousCandidate(name.to_string())),
        [] => {}
    }
    // A typo: the nearest name within a third of its length (at least 2 edits).
    let limit = (folded.chars().count() / 3).max(2);
    let suggestion = ids()
        .map(|id| (strsim::levenshtein(&folded, &id.to_lowercase()), id))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, id)| id.to_string());
    Err(VoterError::UnknownCandidate {
        name: name.to_string(),
        constituency: constituency.id.clone(),
        suggestion,
    })
}

/// Builds the anonymous ballot entry: encrypted choices with their proofs,
/// the ballot key, its credential, and the ballot key's signature over the
/// canonical body.
pub fn ballot_entry<R: CryptoRng>(
    verifier: &BallotVerifier,
    constituency: &str,
    ballot_key: &BallotSecretKey,
    credential: &Credential,
    choices: &[bool],
    rng: &mut R,
) -> Result<Entry, VoterError> {
    urne_crypto::voter::ballot(verifier, constituency, ballot_key, credential, choices, rng)
        .map_err(|e| VoterError::Ballot(e.to_string()))
}

/// The ballot body (without signature), for callers that alter a ballot
/// before signing it (the demo's refused-ballot checks). (without signature).
pub fn ballot_body<R: CryptoRng>(
    election: ElectionId,
    constituency: &Constituency,
    election_key: &RistrettoPoint,
    ballot_key: &BallotSecretKey,
    credential: &Credential,
    choices: &[bool],
    rng: &mut R,
) -> Result<BallotBody, VoterError> {
    let p = ballot_key.public_key();
    let statement = BallotStatement::new(
        election,
        constituency.id.clone(),
        *election_key,
        p,
        constituency.candidates.len() as u32,
        constituency.approval_min,
        constituency.approval_max,
    )
    .map_err(|e| VoterError::Ballot(e.to_string()))?;
    let (vote, _opening) = EncryptedVote::prove(&statement, choices, rng)
        .map_err(|e| VoterError::Ballot(e.to_string()))?;
    Ok(BallotBody {
        constituency: constituency.id.clone(),
        ballot_key: p,
        credential: *credential,
        vote,
    })
}

/// Signs a ballot body with the ballot key and wraps it in its anonymous entry.
pub fn sign_ballot<R: CryptoRng>(
    election: ElectionId,
    body: BallotBody,
    ballot_key: &BallotSecretKey,
    rng: &mut R,
) -> Entry {
    let signature = schnorr::sign(
        ballot_key,
        &election,
        &body.constituency,
        &body.to_bytes(),
        rng,
    );
    Entry::anonymous(EntryKind::Ballot, election, &Ballot { body, signature })
}

/// When this wallet obtained its credential: its own clock, and whether the
/// vote was already open (§10, anonymity in time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CredentialTime {
    /// Unix seconds on the voter's machine.
    pub at: u64,
    /// Whether the board had opened the vote when the credential was requested.
    pub while_open: bool,
}

/// The default longest hold-back of a ballot cast soon after its credential.
pub const DEFAULT_MAX_CAST_DELAY: u64 = 15 * 60;

/// Seconds to hold a ballot back so that the board order does not link it to
/// its credential request: none when the credential was obtained before the
/// vote opened (every such request precedes every ballot) or more than
/// `max_delay` ago; otherwise until a uniformly random moment in
/// `(at, at + max_delay]`.
pub fn cast_delay<R: rand_core::Rng + ?Sized>(
    obtained: Option<CredentialTime>,
    now: u64,
    max_delay: u64,
    rng: &mut R,
) -> u64 {
    let Some(t) = obtained.filter(|t| t.while_open) else {
        return 0;
    };
    let Some(span) = std::num::NonZeroU64::new(max_delay) else {
        return 0;
    };
    if now >= t.at.saturating_add(max_delay) {
        return 0;
    }
    let target = t.at + 1 + urne_crypto::lottery::uniform_below(rng, span);
    target.saturating_sub(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use urne_crypto::credential::{RegistrarKey, SignerState};
    use urne_crypto::manifest::Candidate;
    use urne_crypto::seats::{ParityRule, SeatRules};

    const ELECTION: ElectionId = [3; 32];

    fn constituency(registrar: &RegistrarKey) -> Constituency {
        Constituency {
            id: "north".into(),
            name: "North".into(),
            candidates: ["ana", "bo", "cy", "di"]
                .iter()
                .map(|id| Candidate {
                    id: id.to_string(),
                    category: "f".into(),
                })
                .collect(),
            approval_min: 1,
            approval_max: 2,
            rules: SeatRules {
                seats: 2,
                lottery_seats: 0,
                quotas: vec![],
                parity: ParityRule::None,
            },
            registrar_key: registrar.public(),
        }
    }

    #[test]
    fn approvals_are_checked_against_the_candidates_and_the_rule() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let c = constituency(&RegistrarKey::generate(&mut rng));
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            choices(&c, &names(&["bo", "di"])).unwrap(),
            vec![false, true, false, true]
        );
        assert!(matches!(
            choices(&c, &names(&["zed"])),
            Err(VoterError::UnknownCandidate {
                suggestion: None,
                ..
            })
        ));
        // Spaces, any case and a trailing comma are forgiven; a typo gets the
        // nearest name; the same candidate twice in two spellings is refused.
        assert_eq!(
            choices(&c, &names(&[" Bo", "DI ", ""])).unwrap(),
            vec![false, true, false, true]
        );
        match choices(&c, &names(&["dii"])) {
            Err(e @ VoterError::UnknownCandidate { .. }) => {
                assert!(e.to_string().contains("did you mean \"di\"?"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            choices(&c, &names(&["bo", "BO"])),
            Err(VoterError::DuplicateApproval(_))
        ));
        assert!(matches!(
            choices(&c, &names(&["bo", "bo"])),
            Err(VoterError::DuplicateApproval(_))
        ));
        assert!(matches!(
            choices(&c, &names(&[])),
            Err(VoterError::ApprovalCount { count: 0, .. })
        ));
        assert!(matches!(
            choices(&c, &names(&["ana", "bo", "cy"])),
            Err(VoterError::ApprovalCount { count: 3, .. })
        ));
    }

    #[test]
    fn a_credential_session_can_be_retried_and_its_ballot_verifies() {
        let mut rng = ChaCha20Rng::from_seed([2; 32]);
        let registrar = RegistrarKey::generate(&mut rng);
        let c = constituency(&registrar);
        let member_key = SigningKey::from_bytes(&[5; 32]);
        let ballot_key = BallotSecretKey::generate(&mut rng);
        let ctx = CredentialContext::new(ELECTION, "north");
        let (mut signer, commitment) = SignerState::commit(&registrar, &ctx, &mut rng);

        // The blinding is derived from the stored seed: a retry sends the same challenge
        // and the same (deterministically signed) issuance entry.
        let seed = [6; 32];
        let (_, first) = blind(
            &c.registrar_key,
            &ELECTION,
            "north",
            &ballot_key,
            &commitment,
            &seed,
        )
        .unwrap();
        let (state, again) = blind(
            &c.registrar_key,
            &ELECTION,
            "north",
            &ballot_key,
            &commitment,
            &seed,
        )
        .unwrap();
        assert_eq!(first.e, again.e);
        let member = urne_crypto::entry::member_id(&ELECTION, "ana");
        let e1 = urne_crypto::voter::issuance(
            ELECTION,
            member,
            "north",
            &commitment,
            &first,
            &member_key,
        );
        let e2 = urne_crypto::voter::issuance(
            ELECTION,
            member,
            "north",
            &commitment,
            &again,
            &member_key,
        );
        assert_eq!(e1.to_bytes(), e2.to_bytes());
        e1.verify_signer(&member_key.verifying_key().to_bytes())
            .unwrap();

        let response = signer.respond(&registrar, &again).unwrap();
        // A response for another session does not unblind.
        let (mut other, _) = SignerState::commit(&registrar, &ctx, &mut rng);
        let wrong = other.respond(&registrar, &again).unwrap();
        let (state2, _) = blind(
            &c.registrar_key,
            &ELECTION,
            "north",
            &ballot_key,
            &commitment,
            &seed,
        )
        .unwrap();
        assert!(finish(
            state2,
            &wrong,
            &c.registrar_key,
            &ELECTION,
            "north",
            &ballot_key
        )
        .is_err());
        let credential = finish(
            state,
            &response,
            &c.registrar_key,
            &ELECTION,
            "north",
            &ballot_key,
        )
        .unwrap();

        let pk = RistrettoPoint::mul_base(&curve25519_dalek::scalar::Scalar::from(77u64));
        let choice = choices(&c, &["cy".to_string()]).unwrap();
        let body = ballot_body(
            ELECTION,
            &c,
            &pk,
            &ballot_key,
            &credential,
            &choice,
            &mut rng,
        )
        .unwrap();
        let entry = sign_ballot(ELECTION, body, &ballot_key, &mut rng);
        assert!(entry.is_anonymous());
        let ballot: Ballot = entry.body().unwrap();
        let statement =
            BallotStatement::new(ELECTION, "north", pk, ballot_key.public_key(), 4, 1, 2).unwrap();
        ballot.body.vote.verify(&statement).unwrap();
        schnorr::verify(
            &ballot_key.public_key(),
            &ELECTION,
            "north",
            &ballot.body.to_bytes(),
            &ballot.signature,
        )
        .unwrap();
        credential
            .verify(&c.registrar_key, &ctx, ballot_key.public_key().as_bytes())
            .unwrap();
        // A choice vector outside the rule is refused before proving.
        assert!(ballot_body(
            ELECTION,
            &c,
            &pk,
            &ballot_key,
            &credential,
            &[true; 4],
            &mut rng
        )
        .is_err());
    }

    #[test]
    fn a_ballot_is_held_back_only_after_a_credential_taken_during_the_vote() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let before = CredentialTime {
            at: 1_000,
            while_open: false,
        };
        assert_eq!(cast_delay(Some(before), 1_001, 900, &mut rng), 0);
        assert_eq!(cast_delay(None, 1_001, 900, &mut rng), 0);
        let during = CredentialTime {
            at: 1_000,
            while_open: true,
        };
        assert_eq!(
            cast_delay(Some(during), 1_900, 900, &mut rng),
            0,
            "long ago"
        );
        assert_eq!(cast_delay(Some(during), 1_001, 0, &mut rng), 0, "--now");
        let delays: Vec<u64> = (0..2_000)
            .map(|_| cast_delay(Some(during), 1_000, 900, &mut rng))
            .collect();
        assert!(delays.iter().all(|d| (1..=900).contains(d)));
        // Spread over the whole window, not bunched at one end.
        assert!(delays.iter().any(|d| *d < 100) && delays.iter().any(|d| *d > 800));
        // Time already waited counts.
        assert!((0..500).all(|_| cast_delay(Some(during), 1_600, 900, &mut rng) <= 300));
    }
}
