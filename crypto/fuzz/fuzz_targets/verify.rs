//! The whole verifier (`urne_verify::verify_export`) on mutated exports.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use urne_fuzz::{export, fixture, write_seeds};
use urne_verify::{verify_export, Options};

fn seeds() -> Vec<Vec<u8>> {
    let f = fixture();
    let entries = f.entry_bytes();
    vec![
        export().to_vec(),
        f.export_of(&entries[..entries.len() / 2]),
    ]
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let options = Options {
        threads: 1,
        ..Options::default()
    };
    let _ = verify_export(Cursor::new(data), &options);
});
