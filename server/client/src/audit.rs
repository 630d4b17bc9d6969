//! The cast-as-intended check (a Benaloh challenge): before casting, a voter
//! may ask to see that the ballot the device built encrypts exactly the
//! choices shown. The device then opens that ballot (reveals each
//! ciphertext's randomness with the choices) as a small file and discards
//! it; the ballot cast afterwards is always freshly encrypted, so the opened
//! one reveals nothing about the real vote.
//!
//! The file (JSON, `format` = [`AUDIT_FORMAT`]) names the election, the
//! constituency, the election key `PK`, the ballot key, the candidates in
//! order, the approved ones, the encrypted vote (canonical CBOR, hex) and
//! the randomness `r_i` (canonical scalars, hex). [`BallotAudit::verify`]
//! checks, for every candidate `i`, that ciphertext `i` equals
//! `(r_i·G, m_i·H + r_i·PK)` with `m_i` = 1 exactly for the approved
//! candidates, and that the vote's proofs verify for its statement. A
//! device that encrypted other choices than it showed is caught as soon as
//! any voter audits; it cannot know in advance which ballot will be audited.
//!
//! # Secrets and timing
//! The opened ballot is no secret once revealed (it is never cast); the
//! checks see only public values and may run in variable time.
//!
//! Not here: checking the file's election key and candidates against the
//! board (the caller passes what it read from the board's setup).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use urne_crypto::ballot::{BallotStatement, EncryptedVote};
use urne_crypto::elgamal::Ciphertext;
use urne_crypto::encoding::Canonical;
use urne_crypto::group::{decode_nonidentity_point, decode_scalar};
use urne_crypto::manifest::{Constituency, ElectionId, Manifest};
use urne_crypto::schnorr::BallotPublicKey;

/// The `format` of an audit file.
pub const AUDIT_FORMAT: &str = "urne-ballot-audit-v1";

/// Why an audit file does not show that its ballot encrypts its choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file is not an urne ballot audit, or a field is malformed.
    #[error("not a readable ballot audit file: {0}")]
    Malformed(String),
    /// The file was made for another election key or candidate list than the board's.
    #[error("the audit file does not match the election on the board: {0}")]
    OtherElection(String),
    /// The vote's proofs do not verify for its statement.
    #[error("the encrypted ballot's proofs do not verify: {0}")]
    Proof(String),
    /// The ciphertext of a candidate is not the encryption of the choice shown.
    #[error("the ballot does not encrypt the choice shown for candidate {candidate:?}")]
    Mismatch {
        /// The candidate whose ciphertext differs.
        candidate: String,
    },
}

impl AuditError {
    /// The refusal's stable code (the web pages' error codes).
    pub fn code(&self) -> &'static str {
        match self {
            AuditError::Malformed(_) => "audit_malformed",
            AuditError::OtherElection(_) => "audit_other_election",
            AuditError::Proof(_) => "audit_proof",
            AuditError::Mismatch { .. } => "audit_mismatch",
        }
    }
}

/// An opened ballot, as written to the audit file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotAudit {
    /// Always [`AUDIT_FORMAT`].
    pub format: String,
    /// Election id, hex.
    pub election: String,
    /// Constituency id.
    pub constituency: String,
    /// Election key `PK` (compressed Ristretto), hex.
    pub election_key: String,
    /// The ballot key the vote's proofs are bound to, hex.
    pub ballot_key: String,
    /// Fewest approvals allowed.
    pub approval_min: u32,
    /// Most approvals allowed.
    pub approval_max: u32,
    /// Candidate ids in ballot order.
    pub candidates: Vec<String>,
    /// The approved candidate ids, in ballot order.
    pub approved: Vec<String>,
    /// The encrypted vote's canonical bytes, hex.
    pub vote: String,
    /// The randomness of each ciphertext, in candidate order, hex.
    pub randomness: Vec<String>,
}

/// What a verified audit shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditedChoices {
    /// The constituency.
    pub constituency: String,
    /// The approved candidate ids, in ballot order.
    pub approved: Vec<String>,
    /// Number of candidates on the ballot.
    pub candidates: usize,
}

impl BallotAudit {
    /// Encrypts and proves `choices` as a real ballot would be, and opens it.
    /// The result must never be cast: the caller discards the vote.
    pub fn challenge<R: CryptoRng>(
        election: ElectionId,
        constituency: &Constituency,
        election_key: &RistrettoPoint,
        ballot_key: BallotPublicKey,
        choices: &[bool],
        rng: &mut R,
    ) -> Result<BallotAudit, AuditError> {
        let statement = BallotStatement::new(
            election,
            constituency.id.clone(),
            *election_key,
            ballot_key,
            constituency.candidates.len() as u32,
            constituency.approval_min,
            constituency.approval_max,
        )
        .map_err(|e| AuditError::Proof(e.to_string()))?;
        let (vote, opening) = EncryptedVote::prove(&statement, choices, rng)
            .map_err(|e| AuditError::Proof(e.to_string()))?;
        let ids: Vec<String> = constituency
            .candidates
            .iter()
            .map(|c| c.id.clone())
            .collect();
        Ok(BallotAudit {
            format: AUDIT_FORMAT.into(),
            election: hex::encode(election),
            constituency: constituency.id.clone(),
            election_key: hex::encode(election_key.compress().to_bytes()),
            ballot_key: hex::encode(ballot_key.as_bytes()),
            approval_min: constituency.approval_min,
            approval_max: constituency.approval_max,
            approved: ids
                .iter()
                .zip(choices)
                .filter(|(_, &c)| c)
                .map(|(id, _)| id.clone())
                .collect(),
            candidates: ids,
            vote: hex::encode(vote.to_bytes()),
            randomness: opening
                .randomness()
                .iter()
                .map(|r| hex::encode(r.to_bytes()))
                .collect(),
        })
    }

    /// [`BallotAudit::verify`] against the board's `manifest` and election
    /// key `pk`: the file's constituency must be one of the manifest's.
    pub fn verify_on_board(
        &self,
        manifest: &Manifest,
        pk: &RistrettoPoint,
    ) -> Result<AuditedChoices, AuditError> {
        let c = manifest.constituency(&self.constituency).ok_or_else(|| {
            AuditError::OtherElection(format!("no constituency {:?}", self.constituency))
        })?;
        self.verify(Some((&manifest.election_id(), c, pk)))
    }

    /// Checks that the vote encrypts exactly the approved candidates under
    /// the election key, with valid proofs. With `board`, the election key
    /// and the constituency's candidates and rule must also be the board's.
    pub fn verify(
        &self,
        board: Option<(&ElectionId, &Constituency, &RistrettoPoint)>,
    ) -> Result<AuditedChoices, AuditError> {
        let bad = |what: &str| AuditError::Malformed(what.to_string());
        if self.format != AUDIT_FORMAT {
            return Err(bad("unknown format"));
        }
        let election: ElectionId = hex32(&self.election).ok_or_else(|| bad("election id"))?;
        let pk = hex32(&self.election_key)
            .and_then(|b| decode_nonidentity_point(&b).ok())
            .ok_or_else(|| bad("election key"))?;
        let ballot_key = hex32(&self.ballot_key)
            .and_then(|b| decode_nonidentity_point(&b).ok())
            .and_then(BallotPublicKey::new)
            .ok_or_else(|| bad("ballot key"))?;
        if let Some((id, c, key)) = board {
            let ids: Vec<&str> = c.candidates.iter().map(|c| c.id.as_str()).collect();
            let same = *id == election
                && c.id == self.constituency
                && *key == pk
                && ids
                    == self
                        .candidates
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                && c.approval_min == self.approval_min
                && c.approval_max == self.approval_max;
            if !same {
                return Err(AuditError::OtherElection(format!(
                    "election {}, constituency {:?}",
                    self.election, self.constituency
                )));
            }
        }
        let bytes = hex::decode(&self.vote).map_err(|_| bad("vote"))?;
        let vote = EncryptedVote::from_bytes(&bytes).map_err(|_| bad("vote"))?;
        let n = self.candidates.len();
        if self.randomness.len() != n || vote.ciphertexts().len() != n {
            return Err(bad("one ciphertext and one randomness per candidate"));
        }
        // The approved list, in ballot order, each candidate once.
        let mut choices = vec![false; n];
        let mut last = None;
        for a in &self.approved {
            let i = self
                .candidates
                .iter()
                .position(|c| c == a)
                .ok_or_else(|| bad("an approved candidate is not on the ballot"))?;
            if last.is_some_and(|l| i <= l) {
                return Err(bad("approved candidates out of ballot order or repeated"));
            }
            last = Some(i);
            choices[i] = true;
        }
        let statement = BallotStatement::new(
            election,
            self.constituency.clone(),
            pk,
            ballot_key,
            n as u32,
            self.approval_min,
            self.approval_max,
        )
        .map_err(|e| AuditError::Proof(e.to_string()))?;
        vote.verify(&statement)
            .map_err(|e| AuditError::Proof(e.to_string()))?;
        for (i, ((ct, r), &m)) in vote
            .ciphertexts()
            .iter()
            .zip(&self.randomness)
            .zip(&choices)
            .enumerate()
        {
            let r: Scalar = hex32(r)
                .and_then(|b| decode_scalar(&b).ok())
                .ok_or_else(|| bad("randomness"))?;
            let expected = Ciphertext::encrypt_with_randomness(&pk, &Scalar::from(u8::from(m)), &r);
            if expected != *ct {
                return Err(AuditError::Mismatch {
                    candidate: self.candidates[i].clone(),
                });
            }
        }
        Ok(AuditedChoices {
            constituency: self.constituency.clone(),
            approved: self.approved.clone(),
            candidates: n,
        })
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use urne_crypto::credential::RegistrarKey;
    use urne_crypto::manifest::Candidate;
    use urne_crypto::schnorr::BallotSecretKey;
    use urne_crypto::seats::{ParityRule, SeatRules};

    fn setup() -> (ChaCha20Rng, Constituency, RistrettoPoint, BallotPublicKey) {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let c = Constituency {
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
            registrar_key: RegistrarKey::generate(&mut rng).public(),
        };
        let pk = RistrettoPoint::mul_base(&Scalar::from(77u64));
        let key = BallotSecretKey::generate(&mut rng).public_key();
        (rng, c, pk, key)
    }

    #[test]
    fn an_opened_ballot_shows_exactly_its_choices() {
        let (mut rng, c, pk, key) = setup();
        let audit =
            BallotAudit::challenge([4; 32], &c, &pk, key, &[false, true, false, true], &mut rng)
                .unwrap();
        let json = serde_json::to_string(&audit).unwrap();
        let back: BallotAudit = serde_json::from_str(&json).unwrap();
        let shown = back.verify(Some((&[4; 32], &c, &pk))).unwrap();
        assert_eq!(shown.approved, vec!["bo".to_string(), "di".to_string()]);
    }

    #[test]
    fn an_audit_claiming_other_choices_is_rejected() {
        let (mut rng, c, pk, key) = setup();
        let audit = BallotAudit::challenge(
            [4; 32],
            &c,
            &pk,
            key,
            &[false, true, false, false],
            &mut rng,
        )
        .unwrap();
        // The device shows "cy" but encrypted "bo".
        let mut lie = audit.clone();
        lie.approved = vec!["cy".into()];
        assert_eq!(
            lie.verify(None),
            Err(AuditError::Mismatch {
                candidate: "bo".into()
            })
        );
        // Wrong randomness for one candidate.
        let mut lie = audit.clone();
        lie.randomness[2] = hex::encode(Scalar::from(5u8).to_bytes());
        assert_eq!(
            lie.verify(None),
            Err(AuditError::Mismatch {
                candidate: "cy".into()
            })
        );
        // Another election key than the board's.
        let other = RistrettoPoint::mul_base(&Scalar::from(78u64));
        assert!(matches!(
            audit.verify(Some((&[4; 32], &c, &other))),
            Err(AuditError::OtherElection(_))
        ));
        // A tampered vote no longer proves.
        let mut lie = audit.clone();
        lie.approval_max = 1;
        assert!(matches!(lie.verify(None), Err(AuditError::Proof(_))));
        // Unreadable fields.
        let mut lie = audit.clone();
        lie.randomness[0] = "ff".repeat(32);
        assert_eq!(
            lie.verify(None),
            Err(AuditError::Malformed("randomness".into()))
        );
        let mut lie = audit;
        lie.approved = vec!["bo".into(), "bo".into()];
        assert!(matches!(lie.verify(None), Err(AuditError::Malformed(_))));
    }
}
