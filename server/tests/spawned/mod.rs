//! Running `urne` as a separate process in tests: the child is killed when
//! dropped, and the URL it announces on its first line of output is read.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `urne` process and the URL it listens on.
pub struct Spawned {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` (standard output piped, standard error dropped) and reads
/// the URL that ends its first line (`urne: listening on URL`).
pub fn announcing(mut cmd: Command) -> Spawned {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start urne");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read address");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");
    Spawned { child, url }
}

/// The command of `urne serve` on a free loopback port over `dir/data`,
/// without its secrets key (the caller sets or removes `URNE_SECRETS_KEY`).
pub fn serve_command(dir: &Path, token: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urne"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .env("URNE_ORGANISER_TOKEN", token)
        .env("URNE_LOG", "warn");
    cmd
}

/// `urne serve` on a free loopback port over `dir/data`.
pub fn server(dir: &Path, token: &str, secrets_key_hex: &str) -> Spawned {
    let mut cmd = serve_command(dir, token);
    cmd.env("URNE_SECRETS_KEY", secrets_key_hex);
    announcing(cmd)
}

/// `urne witness serve` on `listen`, with its key at `dir/NAME.key` (made by
/// `urne witness keygen`), following every election of the board with
/// public key `board` (hex).
pub fn witness(dir: &Path, name: &str, board: &str, listen: &str) -> Spawned {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urne"));
    cmd.args([
        "witness", "serve", "--listen", listen, "--board", board, "--key",
    ])
    .arg(dir.join(format!("{name}.key")))
    .arg("--data")
    .arg(dir.join(format!("{name}-data")));
    announcing(cmd)
}

/// A GET over a fresh runtime, which must answer 200: the body and the
/// Content-Security-Policy header.
pub fn get(url: &str) -> (String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        assert_eq!(r.status(), 200, "GET {url}");
        let csp = r
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (r.text().await.expect("body"), csp)
    })
}

/// The web app's folder (`server/web/app`), where its browser tests live.
pub fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web/app")
}

/// Fails with the next step when Chromium or the app's npm packages are missing.
pub fn require_browser_tools() {
    let chromium = std::env::var("URNE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the browser tests need Chromium at {chromium}: run the README's test command \
         (tests/run.sh), which installs it, or `apt-get install chromium`"
    );
    assert!(
        app_dir().join("node_modules/playwright-core").exists(),
        "the browser tests need the app's npm packages: run the README's test command \
         (tests/run.sh), or `npm ci` in server/web/app"
    );
}

/// Runs the browser test `script` (under `server/web/app/test`) with `envs`
/// and the screenshot folder `target/web-screenshots`; its standard output
/// is printed, and a failure panics with both outputs.
pub fn browser_test(script: &str, envs: &[(&str, &std::ffi::OsStr)]) {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/web-screenshots");
    let out = Command::new("node")
        .arg(app_dir().join("test").join(script))
        .current_dir(app_dir())
        .env("URNE_WEB_SHOTS", &shots)
        .envs(envs.iter().copied())
        .output()
        .expect("node must be installed to run the browser tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
}
