//! The board as C2SP tlog-tiles, over real HTTP, cross-checked against an
//! independent implementation (`tlog_tiles`, a port of Go's `tlog`).

mod common;

use std::collections::HashMap;

use common::{election, start, unlimited, Client};
use reqwest::StatusCode;
use urne_crypto::checkpoint::Checkpoint;
use urne_crypto::merkle;
use urne_server::api::board::Receipt;
use urne_server::board::tiles::{tiles_of, StaticTiles, TileId, TileKind};
use urne_server::election::ElectionId;

/// Hash tiles of height 8 as `tlog_tiles` computes them from the entries
/// alone, by their C2SP path.
fn reference_hash_tiles(entries: &[Vec<u8>]) -> HashMap<String, Vec<u8>> {
    struct Stored(Vec<tlog_tiles::Hash>);
    impl tlog_tiles::HashReader for Stored {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
            indexes
                .iter()
                .map(|&i| {
                    self.0
                        .get(i as usize)
                        .copied()
                        .ok_or(tlog_tiles::Error::IndexesNotInTree)
                })
                .collect()
        }
    }
    let mut stored = Stored(Vec::new());
    for (n, e) in entries.iter().enumerate() {
        let new = tlog_tiles::stored_hashes(n as u64, e, &stored).unwrap();
        stored.0.extend(new);
    }
    tlog_tiles::Tile::new_tiles(8, 0, entries.len() as u64)
        .into_iter()
        .map(|t| {
            // Go's paths carry the height (`tile/8/…`); C2SP's do not.
            let path = t.path().replacen("tile/8/", "tile/", 1);
            (path, t.read_data(&stored).unwrap())
        })
        .collect()
}

/// Entry bundles computed independently: each entry as a big-endian u16
/// length and its bytes, 256 entries to a bundle.
fn reference_bundles(entries: &[Vec<u8>]) -> Vec<Vec<u8>> {
    entries
        .chunks(256)
        .map(|chunk| {
            let mut out = Vec::new();
            for e in chunk {
                out.extend_from_slice(&(e.len() as u16).to_be_bytes());
                out.extend_from_slice(e);
            }
            out
        })
        .collect()
}

/// The tiles served for an election, fetched once, as a `tlog_tiles` reader.
struct ServedTiles(HashMap<String, Vec<u8>>);

impl tlog_tiles::TileReader for ServedTiles {
    fn height(&self) -> u8 {
        8
    }
    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let path = t.path().replacen("tile/8/", "tile/", 1);
                self.0
                    .get(&path)
                    .cloned()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
    fn save_tiles(&self, _: &[tlog_tiles::Tile], _: &[Vec<u8>]) {}
}

async fn get(client: &Client, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::get(client.url(path)).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    common::assert_json_unless_ok(status, &headers);
    (status, headers, r.bytes().await.unwrap().to_vec())
}

async fn fill(client: &Client, id: ElectionId, n: usize) -> Vec<Receipt> {
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for i in (t..n).step_by(8) {
                    out.push(
                        client
                            .append(&id, format!("entry {i} of {id}").as_bytes())
                            .await,
                    );
                }
                out
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.extend(t.await.unwrap());
    }
    receipts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_tiles_equal_the_independent_ones_and_prove_inclusion_and_consistency() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let mut mirrored = Vec::new();
    for (k, n) in [1usize, 255, 256, 257, 1000].into_iter().enumerate() {
        let id = election(10 + k as u8);
        let receipts = fill(&client, id, n).await;
        let verifier = client.verifier(&id).await;
        let (note, head) = client.checkpoint(&id, &verifier).await;
        assert_eq!(head.size, n as u64);
        let entries = client.all_entries(&id).await;
        let prefix = format!("/v1/elections/{id}/");

        // The tiles checkpoint is the board's signed checkpoint, not cached.
        let (status, headers, body) = get(&client, &format!("{prefix}checkpoint")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, note.as_bytes());
        assert_eq!(headers["cache-control"], "no-cache");

        // Every hash tile equals tlog_tiles' and urne's own list of tiles is the same.
        let reference = reference_hash_tiles(&entries);
        let ours: Vec<_> = tiles_of(n as u64)
            .into_iter()
            .filter(|t| matches!(t.kind, TileKind::Hashes(_)))
            .map(|t| t.path())
            .collect();
        let mut theirs: Vec<_> = reference.keys().cloned().collect();
        theirs.sort();
        let mut ours_sorted = ours.clone();
        ours_sorted.sort();
        assert_eq!(ours_sorted, theirs, "size {n}");
        let mut served = HashMap::new();
        for (path, expected) in &reference {
            let (status, headers, body) = get(&client, &format!("{prefix}{path}")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(&body, expected, "size {n}, {path}");
            assert_eq!(headers["content-type"], "application/octet-stream");
            let cache = if path.contains(".p/") {
                "no-cache"
            } else {
                "public, max-age=31536000, immutable"
            };
            assert_eq!(headers["cache-control"], cache, "{path}");
            served.insert(path.clone(), body);
        }

        // Every entry bundle.
        for (i, expected) in reference_bundles(&entries).iter().enumerate() {
            let width = (n - i * 256).min(256) as u16;
            let path = TileId::entries(i as u64, width).path();
            let (status, _, body) = get(&client, &format!("{prefix}{path}")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(&body, expected, "size {n}, {path}");
            served.insert(path, body);
        }

        // The static tiles built from the entries alone are the served ones.
        let mut built = StaticTiles::new();
        for e in &entries {
            built.push(e).unwrap();
        }
        assert_eq!(built.root(), head.root);
        let built = built.finish();
        assert_eq!(built.len(), served.len());
        for (tile, bytes) in built {
            assert_eq!(served.get(&tile.path()), Some(&bytes), "{}", tile.path());
        }

        // Proofs computed from the served tiles only, the tiles authenticated
        // against the checkpoint's root, verify with urne's verifiers.
        mirrored.push((id, note.clone(), served.clone()));
        let tiles = ServedTiles(served);
        let reader =
            tlog_tiles::TileHashReader::new(head.size, tlog_tiles::Hash(head.root), &tiles);
        let digests = |p: Vec<tlog_tiles::Hash>| p.into_iter().map(|h| h.0).collect::<Vec<_>>();
        for receipt in receipts.iter().step_by(37) {
            let i = receipt.index;
            let proof = digests(tlog_tiles::prove_record(head.size, i, &reader).unwrap());
            let leaf = merkle::leaf_hash(&entries[i as usize]);
            merkle::verify_inclusion(i, head.size, &leaf, &proof, &head.root).unwrap();
            // The receipt's (earlier) checkpoint is a prefix of the head.
            let old: Checkpoint = urne_crypto::checkpoint::open_signed_checkpoint(
                receipt.checkpoint.as_bytes(),
                &verifier,
            )
            .unwrap();
            let proof = digests(tlog_tiles::prove_tree(head.size, old.size, &reader).unwrap());
            merkle::verify_consistency(old.size, head.size, &old.root, &head.root, &proof).unwrap();
            // A proof against a tampered root does not verify.
            let mut forged = head.root;
            forged[0] ^= 1;
            assert!(
                merkle::verify_consistency(old.size, head.size, &old.root, &forged, &proof)
                    .is_err()
            );
        }
    }
    // `urne export --server URL --tiles` mirrors a running server.
    let (id, note, served) = mirrored.last().unwrap();
    let out = dir.path().join("mirror-over-http");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_urne"))
        .arg("--server")
        .arg(format!("http://{}", server.local_addr()))
        .args(["export", "--election", &id.to_string(), "--tiles"])
        .arg(&out)
        .current_dir(dir.path())
        .env_remove("URNE_CONFIG")
        .env("URNE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read(out.join("checkpoint")).unwrap(),
        note.as_bytes()
    );
    for (path, bytes) in served {
        assert_eq!(&std::fs::read(out.join(path)).unwrap(), bytes, "{path}");
    }
    assert_eq!(walk(&out.join("tile")), served.len());
    server.shutdown().await.unwrap();

    // `urne export --tiles` of the stopped server writes exactly the served
    // tiles and checkpoint as files, and nothing else.
    for (id, note, served) in mirrored.iter().skip(3) {
        let out = dir.path().join(format!("mirror-{id}"));
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_urne"))
            .args(["export", "--election", &id.to_string(), "--tiles"])
            .arg(&out)
            .arg("--data")
            .arg(dir.path())
            .env("URNE_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(
            std::fs::read(out.join("checkpoint")).unwrap(),
            note.as_bytes()
        );
        let mut files = 0;
        for (path, bytes) in served {
            assert_eq!(&std::fs::read(out.join(path)).unwrap(), bytes, "{path}");
            files += 1;
        }
        let on_disk = walk(&out.join("tile"));
        assert_eq!(on_disk, files);
        // A second export into the same, now non-empty, directory is refused.
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_urne"))
            .args(["export", "--election", &id.to_string(), "--tiles"])
            .arg(&out)
            .arg("--data")
            .arg(dir.path())
            .env("URNE_LOG", "warn")
            .output()
            .unwrap();
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    }
}

/// Number of files below `dir`.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[tokio::test]
async fn bad_tile_paths_are_refused_with_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let id = election(3);
    fill(&client, id, 300).await;
    let prefix = format!("/v1/elections/{id}/tile/");
    for (path, status, code) in [
        // Non-canonical N, W and L.
        ("0/1", 400, "malformed_tile_path"),
        ("0/0001", 400, "malformed_tile_path"),
        ("0/x000/001", 400, "malformed_tile_path"),
        ("0/001/000", 400, "malformed_tile_path"),
        ("00/000", 400, "malformed_tile_path"),
        ("0/001.p/0", 400, "malformed_tile_path"),
        ("0/001.p/256", 400, "malformed_tile_path"),
        ("0/001.p/044", 400, "malformed_tile_path"),
        ("entries/001.p/0", 400, "malformed_tile_path"),
        // Level above any tree.
        ("8/000", 400, "malformed_tile_path"),
        ("63/000", 400, "malformed_tile_path"),
        ("data/000", 400, "malformed_tile_path"),
        // Beyond this tree of 300 leaves.
        ("0/001", 404, "beyond_head"),
        ("0/001.p/45", 404, "beyond_head"),
        ("0/002.p/1", 404, "beyond_head"),
        ("1/000", 404, "beyond_head"),
        ("1/000.p/2", 404, "beyond_head"),
        ("2/000.p/1", 404, "beyond_head"),
        ("entries/001", 404, "beyond_head"),
        ("entries/001.p/45", 404, "beyond_head"),
    ] {
        let (got, body) = client.get_json(&format!("{prefix}{path}")).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}");
    }
    // The tiles within the tree are served, partial ones of any width up to the edge.
    for path in [
        "0/000",
        "0/001.p/44",
        "0/001.p/1",
        "1/000.p/1",
        "entries/001.p/44",
    ] {
        let (status, _, _) = get(&client, &format!("{prefix}{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (status, body) = client
        .get_json(&format!("/v1/elections/{}/tile/0/000", election(99)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_election");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bundle_with_an_entry_too_long_for_its_u16_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let id = election(4);
    client.append(&id, b"short").await;
    client.append(&id, &vec![7u8; 65_536]).await;
    client.append(&id, &vec![8u8; 65_535]).await;
    let prefix = format!("/v1/elections/{id}/tile/");
    let (status, body) = client.get_json(&format!("{prefix}entries/000.p/2")).await;
    assert_eq!(status.as_u16(), 422);
    assert_eq!(body["error"], "entry_too_large");
    // The bundle before the long entry and the hash tiles are served.
    let (status, _, bundle) = get(&client, &format!("{prefix}entries/000.p/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle, b"\x00\x05short");
    let (status, _, tile) = get(&client, &format!("{prefix}0/000.p/3")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tile.len(), 96);
    let mut built = StaticTiles::new();
    for e in [b"short".to_vec(), vec![7u8; 65_536], vec![8u8; 65_535]] {
        built.push(&e).unwrap();
    }
    assert_eq!(built.oversized(), &[1]);
    let built = built.finish();
    assert!(built.iter().all(|(t, _)| t.kind != TileKind::Entries));
    assert_eq!(built[0].1, tile);
    server.shutdown().await.unwrap();
}
