//! The voter client's reading of a board's setup: it replays the key
//! generation entries as the record does, so a service (even one showing a
//! voter a forked board) cannot hand it an election key that does not follow
//! from the trustees' dealings and complaints.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

use base64ct::{Base64, Encoding};

use urne_crypto::dkg::{DealerMessage, DkgOutcome};
use urne_crypto::encoding::Canonical;
use urne_crypto::entry::{Entry, EntryKind};
use urne_e2e::fixture::{build, Fixture, Params};
use urne_server::client::api::Client;
use urne_server::client::board::setup;

/// Serves `entries` (and a checkpoint over all of them) as a service's read API.
fn serve(fixture: &Fixture, entries: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let vkey = fixture.board_key().verifier().to_vkey_string() + "\n";
    let note = fixture.checkpoint_for(&entries, entries.len() as u64);
    let entries = Arc::new(entries);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                    break;
                }
            }
            let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let q: HashMap<&str, u64> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
                .collect();
            let (status, body) = if path == "/v1/board-key" {
                (200, vkey.clone())
            } else if path.ends_with("/checkpoint") {
                (200, note.clone())
            } else if path.ends_with("/entries") {
                let start = q.get("start").copied().unwrap_or(0);
                let end = q
                    .get("end")
                    .copied()
                    .unwrap_or(u64::MAX)
                    .min(entries.len() as u64)
                    .min(start + 5);
                let page: Vec<String> = (start..end.max(start))
                    .map(|i| format!("\"{}\"", Base64::encode_string(&entries[i as usize])))
                    .collect();
                (
                    200,
                    format!("{{\"start\":{start},\"entries\":[{}]}}", page.join(",")),
                )
            } else {
                (404, "{}".into())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
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
