//! Every RSA public key sdctl encrypts to is checked where it is loaded (modulus of at least
//! 2048 bits and odd; exponent odd, at least 65537, below 2^32), and an exchange key's
//! `x5t_256` is always computed from its certificate. Weak keys are made with the openssl
//! CLI where it will make them (exponent 3, a 1024-bit modulus); the others (exponent 1,
//! even exponents, a huge exponent, an even modulus) are certificates built here with
//! x509-cert around a hand-made SubjectPublicKeyInfo and signed with an openssl-made key.

mod common;

use std::fs;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Fixture, Run};
use der::{Decode, Encode};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use sdctl::primitives::base64url;
use serde_json::json;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// rsaEncryption.
const RSA_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The custodians a, b, c, d (2048 bits), a 2-of-3 domain for a, b, c, and the good
/// exchange key x.
fn setup() -> Fixture {
    let fx = Fixture::new();
    for n in ["a", "b", "c", "d", "x"] {
        fx.openssl_custodian(n, 2048);
    }
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    fx
}

/// The modulus and exponent of the RSA key in PEM private-key file `key`.
fn numbers(fx: &Fixture, key: &str) -> (Vec<u8>, Vec<u8>) {
    let pkey = PKey::private_key_from_pem(&fs::read(fx.path(key)).unwrap()).unwrap();
    let rsa = pkey.rsa().unwrap();
    (rsa.n().to_vec(), rsa.e().to_vec())
}

/// A SubjectPublicKeyInfo DER for RSA numbers `n`, `e`, encoded by hand.
fn spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let pkcs1 = pkcs1::RsaPublicKey {
        modulus: der::asn1::UintRef::new(n).unwrap(),
        public_exponent: der::asn1::UintRef::new(e).unwrap(),
    }
    .to_der()
    .unwrap();
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_OID,
            parameters: Some(der::Any::null()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&pkcs1).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// A certificate for `n`, `e`: the openssl-made certificate `template` with its key
/// replaced and its signature made again with `signer` (the template's own key).
fn certificate_der(fx: &Fixture, template: &str, signer: &str, n: &[u8], e: &[u8]) -> Vec<u8> {
    let pem = fs::read_to_string(fx.path(template)).unwrap();
    let (_, der) = pem_der(&pem);
    let mut cert = x509_cert::Certificate::from_der(&der).unwrap();
    cert.tbs_certificate.subject_public_key_info =
        SubjectPublicKeyInfoOwned::from_der(&spki_der(n, e)).unwrap();
    let tbs = cert.tbs_certificate.to_der().unwrap();
    let key = PKey::private_key_from_pem(&fs::read(fx.path(signer)).unwrap()).unwrap();
    let mut sign = Signer::new(MessageDigest::sha256(), &key).unwrap();
    sign.update(&tbs).unwrap();
    cert.signature = der::asn1::BitString::from_bytes(&sign.sign_to_vec().unwrap()).unwrap();
    cert.to_der().unwrap()
}

/// The label and DER of the one PEM block in `text`.
fn pem_der(text: &str) -> (String, Vec<u8>) {
    let begin = text.find("-----BEGIN ").unwrap();
    let rest = &text[begin + 11..];
    let label = rest[..rest.find("-----").unwrap()].to_owned();
    let body_start = rest.find('\n').unwrap() + 1;
    let body_end = rest.find("-----END ").unwrap();
    let b64: String = rest[body_start..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (label, STANDARD.decode(b64).unwrap())
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Writes NAME.cer (PEM certificate), NAME.pub (PEM public key) and NAME.json (JWK with
/// x5c) for the certificate DER `cert`.
fn write_forms(fx: &Fixture, name: &str, cert: &[u8]) {
    fs::write(fx.path(&format!("{name}.cer")), pem("CERTIFICATE", cert)).unwrap();
    let parsed = x509_cert::Certificate::from_der(cert).unwrap();
    let spki = parsed
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    fs::write(fx.path(&format!("{name}.pub")), pem("PUBLIC KEY", &spki)).unwrap();
    let bits = parsed
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let key = pkcs1::RsaPublicKey::from_der(&bits).unwrap();
    let jwk = json!({
        "kty": "RSA",
        "key_ops": ["wrapKey", "encrypt"],
        "n": base64url::encode(key.modulus.as_bytes()),
        "e": base64url::encode(key.public_exponent.as_bytes()),
        "x5c": [STANDARD.encode(cert)],
    });
    fx.write_json(&format!("{name}.json"), &jwk);
}

/// The weak keys, each as (name, what the refusal says), in the three forms.
fn weak_keys(fx: &Fixture) -> Vec<(&'static str, &'static str)> {
    // openssl makes these two itself.
    fx.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-pkeyopt",
        "rsa_keygen_pubexp:3",
        "-out",
        "e3.key",
    ]);
    fx.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "e3.key",
        "-subj",
        "/CN=e3",
        "-days",
        "30",
        "-out",
        "e3.openssl.cer",
    ]);
    fx.openssl_custodian("n1024.openssl", 1024);
    for name in ["e3", "n1024"] {
        let text = fs::read_to_string(fx.path(&format!("{name}.openssl.cer"))).unwrap();
        write_forms(fx, name, &pem_der(&text).1);
    }
    // The rest openssl will not make: the good key x's modulus with a bad exponent, or its
    // modulus made even, in a certificate signed by x's own key.
    let (n, _) = numbers(fx, "x.key");
    let mut even_n = n.clone();
    *even_n.last_mut().unwrap() &= 0xfe;
    let hand: [(&str, Vec<u8>, Vec<u8>); 5] = [
        ("e1", n.clone(), vec![1]),
        ("e65536", n.clone(), vec![1, 0, 0]),
        ("e65538", n.clone(), vec![1, 0, 2]),
        ("ehuge", n.clone(), vec![1, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("neven", even_n, vec![1, 0, 1]),
    ];
    for (name, n, e) in hand {
        let cert = certificate_der(fx, "x.cer", "x.key", &n, &e);
        write_forms(fx, name, &cert);
    }
    vec![
        ("e1", "RSA public exponent 1 is too small"),
        ("e3", "RSA public exponent 3 is too small"),
        ("e65536", "RSA public exponent 65536 is even"),
        ("e65538", "RSA public exponent 65538 is even"),
        ("ehuge", "RSA public exponent of 65 bits is too large"),
        ("n1024", "RSA key of 1024 bits is too small"),
        ("neven", "RSA modulus is even"),
    ]
}

/// Exit 2 and exactly one `sdctl:` line naming `file` and saying `reason`.
fn assert_refused(run: &Run, what: &str, file: &str, reason: &str) {
    assert_eq!(run.code, 2, "{what}: {}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: want one stderr line: {:?}",
        run.stderr
    );
    assert!(lines[0].starts_with("sdctl: "), "{what}: {}", lines[0]);
    assert!(
        lines[0].contains(file) && lines[0].contains(reason),
        "{what}: {:?} should name {file} and say {reason:?}",
        lines[0]
    );
}

#[test]
fn weak_keys_are_refused_wherever_they_are_loaded() {
    let fx = setup();
    let table = weak_keys(&fx);
    // The good key passes through the same paths (the refusals below are the check's).
    let good = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key x.cer --sd-wrapping-keys a.key b.key --sd-file-restore-blob good.json");
    assert_eq!(good.code, 0, "{}", good.stderr);
    let same_key = certificate_der(&fx, "x.cer", "x.key", &numbers(&fx, "x.key").0, &[1, 0, 1]);
    write_forms(&fx, "xhand", &same_key);
    let hand_good = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key xhand.json --sd-wrapping-keys a.key b.key --sd-file-restore-blob hand.json");
    assert_eq!(
        hand_good.code, 0,
        "a hand-built certificate of a good key: {}",
        hand_good.stderr
    );
    let inspect = fx.run("keys inspect xhand.cer --output json");
    assert!(inspect.json()["result"]["files"][0]["items"][0]["wrapping_key_problem"].is_null());
    fs::write(fx.path("secret.bin"), b"a secret to split among custodians").unwrap();
    // The hand-built certificate of a good key is taken by every command below.
    for line in [
        "sd rewrap --sd-file sd.json --sd-wrapping-keys a.key b.key --new-wrapping-keys c.cer d.cer xhand.cer --new-quorum 2 --out rewrapped.json",
        "keys check --sd-wrapping-keys a.cer b.cer xhand.cer",
        "shares split --threshold 2 --shares 3 --in secret.bin --out-dir good-split --to-certs a.cer b.cer xhand.cer",
        "sd share-export --sd-file sd.json --key a.key --to xhand.cer --out good-export.jwe",
    ] {
        let run = fx.run(line);
        assert_eq!(run.code, 0, "{line}: {}{}", run.stdout, run.stderr);
    }

    for (name, reason) in &table {
        let cer = format!("{name}.cer");
        for exch in [cer.clone(), format!("{name}.pub"), format!("{name}.json")] {
            let run = fx.run(&format!("sd restore-blob --sd-file sd.json --sd-exchange-key {exch} --sd-wrapping-keys a.key b.key --sd-file-restore-blob blob.json"));
            assert_refused(&run, "sd restore-blob", &exch, reason);
            assert!(!fx.path("blob.json").exists());
        }
        let run = fx.run(&format!("sd rewrap --sd-file sd.json --sd-wrapping-keys a.key b.key --new-wrapping-keys c.cer d.cer {cer} --new-quorum 2 --out new.json"));
        assert_refused(&run, "sd rewrap", &cer, reason);
        assert!(!fx.path("new.json").exists());

        let run = fx.run(&format!("keys check --sd-wrapping-keys a.cer b.cer {cer}"));
        assert_refused(&run, "keys check", &cer, reason);

        let run = fx.run(&format!("shares split --threshold 2 --shares 3 --in secret.bin --out-dir split --to-certs a.cer b.cer {cer}"));
        assert_refused(&run, "shares split --to-certs", &cer, reason);
        assert!(!fx.path("split").exists() || fx.listing("split").is_empty());

        let run = fx.run(&format!(
            "sd share-export --sd-file sd.json --key a.key --to {cer} --out export.jwe"
        ));
        assert_refused(&run, "sd share-export --to", &cer, reason);
        assert!(!fx.path("export.jwe").exists());

        // `keys inspect` reads the key without refusing it, and names the same problem.
        for file in [cer.clone(), format!("{name}.pub")] {
            let run = fx.run(&format!("keys inspect {file} --output json"));
            assert_eq!(run.code, 0, "keys inspect {file}: {}", run.stderr);
            let item = &run.json()["result"]["files"][0]["items"][0];
            let problem = item["wrapping_key_problem"].as_str().unwrap_or_default();
            assert!(problem.contains(reason), "keys inspect {file}: {item}");
        }

        #[cfg(feature = "online")]
        hsm_download_refused(&fx, &cer, reason);
    }
}

/// `hsm download` refuses the certificate before any connection: the HSM URL is a
/// listener of this test that must see no connection at all.
#[cfg(feature = "online")]
fn hsm_download_refused(fx: &Fixture, cer: &str, reason: &str) {
    use std::os::unix::fs::PermissionsExt;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "https://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let token = fx.path("hsm.token");
    fs::write(&token, "not.a.token").unwrap();
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
    let run = fx.sdctl(&[
        "hsm",
        "download",
        "--sd-wrapping-keys",
        "a.cer",
        "b.cer",
        cer,
        "--sd-quorum",
        "2",
        "--security-domain-file",
        "downloaded.json",
        "--hsm-url",
        &url,
        "--access-token-file",
        "hsm.token",
    ]);
    assert_refused(&run, "hsm download", cer, reason);
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "hsm download connected to the HSM before refusing {cer}"
    );
    assert!(!fx.path("downloaded.json").exists());
}

/// The restore blob's `WrappedKey.x5t_256` of `blob`.
fn blob_x5t(fx: &Fixture, blob: &str) -> String {
    fx.read_json(blob)["WrappedKey"]["x5t_256"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_exchange_key_thumbprint_is_computed_never_read() {
    let fx = setup();
    fx.openssl(&["x509", "-in", "x.cer", "-outform", "DER", "-out", "x.der"]);
    let digest = fx.openssl(&["dgst", "-sha256", "-binary", "x.der"]).stdout;
    let computed = base64url::encode(&digest);
    let der = fs::read(fx.path("x.der")).unwrap();
    let (n, e) = numbers(&fx, "x.key");
    let (other_n, other_e) = numbers(&fx, "d.key");
    let d_der = pem_der(&fs::read_to_string(fx.path("d.cer")).unwrap()).1;
    let d_thumb = base64url::encode(&openssl::sha::sha256(&d_der));
    let jwk = |n: &[u8], e: &[u8], x5c: Option<&[u8]>, x5t: &str| {
        let mut jwk = json!({"kty": "RSA", "n": base64url::encode(n), "e": base64url::encode(e), "x5t#S256": x5t});
        if let Some(der) = x5c {
            jwk["x5c"] = json!([STANDARD.encode(der)]);
        }
        jwk
    };
    let restore = |exch: &str, out: &str| {
        fx.run(&format!("sd restore-blob --sd-file sd.json --sd-exchange-key {exch} --sd-wrapping-keys a.key b.key --sd-file-restore-blob {out}"))
    };

    // A forged x5t#S256 (d's thumbprint) beside x's certificate: the computed one is used.
    fx.write_json("forged.json", &jwk(&n, &e, Some(&der), &d_thumb));
    let run = restore("forged.json", "forged-blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(blob_x5t(&fx, "forged-blob.json"), computed);
    assert!(run.stdout.contains(&computed), "{}", run.stdout);
    // The same inside a transfer-key response, transfer_key as a JSON string.
    let response =
        json!({"key_format": "jwk", "transfer_key": jwk(&n, &e, Some(&der), "AAAA").to_string()});
    fx.write_json("response.json", &response);
    let run = restore("response.json", "response-blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(blob_x5t(&fx, "response-blob.json"), computed);
    // And from the PEM certificate.
    assert_eq!(restore("x.cer", "pem-blob.json").code, 0);
    assert_eq!(blob_x5t(&fx, "pem-blob.json"), computed);

    // n/e of another key beside x's certificate: refused (both numbers, and each alone).
    for (file, n, e) in [
        ("swapped.json", &other_n, &other_e),
        ("swapped-n.json", &other_n, &e),
        ("swapped-e.json", &n, &vec![1u8, 0, 0, 0, 1]),
    ] {
        fx.write_json(file, &jwk(n, e, Some(&der), &computed));
        let run = restore(file, "refused.json");
        assert_refused(
            &run,
            "n/e against x5c",
            file,
            "JWK n/e do not match the certificate in x5c[0]",
        );
        assert!(!fx.path("refused.json").exists());
    }
    // Only one of n and e (which alone could not be compared): refused.
    for drop in ["e", "n"] {
        let mut half = jwk(&other_n, &other_e, Some(&der), &computed);
        half.as_object_mut().unwrap().remove(drop);
        fx.write_json("half.json", &half);
        let run = restore("half.json", "refused.json");
        assert_refused(&run, "half a key", "half.json", "only one of 'n' and 'e'");
    }
    // The attacker's key with x's genuine thumbprint and no certificate: refused, as is a
    // bare PEM public key (nothing binds either to the new HSM).
    fx.write_json("no-x5c.json", &jwk(&other_n, &other_e, None, &computed));
    let run = restore("no-x5c.json", "refused.json");
    assert_refused(
        &run,
        "JWK without x5c",
        "no-x5c.json",
        "JWK without a certificate",
    );
    fx.openssl(&["pkey", "-in", "x.key", "-pubout", "-out", "x.pub"]);
    let run = restore("x.pub", "refused.json");
    assert_refused(
        &run,
        "PEM public key",
        "x.pub",
        "public key without a certificate",
    );
    assert!(!fx.path("refused.json").exists());
}
