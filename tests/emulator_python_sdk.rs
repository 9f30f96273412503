//! The emulator driven by Microsoft's official Python SDK clients, unchanged
//! (azure-keyvault-securitydomain, -administration, -keys and azure-identity from PyPI, pinned
//! in tests/interop/sdk-requirements.txt and installed by `tests/interop/setup.sh sdk`).
//! The scripts in tests/interop/sdk/ sign in with `ClientSecretCredential` at the emulator's
//! authority; the only accommodations are trusting the emulator's CA and
//! `verify_challenge_resource=False`. What they report is checked here independently:
//! security domains with `sdctl sd verify`, signatures with the openssl CLI, recoveries by
//! the emulator's own status and by the keys found afterwards.

#![cfg(feature = "online")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::emulator::TestEmulator;
use common::interop::{az_restore_blob, repo_file, sdk_venv};
use common::Fixture;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use sdctl::primitives::base64url;
use serde_json::Value;

const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";
const CRYPTO_OFFICER: &str = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778";

/// Runs `tests/interop/sdk/SCRIPT` against HSM `hsm` (bounded: 5 minutes); its JSON.
fn sdk(e: &TestEmulator, script: &str, hsm: &str, args: &[&str]) -> Value {
    let out = Command::new("timeout")
        .arg("300")
        .arg(sdk_venv().join("bin/python"))
        .arg(repo_file(&format!("tests/interop/sdk/{script}")))
        .arg("--state-dir")
        .arg(&e.dir)
        .args(["--hsm", hsm])
        .args(args)
        .env("REQUESTS_CA_BUNDLE", e.dir.join("ca.pem"))
        .env_remove("SSL_CERT_FILE")
        .env_remove("AZURE_AUTHORITY_HOST")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{script}: {err}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Custodians a, b, c made by the openssl CLI.
fn custodians() -> Fixture {
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    fx
}

/// `download` through the SDK as the first call of a fresh process; the SD is checked by sdctl.
fn download(e: &TestEmulator, fx: &Fixture, hsm: &str, out: &str, asynchronous: bool) {
    let (a, b, c, sd) = (
        fx.path("a.cer"),
        fx.path("b.cer"),
        fx.path("c.cer"),
        fx.path(out),
    );
    let mut args = vec![
        "download",
        "--cert",
        path(&a),
        "--cert",
        path(&b),
        "--cert",
        path(&c),
    ];
    args.extend(["--quorum", "2", "--out", path(&sd)]);
    if asynchronous {
        args.push("--async");
    }
    let result = sdk(e, "sd.py", hsm, &args);
    assert_eq!(result["download"]["status"], "Success", "{result}");
    let run = fx.run(&format!(
        "sd verify --sd-file {out} --sd-wrapping-keys a.key c.key"
    ));
    assert_eq!(
        run.code, 0,
        "sdctl sd verify of the SDK's SD: {}",
        run.stderr
    );
}

/// The exchange key the SDK fetched, as the certificate file az takes.
fn exchange_certificate(fx: &Fixture, transfer: &str, out: &str) {
    let key: Value = serde_json::from_slice(&std::fs::read(fx.path(transfer)).unwrap()).unwrap();
    let jwk: Value = match &key["transfer_key"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(jwk["x5c"][0].as_str().unwrap())
        .unwrap();
    let pem = openssl::x509::X509::from_der(&der)
        .unwrap()
        .to_pem()
        .unwrap();
    std::fs::write(fx.path(out), pem).unwrap();
}

#[test]
fn security_domain_download_upload_and_a_full_restore_through_the_sdk() {
    let e = TestEmulator::start(&["source", "async-source", "by-sdctl", "by-az"]);
    let fx = custodians();
    // begin_download is the very first call of each process, sync and async.
    download(&e, &fx, "source", "sd.json", false);
    download(&e, &fx, "async-source", "sd-async.json", true);
    // Keys made before the loss, and a full backup of them, through the SDK.
    for h in ["source", "by-sdctl", "by-az"] {
        e.assign(h, &e.admin_oid(), CRYPTO_USER, "/");
        e.assign(h, &e.admin_oid(), CRYPTO_OFFICER, "/keys");
    }
    let lifecycle = sdk(&e, "keys.py", "source", &["lifecycle"]);
    assert_eq!(lifecycle["final"], serde_json::json!(["sdk-ec", "sdk-rsa"]));
    let storage = fx.path("storage/container");
    std::fs::create_dir_all(&storage).unwrap();
    let url = format!("file://{}", storage.display());
    let backup = sdk(&e, "backup.py", "source", &["backup", "--storage", &url]);
    assert_eq!(backup["status"], "Succeeded");
    let folder_url = backup["folder_url"].as_str().unwrap().to_owned();
    let key_blob = fx.path("sdk-rsa.blob");
    sdk(
        &e,
        "keys.py",
        "source",
        &["backup", "--name", "sdk-rsa", "--out", path(&key_blob)],
    );

    // Recovery onto a new HSM with a restore blob made by sdctl, uploaded by the sync client.
    sdk(
        &e,
        "sd.py",
        "by-sdctl",
        &["transfer-key", "--out", path(&fx.path("t1.json"))],
    );
    let run = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key t1.json --sd-wrapping-keys a.key c.key --sd-file-restore-blob blob1.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let up = sdk(
        &e,
        "sd.py",
        "by-sdctl",
        &["upload", "--blob", path(&fx.path("blob1.json"))],
    );
    assert_eq!(up["upload"]["status"], "Success", "{up}");
    // ... and one made by the Azure CLI, uploaded by the async client.
    sdk(
        &e,
        "sd.py",
        "by-az",
        &["transfer-key", "--out", path(&fx.path("t2.json"))],
    );
    exchange_certificate(&fx, "t2.json", "t2.cer");
    az_restore_blob(&fx, "sd.json", "t2.cer", &["b.key", "c.key"], "blob2.json");
    let up = sdk(
        &e,
        "sd.py",
        "by-az",
        &["upload", "--async", "--blob", path(&fx.path("blob2.json"))],
    );
    assert_eq!(up["upload"]["status"], "Success", "{up}");
    // The emulator's own status agrees.
    let status = format!("{}/securitydomain/upload/pending", e.hsm("by-az"));
    assert_eq!(e.get_json(&status, &e.admin_token())["status"], "Success");

    // The full backup restores into the recovered HSM, and the keys are there again.
    let restored = sdk(
        &e,
        "backup.py",
        "by-sdctl",
        &["restore", "--folder-url", &folder_url],
    );
    assert_eq!(restored["status"], "Succeeded");
    let k = e.get_json(
        &format!("{}/keys/sdk-rsa", e.hsm("by-sdctl")),
        &e.admin_token(),
    );
    assert_eq!(k["key"]["kty"], "RSA-HSM", "{k}");
    // The single-key backup restores into the other recovered HSM (same security domain).
    let one = sdk(
        &e,
        "keys.py",
        "by-az",
        &["restore", "--blob", path(&key_blob)],
    );
    assert_eq!(one["properties"]["name"], "sdk-rsa");
    // Getting past the security domain: the async source has another one; refused.
    e.assign("async-source", &e.admin_oid(), CRYPTO_USER, "/");
    let out = Command::new("timeout")
        .arg("300")
        .arg(sdk_venv().join("bin/python"))
        .arg(repo_file("tests/interop/sdk/keys.py"))
        .arg("--state-dir")
        .arg(&e.dir)
        .args([
            "--hsm",
            "async-source",
            "restore",
            "--blob",
            path(&key_blob),
        ])
        .env("REQUESTS_CA_BUNDLE", e.dir.join("ca.pem"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a key backup opened under another security domain"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("different security domain"));
}

#[test]
fn key_client_serves_the_whole_life_of_keys() {
    let e = TestEmulator::start(&["alpha"]);
    e.activate("alpha");
    e.assign("alpha", &e.admin_oid(), CRYPTO_USER, "/");
    e.assign("alpha", &e.admin_oid(), CRYPTO_OFFICER, "/keys");
    let r = sdk(&e, "keys.py", "alpha", &["lifecycle"]);
    let base = e.hsm("alpha");
    let created = r["created"].as_array().unwrap();
    let kinds: Vec<&str> = created.iter().map(|k| k["kty"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RSA-HSM", "EC-HSM", "oct-HSM"]);
    for k in created {
        let id = k["properties"]["id"].as_str().unwrap();
        assert!(id.starts_with(&format!("{base}/keys/")), "{id}");
        assert_eq!(k["properties"]["version"].as_str().unwrap().len(), 32);
    }
    assert_eq!(created[0]["properties"]["tags"]["app"], "sdk");
    assert_eq!(r["rsa_n_bytes"], 384);
    assert_eq!(r["ec_x_bytes"], 48);
    // A Managed HSM makes only HSM keys: the SDK's hardware_protected=False is refused.
    assert_eq!(r["software_key"]["status"], 400);
    assert_eq!(
        r["get_current"]["properties"]["version"],
        r["second_version"]["properties"]["version"]
    );
    assert_eq!(
        r["get_first"]["properties"]["version"],
        created[0]["properties"]["version"]
    );
    assert_eq!(r["versions"].as_array().unwrap().len(), 2);
    assert_eq!(
        r["listed"],
        serde_json::json!(["sdk-ec", "sdk-oct", "sdk-rsa"])
    );
    let updated = &r["updated"];
    assert_eq!(updated["properties"]["enabled"], false);
    assert_eq!(updated["properties"]["tags"]["state"], "off");
    assert_eq!(updated["key_ops"], serde_json::json!(["verify"]));
    assert!(updated["properties"]["expires_on"].as_f64().unwrap() > 0.0);
    assert_eq!(r["random_bytes"], 32);
    assert_eq!(
        r["deleted"]["recovery_id"],
        format!("{base}/deletedkeys/sdk-ec")
    );
    assert_eq!(r["get_after_delete"], "not found");
    assert_eq!(r["deleted_listed"], serde_json::json!(["sdk-ec"]));
    assert_eq!(r["recovered"]["kty"], "EC-HSM");
    assert_eq!(r["after_purge"], serde_json::json!([]));
    assert_eq!(r["final"], serde_json::json!(["sdk-ec", "sdk-rsa"]));
    // The emulator agrees: the purged key is gone for good.
    let gone = e
        .get(&format!("{base}/deletedkeys/sdk-oct"), &e.admin_token())
        .send()
        .unwrap();
    assert_eq!(gone.status(), 404);
}

/// The PEM public key of a JWK the SDK returned.
fn public_pem(jwk: &Value) -> Vec<u8> {
    let b = |f: &str| {
        BigNum::from_slice(&base64url::decode(jwk[f].as_str().unwrap()).unwrap()).unwrap()
    };
    let key = if jwk["kty"] == "EC" {
        let nid = match jwk["crv"].as_str().unwrap() {
            "P-256" => Nid::X9_62_PRIME256V1,
            "P-384" => Nid::SECP384R1,
            _ => Nid::SECP521R1,
        };
        let group = EcGroup::from_curve_name(nid).unwrap();
        PKey::from_ec_key(
            EcKey::from_public_key_affine_coordinates(&group, &b("x"), &b("y")).unwrap(),
        )
        .unwrap()
    } else {
        PKey::from_rsa(Rsa::from_public_components(b("n"), b("e")).unwrap()).unwrap()
    };
    key.public_key_to_pem().unwrap()
}

#[test]
fn cryptography_client_round_trips_and_openssl_verifies_its_signatures() {
    let e = TestEmulator::start(&["alpha"]);
    e.activate("alpha");
    e.assign("alpha", &e.admin_oid(), CRYPTO_USER, "/");
    let r = sdk(&e, "crypto.py", "alpha", &[]);
    let trips = r["roundtrips"].as_array().unwrap();
    let algs: Vec<&str> = trips.iter().map(|t| t["alg"].as_str().unwrap()).collect();
    for want in [
        "RSA1_5",
        "RSA-OAEP",
        "RSA-OAEP-256",
        "wrap RSA-OAEP-256",
        "A128GCM",
        "A192CBC",
        "A256CBCPAD",
        "A128KW",
        "A256KW",
    ] {
        assert!(algs.contains(&want), "{want} missing from {algs:?}");
    }
    for t in trips {
        assert_eq!(t["ok"], true, "{t}");
        if t.get("iv_bytes").is_some() {
            assert_eq!(
                (t["iv_bytes"].as_u64(), t["tag_bytes"].as_u64()),
                (Some(12), Some(16))
            );
        }
    }
    let fx = Fixture::new();
    let sigs = r["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 9);
    for (i, s) in sigs.iter().enumerate() {
        let alg = s["alg"].as_str().unwrap();
        assert_eq!(s["verified"], true, "{alg}");
        assert_eq!(s["verified_other_digest"], false, "{alg}");
        std::fs::write(fx.path("pub.pem"), public_pem(&s["jwk"])).unwrap();
        let digest = base64url::decode(s["digest"].as_str().unwrap()).unwrap();
        std::fs::write(fx.path("digest.bin"), &digest).unwrap();
        let raw = base64url::decode(s["signature"].as_str().unwrap()).unwrap();
        let sig = if alg.starts_with("ES") {
            let half = raw.len() / 2;
            let r = BigNum::from_slice(&raw[..half]).unwrap();
            let s = BigNum::from_slice(&raw[half..]).unwrap();
            EcdsaSig::from_private_components(r, s)
                .unwrap()
                .to_der()
                .unwrap()
        } else {
            raw
        };
        std::fs::write(fx.path("sig.bin"), &sig).unwrap();
        let md = format!("digest:sha{}", &alg[2..]);
        let mut args = vec![
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "digest.bin",
            "-sigfile",
            "sig.bin",
            "-pkeyopt",
            &md,
        ];
        if alg.starts_with("PS") {
            args.extend([
                "-pkeyopt",
                "rsa_padding_mode:pss",
                "-pkeyopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
        let verify = || {
            Command::new("openssl")
                .args(&args)
                .current_dir(fx.dir.path())
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let out = verify();
        assert!(
            out.status.success(),
            "openssl does not verify {alg} ({i}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A changed digest does not verify: the check can fail.
        let mut other = digest.clone();
        other[0] ^= 1;
        std::fs::write(fx.path("digest.bin"), &other).unwrap();
        assert!(
            !verify().status.success(),
            "{alg} verified a changed digest"
        );
    }
}

#[test]
fn access_control_client_manages_definitions_and_assignments() {
    let e = TestEmulator::start(&["alpha"]);
    e.activate("alpha");
    let r = sdk(
        &e,
        "roles.py",
        "alpha",
        &["--principal", "55555555-5555-5555-5555-555555555555"],
    );
    for builtin in [
        "Managed HSM Administrator",
        "Managed HSM Crypto Officer",
        "Managed HSM Crypto User",
        "Managed HSM Crypto Auditor",
    ] {
        assert!(
            r["definitions"]
                .as_array()
                .unwrap()
                .contains(&Value::from(builtin)),
            "{builtin}"
        );
    }
    assert_eq!(r["custom"]["role_name"], "sdk reader");
    assert_eq!(r["custom"]["type"], "CustomRole");
    assert_eq!(r["custom"]["not_data_actions"], serde_json::json!([]));
    assert_eq!(r["assignment"]["scope"], "/keys");
    assert_eq!(
        r["assignment"]["principal"],
        "55555555-5555-5555-5555-555555555555"
    );
    let name = r["assignment"]["name"].clone();
    assert!(r["assignments_listed"].as_array().unwrap().contains(&name));
    assert!(!r["after_delete"].as_array().unwrap().contains(&name));
    assert!(!r["definitions_after"]
        .as_array()
        .unwrap()
        .contains(&r["custom"]["name"]));
}
