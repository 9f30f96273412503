//! Removing RSA encryption padding on the host, for tokens that offer only raw RSA
//! (`CKM_RSA_X_509`) or OAEP with SHA-1 only (SoftHSM2): OpenSSL's own constant-time
//! checks (`RSA_padding_check_PKCS1_OAEP_mgf1`, `RSA_padding_check_PKCS1_type_2`), the
//! functions its RSA decryption calls after the private-key operation. Never hand-written.

use std::os::raw::{c_int, c_uchar};

use zeroize::Zeroizing;

/// Which padding to remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPadding {
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label.
    OaepSha256,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1, empty label.
    OaepSha1,
    /// RSAES-PKCS1-v1_5.
    Pkcs1,
}

extern "C" {
    // libcrypto (OpenSSL 1.1 and 3.x; deprecated in 3.0 but exported, and what OpenSSL's
    // own RSA decryption uses). openssl-sys links libcrypto; it does not declare this one.
    fn RSA_padding_check_PKCS1_OAEP_mgf1(
        to: *mut c_uchar,
        tlen: c_int,
        from: *const c_uchar,
        flen: c_int,
        num: c_int,
        param: *const c_uchar,
        plen: c_int,
        md: *const openssl_sys::EVP_MD,
        mgf1md: *const openssl_sys::EVP_MD,
    ) -> c_int;
}

/// Removes `padding` from `block`, the raw RSA decryption of a ciphertext under a key with
/// a `modulus_len`-byte modulus (leading zero bytes may be missing). `None` when the
/// padding is wrong: the caller treats that like any failed decryption.
pub fn remove_padding(
    block: &[u8],
    modulus_len: usize,
    padding: HostPadding,
) -> Option<Zeroizing<Vec<u8>>> {
    if block.len() > modulus_len || modulus_len > c_int::MAX as usize {
        return None;
    }
    // OpenSSL wants the block zero-padded to the modulus length (its memory access pattern
    // is then independent of the value).
    let mut padded = Zeroizing::new(vec![0u8; modulus_len]);
    padded[modulus_len - block.len()..].copy_from_slice(block);
    let mut out = Zeroizing::new(vec![0u8; modulus_len]);
    let num = modulus_len as c_int;
    // SAFETY: `out` and `padded` are live buffers of `modulus_len` bytes, the lengths passed
    // say so; the digests are OpenSSL's static EVP_MD objects; the label is empty (null, 0).
    let len = unsafe {
        match padding {
            HostPadding::OaepSha256 | HostPadding::OaepSha1 => {
                let md = if padding == HostPadding::OaepSha256 {
                    openssl_sys::EVP_sha256()
                } else {
                    openssl_sys::EVP_sha1()
                };
                RSA_padding_check_PKCS1_OAEP_mgf1(
                    out.as_mut_ptr(),
                    num,
                    padded.as_ptr(),
                    num,
                    num,
                    std::ptr::null(),
                    0,
                    md,
                    md,
                )
            }
            HostPadding::Pkcs1 => openssl_sys::RSA_padding_check_PKCS1_type_2(
                out.as_mut_ptr(),
                num,
                padded.as_ptr(),
                num,
                num,
            ),
        }
    };
    if len < 0 {
        // Drop OpenSSL's error queue entry: the reason must not be told apart.
        let _ = openssl::error::ErrorStack::get();
        return None;
    }
    out.truncate(len as usize);
    Some(out)
}

#[cfg(test)]
#[path = "host_padding_tests.rs"]
mod tests;
