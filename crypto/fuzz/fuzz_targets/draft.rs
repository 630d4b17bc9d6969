//! TOML manifest drafts: parsing, the TOML round trip, and the manifest the
//! service makes of an accepted draft.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use urne_crypto::beacon::DemoNetwork;
use urne_crypto::credential::RegistrarKey;
use urne_crypto::encoding::Canonical;
use urne_crypto::manifest::Manifest;
use urne_fuzz::{fixture, round_trip, write_seeds};
use urne_server::client::draft::{ContributorDraft, ManifestDraft, TrusteeDraft};
use urne_server::demo::population::{manifest_draft, Schedule, Shape};
use urne_server::demo::Preset;

fn seeds() -> Vec<Vec<u8>> {
    let m = &fixture().manifest;
    let trustees = m
        .trustees
        .iter()
        .map(|t| TrusteeDraft {
            name: t.name.clone(),
            signing_key: hex::encode(t.signing_key),
            encryption_key: hex::encode(t.encryption_key.compress().as_bytes()),
        })
        .collect();
    let contributors = m
        .lottery
        .contributors
        .iter()
        .map(|c| ContributorDraft {
            name: c.name.clone(),
            signing_key: hex::encode(c.signing_key),
        })
        .collect();
    let shape = Shape {
        candidates: vec![5, 4],
        voters: 5,
        trustees: (m.trustees.len(), m.threshold),
        contributors: m.lottery.contributors.len(),
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let network = DemoNetwork::from_seed(&[1; 64]);
    let schedule = Schedule::new(Preset::Small, 1_800_000_000, &network);
    let draft = manifest_draft(&shape, &mut rng, trustees, contributors, &schedule);
    vec![toml::to_string(&draft)
        .expect("a draft is TOML")
        .into_bytes()]
}

fuzz_target!(init: write_seeds(seeds), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(draft) = toml::from_str::<ManifestDraft>(text) else { return };
    if let Ok(again) = toml::to_string(&draft) {
        let back: ManifestDraft = toml::from_str(&again).expect("written TOML parses");
        assert_eq!(back, draft, "a draft's TOML reads back as another draft");
    }
    if draft.constituencies.len() > 64 {
        return;
    }
    let registrar = RegistrarKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(2));
    let keys = vec![registrar.public(); draft.constituencies.len()];
    if let Ok(manifest) = draft.to_manifest([9; 32], [5; 16], &keys, [3; 32]) {
        if manifest.validate().is_ok() {
            assert!(draft.matches(&manifest), "a draft does not match its own manifest");
            round_trip::<Manifest>(&manifest.to_bytes()).expect("a valid manifest decodes");
        }
    }
});
