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
/// exists; a row of 4 bytes alone is valid as it is). Staged with the
/// import's token rows, before its roster entries.
pub const ROSTER: Table = Table::new("roster_constituency");

/// Import digest → the digest of a later import that took over a member's
/// [`ROSTER`] row from it while it was staged (empty: none since it began
/// staging). An import so superseded is refused when it commits.
pub const ROSTER_SUPERSEDED: Table = Table::new("roster_superseded");

/// Import digest (see `api::members::roster`) → leaf index (u64 BE) of the
/// import's first roster entry and the number of entries (u64 BE): lets a
/// retried import get the same answer. Written with the roster entries.
pub const ROSTER_IMPORTS: Table = Table::new("roster_imports");

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
