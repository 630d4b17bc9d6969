//! Helpers shared by the server's integration tests: an HTTP client for the
//! board API that verifies what it reads with `urne_crypto`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use base64ct::{Base64, Encoding};
use reqwest::StatusCode;
use serde_json::Value;
use urne_crypto::checkpoint::{open_signed_checkpoint, Checkpoint, NoteVerifier};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{self, decode_hash_hex};
use urne_server::api::auth::OrganiserToken;
use urne_server::api::board::Receipt;
use urne_server::api::limits::Limits;
use urne_server::election::ElectionId;
use urne_server::server::{self, RunningServer, ServerConfig};
use urne_server::store::sealed::{SecretsAtRest, SecretsKey};

pub const TOKEN: &str = "test-organiser-token-0123456789";

/// Limits for tests: no rate limits, defaults otherwise.
pub fn unlimited() -> Limits {
    Limits {
        read_rate: None,
        write_rate: None,
        ..Limits::default()
    }
}

/// The secrets key of the test servers (fixed, so a restarted server opens its store).
pub fn secrets_key() -> SecretsKey {
    SecretsKey::from_hex(&"5e".repeat(32), "test key").unwrap()
}

/// Starts an in-process server on a free loopback port with the test append route.
pub async fn start(dir: &Path, limits: Limits) -> RunningServer {
    // The service refuses a data directory open to other users.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    server::start(ServerConfig {
        data_dir: dir.to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        organiser_token: Some(OrganiserToken::new(TOKEN).unwrap()),
        limits,
        clock: urne_server::clock::BoardClock::system(),
        test_support: true,
        secrets: SecretsAtRest::Sealed(secrets_key()),
    })
    .await
    .expect("server starts")
}

pub fn election(n: u8) -> ElectionId {
    ElectionId([n; 32])
}

/// An election id given as hex text.
pub struct ElectionIdText<'a>(pub &'a str);

impl ElectionIdText<'_> {
    pub fn id(&self) -> ElectionId {
        self.0.parse().expect("election id")
    }
}

/// A client of one server.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

/// An error response: status and JSON body.
#[derive(Debug)]
pub struct ErrorResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl ErrorResponse {
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no code>")
    }
}

impl Client {
    pub fn new(addr: impl std::fmt::Display) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET returning the status and the JSON body (null when not JSON).
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("request");
        let status = r.status();
        assert_json_unless_ok(status, r.headers());
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Appends through the test-support route.
    pub async fn try_append(
        &self,
        id: &ElectionId,
        entry: &[u8],
        unique: Option<&[u8]>,
    ) -> Result<Result<Receipt, ErrorResponse>, reqwest::Error> {
        let mut url = self.url(&format!("/v1/test-support/elections/{id}/entries"));
        if let Some(u) = unique {
            url = format!("{url}?unique={}", hex::encode(u));
        }
        let r = self
            .http
            .post(url)
            .bearer_auth(TOKEN)
            .body(entry.to_vec())
            .send()
            .await?;
        let status = r.status();
        if status.is_success() {
            Ok(Ok(r.json().await?))
        } else {
            assert_json_unless_ok(status, r.headers());
            Ok(Err(ErrorResponse {
                status,
                body: r.json().await?,
            }))
        }
    }

    pub async fn append(&self, id: &ElectionId, entry: &[u8]) -> Receipt {
        self.try_append(id, entry, None)
            .await
            .expect("transport")
            .expect("append accepted")
    }

    pub async fn verifier(&self, id: &ElectionId) -> NoteVerifier {
        let r = self
            .http
            .get(self.url(&format!("/v1/elections/{id}/board-key")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.unwrap();
        NoteVerifier::from_vkey_string(text.trim_end()).expect("valid verifier key")
    }

    /// The latest checkpoint, verified.
    pub async fn checkpoint(
        &self,
        id: &ElectionId,
        verifier: &NoteVerifier,
    ) -> (String, Checkpoint) {
        let r = self
            .http
            .get(self.url(&format!("/v1/elections/{id}/checkpoint")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let note = r.text().await.unwrap();
        let cp = open_signed_checkpoint(note.as_bytes(), verifier).expect("checkpoint verifies");
        (note, cp)
    }

    async fn hashes(&self, path: &str) -> Vec<Digest32> {
        let (status, body) = self.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body["hashes"]
            .as_array()
            .expect("hashes")
            .iter()
            .map(|h| decode_hash_hex(h.as_str().unwrap()).expect("hex hash"))
            .collect()
    }

    pub async fn inclusion(&self, id: &ElectionId, index: u64, size: u64) -> Vec<Digest32> {
        self.hashes(&format!(
            "/v1/elections/{id}/proof/inclusion?index={index}&size={size}"
        ))
        .await
    }

    pub async fn consistency(&self, id: &ElectionId, from: u64, to: u64) -> Vec<Digest32> {
        self.hashes(&format!(
            "/v1/elections/{id}/proof/consistency?from={from}&to={to}"
        ))
        .await
    }

    /// Every entry, following pages.
    pub async fn all_entries(&self, id: &ElectionId) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let (status, page) = self
                .get_json(&format!("/v1/elections/{id}/entries?start={}", out.len()))
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let entries = page["entries"].as_array().unwrap();
            if entries.is_empty() {
                assert_eq!(page["size"].as_u64(), Some(out.len() as u64));
                return out;
            }
            for e in entries {
                out.push(Base64::decode_vec(e.as_str().unwrap()).expect("base64 entry"));
            }
        }
    }

    /// Checks that `entry` is at `index` under the signed checkpoint `note`.
    pub async fn check_receipt(
        &self,
        id: &ElectionId,
        verifier: &NoteVerifier,
        receipt: &Receipt,
        entry: &[u8],
    ) -> Checkpoint {
        let cp = open_signed_checkpoint(receipt.checkpoint.as_bytes(), verifier)
            .expect("receipt checkpoint verifies");
        assert_eq!(cp.size, receipt.size);
        assert!(receipt.index < receipt.size);
        let proof = self.inclusion(id, receipt.index, receipt.size).await;
        merkle::verify_inclusion(
            receipt.index,
            receipt.size,
            &merkle::leaf_hash(entry),
            &proof,
            &cp.root,
        )
        .expect("inclusion proof verifies");
        cp
    }

    /// Checks that the checkpoint `old` is a prefix of `new` by a consistency proof.
    pub async fn check_consistent(&self, id: &ElectionId, old: &Checkpoint, new: &Checkpoint) {
        let proof = self.consistency(id, old.size, new.size).await;
        merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
            .expect("consistency proof verifies");
    }
}

/// Every error response is JSON.
pub fn assert_json_unless_ok(status: StatusCode, headers: &reqwest::header::HeaderMap) {
    if !status.is_success() {
        let ct = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            ct.starts_with("application/json"),
            "{status} with content type {ct:?}"
        );
    }
}
