//! The roster CSV an organiser imports. The organiser's file has the header
//! [`HEADER`] (`pseudonym,constituency,pool,category`); the organiser's
//! client draws each member's enrolment token, keeps it, and sends the file
//! with one more column, the token's digest ([`IMPORT_HEADER`]). One member
//! per line, parsed strictly (every error names its line).

use std::collections::HashMap;

use urne_crypto::entry::{member_id, RosterMember};
use urne_crypto::manifest::{ElectionId, Manifest};
use urne_crypto::text::{check, TextField};

/// The header of the organiser's roster file.
pub const HEADER: [&str; 4] = ["pseudonym", "constituency", "pool", "category"];

/// The header of a roster as the service takes it: the organiser's columns
/// and the digest of each member's enrolment token (64 lowercase hex digits).
pub const IMPORT_HEADER: [&str; 5] = [
    "pseudonym",
    "constituency",
    "pool",
    "category",
    "token_digest",
];

/// Members per roster entry: a larger roster becomes several entries.
pub const CHUNK: usize = 5000;

/// Why a roster cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    /// The first line is not the header.
    #[error("line 1: the header must be `pseudonym,constituency,pool,category,token_digest`")]
    Header,
    /// The file has no member.
    #[error("the roster has no member")]
    Empty,
    /// A line is not valid CSV with four fields.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A field's value is not acceptable.
    #[error("line {line}: {message}")]
    Field {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A field is longer than its limit or holds a control character.
    #[error("line {line}: {source}")]
    Text {
        /// 1-based line number.
        line: u64,
        /// Which limit.
        source: urne_crypto::text::TextError,
    },
    /// Two members have the same token digest.
    #[error("line {line}: the token digest of line {first} again")]
    DuplicateToken {
        /// Its first line.
        first: u64,
        /// The repeated line.
        line: u64,
    },
    /// A pseudonym appears twice.
    #[error("line {line}: pseudonym {pseudonym:?} already on line {first}")]
    Duplicate {
        /// The pseudonym.
        pseudonym: String,
        /// Its first line.
        first: u64,
        /// The repeated line.
        line: u64,
    },
}

/// One member of an imported roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLine {
    /// The member's pseudonym.
    pub pseudonym: String,
    /// Index of the member's constituency in the manifest.
    pub constituency: usize,
    /// The roster line as published.
    pub member: RosterMember,
    /// The digest of the member's enrolment token.
    pub token_digest: [u8; 32],
}

fn field_ok(s: &str) -> bool {
    s.trim() == s && !s.chars().any(char::is_control)
}

/// Parses and checks a roster against the manifest of `election`.
pub fn parse(
    text: &[u8],
    election: &ElectionId,
    manifest: &Manifest,
) -> Result<Vec<RosterLine>, RosterError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .trim(csv::Trim::None)
        .from_reader(text);
    let mut records = reader.records();
    let syntax = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths { len, .. } => {
                format!(
                    "{len} fields, expected 5 (pseudonym,constituency,pool,category,token_digest)"
                )
            }
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        RosterError::Syntax { line, message }
    };
    match records.next() {
        Some(Ok(header)) if header.iter().eq(IMPORT_HEADER) => {}
        Some(Err(e)) => return Err(syntax(e)),
        _ => return Err(RosterError::Header),
    }
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut digests: HashMap<[u8; 32], u64> = HashMap::new();
    for record in records {
        let record = record.map_err(syntax)?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |message: String| RosterError::Field { line, message };
        let (pseudonym, constituency, pool, category) =
            (&record[0], &record[1], &record[2], &record[3]);
        let token_digest: [u8; 32] = urne_crypto::text::decode_hex_array(&record[4])
            .map_err(|_| field("token_digest must be 64 lowercase hex digits".into()))?;
        if let Some(&first) = digests.get(&token_digest) {
            return Err(RosterError::DuplicateToken { first, line });
        }
        digests.insert(token_digest, line);
        let text = |source| RosterError::Text { line, source };
        check(TextField::Id, "pseudonym", pseudonym).map_err(text)?;
        check(TextField::Category, "category", category).map_err(text)?;
        if pseudonym.is_empty() || !field_ok(pseudonym) {
            return Err(field(format!(
                "pseudonym {pseudonym:?} is empty or has surrounding spaces or control characters"
            )));
        }
        if !field_ok(category) {
            return Err(field(format!(
                "category {category:?} has surrounding spaces or control characters"
            )));
        }
        let index = manifest
            .constituencies
            .iter()
            .position(|c| c.id == constituency)
            .ok_or_else(|| field(format!("unknown constituency {constituency:?}")))?;
        let pool = match pool {
            "yes" => true,
            "no" => false,
            other => return Err(field(format!("pool must be `yes` or `no`, not {other:?}"))),
        };
        // Categories are those of the constituency's candidates and quotas.
        let c = &manifest.constituencies[index];
        let known = |cat: &str| {
            c.candidates.iter().any(|k| k.category == cat)
                || c.rules.quotas.iter().any(|q| q.category == cat)
        };
        let has_categories =
            c.candidates.iter().any(|k| !k.category.is_empty()) || !c.rules.quotas.is_empty();
        if !category.is_empty() && !known(category) {
            let mut names: Vec<&str> = c
                .candidates
                .iter()
                .map(|k| k.category.as_str())
                .chain(c.rules.quotas.iter().map(|q| q.category.as_str()))
                .filter(|k| !k.is_empty())
                .collect();
            names.sort_unstable();
            names.dedup();
            return Err(field(format!(
                "category {category:?} is not one of constituency {constituency:?} ({})",
                if names.is_empty() {
                    "it has none: leave the category empty".to_string()
                } else {
                    format!("its categories: {}", names.join(", "))
                }
            )));
        }
        if pool && category.is_empty() && has_categories {
            return Err(field(format!(
                "a lottery pool member needs a category: constituency {constituency:?} \
                 draws seats under its quotas"
            )));
        }
        if let Some(&first) = seen.get(pseudonym) {
            return Err(RosterError::Duplicate {
                pseudonym: pseudonym.to_string(),
                first,
                line,
            });
        }
        seen.insert(pseudonym.to_string(), line);
        out.push(RosterLine {
            pseudonym: pseudonym.to_string(),
            constituency: index,
            member: RosterMember {
                member: member_id(election, pseudonym),
                constituency: constituency.to_string(),
                pool_pseudonym: if pool {
                    pseudonym.to_string()
                } else {
                    String::new()
                },
                category: category.to_string(),
            },
            token_digest,
        });
    }
    if out.is_empty() {
        return Err(RosterError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use urne_crypto::credential::RegistrarKey;
    use urne_crypto::lottery::DrawMethod;
    use urne_crypto::manifest::{Beacon, Candidate, Constituency, Lottery, PROTOCOL_VERSION};
    use urne_crypto::seats::{ParityRule, SeatRules};

    fn manifest() -> Manifest {
        let key = RegistrarKey::generate(&mut urne_crypto::group::os_rng()).public();
        let c = |id: &str| Constituency {
            id: id.into(),
            name: id.into(),
            candidates: vec![Candidate {
                id: format!("{id}-a"),
                category: "F".into(),
            }],
            approval_min: 0,
            approval_max: 1,
            rules: SeatRules {
                seats: 1,
                lottery_seats: 0,
                quotas: vec![],
                parity: ParityRule::None,
            },
            registrar_key: key,
        };
        Manifest {
            version: PROTOCOL_VERSION,
            title: "t".into(),
            salt: [0; 16],
            board_key: [0; 32],
            constituencies: vec![c("north"), c("south")],
            trustees: vec![],
            threshold: 1,
            lottery: Lottery {
                method: DrawMethod::Drbg,
                contributors: vec![],
                beacon: Some(Beacon::quicknet(1)),
                sources: vec![],
                commit_deadline: 0,
                reveal_deadline: 0,
            },
            voting_opens: 0,
            voting_closes: 1,
            witnesses: vec![],
            witness_quorum: 0,
            client_digest: [0; 32],
        }
    }

    /// Parses a roster written in the organiser's four columns, giving line
    /// `n` the digest `n` repeated (a `token_digest` header replaces the header).
    fn parse_str(s: &str) -> Result<Vec<RosterLine>, RosterError> {
        let with_digests: String = s
            .lines()
            .enumerate()
            .map(|(n, l)| {
                if n == 0 {
                    format!("{l},token_digest\n")
                } else {
                    format!("{l},{}\n", hex::encode([n as u8; 32]))
                }
            })
            .collect();
        parse(with_digests.as_bytes(), &[7; 32], &manifest())
    }

    #[test]
    fn parses_members_with_pool_and_category() {
        let lines = parse_str(
            "pseudonym,constituency,pool,category\nada,north,yes,F\n\"b, o\",south,no,\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].constituency, 0);
        assert_eq!(lines[0].member.pool_pseudonym, "ada");
        assert_eq!(lines[0].member.member, member_id(&[7; 32], "ada"));
        assert_eq!(lines[1].pseudonym, "b, o");
        assert_eq!(lines[1].constituency, 1);
        assert_eq!(lines[1].member.pool_pseudonym, "");
    }

    #[test]
    fn every_error_names_its_line() {
        let h = "pseudonym,constituency,pool,category\n";
        let cases = [
            (
                "name,constituency,pool,category\nada,north,yes,F\n",
                "line 1:",
            ),
            (
                &format!("{h}ada,north,yes,F\nbo,west,no,M\n") as &str,
                "line 3: unknown constituency",
            ),
            (&format!("{h}ada,north,maybe,F\n"), "line 2: pool must be"),
            (&format!("{h}ada,north,yes\n"), "line 2: 4 fields"),
            (
                &format!("{h}ada,north,yes,F\nbo,north,no,F\nada,south,no,F\n"),
                "line 4: pseudonym \"ada\" already on line 2",
            ),
            (&format!("{h} ada,north,yes,F\n"), "line 2: pseudonym"),
            (&format!("{h},north,yes,F\n"), "line 2: pseudonym"),
            (
                &format!("{h}ada,north,yes,f\n"),
                "line 2: category \"f\" is not one of constituency \"north\" (its categories: F)",
            ),
            (
                &format!("{h}ada,north,no,F\nbo,north,yes,\n"),
                "line 3: a lottery pool member needs a category",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_str(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
        assert_eq!(parse_str(h), Err(RosterError::Empty));
        assert_eq!(parse_str(""), Err(RosterError::Header));
        let h5 = "pseudonym,constituency,pool,category,token_digest\n";
        let d = |n: u8| hex::encode([n; 32]);
        let bad_utf8 = [
            h5.as_bytes(),
            b"\xff\xfe,north,yes,F,",
            d(1).as_bytes(),
            b"\n",
        ]
        .concat();
        let err = parse(&bad_utf8, &[7; 32], &manifest()).unwrap_err();
        assert!(matches!(err, RosterError::Syntax { line: 2, .. }), "{err}");
        let parse5 = |s: String| parse(s.as_bytes(), &[7; 32], &manifest());
        assert_eq!(
            parse5(format!(
                "{h5}ada,north,yes,F,{}\nbo,north,no,F,{}\n",
                d(1),
                d(1)
            )),
            Err(RosterError::DuplicateToken { first: 2, line: 3 })
        );
        for bad in [d(0xab).to_uppercase(), d(1)[2..].to_string(), String::new()] {
            let err = parse5(format!("{h5}ada,north,yes,F,{bad}\n")).unwrap_err();
            assert!(err.to_string().starts_with("line 2: token_digest"), "{err}");
        }
    }
}
