//! A hostile service's revote history: it answers a revote's "earlier
//! ballot" with a forged one (same ballot key and `A` parts, one `B` part
//! shifted by `−H`), so that replacing it moves the aggregate by `+H`, and
//! posts the tally and seat result that this shifted aggregate gives. The
//! honest trustees' shares still verify (they involve only the `A` parts).

use std::collections::HashMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use urne_crypto::ballot::EncryptedVote;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, Entry, EntryKind};
use urne_crypto::group;
use urne_crypto::record::{BallotCheck, BallotHistory, Record};

use crate::fixture::Fixture;

/// The forged board and the forged ballot the service answers history requests with.
pub struct ForgedHistory {
    /// The board with the affected tally and seat result re-signed.
    pub entries: Vec<Vec<u8>>,
    /// Board index of the replaced ballot whose history is forged.
    pub index: u64,
    /// The forged entry served for `index` when it is fetched again.
    pub forged: Vec<u8>,
    /// The constituency whose tally is inflated.
    pub constituency: String,
    /// The candidate whose count is raised by one.
    pub candidate: usize,
}

struct Board<'a>(&'a [Entry]);

impl BallotHistory for Board<'_> {
    fn ballot_at(&self, index: u64) -> Result<Ballot, String> {
        let e = self
            .0
            .get(index as usize)
            .ok_or_else(|| format!("no entry {index}"))?;
        e.body().map_err(|e| e.to_string())
    }
}

/// Forges the history of the first revote of `fixture`'s board.
pub fn forge_first_revote(fixture: &Fixture) -> ForgedHistory {
    let mut seen: HashMap<(String, [u8; 32]), u64> = HashMap::new();
    let mut replaced = None;
    for (i, e) in fixture.entries.iter().enumerate() {
        if e.kind != EntryKind::Ballot as u8 {
            continue;
        }
        let b: Ballot = e.body().expect("ballot");
        let key = (b.body.constituency.clone(), *b.body.ballot_key.as_bytes());
        if let Some(old) = seen.insert(key, i as u64) {
            replaced = Some((old, i));
            break;
        }
    }
    let (index, revote) = replaced.expect("the fixture has a revote");
    let original: Ballot = fixture.entries[index as usize].body().expect("ballot");
    let constituency = original.body.constituency.clone();
    let ci = fixture
        .manifest
        .constituencies
        .iter()
        .position(|c| c.id == constituency)
        .expect("constituency");
    // The least-approved candidate, so one more approval stays within the ballot count.
    let candidate = (0..fixture.expected_counts[ci].len())
        .min_by_key(|&k| fixture.expected_counts[ci][k])
        .expect("candidates");
    let shifted = |ballot: &Ballot, by: RistrettoPoint| {
        let vote = &ballot.body.vote;
        let mut ciphertexts = vote.ciphertexts().to_vec();
        ciphertexts[candidate].b += by;
        let mut b = ballot.clone();
        b.body.vote = EncryptedVote::from_parts(
            ciphertexts,
            vote.bits_proof().clone(),
            vote.count_proof().clone(),
            *vote.representation(),
        );
        Entry::anonymous(EntryKind::Ballot, fixture.election, &b)
    };
    let forged = shifted(&original, -group::h());
    // A verifier that believes the forged history ends with the aggregate
    // `revote + H`: the aggregate of an honest record whose revote carries
    // that shift, which gives the tally and seats the service posts.
    let new: Ballot = fixture.entries[revote].body().expect("ballot");
    let mut replay = fixture.entries.clone();
    replay[revote] = shifted(&new, group::h());
    let history = Board(&replay);
    let signer = fixture.board_signer();
    let mut record = Record::open(&replay[0]).expect("manifest");
    let mut entries = vec![replay[0].to_bytes()];
    for (i, e) in replay.iter().enumerate().skip(1) {
        let e = match EntryKind::from_u8(e.kind).expect("kind") {
            EntryKind::Tally => {
                let t: urne_crypto::entry::Tally = e.body().expect("tally");
                let t = record.compute_tally(&t.constituency).expect("tally");
                Entry::signed(EntryKind::Tally, fixture.election, &t, &signer)
            }
            EntryKind::SeatResult => {
                let r: urne_crypto::entry::SeatResult = e.body().expect("seats");
                let r = record.compute_seats(&r.constituency).expect("seats");
                Entry::signed(EntryKind::SeatResult, fixture.election, &r, &signer)
            }
            _ => e.clone(),
        };
        record
            .apply(&e, BallotCheck::Deferred, &history)
            .expect("the shifted board replays");
        // The served board keeps the voter's real revote; only history lies.
        entries.push(if i == revote {
            fixture.entries[i].to_bytes()
        } else {
            e.to_bytes()
        });
    }
    ForgedHistory {
        entries,
        index,
        forged: forged.to_bytes(),
        constituency,
        candidate,
    }
}
