//! End-to-end trustee flows through the public API: DKG, then threshold decryption.

mod common;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use urne_crypto::decryption::{combine, decryption_share, DiscreteLog};
use urne_crypto::dkg::{deal, verify_dealer_message, DkgOutcome, DkgParams, TrusteeKey};
use urne_crypto::group::{h, G};

const EID: &[u8; 32] = b"urne-test-election..............";
const CONS: &[u8] = b"constituency-7";

/// All `k`-element subsets of `1..=n`, increasing.
fn subsets(n: u32, k: usize) -> Vec<Vec<u32>> {
    if k == 0 {
        return vec![vec![]];
    }
    (1..=n)
        .flat_map(|last| {
            subsets(last - 1, k - 1).into_iter().map(move |mut s| {
                s.push(last);
                s
            })
        })
        .collect()
}

fn lagrange(set: &[u32]) -> Vec<Scalar> {
    set.iter()
        .map(|&j| {
            set.iter()
                .filter(|&&l| l != j)
                .fold(Scalar::ONE, |acc, &l| {
                    acc * Scalar::from(l) * (Scalar::from(l) - Scalar::from(j)).invert()
                })
        })
        .collect()
}

fn full_run(t: u32, n: u32) {
    let mut rng = common::rng(&format!("trustee/e2e/{t}-of-{n}"));
    let keys: Vec<TrusteeKey> = (0..n).map(|_| TrusteeKey::generate(&mut rng)).collect();
    let params =
        DkgParams::new(EID, t, keys.iter().map(TrusteeKey::public_key).collect()).expect("params");
    let dealers: Vec<_> = (1..=n)
        .map(|i| deal(&params, i, &mut rng).expect("deal"))
        .collect();
    for msg in &dealers {
        verify_dealer_message(&params, msg).expect("valid dealer message");
        for key in &keys {
            key.open_share(&params, msg).expect("honest share opens");
        }
    }
    let outcome = DkgOutcome::from_transcript(&params, &dealers, &[]).expect("dkg");
    let ek = &outcome.election_key;
    assert_eq!(ek.qualified(), (1..=n).collect::<Vec<_>>());
    assert!(outcome.disqualified.is_empty() && outcome.false_complaints.is_empty());
    let pk: RistrettoPoint = dealers.iter().map(|m| m.commitments[0]).sum();
    assert_eq!(*ek.public_key(), pk);

    let shares: Vec<_> = keys
        .iter()
        .map(|k| k.secret_share(&params, ek, &dealers).expect("share"))
        .collect();
    for (j, s) in (1u32..).zip(&shares) {
        assert_eq!(s.index(), j);
        assert_eq!(Some(s.verification_share()), ek.verification_share(j));
    }
    // The verification shares lie on one polynomial whose constant term is PK.
    for set in subsets(n, t as usize) {
        let x: Vec<_> = set
            .iter()
            .map(|&j| ek.verification_shares()[j as usize - 1])
            .collect();
        assert_eq!(
            RistrettoPoint::vartime_multiscalar_mul(lagrange(&set), x),
            pk
        );
    }

    // Homomorphic tally of a few ballots, then threshold decryption.
    let counts = [0u64, 1, 2, 17, 40];
    let rs: Vec<Scalar> = counts.iter().map(|_| Scalar::random(&mut rng)).collect();
    let a: Vec<_> = rs.iter().map(|r| G * r).collect();
    let b: Vec<_> = rs
        .iter()
        .zip(counts)
        .map(|(r, k)| h() * Scalar::from(k) + pk * r)
        .collect();
    let ds: Vec<_> = shares
        .iter()
        .map(|s| decryption_share(s, EID, CONS, &a, &mut rng))
        .collect();
    let dlog = DiscreteLog::new(40).expect("table");
    for set in subsets(n, t as usize) {
        let chosen: Vec<_> = set.iter().map(|&j| ds[j as usize - 1].clone()).collect();
        assert_eq!(
            combine(ek, EID, CONS, &a, &b, &chosen, &dlog),
            Ok(counts.to_vec()),
            "subset {set:?}"
        );
    }
    for set in subsets(n, t as usize - 1) {
        let chosen: Vec<_> = set.iter().map(|&j| ds[j as usize - 1].clone()).collect();
        assert!(combine(ek, EID, CONS, &a, &b, &chosen, &dlog).is_err());
    }
}

#[test]
fn two_of_three() {
    full_run(2, 3);
}

#[test]
fn three_of_five() {
    full_run(3, 5);
}
