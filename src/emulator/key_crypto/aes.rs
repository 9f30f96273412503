//! AES (`oct` keys): `A128GCM/A192GCM/A256GCM` encrypt and decrypt (the HSM makes a 12-byte
//! IV and answers it with the 16-byte tag); `A128CBC/...` (no padding: the plaintext is
//! zero-padded to whole blocks, as the service does) and `A128CBCPAD/...` (PKCS#7) encrypt
//! and decrypt with a 16-byte IV (the caller's, or a random one); `A128KW/A192KW/A256KW`
//! and `CKM_AES_KEY_WRAP` (RFC 3394), `CKM_AES_KEY_WRAP_PAD` (RFC 5649) wrapKey and
//! unwrapKey.

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};

use super::{openssl_failed, unsupported, Inputs, Operation, Output};
use crate::emulator::http::ApiError;

/// AES block size, also the CBC IV's length.
const BLOCK: usize = 16;
/// The GCM IV's length.
const GCM_IV: usize = 12;
/// The GCM tag's length.
const GCM_TAG: usize = 16;

/// The AES mode of an algorithm.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Gcm,
    Cbc,
    CbcPad,
    KeyWrap,
    KeyWrapPad,
}

/// The mode of `alg` and the key length it needs in bytes (`None`: any AES key).
fn algorithm(alg: &str) -> Option<(Mode, Option<usize>)> {
    if let Some(mode) = match alg {
        "CKM_AES_KEY_WRAP" => Some(Mode::KeyWrap),
        "CKM_AES_KEY_WRAP_PAD" => Some(Mode::KeyWrapPad),
        _ => None,
    } {
        return Some((mode, None));
    }
    let bits = match alg.get(1..4) {
        Some("128") => 16,
        Some("192") => 24,
        Some("256") => 32,
        _ => return None,
    };
    let mode = match (alg.get(..1), alg.get(4..)) {
        (Some("A"), Some("GCM")) => Mode::Gcm,
        (Some("A"), Some("CBC")) => Mode::Cbc,
        (Some("A"), Some("CBCPAD")) => Mode::CbcPad,
        (Some("A"), Some("KW")) => Mode::KeyWrap,
        _ => return None,
    };
    Some((mode, Some(bits)))
}

/// The OpenSSL cipher for `mode` with a key of `len` bytes (16, 24 or 32).
fn cipher(mode: Mode, len: usize) -> &'static CipherRef {
    match (mode, len) {
        (Mode::Gcm, 16) => Cipher::aes_128_gcm(),
        (Mode::Gcm, 24) => Cipher::aes_192_gcm(),
        (Mode::Gcm, _) => Cipher::aes_256_gcm(),
        (Mode::Cbc | Mode::CbcPad, 16) => Cipher::aes_128_cbc(),
        (Mode::Cbc | Mode::CbcPad, 24) => Cipher::aes_192_cbc(),
        (Mode::Cbc | Mode::CbcPad, _) => Cipher::aes_256_cbc(),
        (Mode::KeyWrap, 16) => Cipher::aes_128_wrap(),
        (Mode::KeyWrap, 24) => Cipher::aes_192_wrap(),
        (Mode::KeyWrap, _) => Cipher::aes_256_wrap(),
        (Mode::KeyWrapPad, 16) => Cipher::aes_128_wrap_pad(),
        (Mode::KeyWrapPad, 24) => Cipher::aes_192_wrap_pad(),
        (Mode::KeyWrapPad, _) => Cipher::aes_256_wrap_pad(),
    }
}

/// Runs `op` with the AES key `key`.
pub(super) fn run(key: &[u8], op: Operation, inputs: &Inputs) -> Result<Output, ApiError> {
    if ![16, 24, 32].contains(&key.len()) {
        return Err(ApiError::internal(format!(
            "the AES key is {} bytes long",
            key.len()
        )));
    }
    let alg = inputs.alg.as_str();
    let (mode, needs) = algorithm(alg).ok_or_else(|| unsupported(alg, op, "an AES"))?;
    let wraps = matches!(mode, Mode::KeyWrap | Mode::KeyWrapPad);
    let fits = match op {
        Operation::Encrypt | Operation::Decrypt => !wraps,
        Operation::WrapKey | Operation::UnwrapKey => wraps,
        Operation::Sign | Operation::Verify => false,
    };
    if !fits {
        return Err(unsupported(alg, op, "an AES"));
    }
    if let Some(needs) = needs.filter(|&n| n != key.len()) {
        return Err(ApiError::bad_parameter(format!(
            "{alg} needs a {}-bit key; this key has {} bits",
            needs * 8,
            key.len() * 8
        )));
    }
    let cipher = cipher(mode, key.len());
    match (mode, op) {
        (Mode::Gcm, Operation::Encrypt) => gcm_encrypt(cipher, key, inputs),
        (Mode::Gcm, _) => gcm_decrypt(cipher, key, inputs).map(Output::bytes),
        (_, Operation::Encrypt) => cbc_encrypt(cipher, mode, key, inputs),
        (_, Operation::Decrypt) => cbc_decrypt(cipher, mode, key, inputs).map(Output::bytes),
        (_, Operation::WrapKey) => wrap(cipher, mode, key, &inputs.value).map(Output::bytes),
        _ => unwrap(cipher, mode, key, &inputs.value).map(Output::bytes),
    }
}

/// `len` random bytes from OpenSSL.
fn random(len: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = vec![0u8; len];
    openssl::rand::rand_bytes(&mut bytes).map_err(openssl_failed)?;
    Ok(bytes)
}

/// `field` checked to be `len` bytes long.
fn exact<'a>(field: &str, bytes: Option<&'a Vec<u8>>, len: usize) -> Result<&'a [u8], ApiError> {
    match bytes {
        Some(b) if b.len() == len => Ok(b),
        Some(b) => Err(ApiError::bad_parameter(format!(
            "'{field}' is {} bytes; it must be {len}",
            b.len()
        ))),
        None => Err(ApiError::bad_parameter(format!(
            "'{field}' is required ({len} bytes)"
        ))),
    }
}

fn gcm_encrypt(cipher: &CipherRef, key: &[u8], inputs: &Inputs) -> Result<Output, ApiError> {
    if inputs.iv.is_some() {
        return Err(ApiError::bad_parameter(
            "'iv' must not be sent for AES-GCM encryption: the HSM makes the IV",
        ));
    }
    let iv = random(GCM_IV)?;
    let mut ctx = CipherCtx::new().map_err(openssl_failed)?;
    ctx.encrypt_init(Some(cipher), Some(key), Some(&iv))
        .map_err(openssl_failed)?;
    if let Some(aad) = &inputs.aad {
        ctx.cipher_update(aad, None).map_err(openssl_failed)?;
    }
    let mut value = Vec::new();
    ctx.cipher_update_vec(&inputs.value, &mut value)
        .map_err(openssl_failed)?;
    ctx.cipher_final_vec(&mut value).map_err(openssl_failed)?;
    let mut tag = vec![0u8; GCM_TAG];
    ctx.tag(&mut tag).map_err(openssl_failed)?;
    Ok(Output::Bytes {
        value,
        iv: Some(iv),
        tag: Some(tag),
        aad: inputs.aad.clone(),
    })
}

fn gcm_decrypt(cipher: &CipherRef, key: &[u8], inputs: &Inputs) -> Result<Vec<u8>, ApiError> {
    let iv = exact("iv", inputs.iv.as_ref(), GCM_IV)?;
    let tag = exact("tag", inputs.tag.as_ref(), GCM_TAG)?;
    let mut ctx = CipherCtx::new().map_err(openssl_failed)?;
    ctx.decrypt_init(Some(cipher), Some(key), Some(iv))
        .map_err(openssl_failed)?;
    if let Some(aad) = &inputs.aad {
        ctx.cipher_update(aad, None).map_err(openssl_failed)?;
    }
    let mut plain = Vec::new();
    ctx.cipher_update_vec(&inputs.value, &mut plain)
        .map_err(openssl_failed)?;
    ctx.set_tag(tag).map_err(openssl_failed)?;
    ctx.cipher_final_vec(&mut plain).map_err(|_| {
        ApiError::bad_parameter(
            "decryption failed: the tag does not authenticate the ciphertext, IV and aad",
        )
    })?;
    Ok(plain)
}

fn cbc_encrypt(
    cipher: &CipherRef,
    mode: Mode,
    key: &[u8],
    inputs: &Inputs,
) -> Result<Output, ApiError> {
    let iv = match &inputs.iv {
        Some(_) => exact("iv", inputs.iv.as_ref(), BLOCK)?.to_vec(),
        None => random(BLOCK)?,
    };
    let mut plain = inputs.value.clone();
    if mode == Mode::Cbc {
        plain.resize(plain.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    let mut ctx = CipherCtx::new().map_err(openssl_failed)?;
    ctx.encrypt_init(Some(cipher), Some(key), Some(&iv))
        .map_err(openssl_failed)?;
    ctx.set_padding(mode == Mode::CbcPad);
    let mut value = Vec::new();
    ctx.cipher_update_vec(&plain, &mut value)
        .map_err(openssl_failed)?;
    ctx.cipher_final_vec(&mut value).map_err(openssl_failed)?;
    Ok(Output::Bytes {
        value,
        iv: Some(iv),
        tag: None,
        aad: None,
    })
}

fn cbc_decrypt(
    cipher: &CipherRef,
    mode: Mode,
    key: &[u8],
    inputs: &Inputs,
) -> Result<Vec<u8>, ApiError> {
    let iv = exact("iv", inputs.iv.as_ref(), BLOCK)?;
    if !inputs.value.len().is_multiple_of(BLOCK) {
        return Err(ApiError::bad_parameter(format!(
            "the ciphertext is {} bytes; AES-CBC ciphertexts are whole 16-byte blocks",
            inputs.value.len()
        )));
    }
    let mut ctx = CipherCtx::new().map_err(openssl_failed)?;
    ctx.decrypt_init(Some(cipher), Some(key), Some(iv))
        .map_err(openssl_failed)?;
    ctx.set_padding(mode == Mode::CbcPad);
    let mut plain = Vec::new();
    ctx.cipher_update_vec(&inputs.value, &mut plain)
        .map_err(openssl_failed)?;
    ctx.cipher_final_vec(&mut plain).map_err(|_| {
        ApiError::bad_parameter("decryption failed: the padding is not valid PKCS#7")
    })?;
    Ok(plain)
}

fn wrap(cipher: &CipherRef, mode: Mode, key: &[u8], plain: &[u8]) -> Result<Vec<u8>, ApiError> {
    if mode == Mode::KeyWrap && (plain.len() < 16 || !plain.len().is_multiple_of(8)) {
        return Err(ApiError::bad_parameter(format!(
            "the key to wrap is {} bytes; AES key wrap takes 16 bytes or more, a multiple of 8",
            plain.len()
        )));
    }
    let mut ctx = CipherCtx::new().map_err(openssl_failed)?;
    ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
    ctx.encrypt_init(Some(cipher), Some(key), None)
        .map_err(openssl_failed)?;
    wrap_cipher(&mut ctx, plain).map_err(openssl_failed)
}

fn unwrap(cipher: &CipherRef, mode: Mode, key: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, ApiError> {
    let shortest = if mode == Mode::KeyWrap { 24 } else { 16 };
    if wrapped.len() < shortest || !wrapped.len().is_multiple_of(8) {
        return Err(ApiError::bad_parameter(format!(
            "the wrapped key is {} bytes; it must be {shortest} bytes or more, a multiple of 8",
            wrapped.len()
        )));
    }
    let failed = |_| {
        ApiError::bad_parameter(
            "unwrap failed: the wrapped key does not pass the key-wrap integrity check under this key",
        )
    };
    let mut ctx = CipherCtx::new().map_err(openssl_failed)?;
    ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
    ctx.decrypt_init(Some(cipher), Some(key), None)
        .map_err(openssl_failed)?;
    wrap_cipher(&mut ctx, wrapped).map_err(failed)
}

/// Runs a key-wrap cipher over `input` into a buffer longer than any output: on a failed
/// unwrap, OpenSSL wipes as many output bytes as the input has, more than the plaintext
/// length the wrapper's own sizing would allow for.
fn wrap_cipher(ctx: &mut CipherCtx, input: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut out = vec![0u8; input.len() + 2 * BLOCK];
    let written = ctx.cipher_update(input, Some(&mut out))?;
    let rest = ctx.cipher_final(&mut out[written..])?;
    out.truncate(written + rest);
    Ok(out)
}
