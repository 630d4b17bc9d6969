//! The voter client's reading of a board's setup: it replays the key
//! generation entries as the record does, so a service (even one showing a
//! voter a forked board) cannot hand it an election key that does not follow
//! from the trustees' dealings and complaints.

use urne_crypto::dkg::{DealerMessage, DkgOutcome};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Entry, EntryKind};
use urne_e2e::fixture::{build, Fixture, Params};
use urne_e2e::served::{ServedBoard, Service};
use urne_server::client::api::Client;
use urne_server::client::board::setup;

/// Serves `entries` (and a checkpoint over all of them) as a service's read
/// API; returns the server's base URL.
fn serve(fixture: &Fixture, entries: Vec<Vec<u8>>) -> String {
    let board = ServedBoard::of_export(&fixture.export_of(&entries));
    Service::start(board, &hex::encode(fixture.election))
        .base()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voter_refuses_an_election_key_that_does_not_follow_from_the_dealings() {
    let fx = build(&Params::small(9));
    let open = fx
        .entries
        .iter()
        .position(|e| e.kind == EntryKind::Open as u8)
        .expect("open entry");
    let prefix: Vec<Entry> = fx.entries[..=open].to_vec();

    // The honest setup gives the key of the transcript.
    let url = serve(&fx, prefix.iter().map(|e| e.to_bytes()).collect());
    let client = Client::new(&url).expect("client");
    let honest = setup(&client, &fx.election).await.expect("honest setup");
    assert!(honest.opened);
    let honest_key = honest.election_key.expect("election key");

    // A board-signed key from the dealings without the last dealer's.
    let dealings: Vec<DealerMessage> = prefix
        .iter()
        .filter(|e| e.kind == EntryKind::DkgDealing as u8)
        .map(|e| e.body().expect("dealing"))
        .collect();
    let params = fx.manifest.dkg_params().expect("params");
    let forged_key = DkgOutcome::from_transcript(&params, &dealings[..dealings.len() - 1], &[])
        .expect("a key from fewer dealings")
        .election_key;
    assert_ne!(forged_key, honest_key);
    let forged: Vec<Vec<u8>> = prefix
        .iter()
        .map(|e| {
            if e.kind == EntryKind::ElectionKey as u8 {
                Entry::signed(
                    EntryKind::ElectionKey,
                    fx.election,
                    &forged_key,
                    &fx.board_signer(),
                )
                .to_bytes()
            } else {
                e.to_bytes()
            }
        })
        .collect();
    let url = serve(&fx, forged);
    let client = Client::new(&url).expect("client");
    let refused = setup(&client, &fx.election)
        .await
        .err()
        .expect("a forged election key is refused");
    assert!(
        refused.to_string().contains("election key differs"),
        "{refused}"
    );
}
