//! Voting credentials: partially blind Schnorr-style signatures (Tessaro–Zhu 2022).
//!
//! The registrar signs a voter's one-time ballot key `P` without seeing it,
//! under *public info* `ctx = (election id, constituency)` that both sides
//! know. Unlike plain blind Schnorr, the scheme stays unforgeable when many
//! signing sessions run concurrently: the ROS attack does not apply, because
//! the signer's `y` is only revealed after the challenge is fixed.
//!
//! Notation (`specs/protocol.md` §3): registrar key `x`, `X = x·G`;
//! `Z = HashToGroup("urne/v1/credential/Z", [election id, constituency])`.
//!
//! ```text
//! signer                                   user (message m, public X, ctx)
//! a, y ←$ Zℓ*, t ←$ Zℓ
//! A = a·G, C = t·G + y·Z     ── A, C ──▶
//!                                          r1, r2, γ1, γ2 ←$ Zℓ*, γ = γ1/γ2
//!                                          A' = r1·G + γ·A, C' = γ1·C + r2·G
//!                                          c = Hash(ctx, X, A', C', m)
//!                            ◀── e ──      e = c·γ2
//! s = a + e·y·x              ── s, y, t ▶  check C = t·G + y·Z, s·G = A + (e·y)·X
//!                                          σ = (c, γ·s + r1, γ1·y, γ1·t + r2)
//! ```
//!
//! Signer sessions are one-shot ([`SignerState::respond`]): answering two
//! different challenges with the same `(a, y)` would reveal `x`.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use minicbor::decode::Decoder;
use minicbor::encode::{Encoder, Write};
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::DecodeError;
use crate::group::{decode_nonidentity_point, decode_nonzero_scalar, hash_to_group, GroupError};
use crate::transcript::ProofTranscript;

/// Transcript label of the credential challenge `c`.
pub const TRANSCRIPT_LABEL: &[u8] = b"urne/v1/credential";

/// Hash-to-group domain of the public-info point `Z`.
pub const Z_LABEL: &str = "urne/v1/credential/Z";

/// Why a credential operation or decoding failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CredentialError {
    /// The bytes are not the canonical encoding of the expected object.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A registrar key (public or secret) was refused.
    #[error("invalid registrar key: {0}")]
    Key(GroupError),
    /// A stored signer state holds values the signer never produces.
    #[error("invalid signer state")]
    InvalidState,
    /// The challenge `e` is zero.
    #[error("zero challenge")]
    ZeroChallenge,
    /// The session already answered a different challenge.
    #[error("signing session already answered a different challenge")]
    ChallengeMismatch,
    /// The session was opened under another registrar key.
    #[error("signing session belongs to another registrar key")]
    KeyMismatch,
    /// The signer's commitment contains the identity point.
    #[error("identity point in signer commitment")]
    IdentityCommitment,
    /// The signer's `(y, t)` do not open `C`, or `y = 0`.
    #[error("signer response does not open the commitment")]
    BadOpening,
    /// The signer's `s` fails `s·G = A + (e·y)·X`.
    #[error("signer response fails the signature equation")]
    BadResponse,
    /// The credential's challenge `c` is zero.
    #[error("credential challenge is zero")]
    ZeroC,
    /// The credential's `y'` is zero.
    #[error("credential y is zero")]
    ZeroY,
    /// The credential does not verify for this key, context and message.
    #[error("invalid credential")]
    Invalid,
}

/// The public info a credential is bound to: election and constituency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct CredentialContext {
    /// The election id.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub election_id: [u8; 32],
    /// The constituency id (UTF-8).
    #[n(1)]
    pub constituency: String,
}

impl CredentialContext {
    /// Builds the context of `constituency` in election `election_id`.
    pub fn new(election_id: [u8; 32], constituency: impl Into<String>) -> Self {
        Self {
            election_id,
            constituency: constituency.into(),
        }
    }

    /// `Z = HashToGroup("urne/v1/credential/Z", [election id, constituency])`.
    pub fn z(&self) -> RistrettoPoint {
        hash_to_group(Z_LABEL, &[&self.election_id, self.constituency.as_bytes()])
    }
}

/// The registrar's public key `X = x·G` (never the identity).
///
/// [`Self::to_bytes`] is the bare 32-byte point; as a field of a CBOR object
/// (its `minicbor` impls) it is a 32-byte byte string holding the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarPublicKey(RistrettoPoint);

impl RegistrarPublicKey {
    /// The 32-byte canonical point encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }

    /// Decodes a canonical, non-identity point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CredentialError> {
        decode_nonidentity_point(bytes)
            .map(Self)
            .map_err(CredentialError::Key)
    }

    /// The point `X`.
    pub fn point(&self) -> RistrettoPoint {
        self.0
    }
}

// Inside CBOR objects the key is a 32-byte string holding the point encoding.
impl<C> Encode<C> for RegistrarPublicKey {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        crate::encoding::point::encode(&self.0, e, ctx)
    }
}

impl<'b, C> Decode<'b, C> for RegistrarPublicKey {
    fn decode(d: &mut Decoder<'b>, ctx: &mut C) -> Result<Self, minicbor::decode::Error> {
        crate::encoding::nonidentity_point::decode(d, ctx).map(Self)
    }
}

/// The registrar's secret signing key `x` (non-zero), zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RegistrarKey {
    x: Scalar,
    public: RistrettoPoint,
}

impl RegistrarKey {
    /// Draws a fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_scalar(nonzero_scalar(rng))
    }

    fn from_scalar(x: Scalar) -> Self {
        Self {
            x,
            public: RistrettoPoint::mul_base(&x),
        }
    }

    /// The public key `X = x·G`.
    pub fn public(&self) -> RegistrarPublicKey {
        RegistrarPublicKey(self.public)
    }

    /// The storage encoding of `x`: its 32-byte little-endian scalar encoding.
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.x.as_bytes().to_vec())
    }

    /// Decodes [`Self::to_secret_bytes`]: a reduced, non-zero scalar.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, CredentialError> {
        decode_nonzero_scalar(bytes)
            .map(Self::from_scalar)
            .map_err(CredentialError::Key)
    }
}

impl core::fmt::Debug for RegistrarKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RegistrarKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// First signer message: `A = a·G`, `C = t·G + y·Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct SignerCommitment {
    /// `A = a·G`.
    #[cbor(n(0), with = "crate::encoding::nonidentity_point")]
    pub a: RistrettoPoint,
    /// `C = t·G + y·Z`.
    #[cbor(n(1), with = "crate::encoding::nonidentity_point")]
    pub c: RistrettoPoint,
}

/// The user's blinded challenge `e = c·γ2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct BlindChallenge {
    /// `e`.
    #[cbor(n(0), with = "crate::encoding::scalar")]
    pub e: Scalar,
}

/// Second signer message: `s = a + e·y·x` and the opening `(y, t)` of `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct SignerResponse {
    /// `s = a + e·y·x`.
    #[cbor(n(0), with = "crate::encoding::scalar")]
    pub s: Scalar,
    /// `y`.
    #[cbor(n(1), with = "crate::encoding::scalar")]
    pub y: Scalar,
    /// `t`.
    #[cbor(n(2), with = "crate::encoding::scalar")]
    pub t: Scalar,
}

/// A credential `σ = (c, s', y', t')` on a message under a registrar key and context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Credential {
    /// The challenge `c`.
    #[cbor(n(0), with = "crate::encoding::scalar")]
    pub c: Scalar,
    /// `s' = γ·s + r1`.
    #[cbor(n(1), with = "crate::encoding::scalar")]
    pub s: Scalar,
    /// `y' = γ1·y`.
    #[cbor(n(2), with = "crate::encoding::scalar")]
    pub y: Scalar,
    /// `t' = γ1·t + r2`.
    #[cbor(n(3), with = "crate::encoding::scalar")]
    pub t: Scalar,
}

impl Credential {
    /// Verifies the credential on `message` under `key` and `ctx`:
    /// `c ≠ 0`, `y' ≠ 0`, and `c = Hash(ctx, X, s'·G − (c·y')·X, t'·G + y'·Z, m)`.
    pub fn verify(
        &self,
        key: &RegistrarPublicKey,
        ctx: &CredentialContext,
        message: &[u8],
    ) -> Result<(), CredentialError> {
        if self.c == Scalar::ZERO {
            return Err(CredentialError::ZeroC);
        }
        if self.y == Scalar::ZERO {
            return Err(CredentialError::ZeroY);
        }
        // Public inputs only: variable-time arithmetic is fine here.
        let c_star =
            RistrettoPoint::vartime_double_scalar_mul_basepoint(&self.y, &ctx.z(), &self.t);
        let a_star = RistrettoPoint::vartime_double_scalar_mul_basepoint(
            &-(self.c * self.y),
            &key.0,
            &self.s,
        );
        let expected = challenge(ctx, key, &a_star, &c_star, message);
        if bool::from(expected.ct_eq(&self.c)) {
            Ok(())
        } else {
            Err(CredentialError::Invalid)
        }
    }
}

/// `c = Hash(ctx, X, A', C', m)`: a merlin transcript (see `specs/protocol.md` §3.3).
fn challenge(
    ctx: &CredentialContext,
    key: &RegistrarPublicKey,
    a: &RistrettoPoint,
    c: &RistrettoPoint,
    message: &[u8],
) -> Scalar {
    let mut t = ProofTranscript::new(
        TRANSCRIPT_LABEL,
        &ctx.election_id,
        ctx.constituency.as_bytes(),
    );
    t.append_point(b"X", &key.0);
    t.append_point(b"A", a);
    t.append_point(b"C", c);
    t.append_bytes(b"m", message);
    t.challenge_scalar(b"c")
}

fn nonzero_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

/// The signer's side of one issuance session, persisted between commit and respond.
///
/// Holds the nonce `a`, the opening `(y, t)` of `C`, the registrar key it was
/// opened under, and the challenge it answered (if any). The response is a
/// deterministic function of these, so a repeated identical challenge gets
/// the identical response back.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SignerState {
    key: RistrettoPoint,
    a: Scalar,
    y: Scalar,
    t: Scalar,
    /// The answered challenge; zero while unanswered (a zero challenge is refused).
    e: Scalar,
}

/// Stored form of [`SignerState`]; kept private so the encoding never leaves
/// the crate in a buffer that is not zeroized.
#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
#[cbor(array)]
struct SignerStateRecord {
    #[cbor(n(0), with = "crate::encoding::nonidentity_point")]
    key: RistrettoPoint,
    #[cbor(n(1), with = "crate::encoding::scalar")]
    a: Scalar,
    #[cbor(n(2), with = "crate::encoding::scalar")]
    y: Scalar,
    #[cbor(n(3), with = "crate::encoding::scalar")]
    t: Scalar,
    #[cbor(n(4), with = "crate::encoding::scalar")]
    e: Scalar,
}

/// Length of every [`SignerState`] encoding: array header + 5 × (2 + 32).
const SIGNER_STATE_LEN: usize = 1 + 5 * 34;

impl SignerState {
    /// Opens a session: draws `a, y ≠ 0` and `t`, and returns the commitment `(A, C)`.
    pub fn commit<R: CryptoRng + ?Sized>(
        key: &RegistrarKey,
        ctx: &CredentialContext,
        rng: &mut R,
    ) -> (Self, SignerCommitment) {
        let state = Self {
            key: key.public,
            a: nonzero_scalar(rng),
            y: nonzero_scalar(rng),
            t: Scalar::random(rng),
            e: Scalar::ZERO,
        };
        let commitment = state.commitment(ctx);
        (state, commitment)
    }

    /// Recomputes this session's commitment `(A, C)` (for a client that lost it).
    pub fn commitment(&self, ctx: &CredentialContext) -> SignerCommitment {
        SignerCommitment {
            a: RistrettoPoint::mul_base(&self.a),
            c: RistrettoPoint::mul_base(&self.t) + self.y * ctx.z(),
        }
    }

    /// Whether the session has answered a challenge.
    pub fn is_answered(&self) -> bool {
        self.e != Scalar::ZERO
    }

    /// Answers `challenge` with `s = a + e·y·x`, once: the first call fixes `e`;
    /// the same `e` again returns the same response; any other `e` is refused.
    pub fn respond(
        &mut self,
        key: &RegistrarKey,
        challenge: &BlindChallenge,
    ) -> Result<SignerResponse, CredentialError> {
        if key.public != self.key {
            return Err(CredentialError::KeyMismatch);
        }
        if challenge.e == Scalar::ZERO {
            return Err(CredentialError::ZeroChallenge);
        }
        if self.is_answered() && self.e != challenge.e {
            return Err(CredentialError::ChallengeMismatch);
        }
        self.e = challenge.e;
        Ok(SignerResponse {
            s: self.a + self.e * self.y * key.x,
            y: self.y,
            t: self.t,
        })
    }

    /// The canonical encoding (see `specs/protocol.md` §3.4), in a zeroizing buffer.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let record = SignerStateRecord {
            key: self.key,
            a: self.a,
            y: self.y,
            t: self.t,
            e: self.e,
        };
        encode_secret(&record)
    }

    /// Decodes [`Self::to_bytes`], strictly: canonical CBOR, `a ≠ 0`, `y ≠ 0`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CredentialError> {
        if bytes.len() != SIGNER_STATE_LEN {
            return Err(DecodeError::Malformed(format!(
                "signer state must be {SIGNER_STATE_LEN} bytes"
            ))
            .into());
        }
        let record: SignerStateRecord = minicbor::decode(bytes)
            .map_err(|e| CredentialError::from(DecodeError::Malformed(e.to_string())))?;
        if encode_secret(&record).as_slice() != bytes {
            return Err(DecodeError::NonCanonical.into());
        }
        if record.a == Scalar::ZERO || record.y == Scalar::ZERO {
            return Err(CredentialError::InvalidState);
        }
        Ok(Self {
            key: record.key,
            a: record.a,
            y: record.y,
            t: record.t,
            e: record.e,
        })
    }
}

/// Encodes into a buffer allocated once at its final size, so no reallocation
/// leaves an unzeroized copy behind.
fn encode_secret(record: &SignerStateRecord) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(SIGNER_STATE_LEN));
    // Writing to a Vec cannot fail and the field codecs never emit errors.
    minicbor::encode(record, &mut *out).expect("CBOR encoding into a Vec is infallible");
    out
}

impl core::fmt::Debug for SignerState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignerState")
            .field("answered", &self.is_answered())
            .finish_non_exhaustive()
    }
}

/// The user's side of one issuance session: the blinding factors, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct UserState {
    key: RistrettoPoint,
    z: RistrettoPoint,
    commitment_a: RistrettoPoint,
    commitment_c: RistrettoPoint,
    e: Scalar,
    c: Scalar,
    gamma: Scalar,
    gamma1: Scalar,
    r1: Scalar,
    r2: Scalar,
}

/// The user's blinding factors `r1, r2, γ1, γ2` of one attempt at blinding
/// (§3.2 step 2.2), zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BlindingFactors {
    /// `r1`.
    pub r1: Scalar,
    /// `r2`.
    pub r2: Scalar,
    /// `γ1`.
    pub gamma1: Scalar,
    /// `γ2`.
    pub gamma2: Scalar,
}

impl UserState {
    /// Blinds `message` against the signer's `commitment` and returns the
    /// challenge `e = c·γ2` to send. Refuses identity commitments.
    pub fn blind<R: CryptoRng + ?Sized>(
        key: &RegistrarPublicKey,
        ctx: &CredentialContext,
        message: &[u8],
        commitment: &SignerCommitment,
        rng: &mut R,
    ) -> Result<(Self, BlindChallenge), CredentialError> {
        if commitment.a.is_identity() || commitment.c.is_identity() {
            return Err(CredentialError::IdentityCommitment);
        }
        let z = ctx.z();
        loop {
            let factors = BlindingFactors {
                r1: nonzero_scalar(rng),
                r2: nonzero_scalar(rng),
                gamma1: nonzero_scalar(rng),
                gamma2: nonzero_scalar(rng),
            };
            // c = 0 happens with probability 1/ℓ; it would give e = 0, which
            // the signer refuses, so draw fresh factors instead.
            if let Some(blinded) = Self::blind_once(key, ctx, z, message, commitment, &factors) {
                return Ok(blinded);
            }
        }
    }

    /// [`Self::blind`] with the factors of attempt `n = 0, 1, …` given by
    /// `factors(n)` instead of drawn: the first attempt whose factors are all
    /// non-zero and give `c ≠ 0` is used. With factors derived from a secret
    /// (§3.9), blinding again reproduces the same challenge and state.
    pub fn blind_with(
        key: &RegistrarPublicKey,
        ctx: &CredentialContext,
        message: &[u8],
        commitment: &SignerCommitment,
        mut factors: impl FnMut(u32) -> BlindingFactors,
    ) -> Result<(Self, BlindChallenge), CredentialError> {
        if commitment.a.is_identity() || commitment.c.is_identity() {
            return Err(CredentialError::IdentityCommitment);
        }
        let z = ctx.z();
        let mut attempt = 0u32;
        loop {
            let f = factors(attempt);
            let nonzero = [f.r1, f.r2, f.gamma1, f.gamma2]
                .iter()
                .all(|s| *s != Scalar::ZERO);
            if nonzero {
                if let Some(blinded) = Self::blind_once(key, ctx, z, message, commitment, &f) {
                    return Ok(blinded);
                }
            }
            attempt = attempt.wrapping_add(1);
        }
    }

    /// One blinding attempt with non-zero `factors`; `None` if `c = 0`.
    fn blind_once(
        key: &RegistrarPublicKey,
        ctx: &CredentialContext,
        z: RistrettoPoint,
        message: &[u8],
        commitment: &SignerCommitment,
        factors: &BlindingFactors,
    ) -> Option<(Self, BlindChallenge)> {
        let BlindingFactors {
            r1,
            r2,
            gamma1,
            gamma2,
        } = factors;
        let gamma = Zeroizing::new(gamma1 * gamma2.invert());
        let a_blind = RistrettoPoint::mul_base(r1) + *gamma * commitment.a;
        let c_blind = gamma1 * commitment.c + RistrettoPoint::mul_base(r2);
        let c = challenge(ctx, key, &a_blind, &c_blind, message);
        if c == Scalar::ZERO {
            return None;
        }
        let e = c * gamma2;
        let state = Self {
            key: key.0,
            z,
            commitment_a: commitment.a,
            commitment_c: commitment.c,
            e,
            c,
            gamma: *gamma,
            gamma1: *gamma1,
            r1: *r1,
            r2: *r2,
        };
        Some((state, BlindChallenge { e }))
    }

    /// Checks the signer's response (`y ≠ 0`, `C = t·G + y·Z`,
    /// `s·G = A + (e·y)·X`) and unblinds it into the credential.
    pub fn finish(self, response: &SignerResponse) -> Result<Credential, CredentialError> {
        let SignerResponse { s, y, t } = *response;
        // (s, y, t) are the signer's public answer: variable time is fine.
        let opening = RistrettoPoint::vartime_double_scalar_mul_basepoint(&y, &self.z, &t);
        if y == Scalar::ZERO || opening != self.commitment_c {
            return Err(CredentialError::BadOpening);
        }
        let a_check =
            RistrettoPoint::vartime_double_scalar_mul_basepoint(&-(self.e * y), &self.key, &s);
        if a_check != self.commitment_a {
            return Err(CredentialError::BadResponse);
        }
        Ok(Credential {
            c: self.c,
            s: self.gamma * s + self.r1,
            y: self.gamma1 * y,
            t: self.gamma1 * t + self.r2,
        })
    }
}

impl core::fmt::Debug for UserState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserState").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Canonical;
    use crate::group::G;
    use curve25519_dalek::traits::Identity;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u8) -> ChaCha20Rng {
        ChaCha20Rng::from_seed([seed; 32])
    }

    fn ctx() -> CredentialContext {
        CredentialContext::new([7; 32], "north")
    }

    /// Everything the signer sees in one session, and the user's output.
    struct Session {
        commitment: SignerCommitment,
        challenge: BlindChallenge,
        response: SignerResponse,
        credential: Credential,
    }

    fn issue(
        key: &RegistrarKey,
        ctx: &CredentialContext,
        message: &[u8],
        rng: &mut ChaCha20Rng,
    ) -> Session {
        let (mut signer, commitment) = SignerState::commit(key, ctx, rng);
        let (user, challenge) =
            UserState::blind(&key.public(), ctx, message, &commitment, rng).expect("blind");
        let response = signer.respond(key, &challenge).expect("respond");
        let credential = user.finish(&response).expect("finish");
        Session {
            commitment,
            challenge,
            response,
            credential,
        }
    }

    fn session_setup() -> (
        RegistrarKey,
        SignerState,
        SignerCommitment,
        UserState,
        BlindChallenge,
    ) {
        let mut rng = rng(3);
        let key = RegistrarKey::generate(&mut rng);
        let (signer, commitment) = SignerState::commit(&key, &ctx(), &mut rng);
        let (user, challenge) =
            UserState::blind(&key.public(), &ctx(), b"P", &commitment, &mut rng).expect("blind");
        (key, signer, commitment, user, challenge)
    }

    #[test]
    fn issued_credentials_verify() {
        let mut rng = rng(1);
        for i in 0..48u8 {
            let key = RegistrarKey::generate(&mut rng);
            let ctx = CredentialContext::new([i; 32], format!("c{i}"));
            let message = RistrettoPoint::random(&mut rng).compress().to_bytes();
            let cred = issue(&key, &ctx, &message, &mut rng).credential;
            assert_eq!(cred.verify(&key.public(), &ctx, &message), Ok(()));
            let decoded = Credential::from_bytes(&cred.to_bytes()).expect("decode");
            assert_eq!(decoded, cred);
            assert_eq!(decoded.verify(&key.public(), &ctx, &message), Ok(()));
        }
    }

    /// Solves for the blinding factors that would turn the signer's view of
    /// one session into `sigma`, and checks every protocol equation with them.
    fn view_explains_signature(
        key: &RegistrarPublicKey,
        ctx: &CredentialContext,
        view: &Session,
        sigma: &Credential,
        message: &[u8],
    ) -> bool {
        let SignerCommitment { a, c: big_c } = view.commitment;
        let BlindChallenge { e } = view.challenge;
        let SignerResponse { s, y, t } = view.response;
        let x = key.point();
        let z = ctx.z();
        let gamma1 = sigma.y * y.invert();
        let gamma2 = e * sigma.c.invert();
        let gamma = gamma1 * gamma2.invert();
        let r1 = sigma.s - gamma * s;
        let r2 = sigma.t - gamma1 * t;
        let a_blind = r1 * G + gamma * a;
        let c_blind = gamma1 * big_c + r2 * G;
        [gamma1, gamma2, r1, r2].iter().all(|f| *f != Scalar::ZERO)
            && big_c == t * G + y * z
            && s * G == a + (e * y) * x
            && a_blind == sigma.s * G - (sigma.c * sigma.y) * x
            && c_blind == sigma.t * G + sigma.y * z
            && challenge(ctx, key, &a_blind, &c_blind, message) == sigma.c
            && e == sigma.c * gamma2
            && sigma.s == gamma * s + r1
            && sigma.y == gamma1 * y
            && sigma.t == gamma1 * t + r2
    }

    #[test]
    fn every_signer_view_is_consistent_with_every_signature() {
        let mut rng = rng(2);
        let key = RegistrarKey::generate(&mut rng);
        let messages: [&[u8]; 3] = [b"ballot key one", b"ballot key two", b"ballot key one"];
        let sessions: Vec<Session> = messages
            .iter()
            .map(|m| issue(&key, &ctx(), m, &mut rng))
            .collect();
        for (i, view) in sessions.iter().enumerate() {
            for (j, other) in sessions.iter().enumerate() {
                assert!(
                    view_explains_signature(
                        &key.public(),
                        &ctx(),
                        view,
                        &other.credential,
                        messages[j]
                    ),
                    "view {i} does not explain signature {j}"
                );
            }
        }
        // Control: the check is not vacuous. A view whose opening is wrong, or
        // a signature checked against the wrong message, is not explained.
        let mut bad = issue(&key, &ctx(), messages[0], &mut rng);
        bad.response.t += Scalar::ONE;
        assert!(!view_explains_signature(
            &key.public(),
            &ctx(),
            &bad,
            &sessions[1].credential,
            messages[1]
        ));
        assert!(!view_explains_signature(
            &key.public(),
            &ctx(),
            &sessions[0],
            &sessions[1].credential,
            b"another message"
        ));
    }

    /// Chi-square statistic of `counts` against the uniform distribution.
    fn chi_square(counts: &[u32]) -> f64 {
        let n: u32 = counts.iter().sum();
        let expected = f64::from(n) / counts.len() as f64;
        counts
            .iter()
            .map(|&k| (f64::from(k) - expected).powi(2) / expected)
            .sum()
    }

    #[test]
    fn blinded_challenge_distribution_does_not_depend_on_message() {
        // Statistical sanity check: for one fixed signer commitment, the
        // challenge e the signer sees is uniform whatever the message.
        let mut rng = rng(4);
        let key = RegistrarKey::generate(&mut rng);
        let (_signer, commitment) = SignerState::commit(&key, &ctx(), &mut rng);
        for message in [&b"message zero"[..], &b"message one"[..]] {
            let mut counts = [0u32; 16];
            for _ in 0..1024 {
                let (_, e) =
                    UserState::blind(&key.public(), &ctx(), message, &commitment, &mut rng)
                        .expect("blind");
                counts[usize::from(e.e.as_bytes()[0] & 0x0f)] += 1;
            }
            // 15 degrees of freedom: P(χ² > 40) ≈ 4·10⁻⁴.
            assert!(chi_square(&counts) < 40.0, "{counts:?}");
        }
    }

    #[test]
    fn credential_is_bound_to_context_message_and_key() {
        let mut rng = rng(5);
        let key = RegistrarKey::generate(&mut rng);
        let message = b"ballot key";
        let cred = issue(&key, &ctx(), message, &mut rng).credential;
        let pk = key.public();
        let other_election = CredentialContext::new([8; 32], "north");
        let other_constituency = CredentialContext::new([7; 32], "south");
        assert_ne!(other_election.z(), ctx().z());
        assert_ne!(other_constituency.z(), ctx().z());
        assert_eq!(
            cred.verify(&pk, &other_election, message),
            Err(CredentialError::Invalid)
        );
        assert_eq!(
            cred.verify(&pk, &other_constituency, message),
            Err(CredentialError::Invalid)
        );
        assert_eq!(
            cred.verify(&pk, &ctx(), b"ballot kez"),
            Err(CredentialError::Invalid)
        );
        let other_key = RegistrarKey::generate(&mut rng).public();
        assert_eq!(
            cred.verify(&other_key, &ctx(), message),
            Err(CredentialError::Invalid)
        );
        assert_eq!(cred.verify(&pk, &ctx(), message), Ok(()));
    }

    #[test]
    fn tampered_and_degenerate_credentials_are_rejected() {
        let mut rng = rng(6);
        let key = RegistrarKey::generate(&mut rng);
        let pk = key.public();
        let cred = issue(&key, &ctx(), b"m", &mut rng).credential;
        let tampered: [fn(&mut Credential); 4] = [
            |c| c.c += Scalar::ONE,
            |c| c.s += Scalar::ONE,
            |c| c.y += Scalar::ONE,
            |c| c.t += Scalar::ONE,
        ];
        for f in tampered {
            let mut bad = cred;
            f(&mut bad);
            assert_eq!(bad.verify(&pk, &ctx(), b"m"), Err(CredentialError::Invalid));
        }
        let mut zero_c = cred;
        zero_c.c = Scalar::ZERO;
        assert_eq!(
            zero_c.verify(&pk, &ctx(), b"m"),
            Err(CredentialError::ZeroC)
        );
        // y' = 0 makes C* = t'·G independent of Z; refuse it outright.
        let mut zero_y = cred;
        zero_y.y = Scalar::ZERO;
        assert_eq!(
            zero_y.verify(&pk, &ctx(), b"m"),
            Err(CredentialError::ZeroY)
        );
        // A trivially "valid-looking" all-zero credential.
        let zero = Credential {
            c: Scalar::ZERO,
            s: Scalar::ZERO,
            y: Scalar::ZERO,
            t: Scalar::ZERO,
        };
        assert_eq!(zero.verify(&pk, &ctx(), b"m"), Err(CredentialError::ZeroC));
    }

    #[test]
    fn non_canonical_encodings_are_rejected() {
        let mut rng = rng(7);
        let key = RegistrarKey::generate(&mut rng);
        let cred = issue(&key, &ctx(), b"m", &mut rng).credential;
        let bytes = cred.to_bytes();
        assert_eq!(bytes.len(), 1 + 4 * 34);
        assert_eq!(bytes[0], 0x84);

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            Credential::from_bytes(&trailing),
            Err(DecodeError::NonCanonical)
        );

        // ℓ in place of c: unreduced scalar.
        let ell = hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .expect("hex");
        let mut unreduced = bytes.clone();
        unreduced[3..35].copy_from_slice(&ell);
        assert!(matches!(
            Credential::from_bytes(&unreduced),
            Err(DecodeError::Malformed(_))
        ));

        // Indefinite-length array header.
        let mut indefinite = bytes.clone();
        indefinite[0] = 0x9f;
        indefinite.push(0xff);
        assert!(Credential::from_bytes(&indefinite).is_err());

        // Byte-string length in the non-shortest 16-bit form.
        let long_len = [&bytes[..1], &[0x59, 0x00, 0x20], &bytes[3..]].concat();
        assert!(Credential::from_bytes(&long_len).is_err());

        // Commitment with the identity point, or a non-canonical point.
        let commitment = SignerCommitment { a: G, c: G };
        let mut enc = commitment.to_bytes();
        enc[3..35].copy_from_slice(&[0; 32]);
        assert!(SignerCommitment::from_bytes(&enc).is_err());
        enc[3..35].copy_from_slice(&[0xff; 32]);
        assert!(SignerCommitment::from_bytes(&enc).is_err());

        // Registrar keys.
        assert_eq!(
            RegistrarPublicKey::from_bytes(&[0; 32]),
            Err(CredentialError::Key(GroupError::IdentityPoint))
        );
        assert_eq!(
            RegistrarPublicKey::from_bytes(&[0xff; 32]),
            Err(CredentialError::Key(GroupError::NonCanonicalPoint))
        );
        let pk = key.public();
        assert_eq!(RegistrarPublicKey::from_bytes(&pk.to_bytes()), Ok(pk));
        assert_eq!(
            RegistrarKey::from_secret_bytes(&[0; 32]).map(|k| k.public()),
            Err(CredentialError::Key(GroupError::ZeroScalar))
        );
        assert_eq!(
            RegistrarKey::from_secret_bytes(&ell).map(|k| k.public()),
            Err(CredentialError::Key(GroupError::NonCanonicalScalar))
        );
        let restored = RegistrarKey::from_secret_bytes(&key.to_secret_bytes()).expect("key");
        assert_eq!(restored.public(), pk);
        // The public key inside CBOR objects is a 32-byte string.
        let cbor = minicbor::to_vec(pk).expect("encode");
        assert_eq!(cbor[..2], [0x58, 0x20]);
        assert_eq!(RegistrarPublicKey::from_bytes(&cbor[2..]), Ok(pk));
        assert_eq!(minicbor::decode::<RegistrarPublicKey>(&cbor).ok(), Some(pk));
    }

    #[test]
    fn signer_state_is_one_shot() {
        let (key, mut signer, _, _, challenge) = session_setup();
        assert!(!signer.is_answered());
        let first = signer.respond(&key, &challenge).expect("first");
        assert!(signer.is_answered());
        assert_eq!(signer.respond(&key, &challenge), Ok(first));
        let other = BlindChallenge {
            e: challenge.e + Scalar::ONE,
        };
        assert_eq!(
            signer.respond(&key, &other),
            Err(CredentialError::ChallengeMismatch)
        );
        // The refusal leaves the stored answer in place.
        assert_eq!(signer.respond(&key, &challenge), Ok(first));
    }

    #[test]
    fn signer_refuses_zero_challenge_and_foreign_key() {
        let (key, mut signer, _, _, challenge) = session_setup();
        let zero = BlindChallenge { e: Scalar::ZERO };
        assert_eq!(
            signer.respond(&key, &zero),
            Err(CredentialError::ZeroChallenge)
        );
        let other = RegistrarKey::generate(&mut rng(9));
        assert_eq!(
            signer.respond(&other, &challenge),
            Err(CredentialError::KeyMismatch)
        );
        // Neither refusal consumed the session.
        assert!(!signer.is_answered());
        assert!(signer.respond(&key, &challenge).is_ok());
    }

    #[test]
    fn signer_state_survives_encoding() {
        let (key, signer, commitment, user, challenge) = session_setup();
        let bytes = signer.to_bytes();
        assert_eq!(bytes.len(), SIGNER_STATE_LEN);
        let mut restored = SignerState::from_bytes(&bytes).expect("decode");
        assert_eq!(restored.to_bytes(), bytes);
        assert_eq!(restored.commitment(&ctx()), commitment);
        let response = restored.respond(&key, &challenge).expect("respond");

        // The answered state, persisted again, keeps the one-shot rule.
        let mut answered = SignerState::from_bytes(&restored.to_bytes()).expect("decode");
        assert!(answered.is_answered());
        assert_eq!(answered.respond(&key, &challenge), Ok(response));
        let other = BlindChallenge {
            e: challenge.e + Scalar::ONE,
        };
        assert_eq!(
            answered.respond(&key, &other),
            Err(CredentialError::ChallengeMismatch)
        );
        let cred = user.finish(&response).expect("finish");
        assert_eq!(cred.verify(&key.public(), &ctx(), b"P"), Ok(()));
    }

    #[test]
    fn signer_state_decoding_is_strict() {
        let (_, signer, _, _, _) = session_setup();
        let bytes = signer.to_bytes();
        // Field k's 32 bytes start at 1 + 34·k + 2.
        let field = |k: usize| 3 + 34 * k..3 + 34 * k + 32;
        let mut zero_a = bytes.clone();
        zero_a[field(1)].copy_from_slice(&[0; 32]);
        assert_eq!(
            SignerState::from_bytes(&zero_a).map(|_| ()),
            Err(CredentialError::InvalidState)
        );
        let mut zero_y = bytes.clone();
        zero_y[field(2)].copy_from_slice(&[0; 32]);
        assert_eq!(
            SignerState::from_bytes(&zero_y).map(|_| ()),
            Err(CredentialError::InvalidState)
        );
        let mut unreduced = bytes.clone();
        unreduced[field(3)].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            SignerState::from_bytes(&unreduced),
            Err(CredentialError::Decode(DecodeError::Malformed(_)))
        ));
        let mut identity_key = bytes.clone();
        identity_key[field(0)].copy_from_slice(&[0; 32]);
        assert!(SignerState::from_bytes(&identity_key).is_err());
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(SignerState::from_bytes(&trailing).is_err());
        assert!(SignerState::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn user_refuses_bad_signer_answers() {
        let (key, mut signer, _, _, challenge) = session_setup();
        let good = signer.respond(&key, &challenge).expect("respond");
        let fresh_user = || session_setup().3;
        let cases = [
            (
                SignerResponse {
                    s: good.s + Scalar::ONE,
                    ..good
                },
                CredentialError::BadResponse,
            ),
            (
                SignerResponse {
                    y: good.y + Scalar::ONE,
                    ..good
                },
                CredentialError::BadOpening,
            ),
            (
                SignerResponse {
                    t: good.t + Scalar::ONE,
                    ..good
                },
                CredentialError::BadOpening,
            ),
            (
                SignerResponse {
                    y: Scalar::ZERO,
                    ..good
                },
                CredentialError::BadOpening,
            ),
        ];
        for (bad, expected) in cases {
            assert_eq!(fresh_user().finish(&bad), Err(expected));
        }
        // A correct answer from another registrar key does not pass either.
        let mut rng = rng(10);
        let other = RegistrarKey::generate(&mut rng);
        let s_other = good.s - challenge.e * good.y * key.x + challenge.e * good.y * other.x;
        assert_eq!(
            fresh_user().finish(&SignerResponse { s: s_other, ..good }),
            Err(CredentialError::BadResponse)
        );
        assert!(fresh_user().finish(&good).is_ok());
    }

    #[test]
    fn user_refuses_identity_commitments() {
        let mut rng = rng(11);
        let pk = RegistrarKey::generate(&mut rng).public();
        let id = RistrettoPoint::identity();
        for commitment in [
            SignerCommitment { a: id, c: G },
            SignerCommitment { a: G, c: id },
        ] {
            assert_eq!(
                UserState::blind(&pk, &ctx(), b"m", &commitment, &mut rng).map(|_| ()),
                Err(CredentialError::IdentityCommitment)
            );
        }
    }

    #[test]
    fn answer_to_another_session_is_refused() {
        let mut rng = rng(12);
        let key = RegistrarKey::generate(&mut rng);
        let first = issue(&key, &ctx(), b"m", &mut rng);
        let (_signer, commitment) = SignerState::commit(&key, &ctx(), &mut rng);
        let (user, _) =
            UserState::blind(&key.public(), &ctx(), b"m", &commitment, &mut rng).expect("blind");
        assert_eq!(
            user.finish(&first.response),
            Err(CredentialError::BadOpening)
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Credential::from_bytes(&bytes);
            let _ = SignerCommitment::from_bytes(&bytes);
            let _ = BlindChallenge::from_bytes(&bytes);
            let _ = SignerResponse::from_bytes(&bytes);
            let _ = CredentialContext::from_bytes(&bytes);
            let _ = SignerState::from_bytes(&bytes);
            let _ = RegistrarPublicKey::from_bytes(&bytes);
            let _ = RegistrarKey::from_secret_bytes(&bytes);
        }

        #[test]
        fn signer_state_mutations_never_panic(idx in 0usize..SIGNER_STATE_LEN, val in any::<u8>()) {
            let (_, signer, _, _, _) = session_setup();
            let mut bytes = signer.to_bytes();
            bytes[idx] = val;
            if let Ok(state) = SignerState::from_bytes(&bytes) {
                prop_assert_eq!(state.to_bytes(), bytes);
            }
        }

        #[test]
        fn mutated_credentials_never_verify(idx in 0usize..137, val in any::<u8>()) {
            let mut rng = rng(13);
            let key = RegistrarKey::generate(&mut rng);
            let cred = issue(&key, &ctx(), b"m", &mut rng).credential;
            let mut bytes = cred.to_bytes();
            bytes[idx] = val;
            if let Ok(other) = Credential::from_bytes(&bytes) {
                prop_assert!(other == cred || other.verify(&key.public(), &ctx(), b"m").is_err());
            }
        }
    }
}
