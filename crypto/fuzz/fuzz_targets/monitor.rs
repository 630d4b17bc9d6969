//! The verifier's monitor state file: a mutated state is loaded and resumed
//! against the fixture's export.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use urne_fuzz::{export, fixture, write_seeds};
use urne_verify::{verify_target, Options};

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("urne-fuzz-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary directory");
        std::fs::write(d.join("export"), export()).expect("export written");
        d
    })
}

fn options() -> Options {
    Options {
        threads: 1,
        ..Options::default()
    }
}

fn target() -> String {
    dir().join("export").display().to_string()
}

fn seeds() -> Vec<Vec<u8>> {
    let f = fixture();
    let entries = f.entry_bytes();
    let half = dir().join("half");
    std::fs::write(&half, f.export_of(&entries[..entries.len() / 2])).expect("export written");
    let mut out = Vec::new();
    for source in [half.display().to_string(), target()] {
        let state = dir().join("seed-state");
        let _ = std::fs::remove_file(&state);
        verify_target(&source, Some(&state), &options()).expect("the fixture verifies");
        out.push(std::fs::read(&state).expect("state written"));
    }
    out
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let state = dir().join("state");
    std::fs::write(&state, data).expect("state written");
    let _ = verify_target(&target(), Some(&state), &options());
});
