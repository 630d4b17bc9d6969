//! Entry bodies of every kind: `kind ‖ body bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::entry::EntryKind;
use urne_fuzz::{body, fixture, tagged, vector_strings, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = fixture()
        .entries
        .iter()
        .map(|e| tagged(&[e.kind], &e.body))
        .collect();
    for (path, bytes) in vector_strings() {
        let kind = match path.as_str() {
            ".entry.body" => EntryKind::Close,
            ".complaints" => EntryKind::DkgComplaint,
            ".dealer_messages" => EntryKind::DkgDealing,
            ".election_key" => EntryKind::ElectionKey,
            _ => continue,
        };
        out.push(tagged(&[kind as u8], &bytes));
    }
    out
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    if let Some((&k, rest)) = data.split_first() {
        let kind = EntryKind::ALL[usize::from(k) % EntryKind::ALL.len()];
        body(kind, rest);
    }
});
