//! Reading a board from a static C2SP tile directory (§6.10): a complete
//! mirror verifies like the export; a tampered hash tile, a tampered entry,
//! a checkpoint of another size and a rewritten history are caught with
//! named checks; `--state` follows the mirror as it grows.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

use urne_crypto::merkle::{leaf_hash, root};
use urne_e2e::fixture::{build, Fixture, Params};

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build(&Params::small(47)))
}

fn temp_path(suffix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "urne-verify-tiles-{}-{}{suffix}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// `N` in the C2SP encoding.
fn index_path(n: u64) -> String {
    let mut groups = vec![n % 1000];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g:03}/")
            } else {
                format!("{g:03}")
            }
        })
        .collect()
}

fn width_suffix(w: usize) -> String {
    if w == 256 {
        String::new()
    } else {
        format!(".p/{w}")
    }
}

/// Writes the tile directory of `entries` with `checkpoint`, computed
/// independently of the verifier: each hash of a level-`L` tile is the root
/// of its `256^L` leaves.
fn write_tiles(dir: &Path, f: &Fixture, entries: &[Vec<u8>], checkpoint: &str) {
    let put = |path: &str, bytes: &[u8]| {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    put("checkpoint", checkpoint.as_bytes());
    put(
        "board-key",
        format!("{}\n", f.board_key().verifier().to_vkey_string()).as_bytes(),
    );
    let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut span = 1usize;
    for level in 0.. {
        let nodes: Vec<_> = leaves.chunks_exact(span).map(root).collect();
        if nodes.is_empty() {
            break;
        }
        for (n, tile) in nodes.chunks(256).enumerate() {
            put(
                &format!(
                    "tile/{level}/{}{}",
                    index_path(n as u64),
                    width_suffix(tile.len())
                ),
                &tile.concat(),
            );
        }
        span *= 256;
    }
    for (n, chunk) in entries.chunks(256).enumerate() {
        let mut bundle = Vec::new();
        for e in chunk {
            bundle.extend_from_slice(&(e.len() as u16).to_be_bytes());
            bundle.extend_from_slice(e);
        }
        put(
            &format!(
                "tile/entries/{}{}",
                index_path(n as u64),
                width_suffix(chunk.len())
            ),
            &bundle,
        );
    }
}

fn mirror(entries: &[Vec<u8>]) -> PathBuf {
    let f = fixture();
    let dir = temp_path("-tiles");
    write_tiles(
        &dir,
        f,
        entries,
        &f.checkpoint_for(entries, entries.len() as u64),
    );
    dir
}

fn run(target: &Path, state: Option<&Path>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urne-verify"));
    cmd.arg("--json");
    if let Some(s) = state {
        cmd.arg("--state").arg(s);
    }
    let out = cmd.arg(target).output().expect("run urne-verify");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

fn failure_codes(report: &Value) -> Vec<(String, String)> {
    report["failures"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["check"].as_str().unwrap_or_default().to_string(),
                        f["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The path of the first file below `dir/sub`.
fn first_file(dir: &Path) -> PathBuf {
    let mut p = dir.to_path_buf();
    while p.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        p = names.remove(0);
    }
    p
}

#[test]
fn a_tile_mirror_verifies_like_the_export() {
    let f = fixture();
    let entries = f.entry_bytes();
    let dir = mirror(&entries);
    let (code, tiles) = run(&dir, None);
    let export = temp_path(".export");
    std::fs::write(&export, f.export()).unwrap();
    let (export_code, from_export) = run(&export, None);
    assert_eq!(export_code, 0, "{from_export}");
    assert_eq!(code, 0, "{tiles}");
    for field in [
        "status",
        "valid",
        "entries",
        "ballot_entries",
        "election",
        "seats",
    ] {
        assert_eq!(tiles[field], from_export[field], "{field}");
    }
    assert_eq!(tiles["entries"], entries.len() as u64);
}

#[test]
fn a_tampered_hash_tile_fails_merkle_root() {
    let dir = mirror(&fixture().entry_bytes());
    let tile = first_file(&dir.join("tile/0"));
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let (code, report) = run(&dir, None);
    assert_eq!(code, 1, "{report}");
    assert!(
        failure_codes(&report).contains(&("merkle-root".into(), "tile_mismatch".into())),
        "{report}"
    );
}

#[test]
fn a_tampered_entry_in_a_bundle_is_caught() {
    let dir = mirror(&fixture().entry_bytes());
    let bundle = first_file(&dir.join("tile/entries"));
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.len() - 3;
    bytes[at] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let (code, report) = run(&dir, None);
    assert_eq!(code, 1, "{report}");
    assert!(
        failure_codes(&report).contains(&("merkle-root".into(), "tile_mismatch".into())),
        "{report}"
    );
    // The same entry tampered in a mirror whose hash tiles were recomputed
    // over it: the tiles agree, the signed root does not.
    let f = fixture();
    let mut entries = f.entry_bytes();
    let honest = f.checkpoint_for(&entries, entries.len() as u64);
    let last = entries.len() - 1;
    let n = entries[last].len() - 3;
    entries[last][n] ^= 1;
    let dir = temp_path("-tiles");
    write_tiles(&dir, f, &entries, &honest);
    let (code, report) = run(&dir, None);
    assert_eq!(code, 1, "{report}");
    let codes = failure_codes(&report);
    assert!(
        codes.iter().any(|(check, _)| check == "merkle-root"),
        "{report}"
    );
}

#[test]
fn a_truncated_bundle_and_a_missing_tile_fail_with_named_codes() {
    let dir = mirror(&fixture().entry_bytes());
    let bundle = first_file(&dir.join("tile/entries"));
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, &bytes[..bytes.len() - 1]).unwrap();
    let (code, report) = run(&dir, None);
    assert_eq!(code, 1, "{report}");
    assert!(
        failure_codes(&report).contains(&("merkle-root".into(), "tile_malformed".into())),
        "{report}"
    );
    std::fs::remove_file(&bundle).unwrap();
    let (code, report) = run(&dir, None);
    assert_eq!(code, 1, "{report}");
    assert!(
        failure_codes(&report).contains(&("merkle-root".into(), "tile_missing".into())),
        "{report}"
    );
}

#[test]
fn a_checkpoint_of_another_size_fails() {
    let f = fixture();
    let entries = f.entry_bytes();
    let dir = mirror(&entries);
    // A genuine board signature, but over a shorter tree: the tiles of the
    // full tree do not fit it.
    let short = f.checkpoint_for(&entries, entries.len() as u64 - 1);
    std::fs::write(dir.join("checkpoint"), short).unwrap();
    let (code, report) = run(&dir, None);
    assert_eq!(code, 1, "{report}");
    assert!(
        failure_codes(&report)
            .iter()
            .any(|(check, _)| check == "merkle-root"),
        "{report}"
    );
}

#[test]
fn state_follows_a_growing_mirror_and_catches_a_rewritten_history() {
    let f = fixture();
    let entries = f.entry_bytes();
    let cut = entries.len() / 2;
    let state = temp_path(".state");
    let (code, first) = run(&mirror(&entries[..cut]), Some(&state));
    assert!(code == 0, "{first}");
    assert_eq!(first["entries"], cut as u64);
    let grown = mirror(&entries);
    let (code, second) = run(&grown, Some(&state));
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["entries"], entries.len() as u64);
    let (_, full) = run(&grown, None);
    for field in ["status", "valid", "entries", "ballot_entries", "seats"] {
        assert_eq!(second[field], full[field], "{field}");
    }

    // A mirror whose history before the stored size was rewritten (and
    // re-signed by the board: a fork) is refused against the stored state.
    let state = temp_path(".state");
    let (code, _) = run(&mirror(&entries[..cut]), Some(&state));
    assert_eq!(code, 0);
    let mut forked = entries.clone();
    forked.swap(cut - 2, cut - 1);
    let (code, report) = run(&mirror(&forked), Some(&state));
    assert_eq!(code, 1, "{report}");
    assert!(
        failure_codes(&report)
            .iter()
            .any(|(check, _)| check == "merkle-root"),
        "{report}"
    );
}

/// The files `tile_files` names, read from `dir` (those it lacks left out).
fn files_named(dir: &Path, size: u64) -> std::collections::HashMap<String, Vec<u8>> {
    urne_verify::tile_files(size)
        .into_iter()
        .filter_map(|p| std::fs::read(dir.join(&p)).ok().map(|b| (p, b)))
        .collect()
}

/// A browser fetches the files `tile_files` names and verifies them in
/// memory: the same verdict as the export; a file it lacks or a tampered
/// hash tile fails `merkle-root` with the codes of a directory's reading.
#[test]
fn tile_files_fetched_beforehand_verify_like_the_mirror() {
    let f = fixture();
    let entries = f.entry_bytes();
    let size = entries.len() as u64;
    let dir = mirror(&entries);
    let files = files_named(&dir, size);
    let on_disk = walk(&dir);
    assert_eq!(
        files.len(),
        on_disk,
        "tile_files names every file of the mirror"
    );
    let options = urne_verify::Options::default();
    let report = urne_verify::verify_tile_files(files.clone(), &options);
    let export = urne_verify::verify_export(std::io::Cursor::new(f.export()), &options);
    assert!(report.valid, "{:#?}", report.failures);
    assert_eq!(report.status, export.status);
    assert_eq!(report.entries, size);
    assert_eq!(report.constituencies, export.constituencies);

    let hash_tile = urne_verify::tile_files(size)
        .into_iter()
        .find(|p| p.starts_with("tile/0/"))
        .unwrap();
    let mut lacking = files.clone();
    lacking.remove(&hash_tile);
    let codes = |files| {
        let report = urne_verify::verify_tile_files(files, &options);
        let v = serde_json::from_str(&report.to_json()).unwrap();
        failure_codes(&v)
    };
    let found = codes(lacking);
    assert!(
        found.contains(&("merkle-root".into(), "tile_missing".into())),
        "{found:?}"
    );

    let mut tampered = files.clone();
    tampered.get_mut(&hash_tile).unwrap()[40] ^= 1;
    let found = codes(tampered);
    assert!(
        found.contains(&("merkle-root".into(), "tile_mismatch".into())),
        "{found:?}"
    );

    let mut keyless = files;
    keyless.remove("board-key");
    let report = urne_verify::verify_tile_files(keyless, &options);
    assert!(!report.valid);
    assert_eq!(
        report.failures[0].code, "tile_missing",
        "{:?}",
        report.failures
    );
}

/// How many files are below `dir`.
fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk(&p) } else { 1 })
        .sum()
}
