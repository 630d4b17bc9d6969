//! Canonical byte encoding of protocol objects: deterministic CBOR (RFC 8949 §4.2).
//!
//! Every object is a CBOR array of its fields in declaration order (derived
//! with `minicbor`, `#[cbor(array)]`): integers and lengths in their shortest
//! form, definite lengths only, no tags, no floats, no maps. Points are 32-byte
//! byte strings holding the canonical ristretto255 encoding; scalars are 32-byte
//! byte strings holding the reduced little-endian encoding.
//!
//! Decoding is strict: [`Canonical::from_bytes`] decodes, validates every group
//! element, re-encodes and refuses the input unless the bytes are identical —
//! so every accepted object has exactly one encoding, and trailing bytes,
//! non-shortest integers or indefinite lengths are all refused.

use minicbor::decode::Decoder;
use minicbor::encode::{Encoder, Write};
use thiserror::Error;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;

use crate::group::{decode_nonidentity_point, decode_point, decode_scalar};

/// Largest object urne decodes (16 MiB): bounds memory on hostile input.
pub const MAX_OBJECT_BYTES: usize = 16 << 20;

/// Why bytes were refused as a protocol object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Not well-formed CBOR of the expected shape (includes invalid points/scalars).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// Well-formed, but not the unique deterministic encoding of the value.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// Larger than [`MAX_OBJECT_BYTES`].
    #[error("object too large: {0} bytes")]
    TooLarge(usize),
}

/// A protocol object with a unique canonical byte encoding.
pub trait Canonical: Sized {
    /// The canonical encoding.
    fn to_bytes(&self) -> Vec<u8>;
    /// Decodes, accepting only the canonical encoding.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError>;
}

impl<T> Canonical for T
where
    T: minicbor::Encode<()> + for<'b> minicbor::Decode<'b, ()>,
{
    fn to_bytes(&self) -> Vec<u8> {
        // Writing to a Vec cannot fail and urne's field codecs never emit errors.
        minicbor::to_vec(self).expect("CBOR encoding into a Vec is infallible")
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_canonical(bytes, MAX_OBJECT_BYTES)
    }
}

/// Decodes the canonical encoding of a `T` of at most `max` bytes. Only
/// objects that grow with the board itself (a record snapshot) take a
/// bound above [`MAX_OBJECT_BYTES`].
pub fn decode_canonical<T>(bytes: &[u8], max: usize) -> Result<T, DecodeError>
where
    T: minicbor::Encode<()> + for<'b> minicbor::Decode<'b, ()>,
{
    if bytes.len() > max {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let mut d = Decoder::new(bytes);
    let v: T = d
        .decode()
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if d.position() != bytes.len() || v.to_bytes() != bytes {
        return Err(DecodeError::NonCanonical);
    }
    Ok(v)
}

fn bstr32<'b>(d: &mut Decoder<'b>) -> Result<&'b [u8], minicbor::decode::Error> {
    let b = d.bytes()?;
    if b.len() != 32 {
        return Err(minicbor::decode::Error::message(
            "expected a 32-byte string",
        ));
    }
    Ok(b)
}

/// Field codec: a ristretto255 point (identity allowed) as a 32-byte string.
pub mod point {
    use super::*;
    /// Encodes the compressed point.
    pub fn encode<C, W: Write>(
        p: &RistrettoPoint,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.bytes(p.compress().as_bytes())?;
        Ok(())
    }
    /// Decodes a canonical point.
    pub fn decode<C>(
        d: &mut Decoder<'_>,
        _: &mut C,
    ) -> Result<RistrettoPoint, minicbor::decode::Error> {
        decode_point(bstr32(d)?).map_err(|e| minicbor::decode::Error::message(e.to_string()))
    }
}

/// Field codec: a non-identity ristretto255 point as a 32-byte string.
pub mod nonidentity_point {
    pub use super::point::encode;
    use super::*;
    /// Decodes a canonical, non-identity point.
    pub fn decode<C>(
        d: &mut Decoder<'_>,
        _: &mut C,
    ) -> Result<RistrettoPoint, minicbor::decode::Error> {
        decode_nonidentity_point(bstr32(d)?)
            .map_err(|e| minicbor::decode::Error::message(e.to_string()))
    }
}

/// Field codec: a reduced scalar as a 32-byte string.
pub mod scalar {
    use super::*;
    /// Encodes the 32-byte little-endian scalar.
    pub fn encode<C, W: Write>(
        s: &Scalar,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.bytes(s.as_bytes())?;
        Ok(())
    }
    /// Decodes a reduced scalar.
    pub fn decode<C>(d: &mut Decoder<'_>, _: &mut C) -> Result<Scalar, minicbor::decode::Error> {
        decode_scalar(bstr32(d)?).map_err(|e| minicbor::decode::Error::message(e.to_string()))
    }
}

/// Field codec: an array of points (identity allowed).
pub mod points {
    use super::*;
    /// Encodes as a definite-length array of 32-byte strings.
    pub fn encode<C, W: Write>(
        v: &[RistrettoPoint],
        e: &mut Encoder<W>,
        c: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.array(v.len() as u64)?;
        for p in v {
            super::point::encode(p, e, c)?;
        }
        Ok(())
    }
    /// Decodes a definite-length array of canonical points.
    pub fn decode<C>(
        d: &mut Decoder<'_>,
        c: &mut C,
    ) -> Result<Vec<RistrettoPoint>, minicbor::decode::Error> {
        let n = definite_len(d)?;
        (0..n).map(|_| super::point::decode(d, c)).collect()
    }
}

/// Field codec: an array of reduced scalars.
pub mod scalars {
    use super::*;
    /// Encodes as a definite-length array of 32-byte strings.
    pub fn encode<C, W: Write>(
        v: &[Scalar],
        e: &mut Encoder<W>,
        c: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.array(v.len() as u64)?;
        for s in v {
            super::scalar::encode(s, e, c)?;
        }
        Ok(())
    }
    /// Decodes a definite-length array of reduced scalars.
    pub fn decode<C>(
        d: &mut Decoder<'_>,
        c: &mut C,
    ) -> Result<Vec<Scalar>, minicbor::decode::Error> {
        let n = definite_len(d)?;
        (0..n).map(|_| super::scalar::decode(d, c)).collect()
    }
}

/// Reads a definite array header, refusing lengths that cannot fit in the input.
pub fn definite_len(d: &mut Decoder<'_>) -> Result<u64, minicbor::decode::Error> {
    let n = d
        .array()?
        .ok_or_else(|| minicbor::decode::Error::message("indefinite-length array"))?;
    // Every element takes at least one byte: a longer claim is a lie.
    if n > (d.input().len() - d.position()) as u64 {
        return Err(minicbor::decode::Error::message(
            "array length exceeds input",
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::G;
    use minicbor::{Decode, Encode};
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    #[cbor(array)]
    struct Sample {
        #[n(0)]
        id: u64,
        #[cbor(n(1), with = "minicbor::bytes")]
        blob: Vec<u8>,
        #[cbor(n(2), with = "crate::encoding::nonidentity_point")]
        p: RistrettoPoint,
        #[cbor(n(3), with = "crate::encoding::scalars")]
        s: Vec<Scalar>,
    }

    fn sample() -> Sample {
        Sample {
            id: 7,
            blob: b"abc".to_vec(),
            p: G,
            s: vec![Scalar::ONE, Scalar::from(5u64)],
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        assert_eq!(Sample::from_bytes(&s.to_bytes()), Ok(s));
    }

    #[test]
    fn rejects_trailing_bytes_and_long_form_ints() {
        let mut b = sample().to_bytes();
        b.push(0);
        assert_eq!(Sample::from_bytes(&b), Err(DecodeError::NonCanonical));
        // id = 7 re-encoded in the non-shortest one-byte-argument form 0x18 0x07.
        let b = sample().to_bytes();
        assert_eq!(b[1], 0x07);
        let long = [&b[..1], &[0x18, 0x07], &b[2..]].concat();
        assert_eq!(Sample::from_bytes(&long), Err(DecodeError::NonCanonical));
    }

    #[test]
    fn rejects_bad_points_and_scalars() {
        let mut s = sample().to_bytes();
        let g = G.compress().to_bytes();
        let pos = s.windows(32).position(|w| w == g).expect("point present");
        let mut bad = s.clone();
        bad[pos..pos + 32].copy_from_slice(&[0u8; 32]); // identity
        assert!(matches!(
            Sample::from_bytes(&bad),
            Err(DecodeError::Malformed(_))
        ));
        bad[pos..pos + 32].copy_from_slice(&[0xffu8; 32]); // non-canonical
        assert!(matches!(
            Sample::from_bytes(&bad),
            Err(DecodeError::Malformed(_))
        ));
        let n = s.len();
        s[n - 32..].copy_from_slice(&[0xff; 32]); // unreduced scalar
        assert!(matches!(
            Sample::from_bytes(&s),
            Err(DecodeError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Sample::from_bytes(&bytes);
        }

        #[test]
        fn mutations_never_panic_and_accepted_ones_are_canonical(idx in 0usize..200, val in any::<u8>()) {
            let mut b = sample().to_bytes();
            let i = idx % b.len();
            b[i] = val;
            if let Ok(v) = Sample::from_bytes(&b) {
                prop_assert_eq!(v.to_bytes(), b);
            }
        }
    }
}
