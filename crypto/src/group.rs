//! The ristretto255 group: canonical encodings, the generators `G` and `H`,
//! hash-to-group and hash-to-scalar.
//!
//! Invariants: every point that enters the protocol from bytes went through
//! [`decode_point`] (canonical encodings only) and every scalar through
//! [`decode_scalar`] (reduced encodings only).

use std::sync::LazyLock;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use thiserror::Error;

use crate::hash::{encode_parts, expand_message_xmd, LABEL_PREFIX};

pub use curve25519_dalek::ristretto::RistrettoPoint as Point;
pub use curve25519_dalek::scalar::Scalar as Sc;

/// Why bytes were refused as a group element or scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum GroupError {
    /// The input was not exactly 32 bytes.
    #[error("expected 32 bytes, got {0}")]
    Length(usize),
    /// The bytes are not the canonical encoding of a ristretto255 point.
    #[error("non-canonical or invalid ristretto255 point encoding")]
    NonCanonicalPoint,
    /// The point is the identity where the protocol forbids it.
    #[error("identity point not allowed here")]
    IdentityPoint,
    /// The bytes encode an integer ≥ ℓ (unreduced scalar).
    #[error("unreduced scalar encoding")]
    NonCanonicalScalar,
    /// The scalar is zero where the protocol forbids it.
    #[error("zero scalar not allowed here")]
    ZeroScalar,
}

/// Domain-separation tag of the NUMS generator `H` (hash-to-group input).
pub const H_LABEL: &str = "urne/v1/generator-H";

/// The standard generator `G`, the ristretto255 basepoint.
pub const G: RistrettoPoint = RISTRETTO_BASEPOINT_POINT;

static H_POINT: LazyLock<RistrettoPoint> = LazyLock::new(|| hash_to_group(H_LABEL, &[]));

/// The nothing-up-my-sleeve generator `H = HashToGroup("urne/v1/generator-H", [])`,
/// whose discrete log relative to `G` nobody knows.
pub fn h() -> RistrettoPoint {
    *H_POINT
}

/// Decodes a canonical ristretto255 point; the identity is allowed.
pub fn decode_point(bytes: &[u8]) -> Result<RistrettoPoint, GroupError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| GroupError::Length(bytes.len()))?;
    CompressedRistretto(arr)
        .decompress()
        .ok_or(GroupError::NonCanonicalPoint)
}

/// Decodes a canonical ristretto255 point and refuses the identity.
pub fn decode_nonidentity_point(bytes: &[u8]) -> Result<RistrettoPoint, GroupError> {
    let p = decode_point(bytes)?;
    if p == RistrettoPoint::identity() {
        return Err(GroupError::IdentityPoint);
    }
    Ok(p)
}

/// Decodes a reduced little-endian scalar (< ℓ); unreduced encodings are refused.
pub fn decode_scalar(bytes: &[u8]) -> Result<Scalar, GroupError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| GroupError::Length(bytes.len()))?;
    Option::from(Scalar::from_canonical_bytes(arr)).ok_or(GroupError::NonCanonicalScalar)
}

/// Decodes a reduced, non-zero scalar.
pub fn decode_nonzero_scalar(bytes: &[u8]) -> Result<Scalar, GroupError> {
    let s = decode_scalar(bytes)?;
    if s == Scalar::ZERO {
        return Err(GroupError::ZeroScalar);
    }
    Ok(s)
}

/// `HashToGroup(dst, parts)`: RFC 9380 `hash_to_ristretto255` — 64 bytes of
/// `expand_message_xmd`(SHA-512) over the injective encoding of `parts`,
/// mapped with the RFC 9496 one-way map. `dst` must start with `urne/v1/`.
pub fn hash_to_group(dst: &str, parts: &[&[u8]]) -> RistrettoPoint {
    debug_assert!(dst.starts_with(LABEL_PREFIX));
    let uniform: [u8; 64] = expand_message_xmd(&encode_parts(parts), dst.as_bytes());
    RistrettoPoint::from_uniform_bytes(&uniform)
}

/// `HashToScalar(dst, parts)`: 64 bytes of `expand_message_xmd`(SHA-512) over
/// the injective encoding of `parts`, reduced mod ℓ (bias < 2⁻²⁵⁰).
pub fn hash_to_scalar(dst: &str, parts: &[&[u8]]) -> Scalar {
    debug_assert!(dst.starts_with(LABEL_PREFIX));
    let uniform: [u8; 64] = expand_message_xmd(&encode_parts(parts), dst.as_bytes());
    Scalar::from_bytes_mod_order_wide(&uniform)
}

/// The operating system's CSPRNG, for production randomness.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_is_fixed_and_independent_of_g() {
        assert_ne!(h(), G);
        assert_ne!(h(), RistrettoPoint::identity());
        assert_eq!(h(), hash_to_group(H_LABEL, &[]));
    }

    #[test]
    fn rejects_non_canonical_points() {
        // 2^255 - 1 is not a canonical field element encoding.
        assert_eq!(
            decode_point(&[0xff; 32]),
            Err(GroupError::NonCanonicalPoint)
        );
        // Negative field element (low bit set) is never canonical in ristretto255.
        let mut b = [0u8; 32];
        b[0] = 1;
        assert_eq!(decode_point(&b), Err(GroupError::NonCanonicalPoint));
        assert_eq!(decode_point(&[0u8; 31]), Err(GroupError::Length(31)));
        assert_eq!(
            decode_nonidentity_point(&[0u8; 32]),
            Err(GroupError::IdentityPoint)
        );
        let g = G.compress().to_bytes();
        assert_eq!(decode_point(&g), Ok(G));
    }

    #[test]
    fn rejects_unreduced_scalars() {
        // ℓ itself, little-endian.
        let l = hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .expect("hex");
        assert_eq!(decode_scalar(&l), Err(GroupError::NonCanonicalScalar));
        assert_eq!(
            decode_scalar(&[0xff; 32]),
            Err(GroupError::NonCanonicalScalar)
        );
        assert_eq!(
            decode_nonzero_scalar(&[0u8; 32]),
            Err(GroupError::ZeroScalar)
        );
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(decode_scalar(&one), Ok(Scalar::ONE));
    }

    #[test]
    fn hash_to_group_is_domain_separated() {
        let a = hash_to_group("urne/v1/test-a", &[b"x"]);
        let b = hash_to_group("urne/v1/test-b", &[b"x"]);
        assert_ne!(a, b);
        assert_ne!(
            hash_to_scalar("urne/v1/test-a", &[b"x"]),
            hash_to_scalar("urne/v1/test-a", &[b"y"])
        );
    }

    // RFC 9496 Appendix A.3: the one-way map used after expansion.
    #[test]
    fn one_way_map_matches_rfc9496() {
        let cases = [
            ("5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c14d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
             "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"),
            ("f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b270102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
             "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"),
        ];
        for (input, expected) in cases {
            let uniform: [u8; 64] = hex::decode(input).expect("hex").try_into().expect("64");
            assert_eq!(
                hex::encode(
                    RistrettoPoint::from_uniform_bytes(&uniform)
                        .compress()
                        .to_bytes()
                ),
                expected
            );
        }
    }
}
