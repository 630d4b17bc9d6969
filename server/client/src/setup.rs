//! The setup part of an election's board, read without I/O: the manifest,
//! the roster and the election key, up to the entry that opens the vote.
//!
//! The caller fetches a signed checkpoint and then the entries from 0 on,
//! feeding each to [`SetupReader::push`] until it says it has read enough;
//! [`SetupReader::finish`] then checks that what was read is the signed
//! board (its root, or a prefix of it by a consistency proof). Every entry
//! is applied to a [`Record`] as the verifier would: signers and rules are
//! checked, and the election key must be the one that the posted dealings
//! and complaints determine (a service cannot hand a voter a key of its own).
//!
//! Not here: fetching (`urne-server`'s `client::board::setup`, the web app).

use urne_crypto::checkpoint::Checkpoint;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{ElectionKey, Entry, EntryKind, Roster, RosterMember};
use urne_crypto::manifest::Manifest;
use urne_crypto::merkle;
use urne_crypto::record::{BallotCheck, BallotHistory, Record};

use crate::error::ClientError;
use crate::receipt::decode_hashes;

/// The setup part of a board: manifest, roster and election key, read up to
/// the entry that opens the vote (or the end of the board).
pub struct Setup {
    /// The manifest (entry 0, signed by the pinned board key).
    pub manifest: Manifest,
    /// The manifest entry's canonical bytes.
    pub manifest_entry: Vec<u8>,
    /// Roster lines published so far.
    pub roster: Vec<RosterMember>,
    /// The election key, once published.
    pub election_key: Option<ElectionKey>,
    /// Whether the vote has been opened.
    pub opened: bool,
}

/// No ballot is ever looked up while reading the setup.
struct NoBallots;

impl BallotHistory for NoBallots {
    fn ballot_at(&self, index: u64) -> Result<urne_crypto::entry::Ballot, String> {
        Err(format!("no ballot at {index} in the setup"))
    }
}

/// Reads the setup entries one by one against a signed checkpoint.
pub struct SetupReader {
    board_key: [u8; 32],
    election: [u8; 32],
    checkpoint: Checkpoint,
    frontier: merkle::Frontier,
    setup: Option<(Setup, Record)>,
    done: bool,
}

impl SetupReader {
    /// A reader for `election` under the pinned `board_key`, checked against
    /// `checkpoint` (already opened under that key).
    pub fn new(board_key: [u8; 32], election: [u8; 32], checkpoint: Checkpoint) -> Self {
        SetupReader {
            board_key,
            election,
            checkpoint,
            frontier: merkle::Frontier::new(),
            setup: None,
            done: false,
        }
    }

    /// The index of the next entry to feed, or `None` once enough is read.
    pub fn next_index(&self) -> Option<u64> {
        let at = self.frontier.size();
        (!self.done && at < self.checkpoint.size).then_some(at)
    }

    /// The checkpoint's tree size (read pages up to it).
    pub fn checkpoint_size(&self) -> u64 {
        self.checkpoint.size
    }

    /// Feeds the canonical bytes of entry [`SetupReader::next_index`].
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let Some(at) = self.next_index() else {
            return Err(ClientError::decode("more entries than the setup needs"));
        };
        self.frontier
            .append(merkle::leaf_hash(bytes))
            .map_err(|e| ClientError::decode(format!("entry {at}: {e}")))?;
        let entry = Entry::from_bytes(bytes)
            .map_err(|e| ClientError::proof(format!("entry {at} is malformed: {e}")))?;
        let kind = entry
            .kind()
            .map_err(|e| ClientError::proof(format!("entry {at}: {e}")))?;
        match self.setup.as_mut() {
            Some((s, r)) => {
                r.apply(&entry, BallotCheck::Deferred, &NoBallots)
                    .map_err(|e| ClientError::proof(format!("entry {at}: {e}")))?;
                let body = |e: urne_crypto::entry::EntryError| ClientError::proof(e.to_string());
                match kind {
                    EntryKind::Roster => {
                        let roster: Roster = entry.body().map_err(body)?;
                        s.roster.extend(roster.members);
                    }
                    EntryKind::ElectionKey => {
                        s.election_key = Some(entry.body().map_err(body)?);
                    }
                    EntryKind::Open => {
                        s.opened = true;
                        self.done = true;
                    }
                    _ => {}
                }
            }
            None => {
                let manifest = manifest_of(&self.board_key, &self.election, &entry)?;
                let record = Record::open(&entry)
                    .map_err(|e| ClientError::proof(format!("entry 0: {e}")))?;
                self.setup = Some((
                    Setup {
                        manifest,
                        manifest_entry: bytes.to_vec(),
                        roster: Vec::new(),
                        election_key: None,
                        opened: false,
                    },
                    record,
                ));
            }
        }
        Ok(())
    }

    /// When reading stopped before the checkpoint's size: the consistency
    /// proof `(from, to)` to fetch for [`SetupReader::finish`].
    pub fn consistency_needed(&self) -> Option<(u64, u64)> {
        let at = self.frontier.size();
        (at < self.checkpoint.size).then_some((at, self.checkpoint.size))
    }

    /// Checks that the entries read are the signed board (or a prefix of it,
    /// by `consistency`, hex hashes) and gives the setup.
    pub fn finish(self, consistency: Option<&[String]>) -> Result<Setup, ClientError> {
        let at = self.frontier.size();
        if !self.done && at < self.checkpoint.size {
            return Err(ClientError::decode(format!("the board has no entry {at}")));
        }
        let (setup, _) = self
            .setup
            .ok_or_else(|| ClientError::decode("the board is empty"))?;
        let root = self.frontier.root();
        if at == self.checkpoint.size {
            if root != self.checkpoint.root {
                return Err(ClientError::proof(
                    "the entries do not hash to the checkpoint's root",
                ));
            }
        } else {
            let proof = consistency
                .ok_or_else(|| ClientError::decode("no consistency proof for the setup"))?;
            merkle::verify_consistency(
                at,
                self.checkpoint.size,
                &root,
                &self.checkpoint.root,
                &decode_hashes(proof)?,
            )
            .map_err(|e| {
                ClientError::proof(format!(
                    "the setup entries are not a prefix of the signed board: {e}"
                ))
            })?;
        }
        Ok(setup)
    }
}

/// The manifest in entry 0, checked: it hashes to the election id, names
/// the pinned board key and is signed by it.
pub fn manifest_of(
    board_key: &[u8; 32],
    election: &[u8; 32],
    entry: &Entry,
) -> Result<Manifest, ClientError> {
    if entry.kind() != Ok(EntryKind::Manifest) {
        return Err(ClientError::proof("entry 0 is not a manifest"));
    }
    let manifest: Manifest = entry
        .body()
        .map_err(|e| ClientError::proof(format!("manifest: {e}")))?;
    if manifest.election_id() != *election || entry.election != *election {
        return Err(ClientError::proof(
            "the manifest does not hash to the election id",
        ));
    }
    if manifest.board_key != *board_key {
        return Err(ClientError::proof(
            "the manifest names another board key than the pinned one",
        ));
    }
    entry
        .verify_signer(&manifest.board_key)
        .map_err(|_| ClientError::proof("the manifest entry is not signed by the board key"))?;
    Ok(manifest)
}
