//! A process with no rustls crypto provider (a Python or Node host, a C program, a Rust host
//! that never chose one): the first TLS provider installs `ring`, and the connection works, with
//! no panic. Its own test binary: the provider is process-wide. (The host that installs its own
//! first: tls_host_crypto_provider.rs.)

mod support;

use poto_sessions::{RedisOptions, RedisSessionProvider, SessionProvider};
use rustls::crypto::CryptoProvider;
use support::{RedisServer, TestCerts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_is_installed_when_the_process_has_no_provider() {
    let certs = TestCerts::generate();
    let server = RedisServer::start_tls(&certs, "server", false);
    assert!(CryptoProvider::get_default().is_none(), "nothing installed a provider yet");

    // Construction installs it (the options are checked with it).
    let options = RedisOptions::new().url(server.tls_url()).tls_ca_file(certs.path("ca.crt"));
    let provider = RedisSessionProvider::connect(options).await.expect("TLS connection");
    assert!(provider.get_session("nobody").await.unwrap().is_none());

    let installed = CryptoProvider::get_default().expect("a provider is installed");
    let names = |p: &CryptoProvider| p.cipher_suites.iter().map(|s| s.suite()).collect::<Vec<_>>();
    assert_eq!(names(installed), names(&rustls::crypto::ring::default_provider()), "ring's");
}
