//! A board served from an export over HTTP on the loopback interface, the
//! way a service's read API answers a verifier (§9.6 of the spec: `board-key`,
//! `checkpoint`, `entries?start=&end=`, `proof/consistency?from=&to=`), and
//! its entry bundles (`tile/entries/<N>[.p/<W>]`, §6.10) as a voter's client
//! reads them.
//!
//! What is served can be replaced between runs (a board that grows, shrinks,
//! forks or changes its key), and one entry fetched again alone can be
//! answered with other bytes (a service forging a revote's history). The
//! verifier's service tests and the conformance suite's service cases share it.
//! The fixture's web client is served beside the board (`/client.sha256sums`,
//! `/` and its files, §3.10), and can be replaced or altered.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use base64ct::{Base64, Encoding};
use serde_json::json;

use urne_crypto::export::{ExportReader, Record};
use urne_crypto::merkle::{consistency_proof, leaf_hash, Frontier, MerkleError, NodeId};

/// Entries per page of `entries` (small, so that paging is exercised).
const PAGE: u64 = 7;

/// One board as served: its key, entries and signed checkpoint.
#[derive(Clone)]
pub struct ServedBoard {
    key: String,
    entries: Vec<Vec<u8>>,
    checkpoint: String,
    nodes: HashMap<NodeId, [u8; 32]>,
    again: Option<(u64, Vec<u8>)>,
    /// The web client served beside the board: its listing and its files.
    client: (String, Vec<(String, Vec<u8>)>),
}

impl ServedBoard {
    /// The board of an export: its key record, entries and final checkpoint.
    ///
    /// # Panics
    /// If the export cannot be read (the caller builds it).
    pub fn of_export(export: &[u8]) -> Self {
        let mut reader = ExportReader::new(Cursor::new(export)).expect("export magic");
        let (mut key, mut entries, mut checkpoint) = (String::new(), Vec::new(), String::new());
        while let Some(record) = reader.next_record().expect("export record") {
            match record {
                Record::BoardKey(k) => key = k,
                Record::Entry(e) => entries.push(e),
                Record::FinalCheckpoint(c) => checkpoint = c,
                Record::Checkpoint(_) => {}
            }
        }
        let mut nodes = HashMap::new();
        let mut frontier = Frontier::new();
        for e in &entries {
            nodes.extend(frontier.append(leaf_hash(e)).expect("append"));
        }
        ServedBoard {
            key,
            entries,
            checkpoint,
            nodes,
            again: None,
            client: (String::new(), Vec::new()),
        }
        .serving_client(&crate::fixture::CLIENT_FILES)
    }

    /// Serves `files` as the web client, with their listing (§3.10).
    pub fn serving_client(mut self, files: &[(&str, &[u8])]) -> Self {
        let listing = urne_crypto::web_client::listing(files.iter().copied());
        let files = files.iter().map(|(p, b)| ((*p).to_string(), b.to_vec()));
        self.client = (listing, files.collect());
        self
    }

    /// Serves `listing` as the web client's listing, whatever its files are.
    pub fn with_client_listing(mut self, listing: &str) -> Self {
        self.client.0 = listing.to_string();
        self
    }

    /// The web client's listing or file at `target`, if it is one.
    fn client_file(&self, target: &str) -> Option<(u16, &'static str, Vec<u8>)> {
        if target == "/client.sha256sums" {
            return Some((200, "text/plain", self.client.0.clone().into_bytes()));
        }
        let path = match target {
            "/" => "index.html",
            t => t.strip_prefix('/')?,
        };
        let (_, bytes) = self.client.1.iter().find(|(p, _)| p == path)?;
        Some((200, "application/octet-stream", bytes.clone()))
    }

    /// Answers a request for entry `index` alone (`start=index&end=index+1`)
    /// with `bytes` instead of the board's entry.
    pub fn answering_again(mut self, index: u64, bytes: Vec<u8>) -> Self {
        self.again = Some((index, bytes));
        self
    }

    /// The entry bundle at `tile` (the path after `tile/`), as the service
    /// answers it: the bytes, 404 past the board, 422 `entry_too_large`.
    fn bundle(&self, tile: &str) -> (u16, &'static str, Vec<u8>) {
        let not_found = (404, "application/json", b"{}".to_vec());
        let Ok(id) = urne_crypto::tile::TileId::parse(tile) else {
            return not_found;
        };
        let Some((start, end)) = id.span() else {
            return not_found;
        };
        if id.kind != urne_crypto::tile::TileKind::Entries || end > self.entries.len() as u64 {
            return not_found;
        }
        let mut bundle = Vec::new();
        for e in &self.entries[start as usize..end as usize] {
            if urne_crypto::tile::push_bundled_entry(&mut bundle, e).is_err() {
                let body = json!({ "error": "entry_too_large", "message": "an entry is too long" });
                return (422, "application/json", body.to_string().into_bytes());
            }
        }
        (200, "application/octet-stream", bundle)
    }

    /// Status, content type and body for a request target.
    fn answer(&self, target: &str) -> (u16, &'static str, Vec<u8>) {
        if let Some((_, tile)) = target.split_once("/tile/") {
            return self.bundle(tile);
        }
        if let Some(answer) = self.client_file(target) {
            return answer;
        }
        let (status, ctype, body) = self.answer_text(target);
        (status, ctype, body.into_bytes())
    }

    /// Status, content type and body for a request target of the text routes.
    fn answer_text(&self, target: &str) -> (u16, &'static str, String) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: HashMap<&str, u64> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect();
        let size = self.entries.len() as u64;
        let route = path.rsplit('/').next().unwrap_or_default();
        match route {
            "board-key" => (200, "text/plain", format!("{}\n", self.key)),
            "checkpoint" => (200, "text/plain", self.checkpoint.clone()),
            "entries" => {
                let start = q.get("start").copied().unwrap_or(0);
                let end = q.get("end").copied().unwrap_or(size);
                if let Some((index, bytes)) = &self.again {
                    if start == *index && end == index + 1 {
                        let page = vec![Base64::encode_string(bytes)];
                        let body = json!({ "start": start, "size": size, "entries": page });
                        return (200, "application/json", body.to_string());
                    }
                }
                let end = end.min(size).min(start.saturating_add(PAGE));
                let page: Vec<String> = (start..end.max(start))
                    .filter_map(|i| self.entries.get(usize::try_from(i).ok()?))
                    .map(|e| Base64::encode_string(e))
                    .collect();
                let body = json!({ "start": start, "size": size, "entries": page });
                (200, "application/json", body.to_string())
            }
            "consistency" => {
                let (Some(&from), Some(&to)) = (q.get("from"), q.get("to")) else {
                    return (400, "application/json", "{}".into());
                };
                let proof = consistency_proof(from, to, |id| {
                    self.nodes
                        .get(&id)
                        .copied()
                        .ok_or(MerkleError::MissingNode(id))
                });
                match proof {
                    Ok(p) => {
                        let hashes: Vec<String> = p.iter().map(hex::encode).collect();
                        let body = json!({ "from": from, "to": to, "hashes": hashes });
                        (200, "application/json", body.to_string())
                    }
                    Err(_) => (400, "application/json", "{}".into()),
                }
            }
            _ => (404, "application/json", "{}".into()),
        }
    }
}

/// A running loopback responder serving one [`ServedBoard`] at a time.
pub struct Service {
    board: Arc<Mutex<ServedBoard>>,
    base: String,
    url: String,
}

impl Service {
    /// Starts serving `board` for election `election` (hex id in the URL).
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub fn start(board: ServedBoard, election: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let board = Arc::new(Mutex::new(board));
        let served = board.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(read) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                        break;
                    }
                }
                let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, ctype, body) = served
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .answer(&target);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .and_then(|()| stream.write_all(&body));
            }
        });
        Service {
            board,
            base: format!("http://{addr}"),
            url: format!("http://{addr}/v1/elections/{election}"),
        }
    }

    /// The election's base URL (`http://127.0.0.1:PORT/v1/elections/ID`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's base URL (`http://127.0.0.1:PORT`); the responder answers
    /// a route by its last segment under any prefix (`/v1/board-key` too).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Serves another board from now on.
    pub fn replace(&self, board: ServedBoard) {
        *self.board.lock().unwrap_or_else(PoisonError::into_inner) = board;
    }
}
