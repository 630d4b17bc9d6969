//! Ballot verification before sequencing, in batches.
//!
//! A pool of workers, one per core: each takes every ballot waiting (up to
//! [`MAX_BATCH`]) and verifies them together on the verification pool's own
//! threads (never Tokio's blocking pool, which slow clients of other routes
//! could fill) ([`BallotVerifier::verify_batch`]: credentials one by one, signatures and
//! proofs as two batches). Under light load a batch is a single ballot, so
//! nothing waits for a batch to fill; under heavy load batches grow by
//! themselves. A batch that fails is re-checked ballot by ballot, so one
//! invalid ballot never causes another's rejection.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};
use urne_crypto::entry::Ballot;
use urne_crypto::merkle::leaf_hash;
use urne_crypto::record::{BallotVerifier, RecordError};

use super::machine::VerifiedBallot;

/// Most ballots verified in one batch.
pub const MAX_BATCH: usize = 64;
/// Ballots waiting for a worker before casts are held back.
const QUEUE: usize = 4096;

struct Job {
    verifier: Arc<BallotVerifier>,
    ballot: Ballot,
    leaf: [u8; 32],
    reply: oneshot::Sender<Result<VerifiedBallot, RecordError>>,
}

/// Why a ballot was not verified.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// The ballot is invalid.
    #[error(transparent)]
    Invalid(#[from] RecordError),
    /// The pool is gone (the server is shutting down).
    #[error("ballot verification is shutting down")]
    Stopped,
}

/// Handle to the verification pool; cheap to clone.
#[derive(Clone)]
pub struct BallotChecker {
    tx: mpsc::Sender<Job>,
}

/// The threads that verify ballots, one per core, shared by every checker.
fn verification_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("urne-verify-{i}"))
            .build()
            .map_err(|e| tracing::error!(error = %e, "no ballot verification threads"))
            .ok()
    })
    .as_ref()
}

impl BallotChecker {
    /// Starts `workers` workers on the current runtime.
    pub fn start(workers: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(worker(rx.clone()));
        }
        BallotChecker { tx }
    }

    /// Verifies a ballot (credential, signature, proofs) of the entry
    /// `entry_bytes` under `verifier`.
    pub async fn verify(
        &self,
        verifier: Arc<BallotVerifier>,
        entry_bytes: &[u8],
        ballot: Ballot,
    ) -> Result<VerifiedBallot, VerificationError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            verifier,
            ballot,
            leaf: leaf_hash(entry_bytes),
            reply,
        };
        self.tx
            .send(job)
            .await
            .map_err(|_| VerificationError::Stopped)?;
        Ok(answer.await.map_err(|_| VerificationError::Stopped)??)
    }
}

async fn worker(rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        // A panic in verification drops the replies: those casts see `Stopped`.
        let Some(pool) = verification_pool() else {
            return;
        };
        let (done, finished) = oneshot::channel::<()>();
        pool.spawn(move || {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify_all(batch)));
            let _ = done.send(());
        });
        let _ = finished.await;
    }
}

/// Verifies jobs grouped by election (one verifier per group) and answers each.
fn verify_all(mut jobs: Vec<Job>) {
    while !jobs.is_empty() {
        let verifier = jobs[0].verifier.clone();
        let (group, rest): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|j| Arc::ptr_eq(&j.verifier, &verifier));
        jobs = rest;
        let mut ballots = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        for job in group {
            ballots.push(job.ballot);
            replies.push((job.leaf, job.reply));
        }
        let mut verdicts: Vec<Option<RecordError>> = vec![None; ballots.len()];
        if let Err(bad) = verifier.verify_batch(&ballots) {
            for (i, e) in bad {
                if let Some(v) = verdicts.get_mut(i) {
                    *v = Some(e);
                }
            }
        }
        for ((leaf, reply), verdict) in replies.into_iter().zip(verdicts) {
            let answer = match verdict {
                None => Ok(VerifiedBallot::new(leaf)),
                Some(e) => Err(e),
            };
            let _ = reply.send(answer);
        }
    }
}
