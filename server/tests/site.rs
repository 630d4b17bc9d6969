//! The public site end to end: `urne demo --dir` runs the small election to
//! its seats, `urne serve` reopens its board, and headless Chromium
//! (`server/web/app/test/site.mjs`, through playwright-core) reads every
//! page in English and French and at phone width, compares the results with
//! urne-verify's report of the same export, checks a receipt and a forged
//! one, verifies the election in the browser, checks a ballot check file
//! (and refuses an edited one), verifies the board from its tiles as
//! urne-verify --tiles does (and a mirror with an altered bundle), and
//! verifies a tampered
//! export, which must fail the same checks as urne-verify. Screenshots are
//! written to `target/web-screenshots/`.

use std::path::Path;
use std::process::Command;

mod spawned;

const TOKEN: &str = "site-organiser-token-0123456789abcdef";

/// The manifest of the export at `path` (its first entry).
fn manifest_of(path: &Path) -> urne_crypto::manifest::Manifest {
    use urne_crypto::encoding::Canonical;
    use urne_crypto::export::{ExportReader, Record};
    let mut reader = ExportReader::new(std::fs::File::open(path).expect("export")).expect("export");
    loop {
        match reader.next_record().expect("record") {
            Some(Record::Entry(bytes)) => {
                let entry = urne_crypto::entry::Entry::from_bytes(&bytes).expect("entry");
                return entry.body().expect("manifest");
            }
            Some(_) => continue,
            None => panic!("no entry in the export"),
        }
    }
}

/// Two ballot check files for the first constituency, as the voter page
/// writes them: one true (the first candidate approved), and one whose
/// approvals were edited afterwards, which must be refused.
fn audit_files(
    dir: &Path,
    report: &urne_verify::Report,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    use urne_client::audit::BallotAudit;
    let manifest = manifest_of(&dir.join("export"));
    let pk_hex = report.election_key.as_deref().expect("election key");
    let pk_bytes: [u8; 32] = hex::decode(pk_hex).unwrap().try_into().unwrap();
    let pk = urne_crypto::group::decode_nonidentity_point(&pk_bytes).unwrap();
    let c = &manifest.constituencies[0];
    let mut rng = urne_crypto::group::os_rng();
    let key = urne_crypto::schnorr::BallotSecretKey::generate(&mut rng).public_key();
    let mut choices = vec![false; c.candidates.len()];
    for x in choices.iter_mut().take(c.approval_min.max(1) as usize) {
        *x = true;
    }
    let audit = BallotAudit::challenge(manifest.election_id(), c, &pk, key, &choices, &mut rng)
        .expect("audit");
    let mut lying = audit.clone();
    lying.approved = vec![c.candidates[c.candidates.len() - 1].id.clone()];
    let (good, bad) = (dir.join("audit.json"), dir.join("audit-edited.json"));
    std::fs::write(&good, serde_json::to_string(&audit).unwrap()).unwrap();
    std::fs::write(&bad, serde_json::to_string(&lying).unwrap()).unwrap();
    (good, bad, audit.approved.join(","))
}

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

    let (audit, edited, approved) = audit_files(d, &report);
    // urne-verify reading the service's tiles, as the page will.
    let tile_base = format!("{url}/v1/elections/{election}");
    let (tiles, _) =
        urne_verify::verify_tiles_since(&tile_base, None, &urne_verify::Options::default())
            .expect("tiles readable");
    std::fs::write(d.join("tiles-report.json"), tiles.to_json()).unwrap();

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
            ("URNE_SITE_AUDIT", audit.as_os_str()),
            (
                "URNE_SITE_TILES_REPORT",
                d.join("tiles-report.json").as_os_str(),
            ),
            ("URNE_SITE_AUDIT_EDITED", edited.as_os_str()),
            ("URNE_SITE_AUDIT_APPROVED", approved.as_ref()),
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
