//! The service's witnessing: ballots (any appends) go on while a witness is
//! down, and the witness catches up with the newest checkpoint once it is
//! back; the cosignatures are stored and served with the checkpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use urne_crypto::manifest::Witness as ManifestWitness;
use urne_crypto::witness::WitnessKey;
use urne_server::board::Board;
use urne_server::election::ElectionId;
use urne_server::sequencer::{AppendRequest, LogRequirement};
use urne_server::witness::{self, submit, Follows, Witness};

fn private_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    dir
}

/// The board's head checkpoint with its stored cosignatures, once `key`
/// has cosigned the head of size at least `size` (or after 30 s: `None`).
async fn cosigned_head(
    board: &Board,
    log: &ElectionId,
    key: &WitnessKey,
    size: u64,
) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let head = board.head(log).unwrap();
        let note = board
            .with_cosignatures(log, head.size, &head.checkpoint)
            .unwrap();
        if head.size >= size
            && key
                .verifier()
                .cosignature(note.as_bytes())
                .unwrap()
                .is_some()
        {
            return Some(head.size);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_go_on_while_the_witness_is_down_and_it_catches_up() {
    let dir = private_tempdir();
    let (board, sequencer) = Board::open(&dir.path().join("board")).unwrap();
    let log = ElectionId([3; 32]);
    board
        .append(AppendRequest::new(
            log,
            b"first".to_vec(),
            LogRequirement::Absent,
        ))
        .await
        .unwrap();

    // A port with nothing behind it yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = WitnessKey::from_seed("w.test/one", &[5; 32]).unwrap();
    let w = ManifestWitness {
        name: key.name().to_owned(),
        public_key: key.verifier().public_key(),
        url: format!("http://127.0.0.1:{port}"),
    };
    submit::spawn_for(
        Arc::downgrade(&board),
        log,
        vec![w],
        submit::http_client().unwrap(),
    );

    // The witness is down: every append is still acknowledged.
    for i in 0..50u32 {
        board
            .append(AppendRequest::new(
                log,
                i.to_be_bytes().to_vec(),
                LogRequirement::Exists,
            ))
            .await
            .unwrap();
    }
    let head = board.head(&log).unwrap();
    assert_eq!(head.size, 51);
    let note = board
        .with_cosignatures(&log, head.size, &head.checkpoint)
        .unwrap();
    assert_eq!(key.verifier().cosignature(note.as_bytes()), Ok(None));

    // The witness comes up on that port, following this board.
    let follows = Follows {
        boards: vec![board.public_key()],
        ..Default::default()
    };
    let wit = Arc::new(Witness::open(key, &dir.path().join("witness"), follows).unwrap());
    let listener = witness::bind(([127, 0, 0, 1], port).into()).await.unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, witness::router(wit)).await;
    });
    let key = WitnessKey::from_seed("w.test/one", &[5; 32]).unwrap();
    assert_eq!(cosigned_head(&board, &log, &key, 51).await, Some(51));

    // More appends: the witness follows with a consistency proof from 51.
    for i in 0..20u32 {
        board
            .append(AppendRequest::new(
                log,
                (1000 + i).to_be_bytes().to_vec(),
                LogRequirement::Exists,
            ))
            .await
            .unwrap();
    }
    assert_eq!(cosigned_head(&board, &log, &key, 71).await, Some(71));
    // The earlier cosignature is kept for its size.
    let at_51 = board.checkpoints(&log, 51, 52).unwrap();
    let note = String::from_utf8(at_51[0].1.clone()).unwrap();
    let note = board.with_cosignatures(&log, 51, &note).unwrap();
    assert!(key
        .verifier()
        .cosignature(note.as_bytes())
        .unwrap()
        .is_some());

    server.abort();
    drop(board);
    sequencer.stop().await;
}
