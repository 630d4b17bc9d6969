//! Board entries: the typed, signed, canonically encoded records of an election.
//!
//! An [`Entry`] is an envelope `(kind, election id, body, signer, signature)`;
//! the body is the canonical encoding of the kind's body type. The envelope
//! signature is Ed25519 over `TaggedHash("urne/v1/entry-signature",
//! [kind], election id, body)` by the key the protocol assigns to that kind
//! (§8.2); ballots are anonymous and carry their own Schnorr signature instead.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use minicbor::{Decode, Encode};
use thiserror::Error;

use crate::ballot::EncryptedVote;
use crate::credential::Credential;
use crate::decryption::DecryptionShare as ShareProof;
use crate::encoding::{Canonical, DecodeError};
use crate::hash::tagged;
use crate::lottery::DrawnSeat;
use crate::manifest::{ElectionId, Manifest};
use crate::schnorr::{BallotPublicKey, Signature as BallotSignature};
use crate::seats::ElectedSeat;

pub use crate::dkg::{Complaint as DkgComplaint, DealerMessage as DkgDealing, ElectionKey};

/// Why an entry envelope is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// Bytes are not a canonical envelope or body.
    #[error("entry encoding: {0}")]
    Decode(#[from] DecodeError),
    /// Unknown entry kind number.
    #[error("unknown entry kind {0}")]
    UnknownKind(u8),
    /// The envelope belongs to another election.
    #[error("entry is for another election")]
    WrongElection,
    /// Signer/signature missing, malformed, or not valid.
    #[error("bad entry signature")]
    BadSignature,
}

/// The kinds of board entries, with their wire numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EntryKind {
    /// [`Manifest`].
    Manifest = 0,
    /// [`Roster`].
    Roster = 1,
    /// [`Enrollment`].
    Enrollment = 2,
    /// [`DkgDealing`] (a `dkg::DealerMessage`).
    DkgDealing = 3,
    /// [`DkgComplaint`] (a `dkg::Complaint`).
    DkgComplaint = 4,
    /// [`ElectionKey`] (a `dkg::ElectionKey`).
    ElectionKey = 5,
    /// [`PhaseChange`] opening the vote.
    Open = 6,
    /// [`Issuance`].
    Issuance = 7,
    /// [`Ballot`].
    Ballot = 8,
    /// [`PhaseChange`] closing the vote.
    Close = 9,
    /// [`DecryptionShare`].
    DecryptionShare = 10,
    /// [`Tally`].
    Tally = 11,
    /// [`SeatResult`].
    SeatResult = 12,
    /// [`LotteryCommit`].
    LotteryCommit = 13,
    /// [`LotteryReveal`].
    LotteryReveal = 14,
    /// [`BeaconValue`].
    Beacon = 15,
    /// [`LotterySeed`].
    Seed = 16,
    /// [`Attestation`].
    Attestation = 17,
    /// [`RevealsClosed`]: ends the reveal window before the beacon round.
    RevealsClosed = 18,
    /// [`DkgAcknowledgement`]: a trustee has checked every dealing and made its complaints.
    DkgAcknowledgement = 19,
}

impl EntryKind {
    /// All kinds, in wire-number order.
    pub const ALL: [EntryKind; 20] = [
        Self::Manifest,
        Self::Roster,
        Self::Enrollment,
        Self::DkgDealing,
        Self::DkgComplaint,
        Self::ElectionKey,
        Self::Open,
        Self::Issuance,
        Self::Ballot,
        Self::Close,
        Self::DecryptionShare,
        Self::Tally,
        Self::SeatResult,
        Self::LotteryCommit,
        Self::LotteryReveal,
        Self::Beacon,
        Self::Seed,
        Self::Attestation,
        Self::RevealsClosed,
        Self::DkgAcknowledgement,
    ];

    /// Parses a wire number.
    pub fn from_u8(v: u8) -> Result<Self, EntryError> {
        Self::ALL
            .get(v as usize)
            .copied()
            .ok_or(EntryError::UnknownKind(v))
    }

    /// Stable lower-case name, used in reports and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Roster => "roster",
            Self::Enrollment => "enrollment",
            Self::DkgDealing => "dkg-dealing",
            Self::DkgComplaint => "dkg-complaint",
            Self::ElectionKey => "election-key",
            Self::Open => "open",
            Self::Issuance => "issuance",
            Self::Ballot => "ballot",
            Self::Close => "close",
            Self::DecryptionShare => "decryption-share",
            Self::Tally => "tally",
            Self::SeatResult => "seat-result",
            Self::LotteryCommit => "lottery-commit",
            Self::LotteryReveal => "lottery-reveal",
            Self::Beacon => "beacon",
            Self::Seed => "lottery-seed",
            Self::Attestation => "attestation",
            Self::RevealsClosed => "lottery-reveals-closed",
            Self::DkgAcknowledgement => "dkg-acknowledgement",
        }
    }
}

/// The signed envelope of every board entry.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Entry {
    /// [`EntryKind`] wire number.
    #[n(0)]
    pub kind: u8,
    /// The election this entry belongs to (for the manifest: its own id).
    #[cbor(n(1), with = "minicbor::bytes")]
    pub election: ElectionId,
    /// Canonical encoding of the body.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub body: Vec<u8>,
    /// Ed25519 public key of the signer, or empty for ballots.
    #[cbor(n(3), with = "minicbor::bytes")]
    pub signer: Vec<u8>,
    /// Ed25519 signature, or empty for ballots.
    #[cbor(n(4), with = "minicbor::bytes")]
    pub signature: Vec<u8>,
}

/// Whether `key` is an Ed25519 public key a strict signature can verify
/// under: the canonical encoding of a curve point that is not of small order.
pub fn is_valid_signing_key(key: &[u8; 32]) -> bool {
    VerifyingKey::from_bytes(key)
        .is_ok_and(|k| !k.is_weak() && k.to_edwards().compress().to_bytes() == *key)
}

/// The digest an entry signature covers.
pub fn signing_digest(kind: EntryKind, election: &ElectionId, body: &[u8]) -> [u8; 32] {
    tagged("urne/v1/entry-signature", &[&[kind as u8], election, body])
}

impl Entry {
    /// Builds and signs an entry with `key`.
    pub fn signed<B: Canonical>(
        kind: EntryKind,
        election: ElectionId,
        body: &B,
        key: &SigningKey,
    ) -> Self {
        let body = body.to_bytes();
        let signature = key.sign(&signing_digest(kind, &election, &body));
        Entry {
            kind: kind as u8,
            election,
            body,
            signer: key.verifying_key().to_bytes().to_vec(),
            signature: signature.to_bytes().to_vec(),
        }
    }

    /// Builds an unsigned entry (ballots only).
    pub fn anonymous<B: Canonical>(kind: EntryKind, election: ElectionId, body: &B) -> Self {
        Entry {
            kind: kind as u8,
            election,
            body: body.to_bytes(),
            signer: vec![],
            signature: vec![],
        }
    }

    /// The entry's kind.
    pub fn kind(&self) -> Result<EntryKind, EntryError> {
        EntryKind::from_u8(self.kind)
    }

    /// Decodes the body as `B`.
    pub fn body<B: Canonical>(&self) -> Result<B, EntryError> {
        Ok(B::from_bytes(&self.body)?)
    }

    /// Checks the envelope signature and that the signer is `expected`.
    pub fn verify_signer(&self, expected: &[u8; 32]) -> Result<(), EntryError> {
        if self.signer.as_slice() != expected {
            return Err(EntryError::BadSignature);
        }
        self.verify_signature()
    }

    /// Checks the envelope signature under the key in `signer` (strict
    /// Ed25519, §2.6: a usable key, canonical `S`, `R` not of small order,
    /// cofactorless equation).
    pub fn verify_signature(&self) -> Result<(), EntryError> {
        let kind = self.kind()?;
        let pk: [u8; 32] = self
            .signer
            .as_slice()
            .try_into()
            .map_err(|_| EntryError::BadSignature)?;
        if !is_valid_signing_key(&pk) {
            return Err(EntryError::BadSignature);
        }
        let sig: [u8; 64] = self
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| EntryError::BadSignature)?;
        let vk = VerifyingKey::from_bytes(&pk).map_err(|_| EntryError::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        vk.verify_strict(&signing_digest(kind, &self.election, &self.body), &sig)
            .map_err(|_| EntryError::BadSignature)
    }

    /// True when the envelope carries no signature (required for ballots).
    pub fn is_anonymous(&self) -> bool {
        self.signer.is_empty() && self.signature.is_empty()
    }
}

/// The digest of a one-time enrolment token, the only form in which the
/// service learns it before enrolment:
/// `TaggedHash("urne/v1/enrolment-token", token bytes)`.
pub fn enrolment_token_digest(token: &[u8; 32]) -> [u8; 32] {
    tagged("urne/v1/enrolment-token", &[token])
}

/// `member_id = TaggedHash("urne/v1/member-id", election id, pseudonym)`.
pub fn member_id(election: &ElectionId, pseudonym: &str) -> [u8; 32] {
    tagged("urne/v1/member-id", &[election, pseudonym.as_bytes()])
}

/// One roster line as published.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct RosterMember {
    /// `member_id(election, pseudonym)`.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub member: [u8; 32],
    /// The member's constituency.
    #[n(1)]
    pub constituency: String,
    /// Lottery-pool pseudonym, published only for pool members (empty otherwise).
    #[n(2)]
    pub pool_pseudonym: String,
    /// Quota category (needed for pool members; may be empty otherwise).
    #[n(3)]
    pub category: String,
}

/// A batch of roster lines (signed by the board key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Roster {
    /// The members.
    #[n(0)]
    pub members: Vec<RosterMember>,
}

/// A member binds its Ed25519 key to its roster line (signed by that key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Enrollment {
    /// The roster member id.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub member: [u8; 32],
    /// The member's Ed25519 public key (also the envelope signer).
    #[cbor(n(1), with = "minicbor::bytes")]
    pub member_key: [u8; 32],
}

/// A phase change (open or close), signed by the board key.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct PhaseChange {
    /// Unix time (seconds) at which the service recorded it; informative.
    #[n(0)]
    pub at: u64,
}

/// A member's credential request (signed by the enrolled member key).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct Issuance {
    /// The member.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub member: [u8; 32],
    /// Constituency of the credential.
    #[n(1)]
    pub constituency: String,
    /// The signer's commitment `A`.
    #[cbor(n(2), with = "crate::encoding::nonidentity_point")]
    pub commitment_a: RistrettoPoint,
    /// The signer's commitment `C`.
    #[cbor(n(3), with = "crate::encoding::nonidentity_point")]
    pub commitment_c: RistrettoPoint,
    /// The blinded challenge `e`.
    #[cbor(n(4), with = "crate::encoding::scalar")]
    pub challenge: Scalar,
}

/// The signed part of a ballot.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct BallotBody {
    /// Constituency.
    #[n(0)]
    pub constituency: String,
    /// One-time ballot key `P`.
    #[n(1)]
    pub ballot_key: BallotPublicKey,
    /// Registrar credential on `P`.
    #[n(2)]
    pub credential: Credential,
    /// Encrypted approvals and their proofs.
    #[n(3)]
    pub vote: EncryptedVote,
}

/// An anonymous ballot: the body and a Schnorr signature by `P` over its canonical bytes.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct Ballot {
    /// The signed body.
    #[n(0)]
    pub body: BallotBody,
    /// Signature by the ballot key over `body`'s canonical bytes.
    #[n(1)]
    pub signature: BallotSignature,
}

/// What the rules use of a ballot the service itself stored: read from the
/// ballot's bytes without the canonical re-encoding check, decompressing only
/// the ciphertexts (not the credential, the signature or the proofs).
///
/// Only for replaying the service's own store, whose ballots were decoded
/// strictly and verified in full when they were appended; a verifier or a
/// monitor decodes [`Ballot`] strictly instead.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBallot {
    /// Constituency.
    pub constituency: String,
    /// The 32-byte encoding of the ballot key `P`.
    pub ballot_key: [u8; 32],
    /// The encrypted approvals.
    pub ciphertexts: Vec<crate::elgamal::Ciphertext>,
}

impl StoredBallot {
    /// Reads the parts the rules use from the bytes of a stored [`Ballot`].
    pub fn from_stored_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let malformed = |e: minicbor::decode::Error| DecodeError::Malformed(e.to_string());
        let mut d = minicbor::decode::Decoder::new(bytes);
        if d.array().map_err(malformed)? != Some(2) || d.array().map_err(malformed)? != Some(4) {
            return Err(DecodeError::Malformed(
                "ballot: not an array of 2 and 4".into(),
            ));
        }
        let constituency = d.str().map_err(malformed)?.to_string();
        let ballot_key: [u8; 32] = d
            .bytes()
            .map_err(malformed)?
            .try_into()
            .map_err(|_| DecodeError::Malformed("ballot key: expected 32 bytes".into()))?;
        d.skip().map_err(malformed)?; // credential
        let ciphertexts = crate::ballot::decode_stored_ciphertexts(&mut d).map_err(malformed)?;
        d.skip().map_err(malformed)?; // signature
        if d.position() != bytes.len() {
            return Err(DecodeError::NonCanonical);
        }
        Ok(StoredBallot {
            constituency,
            ballot_key,
            ciphertexts,
        })
    }
}

/// A trustee's decryption share for one constituency (signed by the trustee).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct DecryptionShare {
    /// Constituency whose aggregate this share decrypts.
    #[n(0)]
    pub constituency: String,
    /// The shares and their proof.
    #[n(1)]
    pub share: ShareProof,
}

/// Decrypted totals of a constituency (signed by the board key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Tally {
    /// Constituency.
    #[n(0)]
    pub constituency: String,
    /// Ballots counted (distinct ballot keys, last ballot each).
    #[n(1)]
    pub ballots: u64,
    /// Approvals per candidate, in manifest order.
    #[n(2)]
    pub counts: Vec<u64>,
    /// Trustee indices whose shares were combined, ascending.
    #[n(3)]
    pub trustees: Vec<u32>,
}

/// The assembly of a constituency: seats by vote and seats by lot (signed by the board key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct SeatResult {
    /// Constituency.
    #[n(0)]
    pub constituency: String,
    /// Elected candidates by rank.
    #[n(1)]
    pub elected: Vec<ElectedSeat>,
    /// Drawn pool members in draw order.
    #[n(2)]
    pub drawn: Vec<DrawnSeat>,
}

/// A contributor's commitment (signed by the contributor).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct LotteryCommit {
    /// Contributor index.
    #[n(0)]
    pub contributor: u32,
    /// `lottery::commitment(election, index, secret)`.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub commitment: [u8; 32],
}

/// A contributor's reveal (signed by the contributor).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct LotteryReveal {
    /// Contributor index.
    #[n(0)]
    pub contributor: u32,
    /// The committed secret.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub secret: [u8; 32],
}

/// The beacon value named in the manifest (signed by the board key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct BeaconValue {
    /// DRBG mode: the drand round (the manifest's); 0 in RFC 3797 mode.
    #[n(0)]
    pub round: u64,
    /// DRBG mode: the round's BLS signature (48 bytes); empty in RFC 3797 mode.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub signature: Vec<u8>,
    /// RFC 3797 mode: the values each declared source published, in manifest
    /// order; empty in DRBG mode.
    #[n(2)]
    pub values: Vec<Vec<u64>>,
}

/// Ends the reveal window (signed by the board key): from here on only the
/// beacon may follow in the lottery.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct RevealsClosed {
    /// Board time of closing (Unix seconds); before the beacon round's publication.
    #[n(0)]
    pub at: u64,
    /// Contributors of the manifest without a valid reveal, ascending.
    #[n(1)]
    pub withheld: Vec<u32>,
}

/// A trustee's statement, signed with its signing key, that it has checked
/// its share in every dealing of the transcript `dealings` names and posted
/// a complaint about each bad one; the election key needs one from every
/// trustee for the final transcript (§5.6, §8.4).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct DkgAcknowledgement {
    /// The acknowledging trustee's index.
    #[n(0)]
    pub trustee: u32,
    /// [`dealings_digest`] of the dealings on the board when it checked them.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub dealings: [u8; 32],
}

/// `TaggedHash("urne/v1/dkg-acknowledgement", election_id, u32be(d_1) ‖ dealing_1, …)`:
/// the dealings on the board, in ascending dealer order, each as its dealer's
/// index and its canonical body bytes, one part per dealing.
pub fn dealings_digest<'a>(
    election: &ElectionId,
    dealings: impl IntoIterator<Item = &'a DkgDealing>,
) -> [u8; 32] {
    let mut owned: Vec<Vec<u8>> = Vec::new();
    for d in dealings {
        let mut part = d.dealer.to_be_bytes().to_vec();
        part.extend_from_slice(&d.to_bytes());
        owned.push(part);
    }
    let mut parts: Vec<&[u8]> = vec![election.as_slice()];
    parts.extend(owned.iter().map(Vec::as_slice));
    tagged("urne/v1/dkg-acknowledgement", &parts)
}

/// The lottery seed, fixed once the beacon is verified (signed by the board key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct LotterySeed {
    /// The seed.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub seed: [u8; 32],
    /// The withheld contributors, as [`RevealsClosed`] named them, ascending.
    #[n(1)]
    pub withheld: Vec<u32>,
}

/// An auditor's signed statement about a checkpoint (signed by the auditor).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Attestation {
    /// Checkpoint size the auditor verified.
    #[n(0)]
    pub size: u64,
    /// Merkle root at that size.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub root: [u8; 32],
    /// The verification outcome.
    #[n(2)]
    pub valid: bool,
    /// Ballots counted by the auditor.
    #[n(3)]
    pub ballots_counted: u64,
    /// Free-text statement (e.g. tool and version).
    #[n(4)]
    pub statement: String,
}

/// Signs `body` as the manifest entry; the election id is derived from it.
pub fn manifest_entry(manifest: &Manifest, board_key: &SigningKey) -> Entry {
    Entry::signed(
        EntryKind::Manifest,
        manifest.election_id(),
        manifest,
        board_key,
    )
}
