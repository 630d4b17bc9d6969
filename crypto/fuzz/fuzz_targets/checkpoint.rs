//! Signed checkpoints and notes: `mode ‖ UTF-8 text`, mode 0 a checkpoint
//! body, 1 `verifier key \n signed note`, 2 a verifier key, 3 a private board key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urne_crypto::checkpoint::{
    open_signed_checkpoint, sign_checkpoint, BoardKey, Checkpoint, NoteVerifier,
};
use urne_fuzz::{fixture, tagged, vector_texts, write_seeds};

fn seeds() -> Vec<Vec<u8>> {
    let f = fixture();
    let key = f.board_key();
    let vkey = key.verifier().to_vkey_string();
    let entries = f.entry_bytes();
    let mut out = Vec::new();
    for size in [0, 1, entries.len() as u64] {
        let note = f.checkpoint_for(&entries, size);
        let body = note.split("\n\n").next().unwrap_or_default().to_string() + "\n";
        out.push(tagged(&[0], body.as_bytes()));
        out.push(tagged(&[1], format!("{vkey}\n{note}").as_bytes()));
    }
    for body in vector_texts("body") {
        out.push(tagged(&[0], body.as_bytes()));
    }
    let vector_keys = vector_texts("vkey");
    for field in ["note", "note_with_witness", "tampered_note"] {
        for (k, note) in vector_keys.iter().zip(vector_texts(field)) {
            out.push(tagged(&[1], format!("{k}\n{note}").as_bytes()));
        }
    }
    for k in vector_keys.iter().chain([&vkey]) {
        out.push(tagged(&[2], k.as_bytes()));
    }
    out.push(tagged(&[3], key.encode().as_bytes()));
    out
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match mode % 4 {
        0 => {
            if let Ok(cp) = Checkpoint::parse_body(text) {
                let body = cp.to_body().expect("an accepted body re-encodes");
                assert_eq!(body, text);
                assert_eq!(Checkpoint::parse_body(&body).as_ref(), Ok(&cp));
            }
        }
        1 => {
            let Some((vkey, note)) = text.split_once('\n') else { return };
            let Ok(verifier) = NoteVerifier::from_vkey_string(vkey) else { return };
            if let Ok(cp) = open_signed_checkpoint(note.as_bytes(), &verifier) {
                let signed = verifier.open_note(note.as_bytes()).expect("opened once");
                assert_eq!(cp.to_body().as_deref(), Ok(signed));
            }
        }
        2 => {
            if let Ok(v) = NoteVerifier::from_vkey_string(text) {
                assert_eq!(v.to_vkey_string(), text);
            }
        }
        _ => {
            if let Ok(key) = BoardKey::decode(text) {
                assert_eq!(key.encode().as_str(), text);
                let cp = Checkpoint::new(key.name(), 3, [7; 32]);
                let note = sign_checkpoint(&key, &cp).expect("signs its own origin");
                assert_eq!(open_signed_checkpoint(note.as_bytes(), &key.verifier()), Ok(cp));
            }
        }
    }
});
