//! The HTTP API under `/v1` (axum), described by `specs/openapi.yaml`.
//!
//! [`routes`] is the single table of routes: the router is built from it and
//! a test checks it against the OpenAPI description, both ways.

pub mod auth;
pub mod board;
pub mod error;
pub mod extract;
pub mod limits;
pub mod test_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{self, MethodRouter};
use axum::Router;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::board::{Board, PageLimit};
use auth::OrganiserToken;
use error::ApiError;
use limits::{Limits, RateLimit, RouteClass};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The board.
    pub board: Arc<Board>,
    /// Digest of the organiser's token, if one is configured.
    pub organiser: Option<Arc<OrganiserToken>>,
    /// Bounds on pages of entries.
    pub page: PageLimit,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    /// State for a router over `board`.
    pub fn new(board: Arc<Board>, organiser: Option<OrganiserToken>, limits: &Limits) -> Self {
        Self {
            board,
            organiser: organiser.map(Arc::new),
            page: PageLimit {
                entries: limits.page_entries,
                bytes: limits.page_bytes,
            },
            shutting_down: Arc::default(),
        }
    }

    /// Marks the server as shutting down: appends and health checks get 503.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}

/// One route: method, path (axum syntax, as in the OpenAPI file), class and handler.
pub struct Route {
    /// Lowercase HTTP method, as an OpenAPI operation key.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// Rate-limit and timeout class.
    pub class: RouteClass,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn get<H, T>(path: &'static str, class: RouteClass, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        Self {
            method: "get",
            path,
            class,
            handler: routing::get(handler),
        }
    }

    fn post<H, T>(path: &'static str, class: RouteClass, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        Self {
            method: "post",
            path,
            class,
            handler: routing::post(handler),
        }
    }
}

/// Every public route.
pub fn routes() -> Vec<Route> {
    use RouteClass::*;
    vec![
        Route::get("/v1/health", Health, board::health),
        Route::get("/v1/board-key", Read, board::board_key),
        Route::get(
            "/v1/elections/{id}/board-key",
            Read,
            board::election_board_key,
        ),
        Route::get("/v1/elections/{id}/checkpoint", Read, board::checkpoint),
        Route::get("/v1/elections/{id}/entries", Read, board::entries),
        Route::get(
            "/v1/elections/{id}/proof/inclusion",
            Read,
            board::inclusion_proof,
        ),
        Route::get(
            "/v1/elections/{id}/proof/consistency",
            Read,
            board::consistency_proof,
        ),
    ]
}

/// Routes for tests and benchmarks only, mounted only on request.
pub fn test_support_routes() -> Vec<Route> {
    vec![Route::post(
        "/v1/test-support/elections/{id}/entries",
        RouteClass::Write,
        test_support::append,
    )]
}

/// The application: routes with their per-class rate limits and timeouts,
/// inside the body limit, concurrency limit, tracing and JSON-error layers.
pub fn router(state: AppState, limits: &Limits, test_support: bool) -> Router {
    let mut all = routes();
    if test_support {
        all.extend(test_support_routes());
    }
    let mut buckets: Vec<(RouteClass, Arc<RateLimit>)> = Vec::new();
    let mut router = Router::new();
    for route in all {
        let mut handler = route.handler.layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout(route.class),
        ));
        if let Some(rate) = limits.rate(route.class) {
            let bucket = match buckets.iter().find(|(c, _)| *c == route.class) {
                Some((_, b)) => b.clone(),
                None => {
                    let b = RateLimit::new(rate);
                    buckets.push((route.class, b.clone()));
                    b
                }
            };
            handler = handler.layer(axum::middleware::from_fn_with_state(
                bucket,
                limits::rate_limit,
            ));
        }
        router = router.route(route.path, handler);
    }
    router
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(ConcurrencyLimitLayer::new(limits.max_concurrent_requests))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::map_response(limits::json_errors))
}
