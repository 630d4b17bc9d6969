//! What urne's fuzz targets share: the tiny fixture election they start from,
//! the round-trip check every decoder must pass, and each target's seed
//! inputs, generated from the fixture and from `specs/vectors/`.
//!
//! Seeds are written by the targets themselves: with `URNE_FUZZ_SEEDS=DIR` in
//! the environment a target writes its seeds into `DIR` when it starts, before
//! libFuzzer reads its corpus (`run.sh` does this).

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{self, Entry, EntryKind};
use urne_crypto::record::{BallotCheck, BallotHistory, Record};
use urne_crypto::{ballot, credential, decryption, dkg, dleq, elgamal, lottery, manifest};
use urne_crypto::{schnorr, seats};
use urne_e2e::fixture::{build, Fixture, Params, FUZZ_SEED};

/// The fixture election every target starts from, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| build(&Params::tiny(FUZZ_SEED)))
}

/// The fixture's final record (complete, replayed with full checks).
pub fn final_record() -> &'static Record {
    static RECORD: OnceLock<Record> = OnceLock::new();
    RECORD.get_or_init(|| fixture().replay().expect("the fixture replays"))
}

/// Snapshots of the fixture's record before each entry: `prefix_snapshots()[i]`
/// is the state after entries `0..i` (index 0 is unused: it has no record).
pub fn prefix_snapshots() -> &'static [Vec<u8>] {
    static SNAPSHOTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SNAPSHOTS.get_or_init(|| {
        let entries = &fixture().entries;
        let mut record = Record::open(&entries[0]).expect("manifest");
        let mut out = vec![Vec::new(), record.snapshot()];
        for e in &entries[1..entries.len() - 1] {
            record
                .apply(e, BallotCheck::Deferred, &Board(entries))
                .expect("fixture entry applies");
            out.push(record.snapshot());
        }
        out
    })
}

/// The signing key of every signer of the fixture, by public key.
pub fn signers() -> &'static HashMap<Vec<u8>, SigningKey> {
    static SIGNERS: OnceLock<HashMap<Vec<u8>, SigningKey>> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        let f = fixture();
        std::iter::once(f.board_signer())
            .chain(f.trustee_signers.iter().cloned())
            .chain(f.contributor_signers.iter().cloned())
            .chain(f.member_signers.iter().cloned())
            .map(|k| (k.verifying_key().to_bytes().to_vec(), k))
            .collect()
    })
}

/// Earlier ballots read from a slice of entries (out of range: an error).
pub struct Board<'a>(pub &'a [Entry]);

impl BallotHistory for Board<'_> {
    fn ballot_at(&self, index: u64) -> Result<entry::Ballot, String> {
        let e = self
            .0
            .get(usize::try_from(index).map_err(|e| e.to_string())?)
            .ok_or_else(|| format!("no entry {index}"))?;
        e.body().map_err(|e| e.to_string())
    }
}

/// Decodes `bytes` as `T`; when accepted, asserts that the value re-encodes
/// to exactly `bytes` and that those decode to an equal value.
pub fn round_trip<T: Canonical + PartialEq + Debug>(bytes: &[u8]) -> Option<T> {
    let value = T::from_bytes(bytes).ok()?;
    let again = value.to_bytes();
    assert_eq!(again, bytes, "an accepted encoding re-encodes differently");
    let decoded = T::from_bytes(&again).expect("a re-encoding decodes");
    assert_eq!(decoded, value, "a re-encoding decodes to another value");
    Some(value)
}

/// Decodes `bytes` as the body of an entry of `kind`, with the round trip
/// (and a manifest's own checks); whether it was accepted.
pub fn body(kind: EntryKind, bytes: &[u8]) -> bool {
    use EntryKind as K;
    match kind {
        K::Manifest => round_trip::<manifest::Manifest>(bytes).map(|m| {
            if m.validate().is_ok() {
                let _ = m.election_id();
                let _ = m.dkg_params();
            }
        }),
        K::Roster => round_trip::<entry::Roster>(bytes).map(drop),
        K::Enrollment => round_trip::<entry::Enrollment>(bytes).map(drop),
        K::DkgDealing => round_trip::<entry::DkgDealing>(bytes).map(drop),
        K::DkgComplaint => round_trip::<entry::DkgComplaint>(bytes).map(drop),
        K::ElectionKey => round_trip::<entry::ElectionKey>(bytes).map(drop),
        K::Open | K::Close => round_trip::<entry::PhaseChange>(bytes).map(drop),
        K::Issuance => round_trip::<entry::Issuance>(bytes).map(drop),
        K::Ballot => round_trip::<entry::Ballot>(bytes).map(drop),
        K::DecryptionShare => round_trip::<entry::DecryptionShare>(bytes).map(drop),
        K::Tally => round_trip::<entry::Tally>(bytes).map(drop),
        K::SeatResult => round_trip::<entry::SeatResult>(bytes).map(drop),
        K::LotteryCommit => round_trip::<entry::LotteryCommit>(bytes).map(drop),
        K::LotteryReveal => round_trip::<entry::LotteryReveal>(bytes).map(drop),
        K::Beacon => round_trip::<entry::BeaconValue>(bytes).map(drop),
        K::Seed => round_trip::<entry::LotterySeed>(bytes).map(drop),
        K::Attestation => round_trip::<entry::Attestation>(bytes).map(drop),
        K::RevealsClosed => round_trip::<entry::RevealsClosed>(bytes).map(drop),
        K::DkgAcknowledgement => round_trip::<entry::DkgAcknowledgement>(bytes).map(drop),
    }
    .is_some()
}

/// The proof and key objects of the `proof` target, by selector byte.
pub const PROOF_OBJECTS: [&str; 19] = [
    "encrypted-vote",
    "ballot-statement",
    "representation-proof",
    "credential",
    "signer-commitment",
    "blind-challenge",
    "signer-response",
    "credential-context",
    "registrar-public-key",
    "ballot-public-key",
    "ballot-signature",
    "dleq-proof",
    "dkg-schnorr-proof",
    "dkg-params",
    "decryption-share",
    "ciphertext",
    "seat-rules",
    "draw",
    "elected-seats",
];

/// Selector of `name` in [`PROOF_OBJECTS`].
pub fn proof_selector(name: &str) -> u8 {
    PROOF_OBJECTS
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u8::try_from(i).ok())
        .expect("a proof object name")
}

/// Decodes `bytes` as proof object `selector` (modulo the count), with the
/// round trip; whether it was accepted.
pub fn proof(selector: u8, bytes: &[u8]) -> bool {
    match usize::from(selector) % PROOF_OBJECTS.len() {
        0 => round_trip::<ballot::EncryptedVote>(bytes).map(drop),
        1 => round_trip::<ballot::BallotStatement>(bytes).map(drop),
        2 => round_trip::<ballot::RepresentationProof>(bytes).map(drop),
        3 => round_trip::<credential::Credential>(bytes).map(drop),
        4 => round_trip::<credential::SignerCommitment>(bytes).map(drop),
        5 => round_trip::<credential::BlindChallenge>(bytes).map(drop),
        6 => round_trip::<credential::SignerResponse>(bytes).map(drop),
        7 => round_trip::<credential::CredentialContext>(bytes).map(drop),
        8 => round_trip::<credential::RegistrarPublicKey>(bytes).map(drop),
        9 => round_trip::<schnorr::BallotPublicKey>(bytes).map(drop),
        10 => round_trip::<schnorr::Signature>(bytes).map(drop),
        11 => round_trip::<dleq::DleqProof>(bytes).map(drop),
        12 => round_trip::<dkg::SchnorrProof>(bytes).map(drop),
        13 => round_trip::<dkg::DkgParams>(bytes).map(drop),
        14 => round_trip::<decryption::DecryptionShare>(bytes).map(drop),
        15 => round_trip::<elgamal::Ciphertext>(bytes).map(drop),
        16 => round_trip::<seats::SeatRules>(bytes).map(drop),
        17 => round_trip::<lottery::Draw>(bytes).map(drop),
        _ => round_trip::<Vec<seats::ElectedSeat>>(bytes).map(drop),
    }
    .is_some()
}

/// `prefix ‖ bytes`.
pub fn tagged(prefix: &[u8], bytes: &[u8]) -> Vec<u8> {
    [prefix, bytes].concat()
}

/// Every hex string of the vectors, with the name of its field (the last
/// object key on its path), in file order.
pub fn vector_strings() -> Vec<(String, Vec<u8>)> {
    const VECTORS: [&str; 6] = [
        include_str!("../../../specs/vectors/ballot.json"),
        include_str!("../../../specs/vectors/board.json"),
        include_str!("../../../specs/vectors/credential.json"),
        include_str!("../../../specs/vectors/group.json"),
        include_str!("../../../specs/vectors/seats.json"),
        include_str!("../../../specs/vectors/trustee.json"),
    ];
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, Vec<u8>)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    walk(v, &format!("{path}.{k}"), out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, path, out)),
            serde_json::Value::String(s) => {
                if let Ok(bytes) = hex::decode(s) {
                    out.push((path.to_string(), bytes));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for text in VECTORS {
        let v: serde_json::Value = serde_json::from_str(text).expect("vectors are JSON");
        walk(&v, "", &mut out);
    }
    out
}

/// Every text string of the vectors under a field named `field`.
pub fn vector_texts(field: &str) -> Vec<String> {
    let text = include_str!("../../../specs/vectors/board.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("vectors are JSON");
    let mut out = Vec::new();
    let mut stack = vec![&v];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        serde_json::Value::String(s) if k == field => out.push(s.clone()),
                        _ => stack.push(v),
                    }
                }
            }
            serde_json::Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

/// The vector byte strings whose path ends in `suffix`.
pub fn vectors_named(suffix: &str) -> Vec<Vec<u8>> {
    vector_strings()
        .into_iter()
        .filter(|(p, _)| p.ends_with(suffix))
        .map(|(_, b)| b)
        .collect()
}

/// The fixture's export.
pub fn export() -> &'static [u8] {
    static EXPORT: OnceLock<Vec<u8>> = OnceLock::new();
    EXPORT.get_or_init(|| fixture().export())
}

/// Writes `seeds` into `$URNE_FUZZ_SEEDS` when that is set (see the crate docs).
pub fn write_seeds(seeds: impl FnOnce() -> Vec<Vec<u8>>) {
    let Some(dir) = std::env::var_os("URNE_FUZZ_SEEDS").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("seed directory");
    for (i, seed) in seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:04}")), seed).expect("seed written");
    }
}
