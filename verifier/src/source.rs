//! Where the verifier reads a board from: an export stream (file or any
//! seekable reader) or, for monitoring, a running service.
//!
//! A source yields the export's records in order and answers the record's
//! requests for earlier ballots (revotes) by random access, so that nothing
//! but the byte offset of each entry is kept in memory.

use std::cell::RefCell;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;

use thiserror::Error;

use urne_crypto::checkpoint::{open_signed_checkpoint, NoteVerifier};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, Entry, EntryKind};
use urne_crypto::export::{ExportError, ExportReader, Record as ExportRecord, MAX_RECORD};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::leaf_hash;
use urne_crypto::record::BallotHistory;

/// The size of the checkpoint `note` if it opens under the board key
/// `key` (a note verifier key string): how far a source reads the board.
pub(crate) fn signed_size(key: &str, note: &str) -> Option<u64> {
    let verifier = NoteVerifier::from_vkey_string(key).ok()?;
    open_signed_checkpoint(note.as_bytes(), &verifier)
        .ok()
        .map(|cp| cp.size)
}

/// Why a source cannot deliver the next record.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The export stream is malformed or truncated.
    #[error("export: {0}")]
    Export(#[from] ExportError),
    /// A remote service answered something unusable.
    #[error("service: {0}")]
    Remote(String),
    /// A tile base serves a tile that is missing, malformed or does not
    /// match the entries (failed under `merkle_root` with `code`).
    #[error("tiles: {message}")]
    Tile {
        /// The failure code (`tile_missing`, `tile_malformed`, `tile_mismatch`).
        code: &'static str,
        /// What was wrong.
        message: String,
    },
}

/// What a source yields, in board order.
pub(crate) type Item = ExportRecord;

/// A board, record by record.
pub(crate) trait Source {
    /// The next record, or `None` at the end.
    fn next_item(&mut self) -> Result<Option<Item>, SourceError>;
    /// Earlier ballots, for revotes.
    fn history(&self) -> &dyn BallotHistory;
    /// Progress so far and the total, in the source's units (bytes or entries).
    fn progress(&self) -> (u64, Option<u64>);
    /// The web client the source's service serves (§3.10), fetched and
    /// hashed; `None` for a source that is no service.
    fn served_client(&self) -> Option<Result<ServedClient, String>> {
        None
    }
}

/// The web client as a service serves it.
pub(crate) struct ServedClient {
    /// SHA-256 of the served listing: the client digest.
    pub(crate) digest: [u8; 32],
    /// Files in the listing.
    pub(crate) files: usize,
    /// Listed files whose served bytes hash to something else.
    pub(crate) mismatched: Vec<String>,
}

/// A reader that knows its absolute position.
struct Positioned<R> {
    inner: BufReader<R>,
    pos: u64,
}

impl<R: Read + Seek> Positioned<R> {
    fn seek_to(&mut self, pos: u64) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(pos))?;
        self.pos = pos;
        Ok(())
    }
}

impl<R: Read> Read for Positioned<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The stream as the export parser sees it; shares the reader with the history.
struct Shared<R>(Rc<RefCell<Positioned<R>>>);

impl<R: Read> Read for Shared<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// An export read from a seekable stream; earlier ballots are re-read from
/// their recorded offsets.
pub(crate) struct ExportSource<R: Read + Seek> {
    reader: Rc<RefCell<Positioned<R>>>,
    records: Option<ExportReader<Shared<R>>>,
    /// Byte offset of each entry record, by board index.
    offsets: Vec<u64>,
    start: u64,
    len: Option<u64>,
}

impl<R: Read + Seek> ExportSource<R> {
    /// Wraps a stream positioned at the start of an export.
    pub(crate) fn new(mut reader: R) -> io::Result<Self> {
        let start = reader.stream_position()?;
        let end = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(start))?;
        Ok(ExportSource {
            reader: Rc::new(RefCell::new(Positioned {
                inner: BufReader::with_capacity(1 << 16, reader),
                pos: start,
            })),
            records: None,
            offsets: Vec::new(),
            start,
            len: Some(end.saturating_sub(start)),
        })
    }

    fn read_entry_at(&self, index: u64) -> Result<Vec<u8>, String> {
        let offset = *usize::try_from(index)
            .ok()
            .and_then(|i| self.offsets.get(i))
            .ok_or_else(|| format!("entry {index} has not been read"))?;
        let mut r = self.reader.borrow_mut();
        let back = r.pos;
        let read = (|| -> io::Result<Vec<u8>> {
            r.seek_to(offset)?;
            let mut header = [0u8; 5];
            r.read_exact(&mut header)?;
            let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
            if header[0] != 3 || len > MAX_RECORD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not an entry record",
                ));
            }
            let mut payload = vec![0u8; len as usize];
            r.read_exact(&mut payload)?;
            Ok(payload)
        })();
        let restored = r.seek_to(back);
        let payload = read.map_err(|e| format!("re-reading entry {index}: {e}"))?;
        restored.map_err(|e| format!("re-reading entry {index}: {e}"))?;
        Ok(payload)
    }
}

/// Decodes the ballot of an entry's canonical bytes.
pub(crate) fn ballot_of(index: u64, bytes: &[u8]) -> Result<Ballot, String> {
    let entry = Entry::from_bytes(bytes).map_err(|e| format!("entry {index}: {e}"))?;
    if entry.kind != EntryKind::Ballot as u8 {
        return Err(format!("entry {index} is not a ballot"));
    }
    entry.body().map_err(|e| format!("entry {index}: {e}"))
}

/// The ballot at `index` of a remote board, fetched again by `fetch`: its
/// bytes must hash to the leaf computed when it was first read (`leaves`), so
/// the remote (`who`) cannot answer with another ballot.
pub(crate) fn refetched_ballot(
    leaves: &[Digest32],
    index: u64,
    who: &str,
    fetch: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Ballot, String> {
    let expected = usize::try_from(index)
        .ok()
        .and_then(|i| leaves.get(i))
        .ok_or_else(|| format!("entry {index} has not been read"))?;
    let bytes = fetch()?;
    if leaf_hash(&bytes) != *expected {
        return Err(format!(
            "{who} served entry {index} again with other bytes than the first time"
        ));
    }
    ballot_of(index, &bytes)
}

impl<R: Read + Seek> BallotHistory for ExportSource<R> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        ballot_of(index, &self.read_entry_at(index)?)
    }
}

impl<R: Read + Seek> Source for ExportSource<R> {
    fn next_item(&mut self) -> Result<Option<Item>, SourceError> {
        if self.records.is_none() {
            self.records = Some(ExportReader::new(Shared(self.reader.clone()))?);
        }
        let start = self.reader.borrow().pos;
        let Some(records) = self.records.as_mut() else {
            return Ok(None);
        };
        let item = records.next_record()?;
        if let Some(ExportRecord::Entry(_)) = item {
            self.offsets.push(start);
        }
        Ok(item)
    }

    fn history(&self) -> &dyn BallotHistory {
        self
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (
            self.reader.borrow().pos.saturating_sub(self.start),
            self.len,
        )
    }
}
