//! An election's results as people read them, computed from the replayed
//! record: every candidate's approvals per constituency, who was elected and
//! who was drawn, how equal counts were ordered, who was passed over for the
//! quotas or the parity rule, the replacement order and the parity outcome.
//!
//! Every figure comes from verified board entries (the tally, the seat
//! result) and the rules of §7 of the spec; nothing is taken from the service.

use std::collections::BTreeSet;

use serde::Serialize;

use urne_crypto::manifest::Constituency;
use urne_crypto::record::Record;
use urne_crypto::seats::{rank_candidates, tie_hash, Candidate};

/// The results of every constituency of an election.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Election id, hex.
    pub election: String,
    /// Election title.
    pub title: String,
    /// Phase of the board (`setup`, `open`, `closed`, `seated`).
    pub phase: String,
    /// Per constituency, in manifest order.
    pub constituencies: Vec<ConstituencyResults>,
}

/// How far a constituency's count has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// No tally yet.
    Pending,
    /// Tally published, seats not yet allocated and drawn.
    Tallied,
    /// Seat result published.
    Seated,
}

/// One constituency's results.
#[derive(Debug, Clone, Serialize)]
pub struct ConstituencyResults {
    /// Constituency id.
    pub id: String,
    /// Constituency name.
    pub name: String,
    /// Total seats.
    pub seats: u32,
    /// Seats by vote.
    pub seats_by_vote: u32,
    /// Seats by lot.
    pub seats_by_lot: u32,
    /// How far the count has come.
    pub stage: Stage,
    /// Ballots counted (once tallied).
    pub ballots: Option<u64>,
    /// Every candidate: in the order of the ranking (§7.4) once the tie seed
    /// is known, else by approvals then manifest order.
    pub candidates: Vec<CandidateResult>,
    /// Pool members drawn by lot, in draw order.
    pub drawn: Vec<DrawnResult>,
    /// Seats per category in the assembly against the quotas (once seated).
    pub parity: Vec<CategoryOutcome>,
}

/// What became of a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Elected, with its seat number (order of election, from 1).
    Elected {
        /// Seat number.
        seat: u32,
    },
    /// Not elected; `order` is the place in the replacement list (from 1).
    NextInLine {
        /// Place in the replacement list.
        order: u32,
        /// Ranked above an elected candidate but passed over so that the
        /// quotas or the parity rule hold.
        passed_over: bool,
    },
    /// Seats not allocated yet.
    Pending,
}

/// One candidate's line.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateResult {
    /// Place in the ranking, from 1.
    pub place: u32,
    /// Pseudonym.
    pub id: String,
    /// Category.
    pub category: String,
    /// Approvals (once tallied).
    pub votes: Option<u64>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Other candidates with the same approvals (ordered by tie hash).
    pub tied_with: Vec<String>,
    /// The tie hash that orders equal counts (hex; lower first), when tied
    /// and the tie seed is known.
    pub tie_hash: Option<String>,
}

/// A seat drawn by lot.
#[derive(Debug, Clone, Serialize)]
pub struct DrawnResult {
    /// Order in the draw, from 1.
    pub order: u32,
    /// Pseudonym of the pool member.
    pub id: String,
    /// Category.
    pub category: String,
}

/// Seats of one category in the assembly.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryOutcome {
    /// The category.
    pub category: String,
    /// Seats won by vote.
    pub elected: u32,
    /// Seats drawn by lot.
    pub drawn: u32,
    /// The category's minimum (0 without a quota).
    pub min: u32,
    /// The category's effective maximum (quota and parity cap).
    pub max: u32,
    /// Whether `min ≤ elected + drawn ≤ max`.
    pub met: bool,
}

impl Results {
    /// The results of the election `record` holds.
    pub fn of(record: &Record) -> Self {
        let manifest = record.manifest();
        Results {
            election: hex::encode(manifest.election_id()),
            title: manifest.title.clone(),
            phase: record.phase().name().to_string(),
            constituencies: manifest
                .constituencies
                .iter()
                .map(|c| ConstituencyResults::of(record, c))
                .collect(),
        }
    }

    /// True once some constituency has its tally: before that there is
    /// nothing to show.
    pub fn any_tallied(&self) -> bool {
        self.constituencies
            .iter()
            .any(|c| c.stage != Stage::Pending)
    }
}

impl ConstituencyResults {
    fn of(record: &Record, c: &Constituency) -> Self {
        let tally = record.tally(&c.id);
        let seated = record.seat_result(&c.id);
        let stage = match (tally, seated) {
            (_, Some(_)) => Stage::Seated,
            (Some(_), None) => Stage::Tallied,
            (None, None) => Stage::Pending,
        };
        let standing: Vec<Candidate> = c
            .candidates
            .iter()
            .enumerate()
            .map(|(i, k)| Candidate {
                id: k.id.clone(),
                category: k.category.clone(),
                votes: tally.and_then(|t| t.counts.get(i)).copied().unwrap_or(0),
            })
            .collect();
        let tie_seed = record.tie_seed();
        let ranked: Vec<&Candidate> = match &tie_seed {
            Some(seed) => rank_candidates(&standing, seed),
            None => {
                // Without the tie seed: by approvals, then manifest order.
                let mut r: Vec<&Candidate> = standing.iter().collect();
                r.sort_by_key(|k| std::cmp::Reverse(k.votes));
                r
            }
        };
        let elected = seated.map(|s| &s.elected[..]).unwrap_or_default();
        let last_elected_place = ranked
            .iter()
            .rposition(|k| elected.iter().any(|e| e.id == k.id));
        let mut next = 0u32;
        let candidates = ranked
            .iter()
            .enumerate()
            .map(|(place, k)| {
                let outcome = if seated.is_none() {
                    Outcome::Pending
                } else if let Some(e) = elected.iter().find(|e| e.id == k.id) {
                    Outcome::Elected { seat: e.rank }
                } else {
                    next += 1;
                    Outcome::NextInLine {
                        order: next,
                        passed_over: last_elected_place.is_some_and(|last| place < last),
                    }
                };
                let tied_with: Vec<String> = if tally.is_some() {
                    ranked
                        .iter()
                        .filter(|o| o.votes == k.votes && o.id != k.id)
                        .map(|o| o.id.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                let tie_hash = match (&tie_seed, tied_with.is_empty()) {
                    (Some(seed), false) => Some(hex::encode(tie_hash(seed, &k.id))),
                    _ => None,
                };
                CandidateResult {
                    place: place as u32 + 1,
                    id: k.id.clone(),
                    category: k.category.clone(),
                    votes: tally.map(|_| k.votes),
                    outcome,
                    tied_with,
                    tie_hash,
                }
            })
            .collect();
        let drawn: Vec<DrawnResult> = seated
            .map(|s| {
                s.drawn
                    .iter()
                    .map(|d| DrawnResult {
                        order: d.order,
                        id: d.id.clone(),
                        category: d.category.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let parity = match seated {
            None => Vec::new(),
            Some(s) => {
                let mut categories: BTreeSet<&str> =
                    c.rules.quotas.iter().map(|q| q.category.as_str()).collect();
                categories.extend(s.elected.iter().map(|e| e.category.as_str()));
                categories.extend(s.drawn.iter().map(|d| d.category.as_str()));
                categories
                    .into_iter()
                    .map(|category| {
                        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                        let elected =
                            count(s.elected.iter().filter(|e| e.category == category).count());
                        let drawn =
                            count(s.drawn.iter().filter(|d| d.category == category).count());
                        let (min, max) = (c.rules.min_for(category), c.rules.max_for(category));
                        let total = elected.saturating_add(drawn);
                        CategoryOutcome {
                            category: category.to_string(),
                            elected,
                            drawn,
                            min,
                            max,
                            met: min <= total && total <= max,
                        }
                    })
                    .collect()
            }
        };
        ConstituencyResults {
            id: c.id.clone(),
            name: c.name.clone(),
            seats: c.rules.seats,
            seats_by_vote: c.rules.elected_seats(),
            seats_by_lot: c.rules.lottery_seats,
            stage,
            ballots: tally.map(|t| t.ballots),
            candidates,
            drawn,
            parity,
        }
    }
}
