//! Domain-separated hashing: every hash in urne goes through this module.
//!
//! Two constructions, both specified in `specs/protocol.md` §2:
//! * [`tagged`]: SHA-256 over a length-prefixed label and length-prefixed parts,
//!   for digests (commitments, identifiers, seeds).
//! * [`expand_message_xmd`]: RFC 9380 §5.3.1 with SHA-512, the basis of
//!   [`crate::group::hash_to_group`] and [`crate::group::hash_to_scalar`].

use sha2::{Digest, Sha256, Sha512};

/// Prefix of every domain-separation label; bumping it versions the whole protocol.
pub const LABEL_PREFIX: &str = "urne/v1/";

/// A 32-byte SHA-256 digest.
pub type Digest32 = [u8; 32];

/// `SHA-256(u16be(len(label)) ‖ label ‖ Σ u64be(len(part)) ‖ part)`.
///
/// Length prefixes make the encoding injective, so distinct `(label, parts)`
/// never collide by concatenation.
pub fn tagged(label: &str, parts: &[&[u8]]) -> Digest32 {
    let mut h = Sha256::new();
    absorb(&mut h, label, parts);
    h.finalize().into()
}

fn absorb<D: Digest>(h: &mut D, label: &str, parts: &[&[u8]]) {
    debug_assert!(label.starts_with(LABEL_PREFIX), "unversioned label {label}");
    h.update((label.len() as u16).to_be_bytes());
    h.update(label.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
}

/// Injective encoding of a list of parts: `Σ u64be(len(part)) ‖ part`.
pub fn encode_parts(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// RFC 9380 `expand_message_xmd` with SHA-512, producing `N` bytes.
///
/// `N` must be at most 255·64; `dst` at most 255 bytes (both are constants in
/// urne, checked by tests).
pub fn expand_message_xmd<const N: usize>(msg: &[u8], dst: &[u8]) -> [u8; N] {
    const B_IN_BYTES: usize = 64; // SHA-512 output
    const S_IN_BYTES: usize = 128; // SHA-512 block
    assert!(N <= 255 * B_IN_BYTES && dst.len() <= 255 && N > 0);
    let ell = N.div_ceil(B_IN_BYTES);
    let dst_prime = [dst, &[dst.len() as u8]].concat();
    let b0: [u8; 64] = Sha512::new()
        .chain_update([0u8; S_IN_BYTES])
        .chain_update(msg)
        .chain_update((N as u16).to_be_bytes())
        .chain_update([0u8])
        .chain_update(&dst_prime)
        .finalize()
        .into();
    let mut out = [0u8; N];
    let mut prev: [u8; 64] = Sha512::new()
        .chain_update(b0)
        .chain_update([1u8])
        .chain_update(&dst_prime)
        .finalize()
        .into();
    for i in 1..=ell {
        let start = (i - 1) * B_IN_BYTES;
        let end = (start + B_IN_BYTES).min(N);
        out[start..end].copy_from_slice(&prev[..end - start]);
        if i < ell {
            let mut x = [0u8; 64];
            for (j, byte) in x.iter_mut().enumerate() {
                *byte = b0[j] ^ prev[j];
            }
            prev = Sha512::new()
                .chain_update(x)
                .chain_update([(i + 1) as u8])
                .chain_update(&dst_prime)
                .finalize()
                .into();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_is_injective_over_splits() {
        let a = tagged("urne/v1/test", &[b"ab", b"c"]);
        let b = tagged("urne/v1/test", &[b"a", b"bc"]);
        let c = tagged("urne/v1/tesT", &[b"ab", b"c"]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, tagged("urne/v1/test", &[b"ab", b"c"]));
    }

    // RFC 9380 Appendix K.3, expand_message_xmd(SHA-512),
    // DST = "QUUX-V01-CS02-with-expander-SHA512-256".
    #[test]
    fn expand_message_xmd_rfc9380_vectors() {
        let dst = b"QUUX-V01-CS02-with-expander-SHA512-256";
        let out: [u8; 0x20] = expand_message_xmd(b"", dst);
        assert_eq!(
            hex::encode(out),
            "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"
        );
        let out: [u8; 0x20] = expand_message_xmd(b"abc", dst);
        assert_eq!(
            hex::encode(out),
            "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"
        );
        let out: [u8; 0x80] = expand_message_xmd(b"", dst);
        assert_eq!(
            hex::encode(out),
            "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921\
             b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e\
             0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e\
             b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"
        );
    }
}
