//! The election rules on mutated entries: `index ‖ kind ‖ body` replaces the
//! fixture's entry `index` (modulo the board size) with that kind and body,
//! re-signed by the original signer's key, so that mutations get past the
//! signature and reach the rules. The record resumes from its snapshot before
//! that index, applies the entry with full ballot checks, then the rest of the
//! board.
#![no_main]

use ed25519_dalek::Signer;
use libfuzzer_sys::fuzz_target;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{signing_digest, Entry, EntryKind};
use urne_crypto::record::{BallotCheck, Record};
use urne_fuzz::{fixture, prefix_snapshots, signers, tagged, write_seeds, Board};

fn seeds() -> Vec<Vec<u8>> {
    let entries = &fixture().entries;
    (1..entries.len())
        .map(|i| tagged(&[i as u8, entries[i].kind], &entries[i].body))
        .collect()
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let entries = &fixture().entries;
    let [index, kind, body @ ..] = data else { return };
    let i = 1 + usize::from(*index) % (entries.len() - 1);
    let original = &entries[i];
    let mut entry = Entry {
        kind: *kind,
        body: body.to_vec(),
        ..original.clone()
    };
    if let (Some(key), Ok(k)) = (signers().get(&entry.signer), EntryKind::from_u8(*kind)) {
        let digest = signing_digest(k, &entry.election, &entry.body);
        entry.signature = key.sign(&digest).to_bytes().to_vec();
    }
    let mut record = Record::restore(&prefix_snapshots()[i]).expect("fixture snapshot");
    let board = Board(entries);
    if record.apply(&entry, BallotCheck::Full, &board).is_err() {
        return;
    }
    let snapshot = record.snapshot();
    let restored = Record::restore(&snapshot).expect("a record's snapshot restores");
    assert_eq!(restored.snapshot(), snapshot);
    assert_eq!(Entry::from_bytes(&entry.to_bytes()).as_ref(), Ok(&entry));
    for e in &entries[i + 1..] {
        if record.apply(e, BallotCheck::Deferred, &board).is_err() {
            break;
        }
    }
});
