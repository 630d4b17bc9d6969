//! The election record over a complete offline election: every rule holds for
//! an honest board, the published tally equals the plaintext totals, and
//! entries that break a rule are refused without changing the record.

use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Entry, EntryKind, PhaseChange, Tally};
use urne_crypto::record::{BallotCheck, BallotHistory, Phase, Record, RecordError};
use urne_e2e::fixture::{build, Params};

struct Board<'a>(&'a [Entry]);

impl BallotHistory for Board<'_> {
    fn ballot_at(&self, index: u64) -> Result<urne_crypto::entry::Ballot, String> {
        self.0[index as usize].body().map_err(|e| e.to_string())
    }
}

#[test]
fn honest_election_replays_and_tally_matches_plaintext() {
    let f = build(&Params::small(7));
    let record = f
        .replay()
        .expect("honest board replays with full verification");
    assert!(record.is_complete());
    assert_eq!(record.phase(), Phase::Seated);
    let voters: usize = Params::small(7)
        .constituencies
        .iter()
        .map(|c| c.voters)
        .sum();
    assert_eq!(record.ballots_counted() as usize, voters);
    assert!(
        f.count(EntryKind::Ballot) > voters,
        "the fixture includes revotes"
    );
    for (c, expected) in f.manifest.constituencies.iter().zip(&f.expected_counts) {
        let tally = record.tally(&c.id).expect("tally");
        assert_eq!(&tally.counts, expected, "tally of {}", c.id);
        let seats = record.seat_result(&c.id).expect("seats");
        assert_eq!(
            (seats.elected.len() + seats.drawn.len()) as u32,
            c.rules.seats,
            "every seat of {} is filled",
            c.id
        );
    }
}

/// Replays the first `upto` entries, then tries `bad` as the next entry.
fn try_after(f: &[Entry], upto: usize, bad: &Entry) -> Result<(), RecordError> {
    let mut record = Record::open(&f[0]).expect("manifest");
    for e in &f[1..upto] {
        record
            .apply(e, BallotCheck::Full, &Board(f))
            .expect("prefix applies");
    }
    let size = record.size();
    let r = record.apply(bad, BallotCheck::Full, &Board(f)).map(|_| ());
    if r.is_err() {
        assert_eq!(
            record.size(),
            size,
            "a refused entry leaves the record unchanged"
        );
    }
    r
}

fn first(f: &[Entry], kind: EntryKind) -> usize {
    f.iter()
        .position(|e| e.kind == kind as u8)
        .expect("kind present")
}

#[test]
fn rule_breaking_entries_are_refused() {
    let fx = build(&Params::small(3));
    let f = &fx.entries;
    let board = fx.board_signer();

    // A ballot before the election opens.
    let ballot = first(f, EntryKind::Ballot);
    let open = first(f, EntryKind::Open);
    let err = try_after(f, open, &f[ballot]).unwrap_err();
    assert_eq!(err.code(), "out_of_phase");

    // A ballot after close.
    let close = first(f, EntryKind::Close);
    let err = try_after(f, close + 1, &f[ballot]).unwrap_err();
    assert_eq!(err.code(), "out_of_phase");

    // A second credential for the same member.
    let issuance = first(f, EntryKind::Issuance);
    let err = try_after(f, issuance + 1, &f[issuance]).unwrap_err();
    assert_eq!(err.code(), "duplicate");

    // A re-signed tally with one count changed.
    let tally_at = first(f, EntryKind::Tally);
    let mut t: Tally = f[tally_at].body().expect("tally");
    t.counts[0] += 1;
    let forged = Entry::signed(EntryKind::Tally, fx.election, &t, &board);
    let err = try_after(f, tally_at, &forged).unwrap_err();
    assert_eq!(err.code(), "mismatch");

    // A close signed by someone other than the board.
    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let forged = Entry::signed(
        EntryKind::Close,
        fx.election,
        &PhaseChange { at: 0 },
        &other,
    );
    let err = try_after(f, close, &forged).unwrap_err();
    assert_eq!(err.code(), "bad_signature");

    // A ballot with one flipped byte in its body.
    let mut bytes = f[ballot].to_bytes();
    let n = bytes.len();
    bytes[n - 40] ^= 1;
    if let Ok(tampered) = Entry::from_bytes(&bytes) {
        assert!(try_after(f, ballot, &tampered).is_err());
    }

    // An entry for another election.
    let mut moved = f[ballot].clone();
    moved.election[0] ^= 1;
    let err = try_after(f, ballot, &moved).unwrap_err();
    assert_eq!(err.code(), "wrong_election");
}

/// A history that answers the replaced ballot's index with a forged ballot.
struct Lying<'a> {
    board: &'a [Entry],
    index: u64,
    forged: &'a Entry,
}

impl BallotHistory for Lying<'_> {
    fn ballot_at(&self, index: u64) -> Result<urne_crypto::entry::Ballot, String> {
        let e = if index == self.index {
            self.forged
        } else {
            &self.board[index as usize]
        };
        e.body().map_err(|e| e.to_string())
    }
}

#[test]
fn a_substituted_replaced_ballot_is_refused() {
    let fx = build(&Params::small(5));
    let forged = urne_e2e::forgery::forge_first_revote(&fx);
    let board: Vec<Entry> = forged
        .entries
        .iter()
        .map(|b| Entry::from_bytes(b).expect("entry"))
        .collect();
    let ballot = Entry::from_bytes(&forged.forged).expect("forged entry");
    let lying = Lying {
        board: &board,
        index: forged.index,
        forged: &ballot,
    };
    let mut record = Record::open(&board[0]).expect("manifest");
    let mut failure = None;
    for (i, e) in board.iter().enumerate().skip(1) {
        if let Err(err) = record.apply(e, BallotCheck::Full, &lying) {
            failure = Some((i, err));
            break;
        }
    }
    let (at, err) = failure.expect("the forged history is refused");
    assert_eq!(
        err,
        RecordError::SupersededMismatch {
            index: forged.index
        }
    );
    assert_eq!(err.code(), "history_mismatch");
    assert!(at as u64 > forged.index, "refused at the revote");
    assert_eq!(
        record.size(),
        at as u64,
        "the record stops before the revote"
    );
}

#[test]
fn a_batch_names_exactly_its_bad_ballots() {
    use urne_crypto::ballot::EncryptedVote;
    use urne_crypto::entry::Ballot;
    let fx = build(&Params::small(11));
    let record = fx.replay().expect("replay");
    let verifier = record.ballot_verifier().expect("verifier");
    let mut ballots: Vec<Ballot> = fx
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Ballot as u8)
        .take(24)
        .map(|e| e.body().expect("ballot"))
        .collect();
    assert_eq!(verifier.verify_batch(&ballots), Ok(()));
    // A bad credential, a signature of another ballot, a shifted ciphertext.
    let t = ballots[3].body.credential.t;
    ballots[3].body.credential.t = t + t;
    ballots[10].signature = ballots[11].signature;
    let vote = &ballots[17].body.vote;
    let mut ciphertexts = vote.ciphertexts().to_vec();
    ciphertexts[0].b += urne_crypto::group::h();
    ballots[17].body.vote = EncryptedVote::from_parts(
        ciphertexts,
        vote.bits_proof().clone(),
        vote.count_proof().clone(),
        *vote.representation(),
    );
    let bad = verifier.verify_batch(&ballots).expect_err("bad ballots");
    let positions: Vec<usize> = bad.iter().map(|(i, _)| *i).collect();
    assert_eq!(positions, vec![3, 10, 17]);
    for (i, e) in &bad {
        assert_eq!(
            Some(e),
            verifier.verify(&ballots[*i]).err().as_ref(),
            "ballot {i} fails alone with the same error"
        );
        assert_eq!(e.code(), "invalid_proof");
    }
}

#[test]
fn the_election_key_waits_for_every_trustee_acknowledgement() {
    use urne_crypto::entry::DkgAcknowledgement;
    let fx = build(&Params::small(3));
    let f = &fx.entries;
    let key_at = first(f, EntryKind::ElectionKey);
    let acks: Vec<usize> = (0..key_at)
        .filter(|&i| f[i].kind == EntryKind::DkgAcknowledgement as u8)
        .collect();
    assert_eq!(acks.len(), fx.manifest.trustees.len(), "one per trustee");
    let first_ack = acks[0];
    // Before any acknowledgement, and with one still missing.
    let err = try_after(f, first_ack, &f[key_at]).unwrap_err();
    assert_eq!(err.code(), "missing_acknowledgement");
    let last = *acks.last().expect("acks");
    let err = try_after(f, last, &f[key_at]).unwrap_err();
    assert_eq!(
        err,
        RecordError::Unacknowledged(vec![fx.manifest.trustees.len() as u32])
    );
    // An acknowledgement of other dealings, one signed by another trustee,
    // and the same acknowledgement twice.
    let mut a: DkgAcknowledgement = f[first_ack].body().expect("ack");
    a.dealings[0] ^= 1;
    let signers = &fx.trustee_signers;
    let forged = Entry::signed(EntryKind::DkgAcknowledgement, fx.election, &a, &signers[0]);
    assert_eq!(
        try_after(f, first_ack, &forged).unwrap_err().code(),
        "mismatch"
    );
    a.dealings[0] ^= 1;
    let wrong_signer = Entry::signed(EntryKind::DkgAcknowledgement, fx.election, &a, &signers[1]);
    assert_eq!(
        try_after(f, first_ack, &wrong_signer).unwrap_err().code(),
        "bad_signature"
    );
    assert_eq!(
        try_after(f, first_ack + 1, &f[first_ack])
            .unwrap_err()
            .code(),
        "duplicate"
    );
    // After the key, no acknowledgement is taken.
    assert_eq!(
        try_after(f, key_at + 1, &f[first_ack]).unwrap_err().code(),
        "out_of_phase"
    );
}

#[test]
fn phase_changes_must_fall_inside_the_voting_window() {
    let fx = build(&Params::small(3));
    let f = &fx.entries;
    let board = fx.board_signer();
    let m = &fx.manifest;
    let at = |kind, t| Entry::signed(kind, fx.election, &PhaseChange { at: t }, &board);
    let open = first(f, EntryKind::Open);
    for t in [m.voting_opens - 1, m.voting_closes, m.voting_closes + 1] {
        let err = try_after(f, open, &at(EntryKind::Open, t)).unwrap_err();
        assert_eq!(err.code(), "outside_voting_window", "open at {t}");
    }
    try_after(f, open, &at(EntryKind::Open, m.voting_closes - 1)).expect("last second");
    let close = first(f, EntryKind::Close);
    let err = try_after(f, close, &at(EntryKind::Close, m.voting_closes - 1)).unwrap_err();
    assert_eq!(err.code(), "outside_voting_window", "an early close");
    try_after(f, close, &at(EntryKind::Close, m.voting_closes + 600)).expect("a late close");
    // The reveals cannot be closed before the vote.
    let closed_at = first(f, EntryKind::RevealsClosed);
    let mut c: urne_crypto::entry::RevealsClosed = f[closed_at].body().expect("body");
    c.at = m.voting_closes - 1;
    let early = Entry::signed(EntryKind::RevealsClosed, fx.election, &c, &board);
    let err = try_after(f, closed_at, &early).unwrap_err();
    assert_eq!(err.code(), "outside_voting_window");
}

#[test]
fn credentials_can_be_issued_before_the_vote_opens_and_are_counted_apart() {
    let fx = build(&Params::small(3));
    let f = &fx.entries;
    let open = first(f, EntryKind::Open);
    let key_at = first(f, EntryKind::ElectionKey);
    let enrol = first(f, EntryKind::Enrollment);
    let issuance = first(f, EntryKind::Issuance);
    assert!(enrol > open, "the fixture enrols during the vote");
    // Move the first member's enrolment and issuance before the open.
    let mut board: Vec<Entry> = f[..open].to_vec();
    board.push(f[enrol].clone());
    board.push(f[issuance].clone());
    let mut record = Record::open(&board[0]).expect("manifest");
    for e in &board[1..] {
        record
            .apply(e, BallotCheck::Full, &Board(&board))
            .expect("issuance before the open applies");
    }
    let c = &fx.manifest.constituencies[0].id;
    assert_eq!(record.counts(c).map(|(issued, _)| issued), Some(1));
    assert_eq!(record.issued_while_open(c), Some(0));
    // Before the election key, a credential request is refused.
    let mut early: Vec<Entry> = f[..key_at].to_vec();
    early.push(f[enrol].clone());
    let err = try_after(&early, early.len(), &f[issuance]).unwrap_err();
    assert_eq!(err.code(), "missing_prerequisite");
    // The fixture's members all took their credential while voting was open.
    let record = fx.replay().expect("replay");
    let issued: u64 = fx
        .manifest
        .constituencies
        .iter()
        .map(|k| record.issued_while_open(&k.id).expect("constituency"))
        .sum();
    assert_eq!(issued as usize, fx.count(EntryKind::Issuance));
}

/// Member pseudonyms, pool pseudonyms and candidate ids are one namespace
/// (§8.3): a pool pseudonym is the member's own pseudonym, and a pool member
/// named like a candidate is that candidate, in its constituency and category.
#[test]
fn roster_names_share_one_namespace() {
    let fx = build(&Params::micro(5));
    let f = &fx.entries;
    let board = fx.board_signer();
    let at = first(f, EntryKind::Roster);
    let roster: urne_crypto::entry::Roster = f[at].body().expect("roster");
    let election = fx.election;
    let with = |change: &dyn Fn(&mut urne_crypto::entry::Roster)| {
        let mut r = roster.clone();
        change(&mut r);
        Entry::signed(EntryKind::Roster, election, &r, &board)
    };
    let refused = |r: Result<(), RecordError>| match r {
        Err(RecordError::Mismatch(_)) => {}
        other => panic!("expected a mismatch, got {other:?}"),
    };
    // A pool pseudonym that is not the member's.
    refused(try_after(
        f,
        at,
        &with(&|r| r.members[0].pool_pseudonym = "someone-else".into()),
    ));
    let north = &fx.manifest.constituencies[0];
    let candidate = north.candidates[0].clone();
    let as_candidate = |category: &str, constituency: &str| {
        let (id, category, constituency) = (
            candidate.id.clone(),
            category.to_string(),
            constituency.to_string(),
        );
        with(&move |r| {
            let m = &mut r.members[0];
            m.member = urne_crypto::entry::member_id(&election, &id);
            m.pool_pseudonym = id.clone();
            m.category = category.clone();
            m.constituency = constituency.clone();
        })
    };
    let other = if candidate.category == "F" { "M" } else { "F" };
    // The candidate, in the lottery pool in another category.
    refused(try_after(f, at, &as_candidate(other, &north.id)));
    // The candidate, in its own category: the same person, accepted.
    try_after(f, at, &as_candidate(&candidate.category, &north.id)).expect("candidate in the pool");
}
