//! The manifest draft: what an organiser writes (TOML for the command line,
//! JSON on the wire to `POST /v1/elections`). It is the manifest without what
//! the service fills in: version, salt, board key and registrar keys.

use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Serialize};
use urne_crypto::credential::RegistrarPublicKey;
use urne_crypto::group::decode_nonidentity_point;
use urne_crypto::lottery::DrawMethod;
use urne_crypto::manifest::{
    Beacon, Candidate, Constituency, Contributor, Lottery, Manifest, Rfc3797Source, Trustee,
    Witness, PROTOCOL_VERSION,
};
use urne_crypto::seats::{CategoryQuota, ParityRule, SeatRules};
use urne_crypto::witness::WitnessVerifier;

/// Why a draft cannot become a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// A key is not the expected hex encoding.
    #[error("{what}: {reason}")]
    Key {
        /// Which key.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The number of registrar keys differs from the number of constituencies.
    #[error("{got} registrar keys for {expected} constituencies")]
    RegistrarKeys {
        /// Constituencies.
        expected: usize,
        /// Keys given.
        got: usize,
    },
    /// A time is not RFC 3339 UTC.
    #[error("{what}: {value:?} is not a time like 2027-03-14T18:00:00Z (RFC 3339, UTC)")]
    Time {
        /// Which field.
        what: String,
        /// The value given.
        value: String,
    },
    /// The beacon or RFC 3797 sources are incomplete.
    #[error("lottery beacon: {0}")]
    Beacon(String),
}

/// A candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateDraft {
    /// Public pseudonym.
    pub id: String,
    /// Quota category.
    #[serde(default)]
    pub category: String,
}

/// A per-category quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaDraft {
    /// Category.
    pub category: String,
    /// Fewest seats.
    pub min: u32,
    /// Most seats.
    pub max: u32,
}

/// The parity rule: `"none"`, `"alternating"` or `{ max_share = PERCENT }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParityDraft {
    /// Quotas only.
    #[default]
    None,
    /// No category above this share of the seats.
    MaxShare(u32),
    /// Zipper on elected seats.
    Alternating,
}

/// Seat rules of a constituency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesDraft {
    /// Total seats.
    pub seats: u32,
    /// Seats drawn by lot.
    #[serde(default)]
    pub lottery_seats: u32,
    /// Per-category quotas.
    #[serde(default)]
    pub quotas: Vec<QuotaDraft>,
    /// Parity rule.
    #[serde(default)]
    pub parity: ParityDraft,
}

/// A constituency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstituencyDraft {
    /// Short id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Candidates in ballot order.
    pub candidates: Vec<CandidateDraft>,
    /// Fewest approvals.
    pub approval_min: u32,
    /// Most approvals.
    pub approval_max: u32,
    /// Seats and quotas.
    pub rules: RulesDraft,
}

/// A trustee: display name and public keys (from `urne trustee keygen`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteeDraft {
    /// Display name.
    pub name: String,
    /// Ed25519 public key, hex.
    pub signing_key: String,
    /// ristretto255 public key, hex.
    pub encryption_key: String,
}

/// A lottery contributor: display name and public key (from `urne lottery keygen`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributorDraft {
    /// Display name.
    pub name: String,
    /// Ed25519 public key, hex.
    pub signing_key: String,
}

/// The beacon (DRBG method): `network = "quicknet"` names drand quicknet;
/// any other network gives its key, chain hash, genesis time and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconDraft {
    /// `"quicknet"` (drand's League of Entropy network) or a display name.
    pub network: String,
    /// The round; by default the first round published after the reveal deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    /// The network's BLS12-381 G2 public key, hex (other networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The network's chain hash, hex (other networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_hash: Option<String>,
    /// Unix time of round 1 (other networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_time: Option<u64>,
    /// Seconds between rounds (other networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
}

/// The short name of drand quicknet in a draft.
pub const QUICKNET: &str = "quicknet";

impl BeaconDraft {
    /// drand quicknet, waiting for the first round after the reveal deadline.
    pub fn quicknet() -> Self {
        BeaconDraft {
            network: QUICKNET.into(),
            round: None,
            public_key: None,
            chain_hash: None,
            genesis_time: None,
            period: None,
        }
    }

    /// The manifest's beacon; `reveal_deadline` fixes the default round.
    fn to_beacon(&self, reveal_deadline: u64) -> Result<Beacon, DraftError> {
        let custom = [
            self.public_key.is_some(),
            self.chain_hash.is_some(),
            self.genesis_time.is_some(),
            self.period.is_some(),
        ];
        let mut beacon = if self.network == QUICKNET && custom.iter().all(|c| !c) {
            Beacon::quicknet(0)
        } else {
            let (Some(key), Some(chain), Some(genesis_time), Some(period)) = (
                &self.public_key,
                &self.chain_hash,
                self.genesis_time,
                self.period,
            ) else {
                return Err(DraftError::Beacon(
                    "a network other than \"quicknet\" needs public_key, chain_hash, genesis_time and period".into(),
                ));
            };
            let mut public_key = [0u8; urne_crypto::beacon::PUBLIC_KEY_LEN];
            hex::decode_to_slice(key, &mut public_key).map_err(|e| DraftError::Key {
                what: "beacon public key".into(),
                reason: format!("not 192 hex digits ({e})"),
            })?;
            Beacon {
                scheme: urne_crypto::beacon::SCHEME.into(),
                network: self.network.clone(),
                public_key,
                chain_hash: hex32("beacon chain hash", chain)?,
                genesis_time,
                period,
                round: 0,
            }
        };
        beacon.round = match self.round {
            Some(r) => r,
            None => beacon
                .network()
                .first_round_after(reveal_deadline)
                .map_err(|e| DraftError::Beacon(e.to_string()))?,
        };
        Ok(beacon)
    }
}

/// A public random source of the RFC 3797 method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDraft {
    /// The source, e.g. "EuroMillions main numbers".
    pub name: String,
    /// The date of its draw.
    pub draw_date: String,
    /// How many integers it publishes.
    pub values: u32,
}

/// Draw method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodDraft {
    /// ChaCha20 DRBG.
    #[default]
    Drbg,
    /// RFC 3797.
    Rfc3797,
}

/// Lottery configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotteryDraft {
    /// Draw method.
    #[serde(default)]
    pub method: MethodDraft,
    /// Contributors, in index order.
    #[serde(default)]
    pub contributors: Vec<ContributorDraft>,
    /// The beacon (DRBG method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<BeaconDraft>,
    /// The public sources, in key-string order (RFC 3797 method).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceDraft>,
    /// Planned end of commitments (RFC 3339, e.g. `2027-03-14T18:00:00Z`);
    /// by default the reveal deadline. Commitments close with the vote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_deadline: Option<String>,
    /// End of the reveal window (RFC 3339); the beacon round comes after it.
    pub reveal_deadline: String,
}

/// A witness: its key line (from `urne witness keygen`) and submission URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessDraft {
    /// The witness's verifier key, `<name>+<key id>+<base64>` (cosignature/v1).
    pub vkey: String,
    /// Its URL (`<url>/add-checkpoint` is where checkpoints go).
    pub url: String,
}

/// Unix seconds of an RFC 3339 UTC time (`2027-03-14T18:00:00Z`).
pub fn parse_time(what: &str, s: &str) -> Result<u64, DraftError> {
    humantime::parse_rfc3339(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| DraftError::Time {
            what: what.into(),
            value: s.into(),
        })
}

/// A manifest draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDraft {
    /// Title.
    pub title: String,
    /// Constituencies.
    pub constituencies: Vec<ConstituencyDraft>,
    /// Trustees, in index order.
    pub trustees: Vec<TrusteeDraft>,
    /// Decryption threshold.
    pub threshold: u32,
    /// Lottery.
    pub lottery: LotteryDraft,
    /// Voting opens (RFC 3339): the board opens no earlier.
    pub voting_opens: String,
    /// Voting closes (RFC 3339): the board takes no ballot from then on and closes no earlier.
    pub voting_closes: String,
    /// How many witnesses must cosign a checkpoint for it to count as
    /// witnessed; by default all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_quorum: Option<u32>,
    /// Witnesses that cosign the board's checkpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<WitnessDraft>,
}

fn hex32(what: impl Into<String>, s: &str) -> Result<[u8; 32], DraftError> {
    urne_crypto::text::decode_hex_array(s).map_err(|e| DraftError::Key {
        what: what.into(),
        reason: format!("not 64 lowercase hex digits ({e})"),
    })
}

fn point(what: &str, s: &str) -> Result<RistrettoPoint, DraftError> {
    let bytes = hex32(what, s)?;
    decode_nonidentity_point(&bytes).map_err(|e| DraftError::Key {
        what: what.into(),
        reason: e.to_string(),
    })
}

impl ManifestDraft {
    /// The manifest with the service's parts filled in (one registrar key per
    /// constituency, in order, and the digest of the web client it serves).
    /// The caller validates it.
    pub fn to_manifest(
        &self,
        board_key: [u8; 32],
        salt: [u8; 16],
        registrar_keys: &[RegistrarPublicKey],
        client_digest: [u8; 32],
    ) -> Result<Manifest, DraftError> {
        if registrar_keys.len() != self.constituencies.len() {
            return Err(DraftError::RegistrarKeys {
                expected: self.constituencies.len(),
                got: registrar_keys.len(),
            });
        }
        let constituencies = self
            .constituencies
            .iter()
            .zip(registrar_keys)
            .map(|(c, key)| Constituency {
                id: c.id.clone(),
                name: c.name.clone(),
                candidates: c
                    .candidates
                    .iter()
                    .map(|k| Candidate {
                        id: k.id.clone(),
                        category: k.category.clone(),
                    })
                    .collect(),
                approval_min: c.approval_min,
                approval_max: c.approval_max,
                rules: SeatRules {
                    seats: c.rules.seats,
                    lottery_seats: c.rules.lottery_seats,
                    quotas: c
                        .rules
                        .quotas
                        .iter()
                        .map(|q| CategoryQuota {
                            category: q.category.clone(),
                            min: q.min,
                            max: q.max,
                        })
                        .collect(),
                    parity: match c.rules.parity {
                        ParityDraft::None => ParityRule::None,
                        ParityDraft::MaxShare(percent) => ParityRule::MaxShare { percent },
                        ParityDraft::Alternating => ParityRule::Alternating,
                    },
                },
                registrar_key: *key,
            })
            .collect();
        let trustees = self
            .trustees
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Ok(Trustee {
                    index: i as u32 + 1,
                    name: t.name.clone(),
                    signing_key: hex32(format!("trustee {} signing key", t.name), &t.signing_key)?,
                    encryption_key: point(
                        &format!("trustee {} encryption key", t.name),
                        &t.encryption_key,
                    )?,
                })
            })
            .collect::<Result<_, DraftError>>()?;
        let contributors = self
            .lottery
            .contributors
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(Contributor {
                    index: i as u32 + 1,
                    name: c.name.clone(),
                    signing_key: hex32(
                        format!("contributor {} signing key", c.name),
                        &c.signing_key,
                    )?,
                })
            })
            .collect::<Result<_, DraftError>>()?;
        let witnesses = self
            .witnesses
            .iter()
            .map(|w| {
                let v =
                    WitnessVerifier::from_vkey_string(&w.vkey).map_err(|e| DraftError::Key {
                        what: format!("witness key {:?}", w.vkey),
                        reason: format!("not a key line printed by `urne witness keygen` ({e})"),
                    })?;
                Ok(Witness {
                    name: v.name().to_owned(),
                    public_key: v.public_key(),
                    url: w.url.clone(),
                })
            })
            .collect::<Result<Vec<_>, DraftError>>()?;
        let witness_quorum = self
            .witness_quorum
            .unwrap_or(u32::try_from(witnesses.len()).unwrap_or(u32::MAX));
        let reveal_deadline = parse_time("lottery reveal_deadline", &self.lottery.reveal_deadline)?;
        let voting_opens = parse_time("voting_opens", &self.voting_opens)?;
        let voting_closes = parse_time("voting_closes", &self.voting_closes)?;
        let commit_deadline = match &self.lottery.commit_deadline {
            Some(t) => parse_time("lottery commit_deadline", t)?,
            None => voting_closes,
        };
        Ok(Manifest {
            version: PROTOCOL_VERSION,
            title: self.title.clone(),
            salt,
            board_key,
            constituencies,
            trustees,
            threshold: self.threshold,
            lottery: Lottery {
                method: match self.lottery.method {
                    MethodDraft::Drbg => DrawMethod::Drbg,
                    MethodDraft::Rfc3797 => DrawMethod::Rfc3797,
                },
                contributors,
                beacon: match &self.lottery.beacon {
                    Some(b) => Some(b.to_beacon(reveal_deadline)?),
                    None => None,
                },
                sources: self
                    .lottery
                    .sources
                    .iter()
                    .map(|s| Rfc3797Source {
                        name: s.name.clone(),
                        draw_date: s.draw_date.clone(),
                        values: s.values,
                    })
                    .collect(),
                commit_deadline,
                reveal_deadline,
            },
            voting_opens,
            voting_closes,
            witnesses,
            witness_quorum,
            client_digest,
        })
    }

    /// Whether `manifest` is this draft completed by the service: everything
    /// the organiser wrote is unchanged.
    pub fn matches(&self, manifest: &Manifest) -> bool {
        let keys: Vec<RegistrarPublicKey> = manifest
            .constituencies
            .iter()
            .map(|c| c.registrar_key)
            .collect();
        self.to_manifest(
            manifest.board_key,
            manifest.salt,
            &keys,
            manifest.client_digest,
        )
        .is_ok_and(|m| m == *manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use urne_crypto::credential::RegistrarKey;
    use urne_crypto::dkg::TrusteeKey;

    fn example() -> String {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
        let trustee = |i: u8, rng: &mut rand_chacha::ChaCha20Rng| {
            let e = hex::encode(TrusteeKey::generate(rng).public_key().compress().to_bytes());
            let s = hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&[i; 32])
                    .verifying_key()
                    .to_bytes(),
            );
            format!(
                "[[trustees]]\nname = \"t{i}\"\nsigning_key = \"{s}\"\nencryption_key = \"{e}\"\n"
            )
        };
        let t1 = trustee(1, &mut rng);
        let t2 = trustee(2, &mut rng);
        format!(
            r#"title = "Assembly"
threshold = 2
voting_opens = "2027-03-14T08:00:00Z"
voting_closes = "2027-03-15T20:00:00Z"

[[constituencies]]
id = "north"
name = "North"
approval_min = 1
approval_max = 2
candidates = [{{ id = "ana", category = "f" }}, {{ id = "bo", category = "m" }}, {{ id = "cy", category = "f" }}]
rules = {{ seats = 2, lottery_seats = 0, parity = {{ max_share = 50 }} }}

{t1}
{t2}
[lottery]
method = "drbg"
reveal_deadline = "2027-03-16T18:00:00Z"
beacon = {{ network = "quicknet" }}
"#
        )
    }

    #[test]
    fn a_toml_draft_becomes_a_valid_manifest_and_changes_are_detected() {
        let draft: ManifestDraft = toml::from_str(&example()).unwrap();
        assert_eq!(
            draft.constituencies[0].rules.parity,
            ParityDraft::MaxShare(50)
        );
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
        let keys = vec![RegistrarKey::generate(&mut rng).public()];
        let manifest = draft.to_manifest([1; 32], [2; 16], &keys, [3; 32]).unwrap();
        manifest.validate().unwrap();
        assert_eq!(manifest.trustees[1].index, 2);
        // The default round: quicknet's first round after the reveal deadline.
        let beacon = manifest.lottery.beacon.as_ref().unwrap();
        assert!(beacon.is_quicknet());
        let deadline = parse_time("t", "2027-03-16T18:00:00Z").unwrap();
        assert!(beacon.round_time().unwrap() > deadline);
        assert!(beacon.round_time().unwrap() <= deadline + 3);
        assert!(draft.matches(&manifest));
        let mut changed = manifest.clone();
        changed.constituencies[0].approval_max = 3;
        assert!(!draft.matches(&changed));
        assert!(matches!(
            draft.to_manifest([1; 32], [2; 16], &[], [3; 32]),
            Err(DraftError::RegistrarKeys { .. })
        ));
        let json = serde_json::to_string(&draft).unwrap();
        assert_eq!(serde_json::from_str::<ManifestDraft>(&json).unwrap(), draft);
        assert!(toml::from_str::<ManifestDraft>("title = \"x\"\nunknown = 1\n").is_err());
    }

    #[test]
    fn witnesses_come_from_their_key_lines_and_the_quorum_defaults_to_all() {
        use urne_crypto::witness::WitnessKey;
        let vkey = |name: &str, seed: u8| {
            WitnessKey::from_seed(name, &[seed; 32])
                .unwrap()
                .verifier()
                .to_vkey_string()
        };
        let text = format!(
            "{}\n[[witnesses]]\nvkey = \"{}\"\nurl = \"http://127.0.0.1:7001\"\n\n[[witnesses]]\nvkey = \"{}\"\nurl = \"http://127.0.0.1:7002\"\n",
            example(),
            vkey("w1.example/a", 8),
            vkey("w2.example/b", 9)
        );
        let mut draft: ManifestDraft = toml::from_str(&text).unwrap();
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
        let keys = vec![RegistrarKey::generate(&mut rng).public()];
        let manifest = draft.to_manifest([1; 32], [2; 16], &keys, [3; 32]).unwrap();
        manifest.validate().unwrap();
        assert_eq!(manifest.witnesses[1].name, "w2.example/b");
        assert_eq!(manifest.witness_quorum, 2);
        assert!(draft.matches(&manifest));
        draft.witness_quorum = Some(1);
        assert!(!draft.matches(&manifest));
        // A board key line (signature type 0x01) is not a witness's.
        draft.witnesses[0].vkey = urne_crypto::checkpoint::BoardKey::from_seed("w1", &[8; 32])
            .unwrap()
            .verifier()
            .to_vkey_string();
        assert!(matches!(
            draft.to_manifest([1; 32], [2; 16], &keys, [3; 32]),
            Err(DraftError::Key { .. })
        ));
    }
}
