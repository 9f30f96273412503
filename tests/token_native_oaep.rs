//! The native OAEP path (`token-oaep`: `CKM_RSA_PKCS_OAEP` on the token with the JWE's own
//! hash) against a real token: openCryptoki's software token (Debian `opencryptoki`), whose
//! C_Decrypt takes OAEP with SHA-256/MGF1-SHA-256 (and SHA-1). SoftHSM2 takes SHA-1 only, so
//! the SoftHSM2 tests see shares (RSA-OAEP-256) decrypted raw on the token with OAEP removed
//! on the host (`token-raw+host-oaep`); here no host padding code runs for them. sdctl is
//! given openCryptoki's own module, unchanged.
//!
//! The soft token is the machine's (openCryptoki 3.8 keeps it in fixed system places: see
//! `tests/common/opencryptoki.rs`); `.ci/run` installs openCryptoki and starts its slot
//! daemon with `tests/interop/opencryptoki.sh`. Where it is absent the tests say why and
//! skip; in CI they fail instead.
//!
//! Every test makes its own data: keys and certificates with the openssl CLI, the token
//! re-initialised, security domains made as the HSM makes them. The PIN reaches sdctl only
//! in a 0600 `--pin-file`, and must not come back in its output.

mod common;

use std::fs;

use common::opencryptoki::{SoftTok, LABEL, USER_PIN};
use common::softhsm::write_pin_file;
use common::{Fixture, Run};
use openssl::encrypt::Encrypter;
use openssl::hash::MessageDigest;
use openssl::rsa::Padding;
use sdctl::primitives::base64url;
use sdctl::primitives::jwe::{self, CompactJwe};
use serde_json::{json, Value};

/// What sdctl must say of a share the token decrypted with its own OAEP mechanism.
const NATIVE: &str = "token-oaep";

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains(USER_PIN) && !run.stderr.contains(USER_PIN),
        "the PIN came back in sdctl's output"
    );
}

/// Custodians `ock` (its key put on the soft token with its certificate), `b` and `c`
/// (files), and a 2-of-3 SD for them in `sd.json`. Returns the token key's URI.
fn setup(fx: &Fixture, tok: &SoftTok) -> String {
    for n in ["ock", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let uri = tok.import(
        "sdctl-ock",
        &[0x0c, 0x0a],
        &fx.path("ock.key"),
        Some(&fx.path("ock.cer")),
    );
    fx.make_sd(&["ock.cer", "b.cer", "c.cer"], 2, "sd.json");
    write_pin_file(&fx.path("pins.txt"), &[USER_PIN]);
    uri
}

/// `sdctl --output json sd verify --sd-file SD --pkcs11-module M --pin-file pins.txt
/// --sd-wrapping-keys URI b.key`, checked: verified, two shares, the token's share matched
/// by its certificate's thumbprint and decrypted by the token's own OAEP. Returns the human
/// output of the same command.
fn verify_native(fx: &Fixture, tok: &SoftTok, uri: &str, sd: &str) -> String {
    let base = [
        "sd",
        "verify",
        "--sd-file",
        sd,
        "--pkcs11-module",
        tok.module(),
        "--pin-file",
        "pins.txt",
        "--sd-wrapping-keys",
        uri,
        "b.key",
    ];
    let mut json_args = vec!["--output", "json"];
    json_args.extend(base);
    let run = fx.sdctl(&json_args);
    ok(&run);
    let v = run.json();
    assert_eq!(v["result"]["verified"], true, "{}", run.stdout);
    let used = v["result"]["custodians_used"].as_array().unwrap();
    assert_eq!(used.len(), 2, "{}", run.stdout);
    assert_eq!(
        used[0]["location"], "SharedKeys.enc_shares[0]",
        "{}",
        used[0]
    );
    assert_eq!(used[0]["matched_by"], "thumbprint", "{}", used[0]);
    assert_eq!(used[0]["decryption"], NATIVE, "{}", used[0]);
    assert_eq!(used[1]["decryption"], "file", "{}", used[1]);

    let run = fx.sdctl(&base);
    ok(&run);
    assert!(run.stdout.contains("VERIFIED"), "{}", run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(uri))
        .unwrap_or_else(|| panic!("no line for {uri}: {}", run.stdout));
    assert!(
        line.ends_with(&format!("(by certificate thumbprint; decrypted {NATIVE})")),
        "{line}"
    );
    run.stdout
}

#[test]
fn rsa_oaep_256_share_decrypts_with_the_tokens_own_oaep() {
    let test = "rsa_oaep_256_share_decrypts_with_the_tokens_own_oaep";
    let Some(tok) = SoftTok::try_new(test) else {
        return;
    };
    let fx = Fixture::new();
    let uri = setup(&fx, &tok);
    assert!(uri.contains(LABEL));
    let sd = fx.read_json("sd.json");
    assert_eq!(
        jwe_header(
            sd["SharedKeys"]["enc_shares"][0]["enc_key"]
                .as_str()
                .unwrap()
        )["alg"],
        "RSA-OAEP-256"
    );
    let out = verify_native(&fx, &tok, &uri, "sd.json");
    assert!(!out.contains("host-oaep"), "{out}");
}

#[test]
fn rsa_oaep_sha1_share_decrypts_with_the_tokens_own_oaep() {
    let test = "rsa_oaep_sha1_share_decrypts_with_the_tokens_own_oaep";
    let Some(tok) = SoftTok::try_new(test) else {
        return;
    };
    let fx = Fixture::new();
    let uri = setup(&fx, &tok);
    // The token custodian's share sealed again as RSA-OAEP (SHA-1, MGF1-SHA-1), as older
    // clients did; the other shares stay RSA-OAEP-256.
    let mut sd = fx.read_json("sd.json");
    let share = &mut sd["SharedKeys"]["enc_shares"][0]["enc_key"];
    *share = Value::from(reseal_rsa_oaep_sha1(
        share.as_str().unwrap(),
        &fx.path("ock.key"),
    ));
    assert_eq!(jwe_header(share.as_str().unwrap())["alg"], "RSA-OAEP");
    fx.write_json("sd-sha1.json", &sd);
    verify_native(&fx, &tok, &uri, "sd-sha1.json");
}

/// The protected header of a compact JWE, as JSON.
fn jwe_header(compact: &str) -> Value {
    let first = compact.split('.').next().unwrap();
    serde_json::from_slice(&base64url::decode(first).unwrap()).unwrap()
}

/// Opens the RSA-OAEP-256 JWE `compact` with the PEM key `key` and seals its plaintext
/// again as an `RSA-OAEP` JWE (OAEP with SHA-1 and MGF1-SHA-1) to the same key, keeping
/// the other header fields.
fn reseal_rsa_oaep_sha1(compact: &str, key: &std::path::Path) -> String {
    let pkey = openssl::pkey::PKey::private_key_from_pem(&fs::read(key).unwrap()).unwrap();
    let parsed = CompactJwe::parse(compact).unwrap();
    let plain = parsed.decrypt_rsa(&pkey).unwrap();
    let mut header = jwe_header(compact);
    header["alg"] = json!("RSA-OAEP");
    let protected = base64url::encode(&serde_json::to_vec(&header).unwrap());

    let mut cek = vec![0u8; jwe::CEK_LEN];
    openssl::rand::rand_bytes(&mut cek).unwrap();
    let mut iv = [0u8; 16];
    openssl::rand::rand_bytes(&mut iv).unwrap();
    let mut enc = Encrypter::new(&pkey).unwrap();
    enc.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    enc.set_rsa_oaep_md(MessageDigest::sha1()).unwrap();
    enc.set_rsa_mgf1_md(MessageDigest::sha1()).unwrap();
    let mut wrapped = vec![0u8; enc.encrypt_len(&cek).unwrap()];
    let n = enc.encrypt(&cek, &mut wrapped).unwrap();
    wrapped.truncate(n);
    let (ciphertext, tag) =
        jwe::cbc_hs512_encrypt(&cek, &iv, protected.as_bytes(), &plain).unwrap();
    format!(
        "{protected}.{}.{}.{}.{}",
        base64url::encode(&wrapped),
        base64url::encode(&iv),
        base64url::encode(&ciphertext),
        base64url::encode(&tag)
    )
}

/// openCryptoki 3.8 answers C_GetTokenInfo with a non-standard `utcTime`, which the
/// cryptoki crate refuses; sdctl reads the fields it needs itself and finds the token and
/// the key on openCryptoki's own module.
#[test]
fn token_with_a_nonstandard_clock_is_listed_and_inspected() {
    let test = "token_with_a_nonstandard_clock_is_listed_and_inspected";
    let Some(tok) = SoftTok::try_new(test) else {
        return;
    };
    let fx = Fixture::new();
    let uri = setup(&fx, &tok);
    let run = fx.sdctl(&["keys", "list-token", "--pkcs11-module", tok.module()]);
    ok(&run);
    assert!(
        run.stdout.contains(&format!("'{LABEL}'")) && run.stdout.contains("IBM SoftTok"),
        "{}",
        run.stdout
    );
    let run = fx.sdctl(&[
        "--output",
        "json",
        "keys",
        "inspect",
        "--pkcs11-module",
        tok.module(),
        "--pin-file",
        "pins.txt",
        &uri,
    ]);
    ok(&run);
    let v = run.json();
    let key = &v["result"]["token_keys"][0];
    assert_eq!(key["token"]["label"], LABEL, "{key}");
    assert_eq!(key["token"]["model"], "IBM SoftTok", "{key}");
    assert_eq!(key["object"]["label"], "sdctl-ock", "{key}");
    assert_eq!(key["object"]["extractable"], false, "{key}");
    assert_eq!(key["key"]["bits"], 2048, "{key}");
    assert_eq!(key["certificate"]["subject"], "CN=ock", "{key}");
}

/// The whole life of a key that never leaves the token, on a token that is not SoftHSM2:
/// `sdctl keys generate --pkcs11` makes the pair on openCryptoki's soft token and signs the
/// certificate there (the soft token has no CKM_SHA256_RSA_PKCS: sdctl signs a SHA-256
/// DigestInfo with CKM_RSA_PKCS), openssl accepts the certificate, and the custodian's
/// share of an SD made for it opens with the token's own OAEP.
#[test]
fn key_generated_on_the_token_opens_its_share_with_the_tokens_own_oaep() {
    let test = "key_generated_on_the_token_opens_its_share_with_the_tokens_own_oaep";
    let Some(tok) = SoftTok::try_new(test) else {
        return;
    };
    let fx = Fixture::new();
    write_pin_file(&fx.path("pins.txt"), &[USER_PIN]);
    let run = fx.sdctl(&[
        "keys",
        "generate",
        "--pkcs11-module",
        tok.module(),
        "--pkcs11",
        &format!("pkcs11:token={LABEL}"),
        "--names",
        "ock",
        "--pin-file",
        "pins.txt",
        "--bits",
        "2048",
        "--out-dir",
        "gen",
    ]);
    ok(&run);
    assert_eq!(fx.listing("gen"), ["manifest.json", "ock.cer"]);
    fx.openssl(&["verify", "-CAfile", "gen/ock.cer", "gen/ock.cer"]);
    let manifest = fx.read_json("gen/manifest.json");
    let token = &manifest["custodians"][0]["token"];
    assert_eq!(token["model"], "IBM SoftTok", "{manifest}");
    let uri = token["uri"].as_str().unwrap().to_owned();

    let run = fx.sdctl(&[
        "--output",
        "json",
        "keys",
        "inspect",
        "--pkcs11-module",
        tok.module(),
        "--pin-file",
        "pins.txt",
        &uri,
    ]);
    ok(&run);
    let object = &run.json()["result"]["token_keys"][0]["object"];
    assert_eq!(object["sensitive"], true, "{object}");
    assert_eq!(object["extractable"], false, "{object}");

    for n in ["b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    fx.make_sd(&["gen/ock.cer", "b.cer", "c.cer"], 2, "sd.json");
    verify_native(&fx, &tok, &uri, "sd.json");
}
