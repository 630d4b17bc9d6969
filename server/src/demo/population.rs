//! Synthetic elections for the demo: manifest drafts, rosters and voters'
//! choices, all drawn from one seeded generator so a run is reproducible.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::client::draft::{
    BeaconDraft, CandidateDraft, ConstituencyDraft, ContributorDraft, LotteryDraft, ManifestDraft,
    MethodDraft, ParityDraft, RulesDraft, TrusteeDraft,
};

use urne_crypto::beacon::{DemoNetwork, DEMO_NETWORK_NAME};
use urne_crypto::manifest::Beacon;

use super::Preset;

/// The two quota categories of the synthetic population.
pub const CATEGORIES: [&str; 2] = ["f", "m"];

/// One synthetic member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Pseudonym (unique).
    pub pseudonym: String,
    /// Constituency id.
    pub constituency: String,
    /// In the lottery pool.
    pub pool: bool,
    /// Category.
    pub category: String,
}

/// The shape of a preset.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Candidates per constituency.
    pub candidates: Vec<usize>,
    /// Voters in all.
    pub voters: usize,
    /// Trustees and threshold.
    pub trustees: (usize, u32),
    /// Lottery contributors.
    pub contributors: usize,
}

impl Shape {
    /// The shape of `preset`.
    pub fn of(preset: Preset) -> Self {
        match preset {
            Preset::Small => Shape {
                candidates: vec![12, 10, 8],
                voters: 300,
                trustees: (5, 3),
                contributors: 3,
            },
            Preset::M6r => Shape {
                candidates: vec![210, 120, 100, 90, 80, 70, 60, 55, 50, 45, 40, 40, 40],
                voters: 10_000,
                trustees: (5, 3),
                contributors: 3,
            },
        }
    }
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "li", "mo", "na", "ri", "se",
    "ta", "vi", "za", "be", "ko", "lu", "me", "no",
];

/// A pronounceable synthetic pseudonym, unique by its number.
pub fn pseudonym(rng: &mut ChaCha20Rng, n: usize) -> String {
    let mut s = String::new();
    for _ in 0..(2 + rng.next_u32() % 2) {
        s.push_str(SYLLABLES[(rng.next_u32() as usize) % SYLLABLES.len()]);
    }
    format!("{s}{n}")
}

/// The constituency ids of a shape.
pub fn constituency_ids(shape: &Shape) -> Vec<String> {
    const NAMES: [&str; 13] = [
        "north", "south", "east", "west", "centre", "coast", "hills", "lakes", "plains", "valley",
        "islands", "forest", "capital",
    ];
    (0..shape.candidates.len())
        .map(|i| {
            NAMES
                .get(i)
                .map(|s| s.to_string())
                .unwrap_or(format!("c{i}"))
        })
        .collect()
}

/// Seats of a constituency with `n` candidates: a multiple of 4, a quarter by lot.
pub fn seats_for(n: usize) -> (u32, u32) {
    let seats = ((n / 10).max(4) as u32).div_ceil(4) * 4;
    (seats, seats / 4)
}

/// The manifest draft: gender parity (no category above half of the seats),
/// a quarter of the seats by lot, approvals 1..=min(n, seats + 2).
pub fn manifest_draft(
    shape: &Shape,
    rng: &mut ChaCha20Rng,
    trustees: Vec<TrusteeDraft>,
    contributors: Vec<ContributorDraft>,
    schedule: &Schedule,
) -> ManifestDraft {
    let ids = constituency_ids(shape);
    let mut next = 0;
    let constituencies = shape
        .candidates
        .iter()
        .zip(&ids)
        .map(|(&n, id)| {
            let (seats, lottery_seats) = seats_for(n);
            let candidates = (0..n)
                .map(|i| {
                    next += 1;
                    CandidateDraft {
                        id: pseudonym(rng, next),
                        category: CATEGORIES[i % 2].to_string(),
                    }
                })
                .collect();
            let mut name = id.clone();
            if let Some(first) = name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            ConstituencyDraft {
                id: id.clone(),
                name,
                candidates,
                approval_min: 1,
                approval_max: (seats as usize + 2).min(n) as u32,
                rules: RulesDraft {
                    seats,
                    lottery_seats,
                    quotas: Vec::new(),
                    parity: ParityDraft::MaxShare(50),
                },
            }
        })
        .collect();
    ManifestDraft {
        title: "urne demo: assembly election".into(),
        constituencies,
        trustees,
        threshold: shape.trustees.1,
        lottery: LotteryDraft {
            method: MethodDraft::Drbg,
            contributors,
            beacon: Some(schedule.beacon.clone()),
            sources: Vec::new(),
            commit_deadline: Some(rfc3339(schedule.closes)),
            reveal_deadline: rfc3339(schedule.reveal_deadline),
        },
        voting_opens: rfc3339(schedule.opens),
        voting_closes: rfc3339(schedule.closes),
        witness_quorum: None,
        witnesses: Vec::new(),
    }
}

/// The demo's timetable (Unix seconds) and its local beacon network.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Voting opens (the start of the run).
    pub opens: u64,
    /// Voting closes (planned; the demo closes as soon as its voters are done).
    pub closes: u64,
    /// End of the reveal window (planned).
    pub reveal_deadline: u64,
    /// The demo's beacon network (round: the first after the reveal deadline).
    pub beacon: BeaconDraft,
}

impl Schedule {
    /// A timetable from `now` that leaves the preset ample time, with the
    /// demo's own beacon network (genesis at `now`, one round every 3 s).
    pub fn new(preset: Preset, now: u64, network: &DemoNetwork) -> Self {
        let hours = match preset {
            Preset::Small => 1,
            Preset::M6r => 6,
        };
        let closes = now + hours * 3_600;
        let reveal_deadline = closes + 3_600;
        Schedule {
            opens: now,
            closes,
            reveal_deadline,
            beacon: BeaconDraft {
                network: DEMO_NETWORK_NAME.into(),
                round: None,
                public_key: Some(hex::encode(network.public_key())),
                chain_hash: Some(hex::encode(Beacon::demo(network, now, 3, 1).chain_hash)),
                genesis_time: Some(now),
                period: Some(3),
            },
        }
    }
}

/// `2027-03-14T18:00:00Z`.
pub fn rfc3339(t: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t))
        .to_string()
}

/// The members: spread over constituencies in proportion to their
/// candidates; a third of them in the lottery pool.
pub fn members(shape: &Shape, rng: &mut ChaCha20Rng) -> Vec<Member> {
    let ids = constituency_ids(shape);
    let total: usize = shape.candidates.iter().sum();
    let mut out = Vec::with_capacity(shape.voters);
    for (i, (&n, id)) in shape.candidates.iter().zip(&ids).enumerate() {
        let count = if i + 1 == ids.len() {
            shape.voters - out.len()
        } else {
            shape.voters * n / total
        };
        for k in 0..count {
            let number = 100_000 + out.len();
            out.push(Member {
                pseudonym: pseudonym(rng, number),
                constituency: id.clone(),
                // Every pool has both categories.
                pool: k < 4 || rng.next_u32() % 3 == 0,
                category: CATEGORIES[(k + (rng.next_u32() as usize % 2) * usize::from(k >= 4)) % 2]
                    .to_string(),
            });
        }
    }
    out
}

/// The roster CSV of `members`.
pub fn roster_csv(members: &[Member]) -> String {
    let mut out = String::from("pseudonym,constituency,pool,category\n");
    for m in members {
        out.push_str(&format!(
            "{},{},{},{}\n",
            m.pseudonym,
            m.constituency,
            if m.pool { "yes" } else { "no" },
            m.category
        ));
    }
    out
}

/// Popularity weights of `n` candidates: a few favourites and a long tail,
/// so results are not trivial.
pub fn popularity(n: usize, rng: &mut ChaCha20Rng) -> Vec<u64> {
    (0..n)
        .map(|_| 1 + (rng.next_u32() % 1000) as u64 * (rng.next_u32() % 1000) as u64 / 100)
        .collect()
}

/// A voter's approvals: `k` uniform in `min..=max`, candidates drawn by
/// popularity without replacement.
pub fn approvals(weights: &[u64], min: u32, max: u32, rng: &mut ChaCha20Rng) -> Vec<bool> {
    let n = weights.len();
    let k = min as usize + (rng.next_u32() as usize % (max as usize - min as usize + 1));
    let mut chosen = vec![false; n];
    let mut left: u64 = weights.iter().sum();
    for _ in 0..k.min(n) {
        let mut x = rng.next_u64() % left.max(1);
        for (i, w) in weights.iter().enumerate() {
            if chosen[i] {
                continue;
            }
            if x < *w {
                chosen[i] = true;
                left -= w;
                break;
            }
            x -= w;
        }
    }
    chosen
}

/// A generator for one voter, independent of the order voters are processed in.
pub fn voter_rng(seed: u64, stream: u64, index: usize) -> ChaCha20Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    key[16..24].copy_from_slice(&(index as u64).to_le_bytes());
    ChaCha20Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_respect_the_bounds_and_are_reproducible() {
        let mut rng = voter_rng(1, 0, 0);
        let w = popularity(12, &mut rng);
        for i in 0..200 {
            let a = approvals(&w, 1, 5, &mut voter_rng(7, 1, i));
            let k = a.iter().filter(|b| **b).count();
            assert!((1..=5).contains(&k), "{k} approvals");
            assert_eq!(a, approvals(&w, 1, 5, &mut voter_rng(7, 1, i)));
        }
    }

    #[test]
    fn members_cover_every_constituency_and_both_categories_in_each_pool() {
        let shape = Shape::of(Preset::Small);
        let members = members(&shape, &mut voter_rng(3, 0, 0));
        assert_eq!(members.len(), shape.voters);
        for id in constituency_ids(&shape) {
            for cat in CATEGORIES {
                assert!(members
                    .iter()
                    .any(|m| m.constituency == id && m.pool && m.category == cat));
            }
        }
        let mut names: Vec<&str> = members.iter().map(|m| m.pseudonym.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), members.len());
    }
}
