//! Checkpoints and signed notes: the published Go `sumdb/note` and C2SP
//! examples, sign/open round trips, every tamper rejected, foreign signatures
//! ignored, and a parser that never panics.

mod common;

use proptest::prelude::*;
use urne_crypto::checkpoint::{
    election_origin, key_id, open_signed_checkpoint, sign_checkpoint, BoardKey, Checkpoint,
    CheckpointError, NoteVerifier, MAX_SIGNATURES,
};
use urne_crypto::merkle::leaf_hash;

// golang.org/x/mod/sumdb/note: the example of the package documentation and
// of note_test.go.
const GO_SIGNER_KEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n\
                       \n\
                       — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// The example of C2SP tlog-checkpoint (its key is not published).
const C2SP_CHECKPOINT: &str = "example.com/behind-the-sofa\n\
                               20852163\n\
                               CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
                               \n\
                               — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

fn board_key(label: &str) -> BoardKey {
    BoardKey::generate(&election_origin(&[0xe1; 16]), &mut common::rng(label)).unwrap()
}

fn sample_checkpoint(key: &BoardKey) -> Checkpoint {
    Checkpoint::new(key.name(), 1234, leaf_hash(b"root"))
}

#[test]
fn go_sumdb_note_vector() {
    let signer = BoardKey::decode(GO_SIGNER_KEY).unwrap();
    let verifier = NoteVerifier::from_vkey_string(GO_VERIFIER_KEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(*signer.encode(), GO_SIGNER_KEY);
    assert_eq!(signer.verifier(), verifier);
    assert_eq!(verifier.to_vkey_string(), GO_VERIFIER_KEY);
    assert_eq!(
        key_id("PeterNeumann", &signer.public_key()),
        verifier.key_id()
    );
    // Ed25519 is deterministic: signing reproduces the published note.
    assert_eq!(signer.sign_note(GO_TEXT).unwrap(), GO_NOTE);
    assert_eq!(verifier.open_note(GO_NOTE.as_bytes()), Ok(GO_TEXT));
    let forged = GO_NOTE.replace("cryptography", "cryptographY");
    assert_eq!(
        verifier.open_note(forged.as_bytes()),
        Err(CheckpointError::InvalidSignature)
    );
    // Not a checkpoint body.
    assert_eq!(
        open_signed_checkpoint(GO_NOTE.as_bytes(), &verifier),
        Err(CheckpointError::MalformedBody)
    );
}

#[test]
fn c2sp_checkpoint_example_parses() {
    let body = C2SP_CHECKPOINT.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let cp = Checkpoint::parse_body(&body).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        hex::encode(cp.root),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_body().unwrap(), body);
    // Its signature line is well formed, by a key we do not know.
    let other = board_key("other");
    assert_eq!(
        other.verifier().open_note(C2SP_CHECKPOINT.as_bytes()),
        Err(CheckpointError::NotSigned)
    );
}

#[test]
fn vkey_manglings_are_rejected() {
    NoteVerifier::from_vkey_string(GO_VERIFIER_KEY).unwrap();
    let b = GO_VERIFIER_KEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if (i, j) != (0, b.len()) {
                if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                    assert!(NoteVerifier::from_vkey_string(s).is_err(), "{s}");
                }
            }
        }
    }
    for i in 0..b.len() {
        for delta in [1u8, 0x20, 0x80] {
            let mut m = b.to_vec();
            m[i] ^= delta;
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(NoteVerifier::from_vkey_string(s).is_err(), "{s}");
            }
        }
    }
    // Upper-case key id, wrong key type, wrong key id.
    assert!(
        NoteVerifier::from_vkey_string(&GO_VERIFIER_KEY.replace("c74f20a3", "C74F20A3")).is_err()
    );
    assert_eq!(
        NoteVerifier::from_vkey_string(&GO_VERIFIER_KEY.replace("+ARpc", "+AhpC")),
        Err(CheckpointError::UnsupportedKeyType)
    );
    assert_eq!(
        NoteVerifier::from_vkey_string(&GO_VERIFIER_KEY.replace("c74f20a3", "c74f20a4")),
        Err(CheckpointError::KeyIdMismatch)
    );
    // The right key under another name has another id.
    assert_eq!(
        NoteVerifier::from_vkey_string(&GO_VERIFIER_KEY.replace("PeterNeumann", "PeterNeumanm")),
        Err(CheckpointError::KeyIdMismatch)
    );
}

#[test]
fn small_order_and_non_canonical_public_keys_are_rejected() {
    use base64ct::{Base64, Encoding};
    let vkey = |pk: [u8; 32]| {
        let mut raw = vec![0x01];
        raw.extend_from_slice(&pk);
        format!(
            "n+{}+{}",
            hex::encode(key_id("n", &pk)),
            Base64::encode_string(&raw)
        )
    };
    // Small order: the identity (y = 1) and y = 0 (order 4).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        NoteVerifier::from_vkey_string(&vkey(identity)),
        Err(CheckpointError::InvalidPublicKey)
    );
    assert_eq!(
        NoteVerifier::from_vkey_string(&vkey([0; 32])),
        Err(CheckpointError::InvalidPublicKey)
    );
    // y + p for small y: never canonical, even where y itself is a good key.
    let p_plus = |y: u8| {
        let mut e = [0xffu8; 32];
        e[0] = 0xed + y;
        e[31] = 0x7f;
        e
    };
    let mut canonical_twins = 0;
    for y in 0..19u8 {
        assert!(
            NoteVerifier::from_vkey_string(&vkey(p_plus(y))).is_err(),
            "y = p + {y}"
        );
        let mut c = [0u8; 32];
        c[0] = y;
        canonical_twins += NoteVerifier::from_vkey_string(&vkey(c)).is_ok() as u32;
    }
    assert!(canonical_twins > 0, "no valid small-y key to compare with");
}

#[test]
fn board_key_storage_round_trip_and_tampering() {
    let key = board_key("storage");
    let encoded = key.encode();
    let back = BoardKey::decode(&encoded).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(back.verifier(), key.verifier());
    assert!(!format!("{key:?}").contains(&encoded[encoded.len() - 44..]));

    let s: &str = &encoded;
    let b = s.as_bytes();
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] ^= 1;
        if let Ok(t) = std::str::from_utf8(&m) {
            assert!(BoardKey::decode(t).is_err(), "{t}");
        }
    }
    assert!(BoardKey::decode(&s[..s.len() - 1]).is_err());
    assert!(BoardKey::decode(&(s.to_owned() + "A")).is_err());
    assert!(BoardKey::decode(&s["PRIVATE+KEY+".len()..]).is_err());
    assert_eq!(
        BoardKey::generate("bad name", &mut common::rng("x")).unwrap_err(),
        CheckpointError::InvalidName
    );
}

#[test]
fn sign_and_open_round_trip() {
    let key = board_key("round trip");
    let verifier = NoteVerifier::from_vkey_string(&key.verifier().to_vkey_string()).unwrap();
    for (size, root) in [
        (0, urne_crypto::merkle::EMPTY_ROOT),
        (1234, leaf_hash(b"r")),
        (u64::MAX, [0xff; 32]),
    ] {
        let cp = Checkpoint::new(key.name(), size, root);
        let note = sign_checkpoint(&key, &cp).unwrap();
        assert!(note.starts_with(&format!("{}\n{size}\n", key.name())));
        assert_eq!(open_signed_checkpoint(note.as_bytes(), &verifier), Ok(cp));
    }
    let mut cp = sample_checkpoint(&key);
    cp.extensions = vec!["ext one".into(), "— two".into()];
    let note = sign_checkpoint(&key, &cp).unwrap();
    assert_eq!(open_signed_checkpoint(note.as_bytes(), &verifier), Ok(cp));
}

#[test]
fn signing_refuses_bad_checkpoints() {
    let key = board_key("refuse");
    let mut cp = sample_checkpoint(&key);
    cp.origin = election_origin(&[1]);
    assert_eq!(
        sign_checkpoint(&key, &cp),
        Err(CheckpointError::OriginMismatch)
    );
    let mut cp = sample_checkpoint(&key);
    cp.extensions = vec![String::new()];
    assert_eq!(
        sign_checkpoint(&key, &cp),
        Err(CheckpointError::MalformedBody)
    );
    cp.extensions = vec!["a\nb".into()];
    assert_eq!(
        sign_checkpoint(&key, &cp),
        Err(CheckpointError::MalformedBody)
    );
    assert_eq!(
        key.sign_note("no newline"),
        Err(CheckpointError::MissingFinalNewline)
    );
    assert_eq!(
        key.sign_note("cr\r\n"),
        Err(CheckpointError::ControlCharacter)
    );
}

/// Every single-byte substitution, deletion and insertion anywhere in a signed
/// checkpoint (body, separator, em dash, name, key id, signature) is rejected.
#[test]
fn every_single_byte_tamper_is_rejected() {
    let key = board_key("tamper");
    let verifier = key.verifier();
    let note = sign_checkpoint(&key, &sample_checkpoint(&key))
        .unwrap()
        .into_bytes();
    open_signed_checkpoint(&note, &verifier).unwrap();
    for i in 0..note.len() {
        for v in [
            note[i] ^ 0x01,
            note[i] ^ 0x20,
            note[i] ^ 0x80,
            b'\n',
            b' ',
            b'+',
            b'0',
            b'A',
            b'=',
        ] {
            if v == note[i] {
                continue;
            }
            let mut m = note.clone();
            m[i] = v;
            assert!(
                open_signed_checkpoint(&m, &verifier).is_err(),
                "byte {i} set to {v:#04x} accepted"
            );
        }
        let mut m = note.clone();
        m.remove(i);
        assert!(
            open_signed_checkpoint(&m, &verifier).is_err(),
            "byte {i} deleted"
        );
        for v in [b'\n', b'0', b'A', b' '] {
            let mut m = note.clone();
            m.insert(i, v);
            assert!(
                open_signed_checkpoint(&m, &verifier).is_err(),
                "{v:#04x} inserted at {i}"
            );
        }
    }
}

fn signature_line(note: &str) -> &str {
    note.rsplit_once("\n\n").unwrap().1
}

#[test]
fn foreign_signatures_are_ignored() {
    let key = board_key("ours");
    let verifier = key.verifier();
    let cp = sample_checkpoint(&key);
    let body = cp.to_body().unwrap();
    let ours = sign_checkpoint(&key, &cp).unwrap();

    // A witness under another name, the same name under another key, another
    // name under the same key id, and a syntactically valid garbage signature.
    let witness = BoardKey::generate("witness.example/w1", &mut common::rng("witness")).unwrap();
    let rotated = BoardKey::generate(key.name(), &mut common::rng("rotated")).unwrap();
    let same_id = format!(
        "— other.example/x {}",
        &signature_line(&ours)[("— ".len() + key.name().len() + 1)..]
    );
    let garbage = "— unknown.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    let extra = [
        signature_line(&witness.sign_note(&body).unwrap()).to_owned(),
        signature_line(&rotated.sign_note(&body).unwrap()).to_owned(),
        same_id,
        garbage.to_owned(),
    ]
    .concat();

    let before = format!("{body}\n{extra}{}", signature_line(&ours));
    let after = format!("{ours}{extra}");
    for note in [before, after] {
        assert_eq!(
            open_signed_checkpoint(note.as_bytes(), &verifier),
            Ok(cp.clone())
        );
    }
    // Without our signature, foreign ones are not enough.
    let only_foreign = format!("{body}\n{extra}");
    assert_eq!(
        open_signed_checkpoint(only_foreign.as_bytes(), &verifier),
        Err(CheckpointError::NotSigned)
    );
    // The rotated key (same name, other id) cannot stand in for ours.
    let rotated_note = sign_checkpoint(&rotated, &cp).unwrap();
    assert_eq!(
        open_signed_checkpoint(rotated_note.as_bytes(), &verifier),
        Err(CheckpointError::NotSigned)
    );
}

#[test]
fn signature_count_is_bounded() {
    let key = board_key("count");
    let verifier = key.verifier();
    let cp = sample_checkpoint(&key);
    let ours = sign_checkpoint(&key, &cp).unwrap();
    let foreign = |i: usize| {
        let k = BoardKey::from_seed(&format!("w{i}.example"), &[i as u8; 32]).unwrap();
        signature_line(&k.sign_note(&cp.to_body().unwrap()).unwrap()).to_owned()
    };
    let with = |n: usize| ours.clone() + &(0..n).map(foreign).collect::<String>();
    assert_eq!(
        open_signed_checkpoint(with(16).as_bytes(), &verifier),
        Ok(cp.clone())
    );
    assert_eq!(
        open_signed_checkpoint(with(MAX_SIGNATURES - 1).as_bytes(), &verifier),
        Ok(cp.clone())
    );
    assert_eq!(
        open_signed_checkpoint(with(MAX_SIGNATURES).as_bytes(), &verifier),
        Err(CheckpointError::TooManySignatures)
    );
}

#[test]
fn duplicate_and_bad_signatures_by_our_key_are_refused() {
    let key = board_key("dup");
    let verifier = key.verifier();
    let cp = sample_checkpoint(&key);
    let note = sign_checkpoint(&key, &cp).unwrap();
    let twice = note.clone() + signature_line(&note);
    assert_eq!(
        open_signed_checkpoint(twice.as_bytes(), &verifier),
        Err(CheckpointError::DuplicateSignature)
    );
    // Our name and key id, but the signature of another checkpoint.
    let other = sign_checkpoint(&key, &Checkpoint::new(key.name(), 1235, cp.root)).unwrap();
    let swapped = format!("{}\n{}", cp.to_body().unwrap(), signature_line(&other));
    assert_eq!(
        open_signed_checkpoint(swapped.as_bytes(), &verifier),
        Err(CheckpointError::InvalidSignature)
    );
    // A valid signature of ours followed by a bad one still fails.
    let then_bad = note.clone() + signature_line(&other);
    assert!(open_signed_checkpoint(then_bad.as_bytes(), &verifier).is_err());
}

#[test]
fn malformed_notes_are_refused() {
    let key = board_key("malformed");
    let verifier = key.verifier();
    let root = base64ct::Base64::encode_string(&[7u8; 32]);
    let sign = |body: &str| key.sign_note(body).unwrap();
    let name = key.name().to_owned();
    use base64ct::Encoding;
    let cases: Vec<(String, CheckpointError)> = vec![
        (
            sign(&format!("{name}\n007\n{root}\n")),
            CheckpointError::MalformedSize,
        ),
        (
            sign(&format!("{name}\n+7\n{root}\n")),
            CheckpointError::MalformedSize,
        ),
        (
            sign(&format!("{name}\n-1\n{root}\n")),
            CheckpointError::MalformedSize,
        ),
        (
            sign(&format!("{name}\n18446744073709551616\n{root}\n")),
            CheckpointError::MalformedSize,
        ),
        (
            sign(&format!("{name}\n\n{root}\n")),
            CheckpointError::MalformedSize,
        ),
        (
            sign(&format!("{name}\n7\n")),
            CheckpointError::MalformedBody,
        ),
        (
            sign(&format!("{name}\n7\n{root}\next\n\n")),
            CheckpointError::MalformedBody,
        ),
        (
            sign(&format!(
                "{name}\n7\n{}\n",
                base64ct::Base64::encode_string(&[7u8; 31])
            )),
            CheckpointError::MalformedRoot,
        ),
        (
            sign(&format!(
                "{name}\n7\n{}\n",
                base64ct::Base64::encode_string(&[7u8; 33])
            )),
            CheckpointError::MalformedRoot,
        ),
        (
            sign(&format!("{name}\n7\n{}\n", root.trim_end_matches('='))),
            CheckpointError::MalformedRoot,
        ),
        (
            sign(&format!("{}/x\n7\n{root}\n", name)),
            CheckpointError::OriginMismatch,
        ),
    ];
    for (note, want) in cases {
        assert_eq!(
            open_signed_checkpoint(note.as_bytes(), &verifier),
            Err(want),
            "{note}"
        );
    }

    let good = sign_checkpoint(&key, &sample_checkpoint(&key)).unwrap();
    let crlf = good.replace('\n', "\r\n");
    assert_eq!(
        open_signed_checkpoint(crlf.as_bytes(), &verifier),
        Err(CheckpointError::ControlCharacter)
    );
    assert_eq!(
        open_signed_checkpoint(good.trim_end_matches('\n').as_bytes(), &verifier),
        Err(CheckpointError::MissingFinalNewline)
    );
    assert_eq!(
        open_signed_checkpoint((good.clone() + "\n").as_bytes(), &verifier),
        Err(CheckpointError::MissingSignatures)
    );
    let no_blank = good.replacen("\n\n", "\n", 1);
    assert!(open_signed_checkpoint(no_blank.as_bytes(), &verifier).is_err());
    let hyphen = good.replace('—', "--");
    assert_eq!(
        open_signed_checkpoint(hyphen.as_bytes(), &verifier),
        Err(CheckpointError::MalformedSignatureLine)
    );
    let two_spaces = good.replace("— ", "—  ");
    assert!(open_signed_checkpoint(two_spaces.as_bytes(), &verifier).is_err());
    let mut not_utf8 = good.clone().into_bytes();
    not_utf8[1] = 0xff;
    assert_eq!(
        open_signed_checkpoint(&not_utf8, &verifier),
        Err(CheckpointError::NotUtf8)
    );
    let huge = "a".repeat(urne_crypto::checkpoint::MAX_NOTE_LEN) + &good;
    assert_eq!(
        open_signed_checkpoint(huge.as_bytes(), &verifier),
        Err(CheckpointError::NoteTooLarge)
    );
    // A signature whose base64 has non-zero padding bits.
    let line = signature_line(&good).trim_end_matches('\n');
    let (head, b64) = line.rsplit_once(' ').unwrap();
    let raw = base64ct::Base64::decode_vec(b64).unwrap();
    assert_eq!(raw.len() % 3, 2, "one padding character");
    let last = b64.len() - 2;
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.find(&b64[last..last + 1]).unwrap();
    let bumped = &alphabet[(pos ^ 1)..(pos ^ 1) + 1];
    let non_canonical = good.replace(b64, &format!("{}{}=", &b64[..last], bumped));
    assert_eq!(
        open_signed_checkpoint(non_canonical.as_bytes(), &verifier),
        Err(CheckpointError::Base64),
        "{head}"
    );
}

#[test]
fn origin_names_the_election() {
    assert_eq!(election_origin(&[0x00, 0xab, 0xff]), "urne/00abff");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let key = BoardKey::from_seed("urne/00", &[1; 32]).unwrap();
        let _ = open_signed_checkpoint(&bytes, &key.verifier());
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse_body(s);
            let _ = NoteVerifier::from_vkey_string(s);
            let _ = BoardKey::decode(s);
        }
    }

    #[test]
    fn parsers_never_panic_on_note_shaped_text(
        lines in prop::collection::vec("(— |PRIVATE\\+KEY\\+)?[a-z0-9/+= —\r\t]{0,60}", 0..8),
        blank in any::<bool>(),
    ) {
        let key = BoardKey::from_seed("urne/00", &[1; 32]).unwrap();
        let mut text = lines.join("\n");
        if blank {
            text = text.replacen('\n', "\n\n", 1);
        }
        text.push('\n');
        let _ = open_signed_checkpoint(text.as_bytes(), &key.verifier());
        let _ = Checkpoint::parse_body(&text);
        let _ = NoteVerifier::from_vkey_string(&text);
        let _ = BoardKey::decode(&text);
    }

    #[test]
    fn any_checkpoint_round_trips(size in any::<u64>(), root in any::<[u8; 32]>(), seed in any::<[u8; 32]>()) {
        let key = BoardKey::from_seed(&election_origin(&seed[..8]), &seed).unwrap();
        let cp = Checkpoint::new(key.name(), size, root);
        let note = sign_checkpoint(&key, &cp).unwrap();
        prop_assert_eq!(open_signed_checkpoint(note.as_bytes(), &key.verifier()), Ok(cp));
    }
}
