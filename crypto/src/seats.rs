//! Seats by vote: who takes a constituency's elected seats, under category quotas.
//!
//! A constituency has `seats` seats, of which `lottery_seats` are drawn by lot
//! ([`crate::lottery`]) and the rest are *elected*: they go to candidates by
//! approval count, subject to per-category quotas and a parity rule. The
//! algorithm is fully deterministic; `specs/protocol.md` §7 is normative.
//!
//! The quotas are constraints on the whole assembly of the constituency
//! (elected + drawn). The vote part never exceeds a category's maximum, and it
//! never takes a seat that would leave the unmet minimums more seats than are
//! still unfilled; minimums the vote does not reach are left to the lottery.

use std::collections::{BTreeMap, BTreeSet};

use minicbor::{Decode, Encode};
use thiserror::Error;

use crate::hash::tagged;

/// Label of the tie-break hash `TaggedHash(label, tie_seed, candidate id)`.
pub const TIE_BREAK_LABEL: &str = "urne/v1/seats/tie-break";

/// Minimum and maximum number of a constituency's seats held by one category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct CategoryQuota {
    /// The category (e.g. a gender), compared as exact UTF-8 bytes.
    #[n(0)]
    pub category: String,
    /// Fewest seats the category must hold in the assembly (elected + drawn).
    #[n(1)]
    pub min: u32,
    /// Most seats the category may hold in the assembly (elected + drawn).
    #[n(2)]
    pub max: u32,
}

/// The parity rule applied on top of the quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(flat)]
pub enum ParityRule {
    /// Quotas only.
    #[n(0)]
    None,
    /// No category (listed in the quotas or not) holds more than
    /// `⌈percent · seats / 100⌉` seats of the constituency.
    #[n(1)]
    MaxShare {
        /// Largest share of the seats, in percent (1..=100).
        #[n(0)]
        percent: u32,
    },
    /// Zipper: each elected seat (in rank order) goes to a category different
    /// from the previous elected seat's while an admissible candidate of a
    /// different category remains.
    #[n(2)]
    Alternating,
}

impl std::fmt::Display for ParityRule {
    /// The rule's name in reports: `none`, `max-share <percent>` or `alternating`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParityRule::None => f.write_str("none"),
            ParityRule::MaxShare { percent } => write!(f, "max-share {percent}"),
            ParityRule::Alternating => f.write_str("alternating"),
        }
    }
}

/// A constituency's seat rules, fixed by the election manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct SeatRules {
    /// Total seats of the constituency.
    #[n(0)]
    pub seats: u32,
    /// Seats drawn by lot; the other `seats − lottery_seats` are elected.
    #[n(1)]
    pub lottery_seats: u32,
    /// Per-category quotas; categories are unique, in any order.
    #[n(2)]
    pub quotas: Vec<CategoryQuota>,
    /// The parity rule.
    #[n(3)]
    pub parity: ParityRule,
}

/// A candidate of the constituency with the approval count of the tally.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct Candidate {
    /// The candidate's pseudonym (unique in the constituency).
    #[n(0)]
    pub id: String,
    /// The candidate's category.
    #[n(1)]
    pub category: String,
    /// Number of ballots approving the candidate.
    #[n(2)]
    pub votes: u64,
}

/// A seat won by vote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct ElectedSeat {
    /// The elected candidate's pseudonym.
    #[n(0)]
    pub id: String,
    /// The elected candidate's category.
    #[n(1)]
    pub category: String,
    /// The candidate's approval count.
    #[n(2)]
    pub votes: u64,
    /// Position in the order of election, from 1.
    #[n(3)]
    pub rank: u32,
}

/// Why seat rules, a candidate list or an assembly were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SeatError {
    /// A constituency must have at least one seat.
    #[error("the constituency has no seats")]
    ZeroSeats,
    /// More lottery seats than seats.
    #[error("{lottery_seats} lottery seats exceed the {seats} seats")]
    LotteryExceedsSeats {
        /// Lottery seats of the rules.
        lottery_seats: u32,
        /// Total seats of the rules.
        seats: u32,
    },
    /// A quota names the empty category.
    #[error("a quota names an empty category")]
    EmptyCategory,
    /// Two quotas name the same category.
    #[error("category {category:?} has two quotas")]
    DuplicateQuota {
        /// The repeated category.
        category: String,
    },
    /// A quota's minimum is above its maximum.
    #[error("category {category:?}: minimum {min} is above maximum {max}")]
    MinAboveMax {
        /// The category.
        category: String,
        /// Its minimum.
        min: u32,
        /// Its maximum.
        max: u32,
    },
    /// `MaxShare` with a percentage outside 1..=100.
    #[error("maximum share of {percent}% is not in 1..=100")]
    InvalidShare {
        /// The rejected percentage.
        percent: u32,
    },
    /// A minimum above the cap the maximum share puts on every category.
    #[error("category {category:?}: minimum {min} is above the maximum share of {cap} seats")]
    ShareBelowMin {
        /// The category.
        category: String,
        /// Its minimum.
        min: u32,
        /// `⌈percent · seats / 100⌉`.
        cap: u32,
    },
    /// The minimums together need more seats than there are.
    #[error("the category minimums add up to {total}, more than the {seats} seats")]
    MinimumsExceedSeats {
        /// Sum of the minimums.
        total: u64,
        /// Seats of the constituency.
        seats: u32,
    },
    /// The lottery pool cannot meet a category's minimum on its own.
    #[error(
        "category {category:?} needs {min} seats but the lottery pool has only {pool} members of it \
         ({candidates} candidates; the pool must meet every minimum in case the vote elects none)"
    )]
    ShortOfMembers {
        /// The category.
        category: String,
        /// Its minimum.
        min: u32,
        /// Candidates of the category.
        candidates: u64,
        /// Pool members of the category.
        pool: u64,
    },
    /// The pool cannot fill every seat without breaking some maximum.
    #[error(
        "the pool can fill at most {capacity} of the {seats} seats within the category maximums"
    )]
    InsufficientCapacity {
        /// Seats of the constituency.
        seats: u32,
        /// `Σ_c min(pool members of c, max of c)`.
        capacity: u64,
    },
    /// Two candidates share a pseudonym.
    #[error("candidate {id:?} appears twice")]
    DuplicateCandidate {
        /// The repeated pseudonym.
        id: String,
    },
    /// An assembly does not have exactly the constituency's number of seats.
    #[error("the assembly has {filled} members for {seats} seats")]
    WrongSize {
        /// Members of the assembly.
        filled: u64,
        /// Seats of the constituency.
        seats: u32,
    },
    /// An assembly breaks a category's minimum or maximum.
    #[error("category {category:?} holds {count} seats, outside {min}..={max}")]
    QuotaViolated {
        /// The category.
        category: String,
        /// Seats it holds.
        count: u64,
        /// Its minimum.
        min: u32,
        /// Its (effective) maximum.
        max: u32,
    },
}

impl SeatRules {
    /// Seats filled by vote: `seats − lottery_seats` (0 if the rules are invalid).
    pub fn elected_seats(&self) -> u32 {
        self.seats.saturating_sub(self.lottery_seats)
    }

    /// `⌈percent · seats / 100⌉` under `MaxShare`, otherwise `seats`.
    pub fn share_cap(&self) -> u32 {
        match self.parity {
            ParityRule::MaxShare { percent } => {
                let cap = (u64::from(percent) * u64::from(self.seats)).div_ceil(100);
                u32::try_from(cap.min(u64::from(self.seats))).unwrap_or(self.seats)
            }
            ParityRule::None | ParityRule::Alternating => self.seats,
        }
    }

    /// The minimum of `category` (0 for a category without a quota).
    pub fn min_for(&self, category: &str) -> u32 {
        self.quotas
            .iter()
            .find(|q| q.category == category)
            .map_or(0, |q| q.min)
    }

    /// The effective maximum of `category`: its quota maximum (or `seats`
    /// without a quota), capped by [`SeatRules::share_cap`].
    pub fn max_for(&self, category: &str) -> u32 {
        let quota = self
            .quotas
            .iter()
            .find(|q| q.category == category)
            .map_or(self.seats, |q| q.max);
        quota.min(self.share_cap())
    }

    /// Checks the rules on their own (no candidates, no pool): every check of
    /// [`check_feasible`] that does not depend on who stands.
    pub fn validate(&self) -> Result<(), SeatError> {
        if self.seats == 0 {
            return Err(SeatError::ZeroSeats);
        }
        if self.lottery_seats > self.seats {
            return Err(SeatError::LotteryExceedsSeats {
                lottery_seats: self.lottery_seats,
                seats: self.seats,
            });
        }
        if let ParityRule::MaxShare { percent } = self.parity {
            if percent == 0 || percent > 100 {
                return Err(SeatError::InvalidShare { percent });
            }
        }
        let cap = self.share_cap();
        let mut seen = BTreeSet::new();
        let mut total = 0u64;
        for q in &self.quotas {
            if q.category.is_empty() {
                return Err(SeatError::EmptyCategory);
            }
            if !seen.insert(q.category.as_str()) {
                return Err(SeatError::DuplicateQuota {
                    category: q.category.clone(),
                });
            }
            if q.min > q.max {
                return Err(SeatError::MinAboveMax {
                    category: q.category.clone(),
                    min: q.min,
                    max: q.max,
                });
            }
            if q.min > cap {
                return Err(SeatError::ShareBelowMin {
                    category: q.category.clone(),
                    min: q.min,
                    cap,
                });
            }
            total += u64::from(q.min);
        }
        if total > u64::from(self.seats) {
            return Err(SeatError::MinimumsExceedSeats {
                total,
                seats: self.seats,
            });
        }
        Ok(())
    }

    /// Checks that a complete assembly (the categories of all its members,
    /// elected and drawn) has exactly `seats` members and meets every quota.
    pub fn check_assembly(&self, categories: &[&str]) -> Result<(), SeatError> {
        if categories.len() as u64 != u64::from(self.seats) {
            return Err(SeatError::WrongSize {
                filled: categories.len() as u64,
                seats: self.seats,
            });
        }
        let counts = count_categories(categories.iter().copied());
        let named = self.quotas.iter().map(|q| q.category.as_str());
        let all: BTreeSet<&str> = counts.keys().copied().chain(named).collect();
        for c in all {
            let count = counts.get(c).copied().unwrap_or(0);
            let (min, max) = (self.min_for(c), self.max_for(c));
            if count < u64::from(min) || count > u64::from(max) {
                return Err(SeatError::QuotaViolated {
                    category: c.to_owned(),
                    count,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }

    /// Sum over the quota categories of the seats still missing to reach
    /// their minimums, given the seats each category already holds.
    pub(crate) fn unmet_minimums(&self, counts: &BTreeMap<&str, u64>) -> u64 {
        self.quotas
            .iter()
            .map(|q| {
                u64::from(q.min)
                    .saturating_sub(counts.get(q.category.as_str()).copied().unwrap_or(0))
            })
            .sum()
    }

    /// Whether one more seat for `category` keeps the assembly completable:
    /// the category stays within its maximum, and the minimums still unmet
    /// afterwards fit in the seats still unfilled afterwards (`seats − filled − 1`).
    pub(crate) fn admits(&self, counts: &BTreeMap<&str, u64>, filled: u64, category: &str) -> bool {
        let held = counts.get(category).copied().unwrap_or(0);
        if held >= u64::from(self.max_for(category)) || filled >= u64::from(self.seats) {
            return false;
        }
        let relieved = u64::from(held < u64::from(self.min_for(category)));
        // unmet afterwards ≤ seats unfilled afterwards (seats − filled − 1).
        self.unmet_minimums(counts) - relieved < u64::from(self.seats) - filled
    }
}

pub(crate) fn count_categories<'a>(cats: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, u64> {
    let mut m = BTreeMap::new();
    for c in cats {
        *m.entry(c).or_insert(0) += 1;
    }
    m
}

/// Refuses seat rules that no election outcome could satisfy; called when a
/// manifest is created.
///
/// Beyond [`SeatRules::validate`], the lottery pool must be able to complete
/// the assembly whatever the vote: it must hold at least `min` members of
/// every quota category (the vote may elect none of them), and
/// `Σ_c min(pool members of c, max_for(c)) ≥ seats` (the pool can fill every
/// seat within the maximums). Candidate categories only sharpen the error.
/// Together these guarantee that [`allocate`] followed by
/// [`crate::lottery::draw`] succeeds for every tally.
pub fn check_feasible(
    rules: &SeatRules,
    candidate_categories: &[&str],
    pool_categories: &[&str],
) -> Result<(), SeatError> {
    let pool = count_categories(pool_categories.iter().copied());
    let candidates = count_categories(candidate_categories.iter().copied());
    check_feasible_counts(rules, &candidates, &pool)
}

/// [`check_feasible`] over the number of candidates and pool members of each
/// category.
pub fn check_feasible_counts(
    rules: &SeatRules,
    candidates: &BTreeMap<&str, u64>,
    pool: &BTreeMap<&str, u64>,
) -> Result<(), SeatError> {
    rules.validate()?;
    for q in &rules.quotas {
        let in_pool = pool.get(q.category.as_str()).copied().unwrap_or(0);
        if in_pool < u64::from(q.min) {
            return Err(SeatError::ShortOfMembers {
                category: q.category.clone(),
                min: q.min,
                candidates: candidates.get(q.category.as_str()).copied().unwrap_or(0),
                pool: in_pool,
            });
        }
    }
    let capacity: u64 = pool
        .iter()
        .map(|(c, n)| (*n).min(u64::from(rules.max_for(c))))
        .sum();
    if capacity < u64::from(rules.seats) {
        return Err(SeatError::InsufficientCapacity {
            seats: rules.seats,
            capacity,
        });
    }
    Ok(())
}

/// The tie-break hash of a candidate: `TaggedHash("urne/v1/seats/tie-break", tie_seed, id)`.
pub fn tie_hash(tie_seed: &[u8; 32], id: &str) -> [u8; 32] {
    tagged(TIE_BREAK_LABEL, &[tie_seed, id.as_bytes()])
}

/// Ranks candidates: more votes first; equal votes by ascending tie hash
/// (bytewise); equal hashes (impossible for distinct ids short of a SHA-256
/// collision) by ascending id bytes.
pub fn rank_candidates<'a>(candidates: &'a [Candidate], tie_seed: &[u8; 32]) -> Vec<&'a Candidate> {
    let mut keyed: Vec<(&Candidate, [u8; 32])> = candidates
        .iter()
        .map(|c| (c, tie_hash(tie_seed, &c.id)))
        .collect();
    keyed.sort_by(|(a, ha), (b, hb)| {
        b.votes
            .cmp(&a.votes)
            .then_with(|| ha.cmp(hb))
            .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
    });
    keyed.into_iter().map(|(c, _)| c).collect()
}

/// Candidates with equal votes, in the order the tie hash ranks them
/// ([`rank_candidates`]), so that a person can see how a tie was broken.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tie {
    /// The votes every candidate of the tie has.
    pub votes: u64,
    /// The tied candidates' ids with their tie hashes, best-ranked first.
    pub candidates: Vec<(String, [u8; 32])>,
}

/// Every group of two or more candidates with equal votes, by descending
/// votes, each in ranking order.
pub fn ties(candidates: &[Candidate], tie_seed: &[u8; 32]) -> Vec<Tie> {
    let mut out: Vec<Tie> = Vec::new();
    let ranked = rank_candidates(candidates, tie_seed);
    for group in ranked.chunk_by(|a, b| a.votes == b.votes) {
        if let [first, _, ..] = group {
            out.push(Tie {
                votes: first.votes,
                candidates: group
                    .iter()
                    .map(|c| (c.id.clone(), tie_hash(tie_seed, &c.id)))
                    .collect(),
            });
        }
    }
    out
}

/// Allocates the elected seats (`seats − lottery_seats`) by approval count
/// under the quotas; `tie_seed` is the public lottery seed.
///
/// Walking the ranked list ([`rank_candidates`]), each seat goes to the
/// best-ranked candidate not yet elected whose category is *admissible*:
/// below its maximum, and such that the minimums still unmet afterwards fit in
/// the seats still unfilled afterwards (so a higher-ranked candidate of a
/// category that already has its minimum is skipped when the lottery could
/// no longer make up the others). Under `Alternating`, a candidate of a
/// category different from the previous seat's is preferred while one is
/// admissible. When no candidate is admissible the remaining elected seats
/// stay unfilled and pass to the lottery. Candidates with zero votes are
/// eligible (they rank last, by tie hash).
pub fn allocate(
    rules: &SeatRules,
    candidates: &[Candidate],
    tie_seed: &[u8; 32],
) -> Result<Vec<ElectedSeat>, SeatError> {
    rules.validate()?;
    let mut ids = BTreeSet::new();
    for c in candidates {
        if !ids.insert(c.id.as_str()) {
            return Err(SeatError::DuplicateCandidate { id: c.id.clone() });
        }
    }
    let ranked = rank_candidates(candidates, tie_seed);
    let mut taken = vec![false; ranked.len()];
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut elected: Vec<ElectedSeat> = Vec::new();
    let to_fill = rules.elected_seats() as usize;
    while elected.len() < to_fill {
        let filled = elected.len() as u64;
        let admissible = |i: usize| !taken[i] && rules.admits(&counts, filled, &ranked[i].category);
        let previous = match rules.parity {
            ParityRule::Alternating => elected.last().map(|s| s.category.as_str()),
            _ => None,
        };
        let pick = previous
            .and_then(|p| (0..ranked.len()).find(|&i| admissible(i) && ranked[i].category != p))
            .or_else(|| (0..ranked.len()).find(|&i| admissible(i)));
        let Some(i) = pick else { break };
        taken[i] = true;
        let c = ranked[i];
        *counts.entry(c.category.as_str()).or_insert(0) += 1;
        elected.push(ElectedSeat {
            id: c.id.clone(),
            category: c.category.clone(),
            votes: c.votes,
            rank: elected.len() as u32 + 1,
        });
    }
    Ok(elected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(category: &str, min: u32, max: u32) -> CategoryQuota {
        CategoryQuota {
            category: category.into(),
            min,
            max,
        }
    }

    fn rules(
        seats: u32,
        lottery_seats: u32,
        quotas: Vec<CategoryQuota>,
        parity: ParityRule,
    ) -> SeatRules {
        SeatRules {
            seats,
            lottery_seats,
            quotas,
            parity,
        }
    }

    fn cand(id: &str, category: &str, votes: u64) -> Candidate {
        Candidate {
            id: id.into(),
            category: category.into(),
            votes,
        }
    }

    fn ids(seats: &[ElectedSeat]) -> Vec<&str> {
        seats.iter().map(|s| s.id.as_str()).collect()
    }

    const SEED: [u8; 32] = [7; 32];

    fn parity(seats: u32, lottery: u32, half: u32) -> SeatRules {
        rules(
            seats,
            lottery,
            vec![quota("F", half, half), quota("M", half, half)],
            ParityRule::None,
        )
    }

    #[test]
    fn elects_by_votes_within_maximums() {
        let r = parity(6, 2, 3);
        let c = [
            cand("m1", "M", 100),
            cand("m2", "M", 90),
            cand("m3", "M", 80),
            cand("m4", "M", 70),
            cand("f1", "F", 60),
            cand("f2", "F", 50),
        ];
        let e = allocate(&r, &c, &SEED).unwrap();
        assert_eq!(ids(&e), ["m1", "m2", "m3", "f1"]);
        assert_eq!(
            e.iter().map(|s| s.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "ranks follow the order of election"
        );
        assert_eq!(e[3].votes, 60);
        assert_eq!(e[3].category, "F");
    }

    #[test]
    fn quotas_force_skipping_higher_ranked_candidates() {
        // 4 seats, 1 by lot: F needs 2. After m1, m2 the unmet F minimum (2)
        // needs both unfilled seats, so m3 and m4 are skipped for f1.
        let r = rules(
            4,
            1,
            vec![quota("F", 2, 4), quota("M", 1, 4)],
            ParityRule::None,
        );
        let c = [
            cand("m1", "M", 50),
            cand("m2", "M", 40),
            cand("m3", "M", 30),
            cand("m4", "M", 20),
            cand("f1", "F", 1),
        ];
        assert_eq!(ids(&allocate(&r, &c, &SEED).unwrap()), ["m1", "m2", "f1"]);
    }

    #[test]
    fn fewer_candidates_than_seats_leaves_seats_to_the_lottery() {
        let r = rules(5, 1, vec![], ParityRule::None);
        let c = [cand("a", "F", 3), cand("b", "M", 0)];
        let e = allocate(&r, &c, &SEED).unwrap();
        assert_eq!(ids(&e), ["a", "b"]);
        assert!(allocate(&r, &[], &SEED).unwrap().is_empty());
    }

    #[test]
    fn a_category_without_candidates_is_left_to_the_lottery() {
        // F needs 2 of 5 seats, only M stand: the vote may take 3 seats, the
        // last elected seat stays unfilled (the lottery will draw 2 F).
        let r = rules(5, 1, vec![quota("F", 2, 5)], ParityRule::None);
        let c: Vec<_> = (0..6)
            .map(|i| cand(&format!("m{i}"), "M", 10 - i))
            .collect();
        assert_eq!(ids(&allocate(&r, &c, &SEED).unwrap()), ["m0", "m1", "m2"]);
    }

    #[test]
    fn ties_break_by_ascending_tie_hash() {
        let r = rules(6, 2, vec![], ParityRule::None);
        let c: Vec<_> = (0..10).map(|i| cand(&format!("c{i}"), "X", 5)).collect();
        let e = allocate(&r, &c, &SEED).unwrap();
        let mut by_hash: Vec<&Candidate> = c.iter().collect();
        by_hash.sort_by_key(|c| tie_hash(&SEED, &c.id));
        assert_eq!(
            ids(&e),
            by_hash[..4]
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
        );
        // Another seed, another order; a vote difference beats any hash.
        assert_ne!(ids(&allocate(&r, &c, &[8; 32]).unwrap()), ids(&e));
        let mut c2 = c.clone();
        let last = by_hash[9].id.clone();
        c2.iter_mut().find(|x| x.id == last).unwrap().votes = 6;
        assert_eq!(allocate(&r, &c2, &SEED).unwrap()[0].id, last);
    }

    #[test]
    fn zero_ballots_elects_by_tie_hash_alone() {
        let r = parity(4, 1, 2);
        let c: Vec<_> = (0..8)
            .map(|i| cand(&format!("c{i}"), if i % 2 == 0 { "F" } else { "M" }, 0))
            .collect();
        let e = allocate(&r, &c, &SEED).unwrap();
        assert_eq!(e.len(), 3);
        let ranked = rank_candidates(&c, &SEED);
        // Quotas still hold: at most 2 of each category among the 3.
        let cats = count_categories(e.iter().map(|s| s.category.as_str()));
        assert!(cats.values().all(|&n| n <= 2));
        assert_eq!(e[0].id, ranked[0].id);
    }

    #[test]
    fn alternating_zipper_and_exhausted_category() {
        let r = rules(4, 0, vec![], ParityRule::Alternating);
        let c = [
            cand("m1", "M", 100),
            cand("m2", "M", 90),
            cand("f1", "F", 80),
            cand("f2", "F", 70),
            cand("m3", "M", 60),
        ];
        assert_eq!(
            ids(&allocate(&r, &c, &SEED).unwrap()),
            ["m1", "f1", "m2", "f2"]
        );
        // Only one F: after it the M candidates follow one another.
        let c = [
            cand("m1", "M", 100),
            cand("m2", "M", 90),
            cand("m3", "M", 80),
            cand("f1", "F", 10),
        ];
        assert_eq!(
            ids(&allocate(&r, &c, &SEED).unwrap()),
            ["m1", "f1", "m2", "m3"]
        );
        // Without the rule, votes alone decide.
        let plain = rules(4, 0, vec![], ParityRule::None);
        assert_eq!(
            ids(&allocate(&plain, &c, &SEED).unwrap()),
            ["m1", "m2", "m3", "f1"]
        );
    }

    #[test]
    fn alternating_with_three_categories_avoids_repeats() {
        let r = rules(5, 0, vec![], ParityRule::Alternating);
        let c = [
            cand("a1", "A", 100),
            cand("a2", "A", 99),
            cand("b1", "B", 50),
            cand("c1", "C", 40),
            cand("a3", "A", 30),
            cand("b2", "B", 20),
        ];
        // Each seat differs from the previous one in category.
        assert_eq!(
            ids(&allocate(&r, &c, &SEED).unwrap()),
            ["a1", "b1", "a2", "c1", "a3"]
        );
    }

    #[test]
    fn max_share_caps_every_category() {
        let r = rules(4, 0, vec![], ParityRule::MaxShare { percent: 50 });
        assert_eq!(r.share_cap(), 2);
        assert_eq!(
            rules(7, 0, vec![], ParityRule::MaxShare { percent: 50 }).share_cap(),
            4
        );
        let c = [
            cand("m1", "M", 10),
            cand("m2", "M", 9),
            cand("m3", "M", 8),
            cand("x1", "X", 1),
            cand("f1", "F", 0),
        ];
        assert_eq!(
            ids(&allocate(&r, &c, &SEED).unwrap()),
            ["m1", "m2", "x1", "f1"]
        );
    }

    #[test]
    fn result_ignores_candidate_order_and_rejects_duplicates() {
        let r = parity(6, 2, 3);
        let mut c: Vec<_> = (0..12)
            .map(|i| {
                cand(
                    &format!("c{i}"),
                    if i % 3 == 0 { "F" } else { "M" },
                    (i % 4) as u64,
                )
            })
            .collect();
        let e = allocate(&r, &c, &SEED).unwrap();
        c.reverse();
        assert_eq!(allocate(&r, &c, &SEED).unwrap(), e);
        c.push(cand("c3", "F", 1));
        assert_eq!(
            allocate(&r, &c, &SEED),
            Err(SeatError::DuplicateCandidate { id: "c3".into() })
        );
    }

    #[test]
    fn infeasible_rules_are_refused_with_the_specific_error() {
        let pool = ["F", "F", "F", "M", "M", "M"];
        let ok = parity(4, 1, 2);
        assert_eq!(check_feasible(&ok, &["F", "M"], &pool), Ok(()));
        let cases = [
            (rules(0, 0, vec![], ParityRule::None), SeatError::ZeroSeats),
            (
                rules(3, 4, vec![], ParityRule::None),
                SeatError::LotteryExceedsSeats {
                    lottery_seats: 4,
                    seats: 3,
                },
            ),
            (
                rules(3, 1, vec![quota("", 0, 1)], ParityRule::None),
                SeatError::EmptyCategory,
            ),
            (
                rules(
                    3,
                    1,
                    vec![quota("F", 0, 1), quota("F", 1, 2)],
                    ParityRule::None,
                ),
                SeatError::DuplicateQuota {
                    category: "F".into(),
                },
            ),
            (
                rules(3, 1, vec![quota("F", 2, 1)], ParityRule::None),
                SeatError::MinAboveMax {
                    category: "F".into(),
                    min: 2,
                    max: 1,
                },
            ),
            (
                rules(3, 1, vec![], ParityRule::MaxShare { percent: 0 }),
                SeatError::InvalidShare { percent: 0 },
            ),
            (
                rules(3, 1, vec![], ParityRule::MaxShare { percent: 101 }),
                SeatError::InvalidShare { percent: 101 },
            ),
            (
                rules(
                    4,
                    1,
                    vec![quota("F", 3, 4)],
                    ParityRule::MaxShare { percent: 50 },
                ),
                SeatError::ShareBelowMin {
                    category: "F".into(),
                    min: 3,
                    cap: 2,
                },
            ),
            (
                rules(
                    4,
                    1,
                    vec![quota("F", 3, 4), quota("M", 2, 4)],
                    ParityRule::None,
                ),
                SeatError::MinimumsExceedSeats { total: 5, seats: 4 },
            ),
            (
                rules(5, 1, vec![quota("F", 4, 5)], ParityRule::None),
                SeatError::ShortOfMembers {
                    category: "F".into(),
                    min: 4,
                    candidates: 1,
                    pool: 3,
                },
            ),
            (
                // Two categories capped at 2 cannot fill 5 seats.
                rules(
                    5,
                    1,
                    vec![quota("F", 0, 2), quota("M", 0, 2)],
                    ParityRule::None,
                ),
                SeatError::InsufficientCapacity {
                    seats: 5,
                    capacity: 4,
                },
            ),
            (
                rules(7, 1, vec![], ParityRule::MaxShare { percent: 40 }),
                SeatError::InsufficientCapacity {
                    seats: 7,
                    capacity: 6,
                },
            ),
        ];
        for (r, err) in cases {
            assert_eq!(
                check_feasible(&r, &["F", "M"], &pool),
                Err(err.clone()),
                "{r:?}"
            );
            assert!(!err.to_string().is_empty());
        }
        // allocate refuses invalid rules too.
        assert_eq!(
            allocate(&rules(2, 3, vec![], ParityRule::None), &[], &SEED),
            Err(SeatError::LotteryExceedsSeats {
                lottery_seats: 3,
                seats: 2
            })
        );
    }

    #[test]
    fn check_assembly_enforces_size_and_quotas() {
        let r = rules(
            4,
            1,
            vec![quota("F", 2, 2)],
            ParityRule::MaxShare { percent: 75 },
        );
        assert_eq!(r.check_assembly(&["F", "M", "F", "X"]), Ok(()));
        assert!(matches!(
            r.check_assembly(&["F", "M", "M", "M"]),
            Err(SeatError::QuotaViolated { .. })
        ));
        assert!(matches!(
            r.check_assembly(&["F", "F", "F", "M"]),
            Err(SeatError::QuotaViolated { .. })
        ));
        assert_eq!(
            r.check_assembly(&["F", "F"]),
            Err(SeatError::WrongSize {
                filled: 2,
                seats: 4
            })
        );
    }

    #[test]
    fn ties_list_equal_votes_in_tie_hash_order() {
        let seed = [5u8; 32];
        let cs = [
            cand("a", "F", 9),
            cand("b", "M", 4),
            cand("c", "F", 4),
            cand("d", "M", 2),
            cand("e", "F", 4),
            cand("f", "M", 0),
            cand("g", "F", 0),
        ];
        let ties = ties(&cs, &seed);
        assert_eq!(ties.len(), 2);
        assert_eq!((ties[0].votes, ties[1].votes), (4, 0));
        let ranked: Vec<&str> = rank_candidates(&cs, &seed)
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        for t in &ties {
            let ids: Vec<&str> = t.candidates.iter().map(|(id, _)| id.as_str()).collect();
            let at: Vec<usize> = ids
                .iter()
                .map(|id| ranked.iter().position(|r| r == id).unwrap())
                .collect();
            assert!(
                at.windows(2).all(|w| w[1] == w[0] + 1),
                "a tie is a run of the ranking"
            );
            for (id, h) in &t.candidates {
                assert_eq!(*h, tie_hash(&seed, id));
            }
            assert!(t.candidates.windows(2).all(|w| w[0].1 < w[1].1));
        }
        let mut four: Vec<&str> = ties[0]
            .candidates
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        four.sort();
        assert_eq!(four, ["b", "c", "e"]);
        assert!(super::ties(&cs[..2], &seed).is_empty());
    }

    #[test]
    fn rules_round_trip_canonically() {
        use crate::encoding::Canonical;
        for parity in [
            ParityRule::None,
            ParityRule::MaxShare { percent: 60 },
            ParityRule::Alternating,
        ] {
            let r = rules(10, 3, vec![quota("F", 4, 6), quota("M", 4, 6)], parity);
            let bytes = r.to_bytes();
            assert_eq!(SeatRules::from_bytes(&bytes), Ok(r));
        }
        let e = ElectedSeat {
            id: "x".into(),
            category: "F".into(),
            votes: 3,
            rank: 1,
        };
        assert_eq!(
            hex::encode(e.to_bytes()),
            "846178614603 01".replace(' ', "")
        );
        assert!(
            ElectedSeat::from_bytes(&[0x84, 0x61, 0x78, 0x61, 0x46, 0x18, 0x03, 0x01]).is_err()
        );
        // Parity rules: `[variant, fields…]`, nothing missing, nothing extra.
        assert_eq!(ParityRule::from_bytes(&[0x81, 0x00]), Ok(ParityRule::None));
        assert_eq!(
            ParityRule::from_bytes(&[0x82, 0x01, 0x18, 0x3c]),
            Ok(ParityRule::MaxShare { percent: 60 })
        );
        for bad in [
            &[0x81, 0x01][..],
            &[0x82, 0x00, 0x05],
            &[0x81, 0x03],
            &[0x00],
        ] {
            assert!(ParityRule::from_bytes(bad).is_err(), "{bad:02x?}");
        }
    }
}
