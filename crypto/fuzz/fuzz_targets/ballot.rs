//! Ballots: decoding, the round trip, then every check of the credential,
//! signature and proofs against the fixture election.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::entry::{Ballot, EntryKind};
use urne_crypto::record::ballot_digest;
use urne_fuzz::{final_record, fixture, round_trip, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    fixture()
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Ballot as u8)
        .map(|e| e.body.clone())
        .collect()
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    if let Some(ballot) = round_trip::<Ballot>(data) {
        let _ = ballot_digest(&ballot);
        let _ = final_record().verify_ballot(&ballot);
    }
});
