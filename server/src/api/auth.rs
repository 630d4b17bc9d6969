//! Organiser authentication: a bearer token fixed at start-up.
//!
//! The server keeps only a domain-separated SHA-256 digest of the token and
//! compares digests in constant time, so neither the token's bytes nor its
//! length leak through timing.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use urne_crypto::hash::tagged;

use super::error::ApiError;
use super::AppState;

const TOKEN_LABEL: &str = "urne/v1/organiser-token";
/// Shortest organiser token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// The digest of the organiser's bearer token.
#[derive(Clone)]
pub struct OrganiserToken {
    digest: [u8; 32],
}

/// Why a token was refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Shorter than [`MIN_TOKEN_LEN`] bytes.
    #[error("the organiser token must be at least {MIN_TOKEN_LEN} characters")]
    TooShort,
    /// Holds characters that cannot appear in an HTTP header.
    #[error("the organiser token must be printable ASCII without spaces")]
    NotPrintable,
}

impl OrganiserToken {
    /// Hashes the configured token.
    pub fn new(token: &str) -> Result<Self, TokenError> {
        if token.len() < MIN_TOKEN_LEN {
            return Err(TokenError::TooShort);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotPrintable);
        }
        Ok(Self {
            digest: tagged(TOKEN_LABEL, &[token.as_bytes()]),
        })
    }

    /// Whether `presented` is the token, in time independent of both.
    pub fn matches(&self, presented: &[u8]) -> bool {
        tagged(TOKEN_LABEL, &[presented]).ct_eq(&self.digest).into()
    }
}

impl std::fmt::Debug for OrganiserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrganiserToken(..)")
    }
}

/// Proof that the request carried the organiser's bearer token.
pub struct Organiser;

impl FromRequestParts<AppState> for Organiser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = &state.organiser else {
            return Err(ApiError::Forbidden(
                "this server has no organiser token configured",
            ));
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        if token.matches(presented) {
            Ok(Organiser)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_configured_token() {
        let token = OrganiserToken::new("correct-horse-battery").unwrap();
        assert!(token.matches(b"correct-horse-battery"));
        assert!(!token.matches(b"correct-horse-batterY"));
        assert!(!token.matches(b"correct-horse-battery "));
        assert!(!token.matches(b""));
        assert!(matches!(
            OrganiserToken::new("short"),
            Err(TokenError::TooShort)
        ));
        assert!(matches!(
            OrganiserToken::new("correct horse battery"),
            Err(TokenError::NotPrintable)
        ));
    }
}
