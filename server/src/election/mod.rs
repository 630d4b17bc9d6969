//! Elections on the board: identifiers, the election record kept by the
//! sequencer for each election's log, and what the API reads of it.
//!
//! Every entry appended to an election's log goes through its
//! [`machine::ElectionMachine`], which applies it to the election's
//! [`urne_crypto::record::Record`]: the record is the single source of truth
//! for the protocol's rules. The API reads a [`status::Snapshot`] published
//! after each commit.

pub mod machine;
pub mod registry;
pub mod roster;
pub mod status;
pub mod tables;

use std::fmt;
use std::str::FromStr;

/// Identifier of an election, and so of its board log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElectionId(pub [u8; 32]);

/// Why a string is not an election id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElectionIdError {
    /// Not exactly 64 characters.
    #[error("an election id is 64 hex digits, got {0} characters")]
    Length(usize),
    /// A character other than `0-9a-f`.
    #[error("an election id is lowercase hex")]
    NotLowercaseHex,
}

impl ElectionId {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The canonical text form: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for ElectionId {
    type Err = ElectionIdError;

    /// Parses the canonical form only, so each election has exactly one URL.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(ElectionIdError::Length(s.len()));
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ElectionIdError::NotLowercaseHex);
        }
        let mut id = [0u8; 32];
        hex::decode_to_slice(s, &mut id).map_err(|_| ElectionIdError::NotLowercaseHex)?;
        Ok(Self(id))
    }
}

impl fmt::Display for ElectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ElectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ElectionId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_non_canonical_text() {
        let id = ElectionId([0xab; 32]);
        assert_eq!(id.to_hex().parse::<ElectionId>(), Ok(id));
        assert_eq!(
            "AB".repeat(32).parse::<ElectionId>(),
            Err(ElectionIdError::NotLowercaseHex)
        );
        assert_eq!("ab".parse::<ElectionId>(), Err(ElectionIdError::Length(2)));
        assert_eq!(
            format!("{}zz", "a".repeat(62)).parse::<ElectionId>(),
            Err(ElectionIdError::NotLowercaseHex)
        );
        // A multi-byte character must not slip through the length check.
        assert!(format!("{}é", "a".repeat(62))
            .parse::<ElectionId>()
            .is_err());
    }
}
