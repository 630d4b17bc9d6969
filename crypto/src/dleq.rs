//! Chaum–Pedersen proofs of discrete-log equality (DLEQ).
//!
//! A proof shows knowledge of `x` with `P1 = x·B1` and `P2 = x·B2` for public
//! bases `B1, B2` and public points `P1, P2`, without revealing `x`. It is the
//! compact `(c, z)` form: the verifier recomputes the prover's commitments
//! `T1 = z·B1 − c·P1`, `T2 = z·B2 − c·P2` and re-derives the challenge.
//!
//! The caller starts the [`ProofTranscript`] and absorbs its context (who
//! proves what, about which objects) before calling [`prove`] or [`verify`];
//! this module then absorbs the statement itself, the commitments, and draws
//! the challenge (`specs/protocol.md` §5.7).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::transcript::ProofTranscript;

/// Why a DLEQ proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DleqError {
    /// The recomputed challenge differs from the proof's challenge.
    #[error("invalid discrete-log equality proof")]
    InvalidProof,
}

/// The statement `log_{B1}(P1) = log_{B2}(P2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DleqStatement {
    /// First base `B1`.
    pub base1: RistrettoPoint,
    /// First image `P1 = x·B1`.
    pub public1: RistrettoPoint,
    /// Second base `B2`.
    pub base2: RistrettoPoint,
    /// Second image `P2 = x·B2`.
    pub public2: RistrettoPoint,
}

/// A Chaum–Pedersen proof `(c, z)`; canonical encoding `[c, z]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct DleqProof {
    /// The challenge `c`.
    #[cbor(n(0), with = "crate::encoding::scalar")]
    pub challenge: Scalar,
    /// The response `z = k + c·x`.
    #[cbor(n(1), with = "crate::encoding::scalar")]
    pub response: Scalar,
}

fn challenge(
    transcript: &mut ProofTranscript,
    st: &DleqStatement,
    t1: &RistrettoPoint,
    t2: &RistrettoPoint,
) -> Scalar {
    transcript.append_point(b"dleq/B1", &st.base1);
    transcript.append_point(b"dleq/P1", &st.public1);
    transcript.append_point(b"dleq/B2", &st.base2);
    transcript.append_point(b"dleq/P2", &st.public2);
    transcript.append_point(b"dleq/T1", t1);
    transcript.append_point(b"dleq/T2", t2);
    transcript.challenge_scalar(b"dleq/c")
}

/// Proves `log_{B1}(P1) = log_{B2}(P2) = secret`, continuing `transcript`.
///
/// The caller is responsible for the statement being true; a false statement
/// yields a proof that does not verify.
pub fn prove<R: CryptoRng + ?Sized>(
    transcript: &mut ProofTranscript,
    statement: &DleqStatement,
    secret: &Scalar,
    rng: &mut R,
) -> DleqProof {
    let k = Zeroizing::new(Scalar::random(rng));
    let t1 = statement.base1 * *k;
    let t2 = statement.base2 * *k;
    let c = challenge(transcript, statement, &t1, &t2);
    DleqProof {
        challenge: c,
        response: *k + c * secret,
    }
}

/// Verifies `proof` for `statement`, continuing `transcript`.
pub fn verify(
    transcript: &mut ProofTranscript,
    statement: &DleqStatement,
    proof: &DleqProof,
) -> Result<(), DleqError> {
    let (c, z) = (proof.challenge, proof.response);
    let t1 = RistrettoPoint::vartime_multiscalar_mul([z, -c], [statement.base1, statement.public1]);
    let t2 = RistrettoPoint::vartime_multiscalar_mul([z, -c], [statement.base2, statement.public2]);
    if challenge(transcript, statement, &t1, &t2) == c {
        Ok(())
    } else {
        Err(DleqError::InvalidProof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Canonical;
    use crate::group::{hash_to_group, G};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn setup() -> (DleqStatement, Scalar, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let x = Scalar::random(&mut rng);
        let b2 = hash_to_group("urne/v1/test-dleq", &[]);
        let st = DleqStatement {
            base1: G,
            public1: G * x,
            base2: b2,
            public2: b2 * x,
        };
        (st, x, rng)
    }

    fn t(ctx: &[u8]) -> ProofTranscript {
        ProofTranscript::new(b"urne/v1/test-dleq", b"election", ctx)
    }

    #[test]
    fn honest_proof_verifies_and_round_trips() {
        let (st, x, mut rng) = setup();
        let proof = prove(&mut t(b"k"), &st, &x, &mut rng);
        assert_eq!(verify(&mut t(b"k"), &st, &proof), Ok(()));
        assert_eq!(DleqProof::from_bytes(&proof.to_bytes()), Ok(proof));
    }

    #[test]
    fn rejects_false_statement_other_context_and_tampering() {
        let (st, x, mut rng) = setup();
        let proof = prove(&mut t(b"k"), &st, &x, &mut rng);
        assert_eq!(
            verify(&mut t(b"other"), &st, &proof),
            Err(DleqError::InvalidProof)
        );
        let mut bad = st;
        bad.public2 += G;
        assert_eq!(
            verify(&mut t(b"k"), &bad, &proof),
            Err(DleqError::InvalidProof)
        );
        // A prover who lies about P2 cannot make the proof verify.
        let lie = prove(&mut t(b"k"), &bad, &x, &mut rng);
        assert_eq!(
            verify(&mut t(b"k"), &bad, &lie),
            Err(DleqError::InvalidProof)
        );
        let mut tampered = proof;
        tampered.response += Scalar::ONE;
        assert_eq!(
            verify(&mut t(b"k"), &st, &tampered),
            Err(DleqError::InvalidProof)
        );
    }
}
