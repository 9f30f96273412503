//! Ceremony transcripts (`transcript.jsonl`): the hash-chain verifier on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdctl::ceremony::transcript::{verify_bytes, verify_text};

fuzz_target!(|data: &[u8]| {
    let bytes = verify_bytes(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(
            verify_text(text).is_ok(),
            bytes.is_ok(),
            "text and bytes verdicts differ"
        );
    }
});
