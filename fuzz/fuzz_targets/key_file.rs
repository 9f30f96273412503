//! Key and certificate files (PEM, DER, PKCS#1, PKCS#8, legacy encrypted PEM, PKCS#12):
//! parse any bytes and open what they hold with a passphrase, as `--sd-wrapping-keys` does.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sdctl::keys::private::{describe_items, open_encoded, open_private_key};
use sdctl::keys::{Certificate, Item, KeyFile, PublicKey};
use sdctl::passphrase::{Passphrase, PassphraseFile, PassphraseSource};
use sdctl_fuzz::scratch;

const PASSPHRASE: &str = "fuzzing passphrase";

fn passphrases() -> &'static PassphraseSource {
    static SOURCE: OnceLock<PassphraseSource> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = scratch().join("passphrase.txt");
        std::fs::write(&path, format!("{PASSPHRASE}\n")).expect("passphrase file");
        PassphraseSource::File(PassphraseFile::read(&path).expect("reading the passphrase file"))
    })
}

fn key_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| scratch().join("fuzz.key"))
}

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.key");
    if let Ok(file) = KeyFile::parse(name, data) {
        let _ = describe_items(&file.items);
        let passphrase = Passphrase::new(PASSPHRASE.into());
        for item in &file.items {
            if let Item::PrivateKey(key) = item {
                let _ = open_encoded(name, key, Some(&passphrase));
            }
        }
    }
    let _ = Certificate::from_der(data);
    let _ = PublicKey::from_spki_der(data);
    let _ = PublicKey::from_pkcs1_der(data);
    // The whole path from a file, PKCS#12 included.
    std::fs::write(key_path(), data).expect("scratch write");
    let _ = open_private_key(key_path(), 0, passphrases());
});
