//! Board entries: the signed envelope, then the body its kind names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::Entry;
use urne_fuzz::{body, fixture, round_trip, vectors_named, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = fixture().entries.iter().map(Canonical::to_bytes).collect();
    out.extend(vectors_named(".entry.encoded"));
    out
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    if let Some(e) = round_trip::<Entry>(data) {
        let _ = e.verify_signature();
        if let Ok(kind) = e.kind() {
            body(kind, &e.body);
        }
    }
});
