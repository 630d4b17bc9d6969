//! Generates and checks `specs/vectors/board.json`: RFC 6962 hashes, roots,
//! inclusion and consistency proofs for the 8-leaf RFC 6962 reference tree,
//! the perfect subtrees a server stores, and a signed checkpoint.

mod common;

use std::collections::BTreeMap;

use rand_core::Rng;
use serde_json::{json, Value};
use urne_crypto::checkpoint::{
    election_origin, open_signed_checkpoint, sign_checkpoint, BoardKey, Checkpoint, NoteVerifier,
};
use urne_crypto::hash::Digest32;
use urne_crypto::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root, root_at, verify_consistency,
    verify_inclusion, Frontier, MerkleError, NodeId, EMPTY_ROOT,
};

const ENTRIES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

fn hx(d: &Digest32) -> Value {
    Value::String(hex::encode(d))
}

fn proof_json(p: &[Digest32]) -> Value {
    Value::Array(p.iter().map(hx).collect())
}

#[test]
fn board_vectors() {
    let entries: Vec<Vec<u8>> = ENTRIES.iter().map(|e| hex::decode(e).unwrap()).collect();
    let leaves: Vec<Digest32> = entries.iter().map(|e| leaf_hash(e)).collect();

    let mut frontier = Frontier::new();
    let mut nodes = BTreeMap::new();
    let mut appended = Vec::new();
    for l in &leaves {
        let created = frontier.append(*l).unwrap();
        appended.push(Value::Array(
            created
                .iter()
                .map(|(id, d)| json!({"level": id.level, "index": id.index, "hash": hx(d)}))
                .collect(),
        ));
        nodes.extend(created);
    }
    let get = |id: NodeId| nodes.get(&id).copied().ok_or(MerkleError::MissingNode(id));

    let n = leaves.len() as u64;
    let mut roots = Vec::new();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 0..=n {
        let r = root(&leaves[..size as usize]);
        assert_eq!(root_at(size, get).unwrap(), r);
        roots.push(json!({"size": size, "root": hx(&r)}));
        for index in 0..size {
            let p = inclusion_proof(index, size, get).unwrap();
            verify_inclusion(index, size, &leaves[index as usize], &p, &r).unwrap();
            inclusion.push(json!({
                "index": index, "size": size,
                "leaf_hash": hx(&leaves[index as usize]), "root": hx(&r), "proof": proof_json(&p),
            }));
        }
        for old in 0..=size {
            let r1 = root(&leaves[..old as usize]);
            let p = consistency_proof(old, size, get).unwrap();
            verify_consistency(old, size, &r1, &r, &p).unwrap();
            consistency.push(json!({
                "old_size": old, "new_size": size,
                "old_root": hx(&r1), "new_root": hx(&r), "proof": proof_json(&p),
            }));
        }
    }

    // A signed checkpoint of the full tree, by a key from a fixed seed.
    let mut rng = common::rng("urne/vectors/board");
    let mut election_id = [0u8; 32];
    rng.fill_bytes(&mut election_id);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let origin = election_origin(&election_id);
    let key = BoardKey::from_seed(&origin, &seed).unwrap();
    let vkey = key.verifier().to_vkey_string();
    let checkpoint = Checkpoint::new(origin.clone(), n, frontier.root());
    let note = sign_checkpoint(&key, &checkpoint).unwrap();
    let verifier = NoteVerifier::from_vkey_string(&vkey).unwrap();
    assert_eq!(
        open_signed_checkpoint(note.as_bytes(), &verifier),
        Ok(checkpoint.clone())
    );
    // A foreign signature line, which verifiers must ignore.
    let witness = BoardKey::from_seed("witness.example/w", &[7; 32]).unwrap();
    let body = checkpoint.to_body().unwrap();
    let witnessed = note.clone()
        + witness
            .sign_note(&body)
            .unwrap()
            .rsplit_once("\n\n")
            .unwrap()
            .1;
    assert_eq!(
        open_signed_checkpoint(witnessed.as_bytes(), &verifier),
        Ok(checkpoint.clone())
    );
    let tampered = note.replacen(&format!("\n{n}\n"), &format!("\n{}\n", n + 1), 1);
    assert!(open_signed_checkpoint(tampered.as_bytes(), &verifier).is_err());

    // A verifier key string whose base64 holds `+` (split at the first two `+`
    // only, §6.7): the first seed counter, from 0, whose key gives one.
    let (plus_seed, plus_key) = (0u32..)
        .map(|i| {
            let s: [u8; 32] =
                urne_crypto::hash::tagged("urne/v1/vectors/vkey-plus", &[&i.to_be_bytes()]);
            (s, BoardKey::from_seed(&origin, &s).unwrap())
        })
        .find(|(_, k)| {
            let v = k.verifier().to_vkey_string();
            v.splitn(3, '+').nth(2).is_some_and(|b64| b64.contains('+'))
        })
        .expect("some key has a '+' in its base64");
    let plus_vkey = plus_key.verifier().to_vkey_string();
    let parsed = NoteVerifier::from_vkey_string(&plus_vkey).unwrap();
    assert_eq!(parsed.to_vkey_string(), plus_vkey);
    let plus_note = sign_checkpoint(&plus_key, &checkpoint).unwrap();
    assert_eq!(
        open_signed_checkpoint(plus_note.as_bytes(), &parsed),
        Ok(checkpoint.clone())
    );

    let value = json!({
        "description": "urne board (protocol §6): RFC 6962 Merkle hashes and proofs over the RFC 6962 reference entries, the perfect subtrees each append stores, and a C2SP signed checkpoint. Hashes are lowercase hex; proofs are arrays of hashes, leaf side first.",
        "hashes": {
            "empty_root": hx(&EMPTY_ROOT),
            "leaves": entries.iter().zip(&leaves).map(|(e, l)| json!({"entry": hex::encode(e), "leaf_hash": hx(l)})).collect::<Vec<_>>(),
            "node": {"left": hx(&leaves[0]), "right": hx(&leaves[1]), "hash": hx(&node_hash(&leaves[0], &leaves[1]))},
        },
        "appends": appended,
        "roots": roots,
        "inclusion": inclusion,
        "consistency": consistency,
        "checkpoint": {
            "election_id": hex::encode(election_id),
            "origin": origin,
            "seed": hex::encode(seed),
            "public_key": hex::encode(key.public_key()),
            "key_id": hex::encode(key.key_id()),
            "vkey": vkey,
            "size": n,
            "root": hx(&checkpoint.root),
            "body": body,
            "note": note,
            "note_with_witness": witnessed,
            "tampered_note": tampered,
        },
        "vkey_with_plus": {
            "origin": origin,
            "seed": hex::encode(plus_seed),
            "public_key": hex::encode(plus_key.public_key()),
            "key_id": hex::encode(plus_key.key_id()),
            "vkey": plus_vkey,
            "note": plus_note,
        },
    });
    common::check_vectors("board", &value);
}
