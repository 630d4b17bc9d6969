//! The one error type of the HTTP API.
//!
//! Every error response is JSON `{"error": "<stable_code>", "message": "..."}`
//! with the status of its kind. Codes are part of the API (listed in
//! `specs/openapi.yaml`); messages are for people and may change.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::board::BoardError;
use crate::election::ElectionIdError;
use crate::sequencer::{AppendError, Rejection, RejectionKind};

/// An API error; converts into the JSON error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The election id in the path is not 64 lowercase hex digits (400).
    #[error("malformed election id: {0}")]
    MalformedElectionId(#[from] ElectionIdError),
    /// A query parameter is missing or malformed (400).
    #[error("malformed query: {0}")]
    MalformedQuery(String),
    /// The request is malformed in a way no finer code describes (400).
    #[error("malformed request: {0}")]
    MalformedRequest(String),
    /// The request body cannot be read or decoded (400).
    #[error("malformed body: {0}")]
    MalformedBody(String),
    /// Missing or wrong credentials (401).
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// The route needs a credential this server is not configured with (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such election (404).
    #[error("unknown election")]
    UnknownElection,
    /// A tree size or index past the board's current size (404).
    #[error("{requested} is beyond the board's size {size}")]
    BeyondHead {
        /// What was asked for.
        requested: u64,
        /// The board's size.
        size: u64,
    },
    /// No route for this path (404).
    #[error("no such route")]
    NoRoute,
    /// The route does not take this method (405).
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// A refusal with its own stable code: malformed (400), not entitled
    /// (401), conflicting with the state or out of phase (409), invalid in
    /// itself (422), or unable to read the state it needs (503).
    #[error("{}", .0.message)]
    Rejected(Rejection),
    /// The body exceeds the limit (413).
    #[error("request body too large")]
    BodyTooLarge,
    /// Well-formed but meaningless bounds, e.g. an index not below the tree size (422).
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// Too many requests of this class right now (429).
    #[error("rate limited; retry later")]
    RateLimited,
    /// The request did not complete in time (503).
    #[error("request timed out")]
    Timeout,
    /// The server is shutting down (503).
    #[error("the server is shutting down")]
    ShuttingDown,
    /// As many exports as the server streams at once are running (503).
    #[error("too many exports at once; retry later")]
    ExportsBusy,
    /// The board's storage failed; it takes no more entries until restarted (503).
    #[error("the board's storage is unavailable")]
    StorageUnavailable,
    /// A bug or unexpected state; details are in the server log (500).
    #[error("internal error")]
    Internal,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            MalformedElectionId(_) | MalformedQuery(_) | MalformedRequest(_) | MalformedBody(_) => {
                StatusCode::BAD_REQUEST
            }
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden(_) => StatusCode::FORBIDDEN,
            UnknownElection | BeyondHead { .. } | NoRoute => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejected(r) => match r.kind {
                RejectionKind::Malformed => StatusCode::BAD_REQUEST,
                RejectionKind::Unauthorized => StatusCode::UNAUTHORIZED,
                RejectionKind::Conflict => StatusCode::CONFLICT,
                RejectionKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            },
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidRange(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Timeout | ShuttingDown | ExportsBusy | StorageUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            MalformedElectionId(_) => "malformed_election_id",
            MalformedQuery(_) => "malformed_query",
            MalformedRequest(_) => "malformed_request",
            MalformedBody(_) => "malformed_body",
            Unauthorized => "unauthorized",
            Forbidden(_) => "forbidden",
            UnknownElection => "unknown_election",
            BeyondHead { .. } => "beyond_head",
            NoRoute => "no_route",
            MethodNotAllowed => "method_not_allowed",
            Rejected(r) => r.code,
            BodyTooLarge => "body_too_large",
            InvalidRange(_) => "invalid_range",
            RateLimited => "rate_limited",
            Timeout => "timeout",
            ShuttingDown => "shutting_down",
            ExportsBusy => "exports_busy",
            StorageUnavailable => "storage_unavailable",
            Internal => "internal_error",
        }
    }
}

impl ApiError {
    /// A refusal of the given kind with its own code.
    pub fn reject(kind: RejectionKind, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Rejected(Rejection::new(kind, code, message))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.leaves_body_unread() {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl ApiError {
    /// Whether this answer is given before the request body was read (too
    /// large, or refused by the rate limit first): the connection cannot
    /// carry another request, so the answer closes it rather than letting a
    /// keep-alive client write into a socket the server is closing.
    fn leaves_body_unread(&self) -> bool {
        matches!(self, ApiError::BodyTooLarge | ApiError::RateLimited)
    }
}

impl From<BoardError> for ApiError {
    fn from(e: BoardError) -> Self {
        match e {
            BoardError::UnknownElection => ApiError::UnknownElection,
            BoardError::BeyondHead { requested, size } => ApiError::BeyondHead { requested, size },
            BoardError::InvalidRange(m) => ApiError::InvalidRange(m),
            e @ BoardError::EntryTooLarge { .. } => ApiError::reject(
                RejectionKind::Invalid,
                "entry_too_large",
                format!("{e}; read it from entries/{{index}}"),
            ),
            other => {
                tracing::error!(error = %other, "board read failed");
                ApiError::Internal
            }
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::UnknownLog => ApiError::UnknownElection,
            AppendError::Rejected(r) => ApiError::Rejected(r),
            AppendError::ShuttingDown => ApiError::ShuttingDown,
            AppendError::Unavailable => ApiError::StorageUnavailable,
            AppendError::Internal => ApiError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn responses_are_json_with_stable_codes() {
        let cases = [
            (ApiError::MalformedQuery("x".into()), 400, "malformed_query"),
            (ApiError::UnknownElection, 404, "unknown_election"),
            (
                ApiError::Rejected(Rejection::conflict("credential_already_issued", "dup")),
                409,
                "credential_already_issued",
            ),
            (
                ApiError::Rejected(Rejection::invalid("bad_ballot", "no")),
                422,
                "bad_ballot",
            ),
            (ApiError::BodyTooLarge, 413, "body_too_large"),
            (ApiError::RateLimited, 429, "rate_limited"),
            (ApiError::ShuttingDown, 503, "shutting_down"),
            (ApiError::ExportsBusy, 503, "exports_busy"),
        ];
        for (error, status, code) in cases {
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let retry = response.headers().get(header::RETRY_AFTER).is_some();
            assert_eq!(retry, status == 429 || status == 503);
            let closes = response.headers().get(header::CONNECTION);
            assert_eq!(
                closes.is_some_and(|v| v == "close"),
                status == 413 || status == 429
            );
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["error"], code);
            assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
}
