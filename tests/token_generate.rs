//! Custodian keys generated ON a PKCS#11 token (SoftHSM2, tokens this test initialises in
//! its own temporary directory with its own SOFTHSM2_CONF): the private key is sensitive
//! and not extractable (reading its private parts fails), the certificate is signed by
//! the token, is accepted by the openssl CLI (its self-signature checked), carries the
//! token's modulus, has the same profile as a file key's certificate, and is stored on the
//! token byte for byte as written to NAME.cer.
//!
//! SOFTHSM2_CONF is process-global: it is set once, before the module is loaded, and
//! every token is initialised then (each test has its own token, so tests may run in
//! parallel).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::{Decode, Encode, Tagged};
use sdctl::keys::generate::{self_signed_certificate, GenerateOptions};
use sdctl::keys::token::generate::{
    generate_on_token, key_protection, SignMechanism, TokenKeyRequest, TokenSignature, TokenSigner,
    ID_LEN, SHA256_WITH_RSA,
};
use sdctl::keys::token::{Pkcs11Uri, TokenError};
use sha1::{Digest, Sha1};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SO_PIN: &str = "87654321";
const USER_PIN: &str = "123456";
/// One token per test.
const TOKENS: [&str; 8] = [
    "alice",
    "profile",
    "sizes",
    "twice",
    "refused",
    "chosen-id",
    "extractable",
    "signer",
];

struct Softhsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    pkcs11: Pkcs11,
}

/// The SoftHSM2 directory, configuration, tokens and loaded module, made once.
fn softhsm() -> &'static Softhsm {
    static SOFTHSM: OnceLock<Softhsm> = OnceLock::new();
    SOFTHSM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        for label in TOKENS {
            let out = Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &conf)
                .args(["--init-token", "--free", "--label", label])
                .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
                .output()
                .unwrap();
            assert!(out.status.success(), "softhsm2-util: {out:?}");
        }
        // Before the module is loaded, and only here (the only place the variable is set).
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let pkcs11 = Pkcs11::new(MODULE).unwrap();
        pkcs11
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .unwrap();
        Softhsm { dir, conf, pkcs11 }
    })
}

/// A read-write session on the token labelled `label`, logged in as the user when `login`.
fn session(label: &str, login: bool) -> Session {
    let hsm = softhsm();
    let slot = hsm
        .pkcs11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| hsm.pkcs11.get_token_info(*s).unwrap().label() == label)
        .unwrap_or_else(|| panic!("token {label} not found"));
    let session = hsm.pkcs11.open_rw_session(slot).unwrap();
    if login {
        session
            .login(UserType::User, Some(&AuthPin::new(USER_PIN.into())))
            .unwrap();
    }
    session
}

fn options(days: u32) -> GenerateOptions {
    GenerateOptions {
        bits: 2048,
        days,
        subject: vec![
            ("O".into(), "Contoso".into()),
            ("OU".into(), "HSM custodians".into()),
        ],
    }
}

fn token_uri(label: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(&format!("pkcs11:token={label}")).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn pkcs11_tool(token: &str, args: &[&str]) -> std::process::Output {
    Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &softhsm().conf)
        .args(["--module", MODULE, "--token-label", token])
        .args(args)
        .output()
        .unwrap()
}

fn value_of(session: &Session, handle: ObjectHandle, what: AttributeType) -> Option<Attribute> {
    session
        .get_attributes(handle, &[what])
        .unwrap()
        .into_iter()
        .next()
}

fn bytes_of(session: &Session, handle: ObjectHandle, what: AttributeType) -> Vec<u8> {
    match value_of(session, handle, what) {
        Some(
            Attribute::Value(v)
            | Attribute::Modulus(v)
            | Attribute::Label(v)
            | Attribute::Id(v)
            | Attribute::Subject(v),
        ) => v,
        other => panic!("{what:?}: {other:?}"),
    }
}

/// Every object on the token with this label, by class.
fn objects_labelled(session: &Session, label: &str) -> BTreeMap<String, Vec<ObjectHandle>> {
    let mut by_class: BTreeMap<String, Vec<ObjectHandle>> = BTreeMap::new();
    for h in session
        .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
        .unwrap()
    {
        let class = match value_of(session, h, AttributeType::Class) {
            Some(Attribute::Class(c)) => c.to_string(),
            other => panic!("class: {other:?}"),
        };
        by_class.entry(class).or_default().push(h);
    }
    by_class
}

/// Extensions as (OID, critical, value) in certificate order.
fn extensions(der: &[u8]) -> Vec<(String, bool, Vec<u8>)> {
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    cert.tbs_certificate
        .extensions
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.extn_id.to_string(), e.critical, e.extn_value.into_bytes()))
        .collect()
}

#[test]
fn key_stays_on_token_and_certificate_is_token_signed() {
    let label = "alice";
    let session = session(label, true);
    let opts = options(365);
    let mut request = TokenKeyRequest::new("alice", 2048, &opts);
    request.uri = Some(token_uri(label));
    let made = generate_on_token(&session, &request).unwrap();

    // Names and ids.
    assert_eq!(made.label, "sdctl-alice");
    assert_eq!(made.id.len(), ID_LEN);
    assert_eq!(made.id_hex(), hex(&made.id));
    assert_eq!(made.bits, 2048);
    assert_eq!(made.uri.token.as_deref(), Some("alice"));
    assert_eq!(made.uri.object.as_deref(), Some("sdctl-alice"));
    assert_eq!(made.uri.id.as_deref(), Some(made.id.as_slice()));
    let objects = objects_labelled(&session, "sdctl-alice");
    assert_eq!(
        objects.keys().cloned().collect::<Vec<_>>(),
        [
            ObjectClass::CERTIFICATE.to_string(),
            ObjectClass::PRIVATE_KEY.to_string(),
            ObjectClass::PUBLIC_KEY.to_string()
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    for handles in objects.values() {
        assert_eq!(handles.len(), 1);
        assert_eq!(bytes_of(&session, handles[0], AttributeType::Id), made.id);
    }

    // The private key: sensitive, never extractable, and its private parts unreadable.
    let p = made.protection;
    assert!(p.sensitive && !p.extractable && p.private, "{p:?}");
    assert_eq!(p.always_sensitive, Some(true));
    assert_eq!(p.never_extractable, Some(true));
    let secret_parts = [
        AttributeType::Value,
        AttributeType::PrivateExponent,
        AttributeType::Prime1,
        AttributeType::Prime2,
        AttributeType::Exponent1,
        AttributeType::Exponent2,
        AttributeType::Coefficient,
    ];
    let info = session
        .get_attribute_info(made.private_key, &secret_parts)
        .unwrap();
    for (what, info) in secret_parts.iter().zip(&info) {
        assert!(
            matches!(info, AttributeInfo::Sensitive | AttributeInfo::TypeInvalid),
            "{what:?} of the private key: {info:?}"
        );
    }
    assert!(
        matches!(info[1], AttributeInfo::Sensitive),
        "CKA_PRIVATE_EXPONENT must be refused as sensitive: {:?}",
        info[1]
    );
    let read = session
        .get_attributes(made.private_key, &secret_parts)
        .unwrap();
    assert!(read.is_empty(), "the token gave out {read:?}");
    // pkcs11-tool, asked independently, says the same.
    let out = pkcs11_tool(
        label,
        &[
            "--login",
            "--pin",
            USER_PIN,
            "--list-objects",
            "--type",
            "privkey",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let listing = String::from_utf8_lossy(&out.stdout);
    for want in [
        "label:      sdctl-alice",
        "Usage:      decrypt, sign, unwrap",
        "Access:     sensitive, always sensitive, never extractable, local",
    ] {
        assert!(listing.contains(want), "missing {want:?} in\n{listing}");
    }
    assert!(
        listing.contains(&format!("ID:         {}", made.id_hex())),
        "{listing}"
    );
    // The key works on the token (so it is a real key, not an empty shell).
    let signature = session
        .sign(&Mechanism::Sha256RsaPkcs, made.private_key, b"probe")
        .unwrap();
    assert_eq!(signature.len(), 256);

    // The certificate file, as `keys generate` writes it.
    let dir = softhsm().dir.path().join("out-alice");
    std::fs::create_dir_all(&dir).unwrap();
    let cer = dir.join("alice.cer");
    std::fs::write(&cer, made.certificate.to_pem()).unwrap();
    let cer_s = cer.to_str().unwrap();
    let text = openssl(&["x509", "-in", cer_s, "-noout", "-text"]);
    assert!(text.status.success(), "{text:?}");
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "Version: 3 (0x2)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "Issuer: O = Contoso, OU = HSM custodians, CN = alice",
        "Subject: O = Contoso, OU = HSM custodians, CN = alice",
        "Public-Key: (2048 bit)",
        "Exponent: 65537 (0x10001)",
        "X509v3 Basic Constraints: critical",
        "CA:FALSE",
        "X509v3 Key Usage: critical",
        "Key Encipherment",
        "X509v3 Subject Key Identifier:",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("Digital Signature"), "{text}");
    let verify = openssl(&["verify", "-check_ss_sig", "-CAfile", cer_s, cer_s]);
    assert!(verify.status.success(), "{verify:?}");
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout).trim(),
        format!("{cer_s}: OK")
    );
    // The check is real: a certificate with one bit of its signature flipped fails it.
    let mut bad = made.certificate.der().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let bad_path = dir.join("bad.cer");
    std::fs::write(&bad_path, &bad).unwrap();
    let bad_s = bad_path.to_str().unwrap();
    let bad_verify = openssl(&[
        "verify",
        "-check_ss_sig",
        "-inform",
        "DER",
        "-CAfile",
        cer_s,
        bad_s,
    ]);
    assert!(!bad_verify.status.success(), "{bad_verify:?}");

    // The certificate on the token is the file, byte for byte (read by cryptoki and by
    // pkcs11-tool, which needs no login for it).
    let cert_object = objects[&ObjectClass::CERTIFICATE.to_string()][0];
    assert_eq!(cert_object, made.certificate_object);
    let on_token = bytes_of(&session, cert_object, AttributeType::Value);
    assert_eq!(on_token, made.certificate.der());
    let out = pkcs11_tool(
        label,
        &["--read-object", "--type", "cert", "--id", &made.id_hex()],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, made.certificate.der());
    let subject = x509_cert::Certificate::from_der(made.certificate.der())
        .unwrap()
        .tbs_certificate
        .subject
        .to_der()
        .unwrap();
    assert_eq!(
        bytes_of(&session, cert_object, AttributeType::Subject),
        subject
    );

    // The modulus in the certificate is the token's CKA_MODULUS (of both key objects as
    // far as the private key shows it).
    let public_object = objects[&ObjectClass::PUBLIC_KEY.to_string()][0];
    let modulus = bytes_of(&session, public_object, AttributeType::Modulus);
    let x509 = openssl::x509::X509::from_der(made.certificate.der()).unwrap();
    let cert_n = x509.public_key().unwrap().rsa().unwrap().n().to_vec();
    assert_eq!(cert_n, modulus);
    assert_eq!(
        bytes_of(&session, made.private_key, AttributeType::Modulus),
        modulus
    );
    let out = openssl(&["x509", "-in", cer_s, "-noout", "-modulus"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Modulus={}", hex(&modulus).to_uppercase())
    );

    // Profile details: serial positive and at most 159+1 bits, SKI = SHA-1 of the key
    // bits, signature sha256WithRSAEncryption with NULL parameters, validity = days.
    let cert = x509_cert::Certificate::from_der(made.certificate.der()).unwrap();
    let serial = cert.tbs_certificate.serial_number.as_bytes();
    assert!(!serial.is_empty() && serial.len() <= 20 && serial[0] & 0x80 == 0);
    assert_eq!(cert.signature_algorithm.oid, SHA256_WITH_RSA);
    assert_eq!(
        cert.signature_algorithm
            .parameters
            .as_ref()
            .map(|p| p.tag()),
        Some(der::Tag::Null)
    );
    assert_eq!(cert.tbs_certificate.signature, cert.signature_algorithm);
    let spki_bits = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let ski = extensions(made.certificate.der())
        .into_iter()
        .find(|(oid, _, _)| oid == "2.5.29.14")
        .unwrap()
        .2;
    let mut want_ski = vec![0x04, 20];
    want_ski.extend_from_slice(&Sha1::digest(spki_bits));
    assert_eq!(ski, want_ski);
    let lifetime = made.certificate.not_after().unix_duration().as_secs()
        - made.certificate.not_before().unix_duration().as_secs();
    assert_eq!(lifetime, 365 * 86_400);
    assert!(made.certificate.days_left(std::time::SystemTime::now()) >= 364);

    // The public key and the certificate are public objects: seen without login; the
    // private key is not.
    drop(session);
    let anonymous = self::session(label, false);
    let seen = objects_labelled(&anonymous, "sdctl-alice");
    assert!(seen.contains_key(&ObjectClass::CERTIFICATE.to_string()));
    assert!(seen.contains_key(&ObjectClass::PUBLIC_KEY.to_string()));
    assert!(!seen.contains_key(&ObjectClass::PRIVATE_KEY.to_string()));
}

#[test]
fn same_profile_as_a_file_key() {
    let opts = options(730);
    let session = session("profile", true);
    let made = generate_on_token(&session, &TokenKeyRequest::new("bob", 2048, &opts)).unwrap();
    let file_key =
        openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let file_cert = self_signed_certificate("bob", &file_key, &opts).unwrap();

    let token_cert = x509_cert::Certificate::from_der(made.certificate.der()).unwrap();
    let file_x509 = x509_cert::Certificate::from_der(file_cert.der()).unwrap();
    assert_eq!(
        token_cert.tbs_certificate.version,
        file_x509.tbs_certificate.version
    );
    assert_eq!(
        token_cert.tbs_certificate.subject.to_der().unwrap(),
        file_x509.tbs_certificate.subject.to_der().unwrap(),
        "same subject encoding"
    );
    assert_eq!(
        token_cert.tbs_certificate.issuer,
        token_cert.tbs_certificate.subject
    );
    assert_eq!(
        token_cert.signature_algorithm,
        file_x509.signature_algorithm
    );
    // Same extensions, same order and criticality; basicConstraints and keyUsage also
    // byte for byte (the SKI differs with the key).
    let token_ext = extensions(made.certificate.der());
    let file_ext = extensions(file_cert.der());
    let shape = |e: &[(String, bool, Vec<u8>)]| {
        e.iter()
            .map(|(oid, critical, _)| (oid.clone(), *critical))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&token_ext), shape(&file_ext));
    assert_eq!(token_ext[..2], file_ext[..2]);
    assert_eq!(made.certificate.key_encipherment(), Some(true));
    assert_eq!(
        made.certificate.not_after().unix_duration().as_secs()
            - made.certificate.not_before().unix_duration().as_secs(),
        file_cert.not_after().unix_duration().as_secs()
            - file_cert.not_before().unix_duration().as_secs()
    );
}

#[test]
fn larger_keys() {
    let opts = options(30);
    let session = session("sizes", true);
    for (name, bits) in [("carol", 3072u32), ("dave", 4096)] {
        let made = generate_on_token(&session, &TokenKeyRequest::new(name, bits, &opts)).unwrap();
        assert_eq!(made.bits, bits);
        assert_eq!(made.certificate.public_key().info().bits, Some(bits));
        let x509 = openssl::x509::X509::from_der(made.certificate.der()).unwrap();
        assert!(x509.verify(&x509.public_key().unwrap()).unwrap());
        let modulus = bytes_of(&session, made.public_key, AttributeType::Modulus);
        assert_eq!(modulus.len() * 8, bits as usize);
    }
}

#[test]
fn a_second_key_with_the_same_name_is_refused_and_the_first_kept() {
    let session = session("twice", true);
    let opts = options(30);
    let first = generate_on_token(&session, &TokenKeyRequest::new("erin", 2048, &opts)).unwrap();
    let err = generate_on_token(&session, &TokenKeyRequest::new("erin", 2048, &opts)).unwrap_err();
    assert!(matches!(err, TokenError::Unusable { .. }), "{err:?}");
    assert!(err.to_string().contains("already holds"), "{err}");
    assert_eq!(err.exit_code() as i32, 2);
    // A fresh name with the first key's id is refused too.
    let mut same_id = TokenKeyRequest::new("frank", 2048, &opts);
    same_id.id = Some(first.id.clone());
    let err = generate_on_token(&session, &same_id).unwrap_err();
    assert!(matches!(err, TokenError::Unusable { .. }), "{err:?}");
    let objects = objects_labelled(&session, "sdctl-erin");
    assert_eq!(objects.values().map(Vec::len).sum::<usize>(), 3);
    assert!(objects_labelled(&session, "sdctl-frank").is_empty());
    assert_eq!(
        bytes_of(&session, first.certificate_object, AttributeType::Value),
        first.certificate.der()
    );
}

#[test]
fn bad_requests_are_refused_before_the_token_is_touched() {
    let session = session("refused", true);
    let opts = options(30);
    let cases: Vec<(TokenKeyRequest, &str)> = vec![
        (TokenKeyRequest::new("grace", 1024, &opts), "--bits 1024"),
        (
            TokenKeyRequest::new("../grace", 2048, &opts),
            "not a usable custodian name",
        ),
        (
            TokenKeyRequest::new("", 2048, &opts),
            "not a usable custodian name",
        ),
        (
            TokenKeyRequest {
                id: Some(Vec::new()),
                ..TokenKeyRequest::new("grace", 2048, &opts)
            },
            "empty CKA_ID",
        ),
    ];
    let zero_days = options(0);
    let mut cases = cases;
    cases.push((TokenKeyRequest::new("grace", 2048, &zero_days), "--days 0"));
    for (request, want) in cases {
        let err = generate_on_token(&session, &request).unwrap_err();
        assert!(matches!(err, TokenError::Unusable { .. }), "{err:?}");
        assert!(err.to_string().contains(want), "{err} lacks {want}");
    }
    assert!(session.find_objects(&[]).unwrap().is_empty());
}

#[test]
fn a_chosen_id_is_used_on_all_three_objects() {
    let session = session("chosen-id", true);
    let opts = options(30);
    let mut request = TokenKeyRequest::new("heidi", 2048, &opts);
    request.id = Some(vec![0x01, 0x02, 0xA0]);
    let made = generate_on_token(&session, &request).unwrap();
    assert_eq!(made.id_hex(), "0102a0");
    assert!(
        made.uri.to_string().contains("id=%01%02%A0"),
        "{}",
        made.uri
    );
    let by_id = session
        .find_objects(&[Attribute::Id(vec![0x01, 0x02, 0xA0])])
        .unwrap();
    assert_eq!(by_id.len(), 3);
    for h in by_id {
        assert_eq!(bytes_of(&session, h, AttributeType::Label), b"sdctl-heidi");
    }
}

#[test]
fn an_extractable_key_is_refused() {
    let session = session("extractable", true);
    let common = |private: bool| {
        let mut a = vec![
            Attribute::Token(true),
            Attribute::Label(b"sdctl-leaky".to_vec()),
            Attribute::Id(vec![9]),
        ];
        if private {
            a.extend([
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Decrypt(true),
            ]);
        } else {
            a.extend([
                Attribute::ModulusBits(2048u64.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Encrypt(true),
            ]);
        }
        a
    };
    let (_, private) = session
        .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &common(false), &common(true))
        .unwrap();
    let err = key_protection(
        &session,
        private,
        "pkcs11:token=extractable;object=sdctl-leaky",
    )
    .unwrap_err();
    assert!(matches!(err, TokenError::Extractable { .. }), "{err:?}");
    assert_eq!(err.exit_code() as i32, 2);
    assert!(err.to_string().contains("never leave its token"), "{err}");
    // Only sensitive-but-extractable is also refused.
    session
        .update_attributes(private, &[Attribute::Sensitive(true)])
        .unwrap();
    let err = key_protection(&session, private, "x").unwrap_err();
    assert!(matches!(err, TokenError::Extractable { .. }), "{err:?}");
}

#[test]
fn the_host_digest_fallback_makes_the_same_signature() {
    let session = session("signer", true);
    let opts = options(30);
    let made = generate_on_token(&session, &TokenKeyRequest::new("ivan", 2048, &opts)).unwrap();
    let x509 = openssl::x509::X509::from_der(made.certificate.der()).unwrap();
    let public = x509.public_key().unwrap();
    let spki = public.public_key_to_der().unwrap();
    let message = b"to be signed";
    let mut signatures = Vec::new();
    for mechanism in [
        SignMechanism::Sha256RsaPkcs,
        SignMechanism::RsaPkcsHostDigest,
    ] {
        let signer =
            TokenSigner::with_mechanism(&session, made.private_key, spki.clone(), mechanism);
        let signature: TokenSignature = signature::Signer::try_sign(&signer, message).unwrap();
        assert_eq!(signer.mechanism(), mechanism);
        let mut verifier =
            openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public).unwrap();
        verifier.update(message).unwrap();
        assert!(
            verifier.verify(signature.as_bytes()).unwrap(),
            "{mechanism:?}"
        );
        signatures.push(signature.as_bytes().to_vec());
    }
    // PKCS#1 v1.5 signatures are deterministic: both ways give the same bytes.
    assert_eq!(signatures[0], signatures[1]);
    // The default signer uses the token's own SHA-256 mechanism when it has one.
    let signer = TokenSigner::new(&session, made.private_key, spki);
    let _: TokenSignature = signature::Signer::try_sign(&signer, message).unwrap();
    assert_eq!(signer.mechanism(), SignMechanism::Sha256RsaPkcs);
}
