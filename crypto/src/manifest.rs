//! The election manifest: everything fixed before the election starts.
//!
//! The manifest is the first entry of an election's board; the election id is
//! `TaggedHash("urne/v1/election-id", manifest bytes)`, so every later entry,
//! transcript and signature is bound to this exact manifest.

use curve25519_dalek::ristretto::RistrettoPoint;
use minicbor::{Decode, Encode};
use thiserror::Error;

use crate::beacon;
use crate::credential::RegistrarPublicKey;
use crate::dkg::{DkgError, DkgParams};
use crate::encoding::Canonical;
use crate::hash::tagged;
use crate::lottery::DrawMethod;
use crate::seats::{self, SeatRules};
use crate::text::{self, TextError, TextField};

/// Protocol version carried by every manifest.
pub const PROTOCOL_VERSION: u32 = 1;

/// A 32-byte election identifier.
pub type ElectionId = [u8; 32];

/// Why a manifest is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ManifestError {
    /// The protocol version is not 1.
    #[error("unsupported protocol version {0}")]
    Version(u32),
    /// A structural rule is broken (duplicate id, empty list, bad bounds...).
    #[error("invalid manifest: {0}")]
    Invalid(String),
    /// The beacon network or its schedule is unusable.
    #[error("lottery beacon: {0}")]
    Beacon(beacon::BeaconError),
    /// The beacon round is published before the reveal window ends, so
    /// contributors could see it before deciding to reveal.
    #[error("lottery beacon round {round} is published at {published}, not after the reveal deadline {reveal_deadline}: choose a later round")]
    BeaconTooEarly {
        /// The manifest's round.
        round: u64,
        /// Its publication time (Unix seconds).
        published: u64,
        /// The reveal deadline (Unix seconds).
        reveal_deadline: u64,
    },
    /// The trustee list or threshold is unusable for key generation.
    #[error("trustees: {0}")]
    Trustees(#[from] DkgError),
    /// A text field is too long or holds a control character (§2.5).
    #[error(transparent)]
    Text(#[from] TextError),
    /// The voting window is empty or ends after the lottery's reveal deadline.
    #[error("voting window: {0}")]
    Window(String),
    /// A signing key is not a canonical Ed25519 key of large order.
    #[error("{0}: not a usable Ed25519 public key (non-canonical or small-order)")]
    SigningKey(String),
    /// The seat rules of a constituency cannot be satisfied.
    #[error("constituency {constituency}: {source}")]
    Seats {
        /// The constituency id.
        constituency: String,
        /// The infeasibility.
        source: seats::SeatError,
    },
}

/// A candidate standing in a constituency.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Candidate {
    /// Public pseudonym, unique within the election.
    #[n(0)]
    pub id: String,
    /// Quota category (e.g. gender), as named in the seat rules.
    #[n(1)]
    pub category: String,
}

/// One constituency: its candidates, approval rule, seats and registrar key.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct Constituency {
    /// Short identifier, unique in the election (used in every transcript).
    #[n(0)]
    pub id: String,
    /// Human-readable name.
    #[n(1)]
    pub name: String,
    /// Candidates in ballot order.
    #[n(2)]
    pub candidates: Vec<Candidate>,
    /// Minimum number of approvals on a ballot.
    #[n(3)]
    pub approval_min: u32,
    /// Maximum number of approvals on a ballot.
    #[n(4)]
    pub approval_max: u32,
    /// Seats, lottery seats and quotas.
    #[n(5)]
    pub rules: SeatRules,
    /// The registrar's credential public key `X` for this constituency.
    #[n(6)]
    pub registrar_key: RegistrarPublicKey,
}

/// A trustee: index (1-based), signing key for board entries, encryption key for DKG shares.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct Trustee {
    /// 1-based index, equal to the position in the manifest list.
    #[n(0)]
    pub index: u32,
    /// Display name.
    #[n(1)]
    pub name: String,
    /// Ed25519 key that signs this trustee's board entries.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub signing_key: [u8; 32],
    /// ristretto255 key that DKG shares are encrypted to.
    #[cbor(n(3), with = "crate::encoding::nonidentity_point")]
    pub encryption_key: RistrettoPoint,
}

/// A lottery contributor (commit–reveal).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Contributor {
    /// 1-based index, equal to the position in the manifest list.
    #[n(0)]
    pub index: u32,
    /// Display name.
    #[n(1)]
    pub name: String,
    /// Ed25519 key that signs this contributor's commit and reveal.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub signing_key: [u8; 32],
}

/// The public randomness beacon fixed in advance (DRBG mode): a drand network
/// of scheme `bls-unchained-g1-rfc9380` and the one round the lottery waits for.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Beacon {
    /// The scheme id; must be [`beacon::SCHEME`].
    #[n(0)]
    pub scheme: String,
    /// Display name of the network (e.g. "drand quicknet (League of Entropy)").
    #[n(1)]
    pub network: String,
    /// The network's group public key (BLS12-381 G2, compressed).
    #[cbor(n(2), with = "minicbor::bytes")]
    pub public_key: [u8; beacon::PUBLIC_KEY_LEN],
    /// The network's chain hash, as drand publishes it (identification only).
    #[cbor(n(3), with = "minicbor::bytes")]
    pub chain_hash: [u8; 32],
    /// Unix time of round 1.
    #[n(4)]
    pub genesis_time: u64,
    /// Seconds between rounds (≥ 1).
    #[n(5)]
    pub period: u64,
    /// The round whose randomness enters the seed; published after the reveal deadline.
    #[n(6)]
    pub round: u64,
}

impl Beacon {
    /// The network as [`beacon::Network`] sees it.
    pub fn network(&self) -> beacon::Network<'_> {
        beacon::Network {
            scheme: &self.scheme,
            public_key: &self.public_key,
            genesis_time: self.genesis_time,
            period: self.period,
        }
    }

    /// Unix time at which [`Beacon::round`] is published.
    pub fn round_time(&self) -> Result<u64, beacon::BeaconError> {
        self.network().round_time(self.round)
    }

    /// drand quicknet, waiting for `round`.
    pub fn quicknet(round: u64) -> Beacon {
        let mut public_key = [0u8; beacon::PUBLIC_KEY_LEN];
        let mut chain_hash = [0u8; 32];
        // Constants of this crate, hex by construction.
        let _ = hex::decode_to_slice(beacon::quicknet::PUBLIC_KEY, &mut public_key);
        let _ = hex::decode_to_slice(beacon::quicknet::CHAIN_HASH, &mut chain_hash);
        Beacon {
            scheme: beacon::SCHEME.into(),
            network: beacon::quicknet::NAME.into(),
            public_key,
            chain_hash,
            genesis_time: beacon::quicknet::GENESIS_TIME,
            period: beacon::quicknet::PERIOD,
            round,
        }
    }

    /// A local [`beacon::DemoNetwork`], named as such, waiting for `round`; its
    /// chain hash is `TaggedHash("urne/v1/demo-beacon-chain", public_key)`.
    pub fn demo(
        network: &beacon::DemoNetwork,
        genesis_time: u64,
        period: u64,
        round: u64,
    ) -> Beacon {
        Beacon {
            scheme: beacon::SCHEME.into(),
            network: beacon::DEMO_NETWORK_NAME.into(),
            public_key: *network.public_key(),
            chain_hash: tagged("urne/v1/demo-beacon-chain", &[network.public_key()]),
            genesis_time,
            period,
            round,
        }
    }

    /// True when the network is drand quicknet (its key and chain hash).
    pub fn is_quicknet(&self) -> bool {
        hex::encode(self.public_key) == beacon::quicknet::PUBLIC_KEY
            && hex::encode(self.chain_hash) == beacon::quicknet::CHAIN_HASH
            && self.genesis_time == beacon::quicknet::GENESIS_TIME
            && self.period == beacon::quicknet::PERIOD
    }
}

/// A public random source of RFC 3797 mode, named before the election.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Rfc3797Source {
    /// The source (e.g. "EuroMillions main numbers").
    #[n(0)]
    pub name: String,
    /// The date of its draw (informative, e.g. "2027-03-14").
    #[n(1)]
    pub draw_date: String,
    /// How many integer values the source publishes (≥ 1).
    #[n(2)]
    pub values: u32,
}

/// Lottery configuration.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Lottery {
    /// Draw method (DRBG or RFC 3797).
    #[n(0)]
    pub method: DrawMethod,
    /// Seed contributors (DRBG mode; none in RFC 3797 mode).
    #[n(1)]
    pub contributors: Vec<Contributor>,
    /// The beacon (DRBG mode; absent in RFC 3797 mode).
    #[n(2)]
    pub beacon: Option<Beacon>,
    /// The public sources, in key-string order (RFC 3797 mode; empty otherwise).
    #[n(3)]
    pub sources: Vec<Rfc3797Source>,
    /// Planned end of commitments (Unix seconds; commitments close with the vote).
    #[n(4)]
    pub commit_deadline: u64,
    /// Planned end of the reveal window (Unix seconds); the beacon round is published after it.
    #[n(5)]
    pub reveal_deadline: u64,
}

impl Lottery {
    /// Checks the lottery rules of §8.1: the method's beacon or sources, the
    /// beacon network and schedule, the deadlines.
    pub fn validate(&self) -> Result<(), ManifestError> {
        let bad = |m: String| Err(ManifestError::Invalid(m));
        if self.commit_deadline > self.reveal_deadline {
            return bad("lottery: the commit deadline is after the reveal deadline".into());
        }
        match self.method {
            DrawMethod::Drbg => {
                let Some(b) = &self.beacon else {
                    return bad("lottery: the DRBG method needs a beacon".into());
                };
                if !self.sources.is_empty() {
                    return bad("lottery: RFC 3797 sources given for the DRBG method".into());
                }
                b.network().validate().map_err(ManifestError::Beacon)?;
                let t = b.round_time().map_err(ManifestError::Beacon)?;
                if t <= self.reveal_deadline {
                    return Err(ManifestError::BeaconTooEarly {
                        round: b.round,
                        published: t,
                        reveal_deadline: self.reveal_deadline,
                    });
                }
            }
            DrawMethod::Rfc3797 => {
                if self.beacon.is_some() {
                    return bad("lottery: a drand beacon given for the RFC 3797 method".into());
                }
                if !self.contributors.is_empty() {
                    return bad("lottery: the RFC 3797 method takes no contributors".into());
                }
                if self.sources.is_empty() {
                    return bad("lottery: the RFC 3797 method needs at least one source".into());
                }
                for src in &self.sources {
                    if src.name.is_empty() || src.values == 0 {
                        return bad(format!(
                            "lottery: RFC 3797 source {:?} needs a name and at least one value",
                            src.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A witness of the board (C2SP `tlog-witness`): it cosigns checkpoints
/// consistent with those it cosigned before (§6.11).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
pub struct Witness {
    /// The witness's key name (a signed-note key name, e.g. `witness.example.org/w1`).
    #[n(0)]
    pub name: String,
    /// Its cosignature/v1 Ed25519 public key.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub public_key: [u8; 32],
    /// Its submission prefix (`<url>/add-checkpoint` is the endpoint).
    #[n(2)]
    pub url: String,
}

impl Witness {
    /// The witness's cosignature verifier.
    pub fn verifier(
        &self,
    ) -> Result<crate::witness::WitnessVerifier, crate::witness::WitnessError> {
        crate::witness::WitnessVerifier::new(&self.name, &self.public_key)
    }
}

/// A checkpoint note's cosignatures read against a manifest's witnesses
/// (§6.11): who cosigned it, when, and whose cosignature line is forged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cosigners {
    /// Witnesses whose cosignature verifies, with its timestamp, in manifest order.
    pub cosigned: Vec<(String, u64)>,
    /// Witnesses whose key id appears on a line whose signature does not verify.
    pub forged: Vec<(String, crate::witness::WitnessError)>,
}

impl Cosigners {
    /// The names of the witnesses that cosigned.
    pub fn names(&self) -> Vec<String> {
        self.cosigned.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The election manifest (board entry 0).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
#[cbor(array)]
pub struct Manifest {
    /// Must be [`PROTOCOL_VERSION`].
    #[n(0)]
    pub version: u32,
    /// Title of the election.
    #[n(1)]
    pub title: String,
    /// Random salt: two otherwise equal manifests have different election ids.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub salt: [u8; 16],
    /// Ed25519 key of the board, which signs checkpoints and service entries.
    #[cbor(n(3), with = "minicbor::bytes")]
    pub board_key: [u8; 32],
    /// Constituencies.
    #[n(4)]
    pub constituencies: Vec<Constituency>,
    /// Trustees, in index order.
    #[n(5)]
    pub trustees: Vec<Trustee>,
    /// Decryption threshold t (t of n trustees).
    #[n(6)]
    pub threshold: u32,
    /// Lottery configuration.
    #[n(7)]
    pub lottery: Lottery,
    /// Voting opens (Unix seconds): the board's open entry may not come earlier (§8.4).
    #[n(8)]
    pub voting_opens: u64,
    /// Voting closes (Unix seconds): no open at or after it, no close before it,
    /// and the service takes no ballot from then on (§8.4).
    #[n(9)]
    pub voting_closes: u64,
    /// Witnesses that cosign the board's checkpoints (may be empty).
    #[n(10)]
    pub witnesses: Vec<Witness>,
    /// Cosignatures of distinct witnesses that make a checkpoint witnessed
    /// (0 without witnesses, else 1..=witnesses).
    #[n(11)]
    pub witness_quorum: u32,
    /// Client digest (§3.10) of the voter web client served for this
    /// election: an auditor compares it with the client built from source
    /// and with the one the service serves.
    #[cbor(n(12), with = "minicbor::bytes")]
    pub client_digest: [u8; 32],
}

impl Manifest {
    /// Reads `note`'s cosignatures against this manifest's witnesses
    /// (§6.11); a witness whose key the manifest check refuses is skipped.
    pub fn cosigners(&self, note: &[u8]) -> Cosigners {
        let mut out = Cosigners::default();
        for w in &self.witnesses {
            let Ok(verifier) = w.verifier() else {
                continue;
            };
            match verifier.cosignature(note) {
                Ok(Some(t)) => out.cosigned.push((w.name.clone(), t)),
                Ok(None) => {}
                Err(e) => out.forged.push((w.name.clone(), e)),
            }
        }
        out
    }

    /// Whether `cosigners` holds the manifest's quorum of witnesses and no
    /// forged cosignature (always true for a manifest without witnesses).
    pub fn is_witnessed(&self, cosigners: &Cosigners) -> bool {
        cosigners.forged.is_empty() && cosigners.cosigned.len() >= self.witness_quorum as usize
    }

    /// The election id: `TaggedHash("urne/v1/election-id", canonical manifest bytes)`.
    pub fn election_id(&self) -> ElectionId {
        tagged("urne/v1/election-id", &[&self.to_bytes()])
    }

    /// The key-generation parameters: election id, threshold, trustee keys.
    pub fn dkg_params(&self) -> Result<DkgParams, DkgError> {
        let keys = self.trustees.iter().map(|t| t.encryption_key).collect();
        DkgParams::new(&self.election_id(), self.threshold, keys)
    }

    /// Looks up a constituency by id.
    pub fn constituency(&self, id: &str) -> Option<&Constituency> {
        self.constituencies.iter().find(|c| c.id == id)
    }

    /// Checks every structural rule of §8.1 and the consistency of every
    /// constituency's seat rules (feasibility against the lottery pool is
    /// checked when the election opens, once the roster is known).
    pub fn validate(&self) -> Result<(), ManifestError> {
        let bad = |m: String| Err(ManifestError::Invalid(m));
        if self.version != PROTOCOL_VERSION {
            return Err(ManifestError::Version(self.version));
        }
        self.validate_text()?;
        self.validate_signing_keys()?;
        if self.constituencies.is_empty() {
            return bad("no constituency".into());
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut cands = std::collections::BTreeSet::new();
        for c in &self.constituencies {
            if c.id.is_empty() || !ids.insert(c.id.as_str()) {
                return bad(format!("empty or duplicate constituency id {:?}", c.id));
            }
            if c.candidates.is_empty() {
                return bad(format!("constituency {} has no candidates", c.id));
            }
            let n = c.candidates.len() as u64;
            if c.approval_min > c.approval_max
                || u64::from(c.approval_max) > n
                || c.approval_max == 0
            {
                return bad(format!(
                    "constituency {}: approvals {}..{} impossible with {} candidates",
                    c.id, c.approval_min, c.approval_max, n
                ));
            }
            for k in &c.candidates {
                if k.id.is_empty() || !cands.insert(k.id.as_str()) {
                    return bad(format!("empty or duplicate candidate id {:?}", k.id));
                }
            }
            c.rules.validate().map_err(|source| ManifestError::Seats {
                constituency: c.id.clone(),
                source,
            })?;
        }
        self.dkg_params()?;
        for (i, t) in self.trustees.iter().enumerate() {
            if t.index != i as u32 + 1 {
                return bad(format!("trustee {} listed at position {}", t.index, i + 1));
            }
        }
        self.validate_window()?;
        self.validate_witnesses()?;
        self.lottery.validate()?;
        for (i, k) in self.lottery.contributors.iter().enumerate() {
            if k.index != i as u32 + 1 {
                return bad(format!(
                    "contributor {} listed at position {}",
                    k.index,
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// Witnesses have distinct valid names, distinct usable keys and an
    /// http(s) URL; the quorum is within 1..=count (0 without witnesses).
    fn validate_witnesses(&self) -> Result<(), ManifestError> {
        let bad = |m: String| Err(ManifestError::Invalid(m));
        let mut names = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for w in &self.witnesses {
            if !crate::checkpoint::is_valid_name(&w.name) {
                return bad(format!(
                    "witness name {:?} is empty or holds a space or '+'",
                    w.name
                ));
            }
            if !names.insert(w.name.as_str()) {
                return bad(format!("witness {} is listed twice", w.name));
            }
            if !keys.insert(w.public_key) {
                return bad(format!("witness {} shares its key with another", w.name));
            }
            if !(w.url.starts_with("http://") || w.url.starts_with("https://"))
                || w.url.ends_with('/')
            {
                return bad(format!(
                    "witness {}: the URL {:?} must start with http:// or https:// and not end with /",
                    w.name, w.url
                ));
            }
        }
        let n = self.witnesses.len() as u64;
        let q = u64::from(self.witness_quorum);
        if q > n || (n > 0 && q == 0) {
            return bad(format!(
                "witness quorum {q} with {n} witnesses: it must be between 1 and {n}"
            ));
        }
        Ok(())
    }

    /// The voting window is not empty and ends before the lottery's reveal deadline.
    fn validate_window(&self) -> Result<(), ManifestError> {
        if self.voting_opens >= self.voting_closes {
            return Err(ManifestError::Window(format!(
                "voting opens at {} but closes at {}: the window is empty",
                self.voting_opens, self.voting_closes
            )));
        }
        if self.voting_closes > self.lottery.reveal_deadline {
            return Err(ManifestError::Window(format!(
                "voting closes at {}, after the lottery reveal deadline {}",
                self.voting_closes, self.lottery.reveal_deadline
            )));
        }
        Ok(())
    }

    /// Every text field within its §2.5 limit and free of control characters.
    fn validate_text(&self) -> Result<(), ManifestError> {
        text::check(TextField::Title, "title", &self.title)?;
        for c in &self.constituencies {
            text::check(TextField::Id, "constituency id", &c.id)?;
            text::check(TextField::Name, "constituency name", &c.name)?;
            for k in &c.candidates {
                text::check(TextField::Id, "candidate id", &k.id)?;
                text::check(TextField::Category, "candidate category", &k.category)?;
            }
        }
        for t in &self.trustees {
            text::check(TextField::Name, "trustee name", &t.name)?;
        }
        for k in &self.lottery.contributors {
            text::check(TextField::Name, "contributor name", &k.name)?;
        }
        for w in &self.witnesses {
            text::check(TextField::Name, "witness name", &w.name)?;
            text::check(TextField::Name, "witness URL", &w.url)?;
        }
        Ok(())
    }

    /// The board, trustee and contributor keys are all usable Ed25519 keys:
    /// no signature could ever verify under a small-order or non-canonical one.
    fn validate_signing_keys(&self) -> Result<(), ManifestError> {
        let usable = |key: &[u8; 32], what: String| {
            if crate::entry::is_valid_signing_key(key) {
                Ok(())
            } else {
                Err(ManifestError::SigningKey(what))
            }
        };
        usable(&self.board_key, "board key".into())?;
        for t in &self.trustees {
            usable(&t.signing_key, format!("trustee {} signing key", t.index))?;
        }
        for k in &self.lottery.contributors {
            usable(
                &k.signing_key,
                format!("contributor {} signing key", k.index),
            )?;
        }
        for w in &self.witnesses {
            usable(&w.public_key, format!("witness {} key", w.name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::RegistrarKey;
    use crate::dkg::TrusteeKey;
    use crate::seats::ParityRule;
    use ed25519_dalek::SigningKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn manifest() -> Manifest {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let key = |i: u8| SigningKey::from_bytes(&[i; 32]).verifying_key().to_bytes();
        Manifest {
            version: PROTOCOL_VERSION,
            title: "Assembly".into(),
            salt: [0; 16],
            board_key: key(1),
            constituencies: vec![Constituency {
                id: "north".into(),
                name: "North".into(),
                candidates: vec![Candidate {
                    id: "ana".into(),
                    category: "f".into(),
                }],
                approval_min: 0,
                approval_max: 1,
                rules: SeatRules {
                    seats: 1,
                    lottery_seats: 0,
                    quotas: vec![],
                    parity: ParityRule::None,
                },
                registrar_key: RegistrarKey::generate(&mut rng).public(),
            }],
            trustees: vec![Trustee {
                index: 1,
                name: "t1".into(),
                signing_key: key(2),
                encryption_key: TrusteeKey::generate(&mut rng).public_key(),
            }],
            threshold: 1,
            lottery: Lottery {
                method: DrawMethod::Drbg,
                contributors: vec![Contributor {
                    index: 1,
                    name: "c1".into(),
                    signing_key: key(3),
                }],
                beacon: Some(Beacon::quicknet(1_000_000_000)),
                sources: vec![],
                commit_deadline: 200,
                reveal_deadline: 300,
            },
            voting_opens: 100,
            voting_closes: 200,
            witnesses: vec![],
            witness_quorum: 0,
            client_digest: [4; 32],
        }
    }

    fn witness(name: &str, seed: u8) -> Witness {
        Witness {
            name: name.into(),
            public_key: SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes(),
            url: format!("http://127.0.0.1:90{seed:02}"),
        }
    }

    #[test]
    fn cosigners_count_toward_the_quorum_and_forgeries_are_named() {
        use crate::checkpoint::{election_origin, sign_checkpoint, BoardKey, Checkpoint};
        use crate::witness::WitnessKey;
        let (a, b) = (
            WitnessKey::from_seed("w1.example/a", &[4; 32]).unwrap(),
            WitnessKey::from_seed("w2.example/b", &[5; 32]).unwrap(),
        );
        let mut m = manifest();
        m.witnesses = [&a, &b]
            .iter()
            .map(|k| Witness {
                name: k.name().into(),
                public_key: k.verifier().public_key(),
                url: "http://127.0.0.1:9000".into(),
            })
            .collect();
        m.witness_quorum = 2;
        let origin = election_origin(&[1; 32]);
        let board = BoardKey::from_seed(&origin, &[9; 32]).unwrap();
        let note = sign_checkpoint(&board, &Checkpoint::new(origin, 3, [2; 32])).unwrap();
        let body = &note[..note.find("\n\n").unwrap() + 1];
        let cosigned = |keys: &[&WitnessKey]| {
            let lines: String = keys.iter().map(|k| k.cosign(body, 77).unwrap()).collect();
            crate::witness::add_signature_lines(&note, &lines).unwrap()
        };

        assert_eq!(m.cosigners(note.as_bytes()), Cosigners::default());
        assert!(!m.is_witnessed(&m.cosigners(note.as_bytes())));
        let one = m.cosigners(cosigned(&[&b]).as_bytes());
        assert_eq!(one.cosigned, vec![("w2.example/b".to_string(), 77)]);
        assert!(!m.is_witnessed(&one));
        let both = m.cosigners(cosigned(&[&a, &b]).as_bytes());
        assert_eq!(both.names(), ["w1.example/a", "w2.example/b"]);
        assert!(m.is_witnessed(&both));
        m.witness_quorum = 1;
        assert!(m.is_witnessed(&one));

        // A cosignature over another body, spliced onto this note, is forged.
        let other = sign_checkpoint(
            &board,
            &Checkpoint::new(election_origin(&[1; 32]), 4, [2; 32]),
        )
        .unwrap();
        let other_body = &other[..other.find("\n\n").unwrap() + 1];
        let forged = crate::witness::add_signature_lines(
            &cosigned(&[&b]),
            &a.cosign(other_body, 77).unwrap(),
        )
        .unwrap();
        let read = m.cosigners(forged.as_bytes());
        assert_eq!(read.names(), ["w2.example/b"]);
        assert_eq!(read.forged.len(), 1);
        assert_eq!(read.forged[0].0, "w1.example/a");
        assert!(!m.is_witnessed(&read));
    }

    #[test]
    fn witnesses_need_distinct_names_and_keys_and_a_reachable_quorum() {
        let mut m = manifest();
        m.witnesses = vec![witness("w1.example/a", 4), witness("w2.example/b", 5)];
        m.witness_quorum = 2;
        assert_eq!(m.validate(), Ok(()));
        let edits: [fn(&mut Manifest); 8] = [
            |m| m.witness_quorum = 3,
            |m| m.witness_quorum = 0,
            |m| m.witnesses[1].name = m.witnesses[0].name.clone(),
            |m| m.witnesses[1].public_key = m.witnesses[0].public_key,
            |m| m.witnesses[0].name = "a b".into(),
            |m| m.witnesses[0].url = "ftp://x".into(),
            |m| m.witnesses[0].url = "http://x/".into(),
            |m| {
                m.witnesses.clear();
                m.witness_quorum = 1;
            },
        ];
        for edit in edits {
            let mut w = m.clone();
            edit(&mut w);
            assert!(
                matches!(w.validate(), Err(ManifestError::Invalid(_))),
                "{:?}",
                w.validate()
            );
        }
        let mut w = m.clone();
        w.witnesses[0].public_key = [0xff; 32];
        assert!(matches!(w.validate(), Err(ManifestError::SigningKey(_))));
    }

    #[test]
    fn an_empty_or_late_voting_window_is_refused() {
        let mut m = manifest();
        m.voting_closes = m.voting_opens;
        assert!(matches!(m.validate(), Err(ManifestError::Window(_))));
        let mut m = manifest();
        m.voting_closes = m.lottery.reveal_deadline + 1;
        assert!(matches!(m.validate(), Err(ManifestError::Window(_))));
    }

    #[test]
    fn small_order_and_non_canonical_signing_keys_are_refused() {
        assert_eq!(manifest().validate(), Ok(()));
        let mut small_order = [0u8; 32];
        small_order[0] = 1; // the identity point
        let non_canonical = [0xff; 32];
        let edits: [fn(&mut Manifest, [u8; 32]); 3] = [
            |m, k| m.board_key = k,
            |m, k| m.trustees[0].signing_key = k,
            |m, k| m.lottery.contributors[0].signing_key = k,
        ];
        for edit in edits {
            for bad in [small_order, non_canonical] {
                let mut m = manifest();
                edit(&mut m, bad);
                assert!(
                    matches!(m.validate(), Err(ManifestError::SigningKey(_))),
                    "{:?}",
                    m.validate()
                );
            }
        }
    }

    #[test]
    fn text_fields_are_bounded_and_free_of_control_characters() {
        let edits: [fn(&mut Manifest); 7] = [
            |m| m.title = "t".repeat(text::MAX_TITLE + 1),
            |m| m.title = "a\0b".into(),
            |m| m.constituencies[0].id = "n".repeat(text::MAX_ID + 1),
            |m| m.constituencies[0].name = "North\r".into(),
            |m| m.constituencies[0].candidates[0].id = "a".repeat(text::MAX_ID + 1),
            |m| m.constituencies[0].candidates[0].category = "f".repeat(text::MAX_CATEGORY + 1),
            |m| m.trustees[0].name = "t".repeat(text::MAX_NAME + 1),
        ];
        for edit in edits {
            let mut m = manifest();
            edit(&mut m);
            assert!(
                matches!(m.validate(), Err(ManifestError::Text(_))),
                "{:?}",
                m.validate()
            );
        }
    }
}
