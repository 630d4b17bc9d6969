//! A lottery contributor's steps, as pure functions: commit to a secret
//! before the beacon value exists, reveal it after.

use ed25519_dalek::SigningKey;
use urne_crypto::entry::{Entry, EntryKind, LotteryCommit, LotteryReveal};
use urne_crypto::lottery;
use urne_crypto::manifest::Manifest;

/// Why a contributor step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContributorError {
    /// The key is not that of a contributor of the manifest.
    #[error("this key is not a lottery contributor of the election")]
    NotAContributor,
}

/// This contributor's 1-based index in the manifest.
pub fn index(manifest: &Manifest, signing: &SigningKey) -> Result<u32, ContributorError> {
    let vk = signing.verifying_key().to_bytes();
    manifest
        .lottery
        .contributors
        .iter()
        .find(|c| c.signing_key == vk)
        .map(|c| c.index)
        .ok_or(ContributorError::NotAContributor)
}

/// The signed commitment to `secret`.
pub fn commit_entry(
    manifest: &Manifest,
    signing: &SigningKey,
    secret: &[u8; 32],
) -> Result<Entry, ContributorError> {
    let contributor = index(manifest, signing)?;
    let election = manifest.election_id();
    let body = LotteryCommit {
        contributor,
        commitment: lottery::commitment(&election, contributor, secret),
    };
    Ok(Entry::signed(
        EntryKind::LotteryCommit,
        election,
        &body,
        signing,
    ))
}

/// The signed reveal of `secret`.
pub fn reveal_entry(
    manifest: &Manifest,
    signing: &SigningKey,
    secret: &[u8; 32],
) -> Result<Entry, ContributorError> {
    let contributor = index(manifest, signing)?;
    let body = LotteryReveal {
        contributor,
        secret: *secret,
    };
    Ok(Entry::signed(
        EntryKind::LotteryReveal,
        manifest.election_id(),
        &body,
        signing,
    ))
}
