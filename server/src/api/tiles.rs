//! The board as C2SP `tlog-tiles` under each election's prefix:
//! `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]` (§6.10).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::board::tiles::TileId;
use crate::election::ElectionId;
use crate::sequencer::RejectionKind;

/// `Cache-Control` of a full tile: its bytes never change.
pub const FULL_TILE_CACHE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a partial tile and of the checkpoint: they are
/// replaced as the board grows.
pub const GROWING_CACHE: &str = "no-cache";

/// The `{id}` and `{*tile}` path parameters: an election and a canonical tile path.
pub struct TilePath(pub ElectionId, pub TileId);

impl<S: Send + Sync> FromRequestParts<S> for TilePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((id, tile)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::MalformedQuery(e.body_text()))?;
        let tile = TileId::parse(&tile).map_err(|e| {
            ApiError::reject(
                RejectionKind::Malformed,
                "malformed_tile_path",
                e.to_string(),
            )
        })?;
        Ok(TilePath(id.parse()?, tile))
    }
}

/// `GET /v1/elections/{id}/tile/{*tile}`: a hash tile or an entry bundle.
pub async fn tile(
    State(state): State<AppState>,
    TilePath(id, tile): TilePath,
) -> Result<Response, ApiError> {
    let bytes = state.board.tile(&id, &tile)?;
    let cache = if tile.is_full() {
        FULL_TILE_CACHE
    } else {
        GROWING_CACHE
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}
