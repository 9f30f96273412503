//! NIST SP 800-108 key derivation in counter mode with HMAC-SHA-512, as the security
//! domain derives each datum's key from the master key:
//! block i = `HMAC-SHA-512(key, [i]32 BE || label || 0x00 || context || [L]32 BE)`, i = 1..,
//! output = the first L bits.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use zeroize::Zeroizing;

/// The derivation failed inside OpenSSL, or the length is not whole bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SP 800-108 key derivation failed: {0}")]
pub struct KdfError(pub String);

/// Derives `out_bits` bits (a multiple of 8) from `key`, `label` and `context`.
pub fn derive(
    key: &[u8],
    label: &[u8],
    context: &[u8],
    out_bits: u32,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    if out_bits == 0 || !out_bits.is_multiple_of(8) {
        return Err(KdfError(format!(
            "{out_bits} bits is not a whole number of bytes"
        )));
    }
    let err = |e: openssl::error::ErrorStack| KdfError(e.to_string());
    let mac_key = PKey::hmac(key).map_err(err)?;
    let out_len = (out_bits / 8) as usize;
    let mut out = Zeroizing::new(Vec::with_capacity(out_len + 64));
    let mut counter: u32 = 1;
    while out.len() < out_len {
        let mut signer = Signer::new(MessageDigest::sha512(), &mac_key).map_err(err)?;
        signer.update(&counter.to_be_bytes()).map_err(err)?;
        signer.update(label).map_err(err)?;
        signer.update(&[0]).map_err(err)?;
        signer.update(context).map_err(err)?;
        signer.update(&out_bits.to_be_bytes()).map_err(err)?;
        let block = Zeroizing::new(signer.sign_to_vec().map_err(err)?);
        out.extend_from_slice(&block);
        counter += 1;
    }
    out.truncate(out_len);
    Ok(out)
}

#[cfg(test)]
#[path = "sp800_108_tests.rs"]
mod tests;
