//! Enrolment invitations, held by the organiser before the service learns of
//! them: the organiser's client draws every member's one-time token, saves the
//! tokens (the caller writes [`tokens_file`] with mode 0600 before sending),
//! and sends the roster with only the tokens' digests ([`import_body`]). A lost
//! answer loses nothing: the same file sent again gets the same answer.
//!
//! No I/O here: the command line and the demo read and write the files.

use rand_core::CryptoRng;
use urne_crypto::entry::enrolment_token_digest;
use zeroize::Zeroizing;

use crate::election::roster::{HEADER, IMPORT_HEADER};

/// Why invitations cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// The roster file is not the expected CSV.
    #[error("roster: {0}")]
    Roster(String),
    /// The tokens file is not the expected CSV.
    #[error("tokens file: {0}")]
    TokensFile(String),
    /// The tokens file lists other members than the roster (or in another order).
    #[error("the tokens file was made for another roster (line {line} differs)")]
    OtherRoster {
        /// 1-based line of the roster where the two first differ.
        line: usize,
    },
}

/// One member's one-time enrolment token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberToken {
    /// The member's pseudonym.
    pub pseudonym: String,
    /// The token: 64 lowercase hex digits.
    pub token: Zeroizing<String>,
}

/// The invitation a member receives: election id, pseudonym and token in one string.
pub fn invitation(election: &[u8; 32], pseudonym: &str, token: &str) -> String {
    format!(
        "urne1:{}:{}:{token}",
        hex::encode(election),
        hex::encode(pseudonym)
    )
}

/// The invitation as a link: the service's URL with the invitation in the
/// fragment (`SERVER/#join=urne1:…`), which a browser never sends to the
/// server, so a voter's first command (or the web app) needs nothing else.
pub fn invitation_link(server: &str, election: &[u8; 32], pseudonym: &str, token: &str) -> String {
    format!(
        "{}/#join={}",
        server.trim_end_matches('/'),
        invitation(election, pseudonym, token)
    )
}

pub use urne_client::invitation::split_link;

/// The invitation of each member, as the organiser pastes it into a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationFormat {
    /// CSV `pseudonym,invitation`.
    Csv,
    /// One short letter per member.
    Txt,
}

/// Renders every member's invitation link in `format`.
pub fn render(
    format: InvitationFormat,
    server: &str,
    election: &[u8; 32],
    title: &str,
    tokens: &[MemberToken],
) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    match format {
        InvitationFormat::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
            let _ = w.write_record(["pseudonym", "invitation"]);
            for t in tokens {
                let link = invitation_link(server, election, &t.pseudonym, &t.token);
                // Writing to a Vec cannot fail.
                let _ = w.write_record([t.pseudonym.as_str(), link.as_str()]);
            }
            let body = Zeroizing::new(w.into_inner().unwrap_or_default());
            out.push_str(&String::from_utf8_lossy(&body));
        }
        InvitationFormat::Txt => {
            for t in tokens {
                let link = invitation_link(server, election, &t.pseudonym, &t.token);
                out.push_str(&format!(
                    "----- {pseudonym} -----\n\
                     Hello {pseudonym},\n\n\
                     you are invited to vote in \"{title}\". This is your personal invitation; \
                     it works once, so do not pass it on:\n\n    {link}\n\n\
                     To enrol with the urne command line, run\n\n    urne voter enroll --token '{link}'\n\n\
                     When you enrol you are shown a recovery code: write it down, it is the only \
                     way back to your vote if you lose your wallet.\n\n",
                    pseudonym = t.pseudonym
                ));
            }
        }
    }
    out
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes())
}

/// The roster's records (header checked and left out).
fn records(roster: &str) -> Result<Vec<csv::StringRecord>, InvitationError> {
    let err = |e: csv::Error| InvitationError::Roster(e.to_string());
    let mut rows = reader(roster).into_records();
    match rows.next() {
        Some(Ok(h)) if h.iter().eq(HEADER) => {}
        Some(Err(e)) => return Err(err(e)),
        _ => {
            return Err(InvitationError::Roster(
                "line 1: the header must be `pseudonym,constituency,pool,category`".into(),
            ))
        }
    }
    rows.map(|r| r.map_err(err)).collect()
}

/// Draws one fresh token: 32 random bytes, as 64 lowercase hex digits.
pub fn fresh_token<R: CryptoRng + ?Sized>(rng: &mut R) -> Zeroizing<String> {
    let mut token = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(token.as_mut());
    Zeroizing::new(hex::encode(token.as_ref()))
}

/// Draws one fresh token per member of `roster`, in file order.
pub fn draw<R: CryptoRng + ?Sized>(
    roster: &str,
    rng: &mut R,
) -> Result<Vec<MemberToken>, InvitationError> {
    Ok(records(roster)?
        .iter()
        .map(|r| MemberToken {
            pseudonym: r[0].to_string(),
            token: fresh_token(rng),
        })
        .collect())
}

/// The roster as the service takes it: each line with the digest of its
/// member's token. `tokens` must list the roster's members in file order.
pub fn import_body(roster: &str, tokens: &[MemberToken]) -> Result<String, InvitationError> {
    let records = records(roster)?;
    if records.len() != tokens.len() {
        return Err(InvitationError::OtherRoster {
            line: records.len().min(tokens.len()) + 2,
        });
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| InvitationError::Roster(e.to_string());
    w.write_record(IMPORT_HEADER).map_err(io)?;
    for (i, (r, t)) in records.iter().zip(tokens).enumerate() {
        if r[0] != t.pseudonym {
            return Err(InvitationError::OtherRoster { line: i + 2 });
        }
        let token: [u8; 32] = urne_crypto::text::decode_hex_array(&t.token)
            .map_err(|e| InvitationError::TokensFile(format!("token of {:?}: {e}", t.pseudonym)))?;
        let digest = hex::encode(enrolment_token_digest(&token));
        let mut fields: Vec<&str> = r.iter().collect();
        fields.push(&digest);
        w.write_record(fields).map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| InvitationError::Roster(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| InvitationError::Roster(e.to_string()))
}

/// The tokens file: CSV `pseudonym,token,invitation`, one member per line,
/// the invitation as a link to `server` ([`invitation_link`]).
pub fn tokens_file(
    server: &str,
    election: &[u8; 32],
    tokens: &[MemberToken],
) -> Zeroizing<Vec<u8>> {
    let mut out = String::from("pseudonym,token,invitation\n");
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for t in tokens {
        // Writing to a Vec cannot fail.
        let _ = w.write_record([
            t.pseudonym.as_str(),
            t.token.as_str(),
            &invitation_link(server, election, &t.pseudonym, &t.token),
        ]);
    }
    let body = Zeroizing::new(w.into_inner().unwrap_or_default());
    out.push_str(&String::from_utf8_lossy(&body));
    Zeroizing::new(out.into_bytes())
}

/// Reads a tokens file written by [`tokens_file`].
pub fn read_tokens_file(bytes: &[u8]) -> Result<Vec<MemberToken>, InvitationError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| InvitationError::TokensFile("not valid UTF-8".into()))?;
    let err = |e: csv::Error| InvitationError::TokensFile(e.to_string());
    let mut rows = reader(text).into_records();
    match rows.next() {
        Some(Ok(h)) if h.iter().eq(["pseudonym", "token", "invitation"]) => {}
        Some(Err(e)) => return Err(err(e)),
        _ => return Err(InvitationError::TokensFile("unexpected header".into())),
    }
    rows.map(|r| {
        let r = r.map_err(err)?;
        Ok(MemberToken {
            pseudonym: r[0].to_string(),
            token: Zeroizing::new(r[1].to_string()),
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const ROSTER: &str =
        "pseudonym,constituency,pool,category\nada,north,yes,F\n\"b, o\",south,no,\n";

    #[test]
    fn tokens_round_trip_and_only_digests_are_sent() {
        let tokens = draw(ROSTER, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_ne!(tokens[0].token, tokens[1].token);
        let file = tokens_file("https://vote.example/", &[3; 32], &tokens);
        assert_eq!(read_tokens_file(&file).unwrap(), tokens);
        let body = import_body(ROSTER, &tokens).unwrap();
        assert!(!body.contains(tokens[0].token.as_str()));
        let mut t = [0u8; 32];
        hex::decode_to_slice(tokens[1].token.as_str(), &mut t).unwrap();
        let digest = hex::encode(enrolment_token_digest(&t));
        assert_eq!(
            body,
            format!(
                "pseudonym,constituency,pool,category,token_digest\nada,north,yes,F,{}\n\"b, o\",south,no,,{digest}\n",
                {
                    hex::decode_to_slice(tokens[0].token.as_str(), &mut t).unwrap();
                    hex::encode(enrolment_token_digest(&t))
                }
            )
        );
        // The same tokens give the same body (a retry is the same import).
        assert_eq!(import_body(ROSTER, &tokens).unwrap(), body);
    }

    #[test]
    fn an_invitation_is_a_link_with_the_token_in_the_fragment() {
        let link = invitation_link("https://vote.example/", &[3; 32], "b, o", "ab12");
        assert_eq!(
            link,
            format!(
                "https://vote.example/#join=urne1:{}:622c206f:ab12",
                "03".repeat(32)
            )
        );
        let (server, text) = split_link(&link);
        assert_eq!(server, Some("https://vote.example"));
        assert!(text.starts_with("urne1:") && text.ends_with(":ab12"));
        assert_eq!(split_link(" urne1:x:y:z "), (None, "urne1:x:y:z"));
        assert_eq!(split_link("#join=urne1:x"), (None, "urne1:x"));
        let tokens = draw(ROSTER, &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
        let csv = render(InvitationFormat::Csv, "http://h:1", &[3; 32], "T", &tokens);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "pseudonym,invitation");
        assert_eq!(lines.len(), 3);
        assert!(lines[2].starts_with("\"b, o\",http://h:1/#join=urne1:"));
        assert!(lines[1].ends_with(tokens[0].token.as_str()));
        let txt = render(InvitationFormat::Txt, "http://h:1", &[3; 32], "T", &tokens);
        assert_eq!(txt.matches("#join=urne1:").count(), 4);
        assert!(txt.contains("Hello ada,") && txt.contains("recovery code"));
    }

    #[test]
    fn tokens_of_another_roster_are_refused() {
        let tokens = draw(ROSTER, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        let other = "pseudonym,constituency,pool,category\nada,north,yes,F\ncy,south,no,\n";
        assert_eq!(
            import_body(other, &tokens),
            Err(InvitationError::OtherRoster { line: 3 })
        );
        assert_eq!(
            import_body(&format!("{other}dee,north,no,\n"), &tokens),
            Err(InvitationError::OtherRoster { line: 4 })
        );
        assert!(matches!(
            draw(
                "name,constituency,pool,category\n",
                &mut ChaCha20Rng::seed_from_u64(1)
            ),
            Err(InvitationError::Roster(_))
        ));
    }
}
