//! RSA: encrypt, decrypt, wrapKey and unwrapKey with `RSA1_5`, `RSA-OAEP` (SHA-1) and
//! `RSA-OAEP-256` (SHA-256, MGF1-SHA-256); sign and verify a digest with `RS256/384/512`
//! (PKCS#1 v1.5) and `PS256/384/512` (PSS, MGF1 with the same hash, salt as long as the
//! digest).

use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;

use super::{openssl_failed, unsupported, Inputs, Operation, Output};
use crate::emulator::http::ApiError;

/// An RSA encryption scheme: the padding and, for OAEP, its hash (also MGF1's).
fn encryption(alg: &str) -> Option<(Padding, Option<&'static MdRef>)> {
    match alg {
        "RSA1_5" => Some((Padding::PKCS1, None)),
        "RSA-OAEP" => Some((Padding::PKCS1_OAEP, Some(Md::sha1()))),
        "RSA-OAEP-256" => Some((Padding::PKCS1_OAEP, Some(Md::sha256()))),
        _ => None,
    }
}

/// An RSA signature scheme: the padding, the hash, its digest length and name.
fn signature(alg: &str) -> Option<(Padding, &'static MdRef, usize, &'static str)> {
    let (padding, scheme) = match alg.get(..2) {
        Some("RS") => (Padding::PKCS1, &alg[2..]),
        Some("PS") => (Padding::PKCS1_PSS, &alg[2..]),
        _ => return None,
    };
    let (md, len, name) = match scheme {
        "256" => (Md::sha256(), 32, "SHA-256"),
        "384" => (Md::sha384(), 48, "SHA-384"),
        "512" => (Md::sha512(), 64, "SHA-512"),
        _ => return None,
    };
    Some((padding, md, len, name))
}

/// Runs `op` with the RSA key `key`.
pub(super) fn run(key: &PKey<Private>, op: Operation, inputs: &Inputs) -> Result<Output, ApiError> {
    let alg = inputs.alg.as_str();
    match op {
        Operation::Encrypt | Operation::WrapKey => {
            let scheme = encryption(alg).ok_or_else(|| unsupported(alg, op, "an RSA"))?;
            encrypt(key, scheme, &inputs.value).map(Output::bytes)
        }
        Operation::Decrypt | Operation::UnwrapKey => {
            let scheme = encryption(alg).ok_or_else(|| unsupported(alg, op, "an RSA"))?;
            decrypt(key, scheme, &inputs.value).map(Output::bytes)
        }
        Operation::Sign => {
            let (padding, md, len, hash) =
                signature(alg).ok_or_else(|| unsupported(alg, op, "an RSA"))?;
            let digest = inputs.digest_of(op, len, hash)?;
            sign(key, padding, md, digest).map(Output::bytes)
        }
        Operation::Verify => {
            let (padding, md, len, hash) =
                signature(alg).ok_or_else(|| unsupported(alg, op, "an RSA"))?;
            let digest = inputs.digest_of(op, len, hash)?;
            verify(key, padding, md, digest, &inputs.value).map(Output::Verified)
        }
    }
}

/// Sets the encryption padding (and OAEP's hashes) on `ctx`.
fn set_scheme<T>(
    ctx: &mut PkeyCtx<T>,
    (padding, oaep_md): (Padding, Option<&'static MdRef>),
) -> Result<(), ApiError> {
    ctx.set_rsa_padding(padding).map_err(openssl_failed)?;
    if let Some(md) = oaep_md {
        ctx.set_rsa_oaep_md(md).map_err(openssl_failed)?;
        ctx.set_rsa_mgf1_md(md).map_err(openssl_failed)?;
    }
    Ok(())
}

fn encrypt(
    key: &PKey<Private>,
    scheme: (Padding, Option<&'static MdRef>),
    plaintext: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let mut ctx = PkeyCtx::new(key).map_err(openssl_failed)?;
    ctx.encrypt_init().map_err(openssl_failed)?;
    set_scheme(&mut ctx, scheme)?;
    let mut out = Vec::new();
    ctx.encrypt_to_vec(plaintext, &mut out).map_err(|_| {
        ApiError::bad_parameter(format!(
            "the {}-byte value is too long for this RSA key and algorithm",
            plaintext.len()
        ))
    })?;
    Ok(out)
}

fn decrypt(
    key: &PKey<Private>,
    scheme: (Padding, Option<&'static MdRef>),
    ciphertext: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let size = key.size();
    if ciphertext.len() != size {
        return Err(ApiError::bad_parameter(format!(
            "the ciphertext is {} bytes; this RSA key takes {size}",
            ciphertext.len()
        )));
    }
    let mut ctx = PkeyCtx::new(key).map_err(openssl_failed)?;
    ctx.decrypt_init().map_err(openssl_failed)?;
    set_scheme(&mut ctx, scheme)?;
    let mut out = Vec::new();
    ctx.decrypt_to_vec(ciphertext, &mut out).map_err(|_| {
        ApiError::bad_parameter(
            "decryption failed: the ciphertext does not decrypt under this key and algorithm",
        )
    })?;
    Ok(out)
}

/// Sets the signature padding and hash (and PSS's MGF1 hash and salt length) on `ctx`.
fn set_signature<T>(ctx: &mut PkeyCtx<T>, padding: Padding, md: &MdRef) -> Result<(), ApiError> {
    ctx.set_rsa_padding(padding).map_err(openssl_failed)?;
    ctx.set_signature_md(md).map_err(openssl_failed)?;
    if padding == Padding::PKCS1_PSS {
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
            .map_err(openssl_failed)?;
        ctx.set_rsa_mgf1_md(md).map_err(openssl_failed)?;
    }
    Ok(())
}

fn sign(
    key: &PKey<Private>,
    padding: Padding,
    md: &MdRef,
    digest: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let mut ctx = PkeyCtx::new(key).map_err(openssl_failed)?;
    ctx.sign_init().map_err(openssl_failed)?;
    set_signature(&mut ctx, padding, md)?;
    let mut out = Vec::new();
    ctx.sign_to_vec(digest, &mut out).map_err(openssl_failed)?;
    Ok(out)
}

/// Whether `signature` is valid; a malformed signature is simply not valid.
fn verify(
    key: &PKey<Private>,
    padding: Padding,
    md: &MdRef,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, ApiError> {
    let mut ctx = PkeyCtx::new(key).map_err(openssl_failed)?;
    ctx.verify_init().map_err(openssl_failed)?;
    set_signature(&mut ctx, padding, md)?;
    Ok(ctx.verify(digest, signature).unwrap_or(false))
}
