//! Fiat–Shamir transcripts on merlin (STROBE-128), bound to their election context.
//!
//! Every proof in urne starts from [`ProofTranscript::new`], which absorbs the
//! protocol label, the election id and the constituency id before anything
//! else, so no challenge can be moved between elections or constituencies.
//! The merlin implementation is `tari_merlin`, the one the Bulletproofs+ prover
//! consumes, so a range proof can continue the very same transcript.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;

pub use tari_bulletproofs_plus::Transcript as MerlinTranscript;

/// A merlin transcript already bound to `(protocol label, election, constituency)`.
#[derive(Clone)]
pub struct ProofTranscript(MerlinTranscript);

impl ProofTranscript {
    /// Starts a transcript for `label` (e.g. `b"urne/v1/ballot"`), binding the
    /// election id and the constituency id (appended in that order, labels
    /// `election` and `constituency`).
    pub fn new(label: &'static [u8], election_id: &[u8], constituency: &[u8]) -> Self {
        let mut t = MerlinTranscript::new(label);
        t.append_message(b"election", election_id);
        t.append_message(b"constituency", constituency);
        Self(t)
    }

    /// Appends raw bytes under `label`.
    pub fn append_bytes(&mut self, label: &'static [u8], bytes: &[u8]) {
        self.0.append_message(label, bytes);
    }

    /// Appends a `u64` (merlin's 8-byte little-endian encoding) under `label`.
    pub fn append_u64(&mut self, label: &'static [u8], v: u64) {
        self.0.append_u64(label, v);
    }

    /// Appends the 32-byte compressed encoding of `p` under `label`.
    pub fn append_point(&mut self, label: &'static [u8], p: &RistrettoPoint) {
        self.0.append_message(label, p.compress().as_bytes());
    }

    /// Appends the 32-byte encoding of `s` under `label`.
    pub fn append_scalar(&mut self, label: &'static [u8], s: &Scalar) {
        self.0.append_message(label, s.as_bytes());
    }

    /// Draws a challenge scalar: 64 challenge bytes under `label`, reduced mod ℓ.
    pub fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut buf = [0u8; 64];
        self.0.challenge_bytes(label, &mut buf);
        Scalar::from_bytes_mod_order_wide(&buf)
    }

    /// The underlying merlin transcript, for sub-protocols (Bulletproofs+) that
    /// continue it.
    pub fn merlin(&mut self) -> &mut MerlinTranscript {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_changes_challenges() {
        let c =
            |e: &[u8], k: &[u8]| ProofTranscript::new(b"urne/v1/test", e, k).challenge_scalar(b"c");
        assert_ne!(c(b"e1", b"k"), c(b"e2", b"k"));
        assert_ne!(c(b"e", b"k1"), c(b"e", b"k2"));
        assert_eq!(c(b"e", b"k"), c(b"e", b"k"));
    }
}
