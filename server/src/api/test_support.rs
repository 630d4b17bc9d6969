//! Routes for tests and benchmarks only: a generic append, and a roster
//! import stopped midway.
//!
//! Off unless the server is started with the hidden `--test-support-append`
//! flag; never part of the public API. The real append routes (manifest,
//! ballots, …) validate their entries; this one appends any bytes.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::auth::Organiser;
use super::board::Receipt;
use super::error::ApiError;
use super::extract::{ApiQuery, ElectionPath, RawBody};
use super::AppState;
use crate::sequencer::{AppendRequest, LogRequirement, RowWrite};
use crate::store::Table;

/// Table of the `unique` keys of test appends.
const UNIQUE: Table = Table::new("test_support_unique");

/// Query of the test append.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendQuery {
    /// Hex key that must not have been used by an earlier test append of the
    /// same election (exercises atomic row writes and their preconditions).
    unique: Option<String>,
}

/// `POST /v1/test-support/elections/{id}/entries`: appends the body as an entry.
pub async fn append(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<AppendQuery>,
    RawBody(body): RawBody,
) -> Result<Json<Receipt>, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    let mut request = AppendRequest::new(id, body.to_vec(), LogRequirement::Any);
    if let Some(unique) = q.unique {
        let key = hex::decode(&unique)
            .map_err(|_| ApiError::MalformedQuery("unique must be hex".into()))?;
        request.rows.push(RowWrite::insert_new(
            UNIQUE,
            key,
            Vec::new(),
            "duplicate_unique_key",
        ));
    }
    let appended = state.board.append(request).await?;
    Ok(Json(Receipt::first(&state.board, &id, &appended)?))
}

/// Query of the stopped roster import.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoppedImportQuery {
    /// Roster entries appended before the import stops, as if the service
    /// had stopped there.
    steps: usize,
}

/// `POST /v1/test-support/elections/{id}/roster`: a roster import that
/// stops after `steps` of its roster entries (409
/// `roster_import_in_progress` if it did not complete).
pub async fn stopped_import(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<StoppedImportQuery>,
    RawBody(body): RawBody,
) -> Result<Json<super::members::RosterImported>, ApiError> {
    super::members::import_roster(&state, id, body, Some(q.steps))
        .await
        .map(Json)
}
