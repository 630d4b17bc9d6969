//! The verifiable lottery: commit–reveal seed, per-constituency DRBG and the
//! quota-stratified draw of the lottery seats.
//!
//! Contributors commit to secrets before the public beacon value exists; the
//! seed hashes the manifest, the beacon value and every revealed secret. Each
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

/// The lottery seed: `TaggedHash("urne/v1/lottery/seed", manifest_hash,
/// beacon_value, u32be(i_1) ‖ s_1, …, u32be(i_k) ‖ s_k)` over the verified
/// reveals sorted by ascending contributor index (withheld reveals are simply
/// absent). Two reveals for one contributor are refused.
pub fn seed(
    manifest_hash: &[u8; 32],
    beacon_value: &[u8],
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
    let mut parts: Vec<&[u8]> = vec![manifest_hash, beacon_value];
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
    Drbg(ChaCha20Rng),
    Rfc3797 { key: &'a str, next: usize },
}

impl<'a> Indices<'a> {
    fn new(source: &'a DrawSource, constituency_id: &[u8]) -> Self {
        match source {
            DrawSource::Drbg { seed } => Indices::Drbg(drbg(seed, constituency_id)),
            DrawSource::Rfc3797 { key } => Indices::Rfc3797 { key, next: 0 },
        }
    }

    /// An index in `[0, k)`.
    fn below(&mut self, k: NonZeroU64) -> Result<u64, LotteryError> {
        match self {
            Indices::Drbg(rng) => Ok(uniform_below(rng, k)),
            Indices::Rfc3797 { key, next } => {
                let i = u16::try_from(*next).map_err(|_| Rfc3797Error::TooManySelections {
                    select: *next + 1,
                })?;
                *next += 1;
                Ok(rfc3797::remainder(&rfc3797::digest(key, i), k.get()))
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
    let mut counts: BTreeMap<&str, u64> = count_categories(elected.iter().map(|e| e.category.as_str()));
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
            let member = take(&mut indices, &mut remaining, &eligible)?.ok_or_else(|| {
                LotteryError::ShortOfMembers {
                    category: c.to_owned(),
                    missing: u64::from(q.min) - held,
                }
            })?;
            *counts.entry(member.category.as_str()).or_insert(0) += 1;
            seats.push(seat(member, seats.len()));
        }
    }
    while (seats.len() as u64) < to_draw {
        let eligible = positions(&remaining, |m| {
            let held = counts.get(m.category.as_str()).copied().unwrap_or(0);
            held < u64::from(rules.max_for(&m.category))
        });
        let member = take(&mut indices, &mut remaining, &eligible)?.ok_or(
            LotteryError::PoolExhausted {
                drawn: seats.len() as u64,
                needed: to_draw,
            },
        )?;
        *counts.entry(member.category.as_str()).or_insert(0) += 1;
        seats.push(seat(member, seats.len()));
    }
    let mut extra: Vec<DrawnSeat> = Vec::new();
    while extra.len() < replacements {
        let all: Vec<usize> = (0..remaining.len()).collect();
        let Some(member) = take(&mut indices, &mut remaining, &all)? else {
            break;
        };
        extra.push(seat(member, seats.len() + extra.len()));
    }
    Ok(Draw {
        seats,
        replacements: extra,
    })
}

/// Draws one of the `eligible` positions of `remaining` and removes it;
/// `None` if `eligible` is empty.
fn take<'p>(
    indices: &mut Indices<'_>,
    remaining: &mut Vec<&'p PoolMember>,
    eligible: &[usize],
) -> Result<Option<&'p PoolMember>, LotteryError> {
    let Some(k) = NonZeroU64::new(eligible.len() as u64) else {
        return Ok(None);
    };
    // The index is below eligible.len(), so it fits in usize.
    let i = indices.below(k)? as usize;
    Ok(Some(remaining.remove(eligible[i])))
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
    (0..remaining.len()).filter(|&i| keep(remaining[i])).collect()
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
