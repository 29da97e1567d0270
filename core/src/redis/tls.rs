//! TLS to Redis (`rediss://`, `rediss+cluster://`, `rediss+sentinel://`): which certificates to
//! trust and present, checked once when the provider is created, and what a failed handshake
//! means in words.
//!
//! - **Trust**: the operating system's store (as every Redis client does; `SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` are honoured) plus the PEM bundles of `tls_ca_file` and `tls_ca_pem`.
//! - **Client certificate**: `tls_cert_file` (a PEM chain, leaf first) with `tls_key_file`.
//! - **`tls_insecure`**: no verification at all, for development only.
//! - **Crypto provider**: rustls needs one per process. Ours is `ring` (it builds without extra
//!   tools), installed only when the process has none, so a Rust host that installed its own
//!   (aws-lc, FIPS) keeps it. Without one, rustls panics on the first handshake.

use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{
    Client, ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, RedisError, RedisResult, TlsCertificates, TlsMode,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use super::options::{redact_url, RedisOptions};
use crate::error::{Result, SessionError};

/// The TLS settings of one provider, checked: every file read, every PEM parsed, the key
/// matching the certificate.
#[derive(Clone)]
pub struct TlsConfig {
    certificates: TlsCertificates,
    insecure: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("client_certificate", &self.certificates.client_tls.is_some())
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// Whether `url` (or its first seed) asks for TLS: `rediss://`, `rediss+cluster://`,
/// `rediss+sentinel://`.
pub fn is_tls_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| scheme == "rediss" || scheme.starts_with("rediss+"))
}

fn invalid(message: String) -> SessionError {
    SessionError::InvalidArgument(message)
}

/// Whether `client` connects with TLS.
pub fn is_tls_client(client: &Client) -> bool {
    matches!(client.get_connection_info().addr(), ConnectionAddr::TcpTls { .. })
}

/// Installs rustls's `ring` provider as the process default, unless the process already has
/// one (then that one is used). Idempotent and safe to race: a provider another thread
/// installed first stays.
pub fn ensure_crypto_provider() -> &'static Arc<CryptoProvider> {
    if CryptoProvider::get_default().is_none() {
        // Err: another thread installed one between the check and here; theirs stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    CryptoProvider::get_default().expect("a rustls crypto provider is installed")
}

impl TlsConfig {
    /// The TLS settings for `url` (the URL in effect): `None` for a plain-text URL, which
    /// takes no TLS option. Reads the files now, so a missing file or a bad PEM is an invalid
    /// argument of the provider's construction, not a failure of its first call.
    pub fn from_options(options: &RedisOptions, url: &str) -> Result<Option<TlsConfig>> {
        let set: Vec<&str> = [
            ("tls_ca_file", options.tls_ca_file.is_some()),
            ("tls_ca_pem", options.tls_ca_pem.is_some()),
            ("tls_cert_file", options.tls_cert_file.is_some()),
            ("tls_key_file", options.tls_key_file.is_some()),
            ("tls_insecure", options.tls_insecure),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if !is_tls_url(url) {
            return match set.is_empty() {
                true => Ok(None),
                false => Err(invalid(format!(
                    "{} given, but the url {} is not TLS: use rediss:// (or rediss+cluster://, rediss+sentinel://)",
                    set.join(", "),
                    redact_url(url)
                ))),
            };
        }
        let provider = ensure_crypto_provider();

        // The operating system's store, less what rustls cannot use as a trust anchor; an
        // unreadable store leaves only the CA options.
        let mut trusted: Vec<CertificateDer<'static>> = rustls_native_certs::load_native_certs()
            .certs
            .into_iter()
            .filter(|cert| RootCertStore::empty().add(cert.clone()).is_ok())
            .collect();
        if let Some(path) = &options.tls_ca_file {
            trusted.extend(ca_bundle("tls_ca_file", &read("tls_ca_file", path)?)?);
        }
        if let Some(pem) = &options.tls_ca_pem {
            trusted.extend(ca_bundle("tls_ca_pem", pem.as_bytes())?);
        }

        let client_tls = match (&options.tls_cert_file, &options.tls_key_file) {
            (None, None) => None,
            (Some(_), None) => return Err(invalid("tls_cert_file given without tls_key_file".into())),
            (None, Some(_)) => return Err(invalid("tls_key_file given without tls_cert_file".into())),
            (Some(cert_path), Some(key_path)) => {
                let client_cert = read("tls_cert_file", cert_path)?;
                let client_key = read("tls_key_file", key_path)?;
                check_client_identity(provider, &client_cert, &client_key)?;
                Some(ClientTlsConfig { client_cert, client_key })
            }
        };
        // redis-rs trusts only the bundle it is given: the system's store and ours, as PEM.
        let root_pem = trusted.iter().flat_map(pem_certificate).collect();
        Ok(Some(TlsConfig {
            certificates: TlsCertificates { client_tls, root_cert: Some(root_pem) },
            insecure: options.tls_insecure || url.ends_with("#insecure"),
        }))
    }

    /// The certificates to hand to redis-rs (`Client::build_with_tls`,
    /// `ClusterClientBuilder::certs`, `SentinelClientBuilder::set_client_to_redis_certificates`
    /// and `set_client_to_sentinel_certificates`).
    pub fn certificates(&self) -> TlsCertificates {
        self.certificates.clone()
    }

    /// `Insecure` with `tls_insecure` (no verification), else `Secure`.
    pub fn mode(&self) -> TlsMode {
        if self.insecure {
            TlsMode::Insecure
        } else {
            TlsMode::Secure
        }
    }

    /// A client of the single server at the `rediss://` `url`.
    pub fn client(&self, url: &str) -> Result<Client> {
        let info = url.into_connection_info().map_err(|e| bad_url(url, e))?;
        let addr = match info.addr().clone() {
            ConnectionAddr::TcpTls { host, port, insecure, .. } => {
                ConnectionAddr::TcpTls { host, port, insecure: insecure || self.insecure, tls_params: None }
            }
            _ => return Err(bad_url(url, "not a rediss:// url")),
        };
        Client::build_with_tls(info.set_addr(addr), self.certificates()).map_err(|e| bad_url(url, e))
    }

    /// `builder` with these settings, for a cluster whose seeds are `rediss://`.
    pub fn cluster(&self, builder: ClusterClientBuilder) -> ClusterClientBuilder {
        builder.tls(self.mode()).certs(self.certificates())
    }
}

fn bad_url(url: &str, why: impl std::fmt::Display) -> SessionError {
    invalid(format!("invalid redis url {}: {why}", redact_url(url)))
}

fn read(option: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| invalid(format!("{option}: cannot read {}: {e}", path.display())))
}

/// The certificates of a CA bundle, each usable as a trust anchor.
fn ca_bundle(option: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{option}: not a PEM certificate bundle: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(format!("{option}: no certificate found (expected PEM \"-----BEGIN CERTIFICATE-----\")")));
    }
    for (i, cert) in certs.iter().enumerate() {
        RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| invalid(format!("{option}: certificate {} cannot be trusted as a CA: {e}", i + 1)))?;
    }
    Ok(certs)
}

/// Checks that the client certificate chain and key parse and belong together.
fn check_client_identity(provider: &Arc<CryptoProvider>, cert: &[u8], key: &[u8]) -> Result<()> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("tls_cert_file: not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(
            "tls_cert_file: no certificate found (expected PEM \"-----BEGIN CERTIFICATE-----\")".into(),
        ));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("tls_key_file: no PEM private key: {e}")))?;
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS: {e}")))?
        .with_root_certificates(RootCertStore::empty())
        .with_client_auth_cert(chain, key)
        .map_err(|e| invalid(format!("tls_cert_file / tls_key_file: unusable client certificate: {e}")))?;
    Ok(())
}

/// `cert` as a PEM block.
fn pem_certificate(cert: &CertificateDer<'_>) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut base64 = Vec::with_capacity(cert.len() * 4 / 3 + 4);
    for chunk in cert.chunks(3) {
        let n =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            base64.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' });
        }
    }
    let mut out = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    for line in base64.chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

/// The message of a TLS connection that timed out; recognised by [`failure`].
const NO_HANDSHAKE: &str = "no TLS session within the connect timeout: the server did not complete a TLS \
                            handshake (is it a plain-text port behind rediss://?) or did not answer at all";

/// A connection manager over the `rediss://` `client`, connected now (not on first use) and
/// within `connect_timeout`, so that a server that never completes the handshake (a plain-text
/// Redis waits silently for the end of a line) is named as such.
pub async fn connect(
    client: Client,
    config: ConnectionManagerConfig,
    connect_timeout: Duration,
) -> RedisResult<ConnectionManager> {
    let no_handshake = || RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, NO_HANDSHAKE));
    match tokio::time::timeout(connect_timeout, ConnectionManager::new_with_config(client, config)).await {
        Ok(Err(e)) if e.is_timeout() => Err(no_handshake()),
        Ok(result) => result,
        Err(_elapsed) => Err(no_handshake()),
    }
}

/// What failed, in words, when `err` is a failed TLS handshake or a TLS alert from the server
/// (rustls's errors, also when redis-rs passed them on as text, as a cluster does); `None` for
/// any other error.
pub fn failure(err: &RedisError) -> Option<String> {
    let text = err.to_string();
    let has = |needle: &str| text.contains(needle);
    let why = if has(NO_HANDSHAKE) {
        NO_HANDSHAKE.to_owned()
    } else if has("invalid peer certificate") {
        if has("UnknownIssuer") {
            "the server's certificate is signed by an unknown CA, trusted neither by the system nor by \
             tls_ca_file / tls_ca_pem"
                .to_owned()
        } else if has("expired") || has("Expired") {
            format!("the server's certificate has expired ({})", rustls_part(&text))
        } else if has("not valid for name") || has("NotValidForName") {
            format!("host name mismatch: {}", rustls_part(&text))
        } else if has("not valid yet") || has("NotValidYet") {
            format!("the server's certificate is not valid yet ({})", rustls_part(&text))
        } else {
            format!("the server's certificate was refused: {}", rustls_part(&text))
        }
    } else if has("received fatal alert: CertificateRequired") {
        "the server requires a client certificate (set tls_cert_file and tls_key_file)".to_owned()
    } else if has("received fatal alert") && (has("Certificate") || has("UnknownCA")) {
        format!("the server refused the client certificate ({})", rustls_part(&text))
    } else if has("received corrupt message") || has("received unexpected message") {
        format!("the server is not speaking TLS (a plain-text port behind rediss://?): {}", rustls_part(&text))
    } else if has("received fatal alert") || has("peer is incompatible") || has("peer misbehaved") {
        rustls_part(&text).to_owned()
    } else {
        return None;
    };
    Some(format!("TLS connection to redis failed: {why}"))
}

/// The part of redis-rs's message that is rustls's.
fn rustls_part(text: &str) -> &str {
    ["invalid peer certificate", "received ", "peer "]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .map_or(text, |start| &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_urls() {
        assert!(is_tls_url("rediss://h:1"));
        assert!(is_tls_url("rediss+cluster://h:1,h:2"));
        assert!(is_tls_url("rediss+sentinel://h:1/master"));
        assert!(!is_tls_url("redis://h:1"));
        assert!(!is_tls_url("redis+cluster://h:1"));
    }

    #[test]
    fn pem_round_trip() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 100] {
            let der: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let pem = pem_certificate(&CertificateDer::from(der.clone()));
            let back: Vec<_> = CertificateDer::pem_slice_iter(&pem).collect::<std::result::Result<_, _>>().unwrap();
            if len == 0 {
                continue;
            }
            assert_eq!(back.len(), 1, "{len}");
            assert_eq!(back[0].as_ref(), &der[..], "{len}");
        }
    }
}
