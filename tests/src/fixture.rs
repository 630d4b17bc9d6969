//! An offline election: every role (organiser, trustees, members, voters,
//! lottery contributors) played with `urne-crypto` alone, producing a complete
//! valid board and its export. Each entry is checked by the election record as
//! it is appended, so a fixture is valid by construction.

use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use urne_crypto::ballot::MAX_CANDIDATES;
use urne_crypto::beacon::{self, DemoNetwork};
use urne_crypto::checkpoint::{election_origin, sign_checkpoint, BoardKey, Checkpoint};
use urne_crypto::credential::{CredentialContext, RegistrarKey, SignerState, UserState};
use urne_crypto::decryption;
use urne_crypto::dkg::{self, TrusteeKey};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::*;
use urne_crypto::export::{ExportWriter, Record as ExportRecord};
use urne_crypto::lottery::{self, DrawMethod};
use urne_crypto::manifest::{
    Beacon, Candidate, Constituency, Contributor, ElectionId, Lottery, Manifest, Rfc3797Source,
    Trustee, Witness, PROTOCOL_VERSION,
};
use urne_crypto::witness::WitnessKey;

/// Seed of the fixture manifest's one witness.
pub const WITNESS_SEED: [u8; 32] = [0x57; 32];
/// Name of the fixture manifest's one witness.
pub const WITNESS_NAME: &str = "witness.fixture/w1";

/// The fixture's web client (§3.10): two small files, served with a
/// fixture board so that a verifier can check them against the manifest.
pub const CLIENT_FILES: [(&str, &[u8]); 2] = [
    ("assets/app.js", b"// the fixture's web client\n"),
    (
        "index.html",
        b"<!doctype html><title>urne fixture</title>\n",
    ),
];

/// The client digest of [`CLIENT_FILES`], which the fixture manifest names.
pub fn client_digest() -> [u8; 32] {
    let listing = urne_crypto::web_client::listing(CLIENT_FILES.iter().copied());
    urne_crypto::web_client::digest(listing.as_bytes())
}

/// The fixture manifest's witness key.
pub fn witness_key() -> WitnessKey {
    WitnessKey::from_seed(WITNESS_NAME, &WITNESS_SEED).expect("witness key")
}
use urne_crypto::merkle::{leaf_hash, Frontier};
use urne_crypto::record::{Applied, BallotCheck, BallotHistory, Record};
use urne_crypto::schnorr::BallotSecretKey;
use urne_crypto::seats::{CategoryQuota, ParityRule, SeatRules};
use urne_crypto::voter;

/// Board time of the open and the manifest's `voting_opens` (2025-12-01T08:00:00Z).
pub const OPEN_AT: u64 = 1_764_576_000;
/// Board time of the close and the manifest's `voting_closes`
/// (2025-12-02T20:00:00Z); commitments end here.
pub const CLOSE_AT: u64 = 1_764_705_600;
/// Planned end of the reveal window, a day after the close.
pub const REVEAL_DEADLINE: u64 = CLOSE_AT + 86_400;
/// Board time at which the fixture closes the reveals.
pub const REVEALS_CLOSED_AT: u64 = REVEAL_DEADLINE - 3_600;
/// Round 1 of the fixture's beacon network.
pub const BEACON_GENESIS: u64 = 1_764_000_000;
/// Seconds between the fixture network's rounds.
pub const BEACON_PERIOD: u64 = 3;

/// Signs `e` again with `key` (kind, election and body as they are now): how a
/// test forges an entry that gets past its envelope signature.
pub fn resign(e: &mut Entry, key: &SigningKey) {
    use ed25519_dalek::Signer;
    let digest = signing_digest(
        EntryKind::from_u8(e.kind).expect("known kind"),
        &e.election,
        &e.body,
    );
    e.signer = key.verifying_key().to_bytes().to_vec();
    e.signature = key.sign(&digest).to_bytes().to_vec();
}

/// The fixture's beacon network, as a manifest names it.
pub fn beacon_network_of(network: &DemoNetwork) -> beacon::Network<'_> {
    beacon::Network {
        scheme: beacon::SCHEME,
        public_key: network.public_key(),
        genesis_time: BEACON_GENESIS,
        period: BEACON_PERIOD,
    }
}

/// Seed of the fixture that the fuzz targets mutate and seed from
/// (`Params::tiny(FUZZ_SEED)`).
pub const FUZZ_SEED: u64 = 18;

/// Shape of one constituency.
#[derive(Debug, Clone)]
pub struct ConstituencySpec {
    /// Identifier.
    pub id: String,
    /// Number of candidates.
    pub candidates: usize,
    /// Number of voters (all enrol, obtain a credential and vote).
    pub voters: usize,
    /// Total seats.
    pub seats: u32,
    /// Seats drawn by lot.
    pub lottery_seats: u32,
}

/// Shape of a whole election.
#[derive(Debug, Clone)]
pub struct Params {
    /// Constituencies.
    pub constituencies: Vec<ConstituencySpec>,
    /// Number of trustees.
    pub trustees: u32,
    /// Decryption threshold.
    pub threshold: u32,
    /// Lottery contributors.
    pub contributors: u32,
    /// How many contributors (the last ones) withhold their reveal.
    pub withhold: u32,
    /// Every `revote_every`-th voter votes a second time (0: nobody).
    pub revote_every: usize,
    /// Deterministic seed of every choice and key.
    pub seed: u64,
    /// The draw method: DRBG (commit–reveal and a beacon round) or RFC 3797
    /// (two declared public sources, no contributors).
    pub method: DrawMethod,
    /// The last trustee deals trustee 1 a bad share, and trustee 1's
    /// justified complaint disqualifies it (needs at least two trustees).
    pub bad_dealer: bool,
}

/// The public sources of an RFC 3797 fixture: (name, draw date, values).
pub const RFC3797_SOURCES: [(&str, &str, &[u64]); 2] = [
    ("Loterie nationale, numéro gagnant", "2025-12-03", &[9319]),
    ("EuroMillions, boules", "2025-12-03", &[2, 5, 12, 8, 10]),
];

impl Params {
    /// The same election drawn in RFC 3797 mode.
    pub fn rfc3797(mut self) -> Self {
        self.method = DrawMethod::Rfc3797;
        self.contributors = 0;
        self.withhold = 0;
        self
    }

    /// Three small constituencies, 3-of-5 trustees, revotes, one withholding contributor.
    pub fn small(seed: u64) -> Self {
        let c = |id: &str, candidates, voters, seats| ConstituencySpec {
            id: id.into(),
            candidates,
            voters,
            seats,
            lottery_seats: seats / 4,
        };
        Params {
            constituencies: vec![
                c("north", 8, 12, 4),
                c("south", 5, 9, 4),
                c("east", 3, 6, 2),
            ],
            trustees: 5,
            threshold: 3,
            contributors: 3,
            withhold: 1,
            revote_every: 4,
            seed,
            method: DrawMethod::Drbg,
            bad_dealer: false,
        }
    }

    /// Two tiny constituencies, 2-of-3 trustees, one revote, one withholding
    /// contributor: the smallest board with every kind of a whole election
    /// (the fuzz targets' fixture).
    pub fn tiny(seed: u64) -> Self {
        let c = |id: &str, candidates, voters, seats| ConstituencySpec {
            id: id.into(),
            candidates,
            voters,
            seats,
            lottery_seats: seats / 4,
        };
        Params {
            constituencies: vec![c("north", 8, 12, 4), c("east", 3, 6, 2)],
            trustees: 3,
            threshold: 2,
            contributors: 3,
            withhold: 1,
            revote_every: 3,
            seed,
            method: DrawMethod::Drbg,
            bad_dealer: false,
        }
    }

    /// One constituency of two candidates and three voters (one revotes),
    /// 2-of-3 trustees of whom one is disqualified by a justified complaint,
    /// two contributors of whom one withholds, one seat by vote and one by
    /// lot: the smallest board with every kind of entry (the conformance
    /// suite's election).
    pub fn micro(seed: u64) -> Self {
        Params {
            constituencies: vec![ConstituencySpec {
                id: "north".into(),
                candidates: 2,
                voters: 3,
                seats: 2,
                lottery_seats: 1,
            }],
            trustees: 3,
            threshold: 2,
            contributors: 2,
            withhold: 1,
            revote_every: 3,
            seed,
            method: DrawMethod::Drbg,
            bad_dealer: true,
        }
    }

    /// The reference case scaled by `voters_total`: 13 constituencies, about
    /// 1,000 candidates (one constituency with 210), a quarter of seats by lot.
    pub fn reference(voters_total: usize, seed: u64) -> Self {
        let mut candidates = vec![210usize];
        candidates.extend([66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66]);
        let total: usize = candidates.iter().sum();
        let constituencies = candidates
            .iter()
            .enumerate()
            .map(|(i, &n)| ConstituencySpec {
                id: format!("r{:02}", i + 1),
                candidates: n,
                voters: (voters_total * n).div_ceil(total),
                seats: if n > 100 { 24 } else { 8 },
                lottery_seats: if n > 100 { 6 } else { 2 },
            })
            .collect();
        Params {
            constituencies,
            trustees: 5,
            threshold: 3,
            contributors: 3,
            withhold: 1,
            revote_every: 50,
            seed,
            method: DrawMethod::Drbg,
            bad_dealer: false,
        }
    }
}

/// A complete, valid election board.
pub struct Fixture {
    /// The manifest.
    pub manifest: Manifest,
    /// The election id.
    pub election: ElectionId,
    /// Board entries in order.
    pub entries: Vec<Entry>,
    /// Seed of the board's Ed25519 key (signs service entries and checkpoints).
    pub board_seed: [u8; 32],
    /// Trustee signing keys, by index − 1 (to re-sign tampered trustee entries).
    pub trustee_signers: Vec<SigningKey>,
    /// Lottery contributor signing keys, by index − 1 (to re-sign tampered commits and reveals).
    pub contributor_signers: Vec<SigningKey>,
    /// Seed of the fixture's local beacon network (to sign other rounds in tamper tests).
    pub beacon_seed: [u8; 64],
    /// Member signing keys, in enrolment order (to re-sign tampered enrolments and issuances).
    pub member_signers: Vec<SigningKey>,
    /// Board indices of intermediate checkpoints to include in the export.
    pub checkpoint_sizes: Vec<u64>,
    /// The plaintext totals the counted (last) ballots add up to, per
    /// constituency in manifest order: what the published tally must say.
    pub expected_counts: Vec<Vec<u64>>,
}

struct NoHistory<'a>(&'a [Entry]);

impl BallotHistory for NoHistory<'_> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        let e = self
            .0
            .get(index as usize)
            .ok_or_else(|| format!("no entry {index}"))?;
        e.body().map_err(|e| e.to_string())
    }
}

fn rng_for(seed: u64, label: &str, i: u64) -> ChaCha20Rng {
    let h: [u8; 32] = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(label.as_bytes())
        .chain_update(i.to_le_bytes())
        .finalize()
        .into();
    ChaCha20Rng::from_seed(h)
}

/// The encryption key of trustee `index` (from 1) of the fixture of `seed`
/// (to post complaints in tamper tests).
pub fn trustee_key(seed: u64, index: u32) -> TrusteeKey {
    TrusteeKey::generate(&mut rng_for(seed, "trustee-enc", u64::from(index - 1)))
}

/// The one-time ballot key of voter `index` (from 0, in roster order over
/// all constituencies) of the fixture of `seed` (to re-sign tampered ballots).
pub fn ballot_key(seed: u64, index: u64) -> BallotSecretKey {
    BallotSecretKey::generate(&mut rng_for(seed, "voter", index))
}

fn signer(seed: u64, label: &str, i: u64) -> SigningKey {
    let mut bytes = [0u8; 32];
    rng_for(seed, label, i).fill_bytes(&mut bytes);
    SigningKey::from_bytes(&bytes)
}

/// Approvals of one voter: a random count in `min..=max`, candidates chosen
/// with a bias towards the first ones so results are not uniform.
fn choices(rng: &mut ChaCha20Rng, n: usize, min: usize, max: usize) -> Vec<bool> {
    let k = min + (rng.next_u64() as usize) % (max - min + 1);
    let mut chosen = vec![false; n];
    let mut picked = 0;
    while picked < k {
        // Square of a uniform index favours low indices.
        let u = (rng.next_u64() % 1_000_000) as f64 / 1_000_000.0;
        let i = ((u * u) * n as f64) as usize % n;
        if !chosen[i] {
            chosen[i] = true;
            picked += 1;
        }
    }
    chosen
}

struct Builder {
    record: Option<Record>,
    entries: Vec<Entry>,
    board: SigningKey,
    election: ElectionId,
}

impl Builder {
    fn push(&mut self, e: Entry) {
        let record = self.record.as_mut().expect("record open");
        record
            .apply(&e, BallotCheck::Deferred, &NoHistory(&self.entries))
            .unwrap_or_else(|err| panic!("fixture entry {} rejected: {err}", self.entries.len()));
        self.entries.push(e);
    }

    fn board<B: Canonical>(&mut self, kind: EntryKind, body: &B) {
        let e = Entry::signed(kind, self.election, body, &self.board);
        self.push(e);
    }

    fn record(&self) -> &Record {
        self.record.as_ref().expect("record open")
    }
}

/// Builds a complete election: setup, key generation, issuance, voting with
/// revotes, close, decryption, tally, lottery and seats.
pub fn build(params: &Params) -> Fixture {
    let seed = params.seed;
    let mut rng = rng_for(seed, "organiser", 0);
    let mut board_seed = [0u8; 32];
    rng.fill_bytes(&mut board_seed);
    let board = SigningKey::from_bytes(&board_seed);

    let trustee_keys: Vec<TrusteeKey> = (0..params.trustees)
        .map(|j| trustee_key(seed, j + 1))
        .collect();
    let trustee_signers: Vec<SigningKey> = (0..params.trustees)
        .map(|j| signer(seed, "trustee-sign", j.into()))
        .collect();
    let contributor_signers: Vec<SigningKey> = (0..params.contributors)
        .map(|j| signer(seed, "contributor", j.into()))
        .collect();
    let mut beacon_seed = [0u8; 64];
    rng_for(seed, "beacon-network", 0).fill_bytes(&mut beacon_seed);
    let beacon_network = DemoNetwork::from_seed(&beacon_seed);
    let beacon_round = beacon_network_of(&beacon_network)
        .first_round_after(REVEAL_DEADLINE)
        .expect("schedule");
    let registrars: Vec<RegistrarKey> = (0..params.constituencies.len())
        .map(|i| RegistrarKey::generate(&mut rng_for(seed, "registrar", i as u64)))
        .collect();

    let constituencies = params
        .constituencies
        .iter()
        .zip(&registrars)
        .map(|(spec, reg)| {
            assert!(spec.candidates as u32 <= MAX_CANDIDATES);
            let half = spec.seats / 2;
            Constituency {
                id: spec.id.clone(),
                name: format!("Constituency {}", spec.id),
                candidates: (0..spec.candidates)
                    .map(|k| Candidate {
                        id: format!("{}-cand{:03}", spec.id, k),
                        category: if k % 2 == 0 { "F" } else { "M" }.into(),
                    })
                    .collect(),
                approval_min: 1,
                approval_max: (spec.candidates as u32).min(5),
                rules: SeatRules {
                    seats: spec.seats,
                    lottery_seats: spec.lottery_seats,
                    quotas: vec![
                        CategoryQuota {
                            category: "F".into(),
                            min: half,
                            max: spec.seats - half,
                        },
                        CategoryQuota {
                            category: "M".into(),
                            min: half,
                            max: spec.seats - half,
                        },
                    ],
                    parity: ParityRule::None,
                },
                registrar_key: reg.public(),
            }
        })
        .collect();

    let manifest = Manifest {
        version: PROTOCOL_VERSION,
        title: "Fixture assembly election".into(),
        salt: {
            let mut s = [0u8; 16];
            rng.fill_bytes(&mut s);
            s
        },
        board_key: board.verifying_key().to_bytes(),
        constituencies,
        trustees: trustee_keys
            .iter()
            .zip(&trustee_signers)
            .enumerate()
            .map(|(i, (k, s))| Trustee {
                index: i as u32 + 1,
                name: format!("trustee-{}", i + 1),
                signing_key: s.verifying_key().to_bytes(),
                encryption_key: k.public_key(),
            })
            .collect(),
        threshold: params.threshold,
        lottery: Lottery {
            method: params.method,
            contributors: contributor_signers
                .iter()
                .enumerate()
                .map(|(i, s)| Contributor {
                    index: i as u32 + 1,
                    name: format!("contributor-{}", i + 1),
                    signing_key: s.verifying_key().to_bytes(),
                })
                .collect(),
            beacon: (params.method == DrawMethod::Drbg).then(|| {
                Beacon::demo(&beacon_network, BEACON_GENESIS, BEACON_PERIOD, beacon_round)
            }),
            sources: match params.method {
                DrawMethod::Drbg => Vec::new(),
                DrawMethod::Rfc3797 => RFC3797_SOURCES
                    .iter()
                    .map(|(name, date, values)| Rfc3797Source {
                        name: (*name).into(),
                        draw_date: (*date).into(),
                        values: values.len() as u32,
                    })
                    .collect(),
            },
            commit_deadline: CLOSE_AT,
            reveal_deadline: REVEAL_DEADLINE,
        },
        voting_opens: OPEN_AT,
        voting_closes: CLOSE_AT,
        witnesses: vec![Witness {
            name: WITNESS_NAME.into(),
            public_key: witness_key().verifier().public_key(),
            url: "http://127.0.0.1:7380".into(),
        }],
        witness_quorum: 1,
        client_digest: client_digest(),
    };
    let election = manifest.election_id();
    let first = manifest_entry(&manifest, &board);
    let mut b = Builder {
        record: Some(Record::open(&first).expect("fixture manifest")),
        entries: vec![first],
        board,
        election,
    };

    // Roster: every voter; half of them in the lottery pool.
    let mut members = vec![];
    for spec in &params.constituencies {
        for v in 0..spec.voters {
            let pseudonym = format!("{}-member{:05}", spec.id, v);
            let pool = v % 2 == 0;
            members.push(RosterMember {
                member: member_id(&election, &pseudonym),
                constituency: spec.id.clone(),
                pool_pseudonym: if pool {
                    pseudonym.clone()
                } else {
                    String::new()
                },
                category: if (v / 2) % 2 == 0 { "F" } else { "M" }.into(),
            });
        }
    }
    for chunk in members.chunks(5000) {
        b.board(
            EntryKind::Roster,
            &Roster {
                members: chunk.to_vec(),
            },
        );
    }

    // Lottery commitments (before the beacon exists).
    let secrets: Vec<[u8; 32]> = (0..params.contributors)
        .map(|j| {
            let mut s = [0u8; 32];
            rng_for(seed, "contributor-secret", j.into()).fill_bytes(&mut s);
            s
        })
        .collect();
    for (j, s) in secrets.iter().enumerate() {
        let c = LotteryCommit {
            contributor: j as u32 + 1,
            commitment: lottery::commitment(&election, j as u32 + 1, s),
        };
        let e = Entry::signed(
            EntryKind::LotteryCommit,
            election,
            &c,
            &contributor_signers[j],
        );
        b.push(e);
    }

    // Key generation.
    let dkg_params = manifest.dkg_params().expect("dkg params");
    let mut dealings = vec![];
    for j in 0..params.trustees {
        let mut drng = rng_for(seed, "deal", j.into());
        let d = if params.bad_dealer && j + 1 == params.trustees {
            dkg::deal_with_bad_share(&dkg_params, j + 1, 1, &mut drng).expect("deal")
        } else {
            dkg::deal(&dkg_params, j + 1, &mut drng).expect("deal")
        };
        dealings.push(d.clone());
        let e = Entry::signed(
            EntryKind::DkgDealing,
            election,
            &d,
            &trustee_signers[j as usize],
        );
        b.push(e);
    }
    if params.bad_dealer {
        let dealer = params.trustees;
        let complaint = trustee_keys[0]
            .complain(
                &dkg_params,
                &dealings[dealer as usize - 1],
                &mut rng_for(seed, "complaint", 0),
            )
            .expect("complaint");
        let e = Entry::signed(
            EntryKind::DkgComplaint,
            election,
            &complaint,
            &trustee_signers[0],
        );
        b.push(e);
    }
    // Every trustee acknowledges the dealings (after its complaints) before the election key.
    let digest = b.record().dealings_digest();
    for j in 0..params.trustees {
        let ack = DkgAcknowledgement {
            trustee: j + 1,
            dealings: digest,
        };
        let e = Entry::signed(
            EntryKind::DkgAcknowledgement,
            election,
            &ack,
            &trustee_signers[j as usize],
        );
        b.push(e);
    }
    let key = b.record().compute_election_key().expect("election key");
    b.board(EntryKind::ElectionKey, &key);
    b.board(EntryKind::Open, &PhaseChange { at: OPEN_AT });

    // Members: enrol, obtain a credential, vote (proofs in parallel).
    let verifier = b.record().ballot_verifier().expect("verifier");
    struct VoterPlan {
        constituency: String,
        ballot_key: BallotSecretKey,
        credential: urne_crypto::credential::Credential,
        index: u64,
    }
    let mut plans = vec![];
    let mut member_signers = vec![];
    let mut global = 0u64;
    for (ci, spec) in params.constituencies.iter().enumerate() {
        let ctx = CredentialContext::new(election, spec.id.clone());
        for v in 0..spec.voters {
            let pseudonym = format!("{}-member{:05}", spec.id, v);
            let member_key = signer(seed, "member", global);
            let mut vrng = rng_for(seed, "voter", global);
            b.push(voter::enrollment(election, &pseudonym, &member_key));
            let ballot_key = BallotSecretKey::generate(&mut vrng);
            let p = ballot_key.public_key();
            let (mut state, commitment) = SignerState::commit(&registrars[ci], &ctx, &mut vrng);
            let (user, challenge) = UserState::blind(
                &registrars[ci].public(),
                &ctx,
                p.as_bytes(),
                &commitment,
                &mut vrng,
            )
            .expect("blind");
            let member = member_id(&election, &pseudonym);
            b.push(voter::issuance(
                election,
                member,
                &spec.id,
                &commitment,
                &challenge,
                &member_key,
            ));
            member_signers.push(member_key);
            let response = state.respond(&registrars[ci], &challenge).expect("respond");
            let credential = user.finish(&response).expect("finish");
            plans.push(VoterPlan {
                constituency: spec.id.clone(),
                ballot_key,
                credential,
                index: global,
            });
            global += 1;
        }
    }
    let make = |plan: &VoterPlan, round: u64| -> (Entry, Vec<bool>) {
        let c = manifest
            .constituency(&plan.constituency)
            .expect("constituency");
        let mut vrng = rng_for(seed, "ballot", plan.index * 2 + round);
        let ch = choices(
            &mut vrng,
            c.candidates.len(),
            c.approval_min as usize,
            c.approval_max as usize,
        );
        let e = voter::ballot(
            &verifier,
            &plan.constituency,
            &plan.ballot_key,
            &plan.credential,
            &ch,
            &mut vrng,
        )
        .expect("ballot");
        (e, ch)
    };
    let revotes =
        |p: &VoterPlan| params.revote_every > 0 && p.index as usize % params.revote_every == 0;
    let mut expected_counts: Vec<Vec<u64>> = manifest
        .constituencies
        .iter()
        .map(|c| vec![0; c.candidates.len()])
        .collect();
    let mut tally = |constituency: &str, ch: &[bool]| {
        let ci = manifest
            .constituencies
            .iter()
            .position(|c| c.id == constituency)
            .expect("c");
        for (acc, v) in expected_counts[ci].iter_mut().zip(ch) {
            *acc += u64::from(*v);
        }
    };
    let ballots: Vec<(Entry, Vec<bool>)> = plans.par_iter().map(|p| make(p, 0)).collect();
    for ((e, ch), p) in ballots.into_iter().zip(&plans) {
        if !revotes(p) {
            tally(&p.constituency, &ch);
        }
        b.push(e);
    }
    let second: Vec<(Entry, Vec<bool>, String)> = plans
        .par_iter()
        .filter(|p| revotes(p))
        .map(|p| {
            let (e, ch) = make(p, 1);
            (e, ch, p.constituency.clone())
        })
        .collect();
    for (e, ch, c) in second {
        tally(&c, &ch);
        b.push(e);
    }
    b.board(EntryKind::Close, &PhaseChange { at: CLOSE_AT });

    // Decryption by the first `threshold` trustees.
    for j in 0..params.threshold as usize {
        let share = trustee_keys[j]
            .secret_share(&dkg_params, &key, &dealings)
            .expect("secret share");
        for spec in &params.constituencies {
            let a: Vec<_> = b
                .record()
                .aggregate(&spec.id)
                .expect("aggregate")
                .iter()
                .map(|c| c.a)
                .collect();
            let s = decryption::decryption_share(
                &share,
                &election,
                spec.id.as_bytes(),
                &a,
                &mut rng_for(seed, "decrypt", j as u64),
            );
            let body = DecryptionShare {
                constituency: spec.id.clone(),
                share: s,
            };
            let e = Entry::signed(
                EntryKind::DecryptionShare,
                election,
                &body,
                &trustee_signers[j],
            );
            b.push(e);
        }
    }
    for spec in &params.constituencies {
        let t = b.record().compute_tally(&spec.id).expect("tally");
        b.board(EntryKind::Tally, &t);
    }

    // Lottery: reveals (the last `withhold` contributors withhold), reveals
    // closed, the verified beacon round, seed, seats.
    let revealing = params.contributors.saturating_sub(params.withhold) as usize;
    for (j, s) in secrets.iter().enumerate().take(revealing) {
        let r = LotteryReveal {
            contributor: j as u32 + 1,
            secret: *s,
        };
        let e = Entry::signed(
            EntryKind::LotteryReveal,
            election,
            &r,
            &contributor_signers[j],
        );
        b.push(e);
    }
    let closed = RevealsClosed {
        at: REVEALS_CLOSED_AT,
        withheld: b.record().withheld_now(),
    };
    b.board(EntryKind::RevealsClosed, &closed);
    let beacon = match params.method {
        DrawMethod::Drbg => BeaconValue {
            round: beacon_round,
            signature: beacon_network.sign(beacon_round).to_vec(),
            values: Vec::new(),
        },
        DrawMethod::Rfc3797 => BeaconValue {
            round: 0,
            signature: Vec::new(),
            values: RFC3797_SOURCES.iter().map(|s| s.2.to_vec()).collect(),
        },
    };
    b.board(EntryKind::Beacon, &beacon);
    let s = b.record().compute_seed().expect("seed");
    b.board(EntryKind::Seed, &s);
    for spec in &params.constituencies {
        let r = b.record().compute_seats(&spec.id).expect("seats");
        b.board(EntryKind::SeatResult, &r);
    }
    assert!(b.record().is_complete());
    let n = b.entries.len() as u64;
    Fixture {
        manifest,
        election,
        entries: b.entries,
        board_seed,
        trustee_signers,
        contributor_signers,
        beacon_seed,
        member_signers,
        checkpoint_sizes: vec![1, n / 2, n - 1],
        expected_counts,
    }
}

impl Fixture {
    /// The board's note-signing key (named after the election's origin).
    pub fn board_key(&self) -> BoardKey {
        BoardKey::from_seed(&election_origin(&self.election), &self.board_seed).expect("board key")
    }

    /// The board's Ed25519 entry-signing key.
    pub fn board_signer(&self) -> SigningKey {
        SigningKey::from_bytes(&self.board_seed)
    }

    /// A signed checkpoint over the first `size` entries of `entries`.
    pub fn checkpoint_for(&self, entries: &[Vec<u8>], size: u64) -> String {
        let mut f = Frontier::new();
        for e in &entries[..size as usize] {
            f.append(leaf_hash(e)).expect("append");
        }
        let cp = Checkpoint::new(election_origin(&self.election), size, f.root());
        sign_checkpoint(&self.board_key(), &cp).expect("sign")
    }

    /// The canonical bytes of every entry.
    pub fn entry_bytes(&self) -> Vec<Vec<u8>> {
        self.entries.iter().map(|e| e.to_bytes()).collect()
    }

    /// The export of these entries (possibly tampered), with intermediate
    /// checkpoints after the sizes in `checkpoint_sizes` and a final checkpoint
    /// over all of them.
    pub fn export_of(&self, entries: &[Vec<u8>]) -> Vec<u8> {
        let vkey = self.board_key().verifier().to_vkey_string();
        let mut w = ExportWriter::new(Vec::new(), &vkey).expect("export");
        let mut f = Frontier::new();
        for (i, e) in entries.iter().enumerate() {
            w.write(&ExportRecord::Entry(e.clone())).expect("export");
            f.append(leaf_hash(e)).expect("append");
            let size = i as u64 + 1;
            if self.checkpoint_sizes.contains(&size) {
                let cp = Checkpoint::new(election_origin(&self.election), size, f.root());
                let note = sign_checkpoint(&self.board_key(), &cp).expect("sign");
                w.write(&ExportRecord::Checkpoint(note)).expect("export");
            }
        }
        let cp = Checkpoint::new(
            election_origin(&self.election),
            entries.len() as u64,
            f.root(),
        );
        let note = sign_checkpoint(&self.board_key(), &cp).expect("sign");
        w.finish(&note).expect("export")
    }

    /// The export of the untouched board.
    pub fn export(&self) -> Vec<u8> {
        self.export_of(&self.entry_bytes())
    }

    /// Counts entries of one kind.
    pub fn count(&self, kind: EntryKind) -> usize {
        self.entries.iter().filter(|e| e.kind == kind as u8).count()
    }

    /// Replays the whole board through a fresh record with full ballot
    /// verification, returning the record (a self-check of the fixture).
    pub fn replay(&self) -> Result<Record, (usize, urne_crypto::record::RecordError)> {
        let mut record = Record::open(&self.entries[0]).map_err(|e| (0, e))?;
        for (i, e) in self.entries.iter().enumerate().skip(1) {
            match record.apply(e, BallotCheck::Full, &NoHistory(&self.entries)) {
                Ok(Applied::Recorded | Applied::Ballot { .. } | Applied::Attestation(_)) => {}
                Err(err) => return Err((i, err)),
            }
        }
        Ok(record)
    }
}
