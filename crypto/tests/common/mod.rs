//! Shared test support: checking generated test vectors against `specs/vectors/`.
#![allow(dead_code)]

use std::path::PathBuf;

/// Deterministic RNG for vector generation: ChaCha20 seeded with `SHA-256(label)`.
pub fn rng(label: &str) -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    use sha2::Digest;
    let seed: [u8; 32] = sha2::Sha256::digest(label.as_bytes()).into();
    rand_chacha::ChaCha20Rng::from_seed(seed)
}

/// Compares `value` with `specs/vectors/{name}.json`; with
/// `URNE_REGENERATE_VECTORS=1` rewrites the file instead.
pub fn check_vectors(name: &str, value: &serde_json::Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/vectors")
        .join(format!("{name}.json"));
    let rendered = serde_json::to_string_pretty(value).expect("json") + "\n";
    if std::env::var("URNE_REGENERATE_VECTORS").as_deref() == Ok("1") {
        std::fs::write(&path, &rendered).expect("write vectors");
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with URNE_REGENERATE_VECTORS=1 cargo test -p urne-crypto",
            path.display()
        )
    });
    assert!(
        stored == rendered,
        "{} differs from the generated vectors; if the change is intended, regenerate with URNE_REGENERATE_VECTORS=1",
        path.display()
    );
}
