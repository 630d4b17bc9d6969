//! A trustee's protocol steps, as pure functions: the DKG dealing, checking
//! the shares other trustees dealt (and complaining about bad ones), and
//! decryption shares of each constituency's aggregate.

use curve25519_dalek::ristretto::RistrettoPoint;
use ed25519_dalek::SigningKey;
use rand_core::CryptoRng;
use urne_crypto::decryption;
use urne_crypto::dkg::{
    self, Complaint, DealerMessage, DkgError, DkgOutcome, DkgParams, TrusteeKey,
};
use urne_crypto::entry::{dealings_digest, DecryptionShare, DkgAcknowledgement, Entry, EntryKind};
use urne_crypto::manifest::Manifest;

/// Why a trustee step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrusteeError {
    /// The key file's keys are not those of any trustee of the manifest.
    #[error("this key is not a trustee of the election")]
    NotATrustee,
    /// A DKG computation failed.
    #[error("key generation: {0}")]
    Dkg(String),
}

impl From<DkgError> for TrusteeError {
    fn from(e: DkgError) -> Self {
        TrusteeError::Dkg(e.to_string())
    }
}

/// The DKG parameters the manifest fixes.
pub fn params(manifest: &Manifest) -> Result<DkgParams, TrusteeError> {
    let keys = manifest.trustees.iter().map(|t| t.encryption_key).collect();
    Ok(DkgParams::new(
        &manifest.election_id(),
        manifest.threshold,
        keys,
    )?)
}

/// This trustee's 1-based index: the manifest entry with both its keys.
pub fn index(
    manifest: &Manifest,
    signing: &SigningKey,
    key: &TrusteeKey,
) -> Result<u32, TrusteeError> {
    let vk = signing.verifying_key().to_bytes();
    manifest
        .trustees
        .iter()
        .find(|t| t.signing_key == vk && t.encryption_key == key.public_key())
        .map(|t| t.index)
        .ok_or(TrusteeError::NotATrustee)
}

/// The trustee's signed DKG dealing.
pub fn dealing_entry<R: CryptoRng + ?Sized>(
    manifest: &Manifest,
    signing: &SigningKey,
    key: &TrusteeKey,
    rng: &mut R,
) -> Result<Entry, TrusteeError> {
    let params = params(manifest)?;
    let me = index(manifest, signing, key)?;
    let dealing = dkg::deal(&params, me, rng)?;
    Ok(Entry::signed(
        EntryKind::DkgDealing,
        manifest.election_id(),
        &dealing,
        signing,
    ))
}

/// Opens this trustee's share in every other dealing; returns a signed
/// complaint for each dealing whose share does not check, and the dealers
/// whose shares are good.
pub fn check_dealings<R: CryptoRng + ?Sized>(
    manifest: &Manifest,
    signing: &SigningKey,
    key: &TrusteeKey,
    dealings: &[DealerMessage],
    rng: &mut R,
) -> Result<(Vec<u32>, Vec<Entry>), TrusteeError> {
    let params = params(manifest)?;
    let me = index(manifest, signing, key)?;
    let mut good = Vec::new();
    let mut complaints = Vec::new();
    for d in dealings {
        match key.open_share(&params, d) {
            Ok(_) => good.push(d.dealer),
            Err(DkgError::BadShare { .. }) if d.dealer != me => {
                let complaint = key.complain(&params, d, rng)?;
                complaints.push(Entry::signed(
                    EntryKind::DkgComplaint,
                    manifest.election_id(),
                    &complaint,
                    signing,
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((good, complaints))
}

/// This trustee's signed acknowledgement of `dealings` (every dealing on the
/// board, in ascending dealer order), to post once it has checked its share in
/// each and posted its complaints: the election key waits for every trustee's.
pub fn acknowledgement_entry(
    manifest: &Manifest,
    signing: &SigningKey,
    key: &TrusteeKey,
    dealings: &[DealerMessage],
) -> Result<Entry, TrusteeError> {
    let me = index(manifest, signing, key)?;
    let election = manifest.election_id();
    let ack = DkgAcknowledgement {
        trustee: me,
        dealings: dealings_digest(&election, dealings),
    };
    Ok(Entry::signed(
        EntryKind::DkgAcknowledgement,
        election,
        &ack,
        signing,
    ))
}

/// This trustee's signed decryption share of one constituency's aggregate
/// (`a`: the `A` components of the aggregate ciphertexts).
#[allow(clippy::too_many_arguments)]
pub fn decryption_entry<R: CryptoRng + ?Sized>(
    manifest: &Manifest,
    signing: &SigningKey,
    key: &TrusteeKey,
    dealings: &[DealerMessage],
    complaints: &[Complaint],
    constituency: &str,
    a: &[RistrettoPoint],
    rng: &mut R,
) -> Result<Entry, TrusteeError> {
    let params = params(manifest)?;
    index(manifest, signing, key)?;
    let outcome = DkgOutcome::from_transcript(&params, dealings, complaints)?;
    let share = key.secret_share(&params, &outcome.election_key, dealings)?;
    let election = manifest.election_id();
    let proof = decryption::decryption_share(&share, &election, constituency.as_bytes(), a, rng);
    let body = DecryptionShare {
        constituency: constituency.to_string(),
        share: proof,
    };
    Ok(Entry::signed(
        EntryKind::DecryptionShare,
        election,
        &body,
        signing,
    ))
}
