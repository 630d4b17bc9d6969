//! Witness cosignatures in an export (§6.11): checked against the manifest's
//! witnesses, reported, and required with `require_witnesses`.

use std::io::Cursor;

use urne_crypto::export::{ExportReader, ExportWriter, Record};
use urne_crypto::witness::{add_signature_lines, WitnessKey};
use urne_e2e::fixture::{build, witness_key, Params, WITNESS_NAME};
use urne_verify::{verify_export, CheckId, Options, Outcome, Report};

/// The export with its final checkpoint passed through `change`.
fn with_final(export: &[u8], change: impl Fn(&str) -> String) -> Vec<u8> {
    let mut reader = ExportReader::new(Cursor::new(export)).unwrap();
    let mut records = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        records.push(r);
    }
    let Some(Record::BoardKey(key)) = records.first().cloned() else {
        panic!("no key record")
    };
    let mut w = ExportWriter::new(Vec::new(), &key).unwrap();
    let mut last = String::new();
    for r in &records[1..] {
        match r {
            Record::FinalCheckpoint(note) => last = change(note),
            other => w.write(other).unwrap(),
        }
    }
    w.finish(&last).unwrap()
}

fn cosign(note: &str, key: &WitnessKey, t: u64) -> String {
    let text = &note[..note.find("\n\n").unwrap() + 1];
    add_signature_lines(note, &key.cosign(text, t).unwrap()).unwrap()
}

fn verify(export: &[u8], require_witnesses: bool) -> Report {
    let options = Options {
        require_witnesses,
        ..Options::default()
    };
    verify_export(Cursor::new(export), &options)
}

fn codes(r: &Report) -> Vec<String> {
    r.failures.iter().map(|f| f.code.clone()).collect()
}

fn checkpoints_detail(r: &Report) -> String {
    r.checks
        .iter()
        .find(|c| c.name == CheckId::Checkpoints.name())
        .map(|c| c.detail.clone())
        .unwrap_or_default()
}

#[test]
fn a_quorum_cosigned_final_checkpoint_passes_require_witnesses_and_is_reported() {
    let f = build(&Params::small(71));
    // Cosigned before the beacon round's publication (the fixture's round is
    // published at 1,764,792,003): the lottery's timing is witnessed too.
    let export = with_final(&f.export(), |n| cosign(n, &witness_key(), 1_700_000_000));
    let r = verify(&export, true);
    assert_eq!(r.status, Outcome::Valid, "{:#?}", r.failures);
    let detail = checkpoints_detail(&r);
    assert!(
        detail.contains(WITNESS_NAME) && detail.contains("met"),
        "{detail}"
    );
    let lottery = r.check("lottery").unwrap().detail.clone();
    assert!(
        lottery.contains("cosigned by witness.fixture/w1 at 1700000000 before beacon round"),
        "{lottery}"
    );
    // Cosigned only after the round was published: the quorum is met, the
    // timing is not witnessed, and with require_witnesses that fails.
    let late = with_final(&f.export(), |n| cosign(n, &witness_key(), 1_900_000_000));
    assert_eq!(verify(&late, false).status, Outcome::Valid);
    let r = verify(&late, true);
    assert_eq!(codes(&r), ["unwitnessed_reveals_close"]);
}

#[test]
fn require_witnesses_fails_without_a_quorum() {
    let f = build(&Params::small(72));
    let plain = f.export();
    // Without the option an uncosigned board still verifies, and says so.
    let r = verify(&plain, false);
    assert_eq!(r.status, Outcome::Valid, "{:#?}", r.failures);
    assert!(checkpoints_detail(&r).contains("no witness cosignature"));
    let r = verify(&plain, true);
    assert_eq!(r.status, Outcome::Invalid);
    assert_eq!(codes(&r), ["witness_quorum", "unwitnessed_reveals_close"]);
    // A cosignature by a key the manifest does not name does not count.
    let stranger = WitnessKey::from_seed(WITNESS_NAME, &[1; 32]).unwrap();
    let r = verify(&with_final(&plain, |n| cosign(n, &stranger, 5)), true);
    assert_eq!(codes(&r), ["witness_quorum", "unwitnessed_reveals_close"]);
}

#[test]
fn a_tampered_cosignature_fails_checkpoints() {
    let f = build(&Params::small(73));
    let export = with_final(&f.export(), |n| {
        let good = cosign(n, &witness_key(), 1_900_000_000);
        // Another timestamp under the same signature.
        let line = good.lines().last().unwrap().to_owned();
        let b64 = line.rsplit(' ').next().unwrap();
        use base64ct::Encoding as _;
        let mut blob = base64ct::Base64::decode_vec(b64).unwrap();
        blob[11] ^= 1;
        let forged = format!(
            "— {WITNESS_NAME} {}",
            base64ct::Base64::encode_string(&blob)
        );
        good.replace(&line, &forged)
    });
    for require in [false, true] {
        let r = verify(&export, require);
        assert_eq!(r.status, Outcome::Invalid);
        assert!(
            codes(&r).contains(&"bad_cosignature".to_string()),
            "{:?}",
            codes(&r)
        );
    }
}
