//! A local replay of an election's board: fetch every entry up to a signed
//! checkpoint, check that they hash to its root, and apply them to a
//! [`Record`] so every rule is re-checked on the client side.

use std::collections::{HashMap, VecDeque};

use urne_crypto::checkpoint::Checkpoint;
use urne_crypto::dkg::Complaint;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, DkgComplaint, Entry, EntryKind};
use urne_crypto::manifest::Manifest;
use urne_crypto::merkle;
use urne_crypto::record::{Applied, BallotCheck, BallotHistory, Record};

use urne_client::setup::SetupReader;

use super::api::Client;
use super::error::ClientError;

/// Reads a board's entries `start..end` in order from its entry bundles
/// (§6.10): the same cacheable files for every reader, a whole bundle at a
/// time, so the service learns nothing of which entry a reader is after. A
/// bundle the service cannot serve (it holds an entry too long for one) is
/// read from the paged API instead.
pub struct BoardReader<'a> {
    client: &'a Client,
    election: [u8; 32],
    next: u64,
    end: u64,
    buffer: VecDeque<Vec<u8>>,
}

impl<'a> BoardReader<'a> {
    /// A reader of entries `start..end` of `election`'s board.
    pub fn new(client: &'a Client, election: &[u8; 32], start: u64, end: u64) -> Self {
        BoardReader {
            client,
            election: *election,
            next: start,
            end,
            buffer: VecDeque::new(),
        }
    }

    /// The next entry, with its index, or `None` past `end`.
    pub async fn next(&mut self) -> Result<Option<(u64, Vec<u8>)>, ClientError> {
        if self.next >= self.end {
            return Ok(None);
        }
        if self.buffer.is_empty() {
            self.fill().await?;
        }
        let bytes = self
            .buffer
            .pop_front()
            .ok_or_else(|| ClientError::decode(format!("the board has no entry {}", self.next)))?;
        let at = self.next;
        self.next += 1;
        Ok(Some((at, bytes)))
    }

    /// Reads the bundle holding entry `next`, from `next` on.
    async fn fill(&mut self) -> Result<(), ClientError> {
        let full = u64::from(urne_crypto::tile::FULL_WIDTH);
        let n = self.next / full;
        let first = n * full;
        let width = (self.end - first).min(full) as u16;
        let entries = match self.client.entry_bundle(&self.election, n, width).await? {
            Some(entries) => entries
                .into_iter()
                .skip((self.next - first) as usize)
                .collect(),
            None => {
                self.client
                    .entries(&self.election, self.next, first + u64::from(width))
                    .await?
            }
        };
        self.buffer.extend(entries);
        Ok(())
    }
}

/// Earlier ballots by board index, for revotes during replay.
#[derive(Default)]
pub struct BallotStore {
    ballots: HashMap<u64, Vec<u8>>,
}

impl BallotStore {
    /// Keeps the ballot entry at `index`.
    pub fn insert(&mut self, index: u64, entry: Vec<u8>) {
        self.ballots.insert(index, entry);
    }

    /// Forgets the ballot entry at `index` (superseded by a revote).
    pub fn remove(&mut self, index: u64) {
        self.ballots.remove(&index);
    }
}

impl BallotHistory for BallotStore {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        let bytes = self
            .ballots
            .get(&index)
            .ok_or_else(|| format!("no ballot at {index}"))?;
        let entry = Entry::from_bytes(bytes).map_err(|e| e.to_string())?;
        entry.body::<Ballot>().map_err(|e| e.to_string())
    }
}

/// The replayed board.
pub struct Replay {
    /// The record after every entry.
    pub record: Record,
    /// The checkpoint the entries were checked against.
    pub checkpoint: Checkpoint,
    /// The signed note of that checkpoint.
    pub note: String,
    /// DKG complaints in board order.
    pub complaints: Vec<Complaint>,
    /// Every entry's kind, in board order.
    pub kinds: Vec<EntryKind>,
}

/// Fetches the board up to the latest checkpoint and replays it. Ballot
/// proofs are checked only with [`BallotCheck::Full`]; every other rule always.
pub async fn replay(
    client: &Client,
    election: &[u8; 32],
    check: BallotCheck,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Replay, ClientError> {
    let (checkpoint, note) = client.checkpoint(election).await?;
    let size = checkpoint.size;
    let mut leaves = Vec::with_capacity(size as usize);
    let mut record: Option<Record> = None;
    let mut store = BallotStore::default();
    let mut complaints = Vec::new();
    let mut kinds = Vec::with_capacity(size as usize);
    let mut reader = BoardReader::new(client, election, 0, size);
    while let Some((at, bytes)) = reader.next().await? {
        leaves.push(merkle::leaf_hash(&bytes));
        let entry = Entry::from_bytes(&bytes)
            .map_err(|e| ClientError::proof(format!("entry {at} is malformed: {e}")))?;
        let kind = entry
            .kind()
            .map_err(|e| ClientError::proof(format!("entry {at}: {e}")))?;
        match record.as_mut() {
            None => {
                let r = Record::open(&entry)
                    .map_err(|e| ClientError::proof(format!("entry 0: {e}")))?;
                if r.manifest().board_key != client.board_key().await? {
                    return Err(ClientError::proof(
                        "the manifest names another board key than the pinned one",
                    ));
                }
                if r.election() != election {
                    return Err(ClientError::proof("the board holds another election"));
                }
                record = Some(r);
            }
            Some(r) => {
                let applied = r
                    .apply(&entry, check, &store)
                    .map_err(|e| ClientError::proof(format!("entry {at}: {e}")))?;
                if let Applied::Ballot {
                    superseded: Some(old),
                } = applied
                {
                    store.remove(old);
                }
                match kind {
                    EntryKind::Ballot => store.insert(at, bytes),
                    EntryKind::DkgComplaint => {
                        let c: DkgComplaint = entry
                            .body()
                            .map_err(|e| ClientError::proof(e.to_string()))?;
                        complaints.push(c);
                    }
                    _ => {}
                }
            }
        }
        kinds.push(kind);
        progress(at + 1, size);
    }
    if merkle::root(&leaves) != checkpoint.root {
        return Err(ClientError::proof(
            "the entries do not hash to the checkpoint's root",
        ));
    }
    let record = record.ok_or_else(|| ClientError::decode("the board is empty"))?;
    Ok(Replay {
        record,
        checkpoint,
        note,
        complaints,
        kinds,
    })
}

pub use urne_client::setup::Setup;

/// Reads the setup part of a board through [`urne_client::setup::SetupReader`],
/// as the verifier would: every entry's signer and rules are checked, and the
/// election key must be the one the posted dealings and complaints determine.
/// The entries read must hash to the signed checkpoint (directly, or by a
/// consistency proof when reading stops at the entry that opens the vote).
pub async fn setup(client: &Client, election: &[u8; 32]) -> Result<Setup, ClientError> {
    let (checkpoint, _) = client.checkpoint(election).await?;
    let size = checkpoint.size;
    let mut reader = SetupReader::new(client.board_key().await?, *election, checkpoint);
    let mut entries = BoardReader::new(client, election, 0, size);
    while reader.next_index().is_some() {
        let (_, bytes) = entries
            .next()
            .await?
            .ok_or_else(|| ClientError::decode("the board ends before its checkpoint"))?;
        reader.push(&bytes)?;
    }
    let proof = match reader.consistency_needed() {
        Some((from, to)) => Some(client.consistency_proof(election, from, to).await?),
        None => None,
    };
    reader.finish(proof.as_deref())
}

async fn manifest_of(
    client: &Client,
    election: &[u8; 32],
    entry: &Entry,
) -> Result<Manifest, ClientError> {
    urne_client::setup::manifest_of(&client.board_key().await?, election, entry)
}

/// The manifest of an election (entry 0), checked as in [`setup`].
pub async fn manifest(client: &Client, election: &[u8; 32]) -> Result<Manifest, ClientError> {
    let (_, bytes) = BoardReader::new(client, election, 0, 1)
        .next()
        .await?
        .ok_or_else(|| ClientError::decode("the board is empty"))?;
    let entry = Entry::from_bytes(&bytes)
        .map_err(|e| ClientError::proof(format!("entry 0 is malformed: {e}")))?;
    manifest_of(client, election, &entry).await
}

/// Fetches the entry a receipt names and checks the receipt for it: used for
/// the entries the service itself appends on an organiser's request.
pub async fn check_service_receipt(
    client: &Client,
    election: &[u8; 32],
    receipt: &super::receipt::ReceiptJson,
) -> Result<(Entry, super::Receipt), ClientError> {
    let bytes = client.entry(election, receipt.index).await?;
    let checked = client.check_receipt(election, &bytes, receipt).await?;
    let entry = Entry::from_bytes(&bytes)
        .map_err(|e| ClientError::proof(format!("entry {}: {e}", receipt.index)))?;
    Ok((entry, checked))
}

pub use urne_client::recovery::MemberTrail;

/// Reads the whole board up to the latest checkpoint (checking that the
/// entries hash to its root) and finds the enrolment with `member_key`, that
/// member's issuance entry, and the last ballot with `ballot_key`. Reading
/// everything keeps the service from learning which member is looking.
pub async fn member_trail(
    client: &Client,
    election: &[u8; 32],
    member_key: &[u8; 32],
    ballot_key: &[u8; 32],
) -> Result<MemberTrail, ClientError> {
    let (checkpoint, _) = client.checkpoint(election).await?;
    let mut scan = urne_client::recovery::TrailScan::new(*member_key, *ballot_key);
    let mut reader = BoardReader::new(client, election, 0, checkpoint.size);
    while let Some((_, bytes)) = reader.next().await? {
        scan.push(&bytes)?;
    }
    scan.finish(&checkpoint)
}
