//! Proofs, keys and the objects inside bodies: `selector ‖ bytes`, the
//! selector naming one of `urne_fuzz::PROOF_OBJECTS`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Ballot, EntryKind};
use urne_fuzz::{fixture, proof, proof_selector, tagged, vector_strings, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| out.push(tagged(&[proof_selector(name)], &bytes));
    for e in &fixture().entries {
        if e.kind == EntryKind::Ballot as u8 {
            if let Ok(b) = e.body::<Ballot>() {
                add("encrypted-vote", b.body.vote.to_bytes());
                add("credential", b.body.credential.to_bytes());
                add("ballot-public-key", b.body.ballot_key.to_bytes());
                add("ballot-signature", b.signature.to_bytes());
            }
        }
    }
    for (path, bytes) in vector_strings() {
        let name = match path.as_str() {
            ".vectors.encrypted_vote" => "encrypted-vote",
            ".vectors.statement" => "ballot-statement",
            ".vectors.signature" => "ballot-signature",
            ".credential.cbor" | ".invalid.credential_cbor" => "credential",
            ".signer_commitment.cbor" => "signer-commitment",
            ".challenge.cbor" => "blind-challenge",
            ".signer_response.cbor" => "signer-response",
            ".context.cbor" => "credential-context",
            ".params" => "dkg-params",
            ".decryption_shares" => "decryption-share",
            ".constituency.rules.cbor" => "seat-rules",
            ".draw.cbor" => "draw",
            ".allocation.cbor" => "elected-seats",
            _ => continue,
        };
        add(name, bytes);
    }
    out
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    if let Some((&selector, rest)) = data.split_first() {
        proof(selector, rest);
    }
});
