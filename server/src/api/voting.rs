//! Anonymous ballots, and the entries that trustees, lottery contributors
//! and auditors sign themselves.
//!
//! Nothing identifying is logged or stored for a ballot cast: the handler
//! logs nothing, rate limits are global, and the board holds only the
//! anonymous entry.

use axum::extract::State;
use axum::Json;
use urne_crypto::entry::{Ballot, EntryKind};
use urne_crypto::record::Phase;

use super::board::Receipt;
use super::error::ApiError;
use super::extract::{body, entry, ElectionPath, RawBody};
use super::AppState;
use crate::election::machine::rejection;
use crate::election::verification::VerificationError;
use crate::sequencer::{AppendRequest, LogRequirement, RejectionKind};

/// `POST /v1/elections/{id}/ballots`: casts an anonymous ballot.
///
/// The ballot is verified in full (credential, signature, proofs) before it
/// is sequenced, batched with the other ballots waiting (one batch per core
/// at a time); the record then applies it without verifying it again.
pub async fn cast(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    RawBody(bytes): RawBody,
) -> Result<Json<Receipt>, ApiError> {
    state.writable()?;
    let election = state.election(&id)?;
    let (entry, _) = entry(&bytes, &id, &[EntryKind::Ballot])?;
    let phase = election.snapshot().phase;
    if phase != Phase::Open {
        return Err(ApiError::reject(
            RejectionKind::Conflict,
            "out_of_phase",
            format!("ballot not allowed in phase {}", phase.name()),
        ));
    }
    super::members::voting_not_closed(&state, &election, "ballot")?;
    if !entry.is_anonymous() {
        return Err(ApiError::reject(
            RejectionKind::Invalid,
            "bad_signature",
            "a ballot carries no envelope signature",
        ));
    }
    let ballot: Ballot = body(&entry)?;
    let verifier = election.verifier().ok_or(ApiError::Internal)?;
    let verified = state
        .ballots
        .verify(verifier, &bytes, ballot)
        .await
        .map_err(|e| match e {
            VerificationError::Invalid(e) => ApiError::Rejected(rejection(&e)),
            VerificationError::Stopped => ApiError::ShuttingDown,
        })?;
    let mut request = AppendRequest::new(id, bytes.to_vec(), LogRequirement::Exists);
    request.mixable = true;
    request.context = Some(Box::new(verified));
    let appended = state.board.append(request).await?;
    Ok(Json(Receipt::first(&state.board, &id, &appended)?))
}

/// Kinds taken by `POST /v1/elections/{id}/entries`.
pub const SELF_SIGNED: [EntryKind; 7] = [
    EntryKind::DkgDealing,
    EntryKind::DkgComplaint,
    EntryKind::DkgAcknowledgement,
    EntryKind::DecryptionShare,
    EntryKind::LotteryCommit,
    EntryKind::LotteryReveal,
    EntryKind::Attestation,
];

/// `POST /v1/elections/{id}/entries`: an entry signed by its author
/// (trustee, lottery contributor, auditor); the record checks it in full.
pub async fn post_entry(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    RawBody(bytes): RawBody,
) -> Result<Json<Receipt>, ApiError> {
    state.writable()?;
    state.election(&id)?;
    entry(&bytes, &id, &SELF_SIGNED)?;
    let appended = state
        .board
        .append(AppendRequest::new(
            id,
            bytes.to_vec(),
            LogRequirement::Exists,
        ))
        .await?;
    Ok(Json(Receipt::first(&state.board, &id, &appended)?))
}
