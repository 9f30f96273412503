//! Restore blobs and exchange keys: the client's parse, the HSM side's open (the emulator
//! opens uploads with this code), and the exchange-key JSON forms.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sdctl::domain::exchange;
use sdctl::domain::hsm::open_restore_blob;
use sdctl::domain::restore_blob::RestoreBlob;
use sdctl::hsm::security_domain::parse_restore_blob;
use sdctl_fuzz::rsa_key;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("restore-blob.json");
    if let Ok(blob) = RestoreBlob::from_json(data) {
        let _ = blob.upload_body();
        if let Ok(text) = blob.to_json() {
            let again = RestoreBlob::from_json(text.as_bytes())
                .unwrap_or_else(|e| panic!("sdctl cannot read the blob it wrote: {e}"));
            assert_eq!(
                again.to_json().ok(),
                Some(text),
                "blob changed on a round trip"
            );
        }
    }
    let _ = parse_restore_blob(path, data);
    let _ = open_restore_blob(path, data, rsa_key());
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = exchange::from_json(&value);
        let _ = exchange::transfer_key_jwk(&value);
    }
});
