//! The verification pass (§9).
//!
//! One thread reads the export, hashes every entry into the Merkle tree and
//! applies the entries to the election record in board order. Entries travel
//! in chunks to a rayon pool, which decodes them and batch-verifies the
//! ballots' cryptography while the reader moves on; the reader applies each
//! chunk's decoded entries, in order, as its result comes back. A bounded
//! number of chunks is in flight, so memory stays flat. The first failure of a
//! record rule or of a ballot's cryptography stops the replay (later rules
//! would only report its consequences); reading and hashing go on so that the
//! export's framing and checkpoints are still checked.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

#[cfg(feature = "native")]
use indicatif::{ProgressBar, ProgressStyle};
use urne_crypto::checkpoint::{
    election_origin, key_id, open_signed_checkpoint, Checkpoint, NoteVerifier,
};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Attestation, Ballot, Entry, EntryError, EntryKind};
use urne_crypto::lottery::{DrawStage, DrawStep, DrawnSeat};
use urne_crypto::merkle::leaf_hash;
use urne_crypto::record::{
    Applied, BallotCheck, BallotHistory, BallotVerifier, Record, RecordError,
};
use urne_crypto::seats::{ElectedSeat, Tie};

use crate::report::{
    ballot_proofs_detail, count, CandidateVotes, CheckId, CheckpointInfo, Checks,
    ConstituencyResult, DrawStepInfo, DrawnMember, ElectedMember, LotteryInfo, Outcome, QuotaRule,
    Report, TieGroup, TiedCandidate,
};
use crate::source::{Item, ServedClient, Source, SourceError};
use crate::tree::Tree;
use crate::{BallotShare, GivenCheckpoint, Options};

/// Wall-clock time since the engine started, where the platform has a clock
/// (in WebAssembly the page measures it itself).
struct Stopwatch {
    #[cfg(feature = "native")]
    started: std::time::Instant,
}

impl Stopwatch {
    fn start() -> Self {
        Stopwatch {
            #[cfg(feature = "native")]
            started: std::time::Instant::now(),
        }
    }

    fn seconds(&self) -> f64 {
        #[cfg(feature = "native")]
        return self.started.elapsed().as_secs_f64();
        #[cfg(not(feature = "native"))]
        0.0
    }
}

/// Where a resumed verification starts: the state a monitor kept after
/// verifying a prefix of the board (see `crate::monitor`).
pub(crate) struct Resume {
    /// The record after the verified prefix.
    pub record: Record,
    /// The tree of the verified prefix.
    pub tree: Tree,
    /// The export's board key record.
    pub board_key: String,
    /// Check counters of the verified prefix.
    pub checks: Checks,
    /// Ballot entries in the verified prefix.
    pub ballot_entries: u64,
    /// Whether the source repeats the verified prefix (an export file) or
    /// starts right after it (a service).
    pub source_repeats_prefix: bool,
}

/// What a monitor keeps after a run (see `crate::monitor`).
pub(crate) struct Parts {
    /// The record after the last entry.
    pub record: Option<Record>,
    /// The tree of every entry.
    pub tree: Tree,
    /// The export's board key record.
    pub board_key: Option<String>,
    /// Check counters of the replay.
    pub checks: Checks,
    /// Ballot entries read.
    pub ballot_entries: u64,
    /// The verified final checkpoint.
    pub checkpoint: Option<Checkpoint>,
    /// Its signed note.
    pub note: Option<String>,
}

/// A chunk of consecutive entries sent to the pool.
struct Chunk {
    seq: u64,
    first: u64,
    entries: Vec<Vec<u8>>,
}

/// What the pool sends back for a chunk.
struct Decoded {
    seq: u64,
    first: u64,
    entries: Vec<Result<Entry, EntryError>>,
    /// Decoded ballots, by position in the chunk.
    ballots: Vec<(usize, Ballot)>,
    /// Ballots whose cryptography failed, by board index.
    invalid: BTreeMap<u64, RecordError>,
    /// Whether the ballots were verified (an election key was known).
    verified: bool,
    /// Decoding or verification panicked (a bug, reported as a failure).
    panicked: bool,
}

fn decode_chunk(
    chunk: Chunk,
    verifier: Option<&BallotVerifier>,
    share: Option<BallotShare>,
) -> Decoded {
    let mut entries = Vec::with_capacity(chunk.entries.len());
    let mut ballots = Vec::new();
    for (pos, bytes) in chunk.entries.iter().enumerate() {
        match Entry::from_bytes(bytes) {
            Ok(e) => {
                if e.kind == EntryKind::Ballot as u8 {
                    // A body that does not decode is left to the record,
                    // which reports it after its phase and envelope rules.
                    if let Ok(b) = e.body::<Ballot>() {
                        ballots.push((pos, b));
                    }
                }
                entries.push(Ok(e));
            }
            Err(err) => entries.push(Err(EntryError::Decode(err))),
        }
    }
    let mut invalid = BTreeMap::new();
    if let Some(v) = verifier {
        // Under a share, only this share's ballots are verified here.
        let (mine, others): (Vec<_>, Vec<_>) = ballots
            .into_iter()
            .partition(|(pos, _)| share.is_none_or(|s| s.covers(chunk.first + *pos as u64)));
        let (positions, list): (Vec<usize>, Vec<Ballot>) = mine.into_iter().unzip();
        if let Err(bad) = v.verify_batch(&list) {
            for (i, e) in bad {
                if let Some(pos) = positions.get(i) {
                    invalid.insert(chunk.first + *pos as u64, e);
                }
            }
        }
        ballots = positions.into_iter().zip(list).chain(others).collect();
        ballots.sort_by_key(|(pos, _)| *pos);
    }
    Decoded {
        seq: chunk.seq,
        first: chunk.first,
        entries,
        ballots,
        invalid,
        verified: verifier.is_some(),
        panicked: false,
    }
}

/// Entries per chunk are capped by count (`Options::batch`) and by bytes.
const CHUNK_BYTES: usize = 8 << 20;

/// The verification of one board.
pub(crate) struct Engine {
    started: Stopwatch,
    #[cfg(feature = "native")]
    pool: rayon::ThreadPool,
    batch: usize,
    /// Only these ballots' cryptography is verified (see [`BallotShare`]).
    share: Option<BallotShare>,
    /// Told how far the reading is, every 256 entries.
    on_progress: Option<fn(u64, Option<u64>)>,
    in_flight_max: usize,
    #[cfg(feature = "native")]
    progress: Option<ProgressBar>,
    tree: Tree,
    /// Entries of a resumed prefix that the source repeats (compared, not applied).
    repeated_prefix: u64,
    /// How many of those the source did repeat.
    prefix_read: u64,
    /// Size of the verified prefix of a resumed run.
    resumed_from: Option<u64>,
    next_index: u64,
    board_key: Option<String>,
    board: Option<NoteVerifier>,
    record: Option<Record>,
    verifier: Option<Arc<BallotVerifier>>,
    pub(crate) checks: Checks,
    used: Vec<CheckId>,
    ballot_entries: u64,
    checkpoints: u64,
    /// Intermediate checkpoints beyond the entries read so far.
    ahead: Vec<(u64, Checkpoint)>,
    /// Checkpoints from outside the export, checked at the end.
    given: Vec<GivenCheckpoint>,
    final_note: Option<String>,
    verified_note: Option<String>,
    format_ok: bool,
    final_checkpoint: Option<Checkpoint>,
    /// `--require-witnesses`: a quorum must have cosigned the final checkpoint.
    require_witnesses: bool,
    /// What the witnesses did for the final checkpoint, for the report.
    witness_summary: Option<String>,
    /// Intermediate checkpoints read before the manifest was applied, whose
    /// cosignatures are checked at the end.
    uncosigned: Vec<(String, u64, String)>,
    /// Each checkpoint's size with the (witness, timestamp) of every valid cosignature.
    cosigned: Vec<(u64, Vec<(String, u64)>)>,
    /// Board index of the entry that closed the reveals.
    reveals_closed_at: Option<u64>,
    // Pipeline.
    chunk: Vec<Vec<u8>>,
    chunk_first: u64,
    chunk_bytes: usize,
    next_seq: u64,
    apply_seq: u64,
    in_flight: usize,
    reorder: BTreeMap<u64, Decoded>,
    tx: Sender<Decoded>,
    rx: Receiver<Decoded>,
}

impl Engine {
    pub(crate) fn new(options: &Options, resume: Option<Resume>) -> Result<Self, String> {
        #[cfg(feature = "native")]
        let threads = if options.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            options.threads
        };
        // Without threads, each chunk is decoded and verified as it is sent.
        #[cfg(not(feature = "native"))]
        let threads = 1;
        #[cfg(feature = "native")]
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("urne-verify-{i}"))
            .build()
            .map_err(|e| format!("thread pool: {e}"))?;
        #[cfg(feature = "native")]
        let progress = options.progress.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let (tx, rx) = channel();
        // Every check but the two that depend on how the run goes.
        let resumed = resume.is_some();
        let used: Vec<CheckId> = CheckId::ALL
            .into_iter()
            .filter(|c| match c {
                CheckId::Consistency => resumed,
                // Made only on a source that serves a client (see `run`).
                CheckId::WebClient => false,
                _ => true,
            })
            .collect();
        let mut engine = Engine {
            started: Stopwatch::start(),
            #[cfg(feature = "native")]
            pool,
            batch: options.batch.max(1),
            share: options.ballot_share,
            on_progress: options.on_progress,
            in_flight_max: 2 * threads + 1,
            #[cfg(feature = "native")]
            progress,
            tree: Tree::default(),
            repeated_prefix: 0,
            prefix_read: 0,
            resumed_from: None,
            next_index: 0,
            board_key: None,
            board: None,
            record: None,
            verifier: None,
            checks: Checks::default(),
            used: vec![],
            ballot_entries: 0,
            checkpoints: 0,
            ahead: vec![],
            given: options.checkpoints.clone(),
            final_note: None,
            verified_note: None,
            format_ok: true,
            final_checkpoint: None,
            require_witnesses: options.require_witnesses,
            witness_summary: None,
            uncosigned: vec![],
            cosigned: vec![],
            reveals_closed_at: None,
            chunk: vec![],
            chunk_first: 0,
            chunk_bytes: 0,
            next_seq: 0,
            apply_seq: 0,
            in_flight: 0,
            reorder: BTreeMap::new(),
            tx,
            rx,
        };
        if let Some(r) = resume {
            let size = r.tree.size();
            engine.resumed_from = Some(size);
            engine.board = Some(
                NoteVerifier::from_vkey_string(&r.board_key)
                    .map_err(|e| format!("stored board key: {e}"))?,
            );
            engine.board_key = Some(r.board_key);
            engine.verifier = r.record.ballot_verifier().ok().map(Arc::new);
            engine.record = Some(r.record);
            engine.tree = r.tree;
            engine.checks = r.checks;
            engine.ballot_entries = r.ballot_entries;
            if r.source_repeats_prefix {
                engine.repeated_prefix = size;
            } else {
                engine.next_index = size;
            }
        }
        engine.used = used;
        Ok(engine)
    }

    /// Reads the whole source and returns the report, with what a monitor
    /// keeps to continue later.
    pub(crate) fn run(mut self, source: &mut dyn Source) -> (Report, Parts) {
        let resumed = self.board_key.is_some();
        // A service resumed after a verified prefix sends no key record.
        let expect_key = !resumed || self.repeated_prefix > 0;
        let mut key_records = 0u32;
        let mut records = 0u64;
        let mut finished = false;
        loop {
            let item = match source.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(SourceError::Tile { code, message }) => {
                    let at = self.next_index;
                    self.checks.fail(
                        CheckId::MerkleRoot,
                        None,
                        code,
                        format!("after {at} entries: {message}"),
                    );
                    break;
                }
                Err(e) => {
                    self.format_error(
                        match &e {
                            SourceError::Export(x) => export_code(x),
                            _ => "remote",
                        },
                        e.to_string(),
                    );
                    break;
                }
            };
            records += 1;
            if finished {
                self.format_error("trailing_record", "records after the final checkpoint");
                break;
            }
            match item {
                Item::BoardKey(key) => {
                    key_records += 1;
                    if key_records > 1 || !expect_key {
                        self.format_error("duplicate_key", "a second board key record");
                        break;
                    }
                    if resumed {
                        if self.board_key.as_deref() != Some(key.as_str()) {
                            self.checks.fail(
                                CheckId::Consistency,
                                None,
                                "board_key_changed",
                                "the export's board key is not the one verified before",
                            );
                        }
                    } else {
                        self.set_board_key(key);
                    }
                }
                _ if expect_key && key_records == 0 => {
                    self.format_error("missing_key", "the first record is not the board key");
                    break;
                }
                Item::Checkpoint(note) => self.intermediate_checkpoint(&note),
                Item::Entry(bytes) => {
                    self.entry(bytes, source.history());
                    if let Some(report) = self.on_progress {
                        if self.next_index % 256 == 0 {
                            let (done, total) = source.progress();
                            report(done, total);
                        }
                    }
                    #[cfg(feature = "native")]
                    if let Some(bar) = &self.progress {
                        let (done, total) = source.progress();
                        if let Some(t) = total {
                            bar.set_length(t);
                        }
                        bar.set_position(done);
                        if self.next_index % 256 == 0 {
                            let secs = self.started.seconds().max(1e-3);
                            bar.set_message(format!(
                                "{} entries, {} ballots ({:.0}/s)",
                                self.next_index,
                                self.ballot_entries,
                                self.ballot_entries as f64 / secs
                            ));
                        }
                    }
                }
                Item::FinalCheckpoint(note) => {
                    self.final_note = Some(note);
                    finished = true;
                }
            }
        }
        self.flush(source.history());
        self.drain(source.history());
        #[cfg(feature = "native")]
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        if let Some(served) = source.served_client() {
            self.check_web_client(served);
        }
        if self.format_ok && self.final_note.is_none() {
            self.format_error("truncated", "the export ends without a final checkpoint");
        }
        self.checks.detail(
            CheckId::ExportFormat,
            format!(
                "{}: {}, {}, final checkpoint",
                count(records, "record", "records"),
                count(self.next_index, "entry", "entries"),
                count(
                    self.checkpoints,
                    "intermediate checkpoint",
                    "intermediate checkpoints"
                )
            ),
        );
        let report = self.finish();
        let mut checks = self.checks;
        // Only the counters of the replay carry over to a resumed run: the
        // export's own records are checked again each time.
        checks.reset(CheckId::Checkpoints);
        (
            report,
            Parts {
                record: self.record,
                tree: self.tree,
                board_key: self.board_key,
                checks,
                ballot_entries: self.ballot_entries,
                checkpoint: self.final_checkpoint,
                note: self.verified_note,
            },
        )
    }

    fn format_error(&mut self, code: &str, message: impl Into<String>) {
        self.format_ok = false;
        let at = self.next_index;
        self.checks.fail(
            CheckId::ExportFormat,
            None,
            code,
            format!("after {at} entries: {}", message.into()),
        );
    }

    fn set_board_key(&mut self, key: String) {
        match NoteVerifier::from_vkey_string(&key) {
            Ok(v) => self.board = Some(v),
            Err(e) => self.checks.fail(
                CheckId::BoardKey,
                None,
                "malformed_key",
                format!("the board key record is not a note verifier key: {e}"),
            ),
        }
        self.board_key = Some(key);
    }

    fn intermediate_checkpoint(&mut self, note: &str) {
        self.checkpoints += 1;
        let ordinal = self.checkpoints;
        let Some(board) = &self.board else {
            self.checks.fail(
                CheckId::Checkpoints,
                None,
                "no_board_key",
                format!("checkpoint {ordinal}: no valid board key to check it"),
            );
            return;
        };
        match open_signed_checkpoint(note.as_bytes(), board) {
            Err(e) => self.checks.fail(
                CheckId::Checkpoints,
                None,
                "bad_checkpoint",
                format!(
                    "checkpoint {ordinal} (after entry {}): {e}",
                    self.next_index
                ),
            ),
            Ok(cp) => {
                let what = format!("checkpoint {ordinal}");
                if self.record.is_some() {
                    self.check_cosignatures(&what, cp.size, note);
                } else {
                    self.uncosigned.push((what, cp.size, note.to_owned()));
                }
                if cp.size <= self.tree.size() {
                    self.compare_checkpoint(ordinal, &cp);
                } else {
                    self.ahead.push((ordinal, cp));
                }
            }
        }
    }

    /// Checks every cosignature on `note` by a manifest witness (§6.11);
    /// returns the names of the witnesses whose cosignature verifies.
    fn check_cosignatures(&mut self, what: &str, size: u64, note: &str) -> Vec<String> {
        let Some(record) = &self.record else {
            return Vec::new();
        };
        let read = record.manifest().cosigners(note.as_bytes());
        let cosigned = read.cosigned;
        for (_, e) in read.forged {
            self.checks.fail(
                CheckId::Checkpoints,
                None,
                "bad_cosignature",
                format!("{what}: {e}"),
            );
        }
        let names = cosigned.iter().map(|(n, _)| n.clone()).collect();
        if !cosigned.is_empty() {
            self.cosigned.push((size, cosigned));
        }
        names
    }

    /// The lottery's timing (§7.5, §6.11): a checkpoint that includes the
    /// entry closing the reveals, cosigned by a quorum of witnesses each
    /// before the beacon round's publication time. Reported in `lottery`;
    /// with `require_witnesses` its absence fails `lottery`.
    fn lottery_timing(&mut self) {
        let Some(record) = &self.record else {
            return;
        };
        let manifest = record.manifest();
        let Some(beacon) = &manifest.lottery.beacon else {
            return; // RFC 3797: no beacon round to precede
        };
        let Some(at) = self.reveals_closed_at else {
            return; // the reveals are not closed yet
        };
        let Ok(round_time) = beacon.round_time() else {
            return; // the manifest check refuses such a beacon
        };
        let quorum = manifest.witness_quorum as usize;
        let summary = if manifest.witnesses.is_empty() {
            format!(
                "the close of the reveals (entry {at}) before beacon round {} is not witnessed: \
                 the manifest names no witness",
                beacon.round
            )
        } else {
            let found = self.cosigned.iter().find(|(size, sigs)| {
                *size > at && sigs.iter().filter(|(_, t)| *t < round_time).count() >= quorum
            });
            match found {
                Some((size, sigs)) => format!(
                    "the close of the reveals (entry {at}) is in checkpoint {size}, cosigned by {} \
                     before beacon round {} was published (at {round_time})",
                    sigs.iter()
                        .filter(|(_, t)| *t < round_time)
                        .map(|(n, t)| format!("{n} at {t}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    beacon.round
                ),
                None => {
                    let message = format!(
                        "no checkpoint with the close of the reveals (entry {at}) is cosigned by \
                         {quorum} witnesses before beacon round {} was published (at {round_time})",
                        beacon.round
                    );
                    if self.require_witnesses {
                        self.checks.fail(
                            CheckId::Lottery,
                            None,
                            "unwitnessed_reveals_close",
                            message.clone(),
                        );
                    }
                    message
                }
            }
        };
        self.checks.add_detail(CheckId::Lottery, summary);
    }

    /// The quorum rule on the final checkpoint's cosignatures (§6.11).
    fn witness_quorum(&mut self, note: &str) {
        let Some(record) = &self.record else {
            return;
        };
        let (count, quorum) = (
            record.manifest().witnesses.len(),
            record.manifest().witness_quorum as usize,
        );
        let size = self.tree.size();
        let cosigned = self.check_cosignatures("the final checkpoint", size, note);
        let summary = if count == 0 {
            "the manifest names no witness: the board's checkpoints are not witnessed".to_string()
        } else if cosigned.is_empty() {
            format!("the final checkpoint has no witness cosignature (quorum {quorum} of {count})")
        } else {
            format!(
                "the final checkpoint is cosigned by {} (quorum {quorum} of {count}{})",
                cosigned.join(", "),
                if cosigned.len() >= quorum {
                    ": met"
                } else {
                    ": not met"
                }
            )
        };
        if self.require_witnesses && (count == 0 || cosigned.len() < quorum) {
            self.checks.fail(
                CheckId::Checkpoints,
                None,
                "witness_quorum",
                format!("witnesses were required: {summary}"),
            );
        }
        self.witness_summary = Some(summary);
    }

    fn compare_checkpoint(&mut self, ordinal: u64, cp: &Checkpoint) {
        if self.tree.root_at(cp.size) == Some(cp.root) {
            self.checks.count(CheckId::Checkpoints);
        } else {
            self.checks.fail(
                CheckId::Checkpoints,
                None,
                "inconsistent_checkpoint",
                format!(
                    "checkpoint {ordinal} (size {}) has a root other than the board's at that size",
                    cp.size
                ),
            );
        }
    }

    /// Checks the checkpoints given from outside the export: each must be
    /// signed by the board key and have the export tree's root at its size
    /// (so it is consistent with the final checkpoint). Returns the detail
    /// line, or `None` when none was given.
    fn given_checkpoints(&mut self) -> Option<String> {
        let given = std::mem::take(&mut self.given);
        if given.is_empty() {
            return None;
        }
        let size = self.tree.size();
        let mut consistent = 0u64;
        for g in &given {
            let problem = match &self.board {
                None => Some("no valid board key in the export to check it".to_string()),
                Some(board) => match open_signed_checkpoint(&g.note, board) {
                    Err(e) => Some(format!("not a checkpoint signed by the board key: {e}")),
                    Ok(cp) if cp.size > size => Some(format!(
                        "size {} is beyond the {size} entries of the export",
                        cp.size
                    )),
                    Ok(cp) if self.tree.root_at(cp.size) != Some(cp.root) => Some(format!(
                        "its root at size {} is not the export's: the board showed another history",
                        cp.size
                    )),
                    Ok(_) => None,
                },
            };
            match problem {
                None => consistent += 1,
                Some(p) => self.checks.fail(
                    CheckId::Checkpoints,
                    None,
                    "inconsistent_checkpoint",
                    format!("given checkpoint {}: {p}", g.label),
                ),
            }
        }
        Some(format!(
            "{consistent} of {} consistent with the export",
            count(given.len() as u64, "given checkpoint", "given checkpoints")
        ))
    }

    fn entry(&mut self, bytes: Vec<u8>, history: &dyn BallotHistory) {
        let leaf = leaf_hash(&bytes);
        let index = self.next_index;
        self.next_index += 1;
        if index < self.repeated_prefix {
            // A resumed export repeats the verified prefix: it must be the same board.
            self.prefix_read += 1;
            let stored = usize::try_from(index)
                .ok()
                .and_then(|i| self.tree.leaves().get(i));
            if stored != Some(&leaf) && !self.checks.has_failed(CheckId::Consistency) {
                self.checks.fail(
                    CheckId::Consistency,
                    Some((index, None)),
                    "prefix_changed",
                    "this entry differs from the board verified before",
                );
                self.checks.stopped_at.get_or_insert(index);
            }
            return;
        }
        if let Err(e) = self.tree.push(leaf) {
            self.format_error("tree_full", e.to_string());
            return;
        }
        if self.chunk.is_empty() {
            self.chunk_first = index;
        }
        self.chunk_bytes += bytes.len();
        self.chunk.push(bytes);
        // The manifest goes alone, so the record (and with it the ballot
        // verifier) exists before the next chunk is dispatched.
        if index == 0 || self.chunk.len() >= self.batch || self.chunk_bytes >= CHUNK_BYTES {
            self.flush(history);
        }
        self.resolve_ahead();
    }

    /// Compares the checkpoints whose size the tree has now reached.
    fn resolve_ahead(&mut self) {
        while let Some(pos) = self
            .ahead
            .iter()
            .position(|(_, cp)| cp.size <= self.tree.size())
        {
            let (ordinal, cp) = self.ahead.remove(pos);
            self.compare_checkpoint(ordinal, &cp);
        }
    }

    /// Sends the current chunk to the pool.
    fn flush(&mut self, history: &dyn BallotHistory) {
        if self.chunk.is_empty() {
            return;
        }
        if self.verifier.is_none() && self.in_flight > 0 {
            // The election key may be in a chunk still in flight: apply
            // everything first so that this chunk's ballots get verified.
            self.drain(history);
        }
        while self.in_flight >= self.in_flight_max {
            self.receive(history);
        }
        let chunk = Chunk {
            seq: self.next_seq,
            first: self.chunk_first,
            entries: std::mem::take(&mut self.chunk),
        };
        self.chunk_bytes = 0;
        self.next_seq += 1;
        self.in_flight += 1;
        let tx = self.tx.clone();
        let verifier = self.verifier.clone();
        let share = self.share;
        let work = move || {
            let (seq, first, n) = (chunk.seq, chunk.first, chunk.entries.len());
            let decoded = catch_unwind(AssertUnwindSafe(|| {
                decode_chunk(chunk, verifier.as_deref(), share)
            }))
            .unwrap_or_else(|_| Decoded {
                seq,
                first,
                entries: (0..n).map(|_| Err(EntryError::BadSignature)).collect(),
                ballots: vec![],
                invalid: BTreeMap::new(),
                verified: false,
                panicked: true,
            });
            // The receiver lives as long as the engine, which waits for every chunk.
            let _ = tx.send(decoded);
        };
        #[cfg(feature = "native")]
        self.pool.spawn(work);
        #[cfg(not(feature = "native"))]
        work();
    }

    fn receive(&mut self, history: &dyn BallotHistory) {
        let Ok(d) = self.rx.recv() else {
            self.in_flight = 0;
            return;
        };
        self.reorder.insert(d.seq, d);
        while let Some(d) = self.reorder.remove(&self.apply_seq) {
            self.apply_seq += 1;
            self.in_flight -= 1;
            self.apply_chunk(d, history);
        }
    }

    fn drain(&mut self, history: &dyn BallotHistory) {
        while self.in_flight > 0 {
            self.receive(history);
        }
    }

    fn apply_chunk(&mut self, d: Decoded, history: &dyn BallotHistory) {
        if d.panicked && self.checks.stopped_at.is_none() {
            self.checks.fail(
                CheckId::EntryEncoding,
                Some((d.first, None)),
                "internal_error",
                "decoding or verifying this chunk of entries panicked",
            );
            self.stop(d.first);
        }
        let mut ballots = d.ballots.into_iter().peekable();
        for (pos, entry) in d.entries.into_iter().enumerate() {
            let index = d.first + pos as u64;
            let ballot = match ballots.peek() {
                Some((p, _)) if *p == pos => ballots.next().map(|(_, b)| b),
                _ => None,
            };
            let invalid = d.invalid.get(&index).cloned();
            self.apply_entry(index, entry, ballot, invalid, d.verified, history);
        }
    }

    fn stop(&mut self, index: u64) {
        self.checks.stopped_at.get_or_insert(index);
    }

    fn apply_entry(
        &mut self,
        index: u64,
        entry: Result<Entry, EntryError>,
        ballot: Option<Ballot>,
        invalid: Option<RecordError>,
        verified: bool,
        history: &dyn BallotHistory,
    ) {
        let kind = entry.as_ref().ok().and_then(|e| e.kind().ok());
        if self.checks.stopped_at.is_some() {
            match kind {
                Some(k) => {
                    self.checks.skip(CheckId::for_kind(k));
                    if k == EntryKind::Ballot {
                        self.checks.skip(CheckId::BallotProofs);
                    }
                }
                None => self.checks.skip(CheckId::EntryEncoding),
            }
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                self.checks.fail(
                    CheckId::EntryEncoding,
                    Some((index, None)),
                    "malformed_entry",
                    e.to_string(),
                );
                return self.stop(index);
            }
        };
        let Some(kind) = kind else {
            self.checks.fail(
                CheckId::EntryEncoding,
                Some((index, None)),
                "unknown_kind",
                format!("unknown entry kind {}", entry.kind),
            );
            return self.stop(index);
        };
        self.checks.count(CheckId::EntryEncoding);
        let group = CheckId::for_kind(kind);
        if index == 0 {
            return self.open(entry, kind);
        }
        let Some(record) = self.record.as_mut() else {
            return self.stop(index);
        };
        let applied = match &ballot {
            Some(b) => record.apply_ballot_entry(&entry, b, BallotCheck::Deferred, history),
            None => record.apply(&entry, BallotCheck::Deferred, history),
        };
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                self.checks
                    .fail(group, Some((index, Some(kind))), e.code(), e.to_string());
                return self.stop(index);
            }
        };
        self.checks.count(group);
        if kind == EntryKind::RevealsClosed {
            self.reveals_closed_at = Some(index);
        }
        match applied {
            Applied::Ballot { .. } => {
                self.ballot_entries += 1;
                let failure = match (invalid, verified, &self.verifier, &ballot) {
                    (Some(e), _, _, _) => Some(e),
                    (None, true, _, _) => None,
                    // Another share's ballot, dispatched before the key was known.
                    (None, false, Some(_), Some(_))
                        if self.share.is_some_and(|s| !s.covers(index)) =>
                    {
                        None
                    }
                    // Dispatched before the election key was applied: verify here.
                    (None, false, Some(v), Some(b)) => v.verify(b).err(),
                    (None, false, _, _) => {
                        Some(RecordError::Missing("ballot verification context".into()))
                    }
                };
                match failure {
                    None => self.checks.count(CheckId::BallotProofs),
                    Some(e) => {
                        self.checks.fail(
                            CheckId::BallotProofs,
                            Some((index, Some(kind))),
                            e.code(),
                            e.to_string(),
                        );
                        self.stop(index);
                    }
                }
            }
            Applied::Attestation(a) => self.attestation(index, &a),
            Applied::Recorded => {
                if kind == EntryKind::ElectionKey {
                    self.verifier = self
                        .record
                        .as_ref()
                        .and_then(|r| r.ballot_verifier().ok())
                        .map(Arc::new);
                }
            }
        }
    }

    fn open(&mut self, entry: Entry, kind: EntryKind) {
        match Record::open(&entry) {
            Err(e) => {
                self.checks.fail(
                    CheckId::Manifest,
                    Some((0, Some(kind))),
                    e.code(),
                    e.to_string(),
                );
                self.stop(0);
            }
            Ok(record) => {
                self.checks.count(CheckId::Manifest);
                let origin = election_origin(record.election());
                let expected = vkey_string(&origin, &record.manifest().board_key);
                match &self.board_key {
                    Some(k) if *k == expected => self.checks.detail(CheckId::BoardKey, k.clone()),
                    Some(_) => self.checks.fail(
                        CheckId::BoardKey,
                        None,
                        "wrong_board_key",
                        format!("the export's board key is not the manifest's ({expected})"),
                    ),
                    None => {}
                }
                self.record = Some(record);
            }
        }
    }

    fn attestation(&mut self, index: u64, a: &Attestation) {
        if self.tree.root_at(a.size) != Some(a.root) {
            self.checks.fail(
                CheckId::Attestations,
                Some((index, Some(EntryKind::Attestation))),
                "inconsistent_attestation",
                format!(
                    "the attested root at size {} is not the board's (split view)",
                    a.size
                ),
            );
        }
    }

    fn finish(&mut self) -> Report {
        let size = self.tree.size();
        self.resolve_ahead();
        self.checks.clear_pending();
        if self.prefix_read < self.repeated_prefix {
            self.checks.fail(
                CheckId::Consistency,
                None,
                "board_shrank",
                format!(
                    "the export holds {} of the {} entries verified before",
                    self.prefix_read, self.repeated_prefix
                ),
            );
        } else if let Some(stored) = self.resumed_from {
            self.checks.detail(
                CheckId::Consistency,
                format!("the board extends the one verified before at size {stored}"),
            );
        }
        for (ordinal, cp) in std::mem::take(&mut self.ahead) {
            self.checks.fail(
                CheckId::Checkpoints,
                None,
                "inconsistent_checkpoint",
                format!(
                    "checkpoint {ordinal} has size {}, beyond the {size} entries of the export",
                    cp.size
                ),
            );
        }
        let mut detail = format!(
            "{} consistent",
            count(
                self.checks.counted(CheckId::Checkpoints),
                "intermediate checkpoint",
                "intermediate checkpoints"
            )
        );
        if let Some(given) = self.given_checkpoints() {
            detail = format!("{detail}; {given}");
        }
        for (what, size, note) in std::mem::take(&mut self.uncosigned) {
            self.check_cosignatures(&what, size, &note);
        }
        self.checks.detail(CheckId::Checkpoints, detail.clone());
        self.check_final();
        if let Some(w) = self.witness_summary.take() {
            self.checks
                .detail(CheckId::Checkpoints, format!("{detail}; {w}"));
        }
        self.lottery_timing();
        if self.record.is_none() {
            if !self.checks.any_failed() {
                self.checks.fail(
                    CheckId::Manifest,
                    None,
                    "empty_board",
                    "the board has no entries",
                );
            }
            let replay = [
                CheckId::Manifest,
                CheckId::Roster,
                CheckId::KeyGeneration,
                CheckId::Phases,
                CheckId::Issuance,
                CheckId::Ballots,
                CheckId::BallotProofs,
                CheckId::DecryptionShares,
                CheckId::Tallies,
                CheckId::Lottery,
                CheckId::Seats,
                CheckId::Attestations,
            ];
            for id in replay {
                self.checks.not_made(id, "not checked: no valid manifest");
            }
        }
        if self.board_key.is_none() {
            self.checks
                .not_made(CheckId::BoardKey, "not checked: no board key record");
        }
        if self.board_key.is_some()
            && self.record.is_none()
            && !self.checks.has_failed(CheckId::BoardKey)
        {
            self.checks
                .not_made(CheckId::BoardKey, "not compared: no valid manifest");
        }
        let ballot_proofs = self.checks.counted(CheckId::BallotProofs);
        self.checks.detail(
            CheckId::BallotProofs,
            ballot_proofs_detail(ballot_proofs, self.share),
        );
        let complete = match (&self.record, self.checks.stopped_at) {
            (Some(r), None) => {
                let seated = r
                    .manifest()
                    .constituencies
                    .iter()
                    .filter(|c| r.seat_result(&c.id).is_some())
                    .count();
                let total = r.manifest().constituencies.len();
                if r.is_complete() {
                    self.checks.detail(
                        CheckId::Complete,
                        format!("all {total} constituencies have their seat results"),
                    );
                    true
                } else {
                    self.checks.pending(
                        CheckId::Complete,
                        format!(
                            "election in phase {}: {seated} of {total} constituencies seated",
                            r.phase().name()
                        ),
                    );
                    false
                }
            }
            _ => {
                let reason = match self.checks.stopped_at {
                    Some(at) => format!("not determined: the replay stopped at entry {at}"),
                    None => "not determined: no valid manifest".to_string(),
                };
                self.checks.not_made(CheckId::Complete, reason);
                false
            }
        };
        let checks = self.checks.finish(&self.used);
        let valid = !self.checks.any_failed();
        let status = match (valid, complete) {
            (false, _) => Outcome::Invalid,
            (true, true) => Outcome::Valid,
            (true, false) => Outcome::ValidSoFar,
        };
        let record = self.record.as_ref();
        Report {
            valid,
            status,
            complete,
            election: record.map(|r| hex::encode(r.election())),
            title: record.map(|r| r.manifest().title.clone()),
            client_digest: record.map(|r| hex::encode(r.manifest().client_digest)),
            election_key: record
                .and_then(Record::election_key)
                .map(|k| hex::encode(k.public_key().compress().as_bytes())),
            phase: record.map(|r| r.phase().name().to_string()),
            entries: size,
            checkpoint: self
                .final_checkpoint
                .as_ref()
                .filter(|_| valid)
                .map(|cp| CheckpointInfo {
                    size: cp.size,
                    root: hex::encode(cp.root),
                }),
            ballots_counted: record.map_or(0, Record::ballots_counted),
            ballot_entries: self.ballot_entries,
            checks,
            failures: self.checks.failures.clone(),
            constituencies: record.map(constituency_results).unwrap_or_default(),
            lottery: record.map(LotteryInfo::of),
            ballot_share: self.share,
            seconds: self.started.seconds(),
        }
    }

    /// `web-client`: the client a service serves hashes to its listing, and
    /// the listing to the manifest's client digest (§3.10).
    fn check_web_client(&mut self, served: Result<ServedClient, String>) {
        self.used.push(CheckId::WebClient);
        let Some(expected) = self.record.as_ref().map(|r| r.manifest().client_digest) else {
            self.checks
                .not_made(CheckId::WebClient, "no valid manifest to compare with");
            return;
        };
        let served = match served {
            Ok(s) => s,
            Err(message) => {
                self.checks
                    .fail(CheckId::WebClient, None, "client_unavailable", message);
                return;
            }
        };
        for path in &served.mismatched {
            self.checks.fail(
                CheckId::WebClient,
                None,
                "client_file_mismatch",
                format!("the served file {path} does not hash to its line in the listing"),
            );
        }
        if served.digest != expected {
            self.checks.fail(
                CheckId::WebClient,
                None,
                "client_digest_mismatch",
                format!(
                    "the service serves the client {}, not the client {} that the manifest names",
                    hex::encode(served.digest),
                    hex::encode(expected)
                ),
            );
        }
        if !self.checks.has_failed(CheckId::WebClient) {
            self.checks.detail(
                CheckId::WebClient,
                format!(
                    "the service serves the manifest's client {} ({} files)",
                    hex::encode(expected),
                    served.files
                ),
            );
        }
    }

    fn check_final(&mut self) {
        let size = self.tree.size();
        let Some(note) = self.final_note.take() else {
            self.checks.fail(
                CheckId::FinalCheckpoint,
                None,
                "missing",
                "no final checkpoint",
            );
            self.checks
                .not_made(CheckId::MerkleRoot, "not compared: no final checkpoint");
            return;
        };
        let Some(board) = &self.board else {
            self.checks.fail(
                CheckId::FinalCheckpoint,
                None,
                "no_board_key",
                "no valid board key to check the final checkpoint",
            );
            self.checks.not_made(
                CheckId::MerkleRoot,
                "not compared: no usable final checkpoint",
            );
            return;
        };
        let cp = match open_signed_checkpoint(note.as_bytes(), board) {
            Ok(cp) => cp,
            Err(e) => {
                self.checks.fail(
                    CheckId::FinalCheckpoint,
                    None,
                    "bad_checkpoint",
                    e.to_string(),
                );
                self.checks.not_made(
                    CheckId::MerkleRoot,
                    "not compared: no usable final checkpoint",
                );
                return;
            }
        };
        if cp.size != size {
            self.checks.fail(
                CheckId::FinalCheckpoint,
                None,
                "size_mismatch",
                format!(
                    "the final checkpoint has size {}, the export {size} entries",
                    cp.size
                ),
            );
            self.checks
                .not_made(CheckId::MerkleRoot, "not compared: the sizes differ");
            return;
        }
        self.checks.detail(
            CheckId::FinalCheckpoint,
            format!("size {size}, signed by the board key"),
        );
        self.witness_quorum(&note);
        if cp.root == self.tree.root() {
            self.checks.detail(
                CheckId::MerkleRoot,
                format!(
                    "root {} over {}",
                    hex::encode(cp.root),
                    count(size, "entry", "entries")
                ),
            );
            self.final_checkpoint = Some(cp);
            self.verified_note = Some(note);
        } else {
            self.checks.fail(
                CheckId::MerkleRoot,
                None,
                "root_mismatch",
                "the root over the export's entries is not the final checkpoint's",
            );
        }
    }
}

fn export_code(e: &urne_crypto::export::ExportError) -> &'static str {
    use urne_crypto::export::ExportError as E;
    match e {
        E::Io(_) => "io",
        E::Magic => "bad_magic",
        E::Truncated => "truncated",
        E::Tag(_) => "unknown_record",
        E::TooLarge(_) => "record_too_large",
        E::Utf8 => "not_utf8",
    }
}

/// The note verifier key string of the board key `public_key` under `name`
/// (C2SP signed-note: `name+hex(key id)+base64(0x01 ‖ key)`).
pub(crate) fn vkey_string(name: &str, public_key: &[u8; 32]) -> String {
    use base64ct::{Base64, Encoding};
    let mut raw = [0u8; 33];
    raw[0] = urne_crypto::checkpoint::ED25519_SIGNATURE_TYPE;
    raw[1..].copy_from_slice(public_key);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, public_key)),
        Base64::encode_string(&raw)
    )
}

fn constituency_results(r: &Record) -> Vec<ConstituencyResult> {
    r.manifest()
        .constituencies
        .iter()
        .map(|c| {
            let (issuances, ballots_counted) = r.counts(&c.id).unwrap_or((0, 0));
            let tally = r.tally(&c.id);
            let seats = r.seat_result(&c.id);
            let explained = seats.and_then(|_| r.explain_seats(&c.id).ok());
            let member = |d: &DrawnSeat| DrawnMember {
                id: d.id.clone(),
                category: d.category.clone(),
                order: d.order,
            };
            ConstituencyResult {
                id: c.id.clone(),
                name: c.name.clone(),
                seats: c.rules.seats,
                lottery_seats: c.rules.lottery_seats,
                quotas: c
                    .rules
                    .quotas
                    .iter()
                    .map(|q| QuotaRule {
                        category: q.category.clone(),
                        min: q.min,
                        max: q.max,
                    })
                    .collect(),
                parity: c.rules.parity.to_string(),
                issuances,
                issued_while_open: r.issued_while_open(&c.id).unwrap_or(0),
                ballots_counted,
                tally: tally.map(|t| {
                    c.candidates
                        .iter()
                        .zip(&t.counts)
                        .map(|(k, v)| CandidateVotes {
                            candidate: k.id.clone(),
                            category: k.category.clone(),
                            votes: *v,
                        })
                        .collect()
                }),
                trustees: tally.map(|t| t.trustees.clone()),
                elected: seats.map(|s| {
                    s.elected
                        .iter()
                        .map(|e| ElectedMember {
                            id: e.id.clone(),
                            category: e.category.clone(),
                            votes: e.votes,
                            rank: e.rank,
                        })
                        .collect()
                }),
                drawn: seats.map(|s| s.drawn.iter().map(member).collect()),
                ties: match (&explained, seats) {
                    (Some(x), Some(s)) => Some(tie_groups(&x.ties, &s.elected)),
                    _ => None,
                },
                draw_steps: explained
                    .as_ref()
                    .map(|x| x.steps.iter().map(draw_step).collect()),
                replacements: explained
                    .as_ref()
                    .map(|x| x.replacements.iter().map(member).collect()),
            }
        })
        .collect()
}

/// The report's ties: each group, marked decisive when it holds elected and
/// not elected candidates.
fn tie_groups(ties: &[Tie], elected: &[ElectedSeat]) -> Vec<TieGroup> {
    ties.iter()
        .map(|t| {
            let won = t
                .candidates
                .iter()
                .filter(|(id, _)| elected.iter().any(|e| &e.id == id))
                .count();
            TieGroup {
                votes: t.votes,
                decisive: won > 0 && won < t.candidates.len(),
                candidates: t
                    .candidates
                    .iter()
                    .map(|(id, h)| TiedCandidate {
                        id: id.clone(),
                        tie_hash: hex::encode(h),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The report's form of one draw.
fn draw_step(s: &DrawStep) -> DrawStepInfo {
    let (stage, minimum_of) = match &s.stage {
        DrawStage::Minimum { category } => ("minimum", Some(category.clone())),
        DrawStage::Open => ("open", None),
        DrawStage::Replacement => ("replacement", None),
    };
    DrawStepInfo {
        order: s.order,
        stage: stage.into(),
        minimum_of,
        eligible: s.eligible,
        index: s.index,
        id: s.id.clone(),
        category: s.category.clone(),
    }
}
