//! Members: the roster import (organiser), enrolment with a one-time token,
//! and the two rounds of credential issuance.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use urne_crypto::credential::{BlindChallenge, CredentialContext, CredentialError, SignerState};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{
    enrolment_token_digest, Enrollment, Entry, EntryError, EntryKind, Issuance, Roster,
};
use urne_crypto::group::os_rng;
use urne_crypto::record::{BallotCheck, Phase, Record, RecordError};

use super::admin::NoHistory;
use urne_crypto::voter::verify_commit_request;
use zeroize::Zeroizing;

use super::auth::Organiser;
use super::board::Receipt;
use super::error::ApiError;
use super::extract::{body, entry, hex_array, json, ElectionPath, RawBody};
use super::AppState;
use crate::board::Board;
use crate::election::machine::{record_of, rejection};
use crate::election::registry::Election;
use crate::election::roster::{self, CHUNK};
use crate::election::tables::{
    read_u32, read_u64, u32_key, u64_value, ImportProgress, ENROLMENT_TOKENS, ISSUANCES, ROSTER,
    ROSTER_COMMITTING, ROSTER_COMMITTING_KEY, ROSTER_IMPORTS, ROSTER_STAGED_ENTRIES,
    ROSTER_SUPERSEDED, SIGNER_STATES, USED_TOKENS,
};
use crate::election::ElectionId;
use crate::sequencer::{
    AppendError, AppendRequest, LogRequirement, Rejection, RejectionKind, RowWrite,
};

/// Refuses a request outside the phases it belongs to, from the committed
/// snapshot (the record checks again when the entry is sequenced).
fn phase(election: &Election, allowed: &[Phase], what: &str) -> Result<(), ApiError> {
    let phase = election.snapshot().phase;
    if allowed.contains(&phase) {
        Ok(())
    } else {
        Err(ApiError::reject(
            RejectionKind::Conflict,
            "out_of_phase",
            format!("{what} not allowed in phase {}", phase.name()),
        ))
    }
}

/// Refuses a credential request unless the election key is published and
/// voting has not closed: credentials are taken before the vote opens, so
/// that the board order does not link them to their ballots (§10).
fn issuance_window(state: &AppState, election: &Election, what: &str) -> Result<(), ApiError> {
    phase(election, &[Phase::Setup, Phase::Open], what)?;
    let snapshot = election.snapshot();
    if snapshot.election_key.is_none() {
        return Err(ApiError::reject(
            RejectionKind::Conflict,
            "out_of_phase",
            format!("{what} not allowed before the election key is published"),
        ));
    }
    voting_not_closed(state, election, what)
}

/// Refuses a request for the vote once the manifest's `voting_closes` has
/// passed on the board's clock, even before the organiser posts the close.
pub fn voting_not_closed(
    state: &AppState,
    election: &Election,
    what: &str,
) -> Result<(), ApiError> {
    let closes = election.manifest().voting_closes;
    if state.clock.now() >= closes {
        return Err(ApiError::reject(
            RejectionKind::Conflict,
            "voting_closed",
            format!("{what} refused: voting closed at {closes} (the manifest's voting_closes)"),
        ));
    }
    Ok(())
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> Rejection {
    tracing::error!(error = %e, "store read failed in a check");
    Rejection::new(
        RejectionKind::Unavailable,
        "storage_unavailable",
        "the board's storage is unavailable",
    )
}

/// The answer to a roster import.
#[derive(Debug, Serialize, Deserialize)]
pub struct RosterImported {
    /// Members imported.
    pub members: u64,
    /// Receipt of the first roster entry.
    pub receipt: Receipt,
    /// Receipts of every roster entry (one per 5000 members).
    pub receipts: Vec<Receipt>,
}

/// The key under which an import is remembered: a digest of its roster
/// entries and its token digests, so that the same import again is known.
fn import_digest(entries: &[Vec<u8>], lines: &[roster::RosterLine]) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    parts.extend(lines.iter().map(|l| &l.token_digest[..]));
    urne_crypto::hash::tagged("urne/v1/roster-import", &parts)
}

/// An import's progress row, if it has one.
fn import_progress(
    board: &Board,
    id: &ElectionId,
    key: &[u8],
) -> Result<Option<ImportProgress>, ApiError> {
    match board.row(id, ROSTER_IMPORTS, key)? {
        None => Ok(None),
        Some(row) => ImportProgress::decode(&row)
            .map(Some)
            .ok_or(ApiError::Internal),
    }
}

/// Whether the import of key `import` is complete: until then its staged
/// rows do not count (§8.6).
fn import_complete(state: &AppState, id: &ElectionId, import: &[u8]) -> Result<bool, ApiError> {
    Ok(import_progress(&state.board, id, import)?.is_some_and(|p| p.is_complete()))
}

/// The answer to an import complete on the board (a retry whose first
/// answer was lost), or `None` if this import is not complete.
async fn imported_before(
    state: &AppState,
    id: &ElectionId,
    key: &[u8; 32],
    entries: &[Vec<u8>],
    members: u64,
) -> Result<Option<RosterImported>, ApiError> {
    let Some(progress) =
        import_progress(&state.board, id, key)?.filter(ImportProgress::is_complete)
    else {
        return Ok(None);
    };
    if progress.count != entries.len() as u64 {
        tracing::error!(election = %id, "a remembered roster import differs from the board");
        return Err(ApiError::Internal);
    }
    let last = progress.indices.last().copied().ok_or(ApiError::Internal)?;
    // The row may be seen just before its commit is published.
    let mut head = state.board.head(id)?;
    for _ in 0..100 {
        if head.size > last {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        head = state.board.head(id)?;
    }
    if head.size <= last {
        return Err(ApiError::StorageUnavailable);
    }
    for (&index, bytes) in progress.indices.iter().zip(entries) {
        let page = state
            .board
            .entries(id, index, Some(index + 1), state.page)?;
        if page.entries.first() != Some(bytes) {
            tracing::error!(election = %id, "a remembered roster import differs from the board");
            return Err(ApiError::Internal);
        }
    }
    let receipts = progress
        .indices
        .iter()
        .map(|&i| Receipt::of(&state.board, id, i, &head))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(RosterImported {
        members,
        receipt: receipts.first().cloned().ok_or(ApiError::Internal)?,
        receipts,
    }))
}

/// Members whose rows one staging commit of a roster import writes.
const STAGE_MEMBERS: usize = 250;

/// One member as an import stages it: token digest, member id, constituency index.
type StagedMember = ([u8; 32], [u8; 32], u32);

/// One staging group of an import (the first with `first`): for each
/// member, the token row `digest → member ‖ import key` (written if absent,
/// kept if already staged by this import, refused otherwise) and the
/// constituency row `member → u32be(constituency) ‖ import key` (written if
/// absent or staged by an import that was never committed, which is then
/// marked superseded; kept if staged by this import; refused if a committed
/// import holds the member, who is on the roster already). The first group
/// clears this import's own superseded mark: every row it needs is staged
/// again after it.
fn stage(
    view: &dyn crate::sequencer::LogView,
    import: &[u8; 32],
    staged: &[StagedMember],
    first: bool,
) -> Result<Vec<RowWrite>, Rejection> {
    let record = record_of(view)?;
    if record.phase() != Phase::Setup {
        return Err(Rejection::conflict(
            "out_of_phase",
            "roster refused: the election is no longer in setup",
        ));
    }
    let mut rows = Vec::with_capacity(2 * staged.len() + 1);
    if first {
        rows.push(RowWrite::upsert(
            ROSTER_SUPERSEDED,
            import.to_vec(),
            Vec::new(),
        ));
    }
    for (digest, member, constituency) in staged {
        let mut value = member.to_vec();
        value.extend_from_slice(import);
        match view.get(ENROLMENT_TOKENS, digest).map_err(unavailable)? {
            None => rows.push(RowWrite::upsert(ENROLMENT_TOKENS, digest.to_vec(), value)),
            Some(v) if v == value => {}
            Some(_) => {
                return Err(Rejection::conflict(
                    "token_collision",
                    "this enrolment_tokens entry already exists",
                ))
            }
        }
        let mut value = u32_key(*constituency);
        value.extend_from_slice(import);
        match view.get(ROSTER, member).map_err(unavailable)? {
            None => rows.push(RowWrite::upsert(ROSTER, member.to_vec(), value)),
            Some(v) if v == value => {}
            Some(v) => {
                let holder = v.get(4..).filter(|h| h.len() == 32);
                let committed = match holder {
                    Some(h) => view.get(ROSTER_IMPORTS, h).map_err(unavailable)?.is_some(),
                    None => true,
                };
                if committed {
                    return Err(Rejection::conflict(
                        "duplicate",
                        "a member of this roster is already on the roster",
                    ));
                }
                if let Some(h) = holder {
                    rows.push(RowWrite::upsert(
                        ROSTER_SUPERSEDED,
                        h.to_vec(),
                        import.to_vec(),
                    ));
                }
                rows.push(RowWrite::upsert(ROSTER, member.to_vec(), value));
            }
        }
    }
    Ok(rows)
}

/// The member a token digest enrols, if its import is committed: a token row
/// holds the member, followed by its import's key while the import was
/// staged (a reissued token holds the member alone).
fn token_member(
    state: &AppState,
    id: &ElectionId,
    digest: &[u8; 32],
) -> Result<Option<[u8; 32]>, ApiError> {
    let Some(row) = state.board.row(id, ENROLMENT_TOKENS, digest)? else {
        return Ok(None);
    };
    let (member, import) = match row.len() {
        32 => (&row[..], None),
        64 => (&row[..32], Some(&row[32..])),
        _ => return Err(ApiError::Internal),
    };
    if let Some(import) = import {
        if !import_complete(state, id, import)? {
            return Ok(None);
        }
    }
    Ok(Some(member.try_into().map_err(|_| ApiError::Internal)?))
}

/// A roster import made ready: its lines, its roster entries (canonical
/// bytes) and its import key.
type PreparedImport = (Vec<roster::RosterLine>, Vec<Vec<u8>>, [u8; 32]);

/// Parses a roster import and builds its entries and its import key; the
/// entries are tried on a record of the manifest alone, so that none of
/// them can be refused once the first is on the board (the rows staged
/// refuse what depends on the rest of the roster: members already on it).
fn prepare_import(
    text: &[u8],
    id: &ElectionId,
    election: &Election,
    manifest: &[u8],
    signer: &ed25519_dalek::SigningKey,
) -> Result<PreparedImport, ApiError> {
    let lines = roster::parse(text, id.as_bytes(), election.manifest()).map_err(|e| {
        let code = match e {
            roster::RosterError::Text { .. } => "invalid_text",
            _ => "invalid_roster",
        };
        ApiError::reject(RejectionKind::Invalid, code, e.to_string())
    })?;
    let entries: Vec<Vec<u8>> = lines
        .chunks(CHUNK)
        .map(|chunk| {
            let body = Roster {
                members: chunk.iter().map(|l| l.member.clone()).collect(),
            };
            Entry::signed(EntryKind::Roster, id.0, &body, signer).to_bytes()
        })
        .collect();
    let key = import_digest(&entries, &lines);
    let manifest = Entry::from_bytes(manifest).map_err(|_| ApiError::Internal)?;
    let mut trial = Record::open(&manifest).map_err(|_| ApiError::Internal)?;
    for bytes in &entries {
        let entry = Entry::from_bytes(bytes).map_err(|_| ApiError::Internal)?;
        trial
            .apply(&entry, BallotCheck::Full, &NoHistory)
            .map_err(|e| ApiError::Rejected(rejection(&e)))?;
    }
    Ok((lines, entries, key))
}

/// `POST /v1/elections/{id}/roster`: imports a roster CSV whose lines carry
/// the digests of the members' enrolment tokens (drawn and kept by the
/// organiser's client, so no answer ever holds a secret).
///
/// Appends the members as roster entries (5000 per entry, all or none) with
/// the token digests. The same import again (same lines, same digests) gets
/// the same answer and appends nothing; any other roster naming a member
/// already on the board is refused.
pub async fn roster(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
    RawBody(text): RawBody,
) -> Result<Json<RosterImported>, ApiError> {
    import_roster(&state, id, text, None).await.map(Json)
}

/// A roster import (§8.6), from the CSV to the answer; with `steps`, only
/// that many of its roster entries are appended, as when the service stops
/// midway (for tests: the next start, or the same import again, finishes
/// it).
pub(super) async fn import_roster(
    state: &AppState,
    id: ElectionId,
    text: axum::body::Bytes,
    steps: Option<usize>,
) -> Result<RosterImported, ApiError> {
    state.writable()?;
    let election = state.election(&id)?;
    let manifest = state
        .board
        .entries(&id, 0, Some(1), state.page)?
        .entries
        .into_iter()
        .next()
        .ok_or(ApiError::Internal)?;
    // Parsing, signing, hashing and trying 10⁵ lines takes a while: off the
    // runtime's threads, so that other requests go on meanwhile.
    let (lines, entries, key) = {
        let election = election.clone();
        let signer = state.signer.clone();
        tokio::task::spawn_blocking(move || {
            prepare_import(&text, &id, &election, &manifest, &signer)
        })
        .await
        .map_err(|_| ApiError::Internal)??
    };
    let members = lines.len() as u64;
    if let Some(answer) = imported_before(state, &id, &key, &entries, members).await? {
        return Ok(answer);
    }
    phase(&election, &[Phase::Setup], "roster")?;
    // Staged: the token and constituency rows go first, in bounded groups,
    // each its own commit, so that other requests run in between; then each
    // roster entry's bytes, so that the import can be finished after a stop;
    // then the roster entries, one per commit (§8.6). A staged token works
    // only once its import is complete.
    for (n, group) in lines.chunks(STAGE_MEMBERS).enumerate() {
        let staged: Vec<StagedMember> = group
            .iter()
            .map(|l| (l.token_digest, l.member.member, l.constituency as u32))
            .collect();
        state
            .board
            .check(id, move |view: &dyn crate::sequencer::LogView| {
                Ok(((), stage(view, &key, &staged, n == 0)?))
            })
            .await?;
    }
    for (n, bytes) in entries.iter().enumerate() {
        let row = RowWrite::upsert(
            ROSTER_STAGED_ENTRIES,
            staged_entry_key(&key, n),
            bytes.clone(),
        );
        state
            .board
            .check(id, move |_: &dyn crate::sequencer::LogView| {
                Ok(((), vec![row]))
            })
            .await?;
    }
    // Appended by a task of its own, which goes on if this request is
    // dropped (a client that hangs up must not leave the import midway).
    let entries = std::sync::Arc::new(entries);
    let driver = {
        let (board, entries) = (state.board.clone(), entries.clone());
        tokio::spawn(async move { append_import(&board, id, key, &entries, steps).await })
    };
    driver.await.map_err(|_| ApiError::Internal)??;
    match imported_before(state, &id, &key, &entries, members).await? {
        Some(answer) => {
            tracing::info!(election = %id, members, "roster imported");
            Ok(answer)
        }
        // Only when `steps` stopped the import midway.
        None => Err(ApiError::reject(
            RejectionKind::Conflict,
            "roster_import_in_progress",
            "the roster import is not complete yet; send it again",
        )),
    }
}

/// The key of roster entry `n` of an import in [`ROSTER_STAGED_ENTRIES`].
fn staged_entry_key(import: &[u8; 32], n: usize) -> Vec<u8> {
    let mut key = import.to_vec();
    key.extend(u32_key(n as u32));
    key
}

/// Reads the `count` staged roster entries of an import.
fn read_staged_entries(
    board: &Board,
    id: &ElectionId,
    import: &[u8; 32],
    count: usize,
) -> Result<Vec<Vec<u8>>, ApiError> {
    (0..count)
        .map(|n| {
            board
                .row(id, ROSTER_STAGED_ENTRIES, &staged_entry_key(import, n))?
                .ok_or(ApiError::Internal)
        })
        .collect()
}

/// How long an import waits for another one to finish appending.
const COMMITTING_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Appends the roster entries of a staged import, one per commit, from the
/// first not yet on the board (at most `steps` of them): the first commit
/// writes its progress row (from then on its members are taken, §8.6) and
/// marks it as the election's import being appended; each next one lists
/// its index; the last one clears the mark and the staged bytes. Each step
/// checks the progress it extends, so several drivers of one import (a
/// retry, the start-up) append each entry once.
async fn append_import(
    board: &Board,
    id: ElectionId,
    key: [u8; 32],
    entries: &[Vec<u8>],
    steps: Option<usize>,
) -> Result<(), ApiError> {
    let count = entries.len() as u64;
    let mut taken = 0;
    let waiting_since = std::time::Instant::now();
    loop {
        let done = match import_progress(board, &id, &key)? {
            None => 0,
            Some(progress) if progress.count == count => progress.indices.len(),
            Some(_) => return Err(ApiError::Internal),
        };
        if done as u64 == count || steps.is_some_and(|s| taken >= s) {
            return Ok(());
        }
        let mut request = AppendRequest::new(id, entries[done].clone(), LogRequirement::Exists);
        request.check = Some(Box::new(move |view: &dyn crate::sequencer::LogView| {
            append_step(view, &key, count, done)
        }));
        match board.append(request).await {
            Ok(_) => taken += 1,
            // Another driver appended this step: read the progress again.
            Err(AppendError::Rejected(r)) if r.code == "roster_step_taken" => {}
            // Another import is appending its entries: wait for it.
            Err(AppendError::Rejected(r))
                if r.code == "roster_import_in_progress"
                    && waiting_since.elapsed() < COMMITTING_WAIT =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The rows of step `done` of an import of `count` roster entries (see
/// [`append_import`]), checked against the progress it extends.
fn append_step(
    view: &dyn crate::sequencer::LogView,
    key: &[u8; 32],
    count: u64,
    done: usize,
) -> Result<Vec<RowWrite>, Rejection> {
    let taken = || Rejection::conflict("roster_step_taken", "this roster entry is on the board");
    let progress = match view.get(ROSTER_IMPORTS, key).map_err(unavailable)? {
        Some(row) => ImportProgress::decode(&row).ok_or_else(|| unavailable("progress row"))?,
        None => ImportProgress {
            count,
            indices: Vec::new(),
        },
    };
    if progress.indices.len() != done {
        return Err(taken());
    }
    let committing = view
        .get(ROSTER_COMMITTING, ROSTER_COMMITTING_KEY)
        .map_err(unavailable)?
        .unwrap_or_default();
    if done == 0 {
        let superseded = view.get(ROSTER_SUPERSEDED, key).map_err(unavailable)?;
        if superseded.is_some_and(|by| !by.is_empty()) {
            return Err(Rejection::conflict(
                "roster_import_superseded",
                "another roster import took over members of this one while it was staged; \
                 send this import again",
            ));
        }
    }
    // The first step finds no import midway; each next one finds its own.
    let ours = if done == 0 { &[][..] } else { &key[..] };
    if committing != ours {
        return Err(Rejection::conflict(
            "roster_import_in_progress",
            "another roster import of this election is being appended",
        ));
    }
    let mut progress = progress;
    progress.indices.push(view.size());
    let last = progress.is_complete();
    let mut rows = vec![RowWrite::upsert(
        ROSTER_IMPORTS,
        key.to_vec(),
        progress.encode(),
    )];
    let mark = if last { Vec::new() } else { key.to_vec() };
    rows.push(RowWrite::upsert(
        ROSTER_COMMITTING,
        ROSTER_COMMITTING_KEY.to_vec(),
        mark,
    ));
    if last {
        rows.extend((0..count as usize).map(|n| {
            RowWrite::upsert(ROSTER_STAGED_ENTRIES, staged_entry_key(key, n), Vec::new())
        }));
    }
    Ok(rows)
}

/// Finishes, at start-up, every roster import that was cut off while its
/// entries were appended (§8.6), before the service takes requests. One
/// that cannot be finished is logged and left as it is: its tokens do not
/// work, the election does not open, and the same import sent again tries
/// once more.
pub async fn resume_imports(board: &Board) {
    for (id, _) in board.logs() {
        if let Err(e) = resume_import(board, id).await {
            tracing::error!(election = %id, error = %e, "a roster import cut off midway could not be finished");
        }
    }
}

/// Finishes election `id`'s roster import cut off midway, if any.
async fn resume_import(board: &Board, id: ElectionId) -> Result<(), ApiError> {
    let Some(key) = board.row(&id, ROSTER_COMMITTING, ROSTER_COMMITTING_KEY)? else {
        return Ok(());
    };
    if key.is_empty() {
        return Ok(());
    }
    let key = <[u8; 32]>::try_from(key.as_slice()).map_err(|_| ApiError::Internal)?;
    let progress = import_progress(board, &id, &key)?.ok_or(ApiError::Internal)?;
    let entries = read_staged_entries(board, &id, &key, progress.count as usize)?;
    tracing::info!(
        election = %id,
        appended = progress.indices.len(),
        of = progress.count,
        "finishing a roster import cut off midway"
    );
    append_import(board, id, key, &entries, None).await
}

/// `POST /v1/elections/{id}/roster/reissue`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReissueRequest {
    /// Digest of the member's current (unused) enrolment token, hex.
    pub old_token_digest: String,
    /// Digest of the new token that replaces it, hex.
    pub token_digest: String,
}

/// The answer to a reissue: the member whose invitation was replaced.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reissued {
    /// The member id, hex.
    pub member: String,
}

/// `POST /v1/elections/{id}/roster/reissue`: replaces a member's unused
/// enrolment token (drawn by the organiser's client, which sends only its
/// digest) by a new one; the old token stops working in the same commit.
/// The same request again gets the same answer. Once the member has
/// enrolled nothing is replaced (409 `already_enrolled`): only the member's
/// recovery code can rebuild a lost wallet.
pub async fn roster_reissue(
    State(state): State<AppState>,
    _: Organiser,
    ElectionPath(id): ElectionPath,
    RawBody(raw): RawBody,
) -> Result<Json<Reissued>, ApiError> {
    state.writable()?;
    state.election(&id)?;
    let request: ReissueRequest = json(&raw)?;
    let old: [u8; 32] = hex_array(&request.old_token_digest, "old_token_digest")?;
    let new: [u8; 32] = hex_array(&request.token_digest, "token_digest")?;
    let member: [u8; 32] = token_member(&state, &id, &old)?.ok_or_else(|| {
        ApiError::reject(
            RejectionKind::Invalid,
            "unknown_token",
            "no member of this election has this token",
        )
    })?;
    let answer = || {
        Json(Reissued {
            member: hex::encode(member),
        })
    };
    let replaced = state.board.row(&id, USED_TOKENS, &old)?.is_some()
        && state.board.row(&id, ENROLMENT_TOKENS, &new)?.as_deref() == Some(&member[..]);
    let check = move |view: &dyn crate::sequencer::LogView| {
        let record = record_of(view)?;
        if record.member_key(&member).is_some() {
            return Err(Rejection::conflict(
                "already_enrolled",
                "this member has already enrolled: a new invitation cannot help; \
                 only the member's recovery code can rebuild a lost wallet",
            ));
        }
        Ok((
            (),
            vec![
                RowWrite::insert_new(USED_TOKENS, old.to_vec(), Vec::new(), "token_used"),
                RowWrite::insert_new(
                    ENROLMENT_TOKENS,
                    new.to_vec(),
                    member.to_vec(),
                    "token_collision",
                ),
            ],
        ))
    };
    if replaced {
        // A retry whose first answer was lost.
        return Ok(answer());
    }
    state.board.check(id, check).await?;
    tracing::info!(election = %id, "enrolment token reissued");
    Ok(answer())
}

/// `POST /v1/elections/{id}/enroll`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The member's one-time token.
    pub token: String,
    /// The member-signed enrolment entry, hex.
    pub entry: String,
}

/// `POST /v1/elections/{id}/enroll`: a member binds its key to its roster
/// line with its one-time token, consumed atomically with the append.
pub async fn enroll(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    RawBody(raw): RawBody,
) -> Result<Json<Receipt>, ApiError> {
    state.writable()?;
    state.election(&id)?;
    let request: EnrollRequest = json(&raw)?;
    let bytes = urne_crypto::text::decode_hex(&request.entry).map_err(|_| {
        ApiError::reject(
            RejectionKind::Malformed,
            "invalid_json",
            "entry must be lowercase hex",
        )
    })?;
    let (entry, _) = entry(&bytes, &id, &[EntryKind::Enrollment])?;
    let enrollment: Enrollment = body(&entry)?;
    let bad_token = || {
        ApiError::reject(
            RejectionKind::Unauthorized,
            "bad_token",
            "unknown enrolment token, or a token of another member",
        )
    };
    let token: [u8; 32] = hex_array(&request.token, "token").map_err(|_| bad_token())?;
    let digest = enrolment_token_digest(&token);
    match token_member(&state, &id, &digest)? {
        Some(member) if bool::from(member.ct_eq(&enrollment.member)) => {}
        _ => return Err(bad_token()),
    }
    let mut append = AppendRequest::new(id, bytes, LogRequirement::Exists);
    append.rows.push(RowWrite::insert_new(
        USED_TOKENS,
        digest.to_vec(),
        Vec::new(),
        "token_used",
    ));
    let appended = state.board.append(append).await?;
    Ok(Json(Receipt::first(&state.board, &id, &appended)?))
}

/// `POST /v1/elections/{id}/credential/commit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// The member id, hex.
    pub member: String,
    /// Ed25519 signature by the enrolled member key over
    /// `TaggedHash("urne/v1/credential-commit", election, member)`, hex.
    pub signature: String,
}

/// The registrar's commitment `(A, C)` of an issuance session.
#[derive(Debug, Serialize, Deserialize)]
pub struct CommitmentJson {
    /// `A`, compressed, hex.
    pub commitment_a: String,
    /// `C`, compressed, hex.
    pub commitment_c: String,
}

/// The member's constituency (index in the manifest) and its credential context.
fn member_context(
    state: &AppState,
    election: &Election,
    member: &[u8; 32],
) -> Result<(usize, CredentialContext), ApiError> {
    let row = state.board.row(election.id(), ROSTER, member)?;
    // A staged row counts once its import is complete.
    let committed = match row.as_deref().and_then(|v| v.get(4..)) {
        Some([]) | None => true,
        Some(import) => import_complete(state, election.id(), import)?,
    };
    let index = row
        .filter(|_| committed)
        .and_then(|v| read_u32(v.get(..4)?))
        .map(|i| i as usize)
        .ok_or_else(|| {
            ApiError::reject(
                RejectionKind::Unauthorized,
                "not_enrolled",
                "this member is not on the roster",
            )
        })?;
    let constituency = &election
        .manifest()
        .constituencies
        .get(index)
        .ok_or(ApiError::Internal)?
        .id;
    Ok((
        index,
        CredentialContext::new(election.id().0, constituency.clone()),
    ))
}

enum Session {
    Existing(Zeroizing<Vec<u8>>),
    Opened,
}

/// `POST /v1/elections/{id}/credential/commit`: opens (or returns) the
/// member's issuance session and answers the registrar's commitment.
pub async fn credential_commit(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    RawBody(raw): RawBody,
) -> Result<Json<CommitmentJson>, ApiError> {
    state.writable()?;
    let election = state.election(&id)?;
    let request: CommitRequest = json(&raw)?;
    let member: [u8; 32] = hex_array(&request.member, "member")?;
    let signature: [u8; 64] = hex_array(&request.signature, "signature")?;
    issuance_window(&state, &election, "credential request")?;
    let (index, ctx) = member_context(&state, &election, &member)?;
    let registrar = election.registrar(index).ok_or(ApiError::Internal)?;
    // A fresh session, used only if the member has none yet.
    let (fresh, fresh_commitment) = SignerState::commit(registrar, &ctx, &mut os_rng());
    let fresh_bytes = fresh.to_bytes();
    let election_id = id.0;
    let check = move |view: &dyn crate::sequencer::LogView| {
        let record = record_of(view)?;
        if !matches!(record.phase(), Phase::Setup | Phase::Open) || record.election_key().is_none()
        {
            return Err(Rejection::conflict(
                "out_of_phase",
                format!(
                    "credential request not allowed in phase {}",
                    record.phase().name()
                ),
            ));
        }
        let key = record.member_key(&member).ok_or_else(|| {
            Rejection::new(
                RejectionKind::Unauthorized,
                "not_enrolled",
                "this member has not enrolled",
            )
        })?;
        if !verify_commit_request(&election_id, &member, key, &signature) {
            return Err(Rejection::new(
                RejectionKind::Unauthorized,
                "bad_signature",
                "the request is not signed by the member's enrolled key",
            ));
        }
        if record.has_credential(&member) {
            return Err(Rejection::conflict(
                "already_issued",
                "this member already holds its credential",
            ));
        }
        match view.get(SIGNER_STATES, &member).map_err(unavailable)? {
            Some(existing) => Ok((Session::Existing(Zeroizing::new(existing)), Vec::new())),
            None => Ok((
                Session::Opened,
                vec![RowWrite::upsert(
                    SIGNER_STATES,
                    member.to_vec(),
                    fresh_bytes.to_vec(),
                )],
            )),
        }
    };
    let commitment = match state.board.check(id, check).await? {
        Session::Opened => fresh_commitment,
        Session::Existing(bytes) => SignerState::from_bytes(&bytes)
            .map_err(|e| {
                tracing::error!(error = %e, "stored signer state unreadable");
                ApiError::Internal
            })?
            .commitment(&ctx),
    };
    Ok(Json(CommitmentJson {
        commitment_a: hex::encode(commitment.a.compress().to_bytes()),
        commitment_c: hex::encode(commitment.c.compress().to_bytes()),
    }))
}

/// The registrar's response of an issuance session, with the issuance
/// entry's receipt.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResponseJson {
    /// `s`, hex.
    pub s: String,
    /// `y`, hex.
    pub y: String,
    /// `t`, hex.
    pub t: String,
    /// Receipt of the issuance entry.
    pub receipt: Receipt,
}

/// `POST /v1/elections/{id}/credential/respond`: the member posts its signed
/// issuance entry (with the session's `A`, `C` and its blinded challenge);
/// the server appends it and answers the registrar's response. The same
/// entry again gets the same answer (no new entry); another challenge for
/// the session is refused.
pub async fn credential_respond(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    RawBody(bytes): RawBody,
) -> Result<Json<ResponseJson>, ApiError> {
    state.writable()?;
    let election = state.election(&id)?;
    let (entry, _) = entry(&bytes, &id, &[EntryKind::Issuance])?;
    let issuance: Issuance = body(&entry)?;
    issuance_window(&state, &election, "issuance")?;
    let member = issuance.member;
    let (index, ctx) = member_context(&state, &election, &member)?;
    if ctx.constituency != issuance.constituency {
        return Err(ApiError::reject(
            RejectionKind::Invalid,
            "mismatch",
            "issuance for another constituency",
        ));
    }
    let registrar = election.registrar(index).ok_or(ApiError::Internal)?;
    let challenge = BlindChallenge {
        e: issuance.challenge,
    };
    let conflict = |code, message: &str| ApiError::reject(RejectionKind::Conflict, code, message);
    // Two rounds at most: a concurrent answer of the same session sends us
    // to the replay path.
    for _ in 0..2 {
        let stored = Zeroizing::new(state.board.row(&id, SIGNER_STATES, &member)?.ok_or_else(
            || conflict("no_session", "no commitment was requested for this member"),
        )?);
        let mut session = SignerState::from_bytes(&stored).map_err(|e| {
            tracing::error!(error = %e, "stored signer state unreadable");
            ApiError::Internal
        })?;
        let commitment = session.commitment(&ctx);
        if commitment.a != issuance.commitment_a || commitment.c != issuance.commitment_c {
            return Err(conflict(
                "commitment_mismatch",
                "the issuance does not carry this member's session commitment",
            ));
        }
        let answered = session.is_answered();
        let bad_signature =
            || ApiError::Rejected(rejection(&RecordError::Entry(EntryError::BadSignature)));
        // An answered session takes nothing to the record, which would refuse
        // a forged entry for its signature: refuse it here for the same reason.
        if answered && entry.verify_signature().is_err() {
            return Err(bad_signature());
        }
        let response = session
            .respond(registrar, &challenge)
            .map_err(|e| match e {
                CredentialError::ChallengeMismatch => conflict(
                    "challenge_mismatch",
                    "this session already answered another challenge",
                ),
                other => {
                    ApiError::reject(RejectionKind::Invalid, "invalid_proof", other.to_string())
                }
            })?;
        let answer = |receipt| ResponseJson {
            s: hex::encode(response.s.to_bytes()),
            y: hex::encode(response.y.to_bytes()),
            t: hex::encode(response.t.to_bytes()),
            receipt,
        };
        if answered {
            // The answer was given: hand it again, for the very same entry only.
            let at = state
                .board
                .row(&id, ISSUANCES, &member)?
                .and_then(|v| read_u64(&v))
                .ok_or(ApiError::Internal)?;
            // The row may be seen just before its commit is published: the
            // answer is handed out again only once the entry is durable.
            let mut head = state.board.head(&id)?;
            for _ in 0..100 {
                if head.size > at {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                head = state.board.head(&id)?;
            }
            if head.size <= at {
                return Err(ApiError::StorageUnavailable);
            }
            let page = state.board.entries(&id, at, Some(at + 1), state.page)?;
            let recorded = page.entries.first().ok_or(ApiError::Internal)?;
            if recorded[..] != bytes[..] {
                // Signed by another key than the member's enrolled one.
                let signer = Entry::from_bytes(recorded)
                    .map_err(|_| ApiError::Internal)?
                    .signer;
                if entry.signer != signer {
                    return Err(bad_signature());
                }
                return Err(conflict(
                    "already_issued",
                    "this member already holds its credential",
                ));
            }
            return Ok(Json(answer(Receipt::of(&state.board, &id, at, &head)?)));
        }
        let answered_state = session.to_bytes();
        let expected = stored.clone();
        let mut append = AppendRequest::new(id, bytes.to_vec(), LogRequirement::Exists);
        append.mixable = true;
        append.check = Some(Box::new(move |view: &dyn crate::sequencer::LogView| {
            let current = view
                .get(SIGNER_STATES, &member)
                .map_err(unavailable)?
                .map(Zeroizing::new);
            if !current.is_some_and(|c| bool::from(c.ct_eq(&expected))) {
                return Err(Rejection::conflict(
                    "session_changed",
                    "the session was answered concurrently",
                ));
            }
            Ok(vec![
                RowWrite::upsert(SIGNER_STATES, member.to_vec(), answered_state.to_vec()),
                RowWrite::insert_new(
                    ISSUANCES,
                    member.to_vec(),
                    u64_value(view.size()),
                    "already_issued",
                ),
            ])
        }));
        match state.board.append(append).await {
            Ok(appended) => {
                return Ok(Json(answer(Receipt::first(&state.board, &id, &appended)?)));
            }
            Err(AppendError::Rejected(r)) if r.code == "session_changed" => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(conflict(
        "session_changed",
        "the session changed concurrently; retry",
    ))
}
