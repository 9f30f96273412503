//! Compact JWE: parse any text, decrypt it (dir and RSA), and round-trip our own tokens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdctl::primitives::jwe::{encrypt_dir, CompactJwe};
use sdctl_fuzz::rsa_key;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(jwe) = CompactJwe::parse(text) {
            let _ = jwe.algorithm().name();
            let _ = jwe.kid();
            let _ = jwe.ciphertext_len();
            let _ = jwe.decrypt_dir(&[0x41; 64]);
            let _ = jwe.decrypt_dir(&data[..data.len().min(63)]);
            let _ = jwe.decrypt_rsa(rsa_key());
        }
    }
    let key = [7u8; 64];
    let token = encrypt_dir(data, &key, Some("fuzz")).expect("encrypting any plaintext");
    let opened = CompactJwe::parse(&token)
        .expect("parsing our own token")
        .decrypt_dir(&key)
        .expect("decrypting our own token");
    assert_eq!(&opened[..], data);
});
