//! The voter's wallet: the recovery secret, the member key and the one-time
//! ballot key derived from it, the credential and the receipts, in a local
//! JSON file (mode 0600, replaced atomically). Nothing in it is ever sent to
//! the server; how the voter voted is not stored.

use std::path::Path;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use urne_crypto::credential::Credential;
use urne_crypto::encoding::Canonical;
use urne_crypto::recovery::{RecoverySecret, SECRET_LEN};
use urne_crypto::schnorr::BallotSecretKey;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::receipt::Receipt;
use super::secret_file::{self, SecretFileError};

/// Why a wallet cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// Reading or writing the file failed.
    #[error(transparent)]
    File(#[from] SecretFileError),
    /// A field does not decode.
    #[error("wallet field {0} is malformed")]
    Field(&'static str),
}

/// A credential session whose response has not been received yet. The
/// blinding factors are derived from the recovery secret (or, in a wallet
/// without one, from `seed`), so after a lost response the same challenge can
/// be sent again and the response unblinded.
#[derive(Debug, Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct PendingIssuance {
    /// Seed of the blinding factors, hex (secret); empty when they are
    /// derived from the recovery secret.
    pub seed: String,
    /// The signer's commitment `A`, hex.
    pub commitment_a: String,
    /// The signer's commitment `C`, hex.
    pub commitment_c: String,
}

/// A ballot cast, as its receipt (not its content).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CastBallot {
    /// The checked receipt.
    pub receipt: Receipt,
    /// The same ballot's inclusion in the newest checkpoint a quorum of the
    /// election's witnesses cosigned, kept by the last `receipt check` (the
    /// note carries the cosignatures; the receipt of the cast carries none,
    /// since no witness has seen its checkpoint yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<Receipt>,
}

/// The wallet file.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Wallet {
    /// Server URL used at enrolment.
    pub server: String,
    /// Election id, hex.
    pub election: String,
    /// Board public key pinned at first contact, hex.
    pub board_key: String,
    /// The member's pseudonym.
    pub pseudonym: String,
    /// The member's constituency.
    pub constituency: String,
    /// Member id, hex.
    pub member: String,
    /// The recovery secret every other secret is derived from, hex (secret;
    /// absent in wallets made before recovery codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<String>,
    /// Ed25519 member key seed, hex (secret).
    pub member_key: String,
    /// One-time ballot secret key, hex (secret).
    pub ballot_key: String,
    /// Open credential session, if any.
    pub issuance: Option<PendingIssuance>,
    /// The credential on the ballot key, canonical bytes hex.
    pub credential: Option<String>,
    /// Receipt of the enrolment entry.
    #[zeroize(skip)]
    pub enrollment: Option<Receipt>,
    /// Receipt of the issuance entry.
    #[zeroize(skip)]
    pub issuance_receipt: Option<Receipt>,
    /// When the credential was obtained (decides the cast delay).
    #[zeroize(skip)]
    #[serde(default)]
    pub credential_time: Option<super::voter::CredentialTime>,
    /// Ballots cast, oldest first; the last one counts.
    #[zeroize(skip)]
    pub ballots: Vec<CastBallot>,
    /// Board index of the last ballot with this wallet's ballot key found on
    /// the board when the wallet was rebuilt from its recovery code.
    #[zeroize(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_ballot: Option<u64>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("election", &self.election)
            .field("pseudonym", &self.pseudonym)
            .finish_non_exhaustive()
    }
}

fn hex32(s: &str, what: &'static str) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(s, out.as_mut()).map_err(|_| WalletError::Field(what))?;
    Ok(out)
}

impl Wallet {
    /// Loads a wallet file.
    pub fn load(path: &Path) -> Result<Self, WalletError> {
        Ok(secret_file::read_json(path)?)
    }

    /// Saves the wallet atomically.
    pub fn save(&self, path: &Path) -> Result<(), WalletError> {
        Ok(secret_file::write_json(path, self)?)
    }

    /// The election id.
    pub fn election_id(&self) -> Result<[u8; 32], WalletError> {
        Ok(*hex32(&self.election, "election")?)
    }

    /// The pinned board key.
    pub fn board_public_key(&self) -> Result<[u8; 32], WalletError> {
        Ok(*hex32(&self.board_key, "board_key")?)
    }

    /// The member id.
    pub fn member_id(&self) -> Result<[u8; 32], WalletError> {
        Ok(*hex32(&self.member, "member")?)
    }

    /// The member's Ed25519 signing key.
    pub fn member_signing_key(&self) -> Result<SigningKey, WalletError> {
        Ok(SigningKey::from_bytes(&*hex32(
            &self.member_key,
            "member_key",
        )?))
    }

    /// The one-time ballot secret key.
    pub fn ballot_secret_key(&self) -> Result<BallotSecretKey, WalletError> {
        BallotSecretKey::from_bytes(hex32(&self.ballot_key, "ballot_key")?.as_ref())
            .map_err(|_| WalletError::Field("ballot_key"))
    }

    /// The recovery secret, if the wallet has one.
    pub fn recovery_secret(&self) -> Result<Option<RecoverySecret>, WalletError> {
        self.recovery
            .as_ref()
            .map(|h| {
                let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
                hex::decode_to_slice(h, bytes.as_mut())
                    .map_err(|_| WalletError::Field("recovery"))?;
                Ok(RecoverySecret::from_bytes(*bytes))
            })
            .transpose()
    }

    /// The credential, once issued.
    pub fn credential(&self) -> Result<Option<Credential>, WalletError> {
        self.credential
            .as_ref()
            .map(|c| {
                let bytes =
                    Zeroizing::new(hex::decode(c).map_err(|_| WalletError::Field("credential"))?);
                Credential::from_bytes(&bytes).map_err(|_| WalletError::Field("credential"))
            })
            .transpose()
    }
}
