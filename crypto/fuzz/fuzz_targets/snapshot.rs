//! Record snapshots: anything restored snapshots to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::record::Record;
use urne_fuzz::{final_record, prefix_snapshots, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = prefix_snapshots()[1..].to_vec();
    out.push(final_record().snapshot());
    out
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    if let Ok(record) = Record::restore(data) {
        let again = record.snapshot();
        assert_eq!(again, data, "an accepted snapshot re-encodes differently");
        let restored = Record::restore(&again).expect("a re-encoding restores");
        assert_eq!(restored.snapshot(), again);
    }
});
