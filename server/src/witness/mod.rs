//! A witness (C2SP `tlog-witness`): the `add-checkpoint` service that cosigns
//! the checkpoints of the logs it follows (`specs/protocol.md` §6.11).
//!
//! The rule itself is [`urne_crypto::witness::decide`]; this module keeps
//! the last cosigned `(size, root)` of every log durably (one file per
//! origin, written atomically and fsynced before the answer) and serves HTTP.
//! One lock covers check and store, so two requests cannot roll a log back.
//!
//! Not here: the service's submission of checkpoints to witnesses
//! ([`submit`]), the manifest's witness list and the verifier's quorum rule.

pub mod submit;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64ct::{Base64, Encoding};
use sha2::{Digest as _, Sha256};
use urne_crypto::checkpoint::{key_id, NoteVerifier, ED25519_SIGNATURE_TYPE, MAX_NOTE_LEN};
use urne_crypto::hash::Digest32;
use urne_crypto::witness::{decide, request_origin, AddCheckpoint, Refusal, WitnessKey};

use crate::client::secret_file;

/// Directory of the per-log state files inside the data directory.
const LOGS_DIR: &str = "logs";

/// Failures of the witness's own storage (answered 500, never cosigned).
#[derive(Debug, thiserror::Error)]
pub enum WitnessStoreError {
    /// A state file could not be read or written.
    #[error("witness state {path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// Which logs the witness follows.
#[derive(Debug, Clone, Default)]
pub struct Follows {
    /// Logs by origin, with their checkpoint verifier.
    pub logs: HashMap<String, NoteVerifier>,
    /// Boards (Ed25519 public keys) all of whose `urne/<election id>` logs are followed.
    pub boards: Vec<[u8; 32]>,
}

impl Follows {
    /// The verifiers trusted for `origin` (empty: not followed).
    pub fn verifiers(&self, origin: &str) -> Vec<NoteVerifier> {
        if let Some(v) = self.logs.get(origin) {
            return vec![v.clone()];
        }
        let Some(id) = origin.strip_prefix("urne/") else {
            return Vec::new();
        };
        if id.len() != 64 || !id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Vec::new();
        }
        self.boards
            .iter()
            .filter_map(|pk| {
                let mut raw = [0u8; 33];
                raw[0] = ED25519_SIGNATURE_TYPE;
                raw[1..].copy_from_slice(pk);
                let vkey = format!(
                    "{origin}+{}+{}",
                    hex::encode(key_id(origin, pk)),
                    Base64::encode_string(&raw)
                );
                NoteVerifier::from_vkey_string(&vkey).ok()
            })
            .collect()
    }
}

/// A witness: its key, the logs it follows and their durable state.
pub struct Witness {
    key: WitnessKey,
    follows: Follows,
    dir: PathBuf,
    /// Cache of the state files; the lock is held across check and store.
    state: Mutex<HashMap<String, Option<(u64, Digest32)>>>,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
}

/// The outcome of one `add-checkpoint` request.
#[derive(Debug)]
pub enum Answer {
    /// 200: the cosignature line.
    Cosigned(String),
    /// A refusal with its status.
    Refused(Refusal),
    /// 500: the state could not be read or stored; nothing was cosigned.
    Failed(WitnessStoreError),
}

impl Witness {
    /// A witness keeping its state under `data` (created mode 0700 if missing).
    pub fn open(key: WitnessKey, data: &Path, follows: Follows) -> std::io::Result<Self> {
        crate::store::permissions::private_file_mask();
        let dir = data.join(LOGS_DIR);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            key,
            follows,
            dir,
            state: Mutex::new(HashMap::new()),
            clock: Box::new(|| crate::clock::BoardClock::system().now()),
        })
    }

    /// Replaces the clock (Unix seconds) of the cosignature timestamps.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.dir
            .join(hex::encode(Sha256::digest(origin.as_bytes())))
    }

    fn load(&self, origin: &str) -> Result<Option<(u64, Digest32)>, WitnessStoreError> {
        let path = self.state_path(origin);
        let bad = |message: String| WitnessStoreError::State {
            path: path.clone(),
            message,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        // `<origin>\n<size>\n<base64 root>\n`
        let mut lines = text.split('\n');
        let (Some(o), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(bad("truncated".into()));
        };
        if o != origin {
            return Err(bad("holds another origin".into()));
        }
        let size = size.parse().map_err(|_| bad("bad size".into()))?;
        let root: Digest32 = Base64::decode_vec(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("bad root".into()))?;
        Ok(Some((size, root)))
    }

    fn store(&self, origin: &str, size: u64, root: &Digest32) -> Result<(), WitnessStoreError> {
        let path = self.state_path(origin);
        let text = format!("{origin}\n{size}\n{}\n", Base64::encode_string(root));
        secret_file::write(&path, text.as_bytes()).map_err(|e| WitnessStoreError::State {
            path,
            message: e.to_string(),
        })
    }

    /// Handles one request body: checks it against the stored state and,
    /// if it passes, stores the new state durably, then cosigns.
    pub fn add_checkpoint(&self, body: &[u8]) -> Answer {
        let request = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(e) => return Answer::Refused(Refusal::BadRequest(e.to_string())),
        };
        let origin = match request_origin(&request) {
            Ok(o) => o.to_owned(),
            Err(r) => return Answer::Refused(r),
        };
        let verifiers = self.follows.verifiers(&origin);
        if verifiers.is_empty() {
            return Answer::Refused(Refusal::UnknownOrigin);
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let last = match state.get(&origin) {
            Some(s) => *s,
            None => match self.load(&origin) {
                Ok(s) => {
                    state.insert(origin.clone(), s);
                    s
                }
                Err(e) => return Answer::Failed(e),
            },
        };
        let mut outcome = Err(Refusal::BadSignature);
        for v in &verifiers {
            outcome = decide(&request, v, last);
            if !matches!(outcome, Err(Refusal::BadSignature)) {
                break;
            }
        }
        let checkpoint = match outcome {
            Ok(c) => c,
            Err(r) => return Answer::Refused(r),
        };
        if last != Some((checkpoint.size, checkpoint.root)) {
            if let Err(e) = self.store(&origin, checkpoint.size, &checkpoint.root) {
                // The state on disk is uncertain: forget the cache, reread next time.
                state.remove(&origin);
                return Answer::Failed(e);
            }
            state.insert(origin, Some((checkpoint.size, checkpoint.root)));
        }
        drop(state);
        let body = match checkpoint.to_body() {
            Ok(b) => b,
            Err(e) => return Answer::Refused(Refusal::BadRequest(e.to_string())),
        };
        match self.key.cosign(&body, (self.clock)()) {
            Ok(line) => Answer::Cosigned(line),
            Err(e) => Answer::Refused(Refusal::BadRequest(e.to_string())),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let plain = "text/plain; charset=utf-8";
        match self {
            Answer::Cosigned(line) => (StatusCode::OK, [(header::CONTENT_TYPE, plain)], line),
            Answer::Refused(Refusal::WrongOldSize(size)) => (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{size}\n"),
            ),
            Answer::Refused(r) => (
                StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST),
                [(header::CONTENT_TYPE, plain)],
                format!("{r}\n"),
            ),
            Answer::Failed(e) => {
                tracing::error!(error = %e, "witness state");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, plain)],
                    "the witness could not store its state\n".to_string(),
                )
            }
        }
        .into_response()
    }
}

/// The witness's HTTP routes: `POST /add-checkpoint`.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_NOTE_LEN + 64 * 64))
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Answer {
    match tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await {
        Ok(answer) => answer,
        Err(e) => Answer::Failed(WitnessStoreError::State {
            path: PathBuf::new(),
            message: e.to_string(),
        }),
    }
}

/// Serves `witness` on `listener` until ctrl-c or SIGTERM.
pub async fn serve(
    witness: Arc<Witness>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Binds `addr` for [`serve`].
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// Starts a witness named `name` on a free loopback port, following every
/// election of the board `board_key`, its state in `data` (for the demo and
/// the benchmark); returns its manifest draft entry and its server task.
pub async fn spawn_loopback(
    name: &str,
    data: &Path,
    board_key: [u8; 32],
) -> std::io::Result<(
    crate::client::draft::WitnessDraft,
    tokio::task::JoinHandle<()>,
)> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(std::io::Error::other)?;
    let key = WitnessKey::from_seed(name, &seed).map_err(std::io::Error::other)?;
    let vkey = key.verifier().to_vkey_string();
    let follows = Follows {
        boards: vec![board_key],
        ..Default::default()
    };
    let witness = Arc::new(Witness::open(key, data, follows)?);
    let listener = bind(([127, 0, 0, 1], 0).into()).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router(witness)).await;
    });
    Ok((
        crate::client::draft::WitnessDraft {
            vkey,
            url: format!("http://{addr}"),
        },
        task,
    ))
}
