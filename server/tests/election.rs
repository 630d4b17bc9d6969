//! The election lifecycle over `/v1`, driven over HTTP against a real server
//! on a loopback port: every role builds its entries with `urne_crypto`, the
//! export replays through the election record, and every bad input gets its
//! typed error without changing the board.

mod common;

use std::collections::BTreeMap;

use base64ct::{Base64, Encoding};
use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use urne_crypto::beacon::DemoNetwork;
use urne_crypto::checkpoint::{open_signed_checkpoint, NoteVerifier};
use urne_crypto::credential::{
    BlindChallenge, Credential, CredentialContext, RegistrarKey, SignerCommitment, SignerResponse,
    SignerState, UserState,
};
use urne_crypto::decryption;
use urne_crypto::dkg::{self, DealerMessage, TrusteeKey};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{
    member_id, Ballot, DecryptionShare, Entry, EntryKind, LotteryCommit, LotteryReveal,
};
use urne_crypto::export::{ExportReader, Record as ExportRecord};
use urne_crypto::group::{decode_nonidentity_point, decode_scalar};
use urne_crypto::lottery;
use urne_crypto::manifest::Manifest;
use urne_crypto::merkle::{self, decode_hash_hex, leaf_hash};
use urne_crypto::record::{Applied, BallotCheck, BallotHistory, BallotVerifier, Phase, Record};
use urne_crypto::schnorr::BallotSecretKey;
use urne_crypto::voter;

use common::{start, unlimited, TOKEN};
use urne_server::client::invitations;

const CBOR: &str = "application/cbor";
const BODY_LIMIT: usize = 64 << 10;

fn rng(label: &str, i: u64) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    let l = label.as_bytes();
    seed[..l.len().min(24)].copy_from_slice(&l[..l.len().min(24)]);
    seed[24..].copy_from_slice(&i.to_le_bytes());
    ChaCha20Rng::from_seed(seed)
}

fn signer(label: &str, i: u64) -> SigningKey {
    let mut s = [0u8; 32];
    rng(label, i).fill_bytes(&mut s);
    SigningKey::from_bytes(&s)
}

/// A JSON-speaking client of the election routes.
struct Api {
    http: reqwest::Client,
    base: String,
}

/// A response: status and body (JSON when the server sent JSON).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    json: Value,
    bytes: Vec<u8>,
}

impl Answer {
    fn code(&self) -> &str {
        self.json["error"].as_str().unwrap_or("<no error code>")
    }

    #[track_caller]
    fn ok(self) -> Value {
        assert!(self.status.is_success(), "{}: {}", self.status, self.json);
        self.json
    }

    #[track_caller]
    fn refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "{}",
            self.json
        );
    }
}

impl Api {
    fn new(addr: std::net::SocketAddr) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.expect("request");
        let status = r.status();
        let is_json = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let bytes = r.bytes().await.expect("body").to_vec();
        if !status.is_success() {
            assert!(is_json, "error responses are JSON ({status})");
        }
        let json = if is_json {
            serde_json::from_slice(&bytes).expect("valid JSON")
        } else {
            Value::Null
        };
        Answer {
            status,
            json,
            bytes,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, organiser: bool, ty: &str, body: Vec<u8>) -> Answer {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", ty)
            .body(body);
        if organiser {
            req = req.bearer_auth(TOKEN);
        }
        self.send(req).await
    }

    /// Posts a body over the server's limit. The server answers 413 without
    /// reading it and closes the connection, so the client may see the reset
    /// before the answer: retry a few times until the answer is read.
    async fn oversized(&self, path: &str, len: usize) -> Answer {
        for _ in 0..20 {
            let sent = self
                .http
                .post(format!("{}{path}", self.base))
                .header("content-type", CBOR)
                .body(vec![0; len])
                .send()
                .await;
            if let Ok(r) = sent {
                let status = r.status();
                let json = r.json().await.unwrap_or(Value::Null);
                return Answer {
                    status,
                    json,
                    bytes: Vec::new(),
                };
            }
        }
        panic!("no answer to an oversized body");
    }

    async fn post_json(&self, path: &str, organiser: bool, body: &Value) -> Answer {
        self.post(
            path,
            organiser,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    async fn admin(&self, id: &str, action: &str) -> Answer {
        self.post_json(
            &format!("/v1/elections/{id}/admin/{action}"),
            true,
            &json!({}),
        )
        .await
    }

    async fn entry(&self, id: &str, entry: &Entry) -> Answer {
        self.post(
            &format!("/v1/elections/{id}/entries"),
            false,
            CBOR,
            entry.to_bytes(),
        )
        .await
    }

    async fn size(&self, id: &str) -> u64 {
        self.get(&format!("/v1/elections/{id}")).await.ok()["size"]
            .as_u64()
            .expect("size")
    }

    async fn status(&self, id: &str) -> Value {
        self.get(&format!("/v1/elections/{id}")).await.ok()
    }

    /// Every entry of the board, through the paged read route.
    async fn entries(&self, id: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let page = self
                .get(&format!("/v1/elections/{id}/entries?start={}", out.len()))
                .await
                .ok();
            let list = page["entries"].as_array().expect("entries").clone();
            if list.is_empty() {
                return out;
            }
            for e in list {
                out.push(Base64::decode_vec(e.as_str().expect("base64")).expect("base64"));
            }
        }
    }

    /// Checks a receipt for `entry`: the checkpoint is signed by the
    /// election's board key and the inclusion proof puts the entry under it.
    async fn check_receipt(&self, id: &str, entry: &[u8], receipt: &Value) {
        let vkey = String::from_utf8(
            self.get(&format!("/v1/elections/{id}/board-key"))
                .await
                .bytes,
        )
        .expect("utf-8");
        let verifier = NoteVerifier::from_vkey_string(vkey.trim()).expect("verifier key");
        let cp = open_signed_checkpoint(
            receipt["checkpoint"]
                .as_str()
                .expect("checkpoint")
                .as_bytes(),
            &verifier,
        )
        .expect("signed checkpoint");
        let index = receipt["index"].as_u64().expect("index");
        let size = receipt["size"].as_u64().expect("size");
        assert_eq!(cp.size, size);
        let proof: Vec<_> = receipt["inclusion"]
            .as_array()
            .expect("inclusion")
            .iter()
            .map(|h| decode_hash_hex(h.as_str().expect("hex")).expect("hash"))
            .collect();
        merkle::verify_inclusion(index, size, &leaf_hash(entry), &proof, &cp.root)
            .expect("entry included under the checkpoint");
    }
}

/// Ballots of the board, for the record's revote bookkeeping.
struct Entries<'a>(&'a [Vec<u8>]);

impl BallotHistory for Entries<'_> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        let bytes = self.0.get(index as usize).ok_or("no entry")?;
        Entry::from_bytes(bytes)
            .map_err(|e| e.to_string())?
            .body()
            .map_err(|e| e.to_string())
    }
}

/// Replays entries through a fresh record.
fn replay(entries: &[Vec<u8>], check: BallotCheck) -> Record {
    let first = Entry::from_bytes(&entries[0]).expect("entry 0");
    let mut record = Record::open(&first).expect("manifest");
    for (i, bytes) in entries.iter().enumerate().skip(1) {
        let e = Entry::from_bytes(bytes).expect("entry");
        match record.apply(&e, check, &Entries(entries)) {
            Ok(Applied::Recorded | Applied::Ballot { .. } | Applied::Attestation(_)) => {}
            Err(err) => panic!("entry {i} does not replay: {err}"),
        }
    }
    record
}

struct Member {
    pseudonym: String,
    constituency: String,
    key: SigningKey,
    token: String,
    ballot_key: BallotSecretKey,
    credential: Option<Credential>,
}

/// Round 1 of the test's beacon network.
const BEACON_GENESIS: u64 = 1_764_000_000;
/// The reveal deadline; the beacon round is the first one after it.
const REVEAL_DEADLINE: &str = "2030-01-02T00:00:00Z";
/// The manifest's voting window: open since 2020, closing 2029-12-31; the
/// tests move the board's clock to the close.
const VOTING_OPENS: &str = "2020-01-01T00:00:00Z";
const VOTING_CLOSES: &str = "2029-12-31T00:00:00Z";

fn voting_closes() -> u64 {
    urne_server::client::draft::parse_time("voting_closes", VOTING_CLOSES).unwrap()
}

/// Every trustee's acknowledgement of `dealings` (all of them, in dealer order).
async fn acknowledge(
    api: &Api,
    id: &str,
    s: &Setup,
    manifest: &Manifest,
    dealings: &[DealerMessage],
) {
    for (signer, key) in s.trustee_signers.iter().zip(&s.trustee_keys) {
        let e =
            urne_server::client::trustee::acknowledgement_entry(manifest, signer, key, dealings)
                .unwrap();
        api.entry(id, &e).await.ok();
    }
}

/// The test's own beacon network (drand's scheme, a key the test holds).
fn beacon_network() -> DemoNetwork {
    DemoNetwork::from_seed(&[8; 64])
}

struct Setup {
    trustee_keys: Vec<TrusteeKey>,
    trustee_signers: Vec<SigningKey>,
    contributors: Vec<SigningKey>,
    draft: Value,
}

/// Three constituencies, 3-of-5 trustees, three lottery contributors.
fn setup() -> Setup {
    let trustee_keys: Vec<TrusteeKey> = (0..5)
        .map(|j| TrusteeKey::generate(&mut rng("trustee-enc", j)))
        .collect();
    let trustee_signers: Vec<SigningKey> = (0..5).map(|j| signer("trustee-sign", j)).collect();
    let contributors: Vec<SigningKey> = (0..3).map(|j| signer("contributor", j)).collect();
    let constituency = |id: &str, n: usize, seats: u32| {
        let half = seats / 2;
        json!({
            "id": id,
            "name": format!("Constituency {id}"),
            "candidates": (0..n).map(|k| json!({
                "id": format!("{id}-cand{k:02}"),
                "category": if k % 2 == 0 { "F" } else { "M" },
            })).collect::<Vec<_>>(),
            "approval_min": 1,
            "approval_max": n.min(5),
            "rules": {
                "seats": seats,
                "lottery_seats": seats / 4,
                "quotas": [
                    { "category": "F", "min": half, "max": seats - half },
                    { "category": "M", "min": half, "max": seats - half },
                ],
                "parity": "none",
            },
        })
    };
    let draft = json!({
        "title": "Assembly election",
        "constituencies": [
            constituency("north", 8, 4),
            constituency("south", 5, 4),
            constituency("east", 3, 2),
        ],
        "trustees": trustee_keys.iter().zip(&trustee_signers).enumerate().map(|(i, (k, s))| json!({
            "name": format!("trustee {}", i + 1),
            "signing_key": hex::encode(s.verifying_key().to_bytes()),
            "encryption_key": hex::encode(k.public_key().compress().to_bytes()),
        })).collect::<Vec<_>>(),
        "threshold": 3,
        "lottery": {
            "method": "drbg",
            "contributors": contributors.iter().enumerate().map(|(i, s)| json!({
                "name": format!("contributor {}", i + 1),
                "signing_key": hex::encode(s.verifying_key().to_bytes()),
            })).collect::<Vec<_>>(),
            "beacon": {
                "network": "test beacon",
                "public_key": hex::encode(beacon_network().public_key()),
                "chain_hash": hex::encode([7u8; 32]),
                "genesis_time": BEACON_GENESIS,
                "period": 3,
            },
            "commit_deadline": "2030-01-01T00:00:00Z",
            "reveal_deadline": REVEAL_DEADLINE,
        },
        "voting_opens": VOTING_OPENS,
        "voting_closes": VOTING_CLOSES,
    });
    Setup {
        trustee_keys,
        trustee_signers,
        contributors,
        draft,
    }
}

/// Voters per constituency; all but the last of each are in the lottery pool.
const VOTERS: [(&str, usize); 3] = [("north", 6), ("south", 5), ("east", 4)];

fn roster_csv() -> String {
    let mut csv = String::from("pseudonym,constituency,pool,category\n");
    for (c, n) in VOTERS {
        for v in 0..n {
            let pool = if v + 1 < n { "yes" } else { "no" };
            let category = if (v / 2) % 2 == 0 { "F" } else { "M" };
            csv.push_str(&format!("{c}-member{v},{c},{pool},{category}\n"));
        }
    }
    csv
}

/// A roster as the organiser's client sends it (with the digests of the
/// tokens it drew), and those tokens with their pseudonyms, in file order.
fn roster_import(csv: &str, label: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let tokens = invitations::draw(csv, &mut rng(label, 0)).expect("roster");
    let body = invitations::import_body(csv, &tokens).expect("roster");
    let tokens = tokens
        .into_iter()
        .map(|t| (t.pseudonym, t.token.to_string()))
        .collect();
    (body.into_bytes(), tokens)
}

fn hex32(v: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().expect("hex string"), &mut out).expect("hex");
    out
}

/// Sends member `m`'s signed credential commit request.
async fn commit_request(api: &Api, id: &str, election: [u8; 32], m: &Member) -> Answer {
    let member = member_id(&election, &m.pseudonym);
    let sig = voter::sign_commit_request(&election, &member, &m.key);
    api.post_json(
        &format!("/v1/elections/{id}/credential/commit"),
        false,
        &json!({ "member": hex::encode(member), "signature": hex::encode(sig.to_bytes()) }),
    )
    .await
}

/// Obtains a member's credential: commit, blind, respond, unblind.
async fn credential(
    api: &Api,
    id: &str,
    election: [u8; 32],
    manifest: &Manifest,
    m: &Member,
    i: u64,
) -> (Credential, Entry, Value) {
    let member = member_id(&election, &m.pseudonym);
    let commit = commit_request(api, id, election, m).await.ok();
    let commitment = SignerCommitment {
        a: decode_nonidentity_point(&hex32(&commit["commitment_a"])).expect("A"),
        c: decode_nonidentity_point(&hex32(&commit["commitment_c"])).expect("C"),
    };
    let c = manifest
        .constituency(&m.constituency)
        .expect("constituency");
    let ctx = CredentialContext::new(election, m.constituency.clone());
    let p = m.ballot_key.public_key();
    let (user, challenge) = UserState::blind(
        &c.registrar_key,
        &ctx,
        p.as_bytes(),
        &commitment,
        &mut rng("blind", i),
    )
    .expect("blind");
    let entry = voter::issuance(
        election,
        member,
        &m.constituency,
        &commitment,
        &challenge,
        &m.key,
    );
    let answer = api
        .post(
            &format!("/v1/elections/{id}/credential/respond"),
            false,
            CBOR,
            entry.to_bytes(),
        )
        .await
        .ok();
    api.check_receipt(id, &entry.to_bytes(), &answer["receipt"])
        .await;
    let response = SignerResponse {
        s: decode_scalar(&hex32(&answer["s"])).expect("s"),
        y: decode_scalar(&hex32(&answer["y"])).expect("y"),
        t: decode_scalar(&hex32(&answer["t"])).expect("t"),
    };
    (user.finish(&response).expect("credential"), entry, answer)
}

fn choices(r: &mut ChaCha20Rng, n: usize, max: usize) -> Vec<bool> {
    let k = 1 + (r.next_u64() as usize) % max;
    let mut c = vec![false; n];
    let mut picked = 0;
    while picked < k {
        let i = (r.next_u64() as usize) % n;
        if !c[i] {
            c[i] = true;
            picked += 1;
        }
    }
    c
}

/// Replaces every occurrence of `from` in `bytes` (the entry's body) and re-signs.
fn resign(entry: &Entry, body: Vec<u8>, key: &SigningKey) -> Entry {
    use ed25519_dalek::Signer;
    let kind = entry.kind().expect("kind");
    let sig = key.sign(&urne_crypto::entry::signing_digest(
        kind,
        &entry.election,
        &body,
    ));
    Entry {
        body,
        signature: sig.to_bytes().to_vec(),
        ..entry.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_election_over_http_then_its_export_replays() {
    let dir = tempfile::tempdir().unwrap();
    // A small body limit, so that an oversized body fits in socket buffers
    // and the client reads the 413 rather than a reset.
    let limits = || urne_server::api::limits::Limits {
        max_body_bytes: BODY_LIMIT,
        ..unlimited()
    };
    let mut server = start(dir.path(), limits()).await;
    let mut api = Api::new(server.local_addr());
    let s = setup();

    // Organiser routes need the token; malformed drafts are refused.
    api.post(
        "/v1/elections",
        false,
        "application/json",
        s.draft.to_string().into_bytes(),
    )
    .await
    .refused(401, "unauthorized");
    api.post(
        "/v1/elections",
        true,
        "application/json",
        b"{\"title\": ".to_vec(),
    )
    .await
    .refused(400, "malformed_json");
    let mut wrong = s.draft.clone();
    wrong["threshold"] = json!("three");
    api.post_json("/v1/elections", true, &wrong)
        .await
        .refused(400, "invalid_json");
    let mut impossible = s.draft.clone();
    impossible["threshold"] = json!(6);
    let a = api.post_json("/v1/elections", true, &impossible).await;
    a.refused(422, "invalid_manifest");
    assert!(
        a.json["message"].as_str().unwrap().contains("thresh"),
        "{}",
        a.json
    );
    // A beacon round published before the reveal deadline, a bad network
    // key, a time that is not RFC 3339.
    let mut early = s.draft.clone();
    early["lottery"]["beacon"]["round"] = json!(5);
    let a = api.post_json("/v1/elections", true, &early).await;
    a.refused(422, "invalid_manifest");
    assert!(
        a.json["message"].as_str().unwrap().contains("later round"),
        "{}",
        a.json
    );
    let mut bad_key = s.draft.clone();
    bad_key["lottery"]["beacon"]["public_key"] = json!("ab".repeat(96));
    api.post_json("/v1/elections", true, &bad_key)
        .await
        .refused(422, "invalid_manifest");
    let mut bad_time = s.draft.clone();
    bad_time["lottery"]["reveal_deadline"] = json!("next tuesday");
    api.post_json("/v1/elections", true, &bad_time)
        .await
        .refused(422, "invalid_manifest");
    assert_eq!(api.get("/v1/elections").await.ok()["elections"], json!([]));

    // Creation: the manifest is the draft, completed, as entry 0.
    let created = api.post_json("/v1/elections", true, &s.draft).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let created = created.json;
    let id = created["election"].as_str().unwrap().to_string();
    let election = hex32(&created["election"]);
    let manifest_bytes = hex::decode(created["manifest"].as_str().unwrap()).unwrap();
    let manifest = Manifest::from_bytes(&manifest_bytes).unwrap();
    assert_eq!(manifest.election_id(), election);
    assert_eq!(
        api.get(&format!("/v1/elections/{id}/manifest")).await.bytes,
        manifest_bytes
    );
    let board_key = api.get("/v1/board-key").await.ok();
    assert_eq!(hex::encode(manifest.board_key), board_key["public_key"]);
    let entry0 = api
        .get(&format!("/v1/elections/{id}/entries/0"))
        .await
        .bytes;
    api.check_receipt(&id, &entry0, &created["receipt"]).await;
    assert_eq!(
        api.get("/v1/elections").await.ok()["elections"],
        json!([id])
    );
    let status = api.status(&id).await;
    assert_eq!(status["phase"], "setup");
    assert_eq!(
        status["constituencies"][0]["candidates"][1],
        json!({"id": "north-cand01", "category": "M"})
    );
    // The manifest's rules, as the public site's overview shows them.
    let north = &status["constituencies"][0];
    let half = north["seats"].as_u64().unwrap() / 2;
    assert_eq!(north["parity"], "none");
    assert_eq!(north["quotas"][0]["category"], "F");
    assert_eq!(north["quotas"][0]["min"], half);
    assert_eq!(status["lottery"]["method"], "drbg");
    assert_eq!(
        status["lottery"]["contributor_names"],
        json!(["contributor 1", "contributor 2", "contributor 3"])
    );
    assert!(status["lottery"]["beacon_round"].as_u64().is_some());
    assert_eq!(status["witnesses"], json!([]));
    assert_eq!(status["witness_quorum"], 0);

    // Roster and tokens.
    let bad_roster = "pseudonym,constituency,pool,category\nada,north,yes,F\nbo,west,no,M\n";
    let a = api
        .post(
            &format!("/v1/elections/{id}/roster"),
            true,
            "text/csv",
            roster_import(bad_roster, "bad-tokens").0,
        )
        .await;
    a.refused(422, "invalid_roster");
    assert!(a.json["message"].as_str().unwrap().starts_with("line 3:"));
    // The organiser's four columns alone: the tokens' digests are missing.
    api.post(
        &format!("/v1/elections/{id}/roster"),
        true,
        "text/csv",
        roster_csv().into(),
    )
    .await
    .refused(422, "invalid_roster");
    let (body, tokens) = roster_import(&roster_csv(), "tokens");
    let tokens: BTreeMap<String, String> = tokens.into_iter().collect();
    let imported = api
        .post(
            &format!("/v1/elections/{id}/roster"),
            true,
            "text/csv",
            body.clone(),
        )
        .await
        .ok();
    assert_eq!(imported["members"], 15);
    let roster_entry = api
        .get(&format!("/v1/elections/{id}/entries/1"))
        .await
        .bytes;
    api.check_receipt(&id, &roster_entry, &imported["receipt"])
        .await;
    // The answer was lost: the same import again gets the same answer and
    // appends nothing.
    let size = api.size(&id).await;
    let again = api
        .post(
            &format!("/v1/elections/{id}/roster"),
            true,
            "text/csv",
            body,
        )
        .await
        .ok();
    assert_eq!(again["receipt"]["index"], imported["receipt"]["index"]);
    assert_eq!(again["members"], imported["members"]);
    api.check_receipt(&id, &roster_entry, &again["receipt"])
        .await;
    assert_eq!(api.size(&id).await, size);
    // The same members with other tokens: a conflicting roster, refused.
    api.post(
        &format!("/v1/elections/{id}/roster"),
        true,
        "text/csv",
        roster_import(&roster_csv(), "other-tokens").0,
    )
    .await
    .refused(409, "duplicate");
    assert_eq!(api.size(&id).await, size);
    let mut members = Vec::new();
    for (c, n) in VOTERS {
        for v in 0..n {
            let i = members.len() as u64;
            let pseudonym = format!("{c}-member{v}");
            members.push(Member {
                token: tokens[&pseudonym].clone(),
                pseudonym,
                constituency: c.to_string(),
                key: signer("member", i),
                ballot_key: BallotSecretKey::generate(&mut rng("ballot-key", i)),
                credential: None,
            });
        }
    }

    // A ballot before the election opens is out of phase.
    let dummy_verifier = BallotVerifier::new(manifest.clone(), urne_crypto::group::h());
    let early_credential = Credential {
        c: urne_crypto::group::decode_scalar(&[1; 32]).unwrap_or_default(),
        s: Default::default(),
        y: Default::default(),
        t: Default::default(),
    };
    let early = voter::ballot(
        &dummy_verifier,
        "north",
        &members[0].ballot_key,
        &early_credential,
        &[true, false, false, false, false, false, false, false],
        &mut rng("early", 0),
    )
    .unwrap();
    let before = api.size(&id).await;
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        early.to_bytes(),
    )
    .await
    .refused(409, "out_of_phase");

    // Enrolment: each member with its token, once.
    for m in &members {
        let entry = voter::enrollment(election, &m.pseudonym, &m.key);
        let r = api
            .post_json(
                &format!("/v1/elections/{id}/enroll"),
                false,
                &json!({ "token": m.token, "entry": hex::encode(entry.to_bytes()) }),
            )
            .await
            .ok();
        api.check_receipt(&id, &entry.to_bytes(), &r).await;
    }
    let before = before + members.len() as u64;
    assert_eq!(api.size(&id).await, before);
    // A replayed token, an unknown token, another member's token.
    let again = voter::enrollment(election, &members[0].pseudonym, &signer("other", 0));
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &json!({ "token": members[0].token, "entry": hex::encode(again.to_bytes()) }),
    )
    .await
    .refused(409, "token_used");
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &json!({ "token": "ab".repeat(32), "entry": hex::encode(again.to_bytes()) }),
    )
    .await
    .refused(401, "bad_token");
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &json!({ "token": members[1].token, "entry": hex::encode(again.to_bytes()) }),
    )
    .await
    .refused(401, "bad_token");
    assert_eq!(api.size(&id).await, before);

    // Lottery commitments, before the beacon exists.
    let secrets: Vec<[u8; 32]> = (0..3u32)
        .map(|j| {
            let mut sec = [0u8; 32];
            rng("lottery-secret", j.into()).fill_bytes(&mut sec);
            sec
        })
        .collect();
    for (j, sec) in secrets.iter().enumerate() {
        let j = j as u32 + 1;
        let c = LotteryCommit {
            contributor: j,
            commitment: lottery::commitment(&election, j, sec),
        };
        let e = Entry::signed(
            EntryKind::LotteryCommit,
            election,
            &c,
            &s.contributors[j as usize - 1],
        );
        let r = api.entry(&id, &e).await.ok();
        api.check_receipt(&id, &e.to_bytes(), &r).await;
    }

    // Key generation: every trustee deals; the election key; open.
    api.admin(&id, "election-key")
        .await
        .refused(422, "missing_prerequisite");
    let params = manifest.dkg_params().unwrap();
    let mut dealings: Vec<DealerMessage> = Vec::new();
    for j in 0..5u32 {
        let d = dkg::deal(&params, j + 1, &mut rng("deal", j.into())).unwrap();
        let e = Entry::signed(
            EntryKind::DkgDealing,
            election,
            &d,
            &s.trustee_signers[j as usize],
        );
        api.entry(&id, &e).await.ok();
        dealings.push(d);
    }
    // A dealing signed by another trustee's key is refused.
    let forged = Entry::signed(
        EntryKind::DkgDealing,
        election,
        &dealings[0],
        &s.trustee_signers[1],
    );
    let before = api.size(&id).await;
    api.entry(&id, &forged).await.refused(422, "bad_signature");
    // Out of phase: close and tally before opening.
    api.admin(&id, "close").await.refused(409, "out_of_phase");
    api.admin(&id, "tally").await.refused(409, "out_of_phase");
    // No election key before every trustee acknowledged the dealings, and no
    // credential request before the key.
    api.admin(&id, "election-key")
        .await
        .refused(409, "missing_acknowledgement");
    commit_request(&api, &id, election, &members[0])
        .await
        .refused(409, "out_of_phase");
    assert_eq!(api.size(&id).await, before);
    acknowledge(&api, &id, &s, &manifest, &dealings).await;
    let status = api.status(&id).await;
    assert_eq!(status["acknowledged"], json!([1, 2, 3, 4, 5]));
    let published = api.admin(&id, "election-key").await.ok();
    assert_eq!(published["receipts"].as_array().unwrap().len(), 1);
    api.admin(&id, "election-key")
        .await
        .refused(409, "duplicate");
    // Credentials, before the vote opens.
    let mut issuance_entries = Vec::new();
    for (i, m) in members.iter_mut().enumerate() {
        let (cred, entry, answer) = credential(&api, &id, election, &manifest, m, i as u64).await;
        m.credential = Some(cred);
        issuance_entries.push((entry, answer));
    }
    let status = api.status(&id).await;
    let issued: Vec<u64> = status["constituencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["issuances"].as_u64().unwrap())
        .collect();
    assert_eq!(issued, vec![6, 5, 4]);
    api.admin(&id, "open").await.ok();
    let status = api.status(&id).await;
    assert_eq!(status["phase"], "open");
    // None of them was issued while the vote was open.
    for c in status["constituencies"].as_array().unwrap() {
        assert_eq!(c["issued_while_open"], 0);
    }
    assert_eq!(status["dealings"], json!([1, 2, 3, 4, 5]));
    let pk = decode_nonidentity_point(&hex32(&status["election_key"])).unwrap();
    let verifier = BallotVerifier::new(manifest.clone(), pk);

    let before = api.size(&id).await;
    // The same issuance again: the same answer, no new entry.
    let (entry0, answer0) = &issuance_entries[0];
    let replayed = api
        .post(
            &format!("/v1/elections/{id}/credential/respond"),
            false,
            CBOR,
            entry0.to_bytes(),
        )
        .await
        .ok();
    assert_eq!(
        (&replayed["s"], &replayed["y"], &replayed["t"]),
        (&answer0["s"], &answer0["y"], &answer0["t"])
    );
    assert_eq!(replayed["receipt"]["index"], answer0["receipt"]["index"]);
    // A second credential for the same member: refused at commit, and a
    // different challenge for the answered session is refused too.
    let m0 = &members[0];
    let member0 = member_id(&election, &m0.pseudonym);
    commit_request(&api, &id, election, m0)
        .await
        .refused(409, "already_issued");
    let body0: urne_crypto::entry::Issuance = entry0.body().unwrap();
    let other_challenge = BlindChallenge {
        e: body0.challenge + body0.challenge,
    };
    let second = voter::issuance(
        election,
        member0,
        "north",
        &SignerCommitment {
            a: body0.commitment_a,
            c: body0.commitment_c,
        },
        &other_challenge,
        &m0.key,
    );
    api.post(
        &format!("/v1/elections/{id}/credential/respond"),
        false,
        CBOR,
        second.to_bytes(),
    )
    .await
    .refused(409, "challenge_mismatch");
    // A commit request signed by another key.
    let m1 = &members[1];
    let member1 = member_id(&election, &m1.pseudonym);
    let bad = voter::sign_commit_request(&election, &member1, &m0.key);
    api.post_json(
        &format!("/v1/elections/{id}/credential/commit"),
        false,
        &json!({ "member": hex::encode(member1), "signature": hex::encode(bad.to_bytes()) }),
    )
    .await
    .refused(401, "bad_signature");
    assert_eq!(api.size(&id).await, before);

    // Ballots, all cast at once with three forged ones among them (so they
    // share verification batches): every valid ballot gets a receipt that
    // checks, every forged one is refused alone. Every third voter votes again.
    let before = api.size(&id).await;
    let mut last: Vec<Vec<bool>> = Vec::new();
    let mut casts = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let c = manifest.constituency(&m.constituency).unwrap();
        let mut r = rng("choices", i as u64);
        let ch = choices(&mut r, c.candidates.len(), c.approval_max as usize);
        let cred = *m.credential.as_ref().unwrap();
        let e = voter::ballot(
            &verifier,
            &m.constituency,
            &m.ballot_key,
            &cred,
            &ch,
            &mut r,
        )
        .unwrap();
        casts.push((e.to_bytes(), true));
        if i % 5 == 2 {
            let forged = Credential {
                t: cred.t + cred.t,
                ..cred
            };
            let e = voter::ballot(
                &verifier,
                &m.constituency,
                &m.ballot_key,
                &forged,
                &ch,
                &mut r,
            )
            .unwrap();
            casts.push((e.to_bytes(), false));
        }
        last.push(ch);
    }
    let shared = std::sync::Arc::new(Api::new(server.local_addr()));
    let tasks: Vec<_> = casts
        .into_iter()
        .map(|(bytes, valid)| {
            let api = shared.clone();
            let path = format!("/v1/elections/{id}/ballots");
            tokio::spawn(async move {
                (
                    api.post(&path, false, CBOR, bytes.clone()).await,
                    bytes,
                    valid,
                )
            })
        })
        .collect();
    for t in tasks {
        let (answer, bytes, valid) = t.await.unwrap();
        if valid {
            let receipt = answer.ok();
            api.check_receipt(&id, &bytes, &receipt).await;
        } else {
            answer.refused(422, "invalid_proof");
        }
    }
    assert_eq!(api.size(&id).await, before + members.len() as u64);
    for (i, m) in members.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let c = manifest.constituency(&m.constituency).unwrap();
        let mut r = rng("revote", i as u64);
        let ch = choices(&mut r, c.candidates.len(), c.approval_max as usize);
        let e = voter::ballot(
            &verifier,
            &m.constituency,
            &m.ballot_key,
            m.credential.as_ref().unwrap(),
            &ch,
            &mut r,
        )
        .unwrap();
        api.post(
            &format!("/v1/elections/{id}/ballots"),
            false,
            CBOR,
            e.to_bytes(),
        )
        .await
        .ok();
        last[i] = ch;
    }

    // Bad ballots: each refused with its code, the board unchanged.
    let before = api.size(&id).await;
    let m = &members[1];
    let cred = *m.credential.as_ref().unwrap();
    let north = [true, false, false, false, false, false, false, false];
    let mut r = rng("bad", 0);
    // A forged credential.
    let forged = Credential {
        s: cred.s + cred.s,
        ..cred
    };
    let e = voter::ballot(&verifier, "north", &m.ballot_key, &forged, &north, &mut r).unwrap();
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        e.to_bytes(),
    )
    .await
    .refused(422, "invalid_proof");
    // A credential of north used in south's race.
    let e = voter::ballot(
        &verifier,
        "south",
        &m.ballot_key,
        &cred,
        &[true, false, false, false, false],
        &mut r,
    )
    .unwrap();
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        e.to_bytes(),
    )
    .await
    .refused(422, "invalid_proof");
    // A credential of another election (another registrar, another context).
    let other_election = [0x42; 32];
    let other_registrar = RegistrarKey::generate(&mut r);
    let ctx = CredentialContext::new(other_election, "north");
    let p = members[2].ballot_key.public_key();
    let (mut signer_state, commitment) = SignerState::commit(&other_registrar, &ctx, &mut r);
    let (user, challenge) = UserState::blind(
        &other_registrar.public(),
        &ctx,
        p.as_bytes(),
        &commitment,
        &mut r,
    )
    .unwrap();
    let other_cred = user
        .finish(&signer_state.respond(&other_registrar, &challenge).unwrap())
        .unwrap();
    let e = voter::ballot(
        &verifier,
        "north",
        &members[2].ballot_key,
        &other_cred,
        &north,
        &mut r,
    )
    .unwrap();
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        e.to_bytes(),
    )
    .await
    .refused(422, "invalid_proof");
    // A ballot for another election id.
    let mut foreign =
        voter::ballot(&verifier, "north", &m.ballot_key, &cred, &north, &mut r).unwrap();
    foreign.election = other_election;
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        foreign.to_bytes(),
    )
    .await
    .refused(422, "wrong_election");
    // Non-canonical CBOR: a trailing byte; a non-canonical point.
    let good = voter::ballot(&verifier, "north", &m.ballot_key, &cred, &north, &mut r).unwrap();
    let mut trailing = good.to_bytes();
    trailing.push(0);
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        trailing,
    )
    .await
    .refused(400, "malformed_entry");
    let p_bytes = *m.ballot_key.public_key().as_bytes();
    let mut body = good.body.clone();
    let at = body.windows(32).position(|w| w == p_bytes).unwrap();
    body[at..at + 32].copy_from_slice(&[0xff; 32]);
    let noncanonical = Entry {
        body,
        ..good.clone()
    };
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        noncanonical.to_bytes(),
    )
    .await
    .refused(400, "malformed_entry");
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        b"\xa1\x00".to_vec(),
    )
    .await
    .refused(400, "malformed_entry");
    // A ballot sent to the self-signed route; a dealing sent to the ballot route.
    api.entry(&id, &good).await.refused(400, "wrong_route");
    let dealing = Entry::signed(
        EntryKind::DkgDealing,
        election,
        &dealings[0],
        &s.trustee_signers[0],
    );
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        dealing.to_bytes(),
    )
    .await
    .refused(400, "wrong_route");
    // A duplicate dealing is out of phase now; an oversized body.
    api.entry(&id, &dealing).await.refused(409, "out_of_phase");
    api.oversized(&format!("/v1/elections/{id}/ballots"), BODY_LIMIT + 1)
        .await
        .refused(413, "body_too_large");
    // Unknown election.
    api.post(
        &format!("/v1/elections/{}/ballots", "cd".repeat(32)),
        false,
        CBOR,
        good.to_bytes(),
    )
    .await
    .refused(404, "unknown_election");
    api.get(&format!("/v1/elections/{}", "cd".repeat(32)))
        .await
        .refused(404, "unknown_election");
    assert_eq!(api.size(&id).await, before);

    // No close before the manifest's voting_closes; from it, no ballot is
    // taken even before the close entry.
    api.admin(&id, "close")
        .await
        .refused(409, "outside_voting_window");
    assert_eq!(api.size(&id).await, before);
    server.clock().advance_to(voting_closes());
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        good.to_bytes(),
    )
    .await
    .refused(409, "voting_closed");
    // Close; ballots after it are refused.
    api.admin(&id, "close").await.ok();
    let closed = api.size(&id).await;
    assert_eq!(closed, before + 1);
    api.post(
        &format!("/v1/elections/{id}/ballots"),
        false,
        CBOR,
        good.to_bytes(),
    )
    .await
    .refused(409, "out_of_phase");
    assert_eq!(api.size(&id).await, closed);

    // A restart replays the log into the record.
    let status_before = api.status(&id).await;
    server.shutdown().await.unwrap();
    server = start(dir.path(), limits()).await;
    server.clock().advance_to(voting_closes() + 60);
    api = Api::new(server.local_addr());
    assert_eq!(api.status(&id).await, status_before);

    // Decryption: three trustees read the board, compute the aggregates and post shares.
    let entries = api.entries(&id).await;
    let record = replay(&entries, BallotCheck::Deferred);
    let key = record.election_key().unwrap().clone();
    // A share over the wrong ciphertexts is refused.
    let share0 = s.trustee_keys[0]
        .secret_share(&params, &key, &dealings)
        .unwrap();
    let wrong_a: Vec<_> = record
        .aggregate("north")
        .unwrap()
        .iter()
        .map(|c| c.b)
        .collect();
    let bad = DecryptionShare {
        constituency: "north".into(),
        share: decryption::decryption_share(
            &share0,
            &election,
            b"north",
            &wrong_a,
            &mut rng("share", 99),
        ),
    };
    let before = api.size(&id).await;
    api.entry(
        &id,
        &Entry::signed(
            EntryKind::DecryptionShare,
            election,
            &bad,
            &s.trustee_signers[0],
        ),
    )
    .await
    .refused(422, "invalid_proof");
    assert_eq!(api.size(&id).await, before);
    api.admin(&id, "tally")
        .await
        .refused(422, "missing_prerequisite");
    for j in 0..3usize {
        let share = s.trustee_keys[j]
            .secret_share(&params, &key, &dealings)
            .unwrap();
        for c in &manifest.constituencies {
            let a: Vec<_> = record
                .aggregate(&c.id)
                .unwrap()
                .iter()
                .map(|x| x.a)
                .collect();
            let body = DecryptionShare {
                constituency: c.id.clone(),
                share: decryption::decryption_share(
                    &share,
                    &election,
                    c.id.as_bytes(),
                    &a,
                    &mut rng("share", j as u64),
                ),
            };
            let e = Entry::signed(
                EntryKind::DecryptionShare,
                election,
                &body,
                &s.trustee_signers[j],
            );
            api.entry(&id, &e).await.ok();
        }
    }
    let tallied = api.admin(&id, "tally").await.ok();
    assert_eq!(tallied["receipts"].as_array().unwrap().len(), 3);

    // Lottery: two reveals (the third contributor withholds), reveals
    // closed, the verified beacon round, seats. Every step out of order is
    // refused with 409 and a stable code.
    api.admin(&id, "seats")
        .await
        .refused(409, "lottery_out_of_order");
    let reveal = |j: usize| {
        Entry::signed(
            EntryKind::LotteryReveal,
            election,
            &LotteryReveal {
                contributor: j as u32 + 1,
                secret: secrets[j],
            },
            &s.contributors[j],
        )
    };
    let network = beacon_network();
    let round = manifest.lottery.beacon.as_ref().unwrap().round;
    let beacon_path = format!("/v1/elections/{id}/admin/beacon");
    let beacon_body =
        |round: u64, sig: &[u8]| json!({ "round": round, "signature": hex::encode(sig) });
    // The beacon before the reveal window is closed.
    api.post_json(
        &beacon_path,
        true,
        &beacon_body(round, &network.sign(round)),
    )
    .await
    .refused(409, "lottery_out_of_order");
    api.entry(&id, &reveal(0)).await.ok();
    api.entry(&id, &reveal(1)).await.ok();
    // A reveal that does not open the commitment.
    let mut wrong = reveal(2);
    let mut body: LotteryReveal = wrong.body().unwrap();
    body.secret[0] ^= 1;
    wrong = resign(&wrong, body.to_bytes(), &s.contributors[2]);
    api.entry(&id, &wrong).await.refused(422, "mismatch");
    let closed = api.admin(&id, "reveals-close").await.ok();
    assert_eq!(closed["receipts"].as_array().unwrap().len(), 1);
    api.admin(&id, "reveals-close")
        .await
        .refused(409, "duplicate");
    // The withholding contributor's reveal, once the window is closed.
    api.entry(&id, &reveal(2))
        .await
        .refused(409, "lottery_out_of_order");
    // The seed before the beacon.
    api.admin(&id, "seats")
        .await
        .refused(409, "lottery_out_of_order");
    // Another round, another network, a flipped bit, uppercase hex, garbage.
    api.post_json(
        &beacon_path,
        true,
        &beacon_body(round + 1, &network.sign(round + 1)),
    )
    .await
    .refused(422, "bad_beacon");
    let other = DemoNetwork::from_seed(&[9; 64]);
    api.post_json(&beacon_path, true, &beacon_body(round, &other.sign(round)))
        .await
        .refused(422, "bad_beacon");
    let mut flipped = network.sign(round);
    flipped[20] ^= 0x10;
    api.post_json(&beacon_path, true, &beacon_body(round, &flipped))
        .await
        .refused(422, "bad_beacon");
    api.post_json(
        &beacon_path,
        true,
        &json!({ "round": round, "signature": hex::encode_upper(network.sign(round)) }),
    )
    .await
    .refused(400, "invalid_json");
    api.post_json(
        &beacon_path,
        true,
        &json!({ "round": round, "signature": "" }),
    )
    .await
    .refused(422, "bad_beacon");
    api.post_json(
        &beacon_path,
        true,
        &beacon_body(round, &network.sign(round)),
    )
    .await
    .ok();
    api.post_json(
        &beacon_path,
        true,
        &beacon_body(round, &network.sign(round)),
    )
    .await
    .refused(409, "duplicate");
    let seated = api.admin(&id, "seats").await.ok();
    assert_eq!(seated["receipts"].as_array().unwrap().len(), 4);
    api.admin(&id, "seats").await.refused(409, "duplicate");
    let status = api.status(&id).await;
    assert_eq!(status["phase"], "seated");
    assert_eq!(status["complete"], true);
    assert_eq!(status["lottery"]["withheld"], json!([3]));
    assert_eq!(status["lottery"]["reveals"], json!([1, 2]));

    // An auditor attests the current checkpoint; a forged root is refused.
    let auditor = signer("auditor", 0);
    let head_note = String::from_utf8(
        api.get(&format!("/v1/elections/{id}/checkpoint"))
            .await
            .bytes,
    )
    .unwrap();
    let vkey = String::from_utf8(
        api.get(&format!("/v1/elections/{id}/board-key"))
            .await
            .bytes,
    )
    .unwrap();
    let cp = open_signed_checkpoint(
        head_note.as_bytes(),
        &NoteVerifier::from_vkey_string(vkey.trim()).unwrap(),
    )
    .unwrap();
    let attestation = |root| urne_crypto::entry::Attestation {
        size: cp.size,
        root,
        valid: true,
        ballots_counted: 15,
        statement: "test auditor".into(),
    };
    api.entry(
        &id,
        &Entry::signed(
            EntryKind::Attestation,
            election,
            &attestation([9; 32]),
            &auditor,
        ),
    )
    .await
    .refused(422, "mismatch");
    api.entry(
        &id,
        &Entry::signed(
            EntryKind::Attestation,
            election,
            &attestation(cp.root),
            &auditor,
        ),
    )
    .await
    .ok();

    // The export: the board verifier key, every entry, checkpoints, the
    // final checkpoint; it replays with full ballot verification.
    let export = api.get(&format!("/v1/elections/{id}/export")).await;
    assert!(export.status.is_success());
    let mut reader = ExportReader::new(&export.bytes[..]).unwrap();
    let mut exported = Vec::new();
    let mut checkpoints = Vec::new();
    let mut verifier_key = None;
    let mut final_cp = None;
    while let Some(rec) = reader.next_record().unwrap() {
        match rec {
            ExportRecord::BoardKey(k) => {
                verifier_key = Some(NoteVerifier::from_vkey_string(&k).unwrap())
            }
            ExportRecord::Entry(e) => exported.push(e),
            ExportRecord::Checkpoint(note) => checkpoints.push((exported.len() as u64, note)),
            ExportRecord::FinalCheckpoint(note) => final_cp = Some(note),
        }
    }
    let verifier_key = verifier_key.unwrap();
    let final_cp = open_signed_checkpoint(final_cp.unwrap().as_bytes(), &verifier_key).unwrap();
    assert_eq!(final_cp.size, exported.len() as u64);
    assert_eq!(exported, api.entries(&id).await);
    let leaves: Vec<_> = exported.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(merkle::root(&leaves), final_cp.root);
    assert!(
        checkpoints.len() > 10,
        "every issued checkpoint is exported"
    );
    for (at, note) in &checkpoints {
        let cp = open_signed_checkpoint(note.as_bytes(), &verifier_key).unwrap();
        assert_eq!(
            cp.size, *at,
            "a checkpoint follows the entry completing its tree"
        );
        assert_eq!(cp.root, merkle::root(&leaves[..*at as usize]));
    }
    let record = replay(&exported, BallotCheck::Full);
    assert!(record.is_complete());
    assert_eq!(record.phase(), Phase::Seated);
    // The tally counts every voter's last ballot.
    for c in &manifest.constituencies {
        let mut expected = vec![0u64; c.candidates.len()];
        for (m, ch) in members.iter().zip(&last) {
            if m.constituency == c.id {
                for (acc, v) in expected.iter_mut().zip(ch) {
                    *acc += u64::from(*v);
                }
            }
        }
        assert_eq!(record.tally(&c.id).unwrap().counts, expected, "{}", c.id);
    }
    server.shutdown().await.unwrap();

    // The offline export of the stopped server's data directory is the same stream.
    let out = dir.path().join("election.export");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_urne"))
        .args(["export", "--election", &id, "--out"])
        .arg(&out)
        .arg("--data")
        .arg(dir.path())
        .env("URNE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), export.bytes);
}

/// Creates, populates and opens an election; returns its id, manifest and members (enrolled).
/// Creates the election of `s.draft`: its id (hex and bytes) and manifest.
async fn create_election(api: &Api, s: &Setup) -> (String, [u8; 32], Manifest) {
    let created = api.post_json("/v1/elections", true, &s.draft).await.ok();
    let id = created["election"].as_str().unwrap().to_string();
    let election = hex32(&created["election"]);
    let manifest =
        Manifest::from_bytes(&hex::decode(created["manifest"].as_str().unwrap()).unwrap()).unwrap();
    (id, election, manifest)
}

async fn open_election(
    api: &Api,
    s: &Setup,
    enrol: bool,
) -> (String, [u8; 32], Manifest, Vec<Member>) {
    let (id, election, manifest) = create_election(api, s).await;
    let (body, tokens) = roster_import(&roster_csv(), "tokens");
    api.post(
        &format!("/v1/elections/{id}/roster"),
        true,
        "text/csv",
        body,
    )
    .await
    .ok();
    let mut members = Vec::new();
    for (pseudonym, token) in tokens {
        let i = members.len() as u64;
        members.push(Member {
            constituency: pseudonym.split('-').next().unwrap().to_string(),
            token,
            pseudonym,
            key: signer("member", i),
            ballot_key: BallotSecretKey::generate(&mut rng("ballot-key", i)),
            credential: None,
        });
    }
    if enrol {
        for m in &members {
            let entry = voter::enrollment(election, &m.pseudonym, &m.key);
            api.post_json(
                &format!("/v1/elections/{id}/enroll"),
                false,
                &json!({ "token": m.token, "entry": hex::encode(entry.to_bytes()) }),
            )
            .await
            .ok();
        }
    }
    key_and_open(api, s, &id, election, &manifest).await;
    (id, election, manifest, members)
}

/// The trustees' key generation, the election key, then the open.
async fn key_and_open(api: &Api, s: &Setup, id: &str, election: [u8; 32], manifest: &Manifest) {
    let params = manifest.dkg_params().unwrap();
    let mut dealings = Vec::new();
    for j in 0..5u32 {
        let d = dkg::deal(&params, j + 1, &mut rng("deal", j.into())).unwrap();
        let e = Entry::signed(
            EntryKind::DkgDealing,
            election,
            &d,
            &s.trustee_signers[j as usize],
        );
        api.entry(id, &e).await.ok();
        dealings.push(d);
    }
    acknowledge(api, id, s, manifest, &dealings).await;
    api.admin(id, "election-key").await.ok();
    api.admin(id, "open").await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_roster_imports_leave_one_whose_members_get_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = std::sync::Arc::new(Api::new(server.local_addr()));
    let s = setup();
    let mut outcomes = BTreeMap::new();
    for round in 0..6u64 {
        let (id, election, manifest) = create_election(&api, &s).await;
        // The same members under two imports with other tokens, sent at once:
        // their staged rows interleave.
        let imports: Vec<_> = ["a", "b"]
            .iter()
            .map(|label| roster_import(&roster_csv(), &format!("{label}{round}")))
            .collect();
        let sent: Vec<_> = imports
            .iter()
            .map(|(body, _)| {
                let api = api.clone();
                let path = format!("/v1/elections/{id}/roster");
                let body = body.clone();
                tokio::spawn(async move { api.post(&path, true, "text/csv", body).await })
            })
            .collect();
        let mut answers = Vec::new();
        for t in sent {
            let a = t.await.unwrap();
            answers.push((a.status.as_u16(), a.code().to_string()));
        }
        let won: Vec<usize> = (0..2).filter(|&i| answers[i].0 == 200).collect();
        assert_eq!(won.len(), 1, "one import wins: {answers:?}");
        let (winner, loser) = (won[0], 1 - won[0]);
        assert_eq!(answers[loser].0, 409, "{answers:?}");
        assert!(
            ["duplicate", "roster_import_superseded"].contains(&answers[loser].1.as_str()),
            "{answers:?}"
        );
        *outcomes.entry(answers[loser].1.clone()).or_insert(0) += 1;

        // The loser's tokens enrol nobody; the winner's members enrol, and
        // once the election key is out, their constituency rows give them a
        // credential session.
        let token = |i: usize| imports[i].1[0].1.clone();
        let pseudonym = imports[winner].1[0].0.clone();
        let m = Member {
            constituency: pseudonym.split('-').next().unwrap().to_string(),
            token: token(winner),
            pseudonym,
            key: signer("member", round),
            ballot_key: BallotSecretKey::generate(&mut rng("ballot-key", round)),
            credential: None,
        };
        let entry = voter::enrollment(election, &m.pseudonym, &m.key);
        let enrol =
            |token: String| json!({ "token": token, "entry": hex::encode(entry.to_bytes()) });
        let refused = api
            .post_json(
                &format!("/v1/elections/{id}/enroll"),
                false,
                &enrol(token(loser)),
            )
            .await;
        assert!(refused.status.is_client_error(), "{:?}", refused.json);
        api.post_json(
            &format!("/v1/elections/{id}/enroll"),
            false,
            &enrol(token(winner)),
        )
        .await
        .ok();
        key_and_open(&api, &s, &id, election, &manifest).await;
        commit_request(&api, &id, election, &m).await.ok();
    }
    println!("losing imports' codes over 6 races: {outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_for_one_member_cannot_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = std::sync::Arc::new(Api::new(server.local_addr()));
    let s = setup();
    let (id, election, manifest, members) = open_election(&api, &s, false).await;

    // One token, two enrolment entries (different keys) at once: one wins.
    let m = &members[0];
    let tries: Vec<_> = (0..2)
        .map(|k| {
            let api = api.clone();
            let entry = voter::enrollment(election, &m.pseudonym, &signer("racer", k));
            let body = json!({ "token": m.token, "entry": hex::encode(entry.to_bytes()) });
            let path = format!("/v1/elections/{id}/enroll");
            tokio::spawn(async move { api.post_json(&path, false, &body).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tries {
        let a = t.await.unwrap();
        outcomes.push((a.status.as_u16(), a.code().to_string()));
    }
    outcomes.sort();
    assert_eq!(outcomes[0].0, 200, "{outcomes:?}");
    assert_eq!(outcomes[1], (409, "token_used".to_string()), "{outcomes:?}");
    let winner = if api.post_json(
        &format!("/v1/elections/{id}/credential/commit"),
        false,
        &json!({
            "member": hex::encode(member_id(&election, &m.pseudonym)),
            "signature": hex::encode(voter::sign_commit_request(&election, &member_id(&election, &m.pseudonym), &signer("racer", 0)).to_bytes()),
        }),
    )
    .await
    .status
    .is_success()
    {
        signer("racer", 0)
    } else {
        signer("racer", 1)
    };

    // Concurrent commit requests: one session, one commitment.
    let member = member_id(&election, &m.pseudonym);
    let sig = hex::encode(voter::sign_commit_request(&election, &member, &winner).to_bytes());
    let commits: Vec<_> = (0..4)
        .map(|_| {
            let api = api.clone();
            let path = format!("/v1/elections/{id}/credential/commit");
            let body = json!({ "member": hex::encode(member), "signature": sig });
            tokio::spawn(async move { api.post_json(&path, false, &body).await.ok() })
        })
        .collect();
    let mut seen = Vec::new();
    for c in commits {
        seen.push(c.await.unwrap());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    let commitment = SignerCommitment {
        a: decode_nonidentity_point(&hex32(&seen[0]["commitment_a"])).unwrap(),
        c: decode_nonidentity_point(&hex32(&seen[0]["commitment_c"])).unwrap(),
    };

    // Two issuance entries with different challenges at once: exactly one
    // credential, the other refused; the board grows by one entry.
    let before = api.size(&id).await;
    let c = manifest.constituency(&m.constituency).unwrap();
    let ctx = CredentialContext::new(election, m.constituency.clone());
    let racers: Vec<_> = (0..2u64)
        .map(|k| {
            let p = BallotSecretKey::generate(&mut rng("race-key", k)).public_key();
            let (_, challenge) = UserState::blind(
                &c.registrar_key,
                &ctx,
                p.as_bytes(),
                &commitment,
                &mut rng("race", k),
            )
            .unwrap();
            let entry = voter::issuance(
                election,
                member,
                &m.constituency,
                &commitment,
                &challenge,
                &winner,
            );
            let api = api.clone();
            let path = format!("/v1/elections/{id}/credential/respond");
            tokio::spawn(async move { api.post(&path, false, CBOR, entry.to_bytes()).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for r in racers {
        let a = r.await.unwrap();
        outcomes.push((a.status.as_u16(), a.code().to_string()));
    }
    outcomes.sort();
    assert_eq!(outcomes[0].0, 200, "{outcomes:?}");
    assert_eq!(
        outcomes[1],
        (409, "challenge_mismatch".to_string()),
        "{outcomes:?}"
    );
    assert_eq!(api.size(&id).await, before + 1);
    let status = api.status(&id).await;
    assert_eq!(status["constituencies"][0]["issuances"], 1);
    server.shutdown().await.unwrap();
}

/// Hundreds of clients that ask for an export and never read it cannot hold
/// up casts: exports are bounded in number and time, and ballots are
/// verified on threads of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_that_nobody_reads_do_not_stop_casts() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = Api::new(server.local_addr());
    let s = setup();
    let (id, election, manifest, members) = open_election(&api, &s, true).await;
    // A log of a few megabytes, more than the sockets of one client buffer.
    let bulky = "b".repeat(64);
    for i in 0..8u8 {
        api.post(
            &format!("/v1/test-support/elections/{bulky}/entries"),
            true,
            "application/octet-stream",
            vec![i; 900 << 10],
        )
        .await
        .ok();
    }
    let mut idle = Vec::new();
    for k in 0..600 {
        let log = if k % 2 == 0 { &bulky } else { &id };
        let mut c = std::net::TcpStream::connect(server.local_addr()).unwrap();
        c.write_all(
            format!("GET /v1/elections/{log}/export HTTP/1.1\r\nHost: urne\r\n\r\n").as_bytes(),
        )
        .unwrap();
        idle.push(c);
    }
    let status = api.status(&id).await;
    let pk = decode_nonidentity_point(&hex32(&status["election_key"])).unwrap();
    let verifier = BallotVerifier::new(manifest.clone(), pk);
    for (i, m) in members.iter().enumerate().take(3) {
        let (cred, _, _) = credential(&api, &id, election, &manifest, m, i as u64).await;
        let c = manifest.constituency(&m.constituency).unwrap();
        let mut r = rng("busy-choices", i as u64);
        let ch = choices(&mut r, c.candidates.len(), c.approval_max as usize);
        let e = voter::ballot(
            &verifier,
            &m.constituency,
            &m.ballot_key,
            &cred,
            &ch,
            &mut r,
        )
        .unwrap();
        let cast = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            api.post(
                &format!("/v1/elections/{id}/ballots"),
                false,
                CBOR,
                e.to_bytes(),
            ),
        )
        .await
        .expect("a cast is answered while exports stall");
        let receipt = cast.ok();
        api.check_receipt(&id, &e.to_bytes(), &receipt).await;
    }
    // Exports beyond the limit were refused at once, with a stable code.
    let busy = api.get(&format!("/v1/elections/{id}/export")).await;
    assert!(
        busy.status.is_success() || busy.code() == "exports_busy",
        "{busy:?}"
    );
    drop(idle);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_text_hex_and_indices_outside_the_rules_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = Api::new(server.local_addr());
    let s = setup();

    // Manifests: unusable signing keys, uppercase hex, oversized or control text.
    let small_order = format!("01{}", "00".repeat(31));
    let non_canonical = "ff".repeat(32);
    let upper = s.draft["trustees"][0]["signing_key"]
        .as_str()
        .unwrap()
        .to_uppercase();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "small-order trustee key",
            {
                let k = small_order.clone();
                Box::new(move |d| d["trustees"][1]["signing_key"] = json!(k))
            },
            "invalid_key",
        ),
        (
            "non-canonical trustee key",
            {
                let k = non_canonical.clone();
                Box::new(move |d| d["trustees"][0]["signing_key"] = json!(k))
            },
            "invalid_key",
        ),
        (
            "small-order contributor key",
            {
                let k = small_order.clone();
                Box::new(move |d| d["lottery"]["contributors"][2]["signing_key"] = json!(k))
            },
            "invalid_key",
        ),
        (
            "uppercase trustee key",
            {
                let k = upper.clone();
                Box::new(move |d| d["trustees"][0]["signing_key"] = json!(k))
            },
            "invalid_manifest",
        ),
        (
            "long title",
            Box::new(|d| d["title"] = json!("t".repeat(257))),
            "invalid_text",
        ),
        (
            "NUL in title",
            Box::new(|d| d["title"] = json!("a\u{0}b")),
            "invalid_text",
        ),
        (
            "long candidate id",
            Box::new(|d| d["constituencies"][0]["candidates"][0]["id"] = json!("c".repeat(65))),
            "invalid_text",
        ),
        (
            "long constituency name",
            Box::new(|d| d["constituencies"][1]["name"] = json!("n".repeat(129))),
            "invalid_text",
        ),
        (
            "newline in trustee name",
            Box::new(|d| d["trustees"][2]["name"] = json!("a\nb")),
            "invalid_text",
        ),
    ];
    for (what, edit, code) in &cases {
        let mut draft = s.draft.clone();
        edit(&mut draft);
        let answer = api.post_json("/v1/elections", true, &draft).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (422, *code),
            "{what}: {}",
            answer.json
        );
    }
    // At the limits, the same draft is accepted.
    let mut draft = s.draft.clone();
    draft["title"] = json!("t".repeat(256));
    draft["constituencies"][0]["candidates"][0]["id"] = json!("c".repeat(64));
    api.post_json("/v1/elections", true, &draft).await.ok();

    let (id, election, _, members) = open_election(&api, &s, false).await;
    // Entry indices in their shortest decimal form only.
    assert_eq!(
        api.get(&format!("/v1/elections/{id}/entries/0"))
            .await
            .status,
        200
    );
    for bad in ["0000", "01", "+1", "-0"] {
        api.get(&format!("/v1/elections/{id}/entries/{bad}"))
            .await
            .refused(400, "malformed_query");
    }
    // Uppercase hex in bodies.
    let m = &members[0];
    let entry = voter::enrollment(election, &m.pseudonym, &m.key);
    let enrol = |entry: String, token: String| json!({ "token": token, "entry": entry });
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &enrol(hex::encode_upper(entry.to_bytes()), m.token.clone()),
    )
    .await
    .refused(400, "invalid_json");
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &enrol(hex::encode(entry.to_bytes()), m.token.to_uppercase()),
    )
    .await
    .refused(401, "bad_token");
    api.post_json(
        &format!("/v1/elections/{id}/admin/beacon"),
        true,
        &json!({ "value": "FF" }),
    )
    .await
    .refused(400, "invalid_json");
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &enrol(hex::encode(entry.to_bytes()), m.token.clone()),
    )
    .await
    .ok();

    // A second respond for an answered session with a forged signature is a
    // signature error, not `already_issued`.
    let created = api.get(&format!("/v1/elections/{id}/manifest")).await;
    let manifest = Manifest::from_bytes(&created.bytes).unwrap();
    let (_, issuance, _) = credential(&api, &id, election, &manifest, m, 0).await;
    let mut forged = issuance.clone();
    forged.signature = vec![0x5a; 64];
    api.post(
        &format!("/v1/elections/{id}/credential/respond"),
        false,
        CBOR,
        forged.to_bytes(),
    )
    .await
    .refused(422, "bad_signature");
    // Signed by another key: refused for its signature too.
    let intruder = signer("intruder", 0);
    let other = Entry {
        signer: intruder.verifying_key().to_bytes().to_vec(),
        ..resign(&issuance, issuance.body.clone(), &intruder)
    };
    api.post(
        &format!("/v1/elections/{id}/credential/respond"),
        false,
        CBOR,
        other.to_bytes(),
    )
    .await
    .refused(422, "bad_signature");
    // The very same entry again gets the same answer.
    api.post(
        &format!("/v1/elections/{id}/credential/respond"),
        false,
        CBOR,
        issuance.to_bytes(),
    )
    .await
    .ok();
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_text_outside_the_limits_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = Api::new(server.local_addr());
    let s = setup();
    let created = api.post_json("/v1/elections", true, &s.draft).await.ok();
    let id = created["election"].as_str().unwrap().to_string();
    let header = "pseudonym,constituency,pool,category\n";
    for (what, line) in [
        (
            "long pseudonym",
            format!("{},north,yes,F\n", "p".repeat(65)),
        ),
        (
            "long category",
            format!("ana,north,yes,{}\n", "F".repeat(33)),
        ),
        ("NUL in pseudonym", "a\u{0}b,north,yes,F\n".to_string()),
    ] {
        let answer = api
            .post(
                &format!("/v1/elections/{id}/roster"),
                true,
                "text/csv",
                roster_import(&format!("{header}{line}"), "t").0,
            )
            .await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (422, "invalid_text"),
            "{what}: {}",
            answer.json
        );
    }
    assert_eq!(api.size(&id).await, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_token_is_reissued_and_an_enrolled_member_gets_none() {
    use urne_crypto::entry::enrolment_token_digest;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = Api::new(server.local_addr());
    let s = setup();
    let created = api.post_json("/v1/elections", true, &s.draft).await.ok();
    let id = created["election"].as_str().unwrap().to_string();
    let election = hex32(&created["election"]);
    let (body, tokens) = roster_import(&roster_csv(), "tokens");
    api.post(
        &format!("/v1/elections/{id}/roster"),
        true,
        "text/csv",
        body,
    )
    .await
    .ok();
    let (pseudonym, old) = tokens[0].clone();
    let digest = |t: &str| {
        let mut b = [0u8; 32];
        hex::decode_to_slice(t, &mut b).unwrap();
        hex::encode(enrolment_token_digest(&b))
    };
    let new = hex::encode([0x5a; 32]);
    let path = format!("/v1/elections/{id}/roster/reissue");
    let request = json!({ "old_token_digest": digest(&old), "token_digest": digest(&new) });
    let size = api.size(&id).await;

    // Organiser only; strict hex; an unknown old token names nobody.
    api.post_json(&path, false, &request)
        .await
        .refused(401, "unauthorized");
    api.post_json(
        &path,
        true,
        &json!({ "old_token_digest": digest(&old).to_uppercase(), "token_digest": digest(&new) }),
    )
    .await
    .refused(400, "invalid_json");
    api.post_json(
        &path,
        true,
        &json!({ "old_token_digest": digest(&new), "token_digest": digest(&old) }),
    )
    .await
    .refused(422, "unknown_token");

    // Replaced; the same request again (a lost answer) gets the same answer.
    let member = hex::encode(member_id(&election, &pseudonym));
    let first = api.post_json(&path, true, &request).await.ok();
    assert_eq!(first["member"], member.as_str());
    let again = api.post_json(&path, true, &request).await.ok();
    assert_eq!(again, first);
    assert_eq!(api.size(&id).await, size, "a reissue appends nothing");

    // The old token no longer enrols; the new one does.
    let key = signer("member", 0);
    let entry = voter::enrollment(election, &pseudonym, &key);
    let enrol = |token: &str| json!({ "token": token, "entry": hex::encode(entry.to_bytes()) });
    api.post_json(&format!("/v1/elections/{id}/enroll"), false, &enrol(&old))
        .await
        .refused(409, "token_used");
    api.post_json(&format!("/v1/elections/{id}/enroll"), false, &enrol(&new))
        .await
        .ok();

    // Enrolled: no new token, whatever the request.
    let newer = hex::encode([0x6b; 32]);
    api.post_json(
        &path,
        true,
        &json!({ "old_token_digest": digest(&new), "token_digest": digest(&newer) }),
    )
    .await
    .refused(409, "already_enrolled");
    // Another member's token cannot be moved onto a digest already in use.
    let (_, other) = tokens[1].clone();
    api.post_json(
        &path,
        true,
        &json!({ "old_token_digest": digest(&other), "token_digest": digest(&new) }),
    )
    .await
    .refused(409, "token_collision");
    // The refused request changed nothing: that member's token still enrols.
    let other_entry = voter::enrollment(election, &tokens[1].0, &signer("member", 1));
    api.post_json(
        &format!("/v1/elections/{id}/enroll"),
        false,
        &json!({ "token": other, "entry": hex::encode(other_entry.to_bytes()) }),
    )
    .await
    .ok();
    assert_eq!(api.size(&id).await, size + 2);
}

/// A roster of `n` members of `north`, none in the lottery pool.
fn large_roster_csv(n: usize) -> String {
    let mut csv = String::from("pseudonym,constituency,pool,category\n");
    for v in 0..n {
        csv.push_str(&format!("north-big{v},north,no,\n"));
    }
    csv
}

/// A roster import whose roster entries are appended one commit each
/// (§8.6): cut off after its first one, it holds its members and opens no
/// door (no token works, the election does not open), and it is finished
/// by the same import sent again, or at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_import_cut_off_midway_is_finished_by_a_retry_or_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = Api::new(server.local_addr());
    let s = setup();
    // 10,001 members: three roster entries of at most 5,000.
    let csv = large_roster_csv(10_001);
    let mut cut = Vec::new();
    for label in ["retried", "restarted"] {
        let (id, election, _) = create_election(&api, &s).await;
        let (body, tokens) = roster_import(&csv, label);
        api.post(
            &format!("/v1/test-support/elections/{id}/roster?steps=1"),
            true,
            "text/csv",
            body.clone(),
        )
        .await
        .refused(409, "roster_import_in_progress");
        assert_eq!(api.size(&id).await, 2, "the manifest and one roster entry");

        // A member of the appended entry: its token does not work yet.
        let (pseudonym, token) = tokens[0].clone();
        let key = signer(label, 0);
        let enrol = json!({
            "token": token,
            "entry": hex::encode(voter::enrollment(election, &pseudonym, &key).to_bytes()),
        });
        let refused = api
            .post_json(&format!("/v1/elections/{id}/enroll"), false, &enrol)
            .await;
        assert!(refused.status.is_client_error(), "{:?}", refused.json);
        // The election does not open while the import is midway.
        api.admin(&id, "open")
            .await
            .refused(409, "roster_import_in_progress");
        // A member of an entry not yet appended is taken all the same.
        let other = format!(
            "pseudonym,constituency,pool,category\n{},north,no,\n",
            tokens[10_000].0
        );
        let (other, _) = roster_import(&other, "other");
        api.post(
            &format!("/v1/elections/{id}/roster"),
            true,
            "text/csv",
            other,
        )
        .await
        .refused(409, "duplicate");
        assert_eq!(api.size(&id).await, 2);
        cut.push((id, body, enrol));
    }

    // The same import again finishes the first election's.
    let (id, body, enrol) = &cut[0];
    let answer = api
        .post(
            &format!("/v1/elections/{id}/roster"),
            true,
            "text/csv",
            body.clone(),
        )
        .await
        .ok();
    assert_eq!(answer["members"], 10_001);
    let indices: Vec<u64> = answer["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [1, 2, 3]);
    assert_eq!(api.size(id).await, 4);
    api.post_json(&format!("/v1/elections/{id}/enroll"), false, enrol)
        .await
        .ok();

    // The next start finishes the second, before it takes requests.
    server.shutdown().await.unwrap();
    let server = start(dir.path(), unlimited()).await;
    let api = Api::new(server.local_addr());
    let (id, body, enrol) = &cut[1];
    assert_eq!(api.size(id).await, 4);
    api.post_json(&format!("/v1/elections/{id}/enroll"), false, enrol)
        .await
        .ok();
    // Sent again, it gets the same answer and appends nothing.
    let again = api
        .post(
            &format!("/v1/elections/{id}/roster"),
            true,
            "text/csv",
            body.clone(),
        )
        .await
        .ok();
    assert_eq!(again["receipts"].as_array().map(Vec::len), Some(3));
    assert_eq!(again["receipt"]["index"], 1);
    assert_eq!(api.size(id).await, 5, "the roster and the one enrolment");
    server.shutdown().await.unwrap();
}
