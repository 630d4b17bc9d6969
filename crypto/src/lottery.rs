//! The verifiable lottery: commit–reveal seed, per-constituency DRBG and the
//! quota-stratified draw of the lottery seats.
//!
//! Contributors commit to secrets before the vote closes and reveal them
//! before the beacon round is published; the seed hashes the election id, the
//! verified beacon randomness ([`crate::beacon`]) and every revealed secret. Each
//! constituency draws from ChaCha20 keyed by a hash of the seed and its id, by
//! rejection sampling (no modulo bias). In RFC 3797 mode the public key string
//! replaces the seed and the RFC's MD5 construction replaces the DRBG.
//! `specs/protocol.md` §7 is normative.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use minicbor::{Decode, Encode};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::hash::tagged;
use crate::rfc3797::{self, Rfc3797Error};
use crate::seats::{count_categories, ElectedSeat, SeatError, SeatRules};

/// Label of a contributor's commitment.
pub const COMMITMENT_LABEL: &str = "urne/v1/lottery/commitment";
/// Label of the lottery seed.
pub const SEED_LABEL: &str = "urne/v1/lottery/seed";
/// Label of a constituency's DRBG key.
pub const DRBG_LABEL: &str = "urne/v1/lottery/drbg";
/// Label of the tie seed derived from an RFC 3797 key string.
pub const RFC3797_TIE_SEED_LABEL: &str = "urne/v1/lottery/rfc3797-tie-seed";

/// A member of a constituency's published lottery pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct PoolMember {
    /// The member's pseudonym (unique in the pool).
    #[n(0)]
    pub id: String,
    /// The member's category.
    #[n(1)]
    pub category: String,
}

/// A seat (or a replacement rank) drawn by lot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct DrawnSeat {
    /// The drawn member's pseudonym.
    #[n(0)]
    pub id: String,
    /// The drawn member's category.
    #[n(1)]
    pub category: String,
    /// Position in the draw, from 1; replacements continue the numbering.
    #[n(2)]
    pub order: u32,
}

/// The outcome of a constituency's draw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(array)]
pub struct Draw {
    /// The drawn seats, in draw order (`order` 1..=n).
    #[n(0)]
    pub seats: Vec<DrawnSeat>,
    /// The ordered replacement list that follows (`order` n+1..).
    #[n(1)]
    pub replacements: Vec<DrawnSeat>,
}

/// The step of §7.7 a draw belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DrawStage {
    /// Step 1: a seat drawn to meet `category`'s minimum.
    Minimum {
        /// The category below its minimum.
        category: String,
    },
    /// Step 2: a seat drawn among every category below its maximum.
    Open,
    /// Step 3: a replacement rank, drawn among every undrawn member.
    Replacement,
}

/// One draw of §7.7, kept so that a person can follow why a member was
/// drawn: the eligible members (in ascending id order) numbered from 0, the
/// index the source gave below their number, and the member at that index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DrawStep {
    /// Position in the draw, from 1 (the [`DrawnSeat::order`] it produced).
    pub order: u32,
    /// Which step of §7.7 drew it.
    pub stage: DrawStage,
    /// How many members were eligible.
    pub eligible: u64,
    /// The index drawn, below `eligible`.
    pub index: u64,
    /// The drawn member's pseudonym.
    pub id: String,
    /// The drawn member's category.
    pub category: String,
}

/// How an election draws its lottery seats (fixed by the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(index_only)]
pub enum DrawMethod {
    /// ChaCha20 DRBG keyed from the commit–reveal–beacon seed.
    #[n(0)]
    Drbg,
    /// RFC 3797: MD5 over a key string of public random numbers.
    #[n(1)]
    Rfc3797,
}

impl DrawMethod {
    /// The method's name in reports and status documents: `drbg` or `rfc3797`.
    pub fn name(self) -> &'static str {
        match self {
            DrawMethod::Drbg => "drbg",
            DrawMethod::Rfc3797 => "rfc3797",
        }
    }
}

/// The public randomness a draw consumes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DrawSource {
    /// The lottery seed from [`seed`] ([`DrawMethod::Drbg`]).
    Drbg {
        /// The 32-byte lottery seed.
        seed: [u8; 32],
    },
    /// The RFC 3797 key string ([`DrawMethod::Rfc3797`]).
    Rfc3797 {
        /// The key string, e.g. from [`rfc3797::key_from_sources`].
        key: String,
    },
}

impl DrawSource {
    /// The draw method this source belongs to.
    pub fn method(&self) -> DrawMethod {
        match self {
            DrawSource::Drbg { .. } => DrawMethod::Drbg,
            DrawSource::Rfc3797 { .. } => DrawMethod::Rfc3797,
        }
    }

    /// The tie seed of [`crate::seats::allocate`]: the lottery seed itself, or
    /// `TaggedHash("urne/v1/lottery/rfc3797-tie-seed", key)` in RFC 3797 mode.
    pub fn tie_seed(&self) -> [u8; 32] {
        match self {
            DrawSource::Drbg { seed } => *seed,
            DrawSource::Rfc3797 { key } => tagged(RFC3797_TIE_SEED_LABEL, &[key.as_bytes()]),
        }
    }
}

/// Why a lottery step was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LotteryError {
    /// The seat rules themselves are invalid.
    #[error(transparent)]
    Rules(#[from] SeatError),
    /// A revealed secret does not open the contributor's commitment.
    #[error("contributor {contributor_index}: the revealed secret does not match the commitment")]
    RevealMismatch {
        /// The contributor.
        contributor_index: u32,
    },
    /// Two reveals for one contributor.
    #[error("contributor {contributor_index} revealed twice")]
    DuplicateContributor {
        /// The contributor.
        contributor_index: u32,
    },
    /// Two pool members share a pseudonym.
    #[error("pool member {id:?} appears twice")]
    DuplicatePoolMember {
        /// The repeated pseudonym.
        id: String,
    },
    /// Two elected seats share a pseudonym.
    #[error("elected member {id:?} appears twice")]
    DuplicateElected {
        /// The repeated pseudonym.
        id: String,
    },
    /// More elected seats than seats.
    #[error("{elected} elected for {seats} seats")]
    TooManyElected {
        /// Elected seats given.
        elected: u64,
        /// Seats of the constituency.
        seats: u32,
    },
    /// The elected seats already break a maximum, which no draw can repair.
    #[error("category {category:?} already holds {count} elected seats, above its maximum {max}")]
    ElectedOverMax {
        /// The category.
        category: String,
        /// Elected seats it holds.
        count: u64,
        /// Its effective maximum.
        max: u32,
    },
    /// The unmet minimums need more seats than are left to draw.
    #[error("the unmet minimums need {needed} seats but only {left} are left to draw")]
    MinimumsExceedDraw {
        /// Seats the unmet minimums need.
        needed: u64,
        /// Seats left to draw.
        left: u64,
    },
    /// The pool ran out of members of a category before its minimum was met.
    #[error("the pool has no member of category {category:?} left; {missing} seats of its minimum are unmet")]
    ShortOfMembers {
        /// The category.
        category: String,
        /// Seats of its minimum still unmet.
        missing: u64,
    },
    /// No pool member is left whose category is below its maximum.
    #[error("the pool is exhausted after {drawn} of {needed} seats")]
    PoolExhausted {
        /// Seats drawn so far.
        drawn: u64,
        /// Seats to draw.
        needed: u64,
    },
    /// No replacement keeps the assembly within the quotas.
    #[error("no replacement keeps the assembly within its quotas")]
    NoAdmissibleReplacement,
    /// The RFC 3797 construction refused (e.g. more than 65536 draws).
    #[error(transparent)]
    Rfc3797(#[from] Rfc3797Error),
}

/// A fresh contributor secret from the OS CSPRNG, wiped on drop.
pub fn fresh_secret() -> Zeroizing<[u8; 32]> {
    let mut secret = Zeroizing::new([0u8; 32]);
    crate::group::os_rng().fill_bytes(secret.as_mut());
    secret
}

/// `TaggedHash("urne/v1/lottery/commitment", election_id, u32be(contributor_index), secret)`.
pub fn commitment(election_id: &[u8; 32], contributor_index: u32, secret: &[u8; 32]) -> [u8; 32] {
    tagged(
        COMMITMENT_LABEL,
        &[election_id, &contributor_index.to_be_bytes(), secret],
    )
}

/// Checks that `secret` opens the contributor's `commitment`.
pub fn verify_reveal(
    election_id: &[u8; 32],
    contributor_index: u32,
    secret: &[u8; 32],
    commitment_value: &[u8; 32],
) -> Result<(), LotteryError> {
    let expected = commitment(election_id, contributor_index, secret);
    if bool::from(expected.ct_eq(commitment_value)) {
        Ok(())
    } else {
        Err(LotteryError::RevealMismatch { contributor_index })
    }
}

/// The lottery seed: `TaggedHash("urne/v1/lottery/seed", election_id,
/// beacon_randomness, u32be(i_1) ‖ s_1, …, u32be(i_k) ‖ s_k)` over the verified
/// reveals sorted by ascending contributor index (withheld reveals are simply
/// absent). Two reveals for one contributor are refused.
pub fn seed(
    election_id: &[u8; 32],
    beacon_randomness: &[u8; 32],
    reveals: &[(u32, [u8; 32])],
) -> Result<[u8; 32], LotteryError> {
    let mut sorted: Vec<&(u32, [u8; 32])> = reveals.iter().collect();
    sorted.sort_by_key(|(index, _)| *index);
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(LotteryError::DuplicateContributor {
            contributor_index: w[0].0,
        });
    }
    let framed: Vec<[u8; 36]> = sorted
        .iter()
        .map(|(index, secret)| {
            let mut f = [0u8; 36];
            f[..4].copy_from_slice(&index.to_be_bytes());
            f[4..].copy_from_slice(secret);
            f
        })
        .collect();
    let mut parts: Vec<&[u8]> = vec![election_id, beacon_randomness];
    parts.extend(framed.iter().map(|f| f.as_slice()));
    Ok(tagged(SEED_LABEL, &parts))
}

/// The constituency's DRBG: rand_chacha's `ChaCha20Rng` (20 rounds, block
/// counter and stream both 0) keyed with
/// `TaggedHash("urne/v1/lottery/drbg", seed, constituency_id)`.
pub fn drbg(seed: &[u8; 32], constituency_id: &[u8]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(tagged(DRBG_LABEL, &[seed, constituency_id]))
}

/// A uniform integer in `[0, k)` by rejection sampling: draw `x = next_u64()`,
/// reject while `x ≥ 2^64 − (2^64 mod k)` (the largest multiple of `k` not
/// above `2^64`), return `x mod k`.
pub fn uniform_below<R: Rng + ?Sized>(rng: &mut R, k: NonZeroU64) -> u64 {
    let k = k.get();
    let excess = (u64::MAX % k + 1) % k; // 2^64 mod k
    loop {
        let x = rng.next_u64();
        if x <= u64::MAX - excess {
            return x % k;
        }
    }
}

/// Where draw indices come from: the DRBG, or successive RFC 3797 digests.
enum Indices<'a> {
    Drbg(Box<ChaCha20Rng>),
    Rfc3797 { key: &'a str, next: usize },
}

impl<'a> Indices<'a> {
    fn new(source: &'a DrawSource, constituency_id: &[u8]) -> Self {
        match source {
            DrawSource::Drbg { seed } => Indices::Drbg(Box::new(drbg(seed, constituency_id))),
            DrawSource::Rfc3797 { key } => Indices::Rfc3797 { key, next: 0 },
        }
    }

    /// An index in `[0, k)`.
    fn below(&mut self, k: NonZeroU64) -> Result<u64, LotteryError> {
        match self {
            Indices::Drbg(rng) => Ok(uniform_below(rng.as_mut(), k)),
            Indices::Rfc3797 { key, next } => {
                let i = u16::try_from(*next)
                    .map_err(|_| Rfc3797Error::TooManySelections { select: *next + 1 })?;
                *next += 1;
                Ok(rfc3797::remainder(&rfc3797::digest(key, i), k))
            }
        }
    }
}

/// Draws the lottery seats of a constituency with [`DrawMethod::Drbg`]; see
/// [`draw_with`].
pub fn draw(
    seed: &[u8; 32],
    constituency_id: &[u8],
    rules: &SeatRules,
    elected: &[ElectedSeat],
    pool: &[PoolMember],
) -> Result<Vec<DrawnSeat>, LotteryError> {
    let source = DrawSource::Drbg { seed: *seed };
    Ok(draw_with(&source, constituency_id, rules, elected, pool, 0)?.seats)
}

/// Draws the `seats − |elected|` remaining seats from the pool minus the
/// elected, then `replacements` ranks of replacements, from one stream of
/// indices (so the seats do not depend on `replacements`, and a longer
/// replacement list extends a shorter one).
///
/// The pool is sorted by id bytes first, so the input order does not matter.
/// 1. For each quota category in ascending byte order of its name, while the
///    category is below its minimum (elected + drawn): draw uniformly among
///    the undrawn members of that category.
/// 2. While seats remain: draw uniformly among the undrawn members whose
///    category is below its maximum.
/// 3. Replacements: draw uniformly among all undrawn members, until
///    `replacements` are listed or the pool is empty.
///
/// Each draw takes the `i`-th member (in id order) of the eligible set, `i`
/// uniform below the set's size ([`uniform_below`] on the constituency's
/// [`drbg`], or the RFC 3797 remainder of the next digest).
pub fn draw_with(
    source: &DrawSource,
    constituency_id: &[u8],
    rules: &SeatRules,
    elected: &[ElectedSeat],
    pool: &[PoolMember],
    replacements: usize,
) -> Result<Draw, LotteryError> {
    draw_steps(source, constituency_id, rules, elected, pool, replacements).map(|(d, _)| d)
}

/// [`draw_with`], with every draw it made in order ([`DrawStep`]), seats
/// then replacements.
pub fn draw_steps(
    source: &DrawSource,
    constituency_id: &[u8],
    rules: &SeatRules,
    elected: &[ElectedSeat],
    pool: &[PoolMember],
    replacements: usize,
) -> Result<(Draw, Vec<DrawStep>), LotteryError> {
    rules.validate()?;
    let mut sorted: Vec<&PoolMember> = pool.iter().collect();
    sorted.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
    if let Some(w) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(LotteryError::DuplicatePoolMember {
            id: w[0].id.clone(),
        });
    }
    let mut elected_ids = BTreeSet::new();
    for e in elected {
        if !elected_ids.insert(e.id.as_str()) {
            return Err(LotteryError::DuplicateElected { id: e.id.clone() });
        }
    }
    if elected.len() as u64 > u64::from(rules.seats) {
        return Err(LotteryError::TooManyElected {
            elected: elected.len() as u64,
            seats: rules.seats,
        });
    }
    let mut counts: BTreeMap<&str, u64> =
        count_categories(elected.iter().map(|e| e.category.as_str()));
    for (c, &n) in &counts {
        let max = rules.max_for(c);
        if n > u64::from(max) {
            return Err(LotteryError::ElectedOverMax {
                category: (*c).to_owned(),
                count: n,
                max,
            });
        }
    }
    let to_draw = u64::from(rules.seats) - elected.len() as u64;
    let needed = rules.unmet_minimums(&counts);
    if needed > to_draw {
        return Err(LotteryError::MinimumsExceedDraw {
            needed,
            left: to_draw,
        });
    }

    let mut remaining: Vec<&PoolMember> = sorted
        .into_iter()
        .filter(|m| !elected_ids.contains(m.id.as_str()))
        .collect();
    let mut indices = Indices::new(source, constituency_id);
    let mut seats: Vec<DrawnSeat> = Vec::new();
    let mut steps: Vec<DrawStep> = Vec::new();

    let mut quotas: Vec<_> = rules.quotas.iter().collect();
    quotas.sort_by(|a, b| a.category.as_bytes().cmp(b.category.as_bytes()));
    for q in quotas {
        let c = q.category.as_str();
        loop {
            let held = counts.get(c).copied().unwrap_or(0);
            if held >= u64::from(q.min) {
                break;
            }
            let eligible = positions(&remaining, |m| m.category == c);
            let (index, member) =
                take(&mut indices, &mut remaining, &eligible)?.ok_or_else(|| {
                    LotteryError::ShortOfMembers {
                        category: c.to_owned(),
                        missing: u64::from(q.min) - held,
                    }
                })?;
            *counts.entry(member.category.as_str()).or_insert(0) += 1;
            let stage = DrawStage::Minimum {
                category: c.to_owned(),
            };
            steps.push(step(stage, &eligible, index, member, seats.len()));
            seats.push(seat(member, seats.len()));
        }
    }
    while (seats.len() as u64) < to_draw {
        let eligible = positions(&remaining, |m| {
            let held = counts.get(m.category.as_str()).copied().unwrap_or(0);
            held < u64::from(rules.max_for(&m.category))
        });
        let (index, member) =
            take(&mut indices, &mut remaining, &eligible)?.ok_or(LotteryError::PoolExhausted {
                drawn: seats.len() as u64,
                needed: to_draw,
            })?;
        *counts.entry(member.category.as_str()).or_insert(0) += 1;
        steps.push(step(DrawStage::Open, &eligible, index, member, seats.len()));
        seats.push(seat(member, seats.len()));
    }
    let mut extra: Vec<DrawnSeat> = Vec::new();
    while extra.len() < replacements {
        let all: Vec<usize> = (0..remaining.len()).collect();
        let Some((index, member)) = take(&mut indices, &mut remaining, &all)? else {
            break;
        };
        let before = seats.len() + extra.len();
        steps.push(step(DrawStage::Replacement, &all, index, member, before));
        extra.push(seat(member, before));
    }
    let draw = Draw {
        seats,
        replacements: extra,
    };
    Ok((draw, steps))
}

/// Draws one of the `eligible` positions of `remaining` and removes it,
/// returning the index drawn (below `eligible.len()`) and the member;
/// `None` if `eligible` is empty.
fn take<'p>(
    indices: &mut Indices<'_>,
    remaining: &mut Vec<&'p PoolMember>,
    eligible: &[usize],
) -> Result<Option<(u64, &'p PoolMember)>, LotteryError> {
    let Some(k) = NonZeroU64::new(eligible.len() as u64) else {
        return Ok(None);
    };
    let index = indices.below(k)?;
    // The index is below eligible.len(), so it fits in usize.
    Ok(Some((index, remaining.remove(eligible[index as usize]))))
}

/// The [`DrawStep`] of drawing `member` at `index` of `eligible`.
fn step(
    stage: DrawStage,
    eligible: &[usize],
    index: u64,
    member: &PoolMember,
    drawn_before: usize,
) -> DrawStep {
    DrawStep {
        order: drawn_before as u32 + 1,
        stage,
        eligible: eligible.len() as u64,
        index,
        id: member.id.clone(),
        category: member.category.clone(),
    }
}

/// The drawn seat for `member`, the `(drawn_before + 1)`-th of the draw.
fn seat(member: &PoolMember, drawn_before: usize) -> DrawnSeat {
    DrawnSeat {
        id: member.id.clone(),
        category: member.category.clone(),
        order: drawn_before as u32 + 1,
    }
}

fn positions(remaining: &[&PoolMember], keep: impl Fn(&PoolMember) -> bool) -> Vec<usize> {
    (0..remaining.len())
        .filter(|&i| keep(remaining[i]))
        .collect()
}

/// The replacement for a vacancy: the first entry of `replacements` (unused
/// ones, in order) whose category keeps the assembly completable within the
/// quotas, given the categories of the members still `seated` (elected and
/// drawn, the vacated seat excluded).
pub fn fill_vacancy<'r>(
    rules: &SeatRules,
    seated: &[&str],
    replacements: &'r [DrawnSeat],
) -> Result<&'r DrawnSeat, LotteryError> {
    rules.validate()?;
    let counts = count_categories(seated.iter().copied());
    replacements
        .iter()
        .find(|r| rules.admits(&counts, seated.len() as u64, &r.category))
        .ok_or(LotteryError::NoAdmissibleReplacement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seats::{allocate, Candidate, CategoryQuota, ParityRule};
    use std::convert::Infallible;

    const ELECTION: [u8; 32] = [1; 32];

    fn quota(category: &str, min: u32, max: u32) -> CategoryQuota {
        CategoryQuota {
            category: category.into(),
            min,
            max,
        }
    }

    fn member(id: &str, category: &str) -> PoolMember {
        PoolMember {
            id: id.into(),
            category: category.into(),
        }
    }

    fn elected(id: &str, category: &str, rank: u32) -> ElectedSeat {
        ElectedSeat {
            id: id.into(),
            category: category.into(),
            votes: 1,
            rank,
        }
    }

    /// 10 F (f0..f9) and 10 M (m0..m9).
    fn pool() -> Vec<PoolMember> {
        (0..10)
            .flat_map(|i| [member(&format!("f{i}"), "F"), member(&format!("m{i}"), "M")])
            .collect()
    }

    fn parity_rules(seats: u32, lottery: u32) -> SeatRules {
        SeatRules {
            seats,
            lottery_seats: lottery,
            quotas: vec![
                quota("F", seats / 2, seats / 2),
                quota("M", seats / 2, seats / 2),
            ],
            parity: ParityRule::None,
        }
    }

    #[test]
    fn commitments_open_only_with_their_secret() {
        let secret = [9u8; 32];
        let c = commitment(&ELECTION, 3, &secret);
        assert_eq!(verify_reveal(&ELECTION, 3, &secret, &c), Ok(()));
        let refused = Err(LotteryError::RevealMismatch {
            contributor_index: 3,
        });
        assert_eq!(verify_reveal(&ELECTION, 3, &[8; 32], &c), refused);
        assert_eq!(verify_reveal(&[2; 32], 3, &secret, &c), refused);
        assert!(verify_reveal(&ELECTION, 4, &secret, &c).is_err());
        assert_ne!(*fresh_secret(), *fresh_secret());
    }

    #[test]
    fn seed_binds_every_input_but_not_reveal_order() {
        let (m, b) = ([3u8; 32], &[0x12u8; 32]);
        let reveals = [(2, [5u8; 32]), (0, [6u8; 32]), (1, [7u8; 32])];
        let s = seed(&m, b, &reveals).unwrap();
        let mut shuffled = reveals;
        shuffled.reverse();
        assert_eq!(seed(&m, b, &shuffled), Ok(s));
        assert_ne!(seed(&[4; 32], b, &reveals), Ok(s));
        assert_ne!(seed(&m, &[0x13; 32], &reveals), Ok(s));
        // Withholding contributor 1 changes the seed; so does relabelling a reveal.
        assert_ne!(seed(&m, b, &[reveals[0], reveals[1]]), Ok(s));
        assert_ne!(
            seed(&m, b, &[(2, [5; 32]), (0, [6; 32]), (3, [7; 32])]),
            Ok(s)
        );
        // Everyone withheld: the seed still exists (manifest and beacon only).
        assert_ne!(seed(&m, b, &[]), Ok(s));
        assert_eq!(
            seed(&m, b, &[(1, [0; 32]), (1, [1; 32])]),
            Err(LotteryError::DuplicateContributor {
                contributor_index: 1
            })
        );
    }

    // RFC 8439 §A.1, ChaCha20 block function test vectors #1 and #2 (key and
    // nonce all zero, block counters 0 and 1): `next_u64` reads the keystream
    // in little-endian 8-byte chunks.
    #[test]
    fn drbg_is_the_rfc8439_chacha20_keystream() {
        let expected = hex::decode(
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
             da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586\
             9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
             29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
        )
        .unwrap();
        let mut rng = ChaCha20Rng::from_seed([0; 32]);
        let got: Vec<u8> = (0..16).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
        assert_eq!(got, expected);
    }

    /// A scripted generator for testing rejection sampling.
    struct Script(Vec<u64>);
    impl rand_core::TryRng for Script {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            unreachable!("only next_u64 is used")
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(self.0.remove(0))
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Infallible> {
            unreachable!("only next_u64 is used")
        }
    }

    #[test]
    fn rejection_sampling_has_no_modulo_bias() {
        let k = |n| NonZeroU64::new(n).unwrap();
        // 2^64 mod 3 = 1: only u64::MAX is rejected.
        let mut r = Script(vec![u64::MAX, u64::MAX - 1, 5]);
        assert_eq!(uniform_below(&mut r, k(3)), (u64::MAX - 1) % 3);
        assert_eq!(uniform_below(&mut r, k(3)), 2);
        // 2^64 mod 10 = 6: the top six values are rejected.
        let mut r = Script(vec![u64::MAX - 5, u64::MAX - 3, u64::MAX - 6]);
        assert_eq!(uniform_below(&mut r, k(10)), (u64::MAX - 6) % 10);
        // Powers of two never reject; k = 1 always yields 0.
        let mut r = Script(vec![u64::MAX, 17]);
        assert_eq!(uniform_below(&mut r, k(16)), 15);
        assert_eq!(uniform_below(&mut r, k(1)), 0);
        // k = 2^63 + 1: 2^64 mod k = 2^63 − 1, so every value ≥ k is rejected.
        let big = (1u64 << 63) + 1;
        let mut r = Script(vec![u64::MAX, big, big - 1]);
        assert_eq!(uniform_below(&mut r, k(big)), big - 1);
    }

    #[test]
    fn stratified_draw_completes_the_quotas() {
        let rules = parity_rules(6, 2);
        let e = [
            elected("m1", "M", 1),
            elected("m2", "M", 2),
            elected("m3", "M", 3),
            elected("f1", "F", 4),
        ];
        let d = draw(&[4; 32], b"north", &rules, &e, &pool()).unwrap();
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|s| s.category == "F" && s.id != "f1"));
        assert_eq!(d.iter().map(|s| s.order).collect::<Vec<_>>(), [1, 2]);
        let all: Vec<&str> = e
            .iter()
            .map(|s| s.category.as_str())
            .chain(d.iter().map(|s| s.category.as_str()))
            .collect();
        assert_eq!(rules.check_assembly(&all), Ok(()));
    }

    #[test]
    fn draw_is_deterministic_and_ignores_pool_order() {
        let rules = parity_rules(8, 4);
        let e = [
            elected("f3", "F", 1),
            elected("m5", "M", 2),
            elected("m0", "M", 3),
            elected("f9", "F", 4),
        ];
        let p = pool();
        let a = draw(&[4; 32], b"north", &rules, &e, &p).unwrap();
        let mut rev = p.clone();
        rev.reverse();
        assert_eq!(draw(&[4; 32], b"north", &rules, &e, &rev).unwrap(), a);
        assert_ne!(draw(&[4; 32], b"south", &rules, &e, &p).unwrap(), a);
        assert_ne!(draw(&[5; 32], b"north", &rules, &e, &p).unwrap(), a);
    }

    #[test]
    fn replacements_extend_the_same_stream() {
        let rules = parity_rules(6, 3);
        let e = [
            elected("f0", "F", 1),
            elected("m0", "M", 2),
            elected("m1", "M", 3),
        ];
        let source = DrawSource::Drbg { seed: [4; 32] };
        let short = draw_with(&source, b"c", &rules, &e, &pool(), 3).unwrap();
        let long = draw_with(&source, b"c", &rules, &e, &pool(), 100).unwrap();
        assert_eq!(short.seats, long.seats);
        assert_eq!(
            short.seats,
            draw(&[4; 32], b"c", &rules, &e, &pool()).unwrap()
        );
        assert_eq!(short.replacements[..], long.replacements[..3]);
        // The whole pool minus elected and drawn, numbered after the seats.
        assert_eq!(long.replacements.len(), 20 - 3 - 3);
        assert_eq!(long.replacements[0].order, 4);
        let mut everyone: Vec<&str> = e.iter().map(|s| s.id.as_str()).collect();
        everyone.extend(
            long.seats
                .iter()
                .chain(&long.replacements)
                .map(|s| s.id.as_str()),
        );
        everyone.sort_unstable();
        everyone.dedup();
        assert_eq!(everyone.len(), 20);
    }

    /// Every step, replayed from scratch (§7.7 by hand: the eligible set by
    /// stage, the DRBG's next index below its size), names the member drawn.
    #[test]
    fn draw_steps_let_a_reader_replay_the_draw() {
        let rules = SeatRules {
            seats: 6,
            lottery_seats: 4,
            quotas: vec![quota("F", 3, 4), quota("M", 2, 4)],
            parity: ParityRule::None,
        };
        let elected = [elected("m3", "M", 1), elected("m7", "M", 2)];
        let seed = [7u8; 32];
        let source = DrawSource::Drbg { seed };
        let (draw, steps) = draw_steps(&source, b"c1", &rules, &elected, &pool(), 5).unwrap();
        assert_eq!(
            draw,
            draw_with(&source, b"c1", &rules, &elected, &pool(), 5).unwrap()
        );
        let drawn: Vec<&DrawnSeat> = draw.seats.iter().chain(&draw.replacements).collect();
        assert_eq!(steps.len(), drawn.len());
        assert_eq!(steps.len(), 9);

        let mut remaining: Vec<PoolMember> = pool();
        remaining.sort_by(|a, b| a.id.cmp(&b.id));
        remaining.retain(|m| m.id != "m3" && m.id != "m7");
        let mut held: BTreeMap<String, u32> = [("M".to_string(), 2)].into();
        let mut rng = drbg(&seed, b"c1");
        for (s, d) in steps.iter().zip(&drawn) {
            let eligible: Vec<usize> = (0..remaining.len())
                .filter(|&i| {
                    let c = &remaining[i].category;
                    match &s.stage {
                        DrawStage::Minimum { category } => c == category,
                        DrawStage::Open => held.get(c).copied().unwrap_or(0) < 4,
                        DrawStage::Replacement => true,
                    }
                })
                .collect();
            assert_eq!(s.eligible, eligible.len() as u64, "step {}", s.order);
            let k = NonZeroU64::new(s.eligible).unwrap();
            assert_eq!(s.index, uniform_below(&mut rng, k), "step {}", s.order);
            let m = remaining.remove(eligible[s.index as usize]);
            *held.entry(m.category.clone()).or_insert(0) += 1;
            assert_eq!((&m.id, &m.category, s.order), (&d.id, &d.category, d.order));
            assert_eq!((&s.id, &s.category), (&d.id, &d.category));
        }
        // F is below its minimum of 3 (none elected): the first three draws
        // meet it; M already has its 2, so the fourth seat is open.
        let stages: Vec<&DrawStage> = steps.iter().map(|s| &s.stage).collect();
        let f = DrawStage::Minimum {
            category: "F".into(),
        };
        assert_eq!(stages[..3], [&f, &f, &f]);
        assert_eq!(stages[3], &DrawStage::Open);
        assert!(stages[4..].iter().all(|s| **s == DrawStage::Replacement));
    }

    #[test]
    fn draw_objects_encode_canonically() {
        use crate::encoding::Canonical;
        assert_eq!(DrawMethod::Drbg.to_bytes(), [0x00]);
        assert_eq!(DrawMethod::from_bytes(&[0x01]), Ok(DrawMethod::Rfc3797));
        assert!(DrawMethod::from_bytes(&[0x02]).is_err());
        let source = DrawSource::Drbg { seed: [4; 32] };
        let d = draw_with(&source, b"c", &parity_rules(4, 4), &[], &pool(), 2).unwrap();
        assert_eq!(Draw::from_bytes(&d.to_bytes()), Ok(d.clone()));
        let mut trailing = d.to_bytes();
        trailing.push(0);
        assert!(Draw::from_bytes(&trailing).is_err());
    }

    #[test]
    fn vacancies_are_filled_within_the_quotas() {
        let rules = parity_rules(4, 2);
        let reps = [
            DrawnSeat {
                id: "m7".into(),
                category: "M".into(),
                order: 5,
            },
            DrawnSeat {
                id: "f7".into(),
                category: "F".into(),
                order: 6,
            },
        ];
        // An F seat fell vacant: M is at its maximum, so f7 is next.
        assert_eq!(
            fill_vacancy(&rules, &["M", "M", "F"], &reps).map(|r| r.id.as_str()),
            Ok("f7")
        );
        assert_eq!(
            fill_vacancy(&rules, &["F", "F", "M"], &reps).map(|r| r.id.as_str()),
            Ok("m7")
        );
        assert_eq!(
            fill_vacancy(&rules, &["M", "M", "F"], &reps[..1]),
            Err(LotteryError::NoAdmissibleReplacement)
        );
    }

    #[test]
    fn rfc3797_mode_without_quotas_is_the_published_algorithm() {
        // The RFC 3797 §6 example: 25 volunteers, numbered by ascending id.
        let key = "9319./2.5.8.10.12./9.18.26.34.41.45./".to_owned();
        let p: Vec<PoolMember> = (1..=25)
            .rev()
            .map(|i| member(&format!("v{i:02}"), "X"))
            .collect();
        let rules = SeatRules {
            seats: 11,
            lottery_seats: 11,
            quotas: vec![],
            parity: ParityRule::None,
        };
        let d = draw_with(
            &DrawSource::Rfc3797 { key: key.clone() },
            b"any",
            &rules,
            &[],
            &p,
            2,
        )
        .unwrap();
        let expected: Vec<String> = rfc3797::select(&key, 25, 13)
            .unwrap()
            .iter()
            .map(|i| format!("v{i:02}"))
            .collect();
        let got: Vec<String> = d
            .seats
            .iter()
            .chain(&d.replacements)
            .map(|s| s.id.clone())
            .collect();
        assert_eq!(got, expected);
        assert_eq!(&got[..3], ["v17", "v07", "v02"]);
        let source = DrawSource::Rfc3797 { key };
        assert_eq!(source.method(), DrawMethod::Rfc3797);
        assert_ne!(source.tie_seed(), [0; 32]);
        assert_eq!(DrawSource::Drbg { seed: [3; 32] }.tie_seed(), [3; 32]);
    }

    #[test]
    fn rfc3797_mode_is_stratified_too() {
        let key = "1.2.3./4./".to_owned();
        let rules = parity_rules(6, 6);
        let d = draw_with(&DrawSource::Rfc3797 { key }, b"c", &rules, &[], &pool(), 0).unwrap();
        let cats: Vec<&str> = d.seats.iter().map(|s| s.category.as_str()).collect();
        assert_eq!(rules.check_assembly(&cats), Ok(()));
        // Step 1 draws F first (categories in byte order), then M.
        assert_eq!(cats, ["F", "F", "F", "M", "M", "M"]);
    }

    #[test]
    fn draws_that_cannot_complete_are_refused() {
        let rules = parity_rules(4, 2);
        let p = pool();
        let mut dup = p.clone();
        dup.push(member("f0", "F"));
        assert_eq!(
            draw(&[0; 32], b"c", &rules, &[], &dup),
            Err(LotteryError::DuplicatePoolMember { id: "f0".into() })
        );
        let twice = [elected("f0", "F", 1), elected("f0", "F", 2)];
        assert_eq!(
            draw(&[0; 32], b"c", &rules, &twice, &p),
            Err(LotteryError::DuplicateElected { id: "f0".into() })
        );
        let over = [
            elected("m0", "M", 1),
            elected("m1", "M", 2),
            elected("m2", "M", 3),
        ];
        assert!(matches!(
            draw(&[0; 32], b"c", &rules, &over, &p),
            Err(LotteryError::ElectedOverMax { .. })
        ));
        let five: Vec<_> = (0..5)
            .map(|i| elected(&format!("x{i}"), "X", i + 1))
            .collect();
        assert_eq!(
            draw(&[0; 32], b"c", &rules, &five, &p),
            Err(LotteryError::TooManyElected {
                elected: 5,
                seats: 4
            })
        );
        let males: Vec<_> = p.iter().filter(|m| m.category == "M").cloned().collect();
        assert_eq!(
            draw(&[0; 32], b"c", &rules, &[], &males),
            Err(LotteryError::ShortOfMembers {
                category: "F".into(),
                missing: 2
            })
        );
        let loose = SeatRules {
            quotas: vec![quota("F", 0, 1), quota("M", 0, 1)],
            ..rules.clone()
        };
        assert_eq!(
            draw(&[0; 32], b"c", &loose, &[], &p),
            Err(LotteryError::PoolExhausted {
                drawn: 2,
                needed: 4
            })
        );
        let three_x = [
            elected("x0", "X", 1),
            elected("x1", "X", 2),
            elected("x2", "X", 3),
        ];
        assert_eq!(
            draw(&[0; 32], b"c", &rules, &three_x, &p),
            Err(LotteryError::MinimumsExceedDraw { needed: 4, left: 1 })
        );
        let bad = SeatRules {
            lottery_seats: 9,
            ..rules
        };
        assert!(matches!(
            draw(&[0; 32], b"c", &bad, &[], &p),
            Err(LotteryError::Rules(_))
        ));
    }

    #[test]
    fn allocation_then_draw_end_to_end() {
        let rules = SeatRules {
            seats: 8,
            lottery_seats: 2,
            quotas: vec![quota("F", 4, 4), quota("M", 4, 4)],
            parity: ParityRule::Alternating,
        };
        let p = pool();
        let candidates: Vec<Candidate> = p
            .iter()
            .take(12)
            .enumerate()
            .map(|(i, m)| Candidate {
                id: m.id.clone(),
                category: m.category.clone(),
                votes: (i as u64 * 7) % 5,
            })
            .collect();
        let s = seed(&[3; 32], &[0xbe; 32], &[(0, [1; 32])]).unwrap();
        let e = allocate(&rules, &candidates, &s).unwrap();
        assert_eq!(e.len(), 6);
        let d = draw(&s, b"c", &rules, &e, &p).unwrap();
        let cats: Vec<&str> = e
            .iter()
            .map(|x| x.category.as_str())
            .chain(d.iter().map(|x| x.category.as_str()))
            .collect();
        assert_eq!(rules.check_assembly(&cats), Ok(()));
    }
}
