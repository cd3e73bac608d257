//! The HTTP client's TLS set-up, with the system's root certificates read on the first TLS
//! handshake instead of when the client is built.
//!
//! reqwest's own rustls set-up builds `rustls_platform_verifier::Verifier` in
//! `ClientBuilder::build`, which on Linux reads and parses the whole CA store (the bundle plus
//! ~150 single files: ~20 ms and ~1 MB at every start). A provider on a plain `http://` base URL
//! (Ollama, llama.cpp, vLLM, the fake server) never needs them. So the client gets a rustls
//! config built the way reqwest builds its default one (same crypto provider, TLS versions,
//! ALPN), whose verifier is the same platform verifier created on first use. Signature checks do
//! not need the roots and are answered without loading them.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// reqwest's default rustls config, with a verifier that loads the system's roots lazily.
pub fn client_config() -> Result<rustls::ClientConfig, String> {
    // The provider reqwest itself would use (its `rustls` feature: aws-lc-rs), unless the
    // process installed another one.
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LazyPlatformVerifier::new(provider)))
        .with_no_client_auth();
    // reqwest is built without HTTP/2 here: it offers HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// [`Verifier`] (the system's roots and WebPKI), created when the first certificate is checked.
#[derive(Debug)]
pub struct LazyPlatformVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<Verifier, rustls::Error>>,
}

impl LazyPlatformVerifier {
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        Self {
            provider,
            inner: OnceLock::new(),
        }
    }

    /// Whether the system's roots have been read (for tests and diagnostics).
    pub fn roots_loaded(&self) -> bool {
        self.inner.get().is_some()
    }

    fn verifier(&self) -> Result<&Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // The platform verifier answers these from the crypto provider's algorithms alone (WebPKI's
    // `verify_tls1x_signature` with `signature_verification_algorithms`): so do we, roots unread.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    #[test]
    fn roots_are_read_only_when_a_certificate_is_checked() {
        let lazy = LazyPlatformVerifier::new(provider());
        assert!(!lazy.roots_loaded());
        // Signature schemes need no roots.
        assert!(!lazy.supported_verify_schemes().is_empty());
        assert!(!lazy.roots_loaded());
        let name = ServerName::try_from("example.com").unwrap_or_else(|e| panic!("{e}"));
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let verdict = lazy.verify_server_cert(&junk, &[], &name, &[], UnixTime::now());
        assert!(lazy.roots_loaded());
        // A certificate that is not one is refused, never accepted.
        assert!(verdict.is_err(), "{verdict:?}");
    }

    #[test]
    fn the_same_schemes_as_the_platform_verifier() {
        let Ok(platform) = Verifier::new(provider()) else {
            // No CA store on this machine: the eager verifier cannot be built to compare.
            return;
        };
        let lazy = LazyPlatformVerifier::new(provider());
        assert_eq!(
            lazy.supported_verify_schemes(),
            platform.supported_verify_schemes()
        );
    }

    #[test]
    fn the_config_offers_http1_with_sni() {
        let config = client_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(config.enable_sni);
    }
}
