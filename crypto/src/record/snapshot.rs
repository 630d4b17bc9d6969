//! A snapshot of a [`Record`]: its whole replayed state as one canonical CBOR
//! object, so that a monitor can stop after a verified prefix of the board
//! and later continue with the entries that follow, with the same result as
//! a replay from the start.
//!
//! A snapshot is the monitor's own trusted state, not a protocol object: it is
//! decoded strictly, but restoring one re-checks nothing that the replay had
//! already checked. Derived state (election id, board key, key-generation
//! parameters, lottery pools, disqualified dealers) is recomputed. Every list
//! that stands for a map or a set must be in strictly increasing key order,
//! so that one state has exactly one snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use minicbor::bytes::ByteArray;
use minicbor::{Decode, Encode};

use super::{ConstituencyState, CountedBallot, Phase, Record, RecordError};
use crate::dkg;
use crate::elgamal::Ciphertext;
use crate::encoding::Canonical;
use crate::entry::{
    BeaconValue, ElectionKey, LotterySeed, RevealsClosed, RosterMember, SeatResult, Tally,
};
use crate::lottery::PoolMember;
use crate::manifest::Manifest;

#[derive(Encode, Decode)]
#[cbor(array)]
struct KeyValue {
    #[cbor(n(0), with = "minicbor::bytes")]
    key: [u8; 32],
    #[cbor(n(1), with = "minicbor::bytes")]
    value: [u8; 32],
}

#[derive(Encode, Decode)]
#[cbor(array)]
struct IndexedSecret {
    #[n(0)]
    index: u32,
    #[cbor(n(1), with = "minicbor::bytes")]
    value: [u8; 32],
}

#[derive(Encode, Decode)]
#[cbor(array)]
struct BallotKeyIndex {
    #[cbor(n(0), with = "minicbor::bytes")]
    key: [u8; 32],
    #[n(1)]
    index: u64,
    #[cbor(n(2), with = "minicbor::bytes")]
    digest: [u8; 32],
}

#[derive(Encode, Decode)]
#[cbor(array)]
struct ConstituencySnapshot {
    #[n(0)]
    issuances: u64,
    #[n(1)]
    ballots: Vec<BallotKeyIndex>,
    #[n(2)]
    aggregate: Vec<Ciphertext>,
    #[n(3)]
    shares: Vec<crate::decryption::DecryptionShare>,
    #[n(4)]
    tally: Option<Tally>,
    #[n(5)]
    seats: Option<SeatResult>,
    #[n(6)]
    superseded: Vec<ByteArray<32>>,
    #[n(7)]
    issued_while_open: u64,
}

#[derive(Encode, Decode)]
#[cbor(array)]
struct Snapshot {
    #[n(0)]
    manifest: Manifest,
    #[n(1)]
    phase: u8,
    #[n(2)]
    next_index: u64,
    #[n(3)]
    members: Vec<RosterMember>,
    #[n(4)]
    enrolled: Vec<KeyValue>,
    #[n(5)]
    credentialed: Vec<ByteArray<32>>,
    #[n(6)]
    dealings: Vec<dkg::DealerMessage>,
    #[n(7)]
    complaints: Vec<dkg::Complaint>,
    #[n(8)]
    election_key: Option<ElectionKey>,
    #[n(9)]
    constituencies: Vec<ConstituencySnapshot>,
    #[n(10)]
    commits: Vec<IndexedSecret>,
    #[n(11)]
    reveals: Vec<IndexedSecret>,
    #[n(12)]
    beacon: Option<BeaconValue>,
    #[n(13)]
    seed: Option<LotterySeed>,
    #[n(14)]
    reveals_closed: Option<RevealsClosed>,
    #[n(15)]
    acknowledgements: Vec<IndexedSecret>,
    #[n(16)]
    opened_at: Option<u64>,
    #[n(17)]
    closed_at: Option<u64>,
}

const PHASES: [Phase; 4] = [Phase::Setup, Phase::Open, Phase::Closed, Phase::Seated];

fn secrets(map: &BTreeMap<u32, [u8; 32]>) -> Vec<IndexedSecret> {
    map.iter()
        .map(|(index, value)| IndexedSecret {
            index: *index,
            value: *value,
        })
        .collect()
}

/// Largest record snapshot restored (512 MiB). A snapshot holds about 75
/// bytes per board entry, so it outgrows [`crate::encoding::MAX_OBJECT_BYTES`]
/// near 2·10⁵ entries; it comes only from the service's own store.
pub const MAX_SNAPSHOT_BYTES: usize = 512 << 20;

/// Why bytes are not a record snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not the canonical encoding of a snapshot.
    #[error("record snapshot: {0}")]
    Decode(String),
    /// The phase number is not one of the record's phases.
    #[error("record snapshot: unknown phase {0}")]
    UnknownPhase(u8),
    /// The snapshot has not one state per constituency of its manifest.
    #[error("record snapshot: {found} constituencies, the manifest has {expected}")]
    ConstituencyCount {
        /// Constituencies in the snapshot.
        found: usize,
        /// Constituencies in the manifest.
        expected: usize,
    },
    /// A keyed list is out of order or repeats a key.
    #[error("record snapshot: {0} not in strictly increasing key order")]
    Unordered(&'static str),
}

/// Refuses `items` unless their keys strictly increase (sorted, no repeat).
fn strictly_increasing<T, K: Ord>(
    what: &'static str,
    items: &[T],
    key: impl Fn(&T) -> K,
) -> Result<(), SnapshotError> {
    if items.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
        Ok(())
    } else {
        Err(SnapshotError::Unordered(what))
    }
}

impl Snapshot {
    /// Checks that every list standing for a map or a set is in key order.
    fn check_order(&self) -> Result<(), SnapshotError> {
        strictly_increasing("members", &self.members, |m| m.member)?;
        strictly_increasing("enrolled", &self.enrolled, |kv| kv.key)?;
        strictly_increasing("credentialed", &self.credentialed, |m| **m)?;
        strictly_increasing("dealings", &self.dealings, |d| d.dealer)?;
        for c in &self.constituencies {
            strictly_increasing("ballots", &c.ballots, |b| b.key)?;
            strictly_increasing("shares", &c.shares, |sh| sh.trustee)?;
            strictly_increasing("superseded", &c.superseded, |d| **d)?;
        }
        strictly_increasing("commits", &self.commits, |i| i.index)?;
        strictly_increasing("reveals", &self.reveals, |i| i.index)?;
        strictly_increasing("acknowledgements", &self.acknowledgements, |i| i.index)
    }
}

impl Record {
    /// The record's whole state as canonical bytes (see [`Record::restore`]).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut members: Vec<RosterMember> = self.members.values().cloned().collect();
        members.sort_by_key(|a| a.member);
        let mut enrolled: Vec<KeyValue> = self
            .enrolled
            .iter()
            .map(|(key, value)| KeyValue {
                key: *key,
                value: *value,
            })
            .collect();
        enrolled.sort_by_key(|a| a.key);
        let constituencies = self
            .constituencies
            .iter()
            .map(|c| {
                let mut ballots: Vec<BallotKeyIndex> = c
                    .ballots
                    .iter()
                    .map(|(key, counted)| BallotKeyIndex {
                        key: *key,
                        index: counted.index,
                        digest: counted.digest,
                    })
                    .collect();
                ballots.sort_by_key(|a| a.key);
                ConstituencySnapshot {
                    issuances: c.issuances,
                    ballots,
                    aggregate: c.aggregate.clone(),
                    shares: c.shares.values().cloned().collect(),
                    tally: c.tally.clone(),
                    seats: c.seats.clone(),
                    superseded: c.superseded.iter().map(|d| (*d).into()).collect(),
                    issued_while_open: c.issued_while_open,
                }
            })
            .collect();
        Snapshot {
            manifest: self.manifest.clone(),
            phase: self.phase as u8,
            next_index: self.next_index,
            members,
            enrolled,
            credentialed: self.credentialed.iter().map(|m| (*m).into()).collect(),
            dealings: self.dealings.values().cloned().collect(),
            complaints: self.complaints.clone(),
            election_key: self.election_key.clone(),
            constituencies,
            commits: secrets(&self.commits),
            reveals: secrets(&self.reveals),
            beacon: self.beacon.clone(),
            seed: self.seed.clone(),
            reveals_closed: self.reveals_closed.clone(),
            acknowledgements: secrets(&self.acknowledgements),
            opened_at: self.opened_at,
            closed_at: self.closed_at,
        }
        .to_bytes()
    }

    /// Rebuilds a record from [`Record::snapshot`] bytes.
    pub fn restore(bytes: &[u8]) -> Result<Self, RecordError> {
        let s: Snapshot = crate::encoding::decode_canonical(bytes, MAX_SNAPSHOT_BYTES)
            .map_err(|e| SnapshotError::Decode(e.to_string()))?;
        s.check_order()?;
        s.manifest
            .validate()
            .map_err(|e| RecordError::Manifest(e.to_string()))?;
        let dkg_params = s
            .manifest
            .dkg_params()
            .map_err(|e| RecordError::Manifest(e.to_string()))?;
        let phase = *PHASES
            .get(s.phase as usize)
            .ok_or(SnapshotError::UnknownPhase(s.phase))?;
        if s.constituencies.len() != s.manifest.constituencies.len() {
            return Err(SnapshotError::ConstituencyCount {
                found: s.constituencies.len(),
                expected: s.manifest.constituencies.len(),
            }
            .into());
        }
        // One counted ballot per key, in the order `snapshot` writes them.
        if s.constituencies
            .iter()
            .any(|c| c.ballots.windows(2).any(|w| w[0].key >= w[1].key))
        {
            return Err(SnapshotError::Unordered("ballots").into());
        }
        let mut pool: BTreeMap<String, Vec<PoolMember>> = BTreeMap::new();
        for m in s.members.iter().filter(|m| !m.pool_pseudonym.is_empty()) {
            pool.entry(m.constituency.clone())
                .or_default()
                .push(PoolMember {
                    id: m.pool_pseudonym.clone(),
                    category: m.category.clone(),
                });
        }
        for p in pool.values_mut() {
            p.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let constituencies = s
            .constituencies
            .into_iter()
            .map(|c| ConstituencyState {
                members: 0,
                enrolled: 0,
                pool_categories: BTreeMap::new(),
                issuances: c.issuances,
                issued_while_open: c.issued_while_open,
                ballots: c
                    .ballots
                    .into_iter()
                    .map(|b| {
                        let counted = CountedBallot {
                            index: b.index,
                            digest: b.digest,
                        };
                        (b.key, counted)
                    })
                    .collect(),
                aggregate: c.aggregate,
                shares: c.shares.into_iter().map(|sh| (sh.trustee, sh)).collect(),
                tally: c.tally,
                seats: c.seats,
                superseded: c.superseded.into_iter().map(<[u8; 32]>::from).collect(),
            })
            .collect();
        let indexed = |v: Vec<IndexedSecret>| v.into_iter().map(|i| (i.index, i.value)).collect();
        let mut record = Record {
            election: s.manifest.election_id(),
            board_key: s.manifest.board_key,
            phase,
            next_index: s.next_index,
            members: s.members.into_iter().map(|m| (m.member, m)).collect(),
            pool,
            enrolled_keys: s.enrolled.iter().map(|kv| kv.value).collect(),
            enrolled: s
                .enrolled
                .into_iter()
                .map(|kv| (kv.key, kv.value))
                .collect::<HashMap<_, _>>(),
            credentialed: s
                .credentialed
                .into_iter()
                .map(<[u8; 32]>::from)
                .collect::<BTreeSet<_>>(),
            dkg_params,
            dealings: s.dealings.into_iter().map(|d| (d.dealer, d)).collect(),
            disqualified: s.complaints.iter().map(|c| c.dealer).collect(),
            complaints: s.complaints,
            election_key: s.election_key,
            constituencies,
            commits: indexed(s.commits),
            reveals: indexed(s.reveals),
            beacon: s.beacon,
            seed: s.seed,
            reveals_closed: s.reveals_closed,
            acknowledgements: indexed(s.acknowledgements),
            opened_at: s.opened_at,
            closed_at: s.closed_at,
            manifest: s.manifest,
        };
        record.count_members();
        Ok(record)
    }

    /// Recounts the members and enrolments of each constituency (they are
    /// not in the snapshot: its member and enrolment lists give them).
    fn count_members(&mut self) {
        for c in &mut self.constituencies {
            c.members = 0;
            c.enrolled = 0;
            c.pool_categories.clear();
        }
        let index: HashMap<&str, usize> = self
            .manifest
            .constituencies
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        for (id, m) in &self.members {
            if let Some(&i) = index.get(m.constituency.as_str()) {
                self.constituencies[i].members += 1;
                if !m.pool_pseudonym.is_empty() {
                    *self.constituencies[i]
                        .pool_categories
                        .entry(m.category.clone())
                        .or_insert(0) += 1;
                }
                if self.enrolled.contains_key(id) {
                    self.constituencies[i].enrolled += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{decode_canonical, DecodeError, MAX_OBJECT_BYTES};

    #[test]
    fn a_snapshot_may_be_larger_than_other_objects() {
        // Above the bound of other objects (a board of some 2·10⁵ entries):
        // decoded, and refused here only because these bytes are no snapshot.
        let big = vec![0xff; MAX_OBJECT_BYTES + (1 << 20)];
        let refused = match Record::restore(&big) {
            Ok(_) => panic!("0xff bytes restored as a record"),
            Err(e) => e.to_string(),
        };
        assert!(!refused.contains("too large"), "{refused}");
        assert!(refused.contains("record snapshot"), "{refused}");
        // The bound itself is enforced.
        assert_eq!(
            decode_canonical::<u32>(&[0x01, 0x02], 1),
            Err(DecodeError::TooLarge(2))
        );
    }
}
