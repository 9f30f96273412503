//! The few ASN.1 structures sdctl reads or writes itself (RFC 5208, RFC 8018, RFC 7292),
//! and the object identifiers it names.

use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::Sequence;
use spki::AlgorithmIdentifierOwned;

/// `EncryptedPrivateKeyInfo` (RFC 5208 §6).
#[derive(Clone, Debug, Sequence)]
pub struct EncryptedPrivateKeyInfo {
    /// The password-based encryption scheme.
    pub encryption_algorithm: AlgorithmIdentifierOwned,
    /// The encrypted `PrivateKeyInfo`.
    pub encrypted_data: OctetString,
}

/// `PBES2-params` (RFC 8018 §A.4).
#[derive(Clone, Debug, Sequence)]
pub struct Pbes2Params {
    /// The key derivation function (PBKDF2 or scrypt).
    pub key_derivation_func: AlgorithmIdentifierOwned,
    /// The cipher and its IV.
    pub encryption_scheme: AlgorithmIdentifierOwned,
}

/// `PBKDF2-params` (RFC 8018 §A.2), with the salt as the usual OCTET STRING choice.
#[derive(Clone, Debug, Sequence)]
pub struct Pbkdf2Params {
    /// The salt.
    pub salt: OctetString,
    /// The iteration count.
    pub iteration_count: u32,
    /// The derived key length, if stated.
    #[asn1(optional = "true")]
    pub key_length: Option<u32>,
    /// The PRF; absent means hmacWithSHA1.
    #[asn1(optional = "true")]
    pub prf: Option<AlgorithmIdentifierOwned>,
}

/// `scrypt-params` (RFC 7914 §7.1).
#[derive(Clone, Debug, Sequence)]
pub struct ScryptParams {
    /// The salt.
    pub salt: OctetString,
    /// N.
    pub cost_parameter: u64,
    /// r.
    pub block_size: u64,
    /// p.
    pub parallelization_parameter: u64,
    /// The derived key length, if stated.
    #[asn1(optional = "true")]
    pub key_length: Option<u32>,
}

/// `ContentInfo` (RFC 5652), enough to recognise a PKCS#12 `PFX`.
#[derive(Clone, Debug, Sequence)]
pub struct ContentInfo {
    /// The content type.
    pub content_type: ObjectIdentifier,
    /// The content.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub content: Option<Any>,
}

/// `PFX` (RFC 7292 §4), the outer structure of a PKCS#12 file.
#[derive(Clone, Debug, Sequence)]
pub struct Pfx {
    /// Always 3.
    pub version: u8,
    /// The authenticated safe.
    pub auth_safe: ContentInfo,
    /// The MAC over the contents, when password integrity is used.
    #[asn1(optional = "true")]
    pub mac_data: Option<Any>,
}

/// Object identifiers sdctl names.
pub mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    /// rsaEncryption.
    pub const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// RSASSA-PSS keys.
    pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    /// id-ecPublicKey.
    pub const EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    /// Ed25519.
    pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
    /// Ed448.
    pub const ED448: Oid = Oid::new_unwrap("1.3.101.113");
    /// X25519.
    pub const X25519: Oid = Oid::new_unwrap("1.3.101.110");
    /// DSA.
    pub const DSA: Oid = Oid::new_unwrap("1.2.840.10040.4.1");
    /// NIST P-256.
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    /// NIST P-384.
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    /// NIST P-521.
    pub const P521: Oid = Oid::new_unwrap("1.3.132.0.35");
    /// secp256k1.
    pub const SECP256K1: Oid = Oid::new_unwrap("1.3.132.0.10");
    /// PBES2.
    pub const PBES2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.13");
    /// PBKDF2.
    pub const PBKDF2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.12");
    /// scrypt.
    pub const SCRYPT: Oid = Oid::new_unwrap("1.3.6.1.4.1.11591.4.11");
    /// hmacWithSHA1.
    pub const HMAC_SHA1: Oid = Oid::new_unwrap("1.2.840.113549.2.7");
    /// hmacWithSHA224.
    pub const HMAC_SHA224: Oid = Oid::new_unwrap("1.2.840.113549.2.8");
    /// hmacWithSHA256.
    pub const HMAC_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.2.9");
    /// hmacWithSHA384.
    pub const HMAC_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.2.10");
    /// hmacWithSHA512.
    pub const HMAC_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.2.11");
    /// aes128-CBC.
    pub const AES128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
    /// aes192-CBC.
    pub const AES192_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.22");
    /// aes256-CBC.
    pub const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
    /// des-ede3-cbc.
    pub const DES_EDE3_CBC: Oid = Oid::new_unwrap("1.2.840.113549.3.7");
    /// desCBC.
    pub const DES_CBC: Oid = Oid::new_unwrap("1.3.14.3.2.7");
    /// PKCS#7 data.
    pub const PKCS7_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    /// PKCS#7 signedData.
    pub const PKCS7_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// X.509 keyUsage extension.
    pub const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
}
