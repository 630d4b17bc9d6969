//! The voter web app end to end: a real `urne serve` with an election set
//! up by the `urne` command line (with one `urne witness serve` cosigning
//! its checkpoints), two voters in headless Chromium
//! (`server/web/app/test/journey.mjs`, through playwright-core), then
//! `urne voter audit` on the ballot a voter checked in the page, and
//! urne-verify on the export. Screenshots are written to
//! `target/web-screenshots/`. Chromium and the app's npm packages are
//! required: the README's test command installs them; without them this
//! test fails with a message saying so.

use std::path::Path;
use std::process::{Command, Output};

mod spawned;

const TOKEN: &str = "web-organiser-token-0123456789abcdef";
const SECRETS_KEY_HEX: &str = "6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e";

use spawned::Spawned as Server;

fn start_server(dir: &Path) -> Server {
    spawned::server(dir, TOKEN, SECRETS_KEY_HEX)
}

fn urne(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urne"))
        .arg("--server")
        .arg(url)
        .args(args)
        .current_dir(dir)
        .env("URNE_ORGANISER_TOKEN", TOKEN)
        .env_remove("URNE_CONFIG")
        .env_remove("URNE_WALLET")
        .output()
        .expect("run urne")
}

fn ok(dir: &Path, url: &str, args: &[&str]) -> String {
    let out = urne(dir, url, args);
    assert!(
        out.status.success(),
        "urne {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// The journey's constituency: four candidates, one or two approvals.
const NORTH: &str = r#"[[constituencies]]
id = "north"
name = "North"
approval_min = 1
approval_max = 2
candidates = [{ id = "ana", category = "f" }, { id = "bo", category = "m" }, { id = "cy", category = "f" }, { id = "di", category = "m" }]
rules = { seats = 2, lottery_seats = 0 }
"#;

/// Sets up an election whose key is published (not yet open) with the
/// given constituencies (TOML) and roster (CSV body): returns its id.
fn election(dir: &Path, url: &str, constituencies: &str, roster: &str) -> String {
    let trustees: Vec<String> = (0..3)
        .map(|i| {
            ok(
                dir,
                url,
                &[
                    "trustee",
                    "keygen",
                    "--out",
                    &format!("t{i}.json"),
                    "--name",
                    &format!("t{i}"),
                ],
            )
        })
        .collect();
    let mut m = String::from(
        r#"title = "Web journey"
threshold = 2
voting_opens = "2020-01-01T00:00:00Z"
voting_closes = "2030-01-01T00:00:00Z"

"#,
    );
    m.push_str(constituencies);
    m.push('\n');
    for (i, t) in trustees.iter().enumerate() {
        m.push_str(&format!(
            "[[trustees]]\nname = \"t{i}\"\nsigning_key = \"{}\"\nencryption_key = \"{}\"\n\n",
            field(t, "signing_key = "),
            field(t, "encryption_key = ")
        ));
    }
    m.push_str(
        "[lottery]\nreveal_deadline = \"2030-01-02T00:00:00Z\"\nbeacon = { network = \"quicknet\" }\n",
    );
    std::fs::write(dir.join("manifest.toml"), m).unwrap();
    let created = ok(
        dir,
        url,
        &["admin", "election", "create", "--manifest", "manifest.toml"],
    );
    let election = field(&created, "election ").to_string();
    std::fs::write(
        dir.join("roster.csv"),
        format!("pseudonym,constituency,pool,category\n{roster}"),
    )
    .unwrap();
    ok(
        dir,
        url,
        &[
            "admin",
            "roster",
            "import",
            "roster.csv",
            "--tokens-out",
            "tokens.csv",
            "--election",
            &election,
        ],
    );
    for _round in 0..2 {
        for i in 0..3 {
            ok(
                dir,
                url,
                &[
                    "trustee",
                    "dkg",
                    "--key",
                    &format!("t{i}.json"),
                    "--election",
                    &election,
                ],
            );
        }
    }
    ok(
        dir,
        url,
        &["admin", "election-key", "--election", &election],
    );
    election
}

#[test]
fn two_voters_vote_from_the_browser_and_the_board_verifies() {
    spawned::require_browser_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = start_server(d);
    let url = server.url.clone();

    // The service serves the page with its policy and digest.
    let page = spawned::get(&format!("{url}/"));
    assert!(page.0.contains("<script type=\"module\""), "{}", page.0);
    assert!(page.1.contains("default-src 'none'"), "{}", page.1);

    // One witness, which must cosign the checkpoint a receipt re-check uses.
    let vkey = ok(
        d,
        &url,
        &[
            "witness",
            "keygen",
            "--name",
            "w1.web/witness",
            "--key",
            "w1.key",
        ],
    );
    let board: serde_json::Value =
        serde_json::from_str(&spawned::get(&format!("{url}/v1/board-key")).0).unwrap();
    let witness = spawned::witness(
        d,
        "w1",
        board["public_key"].as_str().unwrap(),
        "127.0.0.1:0",
    );
    let manifest = format!(
        "{NORTH}\n[[witnesses]]\nvkey = \"{}\"\nurl = \"{}\"\n",
        vkey.trim(),
        witness.url
    );
    let election = election(d, &url, &manifest, "alice,north,yes,f\nbob,north,yes,m\n");
    let tokens = std::fs::read_to_string(d.join("tokens.csv")).unwrap();
    let link = |who: &str| {
        let inv = tokens
            .lines()
            .find(|l| l.starts_with(&format!("{who},")))
            .and_then(|l| l.rsplit(',').next())
            .unwrap()
            .to_string();
        format!("{url}/#join={inv}")
    };
    let (alice, bob) = (link("alice"), link("bob"));
    spawned::browser_test(
        "journey.mjs",
        &[
            ("URNE_WEB_SERVER", url.as_ref()),
            ("URNE_WEB_OUT", d.as_os_str()),
            ("URNE_WEB_LINK_ALICE", alice.as_ref()),
            ("URNE_WEB_LINK_BOB", bob.as_ref()),
            ("URNE_WEB_ELECTION", election.as_ref()),
            ("URNE_BIN", env!("CARGO_BIN_EXE_urne").as_ref()),
            ("URNE_ORGANISER_TOKEN", TOKEN.as_ref()),
        ],
    );
    let results = std::fs::read_to_string(d.join("results.json")).unwrap();
    println!("{results}");

    // The ballot alice checked in the page encrypts exactly what it showed.
    let audited = ok(
        d,
        &url,
        &[
            "voter",
            "audit",
            &d.join("alice-ballot-check.json").to_string_lossy(),
        ],
    );
    assert!(audited.contains("ana, bo"), "{audited}");
    // The same file with another choice claimed is refused.
    let text = std::fs::read_to_string(d.join("alice-ballot-check.json")).unwrap();
    let forged = text.replace("\"bo\"\n  ]", "\"cy\"\n  ]");
    assert_ne!(forged, text);
    std::fs::write(d.join("forged.json"), forged).unwrap();
    let refused = urne(d, &url, &["voter", "audit", "forged.json"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not encrypt"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // The board, with both ballots and the revote, verifies.
    let export = d.join("election.export");
    ok(
        d,
        &url,
        &[
            "export",
            "--election",
            &election,
            "--out",
            &export.to_string_lossy(),
        ],
    );
    let report = urne_verify::verify_export(
        std::fs::File::open(&export).unwrap(),
        &urne_verify::Options::default(),
    );
    assert!(report.failed_checks().is_empty(), "{}", report.to_text());
    // Alice's three ballots (the first, her revote, the one from the device
    // she restored) share one ballot key: two voters, four ballot entries.
    assert_eq!(
        (report.ballots_counted, report.ballot_entries),
        (2, 4),
        "{}",
        report.to_text()
    );

    // Verified from the service itself, the client it serves is the one
    // the manifest names.
    let live = urne_verify::verify_target(
        &format!("{url}/v1/elections/{election}"),
        None,
        &urne_verify::Options::default(),
    )
    .unwrap();
    assert!(live.failed_checks().is_empty(), "{}", live.to_text());
    assert_eq!(
        live.check("web-client").map(|c| c.status),
        Some(urne_verify::CheckStatus::Pass),
        "{}",
        live.to_text()
    );
    assert_eq!(
        live.client_digest,
        Some(hex::encode(urne_server::api::web::client_digest()))
    );
}

/// Timings in Chromium at 16, 66 and 210 candidates (BENCHMARKS.md): run
/// with `cargo test -p urne-server --test web -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: prints a table"]
fn web_benchmarks() {
    spawned::require_browser_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = start_server(d);
    let url = server.url.clone();
    let sizes = [(16usize, 3u32), (66, 5), (210, 10)];
    let mut constituencies = String::new();
    let mut roster = String::new();
    for (n, k) in sizes {
        let candidates: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "{{ id = \"c{n}x{i}\", category = \"{}\" }}",
                    ["f", "m"][i % 2]
                )
            })
            .collect();
        constituencies.push_str(&format!(
            "[[constituencies]]\nid = \"c{n}\"\nname = \"C{n}\"\napproval_min = {k}\n\
             approval_max = {k}\ncandidates = [{}]\nrules = {{ seats = 1, lottery_seats = 0 }}\n\n",
            candidates.join(", ")
        ));
        roster.push_str(&format!("v{n},c{n},yes,f\n"));
    }
    let election = election(d, &url, &constituencies, &roster);
    let tokens = std::fs::read_to_string(d.join("tokens.csv")).unwrap();
    let voters: Vec<serde_json::Value> = sizes
        .iter()
        .map(|(n, k)| {
            let inv = tokens
                .lines()
                .find(|l| l.starts_with(&format!("v{n},")))
                .and_then(|l| l.rsplit(',').next())
                .unwrap();
            serde_json::json!({"link": format!("{url}/#join={inv}"), "candidates": n, "min": k})
        })
        .collect();
    let status = Command::new("node")
        .arg(spawned::app_dir().join("test/bench.mjs"))
        .current_dir(spawned::app_dir())
        .env("URNE_WEB_SERVER", &url)
        .env("URNE_WEB_ELECTION", &election)
        .env("URNE_BENCH_VOTERS", serde_json::to_string(&voters).unwrap())
        .env("URNE_BIN", env!("CARGO_BIN_EXE_urne"))
        .env("URNE_ORGANISER_TOKEN", TOKEN)
        .status()
        .expect("node");
    assert!(status.success());
}
