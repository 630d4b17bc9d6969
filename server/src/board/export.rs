//! The export of an election's log (§8.5 of the protocol): the election's
//! note verifier key, every entry in index order, after each entry the
//! checkpoint the board issued for that size (if any), and the checkpoint
//! of the exported head last.
//!
//! Every checkpoint the board ever handed out for the log is stored (one per
//! committed group, see [`crate::sequencer`]), so the export carries all of
//! them: every receipt a voter holds can be checked against the final tree
//! (no split view). They cost a few hundred bytes each, at most one per
//! entry. The export streams page by page in constant memory.

use std::io::Write;

use urne_crypto::export::{ExportWriter, Record};

use super::{Board, BoardError};
use crate::election::ElectionId;
use crate::sequencer::Head;
use crate::store::StoreError;

/// Bytes of entries read per page.
const PAGE_BYTES: usize = 4 << 20;

impl Board {
    /// Writes the export of `log` up to `head` (a head this board published)
    /// into `out`, and returns `out`.
    pub fn export<W: Write>(&self, log: &ElectionId, head: &Head, out: W) -> Result<W, BoardError> {
        let vkey = self.verifier(log)?.to_vkey_string();
        let mut w = ExportWriter::new(out, &vkey)?;
        let text = |size: u64, note: Vec<u8>| {
            String::from_utf8(note).map_err(|_| {
                BoardError::from(StoreError::Corrupt(format!(
                    "log {log}: checkpoint {size} is not UTF-8"
                )))
            })
        };
        let mut index = 0;
        while index < head.size {
            let page = self.store.entries(log, index, head.size, PAGE_BYTES)?;
            if page.is_empty() {
                return Err(
                    StoreError::Corrupt(format!("log {log}: entry {index} missing")).into(),
                );
            }
            let end = index + page.len() as u64;
            // Intermediate checkpoints for sizes index+1 ..= end, the head's excepted.
            let mut checkpoints = self
                .store
                .checkpoints(log, index + 1, end.min(head.size - 1) + 1)?
                .into_iter()
                .peekable();
            for entry in page {
                w.write(&Record::Entry(entry))?;
                index += 1;
                if let Some((_, note)) = checkpoints.next_if(|(size, _)| *size == index) {
                    let note = self.with_cosignatures(log, index, &text(index, note)?)?;
                    w.write(&Record::Checkpoint(note))?;
                }
            }
        }
        let last = self.with_cosignatures(log, head.size, &head.checkpoint)?;
        Ok(w.finish(&last)?)
    }
}
