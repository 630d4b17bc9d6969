//! The board API over real HTTP against an in-process server on loopback.

mod common;

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use common::{election, start, unlimited, Client};
use reqwest::StatusCode;
use urne_crypto::merkle;
use urne_server::api::limits::Limits;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_provably_included_and_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let (a, b) = (election(1), election(2));

    let tasks: Vec<_> = (0..32u32)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for i in 0..20u32 {
                    let id = if i % 4 == 3 { b } else { a };
                    let entry = format!("entry {t}/{i}").into_bytes();
                    let receipt = client.append(&id, &entry).await;
                    out.push((id, entry, receipt));
                }
                out
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.extend(t.await.unwrap());
    }

    for id in [a, b] {
        let verifier = client.verifier(&id).await;
        let (_, head) = client.checkpoint(&id, &verifier).await;
        let mine: Vec<_> = receipts.iter().filter(|(e, _, _)| *e == id).collect();
        assert_eq!(head.size, mine.len() as u64);

        // Every acknowledged entry sits at its index, under a checkpoint that
        // includes it and is consistent with the final head.
        let mut by_index = BTreeMap::new();
        for (_, entry, receipt) in &mine {
            assert!(
                by_index.insert(receipt.index, entry.clone()).is_none(),
                "index reused"
            );
            let cp = client.check_receipt(&id, &verifier, receipt, entry).await;
            client.check_consistent(&id, &cp, &head).await;
        }
        let entries = client.all_entries(&id).await;
        assert_eq!(entries, by_index.into_values().collect::<Vec<_>>());
        let leaves: Vec<_> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        assert_eq!(merkle::root(&leaves), head.root);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn forged_proofs_and_foreign_checkpoints_are_rejected_by_the_client_checks() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let (a, b) = (election(1), election(2));
    for i in 0..5u8 {
        client.append(&a, &[i]).await;
    }
    let receipt = client.append(&b, b"other").await;
    let verifier = client.verifier(&a).await;
    let (_, head) = client.checkpoint(&a, &verifier).await;

    // A checkpoint of election b does not verify as one of election a.
    assert!(urne_crypto::checkpoint::open_signed_checkpoint(
        receipt.checkpoint.as_bytes(),
        &verifier
    )
    .is_err());
    // A proof for one leaf does not prove another entry there.
    let proof = client.inclusion(&a, 2, head.size).await;
    assert!(
        merkle::verify_inclusion(2, head.size, &merkle::leaf_hash(&[2]), &proof, &head.root)
            .is_ok()
    );
    assert!(
        merkle::verify_inclusion(2, head.size, &merkle::leaf_hash(&[3]), &proof, &head.root)
            .is_err()
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_requests_get_typed_400s() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let id = election(1);
    client.append(&id, b"x").await;
    let cases = [
        (
            format!("/v1/elections/{id}/proof/inclusion?index=abc&size=1"),
            "malformed_query",
        ),
        (
            format!("/v1/elections/{id}/proof/inclusion?index=-1&size=1"),
            "malformed_query",
        ),
        (
            format!("/v1/elections/{id}/proof/inclusion?size=1"),
            "malformed_query",
        ),
        (
            format!("/v1/elections/{id}/proof/inclusion?index=0&size=1&x=1"),
            "malformed_query",
        ),
        (
            format!("/v1/elections/{id}/proof/consistency?from=0&to=99999999999999999999"),
            "malformed_query",
        ),
        (format!("/v1/elections/{id}/entries"), "malformed_query"),
        (
            format!("/v1/elections/{id}/entries?start=0&end="),
            "malformed_query",
        ),
        (
            format!("/v1/elections/{}/checkpoint", "AB".repeat(32)),
            "malformed_election_id",
        ),
        (
            "/v1/elections/abcd/checkpoint".to_string(),
            "malformed_election_id",
        ),
        (
            format!("/v1/elections/{}g/entries?start=0", "a".repeat(63)),
            "malformed_election_id",
        ),
    ];
    for (path, code) in cases {
        let (status, body) = client.get_json(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
    }
    let bad_unique = client
        .http
        .post(client.url(&format!(
            "/v1/test-support/elections/{id}/entries?unique=zz"
        )))
        .bearer_auth(common::TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_unique.status(), StatusCode::BAD_REQUEST);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_elections_sizes_and_routes_are_404_and_bad_ranges_422() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let (id, unknown) = (election(1), election(9));
    for i in 0..3u8 {
        client.append(&id, &[i]).await;
    }
    let cases = [
        (
            format!("/v1/elections/{unknown}/checkpoint"),
            404,
            "unknown_election",
        ),
        (
            format!("/v1/elections/{unknown}/board-key"),
            404,
            "unknown_election",
        ),
        (
            format!("/v1/elections/{unknown}/entries?start=0"),
            404,
            "unknown_election",
        ),
        (
            format!("/v1/elections/{unknown}/proof/inclusion?index=0&size=1"),
            404,
            "unknown_election",
        ),
        (
            format!("/v1/elections/{unknown}/proof/consistency?from=0&to=1"),
            404,
            "unknown_election",
        ),
        (
            format!("/v1/elections/{id}/proof/inclusion?index=0&size=4"),
            404,
            "beyond_head",
        ),
        (
            format!("/v1/elections/{id}/proof/consistency?from=1&to=4"),
            404,
            "beyond_head",
        ),
        (
            format!("/v1/elections/{id}/entries?start=4"),
            404,
            "beyond_head",
        ),
        ("/v1/nowhere".to_string(), 404, "no_route"),
        (
            format!("/v1/elections/{id}/proof/inclusion?index=3&size=3"),
            422,
            "invalid_range",
        ),
        (
            format!("/v1/elections/{id}/proof/consistency?from=3&to=2"),
            422,
            "invalid_range",
        ),
        (
            format!("/v1/elections/{id}/entries?start=2&end=1"),
            422,
            "invalid_range",
        ),
    ];
    for (path, status, code) in cases {
        let (got, body) = client.get_json(&path).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
    }
    // Boundaries that are fine: an empty page at the head, empty proofs.
    let (status, page) = client
        .get_json(&format!("/v1/elections/{id}/entries?start=3"))
        .await;
    assert_eq!(
        (status, page["entries"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    assert!(client.consistency(&id, 0, 3).await.is_empty());
    assert!(client.consistency(&id, 3, 3).await.is_empty());
    let (status, page) = client
        .get_json(&format!("/v1/elections/{id}/entries?start=1&end=2"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["entries"], serde_json::json!(["AQ=="]));

    let r = client
        .http
        .delete(client.url("/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_bodies_are_413_with_or_without_a_length() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_body_bytes: 1024,
        ..unlimited()
    };
    let server = start(dir.path(), limits).await;
    let client = Client::new(server.local_addr());
    let id = election(1);
    client.append(&id, &[7; 1024]).await;
    let err = client
        .try_append(&id, &[7; 1025], None)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (err.status, err.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );

    // A chunked body has no Content-Length: the limit applies while reading it.
    let addr = server.local_addr();
    let chunk = "a".repeat(800);
    let request = format!(
        "POST /v1/test-support/elections/{id}/entries HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         320\r\n{chunk}\r\n320\r\n{chunk}\r\n0\r\n\r\n",
        common::TOKEN
    );
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#""error":"body_too_large""#),
        "{response}"
    );

    // Nothing was appended by the refused requests.
    let verifier = client.verifier(&id).await;
    assert_eq!(client.checkpoint(&id, &verifier).await.1.size, 1);
    server.shutdown().await.unwrap();
}

/// A body refused as too large is left unread, so the server closes the
/// connection after its answer; the answer must say so (`Connection: close`),
/// or a keep-alive client sends its next request into the closing socket.
#[tokio::test]
async fn an_oversized_body_is_answered_with_connection_close() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_body_bytes: 1024,
        ..unlimited()
    };
    let server = start(dir.path(), limits).await;
    let addr = server.local_addr();
    let id = election(1);
    let request = format!(
        "POST /v1/test-support/elections/{id}/entries HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Length: 1025\r\n\r\n{}",
        common::TOKEN,
        "a".repeat(1025)
    );
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).to_ascii_lowercase()
    })
    .await
    .unwrap();
    assert!(response.starts_with("http/1.1 413"), "{response}");
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    assert!(
        head.lines().any(|l| l.trim() == "connection: close"),
        "{response}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn appends_need_the_organiser_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let url = client.url(&format!(
        "/v1/test-support/elections/{}/entries",
        election(1)
    ));
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some(common::TOKEN),
    ] {
        let mut req = client.http.post(&url).body("x");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    server.shutdown().await.unwrap();

    // A server without a token refuses organiser routes outright.
    let dir = tempfile::tempdir().unwrap();
    let server = urne_server::server::start(urne_server::server::ServerConfig {
        data_dir: dir.path().to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        organiser_token: None,
        limits: unlimited(),
        clock: urne_server::clock::BoardClock::system(),
        test_support: true,
        secrets: urne_server::store::sealed::SecretsAtRest::Sealed(common::secrets_key()),
    })
    .await
    .unwrap();
    let client = Client::new(server.local_addr());
    let err = client
        .try_append(&election(1), b"x", None)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (err.status, err.code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_of_a_unique_key_get_one_success() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let id = election(1);
    let tasks: Vec<_> = (0..16u8)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .try_append(&id, &[i], Some(b"member-1"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(
                (e.status, e.code()),
                (StatusCode::CONFLICT, "duplicate_unique_key")
            ),
        }
    }
    assert_eq!(ok, 1);
    let verifier = client.verifier(&id).await;
    assert_eq!(client.checkpoint(&id, &verifier).await.1.size, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reads_beyond_the_rate_limit_get_429() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        read_rate: NonZeroU32::new(1),
        ..unlimited()
    };
    let server = start(dir.path(), limits).await;
    let client = Client::new(server.local_addr());
    let mut limited = 0;
    for _ in 0..20 {
        let r = client
            .http
            .get(client.url("/v1/board-key"))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited");
            limited += 1;
        }
    }
    // One token per second: most of 20 back-to-back reads are refused.
    assert!(limited >= 10, "{limited} of 20 refused");
    // Health checks are never rate limited.
    let (status, body) = client.get_json("/v1/health").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &serde_json::json!("ok"))
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_entries_key_and_checkpoints_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let id = election(3);
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    for i in 0..10u8 {
        client.append(&id, &[i]).await;
    }
    let verifier = client.verifier(&id).await;
    let (note, before) = client.checkpoint(&id, &verifier).await;
    server.shutdown().await.unwrap();

    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    assert_eq!(
        client.verifier(&id).await,
        verifier,
        "the board key persists"
    );
    assert_eq!(client.checkpoint(&id, &verifier).await.0, note);
    let receipt = client.append(&id, b"after restart").await;
    assert_eq!(receipt.index, 10);
    let after = client
        .check_receipt(&id, &verifier, &receipt, b"after restart")
        .await;
    client.check_consistent(&id, &before, &after).await;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_keeps_every_acknowledged_append() {
    let dir = tempfile::tempdir().unwrap();
    let id = election(4);
    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    client.append(&id, b"first").await;
    let tasks: Vec<_> = (0..16u32)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..1000u32 {
                    let entry = format!("{t}/{i}").into_bytes();
                    match client.try_append(&id, &entry, None).await {
                        Ok(Ok(receipt)) => acked.push((receipt.index, entry)),
                        Ok(Err(e)) => {
                            assert_eq!(e.code(), "shutting_down");
                            break;
                        }
                        Err(_) => break, // connection closed by the shutdown
                    }
                }
                acked
            })
        })
        .collect();
    // Shut down while the clients are appending.
    while client
        .get_json(&format!("/v1/elections/{id}/entries?start=0&end=0"))
        .await
        .1["size"]
        .as_u64()
        .unwrap_or(0)
        < 50
    {
        tokio::task::yield_now().await;
    }
    server.shutdown().await.unwrap();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() >= 49);

    let server = start(dir.path(), unlimited()).await;
    let client = Client::new(server.local_addr());
    let entries = client.all_entries(&id).await;
    for (index, entry) in acked {
        assert_eq!(entries[index as usize], entry);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn appends_past_their_timeout_get_a_json_503() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        write_timeout: std::time::Duration::from_millis(200),
        ..unlimited()
    };
    let server = start(dir.path(), limits).await;
    let addr = server.local_addr();
    // A client that sends half of a chunked body and stalls: the handler
    // cannot finish, so only the timeout can answer.
    let id = election(1);
    let request = format!(
        "POST /v1/test-support/elections/{id}/entries HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n",
        common::TOKEN
    );
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = Vec::new();
        let mut buf = [0u8; 1024];
        while !response.ends_with(b"}") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed without a response");
            response.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(response).unwrap()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains(r#""error":"timeout""#), "{response}");
    // Nothing was appended.
    let client = Client::new(addr);
    let (status, _) = client
        .get_json(&format!("/v1/elections/{id}/checkpoint"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.shutdown().await.unwrap();
}

/// A raw HTTP/1.1 connection to `addr`: its writing half and a buffered
/// reader of its answers (30 s read timeout).
fn raw_connection(
    addr: std::net::SocketAddr,
) -> (std::net::TcpStream, std::io::BufReader<std::net::TcpStream>) {
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let writer = stream.try_clone().unwrap();
    (writer, std::io::BufReader::new(stream))
}

/// One HTTP/1.1 response read from a kept-alive connection: status, whether
/// it closes the connection, and its body; `None` when the connection ended
/// (or was reset) before a whole response arrived.
fn read_response(
    stream: &mut std::io::BufReader<std::net::TcpStream>,
) -> Option<(u16, bool, Vec<u8>)> {
    use std::io::{BufRead, Read};
    let mut status_line = String::new();
    if stream.read_line(&mut status_line).ok()? == 0 {
        return None;
    }
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let (mut length, mut close) = (0usize, false);
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if line == "connection: close" {
            close = true;
        }
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((status, close, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_are_told_to_close_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    let id = election(5);
    let server = start(dir.path(), unlimited()).await;
    let addr = server.local_addr();
    Client::new(addr).append(&id, b"first").await;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Raw keep-alive connections, each appending in a loop until it is told
    // the connection closes.
    let clients: Vec<_> = (0..8u32)
        .map(|t| {
            let sent = sent.clone();
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                let (mut writer, mut reader) = raw_connection(addr);
                let mut answers = Vec::new();
                for i in 0.. {
                    let body = format!("{t}/{i}");
                    let request = format!(
                        "POST /v1/test-support/elections/{id}/entries HTTP/1.1\r\nHost: x\r\n\
                         Authorization: Bearer {}\r\nContent-Length: {}\r\n\r\n{body}",
                        common::TOKEN,
                        body.len()
                    );
                    writer
                        .write_all(request.as_bytes())
                        .expect("the connection is open: no close was announced");
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let answer = read_response(&mut reader)
                        .unwrap_or_else(|| panic!("client {t}: request {i} got no answer"));
                    let close = answer.1;
                    answers.push(answer);
                    if close {
                        break;
                    }
                }
                answers
            })
        })
        .collect();
    while sent.load(std::sync::atomic::Ordering::Relaxed) < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    server.shutdown().await.unwrap();
    for client in clients {
        let answers = client
            .await
            .expect("no client saw a reset or a lost answer");
        // The last answer closes the connection: a 503 `shutting_down`, or
        // an append that its handler finished just as shutdown began.
        let (status, close, body) = answers.last().unwrap();
        assert!(close);
        if *status == 503 {
            let json: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(json["error"], "shutting_down");
        } else {
            assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        }
        for (status, close, body) in &answers[..answers.len() - 1] {
            assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
            assert!(!close);
        }
    }
}

/// A request already past the shutdown check when shutdown begins, and
/// refused by its handler, must still close its connection: its client would
/// otherwise send the next request into a connection about to be dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_mid_shutdown_still_closes_its_connection() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let id = election(6);
    let limits = Limits {
        shutdown_grace: std::time::Duration::from_secs(5),
        ..unlimited()
    };
    let server = start(dir.path(), limits).await;
    let addr = server.local_addr();
    // Headers and the first bytes of the body: the request has passed the
    // middleware and its handler waits for the rest of the body.
    let (mut writer, mut reader) = raw_connection(addr);
    let head = format!(
        "POST /v1/test-support/elections/{id}/entries HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Length: 5\r\n\r\nab",
        common::TOKEN,
    );
    writer.write_all(head.as_bytes()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopping = tokio::spawn(server.shutdown());
    let client = Client::new(addr);
    loop {
        let (status, _) = client.get_json("/v1/health").await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    writer.write_all(b"cde").unwrap();
    let (status, close, body) = tokio::task::spawn_blocking(move || read_response(&mut reader))
        .await
        .unwrap()
        .expect("an answer, not a reset");
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "shutting_down");
    assert!(close, "a 503 shutting_down must carry Connection: close");
    stopping.await.unwrap().unwrap();
}
