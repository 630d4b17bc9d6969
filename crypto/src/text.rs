//! Limits on the protocol's text fields and on hex that comes in from outside
//! (`specs/protocol.md` §2.5).
//!
//! Every text field of the manifest and the roster is bounded in UTF-8 bytes
//! and may hold no control character (Unicode general category Cc, which
//! includes NUL), so a board cannot be bloated or made unreadable through its
//! names. Hex is lowercase only: an uppercase digit is refused, never folded,
//! so each value has exactly one text form.
//!
//! Not here: the structural rules (non-empty, distinct ids), which stay with
//! the object they belong to.

use thiserror::Error;

/// Largest election title, in UTF-8 bytes.
pub const MAX_TITLE: usize = 256;
/// Largest identifier (constituency id, candidate id, pseudonym), in UTF-8 bytes.
pub const MAX_ID: usize = 64;
/// Largest display name (constituency, trustee, contributor), in UTF-8 bytes.
pub const MAX_NAME: usize = 128;
/// Largest quota category, in UTF-8 bytes.
pub const MAX_CATEGORY: usize = 32;

/// The kinds of bounded text fields, each with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// The election title ([`MAX_TITLE`]).
    Title,
    /// A constituency id, candidate id or member pseudonym ([`MAX_ID`]).
    Id,
    /// A display name ([`MAX_NAME`]).
    Name,
    /// A quota category ([`MAX_CATEGORY`]).
    Category,
}

impl TextField {
    /// The largest length, in UTF-8 bytes.
    pub fn max_bytes(self) -> usize {
        match self {
            TextField::Title => MAX_TITLE,
            TextField::Id => MAX_ID,
            TextField::Name => MAX_NAME,
            TextField::Category => MAX_CATEGORY,
        }
    }
}

/// Why a text field or a hex value is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    /// Longer than its field's limit.
    #[error("{field} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// Which field (e.g. `title`, `candidate id`).
        field: String,
        /// Its length in UTF-8 bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Holds a control character (NUL, newline, tab, …).
    #[error("{field} contains a control character")]
    ControlCharacter {
        /// Which field.
        field: String,
    },
}

/// Checks one text field: at most `kind`'s limit in bytes, no control character.
/// `field` names it in the error.
pub fn check(kind: TextField, field: &str, value: &str) -> Result<(), TextError> {
    let max = kind.max_bytes();
    if value.len() > max {
        return Err(TextError::TooLong {
            field: field.to_owned(),
            len: value.len(),
            max,
        });
    }
    if value.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// Why a hex value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HexError {
    /// A character other than `0-9` and `a-f`, or an odd number of digits.
    #[error("not lowercase hex")]
    NotLowercaseHex,
    /// The wrong number of bytes.
    #[error("{got} hex digits where {expected} are required")]
    Length {
        /// Digits required.
        expected: usize,
        /// Digits given.
        got: usize,
    },
}

/// Decodes lowercase hex of any (even) length; uppercase digits are refused.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, HexError> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(HexError::NotLowercaseHex);
    }
    hex::decode(text).map_err(|_| HexError::NotLowercaseHex)
}

/// Decodes exactly `N` bytes of lowercase hex.
pub fn decode_hex_array<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    if text.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            got: text.len(),
        });
    }
    let bytes = decode_hex(text)?;
    bytes.try_into().map_err(|_| HexError::NotLowercaseHex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_control_characters() {
        assert!(check(TextField::Title, "title", &"a".repeat(MAX_TITLE)).is_ok());
        assert_eq!(
            check(TextField::Title, "title", &"a".repeat(MAX_TITLE + 1)),
            Err(TextError::TooLong {
                field: "title".into(),
                len: MAX_TITLE + 1,
                max: MAX_TITLE
            })
        );
        // The limit counts bytes, not characters.
        assert!(check(TextField::Id, "id", &"é".repeat(MAX_ID / 2)).is_ok());
        assert!(check(TextField::Id, "id", &"é".repeat(MAX_ID / 2 + 1)).is_err());
        for bad in ["a\0b", "a\nb", "\t", "a\u{7f}", "a\u{85}"] {
            assert_eq!(
                check(TextField::Name, "name", bad),
                Err(TextError::ControlCharacter {
                    field: "name".into()
                }),
                "{bad:?}"
            );
        }
        assert!(check(TextField::Name, "name", "Nord-Pas-de-Calais – Ære").is_ok());
    }

    #[test]
    fn hex_is_lowercase_only() {
        assert_eq!(decode_hex("00ff"), Ok(vec![0, 255]));
        assert_eq!(decode_hex("FF"), Err(HexError::NotLowercaseHex));
        assert_eq!(decode_hex("fF"), Err(HexError::NotLowercaseHex));
        assert_eq!(decode_hex("abc"), Err(HexError::NotLowercaseHex));
        assert_eq!(decode_hex(" ab"), Err(HexError::NotLowercaseHex));
        assert_eq!(decode_hex("+1"), Err(HexError::NotLowercaseHex));
        assert_eq!(decode_hex_array::<2>("abcd"), Ok([0xab, 0xcd]));
        assert_eq!(
            decode_hex_array::<2>("ABCD"),
            Err(HexError::NotLowercaseHex)
        );
        assert_eq!(
            decode_hex_array::<2>("ab"),
            Err(HexError::Length {
                expected: 4,
                got: 2
            })
        );
        // A multi-byte character cannot pass for two digits.
        assert_eq!(decode_hex_array::<1>("é"), Err(HexError::NotLowercaseHex));
    }
}
