//! Exponential ElGamal on ristretto255, with messages in the exponent of `H`.
//!
//! A ciphertext of `m` under the election key `PK` with randomness `r` is
//! `(A, B) = (r·G, m·H + r·PK)`. Ciphertexts add component-wise, which adds
//! the messages: that is how the tally is formed without decrypting a ballot.
//! Decryption with the key `x` (`PK = x·G`) yields the point `B − x·A = m·H`;
//! recovering the small integer `m` is the trustees' business.

use core::iter::Sum;
use core::ops::{Add, AddAssign, SubAssign};
use std::sync::LazyLock;

use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;

use crate::group::h;

static H_TABLE: LazyLock<RistrettoBasepointTable> =
    LazyLock::new(|| RistrettoBasepointTable::create(&h()));

/// `s·H` in constant time, through a precomputed table.
pub(crate) fn mul_h(s: &Scalar) -> RistrettoPoint {
    &*H_TABLE * s
}

/// An exponential ElGamal ciphertext `(A, B) = (r·G, m·H + r·PK)`.
///
/// Encoded as the array `[A, B]` of two 32-byte points (the identity is
/// allowed: a sum of ciphertexts may be anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Ciphertext {
    /// `A = r·G`.
    #[cbor(n(0), with = "crate::encoding::point")]
    pub a: RistrettoPoint,
    /// `B = m·H + r·PK`.
    #[cbor(n(1), with = "crate::encoding::point")]
    pub b: RistrettoPoint,
}

impl Ciphertext {
    /// The encryption of 0 with randomness 0, neutral for addition.
    pub fn zero() -> Self {
        Self {
            a: RistrettoPoint::identity(),
            b: RistrettoPoint::identity(),
        }
    }

    /// Encrypts `m` under `pk` with the given randomness `r` (constant time in
    /// `m` and `r`).
    pub fn encrypt_with_randomness(pk: &RistrettoPoint, m: &Scalar, r: &Scalar) -> Self {
        Self {
            a: RistrettoPoint::mul_base(r),
            b: mul_h(m) + pk * r,
        }
    }

    /// Encrypts `m` under `pk` with fresh randomness, returned for the caller
    /// to keep or zeroize.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        pk: &RistrettoPoint,
        m: &Scalar,
        rng: &mut R,
    ) -> (Self, Scalar) {
        let r = Scalar::random(rng);
        (Self::encrypt_with_randomness(pk, m, &r), r)
    }

    /// Decrypts with the full secret key `x`, returning the message point
    /// `B − x·A = m·H` (threshold decryption combines shares to the same end).
    pub fn decrypt_to_point(&self, x: &Scalar) -> RistrettoPoint {
        self.b - self.a * x
    }

    /// Re-randomises by adding an encryption of 0 with randomness `r`.
    pub fn rerandomize(&self, pk: &RistrettoPoint, r: &Scalar) -> Self {
        *self + Self::encrypt_with_randomness(pk, &Scalar::ZERO, r)
    }
}

impl Add for Ciphertext {
    type Output = Ciphertext;
    fn add(self, rhs: Ciphertext) -> Ciphertext {
        Ciphertext {
            a: self.a + rhs.a,
            b: self.b + rhs.b,
        }
    }
}

impl AddAssign for Ciphertext {
    fn add_assign(&mut self, rhs: Ciphertext) {
        self.a += rhs.a;
        self.b += rhs.b;
    }
}

impl SubAssign for Ciphertext {
    fn sub_assign(&mut self, rhs: Ciphertext) {
        self.a -= rhs.a;
        self.b -= rhs.b;
    }
}

impl Sum for Ciphertext {
    fn sum<I: Iterator<Item = Ciphertext>>(iter: I) -> Self {
        iter.fold(Ciphertext::zero(), Add::add)
    }
}

impl<'a> Sum<&'a Ciphertext> for Ciphertext {
    fn sum<I: Iterator<Item = &'a Ciphertext>>(iter: I) -> Self {
        iter.fold(Ciphertext::zero(), |acc, c| acc + *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Canonical, DecodeError};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn keypair(rng: &mut ChaCha20Rng) -> (Scalar, RistrettoPoint) {
        let x = Scalar::random(rng);
        (x, RistrettoPoint::mul_base(&x))
    }

    #[test]
    fn encrypts_and_adds_homomorphically() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let (x, pk) = keypair(&mut rng);
        let (c1, _) = Ciphertext::encrypt(&pk, &Scalar::from(3u8), &mut rng);
        let (c2, _) = Ciphertext::encrypt(&pk, &Scalar::from(4u8), &mut rng);
        assert_eq!(c1.decrypt_to_point(&x), h() * Scalar::from(3u8));
        assert_eq!((c1 + c2).decrypt_to_point(&x), h() * Scalar::from(7u8));
        let total: Ciphertext = [c1, c2, c1].iter().sum();
        assert_eq!(total.decrypt_to_point(&x), h() * Scalar::from(10u8));
        let mut acc = Ciphertext::zero();
        acc += c2;
        assert_eq!(acc, c2);
        let r = Scalar::random(&mut rng);
        let re = c1.rerandomize(&pk, &r);
        assert_ne!(re, c1);
        assert_eq!(re.decrypt_to_point(&x), c1.decrypt_to_point(&x));
    }

    #[test]
    fn wrong_key_does_not_decrypt() {
        let mut rng = ChaCha20Rng::from_seed([8; 32]);
        let (_, pk) = keypair(&mut rng);
        let (other, _) = keypair(&mut rng);
        let (c, _) = Ciphertext::encrypt(&pk, &Scalar::ONE, &mut rng);
        assert_ne!(c.decrypt_to_point(&other), h());
    }

    #[test]
    fn canonical_encoding_round_trips_and_is_strict() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let (_, pk) = keypair(&mut rng);
        let (c, _) = Ciphertext::encrypt(&pk, &Scalar::ONE, &mut rng);
        let bytes = c.to_bytes();
        assert_eq!(bytes.len(), 1 + 2 * 34);
        assert_eq!(Ciphertext::from_bytes(&bytes), Ok(c));
        let mut bad = bytes.clone();
        bad[3..35].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            Ciphertext::from_bytes(&bad),
            Err(DecodeError::Malformed(_))
        ));
        let mut long = bytes;
        long.push(0);
        assert_eq!(
            Ciphertext::from_bytes(&long),
            Err(DecodeError::NonCanonical)
        );
        assert_eq!(
            Ciphertext::from_bytes(&Ciphertext::zero().to_bytes()),
            Ok(Ciphertext::zero())
        );
    }
}
