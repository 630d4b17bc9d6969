//! Writes the export of an offline fixture election, for trying `urne-verify`
//! and measuring it:
//!
//! ```text
//! cargo run --release -p urne-verify --example fixture_export -- small OUT
//! cargo run --release -p urne-verify --example fixture_export -- reference VOTERS OUT
//! ```

use std::time::Instant;

use urne_e2e::fixture::{build, Params};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (params, out) = match args.as_slice() {
        [shape, out] if shape == "small" => (Params::small(1), out),
        [shape, voters, out] if shape == "reference" => {
            let Ok(voters) = voters.parse() else {
                eprintln!("VOTERS must be a number");
                std::process::exit(2);
            };
            (Params::reference(voters, 1), out)
        }
        _ => {
            eprintln!("usage: fixture_export small OUT | fixture_export reference VOTERS OUT");
            std::process::exit(2);
        }
    };
    let t = Instant::now();
    let fixture = build(&params);
    let bytes = fixture.export();
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("{out}: {e}");
        std::process::exit(2);
    }
    eprintln!(
        "{} entries, {} bytes, built in {:.1} s",
        fixture.entries.len(),
        bytes.len(),
        t.elapsed().as_secs_f64()
    );
}
