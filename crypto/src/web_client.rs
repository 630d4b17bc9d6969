//! The web client's listing and digest (`specs/protocol.md` §3.10): the
//! lines `<sha256 hex>  <path>\n` of every bundle file sorted by path, whose
//! SHA-256 is the client digest the manifest records. The service builds the
//! listing of the bundle it embeds; a verifier parses the listing a service
//! serves, checks each file against it and its digest against the manifest.
//!
//! The format is what `sha256sum` prints, so that an auditor recomputes the
//! digest of a bundle built from source with standard tools; it is therefore
//! plain SHA-256, not a tagged hash.

use sha2::{Digest, Sha256};

/// Why a served listing is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    /// A line is not `<64 lowercase hex>  <path>\n`.
    #[error("line {line} is not \"<64 lowercase hex digits>  <path>\"")]
    Line {
        /// 1-based line number.
        line: usize,
    },
    /// A path is empty, absolute, holds `.` or `..` parts, a backslash or a
    /// control character.
    #[error("line {line}: the path {path:?} is not a plain relative path")]
    Path {
        /// 1-based line number.
        line: usize,
        /// The path.
        path: String,
    },
    /// Paths are not strictly increasing (bytewise).
    #[error("line {line}: {path:?} is out of order or repeated")]
    Order {
        /// 1-based line number.
        line: usize,
        /// The path.
        path: String,
    },
    /// The listing is empty or does not end with a newline.
    #[error("the listing is empty or its last line has no newline")]
    Unterminated,
}

/// One listed file: its SHA-256 and its path in the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// Path relative to the bundle root, `/`-separated.
    pub path: String,
}

/// SHA-256 of `bytes`, the hash of one bundle file.
pub fn file_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The listing of a bundle given as `(path, bytes)` pairs, sorted by path.
pub fn listing<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut files: Vec<(&str, [u8; 32])> = files.map(|(p, b)| (p, file_hash(b))).collect();
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files
        .iter()
        .map(|(p, h)| format!("{}  {p}\n", hex::encode(h)))
        .collect()
}

/// The client digest: SHA-256 of the listing's bytes.
pub fn digest(listing: &[u8]) -> [u8; 32] {
    Sha256::digest(listing).into()
}

fn plain_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// Parses a listing, refusing anything [`listing`] would not have written.
pub fn parse_listing(text: &str) -> Result<Vec<ListedFile>, ListingError> {
    let Some(body) = text.strip_suffix('\n') else {
        return Err(ListingError::Unterminated);
    };
    let mut out: Vec<ListedFile> = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        let (hash, path) = line
            .split_once("  ")
            .ok_or(ListingError::Line { line: n })?;
        let sha256 =
            crate::text::decode_hex_array(hash).map_err(|_| ListingError::Line { line: n })?;
        if !plain_path(path) {
            return Err(ListingError::Path {
                line: n,
                path: path.into(),
            });
        }
        if out
            .last()
            .is_some_and(|last| last.path.as_bytes() >= path.as_bytes())
        {
            return Err(ListingError::Order {
                line: n,
                path: path.into(),
            });
        }
        out.push(ListedFile {
            sha256,
            path: path.into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_sha256sum_output_and_parses_back() {
        let files: [(&str, &[u8]); 2] = [("index.html", b"<p>"), ("assets/a.js", b"")];
        let text = listing(files.iter().copied());
        // The empty file's SHA-256 is the well-known e3b0c442….
        assert_eq!(
            text,
            format!(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  assets/a.js\n\
                 {}  index.html\n",
                hex::encode(file_hash(b"<p>"))
            )
        );
        let parsed = parse_listing(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].path, "assets/a.js");
        assert_eq!(parsed[1].sha256, file_hash(b"<p>"));
    }

    #[test]
    fn listings_out_of_form_are_refused() {
        let h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let upper = h.to_uppercase();
        let cases: Vec<(String, ListingError)> = vec![
            (String::new(), ListingError::Unterminated),
            (format!("{h}  a"), ListingError::Unterminated),
            (format!("{upper}  a\n"), ListingError::Line { line: 1 }),
            (format!("{h} a\n"), ListingError::Line { line: 1 }),
            (format!("{h}  a\n\n"), ListingError::Line { line: 2 }),
            (
                format!("{h}  ../a\n"),
                ListingError::Path {
                    line: 1,
                    path: "../a".into(),
                },
            ),
            (
                format!("{h}  /a\n"),
                ListingError::Path {
                    line: 1,
                    path: "/a".into(),
                },
            ),
            (
                format!("{h}  b\n{h}  a\n"),
                ListingError::Order {
                    line: 2,
                    path: "a".into(),
                },
            ),
            (
                format!("{h}  a\n{h}  a\n"),
                ListingError::Order {
                    line: 2,
                    path: "a".into(),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_listing(&text), Err(want), "{text:?}");
        }
    }
}
