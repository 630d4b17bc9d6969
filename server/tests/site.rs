//! The public site end to end: `urne demo --dir` runs the small election to
//! its seats, `urne serve` reopens its board, and headless Chromium
//! (`server/web/app/test/site.mjs`, through playwright-core) reads every
//! page in English and French and at phone width, compares the results with
//! urne-verify's report of the same export, checks a receipt and a forged
//! one, verifies the election in the browser, and verifies a tampered
//! export, which must fail the same checks as urne-verify. Screenshots are
//! written to `target/web-screenshots/`.

use std::path::Path;
use std::process::Command;

mod spawned;

const TOKEN: &str = "site-organiser-token-0123456789abcdef";

/// urne-verify's report of the export at `path`, as `urne-verify --json` prints it.
fn verify(path: &Path) -> urne_verify::Report {
    let file = std::fs::File::open(path).expect("export");
    urne_verify::verify_export(file, &urne_verify::Options::default())
}

#[test]
fn the_public_site_shows_the_verified_results_in_both_languages() {
    spawned::require_browser_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["demo", "--preset", "small", "--seed", "3", "--dir"])
        .arg(d)
        .env("URNE_LOG", "warn")
        .output()
        .expect("run urne demo");
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let mut serve = spawned::serve_command(d, TOKEN);
    serve.arg("--secrets-key").arg(d.join("keys/secrets.key"));
    let server = spawned::announcing(serve);
    let url = &server.url;

    let report = verify(&d.join("export"));
    assert!(report.valid && report.complete, "{:?}", report.failures);
    let election = report.election.clone().expect("election id");
    std::fs::write(d.join("report.json"), report.to_json()).unwrap();

    // One flipped bit in the middle of the export.
    let mut bytes = std::fs::read(d.join("export")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(d.join("tampered"), &bytes).unwrap();
    let tampered = verify(&d.join("tampered"));
    assert!(!tampered.valid);
    let fails = tampered.failed_checks().join(",");

    // The page the demo names is the site's.
    let (page, csp) = spawned::get(&format!("{url}/elections/{election}"));
    assert!(page.contains("/assets/"), "{page}");
    assert!(csp.contains("worker-src 'self'"), "{csp}");

    spawned::browser_test(
        "site.mjs",
        &[
            ("URNE_WEB_SERVER", url.as_ref()),
            ("URNE_WEB_OUT", d.as_os_str()),
            ("URNE_WEB_ELECTION", election.as_ref()),
            ("URNE_SITE_REPORT", d.join("report.json").as_os_str()),
            ("URNE_SITE_TAMPERED", d.join("tampered").as_os_str()),
            ("URNE_SITE_TAMPERED_FAILS", fails.as_ref()),
        ],
    );
    let results = std::fs::read_to_string(d.join("site-results.json")).unwrap();
    println!("{results}");
    let results: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert!(
        results["violations"]
            .as_array()
            .is_some_and(|v| v.is_empty()),
        "{results}"
    );
    assert!(
        results["steps"]
            .as_array()
            .is_some_and(|s| s.len() > 40 && s.iter().all(|x| x["ok"] == true)),
        "{results}"
    );
}
