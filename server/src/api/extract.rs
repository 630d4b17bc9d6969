//! Request extractors whose failures are [`ApiError`]s (so every rejection
//! is a JSON error with a stable code).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Entry, EntryError, EntryKind};
use urne_crypto::record::RecordError;

use super::error::ApiError;
use crate::election::machine::rejection;
use crate::election::ElectionId;
use crate::sequencer::RejectionKind;

/// The query string, deserialized into `T` (unknown parameters are refused
/// where `T` says `deny_unknown_fields`).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::MalformedQuery(e.body_text()))
    }
}

/// The `{id}` path parameter: an election id in canonical hex.
pub struct ElectionPath(pub ElectionId);

impl<S: Send + Sync> FromRequestParts<S> for ElectionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::MalformedQuery(e.body_text()))?;
        Ok(ElectionPath(id.parse()?))
    }
}

/// The raw request body, within the configured size limit.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
                _ => ApiError::MalformedBody(e.body_text()),
            })
    }
}

/// The `{id}` and `{index}` path parameters; the index is decimal in its
/// shortest form (no sign, no leading zero), so each entry has one URL.
pub struct EntryPath(pub ElectionId, pub u64);

impl<S: Send + Sync> FromRequestParts<S> for EntryPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((id, index)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::MalformedQuery(e.body_text()))?;
        let index = index
            .parse::<u64>()
            .ok()
            .filter(|_| index.bytes().all(|b| b.is_ascii_digit()))
            .filter(|_| index == "0" || !index.starts_with('0'))
            .ok_or_else(|| ApiError::MalformedQuery(format!("entry index {index:?}")))?;
        Ok(EntryPath(id.parse()?, index))
    }
}

/// Parses a JSON request body (whatever its declared type): syntax errors
/// are `malformed_json`, wrong or missing fields `invalid_json` (both 400).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let code = match e.classify() {
            serde_json::error::Category::Data => "invalid_json",
            _ => "malformed_json",
        };
        ApiError::reject(RejectionKind::Malformed, code, e.to_string())
    })
}

/// Decodes one canonical board entry for election `id`, of one of the
/// `expected` kinds (any other kind is `wrong_route`, 400).
pub fn entry(
    bytes: &[u8],
    id: &ElectionId,
    expected: &[EntryKind],
) -> Result<(Entry, EntryKind), ApiError> {
    let record_error = |e: RecordError| ApiError::Rejected(rejection(&e));
    let entry = Entry::from_bytes(bytes).map_err(|e| record_error(EntryError::from(e).into()))?;
    let kind = entry.kind().map_err(|e| record_error(e.into()))?;
    if !expected.contains(&kind) {
        let names: Vec<&str> = expected.iter().map(|k| k.name()).collect();
        return Err(ApiError::reject(
            RejectionKind::Malformed,
            "wrong_route",
            format!(
                "a {} entry is not taken here (this route takes: {})",
                kind.name(),
                names.join(", ")
            ),
        ));
    }
    if entry.election != id.0 {
        return Err(record_error(EntryError::WrongElection.into()));
    }
    Ok((entry, kind))
}

/// Decodes an entry's body (a body that does not decode is `malformed_entry`).
pub fn body<B: Canonical>(entry: &Entry) -> Result<B, ApiError> {
    entry
        .body()
        .map_err(|e| ApiError::Rejected(rejection(&e.into())))
}

/// Decodes `n` bytes of lowercase hex (`what` names the field in errors).
pub fn hex_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N], ApiError> {
    urne_crypto::text::decode_hex_array(text).map_err(|_| {
        ApiError::reject(
            RejectionKind::Malformed,
            "invalid_json",
            format!("{what} must be {} lowercase hex digits", 2 * N),
        )
    })
}
