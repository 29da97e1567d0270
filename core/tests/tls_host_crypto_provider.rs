//! A Rust host that installed its own rustls crypto provider before using this library keeps
//! it: the library installs `ring` only when the process has none. Its own test binary: the
//! provider is process-wide. (The process with none: tls_crypto_provider.rs.)

mod support;

use std::sync::Arc;

use poto_sessions::{RedisOptions, RedisSessionProvider, SessionProvider};
use rustls::crypto::CryptoProvider;
use support::{RedisServer, TestCerts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_provider_installed_first_is_kept() {
    // The host's own choice: ring restricted to one TLS 1.3 suite (any provider would do).
    let mut own = rustls::crypto::ring::default_provider();
    own.cipher_suites.retain(|s| s.suite() == rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);
    own.install_default().expect("nothing installed before");
    let host: Arc<CryptoProvider> = CryptoProvider::get_default().unwrap().clone();

    let certs = TestCerts::generate();
    let server = RedisServer::start_tls(&certs, "server", false);
    let options = RedisOptions::new().url(server.tls_url()).tls_ca_pem(certs.read("ca.crt"));
    let provider = RedisSessionProvider::connect(options).await.expect("TLS connection with the host's provider");
    assert!(provider.get_session("nobody").await.unwrap().is_none());

    assert!(Arc::ptr_eq(CryptoProvider::get_default().unwrap(), &host), "the host's provider is still the default");
}
