//! Protection of the service: limits, rate limits, timeouts, and the layer
//! that turns every non-JSON error (from the body limit, the timeout, …)
//! into the API's JSON error shape.
//!
//! Rate limits are one token bucket per route class, shared by all clients:
//! nothing here records who sent a request (ballot casts must stay unlinkable
//! to network addresses).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::error::ApiError;

/// Kinds of routes, each with its own rate limit and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Health checks: never rate limited.
    Health,
    /// Reads of the board.
    Read,
    /// Appends to the board.
    Write,
}

/// The service's limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest roster import body, in bytes (a member line with its token
    /// digest is about 90 bytes: 16 MiB is some 180,000 members).
    pub max_roster_bytes: usize,
    /// Time allowed to a read request.
    pub read_timeout: Duration,
    /// Time allowed to a write request, queueing and fsync included.
    pub write_timeout: Duration,
    /// Read requests per second, all clients together (`None`: unlimited).
    pub read_rate: Option<NonZeroU32>,
    /// Write requests per second, all clients together (`None`: unlimited).
    pub write_rate: Option<NonZeroU32>,
    /// Requests handled at once; further ones wait.
    pub max_concurrent_requests: usize,
    /// Most entries in one page of `entries`.
    pub page_entries: u64,
    /// A page of `entries` ends after the entry reaching this many bytes.
    pub page_bytes: usize,
    /// Time allowed, once shutdown starts, for in-flight requests to finish.
    pub drain_timeout: Duration,
    /// Exports streamed at once; further ones get 503 `exports_busy`.
    pub max_exports: usize,
    /// Time an export may wait for its client to take the next chunk before it is cut.
    pub export_stall_timeout: Duration,
    /// Time, once shutdown starts, during which the service still accepts
    /// requests and answers each (writes with 503 `shutting_down`) with
    /// `Connection: close`, so that keep-alive clients learn of the shutdown
    /// from an answer rather than from a reset connection.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_roster_bytes: 16 << 20,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            read_rate: NonZeroU32::new(5000),
            write_rate: NonZeroU32::new(2000),
            max_concurrent_requests: 1024,
            page_entries: 1000,
            page_bytes: 4 << 20,
            drain_timeout: Duration::from_secs(30),
            max_exports: 16,
            export_stall_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_millis(500),
        }
    }
}

impl Limits {
    /// The timeout of a route class.
    pub fn timeout(&self, class: RouteClass) -> Duration {
        match class {
            RouteClass::Health | RouteClass::Read => self.read_timeout,
            RouteClass::Write => self.write_timeout,
        }
    }

    /// The rate of a route class.
    pub fn rate(&self, class: RouteClass) -> Option<NonZeroU32> {
        match class {
            RouteClass::Health => None,
            RouteClass::Read => self.read_rate,
            RouteClass::Write => self.write_rate,
        }
    }
}

/// A token bucket refilled at a fixed rate, bursting up to one second's worth.
pub struct RateLimit(DefaultDirectRateLimiter);

impl RateLimit {
    /// A limiter admitting `per_second` requests per second.
    pub fn new(per_second: NonZeroU32) -> Arc<Self> {
        Arc::new(Self(RateLimiter::direct(Quota::per_second(per_second))))
    }
}

/// Middleware: refuses the request with 429 when the class's bucket is empty.
pub async fn rate_limit(State(limit): State<Arc<RateLimit>>, req: Request, next: Next) -> Response {
    match limit.0.check() {
        Ok(()) => next.run(req).await,
        Err(_) => ApiError::RateLimited.into_response(),
    }
}

/// Response mapper: an error response that is not already JSON (from the
/// body-limit or timeout layers, or axum itself) becomes the JSON error of
/// its status.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
        // Only the timeout layer answers 503 without a JSON body.
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Timeout,
        StatusCode::NOT_FOUND => ApiError::NoRoute,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        s if s.is_client_error() => ApiError::MalformedRequest(format!("refused ({s})")),
        _ => ApiError::Internal,
    };
    error.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    async fn code_of(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (status, json["error"].as_str().unwrap().to_owned())
    }

    fn bare(status: StatusCode) -> Response {
        let mut r = Response::new(Body::from("plain text"));
        *r.status_mut() = status;
        r
    }

    #[tokio::test]
    async fn bare_error_responses_become_json_errors() {
        let cases = [
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            (StatusCode::NOT_FOUND, "no_route"),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "malformed_request"),
            (StatusCode::BAD_GATEWAY, "internal_error"),
        ];
        for (status, code) in cases {
            let (_, got) = code_of(json_errors(bare(status)).await).await;
            assert_eq!(got, code, "{status}");
        }
    }

    #[tokio::test]
    async fn json_errors_and_successes_pass_through() {
        let (status, code) =
            code_of(json_errors(ApiError::ShuttingDown.into_response()).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
        );
        let ok = json_errors(bare(StatusCode::OK)).await;
        let body = axum::body::to_bytes(ok.into_body(), 1 << 16).await.unwrap();
        assert_eq!(&body[..], b"plain text");
    }
}
