//! Rebuilding a wallet from its recovery code (`specs/protocol.md` §3.9):
//! what the board holds about the member whose keys the code derives, read
//! from the whole board so that the service does not learn who is looking,
//! and the credential session to resume.
//!
//! The command line (`urne voter recover`) and the web app's restore both
//! use [`TrailScan`] and [`resumed_session`].

use urne_crypto::checkpoint::Checkpoint;
use urne_crypto::credential::SignerCommitment;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, Enrollment, Entry, EntryKind, Issuance};
use urne_crypto::hash::Digest32;
use urne_crypto::manifest::Manifest;
use urne_crypto::merkle;
use urne_crypto::recovery::RecoverySecret;

use crate::error::ClientError;

/// What the board holds about one member, found by its member key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberTrail {
    /// The member id of the enrolment with the key.
    pub member: Option<[u8; 32]>,
    /// The member's issuance entry: board index and canonical bytes.
    pub issuance: Option<(u64, Vec<u8>)>,
    /// Board index of the last ballot with the given ballot key.
    pub last_ballot: Option<u64>,
    /// Board index of the entry that opened the vote.
    pub opened_at: Option<u64>,
}

/// Reads every board entry in order, looking for one member's enrolment
/// (by member key), issuance and ballots (by ballot key), and checks at the
/// end that the entries hash to a signed checkpoint's root.
pub struct TrailScan {
    member_key: [u8; 32],
    ballot_key: [u8; 32],
    frontier: merkle::Frontier,
    trail: MemberTrail,
}

impl TrailScan {
    /// Starts a scan for the member with these public member and ballot keys.
    pub fn new(member_key: [u8; 32], ballot_key: [u8; 32]) -> Self {
        TrailScan {
            member_key,
            ballot_key,
            frontier: merkle::Frontier::new(),
            trail: MemberTrail::default(),
        }
    }

    /// Entries read so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Reads the next entry (canonical bytes).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let at = self.frontier.size();
        let leaf: Digest32 = merkle::leaf_hash(bytes);
        self.frontier
            .append(leaf)
            .map_err(|e| ClientError::decode(format!("entry {at}: {e}")))?;
        let entry = Entry::from_bytes(bytes)
            .map_err(|e| ClientError::proof(format!("entry {at} is malformed: {e}")))?;
        let trail = &mut self.trail;
        match entry.kind() {
            Ok(EntryKind::Enrollment) => {
                if let Ok(e) = entry.body::<Enrollment>() {
                    if e.member_key == self.member_key && trail.member.is_none() {
                        trail.member = Some(e.member);
                    }
                }
            }
            Ok(EntryKind::Issuance) => {
                if let Ok(i) = entry.body::<Issuance>() {
                    if Some(i.member) == trail.member && trail.issuance.is_none() {
                        trail.issuance = Some((at, bytes.to_vec()));
                    }
                }
            }
            Ok(EntryKind::Open) => trail.opened_at = Some(at),
            Ok(EntryKind::Ballot) => {
                if let Ok(b) = entry.body::<Ballot>() {
                    if b.body.ballot_key.as_bytes() == &self.ballot_key {
                        trail.last_ballot = Some(at);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The trail, once every entry of `checkpoint` was read and they hash to its root.
    pub fn finish(self, checkpoint: &Checkpoint) -> Result<MemberTrail, ClientError> {
        if self.frontier.size() != checkpoint.size || self.frontier.root() != checkpoint.root {
            return Err(ClientError::proof(
                "the entries do not hash to the checkpoint's root",
            ));
        }
        Ok(self.trail)
    }
}

/// Why a wallet cannot be rebuilt from what the board holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// No enrolment on the board carries the code's member key.
    #[error("nobody enrolled in this election with this recovery code")]
    NotEnrolled,
    /// The code's enrolment is another member's than the one named.
    #[error("this recovery code belongs to another member")]
    OtherMember,
    /// The member's credential request on the board was not blinded with
    /// this code (a wallet made before recovery codes, or another wallet's).
    #[error(
        "the credential request on the board (entry {0}) was not made with this recovery code"
    )]
    OtherSession(u64),
    /// The board's entries are not what the protocol allows.
    #[error("{0}")]
    Board(String),
}

/// The credential session a rebuilt wallet resumes: the signer's
/// commitment of the member's issuance entry on the board, checked to be
/// the session this code blinded (so that sending the same issuance entry
/// again gives back the same credential). `None` if no credential was
/// requested yet. `member` is the member the wallet is rebuilt for, if known.
pub fn resumed_session(
    manifest: &Manifest,
    election: &[u8; 32],
    constituency: &str,
    trail: &MemberTrail,
    member: Option<&[u8; 32]>,
    secret: &RecoverySecret,
) -> Result<Option<SignerCommitment>, RecoveryError> {
    let enrolled = trail.member.ok_or(RecoveryError::NotEnrolled)?;
    if member.is_some_and(|m| *m != enrolled) {
        return Err(RecoveryError::OtherMember);
    }
    let Some((at, bytes)) = &trail.issuance else {
        return Ok(None);
    };
    let board = |e: String| RecoveryError::Board(format!("issuance entry {at}: {e}"));
    let entry = Entry::from_bytes(bytes).map_err(|e| board(e.to_string()))?;
    let issuance: Issuance = entry.body().map_err(|e| board(e.to_string()))?;
    let commitment = SignerCommitment {
        a: issuance.commitment_a,
        c: issuance.commitment_c,
    };
    let registrar = manifest
        .constituency(constituency)
        .ok_or_else(|| board(format!("no constituency {constituency}")))?
        .registrar_key;
    let (_, challenge) = crate::voter::blind_recoverable(
        &registrar,
        election,
        constituency,
        &secret.ballot_key(election),
        &commitment,
        secret,
    )
    .map_err(|e| board(e.to_string()))?;
    if challenge.e != issuance.challenge {
        return Err(RecoveryError::OtherSession(*at));
    }
    Ok(Some(commitment))
}
