//! The HTTP client: one method per route of the v1 API.
//!
//! Every append returns a [`Receipt`] that has already been checked: the
//! checkpoint is signed by the board key pinned at first contact and the
//! inclusion proof puts the posted entry's leaf under its root.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64ct::{Base64, Encoding};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use urne_crypto::checkpoint::{Checkpoint, NoteVerifier};
use urne_crypto::tile::TileId;

use super::draft::ManifestDraft;
use super::error::ClientError;
use super::receipt::{self, Receipt, ReceiptJson};

/// Media type of canonical entry bodies.
pub const CBOR: &str = "application/cbor";

/// A client of one urne server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    organiser_token: Option<String>,
    board_key: Arc<OnceLock<[u8; 32]>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The answer to `POST /v1/elections`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedElection {
    /// The election id, hex.
    pub election: String,
    /// The manifest's canonical bytes, hex.
    pub manifest: String,
    /// Receipt of the manifest entry.
    pub receipt: ReceiptJson,
}

/// The answer to a roster import.
#[derive(Debug, Clone, Deserialize)]
pub struct RosterImport {
    /// Members imported.
    pub members: u64,
    /// Receipt of the first roster entry.
    pub receipt: ReceiptJson,
}

/// The signer's commitment of a credential session, hex points.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitmentJson {
    /// `A`, hex.
    pub commitment_a: String,
    /// `C`, hex.
    pub commitment_c: String,
}

/// The signer's response of a credential session.
#[derive(Debug, Clone, Deserialize)]
pub struct ResponseJson {
    /// `s`, hex.
    pub s: String,
    /// `y`, hex.
    pub y: String,
    /// `t`, hex.
    pub t: String,
    /// Receipt of the issuance entry.
    pub receipt: ReceiptJson,
}

/// Per-constituency counters of the status route.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ConstituencyStatus {
    /// Constituency id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Candidates in ballot order (`{id, category}`).
    pub candidates: Vec<CandidateStatus>,
    /// Seats in total.
    pub seats: u32,
    /// Seats drawn by lot.
    pub lottery_seats: u32,
    /// Before the open: why the lottery pool cannot complete the assembly yet.
    pub pool_shortfall: Option<String>,
    /// Members of the roster.
    pub members: u64,
    /// Members enrolled.
    pub enrolled: u64,
    /// Credentials issued.
    pub issuances: u64,
    /// Distinct ballot keys that voted.
    pub ballots: u64,
    /// Trustees whose decryption share is posted.
    pub shares: Vec<u32>,
    /// Whether the tally is posted.
    pub tallied: bool,
    /// Whether the seat result is posted.
    pub seated: bool,
}

/// The lottery in the status route.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LotteryStatus {
    /// Contributors in the manifest.
    pub contributors: usize,
    /// Contributors who committed.
    pub commits: Vec<u32>,
    /// Contributors who revealed.
    pub reveals: Vec<u32>,
    /// Whether the reveal window was closed.
    pub reveals_closed: bool,
    /// Whether the beacon value is posted.
    pub beacon: bool,
    /// Whether the lottery seed is posted.
    pub seed: bool,
}

/// A candidate in the status route.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CandidateStatus {
    /// Candidate id.
    pub id: String,
    /// Quota category.
    pub category: String,
}

/// `GET /v1/elections/{id}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ElectionStatus {
    /// Phase name.
    pub phase: String,
    /// Board size.
    pub size: u64,
    /// Per-constituency counters.
    pub constituencies: Vec<ConstituencyStatus>,
    /// Election public key, hex, once published.
    pub election_key: Option<String>,
    /// Decryption threshold.
    pub threshold: u32,
    /// Title.
    pub title: String,
    /// Number of trustees.
    pub trustees: usize,
    /// Trustees whose dealing is on the board.
    pub dealings: Vec<u32>,
    /// Trustees disqualified by a justified complaint.
    pub disqualified: Vec<u32>,
    /// Trustees whose acknowledgement covers the dealings on the board.
    pub acknowledged: Vec<u32>,
    /// Voting opens (Unix seconds).
    pub voting_opens: u64,
    /// Voting closes (Unix seconds).
    pub voting_closes: u64,
    /// The lottery's progress.
    pub lottery: LotteryStatus,
    /// Whether every constituency has its seat result.
    pub complete: bool,
}

#[derive(Deserialize)]
struct ErrorJson {
    error: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct ProofJson {
    hashes: Vec<String>,
}

#[derive(Deserialize)]
struct EntriesJson {
    #[serde(default)]
    start: Option<u64>,
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct BoardKeyJson {
    public_key: String,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Transport {
                url: base,
                reason: "the server URL must start with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| ClientError::Transport {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            base,
            organiser_token: None,
            board_key: Arc::default(),
        })
    }

    /// Sends `token` as the organiser's bearer token on organiser routes.
    pub fn with_organiser_token(mut self, token: Option<String>) -> Self {
        self.organiser_token = token;
        self
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Pins `key` as the board key (e.g. the one stored in a wallet): later
    /// contacts must present the same key.
    pub fn pin_board_key(&self, key: [u8; 32]) -> Result<(), ClientError> {
        let pinned = *self.board_key.get_or_init(|| key);
        check_same(&pinned, &key)
    }

    /// The board's public key: fetched and pinned at first contact (or taken
    /// from [`Client::pin_board_key`]).
    pub async fn board_key(&self) -> Result<[u8; 32], ClientError> {
        if let Some(k) = self.board_key.get() {
            return Ok(*k);
        }
        let presented = self.fetch_board_key().await?;
        self.pin_board_key(presented)?;
        Ok(presented)
    }

    async fn fetch_board_key(&self) -> Result<[u8; 32], ClientError> {
        let text = self.get_text("/v1/board-key").await?;
        if let Ok(j) = serde_json::from_str::<BoardKeyJson>(&text) {
            let mut key = [0u8; 32];
            hex::decode_to_slice(&j.public_key, &mut key).map_err(ClientError::decode)?;
            return Ok(key);
        }
        receipt::public_key_of_vkey(&text)
    }

    /// The verifier of an election's checkpoints under the pinned board key.
    pub async fn verifier(&self, election: &[u8; 32]) -> Result<NoteVerifier, ClientError> {
        receipt::election_verifier(&self.board_key().await?, election)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send(&self, req: RequestBuilder, url: &str) -> Result<Response, ClientError> {
        let resp = req.send().await.map_err(|e| ClientError::Transport {
            url: url.to_string(),
            reason: transport_reason(&e),
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorJson>(&body) {
            Ok(e) => ClientError::Status {
                status,
                code: e.error,
                message: e.message,
            },
            Err(_) => ClientError::Status {
                status,
                code: "http_error".into(),
                message: format!(
                    "HTTP {status}: {}",
                    body.chars().take(200).collect::<String>()
                ),
            },
        })
    }

    fn organiser(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.organiser_token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
            None => req,
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path);
        let resp = self.send(self.http.get(&url), &url).await?;
        resp.json().await.map_err(ClientError::decode)
    }

    async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let url = self.url(path);
        let resp = self.send(self.http.get(&url), &url).await?;
        resp.text().await.map_err(ClientError::decode)
    }

    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path);
        let resp = self.send(self.http.get(&url), &url).await?;
        Ok(resp.bytes().await.map_err(ClientError::decode)?.to_vec())
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        organiser: bool,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let mut req = self.http.post(&url).json(body);
        if organiser {
            req = self.organiser(req);
        }
        let resp = self.send(req, &url).await?;
        resp.json().await.map_err(ClientError::decode)
    }

    async fn post_cbor<T: DeserializeOwned>(
        &self,
        path: &str,
        entry: &[u8],
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let req = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, CBOR)
            .body(entry.to_vec());
        let resp = self.send(req, &url).await?;
        resp.json().await.map_err(ClientError::decode)
    }

    /// Checks a receipt for `entry`, fetching the inclusion proof when the
    /// server did not include it.
    pub async fn check_receipt(
        &self,
        election: &[u8; 32],
        entry: &[u8],
        r: &ReceiptJson,
    ) -> Result<Receipt, ClientError> {
        let verifier = self.verifier(election).await?;
        let proof = match &r.inclusion {
            Some(p) => p.clone(),
            None => self.inclusion_proof(election, r.index, r.size).await?,
        };
        receipt::check_receipt(entry, r, &proof, &verifier)
    }

    // ---- organiser ----

    /// `POST /v1/elections`: creates an election from a manifest draft (the
    /// caller checks the manifest and its receipt, see `cli::admin::create_election`).
    pub async fn create_election(
        &self,
        draft: &ManifestDraft,
    ) -> Result<CreatedElection, ClientError> {
        let created: CreatedElection = self.post_json("/v1/elections", draft, true).await?;
        Ok(created)
    }

    /// `POST /v1/elections/{id}/roster/reissue`: the new token's digest
    /// replaces the old one's; answers the member id, hex.
    pub async fn reissue_token(
        &self,
        election: &[u8; 32],
        old_token_digest: &[u8; 32],
        token_digest: &[u8; 32],
    ) -> Result<String, ClientError> {
        let path = format!("/v1/elections/{}/roster/reissue", hex::encode(election));
        let body = serde_json::json!({
            "old_token_digest": hex::encode(old_token_digest),
            "token_digest": hex::encode(token_digest),
        });
        let v: serde_json::Value = self.post_json(&path, &body, true).await?;
        v["member"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ClientError::decode("the answer names no member"))
    }

    /// `POST /v1/elections/{id}/roster` with the roster CSV carrying the
    /// tokens' digests ([`crate::client::invitations::import_body`]).
    pub async fn import_roster(
        &self,
        election: &[u8; 32],
        csv: String,
    ) -> Result<RosterImport, ClientError> {
        let url = self.url(&format!("/v1/elections/{}/roster", hex::encode(election)));
        let req = self.organiser(
            self.http
                .post(&url)
                .header(CONTENT_TYPE, "text/csv")
                .body(csv),
        );
        let resp = self.send(req, &url).await?;
        resp.json().await.map_err(ClientError::decode)
    }

    /// `POST /v1/elections/{id}/admin/{action}` for `election-key`, `open`,
    /// `close`, `tally` and `seats`; returns the receipts found in the answer.
    pub async fn admin(
        &self,
        election: &[u8; 32],
        action: &str,
    ) -> Result<Vec<ReceiptJson>, ClientError> {
        let path = format!("/v1/elections/{}/admin/{action}", hex::encode(election));
        let v: serde_json::Value = self.post_json(&path, &serde_json::json!({}), true).await?;
        Ok(receipts_in(&v))
    }

    /// `POST /v1/elections/{id}/admin/cancel`: removes an election nothing
    /// depends on yet; returns how many entries its board held.
    pub async fn cancel_election(&self, election: &[u8; 32]) -> Result<u64, ClientError> {
        let path = format!("/v1/elections/{}/admin/cancel", hex::encode(election));
        let v: serde_json::Value = self.post_json(&path, &serde_json::json!({}), true).await?;
        v.get("entries")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ClientError::Decode("cancel answer without `entries`".into()))
    }

    /// `POST /v1/elections/{id}/admin/beacon` with the beacon value.
    pub async fn beacon(
        &self,
        election: &[u8; 32],
        value: &urne_crypto::entry::BeaconValue,
    ) -> Result<Vec<ReceiptJson>, ClientError> {
        let path = format!("/v1/elections/{}/admin/beacon", hex::encode(election));
        let body = serde_json::json!({
            "round": value.round,
            "signature": hex::encode(&value.signature),
            "values": value.values,
        });
        let v: serde_json::Value = self.post_json(&path, &body, true).await?;
        Ok(receipts_in(&v))
    }

    // ---- members and voters ----

    /// `POST /v1/elections/{id}/enroll` with the member's token and enrolment entry.
    pub async fn enroll(
        &self,
        election: &[u8; 32],
        token: &str,
        entry: &[u8],
    ) -> Result<Receipt, ClientError> {
        let path = format!("/v1/elections/{}/enroll", hex::encode(election));
        let body = serde_json::json!({ "token": token, "entry": hex::encode(entry) });
        let v: serde_json::Value = self.post_json(&path, &body, false).await?;
        self.check_receipt(election, entry, &receipt_of(&v)?).await
    }

    /// `POST /v1/elections/{id}/credential/commit`.
    pub async fn credential_commit(
        &self,
        election: &[u8; 32],
        member: &[u8; 32],
        signature: &[u8],
    ) -> Result<CommitmentJson, ClientError> {
        let path = format!("/v1/elections/{}/credential/commit", hex::encode(election));
        let body = serde_json::json!({ "member": hex::encode(member), "signature": hex::encode(signature) });
        self.post_json(&path, &body, false).await
    }

    /// `POST /v1/elections/{id}/credential/respond` with the signed issuance entry.
    pub async fn credential_respond(
        &self,
        election: &[u8; 32],
        entry: &[u8],
    ) -> Result<(ResponseJson, Receipt), ClientError> {
        let path = format!("/v1/elections/{}/credential/respond", hex::encode(election));
        let r: ResponseJson = self.post_cbor(&path, entry).await?;
        let receipt = self.check_receipt(election, entry, &r.receipt).await?;
        Ok((r, receipt))
    }

    /// `POST /v1/elections/{id}/ballots` with an anonymous ballot entry.
    pub async fn cast_ballot(
        &self,
        election: &[u8; 32],
        entry: &[u8],
    ) -> Result<Receipt, ClientError> {
        let path = format!("/v1/elections/{}/ballots", hex::encode(election));
        let v: serde_json::Value = self.post_cbor(&path, entry).await?;
        self.check_receipt(election, entry, &receipt_of(&v)?).await
    }

    /// `POST /v1/elections/{id}/entries` with a self-signed entry (trustees,
    /// lottery contributors, auditors).
    pub async fn post_entry(
        &self,
        election: &[u8; 32],
        entry: &[u8],
    ) -> Result<Receipt, ClientError> {
        let path = format!("/v1/elections/{}/entries", hex::encode(election));
        let v: serde_json::Value = self.post_cbor(&path, entry).await?;
        self.check_receipt(election, entry, &receipt_of(&v)?).await
    }

    // ---- read side ----

    /// `GET /v1/health`.
    pub async fn health(&self) -> Result<(), ClientError> {
        self.get_text("/v1/health").await.map(|_| ())
    }

    /// `GET /v1/elections`: election ids, hex.
    pub async fn elections(&self) -> Result<Vec<String>, ClientError> {
        let v: serde_json::Value = self.get_json("/v1/elections").await?;
        let list = v.get("elections").unwrap_or(&v);
        serde_json::from_value(list.clone()).map_err(ClientError::decode)
    }

    /// `GET /v1/elections/{id}`: the status.
    pub async fn status(&self, election: &[u8; 32]) -> Result<ElectionStatus, ClientError> {
        self.get_json(&format!("/v1/elections/{}", hex::encode(election)))
            .await
    }

    /// `GET /v1/elections/{id}/manifest`: the manifest's canonical bytes.
    pub async fn manifest_bytes(&self, election: &[u8; 32]) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(&format!("/v1/elections/{}/manifest", hex::encode(election)))
            .await
    }

    /// `GET /v1/elections/{id}/entries?start=&end=`: one page of canonical
    /// entry bytes from `start`.
    pub async fn entries_page(
        &self,
        election: &[u8; 32],
        start: u64,
        end: Option<u64>,
    ) -> Result<Vec<Vec<u8>>, ClientError> {
        let mut path = format!(
            "/v1/elections/{}/entries?start={start}",
            hex::encode(election)
        );
        if let Some(end) = end {
            path.push_str(&format!("&end={end}"));
        }
        let page: EntriesJson = self.get_json(&path).await?;
        if page.start.is_some_and(|s| s != start) {
            return Err(ClientError::decode(
                "entries page starts at the wrong index",
            ));
        }
        page.entries.iter().map(decode_entry_value).collect()
    }

    /// Every entry of the board in `[start, end)`, page by page.
    pub async fn entries(
        &self,
        election: &[u8; 32],
        start: u64,
        end: u64,
    ) -> Result<Vec<Vec<u8>>, ClientError> {
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            let page = self.entries_page(election, at, Some(end)).await?;
            if page.is_empty() {
                return Err(ClientError::decode(format!("the board has no entry {at}")));
            }
            at += page.len() as u64;
            out.extend(page);
        }
        out.truncate((end - start) as usize);
        Ok(out)
    }

    /// `GET /v1/elections/{id}/tile/entries/<N>[.p/<W>]`: the entries of
    /// entry bundle `n` of `width` entries (§6.10), or `None` when the bundle
    /// holds an entry too long for it (422 `entry_too_large`), whose entries
    /// must then be read from the paged API.
    pub async fn entry_bundle(
        &self,
        election: &[u8; 32],
        n: u64,
        width: u16,
    ) -> Result<Option<Vec<Vec<u8>>>, ClientError> {
        let path = format!(
            "/v1/elections/{}/{}",
            hex::encode(election),
            TileId::entries(n, width).path()
        );
        match self.get_bytes(&path).await {
            Ok(bytes) => {
                let entries = urne_crypto::tile::split_bundle(&bytes, width)
                    .map_err(|e| ClientError::decode(format!("the entry bundle {n}: {e}")))?;
                Ok(Some(entries.into_iter().map(<[u8]>::to_vec).collect()))
            }
            Err(e) if e.code() == Some("entry_too_large") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/elections/{id}/entries/{index}`.
    pub async fn entry(&self, election: &[u8; 32], index: u64) -> Result<Vec<u8>, ClientError> {
        let mut page = self.entries(election, index, index + 1).await?;
        page.pop().ok_or_else(|| ClientError::decode("empty page"))
    }

    /// `GET /v1/elections/{id}/checkpoint`, opened under the pinned board key.
    pub async fn checkpoint(
        &self,
        election: &[u8; 32],
    ) -> Result<(Checkpoint, String), ClientError> {
        let note = self
            .get_text(&format!(
                "/v1/elections/{}/checkpoint",
                hex::encode(election)
            ))
            .await?;
        let cp = receipt::open_checkpoint(&note, &self.verifier(election).await?)?;
        Ok((cp, note))
    }

    /// `GET /v1/elections/{id}/proof/inclusion?index=&size=`: hex hashes.
    pub async fn inclusion_proof(
        &self,
        election: &[u8; 32],
        index: u64,
        size: u64,
    ) -> Result<Vec<String>, ClientError> {
        let path = format!(
            "/v1/elections/{}/proof/inclusion?index={index}&size={size}",
            hex::encode(election)
        );
        Ok(self.get_json::<ProofJson>(&path).await?.hashes)
    }

    /// `GET /v1/elections/{id}/proof/consistency?from=&to=`: hex hashes.
    pub async fn consistency_proof(
        &self,
        election: &[u8; 32],
        from: u64,
        to: u64,
    ) -> Result<Vec<String>, ClientError> {
        let path = format!(
            "/v1/elections/{}/proof/consistency?from={from}&to={to}",
            hex::encode(election)
        );
        Ok(self.get_json::<ProofJson>(&path).await?.hashes)
    }

    /// `GET /v1/elections/{id}/export`: the export stream.
    pub async fn export(&self, election: &[u8; 32]) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(&format!("/v1/elections/{}/export", hex::encode(election)))
            .await
    }
}

fn check_same(pinned: &[u8; 32], presented: &[u8; 32]) -> Result<(), ClientError> {
    if pinned == presented {
        Ok(())
    } else {
        Err(ClientError::BoardKeyChanged {
            pinned: hex::encode(pinned),
            presented: hex::encode(presented),
        })
    }
}

fn transport_reason(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    reason
}

/// An entry in a JSON page: hex or standard base64 text, or an object with an
/// `entry` field holding either.
fn decode_entry_value(v: &serde_json::Value) -> Result<Vec<u8>, ClientError> {
    let text = match v {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Object(o) => o
            .get("entry")
            .and_then(|e| e.as_str())
            .ok_or_else(|| ClientError::decode("entry object without an entry field"))?,
        _ => return Err(ClientError::decode("entry is neither text nor an object")),
    };
    if text.len() % 2 == 0
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return hex::decode(text).map_err(ClientError::decode);
    }
    Base64::decode_vec(text).map_err(|_| ClientError::decode("entry is neither hex nor base64"))
}

/// The receipt of an answer that is a receipt or holds one under `receipt`.
fn receipt_of(v: &serde_json::Value) -> Result<ReceiptJson, ClientError> {
    let r = v.get("receipt").unwrap_or(v);
    serde_json::from_value(r.clone()).map_err(ClientError::decode)
}

/// Every receipt-shaped object in an answer, in document order.
fn receipts_in(v: &serde_json::Value) -> Vec<ReceiptJson> {
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<ReceiptJson>) {
        match v {
            serde_json::Value::Object(o)
                if o.contains_key("checkpoint") && o.contains_key("index") =>
            {
                if let Ok(r) = serde_json::from_value(v.clone()) {
                    out.push(r);
                }
            }
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}
