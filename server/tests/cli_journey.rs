//! One voter's journey through the `urne` binary, as subprocesses against a
//! server the test starts: organiser setup, trustees' key generation, then
//! enrol, credential, vote, receipt check, revote; and bad input that must
//! fail with one clear line and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod spawned;

const TOKEN: &str = "journey-organiser-token-0123456789";

use spawned::Spawned as Server;

const SECRETS_KEY_HEX: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

fn serve_command(dir: &Path) -> Command {
    spawned::serve_command(dir, TOKEN)
}

fn start_server(dir: &Path) -> Server {
    spawned::server(dir, TOKEN, SECRETS_KEY_HEX)
}

/// A fresh folder, `urne serve` on it, and the command line pointed at it
/// (dropped in that order's reverse: the server stops before the folder goes).
fn journey() -> (tempfile::TempDir, Server, Urne) {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path());
    let urne = Urne {
        dir: dir.path().to_path_buf(),
        url: server.url.clone(),
    };
    (dir, server, urne)
}

struct Urne {
    dir: PathBuf,
    url: String,
}

impl Urne {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_urne"))
            .arg("--server")
            .arg(&self.url)
            .args(args)
            .current_dir(&self.dir)
            .env("URNE_ORGANISER_TOKEN", TOKEN)
            .env_remove("URNE_CONFIG")
            .env_remove("URNE_WALLET")
            .output()
            .expect("run urne")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "urne {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs a command that must fail: non-zero exit, one error line plus a hint, no panic.
    fn fails(&self, args: &[&str], expect: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "urne {args:?} should fail");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            (1..=2).contains(&lines.len())
                && lines[0].starts_with("urne: error: ")
                && lines[0].contains(expect),
            "urne {args:?}: expected one error line about {expect:?}, got:\n{stderr}"
        );
        if lines.len() == 2 {
            assert!(lines[1].starts_with("hint: "), "{stderr}");
        }
    }
}

fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

fn manifest(trustees: &[String]) -> String {
    let mut m = String::from(
        r#"title = "Journey"
threshold = 2
voting_opens = "2020-01-01T00:00:00Z"
voting_closes = "2030-01-01T00:00:00Z"

[[constituencies]]
id = "north"
name = "North"
approval_min = 1
approval_max = 2
candidates = [{ id = "ana", category = "f" }, { id = "bo", category = "m" }, { id = "cy", category = "f" }, { id = "di", category = "m" }]
rules = { seats = 2, lottery_seats = 0 }

"#,
    );
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
    m
}

#[test]
fn missing_wallet_and_malformed_invitation_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let urne = Urne {
        dir: dir.path().to_path_buf(),
        url: "http://127.0.0.1:9".into(),
    };
    urne.fails(
        &["voter", "--wallet", "nope.json", "credential"],
        "does not exist",
    );
    urne.fails(
        &["voter", "--wallet", "nope.json", "vote", "--approve", "ana"],
        "does not exist",
    );
    urne.fails(
        &[
            "voter", "enroll", "--token", "urne1:zz", "--wallet", "w.json",
        ],
        "invitation",
    );
    urne.fails(
        &["voter", "enroll", "--token", "bare", "--wallet", "w.json"],
        "needs --pseudonym",
    );
    assert!(!dir.path().join("w.json").exists());
}

#[test]
fn one_voter_journey() {
    let (dir, _server, urne) = journey();

    // Organiser and trustees set up the election.
    let trustees: Vec<String> = (0..3)
        .map(|i| {
            urne.ok(&[
                "trustee",
                "keygen",
                "--out",
                &format!("t{i}.json"),
                "--name",
                &format!("t{i}"),
            ])
        })
        .collect();
    std::fs::write(dir.path().join("manifest.toml"), manifest(&trustees)).unwrap();
    let created = urne.ok(&["admin", "election", "create", "--manifest", "manifest.toml"]);
    let election = field(&created, "election ").to_string();
    std::fs::write(
        dir.path().join("roster.csv"),
        "pseudonym,constituency,pool,category\nalice,north,yes,f\nbob,north,yes,m\n",
    )
    .unwrap();
    urne.ok(&[
        "admin",
        "roster",
        "import",
        "roster.csv",
        "--tokens-out",
        "tokens.csv",
        "--election",
        &election,
    ]);
    let tokens = std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap();
    let invitation = tokens
        .lines()
        .find(|l| l.starts_with("alice,"))
        .and_then(|l| l.rsplit(',').next())
        .unwrap()
        .to_string();

    // A wrong token is refused and leaves no wallet behind.
    let forged = format!("{}wrong", &invitation[..invitation.rfind(':').unwrap() + 1]);
    urne.fails(
        &[
            "voter", "enroll", "--token", &forged, "--wallet", "bad.json",
        ],
        "refused",
    );
    assert!(!dir.path().join("bad.json").exists());

    let enrolled = urne.ok(&[
        "voter",
        "enroll",
        "--token",
        &invitation,
        "--wallet",
        "alice.json",
    ]);
    assert!(
        enrolled.contains("enrolled alice in constituency north"),
        "{enrolled}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("alice.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The token is single-use.
    urne.fails(
        &[
            "voter",
            "enroll",
            "--token",
            &invitation,
            "--wallet",
            "again.json",
        ],
        "refused",
    );

    for _round in 0..2 {
        for i in 0..3 {
            urne.ok(&[
                "trustee",
                "dkg",
                "--key",
                &format!("t{i}.json"),
                "--election",
                &election,
            ]);
        }
    }
    urne.ok(&["admin", "election-key", "--election", &election]);
    // The voter's journey: the credential before the vote opens.
    urne.ok(&["voter", "--wallet", "alice.json", "credential"]);
    urne.ok(&["admin", "open", "--election", &election]);
    urne.fails(
        &[
            "voter",
            "--wallet",
            "alice.json",
            "vote",
            "--approve",
            "ana,bo,cy",
        ],
        "allows 1 to 2",
    );
    urne.fails(
        &[
            "voter",
            "--wallet",
            "alice.json",
            "vote",
            "--approve",
            "zed",
        ],
        "not a candidate",
    );
    urne.fails(
        &[
            "voter",
            "--wallet",
            "alice.json",
            "vote",
            "--approve",
            "anna",
        ],
        "did you mean \"ana\"?",
    );
    urne.fails(
        &["voter", "--wallet", "alice.json", "vote"],
        "allows 1 to 2",
    );
    let voted = urne.ok(&[
        "voter",
        "--wallet",
        "alice.json",
        "vote",
        "--approve",
        "Ana, BO",
    ]);
    assert!(voted.contains("ballot cast: 2 approvals"), "{voted}");
    assert!(voted.contains("receipt: board entry"), "{voted}");
    let checked = urne.ok(&["voter", "--wallet", "alice.json", "receipt", "check"]);
    assert!(checked.contains("receipt OK"), "{checked}");
    urne.fails(
        &["voter", "--wallet", "alice.json", "vote", "--approve", "cy"],
        "already voted",
    );
    urne.ok(&[
        "voter",
        "--wallet",
        "alice.json",
        "revote",
        "--approve",
        "cy",
    ]);
    let checked = urne.ok(&["voter", "--wallet", "alice.json", "receipt", "check"]);
    assert!(checked.contains("receipt OK"), "{checked}");
    // `urne results` finds the server and the election in the wallet, like
    // the voter commands; before a tally it says so.
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .arg("results")
        .current_dir(&urne.dir)
        .env("URNE_WALLET", "alice.json")
        .env_remove("URNE_SERVER")
        .env_remove("URNE_CONFIG")
        .output()
        .expect("run urne");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no results yet: the election is in phase open"),
        "{stderr}"
    );
    let status = urne.ok(&["admin", "status", "--election", &election]);
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["north", "4", "2", "0", "2", "1", "1", "1", "-"]),
        "{status}"
    );

    // A copy of the wallet casts a later ballot: the real wallet's check says so.
    std::fs::copy(dir.path().join("alice.json"), dir.path().join("copy.json")).unwrap();
    let stolen = urne.ok(&[
        "voter",
        "--wallet",
        "copy.json",
        "revote",
        "--approve",
        "di",
    ]);
    let stolen_at = stolen
        .lines()
        .find_map(|l| l.strip_prefix("receipt: board entry "))
        .and_then(|l| l.split_whitespace().next())
        .expect("receipt line")
        .to_string();
    urne.fails(
        &["voter", "--wallet", "alice.json", "receipt", "check"],
        &format!("was replaced by a later ballot with your credential at entry {stolen_at}"),
    );
    let checked = urne.ok(&["voter", "--wallet", "copy.json", "receipt", "check"]);
    assert!(checked.contains("receipt OK"), "{checked}");
}

/// Every file and directory under `dir`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        }
        out.push(path);
    }
}

#[cfg(unix)]
#[test]
fn served_data_is_private_and_its_secrets_sealed() {
    use std::os::unix::fs::PermissionsExt as _;
    use urne_server::election::tables::{u32_key, REGISTRAR_KEYS};
    use urne_server::election::ElectionId;
    use urne_server::store::sealed::{SealedStore, SecretsKey};
    use urne_server::store::sled::SledStore;
    use urne_server::store::Store as _;

    let dir = tempfile::tempdir().unwrap();
    let election = {
        let server = start_server(dir.path());
        let urne = Urne {
            dir: dir.path().to_path_buf(),
            url: server.url.clone(),
        };
        let trustees: Vec<String> = (0..3)
            .map(|i| {
                let (out, name) = (format!("t{i}.json"), format!("t{i}"));
                urne.ok(&["trustee", "keygen", "--out", &out, "--name", &name])
            })
            .collect();
        std::fs::write(dir.path().join("manifest.toml"), manifest(&trustees)).unwrap();
        let created = urne.ok(&["admin", "election", "create", "--manifest", "manifest.toml"]);
        field(&created, "election ").to_string()
    };
    let data = dir.path().join("data");

    // Nothing in the data directory is open to group or others.
    let mut files = vec![data.clone()];
    walk(&data, &mut files);
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", f.display());
    }

    // The registrar secret is nowhere in the store's bytes.
    let mut id = [0u8; 32];
    hex::decode_to_slice(&election, &mut id).unwrap();
    let key = SecretsKey::from_hex(SECRETS_KEY_HEX, "test").unwrap();
    let secret = {
        let store = SealedStore::new(SledStore::open(&data.join("store")).unwrap(), &key);
        store
            .get(&ElectionId(id), REGISTRAR_KEYS, &u32_key(0))
            .unwrap()
            .expect("registrar key row")
    };
    assert_eq!(secret.len(), 32);
    for f in files.iter().filter(|f| f.is_file()) {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_slice()),
            "{} holds the registrar secret",
            f.display()
        );
    }

    // This test's own look into the store left files with its default mode.
    let mut files = Vec::new();
    walk(&data, &mut files);
    for f in files.iter().filter(|f| f.is_file()) {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // A wrong key, no key or a loosened file: the service refuses to start.
    let refused = |cmd: &mut Command, expect: &str| {
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started: {stderr}");
        assert!(stderr.contains(expect), "{stderr}");
    };
    refused(
        serve_command(dir.path()).env("URNE_SECRETS_KEY", "11".repeat(32)),
        "wrong secrets key",
    );
    refused(
        serve_command(dir.path()).env_remove("URNE_SECRETS_KEY"),
        "--secrets-key",
    );
    let db = data.join("store").join("db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused(
        serve_command(dir.path()).env("URNE_SECRETS_KEY", SECRETS_KEY_HEX),
        "chmod -R go-rwx",
    );
}

/// A proxy in front of `upstream` that forwards each request but drops its
/// answer: the server commits, the client never hears of it.
fn answer_losing_proxy(upstream: &str) -> String {
    use std::io::{Read, Write};
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let mut server = std::net::TcpStream::connect(&upstream).unwrap();
                let mut to_server = server.try_clone().unwrap();
                let mut from_client = client.try_clone().unwrap();
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_client, &mut to_server);
                });
                // Wait for the first bytes of the answer, then hang up on the client.
                let mut buf = [0u8; 1];
                let _ = server.read(&mut buf);
                let _ = client.flush();
                let _ = client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    format!("http://{addr}")
}

/// The JSON answer to `GET path`, read with a bare HTTP/1.1 request.
fn get_json(url: &str, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str(body).unwrap()
}

/// The board's size.
fn board_size(url: &str, election: &str) -> u64 {
    get_json(
        url,
        &format!("/v1/elections/{election}/entries?start=0&end=0"),
    )["size"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_roster_import_whose_answer_is_lost_is_retried_without_losing_tokens() {
    let (dir, server, urne) = journey();
    let trustees: Vec<String> = (0..2)
        .map(|i| urne.ok(&["trustee", "keygen", "--out", &format!("t{i}.json")]))
        .collect();
    std::fs::write(dir.path().join("manifest.toml"), manifest(&trustees)).unwrap();
    let created = urne.ok(&["admin", "election", "create", "--manifest", "manifest.toml"]);
    let election = field(&created, "election ").to_string();
    std::fs::write(
        dir.path().join("roster.csv"),
        "pseudonym,constituency,pool,category\nalice,north,yes,f\nbob,north,yes,m\n",
    )
    .unwrap();
    let import = [
        "admin",
        "roster",
        "import",
        "roster.csv",
        "--tokens-out",
        "tokens.csv",
        "--election",
        &election,
    ];

    // The import commits but its answer is lost.
    let lossy = Urne {
        dir: dir.path().to_path_buf(),
        url: answer_losing_proxy(&server.url),
    };
    let out = lossy.run(&import);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("a retry is safe"), "{stderr}");
    assert_eq!(
        board_size(&server.url, &election),
        2,
        "the roster is on the board"
    );
    let tokens = std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("tokens.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The same command again: the same tokens, the same import, nothing new.
    let again = urne.ok(&import);
    assert!(again.contains("reusing the tokens"), "{again}");
    assert!(again.contains("imported 2 members"), "{again}");
    assert_eq!(board_size(&server.url, &election), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap(),
        tokens
    );

    // The tokens from before the lost answer enrol.
    let invitation = tokens
        .lines()
        .find(|l| l.starts_with("bob,"))
        .and_then(|l| l.rsplit(',').next())
        .unwrap()
        .to_string();
    let enrolled = urne.ok(&[
        "voter",
        "enroll",
        "--token",
        &invitation,
        "--wallet",
        "bob.json",
    ]);
    assert!(enrolled.contains("enrolled bob"), "{enrolled}");

    // Other tokens for the same members: refused, and the file is not replaced.
    let mut other = import;
    other[5] = "other-tokens.csv";
    let out = urne.run(&other);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("duplicate"));
    assert_eq!(board_size(&server.url, &election), 3);
    // A tokens file of another roster is never overwritten or reused.
    std::fs::write(
        dir.path().join("roster2.csv"),
        "pseudonym,constituency,pool,category\ncarol,north,yes,f\n",
    )
    .unwrap();
    let mut third = import;
    third[3] = "roster2.csv";
    urne.fails(&third, "another roster");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap(),
        tokens
    );
}

/// Trustees' keys, the election and a roster of alice and bob, imported with
/// `tokens.csv`; returns the election id and the tokens file.
fn election_with_roster(urne: &Urne) -> (String, String) {
    election_with_roster_and(urne, "")
}

/// [`election_with_roster`] with `more` appended to the manifest draft.
fn election_with_roster_and(urne: &Urne, more: &str) -> (String, String) {
    let trustees: Vec<String> = (0..3)
        .map(|i| {
            let (out, name) = (format!("t{i}.json"), format!("t{i}"));
            urne.ok(&["trustee", "keygen", "--out", &out, "--name", &name])
        })
        .collect();
    std::fs::write(urne.dir.join("manifest.toml"), manifest(&trustees) + more).unwrap();
    let created = urne.ok(&["admin", "election", "create", "--manifest", "manifest.toml"]);
    let election = field(&created, "election ").to_string();
    std::fs::write(
        urne.dir.join("roster.csv"),
        "pseudonym,constituency,pool,category\nalice,north,yes,f\nbob,north,yes,m\n",
    )
    .unwrap();
    urne.ok(&[
        "admin",
        "roster",
        "import",
        "roster.csv",
        "--tokens-out",
        "tokens.csv",
        "--election",
        &election,
    ]);
    let tokens = std::fs::read_to_string(urne.dir.join("tokens.csv")).unwrap();
    (election, tokens)
}

/// The invitation of `pseudonym` in a tokens file (its last column).
fn invitation_of(tokens: &str, pseudonym: &str) -> String {
    tokens
        .lines()
        .find(|l| l.starts_with(&format!("{pseudonym},")))
        .and_then(|l| l.rsplit(',').next())
        .unwrap()
        .to_string()
}

/// The trustees' two DKG rounds and the election key.
fn publish_election_key(urne: &Urne, election: &str) {
    for _round in 0..2 {
        for i in 0..3 {
            let key = format!("t{i}.json");
            urne.ok(&["trustee", "dkg", "--key", &key, "--election", election]);
        }
    }
    urne.ok(&["admin", "election-key", "--election", election]);
}

/// The election key, alice's credential (wallet `alice.json`), the vote
/// opened, and alice's ballot approving ana, with its receipt.
fn key_credential_and_a_vote_for_ana(urne: &Urne, election: &str) {
    publish_election_key(urne, election);
    urne.ok(&["voter", "--wallet", "alice.json", "credential"]);
    urne.ok(&["admin", "open", "--election", election]);
    let voted = urne.ok(&[
        "voter",
        "--wallet",
        "alice.json",
        "vote",
        "--approve",
        "ana",
    ]);
    assert!(voted.contains("receipt: board entry"), "{voted}");
}

/// Borrowed arguments.
fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The recovery code printed at enrolment: eight groups of four.
fn recovery_code(enrolled: &str) -> String {
    enrolled
        .lines()
        .map(str::trim)
        .find(|l| {
            let groups: Vec<&str> = l.split('-').collect();
            groups.len() == 8
                && groups
                    .iter()
                    .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric()))
        })
        .unwrap_or_else(|| panic!("no recovery code in {enrolled}"))
        .to_string()
}

#[test]
fn a_lost_wallet_comes_back_from_its_recovery_code() {
    let (dir, server, urne) = journey();
    let (election, tokens) = election_with_roster(&urne);
    let alice = invitation_of(&tokens, "alice");
    let bob = invitation_of(&tokens, "bob");
    let enrolled = urne.ok(&[
        "voter",
        "enroll",
        "--token",
        &alice,
        "--wallet",
        "alice.json",
    ]);
    // Told once, at creation: the only copy, and how to keep a way back.
    assert!(enrolled.contains("only copy"), "{enrolled}");
    assert!(enrolled.contains("shown only this once"), "{enrolled}");
    assert!(enrolled.contains("urne voter recover"), "{enrolled}");
    let code = recovery_code(&enrolled);
    // The code is not stored in plain form anywhere the voter might share.
    let wallet = std::fs::read_to_string(dir.path().join("alice.json")).unwrap();
    assert!(!wallet.contains(&code), "the wallet holds the code as text");
    assert!(!urne
        .ok(&["voter", "--wallet", "alice.json", "candidates"])
        .contains(&code));
    key_credential_and_a_vote_for_ana(&urne, &election);

    // Another machine: only the code and the invitation are left.
    let other = tempfile::tempdir().unwrap();
    let elsewhere = Urne {
        dir: other.path().to_path_buf(),
        url: server.url.clone(),
    };
    let recover = |code: &str, invitation: &str, wallet: &str| {
        vec![
            "voter".to_string(),
            "--wallet".into(),
            wallet.into(),
            "recover".into(),
            "--code".into(),
            code.into(),
            "--invitation".into(),
            invitation.into(),
        ]
    };
    // A mistyped code is caught by its checksum; no wallet is left.
    let mut typo = code.clone();
    let swapped = if typo.starts_with('0') { "1" } else { "0" };
    typo.replace_range(0..1, swapped);
    elsewhere.fails(&args(&recover(&typo, &alice, "w.json")), "checksum");
    elsewhere.fails(&args(&recover("abcd", &alice, "w.json")), "not valid");
    // A valid code nobody enrolled with.
    let stranger = urne_crypto::recovery::RecoverySecret::from_bytes([7; 16]).code();
    elsewhere.fails(
        &args(&recover(&stranger, &alice, "w.json")),
        "nobody enrolled",
    );
    // Alice's code with bob's invitation.
    elsewhere.fails(
        &args(&recover(&code, &bob, "w.json")),
        "belongs to another member",
    );
    assert!(!other.path().join("w.json").exists());

    let size_before = board_size(&server.url, &election);
    let recovered = elsewhere.ok(&args(&recover(&code.to_lowercase(), &alice, "w.json")));
    assert!(recovered.contains("wallet rebuilt"), "{recovered}");
    assert!(recovered.contains("credential recovered"), "{recovered}");
    assert!(
        recovered.contains("your earlier ballot is at board entry"),
        "{recovered}"
    );
    // Recovery appends nothing: the same issuance entry got its stored answer.
    assert_eq!(board_size(&server.url, &election), size_before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(other.path().join("w.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The same keys and the same credential as the lost wallet's.
    let lost: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("alice.json")).unwrap())
            .unwrap();
    let rebuilt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(other.path().join("w.json")).unwrap())
            .unwrap();
    for key in [
        "member",
        "member_key",
        "ballot_key",
        "credential",
        "recovery",
    ] {
        assert!(!lost[key].is_null(), "{key}");
        assert_eq!(rebuilt[key], lost[key], "{key}");
    }
    // Issued before the vote opened, as the board shows: no hold-back needed.
    assert_eq!(rebuilt["credential_time"]["while_open"], false);
    // A second recovery (the code from the environment, out of the shell
    // history) gives the same wallet again, never a second credential.
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args([
            "voter",
            "--wallet",
            "w2.json",
            "recover",
            "--invitation",
            &alice,
        ])
        .current_dir(other.path())
        .env("URNE_RECOVERY_CODE", &code)
        .env_remove("URNE_SERVER")
        .env_remove("URNE_CONFIG")
        .env_remove("URNE_WALLET")
        .output()
        .unwrap();
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{again}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(again.contains("credential recovered"), "{again}");
    let rebuilt2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(other.path().join("w2.json")).unwrap())
            .unwrap();
    assert_eq!(rebuilt2["credential"], lost["credential"]);
    elsewhere.fails(&args(&recover(&code, &alice, "w.json")), "already exists");

    // The rebuilt wallet knows it voted: a revote replaces the earlier ballot and counts.
    elsewhere.fails(
        &["voter", "--wallet", "w.json", "vote", "--approve", "cy"],
        "already voted",
    );
    let revoted = elsewhere.ok(&[
        "voter",
        "--wallet",
        "w.json",
        "revote",
        "--approve",
        "cy",
        "--now",
    ]);
    assert!(revoted.contains("receipt: board entry"), "{revoted}");
    let checked = elsewhere.ok(&["voter", "--wallet", "w.json", "receipt", "check"]);
    assert!(checked.contains("receipt OK"), "{checked}");
    // The old wallet's ballot was replaced by the recovered one.
    urne.fails(
        &["voter", "--wallet", "alice.json", "receipt", "check"],
        "was replaced by a later ballot with your credential",
    );
    let status = urne.ok(&["admin", "status", "--election", &election]);
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["north", "4", "2", "0", "2", "1", "1", "1", "-"]),
        "one issuance, one counted ballot: {status}"
    );
}

#[test]
fn invitations_are_links_that_are_never_lost_and_can_be_reissued() {
    let (dir, server, urne) = journey();
    let (election, tokens) = election_with_roster(&urne);
    let size = board_size(&server.url, &election);

    // Without a tokens file the import refuses to run, before sending anything.
    urne.fails(
        &[
            "admin",
            "roster",
            "import",
            "roster.csv",
            "--election",
            &election,
        ],
        "without --tokens-out",
    );
    assert_eq!(board_size(&server.url, &election), size);

    // Each invitation is a link: the server's URL, the token in the fragment.
    let alice = invitation_of(&tokens, "alice");
    let bob = invitation_of(&tokens, "bob");
    let prefix = format!(
        "{}/#join=urne1:{election}:",
        server.url.trim_end_matches('/')
    );
    assert!(alice.starts_with(&prefix), "{alice}");
    let csv = urne.ok(&[
        "admin",
        "invitations",
        "--tokens",
        "tokens.csv",
        "--format",
        "csv",
        "--election",
        &election,
    ]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "pseudonym,invitation".to_string(),
            format!("alice,{alice}"),
            format!("bob,{bob}")
        ]
    );
    let txt = urne.ok(&[
        "admin",
        "invitations",
        "--tokens",
        "tokens.csv",
        "--election",
        &election,
    ]);
    assert!(
        txt.contains("Hello alice,") && txt.contains(&alice),
        "{txt}"
    );
    assert!(txt.contains("Hello bob,") && txt.contains(&bob), "{txt}");

    // The link alone is enough: no --server, no pseudonym, no election.
    let out = Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["voter", "--wallet", "bob.json", "enroll", "--token", &bob])
        .current_dir(dir.path())
        .env_remove("URNE_SERVER")
        .env_remove("URNE_CONFIG")
        .env_remove("URNE_WALLET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("enrolled bob in constituency north"),
        "{stdout}"
    );

    // Reissue, and its answer is lost: the new token is kept, the retry is safe.
    let reissue = [
        "admin",
        "roster",
        "reissue",
        "alice",
        "--tokens",
        "tokens.csv",
        "--election",
        &election,
    ];
    let lossy = Urne {
        dir: dir.path().to_path_buf(),
        url: answer_losing_proxy(&server.url),
    };
    let out = lossy.run(&reissue);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("the same command again is safe"),
        "{stderr}"
    );
    assert!(dir.path().join("tokens.csv.reissue").exists());
    let reissued = urne.ok(&reissue);
    assert!(reissued.contains("resuming the reissue"), "{reissued}");
    assert!(
        reissued.contains("the old invitation of alice no longer works"),
        "{reissued}"
    );
    assert!(!dir.path().join("tokens.csv.reissue").exists());
    let tokens2 = std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap();
    let alice2 = invitation_of(&tokens2, "alice");
    assert_ne!(alice2, alice);
    assert!(reissued.contains(&alice2), "{reissued}");
    assert_eq!(invitation_of(&tokens2, "bob"), bob);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("tokens.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The old invitation stops working; the new one enrols.
    urne.fails(
        &["voter", "enroll", "--token", &alice, "--wallet", "old.json"],
        "token_used",
    );
    assert!(!dir.path().join("old.json").exists());
    let enrolled = urne.ok(&[
        "voter",
        "enroll",
        "--token",
        &alice2,
        "--wallet",
        "alice.json",
    ]);
    assert!(enrolled.contains("enrolled alice"), "{enrolled}");

    // Once enrolled, a new invitation cannot help: the recovery code can.
    let out = urne.run(&reissue);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("alice has already enrolled"), "{stderr}");
    assert!(stderr.contains("recovery code"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap(),
        tokens2
    );
    urne.fails(
        &[
            "admin",
            "roster",
            "reissue",
            "carol",
            "--tokens",
            "tokens.csv",
            "--election",
            &election,
        ],
        "is not in",
    );
    // Re-importing the roster with the changed tokens is refused.
    let out = urne.run(&[
        "admin",
        "roster",
        "import",
        "roster.csv",
        "--tokens-out",
        "tokens.csv",
        "--election",
        &election,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("duplicate") || stderr.contains("token_collision"),
        "{stderr}"
    );
    assert_eq!(
        board_size(&server.url, &election),
        size + 2,
        "two enrolments, nothing else"
    );
}

#[test]
fn a_mistaken_election_is_cancelled_before_anyone_depends_on_it() {
    let (dir, mut server, urne) = journey();
    let (kept, tokens) = election_with_roster(&urne);
    let created = urne.ok(&["admin", "election", "create", "--manifest", "manifest.toml"]);
    let mistaken = field(&created, "election ").to_string();
    urne.ok(&[
        "admin",
        "roster",
        "import",
        "roster.csv",
        "--tokens-out",
        "mistaken-tokens.csv",
        "--election",
        &mistaken,
    ]);
    let size = board_size(&server.url, &mistaken);

    // Without a terminal to confirm on, nothing happens without --yes.
    urne.fails(
        &["admin", "election", "cancel", "--election", &mistaken],
        "without a confirmation",
    );
    assert_eq!(board_size(&server.url, &mistaken), size);

    // Once a member has enrolled, the election stays.
    let bob = invitation_of(&tokens, "bob");
    urne.ok(&["voter", "--wallet", "bob.json", "enroll", "--token", &bob]);
    urne.fails(
        &["admin", "election", "cancel", "--election", &kept, "--yes"],
        "can no longer be cancelled",
    );

    let out = urne.ok(&[
        "admin",
        "election",
        "cancel",
        "--election",
        &mistaken,
        "--yes",
    ]);
    assert!(out.contains("title: Journey"), "{out}");
    assert!(
        out.contains(&format!("election {mistaken} cancelled")),
        "{out}"
    );
    let listed = urne.ok(&["admin", "elections"]);
    assert!(
        listed.contains(&kept) && !listed.contains(&mistaken),
        "{listed}"
    );
    urne.fails(
        &["admin", "status", "--election", &mistaken],
        "unknown_election",
    );
    // Its invitations no longer work.
    let mistaken_tokens = std::fs::read_to_string(dir.path().join("mistaken-tokens.csv")).unwrap();
    let alice = invitation_of(&mistaken_tokens, "alice");
    urne.fails(
        &[
            "voter",
            "--wallet",
            "alice.json",
            "enroll",
            "--token",
            &alice,
        ],
        "unknown_election",
    );
    urne.fails(
        &[
            "admin",
            "election",
            "cancel",
            "--election",
            &mistaken,
            "--yes",
        ],
        "unknown_election",
    );

    // The removal is durable, and the other election is whole.
    drop(server);
    server = start_server(dir.path());
    let urne = Urne {
        dir: dir.path().to_path_buf(),
        url: server.url.clone(),
    };
    let listed = urne.ok(&["admin", "elections"]);
    assert!(
        listed.contains(&kept) && !listed.contains(&mistaken),
        "{listed}"
    );
    let status = urne.ok(&["admin", "status", "--election", &kept]);
    assert!(status.contains("setup"), "{status}");
}

#[test]
fn a_refused_import_leaves_no_working_token_behind() {
    let (dir, _server, urne) = journey();
    let (election, tokens) = election_with_roster(&urne);
    // A second import naming bob again (and carol, new) is refused whole, after
    // its rows were staged: neither of its tokens may work.
    std::fs::write(
        dir.path().join("again.csv"),
        "pseudonym,constituency,pool,category\ncarol,north,yes,f\nbob,north,yes,m\n",
    )
    .unwrap();
    let out = urne.run(&[
        "admin",
        "roster",
        "import",
        "again.csv",
        "--tokens-out",
        "again-tokens.csv",
        "--election",
        &election,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("(duplicate)"),
        "{stderr}"
    );
    let again = std::fs::read_to_string(dir.path().join("again-tokens.csv")).unwrap();
    // Bob is on the roster (from the first import): the server must refuse
    // the staged token itself. Carol is on no roster at all.
    for (pseudonym, wallet, expect) in [
        ("bob", "bob-again.json", "bad_token"),
        ("carol", "carol.json", "not on the roster"),
    ] {
        let token = invitation_of(&again, pseudonym);
        urne.fails(
            &["voter", "--wallet", wallet, "enroll", "--token", &token],
            expect,
        );
    }
    // The committed import's tokens work.
    let bob = invitation_of(&tokens, "bob");
    urne.ok(&["voter", "--wallet", "bob.json", "enroll", "--token", &bob]);
}

/// The board's Ed25519 public key, hex, from `GET /v1/board-key`.
fn board_public_key(url: &str) -> String {
    get_json(url, "/v1/board-key")["public_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_receipt_check_waits_for_a_quorum_of_witnesses() {
    let (dir, server, urne) = journey();
    let board = board_public_key(&server.url);
    let vkeys: Vec<String> = ["w1", "w2"]
        .iter()
        .map(|w| {
            let key = format!("{w}.key");
            let name = format!("{w}.test/witness");
            urne.ok(&["witness", "keygen", "--name", &name, "--key", &key])
                .trim()
                .to_owned()
        })
        .collect();
    // The first witness runs from the start; the second's port is kept
    // for it, with nothing behind it yet.
    let w1 = spawned::witness(dir.path(), "w1", &board, "127.0.0.1:0");
    let w1_url = w1.url.clone();
    let w2_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w2_url = format!("http://127.0.0.1:{w2_port}");
    let witnesses = format!(
        "\n[[witnesses]]\nvkey = \"{}\"\nurl = \"{w1_url}\"\n\n[[witnesses]]\nvkey = \"{}\"\nurl = \"{w2_url}\"\n",
        vkeys[0], vkeys[1]
    );
    let (election, tokens) = election_with_roster_and(&urne, &witnesses);
    let alice = invitation_of(&tokens, "alice");
    urne.ok(&[
        "voter",
        "enroll",
        "--token",
        &alice,
        "--wallet",
        "alice.json",
    ]);
    key_credential_and_a_vote_for_ana(&urne, &election);

    // One witness of the two the manifest requires: the check waits, then
    // refuses, saying how many cosigned.
    urne.fails(
        &["voter", "--wallet", "alice.json", "receipt", "check"],
        "cosigned by 1 of the 2 witnesses",
    );

    // The second comes up: the service submits to it (after its back-off,
    // up to a minute) and the check passes, naming both. The voter is told
    // to try again in a minute; so does the test, a few times.
    let _w2 = spawned::witness(dir.path(), "w2", &board, &format!("127.0.0.1:{w2_port}"));
    let mut checked = urne.run(&["voter", "--wallet", "alice.json", "receipt", "check"]);
    for _ in 0..5 {
        if checked.status.success() {
            break;
        }
        checked = urne.run(&["voter", "--wallet", "alice.json", "receipt", "check"]);
    }
    let checked = String::from_utf8_lossy(&checked.stdout).into_owned()
        + &String::from_utf8_lossy(&checked.stderr);
    assert!(checked.contains("receipt OK"), "{checked}");
    assert!(
        checked.contains("witnessed: that board is cosigned by w1.test/witness, w2.test/witness"),
        "{checked}"
    );

    // The wallet keeps the ballot's place in the cosigned checkpoint, and
    // writes that note for `urne-verify --checkpoint`.
    let wrote = urne.ok(&[
        "voter",
        "--wallet",
        "alice.json",
        "receipt",
        "checkpoint",
        "--out",
        "cp.txt",
    ]);
    assert!(wrote.contains("witnessed checkpoint"), "{wrote}");
    let note = std::fs::read_to_string(dir.path().join("cp.txt")).unwrap();
    for name in ["w1.test/witness", "w2.test/witness"] {
        assert!(note.contains(&format!("\u{2014} {name} ")), "{note}");
    }
    let wallet: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("alice.json")).unwrap())
            .unwrap();
    let kept = &wallet["ballots"][0]["witnessed"];
    assert_eq!(kept["checkpoint"].as_str(), Some(note.as_str()));
    assert_eq!(kept["index"], wallet["ballots"][0]["receipt"]["index"]);
    urne.fails(
        &[
            "voter",
            "--wallet",
            "alice.json",
            "receipt",
            "checkpoint",
            "--out",
            "cp.txt",
        ],
        "exists",
    );
}
