//! `urne-verify` reading a board from tiles (§6.10): the tiles `urne serve`
//! serves and the static directory `urne export --tiles` writes, long
//! entries (not in bundles) included, both check against the signed
//! checkpoint; a tampered static bundle is caught.

mod common;

use common::{election, start, unlimited, Client};
use serde_json::Value;

/// The library's report of the tile base `target`, as JSON.
async fn verify_tiles(target: String) -> Value {
    tokio::task::spawn_blocking(move || {
        let (report, _) =
            urne_verify::verify_tiles_since(&target, None, &urne_verify::Options::default())
                .expect("the tile base is readable");
        serde_json::from_str(&report.to_json()).expect("JSON report")
    })
    .await
    .expect("verification thread")
}

fn status(report: &Value, check: &str) -> String {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == check))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("absent")
        .to_string()
}

fn codes(report: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["code"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_and_static_tiles_are_read_and_checked_against_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let id = election(9);
    // 300 entries span two level-0 tiles; entry 1 is too long for a bundle.
    client.append(&id, b"first").await;
    client.append(&id, &vec![7u8; 65_536]).await;
    for i in 2..300u32 {
        client.append(&id, format!("entry {i}").as_bytes()).await;
    }
    let base = client.url(&format!("/v1/elections/{id}/"));
    let served = verify_tiles(base).await;
    // These entries are no election (the manifest check fails), but every
    // tile and the long entry were read and match the signed checkpoint.
    assert_eq!(served["entries"], 300, "{served}");
    assert_eq!(status(&served, "final-checkpoint"), "pass", "{served}");
    assert_eq!(status(&served, "merkle-root"), "pass", "{served}");
    assert!(
        !codes(&served).iter().any(|c| c.starts_with("tile_")),
        "{served}"
    );
    server.shutdown().await.unwrap();

    let out = dir.path().join("mirror");
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
        std::fs::read(out.join("entries/1")).unwrap(),
        vec![7u8; 65_536]
    );
    assert!(!out.join("tile/entries/000").exists());
    let mirrored = verify_tiles(out.display().to_string()).await;
    assert_eq!(mirrored["entries"], 300, "{mirrored}");
    assert_eq!(status(&mirrored, "merkle-root"), "pass", "{mirrored}");
    assert_eq!(mirrored["checks"], served["checks"]);

    // One byte of the second bundle changed: its hash tile disagrees.
    let bundle = out.join("tile/entries/001.p/44");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let tampered = verify_tiles(out.display().to_string()).await;
    assert_eq!(status(&tampered, "merkle-root"), "fail", "{tampered}");
    assert!(
        codes(&tampered).contains(&"tile_mismatch".to_string()),
        "{tampered}"
    );
    // The long entry replaced by another: its leaf disagrees with tile 0.
    let mut bytes = std::fs::read(out.join("entries/1")).unwrap();
    bytes[0] ^= 1;
    std::fs::write(out.join("entries/1"), bytes).unwrap();
    let tampered = verify_tiles(out.display().to_string()).await;
    assert!(
        codes(&tampered).contains(&"tile_mismatch".to_string()),
        "{tampered}"
    );
}
