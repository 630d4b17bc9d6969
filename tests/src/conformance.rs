//! The conformance suite of `specs/conformance/`: small exports, each valid
//! or failing exactly one named check of `specs/protocol.md` §9.3 with one
//! stable code, generated deterministically from the micro fixture
//! ([`Params::micro`]) and re-signed where a tamper must get past a
//! signature.
//!
//! [`cases`] is the whole suite. A failing case is usually the honest board
//! cut right after the tampered entry (the replay stops there, §9.4), with
//! intermediate and final checkpoints signed over what the export holds, so
//! the only failure is the one the case is about. Monitored cases
//! ([`Case::before`]) verify an earlier export first and resume from its
//! state; service cases ([`Case::served`]) are read over the service's read
//! API (`crate::served`). To add a case, add one call in the group of its
//! check and regenerate (`specs/README.md`).

use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use urne_crypto::checkpoint::{election_origin, sign_checkpoint, BoardKey, Checkpoint};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::*;
use urne_crypto::export::MAGIC;
use urne_crypto::merkle::{leaf_hash, root};
use urne_crypto::schnorr::{self, BallotSecretKey};
use urne_crypto::voter;

use crate::fixture::{ballot_key, build, resign, trustee_key, witness_key, Fixture, Params};

/// Seed of the suite's elections.
pub const SEED: u64 = 17;

/// What `urne-verify` must say about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Complete and valid (exit status 0, `valid`).
    Valid,
    /// Valid so far: the election is still running (exit status 0).
    ValidSoFar,
    /// Invalid (exit status 1), with a failure of `check` with `code`, at
    /// board index `entry` (or with no entry).
    Fails {
        /// Check name (§9.3).
        check: &'static str,
        /// Stable failure code (§9.3).
        code: &'static str,
        /// Board index of the failing entry, if the failure has one.
        entry: Option<u64>,
    },
}

/// One export of the suite.
#[derive(Debug, Clone)]
pub struct Case {
    /// File name without extension (`NAME.export`, `NAME.json`).
    pub name: &'static str,
    /// What the export holds and why it must pass or fail.
    pub description: &'static str,
    /// The verdict it must get.
    pub expect: Expect,
    /// The export bytes (§8.5).
    pub export: Vec<u8>,
    /// A monitored case: the export verified first, keeping the verifier's
    /// state (`NAME.before.export`); the report is that of the run that
    /// resumes from it on `export` (§9.6).
    pub before: Option<Vec<u8>>,
    /// A service case: `export` (and `before`) are served over the read API
    /// rather than read as files (`NAME.service.json`).
    pub served: Option<Served>,
}

/// How a service case's board is served, beyond what its export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// Entry `index` fetched again alone is answered with these bytes.
    pub again: Option<(u64, Vec<u8>)>,
    /// Web client files (path, bytes) served instead of the fixture's (§3.10).
    pub client_files: Option<Vec<(String, Vec<u8>)>>,
    /// A client listing served instead of the listing of the served files.
    pub client_listing: Option<String>,
}

/// Export record tags (§8.5).
const KEY: u8 = 1;
const CHECKPOINT: u8 = 2;
const ENTRY: u8 = 3;
const FINAL: u8 = 4;

/// An export stream of raw records (tag, payload), after the magic.
fn stream(records: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for (tag, payload) in records {
        out.push(*tag);
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

fn bytes(entries: &[Entry]) -> Vec<Vec<u8>> {
    entries.iter().map(Entry::to_bytes).collect()
}

/// An auditor's key (any key may attest).
fn auditor() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// The honest board of one fixture, and what tampering with it needs.
struct Board {
    f: Fixture,
}

impl Board {
    fn new(params: &Params) -> Self {
        Board { f: build(params) }
    }

    fn entries(&self) -> &[Entry] {
        &self.f.entries
    }

    /// Board index of the `n`-th (from 0) entry of `kind`.
    fn nth(&self, kind: EntryKind, n: usize) -> usize {
        self.f
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == kind as u8)
            .nth(n)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("no {} number {n} on the board", kind.name()))
    }

    fn at(&self, kind: EntryKind) -> usize {
        self.nth(kind, 0)
    }

    fn entry(&self, kind: EntryKind) -> Entry {
        self.f.entries[self.at(kind)].clone()
    }

    /// The export of `entries` with the fixture's checkpoints, all signed.
    fn export(&self, entries: &[Entry]) -> Vec<u8> {
        self.f.export_of(&bytes(entries))
    }

    /// The honest board up to (excluding) index `i`, then `e`: the export of
    /// a board whose last entry is `e`.
    fn then(&self, i: usize, e: Entry) -> Vec<u8> {
        let mut entries = self.f.entries[..i].to_vec();
        entries.push(e);
        self.export(&entries)
    }

    /// The honest board up to and including index `last`, without index `drop`.
    fn without(&self, drop: usize, last: usize) -> Vec<u8> {
        let entries: Vec<Entry> = self.f.entries[..=last]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, e)| e.clone())
            .collect();
        self.export(&entries)
    }

    /// The entry of `kind` with its body changed by `change`, re-signed by `key`.
    fn with_body<B: Canonical>(
        &self,
        kind: EntryKind,
        key: Option<&SigningKey>,
        change: impl FnOnce(&mut B),
    ) -> Entry {
        let mut e = self.entry(kind);
        let mut body: B = e.body().expect("body");
        change(&mut body);
        e.body = body.to_bytes();
        if let Some(k) = key {
            resign(&mut e, k);
        }
        e
    }

    /// The entry at `i` with `change` applied to its envelope, re-signed by `key`.
    fn with_envelope(
        &self,
        i: usize,
        key: Option<&SigningKey>,
        change: impl FnOnce(&mut Entry),
    ) -> Entry {
        let mut e = self.f.entries[i].clone();
        change(&mut e);
        if let Some(k) = key {
            resign(&mut e, k);
        }
        e
    }

    fn board(&self) -> SigningKey {
        self.f.board_signer()
    }

    fn trustee(&self, j: usize) -> &SigningKey {
        &self.f.trustee_signers[j - 1]
    }

    fn contributor(&self, j: usize) -> &SigningKey {
        &self.f.contributor_signers[j - 1]
    }

    fn vkey(&self) -> String {
        self.f.board_key().verifier().to_vkey_string()
    }

    /// A note over the first `size` entries, signed by the board key.
    fn note(&self, entries: &[Vec<u8>], size: u64) -> String {
        self.f.checkpoint_for(entries, size)
    }

    /// A note of `size` with `root`, signed by the board key.
    fn note_with_root(&self, size: u64, root: [u8; 32]) -> String {
        let cp = Checkpoint::new(election_origin(&self.f.election), size, root);
        sign_checkpoint(&self.f.board_key(), &cp).expect("sign")
    }

    /// The honest board with one valid attestation of it appended.
    fn attested(&self) -> Vec<Entry> {
        let mut entries = self.f.entries.clone();
        entries.push(self.attestation(entries.len() as u64, None));
        entries
    }

    /// An attestation of the first `size` entries (or of `root`), signed by the auditor.
    fn attestation(&self, size: u64, root_override: Option<[u8; 32]>) -> Entry {
        let leaves: Vec<[u8; 32]> =
            bytes(&self.f.entries[..size.min(self.f.entries.len() as u64) as usize])
                .iter()
                .map(|b| leaf_hash(b))
                .collect();
        let a = Attestation {
            size,
            root: root_override.unwrap_or_else(|| root(&leaves)),
            valid: true,
            ballots_counted: 3,
            statement: "conformance auditor".into(),
        };
        Entry::signed(EntryKind::Attestation, self.f.election, &a, &auditor())
    }
}

/// Collects cases in order.
#[derive(Default)]
struct Suite {
    cases: Vec<Case>,
}

impl Suite {
    fn valid(&mut self, name: &'static str, description: &'static str, export: Vec<u8>) {
        self.push(name, description, Expect::Valid, export);
    }

    fn so_far(&mut self, name: &'static str, description: &'static str, export: Vec<u8>) {
        self.push(name, description, Expect::ValidSoFar, export);
    }

    fn fails(
        &mut self,
        name: &'static str,
        description: &'static str,
        check: &'static str,
        code: &'static str,
        entry: Option<usize>,
        export: Vec<u8>,
    ) {
        let entry = entry.map(|i| i as u64);
        self.push(
            name,
            description,
            Expect::Fails { check, code, entry },
            export,
        );
    }

    fn push(
        &mut self,
        name: &'static str,
        description: &'static str,
        expect: Expect,
        export: Vec<u8>,
    ) {
        assert!(
            self.cases.iter().all(|c| c.name != name),
            "two conformance cases named {name}"
        );
        self.cases.push(Case {
            name,
            description,
            expect,
            export,
            before: None,
            served: None,
        });
    }

    /// Makes the last case a monitored one: `before` is verified first.
    fn after(&mut self, before: Vec<u8>) {
        if let Some(c) = self.cases.last_mut() {
            c.before = Some(before);
        }
    }

    /// Makes the last case a service case.
    fn served(&mut self, served: Served) {
        if let Some(c) = self.cases.last_mut() {
            c.served = Some(served);
        }
    }
}

/// Every case of the suite, in a fixed order.
pub fn cases() -> Vec<Case> {
    let b = Board::new(&Params::micro(SEED));
    let rfc = Board::new(&Params::micro(SEED).rfc3797());
    let mut s = Suite::default();
    valid_cases(&mut s, &b, &rfc);
    format_cases(&mut s, &b);
    encoding_cases(&mut s, &b);
    manifest_cases(&mut s, &b);
    roster_cases(&mut s, &b);
    key_generation_cases(&mut s, &b);
    phase_and_issuance_cases(&mut s, &b);
    ballot_cases(&mut s, &b);
    decryption_cases(&mut s, &b);
    lottery_cases(&mut s, &b, &rfc);
    seat_cases(&mut s, &b);
    attestation_cases(&mut s, &b);
    checkpoint_cases(&mut s, &b);
    monitor_cases(&mut s, &b);
    service_cases(&mut s, &b);
    s.cases
}

fn valid_cases(s: &mut Suite, b: &Board, rfc: &Board) {
    s.valid(
        "valid",
        "A whole election: 3 voters of whom one revotes, trustee 3 disqualified by trustee 1's \
         justified complaint, contributor 2 withholding its reveal, a verified beacon round, \
         one seat by vote and one by lot, and an auditor's attestation of the whole board.",
        b.export(&b.attested()),
    );
    s.valid(
        "valid-rfc3797",
        "The same election drawn in RFC 3797 mode: no contributors, two declared public sources \
         whose values are posted in the beacon entry.",
        rfc.export(rfc.entries()),
    );
    let open = b.at(EntryKind::Open);
    s.so_far(
        "valid-so-far-open",
        "The board up to the opening of the vote: valid so far, phase open.",
        b.export(&b.entries()[..=open]),
    );
}

fn format_cases(s: &mut Suite, b: &Board) {
    let entries = bytes(b.entries());
    let n = entries.len() as u64;
    let note = b.note(&entries, n);
    let records = |extra: &[(u8, Vec<u8>)]| {
        let mut r = vec![(KEY, b.vkey().into_bytes())];
        r.extend(entries.iter().map(|e| (ENTRY, e.clone())));
        r.extend_from_slice(extra);
        r
    };
    let full = stream(&records(&[(FINAL, note.clone().into_bytes())]));

    let mut bad = full.clone();
    bad[0] = b'U';
    s.fails(
        "export-format-bad-magic",
        "The stream does not start with `urne-export/v1\\n`.",
        "export-format",
        "bad_magic",
        None,
        bad,
    );
    s.fails(
        "export-format-truncated",
        "The stream ends in the middle of the final checkpoint record.",
        "export-format",
        "truncated",
        None,
        full[..full.len() - 10].to_vec(),
    );
    // The first entry record follows the magic and the key record.
    let first_entry = MAGIC.len() + 5 + b.vkey().len();
    let mut bad = full.clone();
    bad[first_entry] = 9;
    s.fails(
        "export-format-unknown-record",
        "The first entry record has the unknown tag 9.",
        "export-format",
        "unknown_record",
        None,
        bad,
    );
    let mut bad = full.clone();
    bad[first_entry + 1..first_entry + 5].copy_from_slice(&((16u32 << 20) + 1).to_be_bytes());
    s.fails(
        "export-format-record-too-large",
        "The first entry record claims a length of 16 MiB + 1.",
        "export-format",
        "record_too_large",
        None,
        bad,
    );
    let mut key = b.vkey().into_bytes();
    key[0] = 0xff;
    let mut r = records(&[(FINAL, note.clone().into_bytes())]);
    r[0] = (KEY, key);
    s.fails(
        "export-format-not-utf8",
        "The key record is not UTF-8.",
        "export-format",
        "not_utf8",
        None,
        stream(&r),
    );
    let r = records(&[(FINAL, note.clone().into_bytes())]);
    s.fails(
        "export-format-missing-key",
        "The first record is an entry, not the board key.",
        "export-format",
        "missing_key",
        None,
        stream(&r[1..]),
    );
    let mut r = records(&[(FINAL, note.clone().into_bytes())]);
    r.insert(1, (KEY, b.vkey().into_bytes()));
    s.fails(
        "export-format-duplicate-key",
        "A second board key record follows the first.",
        "export-format",
        "duplicate_key",
        None,
        stream(&r),
    );
    s.fails(
        "export-format-trailing-record",
        "A record follows the final checkpoint.",
        "export-format",
        "trailing_record",
        None,
        stream(&records(&[
            (FINAL, note.clone().into_bytes()),
            (CHECKPOINT, note.clone().into_bytes()),
        ])),
    );

    let mut r = records(&[(FINAL, note.clone().into_bytes())]);
    r[0] = (KEY, b"not a verifier key".to_vec());
    s.fails(
        "board-key-malformed",
        "The key record is not a note verifier key string (so no checkpoint can be checked).",
        "board-key",
        "malformed_key",
        None,
        stream(&r.clone()),
    );
    s.fails(
        "final-checkpoint-no-board-key",
        "The same export: without a usable board key the final checkpoint cannot be opened.",
        "final-checkpoint",
        "no_board_key",
        None,
        stream(&r),
    );
    let mut r = vec![(KEY, b"not a verifier key".to_vec())];
    r.extend(entries.iter().map(|e| (ENTRY, e.clone())));
    r.insert(4, (CHECKPOINT, b.note(&entries, 3).into_bytes()));
    r.push((FINAL, note.clone().into_bytes()));
    s.fails(
        "checkpoint-no-board-key",
        "A malformed key record and an intermediate checkpoint after entry 3: without a usable \
         board key no checkpoint can be opened.",
        "checkpoints",
        "no_board_key",
        None,
        stream(&r),
    );
    let other = BoardKey::from_seed(&election_origin(&b.f.election), &[9u8; 32]).expect("key");
    let other_note = sign_checkpoint(
        &other,
        &Checkpoint::new(
            election_origin(&b.f.election),
            n,
            root(&entries.iter().map(|e| leaf_hash(e)).collect::<Vec<_>>()),
        ),
    )
    .expect("sign");
    let mut r = records(&[(FINAL, other_note.into_bytes())]);
    r[0] = (KEY, other.verifier().to_vkey_string().into_bytes());
    s.fails(
        "board-key-wrong",
        "The export's board key (which signs its checkpoints) is not the manifest's.",
        "board-key",
        "wrong_board_key",
        None,
        stream(&r),
    );
}

fn encoding_cases(s: &mut Suite, b: &Board) {
    let mut entries = bytes(b.entries());
    entries.truncate(2);
    entries[1].push(0);
    s.fails(
        "entry-encoding-malformed",
        "Entry 1 has a trailing byte after its canonical envelope.",
        "entry-encoding",
        "malformed_entry",
        Some(1),
        b.f.export_of(&entries),
    );
    let unknown = Entry {
        kind: 20,
        election: b.f.election,
        body: vec![0x80],
        signer: vec![],
        signature: vec![],
    };
    s.fails(
        "entry-encoding-unknown-kind",
        "Entry 1 is a well-formed envelope of the unknown kind 20.",
        "entry-encoding",
        "unknown_kind",
        Some(1),
        b.then(1, unknown),
    );
}

fn manifest_cases(s: &mut Suite, b: &Board) {
    let board = b.board();
    let key = b.vkey();
    let note = b.note(&[], 0);
    s.fails(
        "manifest-empty-board",
        "The export has a board key and a final checkpoint of size 0, and no entry.",
        "manifest",
        "empty_board",
        None,
        stream(&[(KEY, key.into_bytes()), (FINAL, note.into_bytes())]),
    );
    let e =
        b.with_body::<urne_crypto::manifest::Manifest>(EntryKind::Manifest, Some(&board), |m| {
            m.threshold = 0;
        });
    s.fails(
        "manifest-invalid",
        "Entry 0 is a manifest with threshold 0 (§8.1), signed by its board key.",
        "manifest",
        "bad_manifest",
        Some(0),
        b.then(0, e),
    );
    let e = b.with_envelope(1, Some(&board), |_| {});
    s.fails(
        "manifest-not-first",
        "Entry 0 is the roster, not a manifest.",
        "manifest",
        "bad_manifest",
        Some(0),
        b.then(0, e),
    );
    let e = b.with_envelope(0, Some(&board), |e| e.election = [0x11; 32]);
    s.fails(
        "manifest-wrong-election",
        "Entry 0's `election` is not the manifest's election id.",
        "manifest",
        "wrong_election",
        Some(0),
        b.then(0, e),
    );
    let e = b.with_envelope(0, None, |e| e.signature[10] ^= 1);
    s.fails(
        "manifest-bad-signature",
        "Entry 0's envelope signature does not verify under the manifest's board key.",
        "manifest",
        "bad_signature",
        Some(0),
        b.then(0, e),
    );
    let e = b.with_envelope(0, Some(&board), |e| e.body.push(0));
    s.fails(
        "manifest-malformed-body",
        "Entry 0's body has a trailing byte (not canonical), re-signed.",
        "manifest",
        "malformed_entry",
        Some(0),
        b.then(0, e),
    );
    let e = b.entries()[0].clone();
    s.fails(
        "manifest-second",
        "Entry 1 is the manifest again.",
        "manifest",
        "bad_manifest",
        Some(1),
        b.then(1, e),
    );
}

fn roster_cases(s: &mut Suite, b: &Board) {
    let board = b.board();
    let i = b.at(EntryKind::Roster);
    let election = b.f.election;
    let e = b.with_body::<Roster>(EntryKind::Roster, Some(&board), |r| {
        let first = r.members[0].clone();
        r.members.push(first);
    });
    s.fails(
        "roster-duplicate-member",
        "The roster lists its first member twice.",
        "roster",
        "duplicate",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_body::<Roster>(EntryKind::Roster, Some(&board), |r| {
        r.members[1].constituency = "nowhere".into();
    });
    s.fails(
        "roster-unknown-constituency",
        "A roster member's constituency is not in the manifest.",
        "roster",
        "unknown_reference",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_body::<Roster>(EntryKind::Roster, Some(&board), |r| {
        r.members[0].category = "F\n".into();
    });
    s.fails(
        "roster-invalid-text",
        "A roster category ends with a newline, a control character (§2.5).",
        "roster",
        "invalid_text",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_body::<Roster>(EntryKind::Roster, Some(&board), |r| {
        r.members[0].pool_pseudonym = "someone-else".into();
    });
    s.fails(
        "roster-pool-pseudonym-not-member",
        "A pool member's pool pseudonym is not the pseudonym of its member id (§8.3).",
        "roster",
        "mismatch",
        Some(i),
        b.then(i, e),
    );
    let candidate = b.f.manifest.constituencies[0].candidates[1].clone();
    let e = b.with_body::<Roster>(EntryKind::Roster, Some(&board), |r| {
        let m = &mut r.members[0];
        m.pool_pseudonym = candidate.id.clone();
        m.member = member_id(&election, &candidate.id);
        m.category = if candidate.category == "F" { "M" } else { "F" }.into();
    });
    s.fails(
        "roster-pool-member-is-candidate-of-other-category",
        "A pool member is named as a candidate of the manifest but listed in another category \
         (candidate ids and pool pseudonyms are one namespace, §8.3).",
        "roster",
        "mismatch",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_envelope(i, Some(&board), |e| e.election = [0x11; 32]);
    s.fails(
        "roster-wrong-election",
        "The roster entry is signed for another election.",
        "roster",
        "wrong_election",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_envelope(i, None, |e| e.signature[3] ^= 1);
    s.fails(
        "roster-bad-signature",
        "The roster's envelope signature does not verify.",
        "roster",
        "bad_signature",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_envelope(i, Some(b.trustee(1)), |_| {});
    s.fails(
        "roster-wrong-signer",
        "The roster is validly signed, but by a trustee's key instead of the board key (§8.2).",
        "roster",
        "bad_signature",
        Some(i),
        b.then(i, e),
    );
    let e = b.with_envelope(i, Some(&board), |e| e.body.push(0));
    s.fails(
        "roster-malformed-body",
        "The roster's body has a trailing byte (not canonical), re-signed.",
        "roster",
        "malformed_entry",
        Some(i),
        b.then(i, e),
    );
    let open = b.at(EntryKind::Open);
    s.fails(
        "roster-out-of-phase",
        "A roster entry after the vote opened.",
        "roster",
        "out_of_phase",
        Some(open + 1),
        b.then(open + 1, b.entries()[i].clone()),
    );
    let j = b.at(EntryKind::Enrollment);
    let stranger = SigningKey::from_bytes(&[5u8; 32]);
    s.fails(
        "enrollment-unknown-member",
        "An enrolment for a pseudonym that is not on the roster.",
        "roster",
        "unknown_reference",
        Some(j),
        b.then(j, voter::enrollment(election, "stranger", &stranger)),
    );
    let again = voter::enrollment(election, "north-member00000", &stranger);
    s.fails(
        "enrollment-duplicate",
        "A member enrols a second time with another key.",
        "roster",
        "duplicate",
        Some(j + 1),
        b.then(j + 1, again),
    );
}

fn key_generation_cases(s: &mut Suite, b: &Board) {
    let board = b.board();
    let d1 = b.at(EntryKind::DkgDealing);
    let e = b.with_body::<DkgDealing>(EntryKind::DkgDealing, Some(b.trustee(1)), |d| {
        d.commitments.reverse();
    });
    s.fails(
        "dkg-dealing-invalid-proof",
        "Dealer 1's commitments are swapped, so its proof of knowledge fails (§5.4).",
        "key-generation",
        "invalid_proof",
        Some(d1),
        b.then(d1, e),
    );
    let e = b.with_body::<DkgDealing>(EntryKind::DkgDealing, Some(b.trustee(1)), |d| d.dealer = 9);
    s.fails(
        "dkg-dealing-unknown-trustee",
        "A dealing by trustee 9 of 3.",
        "key-generation",
        "unknown_reference",
        Some(d1),
        b.then(d1, e),
    );
    s.fails(
        "dkg-dealing-duplicate",
        "Dealer 1 deals twice.",
        "key-generation",
        "duplicate",
        Some(d1 + 1),
        b.then(d1 + 1, b.entries()[d1].clone()),
    );
    let key = b.at(EntryKind::ElectionKey);
    s.fails(
        "dkg-dealing-after-key",
        "A dealing after the election key.",
        "key-generation",
        "out_of_phase",
        Some(key + 1),
        b.then(key + 1, b.entries()[d1].clone()),
    );
    let complaint = b.at(EntryKind::DkgComplaint);
    let params = b.f.manifest.dkg_params().expect("params");
    let dealing1: DkgDealing = b.entries()[d1].body().expect("dealing");
    let refuted = trustee_key(SEED, 2)
        .complain(&params, &dealing1, &mut ChaCha20Rng::from_seed([3; 32]))
        .expect("complaint");
    let e = Entry::signed(
        EntryKind::DkgComplaint,
        b.f.election,
        &refuted,
        b.trustee(2),
    );
    s.fails(
        "dkg-complaint-refuted",
        "Trustee 2 complains about dealer 1's good share: the complaint is refuted, so the \
         entry is invalid (§5.5, §8.4).",
        "key-generation",
        "invalid_proof",
        Some(complaint),
        b.then(complaint, e),
    );
    let d3 = b.nth(EntryKind::DkgDealing, 2);
    s.fails(
        "dkg-complaint-before-dealing",
        "Trustee 1's complaint against dealer 3 is posted before dealer 3's dealing.",
        "key-generation",
        "unknown_reference",
        Some(d3),
        b.then(d3, b.entries()[complaint].clone()),
    );
    s.fails(
        "dkg-complaint-duplicate",
        "Trustee 1 complains against dealer 3 twice.",
        "key-generation",
        "duplicate",
        Some(complaint + 1),
        b.then(complaint + 1, b.entries()[complaint].clone()),
    );
    let dealings: Vec<DkgDealing> = (0..3)
        .map(|n| {
            b.entries()[b.nth(EntryKind::DkgDealing, n)]
                .body()
                .expect("dealing")
        })
        .collect();
    let ignoring = urne_crypto::dkg::DkgOutcome::from_transcript(&params, &dealings, &[])
        .expect("outcome")
        .election_key;
    let e = Entry::signed(EntryKind::ElectionKey, b.f.election, &ignoring, &board);
    s.fails(
        "election-key-ignores-complaint",
        "The election key is the one without the complaint (dealer 3 still qualified).",
        "key-generation",
        "mismatch",
        Some(key),
        b.then(key, e),
    );
    s.fails(
        "election-key-duplicate",
        "The election key is posted twice.",
        "key-generation",
        "duplicate",
        Some(key + 1),
        b.then(key + 1, b.entries()[key].clone()),
    );
    s.fails(
        "election-key-unacknowledged",
        "The election key right after dealer 1's dealing, before any trustee acknowledged the \
         dealings.",
        "key-generation",
        "missing_acknowledgement",
        Some(d1 + 1),
        b.then(d1 + 1, b.entries()[key].clone()),
    );
    let ack = b.at(EntryKind::DkgAcknowledgement);
    let stale = b.with_body::<urne_crypto::entry::DkgAcknowledgement>(
        EntryKind::DkgAcknowledgement,
        Some(&b.f.trustee_signers[0]),
        |a| a.dealings[0] ^= 1,
    );
    s.fails(
        "acknowledgement-of-other-dealings",
        "Trustee 1 acknowledges dealings other than those on the board.",
        "key-generation",
        "mismatch",
        Some(ack),
        b.then(ack, stale),
    );
}

fn phase_and_issuance_cases(s: &mut Suite, b: &Board) {
    let board = b.board();
    let key = b.at(EntryKind::ElectionKey);
    let open = b.at(EntryKind::Open);
    s.fails(
        "open-without-election-key",
        "The vote opens without an election key.",
        "phases",
        "missing_prerequisite",
        Some(open - 1),
        b.without(key, open),
    );
    let roster = b.at(EntryKind::Roster);
    let no_pool = b.with_body::<Roster>(EntryKind::Roster, Some(&board), |r| {
        for m in &mut r.members {
            m.pool_pseudonym.clear();
        }
    });
    let mut entries = b.entries()[..=open].to_vec();
    entries[roster] = no_pool;
    s.fails(
        "open-infeasible-pool",
        "The roster puts nobody in the lottery pool, so the quotas cannot be met when the vote \
         opens (§7.3 checks 5–6, made at `open`).",
        "phases",
        "missing_prerequisite",
        Some(open),
        b.export(&entries),
    );
    s.fails(
        "open-twice",
        "The vote is opened twice.",
        "phases",
        "out_of_phase",
        Some(open + 1),
        b.then(open + 1, b.entries()[open].clone()),
    );
    let at = |kind: EntryKind, t: u64| {
        Entry::signed(
            kind,
            b.f.election,
            &urne_crypto::entry::PhaseChange { at: t },
            &board,
        )
    };
    let m = &b.f.manifest;
    s.fails(
        "open-before-voting-opens",
        "The vote opens one second before the manifest's `voting_opens`.",
        "phases",
        "outside_voting_window",
        Some(open),
        b.then(open, at(EntryKind::Open, m.voting_opens - 1)),
    );
    let close = b.at(EntryKind::Close);
    s.fails(
        "close-before-voting-closes",
        "The vote closes one second before the manifest's `voting_closes`.",
        "phases",
        "outside_voting_window",
        Some(close),
        b.then(close, at(EntryKind::Close, m.voting_closes - 1)),
    );
    s.fails(
        "close-before-open",
        "The vote is closed before it opened.",
        "phases",
        "out_of_phase",
        Some(open),
        b.then(open, b.entries()[close].clone()),
    );

    let iss = b.at(EntryKind::Issuance);
    s.fails(
        "issuance-duplicate",
        "A member obtains a second credential.",
        "issuance",
        "duplicate",
        Some(iss + 1),
        b.then(iss + 1, b.entries()[iss].clone()),
    );
    let enrol = b.at(EntryKind::Enrollment);
    s.fails(
        "issuance-not-enrolled",
        "An issuance for a member that has not enrolled.",
        "issuance",
        "unknown_reference",
        Some(iss - 1),
        b.without(enrol, iss),
    );
    let member = &b.f.member_signers[0];
    let e = b.with_body::<Issuance>(EntryKind::Issuance, Some(member), |r| {
        r.constituency = "south".into();
    });
    s.fails(
        "issuance-other-constituency",
        "An issuance for a constituency other than the member's.",
        "issuance",
        "mismatch",
        Some(iss),
        b.then(iss, e),
    );
    let e = b.with_envelope(iss, Some(&b.f.member_signers[1]), |_| {});
    s.fails(
        "issuance-wrong-signer",
        "An issuance signed by another member's key.",
        "issuance",
        "bad_signature",
        Some(iss),
        b.then(iss, e),
    );
    s.fails(
        "issuance-after-close",
        "An issuance after the close.",
        "issuance",
        "out_of_phase",
        Some(close + 1),
        b.then(close + 1, b.entries()[iss].clone()),
    );
}

fn ballot_cases(s: &mut Suite, b: &Board) {
    let first = b.at(EntryKind::Ballot);
    let close = b.at(EntryKind::Close);
    let ballot = |n: usize| -> Ballot {
        b.entries()[b.nth(EntryKind::Ballot, n)]
            .body()
            .expect("ballot")
    };
    let anonymous = |x: &Ballot| Entry::anonymous(EntryKind::Ballot, b.f.election, x);
    s.fails(
        "ballot-after-close",
        "A ballot after the close.",
        "ballots",
        "out_of_phase",
        Some(close + 1),
        b.then(close + 1, b.entries()[first].clone()),
    );
    let e = b.with_envelope(first, None, |e| {
        e.signer = vec![1; 32];
        e.signature = vec![2; 64];
    });
    s.fails(
        "ballot-signed-envelope",
        "A ballot whose envelope carries a signer and signature (ballots are anonymous).",
        "ballots",
        "bad_signature",
        Some(first),
        b.then(first, e),
    );
    let e = b.with_envelope(first, None, |e| e.election = [0x11; 32]);
    s.fails(
        "ballot-wrong-election",
        "A ballot envelope for another election.",
        "ballots",
        "wrong_election",
        Some(first),
        b.then(first, e),
    );
    let mut x = ballot(0);
    x.body.constituency = "nowhere".into();
    s.fails(
        "ballot-unknown-constituency",
        "A ballot for a constituency that is not in the manifest.",
        "ballots",
        "unknown_reference",
        Some(first),
        b.then(first, anonymous(&x)),
    );
    let x = ballot(0);
    let a = x.body.vote.ciphertexts()[0].a.compress().to_bytes();
    let mut e = b.entries()[first].clone();
    let at = e
        .body
        .windows(32)
        .position(|w| w == a)
        .expect("ciphertext in the body");
    e.body[at..at + 32].copy_from_slice(&[0xff; 32]);
    s.fails(
        "ballot-noncanonical-point",
        "The first ciphertext's `A` is not a canonical ristretto255 encoding: the body does not \
         decode, a record rule (§9.2 step 4.5).",
        "ballots",
        "malformed_entry",
        Some(first),
        b.then(first, e),
    );
    let third = b.nth(EntryKind::Ballot, 2);
    let mut x = ballot(1);
    x.body.ballot_key =
        BallotSecretKey::generate(&mut ChaCha20Rng::from_seed([4; 32])).public_key();
    s.fails(
        "ballot-more-keys-than-credentials",
        "A fourth ballot key in a constituency with three credentials.",
        "ballots",
        "mismatch",
        Some(third + 1),
        b.then(third + 1, anonymous(&x)),
    );
    s.fails(
        "ballot-replayed",
        "The first ballot is posted again: a revote must be a new ballot.",
        "ballots",
        "duplicate",
        Some(first + 1),
        b.then(first + 1, b.entries()[first].clone()),
    );
    let mut e = b.entries()[first].clone();
    // The body ends with the signature's `z` (32 bytes, little-endian): flip its lowest bit.
    let z = e.body.len() - 32;
    e.body[z] ^= 1;
    s.fails(
        "ballot-bad-signature",
        "The ballot's Schnorr signature `z` has a flipped bit.",
        "ballot-proofs",
        "invalid_proof",
        Some(first),
        b.then(first, e),
    );
    let mut x = ballot(0);
    x.body.credential = ballot(1).body.credential;
    s.fails(
        "ballot-bad-credential",
        "The first ballot carries the second ballot's credential.",
        "ballot-proofs",
        "invalid_proof",
        Some(first),
        b.then(first, anonymous(&x)),
    );
    let mut x = ballot(0);
    let proof = x.body.vote.bits_proof().to_bytes();
    let mut body = x.body.to_bytes();
    let at = body
        .windows(proof.len())
        .position(|w| w == proof.as_slice())
        .expect("proof in the body");
    // Offset 33: the proof's point `A` (§4.2).
    body[at + 33..at + 65].copy_from_slice(&[0xff; 32]);
    x.body = BallotBody::from_bytes(&body).expect("proof points are bytes in the body");
    // Re-signed by the voter's ballot key, so that only the proof fails.
    x.signature = schnorr::sign(
        &ballot_key(SEED, 0),
        &b.f.election,
        &x.body.constituency,
        &x.body.to_bytes(),
        &mut ChaCha20Rng::from_seed([6; 32]),
    );
    let e = anonymous(&x);
    s.fails(
        "ballot-noncanonical-point-in-range-proof",
        "The 0/1 proof's point `A` is not a canonical encoding, the ballot re-signed by its \
         ballot key: the body decodes (proof points are bytes there), the proof verifier \
         refuses it.",
        "ballot-proofs",
        "invalid_proof",
        Some(first),
        b.then(first, e),
    );
}

fn decryption_cases(s: &mut Suite, b: &Board) {
    let board = b.board();
    let share = b.at(EntryKind::DecryptionShare);
    let open = b.at(EntryKind::Open);
    let e = b.with_body::<DecryptionShare>(EntryKind::DecryptionShare, Some(b.trustee(2)), |d| {
        d.share.trustee = 2;
    });
    s.fails(
        "decryption-share-invalid-proof",
        "Trustee 1's decryption share posted as trustee 2's: its DLEQ proof fails against X_2.",
        "decryption-shares",
        "invalid_proof",
        Some(share),
        b.then(share, e),
    );
    s.fails(
        "decryption-share-duplicate",
        "Trustee 1 posts its share twice.",
        "decryption-shares",
        "duplicate",
        Some(share + 1),
        b.then(share + 1, b.entries()[share].clone()),
    );
    let e = b.with_body::<DecryptionShare>(EntryKind::DecryptionShare, Some(b.trustee(1)), |d| {
        d.share.trustee = 9;
    });
    s.fails(
        "decryption-share-unknown-trustee",
        "A decryption share of trustee 9 of 3.",
        "decryption-shares",
        "unknown_reference",
        Some(share),
        b.then(share, e),
    );
    s.fails(
        "decryption-share-before-close",
        "A decryption share while the vote is open.",
        "decryption-shares",
        "out_of_phase",
        Some(open + 1),
        b.then(open + 1, b.entries()[share].clone()),
    );

    let tally = b.at(EntryKind::Tally);
    let e = b.with_body::<Tally>(EntryKind::Tally, Some(&board), |t| t.counts[0] += 1);
    s.fails(
        "tally-wrong-count",
        "The tally adds one approval to the first candidate.",
        "tallies",
        "mismatch",
        Some(tally),
        b.then(tally, e),
    );
    let e = b.with_body::<Tally>(EntryKind::Tally, Some(&board), |t| t.trustees = vec![1, 3]);
    s.fails(
        "tally-names-absent-share",
        "The tally names trustee 3, who posted no share.",
        "tallies",
        "missing_prerequisite",
        Some(tally),
        b.then(tally, e),
    );
    s.fails(
        "tally-duplicate",
        "The tally is posted twice.",
        "tallies",
        "duplicate",
        Some(tally + 1),
        b.then(tally + 1, b.entries()[tally].clone()),
    );
}

fn lottery_cases(s: &mut Suite, b: &Board, rfc: &Board) {
    let board = b.board();
    let commit = b.at(EntryKind::LotteryCommit);
    let close = b.at(EntryKind::Close);
    s.fails(
        "lottery-commit-duplicate",
        "Contributor 1 commits twice.",
        "lottery",
        "duplicate",
        Some(commit + 1),
        b.then(commit + 1, b.entries()[commit].clone()),
    );
    let e = b.with_body::<LotteryCommit>(EntryKind::LotteryCommit, Some(b.contributor(1)), |c| {
        c.contributor = 9;
    });
    s.fails(
        "lottery-commit-unknown-contributor",
        "A commitment of contributor 9 of 2.",
        "lottery",
        "unknown_reference",
        Some(commit),
        b.then(commit, e),
    );
    s.fails(
        "lottery-commit-after-close",
        "A commitment after the close.",
        "lottery",
        "out_of_phase",
        Some(close + 1),
        b.then(close + 1, b.entries()[commit].clone()),
    );
    let reveal = b.at(EntryKind::LotteryReveal);
    let e = b.with_body::<LotteryReveal>(EntryKind::LotteryReveal, Some(b.contributor(1)), |r| {
        r.secret[0] ^= 1;
    });
    s.fails(
        "lottery-reveal-wrong-secret",
        "Contributor 1 reveals a secret that does not open its commitment.",
        "lottery",
        "mismatch",
        Some(reveal),
        b.then(reveal, e),
    );
    s.fails(
        "lottery-reveal-without-commitment",
        "Contributor 1 reveals, but its commitment is not on the board.",
        "lottery",
        "missing_prerequisite",
        Some(reveal - 1),
        b.without(commit, reveal),
    );
    s.fails(
        "lottery-reveal-duplicate",
        "Contributor 1 reveals twice.",
        "lottery",
        "duplicate",
        Some(reveal + 1),
        b.then(reveal + 1, b.entries()[reveal].clone()),
    );
    let closed = b.at(EntryKind::RevealsClosed);
    s.fails(
        "lottery-reveal-after-reveals-closed",
        "A reveal after the reveal window was closed.",
        "lottery",
        "lottery_out_of_order",
        Some(closed + 1),
        b.then(closed + 1, b.entries()[reveal].clone()),
    );
    let e = b.with_body::<RevealsClosed>(EntryKind::RevealsClosed, Some(&board), |c| {
        c.withheld.clear();
    });
    s.fails(
        "lottery-reveals-closed-wrong-withheld",
        "The closing of the reveals names nobody as withheld, though contributor 2 did not reveal.",
        "lottery",
        "mismatch",
        Some(closed),
        b.then(closed, e),
    );
    let e = b.with_body::<RevealsClosed>(EntryKind::RevealsClosed, Some(&board), |c| {
        c.at = 4_000_000_000;
    });
    s.fails(
        "lottery-reveals-closed-too-late",
        "The reveals are closed after the beacon round's publication time.",
        "lottery",
        "beacon_round_passed",
        Some(closed),
        b.then(closed, e),
    );
    let beacon = b.at(EntryKind::Beacon);
    s.fails(
        "lottery-beacon-before-reveals-closed",
        "The beacon round is posted before the reveal window is closed.",
        "lottery",
        "lottery_out_of_order",
        Some(beacon - 1),
        b.without(closed, beacon),
    );
    let e = b.with_body::<BeaconValue>(EntryKind::Beacon, Some(&board), |v| v.signature[5] ^= 1);
    s.fails(
        "lottery-beacon-bad-signature",
        "The beacon round's BLS signature has a flipped bit.",
        "lottery",
        "bad_beacon",
        Some(beacon),
        b.then(beacon, e),
    );
    let e = b.with_body::<BeaconValue>(EntryKind::Beacon, Some(&board), |v| v.round += 1);
    s.fails(
        "lottery-beacon-wrong-round",
        "The beacon entry names the round after the manifest's.",
        "lottery",
        "bad_beacon",
        Some(beacon),
        b.then(beacon, e),
    );
    let rb = rfc.at(EntryKind::Beacon);
    let e = rfc.with_body::<BeaconValue>(EntryKind::Beacon, Some(&rfc.board()), |v| {
        v.values[1].pop();
    });
    s.fails(
        "lottery-rfc3797-wrong-values",
        "RFC 3797 mode: the second source declares five values, four are posted.",
        "lottery",
        "bad_rfc3797_values",
        Some(rb),
        rfc.then(rb, e),
    );
    let seed = b.at(EntryKind::Seed);
    let e = b.with_body::<LotterySeed>(EntryKind::Seed, Some(&board), |x| x.seed[0] ^= 1);
    s.fails(
        "lottery-seed-wrong",
        "The lottery seed is not the one the reveals and the beacon determine.",
        "lottery",
        "mismatch",
        Some(seed),
        b.then(seed, e),
    );
    s.fails(
        "lottery-seed-before-beacon",
        "The seed is posted before the beacon round.",
        "lottery",
        "lottery_out_of_order",
        Some(seed - 1),
        b.without(beacon, seed),
    );
}

fn seat_cases(s: &mut Suite, b: &Board) {
    let board = b.board();
    let seats = b.at(EntryKind::SeatResult);
    let e = b.with_body::<SeatResult>(EntryKind::SeatResult, Some(&board), |r| {
        r.drawn[0].order += 1;
    });
    s.fails(
        "seat-result-wrong-draw",
        "The drawn seat's order is 2 instead of 1.",
        "seats",
        "mismatch",
        Some(seats),
        b.then(seats, e),
    );
    let e = b.with_body::<SeatResult>(EntryKind::SeatResult, Some(&board), |r| {
        r.elected[0].votes += 1;
    });
    s.fails(
        "seat-result-wrong-elected",
        "The elected seat's vote count is one more than the tally's.",
        "seats",
        "mismatch",
        Some(seats),
        b.then(seats, e),
    );
    let seed = b.at(EntryKind::Seed);
    s.fails(
        "seat-result-before-seed",
        "A seat result before the lottery seed.",
        "seats",
        "out_of_phase",
        Some(seats - 1),
        b.without(seed, seats),
    );
    s.fails(
        "seat-result-duplicate",
        "The seat result is posted twice.",
        "seats",
        "duplicate",
        Some(seats + 1),
        b.then(seats + 1, b.entries()[seats].clone()),
    );
}

fn attestation_cases(s: &mut Suite, b: &Board) {
    let n = b.entries().len();
    let mut entries = b.entries().to_vec();
    entries.push(b.attestation(n as u64 + 1, Some([0x42; 32])));
    s.fails(
        "attestation-of-itself",
        "An attestation of size i + 1 at index i: it would cover itself (§8.4).",
        "attestations",
        "mismatch",
        Some(n),
        b.export(&entries),
    );
    let mut entries = b.attested();
    entries[n].signature[7] ^= 1;
    s.fails(
        "attestation-bad-signature",
        "The attestation's signature does not verify under its signer.",
        "attestations",
        "bad_signature",
        Some(n),
        b.export(&entries),
    );
    let mut entries = b.entries().to_vec();
    entries.push(b.attestation(n as u64, Some([0x42; 32])));
    s.fails(
        "attestation-split-view",
        "A valid attestation of the board's size with another root: evidence of a split view.",
        "attestations",
        "inconsistent_attestation",
        Some(n),
        b.export(&entries),
    );
}

fn checkpoint_cases(s: &mut Suite, b: &Board) {
    let entries = bytes(b.entries());
    let n = entries.len() as u64;
    let key = (KEY, b.vkey().into_bytes());
    let all = |after: usize, note: String, last: String| {
        let mut r = vec![key.clone()];
        for (i, e) in entries.iter().enumerate() {
            r.push((ENTRY, e.clone()));
            if i + 1 == after {
                r.push((CHECKPOINT, note.clone().into_bytes()));
            }
        }
        r.push((FINAL, last.into_bytes()));
        stream(&r)
    };
    let good = b.note(&entries, n);
    let forged = |note: &str| {
        // Another root line under the same signature: the signature fails.
        let mut lines: Vec<&str> = note.split('\n').collect();
        lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        lines.join("\n")
    };
    s.fails(
        "checkpoint-bad-signature",
        "An intermediate checkpoint whose root line was changed under the board's signature.",
        "checkpoints",
        "bad_checkpoint",
        None,
        all(3, forged(&b.note(&entries, 3)), good.clone()),
    );
    // A cosignature by the manifest's witness.
    let cosign = |note: &str, body_of: &str, t: u64| {
        let text = &body_of[..body_of.find("\n\n").expect("signed note") + 1];
        let line = witness_key().cosign(text, t).expect("cosign");
        urne_crypto::witness::add_signature_lines(note, &line).expect("cosigned note")
    };
    let third = b.note(&entries, 3);
    s.valid(
        "checkpoint-cosigned",
        "Intermediate and final checkpoints cosigned by the manifest's witness (quorum 1).",
        all(
            3,
            cosign(&third, &third, 1_000),
            cosign(&good, &good, 1_001),
        ),
    );
    s.fails(
        "checkpoint-bad-cosignature",
        "An intermediate checkpoint carrying the manifest witness's cosignature of another \
         checkpoint.",
        "checkpoints",
        "bad_cosignature",
        None,
        all(3, cosign(&third, &b.note(&entries, 4), 1_000), good.clone()),
    );
    s.fails(
        "checkpoint-other-root",
        "An intermediate checkpoint signed by the board key with a root other than the \
         board's at its size.",
        "checkpoints",
        "inconsistent_checkpoint",
        None,
        all(3, b.note_with_root(3, [0x42; 32]), good.clone()),
    );
    s.fails(
        "checkpoint-beyond-export",
        "An intermediate checkpoint of a size beyond the export's entries.",
        "checkpoints",
        "inconsistent_checkpoint",
        None,
        all(3, b.note_with_root(n + 5, [0x42; 32]), good.clone()),
    );
    s.fails(
        "final-checkpoint-bad-signature",
        "The final checkpoint's root line was changed under the board's signature.",
        "final-checkpoint",
        "bad_checkpoint",
        None,
        all(0, String::new(), forged(&good)),
    );
    s.fails(
        "final-checkpoint-size",
        "The final checkpoint covers one entry less than the export holds.",
        "final-checkpoint",
        "size_mismatch",
        None,
        all(0, String::new(), b.note(&entries, n - 1)),
    );
    let mut r = vec![key.clone()];
    r.extend(entries.iter().map(|e| (ENTRY, e.clone())));
    s.fails(
        "final-checkpoint-missing",
        "The export ends after its last entry, without a final checkpoint.",
        "final-checkpoint",
        "missing",
        None,
        stream(&r),
    );
    s.fails(
        "merkle-root-mismatch",
        "The final checkpoint, signed by the board key, has the right size and another root.",
        "merkle-root",
        "root_mismatch",
        None,
        all(0, String::new(), b.note_with_root(n, [0x42; 32])),
    );
}

/// The honest board's first entries under another board key: its key record
/// and final checkpoint are another key's.
fn under_other_key(b: &Board, entries: &[Vec<u8>]) -> Vec<u8> {
    let other = BoardKey::from_seed(&election_origin(&b.f.election), &[0x5a; 32]).expect("key");
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf_hash(e)).collect();
    let cp = Checkpoint::new(
        election_origin(&b.f.election),
        entries.len() as u64,
        root(&leaves),
    );
    let note = sign_checkpoint(&other, &cp).expect("sign");
    let mut r = vec![(KEY, other.verifier().to_vkey_string().into_bytes())];
    r.extend(entries.iter().map(|e| (ENTRY, e.clone())));
    r.push((FINAL, note.into_bytes()));
    stream(&r)
}

/// The honest board with two entries of its first part swapped: a rewritten
/// history, every checkpoint signed over it.
fn forked(b: &Board) -> (Vec<Vec<u8>>, usize) {
    let mut entries = bytes(b.entries());
    entries.swap(1, 2);
    (entries, 1)
}

fn monitor_cases(s: &mut Suite, b: &Board) {
    let entries = bytes(b.entries());
    let open = b.at(EntryKind::Open);
    let until_open = b.export(&b.entries()[..=open]);
    let whole = b.export(b.entries());
    s.valid(
        "monitor-resumed",
        "Monitoring: the board up to the open is verified first, then the whole board; the \
         resumed run checks that the board only grew and gives the full verdict.",
        whole.clone(),
    );
    s.after(until_open.clone());
    let (fork, changed) = forked(b);
    s.fails(
        "monitor-prefix-changed",
        "Monitoring: after the board up to the open, an export whose entries 1 and 2 are \
         swapped (checkpoints re-signed over it): the verified prefix changed.",
        "consistency",
        "prefix_changed",
        Some(changed),
        b.f.export_of(&fork),
    );
    s.after(until_open.clone());
    s.fails(
        "monitor-board-shrank",
        "Monitoring: after the whole board, an export of the board up to the open only.",
        "consistency",
        "board_shrank",
        None,
        until_open.clone(),
    );
    s.after(whole);
    s.fails(
        "monitor-board-key-changed",
        "Monitoring: after the board up to the open, the whole board under another board key.",
        "consistency",
        "board_key_changed",
        None,
        under_other_key(b, &entries),
    );
    s.after(until_open);
}

fn service_cases(s: &mut Suite, b: &Board) {
    let entries = bytes(b.entries());
    let open = b.at(EntryKind::Open);
    let until_open = b.export(&b.entries()[..=open]);
    let whole = b.export(b.entries());
    s.valid(
        "service-valid",
        "The whole board read from a service's read API rather than from a file.",
        whole.clone(),
    );
    s.served(Served::default());
    s.valid(
        "service-monitor-resumed",
        "Monitoring a service: it serves the board up to the open, later the whole board with \
         a consistency proof between the two checkpoints.",
        whole.clone(),
    );
    s.after(until_open.clone());
    s.served(Served::default());
    let (fork, _) = forked(b);
    s.fails(
        "service-fork",
        "Monitoring a service: after the board up to the open, it serves a board whose entries 1 \
         and 2 are swapped: no consistency proof can join the two checkpoints.",
        "consistency",
        "inconsistent",
        None,
        b.f.export_of(&fork),
    );
    s.after(until_open.clone());
    s.served(Served::default());
    s.fails(
        "service-board-shrank",
        "Monitoring a service: after the whole board, it serves the board up to the open only.",
        "consistency",
        "board_shrank",
        None,
        until_open.clone(),
    );
    s.after(whole.clone());
    s.served(Served::default());
    s.fails(
        "service-board-key-changed",
        "Monitoring a service: after the board up to the open, it serves the whole board \
         under another board key.",
        "consistency",
        "board_key_changed",
        None,
        under_other_key(b, &entries),
    );
    s.after(until_open);
    s.served(Served::default());
    let (replaced, revote) = first_revote(b);
    let other = (0..b.entries().len())
        .find(|&i| b.entries()[i].kind == EntryKind::Ballot as u8 && i != replaced)
        .expect("another ballot");
    s.fails(
        "service-history-forged",
        "A service that answers the revote's replaced ballot, fetched again alone, with other \
         bytes (another valid ballot) than it served the first time.",
        "ballots",
        "history_unavailable",
        Some(revote),
        whole,
    );
    s.served(Served {
        again: Some((replaced as u64, entries[other].clone())),
        ..Served::default()
    });
    client_cases(s, b);
}

/// Service cases of the `web-client` check (§3.10).
fn client_cases(s: &mut Suite, b: &Board) {
    use crate::fixture::CLIENT_FILES;
    let whole = b.export(b.entries());
    let fixture: Vec<(String, Vec<u8>)> = CLIENT_FILES
        .iter()
        .map(|(p, bytes)| ((*p).to_string(), bytes.to_vec()))
        .collect();
    let mut altered = fixture.clone();
    altered[0].1 = b"// a client that is not the one listed\n".to_vec();
    let listing = urne_crypto::web_client::listing(CLIENT_FILES.iter().copied());
    s.fails(
        "service-client-unavailable",
        "A service whose web client listing is not a listing (its path is not relative).",
        "web-client",
        "client_unavailable",
        None,
        whole.clone(),
    );
    s.served(Served {
        client_listing: Some(listing.replace("  index.html", "  /index.html")),
        ..Served::default()
    });
    s.fails(
        "service-client-file-mismatch",
        "A service that serves the fixture's listing, but assets/app.js with other bytes.",
        "web-client",
        "client_file_mismatch",
        None,
        whole.clone(),
    );
    s.served(Served {
        client_files: Some(altered.clone()),
        client_listing: Some(listing),
        ..Served::default()
    });
    s.fails(
        "service-client-digest-mismatch",
        "A service that serves another web client than the manifest names, with its own \
         consistent listing.",
        "web-client",
        "client_digest_mismatch",
        None,
        whole,
    );
    s.served(Served {
        client_files: Some(altered),
        ..Served::default()
    });
}

/// Board indices of the first revote's replaced ballot and of the revote.
fn first_revote(b: &Board) -> (usize, usize) {
    let mut seen = std::collections::HashMap::new();
    for (i, e) in b.entries().iter().enumerate() {
        if e.kind != EntryKind::Ballot as u8 {
            continue;
        }
        let ballot: Ballot = e.body().expect("ballot");
        let key = (ballot.body.constituency, *ballot.body.ballot_key.as_bytes());
        if let Some(old) = seen.insert(key, i) {
            return (old, i);
        }
    }
    panic!("the micro fixture has a revote")
}
