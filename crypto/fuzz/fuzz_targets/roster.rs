//! Roster CSV as the organiser imports it, checked against the fixture manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::entry::{member_id, EntryKind, Roster};
use urne_fuzz::{fixture, write_seeds};
use urne_server::election::roster;

fn seeds() -> Vec<Vec<u8>> {
    let f = fixture();
    let mut csv = roster::HEADER.join(",") + "\n";
    for e in f
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Roster as u8)
    {
        let Ok(r) = e.body::<Roster>() else { continue };
        for (i, m) in r.members.iter().enumerate() {
            let (name, pool) = if m.pool_pseudonym.is_empty() {
                (format!("member-{i}"), "no")
            } else {
                (m.pool_pseudonym.clone(), "yes")
            };
            csv.push_str(&format!(
                "{name},{},{pool},{}\n",
                m.constituency, m.category
            ));
        }
    }
    vec![csv.into_bytes()]
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let f = fixture();
    if let Ok(lines) = roster::parse(data, &f.election, &f.manifest) {
        for l in &lines {
            assert_eq!(l.member.member, member_id(&f.election, &l.pseudonym));
            assert_eq!(f.manifest.constituencies[l.constituency].id, l.member.constituency);
        }
    }
});
