//! The public randomness beacon: drand rounds of the `bls-unchained-g1-rfc9380`
//! scheme, verified cryptographically before their randomness enters the seed.
//!
//! A round's signature is a BLS12-381 signature on G1 by the network's G2 key
//! over `SHA-256(u64be(round))`, hashed to G1 with RFC 9380 (DST
//! `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`); its randomness is
//! `SHA-256(signature)`, as drand derives it. Verification is `drand-verify`'s;
//! only the parameters and the schedule are ours. `specs/protocol.md` §7.5 is
//! normative.
//!
//! Secrets and timing: [`DemoNetwork`] holds a BLS secret key (zeroized on
//! drop) and signs with a constant-time scalar multiplication; it exists for
//! the offline demo and tests, never for a real election.
//!
//! Not here: fetching rounds over the network (the organiser's client does),
//! chained schemes, or the RFC 3797 sources (see [`crate::rfc3797`]).

use bls12_381::hash_to_curve::{ExpandMsgXmd, HashToCurve};
use bls12_381::{G1Affine, G1Projective, G2Affine, Scalar};
use drand_verify::{G2PubkeyRfc, Pubkey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The only beacon scheme urne accepts: drand's unchained G1 scheme.
pub const SCHEME: &str = "bls-unchained-g1-rfc9380";
/// Length of a compressed G2 public key.
pub const PUBLIC_KEY_LEN: usize = 96;
/// Length of a compressed G1 signature.
pub const SIGNATURE_LEN: usize = 48;
/// The name a demo network carries in a manifest.
pub const DEMO_NETWORK_NAME: &str = "demo beacon, not drand";
/// The hash-to-curve domain separation tag of the scheme (RFC 9380).
pub const DST_G1: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

/// The League of Entropy "quicknet" network (drand's public mainnet for this scheme).
pub mod quicknet {
    /// Its display name.
    pub const NAME: &str = "drand quicknet (League of Entropy)";
    /// Its group public key (G2, compressed), hex.
    pub const PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
    /// Its chain hash, hex.
    pub const CHAIN_HASH: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
    /// Unix time of round 1.
    pub const GENESIS_TIME: u64 = 1_692_803_367;
    /// Seconds between rounds.
    pub const PERIOD: u64 = 3;
}

/// Why a beacon round or its parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BeaconError {
    /// The manifest names a scheme other than [`SCHEME`].
    #[error("beacon scheme {0:?} is not supported (only {SCHEME})")]
    Scheme(String),
    /// The network public key is not a valid G2 point of the prime-order subgroup.
    #[error("the beacon network's public key is not a valid BLS12-381 G2 point")]
    PublicKey,
    /// Period zero, round zero, or a schedule that overflows.
    #[error("beacon schedule invalid: {0}")]
    Schedule(&'static str),
    /// The round posted is not the round the manifest fixes.
    #[error("beacon round {posted} posted, but the manifest fixes round {expected}")]
    WrongRound {
        /// Round in the entry.
        posted: u64,
        /// Round of the manifest.
        expected: u64,
    },
    /// The signature is not 48 bytes or not a canonical G1 point.
    #[error("the beacon signature is not a valid compressed BLS12-381 G1 point")]
    SignatureEncoding,
    /// The signature does not verify under the network key for this round.
    #[error(
        "the beacon signature does not verify for round {round} under the manifest's network key"
    )]
    BadSignature {
        /// The round.
        round: u64,
    },
}

/// A beacon network and the round the lottery waits for, as a manifest fixes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network<'a> {
    /// The scheme id (must be [`SCHEME`]).
    pub scheme: &'a str,
    /// The group public key, 96 bytes.
    pub public_key: &'a [u8; PUBLIC_KEY_LEN],
    /// Unix time of round 1.
    pub genesis_time: u64,
    /// Seconds between rounds (≥ 1).
    pub period: u64,
}

impl Network<'_> {
    /// Checks the scheme, the key (on the curve, in the subgroup) and the period.
    pub fn validate(&self) -> Result<(), BeaconError> {
        if self.scheme != SCHEME {
            return Err(BeaconError::Scheme(self.scheme.to_string()));
        }
        if self.period == 0 {
            return Err(BeaconError::Schedule("period is zero"));
        }
        G2PubkeyRfc::from_fixed(*self.public_key).map_err(|_| BeaconError::PublicKey)?;
        Ok(())
    }

    /// Unix time at which `round` is published: `genesis + (round − 1) · period`.
    pub fn round_time(&self, round: u64) -> Result<u64, BeaconError> {
        if round == 0 {
            return Err(BeaconError::Schedule("round zero does not exist"));
        }
        (round - 1)
            .checked_mul(self.period)
            .and_then(|d| d.checked_add(self.genesis_time))
            .ok_or(BeaconError::Schedule("round time overflows"))
    }

    /// The first round published strictly after Unix time `t`.
    pub fn first_round_after(&self, t: u64) -> Result<u64, BeaconError> {
        if self.period == 0 {
            return Err(BeaconError::Schedule("period is zero"));
        }
        if t < self.genesis_time {
            return Ok(1);
        }
        Ok((t - self.genesis_time) / self.period + 2)
    }

    /// Verifies `signature` for `round` and returns the round's randomness
    /// `SHA-256(signature)`.
    pub fn verify(&self, round: u64, signature: &[u8]) -> Result<[u8; 32], BeaconError> {
        let key = G2PubkeyRfc::from_fixed(*self.public_key).map_err(|_| BeaconError::PublicKey)?;
        let bytes: [u8; SIGNATURE_LEN] = signature
            .try_into()
            .map_err(|_| BeaconError::SignatureEncoding)?;
        // Canonical, on the curve, in the subgroup, not the identity.
        let point = Option::<G1Affine>::from(G1Affine::from_compressed(&bytes))
            .ok_or(BeaconError::SignatureEncoding)?;
        if bool::from(point.is_identity()) {
            return Err(BeaconError::SignatureEncoding);
        }
        match key.verify(round, b"", &bytes) {
            Ok(true) => Ok(randomness(&bytes)),
            Ok(false) => Err(BeaconError::BadSignature { round }),
            Err(_) => Err(BeaconError::SignatureEncoding),
        }
    }
}

/// The message a round signs: `SHA-256(u64be(round))` (unchained scheme).
pub fn round_message(round: u64) -> [u8; 32] {
    Sha256::digest(round.to_be_bytes()).into()
}

/// A round's randomness as drand derives it: `SHA-256(signature)`.
pub fn randomness(signature: &[u8]) -> [u8; 32] {
    drand_verify::derive_randomness(signature)
}

/// A local beacon network of one BLS key, same scheme as drand quicknet: for the
/// offline demo and tests only (whoever holds the key knows every round in advance).
pub struct DemoNetwork {
    secret: Scalar,
    public_key: [u8; PUBLIC_KEY_LEN],
}

impl Drop for DemoNetwork {
    fn drop(&mut self) {
        // bls12_381's Scalar has no Zeroize: overwrite it, and keep the
        // store from being optimised away.
        self.secret = Scalar::zero();
        std::hint::black_box(&self.secret);
    }
}

impl DemoNetwork {
    /// A network key from 64 uniformly random bytes (reduced mod the group order).
    pub fn from_seed(seed: &[u8; 64]) -> Self {
        let secret = Scalar::from_bytes_wide(seed);
        let public_key = G2Affine::from(G2Affine::generator() * secret).to_compressed();
        DemoNetwork { secret, public_key }
    }

    /// A fresh network key from the OS CSPRNG.
    pub fn generate() -> Self {
        use rand_core::Rng;
        let mut seed = zeroize::Zeroizing::new([0u8; 64]);
        crate::group::os_rng().fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The network's group public key (G2, compressed).
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.public_key
    }

    /// The signature of `round`: `sk · H(SHA-256(u64be(round)))` on G1, compressed.
    pub fn sign(&self, round: u64) -> [u8; SIGNATURE_LEN] {
        let h = <G1Projective as HashToCurve<ExpandMsgXmd<sha2_09::Sha256>>>::hash_to_curve(
            round_message(round),
            DST_G1,
        );
        G1Affine::from(h * self.secret).to_compressed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quicknet_key() -> [u8; PUBLIC_KEY_LEN] {
        let mut k = [0u8; PUBLIC_KEY_LEN];
        hex::decode_to_slice(quicknet::PUBLIC_KEY, &mut k).expect("constant");
        k
    }

    fn quicknet(key: &[u8; PUBLIC_KEY_LEN]) -> Network<'_> {
        Network {
            scheme: SCHEME,
            public_key: key,
            genesis_time: quicknet::GENESIS_TIME,
            period: quicknet::PERIOD,
        }
    }

    const ROUND: u64 = 657413;
    const SIGNATURE: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";
    const RANDOMNESS: &str = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587";

    #[test]
    fn published_quicknet_round_verifies_and_gives_its_randomness() {
        let key = quicknet_key();
        let net = quicknet(&key);
        net.validate().expect("quicknet parameters");
        let sig = hex::decode(SIGNATURE).expect("hex");
        let r = net.verify(ROUND, &sig).expect("published round verifies");
        assert_eq!(hex::encode(r), RANDOMNESS);
    }

    #[test]
    fn flipped_bit_other_round_and_other_network_fail() {
        let key = quicknet_key();
        let net = quicknet(&key);
        let sig = hex::decode(SIGNATURE).expect("hex");
        for bit in [0usize, 7, 100, 383] {
            let mut bad = sig.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(net.verify(ROUND, &bad).is_err(), "bit {bit}");
        }
        assert_eq!(
            net.verify(ROUND + 1, &sig),
            Err(BeaconError::BadSignature { round: ROUND + 1 })
        );
        let other = DemoNetwork::from_seed(&[7u8; 64]);
        let other_net = Network {
            public_key: other.public_key(),
            ..net.clone()
        };
        assert_eq!(
            other_net.verify(ROUND, &sig),
            Err(BeaconError::BadSignature { round: ROUND })
        );
        assert_eq!(
            net.verify(ROUND, &sig[..47]),
            Err(BeaconError::SignatureEncoding)
        );
    }

    #[test]
    fn demo_network_signs_what_drand_verify_accepts() {
        let demo = DemoNetwork::from_seed(&[3u8; 64]);
        let net = Network {
            scheme: SCHEME,
            public_key: demo.public_key(),
            genesis_time: 1_000,
            period: 2,
        };
        net.validate().expect("demo key valid");
        let sig = demo.sign(42);
        assert_eq!(net.verify(42, &sig), Ok(randomness(&sig)));
        assert!(net.verify(43, &sig).is_err());
    }

    #[test]
    fn schedule_and_parameters() {
        let key = quicknet_key();
        let net = quicknet(&key);
        assert_eq!(net.round_time(1), Ok(quicknet::GENESIS_TIME));
        assert_eq!(
            net.round_time(ROUND),
            Ok(quicknet::GENESIS_TIME + (ROUND - 1) * 3)
        );
        let t = net.round_time(ROUND).expect("time");
        assert_eq!(net.first_round_after(t), Ok(ROUND + 1));
        assert_eq!(net.first_round_after(t - 1), Ok(ROUND));
        assert_eq!(net.first_round_after(0), Ok(1));
        assert!(net.round_time(0).is_err());
        assert!(net.round_time(u64::MAX).is_err());
        let bad_scheme = Network {
            scheme: "pedersen-bls-chained",
            ..net.clone()
        };
        assert!(matches!(bad_scheme.validate(), Err(BeaconError::Scheme(_))));
        let mut bad_key = key;
        bad_key[5] ^= 1;
        let bad = Network {
            public_key: &bad_key,
            ..net.clone()
        };
        assert_eq!(bad.validate(), Err(BeaconError::PublicKey));
        let zero = Network { period: 0, ..net };
        assert!(zero.validate().is_err());
    }
}
