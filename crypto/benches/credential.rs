//! Partially blind credential issuance and verification.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use urne_crypto::credential::{
    Credential, CredentialContext, RegistrarKey, SignerState, UserState,
};
use urne_crypto::encoding::Canonical;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let key = RegistrarKey::generate(&mut rng);
    let pk = key.public();
    let ctx = CredentialContext::new([2; 32], "north");
    let message = [3u8; 32];

    c.bench_function("credential/signer commit", |b| {
        b.iter(|| SignerState::commit(&key, &ctx, &mut rng))
    });

    // As the server runs it: decode the stored state, answer, persist again.
    let (signer, commitment) = SignerState::commit(&key, &ctx, &mut rng);
    let stored = signer.to_bytes();
    let (user, challenge) =
        UserState::blind(&pk, &ctx, &message, &commitment, &mut rng).expect("blind");
    c.bench_function(
        "credential/signer respond (decode state, respond, encode)",
        |b| {
            b.iter(|| {
                let mut state = SignerState::from_bytes(&stored).expect("state");
                let response = state.respond(&key, &challenge).expect("respond");
                (response, state.to_bytes())
            })
        },
    );

    drop(user);
    // Includes the signer's respond (a few scalar multiplications, no point
    // arithmetic) so that finish sees an honest answer.
    c.bench_function("credential/user blind+finish", |b| {
        b.iter_batched(
            || SignerState::commit(&key, &ctx, &mut ChaCha20Rng::from_seed([4; 32])),
            |(mut signer, commitment)| {
                let mut rng = ChaCha20Rng::from_seed([5; 32]);
                let (user, challenge) =
                    UserState::blind(&pk, &ctx, &message, &commitment, &mut rng).expect("blind");
                let response = signer.respond(&key, &challenge).expect("respond");
                user.finish(&response).expect("finish")
            },
            BatchSize::SmallInput,
        )
    });

    let (mut signer, commitment) = SignerState::commit(&key, &ctx, &mut rng);
    let (user, challenge) =
        UserState::blind(&pk, &ctx, &message, &commitment, &mut rng).expect("blind");
    let credential = user
        .finish(&signer.respond(&key, &challenge).expect("respond"))
        .expect("finish");
    let encoded = credential.to_bytes();
    c.bench_function("credential/verify (decode + verify)", |b| {
        b.iter(|| {
            let cred = Credential::from_bytes(&encoded).expect("decode");
            cred.verify(&pk, &ctx, &message)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
