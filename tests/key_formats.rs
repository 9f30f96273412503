//! Every key format openssl writes, made with the openssl CLI the way users make them, and
//! loaded by the library; and the reverse: openssl accepts what sdctl writes.

mod common;

use std::path::Path;

use common::Fixture;
use sdctl::keys::{load_certificate, load_wrapping_key, KeyError, PublicKey};
use sdctl::passphrase::{PassphraseFile, PassphraseSource};
use sdctl::ExitCode;

const PASS: &str = "custodian passphrase 42";

/// A fixture with `base.key` (PKCS#8 PEM, unencrypted) and `base.cer`, and a passphrase file.
fn base() -> Fixture {
    let fx = Fixture::new();
    fx.openssl_custodian("base", 2048);
    fx.pass_file("pass.txt", &[PASS]);
    fx
}

fn with_pass(fx: &Fixture) -> PassphraseSource {
    PassphraseSource::File(PassphraseFile::read(&fx.path("pass.txt")).unwrap())
}

fn base_public(fx: &Fixture) -> PublicKey {
    load_certificate(&fx.path("base.cer"))
        .unwrap()
        .public_key()
        .clone()
}

/// Loads `file` and checks it is the base key, with a certificate found at `cert` (if any).
fn assert_loads(fx: &Fixture, file: &str, cert: Option<&str>) {
    let key = load_wrapping_key(&fx.path(file), 0, &with_pass(fx))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(key.key.public_key(), &base_public(fx), "{file}");
    assert_eq!(key.key.public_key().info().bits, Some(2048));
    assert_eq!(
        key.certificate_path.as_deref(),
        cert.map(|c| fx.path(c)).as_deref(),
        "{file}: certificate"
    );
    if let Some(c) = &key.certificate {
        assert!(key.key.matches(c));
    }
}

#[test]
fn pkcs8_pem_plain_from_openssl_req() {
    let fx = base();
    assert_loads(&fx, "base.key", Some("base.cer"));
}

#[test]
fn pkcs1_traditional_aes256_encrypted_from_genrsa() {
    let fx = Fixture::new();
    fx.pass_file("pass.txt", &[PASS]);
    fx.genrsa_legacy("pass.txt", "t.key");
    let head = std::fs::read_to_string(fx.path("t.key")).unwrap();
    assert!(
        head.contains("DEK-Info: AES-256-CBC"),
        "not legacy-encrypted PEM"
    );
    fx.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "t.key",
        "-passin",
        "file:pass.txt",
        "-subj",
        "/CN=t",
        "-out",
        "t.crt",
    ]);
    let key = load_wrapping_key(&fx.path("t.key"), 0, &with_pass(&fx)).unwrap();
    assert_eq!(
        key.certificate_path.as_deref(),
        Some(fx.path("t.crt").as_path())
    );
}

#[test]
fn pkcs1_plain_pem_and_der() {
    let fx = base();
    fx.openssl(&["rsa", "-in", "base.key", "-traditional", "-out", "p1.key"]);
    fx.openssl(&[
        "rsa",
        "-in",
        "base.key",
        "-traditional",
        "-outform",
        "DER",
        "-out",
        "p1.der",
    ]);
    assert!(std::fs::read_to_string(fx.path("p1.key"))
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    assert_loads(&fx, "p1.key", None);
    assert_loads(&fx, "p1.der", None);
}

#[test]
fn pkcs8_encrypted_des3_pbes2() {
    let fx = base();
    fx.pkcs8_encrypt("base.key", "pass.txt", "d3.key", &["-v2", "des3"]);
    assert_loads(&fx, "d3.key", None);
}

#[test]
fn pkcs8_encrypted_aes_and_scrypt_pem_and_der() {
    let fx = base();
    fx.pkcs8_encrypt("base.key", "pass.txt", "aes.key", &["-v2", "aes-256-cbc"]);
    fx.pkcs8_encrypt("base.key", "pass.txt", "scrypt.key", &["-scrypt"]);
    fx.pkcs8_encrypt(
        "base.key",
        "pass.txt",
        "aes.der",
        &["-v2", "aes-256-cbc", "-outform", "DER"],
    );
    fx.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-aes-256-cbc",
        "-pass",
        "file:pass.txt",
        "-out",
        "gen.key",
    ]);
    assert_loads(&fx, "aes.key", None);
    assert_loads(&fx, "scrypt.key", None);
    assert_loads(&fx, "aes.der", None);
    let gen = load_wrapping_key(&fx.path("gen.key"), 0, &with_pass(&fx)).unwrap();
    assert_eq!(gen.key.public_key().info().bits, Some(2048));
}

/// Every PBES2 variant openssl writes with PBKDF2 (each PRF, each CBC cipher, PEM and DER)
/// is opened to the same key, and refused with a wrong passphrase; an encrypted EC key
/// opens and is refused as not RSA, as the unencrypted one is.
#[test]
fn pbes2_prfs_and_ciphers_open_and_refuse_wrong_passphrases() {
    let fx = base();
    let variants: [(&str, &[&str]); 6] = [
        ("sha1-des3.key", &["-v2", "des3", "-v2prf", "hmacWithSHA1"]),
        (
            "sha224-aes256.key",
            &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA224"],
        ),
        (
            "sha384-aes192.key",
            &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA384"],
        ),
        (
            "sha512-aes128.key",
            &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
        ),
        ("iter5000.key", &["-v2", "aes-256-cbc", "-iter", "5000"]),
        (
            "sha512-aes128.der",
            &[
                "-v2",
                "aes-128-cbc",
                "-v2prf",
                "hmacWithSHA512",
                "-outform",
                "DER",
            ],
        ),
    ];
    fx.pass_file("wrong.txt", &["not the passphrase"]);
    let wrong = PassphraseSource::File(PassphraseFile::read(&fx.path("wrong.txt")).unwrap());
    for (file, args) in variants {
        fx.pkcs8_encrypt("base.key", "pass.txt", file, args);
        assert_loads(&fx, file, None);
        let err = load_wrapping_key(&fx.path(file), 0, &wrong).unwrap_err();
        assert!(
            matches!(err, KeyError::WrongPassphrase { .. }),
            "{file}: {err}"
        );
    }
    fx.openssl_ec_key("ec.key", &["-aes-256-cbc", "-pass", "file:pass.txt"]);
    let err = load_wrapping_key(&fx.path("ec.key"), 0, &with_pass(&fx)).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::BadInput, "{err}");
    assert!(
        err.to_string()
            .contains("EC P-256 key: Managed HSM wrapping keys must be RSA"),
        "{err}"
    );
    let err = load_wrapping_key(&fx.path("ec.key"), 0, &wrong).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err}");
}

#[test]
fn pkcs8_der_plain_and_der_certificate_beside() {
    let fx = base();
    fx.openssl(&[
        "pkey", "-in", "base.key", "-outform", "DER", "-out", "k.der",
    ]);
    fx.openssl(&[
        "x509", "-in", "base.cer", "-outform", "DER", "-out", "k.cer",
    ]);
    assert_loads(&fx, "k.der", Some("k.cer"));
}

#[test]
fn pkcs12_modern_and_legacy_carry_their_certificate() {
    let fx = base();
    fx.pkcs12_export("base.key", "base.cer", "pass.txt", "c.pfx", &[]);
    fx.pkcs12_export(
        "base.key",
        "base.cer",
        "pass.txt",
        "legacy.p12",
        &["-legacy"],
    );
    assert_loads(&fx, "c.pfx", Some("c.pfx"));
    assert_loads(&fx, "legacy.p12", Some("legacy.p12"));
}

#[test]
fn pem_bundle_from_pkcs12_nodes_with_bag_attributes() {
    let fx = base();
    fx.pkcs12_export("base.key", "base.cer", "pass.txt", "c.pfx", &[]);
    fx.openssl(&[
        "pkcs12",
        "-in",
        "c.pfx",
        "-passin",
        "file:pass.txt",
        "-nodes",
        "-out",
        "bundle.pem",
    ]);
    let text = std::fs::read_to_string(fx.path("bundle.pem")).unwrap();
    assert!(text.contains("Bag Attributes"));
    assert_loads(&fx, "bundle.pem", Some("bundle.pem"));
}

#[test]
fn wrong_passphrase_is_a_crypto_failure() {
    let fx = base();
    fx.pkcs8_encrypt("base.key", "pass.txt", "aes.key", &["-v2", "aes-256-cbc"]);
    fx.pkcs12_export("base.key", "base.cer", "pass.txt", "c.pfx", &[]);
    fx.pass_file("wrong.txt", &["not the passphrase"]);
    // The right passphrase with a NUL after it: OpenSSL's C-string passwords would stop
    // at the NUL and accept it; sdctl must not.
    let right = std::fs::read_to_string(fx.path("pass.txt")).unwrap();
    fx.pass_file("nul.txt", &[&format!("{}\0x", right.trim_end())]);
    let cases = ["wrong.txt", "nul.txt"]
        .map(|f| PassphraseSource::File(PassphraseFile::read(&fx.path(f)).unwrap()));
    for (file, wrong) in ["aes.key", "c.pfx"]
        .iter()
        .flat_map(|f| cases.iter().map(move |c| (*f, c)))
    {
        let err = load_wrapping_key(&fx.path(file), 0, wrong).unwrap_err();
        assert!(
            matches!(err, KeyError::WrongPassphrase { .. }),
            "{file}: {err}"
        );
        assert_eq!(err.exit_code(), ExitCode::Crypto);
        assert!(err.to_string().contains(file) && err.to_string().contains("wrong passphrase"));
    }
}

#[test]
fn encrypted_key_without_passphrase_source_asks_for_a_file() {
    let fx = base();
    fx.pkcs8_encrypt("base.key", "pass.txt", "aes.key", &["-v2", "aes-256-cbc"]);
    let err =
        load_wrapping_key(&fx.path("aes.key"), 0, &PassphraseSource::Unavailable).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert!(err.to_string().contains("--passphrase-file"), "{err}");
}

#[test]
fn refusals_ec_small_rsa_mismatch_truncated() {
    let fx = base();
    fx.openssl_ec_key("ec.key", &[]);
    fx.openssl_custodian("small", 1024);
    fx.openssl_custodian("other", 2048);
    // A key next to somebody else's certificate.
    std::fs::copy(fx.path("base.key"), fx.path("swap.key")).unwrap();
    std::fs::copy(fx.path("other.cer"), fx.path("swap.cer")).unwrap();
    let text = std::fs::read_to_string(fx.path("base.key")).unwrap();
    std::fs::write(fx.path("cut.key"), &text[..text.len() / 2]).unwrap();

    let none = PassphraseSource::Unavailable;
    let cases: [(&str, ExitCode, &str); 4] = [
        (
            "ec.key",
            ExitCode::BadInput,
            "EC P-256 key: Managed HSM wrapping keys must be RSA",
        ),
        (
            "small.key",
            ExitCode::BadInput,
            "RSA key of 1024 bits is too small",
        ),
        ("swap.key", ExitCode::Crypto, "does not match certificate"),
        ("cut.key", ExitCode::BadInput, "truncated PEM"),
    ];
    for (file, code, needle) in cases {
        let err = load_wrapping_key(&fx.path(file), 0, &none).unwrap_err();
        assert_eq!(err.exit_code(), code, "{file}: {err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&fx.path(file).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains(needle), "{file}: {msg}");
    }
}

#[test]
fn openssl_reads_what_sdctl_writes() {
    let fx = Fixture::new();
    fx.pass_file(
        "pw.txt",
        &[
            "alpha custodian secret",
            "bravo custodian secret",
            "charlie custodian secret",
        ],
    );
    let run = fx.generate_keys("set", "pw.txt", &["--names", "alpha,bravo,charlie"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.path("set/manifest.json")).unwrap())
            .unwrap();
    for (i, name) in ["alpha", "bravo", "charlie"].iter().enumerate() {
        let line = format!("{name} custodian secret");
        fx.pass_file("one.txt", &[&line]);
        let key = format!("set/{name}.key");
        let cert = format!("set/{name}.cer");
        fx.openssl(&["pkey", "-in", &key, "-passin", "file:one.txt", "-noout"]);
        let text = fx.openssl(&["x509", "-in", &cert, "-noout", "-text"]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Version: 3"));
        assert!(text.contains("sha256WithRSAEncryption"));
        assert!(text.contains("Key Encipherment"));
        assert!(text.contains("CA:FALSE"));
        let fp = fx.openssl(&["x509", "-in", &cert, "-noout", "-fingerprint", "-sha256"]);
        let fp = String::from_utf8_lossy(&fp.stdout);
        let hex = fp.trim().split_once('=').unwrap().1;
        let entry = &manifest["custodians"][i];
        assert_eq!(entry["sha256_fingerprint"], hex, "{name}");
        assert_eq!(entry["key_file"], format!("{name}.key"));
        // x5t_256 is the same digest, unpadded base64url.
        let digest: Vec<u8> = hex
            .split(':')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        assert_eq!(
            entry["x5t_256"],
            sdctl::primitives::base64url::encode(&digest),
            "{name}"
        );
        // A wrong passphrase is refused by openssl too: the key really is encrypted.
        fx.pass_file("bad.txt", &["wrong"]);
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-in", &key, "-passin", "file:bad.txt", "-noout"])
            .current_dir(fx.dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert_eq!(common::mode_of(Path::new(&fx.path(&key))), 0o600);
        assert_eq!(common::mode_of(Path::new(&fx.path(&cert))), 0o644);
        // And sdctl loads its own output with the same passphrase.
        let src = PassphraseSource::File(PassphraseFile::read(&fx.path("one.txt")).unwrap());
        let loaded = load_wrapping_key(&fx.path(&key), 0, &src).unwrap();
        assert_eq!(
            loaded.certificate_path.as_deref(),
            Some(fx.path(&cert).as_path())
        );
    }
}

/// Whether a key's derivation is costly is read from its PBES2 parameters before any
/// passphrase: openssl's default PBKDF2 count (2,048) is cheap, sdctl's 600,000 and scrypt
/// are costly (only costly keys are opened on several threads).
#[test]
fn the_cost_of_a_keys_derivation_is_read_before_it_is_opened() {
    use sdctl::keys::{Item, KeyFile};
    let fx = base();
    let pass = format!("pass:{PASS}");
    let cases: [(&str, &[&str], bool); 4] = [
        ("default.key", &["-v2", "aes-256-cbc"], false),
        (
            "strong.key",
            &["-v2", "aes-256-cbc", "-iter", "600000"],
            true,
        ),
        (
            "border.key",
            &["-v2", "aes-256-cbc", "-iter", "99999"],
            false,
        ),
        ("scrypt.key", &["-scrypt"], true),
    ];
    for (file, options, costly) in cases {
        let mut args = vec![
            "pkcs8", "-topk8", "-in", "base.key", "-out", file, "-passout", &pass,
        ];
        args.extend_from_slice(options);
        let out = fx.openssl(&args);
        assert!(out.status.success(), "{file}: {out:?}");
        let read = KeyFile::read(&fx.path(file)).unwrap();
        let key = read
            .items
            .iter()
            .find_map(|i| match i {
                Item::PrivateKey(k) => Some(k),
                _ => None,
            })
            .unwrap();
        assert_eq!(key.costly_kdf, costly, "{file}: {:?}", key.encryption);
        // And it opens.
        load_wrapping_key(&fx.path(file), 0, &with_pass(&fx)).unwrap();
    }
}

/// The parts of an encrypted PKCS#8 key this test rewrites (RFC 8018), read and written
/// with the `der` crate: only the PBKDF2 iteration count changes.
mod pbes2_der {
    use der::asn1::OctetString;
    use der::Sequence;
    use spki::AlgorithmIdentifierOwned;

    #[derive(Sequence)]
    pub struct EncryptedPrivateKeyInfo {
        pub algorithm: AlgorithmIdentifierOwned,
        pub data: OctetString,
    }

    #[derive(Sequence)]
    pub struct Pbes2 {
        pub kdf: AlgorithmIdentifierOwned,
        pub cipher: AlgorithmIdentifierOwned,
    }

    #[derive(Sequence)]
    pub struct Pbkdf2 {
        pub salt: OctetString,
        pub iterations: u32,
        #[asn1(optional = "true")]
        pub key_length: Option<u32>,
        #[asn1(optional = "true")]
        pub prf: Option<AlgorithmIdentifierOwned>,
    }
}

#[test]
fn an_iteration_count_openssl_cannot_run_is_refused_without_a_panic() {
    use der::{Decode, Encode};
    let fx = base();
    fx.pkcs8_encrypt(
        "base.key",
        "pass.txt",
        "key.der",
        &["-v2", "aes-256-cbc", "-outform", "DER"],
    );
    let der = std::fs::read(fx.path("key.der")).unwrap();
    let mut info = pbes2_der::EncryptedPrivateKeyInfo::from_der(&der).unwrap();
    let mut pbes2: pbes2_der::Pbes2 = info
        .algorithm
        .parameters
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    let mut pbkdf2: pbes2_der::Pbkdf2 = pbes2.kdf.parameters.as_ref().unwrap().decode_as().unwrap();
    assert_eq!(pbkdf2.iterations, 2048, "openssl's default count");
    // 2^31: one past what OpenSSL's PBKDF2 (a C int) can count; also the largest u32.
    for count in [0x8000_0000u32, u32::MAX] {
        pbkdf2.iterations = count;
        pbes2.kdf.parameters = Some(der::Any::encode_from(&pbkdf2).unwrap());
        info.algorithm.parameters = Some(der::Any::encode_from(&pbes2).unwrap());
        std::fs::write(fx.path("huge.der"), info.to_der().unwrap()).unwrap();
        let err = load_wrapping_key(&fx.path("huge.der"), 0, &with_pass(&fx)).unwrap_err();
        assert!(matches!(err, KeyError::Malformed { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("huge.der") && text.contains(&count.to_string()),
            "{text}"
        );
        assert_eq!(err.exit_code(), ExitCode::BadInput);
    }
    // The same rewrite with the largest count OpenSSL can run is not refused as malformed
    // (proved without running two billion iterations: the count is read, not run, when
    // the passphrase is missing).
    pbkdf2.iterations = 0x7fff_ffff;
    pbes2.kdf.parameters = Some(der::Any::encode_from(&pbkdf2).unwrap());
    info.algorithm.parameters = Some(der::Any::encode_from(&pbes2).unwrap());
    std::fs::write(fx.path("max.der"), info.to_der().unwrap()).unwrap();
    let err =
        load_wrapping_key(&fx.path("max.der"), 0, &PassphraseSource::Unavailable).unwrap_err();
    assert!(!matches!(err, KeyError::Malformed { .. }), "{err}");
}
