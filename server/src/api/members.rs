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
use urne_crypto::record::{Phase, RecordError};
use urne_crypto::voter::verify_commit_request;
use zeroize::Zeroizing;

use super::auth::Organiser;
use super::board::Receipt;
use super::error::ApiError;
use super::extract::{body, entry, hex_array, json, ElectionPath, RawBody};
use super::AppState;
use crate::election::machine::{record_of, rejection};
use crate::election::registry::Election;
use crate::election::roster::{self, CHUNK};
use crate::election::tables::{
    read_u32, read_u64, u32_key, u64_value, ENROLMENT_TOKENS, ISSUANCES, ROSTER, ROSTER_IMPORTS,
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

/// The answer to an import already on the board (a retry whose first answer
/// was lost), or `None` if this import is not there.
async fn imported_before(
    state: &AppState,
    id: &ElectionId,
    key: &[u8; 32],
    entries: &[Vec<u8>],
    members: u64,
) -> Result<Option<RosterImported>, ApiError> {
    let Some(row) = state.board.row(id, ROSTER_IMPORTS, key)? else {
        return Ok(None);
    };
    let first = row.get(..8).and_then(read_u64).ok_or(ApiError::Internal)?;
    let count = entries.len() as u64;
    // The row may be seen just before its commit is published.
    let mut head = state.board.head(id)?;
    for _ in 0..100 {
        if head.size >= first + count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        head = state.board.head(id)?;
    }
    if head.size < first + count {
        return Err(ApiError::StorageUnavailable);
    }
    let page = state
        .board
        .entries(id, first, Some(first + count), state.page)?;
    if page.entries.len() as u64 != count || page.entries.iter().zip(entries).any(|(a, b)| a != b) {
        tracing::error!(election = %id, "a remembered roster import differs from the board");
        return Err(ApiError::Internal);
    }
    let receipts = (first..first + count)
        .map(|i| Receipt::of(&state.board, id, i, &head))
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
        if state.board.row(id, ROSTER_IMPORTS, import)?.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(member.try_into().map_err(|_| ApiError::Internal)?))
}

/// A roster import made ready: its lines, its roster entries (canonical
/// bytes) and its import key.
type PreparedImport = (Vec<roster::RosterLine>, Vec<Vec<u8>>, [u8; 32]);

/// Parses a roster import and builds its entries and its import key.
fn prepare_import(
    text: &[u8],
    id: &ElectionId,
    election: &Election,
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
    state.writable()?;
    let election = state.election(&id)?;
    // Parsing, signing and hashing 10⁵ lines takes a while: off the
    // runtime's threads, so that other requests go on meanwhile.
    let (lines, entries, key) = {
        let election = election.clone();
        let signer = state.signer.clone();
        tokio::task::spawn_blocking(move || prepare_import(&text, &id, &election, &signer))
            .await
            .map_err(|_| ApiError::Internal)??
    };
    let members = lines.len() as u64;
    if let Some(answer) = imported_before(&state, &id, &key, &entries, members).await? {
        return Ok(Json(answer));
    }
    phase(&election, &[Phase::Setup], "roster")?;
    // Staged: the token rows go first, in bounded groups, each its own
    // commit, so that other requests run in between; then the roster entries,
    // with the members' constituency rows and the row that commits the import
    // (§8.6). A staged token works only once its import is committed.
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
    let count = entries.len() as u64;
    let mut request = AppendRequest::batch(id, entries.clone(), LogRequirement::Exists);
    request.check = Some(Box::new(move |view: &dyn crate::sequencer::LogView| {
        let superseded = view.get(ROSTER_SUPERSEDED, &key).map_err(unavailable)?;
        if superseded.is_some_and(|by| !by.is_empty()) {
            return Err(Rejection::conflict(
                "roster_import_superseded",
                "another roster import took over members of this one while it was staged; \
                 send this import again",
            ));
        }
        let mut at = u64_value(view.size());
        at.extend(u64_value(count));
        Ok(vec![RowWrite::insert_new(
            ROSTER_IMPORTS,
            key.to_vec(),
            at,
            "duplicate",
        )])
    }));
    let appended = match state.board.append(request).await {
        Ok(appended) => appended,
        Err(AppendError::Rejected(r)) if r.kind == RejectionKind::Conflict => {
            // A concurrent copy of this import may have won the race.
            if let Some(answer) = imported_before(&state, &id, &key, &entries, members).await? {
                return Ok(Json(answer));
            }
            return Err(ApiError::Rejected(r));
        }
        Err(e) => return Err(e.into()),
    };
    let receipts = Receipt::all(&state.board, &id, &appended)?;
    tracing::info!(election = %id, members, "roster imported");
    Ok(Json(RosterImported {
        members,
        receipt: Receipt::first(&state.board, &id, &appended)?,
        receipts,
    }))
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
    // A staged row counts once its import is committed.
    let committed = match row.as_deref().and_then(|v| v.get(4..)) {
        Some([]) | None => true,
        Some(import) => state
            .board
            .row(election.id(), ROSTER_IMPORTS, import)?
            .is_some(),
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
