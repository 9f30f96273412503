//! General shares (`sdctl shares`): binary records, the text form, the compact form, share
//! exports; and round trips of the text and compact encodings.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sdctl::domain::session::ExportFile;
use sdctl::shares::format::Share;
use sdctl::shares::sealed::looks_sealed;
use sdctl::shares::text::{from_compact, from_text, looks_compact, to_compact, to_text};

fuzz_target!(|data: &[u8]| {
    if let Ok(share) = Share::decode(data) {
        let _ = share.secret_len();
        let again = Share::decode(&share.encode()).expect("decoding an encoded share");
        assert_eq!(&again.encode()[..], &share.encode()[..]);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = looks_compact(text);
        let _ = looks_sealed(text);
        if let Ok(bytes) = from_text(text) {
            let _ = Share::decode(&bytes);
        }
        if let Ok(bytes) = from_compact(text) {
            let _ = Share::decode(&bytes);
        }
    }
    let _ = ExportFile::parse(Path::new("share.jwe"), data);
    if let Ok(text) = to_text(data, &["fuzz".into()]) {
        assert_eq!(&from_text(&text).expect("reading our own text")[..], data);
    }
    let compact = to_compact(data);
    assert_eq!(
        &from_compact(&compact).expect("reading our own compact form")[..],
        data
    );
});
