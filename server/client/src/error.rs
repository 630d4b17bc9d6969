//! The errors of the client library: a refused request, an unexpected
//! answer, or a proof that does not verify.

/// Why a request to an urne server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the server at {url}: {reason}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with an error status and its stable JSON error code.
    #[error("the server refused the request ({code}): {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// Stable error code (`error` field of the JSON body).
        code: String,
        /// Human-readable message.
        message: String,
    },
    /// The server's answer is not what the API promises.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// A receipt, checkpoint or proof from the server does not verify.
    #[error("the server's proof does not verify: {0}")]
    Proof(String),
    /// The server presents a board key other than the one pinned at first contact.
    #[error("the board key changed: pinned {pinned}, the server now presents {presented}")]
    BoardKeyChanged {
        /// Pinned key, hex.
        pinned: String,
        /// Presented key, hex.
        presented: String,
    },
}

impl ClientError {
    /// The server's stable error code, if the server refused the request.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Status { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if the server refused the request.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A [`ClientError::Decode`] with `what` as its text.
    pub fn decode(what: impl std::fmt::Display) -> Self {
        ClientError::Decode(what.to_string())
    }

    /// A [`ClientError::Proof`] with `what` as its text.
    pub fn proof(what: impl std::fmt::Display) -> Self {
        ClientError::Proof(what.to_string())
    }
}
