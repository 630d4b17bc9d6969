//! The elections this server holds, as request handlers see them: the
//! manifest, the registrar keys, and the latest committed snapshot of the
//! record (the record itself lives on the sequencer thread).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use urne_crypto::credential::RegistrarKey;
use urne_crypto::manifest::Manifest;
use urne_crypto::record::BallotVerifier;

use super::status::Snapshot;
use super::ElectionId;

/// One election: fixed parts and the latest committed snapshot.
pub struct Election {
    id: ElectionId,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    /// One per constituency, in manifest order. Never leaves the server.
    registrars: Vec<RegistrarKey>,
    snapshot: RwLock<Arc<Snapshot>>,
    verifier: OnceLock<Arc<BallotVerifier>>,
}

impl std::fmt::Debug for Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Election {
    /// An election from its manifest (canonical bytes too) and registrar keys.
    pub fn new(
        id: ElectionId,
        manifest: Manifest,
        manifest_bytes: Vec<u8>,
        registrars: Vec<RegistrarKey>,
    ) -> Self {
        let snapshot = Arc::new(Snapshot::empty(&manifest));
        Election {
            id,
            manifest,
            manifest_bytes,
            registrars,
            snapshot: RwLock::new(snapshot),
            verifier: OnceLock::new(),
        }
    }

    /// The election id.
    pub fn id(&self) -> &ElectionId {
        &self.id
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's canonical bytes (the body of board entry 0).
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// Index of a constituency in the manifest.
    pub fn constituency_index(&self, id: &str) -> Option<usize> {
        self.manifest.constituencies.iter().position(|c| c.id == id)
    }

    /// The registrar key of the constituency at `index`.
    pub fn registrar(&self, index: usize) -> Option<&RegistrarKey> {
        self.registrars.get(index)
    }

    /// The latest committed snapshot of the record.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What ballot verification needs, once the election key is published.
    pub fn verifier(&self) -> Option<Arc<BallotVerifier>> {
        self.verifier.get().cloned()
    }

    /// Publishes a committed snapshot (called by the election's machine).
    pub(super) fn publish(&self, snapshot: Snapshot, verifier: Option<&BallotVerifier>) {
        if let Some(v) = verifier {
            self.verifier.get_or_init(|| Arc::new(v.clone()));
        }
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
    }
}

/// Every election of this server, by id.
#[derive(Default)]
pub struct Elections {
    map: RwLock<HashMap<ElectionId, Arc<Election>>>,
}

impl Elections {
    /// The election with this id.
    pub fn get(&self, id: &ElectionId) -> Option<Arc<Election>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Registers an election (once its manifest is durable).
    pub fn insert(&self, election: Arc<Election>) {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(election.id, election);
    }

    /// Forgets an election (once its log is removed).
    pub fn remove(&self, id: &ElectionId) -> Option<Arc<Election>> {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }

    /// Every election id, sorted.
    pub fn ids(&self) -> Vec<ElectionId> {
        let mut ids: Vec<ElectionId> = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        ids.sort();
        ids
    }
}
