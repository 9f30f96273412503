//! The emulator's request handling, in process (no socket): one request per input, to a
//! route chosen by the first byte, with or without the administrator's token, on a fresh
//! copy of a prepared state (HSM `new` has issued a transfer key; HSM `live` is active).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::rsa::Rsa;
use openssl::x509::{X509Name, X509};
use sdctl::domain::activation::certificate_info;
use sdctl::emulator::InProcess;
use sdctl::keys::Certificate;
use sdctl_fuzz::scratch;

/// (method, path) for each selector value; the input's remaining bytes are the body.
const ROUTES: [(&str, &str); 16] = [
    ("POST", "/hsm/new/securitydomain/download?api-version=7.4"),
    ("POST", "/hsm/new/securitydomain/upload?api-version=7.4"),
    ("GET", "/hsm/new/securitydomain/upload?api-version=7.4"),
    ("PUT", "/hsm/live/providers/Microsoft.Authorization/roleDefinitions/4bd23610-cdcf-4971-bdee-bdc562cc28e4?api-version=7.4"),
    ("PUT", "/hsm/live/keys/providers/Microsoft.Authorization/roleDefinitions/x?api-version=7.4"),
    ("PUT", "/hsm/live/providers/Microsoft.Authorization/roleAssignments/9a7a0d2e-6b7c-4c54-9f0e-5f3b0e6b8c11?api-version=7.4"),
    ("POST", "/hsm/live/keys/fuzzkey/create?api-version=7.4"),
    ("POST", "/hsm/live/keys/restore?api-version=7.4"),
    ("POST", "/hsm/live/backup?api-version=7.4"),
    ("PUT", "/hsm/live/restore?api-version=7.4"),
    ("POST", "/_emulator/faults"),
    ("POST", "/tenant/oauth2/v2.0/token"),
    ("PUT", "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/managedHSMs/other"),
    ("POST", "/hsm/live/securitydomain/download?api-version=7.4"),
    ("GET", "/hsm/live/keys/fuzzkey?api-version=7.4"),
    ("DELETE", "/hsm/live/providers/Microsoft.Authorization/roleDefinitions/4bd23610-cdcf-4971-bdee-bdc562cc28e4?api-version=7.4"),
];

fn certificate(name: &str) -> Certificate {
    let key = openssl::pkey::PKey::from_rsa(Rsa::generate(2048).expect("RSA")).expect("PKey");
    let mut subject = X509Name::builder().expect("name");
    subject.append_entry_by_text("CN", name).expect("CN");
    let subject = subject.build();
    let mut x509 = X509::builder().expect("builder");
    x509.set_version(2).expect("version");
    x509.set_subject_name(&subject).expect("subject");
    x509.set_issuer_name(&subject).expect("issuer");
    x509.set_pubkey(&key).expect("public key");
    x509.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("nbf");
    x509.set_not_after(&Asn1Time::days_from_now(365).expect("time"))
        .expect("naf");
    x509.sign(&key, MessageDigest::sha256()).expect("sign");
    Certificate::from_der(&x509.build().to_der().expect("DER")).expect("our certificate")
}

/// The prepared state: `new` with a transfer key issued, `live` activated.
fn template() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("template");
        let hsms = ["new".to_owned(), "live".to_owned()];
        let emulator = InProcess::new(&dir, &hsms).expect("emulator state");
        let answer = emulator
            .request(
                "GET",
                "/hsm/new/securitydomain/upload?api-version=7.4",
                true,
                b"",
            )
            .expect("transfer key");
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let certs: Vec<(String, Certificate)> = ["a", "b", "c"]
            .iter()
            .map(|n| (n.to_string(), certificate(n)))
            .collect();
        let body = certificate_info(&certs, 2)
            .expect("download body")
            .to_string();
        let answer = emulator
            .request(
                "POST",
                "/hsm/live/securitydomain/download?api-version=7.4",
                true,
                body.as_bytes(),
            )
            .expect("download");
        assert_eq!(
            answer.status,
            202,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        dir
    })
}

fn fresh_copy(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("state copy");
    for entry in std::fs::read_dir(from).expect("template") {
        let entry = entry.expect("template entry");
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let template = template();
    let dir = scratch().join("state");
    fresh_copy(template, &dir);
    let emulator = InProcess::new(&dir, &[]).expect("emulator from a copied state");
    let (method, path) = ROUTES[usize::from(selector & 0x0f)];
    let authenticated = selector & 0x10 == 0;
    let answer = emulator
        .request(method, path, authenticated, body)
        .expect("the router answers every request");
    assert!(
        answer.status < 500,
        "{method} {path}: status {} for a client's request: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
});
