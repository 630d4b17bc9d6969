//! The voter's steps for the browser: a thin wasm-bindgen layer over
//! `urne-client` and `urne-crypto`. It adds no protocol logic: it decodes
//! what the page fetched, calls the shared step and encodes the answer
//! (JSON text, hex, or bytes). Every error leaves as a JSON text
//! `{"code": …, "message": …}`, with a stable code the page turns into a
//! sentence for the voter.
//!
//! The page does the HTTP calls (`fetch`) and keeps the state (IndexedDB);
//! keys are derived from the recovery secret each time they are needed, so
//! the page stores the secret and never a key.
//!
//! Not here: HTTP, storage, wording (all in the TypeScript app).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Serialize};
use urne_client::audit::{AuditError, BallotAudit};
use urne_client::error::ClientError;
use urne_client::receipt::{self, BallotStanding, BoardScan, Receipt, ReceiptJson};
use urne_client::recovery::{RecoveryError, TrailScan};
use urne_client::setup::{Setup, SetupReader};
use urne_client::voter::{self, CredentialTime, VoterError};
use urne_crypto::credential::{Credential, SignerCommitment, SignerResponse, UserState};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::member_id;
use urne_crypto::group::{decode_nonidentity_point, decode_scalar, os_rng};
use urne_crypto::manifest::{Constituency, Manifest};
use urne_crypto::record::BallotVerifier;
use urne_crypto::recovery::{RecoverySecret, SECRET_LEN};
use urne_crypto::tile::{self, TileId};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// An error as the page receives it.
#[derive(Debug, Serialize)]
pub struct WebError {
    /// Stable code.
    pub code: &'static str,
    /// Technical detail (the page shows its own sentence for the code).
    pub message: String,
}

impl WebError {
    fn new(code: &'static str, message: impl std::fmt::Display) -> Self {
        WebError {
            code,
            message: message.to_string(),
        }
    }
}

impl From<WebError> for JsValue {
    fn from(e: WebError) -> JsValue {
        let text = serde_json::to_string(&e).unwrap_or_else(|_| e.code.to_string());
        JsValue::from_str(&text)
    }
}

impl From<ClientError> for WebError {
    fn from(e: ClientError) -> Self {
        let code = match e {
            ClientError::Proof(_) => "proof_invalid",
            ClientError::BoardKeyChanged { .. } => "board_key_changed",
            ClientError::Status { .. } => "refused",
            ClientError::Transport { .. } => "unreachable",
            ClientError::Decode(_) => "bad_answer",
        };
        WebError::new(code, e)
    }
}

impl From<VoterError> for WebError {
    fn from(e: VoterError) -> Self {
        let code = match e {
            VoterError::UnknownCandidate { .. } | VoterError::AmbiguousCandidate(_) => {
                "unknown_candidate"
            }
            VoterError::DuplicateApproval(_) => "duplicate_approval",
            VoterError::ApprovalCount { .. } => "approval_count",
            VoterError::Credential(_) => "credential_invalid",
            VoterError::Ballot(_) => "ballot_failed",
        };
        WebError::new(code, e)
    }
}

impl From<RecoveryError> for WebError {
    fn from(e: RecoveryError) -> Self {
        let code = match e {
            RecoveryError::NotEnrolled => "recovery_not_enrolled",
            RecoveryError::OtherMember => "recovery_other_member",
            RecoveryError::OtherSession(_) => "recovery_other_session",
            RecoveryError::Board(_) => "bad_answer",
        };
        WebError::new(code, e)
    }
}

impl From<AuditError> for WebError {
    fn from(e: AuditError) -> Self {
        WebError::new(e.code(), e)
    }
}

type WebResult<T> = Result<T, WebError>;

fn bad(what: &str) -> WebError {
    WebError::new("bad_input", what)
}

fn hex32(s: &str, what: &str) -> WebResult<[u8; 32]> {
    hex::decode(s.trim())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad(what))
}

fn secret_of(hex_secret: &str) -> WebResult<RecoverySecret> {
    let raw = Zeroizing::new(hex::decode(hex_secret).map_err(|_| bad("recovery secret"))?);
    let bytes: [u8; SECRET_LEN] = raw
        .as_slice()
        .try_into()
        .map_err(|_| bad("recovery secret"))?;
    Ok(RecoverySecret::from_bytes(bytes))
}

fn json<T: Serialize>(v: &T) -> WebResult<String> {
    serde_json::to_string(v).map_err(|e| WebError::new("internal", e))
}

fn from_json<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> WebResult<T> {
    serde_json::from_str(text).map_err(|_| bad(what))
}

/// The invitation in a link or text, as JSON
/// `{"server": …|null, "election": hex, "pseudonym": …, "token": …}`.
#[wasm_bindgen]
pub fn parse_invitation(text: &str) -> Result<String, JsValue> {
    let (server, _) = urne_client::invitation::split_link(text);
    let inv = urne_client::invitation::parse(text)
        .map_err(|e| WebError::new("invitation_malformed", e))?;
    Ok(json(&serde_json::json!({
        "server": server,
        "election": hex::encode(inv.election),
        "pseudonym": inv.pseudonym,
        "token": inv.token.as_str(),
    }))?)
}

/// A fresh recovery secret (hex), from the browser's random source.
#[wasm_bindgen]
pub fn new_recovery_secret() -> String {
    hex::encode(RecoverySecret::generate(&mut os_rng()).as_bytes())
}

/// The recovery code (what the voter writes down) of a secret.
#[wasm_bindgen]
pub fn recovery_code(secret: &str) -> Result<String, JsValue> {
    Ok(secret_of(secret)?.code().to_string())
}

/// The recovery secret (hex) of a recovery code as the voter typed it.
#[wasm_bindgen]
pub fn recovery_secret_of_code(code: &str) -> Result<String, JsValue> {
    let s =
        RecoverySecret::from_code(code).map_err(|e| WebError::new("recovery_code_invalid", e))?;
    Ok(hex::encode(s.as_bytes()))
}

/// The board key (hex) in the answer of `GET /v1/board-key`.
#[wasm_bindgen]
pub fn board_key_of(answer: &str) -> Result<String, JsValue> {
    #[derive(Deserialize)]
    struct BoardKeyJson {
        public_key: String,
    }
    if let Ok(j) = serde_json::from_str::<BoardKeyJson>(answer) {
        return Ok(hex::encode(hex32(&j.public_key, "board key")?));
    }
    Ok(hex::encode(
        receipt::public_key_of_vkey(answer).map_err(WebError::from)?,
    ))
}

/// The path, below an election's prefix, of entry bundle `n` holding
/// `width` entries (§6.10): the page reads the board as these files.
#[wasm_bindgen]
pub fn entry_bundle_path(n: u32, width: u16) -> String {
    TileId::entries(u64::from(n), width).path()
}

/// The entries of an entry bundle of `width` entries starting at entry
/// `first`, from entry `from` on.
fn bundle_from(bundle: &[u8], first: u32, width: u16, from: u32) -> WebResult<Vec<&[u8]>> {
    let entries = tile::split_bundle(bundle, width)
        .map_err(|e| WebError::new("bad_answer", format!("entry bundle at {first}: {e}")))?;
    let skip = from
        .checked_sub(first)
        .filter(|skip| *skip <= u32::from(width))
        .ok_or_else(|| WebError::new("bad_answer", "an entry bundle that is not the next one"))?;
    Ok(entries.into_iter().skip(skip as usize).collect())
}

/// Reads the setup entries of a board against a signed checkpoint.
#[wasm_bindgen]
pub struct BoardReader {
    reader: Option<SetupReader>,
    board_key: [u8; 32],
    election: [u8; 32],
}

#[wasm_bindgen]
impl BoardReader {
    /// Opens `checkpoint` (the note text) under the pinned board key.
    #[wasm_bindgen(constructor)]
    pub fn new(board_key: &str, election: &str, checkpoint: &str) -> Result<BoardReader, JsValue> {
        let board_key = hex32(board_key, "board key")?;
        let election = hex32(election, "election id")?;
        let verifier = receipt::election_verifier(&board_key, &election).map_err(WebError::from)?;
        let cp = receipt::open_checkpoint(checkpoint, &verifier).map_err(WebError::from)?;
        Ok(BoardReader {
            reader: Some(SetupReader::new(board_key, election, cp)),
            board_key,
            election,
        })
    }

    /// The next entry to feed, or `undefined` once enough is read.
    pub fn next_index(&self) -> Option<u32> {
        self.reader
            .as_ref()
            .and_then(SetupReader::next_index)
            .map(|i| i as u32)
    }

    /// The checkpoint's size.
    pub fn checkpoint_size(&self) -> u32 {
        self.reader
            .as_ref()
            .map_or(0, |r| r.checkpoint_size() as u32)
    }

    /// Feeds the next entry's canonical bytes.
    pub fn push(&mut self, entry: &[u8]) -> Result<(), JsValue> {
        let r = self.reader.as_mut().ok_or_else(|| bad("reader finished"))?;
        r.push(entry).map_err(WebError::from)?;
        Ok(())
    }

    /// Feeds the entries of entry bundle bytes of `width` entries starting
    /// at entry `first`, from the next one needed, until enough is read.
    pub fn push_bundle(&mut self, bundle: &[u8], first: u32, width: u16) -> Result<(), JsValue> {
        let next = self.next_index().ok_or_else(|| bad("reader finished"))?;
        for entry in bundle_from(bundle, first, width, next)? {
            if self.next_index().is_none() {
                break;
            }
            self.push(entry)?;
        }
        Ok(())
    }

    /// The start of the consistency proof to fetch (to the checkpoint's
    /// size), when reading stopped before the end of the board.
    pub fn consistency_from(&self) -> Option<u32> {
        self.reader
            .as_ref()
            .and_then(SetupReader::consistency_needed)
            .map(|(from, _)| from as u32)
    }

    /// Checks what was read (with the consistency proof's hashes as a JSON
    /// array when one was needed) and gives the election.
    pub fn finish(&mut self, consistency: Option<String>) -> Result<Election, JsValue> {
        let r = self.reader.take().ok_or_else(|| bad("reader finished"))?;
        let proof: Option<Vec<String>> = match consistency {
            Some(text) => Some(from_json(&text, "consistency proof")?),
            None => None,
        };
        let setup = r.finish(proof.as_deref()).map_err(WebError::from)?;
        Ok(Election {
            setup,
            board_key: self.board_key,
            election: self.election,
        })
    }
}

/// An election's setup as read from the board: what every later step needs.
#[wasm_bindgen]
pub struct Election {
    setup: Setup,
    board_key: [u8; 32],
    election: [u8; 32],
}

#[derive(Serialize)]
struct CandidateJson<'a> {
    id: &'a str,
    category: &'a str,
}

impl Election {
    fn manifest(&self) -> &Manifest {
        &self.setup.manifest
    }

    fn constituency_of(&self, pseudonym: &str) -> WebResult<&Constituency> {
        let member = member_id(&self.election, pseudonym);
        let line = self
            .setup
            .roster
            .iter()
            .find(|m| m.member == member)
            .ok_or_else(|| WebError::new("not_on_roster", "not on the roster"))?;
        self.manifest()
            .constituency(&line.constituency)
            .ok_or_else(|| WebError::new("bad_answer", "roster names an unknown constituency"))
    }

    fn election_key(&self) -> WebResult<RistrettoPoint> {
        self.setup
            .election_key
            .as_ref()
            .map(|k| *k.public_key())
            .ok_or_else(|| WebError::new("election_key_missing", "no election key yet"))
    }

    fn credential_parts(
        &self,
        secret: &RecoverySecret,
        pseudonym: &str,
        commitment: &SignerCommitment,
    ) -> WebResult<(UserState, Vec<u8>)> {
        let c = self.constituency_of(pseudonym)?;
        let ballot_key = secret.ballot_key(&self.election);
        let (state, challenge) = voter::blind_recoverable(
            &c.registrar_key,
            &self.election,
            &c.id,
            &ballot_key,
            commitment,
            secret,
        )?;
        let entry = urne_crypto::voter::issuance(
            self.election,
            member_id(&self.election, pseudonym),
            &c.id,
            commitment,
            &challenge,
            &secret.member_key(&self.election),
        );
        Ok((state, entry.to_bytes()))
    }

    fn choices_of(&self, pseudonym: &str, approved: &str) -> WebResult<(&Constituency, Vec<bool>)> {
        let c = self.constituency_of(pseudonym)?;
        let names: Vec<String> = from_json(approved, "approved candidates")?;
        let choices = voter::choices(c, &names)?;
        Ok((c, choices))
    }
}

#[derive(Serialize, Deserialize)]
struct CommitmentJson {
    commitment_a: String,
    commitment_c: String,
}

#[derive(Deserialize)]
struct ResponseJson {
    s: String,
    y: String,
    t: String,
}

#[wasm_bindgen]
impl Election {
    /// The election as the page shows it, for the member `pseudonym`:
    /// JSON `{election, title, client_digest, constituency: {id, name, min,
    /// max, candidates: [{id, category}]} | null, on_roster, key_published,
    /// opened}`.
    pub fn summary(&self, pseudonym: &str) -> Result<String, JsValue> {
        let c = self.constituency_of(pseudonym).ok();
        let constituency = c.map(|c| {
            serde_json::json!({
                "id": c.id,
                "name": c.name,
                "min": c.approval_min,
                "max": c.approval_max,
                "candidates": c.candidates.iter().map(|k| CandidateJson { id: &k.id, category: &k.category }).collect::<Vec<_>>(),
            })
        });
        Ok(json(&serde_json::json!({
            "election": hex::encode(self.election),
            "title": self.manifest().title,
            "client_digest": hex::encode(self.manifest().client_digest),
            "constituency": constituency,
            "on_roster": c.is_some(),
            "key_published": self.setup.election_key.is_some(),
            "opened": self.setup.opened,
        }))?)
    }

    /// The board key (hex) the election was read under.
    pub fn board_key(&self) -> String {
        hex::encode(self.board_key)
    }

    /// The enrolment entry (canonical bytes) of `pseudonym` with the member
    /// key derived from the recovery secret.
    pub fn enrollment_entry(&self, secret: &str, pseudonym: &str) -> Result<Vec<u8>, JsValue> {
        self.constituency_of(pseudonym)?;
        let key = secret_of(secret)?.member_key(&self.election);
        Ok(urne_crypto::voter::enrollment(self.election, pseudonym, &key).to_bytes())
    }

    /// The body of `POST …/credential/commit`: JSON `{member, signature}`.
    pub fn commit_request(&self, secret: &str, pseudonym: &str) -> Result<String, JsValue> {
        let member = member_id(&self.election, pseudonym);
        let key = secret_of(secret)?.member_key(&self.election);
        let sig = voter::commit_signature(&self.election, &member, &key);
        Ok(json(&serde_json::json!({
            "member": hex::encode(member),
            "signature": hex::encode(sig),
        }))?)
    }

    /// The issuance entry (canonical bytes) for the registrar's commitment
    /// (the JSON answer of `…/credential/commit`). The blinding is derived
    /// from the recovery secret, so the same entry is built again after a reload.
    pub fn issuance_entry(
        &self,
        secret: &str,
        pseudonym: &str,
        commitment: &str,
    ) -> Result<Vec<u8>, JsValue> {
        let commitment = commitment_of(commitment)?;
        let (_, entry) = self.credential_parts(&secret_of(secret)?, pseudonym, &commitment)?;
        Ok(entry)
    }

    /// Unblinds the registrar's response (the JSON answer of
    /// `…/credential/respond`) and checks the credential: its canonical hex.
    pub fn finish_credential(
        &self,
        secret: &str,
        pseudonym: &str,
        commitment: &str,
        response: &str,
    ) -> Result<String, JsValue> {
        let secret = secret_of(secret)?;
        let commitment = commitment_of(commitment)?;
        let r: ResponseJson = from_json(response, "registrar response")?;
        let scalar = |s: &str| -> WebResult<_> {
            decode_scalar(&hex32(s, "registrar response")?)
                .map_err(|_| WebError::new("bad_answer", "malformed registrar response"))
        };
        let response = SignerResponse {
            s: scalar(&r.s)?,
            y: scalar(&r.y)?,
            t: scalar(&r.t)?,
        };
        let (state, _) = self.credential_parts(&secret, pseudonym, &commitment)?;
        let c = self.constituency_of(pseudonym)?;
        let credential = voter::finish(
            state,
            &response,
            &c.registrar_key,
            &self.election,
            &c.id,
            &secret.ballot_key(&self.election),
        )
        .map_err(WebError::from)?;
        Ok(hex::encode(credential.to_bytes()))
    }

    /// Checks the approved candidates (JSON array of ids) against the
    /// constituency's rule, without building anything.
    pub fn check_choices(&self, pseudonym: &str, approved: &str) -> Result<(), JsValue> {
        self.choices_of(pseudonym, approved)?;
        Ok(())
    }

    /// The anonymous ballot entry (canonical bytes) approving `approved`
    /// (JSON array of candidate ids), freshly encrypted and proved.
    pub fn ballot_entry(
        &self,
        secret: &str,
        pseudonym: &str,
        credential: &str,
        approved: &str,
    ) -> Result<Vec<u8>, JsValue> {
        let (c, choices) = self.choices_of(pseudonym, approved)?;
        let bytes = hex::decode(credential).map_err(|_| bad("credential"))?;
        let credential = Credential::from_bytes(&bytes).map_err(|_| bad("credential"))?;
        let verifier = BallotVerifier::new(self.manifest().clone(), self.election_key()?);
        let ballot_key = secret_of(secret)?.ballot_key(&self.election);
        let entry = voter::ballot_entry(
            &verifier,
            &c.id,
            &ballot_key,
            &credential,
            &choices,
            &mut os_rng(),
        )
        .map_err(WebError::from)?;
        Ok(entry.to_bytes())
    }

    /// A ballot for the cast-as-intended check, opened (JSON audit file). It
    /// is never cast.
    pub fn audit_ballot(
        &self,
        secret: &str,
        pseudonym: &str,
        approved: &str,
    ) -> Result<String, JsValue> {
        let (c, choices) = self.choices_of(pseudonym, approved)?;
        let ballot_key = secret_of(secret)?.ballot_key(&self.election).public_key();
        let audit = BallotAudit::challenge(
            self.election,
            c,
            &self.election_key()?,
            ballot_key,
            &choices,
            &mut os_rng(),
        )
        .map_err(WebError::from)?;
        Ok(serde_json::to_string_pretty(&audit).map_err(|e| WebError::new("internal", e))?)
    }

    /// Verifies an audit file against this election: JSON `{constituency,
    /// approved, candidates}` when it encrypts exactly the choices shown.
    pub fn verify_audit(&self, audit: &str) -> Result<String, JsValue> {
        let audit: BallotAudit =
            from_json(audit, "audit file").map_err(|_| WebError::new("audit_malformed", "JSON"))?;
        let shown = audit
            .verify_on_board(self.manifest(), &self.election_key()?)
            .map_err(WebError::from)?;
        Ok(json(&shown)?)
    }

    /// Reads a checkpoint note's cosignatures against the manifest's
    /// witnesses (§6.11): JSON `{quorum, witnesses, cosigned: [name…],
    /// witnessed}`; a forged cosignature is the error `forged_cosignature`.
    pub fn witnessing(&self, checkpoint: &str) -> Result<String, JsValue> {
        let manifest = &self.setup.manifest;
        let read = manifest.cosigners(checkpoint.as_bytes());
        if let Some((name, e)) = read.forged.first() {
            return Err(WebError::new("forged_cosignature", format!("{name}: {e}")).into());
        }
        Ok(json(&serde_json::json!({
            "quorum": manifest.witness_quorum,
            "witnesses": manifest.witnesses.len(),
            "cosigned": read.names(),
            "witnessed": manifest.is_witnessed(&read),
        }))?)
    }

    /// Checks a receipt (the server's JSON answer, or its `receipt` field)
    /// for `entry`, with the inclusion proof's hashes (JSON array) when the
    /// answer had none: the checked receipt as JSON.
    pub fn check_receipt(
        &self,
        entry: &[u8],
        answer: &str,
        inclusion: Option<String>,
    ) -> Result<String, JsValue> {
        let r = receipt_json_of(answer)?;
        let proof: Vec<String> = match (&r.inclusion, inclusion) {
            (_, Some(text)) => from_json(&text, "inclusion proof")?,
            (Some(p), None) => p.clone(),
            (None, None) => return Err(bad("no inclusion proof").into()),
        };
        let verifier =
            receipt::election_verifier(&self.board_key, &self.election).map_err(WebError::from)?;
        let checked =
            receipt::check_receipt(entry, &r, &proof, &verifier).map_err(WebError::from)?;
        Ok(json(&checked)?)
    }

    /// Starts re-checking a stored ballot receipt (JSON) against a fresh
    /// checkpoint by reading the whole board.
    pub fn recheck(
        &self,
        secret: &str,
        pseudonym: &str,
        stored: &str,
        checkpoint: &str,
    ) -> Result<ReceiptRecheck, JsValue> {
        let receipt: Receipt = from_json(stored, "stored receipt")?;
        let c = self.constituency_of(pseudonym)?;
        let verifier =
            receipt::election_verifier(&self.board_key, &self.election).map_err(WebError::from)?;
        let fresh = receipt::open_checkpoint(checkpoint, &verifier).map_err(WebError::from)?;
        let ballot_key = *secret_of(secret)?
            .ballot_key(&self.election)
            .public_key()
            .as_bytes();
        Ok(ReceiptRecheck {
            receipt,
            constituency: c.id.clone(),
            ballot_key,
            fresh,
            entries: Vec::new(),
        })
    }
}

#[wasm_bindgen]
impl Election {
    /// Starts reading the whole board, up to `checkpoint` (note text), for
    /// the member whose keys the recovery `secret` derives (§3.9).
    pub fn trail_reader(&self, secret: &str, checkpoint: &str) -> Result<TrailReader, JsValue> {
        let secret = secret_of(secret)?;
        let verifier =
            receipt::election_verifier(&self.board_key, &self.election).map_err(WebError::from)?;
        let checkpoint = receipt::open_checkpoint(checkpoint, &verifier).map_err(WebError::from)?;
        let member_key = secret.member_key(&self.election).verifying_key().to_bytes();
        let ballot_key = *secret.ballot_key(&self.election).public_key().as_bytes();
        Ok(TrailReader {
            scan: TrailScan::new(member_key, ballot_key),
            checkpoint,
        })
    }

    /// What a wallet rebuilt from `secret` for `pseudonym` resumes, from the
    /// board `reader` read: JSON `{commitment: {commitment_a, commitment_c}
    /// | null, last_ballot: index | null, issued_while_open: bool | null}`
    /// (null: no credential issued yet). Refuses a code of another member,
    /// or one that enrolled nobody.
    pub fn restore(
        &self,
        secret: &str,
        pseudonym: &str,
        reader: TrailReader,
    ) -> Result<String, JsValue> {
        let secret = secret_of(secret)?;
        let c = self.constituency_of(pseudonym)?;
        let trail = reader
            .scan
            .finish(&reader.checkpoint)
            .map_err(WebError::from)?;
        let member = member_id(&self.election, pseudonym);
        let session = urne_client::recovery::resumed_session(
            self.manifest(),
            &self.election,
            &c.id,
            &trail,
            Some(&member),
            &secret,
        )
        .map_err(WebError::from)?;
        let commitment = session.map(|s| CommitmentJson {
            commitment_a: hex::encode(s.a.compress().to_bytes()),
            commitment_c: hex::encode(s.c.compress().to_bytes()),
        });
        Ok(json(&serde_json::json!({
            "commitment": commitment,
            "last_ballot": trail.last_ballot,
            "issued_while_open": trail
                .issuance
                .as_ref()
                .map(|(at, _)| trail.opened_at.is_some_and(|open| *at > open)),
        }))?)
    }
}

/// The board being read for a member's trail: feed every entry up to the
/// checkpoint, then pass it to [`Election::restore`].
#[wasm_bindgen]
pub struct TrailReader {
    scan: TrailScan,
    checkpoint: urne_crypto::checkpoint::Checkpoint,
}

#[wasm_bindgen]
impl TrailReader {
    /// The checkpoint's size: read the board up to it.
    pub fn size(&self) -> u32 {
        self.checkpoint.size as u32
    }

    /// Entries fed so far.
    pub fn read(&self) -> u32 {
        self.scan.size() as u32
    }

    /// Feeds the next board entry.
    pub fn push(&mut self, entry: &[u8]) -> Result<(), JsValue> {
        self.scan.push(entry).map_err(WebError::from)?;
        Ok(())
    }

    /// Feeds the entries of entry bundle bytes of `width` entries starting
    /// at entry `first`, from the next one needed.
    pub fn push_bundle(&mut self, bundle: &[u8], first: u32, width: u16) -> Result<(), JsValue> {
        for entry in bundle_from(bundle, first, width, self.read())? {
            if self.read() >= self.size() {
                break;
            }
            self.push(entry)?;
        }
        Ok(())
    }
}

fn commitment_of(text: &str) -> WebResult<SignerCommitment> {
    let j: CommitmentJson = from_json(text, "registrar commitment")?;
    let point = |s: &str| -> WebResult<RistrettoPoint> {
        decode_nonidentity_point(&hex32(s, "registrar commitment")?)
            .map_err(|_| WebError::new("bad_answer", "malformed registrar commitment"))
    };
    Ok(SignerCommitment {
        a: point(&j.commitment_a)?,
        c: point(&j.commitment_c)?,
    })
}

fn receipt_json_of(answer: &str) -> WebResult<ReceiptJson> {
    let v: serde_json::Value = from_json(answer, "receipt")?;
    let r = v.get("receipt").unwrap_or(&v);
    serde_json::from_value(r.clone()).map_err(|_| WebError::new("bad_answer", "receipt"))
}

/// A receipt being re-checked: feed every board entry up to the fresh
/// checkpoint, then [`ReceiptRecheck::finish`].
#[wasm_bindgen]
pub struct ReceiptRecheck {
    receipt: Receipt,
    constituency: String,
    ballot_key: [u8; 32],
    fresh: urne_crypto::checkpoint::Checkpoint,
    entries: Vec<Vec<u8>>,
}

#[wasm_bindgen]
impl ReceiptRecheck {
    /// The fresh checkpoint's size: read the board up to it.
    pub fn size(&self) -> u32 {
        self.fresh.size as u32
    }

    /// Entries fed so far.
    pub fn read(&self) -> u32 {
        self.entries.len() as u32
    }

    /// Feeds the next board entry.
    pub fn push(&mut self, entry: &[u8]) {
        self.entries.push(entry.to_vec());
    }

    /// Feeds the entries of entry bundle bytes of `width` entries starting
    /// at entry `first`, from the next one needed.
    pub fn push_bundle(&mut self, bundle: &[u8], first: u32, width: u16) -> Result<(), JsValue> {
        for entry in bundle_from(bundle, first, width, self.read())? {
            if self.read() >= self.size() {
                break;
            }
            self.push(entry);
        }
        Ok(())
    }

    /// JSON `{size, counted: bool, replaced_by: index|null}` when the
    /// receipt's ballot is still on the board.
    pub fn finish(&self) -> Result<String, JsValue> {
        let mut scan = BoardScan::new(&self.receipt, &self.constituency, self.ballot_key);
        for e in &self.entries {
            scan.push(e).map_err(WebError::from)?;
        }
        let (check, standing) = scan.finish(&self.fresh).map_err(WebError::from)?;
        let replaced_by = match standing {
            BallotStanding::Counted => None,
            BallotStanding::Replaced { by } => Some(by),
        };
        Ok(json(&serde_json::json!({
            "size": check.size,
            "counted": replaced_by.is_none(),
            "replaced_by": replaced_by,
        }))?)
    }
}

/// Seconds to hold the ballot back after a credential obtained during the
/// vote (`credential_time` JSON `{at, while_open}` or empty), at `now`.
#[wasm_bindgen]
pub fn cast_delay(credential_time: &str, now: f64, max_delay: f64) -> Result<f64, JsValue> {
    let t: Option<CredentialTime> = if credential_time.is_empty() {
        None
    } else {
        Some(from_json(credential_time, "credential time")?)
    };
    Ok(voter::cast_delay(t, now as u64, max_delay as u64, &mut os_rng()) as f64)
}

/// The default longest hold-back of a ballot, seconds.
#[wasm_bindgen]
pub fn default_max_cast_delay() -> f64 {
    voter::DEFAULT_MAX_CAST_DELAY as f64
}
