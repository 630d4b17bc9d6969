//! Test vectors for `specs/protocol.md` §5: a 2-of-3 DKG transcript (dealer 2
//! disqualified by trustee 1's justified complaint; a false complaint judged
//! against dealer 3), the election key, a tally ciphertext vector,
//! decryption shares and the combined plaintexts.

mod common;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use serde_json::json;
use urne_crypto::decryption::{
    combine, combine_points, decryption_share, verify_share, DiscreteLog,
};
use urne_crypto::dkg::{
    deal, deal_with_bad_share, verify_complaint, verify_dealer_message, Complaint, DealerMessage,
    DkgOutcome, DkgParams, ElectionKey, Fault, TrusteeKey,
};
use urne_crypto::encoding::Canonical;
use urne_crypto::group::{h, G};

/// A 32-byte election id (§3.1), as every election id is.
const ELECTION: &[u8; 32] = b"urne-vectors-election-id-32bytes";
const CONSTITUENCY: &[u8] = b"north";

fn pt(p: &RistrettoPoint) -> String {
    hex::encode(p.compress().as_bytes())
}

fn pts(ps: &[RistrettoPoint]) -> Vec<String> {
    ps.iter().map(pt).collect()
}

#[test]
fn trustee_vectors() {
    let mut rng = common::rng("urne/v1/vectors/trustee");
    let keys: Vec<TrusteeKey> = (0..3).map(|_| TrusteeKey::generate(&mut rng)).collect();
    let params = DkgParams::new(
        ELECTION,
        2,
        keys.iter().map(TrusteeKey::public_key).collect(),
    )
    .expect("params");
    // Dealer 2 cheats: its share for trustee 1 is wrong.
    let dealers: Vec<DealerMessage> = (1..=3)
        .map(|i| {
            if i == 2 {
                deal_with_bad_share(&params, i, 1, &mut rng).expect("deal")
            } else {
                deal(&params, i, &mut rng).expect("deal")
            }
        })
        .collect();
    for m in &dealers {
        verify_dealer_message(&params, m).expect("valid");
        assert_eq!(DealerMessage::from_bytes(&m.to_bytes()).as_ref(), Ok(m));
    }
    // Trustee 1's justified complaint against dealer 2 (the only kind a board admits).
    assert!(keys[0].open_share(&params, &dealers[1]).is_err());
    let complaint = keys[0]
        .complain(&params, &dealers[1], &mut rng)
        .expect("complaint");
    assert_eq!(
        verify_complaint(&params, &dealers[1], &complaint),
        Ok(Fault::Dealer(2))
    );
    // Trustee 1 falsely complains about dealer 3's (good) share: refuted, so
    // a board refuses it (§5.5) and it is not part of the transcript.
    let false_complaint = keys[0]
        .complain(&params, &dealers[2], &mut rng)
        .expect("complaint");
    assert_eq!(
        verify_complaint(&params, &dealers[2], &false_complaint),
        Ok(Fault::Complainant(1))
    );
    let revealed = keys[0].open_share(&params, &dealers[2]).expect("share");
    let outcome = DkgOutcome::from_transcript(&params, &dealers, std::slice::from_ref(&complaint))
        .expect("dkg");
    assert_eq!(outcome.election_key.qualified(), &[1, 3]);
    let ek = &outcome.election_key;
    assert_eq!(ElectionKey::from_bytes(&ek.to_bytes()).as_ref(), Ok(ek));
    let shares: Vec<_> = keys
        .iter()
        .map(|k| k.secret_share(&params, ek, &dealers).expect("share"))
        .collect();

    let counts = [3u64, 0, 5, 1];
    let rs: Vec<Scalar> = counts.iter().map(|_| Scalar::random(&mut rng)).collect();
    let a: Vec<_> = rs.iter().map(|r| G * r).collect();
    let b: Vec<_> = rs
        .iter()
        .zip(counts)
        .map(|(r, k)| h() * Scalar::from(k) + ek.public_key() * r)
        .collect();
    let ds: Vec<_> = shares
        .iter()
        .map(|s| decryption_share(s, ELECTION, CONSTITUENCY, &a, &mut rng))
        .collect();
    for d in &ds {
        verify_share(ek, ELECTION, CONSTITUENCY, &a, d).expect("valid share");
    }
    let used = [ds[0].clone(), ds[2].clone()];
    let m = combine_points(ek, ELECTION, CONSTITUENCY, &a, &b, &used).expect("combine");
    let bound = 5;
    let dlog = DiscreteLog::new(bound).expect("table");
    let plain = combine(ek, ELECTION, CONSTITUENCY, &a, &b, &used, &dlog).expect("decrypt");
    assert_eq!(plain, counts);

    let value = json!({
        "description": "2-of-3 DKG (specs/protocol.md §5): dealer 2 gives trustee 1 a bad share and trustee 1's justified complaint disqualifies it (qualified set [1, 3]); a false complaint by trustee 1 against dealer 3, which a board refuses (§5.5), with its verdict; then threshold decryption of a 4-candidate tally by trustees 1 and 3. All byte strings are hex; objects are their canonical CBOR encodings.",
        "election_id": hex::encode(ELECTION),
        "constituency": hex::encode(CONSTITUENCY),
        "trustee_secret_keys": keys.iter().map(|k| hex::encode(k.secret_bytes().as_slice())).collect::<Vec<_>>(),
        "params": hex::encode(params.to_bytes()),
        "dealer_messages": dealers.iter().map(|m| hex::encode(m.to_bytes())).collect::<Vec<_>>(),
        "complaints": [hex::encode(complaint.to_bytes())],
        "complaint_verdict": "dealer 2 at fault (justified complaint): dealer 2 disqualified",
        "false_complaint": hex::encode(false_complaint.to_bytes()),
        "false_complaint_revealed_share": hex::encode(revealed.as_bytes()),
        "false_complaint_verdict": "complainant 1 at fault (false complaint): refused on a board",
        "qualified": ek.qualified(),
        "election_key": hex::encode(ek.to_bytes()),
        "public_key": pt(ek.public_key()),
        "verification_shares": pts(ek.verification_shares()),
        "ciphertexts": {
            "A": pts(&a),
            "B": pts(&b),
        },
        "decryption_shares": ds.iter().map(|d| hex::encode(d.to_bytes())).collect::<Vec<_>>(),
        "combined_by": [1, 3],
        "combined_points": pts(&m),
        "bound": bound,
        "plaintexts": plain,
    });
    common::check_vectors("trustee", &value);

    // The stored encodings decode back to what was generated.
    let c = Complaint::from_bytes(&complaint.to_bytes()).expect("complaint decodes");
    assert_eq!(c, complaint);
}
