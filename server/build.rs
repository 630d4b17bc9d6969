//! Embeds the voter web app's built bundle (`web/dist`, committed) in the
//! `urne` binary: writes `$OUT_DIR/web_bundle.rs`, the sorted list of
//! `(path, bytes)` of every file, so `cargo run` needs no web toolchain.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, base, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, p));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let dist = manifest.join("web").join("dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    walk(&dist, &dist, &mut files);
    files.sort();
    for (_, p) in &files {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let mut code = String::from("/// Every file of the web bundle, sorted by path.\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, p) in &files {
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            p.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("web_bundle.rs");
    std::fs::write(out, code).expect("write web_bundle.rs");
}
