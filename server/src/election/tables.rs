//! The keyed tables an election keeps beside its log, each written in the
//! same atomic commit as the entry that justifies it. None of them is ever
//! exported: the board itself is the public record.

use crate::store::Table;

/// Constituency index (u32 BE) → the registrar's secret credential key.
/// Written with the manifest entry.
pub const REGISTRAR_KEYS: Table = Table::new("registrar_keys");

/// Token digest → member id: the one-time enrolment tokens (the organiser's
/// client draws them and sends only their digests,
/// [`urne_crypto::entry::enrolment_token_digest`]). Written with the roster
/// entries.
pub const ENROLMENT_TOKENS: Table = Table::new("enrolment_tokens");

/// Token digest → empty: tokens already consumed. Written with the
/// enrolment entry that consumed them.
pub const USED_TOKENS: Table = Table::new("enrolment_tokens_used");

/// Member id → constituency index (u32 BE), followed by the key of the
/// import that staged it (valid once that import's [`ROSTER_IMPORTS`] row
/// says it is complete; a row of 4 bytes alone is valid as it is). Staged with the
/// import's token rows, before its roster entries.
pub const ROSTER: Table = Table::new("roster_constituency");

/// Import digest → the digest of a later import that took over a member's
/// [`ROSTER`] row from it while it was staged (empty: none since it began
/// staging). An import so superseded is refused when it commits.
pub const ROSTER_SUPERSEDED: Table = Table::new("roster_superseded");

/// Import digest (see `api::members::roster`) → the import's progress: the
/// byte `0xff`, its number of roster entries (u64 BE), then the leaf index
/// (u64 BE) of each of them appended so far. Written with its first roster
/// entry (from then on its members are taken) and updated with each next
/// one; the import is complete, and its rows count, once every index is
/// listed. (A row of 16 bytes, from before imports were appended in steps,
/// is the first index and the count of a complete import.) Lets a retried
/// import get the same answer.
pub const ROSTER_IMPORTS: Table = Table::new("roster_imports");

/// Import digest ‖ entry number (u32 BE) → that roster entry of a staged
/// import, written while the import is staged so that one cut off while
/// its entries are appended is finished at the next start (§8.6); emptied
/// once the import is complete.
pub const ROSTER_STAGED_ENTRIES: Table = Table::new("roster_staged_entries");

/// [`ROSTER_COMMITTING_KEY`] → the digest of the import whose roster
/// entries are being appended (empty or absent: none). While one is, no
/// other import begins appending and the election is not opened.
pub const ROSTER_COMMITTING: Table = Table::new("roster_committing");

/// The one row of [`ROSTER_COMMITTING`].
pub const ROSTER_COMMITTING_KEY: &[u8] = b"current";

/// Member id → the registrar's signer state of the member's issuance session.
pub const SIGNER_STATES: Table = Table::new("signer_states");

/// Member id → leaf index (u64 BE) of the member's issuance entry.
pub const ISSUANCES: Table = Table::new("issuances");

/// [`RECORD_SNAPSHOT_KEY`] → the newest snapshot of the election's record
/// ([`urne_crypto::record::Record::snapshot`]), written every so many
/// entries with the entries it covers, so that a restart replays only the
/// entries after it (see [`crate::sequencer::snapshot_due`]).
pub const RECORD_SNAPSHOTS: Table = Table::new("record_snapshots");

/// The one row of [`RECORD_SNAPSHOTS`]: only the newest snapshot is kept.
pub const RECORD_SNAPSHOT_KEY: &[u8] = b"newest";

/// Big-endian u32 row key or value.
pub fn u32_key(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// Big-endian u64 row value.
pub fn u64_value(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// Reads a big-endian u32 row value.
pub fn read_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Reads a big-endian u64 row value.
pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The progress of a roster import, as its [`ROSTER_IMPORTS`] row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProgress {
    /// Number of roster entries of the import.
    pub count: u64,
    /// Leaf index of each of its roster entries appended so far, in order.
    pub indices: Vec<u64>,
}

/// First byte of an [`ImportProgress`] row (a legacy row has 16 bytes).
const IMPORT_PROGRESS_TAG: u8 = 0xff;

impl ImportProgress {
    /// Reads a row; `None` if it is neither form.
    pub fn decode(row: &[u8]) -> Option<Self> {
        if row.len() == 16 {
            let first = read_u64(&row[..8])?;
            let count = read_u64(&row[8..])?;
            let end = first.checked_add(count)?;
            return Some(Self {
                count,
                indices: (first..end).collect(),
            });
        }
        let (&tag, rest) = row.split_first()?;
        if tag != IMPORT_PROGRESS_TAG || rest.len() < 8 || rest.len() % 8 != 0 {
            return None;
        }
        let count = read_u64(&rest[..8])?;
        let indices: Vec<u64> = rest[8..].chunks(8).filter_map(read_u64).collect();
        (indices.len() as u64 <= count).then_some(Self { count, indices })
    }

    /// The row.
    pub fn encode(&self) -> Vec<u8> {
        let mut row = vec![IMPORT_PROGRESS_TAG];
        row.extend(u64_value(self.count));
        for i in &self.indices {
            row.extend(u64_value(*i));
        }
        row
    }

    /// Whether every roster entry of the import is on the board.
    pub fn is_complete(&self) -> bool {
        self.indices.len() as u64 == self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_progress_rows_round_trip_and_legacy_rows_are_complete() {
        let p = ImportProgress {
            count: 3,
            indices: vec![4, 9],
        };
        let row = p.encode();
        assert_eq!(row.len(), 1 + 8 * 3);
        assert_eq!(ImportProgress::decode(&row), Some(p.clone()));
        assert!(!p.is_complete());
        let legacy = [u64_value(7), u64_value(2)].concat();
        let old = ImportProgress::decode(&legacy).unwrap();
        assert_eq!(old.indices, vec![7, 8]);
        assert!(old.is_complete());
        // More indices than entries, a wrong tag, a cut row: not a row.
        let over = ImportProgress {
            count: 1,
            indices: vec![1, 2],
        };
        assert_eq!(ImportProgress::decode(&over.encode()), None);
        let mut tagged = row.clone();
        tagged[0] = 0;
        assert_eq!(ImportProgress::decode(&tagged), None);
        assert_eq!(ImportProgress::decode(&row[..row.len() - 1]), None);
        assert_eq!(ImportProgress::decode(&[]), None);
    }
}
