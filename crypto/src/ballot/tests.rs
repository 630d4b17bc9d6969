//! Tests of encrypted votes: honest ballots, cheating provers, moved and
//! tampered proofs, batch verification and the canonical encoding.

use super::*;
use crate::encoding::{Canonical, DecodeError};
use crate::schnorr::BallotSecretKey;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng(seed: u64) -> ChaCha20Rng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    ChaCha20Rng::from_seed(s)
}

/// An election key pair `(x, PK = x·G)`.
fn election_key(rng: &mut ChaCha20Rng) -> (Scalar, RistrettoPoint) {
    let x = Scalar::random(rng);
    (x, RistrettoPoint::mul_base(&x))
}

fn ballot_key(rng: &mut ChaCha20Rng) -> BallotPublicKey {
    BallotSecretKey::generate(rng).public_key()
}

fn statement_with(
    pk: RistrettoPoint,
    n: u32,
    min: u32,
    max: u32,
    rng: &mut ChaCha20Rng,
) -> BallotStatement {
    BallotStatement::new([7; 32], "north", pk, ballot_key(rng), n, min, max).expect("statement")
}

/// Choices approving `approvals` candidates spread over the ballot.
fn choices(n: u32, approvals: u32) -> Vec<bool> {
    let n = n as usize;
    let mut c = vec![false; n];
    let mut i = 0;
    for _ in 0..approvals {
        while c[i % n] {
            i += 1;
        }
        c[i % n] = true;
        i += 7;
    }
    c
}

fn signed(v: i64) -> Scalar {
    if v < 0 {
        -Scalar::from(v.unsigned_abs())
    } else {
        Scalar::from(v as u64)
    }
}

/// Encrypts arbitrary integers (a cheating voter's plaintexts).
fn encrypt_values(
    st: &BallotStatement,
    values: &[i64],
    rng: &mut ChaCha20Rng,
) -> (Vec<Ciphertext>, Vec<Scalar>) {
    let r: Vec<Scalar> = values.iter().map(|_| Scalar::random(rng)).collect();
    let m: Vec<Scalar> = values.iter().map(|&v| signed(v)).collect();
    (encrypt_all(st, &m, &r), r)
}

fn transcript_of(st: &BallotStatement, cts: &[Ciphertext]) -> ProofTranscript {
    st.transcript(&st.election_key.compress(), &compress_all(cts))
}

fn bs(cts: &[Ciphertext]) -> Vec<RistrettoPoint> {
    cts.iter().map(|c| c.b).collect()
}

/// The honest proofs for plaintexts in range, as building blocks.
fn honest_vote(st: &BallotStatement, values: &[i64], rng: &mut ChaCha20Rng) -> EncryptedVote {
    let (cts, r) = encrypt_values(st, values, rng);
    let t = transcript_of(st, &cts);
    let u: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    let bits = prove_bits(&t, st, &bs(&cts), &u, &r, rng).expect("bits");
    let sum_b: RistrettoPoint = bs(&cts).iter().sum();
    let total: Scalar = r.iter().sum();
    let count = prove_count(&t, st, &sum_b, u.iter().sum(), &total, rng).expect("count");
    let m: Vec<Scalar> = values.iter().map(|&v| signed(v)).collect();
    let rep = prove_representation(&t, st, &cts, &r, &m, rng);
    EncryptedVote::from_parts(cts, bits, count, rep)
}

#[test]
fn valid_ballots_verify_singly_and_in_batch() {
    let mut rng = rng(1);
    let (x, pk) = election_key(&mut rng);
    let cases = [
        (1, 0, 1, 0),
        (1, 1, 1, 1),
        (2, 0, 2, 2),
        (3, 1, 2, 1),
        (3, 1, 2, 2),
        (16, 0, 16, 16),
        (16, 3, 5, 4),
        (17, 1, 17, 9),
        (17, 0, 0, 0),
        (64, 0, 10, 10),
        (64, 5, 64, 5),
    ];
    let mut ballots = Vec::new();
    for (n, min, max, approvals) in cases {
        let st = statement_with(pk, n, min, max, &mut rng);
        let chosen = choices(n, approvals);
        assert_eq!(chosen.iter().filter(|c| **c).count(), approvals as usize);
        let (vote, opening) = EncryptedVote::prove(&st, &chosen, &mut rng).expect("prove");
        assert_eq!(vote.verify(&st), Ok(()), "n={n} {min}..{max}");
        // The ciphertexts decrypt to the choices with the opening's randomness.
        for ((c, m), r) in vote
            .ciphertexts()
            .iter()
            .zip(&chosen)
            .zip(opening.randomness())
        {
            assert_eq!(c.decrypt_to_point(&x), h() * Scalar::from(u8::from(*m)));
            assert_eq!(c.a, RistrettoPoint::mul_base(r));
        }
        let bytes = vote.to_bytes();
        assert_eq!(EncryptedVote::from_bytes(&bytes).as_ref(), Ok(&vote));
        ballots.push((st, vote));
    }
    let items: Vec<(&BallotStatement, &EncryptedVote)> =
        ballots.iter().map(|(s, v)| (s, v)).collect();
    assert_eq!(verify_batch(&items), Ok(()));
    assert!(find_invalid(&items).is_empty());
    assert_eq!(verify_batch(&[]), Ok(()));
}

#[test]
fn statement_validation() {
    let mut rng = rng(2);
    let (_, pk) = election_key(&mut rng);
    let p = ballot_key(&mut rng);
    let new = |n, min, max| BallotStatement::new([0; 32], "c", pk, p, n, min, max);
    assert_eq!(new(0, 0, 0), Err(BallotError::NoCandidates));
    assert_eq!(
        new(MAX_CANDIDATES + 1, 0, 1),
        Err(BallotError::TooManyCandidates(MAX_CANDIDATES + 1))
    );
    assert!(matches!(
        new(3, 2, 1),
        Err(BallotError::InvalidBounds { .. })
    ));
    assert!(matches!(
        new(3, 0, 4),
        Err(BallotError::InvalidBounds { .. })
    ));
    assert!(new(3, 3, 3).is_ok());
    assert_eq!(
        BallotStatement::new([0; 32], "c", RistrettoPoint::identity(), p, 2, 0, 1),
        Err(BallotError::IdentityElectionKey)
    );
    let st = new(3, 0, 3).expect("statement");
    assert_eq!(st.bits_aggregation(), 4);
    let bits = |n| BallotStatement {
        candidates: n,
        ..st.clone()
    };
    assert_eq!(bits(1).bits_aggregation(), 2);
    assert_eq!(bits(17).bits_aggregation(), 32);
    assert_eq!(bits(1).count_bit_length(), 1);
    assert_eq!(bits(2).count_bit_length(), 2);
    assert_eq!(bits(3).count_bit_length(), 2);
    assert_eq!(bits(4).count_bit_length(), 4);
    assert_eq!(bits(15).count_bit_length(), 4);
    assert_eq!(bits(16).count_bit_length(), 8);
    assert_eq!(bits(255).count_bit_length(), 8);
    assert_eq!(bits(256).count_bit_length(), 16);
    assert_eq!(bits(MAX_CANDIDATES).count_bit_length(), 16);
}

#[test]
fn prover_refuses_bad_choices() {
    let mut rng = rng(3);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 1, 2, &mut rng);
    assert_eq!(
        EncryptedVote::prove(&st, &[true, false, false], &mut rng).err(),
        Some(BallotError::WrongChoiceCount {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        EncryptedVote::prove(&st, &[true, true, true, false], &mut rng).err(),
        Some(BallotError::ApprovalsOutOfBounds {
            approvals: 3,
            min: 1,
            max: 2
        })
    );
    assert_eq!(
        EncryptedVote::prove(&st, &[false; 4], &mut rng).err(),
        Some(BallotError::ApprovalsOutOfBounds {
            approvals: 0,
            min: 1,
            max: 2
        })
    );
    let mut bad = st.clone();
    bad.min_approvals = 3;
    assert!(matches!(
        EncryptedVote::prove(&bad, &[true; 4], &mut rng),
        Err(BallotError::InvalidBounds { .. })
    ));
}

#[test]
fn honest_building_blocks_make_a_valid_vote() {
    // The cheating provers below reuse these blocks; with honest inputs they
    // must produce a valid vote, so every rejection below is due to the forgery.
    let mut rng = rng(4);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 1, 3, &mut rng);
    let vote = honest_vote(&st, &[1, 0, 1, 0], &mut rng);
    assert_eq!(vote.verify(&st), Ok(()));
}

/// A vote with ciphertexts of `values`, a 0/1 proof made for `claimed` on
/// honest commitments, and honest count and representation proofs.
fn vote_with_bits_claim(
    st: &BallotStatement,
    values: &[i64],
    claimed: &[u64],
    rng: &mut ChaCha20Rng,
) -> EncryptedVote {
    let (cts, r) = encrypt_values(st, values, rng);
    let t = transcript_of(st, &cts);
    // The library refuses to prove the real values...
    let real: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    assert!(matches!(
        prove_bits(&t, st, &bs(&cts), &real, &r, rng),
        Err(BallotError::Proving(_))
    ));
    // ...so prove the claimed ones on the commitments they would have had.
    let claimed_m: Vec<Scalar> = claimed.iter().map(|&v| Scalar::from(v)).collect();
    let honest_bs: Vec<RistrettoPoint> = bs(&encrypt_all(st, &claimed_m, &r));
    let bits = prove_bits(&t, st, &honest_bs, claimed, &r, rng).expect("bits");
    let sum_b: RistrettoPoint = bs(&cts).iter().sum();
    let total: Scalar = r.iter().sum();
    let approvals = values.iter().sum::<i64>() as u64;
    let count = prove_count(&t, st, &sum_b, approvals, &total, rng).expect("count");
    let m: Vec<Scalar> = values.iter().map(|&v| signed(v)).collect();
    let rep = prove_representation(&t, st, &cts, &r, &m, rng);
    EncryptedVote::from_parts(cts, bits, count, rep)
}

#[test]
fn forged_two_in_one_slot_is_rejected() {
    let mut rng = rng(5);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 0, 4, &mut rng);
    let vote = vote_with_bits_claim(&st, &[2, 0, 1, 0], &[1, 0, 1, 0], &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidBitsProof));
}

#[test]
fn forged_minus_one_is_rejected() {
    let mut rng = rng(6);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 0, 4, &mut rng);
    // −1 would cancel an approval: (1, −1, 1, 0) counts 1 yet helps two candidates.
    let vote = vote_with_bits_claim(&st, &[1, -1, 1, 0], &[1, 0, 1, 0], &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidBitsProof));
    // 2 and −1 together keep the count plausible; the 0/1 proof still fails.
    let vote = vote_with_bits_claim(&st, &[2, -1, 0, 0], &[1, 0, 0, 0], &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidBitsProof));
}

/// A vote with ciphertexts of `values` (all 0/1) whose count proof is made
/// for `ΣB + shift·H` claiming `claimed` approvals.
fn vote_with_count_claim(
    st: &BallotStatement,
    values: &[i64],
    shift: i64,
    claimed: u64,
    rng: &mut ChaCha20Rng,
) -> EncryptedVote {
    let (cts, r) = encrypt_values(st, values, rng);
    let t = transcript_of(st, &cts);
    let u: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    let bits = prove_bits(&t, st, &bs(&cts), &u, &r, rng).expect("bits");
    let sum_b: RistrettoPoint = bs(&cts).iter().sum();
    let total: Scalar = r.iter().sum();
    // Honestly proving the real count is refused.
    assert!(matches!(
        prove_count(&t, st, &sum_b, u.iter().sum(), &total, rng),
        Err(BallotError::ApprovalsOutOfBounds { .. })
    ));
    let shifted = sum_b + mul_h(&signed(shift));
    let count = prove_count(&t, st, &shifted, claimed, &total, rng).expect("count");
    let m: Vec<Scalar> = values.iter().map(|&v| signed(v)).collect();
    let rep = prove_representation(&t, st, &cts, &r, &m, rng);
    EncryptedVote::from_parts(cts, bits, count, rep)
}

#[test]
fn forged_too_many_approvals_is_rejected() {
    let mut rng = rng(7);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 1, 2, &mut rng);
    let vote = vote_with_count_claim(&st, &[1, 1, 1, 0], -1, 2, &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidCountProof));
    let st = statement_with(pk, 17, 0, 3, &mut rng);
    let mut values = vec![1; 17];
    values[0] = 0;
    let vote = vote_with_count_claim(&st, &values, -13, 3, &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidCountProof));
}

#[test]
fn forged_too_few_approvals_is_rejected() {
    let mut rng = rng(8);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 2, 3, &mut rng);
    let vote = vote_with_count_claim(&st, &[1, 0, 0, 0], 1, 2, &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidCountProof));
    let vote = vote_with_count_claim(&st, &[0, 0, 0, 0], 2, 2, &mut rng);
    assert_eq!(vote.verify(&st), Err(BallotError::InvalidCountProof));
}

#[test]
fn forged_inconsistent_ciphertext_is_rejected() {
    let mut rng = rng(9);
    let (x, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 0, 4, &mut rng);
    let values = [1i64, 0, 1, 0];
    let (mut cts, r) = encrypt_values(&st, &values, &mut rng);
    // A_1 uses another randomness than B_1: the ciphertext no longer decrypts
    // to m_1·H (it would derail the tally) though B_1 alone is a fine bit.
    let r_other = Scalar::random(&mut rng);
    cts[1].a = RistrettoPoint::mul_base(&r_other);
    assert_ne!(cts[1].decrypt_to_point(&x), RistrettoPoint::identity());
    let t = transcript_of(&st, &cts);
    let u = [1u64, 0, 1, 0];
    let bits = prove_bits(&t, &st, &bs(&cts), &u, &r, &mut rng).expect("bits");
    let sum_b: RistrettoPoint = bs(&cts).iter().sum();
    let total: Scalar = r.iter().sum();
    let count = prove_count(&t, &st, &sum_b, 2, &total, &mut rng).expect("count");
    let m: Vec<Scalar> = values.iter().map(|&v| signed(v)).collect();
    // Whichever randomness the cheater uses for slot 1, one equation fails.
    let mut r_a = r.clone();
    r_a[1] = r_other;
    for randomness in [&r, &r_a] {
        let rep = prove_representation(&t, &st, &cts, randomness, &m, &mut rng);
        let vote = EncryptedVote::from_parts(cts.clone(), bits.clone(), count.clone(), rep);
        assert_eq!(
            vote.verify(&st),
            Err(BallotError::InvalidRepresentationProof)
        );
    }
}

#[test]
fn proofs_do_not_move_to_another_context() {
    let mut rng = rng(10);
    let (_, pk) = election_key(&mut rng);
    let (_, pk2) = election_key(&mut rng);
    let st = statement_with(pk, 5, 1, 3, &mut rng);
    let (vote, _) = EncryptedVote::prove(&st, &choices(5, 2), &mut rng).expect("prove");
    assert_eq!(vote.verify(&st), Ok(()));
    let variants: Vec<(&str, BallotStatement)> = vec![
        (
            "election",
            BallotStatement {
                election_id: [8; 32],
                ..st.clone()
            },
        ),
        (
            "constituency",
            BallotStatement {
                constituency: "south".into(),
                ..st.clone()
            },
        ),
        (
            "ballot key",
            BallotStatement {
                ballot_key: ballot_key(&mut rng),
                ..st.clone()
            },
        ),
        (
            "election key",
            BallotStatement {
                election_key: pk2,
                ..st.clone()
            },
        ),
        (
            "min",
            BallotStatement {
                min_approvals: 0,
                ..st.clone()
            },
        ),
        (
            "max",
            BallotStatement {
                max_approvals: 4,
                ..st.clone()
            },
        ),
        (
            "min and max",
            BallotStatement {
                min_approvals: 2,
                max_approvals: 2,
                ..st.clone()
            },
        ),
    ];
    for (what, other) in &variants {
        assert!(vote.verify(other).is_err(), "proof moved to another {what}");
        let batch = [(&st, &vote), (other, &vote)];
        assert_eq!(
            verify_batch(&batch),
            Err(BallotError::BatchRejected),
            "{what}"
        );
        assert_eq!(find_invalid(&batch).len(), 1);
        assert_eq!(find_invalid(&batch)[0].0, 1);
    }
}

#[test]
fn copied_vote_under_a_new_ballot_key_is_rejected() {
    // Ballot independence: an observer copies a vote from the board and casts
    // it with their own credential and key P'.
    let mut rng = rng(11);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 3, 0, 3, &mut rng);
    let (vote, _) = EncryptedVote::prove(&st, &[true, false, true], &mut rng).expect("prove");
    let copy = EncryptedVote::from_parts(
        vote.ciphertexts().to_vec(),
        vote.bits_proof().clone(),
        vote.count_proof().clone(),
        *vote.representation(),
    );
    let copier = BallotStatement {
        ballot_key: ballot_key(&mut rng),
        ..st.clone()
    };
    assert_eq!(copy.verify(&st), Ok(()));
    assert_eq!(
        copy.verify(&copier),
        Err(BallotError::InvalidRepresentationProof)
    );
    // Each sub-proof on its own is bound to P, too.
    let range_proofs_verify = |st: &BallotStatement| {
        let mut context = BatchContext::default();
        let mut batch = MerlinTranscript::new(BALLOT_BATCH_LABEL);
        let p = prepare(st, &copy, &mut context, &mut batch).expect("prepare");
        let bits = verify_range_group(
            &context.keys[p.key],
            1,
            [(&p.bits, copy.bits_proof(), st.bits_aggregation())].into_iter(),
        );
        let count = verify_range_group(
            &context.keys[p.key],
            st.count_bit_length(),
            [(&p.count, copy.count_proof(), 2)].into_iter(),
        );
        (bits.is_ok(), count.is_ok())
    };
    assert_eq!(range_proofs_verify(&st), (true, true));
    assert_eq!(range_proofs_verify(&copier), (false, false));
}

#[test]
fn truncated_and_reordered_ciphertexts_are_rejected() {
    let mut rng = rng(12);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 4, 0, 3, &mut rng);
    let (vote, _) =
        EncryptedVote::prove(&st, &[true, false, false, true], &mut rng).expect("prove");
    let rebuild = |cts: Vec<Ciphertext>| {
        EncryptedVote::from_parts(
            cts,
            vote.bits_proof().clone(),
            vote.count_proof().clone(),
            *vote.representation(),
        )
    };
    let truncated = rebuild(vote.ciphertexts()[..3].to_vec());
    assert_eq!(
        truncated.verify(&st),
        Err(BallotError::WrongCiphertextCount {
            expected: 4,
            got: 3
        })
    );
    let shorter = BallotStatement {
        candidates: 3,
        ..st.clone()
    };
    assert!(truncated.verify(&shorter).is_err());
    let mut swapped = vote.ciphertexts().to_vec();
    swapped.swap(0, 1);
    assert!(rebuild(swapped).verify(&st).is_err());
    let mut rotated = vote.ciphertexts().to_vec();
    rotated.rotate_left(1);
    assert!(rebuild(rotated).verify(&st).is_err());
    let mut extended = vote.ciphertexts().to_vec();
    extended.push(vote.ciphertexts()[1]);
    assert!(rebuild(extended).verify(&st).is_err());
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

#[test]
fn every_tampered_byte_is_rejected() {
    let mut rng = rng(13);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 3, 1, 2, &mut rng);
    let (vote, _) = EncryptedVote::prove(&st, &[false, true, true], &mut rng).expect("prove");
    let bytes = vote.to_bytes();
    let bits = vote.bits_proof().to_bytes();
    let count = vote.count_proof().to_bytes();
    let start = find(&bytes, &bits);
    let end = find(&bytes, &count) + count.len();
    // Every byte of every ciphertext, proof and header.
    for pos in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[pos] ^= 1 << (pos % 8);
        let result = EncryptedVote::from_bytes(&tampered)
            .map_err(|_| ())
            .and_then(|v| v.verify(&st).map_err(|_| ()));
        assert!(
            result.is_err(),
            "byte {pos} ({start}..{end} are range proofs)"
        );
    }
}

#[test]
fn batch_with_one_bad_ballot_is_rejected_and_culprit_found() {
    let mut rng = rng(14);
    let (_, pk1) = election_key(&mut rng);
    let (_, pk2) = election_key(&mut rng);
    let mut ballots = Vec::new();
    for (i, (pk, n, min, max)) in [
        (pk1, 3, 0, 3),
        (pk1, 16, 1, 4),
        (pk2, 5, 2, 2),
        (pk1, 3, 0, 3),
        (pk2, 17, 0, 17),
        (pk1, 1, 0, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let st = statement_with(pk, n, min, max, &mut rng);
        let (vote, _) = EncryptedVote::prove(&st, &choices(n, max.min(i as u32 + min)), &mut rng)
            .expect("prove");
        ballots.push((st, vote));
    }
    let items = |b: &[(BallotStatement, EncryptedVote)]| -> Vec<(BallotStatement, EncryptedVote)> {
        b.to_vec()
    };
    let check = |b: &[(BallotStatement, EncryptedVote)]| {
        let refs: Vec<(&BallotStatement, &EncryptedVote)> = b.iter().map(|(s, v)| (s, v)).collect();
        (verify_batch(&refs), find_invalid(&refs))
    };
    assert_eq!(check(&ballots), (Ok(()), vec![]));

    // One forged 0/1 proof.
    let mut bad = items(&ballots);
    let st = bad[1].0.clone();
    let mut values = vec![0i64; 16];
    values[3] = 2;
    let mut claimed = vec![0u64; 16];
    claimed[3] = 1;
    bad[1].1 = vote_with_bits_claim(&st, &values, &claimed, &mut rng);
    assert_eq!(
        check(&bad),
        (
            Err(BallotError::BatchRejected),
            vec![(1, BallotError::InvalidBitsProof)]
        )
    );

    // One forged count proof.
    let mut bad = items(&ballots);
    let st = bad[2].0.clone();
    bad[2].1 = vote_with_count_claim(&st, &[1, 1, 1, 0, 0], -1, 2, &mut rng);
    assert_eq!(
        check(&bad),
        (
            Err(BallotError::BatchRejected),
            vec![(2, BallotError::InvalidCountProof)]
        )
    );

    // One representation response off by one.
    let mut bad = items(&ballots);
    let v = &bad[4].1;
    let mut rep = *v.representation();
    rep.response_mu += Scalar::ONE;
    bad[4].1 = EncryptedVote::from_parts(
        v.ciphertexts().to_vec(),
        v.bits_proof().clone(),
        v.count_proof().clone(),
        rep,
    );
    assert_eq!(
        check(&bad),
        (
            Err(BallotError::BatchRejected),
            vec![(4, BallotError::InvalidRepresentationProof)]
        )
    );

    // Two ballots' proofs swapped between otherwise identical statements.
    let mut bad = items(&ballots);
    let (v0, v3) = (bad[0].1.clone(), bad[3].1.clone());
    bad[0].1 = v3;
    bad[3].1 = v0;
    let (result, invalid) = check(&bad);
    assert_eq!(result, Err(BallotError::BatchRejected));
    assert_eq!(
        invalid.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![0, 3]
    );
}

#[test]
fn identity_padding_commitments_are_accepted() {
    // n = 3 pads the 0/1 proof with one identity commitment; n = 1 with one.
    let mut rng = rng(15);
    let (_, pk) = election_key(&mut rng);
    for n in [1, 3, 5] {
        let st = statement_with(pk, n, 0, n, &mut rng);
        let (vote, _) = EncryptedVote::prove(&st, &choices(n, n), &mut rng).expect("prove");
        assert_eq!(vote.verify(&st), Ok(()));
        assert_eq!(
            vote.bits_proof().to_bytes().len(),
            range_proof_len(st.bits_aggregation())
        );
    }
}

fn sample_vote() -> (BallotStatement, EncryptedVote) {
    let mut rng = rng(16);
    let (_, pk) = election_key(&mut rng);
    let st = statement_with(pk, 2, 0, 2, &mut rng);
    let (vote, _) = EncryptedVote::prove(&st, &[true, false], &mut rng).expect("prove");
    (st, vote)
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let (st, vote) = sample_vote();
    let bytes = vote.to_bytes();
    assert_eq!(bytes[0], 0x84); // array(4)
    assert_eq!(bytes[1], 0x82); // two ciphertexts

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        EncryptedVote::from_bytes(&trailing),
        Err(DecodeError::NonCanonical)
    );

    // The ciphertext count in the non-shortest form 0x98 0x02.
    let long = [&bytes[..1], &[0x98, 0x02], &bytes[2..]].concat();
    assert!(EncryptedVote::from_bytes(&long).is_err());

    // Indefinite-length outer array.
    let indefinite = [&[0x9f], &bytes[1..], &[0xff]].concat();
    assert!(EncryptedVote::from_bytes(&indefinite).is_err());

    // A range proof with extension degree 2 (an extra blinding base).
    let bits = vote.bits_proof().to_bytes();
    let pos = find(&bytes, &bits);
    let mut wrong_degree = bytes.clone();
    wrong_degree[pos] = 2;
    assert!(EncryptedVote::from_bytes(&wrong_degree).is_err());

    // An unreduced scalar in the representation proof (last field).
    let mut unreduced = bytes.clone();
    let n = unreduced.len();
    unreduced[n - 32..].copy_from_slice(&[0xff; 32]);
    assert!(matches!(
        EncryptedVote::from_bytes(&unreduced),
        Err(DecodeError::Malformed(_))
    ));

    // A non-canonical point in a ciphertext.
    let mut bad_point = bytes.clone();
    bad_point[5..37].copy_from_slice(&[0xff; 32]);
    assert!(matches!(
        EncryptedVote::from_bytes(&bad_point),
        Err(DecodeError::Malformed(_))
    ));

    // A claimed ciphertext count beyond the maximum.
    let mut huge = vec![0x84, 0x99, 0x10, 0x01];
    huge.extend(std::iter::repeat_n(0u8, 5000));
    assert!(EncryptedVote::from_bytes(&huge).is_err());

    // Statements: round trip and strictness.
    let sb = st.to_bytes();
    assert_eq!(BallotStatement::from_bytes(&sb), Ok(st.clone()));
    let mut sb_trailing = sb.clone();
    sb_trailing.push(0);
    assert_eq!(
        BallotStatement::from_bytes(&sb_trailing),
        Err(DecodeError::NonCanonical)
    );
    let mut identity_pk = sb.clone();
    let pk_pos = find(&sb, st.election_key.compress().as_bytes());
    identity_pk[pk_pos..pk_pos + 32].copy_from_slice(&[0; 32]);
    assert!(BallotStatement::from_bytes(&identity_pk).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let _ = EncryptedVote::from_bytes(&bytes);
        let _ = BallotStatement::from_bytes(&bytes);
        let _ = RepresentationProof::from_bytes(&bytes);
        let _ = Ciphertext::from_bytes(&bytes);
    }

    #[test]
    fn mutated_votes_never_panic_and_accepted_ones_are_canonical(
        idx in 0usize..2000,
        val in any::<u8>(),
        cut in 0usize..2000,
    ) {
        let (_, vote) = sample_vote_cached();
        let mut b = vote.to_bytes();
        let i = idx % b.len();
        b[i] = val;
        if let Ok(v) = EncryptedVote::from_bytes(&b) {
            prop_assert_eq!(v.to_bytes(), b.clone());
        }
        b.truncate(cut % b.len());
        prop_assert!(EncryptedVote::from_bytes(&b).is_err());
    }
}

fn sample_vote_cached() -> &'static (BallotStatement, EncryptedVote) {
    static SAMPLE: LazyLock<(BallotStatement, EncryptedVote)> = LazyLock::new(sample_vote);
    &SAMPLE
}
