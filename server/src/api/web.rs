//! The web app, embedded in the binary: the voter's page at `/`, the public
//! site at `/elections` and `/elections/{id}`, and their content-hashed
//! files under `/assets/`. The page may talk
//! only to this service (Content-Security-Policy), is never cached without
//! revalidation, and its hashed assets are immutable.
//!
//! The client digest (`specs/protocol.md` §3.10) is SHA-256 over the lines
//! `<sha256 hex of file>  <path>\n` of every bundle file sorted by path
//! (bytewise); it is sent with every file as `x-urne-client-digest`, and the
//! lines themselves are served at `/client.sha256sums`.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use urne_crypto::web_client;

use super::error::ApiError;

mod bundle {
    include!(concat!(env!("OUT_DIR"), "/web_bundle.rs"));
}

/// The bundle's files, sorted by path.
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    bundle::FILES
}

/// The listing of the embedded bundle (§3.10), served at `/client.sha256sums`.
pub fn listing() -> &'static str {
    static LISTING: OnceLock<String> = OnceLock::new();
    LISTING.get_or_init(|| web_client::listing(files().iter().map(|(p, b)| (*p, *b))))
}

/// The client digest of the embedded bundle, which new manifests record.
pub fn client_digest() -> [u8; 32] {
    web_client::digest(listing().as_bytes())
}

/// The policy of every page file: scripts, styles, wasm and requests from this origin only.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; worker-src 'self'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str, cache: &'static str) -> Response {
    let Some((_, bytes)) = files().iter().find(|(p, _)| *p == path) else {
        return ApiError::NoRoute.into_response();
    };
    let mut r = (StatusCode::OK, *bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(v) = HeaderValue::from_str(&hex::encode(client_digest())) {
        h.insert("x-urne-client-digest", v);
    }
    r
}

/// `GET /client.sha256sums`: the bundle's listing, whose SHA-256 is the
/// client digest, so that an auditor can fetch and check every file.
pub async fn client_listing() -> Response {
    let mut r = (StatusCode::OK, listing()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&hex::encode(client_digest())) {
        h.insert("x-urne-client-digest", v);
    }
    r
}

/// `GET /`: the voter web app's page.
pub async fn index() -> Response {
    serve("index.html", "no-cache")
}

/// `GET /elections`, `GET /elections/{id}` and, by its bundle path (§3.10),
/// `GET /site.html`: the public site's page (the elections list, an
/// election's results, lottery, board and verification).
pub async fn site() -> Response {
    serve("site.html", "no-cache")
}

/// `GET /assets/{file}`: a content-hashed file of the web app.
pub async fn asset(Path(file): Path<String>) -> Response {
    serve(
        &format!("assets/{file}"),
        "public, max-age=31536000, immutable",
    )
}
