//! Reading a board from a running service (`http://HOST/v1/elections/ID`)
//! through its public read API: the election's note verifier key
//! (`board-key`), the latest signed `checkpoint`, `entries?start=&end=` pages
//! and `proof/consistency?from=&to=`. Nothing the service says is trusted:
//! the entries are hashed and replayed exactly like an export.

use std::collections::VecDeque;
use std::time::Duration;

use base64ct::{Base64, Encoding};
use serde::Deserialize;

use urne_crypto::entry::Ballot;
use urne_crypto::export::Record as ExportRecord;
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{decode_hash_hex, leaf_hash};
use urne_crypto::record::BallotHistory;

use crate::source::{refetched_ballot, Item, ServedClient, Source, SourceError};

/// Most files of a served web client that `urne-verify` fetches (§3.10).
const MAX_CLIENT_FILES: usize = 256;

/// A service's election, by its base URL.
pub(crate) struct Service {
    client: reqwest::blocking::Client,
    base: String,
}

#[derive(Deserialize)]
struct EntriesPage {
    start: u64,
    entries: Vec<String>,
}

#[derive(Deserialize)]
struct ConsistencyProof {
    from: u64,
    to: u64,
    hashes: Vec<String>,
}

/// True if `target` names a service rather than a file.
pub(crate) fn is_url(target: &str) -> bool {
    target.starts_with("http://") || target.starts_with("https://")
}

impl Service {
    /// Connects to the election at `url` (`…/v1/elections/{id}`).
    pub(crate) fn new(url: &str) -> Result<Self, SourceError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SourceError::Remote(format!("HTTP client: {e}")))?;
        Ok(Service {
            client,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    fn get(&self, path: &str) -> Result<reqwest::blocking::Response, SourceError> {
        self.get_url(&format!("{}/{path}", self.base))
    }

    /// A successful answer to a GET of `url`, or why there is none.
    fn get_url(&self, url: &str) -> Result<reqwest::blocking::Response, SourceError> {
        let response = self
            .client
            .get(url)
            .send()
            .map_err(|e| SourceError::Remote(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(SourceError::Remote(format!(
                "{url}: HTTP {}",
                response.status()
            )));
        }
        Ok(response)
    }

    fn text(&self, path: &str) -> Result<String, SourceError> {
        self.get(path)?
            .text()
            .map_err(|e| SourceError::Remote(format!("{path}: {e}")))
    }

    /// The election's board key (note verifier key string).
    pub(crate) fn board_key(&self) -> Result<String, SourceError> {
        Ok(self.text("board-key")?.trim_end_matches('\n').to_string())
    }

    /// The latest signed checkpoint note.
    pub(crate) fn checkpoint(&self) -> Result<String, SourceError> {
        self.text("checkpoint")
    }

    /// Entries from `start` (at most up to `end`), as the service pages them.
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, SourceError> {
        let page: EntriesPage = self
            .get(&format!("entries?start={start}&end={end}"))?
            .json()
            .map_err(|e| SourceError::Remote(format!("entries page: {e}")))?;
        if page.start != start {
            return Err(SourceError::Remote(format!(
                "asked for entries from {start}, got a page from {}",
                page.start
            )));
        }
        page.entries
            .iter()
            .map(|b| {
                Base64::decode_vec(b).map_err(|_| SourceError::Remote("entry is not base64".into()))
            })
            .collect()
    }

    /// The consistency proof between two tree sizes.
    pub(crate) fn consistency(&self, from: u64, to: u64) -> Result<Vec<Digest32>, SourceError> {
        let p: ConsistencyProof = self
            .get(&format!("proof/consistency?from={from}&to={to}"))?
            .json()
            .map_err(|e| SourceError::Remote(format!("consistency proof: {e}")))?;
        if (p.from, p.to) != (from, to) {
            return Err(SourceError::Remote(
                "consistency proof for other sizes".into(),
            ));
        }
        p.hashes
            .iter()
            .map(|h| {
                decode_hash_hex(h).map_err(|e| SourceError::Remote(format!("proof hash: {e}")))
            })
            .collect()
    }
}

impl Service {
    /// The service's root, `http://HOST` of `http://HOST/v1/elections/ID`.
    fn origin(&self) -> &str {
        self.base
            .find("/v1/")
            .map_or(self.base.as_str(), |at| &self.base[..at])
    }

    fn get_bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        self.get_url(url)
            .map_err(|e| match e {
                SourceError::Remote(message) => message,
                e => e.to_string(),
            })?
            .bytes()
            .map(|b| b.to_vec())
            .map_err(|e| format!("{url}: {e}"))
    }

    /// Fetches the web client's listing and every file it lists (§3.10:
    /// `index.html` is served at `/`, any other path `P` at `/P`).
    fn served_client(&self) -> Result<ServedClient, String> {
        use urne_crypto::web_client;
        let origin = self.origin();
        let listing = self.get_bytes(&format!("{origin}/client.sha256sums"))?;
        let text = std::str::from_utf8(&listing)
            .map_err(|_| "the client listing is not UTF-8".to_string())?;
        let files =
            web_client::parse_listing(text).map_err(|e| format!("the client listing: {e}"))?;
        // A web client is a handful of files; a listing of thousands would
        // only make the verifier fetch without end.
        if files.len() > MAX_CLIENT_FILES {
            return Err(format!(
                "the client listing names {} files, more than the {MAX_CLIENT_FILES} a verifier fetches",
                files.len()
            ));
        }
        let mut mismatched = Vec::new();
        for f in &files {
            let url = if f.path == "index.html" {
                format!("{origin}/")
            } else {
                format!("{origin}/{}", f.path)
            };
            if web_client::file_hash(&self.get_bytes(&url)?) != f.sha256 {
                mismatched.push(f.path.clone());
            }
        }
        Ok(ServedClient {
            digest: web_client::digest(&listing),
            files: files.len(),
            mismatched,
        })
    }

    /// The canonical bytes of entry `index`, fetched alone.
    fn entry(&self, index: u64) -> Result<Vec<u8>, String> {
        let mut page = self
            .entries(index, index + 1)
            .map_err(|e| format!("fetching entry {index}: {e}"))?;
        if page.is_empty() {
            return Err(format!("the service does not serve entry {index}"));
        }
        Ok(page.swap_remove(0))
    }
}

/// The board as a service serves it: the key record (unless resuming), the
/// entries `from..size` of a checkpoint of `size` entries, then that checkpoint.
pub(crate) struct ServiceSource {
    service: Service,
    board_key: Option<String>,
    from: u64,
    next: u64,
    size: u64,
    note: Option<String>,
    buffer: VecDeque<Vec<u8>>,
    /// Leaf hash of every entry read so far (the verified prefix included),
    /// against which an entry fetched again must check.
    leaves: Vec<Digest32>,
}

impl ServiceSource {
    /// Entries `from..size` and then `note`, the checkpoint of `size` entries;
    /// `prefix` holds the leaf hashes of the entries before `from`.
    pub(crate) fn new(
        service: Service,
        board_key: Option<String>,
        (from, size): (u64, u64),
        note: String,
        prefix: Vec<Digest32>,
    ) -> Self {
        ServiceSource {
            service,
            board_key,
            from,
            next: from,
            size,
            note: Some(note),
            buffer: VecDeque::new(),
            leaves: prefix,
        }
    }
}

impl BallotHistory for ServiceSource {
    /// An earlier entry, fetched again, must hash to the leaf computed when it
    /// was first read: the service cannot answer with another ballot.
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        refetched_ballot(&self.leaves, index, "the service", || {
            self.service.entry(index)
        })
    }
}

impl Source for ServiceSource {
    fn next_item(&mut self) -> Result<Option<Item>, SourceError> {
        if let Some(key) = self.board_key.take() {
            return Ok(Some(ExportRecord::BoardKey(key)));
        }
        if self.buffer.is_empty() && self.next < self.size {
            let page = self.service.entries(self.next, self.size)?;
            if page.is_empty() {
                return Err(SourceError::Remote(format!(
                    "the service serves no entry at {} of {}",
                    self.next, self.size
                )));
            }
            let room = usize::try_from(self.size - self.next).unwrap_or(usize::MAX);
            self.buffer.extend(page.into_iter().take(room));
        }
        if let Some(e) = self.buffer.pop_front() {
            self.next += 1;
            self.leaves.push(leaf_hash(&e));
            return Ok(Some(ExportRecord::Entry(e)));
        }
        Ok(self.note.take().map(ExportRecord::FinalCheckpoint))
    }

    fn history(&self) -> &dyn BallotHistory {
        self
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.next - self.from, Some(self.size - self.from))
    }

    fn served_client(&self) -> Option<Result<ServedClient, String>> {
        Some(self.service.served_client())
    }
}
