//! The security-domain engine end to end: an SD made by the HSM-side code, opened with
//! custodian keys made by openssl, turned into restore blobs the HSM side opens, rotated
//! to new custodians; and every refusal with its message and exit code.

mod common;

use common::{tamper_jwe, Fixture};
use sdctl::domain::hsm::open_restore_blob;
use serde_json::{json, Value};

/// Custodians a..e and an exchange key x (unencrypted keys, certificates beside them).
fn setup() -> Fixture {
    let fx = Fixture::new();
    for n in ["a", "b", "c", "d", "e", "x"] {
        fx.openssl_custodian(n, 2048);
    }
    fx
}

/// Opens a restore blob with the exchange key as the new HSM would.
fn open_blob(fx: &Fixture, blob: &str) -> Vec<(String, Vec<u8>)> {
    let key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(fx.path("x.key")).unwrap())
        .unwrap();
    let bytes = std::fs::read(fx.path(blob)).unwrap();
    open_restore_blob(&fx.path(blob), &bytes, &key)
        .unwrap()
        .into_iter()
        .map(|d| (d.tag, d.plaintext.to_vec()))
        .collect()
}

#[test]
fn verify_by_thumbprint_and_by_trial_decryption() {
    let fx = setup();
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    let run = fx.run("--output json sd verify --sd-file sd.json --sd-wrapping-keys c.key a.key");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["result"]["verified"], true);
    assert_eq!(v["result"]["required"], 2);
    assert_eq!(v["result"]["shares"], 3);
    assert_eq!(v["result"]["master_key_bytes"], 32);
    assert_eq!(v["result"]["data"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["result"]["custodians_used"][0]["location"],
        "SharedKeys.enc_shares[2]"
    );
    assert_eq!(
        v["result"]["custodians_used"][0]["matched_by"],
        "thumbprint"
    );
    let sha = fx.openssl(&["dgst", "-sha256", "-r", "sd.json"]);
    let sha = String::from_utf8_lossy(&sha.stdout);
    assert_eq!(
        v["result"]["sd_sha256"],
        sha.split_whitespace().next().unwrap()
    );

    // Keys without a certificate beside them are matched by trial decryption.
    std::fs::copy(fx.path("b.key"), fx.path("lonely-b.pem")).unwrap();
    std::fs::copy(fx.path("a.key"), fx.path("lonely-a.pem")).unwrap();
    let run = fx.run(
        "--output json sd verify --sd-file sd.json --sd-wrapping-keys lonely-b.pem lonely-a.pem",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        v["result"]["custodians_used"][0]["matched_by"],
        "trial_decryption"
    );
    assert_eq!(
        v["result"]["custodians_used"][0]["location"],
        "SharedKeys.enc_shares[1]"
    );
}

#[test]
fn verify_accepts_the_rest_wrapper_and_encrypted_keys() {
    let fx = setup();
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 3, "sd.json");
    let bare = std::fs::read_to_string(fx.path("sd.json")).unwrap();
    fx.write_json("wrapped.json", &json!({ "value": bare }));
    fx.pass_file("p.txt", &["b passphrase here"]);
    fx.pkcs8_encrypt("b.key", "p.txt", "benc.key", &["-v2", "aes-256-cbc"]);
    std::fs::copy(fx.path("b.cer"), fx.path("benc.cer")).unwrap();
    fx.pass_file("three.txt", &["", "b passphrase here", ""]);
    let run = fx.run("sd verify --sd-file wrapped.json --sd-wrapping-keys a.key benc.key c.key --passphrase-file three.txt");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("VERIFIED"));
    let inspect =
        fx.run("--output json sd inspect --sd-file wrapped.json --sd-wrapping-keys b.cer c.key");
    let v = inspect.json();
    assert_eq!(v["result"]["wrapped"], true);
    assert_eq!(v["result"]["shares"][1]["local_file"], "b.cer");
    assert_eq!(v["result"]["shares"][2]["local_file"], "c.key");
    assert_eq!(v["result"]["shares"][0]["local_file"], Value::Null);
}

#[test]
fn each_custodian_finds_a_broken_share() {
    let fx = setup();
    fx.make_sd(&["a.cer", "b.cer", "c.cer", "d.cer"], 2, "sd.json");
    let ok = fx.run(
        "sd verify --sd-file sd.json --sd-wrapping-keys a.key b.key c.key d.key --each-custodian",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("ok    d.key + a.key"), "{}", ok.stdout);

    let mut sd = fx.read_json("sd.json");
    let share = sd["SharedKeys"]["enc_shares"][2]["enc_key"]
        .as_str()
        .unwrap()
        .to_owned();
    sd["SharedKeys"]["enc_shares"][2]["enc_key"] = Value::from(tamper_jwe(&share, 3));
    fx.write_json("broken.json", &sd);
    // A quorum that avoids custodian c still verifies...
    let quorum = fx.run("sd verify --sd-file broken.json --sd-wrapping-keys a.key b.key");
    assert_eq!(quorum.code, 0);
    // ...but the per-custodian drill finds c's broken share.
    let drill = fx.run("--output json sd verify --sd-file broken.json --sd-wrapping-keys a.key b.key c.key d.key --each-custodian");
    assert_eq!(drill.code, 1, "{}", drill.stdout);
    let v = drill.json();
    assert_eq!(v["status"], "check_failed");
    let proofs = v["result"]["each_custodian"].as_array().unwrap();
    assert_eq!(proofs[2]["ok"], false);
    assert!(proofs[2]["error"]
        .as_str()
        .unwrap()
        .contains("SharedKeys.enc_shares[2]"));
    assert!(proofs
        .iter()
        .enumerate()
        .all(|(i, p)| i == 2 || p["ok"] == true));
    let combos = v["result"]["combinations"].as_array().unwrap();
    assert_eq!(
        combos.iter().filter(|c| c["ok"] == false).count(),
        2,
        "b+c and c+d fail"
    );
}

#[test]
fn restore_blob_opens_on_the_hsm_side_for_every_exchange_key_form() {
    let fx = setup();
    let state = fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    // The forms people bring: PEM certificate, DER certificate, JWK, transfer-key response
    // with the JWK as a string (a real service quirk).
    fx.openssl(&["x509", "-in", "x.cer", "-outform", "DER", "-out", "x.der"]);
    let der = std::fs::read(fx.path("x.der")).unwrap();
    let cert = sdctl::keys::load_certificate(&fx.path("x.cer")).unwrap();
    let sdctl::keys::PublicKey::Rsa { modulus, exponent } = cert.public_key().clone() else {
        panic!("RSA")
    };
    use base64::Engine;
    let jwk = json!({
        "kty": "RSA", "key_ops": ["wrapKey", "encrypt"], "kid": "https://new-hsm/keys/transfer",
        "n": sdctl::primitives::base64url::encode(&modulus),
        "e": sdctl::primitives::base64url::encode(&exponent),
        "x5c": [base64::engine::general_purpose::STANDARD.encode(&der)],
    });
    fx.write_json("x.jwk", &jwk);
    fx.write_json(
        "transfer.json",
        &json!({"key_format": "jwk", "transfer_key": jwk.to_string()}),
    );
    for (i, exch) in ["x.cer", "x.der", "x.jwk", "transfer.json"]
        .iter()
        .enumerate()
    {
        let out = format!("blob{i}.json");
        let run = fx.run(&format!(
            "sd restore-blob --sd-file sd.json --sd-exchange-key {exch} --sd-wrapping-keys b.key c.key --sd-file-restore-blob {out}"
        ));
        assert_eq!(run.code, 0, "{exch}: {}", run.stderr);
        let blob = fx.read_json(&out);
        assert_eq!(blob["WrappedKey"]["x5t_256"], cert.x5t_256(), "{exch}");
        assert_eq!(open_blob(&fx, &out), state, "{exch}");
    }
    // Never overwritten without --force.
    let again = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key x.cer --sd-wrapping-keys b.key c.key --sd-file-restore-blob blob0.json");
    again.assert_error(2, "blob0.json: already exists");
}

#[test]
fn rewrap_rotates_custodians_and_quorum() {
    let fx = setup();
    let state = fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    let run = fx.run("sd rewrap --sd-file sd.json --sd-wrapping-keys a.key c.key --new-wrapping-keys c.cer d.cer e.cer x.cer --new-quorum 3 --out new.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let new = fx.read_json("new.json");
    let old = fx.read_json("sd.json");
    assert_eq!(
        new["EncData"], old["EncData"],
        "data carried over unchanged"
    );
    assert_eq!(new["SharedKeys"]["required"], 3);
    assert_eq!(new["version"], 2);
    // The new custodians open it; the old quorum no longer does.
    let run = fx.run("sd verify --sd-file new.json --sd-wrapping-keys x.key d.key e.key");
    assert_eq!(run.code, 0, "{}", run.stderr);
    fx.run("sd verify --sd-file new.json --sd-wrapping-keys a.key c.key")
        .assert_error(3, "a.key: its certificate");
    fx.run("sd verify --sd-file new.json --sd-wrapping-keys c.key d.key")
        .assert_error(2, "the keys given open 2 share(s) but the quorum is 3");
    // And the new file still yields the same state through a restore blob.
    let run = fx.run("sd restore-blob --sd-file new.json --sd-exchange-key x.cer --sd-wrapping-keys c.key d.key e.key --sd-file-restore-blob blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(open_blob(&fx, "blob.json"), state);
}

#[test]
fn version_1_xor_split_is_read_and_upgraded() {
    let fx = setup();
    // A v1 domain: the master key XOR-split into pairs (a, b) and (b, c).
    let state = common::hsm_state();
    let master = sdctl::domain::hsm::new_master_key().unwrap();
    let data: Vec<Value> = state
        .iter()
        .map(|(tag, plain)| {
            serde_json::to_value(sdctl::domain::data::seal(&master, tag, plain).unwrap()).unwrap()
        })
        .collect();
    let half = |name: &str, bytes: &[u8]| {
        let cert = sdctl::keys::load_certificate(&fx.path(&format!("{name}.cer"))).unwrap();
        let public = cert.public_key().to_openssl().unwrap();
        json!({
            "enc_key": sdctl::primitives::jwe::encrypt_rsa_oaep256(bytes, &public, &Default::default()).unwrap(),
            "x5t_256": cert.x5t_256(),
        })
    };
    let mut pairs = Vec::new();
    for (p, q) in [("a", "b"), ("b", "c")] {
        let mut mask = vec![0u8; master.len()];
        openssl::rand::rand_bytes(&mut mask).unwrap();
        let other: Vec<u8> = master.iter().zip(&mask).map(|(m, k)| m ^ k).collect();
        pairs.push(json!({"key1": half(p, &mask), "key2": half(q, &other)}));
    }
    fx.write_json(
        "v1.json",
        &json!({
            "EncData": {"data": data, "kdf": "sp108_kdf"},
            "SplitKeys": {"key_algorithm": "xor_split", "keys": pairs},
            "version": 1,
            "future_field": {"kept": true}
        }),
    );
    let run = fx.run("sd verify --sd-file v1.json --sd-wrapping-keys b.key c.key");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = fx.run("sd restore-blob --sd-file v1.json --sd-exchange-key x.cer --sd-wrapping-keys a.key b.key --sd-file-restore-blob blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(open_blob(&fx, "blob.json"), state);
    fx.run("sd verify --sd-file v1.json --sd-wrapping-keys a.key c.key")
        .assert_error(2, "not both halves of any one pair");
    let run = fx.run("sd rewrap --sd-file v1.json --sd-wrapping-keys a.key b.key --new-wrapping-keys c.cer d.cer e.cer --new-quorum 2 --out v2.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fx.read_json("v2.json")["version"], 2);
    assert_eq!(
        fx.run("sd verify --sd-file v2.json --sd-wrapping-keys d.key e.key")
            .code,
        0
    );
}

/// A refusal case: file name, new content (None: use the file as it is), keys, exit code,
/// and the text the error line must contain.
type Refusal<'a> = (&'a str, Option<Vec<u8>>, &'a str, i32, &'a str);

/// Exit code of a refusal case whose one damaged datum `sd verify` finds (exit 1, a check
/// failed) while `sd restore-blob` cannot go on past it (exit 3).
const DAMAGED_DATUM: i32 = -1;

/// Writes a variant of `sd.json` changed by `change` and checks that verify and
/// restore-blob both refuse it with `code` (see [`DAMAGED_DATUM`]) and `needle`, writing no
/// output.
fn assert_refused(
    fx: &Fixture,
    name: &str,
    content: Option<Vec<u8>>,
    keys: &str,
    code: i32,
    needle: &str,
) {
    if let Some(bytes) = content {
        std::fs::write(fx.path(name), bytes).unwrap();
    }
    let (verify_code, blob_code) = match code {
        DAMAGED_DATUM => (1, 3),
        code => (code, code),
    };
    fx.run(&format!(
        "sd verify --sd-file {name} --sd-wrapping-keys {keys}"
    ))
    .assert_error(verify_code, needle);
    let run = fx.run(&format!(
        "sd restore-blob --sd-file {name} --sd-exchange-key x.cer --sd-wrapping-keys {keys} --sd-file-restore-blob out.json"
    ));
    run.assert_error(blob_code, needle);
    assert!(!fx.path("out.json").exists(), "{name}: output written");
}

#[test]
fn refusals() {
    let fx = setup();
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    let sd = fx.read_json("sd.json");
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut v = sd.clone();
        f(&mut v);
        Some(serde_json::to_vec(&v).unwrap())
    };
    let datum = sd["EncData"]["data"][1]["compact_jwe"]
        .as_str()
        .unwrap()
        .to_owned();
    let share = sd["SharedKeys"]["enc_shares"][0]["enc_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let ab = "a.key b.key";
    let cases: Vec<Refusal> = vec![
        (
            "ct.json",
            changed(&|v| v["EncData"]["data"][1]["compact_jwe"] = tamper_jwe(&datum, 3).into()),
            ab,
            DAMAGED_DATUM,
            "EncData.data[1] (tag 'mhsm-key-store') does not verify",
        ),
        (
            "tag.json",
            changed(&|v| v["EncData"]["data"][1]["compact_jwe"] = tamper_jwe(&datum, 4).into()),
            ab,
            DAMAGED_DATUM,
            "EncData.data[1]",
        ),
        (
            "iv.json",
            changed(&|v| v["EncData"]["data"][1]["compact_jwe"] = tamper_jwe(&datum, 2).into()),
            ab,
            DAMAGED_DATUM,
            "EncData.data[1]",
        ),
        (
            "share.json",
            changed(&|v| {
                v["SharedKeys"]["enc_shares"][0]["enc_key"] = tamper_jwe(&share, 3).into()
            }),
            ab,
            3,
            "a.key: SharedKeys.enc_shares[0]: JWE does not decrypt",
        ),
        (
            "every-datum.json",
            changed(&|v| {
                for d in v["EncData"]["data"].as_array_mut().unwrap() {
                    let jwe = d["compact_jwe"].as_str().unwrap().to_owned();
                    d["compact_jwe"] = tamper_jwe(&jwe, 3).into();
                }
            }),
            ab,
            3,
            "does not verify",
        ),
        (
            "label.json",
            changed(&|v| v["EncData"]["data"][0]["tag"] = "renamed".into()),
            ab,
            DAMAGED_DATUM,
            "EncData.data[0] (tag 'renamed') does not verify",
        ),
        (
            "q1.json",
            changed(&|v| v["SharedKeys"]["required"] = 1.into()),
            ab,
            2,
            "SharedKeys.required is 1 with 3 shares",
        ),
        (
            "q4.json",
            changed(&|v| v["SharedKeys"]["required"] = 4.into()),
            ab,
            2,
            "SharedKeys.required is 4 with 3 shares",
        ),
        (
            "alg.json",
            changed(&|v| v["SharedKeys"]["key_algorithm"] = "sharks".into()),
            ab,
            2,
            "SharedKeys.key_algorithm is 'sharks'",
        ),
        (
            "noshared.json",
            changed(&|v| {
                v.as_object_mut().unwrap().remove("SharedKeys");
            }),
            ab,
            2,
            "missing 'SharedKeys'",
        ),
        (
            "jwe.json",
            changed(&|v| v["EncData"]["data"][0]["compact_jwe"] = "a.b.c".into()),
            ab,
            2,
            "EncData.data[0].compact_jwe: malformed JWE: 3 dot-separated parts",
        ),
        (
            "dup.json",
            changed(&|v| {
                v["SharedKeys"]["enc_shares"][1] = v["SharedKeys"]["enc_shares"][0].clone()
            }),
            ab,
            2,
            "a duplicated share",
        ),
        (
            "version.json",
            changed(&|v| v["version"] = 3.into()),
            ab,
            2,
            "version 3 is not supported",
        ),
        (
            "trunc.json",
            Some(serde_json::to_vec(&sd).unwrap()[..500].to_vec()),
            ab,
            2,
            "truncated JSON",
        ),
        ("empty.json", Some(Vec::new()), ab, 2, "file is empty"),
        (
            "binary.json",
            Some(vec![0x00, 0xff, 0x13, 0x37, 0x80]),
            ab,
            2,
            "not valid JSON",
        ),
        (
            "deep.json",
            Some(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes()),
            ab,
            2,
            "JSON nested too deeply",
        ),
        (
            "sd.json",
            None,
            "a.key",
            2,
            "the keys given open 1 share(s) but the quorum is 2; bring 1 more",
        ),
        (
            "sd.json",
            None,
            "a.key x.key",
            3,
            "x.key: its certificate (x5t_256",
        ),
        (
            "sd.json",
            None,
            "a.key a.key",
            2,
            "a.key and a.key hold the same wrapping key (SharedKeys.enc_shares[0])",
        ),
    ];
    for (name, content, keys, code, needle) in cases {
        assert_refused(&fx, name, content, keys, code, needle);
    }
}

#[test]
fn exchange_key_refusals() {
    let fx = setup();
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    fx.openssl(&["pkey", "-in", "x.key", "-pubout", "-out", "x.pub"]);
    fx.openssl_custodian("small", 1024);
    std::fs::write(fx.path("notjwk.json"), r#"{"hello": 1}"#).unwrap();
    let cases = [
        ("x.pub", 2, "x.pub: public key without a certificate"),
        (
            "small.cer",
            2,
            "small.cer: exchange key: RSA key of 1024 bits is too small",
        ),
        ("notjwk.json", 2, "notjwk.json: JSON is not a JWK"),
        ("missing.pem", 2, "missing.pem: cannot read"),
    ];
    for (exch, code, needle) in cases {
        let run = fx.run(&format!("sd restore-blob --sd-file sd.json --sd-exchange-key {exch} --sd-wrapping-keys a.key b.key --sd-file-restore-blob out.json"));
        run.assert_error(code, needle);
        assert!(!fx.path("out.json").exists());
    }
}

#[test]
fn rewrap_refusals_leave_no_output() {
    let fx = setup();
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    fx.openssl_custodian("small", 1024);
    std::fs::write(fx.path("taken.json"), "keep me").unwrap();
    let base = "sd rewrap --sd-file sd.json --sd-wrapping-keys a.key b.key";
    let cases = [
        (
            "--new-wrapping-keys c.cer d.cer e.cer --new-quorum 1 --out new.json",
            2,
            "quorum 1 with 3 certificates",
        ),
        (
            "--new-wrapping-keys c.cer d.cer e.cer --new-quorum 4 --out new.json",
            2,
            "quorum 4 with 3 certificates",
        ),
        (
            "--new-wrapping-keys c.cer d.cer --new-quorum 2 --out new.json",
            2,
            "2 wrapping certificates given; a security domain needs 3 to 10",
        ),
        (
            "--new-wrapping-keys c.cer d.cer d.cer --new-quorum 2 --out new.json",
            2,
            "carries the same key as an earlier one",
        ),
        (
            "--new-wrapping-keys c.cer d.cer small.cer --new-quorum 2 --out new.json",
            2,
            "RSA key of 1024 bits is too small",
        ),
        (
            "--new-wrapping-keys c.cer d.cer e.key --new-quorum 2 --out new.json",
            2,
            "e.key: holds no certificate",
        ),
        (
            "--new-wrapping-keys c.cer d.cer e.cer --new-quorum 2 --out taken.json",
            2,
            "taken.json: already exists",
        ),
    ];
    for (args, code, needle) in cases {
        fx.run(&format!("{base} {args}")).assert_error(code, needle);
        assert!(!fx.path("new.json").exists(), "{args}: output written");
    }
    assert_eq!(
        std::fs::read_to_string(fx.path("taken.json")).unwrap(),
        "keep me"
    );
}
