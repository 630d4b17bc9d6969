//! Every role's steps of the client library, applied to an election record
//! without HTTP: the entries the voter, trustee, contributor and auditor
//! functions build must pass every rule of `urne_crypto::record`, and the
//! export of the resulting board must verify.

use curve25519_dalek::ristretto::RistrettoPoint;
use ed25519_dalek::SigningKey;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use urne_crypto::beacon::DemoNetwork;
use urne_crypto::checkpoint::{election_origin, sign_checkpoint, BoardKey, Checkpoint};
use urne_crypto::credential::{CredentialContext, RegistrarKey, SignerState};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::*;
use urne_crypto::export::{ExportWriter, Record as ExportRecord};
use urne_crypto::merkle;
use urne_crypto::record::{BallotCheck, BallotVerifier, Phase, Record};
use urne_crypto::schnorr::BallotSecretKey;
use urne_server::client::auditor::{self, attestation_entry};
use urne_server::client::board::BallotStore;
use urne_server::client::draft::{BeaconDraft, ManifestDraft};
use urne_server::client::keys::KeyFile;
use urne_server::client::{contributor, receipt, trustee, voter};

const DRAFT: &str = r#"
title = "Roles"
threshold = 2
voting_opens = "2025-11-20T00:00:00Z"
voting_closes = "2025-11-24T00:00:00Z"
trustees = []
[[constituencies]]
id = "north"
name = "North"
approval_min = 1
approval_max = 2
candidates = [{ id = "ana", category = "f" }, { id = "bo", category = "m" }, { id = "cy", category = "f" }]
rules = { seats = 2, lottery_seats = 1, parity = { max_share = 50 } }
[[constituencies]]
id = "south"
name = "South"
approval_min = 1
approval_max = 1
candidates = [{ id = "di", category = "f" }, { id = "ed", category = "m" }]
rules = { seats = 2, lottery_seats = 1, parity = { max_share = 50 } }
[lottery]
reveal_deadline = "2026-12-03T00:00:00Z"
"#;

/// Genesis of the test's beacon network.
const GENESIS: u64 = 1_764_000_000;

struct Board {
    record: Record,
    entries: Vec<Vec<u8>>,
    store: BallotStore,
    key: SigningKey,
}

impl Board {
    fn apply(&mut self, entry: Entry) {
        self.try_apply(entry).unwrap();
    }

    fn try_apply(&mut self, entry: Entry) -> Result<(), String> {
        let applied = self
            .record
            .apply(&entry, BallotCheck::Full, &self.store)
            .map_err(|e| e.to_string())?;
        let bytes = entry.to_bytes();
        if let urne_crypto::record::Applied::Ballot { .. } = applied {
            self.store.insert(self.entries.len() as u64, bytes.clone());
        }
        self.entries.push(bytes);
        Ok(())
    }

    fn service<B: Canonical>(&mut self, kind: EntryKind, body: &B) {
        let e = Entry::signed(kind, *self.record.election(), body, &self.key);
        self.apply(e);
    }
}

#[test]
fn every_role_builds_entries_the_record_accepts_and_the_export_verifies() {
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let seed = [42u8; 32];
    let board_key = SigningKey::from_bytes(&seed);
    let trustees: Vec<KeyFile> = (0..3)
        .map(|i| KeyFile::generate("trustee", &format!("t{i}"), &mut rng))
        .collect();
    let contributors: Vec<KeyFile> = (0..2)
        .map(|i| KeyFile::generate("contributor", &format!("c{i}"), &mut rng))
        .collect();
    let mut draft: ManifestDraft = toml::from_str(DRAFT).unwrap();
    let network = DemoNetwork::from_seed(&[5; 64]);
    draft.lottery.beacon = Some(BeaconDraft {
        network: "test network".into(),
        round: None,
        public_key: Some(hex::encode(network.public_key())),
        chain_hash: Some(hex::encode([1u8; 32])),
        genesis_time: Some(GENESIS),
        period: Some(3),
    });
    for t in &trustees {
        draft
            .trustees
            .push(toml::from_str(&t.public_toml().unwrap()).unwrap());
    }
    for c in &contributors {
        draft
            .lottery
            .contributors
            .push(toml::from_str(&c.public_toml().unwrap()).unwrap());
    }
    let registrars: Vec<RegistrarKey> = (0..2).map(|_| RegistrarKey::generate(&mut rng)).collect();
    let publics: Vec<_> = registrars.iter().map(|r| r.public()).collect();
    let manifest = draft
        .to_manifest(
            board_key.verifying_key().to_bytes(),
            [1; 16],
            &publics,
            urne_server::api::web::client_digest(),
        )
        .unwrap();
    let election = manifest.election_id();
    let first = manifest_entry(&manifest, &board_key);
    let mut board = Board {
        record: Record::open(&first).unwrap(),
        entries: vec![first.to_bytes()],
        store: BallotStore::default(),
        key: board_key,
    };

    // Roster and enrolment.
    let people = [
        ("p1", "north", "f"),
        ("p2", "north", "m"),
        ("p3", "north", "f"),
        ("p4", "south", "m"),
        ("p5", "south", "f"),
    ];
    let members: Vec<RosterMember> = people
        .iter()
        .map(|(p, c, cat)| RosterMember {
            member: urne_crypto::entry::member_id(&election, p),
            constituency: c.to_string(),
            pool_pseudonym: p.to_string(),
            category: cat.to_string(),
        })
        .collect();
    board.service(
        EntryKind::Roster,
        &Roster {
            members: members.clone(),
        },
    );
    let member_keys: Vec<SigningKey> = (0..people.len())
        .map(|i| SigningKey::from_bytes(&[i as u8 + 100; 32]))
        .collect();
    for (m, k) in members.iter().zip(&member_keys) {
        board.apply(urne_crypto::voter::enrollment(
            election,
            &m.pool_pseudonym,
            k,
        ));
    }

    // Trustees deal, check each other's shares (no complaint), contributors commit.
    for t in &trustees {
        board.apply(
            trustee::dealing_entry(
                &manifest,
                &t.signing().unwrap(),
                &t.trustee_key().unwrap(),
                &mut rng,
            )
            .unwrap(),
        );
    }
    let dealings: Vec<_> = board.record.dealings().values().cloned().collect();
    for t in &trustees {
        let (good, complaints) = trustee::check_dealings(
            &manifest,
            &t.signing().unwrap(),
            &t.trustee_key().unwrap(),
            &dealings,
            &mut rng,
        )
        .unwrap();
        assert_eq!((good.len(), complaints.len()), (3, 0));
        board.apply(
            trustee::acknowledgement_entry(
                &manifest,
                &t.signing().unwrap(),
                &t.trustee_key().unwrap(),
                &dealings,
            )
            .unwrap(),
        );
    }
    let secrets = [[21u8; 32], [22u8; 32]];
    for (c, s) in contributors.iter().zip(&secrets) {
        board.apply(contributor::commit_entry(&manifest, &c.signing().unwrap(), s).unwrap());
    }
    let key = board.record.compute_election_key().unwrap();
    let pk: RistrettoPoint = *key.public_key();
    board.service(EntryKind::ElectionKey, &key);
    board.service(
        EntryKind::Open,
        &PhaseChange {
            at: manifest.voting_opens + 1,
        },
    );
    let verifier = BallotVerifier::new(manifest.clone(), pk);

    // Credentials and ballots; p1 revotes; a ballot under another constituency is refused.
    let mut ballots = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let c = manifest.constituency(&m.constituency).unwrap();
        let registrar = &registrars[usize::from(m.constituency == "south")];
        let ballot_key = BallotSecretKey::generate(&mut rng);
        let ctx = CredentialContext::new(election, &m.constituency);
        let (mut signer, commitment) = SignerState::commit(registrar, &ctx, &mut rng);
        let (state, challenge) = voter::blind(
            &c.registrar_key,
            &election,
            &m.constituency,
            &ballot_key,
            &commitment,
            &[i as u8; 32],
        )
        .unwrap();
        board.apply(urne_crypto::voter::issuance(
            election,
            m.member,
            &m.constituency,
            &commitment,
            &challenge,
            &member_keys[i],
        ));
        let response = signer.respond(registrar, &challenge).unwrap();
        let credential = voter::finish(
            state,
            &response,
            &c.registrar_key,
            &election,
            &m.constituency,
            &ballot_key,
        )
        .unwrap();
        ballots.push((ballot_key, credential));
    }
    let approve = |c: &str, names: &[&str]| {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        voter::choices(manifest.constituency(c).unwrap(), &names).unwrap()
    };
    let votes = [
        ("north", vec!["ana", "bo"]),
        ("north", vec!["ana"]),
        ("north", vec!["cy", "ana"]),
        ("south", vec!["ed"]),
        ("south", vec!["ed"]),
    ];
    for (i, (c, names)) in votes.iter().enumerate() {
        let (k, cred) = &ballots[i];
        board.apply(
            voter::ballot_entry(&verifier, c, k, cred, &approve(c, names), &mut rng).unwrap(),
        );
    }
    let (k, cred) = &ballots[0];
    board.apply(
        voter::ballot_entry(
            &verifier,
            "north",
            k,
            cred,
            &approve("north", &["bo"]),
            &mut rng,
        )
        .unwrap(),
    );
    let wrong = voter::ballot_entry(
        &verifier,
        "south",
        k,
        cred,
        &approve("south", &["di"]),
        &mut rng,
    )
    .unwrap();
    assert!(
        board.try_apply(wrong).is_err(),
        "a north credential must not vote in south"
    );
    board.service(
        EntryKind::Close,
        &PhaseChange {
            at: manifest.voting_closes,
        },
    );

    // Two of three trustees decrypt; the tally counts the last ballots.
    for t in trustees.iter().take(2) {
        for c in &manifest.constituencies {
            let a: Vec<RistrettoPoint> = board
                .record
                .aggregate(&c.id)
                .unwrap()
                .iter()
                .map(|ct| ct.a)
                .collect();
            let e = trustee::decryption_entry(
                &manifest,
                &t.signing().unwrap(),
                &t.trustee_key().unwrap(),
                &dealings,
                &[],
                &c.id,
                &a,
                &mut rng,
            )
            .unwrap();
            board.apply(e);
        }
    }
    for c in ["north", "south"] {
        let tally = board.record.compute_tally(c).unwrap();
        board.service(EntryKind::Tally, &tally);
    }
    assert_eq!(board.record.tally("north").unwrap().counts, vec![2, 1, 1]);
    assert_eq!(board.record.tally("south").unwrap().counts, vec![0, 2]);

    // Lottery: one reveal (the other contributor withholds), reveals closed,
    // the verified beacon round, seed, seats.
    board.apply(
        contributor::reveal_entry(&manifest, &contributors[0].signing().unwrap(), &secrets[0])
            .unwrap(),
    );
    let withheld = board.record.withheld_now();
    assert_eq!(withheld, vec![2]);
    board.service(
        EntryKind::RevealsClosed,
        &RevealsClosed {
            at: GENESIS + 60,
            withheld,
        },
    );
    let round = manifest.lottery.beacon.as_ref().unwrap().round;
    board.service(
        EntryKind::Beacon,
        &BeaconValue {
            round,
            signature: network.sign(round).to_vec(),
            values: Vec::new(),
        },
    );
    let seed_entry = board.record.compute_seed().unwrap();
    assert_eq!(seed_entry.withheld, vec![2]);
    board.service(EntryKind::Seed, &seed_entry);
    for c in ["north", "south"] {
        let seats = board.record.compute_seats(c).unwrap();
        board.service(EntryKind::SeatResult, &seats);
    }
    assert_eq!(board.record.phase(), Phase::Seated);
    assert!(board.record.is_complete());

    // An auditor attests the board; the export verifies; a tampered export does not.
    let leaves: Vec<_> = board.entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    let size = leaves.len() as u64;
    let auditor_key = KeyFile::generate("auditor", "a", &mut rng);
    board.apply(attestation_entry(
        election,
        size,
        merkle::root(&leaves),
        true,
        5,
        "test",
        &auditor_key.signing().unwrap(),
    ));
    let notes = BoardKey::from_seed(&election_origin(&election), &seed).unwrap();
    let export = |entries: &[Vec<u8>]| {
        let leaves: Vec<_> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        let vkey = receipt::election_verifier(&notes.public_key(), &election)
            .unwrap()
            .to_vkey_string();
        let mut w = ExportWriter::new(Vec::new(), &vkey).unwrap();
        w.write(&ExportRecord::Checkpoint(
            sign_checkpoint(
                &notes,
                &Checkpoint::new(election_origin(&election), 3, merkle::root(&leaves[..3])),
            )
            .unwrap(),
        ))
        .unwrap();
        for e in entries {
            w.write(&ExportRecord::Entry(e.clone())).unwrap();
        }
        let fin = Checkpoint::new(
            election_origin(&election),
            leaves.len() as u64,
            merkle::root(&leaves),
        );
        w.finish(&sign_checkpoint(&notes, &fin).unwrap()).unwrap()
    };
    let verdict = auditor::verify_export(&export(&board.entries)).unwrap();
    assert!(verdict.complete);
    assert_eq!(verdict.ballots_counted, 5);
    let line = |name: &str| {
        verdict
            .checks
            .iter()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        line("attestations").starts_with("attestations: pass"),
        "{}",
        line("attestations")
    );
    assert!(
        line("checkpoints").starts_with("checkpoints: pass"),
        "{}",
        line("checkpoints")
    );
    let mut tampered = board.entries.clone();
    let last_ballot = tampered
        .iter()
        .rposition(|e| Entry::from_bytes(e).unwrap().kind == EntryKind::Ballot as u8)
        .unwrap();
    let n = tampered[last_ballot].len();
    tampered[last_ballot][n - 5] ^= 1;
    assert!(auditor::verify_export(&export(&tampered)).is_err());
}
