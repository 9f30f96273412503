//! Public keys as sdctl sees them: the algorithm, and for RSA the modulus and exponent,
//! parsed in memory-safe Rust from SubjectPublicKeyInfo or PKCS#1.

use der::asn1::ObjectIdentifier;
use der::Decode;
use serde::Serialize;
use spki::SubjectPublicKeyInfoRef;

use super::asn1::oid;

/// Smallest RSA modulus Managed HSM accepts for a wrapping key.
pub const MIN_RSA_BITS: u32 = 2048;

/// Largest RSA modulus sdctl encrypts to (OpenSSL's own limit for RSA public-key
/// operations, `OPENSSL_RSA_MAX_MODULUS_BITS`).
pub const MAX_RSA_BITS: u32 = 16384;

/// Smallest RSA public exponent sdctl encrypts to: 2^16 + 1 (FIPS 186-5 wants e > 2^16).
pub const MIN_RSA_EXPONENT: u64 = 65537;

/// RSA public exponents must fit in this many bits (below 2^32); docs/decisions.md says why.
pub const MAX_RSA_EXPONENT_BITS: u32 = 32;

/// Why an RSA public key must not be encrypted to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakRsaKey {
    /// The modulus is shorter than [`MIN_RSA_BITS`].
    #[error("RSA key of {bits} bits is too small: sdctl encrypts only to RSA keys of at least {MIN_RSA_BITS} bits")]
    ModulusTooSmall {
        /// The modulus size.
        bits: u32,
    },
    /// The modulus is longer than [`MAX_RSA_BITS`].
    #[error("RSA key of {bits} bits is too large: sdctl encrypts only to RSA keys of at most {MAX_RSA_BITS} bits")]
    ModulusTooLarge {
        /// The modulus size.
        bits: u32,
    },
    /// The modulus is even, so it is not the product of two large primes.
    #[error("RSA modulus is even: it is not the product of two large primes, so this is not a real RSA key")]
    ModulusEven,
    /// The public exponent is longer than [`MAX_RSA_EXPONENT_BITS`].
    #[error("RSA public exponent of {bits} bits is too large: it must be below 2^{MAX_RSA_EXPONENT_BITS} (65537 is usual)")]
    ExponentTooLarge {
        /// The exponent's size.
        bits: u32,
    },
    /// The public exponent is even (never a valid RSA exponent; 2^16 = 65536 is one).
    #[error(
        "RSA public exponent {exponent} is even: it is not a valid RSA exponent (65537 is usual)"
    )]
    ExponentEven {
        /// The exponent.
        exponent: u64,
    },
    /// The public exponent is below [`MIN_RSA_EXPONENT`] (1 leaves the plaintext readable).
    #[error("RSA public exponent {exponent} is too small: sdctl encrypts only to exponents of at least {MIN_RSA_EXPONENT}")]
    ExponentTooSmall {
        /// The exponent.
        exponent: u64,
    },
}

/// Checks an RSA public key given as big-endian modulus and exponent (leading zeros
/// allowed) before anything is encrypted to it: modulus of [`MIN_RSA_BITS`] to
/// [`MAX_RSA_BITS`] bits and odd; exponent odd, at least [`MIN_RSA_EXPONENT`] and below
/// 2^[`MAX_RSA_EXPONENT_BITS`]. The one place sdctl decides this; every loader of a key
/// it encrypts to calls it.
pub fn check_rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Result<(), WeakRsaKey> {
    let bits = bit_length(modulus);
    if bits < MIN_RSA_BITS {
        return Err(WeakRsaKey::ModulusTooSmall { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(WeakRsaKey::ModulusTooLarge { bits });
    }
    if modulus.last().is_none_or(|b| b & 1 == 0) {
        return Err(WeakRsaKey::ModulusEven);
    }
    let e_bits = bit_length(exponent);
    if e_bits > MAX_RSA_EXPONENT_BITS {
        return Err(WeakRsaKey::ExponentTooLarge { bits: e_bits });
    }
    let e = strip_zeros(exponent)
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if e & 1 == 0 {
        return Err(WeakRsaKey::ExponentEven { exponent: e });
    }
    if e < MIN_RSA_EXPONENT {
        return Err(WeakRsaKey::ExponentTooSmall { exponent: e });
    }
    Ok(())
}

/// A public key: RSA with its numbers, or another algorithm by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An RSA key.
    Rsa {
        /// Big-endian modulus without leading zeros.
        modulus: Vec<u8>,
        /// Big-endian public exponent without leading zeros.
        exponent: Vec<u8>,
    },
    /// Any other algorithm; `name` is readable ("EC P-256", "Ed25519"), `spki` the DER.
    Other {
        /// A readable name of the algorithm.
        name: String,
        /// The SubjectPublicKeyInfo DER, for comparison.
        spki: Vec<u8>,
    },
}

/// The algorithm and size of a key, for reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// "RSA", "EC P-256", "Ed25519", ...
    pub algorithm: String,
    /// Modulus size for RSA keys.
    pub bits: Option<u32>,
}

impl KeyInfo {
    /// Why this key cannot be a wrapping key, or `None` when it can.
    pub fn unusable_reason(&self) -> Option<String> {
        match self.bits {
            Some(bits) if self.algorithm == "RSA" => (bits < MIN_RSA_BITS).then(|| {
                format!("RSA key of {bits} bits is too small: Managed HSM needs at least {MIN_RSA_BITS}")
            }),
            _ => Some(format!(
                "{} key: Managed HSM wrapping keys must be RSA",
                self.algorithm
            )),
        }
    }
}

impl std::fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bits {
            Some(bits) => write!(f, "{} {bits} bits", self.algorithm),
            None => f.write_str(&self.algorithm),
        }
    }
}

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent (leading zeros are dropped).
    pub fn rsa(modulus: &[u8], exponent: &[u8]) -> Self {
        PublicKey::Rsa {
            modulus: strip_zeros(modulus).to_vec(),
            exponent: strip_zeros(exponent).to_vec(),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| e.to_string())?;
        let alg = spki.algorithm.oid;
        if alg == oid::RSA || alg == oid::RSA_PSS {
            let bits = spki
                .subject_public_key
                .as_bytes()
                .ok_or("RSA public key bit string has unused bits")?;
            return Self::from_pkcs1_der(bits);
        }
        let curve = spki
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        Ok(PublicKey::Other {
            name: algorithm_name(alg, curve),
            spki: der.to_vec(),
        })
    }

    /// Parses a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, String> {
        let key = pkcs1::RsaPublicKey::from_der(der).map_err(|e| e.to_string())?;
        Ok(Self::rsa(
            key.modulus.as_bytes(),
            key.public_exponent.as_bytes(),
        ))
    }

    /// The key for OpenSSL's public-key operations (RSA only).
    pub fn to_openssl(&self) -> Result<openssl::pkey::PKey<openssl::pkey::Public>, String> {
        let PublicKey::Rsa { modulus, exponent } = self else {
            return Err(format!("{} key; RSA is required", self.info().algorithm));
        };
        let err = |e: openssl::error::ErrorStack| e.to_string();
        let rsa = openssl::rsa::Rsa::from_public_components(
            openssl::bn::BigNum::from_slice(modulus).map_err(err)?,
            openssl::bn::BigNum::from_slice(exponent).map_err(err)?,
        )
        .map_err(err)?;
        openssl::pkey::PKey::from_rsa(rsa).map_err(err)
    }

    /// Why sdctl must not encrypt to this key, or `None` when it may: not RSA (Managed HSM
    /// wraps to RSA only), or an RSA key [`check_rsa_public_key`] refuses.
    pub fn encryption_problem(&self) -> Option<String> {
        match self {
            PublicKey::Rsa { modulus, exponent } => check_rsa_public_key(modulus, exponent)
                .err()
                .map(|weak| weak.to_string()),
            PublicKey::Other { .. } => self.info().unusable_reason(),
        }
    }

    /// [`check_rsa_public_key`] for an RSA key; other algorithms pass (callers that need
    /// RSA say so themselves).
    pub fn check_if_rsa(&self) -> Result<(), WeakRsaKey> {
        match self {
            PublicKey::Rsa { modulus, exponent } => check_rsa_public_key(modulus, exponent),
            PublicKey::Other { .. } => Ok(()),
        }
    }

    /// Algorithm and size.
    pub fn info(&self) -> KeyInfo {
        match self {
            PublicKey::Rsa { modulus, .. } => KeyInfo {
                algorithm: "RSA".into(),
                bits: Some(bit_length(modulus)),
            },
            PublicKey::Other { name, .. } => KeyInfo {
                algorithm: name.clone(),
                bits: None,
            },
        }
    }
}

/// A readable name for a key algorithm OID and, for EC, its curve.
pub fn algorithm_name(alg: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> String {
    match alg {
        a if a == oid::RSA || a == oid::RSA_PSS => "RSA".into(),
        a if a == oid::EC => match curve {
            Some(c) if c == oid::P256 => "EC P-256".into(),
            Some(c) if c == oid::P384 => "EC P-384".into(),
            Some(c) if c == oid::P521 => "EC P-521".into(),
            Some(c) if c == oid::SECP256K1 => "EC secp256k1".into(),
            Some(c) => format!("EC {c}"),
            None => "EC".into(),
        },
        a if a == oid::ED25519 => "Ed25519".into(),
        a if a == oid::ED448 => "Ed448".into(),
        a if a == oid::X25519 => "X25519".into(),
        a if a == oid::DSA => "DSA".into(),
        a => format!("algorithm {a}"),
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bit_length(big_endian: &[u8]) -> u32 {
    let bytes = strip_zeros(big_endian);
    match bytes.first() {
        Some(first) => (bytes.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
        None => 0,
    }
}

#[cfg(test)]
#[path = "public_tests.rs"]
mod tests;
