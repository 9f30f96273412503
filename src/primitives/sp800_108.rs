//! NIST SP 800-108 key derivation in counter mode with HMAC-SHA-512, as the security
//! domain derives each datum's key from the master key:
//! block i = HMAC-SHA-512(key, [i]32 BE || label || 0x00 || context || [L]32 BE), i = 1..,
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
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn design_known_answer() {
        let out = derive(&[0x41; 32], b"label", b"context", 256).unwrap();
        assert_eq!(
            hex(&out),
            "f0ca51f6308791404bf68b56024ee7c64d6c737716f81d47e1e68b5c4e399575"
        );
    }

    #[test]
    fn longer_outputs_extend_shorter_ones_only_with_the_same_length() {
        // L is part of every block's input, so a 512-bit output is not a prefix extension
        // of the 256-bit one.
        let short = derive(&[7; 32], b"tag", b"", 256).unwrap();
        let long = derive(&[7; 32], b"tag", b"", 512).unwrap();
        assert_eq!(long.len(), 64);
        assert_ne!(&long[..32], &short[..]);
        assert!(derive(&[7; 32], b"tag", b"", 12).is_err());
    }
}
