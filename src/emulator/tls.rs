//! The emulator's TLS: a self-signed CA made once per state directory (`ca.pem`, `ca.key`
//! 0600) and a server certificate it signs for 127.0.0.1, ::1 and localhost.

use std::path::Path;
use std::sync::Arc;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

use super::EmulatorError;
use crate::files::{self, MODE_PUBLIC, MODE_SECRET};

/// The CA certificate file clients trust.
pub const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key";

/// Loads the state directory's CA, or makes one; then makes a fresh server certificate.
/// Returns the rustls server configuration.
pub fn server_config(dir: &Path) -> Result<Arc<rustls::ServerConfig>, EmulatorError> {
    let err = |e: openssl::error::ErrorStack| EmulatorError::Tls(e.to_string());
    let (ca_cert, ca_key) = load_or_make_ca(dir)?;
    let key = PKey::from_rsa(Rsa::generate(2048).map_err(err)?).map_err(err)?;
    let cert = sign(&key, "sdctl emulator", Some((&ca_cert, &ca_key)), 365).map_err(err)?;
    let chain = vec![
        rustls::pki_types::CertificateDer::from(cert.to_der().map_err(err)?),
        rustls::pki_types::CertificateDer::from(ca_cert.to_der().map_err(err)?),
    ];
    let key_der =
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.private_key_to_pkcs8().map_err(err)?.into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| EmulatorError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key_der)
    .map_err(|e| EmulatorError::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

fn load_or_make_ca(dir: &Path) -> Result<(X509, PKey<Private>), EmulatorError> {
    let err = |e: openssl::error::ErrorStack| EmulatorError::Tls(e.to_string());
    let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    if cert_path.exists() && key_path.exists() {
        let cert = X509::from_pem(&files::read_bounded(&cert_path, 1 << 20, "a certificate")?)
            .map_err(err)?;
        let key = PKey::private_key_from_pem(&files::read_bounded(&key_path, 1 << 20, "a key")?)
            .map_err(err)?;
        return Ok((cert, key));
    }
    let key = PKey::from_rsa(Rsa::generate(2048).map_err(err)?).map_err(err)?;
    let cert = sign(&key, "sdctl emulator local CA", None, 3650).map_err(err)?;
    let mut batch = files::WriteBatch::new(true);
    batch.stage(
        &key_path,
        &key.private_key_to_pem_pkcs8().map_err(err)?,
        MODE_SECRET,
    )?;
    batch.stage(&cert_path, &cert.to_pem().map_err(err)?, MODE_PUBLIC)?;
    batch.commit()?;
    Ok((cert, key))
}

/// A certificate for `key` named `cn`, valid `days`: signed by `issuer` as a TLS server
/// certificate for 127.0.0.1, ::1 and localhost, or, without an issuer, a self-signed CA.
fn sign(
    key: &PKey<Private>,
    cn: &str,
    issuer: Option<(&X509, &PKey<Private>)>,
    days: u32,
) -> Result<X509, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = random_serial()?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name))?;
    b.set_pubkey(key)?;
    let (from, to) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(days)?);
    b.set_not_before(&from)?;
    b.set_not_after(&to)?;
    match issuer {
        Some((ca_cert, ca_key)) => {
            b.append_extension(BasicConstraints::new().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build()?,
            )?;
            b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .ip("::1")
                .dns("localhost")
                .build(&b.x509v3_context(Some(ca_cert), None))?;
            b.append_extension(san)?;
            b.sign(ca_key, MessageDigest::sha256())?;
        }
        None => {
            b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
            let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
            b.append_extension(ski)?;
            b.sign(key, MessageDigest::sha256())?;
        }
    }
    Ok(b.build())
}

fn random_serial() -> Result<BigNum, openssl::error::ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    serial.add_word(1)?;
    Ok(serial)
}
