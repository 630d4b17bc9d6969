//! Schnorr signatures by the voter's one-time ballot key `P = p·G`.
//!
//! The credential certifies `P`; the signature by `p` over the whole canonical
//! ballot then proves that whoever holds the credential wrote the ballot.
//! Signatures are `(R, z)` with `R = k·G`, `c = ChallengeScalar(T)` where `T`
//! is a [`ProofTranscript`] labelled `urne/v1/ballot-signature` bound to the
//! election and constituency that absorbs `P`, `R` and the message, and
//! `z = k + c·p`. The verifier checks `z·G = R + c·P`; many signatures verify
//! at once with random weights ([`verify_batch`]).
//!
//! The nonce `k` is hedged: it is drawn from the transcript RNG rekeyed with
//! the secret key and the message, then with the caller's randomness, so a
//! weak RNG alone does not leak `p`.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use minicbor::decode::Decoder;
use minicbor::encode::{Encoder, Write};
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::group::{decode_nonidentity_point, decode_nonzero_scalar, GroupError};
use crate::transcript::{MerlinTranscript, ProofTranscript};

/// Transcript label of ballot signatures.
pub const SIGNATURE_LABEL: &[u8] = b"urne/v1/ballot-signature";
/// Transcript label of the batch-verification weights.
pub const SIGNATURE_BATCH_LABEL: &[u8] = b"urne/v1/ballot-signature-batch";

/// Why a ballot key or signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The bytes are not a valid secret key (unreduced or zero).
    #[error("invalid ballot secret key: {0}")]
    SecretKey(GroupError),
    /// The signature does not verify.
    #[error("invalid ballot signature")]
    Invalid,
    /// A batch of signatures does not verify; at least one is invalid (check
    /// them one by one to find which).
    #[error("signature batch rejected")]
    BatchRejected,
}

/// The one-time ballot secret key `p` (non-zero), zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BallotSecretKey(Scalar);

impl core::fmt::Debug for BallotSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BallotSecretKey(..)")
    }
}

impl BallotSecretKey {
    /// Draws a fresh non-zero key.
    pub fn generate<R: CryptoRng>(rng: &mut R) -> Self {
        loop {
            let p = Scalar::random(rng);
            if p != Scalar::ZERO {
                return Self(p);
            }
        }
    }

    /// Reads a key from its 32-byte encoding (reduced, non-zero).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        decode_nonzero_scalar(bytes)
            .map(Self)
            .map_err(SignatureError::SecretKey)
    }

    /// The 32-byte little-endian encoding of `p`.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public ballot key `P = p·G`.
    pub fn public_key(&self) -> BallotPublicKey {
        BallotPublicKey::from_point(RistrettoPoint::mul_base(&self.0))
    }
}

/// The public one-time ballot key `P = p·G` (never the identity).
///
/// Encoded as a 32-byte string holding the canonical point encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BallotPublicKey {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl BallotPublicKey {
    /// Wraps a point; `None` for the identity.
    pub fn new(point: RistrettoPoint) -> Option<Self> {
        (point != RistrettoPoint::identity()).then(|| Self::from_point(point))
    }

    fn from_point(point: RistrettoPoint) -> Self {
        Self {
            point,
            compressed: point.compress(),
        }
    }

    /// Decodes a canonical, non-identity point encoding.
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, GroupError> {
        let point = decode_nonidentity_point(bytes)?;
        let mut compressed = [0u8; 32];
        compressed.copy_from_slice(bytes);
        Ok(Self {
            point,
            compressed: CompressedRistretto(compressed),
        })
    }

    /// The point `P`.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The 32-byte encoding of `P`.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.compressed.as_bytes()
    }
}

impl<C> Encode<C> for BallotPublicKey {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.bytes(self.as_bytes())?;
        Ok(())
    }
}

impl<'b, C> Decode<'b, C> for BallotPublicKey {
    fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, minicbor::decode::Error> {
        Self::from_compressed(d.bytes()?)
            .map_err(|e| minicbor::decode::Error::message(e.to_string()))
    }
}

/// A Schnorr signature `(R, z)`: `R` a non-identity point, `z` a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Signature {
    /// The nonce commitment `R = k·G`.
    #[cbor(n(0), with = "crate::encoding::nonidentity_point")]
    pub r: RistrettoPoint,
    /// The response `z = k + c·p`.
    #[cbor(n(1), with = "crate::encoding::scalar")]
    pub z: Scalar,
}

/// Transcript state after `P` and before `R`.
fn key_transcript(
    key: &BallotPublicKey,
    election_id: &[u8; 32],
    constituency: &str,
) -> ProofTranscript {
    let mut t = ProofTranscript::new(SIGNATURE_LABEL, election_id, constituency.as_bytes());
    t.append_bytes(b"ballot-key", key.as_bytes());
    t
}

fn challenge(mut t: ProofTranscript, r: &CompressedRistretto, message: &[u8]) -> Scalar {
    t.append_bytes(b"R", r.as_bytes());
    t.append_bytes(b"message", message);
    t.challenge_scalar(b"challenge")
}

/// Signs `message` with the ballot key for `(election_id, constituency)`.
pub fn sign<R: CryptoRng>(
    key: &BallotSecretKey,
    election_id: &[u8; 32],
    constituency: &str,
    message: &[u8],
    rng: &mut R,
) -> Signature {
    let public = key.public_key();
    let mut t = key_transcript(&public, election_id, constituency);
    let secret = key.to_bytes();
    let mut nonce_rng = {
        let mut fork: MerlinTranscript = t.merlin().clone();
        fork.append_message(b"nonce-message", message);
        fork.build_rng()
            .rekey_with_witness_bytes(b"secret-key", secret.as_ref())
            .finalize(rng)
    };
    let k = Zeroizing::new(Scalar::random(&mut nonce_rng));
    let r = RistrettoPoint::mul_base(&k);
    let c = challenge(t, &r.compress(), message);
    Signature {
        r,
        z: *k + c * key.0,
    }
}

/// Verifies a signature by `key` on `message` for `(election_id, constituency)`.
pub fn verify(
    key: &BallotPublicKey,
    election_id: &[u8; 32],
    constituency: &str,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let c = challenge(
        key_transcript(key, election_id, constituency),
        &signature.r.compress(),
        message,
    );
    // z·G − c·P must equal R.
    let expected =
        RistrettoPoint::vartime_double_scalar_mul_basepoint(&-c, &key.point, &signature.z);
    if expected == signature.r {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// One signature to check in a batch.
#[derive(Debug, Clone, Copy)]
pub struct SignedMessage<'a> {
    /// The signer's ballot key `P`.
    pub key: &'a BallotPublicKey,
    /// The election id.
    pub election_id: &'a [u8; 32],
    /// The constituency id.
    pub constituency: &'a str,
    /// The signed message.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Verifies many signatures at once: accepts iff (except with probability
/// ≈ 1/ℓ) every one verifies. Weights `α_j` come from a transcript
/// (`urne/v1/ballot-signature-batch`) that absorbs every `(P, R, z, c)`, and
/// the check is `(Σ α_j z_j)·G − Σ α_j·R_j − Σ α_j c_j·P_j = 0`.
///
/// An empty batch verifies. On [`SignatureError::BatchRejected`], use
/// [`verify`] on each item to find the culprits.
pub fn verify_batch(items: &[SignedMessage<'_>]) -> Result<(), SignatureError> {
    let mut weights = MerlinTranscript::new(SIGNATURE_BATCH_LABEL);
    weights.append_u64(b"count", items.len() as u64);
    let mut challenges = Vec::with_capacity(items.len());
    for item in items {
        let r = item.signature.r.compress();
        let c = challenge(
            key_transcript(item.key, item.election_id, item.constituency),
            &r,
            item.message,
        );
        weights.append_message(b"ballot-key", item.key.as_bytes());
        weights.append_message(b"R", r.as_bytes());
        weights.append_message(b"z", item.signature.z.as_bytes());
        weights.append_message(b"challenge", c.as_bytes());
        challenges.push(c);
    }
    let mut weights = BatchWeights(weights);
    let mut g_scalar = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    for (item, c) in items.iter().zip(&challenges) {
        let alpha = weights.next();
        g_scalar += alpha * item.signature.z;
        scalars.push(-alpha);
        points.push(item.signature.r);
        scalars.push(-(alpha * c));
        points.push(item.key.point);
    }
    scalars.push(g_scalar);
    points.push(crate::group::G);
    if RistrettoPoint::vartime_multiscalar_mul(&scalars, &points) == RistrettoPoint::identity() {
        Ok(())
    } else {
        Err(SignatureError::BatchRejected)
    }
}

/// Successive weight challenges from a batch transcript.
struct BatchWeights(MerlinTranscript);

impl BatchWeights {
    fn next(&mut self) -> Scalar {
        let mut buf = [0u8; 64];
        self.0.challenge_bytes(b"weight", &mut buf);
        Scalar::from_bytes_mod_order_wide(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Canonical, DecodeError};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const E1: [u8; 32] = [1; 32];
    const E2: [u8; 32] = [2; 32];

    fn rng(seed: u8) -> ChaCha20Rng {
        ChaCha20Rng::from_seed([seed; 32])
    }

    #[test]
    fn signs_and_verifies() {
        let mut rng = rng(1);
        let sk = BallotSecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let sig = sign(&sk, &E1, "north", b"ballot", &mut rng);
        assert_eq!(verify(&pk, &E1, "north", b"ballot", &sig), Ok(()));
    }

    #[test]
    fn rejects_any_change_of_context_message_key_or_signature() {
        let mut rng = rng(2);
        let sk = BallotSecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let other = BallotSecretKey::generate(&mut rng).public_key();
        let sig = sign(&sk, &E1, "north", b"ballot", &mut rng);
        let bad = Err(SignatureError::Invalid);
        assert_eq!(verify(&pk, &E2, "north", b"ballot", &sig), bad);
        assert_eq!(verify(&pk, &E1, "south", b"ballot", &sig), bad);
        assert_eq!(verify(&pk, &E1, "north", b"ballou", &sig), bad);
        assert_eq!(verify(&other, &E1, "north", b"ballot", &sig), bad);
        let mut tampered = sig;
        tampered.z += Scalar::ONE;
        assert_eq!(verify(&pk, &E1, "north", b"ballot", &tampered), bad);
        let mut tampered = sig;
        tampered.r += crate::group::G;
        assert_eq!(verify(&pk, &E1, "north", b"ballot", &tampered), bad);
    }

    #[test]
    fn nonces_are_fresh_per_rng_and_message() {
        let sk = BallotSecretKey::generate(&mut rng(3));
        let a = sign(&sk, &E1, "c", b"m", &mut rng(4));
        let b = sign(&sk, &E1, "c", b"m", &mut rng(5));
        let c = sign(&sk, &E1, "c", b"n", &mut rng(4));
        assert_ne!(a.r, b.r);
        assert_ne!(a.r, c.r);
        // Deterministic given the same inputs and RNG (for test vectors).
        assert_eq!(a, sign(&sk, &E1, "c", b"m", &mut rng(4)));
    }

    #[test]
    fn batch_accepts_valid_and_rejects_one_bad() {
        let mut rng = rng(6);
        let keys: Vec<BallotSecretKey> = (0..8)
            .map(|_| BallotSecretKey::generate(&mut rng))
            .collect();
        let pks: Vec<BallotPublicKey> = keys.iter().map(BallotSecretKey::public_key).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 3 + i as usize]).collect();
        let mut sigs: Vec<Signature> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| sign(k, &E1, "north", m, &mut rng))
            .collect();
        let items = |sigs: &[Signature]| -> Vec<(usize, Signature)> {
            sigs.iter().copied().enumerate().collect()
        };
        let check = |sigs: &[Signature]| {
            let owned = items(sigs);
            let batch: Vec<SignedMessage<'_>> = owned
                .iter()
                .map(|(i, s)| SignedMessage {
                    key: &pks[*i],
                    election_id: &E1,
                    constituency: "north",
                    message: &msgs[*i],
                    signature: s,
                })
                .collect();
            verify_batch(&batch)
        };
        assert_eq!(check(&sigs), Ok(()));
        assert_eq!(check(&[]), Ok(()));
        sigs[5].z += Scalar::ONE;
        assert_eq!(check(&sigs), Err(SignatureError::BatchRejected));
        // Two compensating errors do not cancel out under random weights.
        sigs[5].z -= Scalar::ONE;
        sigs[2].z += Scalar::ONE;
        sigs[3].z -= Scalar::ONE;
        assert_eq!(check(&sigs), Err(SignatureError::BatchRejected));
    }

    #[test]
    fn key_and_signature_encodings_are_strict() {
        let mut rng = rng(7);
        let sk = BallotSecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let sig = sign(&sk, &E1, "n", b"m", &mut rng);
        assert_eq!(Signature::from_bytes(&sig.to_bytes()), Ok(sig));
        assert_eq!(BallotPublicKey::from_compressed(pk.as_bytes()), Ok(pk));
        assert_eq!(pk.to_bytes()[2..], pk.as_bytes()[..]);
        assert_eq!(BallotPublicKey::from_bytes(&pk.to_bytes()), Ok(pk));
        assert_eq!(
            BallotPublicKey::from_compressed(&[0u8; 32]),
            Err(GroupError::IdentityPoint)
        );
        assert!(BallotPublicKey::new(RistrettoPoint::identity()).is_none());
        let mut bad = sig.to_bytes();
        let n = bad.len();
        bad[n - 1] = 0xff; // unreduced z
        assert!(matches!(
            Signature::from_bytes(&bad),
            Err(DecodeError::Malformed(_))
        ));
        let restored = BallotSecretKey::from_bytes(sk.to_bytes().as_ref()).expect("key");
        assert_eq!(restored.public_key(), pk);
        assert_eq!(
            BallotSecretKey::from_bytes(&[0u8; 32]).map(|k| k.public_key()),
            Err(SignatureError::SecretKey(GroupError::ZeroScalar))
        );
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100)) {
            let _ = Signature::from_bytes(&bytes);
            let _ = BallotPublicKey::from_bytes(&bytes);
            let _ = BallotPublicKey::from_compressed(&bytes);
            let _ = BallotSecretKey::from_bytes(&bytes);
        }

        #[test]
        fn mutated_signatures_are_rejected_or_canonical(idx in 0usize..68, val in proptest::prelude::any::<u8>()) {
            let mut rng = rng(8);
            let sk = BallotSecretKey::generate(&mut rng);
            let sig = sign(&sk, &E1, "n", b"m", &mut rng);
            let mut b = sig.to_bytes();
            let i = idx % b.len();
            let changed = b[i] != val;
            b[i] = val;
            if let Ok(decoded) = Signature::from_bytes(&b) {
                proptest::prop_assert_eq!(decoded.to_bytes(), b.clone());
                if changed {
                    proptest::prop_assert!(verify(&sk.public_key(), &E1, "n", b"m", &decoded).is_err());
                }
            }
        }
    }
}
