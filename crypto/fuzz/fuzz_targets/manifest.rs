//! Manifests (canonical CBOR), with validation and the derived values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::entry::EntryKind;
use urne_fuzz::{body, fixture, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    vec![fixture().entries[0].body.clone()]
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    body(EntryKind::Manifest, data);
});
