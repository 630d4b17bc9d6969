//! Threshold decryption of homomorphic tallies.
//!
//! A tally ciphertext vector is `(A_c, B_c = k_c·H + r_c·PK)` for candidates
//! `c = 0..m−1`. Trustee `j` publishes a [`DecryptionShare`]: `D_jc = x_j·A_c`
//! for every `c`, with one Chaum–Pedersen proof that every `D_jc` uses the
//! `x_j` behind its public verification share `X_j = x_j·G` (the vector is
//! folded with random weights from the transcript). Any `t` valid shares
//! combine by Lagrange interpolation at 0 into `M_c = B_c − x·A_c = k_c·H`, and
//! [`DiscreteLog`] recovers `k_c` by baby-step giant-step up to a bound (the
//! ballot count). `specs/protocol.md` §5.8–5.9.

use std::collections::HashMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;
use thiserror::Error;

use crate::dkg::{ElectionKey, SecretShare};
use crate::dleq::{self, DleqProof, DleqStatement};
use crate::group::{h, G};
use crate::transcript::ProofTranscript;

/// Transcript label of a decryption share's proof.
pub const DECRYPTION_SHARE_LABEL: &[u8] = b"urne/v1/decryption-share";

/// Largest bound [`DiscreteLog`] accepts (its table then has 65 537 entries).
pub const MAX_DISCRETE_LOG_BOUND: u64 = 1 << 32;

/// Why decryption failed; variants name the trustee at fault where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecryptionError {
    /// A share's trustee index is not in `1..=n`.
    #[error("trustee {trustee}: index out of range")]
    UnknownTrustee {
        /// The trustee index in the share.
        trustee: u32,
    },
    /// A share has a different number of elements than the ciphertext vector.
    #[error("trustee {trustee}: {got} share elements for {expected} ciphertexts")]
    WrongLength {
        /// The trustee.
        trustee: u32,
        /// The number of ciphertexts.
        expected: usize,
        /// The number of share elements.
        got: usize,
    },
    /// A share's DLEQ proof does not verify against `X_j` and the ciphertexts.
    #[error("trustee {trustee}: invalid decryption share proof")]
    InvalidProof {
        /// The trustee.
        trustee: u32,
    },
    /// Two shares from the same trustee.
    #[error("trustee {trustee}: more than one decryption share")]
    DuplicateShare {
        /// The trustee.
        trustee: u32,
    },
    /// Fewer than `t` shares.
    #[error("{have} decryption shares, threshold is {need}")]
    NotEnoughShares {
        /// Distinct shares given.
        have: usize,
        /// The threshold `t`.
        need: u32,
    },
    /// The `A` and `B` vectors differ in length.
    #[error("{a} A components but {b} B components")]
    CiphertextMismatch {
        /// Length of `A`.
        a: usize,
        /// Length of `B`.
        b: usize,
    },
    /// No `k ≤ bound` has `k·H = M_c`.
    #[error("plaintext {index} is not in 0..={bound}")]
    OutOfRange {
        /// Position `c` of the plaintext.
        index: usize,
        /// The bound.
        bound: u64,
    },
    /// The requested bound exceeds [`MAX_DISCRETE_LOG_BOUND`].
    #[error("discrete-log bound {0} too large")]
    BoundTooLarge(u64),
}

/// Trustee `j`'s decryption share of a ciphertext vector.
///
/// Canonical encoding `[j: uint, [D_j0..D_j,m−1]: [point], proof: [c, z]]`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct DecryptionShare {
    /// The trustee index `j`.
    #[n(0)]
    pub trustee: u32,
    /// `D_jc = x_j·A_c`, one per ciphertext.
    #[cbor(n(1), with = "crate::encoding::points")]
    pub shares: Vec<RistrettoPoint>,
    /// DLEQ proof `log_G(X_j) = log_{A*}(D*)` for the weighted sums `A*`, `D*`.
    #[n(2)]
    pub proof: DleqProof,
}

/// Absorbs the statement and returns the folded DLEQ statement `(G, X_j, A*, D*)`.
///
/// `a` and `d` must have the same length.
fn share_statement(
    transcript: &mut ProofTranscript,
    trustee: u32,
    verification_share: &RistrettoPoint,
    a: &[RistrettoPoint],
    d: &[RistrettoPoint],
) -> DleqStatement {
    transcript.append_u64(b"trustee", trustee.into());
    transcript.append_point(b"X", verification_share);
    transcript.append_u64(b"count", a.len() as u64);
    for p in a {
        transcript.append_point(b"A", p);
    }
    for p in d {
        transcript.append_point(b"D", p);
    }
    let weights: Vec<Scalar> = a
        .iter()
        .map(|_| transcript.challenge_scalar(b"weight"))
        .collect();
    DleqStatement {
        base1: G,
        public1: *verification_share,
        base2: RistrettoPoint::vartime_multiscalar_mul(&weights, a),
        public2: RistrettoPoint::vartime_multiscalar_mul(&weights, d),
    }
}

/// Computes trustee `share.index()`'s decryption share of the `A` components `a`.
pub fn decryption_share<R: CryptoRng + ?Sized>(
    share: &SecretShare,
    election_id: &[u8],
    constituency: &[u8],
    a: &[RistrettoPoint],
    rng: &mut R,
) -> DecryptionShare {
    let shares: Vec<RistrettoPoint> = a.iter().map(|p| p * share.value()).collect();
    let mut t = ProofTranscript::new(DECRYPTION_SHARE_LABEL, election_id, constituency);
    let statement = share_statement(
        &mut t,
        share.index(),
        share.verification_share(),
        a,
        &shares,
    );
    let proof = dleq::prove(&mut t, &statement, share.value(), rng);
    DecryptionShare {
        trustee: share.index(),
        shares,
        proof,
    }
}

/// Verifies `share` against the verification share `X_j` in `key` and the
/// `A` components `a` of the ciphertext vector it decrypts.
pub fn verify_share(
    key: &ElectionKey,
    election_id: &[u8],
    constituency: &[u8],
    a: &[RistrettoPoint],
    share: &DecryptionShare,
) -> Result<(), DecryptionError> {
    let trustee = share.trustee;
    let x = key
        .verification_share(trustee)
        .ok_or(DecryptionError::UnknownTrustee { trustee })?;
    if share.shares.len() != a.len() {
        return Err(DecryptionError::WrongLength {
            trustee,
            expected: a.len(),
            got: share.shares.len(),
        });
    }
    let mut t = ProofTranscript::new(DECRYPTION_SHARE_LABEL, election_id, constituency);
    let statement = share_statement(&mut t, trustee, x, a, &share.shares);
    dleq::verify(&mut t, &statement, &share.proof)
        .map_err(|_| DecryptionError::InvalidProof { trustee })
}

/// Lagrange coefficients at 0 for the distinct non-zero indices `set`:
/// `λ_j = Π_{l≠j} l / (l − j)`.
fn lagrange_at_zero(set: &[u32]) -> Vec<Scalar> {
    set.iter()
        .map(|&j| {
            let (num, den) = set.iter().filter(|&&l| l != j).fold(
                (Scalar::ONE, Scalar::ONE),
                |(num, den), &l| {
                    (
                        num * Scalar::from(l),
                        den * (Scalar::from(l) - Scalar::from(j)),
                    )
                },
            );
            num * den.invert()
        })
        .collect()
}

/// Verifies every share and combines the `t` with the lowest indices into
/// `M_c = B_c − Σ_j λ_j·D_jc`, which equals `k_c·H`.
///
/// Every share given must verify (errors name the first faulty trustee);
/// filter with [`verify_share`] first to tolerate faulty trustees.
pub fn combine_points(
    key: &ElectionKey,
    election_id: &[u8],
    constituency: &[u8],
    a: &[RistrettoPoint],
    b: &[RistrettoPoint],
    shares: &[DecryptionShare],
) -> Result<Vec<RistrettoPoint>, DecryptionError> {
    if a.len() != b.len() {
        return Err(DecryptionError::CiphertextMismatch {
            a: a.len(),
            b: b.len(),
        });
    }
    let mut chosen: Vec<&DecryptionShare> = Vec::with_capacity(shares.len());
    for share in shares {
        verify_share(key, election_id, constituency, a, share)?;
        if chosen.iter().any(|s| s.trustee == share.trustee) {
            return Err(DecryptionError::DuplicateShare {
                trustee: share.trustee,
            });
        }
        chosen.push(share);
    }
    let t = key.threshold();
    if chosen.len() < t as usize {
        return Err(DecryptionError::NotEnoughShares {
            have: chosen.len(),
            need: t,
        });
    }
    chosen.sort_by_key(|s| s.trustee);
    chosen.truncate(t as usize);
    let indices: Vec<u32> = chosen.iter().map(|s| s.trustee).collect();
    let lambdas = lagrange_at_zero(&indices);
    Ok(b.iter()
        .enumerate()
        .map(|(c, b_c)| {
            let combined = RistrettoPoint::vartime_multiscalar_mul(
                &lambdas,
                chosen.iter().map(|s| s.shares[c]),
            );
            b_c - combined
        })
        .collect())
}

/// [`combine_points`], then the discrete logarithms `k_c` with `dlog`.
pub fn combine(
    key: &ElectionKey,
    election_id: &[u8],
    constituency: &[u8],
    a: &[RistrettoPoint],
    b: &[RistrettoPoint],
    shares: &[DecryptionShare],
    dlog: &DiscreteLog,
) -> Result<Vec<u64>, DecryptionError> {
    let points = combine_points(key, election_id, constituency, a, b, shares)?;
    dlog.solve(&points)
}

/// Baby-step giant-step solver for `k·H = M` with `0 ≤ k ≤ bound`.
///
/// With `m = ⌈√(bound+1)⌉`, the table maps the encoding of `2·(j·H)` to `j`
/// for `0 ≤ j < m` (doubling lets the batched encoder normalise many points
/// with one inversion; it is a bijection in a prime-order group). It is built
/// once and reused; giant steps for all points run in lockstep batches.
#[derive(Debug, Clone)]
pub struct DiscreteLog {
    bound: u64,
    baby_steps: u64,
    giant_steps: u64,
    giant: RistrettoPoint,
    table: HashMap<[u8; 32], u32>,
}

impl DiscreteLog {
    /// Builds the baby-step table for `bound ≤ MAX_DISCRETE_LOG_BOUND`.
    pub fn new(bound: u64) -> Result<Self, DecryptionError> {
        if bound > MAX_DISCRETE_LOG_BOUND {
            return Err(DecryptionError::BoundTooLarge(bound));
        }
        let size = bound + 1;
        let root = size.isqrt();
        let m = if root * root < size { root + 1 } else { root };
        let h = h();
        let mut babies = Vec::with_capacity(m as usize);
        let mut p = RistrettoPoint::default();
        for _ in 0..m {
            babies.push(p);
            p += h;
        }
        let table = RistrettoPoint::double_and_compress_batch(&babies)
            .into_iter()
            .zip(0u32..)
            .map(|(enc, j)| (enc.to_bytes(), j))
            .collect();
        Ok(Self {
            bound,
            baby_steps: m,
            giant_steps: size.div_ceil(m),
            giant: p, // m·H
            table,
        })
    }

    /// The bound.
    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// Finds `k_c ≤ bound` with `k_c·H = points[c]` for every `c`; errors with
    /// the first position that has none.
    pub fn solve(&self, points: &[RistrettoPoint]) -> Result<Vec<u64>, DecryptionError> {
        let mut found: Vec<Option<u64>> = vec![None; points.len()];
        let mut current = points.to_vec();
        let mut pending: Vec<usize> = (0..points.len()).collect();
        for i in 0..self.giant_steps {
            if pending.is_empty() {
                break;
            }
            let encodings =
                RistrettoPoint::double_and_compress_batch(pending.iter().map(|&c| &current[c]));
            let mut still = Vec::with_capacity(pending.len());
            for (&c, enc) in pending.iter().zip(encodings) {
                match self.table.get(enc.as_bytes()) {
                    Some(&j) => {
                        let k = i * self.baby_steps + u64::from(j);
                        // k is the unique log below m·giant_steps; above the bound it is out.
                        if k <= self.bound {
                            found[c] = Some(k);
                        }
                    }
                    None => {
                        current[c] -= self.giant;
                        still.push(c);
                    }
                }
            }
            pending = still;
        }
        found
            .iter()
            .enumerate()
            .map(|(index, k)| {
                k.ok_or(DecryptionError::OutOfRange {
                    index,
                    bound: self.bound,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkg::{deal, DkgOutcome, DkgParams, TrusteeKey};
    use crate::encoding::{Canonical, DecodeError};
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const EID: &[u8; 32] = b"election-decryption-test........";
    const CONS: &[u8] = b"north";

    struct Setup {
        key: ElectionKey,
        shares: Vec<SecretShare>,
        rng: ChaCha20Rng,
    }

    fn setup(t: u32, n: u32) -> Setup {
        let mut rng = ChaCha20Rng::from_seed([t as u8 * 16 + n as u8; 32]);
        let keys: Vec<TrusteeKey> = (0..n).map(|_| TrusteeKey::generate(&mut rng)).collect();
        let params =
            DkgParams::new(EID, t, keys.iter().map(TrusteeKey::public_key).collect()).unwrap();
        let dealers: Vec<_> = (1..=n)
            .map(|i| deal(&params, i, &mut rng).unwrap())
            .collect();
        let key = DkgOutcome::from_transcript(&params, &dealers, &[])
            .unwrap()
            .election_key;
        let shares = keys
            .iter()
            .map(|k| k.secret_share(&params, &key, &dealers).unwrap())
            .collect();
        Setup { key, shares, rng }
    }

    fn encrypt(
        pk: &RistrettoPoint,
        counts: &[u64],
        rng: &mut ChaCha20Rng,
    ) -> (Vec<RistrettoPoint>, Vec<RistrettoPoint>) {
        counts
            .iter()
            .map(|&k| {
                let r = Scalar::random(rng);
                (G * r, h() * Scalar::from(k) + pk * r)
            })
            .unzip()
    }

    #[test]
    fn lagrange_interpolates_constant_term() {
        // f(x) = 5 + 3x + 2x²; any 3 points give f(0).
        let f = |x: u64| Scalar::from(5 + 3 * x + 2 * x * x);
        for set in [[1u32, 2, 3], [2, 4, 5], [5, 1, 3]] {
            let l = lagrange_at_zero(&set);
            let v: Scalar = set.iter().zip(&l).map(|(&j, lj)| f(j.into()) * lj).sum();
            assert_eq!(v, Scalar::from(5u64));
        }
    }

    #[test]
    fn any_t_shares_decrypt_and_fewer_are_refused() {
        let mut s = setup(3, 5);
        let counts = [0u64, 1, 7, 42, 100];
        let (a, b) = encrypt(s.key.public_key(), &counts, &mut s.rng);
        let ds: Vec<DecryptionShare> = s
            .shares
            .iter()
            .map(|x| decryption_share(x, EID, CONS, &a, &mut s.rng))
            .collect();
        for d in &ds {
            assert_eq!(verify_share(&s.key, EID, CONS, &a, d), Ok(()));
        }
        let dlog = DiscreteLog::new(100).unwrap();
        for subset in [[0usize, 1, 2], [2, 3, 4], [4, 0, 2], [1, 3, 4]] {
            let chosen: Vec<_> = subset.iter().map(|&k| ds[k].clone()).collect();
            assert_eq!(
                combine(&s.key, EID, CONS, &a, &b, &chosen, &dlog),
                Ok(counts.to_vec())
            );
        }
        assert_eq!(
            combine(&s.key, EID, CONS, &a, &b, &ds, &dlog),
            Ok(counts.to_vec())
        );
        assert_eq!(
            combine(&s.key, EID, CONS, &a, &b, &ds[..2], &dlog),
            Err(DecryptionError::NotEnoughShares { have: 2, need: 3 })
        );
        assert_eq!(
            combine(
                &s.key,
                EID,
                CONS,
                &a,
                &b,
                &[ds[0].clone(), ds[0].clone()],
                &dlog
            ),
            Err(DecryptionError::DuplicateShare { trustee: 1 })
        );
        // Interpolating t−1 shares as if they were enough gives garbage, which
        // the bounded search reports instead of returning a wrong count.
        let lambdas = lagrange_at_zero(&[1, 2]);
        let wrong: Vec<RistrettoPoint> = (0..counts.len())
            .map(|c| {
                b[c] - RistrettoPoint::vartime_multiscalar_mul(
                    &lambdas,
                    [ds[0].shares[c], ds[1].shares[c]],
                )
            })
            .collect();
        assert!(dlog.solve(&wrong).is_err());
    }

    #[test]
    fn bad_shares_are_attributed() {
        let mut s = setup(2, 3);
        let (a, b) = encrypt(s.key.public_key(), &[3, 1], &mut s.rng);
        let good = decryption_share(&s.shares[1], EID, CONS, &a, &mut s.rng);
        let invalid = Err(DecryptionError::InvalidProof { trustee: 2 });
        // Wrong D.
        let mut d = good.clone();
        d.shares[0] += G;
        assert_eq!(verify_share(&s.key, EID, CONS, &a, &d), invalid);
        // Wrong proof.
        let mut d = good.clone();
        d.proof.response += Scalar::ONE;
        assert_eq!(verify_share(&s.key, EID, CONS, &a, &d), invalid);
        // Honest D with a proof from another trustee's share.
        let other = decryption_share(&s.shares[0], EID, CONS, &a, &mut s.rng);
        let mut d = good.clone();
        d.proof = other.proof;
        assert_eq!(verify_share(&s.key, EID, CONS, &a, &d), invalid);
        // The whole share relabelled as another trustee's.
        let mut d = good.clone();
        d.trustee = 3;
        assert_eq!(
            verify_share(&s.key, EID, CONS, &a, &d),
            Err(DecryptionError::InvalidProof { trustee: 3 })
        );
        // Moved to another ciphertext vector, constituency or election.
        let (a2, _) = encrypt(s.key.public_key(), &[3, 1], &mut s.rng);
        assert_eq!(verify_share(&s.key, EID, CONS, &a2, &good), invalid);
        assert_eq!(verify_share(&s.key, EID, b"south", &a, &good), invalid);
        assert_eq!(verify_share(&s.key, b"other", CONS, &a, &good), invalid);
        // Reordered elements.
        let mut d = good.clone();
        d.shares.swap(0, 1);
        let swapped: Vec<_> = a.iter().rev().copied().collect();
        assert_eq!(verify_share(&s.key, EID, CONS, &swapped, &d), invalid);
        // Wrong secret used consistently (x_j + 1), with a valid-looking proof.
        let wrong = SecretShare::from_parts(2, s.shares[1].value() + Scalar::ONE);
        let d = decryption_share(&wrong, EID, CONS, &a, &mut s.rng);
        assert_eq!(verify_share(&s.key, EID, CONS, &a, &d), invalid);
        // Structure.
        let mut d = good.clone();
        d.shares.pop();
        assert!(matches!(
            verify_share(&s.key, EID, CONS, &a, &d),
            Err(DecryptionError::WrongLength { trustee: 2, .. })
        ));
        let mut d = good.clone();
        d.trustee = 4;
        assert_eq!(
            verify_share(&s.key, EID, CONS, &a, &d),
            Err(DecryptionError::UnknownTrustee { trustee: 4 })
        );
        // combine names the faulty trustee even among good shares.
        let mut bad = good.clone();
        bad.shares[1] += G;
        let first = decryption_share(&s.shares[0], EID, CONS, &a, &mut s.rng);
        let dlog = DiscreteLog::new(10).unwrap();
        assert_eq!(
            combine(&s.key, EID, CONS, &a, &b, &[first.clone(), bad], &dlog),
            Err(DecryptionError::InvalidProof { trustee: 2 })
        );
        assert_eq!(
            combine(&s.key, EID, CONS, &a, &b, &[first, good], &dlog),
            Ok(vec![3, 1])
        );
        assert_eq!(
            combine(&s.key, EID, CONS, &a, &b[..1], &[], &dlog),
            Err(DecryptionError::CiphertextMismatch { a: 2, b: 1 })
        );
    }

    #[test]
    fn bsgs_edges() {
        for bound in [0u64, 1, 2, 3, 15, 16, 17, 1000] {
            let dlog = DiscreteLog::new(bound).unwrap();
            let pts = |ks: &[u64]| -> Vec<RistrettoPoint> {
                ks.iter().map(|&k| h() * Scalar::from(k)).collect()
            };
            let ks = [0, bound / 2, bound.saturating_sub(1), bound, 1.min(bound)];
            assert_eq!(dlog.solve(&pts(&ks)), Ok(ks.to_vec()));
            for above in [bound + 1, bound + 2, 5 * bound + 7] {
                assert_eq!(
                    dlog.solve(&pts(&[0, above])),
                    Err(DecryptionError::OutOfRange { index: 1, bound })
                );
            }
            // Not a small multiple of H at all.
            assert!(dlog.solve(&[G]).is_err());
            // Negative values are huge scalars: out of range.
            assert!(dlog.solve(&[-h()]).is_err());
        }
        assert_eq!(DiscreteLog::new(100).unwrap().solve(&[]), Ok(vec![]));
        assert_eq!(
            DiscreteLog::new(MAX_DISCRETE_LOG_BOUND + 1).unwrap_err(),
            DecryptionError::BoundTooLarge(MAX_DISCRETE_LOG_BOUND + 1)
        );
    }

    #[test]
    fn share_encoding_is_strict() {
        let mut s = setup(2, 3);
        let (a, _) = encrypt(s.key.public_key(), &[1], &mut s.rng);
        let d = decryption_share(&s.shares[0], EID, CONS, &a, &mut s.rng);
        let bytes = d.to_bytes();
        assert_eq!(DecryptionShare::from_bytes(&bytes), Ok(d));
        let mut b = bytes.clone();
        b.push(0);
        assert_eq!(
            DecryptionShare::from_bytes(&b),
            Err(DecodeError::NonCanonical)
        );
        let long = [&bytes[..1], &[0x18, bytes[1]], &bytes[2..]].concat();
        assert_eq!(
            DecryptionShare::from_bytes(&long),
            Err(DecodeError::NonCanonical)
        );
        let mut b = bytes;
        b[5..37].copy_from_slice(&[0xff; 32]); // the first D: non-canonical point
        assert!(matches!(
            DecryptionShare::from_bytes(&b),
            Err(DecodeError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = DecryptionShare::from_bytes(&bytes);
        }
    }
}
