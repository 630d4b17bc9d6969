//! The organiser's actions: entries the board computes from the record and
//! signs itself (election key, open, close, tallies, beacon, lottery seed
//! and seat results).
//!
//! Each action computes its entries from the record on the sequencer thread
//! (an ordered read), then appends them all or none; the record checks them
//! again as it applies them, so a concurrent change can only make the
//! append fail cleanly.

use std::sync::mpsc as sync_mpsc;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, BeaconValue, Entry, EntryKind, PhaseChange, RevealsClosed};
use urne_crypto::record::{BallotCheck, BallotHistory, Phase, Record, RecordError};

use super::auth::Organiser;
use super::board::Receipt;
use super::error::ApiError;
use super::extract::{json, ElectionPath, RawBody};
use super::AppState;
use crate::election::machine::{record_of, rejection};
use crate::election::ElectionId;
use crate::sequencer::{
    AppendRequest, LogRequirement, LogView, Rejection, RejectionKind, RemoveRequest,
};

/// The answer to an organiser action: the receipts of the appended entries.
#[derive(Debug, Serialize, Deserialize)]
pub struct Appended {
    /// One receipt per appended entry, in board order.
    pub receipts: Vec<Receipt>,
}

type Compute = dyn FnOnce(&Record, &SigningKey) -> Result<Vec<Entry>, RecordError> + Send;

/// Computes entries from the record (on the sequencer thread), then appends
/// them as one all-or-nothing batch.
async fn act(
    state: &AppState,
    id: ElectionId,
    compute: Box<Compute>,
) -> Result<Json<Appended>, ApiError> {
    state.writable()?;
    state.election(&id)?;
    let signer: Arc<SigningKey> = state.signer.clone();
    let entries: Vec<Entry> = state
        .board
        .check(id, move |view: &dyn LogView| {
            let record = record_of(view)?;
            let entries = compute(record, &signer).map_err(|e| rejection(&e))?;
            Ok((entries, Vec::new()))
        })
        .await?;
    if entries.is_empty() {
        return Err(ApiError::reject(
            RejectionKind::Conflict,
            "duplicate",
            "nothing left to post",
        ));
    }
    let bytes = entries.iter().map(Canonical::to_bytes).collect();
    let appended = state
        .board
        .append(AppendRequest::batch(id, bytes, LogRequirement::Exists))
        .await?;
    Ok(Json(Appended {
        receipts: Receipt::all(&state.board, &id, &appended)?,
    }))
}

/// Refuses an action outside its phases before computing anything.
fn require(record: &Record, kind: EntryKind, phases: &[Phase]) -> Result<(), RecordError> {
    if phases.contains(&record.phase()) {
        Ok(())
    } else {
        Err(RecordError::OutOfPhase {
            kind: kind.name(),
            phase: record.phase().name(),
        })
    }
}

/// `POST /v1/elections/{id}/admin/election-key`: publishes the election key
/// the key-generation transcript determines.
pub async fn election_key(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Appended>, ApiError> {
    act(
        &state,
        id,
        Box::new(move |record, key| {
            require(record, EntryKind::ElectionKey, &[Phase::Setup])?;
            let k = record.compute_election_key()?;
            Ok(vec![Entry::signed(EntryKind::ElectionKey, id.0, &k, key)])
        }),
    )
    .await
}

fn phase_change(kind: EntryKind, id: ElectionId, at: u64) -> Box<Compute> {
    Box::new(move |_, key| Ok(vec![Entry::signed(kind, id.0, &PhaseChange { at }, key)]))
}

/// `POST /v1/elections/{id}/admin/open`: opens issuance and voting.
pub async fn open(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Appended>, ApiError> {
    let at = state.clock.now();
    act(&state, id, phase_change(EntryKind::Open, id, at)).await
}

/// `POST /v1/elections/{id}/admin/close`: closes voting.
pub async fn close(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Appended>, ApiError> {
    let at = state.clock.now();
    act(&state, id, phase_change(EntryKind::Close, id, at)).await
}

/// `POST /v1/elections/{id}/admin/tally`: posts the tally of every
/// constituency not yet tallied, combined from the first `threshold` valid
/// decryption shares of each.
pub async fn tally(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Appended>, ApiError> {
    act(
        &state,
        id,
        Box::new(move |record, key| {
            require(record, EntryKind::Tally, &[Phase::Closed])?;
            record
                .manifest()
                .constituencies
                .iter()
                .filter(|c| record.tally(&c.id).is_none())
                .map(|c| {
                    let (have, need) = (
                        record.share_trustees(&c.id).len(),
                        record.manifest().threshold as usize,
                    );
                    if have < need {
                        return Err(RecordError::Missing(format!(
                            "decryption shares of {}: {have} of {need}",
                            c.id
                        )));
                    }
                    let t = record.compute_tally(&c.id)?;
                    Ok(Entry::signed(EntryKind::Tally, id.0, &t, key))
                })
                .collect()
        }),
    )
    .await
}

/// `POST /v1/elections/{id}/admin/reveals-close`: ends the reveal window,
/// naming the contributors without a valid reveal. Refused once the beacon
/// round is published (the lottery then cannot be drawn unbiased).
pub async fn reveals_close(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Appended>, ApiError> {
    let at = state.clock.now();
    act(
        &state,
        id,
        Box::new(move |record, key| {
            require(record, EntryKind::RevealsClosed, &[Phase::Closed])?;
            let closed = RevealsClosed {
                at,
                withheld: record.withheld_now(),
            };
            Ok(vec![Entry::signed(
                EntryKind::RevealsClosed,
                id.0,
                &closed,
                key,
            )])
        }),
    )
    .await
}

/// `POST /v1/elections/{id}/admin/beacon`: DRBG method `{round, signature}`
/// (the drand round the manifest names), RFC 3797 method `{values}` (one list
/// per declared source).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconRequest {
    /// The drand round.
    #[serde(default)]
    pub round: u64,
    /// The round's BLS signature, hex.
    #[serde(default)]
    pub signature: String,
    /// The RFC 3797 sources' published values, in manifest order.
    #[serde(default)]
    pub values: Vec<Vec<u64>>,
}

/// `POST /v1/elections/{id}/admin/beacon`: posts the beacon round, which the
/// record verifies against the manifest's network before it is accepted.
pub async fn beacon(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
    RawBody(raw): RawBody,
) -> Result<Json<Appended>, ApiError> {
    state.election(&id)?;
    let request: BeaconRequest = json(&raw)?;
    let signature = urne_crypto::text::decode_hex(&request.signature)
        .ok()
        .ok_or_else(|| {
            ApiError::reject(
                RejectionKind::Malformed,
                "invalid_json",
                "signature must be lowercase hex",
            )
        })?;
    let value = BeaconValue {
        round: request.round,
        signature,
        values: request.values,
    };
    act(
        &state,
        id,
        Box::new(move |_, key| Ok(vec![Entry::signed(EntryKind::Beacon, id.0, &value, key)])),
    )
    .await
}

/// The history of a record applied to entries that never consult earlier
/// ballots (the seed entry; a roster import's trial run).
pub(super) struct NoHistory;

impl BallotHistory for NoHistory {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        Err(format!("entry {index} is not needed here"))
    }
}

/// `POST /v1/elections/{id}/admin/seats`: posts the lottery seed (if not
/// yet posted), then the seat result of every constituency without one.
pub async fn seats(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Appended>, ApiError> {
    act(
        &state,
        id,
        Box::new(move |record, key| {
            require(
                record,
                EntryKind::SeatResult,
                &[Phase::Closed, Phase::Seated],
            )?;
            let mut entries = Vec::new();
            let seeded;
            let record = if record.seed().is_none() {
                let seed = Entry::signed(EntryKind::Seed, id.0, &record.compute_seed()?, key);
                // The seat results follow the seed: compute them on a copy
                // of the record with the seed applied.
                let mut copy = record.clone();
                copy.apply(&seed, BallotCheck::Deferred, &NoHistory)?;
                entries.push(seed);
                seeded = copy;
                &seeded
            } else {
                record
            };
            for c in &record.manifest().constituencies {
                if record.seat_result(&c.id).is_none() {
                    let r = record.compute_seats(&c.id)?;
                    entries.push(Entry::signed(EntryKind::SeatResult, id.0, &r, key));
                }
            }
            Ok(entries)
        }),
    )
    .await
}

/// The answer to `POST /v1/elections/{id}/admin/cancel`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cancelled {
    /// The removed election's id, hex.
    pub election: String,
    /// How many entries its board held (the manifest and roster entries).
    pub entries: u64,
}

/// `POST /v1/elections/{id}/admin/cancel`: removes an election that nothing
/// depends on yet, with its whole board.
///
/// Allowed while the board holds only the organiser's own entries, the
/// manifest and the roster: no member has enrolled, no trustee has dealt, no
/// contributor has committed and no auditor has attested, so nobody else
/// holds a receipt that the removal would contradict. Refused otherwise
/// with 409 `election_in_use`, naming the first other entry.
pub async fn cancel(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
) -> Result<Json<Cancelled>, ApiError> {
    state.writable()?;
    state.election(&id)?;
    let (tx, rx) = sync_mpsc::sync_channel(1);
    let check = move |view: &dyn LogView| {
        for index in 0..view.size() {
            let bytes = view
                .entry(index)
                .map_err(crate::api::members::unavailable)?
                .ok_or_else(|| crate::api::members::unavailable("a committed entry is missing"))?;
            let kind = Entry::from_bytes(&bytes).ok().and_then(|e| e.kind().ok());
            if !matches!(kind, Some(EntryKind::Manifest | EntryKind::Roster)) {
                let what = kind.map_or("unreadable", EntryKind::name);
                return Err(Rejection::conflict(
                    "election_in_use",
                    format!(
                        "entry {index} is a {what} entry: someone other than the organiser has \
                         written to this board, so the election can no longer be cancelled"
                    ),
                ));
            }
        }
        let _ = tx.send(view.size());
        Ok(Vec::new())
    };
    state
        .board
        .remove(RemoveRequest {
            log: id,
            check: Box::new(check),
        })
        .await?;
    state.elections.remove(&id);
    let entries = rx.try_recv().map_err(|_| ApiError::Internal)?;
    tracing::info!(election = %id, entries, "election cancelled");
    Ok(Json(Cancelled {
        election: id.to_hex(),
        entries,
    }))
}
