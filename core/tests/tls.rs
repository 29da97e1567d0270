//! TLS against real `redis-server --tls-port`s with certificates from a CA the test makes with
//! `openssl` (support/mod.rs, `TestCerts`): verified connections (CA file, inline PEM, client
//! certificate), every kind of handshake failure ending in `Unavailable` within the connect
//! timeout with a message saying what failed, a TLS cluster, the conformance suite over TLS,
//! options refused at construction, and a non-Redis server on the port.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use poto_sessions::{RedisOptions, RedisSessionProvider, SessionError, SessionProvider};
use serde_json::json;
use support::{RedisCluster, RedisServer, TestCerts};

static CERTS: LazyLock<TestCerts> = LazyLock::new(TestCerts::generate);

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// What a failing connection may take beyond the connect timeout (a reconnect attempt, a slow
/// machine); generous on purpose, this is no latency test.
const MARGIN: Duration = Duration::from_secs(5);

fn options(url: String) -> RedisOptions {
    RedisOptions::new().url(url).prefix("tls:").connect_timeout(CONNECT_TIMEOUT)
}

/// A write and a read back through `options`.
async fn round_trip(options: RedisOptions) {
    let provider = RedisSessionProvider::connect(options).await.expect("TLS connection");
    let data = json!({"userId": "alice", "theme": "dark"}).as_object().unwrap().clone();
    provider.set_session("alice", data, None).await.unwrap();
    let back = provider.get_session("alice").await.unwrap().expect("session");
    assert_eq!(back["theme"], "dark");
    assert!(provider.delete_session("alice").await.is_ok());
}

/// The error of connecting with `options`, checked to be `Unavailable` within the connect
/// timeout (plus a margin); its message.
async fn refused(options: RedisOptions) -> String {
    let started = Instant::now();
    let result = RedisSessionProvider::connect(options).await;
    let took = started.elapsed();
    match result {
        Err(SessionError::Unavailable(message)) => {
            assert!(took < CONNECT_TIMEOUT + MARGIN, "took {took:?}: {message}");
            eprintln!("refused after {took:?}: {message}");
            message
        }
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("connected"),
    }
}

fn invalid(options: RedisOptions) -> String {
    match RedisSessionProvider::new(options) {
        Err(SessionError::InvalidArgument(message)) => message,
        Err(other) => panic!("expected InvalidArgument, got {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_with_the_ca_file_and_with_inline_pem() {
    let server = RedisServer::start_tls(&CERTS, "server", false);
    round_trip(options(server.tls_url()).tls_ca_file(CERTS.path("ca.crt"))).await;
    round_trip(options(server.tls_url()).tls_ca_pem(CERTS.read("ca.crt"))).await;
    // The certificate names IP:127.0.0.1 too, as cluster nodes announce IPs.
    let by_ip = format!("rediss://127.0.0.1:{}", server.tls_port.unwrap());
    round_trip(options(by_ip).tls_ca_file(CERTS.path("ca.crt"))).await;
    // A bundle: another CA first, ours second.
    let bundle = CERTS.read("other-ca.crt") + &CERTS.read("ca.crt");
    round_trip(options(server.tls_url()).tls_ca_pem(bundle)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_requiring_client_certificates() {
    let server = RedisServer::start_tls(&CERTS, "server", true);
    let message = refused(options(server.tls_url()).tls_ca_file(CERTS.path("ca.crt"))).await;
    assert!(message.contains("client certificate"), "{message}");
    round_trip(
        options(server.tls_url())
            .tls_ca_file(CERTS.path("ca.crt"))
            .tls_cert_file(CERTS.path("client.crt"))
            .tls_key_file(CERTS.path("client.key")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_is_unavailable() {
    let server = RedisServer::start_tls(&CERTS, "server", false);
    let message = refused(options(server.tls_url()).tls_ca_file(CERTS.path("other-ca.crt"))).await;
    assert!(message.contains("unknown CA"), "{message}");
    // The system's store alone does not know the test CA either.
    let message = refused(options(server.tls_url())).await;
    assert!(message.contains("unknown CA"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_host_name_is_unavailable_unless_insecure() {
    let server = RedisServer::start_tls(&CERTS, "other-host", false);
    let message = refused(options(server.tls_url()).tls_ca_file(CERTS.path("ca.crt"))).await;
    assert!(message.contains("host name mismatch") && message.contains("localhost"), "{message}");
    // Development only: no verification at all (not even of the CA).
    round_trip(options(server.tls_url()).tls_insecure(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_unavailable() {
    let server = RedisServer::start_tls(&CERTS, "expired", false);
    let message = refused(options(server.tls_url()).tls_ca_file(CERTS.path("ca.crt"))).await;
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_text_server_behind_rediss_is_unavailable() {
    let server = RedisServer::start();
    let url = format!("rediss://localhost:{}", server.port);
    let message = refused(options(url).tls_ca_file(CERTS.path("ca.crt"))).await;
    // A plain-text Redis waits silently for the end of a line that the TLS hello never sends.
    assert!(
        message.contains("did not complete a TLS handshake (is it a plain-text port behind rediss://?)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_that_cannot_work_are_refused_at_construction() {
    let tls = "rediss://localhost:1".to_owned();
    let message = invalid(options(tls.clone()).tls_cert_file(CERTS.path("client.crt")));
    assert!(message.contains("tls_cert_file given without tls_key_file"), "{message}");
    let message = invalid(options(tls.clone()).tls_key_file(CERTS.path("client.key")));
    assert!(message.contains("tls_key_file given without tls_cert_file"), "{message}");
    let message = invalid(options(tls.clone()).tls_ca_file("/nonexistent/ca.pem"));
    assert!(message.contains("tls_ca_file: cannot read /nonexistent/ca.pem"), "{message}");
    let message = invalid(options(tls.clone()).tls_ca_pem("not a certificate"));
    assert!(message.contains("tls_ca_pem: no certificate found"), "{message}");
    let message =
        invalid(options(tls.clone()).tls_ca_pem("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"));
    assert!(message.contains("tls_ca_pem"), "{message}");
    // The key of another certificate.
    let message =
        invalid(options(tls.clone()).tls_cert_file(CERTS.path("client.crt")).tls_key_file(CERTS.path("server.key")));
    assert!(message.contains("unusable client certificate"), "{message}");
    let message = invalid(options(tls).tls_cert_file(CERTS.path("client.key")).tls_key_file(CERTS.path("client.key")));
    assert!(message.contains("tls_cert_file: no certificate found"), "{message}");
    for plain in ["redis://localhost:1", "redis+cluster://localhost:1,localhost:2"] {
        let message = invalid(options(plain.into()).tls_ca_file(CERTS.path("ca.crt")).tls_insecure(true));
        assert!(message.contains("tls_ca_file, tls_insecure given, but the url"), "{message}");
        assert!(message.contains("is not TLS: use rediss://"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_cluster_serves_requests() {
    let cluster = RedisCluster::start_tls(3, &CERTS);
    let provider =
        RedisSessionProvider::connect(options(cluster.tls_url()).tls_ca_file(CERTS.path("ca.crt"))).await.unwrap();
    for i in 0..20 {
        let id = format!("user-{i}");
        let data = json!({"userId": id, "n": i}).as_object().unwrap().clone();
        provider.set_session(&id, data, None).await.unwrap();
    }
    assert_eq!(provider.get_session("user-7").await.unwrap().unwrap()["n"], 7);
    assert_eq!(provider.get_active_sessions().await.unwrap().len(), 20);
    assert_eq!(provider.clear().await.unwrap(), 20);
    // The same cluster without trusting its CA.
    let message = refused(options(cluster.tls_url())).await;
    assert!(message.contains("unknown CA"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_passes_over_tls() {
    let server = RedisServer::start_tls(&CERTS, "server", true);
    let options = options(server.tls_url())
        .prefix("conf:")
        .tls_ca_pem(CERTS.read("ca.crt"))
        .tls_cert_file(CERTS.path("client.crt"))
        .tls_key_file(CERTS.path("client.key"));
    let report = run_conformance(
        || {
            let options = options.clone();
            async move { Ok(Arc::new(RedisSessionProvider::connect(options).await?) as Arc<dyn SessionProvider>) }
        },
        ConformanceOptions::default(),
    )
    .await;
    assert!(report.is_ok(), "{report}");
}

/// A TCP server on a free loopback port that answers whatever it reads with `reply`, then
/// closes; it serves until the test process ends.
fn garbage_server(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                if stream.read(&mut buf).unwrap_or(0) > 0 {
                    let _ = stream.write_all(reply);
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_redis_is_unavailable() {
    for reply in [&b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"[..], b"\x00\xff\xfe garbage \x01\r\n"] {
        let port = garbage_server(reply);
        let message = refused(options(format!("redis://127.0.0.1:{port}"))).await;
        assert!(message.contains("not the Redis protocol") || message.contains("redis did not answer"), "{message}");
        // Behind rediss://, the same server is no TLS server.
        let message = refused(options(format!("rediss://localhost:{port}"))).await;
        assert!(message.contains("the server is not speaking TLS (a plain-text port behind rediss://?)"), "{message}");
    }
}
