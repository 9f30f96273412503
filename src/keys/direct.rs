//! Opening the common RSA key files without OpenSSL 3.0's generic decoder.
//!
//! `PEM_read_bio_PrivateKey` and `d2i_PrivateKey` in OpenSSL 3.0 build an `OSSL_DECODER`
//! chain for every key: they enumerate every provider's decoders and key managers and
//! compare their names: about 5 M instructions per key (callgrind), more than a fifth of
//! what opening an openssl-encrypted RSA-3072 key cost in all (docs/benchmarks.md).
//! For the formats custodians actually hold (PKCS#8, plain or PBES2-encrypted, and plain
//! PKCS#1) the structure is read here with the RustCrypto `der`/`pkcs8` crates, and every
//! cryptographic step still runs in OpenSSL: PBKDF2 (`PKCS5_PBKDF2_HMAC`), the cipher
//! (`EVP_CipherInit_ex`/`EVP_CipherUpdate`/`EVP_CipherFinal_ex`) and the RSA key itself
//! (`d2i_RSAPrivateKey`, which clears its numbers when freed). Anything else (other
//! schemes, other key types, damaged structures) is left to the generic path, so messages
//! and accepted inputs do not change.

use der::Decode;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::symm::{Cipher, Crypter, Mode};
use zeroize::Zeroizing;

use super::asn1::{oid, EncryptedPrivateKeyInfo, Pbes2Params, Pbkdf2Params};
use super::file::{EncodedKey, KeySyntax};

/// The largest passphrase OpenSSL's PEM and PKCS#8 readers hand to their decryption
/// (`PEM_BUFSIZE`): longer ones (and empty ones, which their callbacks treat as "none
/// given") are left to them, so that they fail as they always did.
const OPENSSL_PASSPHRASE_MAX: usize = 1024;

/// What the direct path made of a key.
pub(crate) enum Direct {
    /// The key, opened.
    Opened(PKey<Private>),
    /// The key is encrypted with a scheme read here, and `pass` does not decrypt it.
    WrongPassphrase,
    /// Not a case handled here: use OpenSSL's generic reader.
    NotHandled,
    /// The key cannot be opened by any path; what is wrong with it.
    Malformed(String),
}

/// Opens `key` (decrypting it with `pass` when it is encrypted) when it is an RSA key in
/// PKCS#8 (plain, or PBES2 with PBKDF2 and AES-CBC or 3DES-CBC) or plain PKCS#1.
pub(crate) fn open(key: &EncodedKey, pass: &[u8]) -> Direct {
    let der = key.source.der();
    match key.syntax {
        KeySyntax::EncryptedPkcs8 => open_encrypted_pkcs8(der, pass),
        KeySyntax::Pkcs8 if key.encryption.is_none() => match rsa_from_pkcs8(der) {
            Some(pkey) => Direct::Opened(pkey),
            None => Direct::NotHandled,
        },
        KeySyntax::Pkcs1 if key.encryption.is_none() => match rsa_from_pkcs1(der) {
            Some(pkey) => Direct::Opened(pkey),
            None => Direct::NotHandled,
        },
        _ => Direct::NotHandled,
    }
}

fn open_encrypted_pkcs8(der: &[u8], pass: &[u8]) -> Direct {
    if pass.is_empty() || pass.len() > OPENSSL_PASSPHRASE_MAX {
        return Direct::NotHandled;
    }
    let Ok(info) = EncryptedPrivateKeyInfo::from_der(der) else {
        return Direct::NotHandled;
    };
    let scheme = match Scheme::of(&info) {
        Ok(Some(scheme)) => scheme,
        Ok(None) => return Direct::NotHandled,
        Err(problem) => return Direct::Malformed(problem),
    };
    let plain = match scheme.decrypt(pass, info.encrypted_data.as_bytes()) {
        Ok(plain) => plain,
        // Bad padding after CBC decryption: the passphrase is wrong (or the file damaged,
        // which OpenSSL reports the same way).
        Err(Failure::Padding) => return Direct::WrongPassphrase,
        Err(Failure::Setup) => return Direct::NotHandled,
    };
    if let Some(pkey) = rsa_from_pkcs8(&plain) {
        return Direct::Opened(pkey);
    }
    // Another key type, or bytes that only look like a padded plaintext (a wrong
    // passphrase passes the padding check once in 256 tries): OpenSSL reads the
    // decrypted PrivateKeyInfo, and a failure means the passphrase was wrong.
    match PKey::private_key_from_pkcs8(&plain) {
        Ok(pkey) => Direct::Opened(pkey),
        Err(_) => Direct::WrongPassphrase,
    }
}

/// The RSA key of a PKCS#8 `PrivateKeyInfo` (rsaEncryption only).
fn rsa_from_pkcs8(der: &[u8]) -> Option<PKey<Private>> {
    let info = pkcs8::PrivateKeyInfo::from_der(der).ok()?;
    if info.algorithm.oid != oid::RSA {
        return None;
    }
    // rsaEncryption's parameters are NULL or absent; anything else is left to OpenSSL.
    if info.algorithm.parameters.is_some_and(|p| !p.is_null()) {
        return None;
    }
    rsa_from_pkcs1(info.private_key)
}

/// An RSA key from PKCS#1 `RSAPrivateKey` DER, through OpenSSL's `d2i_RSAPrivateKey`.
fn rsa_from_pkcs1(der: &[u8]) -> Option<PKey<Private>> {
    let rsa = Rsa::private_key_from_der(der).ok()?;
    PKey::from_rsa(rsa).ok()
}

/// A PBES2 scheme read from an `EncryptedPrivateKeyInfo`: PBKDF2 and a CBC cipher.
struct Scheme {
    salt: Vec<u8>,
    iterations: usize,
    prf: MessageDigest,
    cipher: Cipher,
    iv: Vec<u8>,
}

impl Scheme {
    /// The scheme, when it is one handled here: PBES2 with PBKDF2 (HMAC-SHA1, -SHA224,
    /// -SHA256, -SHA384 or -SHA512) and AES-128/192/256-CBC or DES-EDE3-CBC, with a key
    /// length (when stated) and an IV that fit the cipher. `Err` for an iteration count
    /// OpenSSL cannot run (above 2^31 - 1: its PBKDF2 counts in a C `int`), whichever the
    /// cipher: no path can open such a key.
    fn of(info: &EncryptedPrivateKeyInfo) -> Result<Option<Self>, String> {
        if let Some(scheme) = Self::read(info) {
            return Ok(Some(scheme));
        }
        match pbkdf2_params(info).map(|p| p.iteration_count) {
            Some(n) if i32::try_from(n).is_err() => Err(format!(
                "the key's PBKDF2 iteration count {n} is more than OpenSSL can run (at most 2147483647): the file is damaged or was not made by openssl"
            )),
            _ => Ok(None),
        }
    }

    fn read(info: &EncryptedPrivateKeyInfo) -> Option<Self> {
        let pbkdf2 = pbkdf2_params(info)?;
        let pbes2: Pbes2Params = info
            .encryption_algorithm
            .parameters
            .as_ref()?
            .decode_as()
            .ok()?;
        let prf = match pbkdf2.prf.as_ref() {
            None => MessageDigest::sha1(),
            Some(a) if a.parameters.as_ref().is_some_and(|p| !p.is_null()) => return None,
            Some(a) if a.oid == oid::HMAC_SHA1 => MessageDigest::sha1(),
            Some(a) if a.oid == oid::HMAC_SHA224 => MessageDigest::sha224(),
            Some(a) if a.oid == oid::HMAC_SHA256 => MessageDigest::sha256(),
            Some(a) if a.oid == oid::HMAC_SHA384 => MessageDigest::sha384(),
            Some(a) if a.oid == oid::HMAC_SHA512 => MessageDigest::sha512(),
            Some(_) => return None,
        };
        let scheme = &pbes2.encryption_scheme;
        let cipher = match scheme.oid {
            o if o == oid::AES128_CBC => Cipher::aes_128_cbc(),
            o if o == oid::AES192_CBC => Cipher::aes_192_cbc(),
            o if o == oid::AES256_CBC => Cipher::aes_256_cbc(),
            o if o == oid::DES_EDE3_CBC => Cipher::des_ede3_cbc(),
            _ => return None,
        };
        let iv: der::asn1::OctetString = scheme.parameters.as_ref()?.decode_as().ok()?;
        let iv_fits = cipher.iv_len() == Some(iv.as_bytes().len());
        let key_fits = pbkdf2
            .key_length
            .is_none_or(|n| usize::try_from(n).is_ok_and(|n| n == cipher.key_len()));
        // OpenSSL's PBKDF2 takes a C int (openssl::pkcs5 would panic on a larger count).
        let iterations = usize::try_from(i32::try_from(pbkdf2.iteration_count).ok()?).ok()?;
        if !iv_fits || !key_fits || iterations == 0 {
            return None;
        }
        Some(Scheme {
            salt: pbkdf2.salt.as_bytes().to_vec(),
            iterations,
            prf,
            cipher,
            iv: iv.as_bytes().to_vec(),
        })
    }

    /// The plaintext; [`Failure::Padding`] when the padding is wrong.
    fn decrypt(&self, pass: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let setup = |_| Failure::Setup;
        let mut key = Zeroizing::new(vec![0u8; self.cipher.key_len()]);
        openssl::pkcs5::pbkdf2_hmac(pass, &self.salt, self.iterations, self.prf, &mut key)
            .map_err(setup)?;
        let mut crypter =
            Crypter::new(self.cipher, Mode::Decrypt, &key, Some(&self.iv)).map_err(setup)?;
        let mut plain = Zeroizing::new(vec![0u8; ciphertext.len() + self.cipher.block_size()]);
        let mut n = crypter.update(ciphertext, &mut plain).map_err(setup)?;
        n += crypter
            .finalize(&mut plain[n..])
            .map_err(|_| Failure::Padding)?;
        plain.truncate(n);
        Ok(plain)
    }
}

/// The PBKDF2 parameters of a PBES2 `EncryptedPrivateKeyInfo`, whatever its cipher.
fn pbkdf2_params(info: &EncryptedPrivateKeyInfo) -> Option<Pbkdf2Params> {
    let alg = &info.encryption_algorithm;
    if alg.oid != oid::PBES2 {
        return None;
    }
    let pbes2: Pbes2Params = alg.parameters.as_ref()?.decode_as().ok()?;
    let kdf = &pbes2.key_derivation_func;
    if kdf.oid != oid::PBKDF2 {
        return None;
    }
    kdf.parameters.as_ref()?.decode_as().ok()
}

/// Why a decryption gave no plaintext.
enum Failure {
    /// OpenSSL refused the derivation or the cipher's set-up: let the generic path try.
    Setup,
    /// The last block's padding is wrong.
    Padding,
}
