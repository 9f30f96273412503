//! The offline half of an activation: the download request (CertificateInfoObject) built
//! from the custodians' certificates, and the check of the security domain the HSM sends
//! back (one share per certificate, exactly those thumbprints, the quorum asked for).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use super::model::{KeySplit, SecurityDomain, MAX_QUORUM, MAX_SHARES, MIN_QUORUM, MIN_SHARES};
use super::DomainError;
use crate::keys::{Certificate, PublicKey};
use crate::primitives::base64url;

/// The JWK of a custodian certificate as the download request carries it (DESIGN.md),
/// with `kid` = `name`.
pub fn certificate_jwk(name: &str, cert: &Certificate) -> Result<Value, DomainError> {
    let PublicKey::Rsa { modulus, exponent } = cert.public_key() else {
        return Err(DomainError::Usage(format!(
            "{name}: the certificate's key is not RSA; Managed HSM wraps security domains to RSA keys only"
        )));
    };
    if let Some(reason) = cert.public_key().encryption_problem() {
        return Err(DomainError::Usage(format!("{name}: {reason}")));
    }
    Ok(json!({
        "kty": "RSA",
        "key_ops": ["verify", "encrypt", "wrapKey"],
        "alg": "RSA-OAEP-256",
        "kid": name,
        "n": base64url::encode(modulus),
        "e": base64url::encode(exponent),
        "x5c": [STANDARD.encode(cert.der())],
        "x5t": cert.x5t(),
        "x5t#S256": cert.x5t_256(),
    }))
}

/// The download body `{"certificates": [JWK...], "required": quorum}` for named certificates.
pub fn certificate_info(
    certs: &[(String, Certificate)],
    quorum: usize,
) -> Result<Value, DomainError> {
    if !(MIN_SHARES..=MAX_SHARES).contains(&certs.len()) {
        return Err(DomainError::Usage(format!(
            "{} certificates given; a security domain needs {MIN_SHARES} to {MAX_SHARES}",
            certs.len()
        )));
    }
    if !(MIN_QUORUM..=MAX_QUORUM).contains(&quorum) || quorum > certs.len() {
        return Err(DomainError::Usage(format!(
            "--sd-quorum {quorum}: the quorum must be {MIN_QUORUM} to {MAX_QUORUM} and at most the number of certificates ({})",
            certs.len()
        )));
    }
    let jwks = certs
        .iter()
        .map(|(name, cert)| certificate_jwk(name, cert))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"certificates": jwks, "required": quorum}))
}

/// What the check of a downloaded security domain found.
#[derive(Clone, Debug, Serialize)]
pub struct DownloadCheck {
    /// True when the domain matches the request exactly.
    pub passed: bool,
    /// The file's version.
    pub version: u32,
    /// Shares in the file.
    pub shares: usize,
    /// The file's quorum.
    pub required: usize,
    /// Data blobs in the file.
    pub data: usize,
    /// Every mismatch, one sentence each.
    pub problems: Vec<String>,
}

/// Checks that `domain` is what was asked for: version 2, one share per certificate of
/// `certs` (by `x5t_256`, none missing, none extra, none twice) and quorum `quorum`.
pub fn check_downloaded(
    domain: &SecurityDomain,
    certs: &[(String, Certificate)],
    quorum: usize,
) -> DownloadCheck {
    let mut problems = Vec::new();
    let thumbprints: Vec<String> = domain
        .shares()
        .iter()
        .map(|(_, s)| s.x5t_256.trim_end_matches('=').to_owned())
        .collect();
    if !matches!(domain.split, KeySplit::Shamir(_)) {
        problems.push(format!(
            "the HSM sent a version {} security domain; a new activation makes version 2",
            domain.version
        ));
    }
    if domain.required() != quorum {
        problems.push(format!(
            "the quorum is {} but {quorum} was requested",
            domain.required()
        ));
    }
    if thumbprints.len() != certs.len() {
        problems.push(format!(
            "{} shares for {} certificates",
            thumbprints.len(),
            certs.len()
        ));
    }
    for (name, cert) in certs {
        let count = thumbprints.iter().filter(|t| **t == cert.x5t_256()).count();
        if count != 1 {
            problems.push(format!(
                "{name} (x5t_256 {}) has {count} shares instead of 1",
                cert.x5t_256()
            ));
        }
    }
    for t in &thumbprints {
        if !certs.iter().any(|(_, c)| c.x5t_256() == *t) {
            problems.push(format!(
                "a share is wrapped to x5t_256 {t}, which is none of the given certificates"
            ));
        }
    }
    DownloadCheck {
        passed: problems.is_empty(),
        version: domain.version,
        shares: thumbprints.len(),
        required: domain.required(),
        data: domain.enc_data.data.len(),
        problems,
    }
}

#[cfg(test)]
#[path = "activation_tests.rs"]
mod tests;
