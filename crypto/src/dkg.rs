//! t-of-n distributed key generation for the election key (Pedersen DKG with
//! Feldman commitments), run entirely over the public board.
//!
//! Every message is public; secrecy comes from encrypting each share to its
//! recipient's long-term [`TrusteeKey`] (ChaCha20-Poly1305 under a key derived
//! from an ephemeral Diffie–Hellman secret). The flow (`specs/protocol.md` §5):
//!
//! 1. every trustee `i` posts a [`DealerMessage`] made by [`deal`]: Feldman
//!    commitments to a random polynomial `f_i` of degree `t−1`, one encrypted
//!    share `f_i(j)` for every trustee `j = 1..n` (its own included, so a
//!    trustee's DKG state is recoverable from the board and its long-term key
//!    alone), and a Schnorr proof of knowledge of `f_i(0)` over the whole message;
//! 2. every trustee `j` opens its shares ([`TrusteeKey::open_share`]); for each
//!    share that fails to decrypt or to match the commitments, it posts a
//!    publicly verifiable [`Complaint`] ([`TrusteeKey::complain`]), which anyone
//!    judges with [`verify_complaint`];
//! 3. anyone computes the qualified set, the election key `PK` and the public
//!    verification shares `X_j` from the board alone ([`DkgOutcome::from_transcript`]);
//!    each trustee derives its secret share `x_j` ([`TrusteeKey::secret_share`]).

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use minicbor::decode::Decoder;
use minicbor::encode::{Encoder, Write};
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::dleq::{self, DleqProof, DleqStatement};
use crate::group::{decode_nonzero_scalar, decode_scalar, G};
use crate::hash::{encode_parts, tagged};
use crate::transcript::ProofTranscript;

/// Largest number of trustees `n`.
pub const MAX_TRUSTEES: u32 = 255;

/// Length of an encrypted share: a 32-byte scalar plus the 16-byte Poly1305 tag.
pub const ENCRYPTED_SHARE_LEN: usize = 48;

/// An encrypted share `f_i(j)`: ChaCha20-Poly1305 ciphertext ‖ tag.
pub type EncryptedShare = [u8; ENCRYPTED_SHARE_LEN];

/// Transcript label of the dealer's proof of knowledge of `f_i(0)`.
pub const DEALER_LABEL: &[u8] = b"urne/v1/dkg/dealer";
/// Transcript label of a complaint's DLEQ proof.
pub const COMPLAINT_LABEL: &[u8] = b"urne/v1/dkg/complaint";
/// `TaggedHash` label of the share-encryption key derivation.
pub const SHARE_KEY_LABEL: &str = "urne/v1/dkg/share-key";

/// The DKG concerns the whole election: its transcripts use an empty constituency.
const DKG_CONSTITUENCY: &[u8] = b"";

/// Why a DKG step failed; variants name the trustee at fault where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DkgError {
    /// The threshold is not in `1..=n` or `n` is not in `1..=MAX_TRUSTEES`.
    #[error("invalid threshold {threshold} for {trustees} trustees")]
    InvalidThreshold {
        /// The threshold `t`.
        threshold: u32,
        /// The number of trustees `n`.
        trustees: usize,
    },
    /// A trustee's public key is the identity.
    #[error("trustee {trustee}: identity public key")]
    IdentityTrusteeKey {
        /// The trustee.
        trustee: u32,
    },
    /// Two trustees have the same public key.
    #[error("trustee {trustee}: public key duplicates another trustee's")]
    DuplicateTrusteeKey {
        /// The later of the two trustees.
        trustee: u32,
    },
    /// A trustee index outside `1..=n`.
    #[error("trustee index {index} out of range")]
    IndexOutOfRange {
        /// The index.
        index: u32,
    },
    /// This key is not one of the election's trustee keys.
    #[error("key is not a trustee key of this election")]
    NotATrustee,
    /// A secret key encoding is unreduced or zero.
    #[error("invalid trustee secret key")]
    InvalidSecretKey,
    /// A dealer message has the wrong number of commitments or shares.
    #[error("dealer {dealer}: malformed message ({reason})")]
    MalformedDealerMessage {
        /// The dealer.
        dealer: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// A dealer's proof of knowledge of its constant term is invalid.
    #[error("dealer {dealer}: invalid proof of knowledge")]
    InvalidProofOfKnowledge {
        /// The dealer.
        dealer: u32,
    },
    /// The share for this recipient does not decrypt or does not match the
    /// dealer's commitments.
    #[error("dealer {dealer}: bad share for trustee {recipient}")]
    BadShare {
        /// The dealer.
        dealer: u32,
        /// The recipient.
        recipient: u32,
    },
    /// Two dealer messages from the same dealer.
    #[error("dealer {dealer}: more than one dealer message")]
    DuplicateDealer {
        /// The dealer.
        dealer: u32,
    },
    /// A complaint names a dealer other than the message it is checked against,
    /// or a dealer without a message.
    #[error("complaint by trustee {complainant}: no message from dealer {dealer}")]
    UnknownDealer {
        /// The complainant.
        complainant: u32,
        /// The dealer named in the complaint.
        dealer: u32,
    },
    /// A qualified dealer's message is not among the messages given.
    #[error("dealer {dealer}: qualified but its message is missing")]
    MissingDealer {
        /// The dealer.
        dealer: u32,
    },
    /// A trustee complains about its own dealing.
    #[error("trustee {trustee}: complaint against itself")]
    SelfComplaint {
        /// The trustee.
        trustee: u32,
    },
    /// Two complaints by the same complainant against the same dealer.
    #[error("trustee {complainant}: more than one complaint against dealer {dealer}")]
    DuplicateComplaint {
        /// The complainant.
        complainant: u32,
        /// The dealer.
        dealer: u32,
    },
    /// Fewer than `t` dealers qualified.
    #[error("only {qualified} qualified dealers, threshold is {threshold}")]
    TooFewQualified {
        /// Number of qualified dealers.
        qualified: usize,
        /// The threshold `t`.
        threshold: u32,
    },
    /// The qualified dealers' constant terms sum to the identity.
    #[error("election key is the identity")]
    IdentityElectionKey,
    /// An election key object is inconsistent (qualified set, sizes).
    #[error("malformed election key ({0})")]
    MalformedElectionKey(&'static str),
    /// The derived secret share does not match the public verification share.
    #[error("trustee {trustee}: secret share does not match its verification share")]
    ShareMismatch {
        /// The trustee.
        trustee: u32,
    },
}

// ---------------------------------------------------------------------------
// Parameters

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
struct ParamsFields {
    #[cbor(n(0), with = "minicbor::bytes")]
    election_id: [u8; 32],
    #[n(1)]
    threshold: u32,
    #[cbor(n(2), with = "crate::encoding::points")]
    trustee_keys: Vec<RistrettoPoint>,
}

/// Public DKG parameters: election id, threshold `t` and the trustees'
/// long-term public keys `E_1..E_n` (trustee `j` is at position `j−1`).
///
/// Canonical encoding `[election_id: bstr(32), t: uint, [E_1..E_n]: [point]]`;
/// decoding enforces `1 ≤ t ≤ n ≤ MAX_TRUSTEES` and distinct non-identity keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkgParams(ParamsFields);

impl DkgParams {
    /// Checks and builds the parameters.
    pub fn new(
        election_id: &[u8; 32],
        threshold: u32,
        trustee_keys: Vec<RistrettoPoint>,
    ) -> Result<Self, DkgError> {
        Self::validate(ParamsFields {
            election_id: *election_id,
            threshold,
            trustee_keys,
        })
    }

    fn validate(f: ParamsFields) -> Result<Self, DkgError> {
        let n = f.trustee_keys.len();
        if f.threshold == 0 || f.threshold as usize > n || n > MAX_TRUSTEES as usize {
            return Err(DkgError::InvalidThreshold {
                threshold: f.threshold,
                trustees: n,
            });
        }
        for (j, e) in (1u32..).zip(&f.trustee_keys) {
            if *e == RistrettoPoint::identity() {
                return Err(DkgError::IdentityTrusteeKey { trustee: j });
            }
            if f.trustee_keys[..(j - 1) as usize].contains(e) {
                return Err(DkgError::DuplicateTrusteeKey { trustee: j });
            }
        }
        Ok(Self(f))
    }

    /// The election id.
    pub fn election_id(&self) -> &[u8] {
        &self.0.election_id
    }

    /// The threshold `t`.
    pub fn threshold(&self) -> u32 {
        self.0.threshold
    }

    /// The number of trustees `n`.
    pub fn trustees(&self) -> u32 {
        self.0.trustee_keys.len() as u32
    }

    /// The trustees' public keys `E_1..E_n`.
    pub fn trustee_keys(&self) -> &[RistrettoPoint] {
        &self.0.trustee_keys
    }

    /// The public key `E_j` of trustee `j`, if `1 ≤ j ≤ n`.
    pub fn trustee_key(&self, j: u32) -> Option<&RistrettoPoint> {
        slot(j).and_then(|k| self.0.trustee_keys.get(k))
    }

    /// The index `j` of the trustee whose public key is `key`.
    pub fn index_of(&self, key: &RistrettoPoint) -> Result<u32, DkgError> {
        (1u32..)
            .zip(&self.0.trustee_keys)
            .find(|(_, e)| *e == key)
            .map(|(j, _)| j)
            .ok_or(DkgError::NotATrustee)
    }

    fn check_index(&self, index: u32) -> Result<usize, DkgError> {
        slot(index)
            .filter(|&k| k < self.0.trustee_keys.len())
            .ok_or(DkgError::IndexOutOfRange { index })
    }
}

/// Position of 1-based index `j` in a vector.
fn slot(j: u32) -> Option<usize> {
    (j as usize).checked_sub(1)
}

impl<C> Encode<C> for DkgParams {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        self.0.encode(e, ctx)
    }
}

impl<'b, C> Decode<'b, C> for DkgParams {
    fn decode(d: &mut Decoder<'b>, ctx: &mut C) -> Result<Self, minicbor::decode::Error> {
        Self::validate(ParamsFields::decode(d, ctx)?).map_err(minicbor::decode::Error::message)
    }
}

// ---------------------------------------------------------------------------
// Keys

/// A trustee's long-term key pair `(e_j, E_j = e_j·G)`, used to receive shares.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct TrusteeKey {
    secret: Scalar,
    #[zeroize(skip)]
    public: RistrettoPoint,
}

impl std::fmt::Debug for TrusteeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrusteeKey")
            .field("public", &self.public.compress())
            .finish_non_exhaustive()
    }
}

impl TrusteeKey {
    /// Generates a fresh key pair.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let secret = Scalar::random(rng);
        Self {
            public: RistrettoPoint::mul_base(&secret),
            secret,
        }
    }

    /// Restores a key pair from its 32-byte secret (reduced, non-zero).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Result<Self, DkgError> {
        let secret = decode_nonzero_scalar(bytes).map_err(|_| DkgError::InvalidSecretKey)?;
        Ok(Self {
            public: RistrettoPoint::mul_base(&secret),
            secret,
        })
    }

    /// The 32-byte secret, for storage.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key `E_j`.
    pub fn public_key(&self) -> RistrettoPoint {
        self.public
    }

    /// Decrypts and checks this trustee's share `f_i(j)` in `msg`.
    ///
    /// Checks `msg`'s indices and lengths first; on [`DkgError::BadShare`] the
    /// trustee should [`complain`](Self::complain).
    pub fn open_share(
        &self,
        params: &DkgParams,
        msg: &DealerMessage,
    ) -> Result<Zeroizing<Scalar>, DkgError> {
        let j = params.index_of(&self.public)?;
        check_structure(params, msg)?;
        let dh = Zeroizing::new(msg.ephemeral * self.secret);
        open_with_dh(params, msg, j, &dh)
    }

    /// Builds a complaint against `msg`'s dealer: reveals the DH point
    /// `S = e_j·R_i` with a DLEQ proof that `log_G(E_j) = log_{R_i}(S)`.
    pub fn complain<R: CryptoRng + ?Sized>(
        &self,
        params: &DkgParams,
        msg: &DealerMessage,
        rng: &mut R,
    ) -> Result<Complaint, DkgError> {
        let j = params.index_of(&self.public)?;
        check_structure(params, msg)?;
        if msg.dealer == j {
            return Err(DkgError::SelfComplaint { trustee: j });
        }
        let shared_secret = msg.ephemeral * self.secret;
        let statement = complaint_statement(&self.public, msg, &shared_secret);
        let mut t = complaint_transcript(params, msg, j);
        let proof = dleq::prove(&mut t, &statement, &self.secret, rng);
        Ok(Complaint {
            complainant: j,
            dealer: msg.dealer,
            shared_secret,
            proof,
        })
    }

    /// Derives the secret share `x_j = Σ_{i∈Q} f_i(j)` from the qualified
    /// dealers' messages and checks it against the verification share `X_j`.
    pub fn secret_share(
        &self,
        params: &DkgParams,
        key: &ElectionKey,
        dealers: &[DealerMessage],
    ) -> Result<SecretShare, DkgError> {
        let j = params.index_of(&self.public)?;
        let mut value = Zeroizing::new(Scalar::ZERO);
        for &i in key.qualified() {
            let msg = dealers
                .iter()
                .find(|m| m.dealer == i)
                .ok_or(DkgError::MissingDealer { dealer: i })?;
            *value += *self.open_share(params, msg)?;
        }
        let verification_share = *key
            .verification_share(j)
            .ok_or(DkgError::IndexOutOfRange { index: j })?;
        if RistrettoPoint::mul_base(&value) != verification_share {
            return Err(DkgError::ShareMismatch { trustee: j });
        }
        Ok(SecretShare {
            index: j,
            value: *value,
            verification_share,
        })
    }
}

/// Trustee `j`'s share `x_j` of the election secret key, with its public
/// verification share `X_j = x_j·G`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretShare {
    #[zeroize(skip)]
    index: u32,
    value: Scalar,
    #[zeroize(skip)]
    verification_share: RistrettoPoint,
}

impl std::fmt::Debug for SecretShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretShare")
            .field("index", &self.index)
            .field("verification_share", &self.verification_share.compress())
            .finish_non_exhaustive()
    }
}

impl SecretShare {
    /// The trustee index `j`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The public verification share `X_j`.
    pub fn verification_share(&self) -> &RistrettoPoint {
        &self.verification_share
    }

    pub(crate) fn value(&self) -> &Scalar {
        &self.value
    }

    #[cfg(test)]
    pub(crate) fn from_parts(index: u32, value: Scalar) -> Self {
        Self {
            index,
            value,
            verification_share: RistrettoPoint::mul_base(&value),
        }
    }
}

// ---------------------------------------------------------------------------
// Dealer messages

/// A Schnorr proof of knowledge `(c, z)` of `a_i0 = log_G(C_i0)`; encoding `[c, z]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct SchnorrProof {
    /// The challenge `c`.
    #[cbor(n(0), with = "crate::encoding::scalar")]
    pub challenge: Scalar,
    /// The response `z = k + c·a_i0`.
    #[cbor(n(1), with = "crate::encoding::scalar")]
    pub response: Scalar,
}

/// Dealer `i`'s public DKG message.
///
/// Canonical encoding `[i: uint, [C_i0..C_i,t−1]: [point], R_i: point (non-identity),
/// [c_i1..c_in]: [bstr(48)], proof: [c, z]]`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct DealerMessage {
    /// The dealer index `i`.
    #[n(0)]
    pub dealer: u32,
    /// Feldman commitments `C_ik = a_ik·G`, `k = 0..t−1`.
    #[cbor(n(1), with = "crate::encoding::points")]
    pub commitments: Vec<RistrettoPoint>,
    /// The ephemeral key `R_i = ρ·G`.
    #[cbor(n(2), with = "crate::encoding::nonidentity_point")]
    pub ephemeral: RistrettoPoint,
    /// Encrypted shares `f_i(j)` for `j = 1..n`, in order.
    #[cbor(n(3), with = "encrypted_shares")]
    pub encrypted_shares: Vec<EncryptedShare>,
    /// Proof of knowledge of `a_i0`, bound to everything above.
    #[n(4)]
    pub proof: SchnorrProof,
}

/// Field codec: an array of 48-byte strings.
mod encrypted_shares {
    use super::*;

    pub fn encode<C, W: Write>(
        v: &[EncryptedShare],
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.array(v.len() as u64)?;
        for s in v {
            e.bytes(s)?;
        }
        Ok(())
    }

    pub fn decode<C>(
        d: &mut Decoder<'_>,
        _: &mut C,
    ) -> Result<Vec<EncryptedShare>, minicbor::decode::Error> {
        let n = crate::encoding::definite_len(d)?;
        (0..n)
            .map(|_| {
                d.bytes()?.try_into().map_err(|_| {
                    minicbor::decode::Error::message("expected a 48-byte encrypted share")
                })
            })
            .collect()
    }
}

/// Deals a fresh random polynomial of degree `t−1` as trustee `dealer`.
///
/// The polynomial, the ephemeral secret and the plaintext shares are
/// zeroized before returning; the dealer's own share is encrypted to itself.
pub fn deal<R: CryptoRng + ?Sized>(
    params: &DkgParams,
    dealer: u32,
    rng: &mut R,
) -> Result<DealerMessage, DkgError> {
    params.check_index(dealer)?;
    let coefficients: Zeroizing<Vec<Scalar>> = Zeroizing::new(
        (0..params.threshold())
            .map(|_| Scalar::random(rng))
            .collect(),
    );
    let rho = Zeroizing::new(Scalar::random(rng));
    Ok(deal_with(params, dealer, &coefficients, &rho, rng))
}

/// Deals as a cheating dealer would: a valid dealing (its proof of knowledge
/// verifies) whose share for `recipient` is `f(recipient) + 1`, so that the
/// recipient's complaint against it is justified (§5.5). Anyone can deal
/// this way; tests and the conformance suite use it to put a justified
/// complaint on a board.
pub fn deal_with_bad_share<R: CryptoRng + ?Sized>(
    params: &DkgParams,
    dealer: u32,
    recipient: u32,
    rng: &mut R,
) -> Result<DealerMessage, DkgError> {
    params.check_index(dealer)?;
    params.check_index(recipient)?;
    let coefficients: Zeroizing<Vec<Scalar>> = Zeroizing::new(
        (0..params.threshold())
            .map(|_| Scalar::random(rng))
            .collect(),
    );
    let rho = Zeroizing::new(Scalar::random(rng));
    let mut msg = deal_with(params, dealer, &coefficients, &rho, rng);
    let wrong = Zeroizing::new(evaluate(&coefficients, recipient) + Scalar::ONE);
    msg.encrypted_shares[(recipient - 1) as usize] =
        seal_share(params, dealer, recipient, &rho, &msg.ephemeral, &wrong);
    msg.proof = prove_constant_term(params, &msg, &coefficients[0], rng);
    Ok(msg)
}

/// Deals the polynomial with `coefficients` (`a_i0` first) using ephemeral secret `rho`.
fn deal_with<R: CryptoRng + ?Sized>(
    params: &DkgParams,
    dealer: u32,
    coefficients: &[Scalar],
    rho: &Scalar,
    rng: &mut R,
) -> DealerMessage {
    let ephemeral = RistrettoPoint::mul_base(rho);
    let encrypted_shares = (1..=params.trustees())
        .map(|j| {
            let share = Zeroizing::new(evaluate(coefficients, j));
            seal_share(params, dealer, j, rho, &ephemeral, &share)
        })
        .collect();
    let mut msg = DealerMessage {
        dealer,
        commitments: coefficients.iter().map(RistrettoPoint::mul_base).collect(),
        ephemeral,
        encrypted_shares,
        proof: SchnorrProof {
            challenge: Scalar::ZERO,
            response: Scalar::ZERO,
        },
    };
    msg.proof = prove_constant_term(params, &msg, &coefficients[0], rng);
    msg
}

/// `f(x) = Σ_k a_k·x^k` by Horner's rule.
fn evaluate(coefficients: &[Scalar], x: u32) -> Scalar {
    let x = Scalar::from(x);
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, a| acc * x + a)
}

/// `Σ_k x^k·C_k`: the commitment to `f(x)`.
fn evaluate_commitments(commitments: &[RistrettoPoint], x: u32) -> RistrettoPoint {
    let x = Scalar::from(x);
    let powers: Vec<Scalar> = commitments
        .iter()
        .scan(Scalar::ONE, |p, _| {
            let cur = *p;
            *p *= x;
            Some(cur)
        })
        .collect();
    RistrettoPoint::vartime_multiscalar_mul(&powers, commitments)
}

/// `k_ij = TaggedHash(SHARE_KEY_LABEL, election_id, u32be(i), u32be(j), R_i, E_j, S_ij)`.
fn share_key(
    params: &DkgParams,
    dealer: u32,
    recipient: u32,
    ephemeral: &RistrettoPoint,
    recipient_key: &RistrettoPoint,
    dh: &RistrettoPoint,
) -> Zeroizing<[u8; 32]> {
    let dh = Zeroizing::new(dh.compress().to_bytes());
    Zeroizing::new(tagged(
        SHARE_KEY_LABEL,
        &[
            params.election_id(),
            &dealer.to_be_bytes(),
            &recipient.to_be_bytes(),
            ephemeral.compress().as_bytes(),
            recipient_key.compress().as_bytes(),
            dh.as_slice(),
        ],
    ))
}

/// AAD of share `(i, j)`: `parts(election_id, u32be(i), u32be(j))`.
fn share_aad(params: &DkgParams, dealer: u32, recipient: u32) -> Vec<u8> {
    encode_parts(&[
        params.election_id(),
        &dealer.to_be_bytes(),
        &recipient.to_be_bytes(),
    ])
}

/// Each key encrypts exactly one share, so the all-zero nonce is never reused.
const SHARE_NONCE: [u8; 12] = [0; 12];

fn seal_share(
    params: &DkgParams,
    dealer: u32,
    recipient: u32,
    rho: &Scalar,
    ephemeral: &RistrettoPoint,
    share: &Scalar,
) -> EncryptedShare {
    let recipient_key = params.0.trustee_keys[(recipient - 1) as usize];
    let dh = Zeroizing::new(recipient_key * rho);
    let key = share_key(params, dealer, recipient, ephemeral, &recipient_key, &dh);
    let mut buf = Zeroizing::new(share.to_bytes());
    let tag = ChaCha20Poly1305::new(Key::from_slice(key.as_slice()))
        .encrypt_in_place_detached(
            Nonce::from_slice(&SHARE_NONCE),
            &share_aad(params, dealer, recipient),
            buf.as_mut_slice(),
        )
        // Encryption fails only for messages longer than 2^38 bytes.
        .expect("ChaCha20-Poly1305 encrypts 32 bytes");
    let mut out = [0u8; ENCRYPTED_SHARE_LEN];
    out[..32].copy_from_slice(buf.as_slice());
    out[32..].copy_from_slice(&tag);
    out
}

/// Decrypts share `(msg.dealer, j)` with DH point `dh` and checks it against
/// the commitments. `msg` must have the right structure.
fn open_with_dh(
    params: &DkgParams,
    msg: &DealerMessage,
    j: u32,
    dh: &RistrettoPoint,
) -> Result<Zeroizing<Scalar>, DkgError> {
    let bad = DkgError::BadShare {
        dealer: msg.dealer,
        recipient: j,
    };
    let recipient_key = params.0.trustee_keys[(j - 1) as usize];
    let key = share_key(params, msg.dealer, j, &msg.ephemeral, &recipient_key, dh);
    let ct = &msg.encrypted_shares[(j - 1) as usize];
    let mut buf = Zeroizing::new([0u8; 32]);
    buf.copy_from_slice(&ct[..32]);
    ChaCha20Poly1305::new(Key::from_slice(key.as_slice()))
        .decrypt_in_place_detached(
            Nonce::from_slice(&SHARE_NONCE),
            &share_aad(params, msg.dealer, j),
            buf.as_mut_slice(),
            Tag::from_slice(&ct[32..]),
        )
        .map_err(|_| bad.clone())?;
    let share = Zeroizing::new(decode_scalar(buf.as_slice()).map_err(|_| bad.clone())?);
    if RistrettoPoint::mul_base(&share) != evaluate_commitments(&msg.commitments, j) {
        return Err(bad);
    }
    Ok(share)
}

fn dealer_transcript(params: &DkgParams, msg: &DealerMessage) -> ProofTranscript {
    let mut t = ProofTranscript::new(DEALER_LABEL, params.election_id(), DKG_CONSTITUENCY);
    t.append_u64(b"threshold", params.threshold().into());
    t.append_u64(b"trustees", params.trustees().into());
    for e in params.trustee_keys() {
        t.append_point(b"E", e);
    }
    t.append_u64(b"dealer", msg.dealer.into());
    for c in &msg.commitments {
        t.append_point(b"C", c);
    }
    t.append_point(b"R", &msg.ephemeral);
    for s in &msg.encrypted_shares {
        t.append_bytes(b"share", s);
    }
    t
}

fn prove_constant_term<R: CryptoRng + ?Sized>(
    params: &DkgParams,
    msg: &DealerMessage,
    a0: &Scalar,
    rng: &mut R,
) -> SchnorrProof {
    let mut t = dealer_transcript(params, msg);
    let k = Zeroizing::new(Scalar::random(rng));
    t.append_point(b"pok/T", &RistrettoPoint::mul_base(&k));
    let c = t.challenge_scalar(b"pok/c");
    SchnorrProof {
        challenge: c,
        response: *k + c * a0,
    }
}

/// Checks indices and lengths: `1 ≤ i ≤ n`, `t` commitments, `n` shares.
fn check_structure(params: &DkgParams, msg: &DealerMessage) -> Result<(), DkgError> {
    params.check_index(msg.dealer)?;
    let malformed = |reason| DkgError::MalformedDealerMessage {
        dealer: msg.dealer,
        reason,
    };
    if msg.commitments.len() != params.threshold() as usize {
        return Err(malformed(
            "number of commitments differs from the threshold",
        ));
    }
    if msg.encrypted_shares.len() != params.trustees() as usize {
        return Err(malformed(
            "number of shares differs from the number of trustees",
        ));
    }
    Ok(())
}

/// Publicly checks a dealer message: structure and proof of knowledge.
pub fn verify_dealer_message(params: &DkgParams, msg: &DealerMessage) -> Result<(), DkgError> {
    check_structure(params, msg)?;
    let mut t = dealer_transcript(params, msg);
    let (c, z) = (msg.proof.challenge, msg.proof.response);
    let commitment = RistrettoPoint::vartime_multiscalar_mul([z, -c], [G, msg.commitments[0]]);
    t.append_point(b"pok/T", &commitment);
    if t.challenge_scalar(b"pok/c") != c {
        return Err(DkgError::InvalidProofOfKnowledge { dealer: msg.dealer });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Complaints

/// Trustee `j`'s public complaint about dealer `i`'s share.
///
/// Canonical encoding `[j: uint, i: uint, S: point (non-identity), proof: [c, z]]`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Complaint {
    /// The complaining recipient `j`.
    #[n(0)]
    pub complainant: u32,
    /// The accused dealer `i`.
    #[n(1)]
    pub dealer: u32,
    /// The DH point `S = e_j·R_i`, which lets anyone derive the share key.
    #[cbor(n(2), with = "crate::encoding::nonidentity_point")]
    pub shared_secret: RistrettoPoint,
    /// DLEQ proof that `log_G(E_j) = log_{R_i}(S)`.
    #[n(3)]
    pub proof: DleqProof,
}

/// Who a verified complaint shows to be at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The dealer sent a share that does not decrypt or does not match its commitments.
    Dealer(u32),
    /// The complaint is false: its proof is invalid or the share is good.
    Complainant(u32),
}

fn complaint_statement(
    recipient_key: &RistrettoPoint,
    msg: &DealerMessage,
    shared_secret: &RistrettoPoint,
) -> DleqStatement {
    DleqStatement {
        base1: G,
        public1: *recipient_key,
        base2: msg.ephemeral,
        public2: *shared_secret,
    }
}

fn complaint_transcript(params: &DkgParams, msg: &DealerMessage, j: u32) -> ProofTranscript {
    let mut t = ProofTranscript::new(COMPLAINT_LABEL, params.election_id(), DKG_CONSTITUENCY);
    t.append_u64(b"threshold", params.threshold().into());
    t.append_u64(b"trustees", params.trustees().into());
    t.append_u64(b"dealer", msg.dealer.into());
    t.append_u64(b"complainant", j.into());
    t.append_bytes(b"share", &msg.encrypted_shares[(j - 1) as usize]);
    t
}

/// Judges `complaint` against dealer message `msg`.
///
/// Errors mean the complaint cannot be judged (indices, or a structurally
/// malformed dealer message); otherwise the verdict says who is at fault.
pub fn verify_complaint(
    params: &DkgParams,
    msg: &DealerMessage,
    complaint: &Complaint,
) -> Result<Fault, DkgError> {
    let j = complaint.complainant;
    params.check_index(j)?;
    params.check_index(complaint.dealer)?;
    if complaint.dealer != msg.dealer {
        return Err(DkgError::UnknownDealer {
            complainant: j,
            dealer: complaint.dealer,
        });
    }
    if j == msg.dealer {
        return Err(DkgError::SelfComplaint { trustee: j });
    }
    check_structure(params, msg)?;
    let recipient_key = params.0.trustee_keys[(j - 1) as usize];
    let statement = complaint_statement(&recipient_key, msg, &complaint.shared_secret);
    let mut t = complaint_transcript(params, msg, j);
    if dleq::verify(&mut t, &statement, &complaint.proof).is_err() {
        return Ok(Fault::Complainant(j));
    }
    match open_with_dh(params, msg, j, &complaint.shared_secret) {
        Ok(_) => Ok(Fault::Complainant(j)),
        Err(_) => Ok(Fault::Dealer(msg.dealer)),
    }
}

// ---------------------------------------------------------------------------
// Outcome

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
struct ElectionKeyFields {
    #[n(0)]
    threshold: u32,
    #[n(1)]
    qualified: Vec<u32>,
    #[cbor(n(2), with = "crate::encoding::nonidentity_point")]
    public_key: RistrettoPoint,
    #[cbor(n(3), with = "crate::encoding::points")]
    verification_shares: Vec<RistrettoPoint>,
}

/// The DKG's public result: threshold, qualified dealers, election key `PK`
/// and verification shares `X_1..X_n`.
///
/// Canonical encoding `[t: uint, Q: [uint], PK: point (non-identity), [X_1..X_n]: [point]]`;
/// decoding enforces `1 ≤ t ≤ |Q|`, `Q` strictly increasing within `1..=n`,
/// `n ≤ MAX_TRUSTEES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionKey(ElectionKeyFields);

impl ElectionKey {
    fn validate(f: ElectionKeyFields) -> Result<Self, DkgError> {
        let n = f.verification_shares.len();
        if n > MAX_TRUSTEES as usize {
            return Err(DkgError::MalformedElectionKey("too many trustees"));
        }
        if f.threshold == 0 || f.threshold as usize > f.qualified.len() {
            return Err(DkgError::MalformedElectionKey(
                "threshold not in 1..=|qualified|",
            ));
        }
        let increasing = f.qualified.windows(2).all(|w| w[0] < w[1]);
        let in_range = f.qualified.iter().all(|&i| i >= 1 && i as usize <= n);
        if !increasing || !in_range {
            return Err(DkgError::MalformedElectionKey(
                "qualified set not strictly increasing within 1..=n",
            ));
        }
        Ok(Self(f))
    }

    /// The threshold `t`.
    pub fn threshold(&self) -> u32 {
        self.0.threshold
    }

    /// The qualified dealers, increasing.
    pub fn qualified(&self) -> &[u32] {
        &self.0.qualified
    }

    /// The election public key `PK`.
    pub fn public_key(&self) -> &RistrettoPoint {
        &self.0.public_key
    }

    /// The verification shares `X_1..X_n`.
    pub fn verification_shares(&self) -> &[RistrettoPoint] {
        &self.0.verification_shares
    }

    /// The verification share `X_j`, if `1 ≤ j ≤ n`.
    pub fn verification_share(&self, j: u32) -> Option<&RistrettoPoint> {
        slot(j).and_then(|k| self.0.verification_shares.get(k))
    }
}

impl<C> Encode<C> for ElectionKey {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        self.0.encode(e, ctx)
    }
}

impl<'b, C> Decode<'b, C> for ElectionKey {
    fn decode(d: &mut Decoder<'b>, ctx: &mut C) -> Result<Self, minicbor::decode::Error> {
        Self::validate(ElectionKeyFields::decode(d, ctx)?).map_err(minicbor::decode::Error::message)
    }
}

/// Why a dealer is not in the qualified set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disqualification {
    /// The dealer posted no message.
    NoMessage,
    /// The dealer's message failed [`verify_dealer_message`].
    InvalidMessage(DkgError),
    /// A complaint against the dealer verified (the first such complainant).
    JustifiedComplaint {
        /// The complainant.
        complainant: u32,
    },
}

/// Everything the public DKG transcript determines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkgOutcome {
    /// The election key, qualified set and verification shares.
    pub election_key: ElectionKey,
    /// Dealers outside the qualified set, increasing, with the reason.
    pub disqualified: Vec<(u32, Disqualification)>,
    /// False complaints `(complainant, dealer)`, in transcript order.
    pub false_complaints: Vec<(u32, u32)>,
}

impl DkgOutcome {
    /// Computes the outcome from the public transcript alone: the dealer
    /// messages and complaints in board order (`specs/protocol.md` §5.6).
    ///
    /// Errors mean the transcript itself is malformed (an index out of range, a
    /// second message by one dealer, an unjudgeable or duplicate complaint) or
    /// the DKG failed (fewer than `t` qualified dealers).
    pub fn from_transcript(
        params: &DkgParams,
        dealers: &[DealerMessage],
        complaints: &[Complaint],
    ) -> Result<Self, DkgError> {
        let n = params.trustees() as usize;
        let mut messages: Vec<Option<&DealerMessage>> = vec![None; n];
        for msg in dealers {
            let k = params.check_index(msg.dealer)?;
            if messages[k].replace(msg).is_some() {
                return Err(DkgError::DuplicateDealer { dealer: msg.dealer });
            }
        }
        let mut status: Vec<Option<Disqualification>> = messages
            .iter()
            .map(|m| match m {
                None => Some(Disqualification::NoMessage),
                Some(msg) => verify_dealer_message(params, msg)
                    .err()
                    .map(Disqualification::InvalidMessage),
            })
            .collect();

        let mut seen = Vec::with_capacity(complaints.len());
        let mut false_complaints = Vec::new();
        for complaint in complaints {
            let (j, i) = (complaint.complainant, complaint.dealer);
            params.check_index(j)?;
            let k = params.check_index(i)?;
            if i == j {
                return Err(DkgError::SelfComplaint { trustee: j });
            }
            if seen.contains(&(j, i)) {
                return Err(DkgError::DuplicateComplaint {
                    complainant: j,
                    dealer: i,
                });
            }
            seen.push((j, i));
            let msg = messages[k].ok_or(DkgError::UnknownDealer {
                complainant: j,
                dealer: i,
            })?;
            if matches!(
                status[k],
                Some(Disqualification::InvalidMessage(_) | Disqualification::NoMessage)
            ) {
                continue; // already out; the complaint is moot
            }
            match verify_complaint(params, msg, complaint)? {
                Fault::Dealer(_) => {
                    status[k]
                        .get_or_insert(Disqualification::JustifiedComplaint { complainant: j });
                }
                Fault::Complainant(_) => false_complaints.push((j, i)),
            }
        }

        let mut qualified = Vec::new();
        let mut disqualified = Vec::new();
        for ((i, s), m) in (1u32..).zip(status).zip(&messages) {
            match (s, m) {
                (None, Some(msg)) => qualified.push((i, *msg)),
                (Some(reason), _) => disqualified.push((i, reason)),
                (None, None) => disqualified.push((i, Disqualification::NoMessage)),
            }
        }
        let threshold = params.threshold();
        if qualified.len() < threshold as usize {
            return Err(DkgError::TooFewQualified {
                qualified: qualified.len(),
                threshold,
            });
        }
        // Aggregate commitments C_k = Σ_{i∈Q} C_ik commit to F = Σ_{i∈Q} f_i.
        let mut aggregate = vec![RistrettoPoint::identity(); threshold as usize];
        for (_, msg) in &qualified {
            for (acc, c) in aggregate.iter_mut().zip(&msg.commitments) {
                *acc += c;
            }
        }
        let public_key = aggregate[0];
        if public_key == RistrettoPoint::identity() {
            return Err(DkgError::IdentityElectionKey);
        }
        let verification_shares = (1..=params.trustees())
            .map(|j| evaluate_commitments(&aggregate, j))
            .collect();
        Ok(Self {
            election_key: ElectionKey(ElectionKeyFields {
                threshold,
                qualified: qualified.iter().map(|(i, _)| *i).collect(),
                public_key,
                verification_shares,
            }),
            disqualified,
            false_complaints,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Canonical, DecodeError};
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const EID: &[u8; 32] = b"election-dkg-test...............";

    fn setup(t: u32, n: u32, seed: u8) -> (DkgParams, Vec<TrusteeKey>, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::from_seed([seed; 32]);
        let keys: Vec<TrusteeKey> = (0..n).map(|_| TrusteeKey::generate(&mut rng)).collect();
        let params =
            DkgParams::new(EID, t, keys.iter().map(TrusteeKey::public_key).collect()).unwrap();
        (params, keys, rng)
    }

    fn random_poly(t: u32, rng: &mut ChaCha20Rng) -> Vec<Scalar> {
        (0..t).map(|_| Scalar::random(rng)).collect()
    }

    /// Dealer 1 encrypts a wrong value to trustee 2 but proves knowledge correctly.
    fn cheating_dealer(params: &DkgParams, rng: &mut ChaCha20Rng) -> DealerMessage {
        let poly = random_poly(params.threshold(), rng);
        let rho = Scalar::random(rng);
        let mut msg = deal_with(params, 1, &poly, &rho, rng);
        let wrong = evaluate(&poly, 2) + Scalar::ONE;
        msg.encrypted_shares[1] = seal_share(params, 1, 2, &rho, &msg.ephemeral, &wrong);
        msg.proof = prove_constant_term(params, &msg, &poly[0], rng);
        msg
    }

    #[test]
    fn params_validation() {
        let (params, keys, _) = setup(2, 3, 1);
        let pks: Vec<_> = keys.iter().map(TrusteeKey::public_key).collect();
        assert!(matches!(
            DkgParams::new(EID, 0, pks.clone()),
            Err(DkgError::InvalidThreshold { .. })
        ));
        assert!(matches!(
            DkgParams::new(EID, 4, pks.clone()),
            Err(DkgError::InvalidThreshold { .. })
        ));
        let dup = vec![pks[0], pks[1], pks[0]];
        assert_eq!(
            DkgParams::new(EID, 2, dup),
            Err(DkgError::DuplicateTrusteeKey { trustee: 3 })
        );
        let ident = vec![pks[0], RistrettoPoint::identity()];
        assert_eq!(
            DkgParams::new(EID, 1, ident),
            Err(DkgError::IdentityTrusteeKey { trustee: 2 })
        );
        assert_eq!(
            DkgParams::from_bytes(&params.to_bytes()),
            Ok(params.clone())
        );
        // A well-formed CBOR object that violates t ≤ n is refused by the decoder.
        let bad = ParamsFields {
            election_id: *EID,
            threshold: 4,
            trustee_keys: pks,
        };
        assert!(matches!(
            DkgParams::from_bytes(&bad.to_bytes()),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(params.index_of(&keys[2].public_key()), Ok(3));
        // The election id is 32 bytes (§5.1): a 21-byte one is malformed.
        let mut short = params.to_bytes();
        assert_eq!(&short[..3], &[0x83, 0x58, 0x20]);
        short.splice(1..35, [0x55].into_iter().chain([0x61; 21]));
        assert!(DkgParams::from_bytes(&short).is_err());
    }

    #[test]
    fn trustee_key_round_trip() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let k = TrusteeKey::generate(&mut rng);
        let k2 = TrusteeKey::from_secret_bytes(&k.secret_bytes()).unwrap();
        assert_eq!(k.public_key(), k2.public_key());
        assert_eq!(
            TrusteeKey::from_secret_bytes(&[0; 32]).unwrap_err(),
            DkgError::InvalidSecretKey
        );
        assert!(!format!("{k:?}").contains(&hex::encode(k.secret_bytes().as_slice())));
    }

    #[test]
    fn honest_shares_open_and_match_commitments() {
        let (params, keys, mut rng) = setup(3, 5, 2);
        let msg = deal(&params, 4, &mut rng).unwrap();
        assert_eq!(verify_dealer_message(&params, &msg), Ok(()));
        for (j, key) in (1u32..).zip(&keys) {
            let s = key.open_share(&params, &msg).unwrap();
            assert_eq!(
                RistrettoPoint::mul_base(&s),
                evaluate_commitments(&msg.commitments, j)
            );
        }
        assert_eq!(DealerMessage::from_bytes(&msg.to_bytes()), Ok(msg));
    }

    #[test]
    fn proof_of_knowledge_rejections() {
        let (params, _, mut rng) = setup(2, 3, 3);
        let msg = deal(&params, 2, &mut rng).unwrap();
        let pok_err = Err(DkgError::InvalidProofOfKnowledge { dealer: 2 });
        // Tampered response.
        let mut m = msg.clone();
        m.proof.response += Scalar::ONE;
        assert_eq!(verify_dealer_message(&params, &m), pok_err);
        // Proof moved to another dealer index.
        let mut m = msg.clone();
        m.dealer = 3;
        assert_eq!(
            verify_dealer_message(&params, &m),
            Err(DkgError::InvalidProofOfKnowledge { dealer: 3 })
        );
        // Any change to the bound message (commitment, share, ephemeral) breaks it.
        let mut m = msg.clone();
        m.commitments[1] += G;
        assert_eq!(verify_dealer_message(&params, &m), pok_err);
        let mut m = msg.clone();
        m.encrypted_shares[0][0] ^= 1;
        assert_eq!(verify_dealer_message(&params, &m), pok_err);
        let mut m = msg.clone();
        m.ephemeral += G;
        assert_eq!(verify_dealer_message(&params, &m), pok_err);
        // Another election.
        let other = DkgParams::new(&[0x07; 32], 2, params.trustee_keys().to_vec()).unwrap();
        assert_eq!(verify_dealer_message(&other, &msg), pok_err);
        // Someone who does not know a_i0 (commitment copied from elsewhere).
        let stolen = deal(&params, 1, &mut rng).unwrap();
        let mut m = msg.clone();
        m.commitments = stolen.commitments.clone();
        m.proof = prove_constant_term(&params, &m, &Scalar::random(&mut rng), &mut rng);
        assert_eq!(verify_dealer_message(&params, &m), pok_err);
        // Wrong lengths.
        let mut m = msg.clone();
        m.commitments.push(G);
        assert!(matches!(
            verify_dealer_message(&params, &m),
            Err(DkgError::MalformedDealerMessage { dealer: 2, .. })
        ));
        let mut m = msg;
        m.encrypted_shares.pop();
        assert!(matches!(
            verify_dealer_message(&params, &m),
            Err(DkgError::MalformedDealerMessage { dealer: 2, .. })
        ));
    }

    #[test]
    fn bad_share_is_caught_by_a_verifiable_complaint() {
        let (params, keys, mut rng) = setup(2, 3, 4);
        let bad = cheating_dealer(&params, &mut rng);
        assert_eq!(verify_dealer_message(&params, &bad), Ok(()));
        assert_eq!(
            keys[1].open_share(&params, &bad).unwrap_err(),
            DkgError::BadShare {
                dealer: 1,
                recipient: 2
            }
        );
        // Trustee 3's share is fine.
        assert!(keys[2].open_share(&params, &bad).is_ok());
        let complaint = keys[1].complain(&params, &bad, &mut rng).unwrap();
        assert_eq!(
            Complaint::from_bytes(&complaint.to_bytes()),
            Ok(complaint.clone())
        );
        assert_eq!(
            verify_complaint(&params, &bad, &complaint),
            Ok(Fault::Dealer(1))
        );

        let dealers = vec![
            bad,
            deal(&params, 2, &mut rng).unwrap(),
            deal(&params, 3, &mut rng).unwrap(),
        ];
        let outcome =
            DkgOutcome::from_transcript(&params, &dealers, std::slice::from_ref(&complaint))
                .unwrap();
        assert_eq!(outcome.election_key.qualified(), &[2, 3]);
        assert_eq!(
            outcome.disqualified,
            vec![(1, Disqualification::JustifiedComplaint { complainant: 2 })]
        );
        // Every trustee, the victim included, gets a consistent share.
        for key in &keys {
            key.secret_share(&params, &outcome.election_key, &dealers)
                .unwrap();
        }
        // Without the complaint, the victim cannot derive its share.
        let outcome = DkgOutcome::from_transcript(&params, &dealers, &[]).unwrap();
        assert_eq!(
            keys[1]
                .secret_share(&params, &outcome.election_key, &dealers)
                .unwrap_err(),
            DkgError::BadShare {
                dealer: 1,
                recipient: 2
            }
        );
    }

    #[test]
    fn undecryptable_share_is_caught_by_a_complaint() {
        let (params, keys, mut rng) = setup(2, 3, 5);
        let poly = random_poly(2, &mut rng);
        let rho = Scalar::random(&mut rng);
        let mut msg = deal_with(&params, 3, &poly, &rho, &mut rng);
        msg.encrypted_shares[0] = [0x55; ENCRYPTED_SHARE_LEN];
        msg.proof = prove_constant_term(&params, &msg, &poly[0], &mut rng);
        assert!(keys[0].open_share(&params, &msg).is_err());
        let complaint = keys[0].complain(&params, &msg, &mut rng).unwrap();
        assert_eq!(
            verify_complaint(&params, &msg, &complaint),
            Ok(Fault::Dealer(3))
        );
    }

    #[test]
    fn false_complaints_are_refuted() {
        let (params, keys, mut rng) = setup(2, 3, 6);
        let dealers: Vec<_> = (1..=3)
            .map(|i| deal(&params, i, &mut rng).unwrap())
            .collect();
        // Honest DH point, but the share is good.
        let honest_s = keys[0].complain(&params, &dealers[1], &mut rng).unwrap();
        assert_eq!(
            verify_complaint(&params, &dealers[1], &honest_s),
            Ok(Fault::Complainant(1))
        );
        // A fake DH point (which would make decryption fail) cannot be proven.
        let mut fake = honest_s.clone();
        fake.shared_secret += G;
        assert_eq!(
            verify_complaint(&params, &dealers[1], &fake),
            Ok(Fault::Complainant(1))
        );
        // Trustee 3 cannot complain in trustee 1's name with its own key.
        let mut stolen = keys[2].complain(&params, &dealers[1], &mut rng).unwrap();
        stolen.complainant = 1;
        assert_eq!(
            verify_complaint(&params, &dealers[1], &stolen),
            Ok(Fault::Complainant(1))
        );
        // A complaint replayed against another dealer's message.
        let mut moved = honest_s.clone();
        moved.dealer = 3;
        assert_eq!(
            verify_complaint(&params, &dealers[2], &moved),
            Ok(Fault::Complainant(1))
        );
        assert!(matches!(
            verify_complaint(&params, &dealers[2], &honest_s),
            Err(DkgError::UnknownDealer { .. })
        ));
        let outcome =
            DkgOutcome::from_transcript(&params, &dealers, &[honest_s.clone(), fake.clone()]);
        assert_eq!(
            outcome,
            Err(DkgError::DuplicateComplaint {
                complainant: 1,
                dealer: 2
            })
        );
        let outcome =
            DkgOutcome::from_transcript(&params, &dealers, std::slice::from_ref(&honest_s))
                .unwrap();
        assert_eq!(outcome.election_key.qualified(), &[1, 2, 3]);
        assert_eq!(outcome.false_complaints, vec![(1, 2)]);
        assert!(matches!(
            keys[0].complain(&params, &dealers[0], &mut rng),
            Err(DkgError::SelfComplaint { trustee: 1 })
        ));
    }

    #[test]
    fn transcript_rules() {
        let (params, _, mut rng) = setup(2, 3, 7);
        let dealers: Vec<_> = (1..=3)
            .map(|i| deal(&params, i, &mut rng).unwrap())
            .collect();
        // A missing dealer and an invalid message still leave t qualified.
        let mut invalid = dealers[2].clone();
        invalid.proof.response += Scalar::ONE;
        let outcome =
            DkgOutcome::from_transcript(&params, &[dealers[1].clone(), invalid], &[]).unwrap_err();
        assert_eq!(
            outcome,
            DkgError::TooFewQualified {
                qualified: 1,
                threshold: 2
            }
        );
        let outcome = DkgOutcome::from_transcript(&params, &dealers[..2], &[]).unwrap();
        assert_eq!(outcome.election_key.qualified(), &[1, 2]);
        assert_eq!(outcome.disqualified, vec![(3, Disqualification::NoMessage)]);
        assert_eq!(
            *outcome.election_key.public_key(),
            dealers[0].commitments[0] + dealers[1].commitments[0]
        );
        // Two messages from one dealer make the transcript invalid.
        let twice = [dealers[0].clone(), dealers[1].clone(), dealers[0].clone()];
        assert_eq!(
            DkgOutcome::from_transcript(&params, &twice, &[]),
            Err(DkgError::DuplicateDealer { dealer: 1 })
        );
        let mut out_of_range = dealers[0].clone();
        out_of_range.dealer = 4;
        assert_eq!(
            DkgOutcome::from_transcript(&params, &[out_of_range], &[]),
            Err(DkgError::IndexOutOfRange { index: 4 })
        );
        // Election key encoding round-trips and its decoder enforces invariants.
        let key = outcome.election_key;
        assert_eq!(ElectionKey::from_bytes(&key.to_bytes()), Ok(key.clone()));
        for qualified in [vec![2, 1], vec![1, 4], vec![1], vec![0, 1]] {
            let mut f = key.0.clone();
            f.qualified = qualified;
            assert!(ElectionKey::from_bytes(&f.to_bytes()).is_err());
        }
    }

    #[test]
    fn non_canonical_encodings_rejected() {
        let (params, keys, mut rng) = setup(2, 3, 8);
        let msg = deal(&params, 1, &mut rng).unwrap();
        let bytes = msg.to_bytes();
        // Trailing byte.
        let mut b = bytes.clone();
        b.push(0);
        assert_eq!(
            DealerMessage::from_bytes(&b),
            Err(DecodeError::NonCanonical)
        );
        // Dealer index 1 in a non-shortest form (0x18 0x01).
        assert_eq!(bytes[1], 0x01);
        let long = [&bytes[..1], &[0x18, 0x01], &bytes[2..]].concat();
        assert_eq!(
            DealerMessage::from_bytes(&long),
            Err(DecodeError::NonCanonical)
        );
        // Identity ephemeral key.
        let eph = msg.ephemeral.compress().to_bytes();
        let pos = bytes.windows(32).position(|w| w == eph).unwrap();
        let mut b = bytes.clone();
        b[pos..pos + 32].copy_from_slice(&[0; 32]);
        assert!(matches!(
            DealerMessage::from_bytes(&b),
            Err(DecodeError::Malformed(_))
        ));
        // Unreduced proof scalar (last 32 bytes are the response).
        let mut b = bytes;
        let n = b.len();
        b[n - 32..].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            DealerMessage::from_bytes(&b),
            Err(DecodeError::Malformed(_))
        ));
        let c = keys[1].complain(&params, &msg, &mut rng).unwrap();
        let mut b = c.to_bytes();
        b.push(0);
        assert_eq!(Complaint::from_bytes(&b), Err(DecodeError::NonCanonical));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = DealerMessage::from_bytes(&bytes);
            let _ = Complaint::from_bytes(&bytes);
            let _ = DkgParams::from_bytes(&bytes);
            let _ = ElectionKey::from_bytes(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(idx in 0usize..1000, val in any::<u8>()) {
            let (params, _, mut rng) = setup(2, 3, 10);
            let mut b = deal(&params, 1, &mut rng).unwrap().to_bytes();
            let i = idx % b.len();
            b[i] = val;
            if let Ok(m) = DealerMessage::from_bytes(&b) {
                prop_assert_eq!(m.to_bytes(), b);
                let _ = verify_dealer_message(&params, &m);
            }
        }
    }
}
