//! The HTTP API under `/v1` (axum), described by `specs/openapi.yaml`.
//!
//! [`routes`] is the single table of routes: the router is built from it and
//! a test checks it against the OpenAPI description, both ways.

pub mod admin;
pub mod auth;
pub mod board;
pub mod elections;
pub mod error;
pub mod extract;
pub mod limits;
pub mod members;
pub mod test_support;
pub mod tiles;
pub mod voting;
pub mod web;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{self, MethodRouter};
use axum::Router;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::board::{Board, PageLimit};
use crate::election::registry::{Election, Elections};
use crate::election::verification::BallotChecker;
use crate::election::ElectionId;
use auth::OrganiserToken;
use error::ApiError;
use limits::{Limits, RateLimit, RouteClass};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The board.
    pub board: Arc<Board>,
    /// The elections on the board.
    pub elections: Arc<Elections>,
    /// The key of the board's own entries.
    pub signer: Arc<ed25519_dalek::SigningKey>,
    /// Ballot verification, in batches, one worker per core.
    pub ballots: BallotChecker,
    /// Digest of the organiser's token, if one is configured.
    pub organiser: Option<Arc<OrganiserToken>>,
    /// Bounds on pages of entries.
    pub page: PageLimit,
    /// Exports streaming now (at most `Limits::max_exports`).
    pub exports: Arc<tokio::sync::Semaphore>,
    /// How long an export waits for a client that does not read.
    pub export_stall: std::time::Duration,
    /// The board's clock.
    pub clock: crate::clock::BoardClock,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    /// State for a router over `board` and its `elections` (call within a
    /// Tokio runtime: it starts the ballot verification workers).
    pub fn new(
        board: Arc<Board>,
        elections: Arc<Elections>,
        organiser: Option<OrganiserToken>,
        limits: &Limits,
        clock: crate::clock::BoardClock,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            signer: Arc::new(board.entry_signing_key()),
            board,
            elections,
            ballots: BallotChecker::start(cores),
            organiser: organiser.map(Arc::new),
            page: PageLimit {
                entries: limits.page_entries,
                bytes: limits.page_bytes,
            },
            exports: Arc::new(tokio::sync::Semaphore::new(limits.max_exports.max(1))),
            export_stall: limits.export_stall_timeout,
            clock,
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

    /// Refuses writes once shutdown has begun.
    pub fn writable(&self) -> Result<(), ApiError> {
        if self.is_shutting_down() {
            Err(ApiError::ShuttingDown)
        } else {
            Ok(())
        }
    }

    /// The election with this id.
    pub fn election(&self, id: &ElectionId) -> Result<Arc<Election>, ApiError> {
        self.elections.get(id).ok_or(ApiError::UnknownElection)
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
    /// Takes bodies up to [`Limits::max_roster_bytes`] rather than
    /// [`Limits::max_body_bytes`].
    pub large_body: bool,
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
            large_body: false,
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
            large_body: false,
            handler: routing::post(handler),
        }
    }
}

impl Route {
    fn large(mut self) -> Self {
        self.large_body = true;
        self
    }
}

/// Every public route.
pub fn routes() -> Vec<Route> {
    use RouteClass::*;
    vec![
        Route::get("/", Read, web::index),
        Route::get("/assets/{file}", Read, web::asset),
        Route::get("/site.html", Read, web::site),
        Route::get("/elections", Read, web::site),
        Route::get("/elections/{id}", Read, web::site),
        Route::get("/client.sha256sums", Read, web::client_listing),
        Route::get("/v1/health", Health, board::health),
        Route::get("/v1/elections", Read, elections::list),
        Route::post("/v1/elections", Write, elections::create),
        Route::get("/v1/elections/{id}", Read, elections::status),
        Route::get("/v1/elections/{id}/manifest", Read, elections::manifest),
        Route::get("/v1/elections/{id}/entries/{index}", Read, elections::entry),
        Route::get("/v1/elections/{id}/export", Read, elections::export),
        Route::post("/v1/elections/{id}/roster", Write, members::roster).large(),
        Route::post(
            "/v1/elections/{id}/roster/reissue",
            Write,
            members::roster_reissue,
        ),
        Route::post("/v1/elections/{id}/enroll", Write, members::enroll),
        Route::post(
            "/v1/elections/{id}/credential/commit",
            Write,
            members::credential_commit,
        ),
        Route::post(
            "/v1/elections/{id}/credential/respond",
            Write,
            members::credential_respond,
        ),
        Route::post("/v1/elections/{id}/ballots", Write, voting::cast),
        Route::post("/v1/elections/{id}/entries", Write, voting::post_entry),
        Route::post(
            "/v1/elections/{id}/admin/election-key",
            Write,
            admin::election_key,
        ),
        Route::post("/v1/elections/{id}/admin/open", Write, admin::open),
        Route::post("/v1/elections/{id}/admin/close", Write, admin::close),
        Route::post("/v1/elections/{id}/admin/tally", Write, admin::tally),
        Route::post(
            "/v1/elections/{id}/admin/reveals-close",
            Write,
            admin::reveals_close,
        ),
        Route::post("/v1/elections/{id}/admin/beacon", Write, admin::beacon),
        Route::post("/v1/elections/{id}/admin/seats", Write, admin::seats),
        Route::post("/v1/elections/{id}/admin/cancel", Write, admin::cancel),
        Route::get("/v1/board-key", Read, board::board_key),
        Route::get(
            "/v1/elections/{id}/board-key",
            Read,
            board::election_board_key,
        ),
        Route::get("/v1/elections/{id}/checkpoint", Read, board::checkpoint),
        Route::get("/v1/elections/{id}/tile/{*tile}", Read, tiles::tile),
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

/// Middleware: once shutdown has begun, every request that changes state is
/// answered 503 `shutting_down`, and every answer carries `Connection: close`
/// so that no client sends another request on a connection about to close.
async fn closing_on_shutdown(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = if state.is_shutting_down() && request.method() == axum::http::Method::POST {
        ApiError::ShuttingDown.into_response()
    } else {
        next.run(request).await
    };
    // Checked again after the handler: shutdown may have begun while it ran
    // (and the handler then answered 503 itself), and that answer must close
    // the connection too.
    if !state.is_shutting_down() {
        return response;
    }
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// Routes for tests and benchmarks only, mounted only on request.
pub fn test_support_routes() -> Vec<Route> {
    vec![
        Route::post(
            "/v1/test-support/elections/{id}/entries",
            RouteClass::Write,
            test_support::append,
        ),
        Route::post(
            "/v1/test-support/elections/{id}/roster",
            RouteClass::Write,
            test_support::stopped_import,
        )
        .large(),
    ]
}

/// The application: routes with their per-class rate limits and timeouts,
/// inside the body limit, concurrency limit, tracing and JSON-error layers.
pub fn router(state: AppState, limits: &Limits, test_support: bool) -> Router {
    let mut all = routes();
    if test_support {
        all.extend(test_support_routes());
    }
    let state_for_shutdown = state.clone();
    let mut buckets: Vec<(RouteClass, Arc<RateLimit>)> = Vec::new();
    let mut router = Router::new();
    for route in all {
        let body_limit = if route.large_body {
            limits.max_roster_bytes
        } else {
            limits.max_body_bytes
        };
        let mut handler = route
            .handler
            .layer::<_, std::convert::Infallible>(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                limits.timeout(route.class),
            ))
            .layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(body_limit));
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
        .layer(ConcurrencyLimitLayer::new(limits.max_concurrent_requests))
        .layer(axum::middleware::from_fn_with_state(
            state_for_shutdown,
            closing_on_shutdown,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::map_response(limits::json_errors))
}
