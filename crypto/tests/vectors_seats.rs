//! Test vectors for seats and the lottery (`specs/vectors/seats.json`).

mod common;

use rand_core::{Rng, SeedableRng};
use serde_json::{json, Value};
use urne_crypto::encoding::Canonical;
use urne_crypto::lottery::{
    commitment, draw_steps, draw_with, drbg, seed, verify_reveal, Draw, DrawMethod, DrawSource,
    DrawStage, DrawStep, DrawnSeat, PoolMember,
};
use urne_crypto::seats::{
    allocate, check_feasible, tie_hash, Candidate, CategoryQuota, ElectedSeat, ParityRule,
    SeatRules,
};
use urne_crypto::{beacon, rfc3797};

fn bytes32(label: &str) -> [u8; 32] {
    let mut b = [0u8; 32];
    common::rng(label).fill_bytes(&mut b);
    b
}

fn seats_json(seats: &[DrawnSeat]) -> Value {
    seats
        .iter()
        .map(|s| json!({ "id": s.id, "category": s.category, "order": s.order }))
        .collect()
}

fn elected_json(seats: &[ElectedSeat]) -> Value {
    seats
        .iter()
        .map(|s| json!({ "id": s.id, "category": s.category, "votes": s.votes, "rank": s.rank }))
        .collect()
}

/// The draw, with each step's stage, eligible count and index (§7.7).
fn draw_json(d: &Draw, steps: &[DrawStep]) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            let stage = match &s.stage {
                DrawStage::Minimum { category } => format!("minimum {category}"),
                DrawStage::Open => "open".into(),
                DrawStage::Replacement => "replacement".into(),
            };
            json!({ "order": s.order, "stage": stage, "eligible": s.eligible, "index": s.index, "id": s.id })
        })
        .collect();
    json!({
        "seats": seats_json(&d.seats),
        "replacements": seats_json(&d.replacements),
        "steps": steps,
        "cbor": hex::encode(d.to_bytes()),
    })
}

/// [`draw_with`] and its steps, which must describe the same draw.
fn drawn_with_steps(
    source: &DrawSource,
    constituency_id: &[u8],
    rules: &SeatRules,
    elected: &[ElectedSeat],
    pool: &[PoolMember],
) -> Value {
    let drawn = draw_with(source, constituency_id, rules, elected, pool, 4).expect("draws");
    let (same, steps) =
        draw_steps(source, constituency_id, rules, elected, pool, 4).expect("draws");
    assert_eq!(same, drawn);
    draw_json(&drawn, &steps)
}

/// A small constituency: 8 seats (2 by lot), gender parity 4/4, zipper.
fn constituency() -> (SeatRules, Vec<Candidate>, Vec<PoolMember>) {
    let rules = SeatRules {
        seats: 8,
        lottery_seats: 2,
        quotas: vec![
            CategoryQuota {
                category: "F".into(),
                min: 4,
                max: 4,
            },
            CategoryQuota {
                category: "M".into(),
                min: 4,
                max: 4,
            },
        ],
        parity: ParityRule::Alternating,
    };
    // 16 members; the first 10 stand. Votes are fixed, with ties.
    let members: Vec<(String, &str)> = (1..=16)
        .map(|i| (format!("north-{i:02}"), if i % 3 == 0 { "F" } else { "M" }))
        .collect();
    let votes = [412u64, 388, 388, 301, 254, 254, 254, 97, 12, 0];
    let candidates = members
        .iter()
        .zip(votes)
        .map(|((id, cat), v)| Candidate {
            id: id.clone(),
            category: (*cat).into(),
            votes: v,
        })
        .collect();
    let pool = members
        .iter()
        .map(|(id, cat)| PoolMember {
            id: id.clone(),
            category: (*cat).into(),
        })
        .collect();
    (rules, candidates, pool)
}

#[test]
fn seats_vectors() {
    let (rules, candidates, pool) = constituency();
    let candidate_categories: Vec<&str> = candidates.iter().map(|c| c.category.as_str()).collect();
    let pool_categories: Vec<&str> = pool.iter().map(|m| m.category.as_str()).collect();
    check_feasible(&rules, &candidate_categories, &pool_categories).expect("feasible");

    // Commit–reveal: three contributors (1-based), contributor 3 withholds.
    let election_id = bytes32("seats/election-id");
    let secrets: Vec<[u8; 32]> = (1..=3)
        .map(|i| bytes32(&format!("seats/contributor-{i}")))
        .collect();
    let contributors: Vec<Value> = secrets
        .iter()
        .zip(1u32..)
        .map(|(s, i)| {
            let c = commitment(&election_id, i, s);
            verify_reveal(&election_id, i, s, &c).expect("opens");
            json!({ "index": i, "secret": hex::encode(s), "commitment": hex::encode(c) })
        })
        .collect();
    // The beacon: drand quicknet's published round 657413, verified.
    let mut quicknet_key = [0u8; beacon::PUBLIC_KEY_LEN];
    hex::decode_to_slice(beacon::quicknet::PUBLIC_KEY, &mut quicknet_key).expect("hex");
    let network = beacon::Network {
        scheme: beacon::SCHEME,
        public_key: &quicknet_key,
        genesis_time: beacon::quicknet::GENESIS_TIME,
        period: beacon::quicknet::PERIOD,
    };
    let round = 657413u64;
    let signature = hex::decode("b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b").expect("hex");
    let randomness = network.verify(round, &signature).expect("published round");
    let reveals: Vec<(u32, [u8; 32])> = vec![(1, secrets[0]), (2, secrets[1])];
    let lottery_seed = seed(&election_id, &randomness, &reveals).expect("seed");
    let all = [reveals[0], reveals[1], (3, secrets[2])];
    let seed_all = seed(&election_id, &randomness, &all).expect("seed");

    // Allocation with the lottery seed as tie seed.
    let elected = allocate(&rules, &candidates, &lottery_seed).expect("allocates");
    let candidates_json: Vec<Value> = candidates
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "category": c.category, "votes": c.votes,
                "tie_hash": hex::encode(tie_hash(&lottery_seed, &c.id)),
            })
        })
        .collect();

    // DRBG of the constituency and the draw.
    let constituency_id = b"north";
    let drbg_key =
        urne_crypto::hash::tagged("urne/v1/lottery/drbg", &[&lottery_seed, constituency_id]);
    let mut rng = drbg(&lottery_seed, constituency_id);
    let mut same = rand_chacha::ChaCha20Rng::from_seed(drbg_key);
    let outputs: Vec<String> = (0..6)
        .map(|_| {
            let x = rng.next_u64();
            assert_eq!(x, same.next_u64());
            x.to_string()
        })
        .collect();
    let source = DrawSource::Drbg { seed: lottery_seed };
    assert_eq!(source.method(), DrawMethod::Drbg);
    let drawn = draw_with(&source, constituency_id, &rules, &elected, &pool, 4).expect("draws");
    let assembly: Vec<&str> = elected
        .iter()
        .map(|e| e.category.as_str())
        .chain(drawn.seats.iter().map(|s| s.category.as_str()))
        .collect();
    rules.check_assembly(&assembly).expect("quotas hold");

    // RFC 3797: the RFC's own worked example, and the same constituency drawn
    // in RFC 3797 mode (tie seed derived from the key).
    let sources: [&[u64]; 3] = [&[9319], &[2, 5, 12, 8, 10], &[9, 18, 26, 34, 41, 45]];
    let key = rfc3797::key_from_sources(&sources).expect("key");
    let digests: Vec<String> = (0..11)
        .map(|i| hex::encode_upper(rfc3797::digest(&key, i)))
        .collect();
    let selection = rfc3797::select(&key, 25, 11).expect("selects");
    let rfc_source = DrawSource::Rfc3797 { key: key.clone() };
    let rfc_tie_seed = rfc_source.tie_seed();
    let rfc_elected = allocate(&rules, &candidates, &rfc_tie_seed).expect("allocates");
    let rfc_drawn = drawn_with_steps(&rfc_source, constituency_id, &rules, &rfc_elected, &pool);

    let value = json!({
        "description": "Seat allocation and lottery (specs/protocol.md §7). Byte strings are hex; CBOR is the canonical encoding of §2.4.",
        "constituency": {
            "id": String::from_utf8_lossy(constituency_id),
            "rules": {
                "seats": rules.seats,
                "lottery_seats": rules.lottery_seats,
                "quotas": rules.quotas.iter().map(|q| json!({"category": q.category, "min": q.min, "max": q.max})).collect::<Vec<_>>(),
                "parity": "alternating",
                "cbor": hex::encode(rules.to_bytes()),
            },
            "candidates": candidates_json,
            "pool": pool.iter().map(|m| json!({"id": m.id, "category": m.category})).collect::<Vec<_>>(),
        },
        "lottery": {
            "election_id": hex::encode(election_id),
            "contributors": contributors,
            "withheld": [3],
            "beacon": {
                "network": "drand quicknet",
                "public_key": beacon::quicknet::PUBLIC_KEY,
                "round": round,
                "round_message": hex::encode(beacon::round_message(round)),
                "round_time": network.round_time(round).expect("time"),
                "signature": hex::encode(&signature),
                "randomness": hex::encode(randomness),
            },
            "seed": hex::encode(lottery_seed),
            "seed_if_all_revealed": hex::encode(seed_all),
            "drbg_key": hex::encode(drbg_key),
            "drbg_first_u64": outputs,
        },
        "allocation": {
            "tie_seed": hex::encode(lottery_seed),
            "elected": elected_json(&elected),
            "cbor": hex::encode(elected.to_bytes()),
        },
        "draw": drawn_with_steps(&source, constituency_id, &rules, &elected, &pool),
        "rfc3797": {
            "sources": sources.iter().map(|s| s.to_vec()).collect::<Vec<_>>(),
            "key": key,
            "digests": digests,
            "pool": 25,
            "selection": selection,
            "constituency": {
                "tie_seed": hex::encode(rfc_tie_seed),
                "elected": elected_json(&rfc_elected),
                "draw": rfc_drawn,
            },
        },
    });
    common::check_vectors("seats", &value);
}
