//! RFC 3797 "Publicly Verifiable Nominations Committee (NomCom) Random
//! Selection": the IETF's published selection algorithm, for organisations
//! that draw with it.
//!
//! The key string is built from public random values (lottery numbers and the
//! like); the `i`-th selection (from 0) hashes `u16be(i) ‖ key ‖ u16be(i)`
//! with MD5, reads the digest as a 128-bit big-endian integer and takes its
//! remainder modulo the number of pool positions not yet selected; the
//! remainder `r` selects the `(r+1)`-th of those positions in ascending order.
//! MD5 is what the RFC prescribes; nothing here relies on its collision
//! resistance.

use std::num::NonZeroU64;

use md5::{Digest, Md5};
use thiserror::Error;

/// Largest number of selections: the index is framed in two bytes.
pub const MAX_SELECTIONS: usize = 1 << 16;

/// Why an RFC 3797 selection or key string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rfc3797Error {
    /// More selections asked than the pool holds.
    #[error("cannot select {select} out of a pool of {pool}")]
    SelectionExceedsPool {
        /// Selections asked for.
        select: usize,
        /// Size of the pool.
        pool: u64,
    },
    /// More selections than the two-byte index can number.
    #[error("{select} selections exceed the RFC 3797 limit of 65536")]
    TooManySelections {
        /// Selections asked for.
        select: usize,
    },
    /// A source of randomness without any value.
    #[error("random source {index} has no values")]
    EmptySource {
        /// Position of the source (from 0).
        index: usize,
    },
}

/// Builds the RFC 3797 key string from the integer values of each public
/// source, in the order the sources were announced: each source's values are
/// sorted ascending and written in decimal without leading zeros, each
/// followed by `.`, and each source is closed by `/`
/// (e.g. `9319./2.5.8.10.12./9.18.26.34.41.45./`).
///
/// Non-integer sources (RFC 3797 §4 allows decimal fractions) are written by
/// the caller directly into the key string given to [`select`].
pub fn key_from_sources(sources: &[&[u64]]) -> Result<String, Rfc3797Error> {
    let mut key = String::new();
    for (index, source) in sources.iter().enumerate() {
        if source.is_empty() {
            return Err(Rfc3797Error::EmptySource { index });
        }
        let mut values = source.to_vec();
        values.sort_unstable();
        for v in values {
            key.push_str(&v.to_string());
            key.push('.');
        }
        key.push('/');
    }
    Ok(key)
}

/// `MD5(u16be(index) ‖ key ‖ u16be(index))`, the RFC 3797 hash of selection `index`.
pub fn digest(key: &str, index: u16) -> [u8; 16] {
    let framing = index.to_be_bytes();
    Md5::new()
        .chain_update(framing)
        .chain_update(key.as_bytes())
        .chain_update(framing)
        .finalize()
        .into()
}

/// The digest read as a 128-bit big-endian integer, modulo `divisor`.
pub fn remainder(digest: &[u8; 16], divisor: NonZeroU64) -> u64 {
    // The remainder is below `divisor`, so it fits in a u64.
    (u128::from_be_bytes(*digest) % u128::from(divisor.get())) as u64
}

/// Selects `select` of the pool positions `1..=pool` without replacement, as
/// RFC 3797 §4 and its reference code do; returns the positions in selection order.
pub fn select(key: &str, pool: u64, select: usize) -> Result<Vec<u64>, Rfc3797Error> {
    if select as u64 > pool {
        return Err(Rfc3797Error::SelectionExceedsPool { select, pool });
    }
    if select > MAX_SELECTIONS {
        return Err(Rfc3797Error::TooManySelections { select });
    }
    let mut chosen = Vec::with_capacity(select);
    let mut sorted: Vec<u64> = Vec::with_capacity(select);
    for i in 0..select {
        // `i < select ≤ pool`, so at least one position remains; `i < 65536`
        // was checked above.
        let Some(remaining) = NonZeroU64::new(pool - i as u64) else {
            break;
        };
        let r = remainder(&digest(key, i as u16), remaining);
        let position = nth_unselected(&sorted, r);
        let at = sorted.partition_point(|&s| s < position);
        sorted.insert(at, position);
        chosen.push(position);
    }
    Ok(chosen)
}

/// The `(r+1)`-th position of `1..` not in `sorted` (ascending, distinct).
fn nth_unselected(sorted: &[u64], r: u64) -> u64 {
    let mut position = r + 1;
    for &s in sorted {
        if s <= position {
            position += 1;
        } else {
            break;
        }
    }
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 3797 §6, "Fully Worked Example": 25 volunteers, three sources.
    const RFC_KEY: &str = "9319./2.5.8.10.12./9.18.26.34.41.45./";

    #[test]
    fn key_string_of_the_rfc_example() {
        let key = key_from_sources(&[&[9319], &[2, 5, 12, 8, 10], &[9, 18, 26, 34, 41, 45]]);
        assert_eq!(key.as_deref(), Ok(RFC_KEY));
        assert_eq!(
            key_from_sources(&[&[1], &[]]),
            Err(Rfc3797Error::EmptySource { index: 1 })
        );
        assert_eq!(key_from_sources(&[&[0, 7, 7]]).as_deref(), Ok("0.7.7./"));
    }

    #[test]
    fn digests_and_remainders_of_the_rfc_example() {
        let expected = [
            ("990DD0A5692A029A98B5E01AA28F3459", 25, 16),
            ("3691E55CB63FCC37914430B2F70B5EC6", 24, 6),
            ("FE814EDF564C190AC1D25753979990FA", 23, 1),
        ];
        for (i, (hex_digest, divisor, rem)) in expected.into_iter().enumerate() {
            let d = digest(RFC_KEY, i as u16);
            assert_eq!(hex::encode_upper(d), hex_digest);
            assert_eq!(remainder(&d, NonZeroU64::new(divisor).unwrap()), rem);
        }
    }

    #[test]
    fn selection_of_the_rfc_example() {
        // RFC 3797 §6: Lee, Doc, Mary, Charity, Kasczynski, Envy, Sneazy,
        // Anger, Chastity, Pandora, Sloth.
        assert_eq!(
            select(RFC_KEY, 25, 11),
            Ok(vec![17, 7, 2, 16, 25, 23, 8, 24, 19, 13, 22])
        );
        // Selecting fewer yields a prefix.
        assert_eq!(select(RFC_KEY, 25, 3), Ok(vec![17, 7, 2]));
    }

    // The IETF NomCom 2012 selection (pool of 134, four sources, 12 selected).
    #[test]
    fn selection_of_the_2012_nomcom() {
        let key = key_from_sources(&[
            &[17, 20, 22, 35, 38, 48, 36],
            &[90193202],
            &[55598744],
            &[11, 17, 21, 48, 50, 9, 10],
        ])
        .unwrap();
        assert_eq!(
            key,
            "17.20.22.35.36.38.48./90193202./55598744./9.10.11.17.21.48.50./"
        );
        assert_eq!(
            hex::encode_upper(digest(&key, 0)),
            "CA30D5996DE35BA57B393541328C4159"
        );
        assert_eq!(
            select(&key, 134, 12),
            Ok(vec![90, 25, 92, 126, 24, 31, 122, 96, 81, 132, 2, 41])
        );
    }

    #[test]
    fn selecting_everything_is_a_permutation_and_limits_are_enforced() {
        let mut all = select(RFC_KEY, 25, 25).unwrap();
        all.sort_unstable();
        assert_eq!(all, (1..=25).collect::<Vec<_>>());
        assert_eq!(select(RFC_KEY, 0, 0), Ok(vec![]));
        assert_eq!(
            select(RFC_KEY, 3, 4),
            Err(Rfc3797Error::SelectionExceedsPool { select: 4, pool: 3 })
        );
        assert_eq!(
            select(RFC_KEY, u64::MAX, MAX_SELECTIONS + 1),
            Err(Rfc3797Error::TooManySelections {
                select: MAX_SELECTIONS + 1
            })
        );
        // Huge pools work with the full 128-bit remainder.
        let big = select(RFC_KEY, u64::MAX, 3).unwrap();
        assert_eq!(big.len(), 3);
        assert!(big.iter().all(|&p| p >= 1));
    }

    #[test]
    fn nth_unselected_skips_taken_positions() {
        assert_eq!(nth_unselected(&[], 0), 1);
        assert_eq!(nth_unselected(&[1, 2, 5], 0), 3);
        assert_eq!(nth_unselected(&[1, 2, 5], 1), 4);
        assert_eq!(nth_unselected(&[1, 2, 5], 2), 6);
    }
}
