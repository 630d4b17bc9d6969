//! Elections: creation from a manifest draft, and the read side (list,
//! status, manifest, single entries, export).

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand_core::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use urne_crypto::ballot::MAX_CANDIDATES;
use urne_crypto::credential::RegistrarKey;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::manifest_entry;
use urne_crypto::group::os_rng;
use urne_crypto::manifest::ManifestError;
use urne_crypto::record::Record;

use super::auth::Organiser;
use super::board::Receipt;
use super::error::ApiError;
use super::extract::{json, ElectionPath, EntryPath, RawBody};
use super::AppState;
use crate::board::PageLimit;
use crate::client::draft::ManifestDraft;
use crate::election::machine::ElectionMachine;
use crate::election::registry::Election;
use crate::election::status::Status;
use crate::election::tables::{u32_key, REGISTRAR_KEYS};
use crate::election::ElectionId;
use crate::sequencer::{AppendRequest, LogRequirement, RejectionKind, RowWrite};

/// `GET /v1/elections`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ElectionList {
    /// Election ids, hex, sorted.
    pub elections: Vec<String>,
}

/// `GET /v1/elections`: every election's id.
pub async fn list(State(state): State<AppState>) -> Json<ElectionList> {
    Json(ElectionList {
        elections: state
            .elections
            .ids()
            .iter()
            .map(ElectionId::to_hex)
            .collect(),
    })
}

/// The answer to `POST /v1/elections`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Created {
    /// The election id, hex.
    pub election: String,
    /// The manifest's canonical bytes, hex.
    pub manifest: String,
    /// Receipt of the manifest entry (board entry 0).
    pub receipt: Receipt,
}

fn invalid_manifest(reason: impl std::fmt::Display) -> ApiError {
    ApiError::reject(
        RejectionKind::Invalid,
        "invalid_manifest",
        reason.to_string(),
    )
}

/// `POST /v1/elections`: creates an election from a JSON manifest draft.
///
/// The server draws one registrar key per constituency (secrets kept in the
/// store, never exported), fills in its board key, a random salt and the
/// protocol version, validates the manifest, and appends it as entry 0 of
/// the new election's log.
pub async fn create(
    State(state): State<AppState>,
    _: Organiser,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    state.writable()?;
    let draft: ManifestDraft = json(&body)?;
    let mut rng = os_rng();
    let registrars: Vec<RegistrarKey> = draft
        .constituencies
        .iter()
        .map(|_| RegistrarKey::generate(&mut rng))
        .collect();
    let publics: Vec<_> = registrars.iter().map(RegistrarKey::public).collect();
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let manifest = draft
        .to_manifest(
            state.board.public_key(),
            salt,
            &publics,
            super::web::client_digest(),
        )
        .map_err(invalid_manifest)?;
    manifest.validate().map_err(|e| {
        let code = match e {
            ManifestError::Text(_) => "invalid_text",
            ManifestError::SigningKey(_) => "invalid_key",
            _ => "invalid_manifest",
        };
        ApiError::reject(RejectionKind::Invalid, code, e.to_string())
    })?;
    if let Some(c) = manifest
        .constituencies
        .iter()
        .find(|c| c.candidates.len() as u64 > u64::from(MAX_CANDIDATES))
    {
        return Err(invalid_manifest(format!(
            "constituency {} has more than {MAX_CANDIDATES} candidates",
            c.id
        )));
    }
    let entry = manifest_entry(&manifest, &state.signer);
    // The same checks the election's rules make on entry 0.
    Record::open(&entry).map_err(invalid_manifest)?;
    let id = ElectionId(manifest.election_id());
    let manifest_bytes = entry.body.clone();
    let rows = registrars
        .iter()
        .enumerate()
        .map(|(i, k)| {
            RowWrite::upsert(
                REGISTRAR_KEYS,
                u32_key(i as u32),
                k.to_secret_bytes().to_vec(),
            )
        })
        .collect();
    let election = Arc::new(Election::new(
        id,
        manifest,
        manifest_bytes.clone(),
        registrars,
    ));
    let mut request = AppendRequest::new(id, entry.to_bytes(), LogRequirement::Absent);
    request.rows = rows;
    request.rules = Some(Box::new(ElectionMachine::new(election.clone())));
    let appended = state.board.append(request).await?;
    state.elections.insert(election);
    tracing::info!(election = %id, "election created");
    Ok((
        StatusCode::CREATED,
        Json(Created {
            election: id.to_hex(),
            manifest: hex::encode(manifest_bytes),
            receipt: Receipt::first(&state.board, &id, &appended)?,
        }),
    ))
}

/// `GET /v1/elections/{id}`: the status document.
pub async fn status(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<Response, ApiError> {
    let election = state.election(&id)?;
    let snapshot = election.snapshot();
    let body = serde_json::to_vec(&Status::new(&id, election.manifest(), &snapshot))
        .map_err(|_| ApiError::Internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

const CBOR: &str = "application/cbor";

/// `GET /v1/elections/{id}/manifest`: the manifest's canonical bytes.
pub async fn manifest(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<Response, ApiError> {
    let election = state.election(&id)?;
    Ok((
        [(header::CONTENT_TYPE, CBOR)],
        election.manifest_bytes().to_vec(),
    )
        .into_response())
}

/// `GET /v1/elections/{id}/entries/{index}`: one entry's canonical bytes.
pub async fn entry(
    State(state): State<AppState>,
    EntryPath(id, index): EntryPath,
) -> Result<Response, ApiError> {
    let page = state.board.entries(
        &id,
        index,
        index.checked_add(1),
        PageLimit {
            entries: 1,
            bytes: usize::MAX,
        },
    )?;
    let bytes = page
        .entries
        .into_iter()
        .next()
        .ok_or(ApiError::BeyondHead {
            requested: index,
            size: page.size,
        })?;
    Ok(([(header::CONTENT_TYPE, CBOR)], bytes).into_response())
}

/// `GET /v1/elections/{id}/export`: the export stream (§8.5) up to the
/// current head, streamed page by page.
pub async fn export(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<Response, ApiError> {
    let head = state.board.head(&id)?;
    // A bounded number of exports hold a blocking thread each, and each gives
    // up on a client that takes no chunk for `export_stall`: slow readers
    // cannot fill Tokio's blocking pool.
    let permit = state
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::ExportsBusy)?;
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(8);
    let board = state.board.clone();
    let runtime = tokio::runtime::Handle::current();
    let stall = state.export_stall;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            runtime,
            stall,
        };
        let result = board.export(&id, &head, out).and_then(|mut out| {
            out.flush()?;
            Ok(())
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, election = %id, "export stopped");
            // Cut the stream: a truncated export has no final checkpoint.
            let _ = tx.try_send(Err(io::Error::other("export failed")));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Bytes per chunk of the export stream.
const CHUNK: usize = 64 << 10;

/// A `Write` that sends full chunks into the response stream (blocking, for
/// at most `stall` per chunk).
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    runtime: tokio::runtime::Handle,
    stall: std::time::Duration,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let sent = self.runtime.block_on(tokio::time::timeout(
            self.stall,
            self.tx.send(Ok(Bytes::from(chunk))),
        ));
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client went away",
            )),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )),
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
