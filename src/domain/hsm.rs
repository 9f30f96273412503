//! The HSM's side of the security domain, for the emulator and as the other end in tests:
//! make a security domain for a set of wrapping certificates, and open a restore blob with
//! the exchange private key.

use std::path::Path;

use openssl::pkey::{PKeyRef, Private};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::data::{self, OpenDatum};
use super::model::{EncData, EncShare, KeySplit, SecurityDomain, SharedKeys, KDF_SP108, SHAMIR};
use super::model::{MAX_QUORUM, MAX_SHARES, MIN_QUORUM, MIN_SHARES};
use super::restore_blob::RestoreBlob;
use super::DomainError;
use crate::keys::Certificate;
use crate::primitives::gf257;
use crate::primitives::jwe::{self, CompactJwe};

/// Length of the master keys sdctl makes.
pub const MASTER_KEY_LEN: usize = 32;

/// A fresh random master key.
pub fn new_master_key() -> Result<Zeroizing<Vec<u8>>, DomainError> {
    let mut key = Zeroizing::new(vec![0u8; MASTER_KEY_LEN]);
    openssl::rand::rand_bytes(&mut key).map_err(|e| DomainError::Crypto(e.to_string()))?;
    Ok(key)
}

/// Splits `master_key` among `certs` with quorum `required` and encrypts each share to its
/// certificate (`RSA-OAEP-256`): the `SharedKeys` of a version 2 domain. Before encrypting,
/// every quorum-sized window of a rotation over the new shares is combined and must give
/// back `master_key`.
pub fn share_master_key_checked(
    master_key: &[u8],
    certs: &[Certificate],
    required: usize,
) -> Result<SharedKeys, DomainError> {
    let n = certs.len();
    if !(MIN_SHARES..=MAX_SHARES).contains(&n) {
        return Err(DomainError::Usage(format!(
            "{n} wrapping certificates given; a security domain needs {MIN_SHARES} to {MAX_SHARES}"
        )));
    }
    if !(MIN_QUORUM..=MAX_QUORUM).contains(&required) || required > n {
        return Err(DomainError::Usage(format!(
            "quorum {required} with {n} certificates: the quorum must be {MIN_QUORUM} to {MAX_QUORUM} and at most the number of certificates"
        )));
    }
    for (i, a) in certs.iter().enumerate() {
        if certs[..i].iter().any(|b| b.public_key() == a.public_key()) {
            return Err(DomainError::Usage(format!(
                "certificate {} ({}) carries the same key as an earlier one: every custodian needs their own key pair",
                i + 1,
                a.subject()
            )));
        }
    }
    let crypto = |e: gf257::ShareError| DomainError::Crypto(e.to_string());
    let shares = gf257::split(master_key, required, n).map_err(crypto)?;
    for start in 0..n {
        let window: Vec<&gf257::Share> = (0..required).map(|j| &shares[(start + j) % n]).collect();
        if gf257::combine(&window).map_err(crypto)?.as_slice() != master_key {
            return Err(DomainError::Crypto(
                "new shares do not rebuild the master key".into(),
            ));
        }
    }
    let mut enc_shares = Vec::with_capacity(n);
    for (share, cert) in shares.iter().zip(certs) {
        let public = cert
            .public_key()
            .to_openssl()
            .map_err(|e| DomainError::Usage(format!("certificate {}: {e}", cert.subject())))?;
        let mut header = Map::new();
        header.insert("x5t#S256".into(), Value::from(cert.x5t_256()));
        let enc_key = jwe::encrypt_rsa_oaep256(&share.encode(), &public, &header)
            .map_err(|e| DomainError::Crypto(e.to_string()))?;
        enc_shares.push(EncShare {
            enc_key,
            x5t_256: cert.x5t_256(),
            other: Map::new(),
        });
    }
    Ok(SharedKeys {
        enc_shares,
        key_algorithm: SHAMIR.into(),
        required,
        other: Map::new(),
    })
}

/// Makes a version 2 security domain holding `state` (tag, plaintext) for `certs` with
/// quorum `required`, under a fresh master key.
pub fn make_security_domain(
    certs: &[Certificate],
    required: usize,
    state: &[(String, Vec<u8>)],
) -> Result<SecurityDomain, DomainError> {
    if state.is_empty() {
        return Err(DomainError::Usage(
            "a security domain needs at least one state blob".into(),
        ));
    }
    let master_key = new_master_key()?;
    let shared = share_master_key_checked(&master_key, certs, required)?;
    let data = state
        .iter()
        .map(|(tag, plaintext)| data::seal(&master_key, tag, plaintext))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SecurityDomain {
        version: 2,
        enc_data: EncData {
            data,
            kdf: KDF_SP108.into(),
            other: Map::new(),
        },
        split: KeySplit::Shamir(shared),
        other: Map::new(),
    })
}

/// Opens a restore blob with the exchange private key, as the new HSM does on upload:
/// unwrap the master key, then decrypt and authenticate every datum.
pub fn open_restore_blob(
    path: &Path,
    blob_json: &[u8],
    exchange_key: &PKeyRef<Private>,
) -> Result<Vec<OpenDatum>, DomainError> {
    let blob = RestoreBlob::from_json(blob_json).map_err(|detail| DomainError::Invalid {
        path: path.to_owned(),
        detail,
    })?;
    let wrapped =
        CompactJwe::parse(&blob.wrapped_key.enc_key).map_err(|e| DomainError::Invalid {
            path: path.to_owned(),
            detail: format!("WrappedKey.enc_key: {e}"),
        })?;
    let master_key = wrapped
        .decrypt_rsa(exchange_key)
        .map_err(|e| DomainError::Integrity {
            path: path.to_owned(),
            detail: format!("WrappedKey.enc_key does not open with the exchange key: {e}"),
        })?;
    data::open_all(path, &blob.enc_data, &master_key)
}
