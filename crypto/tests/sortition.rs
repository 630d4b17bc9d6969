//! Properties of seat allocation and the lottery over random instances, and
//! a deterministic statistical check that stratified draws are uniform.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use proptest::prelude::*;
use urne_crypto::hash::tagged;
use urne_crypto::lottery::{draw_with, drbg, uniform_below, DrawSource, PoolMember};
use urne_crypto::seats::{
    allocate, check_feasible, Candidate, CategoryQuota, ElectedSeat, ParityRule, SeatRules,
};

const CATEGORIES: [&str; 3] = ["F", "M", "X"];

#[derive(Debug, Clone)]
struct Instance {
    rules: SeatRules,
    candidates: Vec<Candidate>,
    pool: Vec<PoolMember>,
    tie_seed: [u8; 32],
    source: DrawSource,
}

fn parity_rule() -> impl Strategy<Value = ParityRule> {
    prop_oneof![
        Just(ParityRule::None),
        (30u32..=100).prop_map(|percent| ParityRule::MaxShare { percent }),
        Just(ParityRule::Alternating),
    ]
}

fn instance() -> impl Strategy<Value = Instance> {
    let members = proptest::collection::vec((0usize..3, any::<bool>(), 0u64..4, 0u8..10), 1..24);
    (
        1u32..9,
        0u32..9,
        (0u32..4, 0u32..6, 0u32..4, 0u32..6),
        parity_rule(),
        members,
        any::<[u8; 32]>(),
        any::<bool>(),
    )
        .prop_map(
            |(seats, lottery, (fmin, fslack, mmin, mslack), parity, members, seed, rfc)| {
                let rules = SeatRules {
                    seats,
                    lottery_seats: lottery.min(seats),
                    quotas: vec![
                        CategoryQuota {
                            category: "M".into(),
                            min: mmin,
                            max: mmin + mslack,
                        },
                        CategoryQuota {
                            category: "F".into(),
                            min: fmin,
                            max: fmin + fslack,
                        },
                    ],
                    parity,
                };
                let mut candidates = Vec::new();
                let mut pool = Vec::new();
                for (i, (cat, stands, votes, in_pool)) in members.into_iter().enumerate() {
                    let id = format!("member-{i:02}");
                    let category = CATEGORIES[cat].to_owned();
                    if stands {
                        candidates.push(Candidate {
                            id: id.clone(),
                            category: category.clone(),
                            votes,
                        });
                    }
                    // Most members are in the pool, candidates included.
                    if in_pool < 8 {
                        pool.push(PoolMember { id, category });
                    }
                }
                let source = if rfc {
                    DrawSource::Rfc3797 {
                        key: format!("{}./{}./", seed[0], seed[1]),
                    }
                } else {
                    DrawSource::Drbg { seed }
                };
                Instance {
                    rules,
                    candidates,
                    pool,
                    tie_seed: seed,
                    source,
                }
            },
        )
}

fn categories<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    items.collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn feasible_instances_always_end_in_a_valid_assembly(inst in instance()) {
        let cand_cats = categories(inst.candidates.iter().map(|c| c.category.as_str()));
        let pool_cats = categories(inst.pool.iter().map(|m| m.category.as_str()));
        let feasible = check_feasible(&inst.rules, &cand_cats, &pool_cats);
        let elected = allocate(&inst.rules, &inst.candidates, &inst.tie_seed);
        let Ok(()) = feasible else {
            // Infeasible rules never panic; they may still be refused later.
            if let Ok(e) = elected {
                let _ = draw_with(&inst.source, b"c", &inst.rules, &e, &inst.pool, 3);
            }
            return Ok(());
        };
        let elected = elected.expect("feasible rules allocate");
        prop_assert!(elected.len() as u32 <= inst.rules.elected_seats());
        let draw = draw_with(&inst.source, b"c", &inst.rules, &elected, &inst.pool, 3)
            .expect("feasible rules draw");

        // Quotas hold over the whole assembly, which is complete.
        let all = categories(
            elected.iter().map(|s| s.category.as_str()).chain(draw.seats.iter().map(|s| s.category.as_str())),
        );
        prop_assert_eq!(inst.rules.check_assembly(&all), Ok(()));

        // No duplicates; drawn ∩ elected = ∅; drawn ⊆ pool; elected ⊆ candidates.
        let elected_ids: BTreeSet<&str> = elected.iter().map(|s| s.id.as_str()).collect();
        let drawn_ids: BTreeSet<&str> = draw.seats.iter().chain(&draw.replacements).map(|s| s.id.as_str()).collect();
        prop_assert_eq!(elected_ids.len(), elected.len());
        prop_assert_eq!(drawn_ids.len(), draw.seats.len() + draw.replacements.len());
        prop_assert!(elected_ids.is_disjoint(&drawn_ids));
        let pool_ids: BTreeSet<&str> = inst.pool.iter().map(|m| m.id.as_str()).collect();
        prop_assert!(drawn_ids.is_subset(&pool_ids));
        let cand_ids: BTreeSet<&str> = inst.candidates.iter().map(|c| c.id.as_str()).collect();
        prop_assert!(elected_ids.is_subset(&cand_ids));
        prop_assert_eq!(
            elected.iter().map(|s| s.rank).collect::<Vec<_>>(),
            (1..=elected.len() as u32).collect::<Vec<_>>()
        );

        // Votes decide among admissible candidates: without parity ordering,
        // an elected candidate never has fewer votes than a later-elected one.
        if inst.rules.parity != ParityRule::Alternating {
            prop_assert!(elected_are_vote_ordered(&elected));
        }

        // Input order is irrelevant.
        let mut cands = inst.candidates.clone();
        cands.reverse();
        let mut pool = inst.pool.clone();
        pool.reverse();
        let elected2 = allocate(&inst.rules, &cands, &inst.tie_seed).expect("allocates");
        prop_assert_eq!(&elected2, &elected);
        let draw2 = draw_with(&inst.source, b"c", &inst.rules, &elected2, &pool, 3).expect("draws");
        prop_assert_eq!(draw2, draw);
    }
}

fn elected_are_vote_ordered(e: &[ElectedSeat]) -> bool {
    e.windows(2).all(|w| w[0].votes >= w[1].votes)
}

/// Upper `p = 0.001` quantile of χ²(df), Wilson–Hilferty approximation
/// (accurate to about 1% for df ≥ 3, and above the true quantile for small df).
fn chi2_critical_p001(df: usize) -> f64 {
    let z = 3.090_232_306;
    let d = df as f64;
    let a = 2.0 / (9.0 * d);
    d * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Pearson's statistic of `counts` against equal expected frequencies.
fn chi2_uniform(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum()
}

/// Many draws over a fixed list of seeds: within each category (stratum),
/// every member is drawn equally often. Sampling without replacement makes
/// the cells negatively correlated, which only lowers the statistic, so the
/// χ² critical value is conservative.
fn check_strata_uniform(source_for: impl Fn(u32) -> DrawSource, runs: u32) {
    let mut pool = Vec::new();
    for (cat, n) in [("F", 8), ("M", 12), ("X", 6)] {
        for i in 0..n {
            pool.push(PoolMember {
                id: format!("{cat}{i:02}"),
                category: cat.into(),
            });
        }
    }
    let rules = SeatRules {
        seats: 9,
        lottery_seats: 6,
        quotas: vec![
            CategoryQuota {
                category: "F".into(),
                min: 3,
                max: 5,
            },
            CategoryQuota {
                category: "M".into(),
                min: 3,
                max: 5,
            },
        ],
        parity: ParityRule::None,
    };
    let elected: Vec<ElectedSeat> = ["F00", "M00", "X00"]
        .iter()
        .enumerate()
        .map(|(i, id)| ElectedSeat {
            id: (*id).into(),
            category: id[..1].into(),
            votes: 10,
            rank: i as u32 + 1,
        })
        .collect();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for m in pool
        .iter()
        .filter(|m| !elected.iter().any(|e| e.id == m.id))
    {
        counts.insert(m.id.clone(), 0);
    }
    let mut first_f: BTreeMap<String, u64> = BTreeMap::new();
    for run in 0..runs {
        let d = draw_with(&source_for(run), b"stat", &rules, &elected, &pool, 0).expect("draws");
        for s in &d.seats {
            *counts.get_mut(&s.id).expect("pool member") += 1;
        }
        // The first seat is always an F (step 1, F before M): uniform over F01..F07.
        *first_f.entry(d.seats[0].id.clone()).or_insert(0) += 1;
    }
    for cat in ["F", "M", "X"] {
        let stratum: Vec<u64> = counts
            .iter()
            .filter(|(id, _)| id.starts_with(cat))
            .map(|(_, &n)| n)
            .collect();
        let stat = chi2_uniform(&stratum);
        let crit = chi2_critical_p001(stratum.len() - 1);
        assert!(
            stat < crit,
            "stratum {cat}: χ² = {stat:.2} ≥ {crit:.2} ({stratum:?})"
        );
    }
    assert_eq!(first_f.len(), 7);
    let first: Vec<u64> = first_f.values().copied().collect();
    assert!(
        chi2_uniform(&first) < chi2_critical_p001(6),
        "first draw: {first:?}"
    );
}

#[test]
fn drbg_draws_are_uniform_within_each_stratum() {
    check_strata_uniform(
        |run| DrawSource::Drbg {
            seed: tagged("urne/v1/test/chi-square", &[&run.to_be_bytes()]),
        },
        6000,
    );
}

#[test]
fn rfc3797_draws_are_uniform_within_each_stratum() {
    check_strata_uniform(
        |run| DrawSource::Rfc3797 {
            key: format!("{run}./"),
        },
        6000,
    );
}

#[test]
fn uniform_below_is_uniform() {
    let mut rng = drbg(&[42; 32], b"uniform");
    for k in [3u64, 7, 10, 37] {
        let mut counts = vec![0u64; k as usize];
        for _ in 0..(2000 * k) {
            let nz = NonZeroU64::new(k).expect("k > 0");
            counts[uniform_below(&mut rng, nz) as usize] += 1;
        }
        let stat = chi2_uniform(&counts);
        assert!(
            stat < chi2_critical_p001(k as usize - 1),
            "k = {k}: χ² = {stat:.2}"
        );
    }
}

#[test]
fn chi_square_check_detects_a_biased_draw() {
    // The check has teeth: a 10% excess on one of 10 cells is caught.
    let mut counts = vec![1000u64; 10];
    counts[0] = 1300;
    assert!(chi2_uniform(&counts) > chi2_critical_p001(9));
    // And the critical values are the textbook ones (χ²₀.₀₀₁(9) = 27.88, (19) = 43.82).
    assert!((chi2_critical_p001(9) - 27.88).abs() < 0.3);
    assert!((chi2_critical_p001(19) - 43.82).abs() < 0.3);
}
