//! A failed role command: one clear line and a hint.

use crate::client::keys::KeyFileError;
use crate::client::secret_file::SecretFileError;
use crate::client::wallet::WalletError;
use crate::client::ClientError;

/// A failed command: what went wrong, and what to try.
#[derive(Debug)]
pub struct Failure {
    /// One line saying what went wrong.
    pub message: String,
    /// What to try next.
    pub hint: Option<String>,
}

impl Failure {
    /// An error with a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An error without a hint.
    pub fn plain(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
        }
    }
}

impl std::error::Error for Failure {}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The hint for a stable server error code.
fn hint_for_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "unauthorized" => "pass the organiser token with --token or URNE_ORGANISER_TOKEN",
        "bad_token" => "check the enrolment token you were given (copy it exactly)",
        "token_used" => "this invitation was already used or replaced by a newer one; enrol only once, with your latest invitation",
        "already_enrolled" => "a member who enrolled and lost the wallet rebuilds it with the recovery code shown at enrolment: `urne voter recover --code CODE --invitation INVITATION`",
        "unknown_token" => "the tokens file does not match this election's roster; pass the tokens file of this import",
        "out_of_phase" => "check the election's phase with `urne admin status`",
        "lottery_out_of_order" => "the lottery goes: reveals, `urne admin reveals-close`, `urne admin beacon`, `urne admin seats`; check where it stands with `urne admin status`",
        "beacon_round_passed" => "the manifest's beacon round is already published, so the reveals can no longer be closed fairly; the lottery of this election cannot be drawn",
        "bad_beacon" => "post exactly the drand round the manifest names, as drand serves it (`urne admin beacon --from ROUND.json`)",
        "bad_rfc3797_values" => "post one list per source the manifest declares, each with the declared count of numbers (`--values 9319/2,5,12,8,10`)",
        "already_issued" => "this member already has a credential; use the wallet that obtained it",
        "challenge_mismatch" => "resume with the wallet that started the credential request",
        "duplicate" => "this was already recorded on the board",
        "roster_import_superseded" => "another roster import naming some of the same members ran at the same time; run the same import again with the same tokens file",
        "roster_import_in_progress" => "a roster import is still being written to the board; wait a minute, or run that same import again with the same tokens file to finish it, then try again",
        "election_in_use" => "members, trustees or contributors have already written to this election's board, so it stays; if it must not run, simply never open it",
        "invalid_proof" | "bad_signature" | "mismatch" => {
            "the server rejected the entry as invalid"
        }
        "unknown_reference" | "missing_prerequisite" => "a step before this one is missing",
        "unknown_election" => {
            "check the election id (`urne admin status`, or --election)"
        }
        "rate_limited" => "wait a moment and try again",
        "no_route" | "method_not_allowed" => {
            "the server does not offer this route; it may run another version"
        }
        "storage_unavailable" | "internal_error" | "timeout" => {
            "the server has a problem; try again later"
        }
        "shutting_down" => "the server is restarting; try again in a moment",
        _ => return None,
    })
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let hint = match &e {
            ClientError::Transport { .. } => {
                Some("check --server (or `server` in the config file) and that the server runs")
            }
            ClientError::Status { code, .. } => hint_for_code(code),
            ClientError::Decode(_) => Some("the server may run an incompatible version"),
            ClientError::Proof(_) => {
                Some("do not trust this server's answers; keep the output and report it")
            }
            ClientError::BoardKeyChanged { .. } => {
                Some("the server is not the one you first contacted, or its key was replaced")
            }
        };
        let message = match &e {
            ClientError::Status { message, code, .. } if !message.is_empty() => {
                format!("the server refused the request: {message} ({code})")
            }
            _ => e.to_string(),
        };
        Failure {
            message,
            hint: hint.map(str::to_string),
        }
    }
}

impl From<SecretFileError> for Failure {
    fn from(e: SecretFileError) -> Self {
        let hint = match &e {
            SecretFileError::Missing(_) => "check the path, or create the file first (see --help)",
            SecretFileError::Permissions(_) => "secret files must be private: chmod 600 FILE",
            SecretFileError::Exists(_) => "choose another path, or move the existing file away",
            _ => "check the file and the directory's permissions",
        };
        Failure::new(e.to_string(), hint)
    }
}

impl From<WalletError> for Failure {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::File(f) => f.into(),
            WalletError::Field(_) => Failure::new(
                e.to_string(),
                "the wallet file is damaged; restore it from a backup",
            ),
        }
    }
}

impl From<KeyFileError> for Failure {
    fn from(e: KeyFileError) -> Self {
        match e {
            KeyFileError::File(f) => f.into(),
            other => Failure::new(
                other.to_string(),
                "check that you passed the right --key file",
            ),
        }
    }
}
