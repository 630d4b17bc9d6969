//! Encrypted approval votes and their zero-knowledge proofs.
//!
//! A voter approving a subset of `n` candidates encrypts one bit per candidate
//! under the election key `PK` ([`Ciphertext`]: `A_i = r_i·G`,
//! `B_i = m_i·H + r_i·PK`) and proves, without revealing anything else:
//!
//! 1. every `m_i ∈ {0, 1}`: one aggregated Bulletproofs+ range proof with bit
//!    length 1 over the `B_i` (value base `H`, blinding base `PK`);
//! 2. `min ≤ Σ m_i ≤ max`: one Bulletproofs+ range proof (aggregation 2) over
//!    `ΣB − min·H` and `max·H − ΣB`, which the verifier derives itself;
//! 3. every `A_i` carries the `r_i` of its `B_i`: one aggregated proof of
//!    representation with weights from the transcript.
//!
//! All three are bound to one transcript context ([`BallotStatement`]:
//! election, constituency, `PK`, the ballot key `P`, `n`, the bounds, and every
//! ciphertext in order), so a ballot's ciphertexts and proofs are worthless
//! under any other ballot key. `specs/protocol.md` §4 is the normative
//! description; this module follows it step by step.
//!
//! Verification is batched ([`verify_batch`]): all range proofs of a batch
//! go through one multi-scalar multiplication per (election key, bit length)
//! and all representation proofs through one more. A rejected batch says only
//! that some ballot is bad; [`find_invalid`] then checks them one by one.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use minicbor::decode::Decoder;
use minicbor::encode::{Encoder, Write};
use minicbor::{Decode, Encode};
use rand_core::CryptoRng;
use tari_bulletproofs_plus::commitment_opening::CommitmentOpening;
use tari_bulletproofs_plus::generators::pedersen_gens::ExtensionDegree;
use tari_bulletproofs_plus::range_parameters::RangeParameters;
use tari_bulletproofs_plus::range_proof::{RangeProof, VerifyAction};
use tari_bulletproofs_plus::range_statement::RangeStatement;
use tari_bulletproofs_plus::range_witness::RangeWitness;
use tari_bulletproofs_plus::PedersenGens;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::elgamal::{mul_h, Ciphertext};
use crate::encoding::definite_len;
use crate::group::{decode_point, h, G};
use crate::schnorr::BallotPublicKey;
use crate::transcript::{MerlinTranscript, ProofTranscript};

/// Transcript label of ballot proofs.
pub const BALLOT_LABEL: &[u8] = b"urne/v1/ballot";
/// Transcript label of the batch-verification weights.
pub const BALLOT_BATCH_LABEL: &[u8] = b"urne/v1/ballot-batch";
/// Largest number of candidates on one ballot.
pub const MAX_CANDIDATES: u32 = 4096;

/// A Bulletproofs+ range proof on ristretto255 (`tari_bulletproofs_plus`).
pub type BulletproofPlus = RangeProof<RistrettoPoint>;

/// Why a ballot statement, vote or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BallotError {
    /// The statement has no candidates.
    #[error("a ballot needs at least one candidate")]
    NoCandidates,
    /// The statement has more than [`MAX_CANDIDATES`] candidates.
    #[error("{0} candidates exceed the maximum of {MAX_CANDIDATES}")]
    TooManyCandidates(u32),
    /// The approval bounds are not `min ≤ max ≤ n`.
    #[error("approval bounds {min}..{max} invalid for {candidates} candidates")]
    InvalidBounds {
        /// Minimum approvals.
        min: u32,
        /// Maximum approvals.
        max: u32,
        /// Number of candidates.
        candidates: u32,
    },
    /// The election key is the identity (it would leave every vote in the clear).
    #[error("the election key must not be the identity")]
    IdentityElectionKey,
    /// The number of choices differs from the number of candidates.
    #[error("expected {expected} choices, got {got}")]
    WrongChoiceCount {
        /// Number of candidates.
        expected: u32,
        /// Number of choices given.
        got: usize,
    },
    /// The number of approvals is outside `min..=max`.
    #[error("{approvals} approvals outside the allowed {min}..{max}")]
    ApprovalsOutOfBounds {
        /// Approvals given.
        approvals: u64,
        /// Minimum approvals.
        min: u32,
        /// Maximum approvals.
        max: u32,
    },
    /// The vote does not carry one ciphertext per candidate.
    #[error("expected {expected} ciphertexts, got {got}")]
    WrongCiphertextCount {
        /// Number of candidates.
        expected: u32,
        /// Number of ciphertexts in the vote.
        got: usize,
    },
    /// The proof that every ciphertext holds 0 or 1 does not verify.
    #[error("invalid 0/1 proof")]
    InvalidBitsProof,
    /// The proof that the approval count is within bounds does not verify.
    #[error("invalid approval-count proof")]
    InvalidCountProof,
    /// The proof that each `A_i`, `B_i` share their randomness does not verify.
    #[error("invalid representation proof")]
    InvalidRepresentationProof,
    /// Some ballot in the batch is invalid; [`find_invalid`] names it.
    #[error("ballot batch rejected; verify singly to find the invalid ballots")]
    BatchRejected,
    /// The Bulletproofs+ library refused to prove (a bug or a cheating prover).
    #[error("proof generation failed: {0}")]
    Proving(String),
}

/// The public context of a ballot: everything its proofs are bound to
/// besides the ciphertexts themselves.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct BallotStatement {
    /// The election id.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub election_id: [u8; 32],
    /// The constituency id.
    #[n(1)]
    pub constituency: String,
    /// The election public key `PK` (non-identity).
    #[cbor(n(2), with = "crate::encoding::nonidentity_point")]
    pub election_key: RistrettoPoint,
    /// The voter's one-time ballot key `P`.
    #[n(3)]
    pub ballot_key: BallotPublicKey,
    /// The number of candidates `n`, `1 ≤ n ≤ MAX_CANDIDATES`.
    #[n(4)]
    pub candidates: u32,
    /// The fewest approvals allowed.
    #[n(5)]
    pub min_approvals: u32,
    /// The most approvals allowed, `min ≤ max ≤ n`.
    #[n(6)]
    pub max_approvals: u32,
}

impl BallotStatement {
    /// Builds and validates a statement.
    pub fn new(
        election_id: [u8; 32],
        constituency: impl Into<String>,
        election_key: RistrettoPoint,
        ballot_key: BallotPublicKey,
        candidates: u32,
        min_approvals: u32,
        max_approvals: u32,
    ) -> Result<Self, BallotError> {
        let s = Self {
            election_id,
            constituency: constituency.into(),
            election_key,
            ballot_key,
            candidates,
            min_approvals,
            max_approvals,
        };
        s.validate()?;
        Ok(s)
    }

    /// Checks `1 ≤ n ≤ MAX_CANDIDATES`, `min ≤ max ≤ n` and `PK ≠ identity`.
    pub fn validate(&self) -> Result<(), BallotError> {
        if self.candidates == 0 {
            return Err(BallotError::NoCandidates);
        }
        if self.candidates > MAX_CANDIDATES {
            return Err(BallotError::TooManyCandidates(self.candidates));
        }
        if self.min_approvals > self.max_approvals || self.max_approvals > self.candidates {
            return Err(BallotError::InvalidBounds {
                min: self.min_approvals,
                max: self.max_approvals,
                candidates: self.candidates,
            });
        }
        if self.election_key == RistrettoPoint::identity() {
            return Err(BallotError::IdentityElectionKey);
        }
        Ok(())
    }

    /// Aggregation size of the 0/1 proof: `n` rounded up to a power of two,
    /// at least 2.
    pub fn bits_aggregation(&self) -> usize {
        (self.candidates as usize).next_power_of_two().max(2)
    }

    /// Bit length `k` of the count proof: the smallest of 1, 2, 4, 8, 16, 32,
    /// 64 with `n < 2^k`.
    pub fn count_bit_length(&self) -> usize {
        let mut k = 1;
        while (self.candidates as u64) >> k != 0 {
            k *= 2;
        }
        k
    }

    /// The transcript every proof of the ballot starts from (§4.4).
    fn transcript(
        &self,
        election_key: &CompressedRistretto,
        encoded: &[[CompressedRistretto; 2]],
    ) -> ProofTranscript {
        let mut t = ProofTranscript::new(
            BALLOT_LABEL,
            &self.election_id,
            self.constituency.as_bytes(),
        );
        t.append_bytes(b"election-key", election_key.as_bytes());
        t.append_bytes(b"ballot-key", self.ballot_key.as_bytes());
        t.append_u64(b"candidates", self.candidates.into());
        t.append_u64(b"min", self.min_approvals.into());
        t.append_u64(b"max", self.max_approvals.into());
        for [a, b] in encoded {
            t.append_bytes(b"A", a.as_bytes());
            t.append_bytes(b"B", b.as_bytes());
        }
        t
    }
}

/// The aggregated proof of representation: knowledge of `ρ`, `μ` with
/// `Σ w_i·A_i = ρ·G` and `Σ w_i·B_i = μ·H + ρ·PK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct RepresentationProof {
    /// `R_A = k_ρ·G`.
    #[cbor(n(0), with = "crate::encoding::nonidentity_point")]
    pub commitment_a: RistrettoPoint,
    /// `R_B = k_μ·H + k_ρ·PK`.
    #[cbor(n(1), with = "crate::encoding::nonidentity_point")]
    pub commitment_b: RistrettoPoint,
    /// `s_ρ = k_ρ + c·ρ`.
    #[cbor(n(2), with = "crate::encoding::scalar")]
    pub response_rho: Scalar,
    /// `s_μ = k_μ + c·μ`.
    #[cbor(n(3), with = "crate::encoding::scalar")]
    pub response_mu: Scalar,
}

/// The encrypted vote: one ciphertext per candidate and the three proofs.
///
/// Canonical encoding (§4.3): the array `[ciphertexts, bits_proof,
/// count_proof, representation]`, ciphertexts as an array of `[A, B]`, the
/// range proofs as byte strings in the `tari_bulletproofs_plus` format.
#[derive(Debug, Clone, PartialEq)]
pub struct EncryptedVote {
    ciphertexts: Vec<Ciphertext>,
    /// The 32-byte encodings of every `(A_i, B_i)`, kept to spare the
    /// verifier recompressing points it decoded.
    encoded: Vec<[CompressedRistretto; 2]>,
    bits_proof: BulletproofPlus,
    count_proof: BulletproofPlus,
    representation: RepresentationProof,
}

/// The secrets behind an [`EncryptedVote`]: each ciphertext's randomness
/// `r_i` (for the voter's own audit), zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct VoteOpening {
    randomness: Vec<Scalar>,
}

impl VoteOpening {
    /// The randomness `r_i` of each ciphertext, in candidate order.
    pub fn randomness(&self) -> &[Scalar] {
        &self.randomness
    }
}

impl core::fmt::Debug for VoteOpening {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("VoteOpening(..)")
    }
}

impl EncryptedVote {
    /// Assembles a vote from its parts (no check; [`EncryptedVote::verify`] decides).
    pub fn from_parts(
        ciphertexts: Vec<Ciphertext>,
        bits_proof: BulletproofPlus,
        count_proof: BulletproofPlus,
        representation: RepresentationProof,
    ) -> Self {
        let encoded = compress_all(&ciphertexts);
        Self {
            ciphertexts,
            encoded,
            bits_proof,
            count_proof,
            representation,
        }
    }

    /// One ciphertext per candidate, in candidate order.
    pub fn ciphertexts(&self) -> &[Ciphertext] {
        &self.ciphertexts
    }

    /// The aggregated 0/1 range proof.
    pub fn bits_proof(&self) -> &BulletproofPlus {
        &self.bits_proof
    }

    /// The approval-count range proof.
    pub fn count_proof(&self) -> &BulletproofPlus {
        &self.count_proof
    }

    /// The proof of representation.
    pub fn representation(&self) -> &RepresentationProof {
        &self.representation
    }

    /// Encrypts `choices` (one per candidate, `true` = approved) and proves
    /// the vote well formed. Refuses, before any proving, a wrong number of
    /// choices or an approval count outside `min..=max`.
    pub fn prove<R: CryptoRng>(
        statement: &BallotStatement,
        choices: &[bool],
        rng: &mut R,
    ) -> Result<(Self, VoteOpening), BallotError> {
        statement.validate()?;
        if choices.len() != statement.candidates as usize {
            return Err(BallotError::WrongChoiceCount {
                expected: statement.candidates,
                got: choices.len(),
            });
        }
        let approvals: u64 = choices.iter().map(|&c| u64::from(c)).sum();
        if approvals < statement.min_approvals.into() || approvals > statement.max_approvals.into()
        {
            return Err(BallotError::ApprovalsOutOfBounds {
                approvals,
                min: statement.min_approvals,
                max: statement.max_approvals,
            });
        }
        let values: Zeroizing<Vec<u64>> =
            Zeroizing::new(choices.iter().map(|&c| u64::from(c)).collect());
        let randomness: Vec<Scalar> = (0..choices.len()).map(|_| Scalar::random(rng)).collect();
        let opening = VoteOpening { randomness };
        let messages: Zeroizing<Vec<Scalar>> =
            Zeroizing::new(values.iter().map(|&v| Scalar::from(v)).collect());
        let ciphertexts = encrypt_all(statement, &messages, &opening.randomness);
        let encoded = compress_all(&ciphertexts);
        let t = statement.transcript(&statement.election_key.compress(), &encoded);
        let bs: Vec<RistrettoPoint> = ciphertexts.iter().map(|c| c.b).collect();
        let bits_proof = prove_bits(&t, statement, &bs, &values, &opening.randomness, rng)?;
        let sum_b: RistrettoPoint = bs.iter().sum();
        let total_r = Zeroizing::new(opening.randomness.iter().sum::<Scalar>());
        let count_proof = prove_count(&t, statement, &sum_b, approvals, &total_r, rng)?;
        let representation = prove_representation(
            &t,
            statement,
            &ciphertexts,
            &opening.randomness,
            &messages,
            rng,
        );
        Ok((
            Self {
                ciphertexts,
                encoded,
                bits_proof,
                count_proof,
                representation,
            },
            opening,
        ))
    }

    /// Verifies the vote against its statement (a batch of one).
    pub fn verify(&self, statement: &BallotStatement) -> Result<(), BallotError> {
        verify_batch(&[(statement, self)])
    }
}

fn compress_all(ciphertexts: &[Ciphertext]) -> Vec<[CompressedRistretto; 2]> {
    ciphertexts
        .iter()
        .map(|c| [c.a.compress(), c.b.compress()])
        .collect()
}

/// Encrypts every message; `PK` goes through a precomputed table when that
/// pays off.
fn encrypt_all(
    statement: &BallotStatement,
    messages: &[Scalar],
    randomness: &[Scalar],
) -> Vec<Ciphertext> {
    let pk = &statement.election_key;
    if messages.len() >= 8 {
        let table = curve25519_dalek::ristretto::RistrettoBasepointTable::create(pk);
        messages
            .iter()
            .zip(randomness)
            .map(|(m, r)| Ciphertext {
                a: RistrettoPoint::mul_base(r),
                b: mul_h(m) + &table * r,
            })
            .collect()
    } else {
        messages
            .iter()
            .zip(randomness)
            .map(|(m, r)| Ciphertext::encrypt_with_randomness(pk, m, r))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Bulletproofs+ parameters

/// Cached Bulletproofs+ parameters, keyed by (election key, bit length,
/// aggregation capacity): building the generators and their precomputation
/// tables costs more than a proof.
static PARAMETERS: LazyLock<Mutex<HashMap<ParameterKey, RangeParameters<RistrettoPoint>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const PARAMETER_CACHE_SIZE: usize = 64;

type ParameterKey = ([u8; 32], usize, usize);

fn range_parameters(
    pk: &RistrettoPoint,
    pk_compressed: &CompressedRistretto,
    bit_length: usize,
    capacity: usize,
) -> Result<RangeParameters<RistrettoPoint>, BallotError> {
    let key = (pk_compressed.to_bytes(), bit_length, capacity);
    if let Some(p) = PARAMETERS.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(p);
    }
    let h = h();
    let gens = PedersenGens {
        h_base: h,
        h_base_compressed: h.compress(),
        g_base_vec: vec![*pk],
        g_base_compressed_vec: vec![*pk_compressed],
        extension_degree: ExtensionDegree::DefaultPedersen,
    };
    let params = RangeParameters::init(bit_length, capacity, gens)
        .map_err(|e| BallotError::Proving(e.to_string()))?;
    if let Ok(mut m) = PARAMETERS.lock() {
        if m.len() >= PARAMETER_CACHE_SIZE {
            m.clear();
        }
        m.insert(key, params.clone());
    }
    Ok(params)
}

/// Size in bytes of a `tari_bulletproofs_plus` proof over `full_length` bits.
fn range_proof_len(full_length: usize) -> usize {
    1 + 32 * 6 + 64 * full_length.trailing_zeros() as usize
}

/// A range statement whose commitments' encodings are already known.
fn range_statement(
    generators: RangeParameters<RistrettoPoint>,
    commitments: Vec<RistrettoPoint>,
    commitments_compressed: Vec<CompressedRistretto>,
) -> RangeStatement<RistrettoPoint> {
    let n = commitments.len();
    RangeStatement {
        generators,
        commitments,
        commitments_compressed,
        minimum_value_promises: vec![None; n],
        seed_nonce: None,
    }
}

fn bits_transcript(t: &ProofTranscript) -> MerlinTranscript {
    let mut t = t.clone();
    t.append_bytes(b"sub-proof", b"bits");
    t.merlin().clone()
}

fn count_transcript(t: &ProofTranscript) -> MerlinTranscript {
    let mut t = t.clone();
    t.append_bytes(b"sub-proof", b"count");
    t.merlin().clone()
}

/// Padding commitment of the 0/1 proof: the identity, i.e. the commitment
/// to 0 with blinding 0.
fn padded_bits_commitments(
    bs: impl Iterator<Item = (RistrettoPoint, CompressedRistretto)>,
    aggregation: usize,
) -> (Vec<RistrettoPoint>, Vec<CompressedRistretto>) {
    let mut points = Vec::with_capacity(aggregation);
    let mut compressed = Vec::with_capacity(aggregation);
    for (p, c) in bs {
        points.push(p);
        compressed.push(c);
    }
    points.resize(aggregation, RistrettoPoint::identity());
    compressed.resize(aggregation, CompressedRistretto::identity());
    (points, compressed)
}

/// `(min·H, max·H)`.
fn bound_points(statement: &BallotStatement) -> [RistrettoPoint; 2] {
    [
        mul_h(&Scalar::from(statement.min_approvals)),
        mul_h(&Scalar::from(statement.max_approvals)),
    ]
}

/// The count proof's commitments `ΣB − min·H` and `max·H − ΣB`.
fn count_commitments(
    [min_h, max_h]: &[RistrettoPoint; 2],
    sum_b: &RistrettoPoint,
) -> [RistrettoPoint; 2] {
    [sum_b - min_h, max_h - sum_b]
}

// ---------------------------------------------------------------------------
// Provers (the building blocks are separate so tests can play cheating provers)

/// Proves the commitments `bs` open to `values ∈ {0,1}` with blindings `randomness`.
fn prove_bits<R: CryptoRng>(
    t: &ProofTranscript,
    statement: &BallotStatement,
    bs: &[RistrettoPoint],
    values: &[u64],
    randomness: &[Scalar],
    rng: &mut R,
) -> Result<BulletproofPlus, BallotError> {
    let pk = &statement.election_key;
    let aggregation = statement.bits_aggregation();
    let params = range_parameters(pk, &pk.compress(), 1, aggregation)?;
    let (points, compressed) =
        padded_bits_commitments(bs.iter().map(|b| (*b, b.compress())), aggregation);
    let mut openings: Vec<CommitmentOpening> = values
        .iter()
        .zip(randomness)
        .map(|(v, r)| CommitmentOpening::new(*v, vec![*r]))
        .collect();
    openings.resize_with(aggregation, || {
        CommitmentOpening::new(0, vec![Scalar::ZERO])
    });
    let witness = RangeWitness::init(openings).map_err(|e| BallotError::Proving(e.to_string()))?;
    let rs = range_statement(params, points, compressed);
    BulletproofPlus::prove_with_rng(&mut bits_transcript(t), &rs, &witness, rng)
        .map_err(|e| BallotError::Proving(e.to_string()))
}

/// Proves `approvals − min` and `max − approvals` in `[0, 2^k)` for the
/// commitments derived from `sum_b` (blindings `R` and `−R`).
fn prove_count<R: CryptoRng>(
    t: &ProofTranscript,
    statement: &BallotStatement,
    sum_b: &RistrettoPoint,
    approvals: u64,
    total_r: &Scalar,
    rng: &mut R,
) -> Result<BulletproofPlus, BallotError> {
    let pk = &statement.election_key;
    let params = range_parameters(pk, &pk.compress(), statement.count_bit_length(), 2)?;
    let out_of_bounds = || BallotError::ApprovalsOutOfBounds {
        approvals,
        min: statement.min_approvals,
        max: statement.max_approvals,
    };
    let low = approvals
        .checked_sub(statement.min_approvals.into())
        .ok_or_else(out_of_bounds)?;
    let high = u64::from(statement.max_approvals)
        .checked_sub(approvals)
        .ok_or_else(out_of_bounds)?;
    let witness = RangeWitness::init(vec![
        CommitmentOpening::new(low, vec![*total_r]),
        CommitmentOpening::new(high, vec![-total_r]),
    ])
    .map_err(|e| BallotError::Proving(e.to_string()))?;
    let points = count_commitments(&bound_points(statement), sum_b).to_vec();
    let compressed = points.iter().map(RistrettoPoint::compress).collect();
    let rs = range_statement(params, points, compressed);
    BulletproofPlus::prove_with_rng(&mut count_transcript(t), &rs, &witness, rng)
        .map_err(|e| BallotError::Proving(e.to_string()))
}

/// The representation sub-transcript, its weights `w_i = ω^i` and itself.
fn representation_transcript(t: &ProofTranscript, n: usize) -> (ProofTranscript, Vec<Scalar>) {
    let mut t = t.clone();
    t.append_bytes(b"sub-proof", b"representation");
    let omega = t.challenge_scalar(b"weight");
    let mut weights = Vec::with_capacity(n);
    let mut w = Scalar::ONE;
    for _ in 0..n {
        weights.push(w);
        w *= omega;
    }
    (t, weights)
}

/// Proves knowledge of `ρ = Σ w_i r_i`, `μ = Σ w_i m_i` (Schnorr, hedged nonces).
fn prove_representation<R: CryptoRng>(
    t: &ProofTranscript,
    statement: &BallotStatement,
    ciphertexts: &[Ciphertext],
    randomness: &[Scalar],
    messages: &[Scalar],
    rng: &mut R,
) -> RepresentationProof {
    let (mut t, weights) = representation_transcript(t, ciphertexts.len());
    let rho = Zeroizing::new(
        weights
            .iter()
            .zip(randomness)
            .map(|(w, r)| w * r)
            .sum::<Scalar>(),
    );
    let mu = Zeroizing::new(
        weights
            .iter()
            .zip(messages)
            .map(|(w, m)| w * m)
            .sum::<Scalar>(),
    );
    let mut nonce_rng = t
        .merlin()
        .build_rng()
        .rekey_with_witness_bytes(b"rho", rho.as_bytes())
        .rekey_with_witness_bytes(b"mu", mu.as_bytes())
        .finalize(rng);
    let k_rho = Zeroizing::new(Scalar::random(&mut nonce_rng));
    let k_mu = Zeroizing::new(Scalar::random(&mut nonce_rng));
    let commitment_a = RistrettoPoint::mul_base(&k_rho);
    let commitment_b = mul_h(&k_mu) + statement.election_key * *k_rho;
    t.append_point(b"R_A", &commitment_a);
    t.append_point(b"R_B", &commitment_b);
    let c = t.challenge_scalar(b"challenge");
    RepresentationProof {
        commitment_a,
        commitment_b,
        response_rho: *k_rho + c * *rho,
        response_mu: *k_mu + c * *mu,
    }
}

// ---------------------------------------------------------------------------
// Verification

/// One range proof's public input: its transcript and commitments.
struct RangeInstance {
    transcript: MerlinTranscript,
    commitments: Vec<RistrettoPoint>,
    compressed: Vec<CompressedRistretto>,
}

/// One ballot's share of the batch.
struct Prepared {
    /// Index of its election key among the batch's distinct keys.
    key: usize,
    bits: RangeInstance,
    count: RangeInstance,
    /// `c` and the weights `w_i` of the representation proof.
    challenge: Scalar,
    weights: Vec<Scalar>,
}

/// The distinct election keys of a batch with their encodings, and the
/// distinct approval bounds with `(min·H, max·H)`: most batches hold one
/// election, so each is computed once.
#[derive(Default)]
struct BatchContext {
    keys: Vec<(RistrettoPoint, CompressedRistretto)>,
    bounds: Vec<((u32, u32), [RistrettoPoint; 2])>,
}

impl BatchContext {
    fn bounds(&mut self, statement: &BallotStatement) -> &[RistrettoPoint; 2] {
        let key = (statement.min_approvals, statement.max_approvals);
        let i = match self.bounds.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.bounds.push((key, bound_points(statement)));
                self.bounds.len() - 1
            }
        };
        &self.bounds[i].1
    }

    fn index(&mut self, pk: &RistrettoPoint) -> usize {
        if let Some(i) = self.keys.iter().position(|(p, _)| p == pk) {
            return i;
        }
        self.keys.push((*pk, pk.compress()));
        self.keys.len() - 1
    }
}

/// Structural checks and transcript replay for one ballot.
fn prepare(
    statement: &BallotStatement,
    vote: &EncryptedVote,
    context: &mut BatchContext,
    batch: &mut MerlinTranscript,
) -> Result<Prepared, BallotError> {
    statement.validate()?;
    let n = statement.candidates as usize;
    if vote.ciphertexts.len() != n || vote.encoded.len() != n {
        return Err(BallotError::WrongCiphertextCount {
            expected: statement.candidates,
            got: vote.ciphertexts.len(),
        });
    }
    let aggregation = statement.bits_aggregation();
    // Refuse wrong-sized proofs before the library replays their transcripts.
    if vote.bits_proof.to_bytes().len() != range_proof_len(aggregation) {
        return Err(BallotError::InvalidBitsProof);
    }
    if vote.count_proof.to_bytes().len() != range_proof_len(2 * statement.count_bit_length()) {
        return Err(BallotError::InvalidCountProof);
    }
    let key = context.index(&statement.election_key);
    let t = statement.transcript(&context.keys[key].1, &vote.encoded);

    let (commitments, compressed) = padded_bits_commitments(
        vote.ciphertexts
            .iter()
            .zip(&vote.encoded)
            .map(|(c, e)| (c.b, e[1])),
        aggregation,
    );
    let bits = RangeInstance {
        transcript: bits_transcript(&t),
        commitments,
        compressed,
    };
    let sum_b: RistrettoPoint = vote.ciphertexts.iter().map(|c| c.b).sum();
    let commitments = count_commitments(context.bounds(statement), &sum_b).to_vec();
    let count = RangeInstance {
        transcript: count_transcript(&t),
        compressed: commitments.iter().map(RistrettoPoint::compress).collect(),
        commitments,
    };

    let (mut rt, weights) = representation_transcript(&t, n);
    let rep = &vote.representation;
    rt.append_point(b"R_A", &rep.commitment_a);
    rt.append_point(b"R_B", &rep.commitment_b);
    let challenge = rt.challenge_scalar(b"challenge");
    // Bind the batch weights to this ballot's whole proof.
    rt.append_scalar(b"s_rho", &rep.response_rho);
    rt.append_scalar(b"s_mu", &rep.response_mu);
    let mut digest = [0u8; 32];
    rt.merlin().challenge_bytes(b"batch-binding", &mut digest);
    batch.append_message(b"ballot", &digest);

    Ok(Prepared {
        key,
        bits,
        count,
        challenge,
        weights,
    })
}

/// Verifies many ballots at once. Sound: it accepts a batch containing an
/// invalid ballot only with negligible probability (weights drawn from a
/// transcript over every ballot of the batch, and the Bulletproofs+ batch
/// verifier's own weights).
///
/// Cost: one multi-scalar multiplication for all representation proofs, and
/// one per (election key, bit length) for the range proofs. An empty batch
/// verifies. On an error, the batch tells only that some ballot is bad: call
/// [`find_invalid`] (or [`EncryptedVote::verify`] on each) to find which.
pub fn verify_batch(items: &[(&BallotStatement, &EncryptedVote)]) -> Result<(), BallotError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut context = BatchContext::default();
    let mut batch = MerlinTranscript::new(BALLOT_BATCH_LABEL);
    batch.append_u64(b"count", items.len() as u64);
    let prepared = items
        .iter()
        .map(|(s, v)| prepare(s, v, &mut context, &mut batch))
        .collect::<Result<Vec<_>, _>>()?;
    // A batch of one reports which proof failed; a larger one cannot tell.
    let reject = |e: BallotError| {
        if items.len() == 1 {
            e
        } else {
            BallotError::BatchRejected
        }
    };

    verify_representations(items, &prepared, &context, &mut batch).map_err(reject)?;

    // Range proofs, grouped by (election key, bit length): the library's
    // batch verifier takes one set of generators per call.
    let mut count_groups: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    let mut bits_groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let k = items[i].0.count_bit_length();
        group_push(&mut count_groups, (p.key, k), i);
        group_push(&mut bits_groups, p.key, i);
    }
    for ((key, k), group) in count_groups {
        let members = group
            .iter()
            .map(|&i| (&prepared[i].count, &items[i].1.count_proof, 2));
        verify_range_group(&context.keys[key], k, members)
            .map_err(|()| reject(BallotError::InvalidCountProof))?;
    }
    for (key, group) in bits_groups {
        let members = group.iter().map(|&i| {
            (
                &prepared[i].bits,
                &items[i].1.bits_proof,
                items[i].0.bits_aggregation(),
            )
        });
        verify_range_group(&context.keys[key], 1, members)
            .map_err(|()| reject(BallotError::InvalidBitsProof))?;
    }
    Ok(())
}

fn group_push<K: PartialEq>(groups: &mut Vec<(K, Vec<usize>)>, key: K, i: usize) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, g)) => g.push(i),
        None => groups.push((key, vec![i])),
    }
}

/// Runs the Bulletproofs+ batch verifier on proofs sharing `PK` and the bit
/// length, with the generators of the group's largest aggregation.
fn verify_range_group<'a>(
    (pk, pk_compressed): &(RistrettoPoint, CompressedRistretto),
    bit_length: usize,
    members: impl Iterator<Item = (&'a RangeInstance, &'a BulletproofPlus, usize)> + Clone,
) -> Result<(), ()> {
    let capacity = members.clone().map(|(_, _, m)| m).max().ok_or(())?;
    let params = range_parameters(pk, pk_compressed, bit_length, capacity).map_err(|_| ())?;
    let mut transcripts = Vec::new();
    let mut statements = Vec::new();
    let mut proofs = Vec::new();
    for (instance, proof, _) in members {
        transcripts.push(instance.transcript.clone());
        statements.push(range_statement(
            params.clone(),
            instance.commitments.clone(),
            instance.compressed.clone(),
        ));
        proofs.push(proof.clone());
    }
    BulletproofPlus::verify_batch(
        &mut transcripts,
        &statements,
        &proofs,
        VerifyAction::VerifyOnly,
    )
    .map(|_| ())
    .map_err(|_| ())
}

/// Checks every representation proof in one multi-scalar multiplication:
/// `Σ_j α_j·(s_ρ·G − R_A − c·Σ w_i A_i) + β_j·(s_μ·H + s_ρ·PK − R_B − c·Σ w_i B_i) = 0`.
fn verify_representations(
    items: &[(&BallotStatement, &EncryptedVote)],
    prepared: &[Prepared],
    context: &BatchContext,
    batch: &mut MerlinTranscript,
) -> Result<(), BallotError> {
    let len = items
        .iter()
        .map(|(_, v)| 2 * v.ciphertexts.len() + 2)
        .sum::<usize>()
        + context.keys.len()
        + 2;
    let mut scalars = Vec::with_capacity(len);
    let mut points = Vec::with_capacity(len);
    let mut g_scalar = Scalar::ZERO;
    let mut h_scalar = Scalar::ZERO;
    let mut key_scalars = vec![Scalar::ZERO; context.keys.len()];
    for ((_, vote), p) in items.iter().zip(prepared) {
        let alpha = weight(batch, b"alpha");
        let beta = weight(batch, b"beta");
        let rep = &vote.representation;
        g_scalar += alpha * rep.response_rho;
        h_scalar += beta * rep.response_mu;
        key_scalars[p.key] += beta * rep.response_rho;
        scalars.push(-alpha);
        points.push(rep.commitment_a);
        scalars.push(-beta);
        points.push(rep.commitment_b);
        let alpha_c = alpha * p.challenge;
        let beta_c = beta * p.challenge;
        for (c, w) in vote.ciphertexts.iter().zip(&p.weights) {
            scalars.push(-(alpha_c * w));
            points.push(c.a);
            scalars.push(-(beta_c * w));
            points.push(c.b);
        }
    }
    scalars.extend(key_scalars);
    points.extend(context.keys.iter().map(|(pk, _)| *pk));
    scalars.push(g_scalar);
    points.push(G);
    scalars.push(h_scalar);
    points.push(h());
    if RistrettoPoint::vartime_multiscalar_mul(&scalars, &points) == RistrettoPoint::identity() {
        Ok(())
    } else {
        Err(BallotError::InvalidRepresentationProof)
    }
}

fn weight(batch: &mut MerlinTranscript, label: &'static [u8]) -> Scalar {
    let mut buf = [0u8; 64];
    batch.challenge_bytes(label, &mut buf);
    Scalar::from_bytes_mod_order_wide(&buf)
}

/// Verifies each ballot on its own and returns the index and error of every
/// invalid one (empty if all are valid): the fallback after a rejected batch.
pub fn find_invalid(items: &[(&BallotStatement, &EncryptedVote)]) -> Vec<(usize, BallotError)> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, (s, v))| v.verify(s).err().map(|e| (i, e)))
        .collect()
}

// ---------------------------------------------------------------------------
// Canonical encoding

impl<C> Encode<C> for EncryptedVote {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.array(4)?;
        e.array(self.encoded.len() as u64)?;
        for [a, b] in &self.encoded {
            e.array(2)?.bytes(a.as_bytes())?.bytes(b.as_bytes())?;
        }
        e.bytes(&self.bits_proof.to_bytes())?;
        e.bytes(&self.count_proof.to_bytes())?;
        self.representation.encode(e, ctx)
    }
}

fn decode_error(msg: &'static str) -> minicbor::decode::Error {
    minicbor::decode::Error::message(msg)
}

fn decode_compressed(
    d: &mut Decoder<'_>,
) -> Result<(RistrettoPoint, CompressedRistretto), minicbor::decode::Error> {
    let bytes = d.bytes()?;
    let point = decode_point(bytes).map_err(|e| minicbor::decode::Error::message(e.to_string()))?;
    let mut c = [0u8; 32];
    c.copy_from_slice(bytes);
    Ok((point, CompressedRistretto(c)))
}

fn decode_range_proof(d: &mut Decoder<'_>) -> Result<BulletproofPlus, minicbor::decode::Error> {
    let bytes = d.bytes()?;
    let proof = BulletproofPlus::from_bytes(bytes)
        .map_err(|e| minicbor::decode::Error::message(e.to_string()))?;
    if proof.extension_degree() != ExtensionDegree::DefaultPedersen {
        return Err(decode_error("range proof extension degree must be 1"));
    }
    if proof.to_bytes() != bytes {
        return Err(decode_error("non-canonical range proof"));
    }
    Ok(proof)
}

impl<'b, C> Decode<'b, C> for EncryptedVote {
    fn decode(d: &mut Decoder<'b>, ctx: &mut C) -> Result<Self, minicbor::decode::Error> {
        if d.array()? != Some(4) {
            return Err(decode_error("encrypted vote: expected an array of 4"));
        }
        let n = definite_len(d)?;
        if n > u64::from(MAX_CANDIDATES) {
            return Err(decode_error("too many ciphertexts"));
        }
        let mut ciphertexts = Vec::with_capacity(n as usize);
        let mut encoded = Vec::with_capacity(n as usize);
        for _ in 0..n {
            if d.array()? != Some(2) {
                return Err(decode_error("ciphertext: expected an array of 2"));
            }
            let (a, ac) = decode_compressed(d)?;
            let (b, bc) = decode_compressed(d)?;
            ciphertexts.push(Ciphertext { a, b });
            encoded.push([ac, bc]);
        }
        let bits_proof = decode_range_proof(d)?;
        let count_proof = decode_range_proof(d)?;
        let representation = RepresentationProof::decode(d, ctx)?;
        Ok(Self {
            ciphertexts,
            encoded,
            bits_proof,
            count_proof,
            representation,
        })
    }
}

/// The ciphertexts of an encoded [`EncryptedVote`], its proofs skipped
/// unparsed: for the service's replay of its own stored ballots, which were
/// decoded strictly and verified when they were appended (see
/// [`crate::entry::StoredBallot`]). Never for bytes from outside.
pub(crate) fn decode_stored_ciphertexts(
    d: &mut Decoder<'_>,
) -> Result<Vec<Ciphertext>, minicbor::decode::Error> {
    if d.array()? != Some(4) {
        return Err(decode_error("encrypted vote: expected an array of 4"));
    }
    let n = definite_len(d)?;
    if n > u64::from(MAX_CANDIDATES) {
        return Err(decode_error("too many ciphertexts"));
    }
    let mut ciphertexts = Vec::with_capacity(n as usize);
    for _ in 0..n {
        if d.array()? != Some(2) {
            return Err(decode_error("ciphertext: expected an array of 2"));
        }
        let (a, _) = decode_compressed(d)?;
        let (b, _) = decode_compressed(d)?;
        ciphertexts.push(Ciphertext { a, b });
    }
    // The two range proofs and the proof of representation.
    for _ in 0..3 {
        d.skip()?;
    }
    Ok(ciphertexts)
}

#[cfg(test)]
mod tests;
