//! The export stream: every record, and the round trip through the writer
//! for streams of the shape it writes (key record first, final checkpoint last).
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::export::{ExportReader, ExportWriter, Record};
use urne_fuzz::{export, fixture, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    let f = fixture();
    let entries = f.entry_bytes();
    vec![
        export().to_vec(),
        f.export_of(&entries[..entries.len() / 2]),
    ]
}

fn read(data: &[u8]) -> Option<Vec<Record>> {
    let mut reader = ExportReader::new(data).ok()?;
    let mut records = Vec::new();
    while let Some(r) = reader.next_record().ok()? {
        records.push(r);
    }
    Some(records)
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let Some(records) = read(data) else { return };
    let (Some(Record::BoardKey(key)), Some(Record::FinalCheckpoint(last))) =
        (records.first(), records.last())
    else {
        return;
    };
    if records.len() < 2 {
        return;
    }
    let mut w = ExportWriter::new(Vec::new(), key).expect("writes to memory");
    for r in &records[1..records.len() - 1] {
        w.write(r).expect("an accepted record is written");
    }
    let out = w.finish(last).expect("writes to memory");
    assert_eq!(out, data, "an accepted export re-encodes differently");
    assert_eq!(read(&out), Some(records));
});
