//! A member's invitation as the member receives it: `urne1:<election
//! hex>:<pseudonym hex>:<token>`, or the link `SERVER/#join=urne1:…` whose
//! fragment a browser never sends to the server.
//!
//! Not here: drawing tokens and rendering invitations for the organiser
//! (`urne-server`'s `client::invitations`).

/// A parsed invitation.
#[derive(Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The election id.
    pub election: [u8; 32],
    /// The member's pseudonym on the roster.
    pub pseudonym: String,
    /// The enrolment token.
    pub token: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("election", &hex::encode(self.election))
            .field("pseudonym", &self.pseudonym)
            .finish_non_exhaustive()
    }
}

/// Why an invitation cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// Not of the form `urne1:<election>:<pseudonym>:<token>`.
    #[error("the invitation is malformed")]
    Malformed,
}

/// Splits an invitation link into the service's URL and the `urne1:` text;
/// a bare `urne1:` text (or token) has no URL.
pub fn split_link(text: &str) -> (Option<&str>, &str) {
    match text.trim().split_once("#join=") {
        Some((server, invitation)) => {
            let server = server.trim_end_matches('/');
            ((!server.is_empty()).then_some(server), invitation)
        }
        None => (None, text.trim()),
    }
}

/// Reads `urne1:<election hex>:<pseudonym hex>:<token>` (or its link).
pub fn parse(text: &str) -> Result<Invitation, InvitationError> {
    let (_, text) = split_link(text);
    let rest = text
        .strip_prefix("urne1:")
        .ok_or(InvitationError::Malformed)?;
    let mut parts = rest.splitn(3, ':');
    let (Some(e), Some(p), Some(t)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(InvitationError::Malformed);
    };
    let election: [u8; 32] = hex::decode(e)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(InvitationError::Malformed)?;
    let pseudonym = hex::decode(p)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .filter(|p| !p.is_empty())
        .ok_or(InvitationError::Malformed)?;
    if t.is_empty() {
        return Err(InvitationError::Malformed);
    }
    Ok(Invitation {
        election,
        pseudonym,
        token: zeroize::Zeroizing::new(t.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_split_and_its_invitation_read() {
        let text = format!(
            "http://vote.example/#join=urne1:{}:{}:{}",
            "ab".repeat(32),
            hex::encode("ana"),
            "cd".repeat(32)
        );
        assert_eq!(split_link(&text).0, Some("http://vote.example"));
        let inv = parse(&text).unwrap();
        assert_eq!(inv.election, [0xab; 32]);
        assert_eq!(inv.pseudonym, "ana");
        assert_eq!(inv.token.as_str(), "cd".repeat(32));
    }

    #[test]
    fn malformed_invitations_are_refused() {
        let e = "ab".repeat(32);
        for bad in [
            String::new(),
            "urne1:".into(),
            format!("urne2:{e}:616e61:tok"),
            format!("urne1:{e}:616e61"),
            format!("urne1:{e}:zz:tok"),
            format!("urne1:{e}::tok"),
            format!("urne1:{e}:616e61:"),
            format!("urne1:{}:616e61:tok", "ab".repeat(31)),
            format!("urne1:{e}:ff:tok"),
        ] {
            assert_eq!(parse(&bad), Err(InvitationError::Malformed), "{bad}");
        }
    }
}
