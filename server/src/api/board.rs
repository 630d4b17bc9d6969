//! Read side of the board: entries, checkpoints, proofs, keys, health.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64ct::{Base64, Encoding};
use serde::{Deserialize, Serialize};
use urne_crypto::merkle::encode_hash_hex;

use super::error::ApiError;
use super::extract::{ApiQuery, ElectionPath};
use super::AppState;
use crate::board::Board;
use crate::election::ElectionId;
use crate::sequencer::{Appended, Head};

/// `GET /v1/health`.
pub async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    if !state.board.is_writable() {
        return Err(ApiError::StorageUnavailable);
    }
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// The board's public key, shared by every election's checkpoints.
#[derive(Serialize)]
pub struct BoardKeyInfo {
    /// Always `ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, hex.
    pub public_key: String,
}

/// `GET /v1/board-key`.
pub async fn board_key(State(state): State<AppState>) -> Json<BoardKeyInfo> {
    Json(BoardKeyInfo {
        algorithm: "ed25519",
        public_key: hex::encode(state.board.public_key()),
    })
}

/// `GET /v1/elections/{id}/board-key`: the election's note verifier key string.
pub async fn election_board_key(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<impl IntoResponse, ApiError> {
    let verifier = state.board.verifier(&id)?;
    Ok(text(verifier.to_vkey_string() + "\n"))
}

/// `GET /v1/elections/{id}/checkpoint`: the latest signed checkpoint note
/// (also the `tlog-tiles` checkpoint), never cached without revalidation.
pub async fn checkpoint(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<impl IntoResponse, ApiError> {
    let head = state.board.head(&id)?;
    let note = state
        .board
        .with_cosignatures(&id, head.size, &head.checkpoint)?;
    Ok((
        [(header::CACHE_CONTROL, super::tiles::GROWING_CACHE)],
        text(note),
    ))
}

fn text(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

/// Query of `entries`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    start: u64,
    end: Option<u64>,
}

/// A page of entries.
#[derive(Serialize)]
pub struct EntriesPage {
    /// Index of the first entry.
    pub start: u64,
    /// The board's size when read.
    pub size: u64,
    /// Entries, standard base64 with padding.
    pub entries: Vec<String>,
}

/// `GET /v1/elections/{id}/entries?start=&end=`.
pub async fn entries(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<Json<EntriesPage>, ApiError> {
    let page = state.board.entries(&id, q.start, q.end, state.page)?;
    Ok(Json(EntriesPage {
        start: page.start,
        size: page.size,
        entries: page
            .entries
            .iter()
            .map(|e| Base64::encode_string(e))
            .collect(),
    }))
}

/// Query of `proof/inclusion`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

/// An inclusion proof.
#[derive(Serialize)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// Audit path, leaf to root, hex.
    pub hashes: Vec<String>,
}

/// `GET /v1/elections/{id}/proof/inclusion?index=&size=`.
pub async fn inclusion_proof(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    let proof = state.board.inclusion_proof(&id, q.index, q.size)?;
    Ok(Json(InclusionProof {
        index: q.index,
        size: q.size,
        hashes: proof.iter().map(encode_hash_hex).collect(),
    }))
}

/// Query of `proof/consistency`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// A consistency proof.
#[derive(Serialize)]
pub struct ConsistencyProof {
    /// Older tree size.
    pub from: u64,
    /// Newer tree size.
    pub to: u64,
    /// Proof hashes, hex.
    pub hashes: Vec<String>,
}

/// `GET /v1/elections/{id}/proof/consistency?from=&to=`.
pub async fn consistency_proof(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let proof = state.board.consistency_proof(&id, q.from, q.to)?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to: q.to,
        hashes: proof.iter().map(encode_hash_hex).collect(),
    }))
}

/// The answer to an append: where the entry is, a checkpoint covering it,
/// and the proof that it is included in that checkpoint's tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    /// Leaf index of the entry.
    pub index: u64,
    /// Tree size of `checkpoint` (greater than `index`).
    pub size: u64,
    /// Signed checkpoint note for `size`.
    pub checkpoint: String,
    /// Inclusion proof of `index` in the tree of `size` leaves, hex, leaf to root.
    pub inclusion: Vec<String>,
}

impl Receipt {
    /// The receipt of the entry at `index` under `head`.
    pub fn of(board: &Board, log: &ElectionId, index: u64, head: &Head) -> Result<Self, ApiError> {
        let proof = board.inclusion_proof(log, index, head.size)?;
        Ok(Receipt {
            index,
            size: head.size,
            checkpoint: head.checkpoint.to_string(),
            inclusion: proof.iter().map(encode_hash_hex).collect(),
        })
    }

    /// The receipts of every entry of an append.
    pub fn all(
        board: &Board,
        log: &ElectionId,
        appended: &Appended,
    ) -> Result<Vec<Self>, ApiError> {
        appended
            .indices()
            .map(|i| Receipt::of(board, log, i, &appended.head))
            .collect()
    }

    /// The receipt of an append's (first) entry.
    pub fn first(board: &Board, log: &ElectionId, appended: &Appended) -> Result<Self, ApiError> {
        Receipt::of(board, log, appended.index, &appended.head)
    }
}
