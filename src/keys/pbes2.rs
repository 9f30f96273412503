//! Password-based encryption of PKCS#8 private keys (PBES2, RFC 8018), and a readable
//! description of the scheme of an existing encrypted key.
//!
//! New keys use PBKDF2-HMAC-SHA256 with [`PBKDF2_ITERATIONS`] iterations and AES-256-CBC:
//! strong, and readable by every tool custodians might use (OpenSSL, Python cryptography,
//! .NET, Java). The key derivation and the cipher run in OpenSSL; the ASN.1 is ours.

use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use openssl::hash::MessageDigest;
use openssl::symm::Cipher;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::asn1::{oid, EncryptedPrivateKeyInfo, Pbes2Params, Pbkdf2Params, ScryptParams};
use crate::passphrase::Passphrase;

/// PBKDF2 iterations for new keys (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Encrypts an unencrypted PKCS#8 `PrivateKeyInfo` (DER) under `passphrase` and returns
/// the `ENCRYPTED PRIVATE KEY` PEM text.
pub fn encrypt_pkcs8(
    pkcs8_der: &[u8],
    passphrase: &Passphrase,
) -> Result<Zeroizing<String>, String> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).map_err(|e| e.to_string())?;
    openssl::rand::rand_bytes(&mut iv).map_err(|e| e.to_string())?;
    let mut key = Zeroizing::new([0u8; 32]);
    openssl::pkcs5::pbkdf2_hmac(
        passphrase.expose().as_bytes(),
        &salt,
        PBKDF2_ITERATIONS as usize,
        MessageDigest::sha256(),
        &mut key[..],
    )
    .map_err(|e| e.to_string())?;
    let ciphertext = openssl::symm::encrypt(Cipher::aes_256_cbc(), &key[..], Some(&iv), pkcs8_der)
        .map_err(|e| e.to_string())?;

    let err = |e: der::Error| e.to_string();
    let kdf = Pbkdf2Params {
        salt: OctetString::new(salt.to_vec()).map_err(err)?,
        iteration_count: PBKDF2_ITERATIONS,
        key_length: None,
        prf: Some(algorithm(oid::HMAC_SHA256, Some(Any::null()))),
    };
    let params = Pbes2Params {
        key_derivation_func: algorithm(oid::PBKDF2, Some(any_of(&kdf)?)),
        encryption_scheme: algorithm(
            oid::AES256_CBC,
            Some(any_of(&OctetString::new(iv.to_vec()).map_err(err)?)?),
        ),
    };
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: algorithm(oid::PBES2, Some(any_of(&params)?)),
        encrypted_data: OctetString::new(ciphertext).map_err(err)?,
    };
    let der = info.to_der().map_err(err)?;
    Ok(super::pem::encode("ENCRYPTED PRIVATE KEY", &der))
}

/// Describes the encryption of an `EncryptedPrivateKeyInfo` (DER), e.g.
/// "PBES2 (PBKDF2-HMAC-SHA256, 600000 iterations; AES-256-CBC)".
pub fn describe(info: &EncryptedPrivateKeyInfo) -> String {
    let alg = &info.encryption_algorithm;
    if alg.oid != oid::PBES2 {
        return format!("{} (PBES1 or PKCS#12 PBE, legacy)", alg.oid);
    }
    let Some(params) = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Pbes2Params>().ok())
    else {
        return "PBES2 (unreadable parameters)".into();
    };
    let kdf = describe_kdf(&params.key_derivation_func);
    let cipher = match params.encryption_scheme.oid {
        o if o == oid::AES256_CBC => "AES-256-CBC".to_owned(),
        o if o == oid::AES192_CBC => "AES-192-CBC".to_owned(),
        o if o == oid::AES128_CBC => "AES-128-CBC".to_owned(),
        o if o == oid::DES_EDE3_CBC => "DES-EDE3-CBC (3DES, legacy)".to_owned(),
        o if o == oid::DES_CBC => "DES-CBC (broken)".to_owned(),
        o => o.to_string(),
    };
    format!("PBES2 ({kdf}; {cipher})")
}

/// PBKDF2 iteration counts from which opening a key takes long enough (tens of
/// milliseconds) that keys are worth opening on several threads; below it, OpenSSL 3.0's
/// lock contention between threads costs more than the derivation (docs/benchmarks.md).
pub const COSTLY_PBKDF2_ITERATIONS: u64 = 100_000;

/// Whether deriving the key of `info` is costly: PBKDF2 with at least
/// [`COSTLY_PBKDF2_ITERATIONS`] iterations, scrypt, or parameters that cannot be read
/// (assumed costly). PBES1 and PKCS#12-style schemes use small counts: not costly.
pub fn costly_kdf(info: &EncryptedPrivateKeyInfo) -> bool {
    let alg = &info.encryption_algorithm;
    if alg.oid != oid::PBES2 {
        return false;
    }
    let Some(params) = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Pbes2Params>().ok())
    else {
        return true;
    };
    let kdf = &params.key_derivation_func;
    if kdf.oid == oid::PBKDF2 {
        kdf.parameters
            .as_ref()
            .and_then(|p| p.decode_as::<Pbkdf2Params>().ok())
            .is_none_or(|p| u64::from(p.iteration_count) >= COSTLY_PBKDF2_ITERATIONS)
    } else {
        true
    }
}

fn describe_kdf(kdf: &AlgorithmIdentifierOwned) -> String {
    let params = kdf.parameters.as_ref();
    if kdf.oid == oid::PBKDF2 {
        match params.and_then(|p| p.decode_as::<Pbkdf2Params>().ok()) {
            Some(p) => {
                let prf = match p.prf.map(|a| a.oid) {
                    None => "SHA1",
                    Some(o) if o == oid::HMAC_SHA1 => "SHA1",
                    Some(o) if o == oid::HMAC_SHA224 => "SHA224",
                    Some(o) if o == oid::HMAC_SHA256 => "SHA256",
                    Some(o) if o == oid::HMAC_SHA384 => "SHA384",
                    Some(o) if o == oid::HMAC_SHA512 => "SHA512",
                    Some(_) => "unknown PRF",
                };
                format!("PBKDF2-HMAC-{prf}, {} iterations", p.iteration_count)
            }
            None => "PBKDF2".into(),
        }
    } else if kdf.oid == oid::SCRYPT {
        match params.and_then(|p| p.decode_as::<ScryptParams>().ok()) {
            Some(p) => format!(
                "scrypt N={} r={} p={}",
                p.cost_parameter, p.block_size, p.parallelization_parameter
            ),
            None => "scrypt".into(),
        }
    } else {
        kdf.oid.to_string()
    }
}

fn algorithm(oid: ObjectIdentifier, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters }
}

fn any_of<T: Encode>(value: &T) -> Result<Any, String> {
    let der = value.to_der().map_err(|e| e.to_string())?;
    Any::from_der(&der).map_err(|e| e.to_string())
}
