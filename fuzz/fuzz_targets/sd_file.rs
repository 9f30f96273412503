//! Security-domain JSON (bare or REST-wrapped): parse, inspect, and write back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdctl::domain::inspect::inspect;
use sdctl::domain::{SdFile, SecurityDomain};

fuzz_target!(|data: &[u8]| {
    let Ok((domain, wrapped)) = SecurityDomain::from_json(data) else {
        return;
    };
    let _ = domain.required();
    let _ = domain.shares();
    let file = SdFile {
        path: "fuzz.json".into(),
        sha256: String::new(),
        wrapped,
        domain,
    };
    let _ = inspect(&file, &[]);
    // What sdctl writes must read back as the same domain.
    if let Ok(text) = file.domain.to_json() {
        let (again, _) = SecurityDomain::from_json(text.as_bytes())
            .unwrap_or_else(|e| panic!("sdctl cannot read the SD it wrote: {e}"));
        assert_eq!(
            again.to_json().ok(),
            Some(text),
            "SD changed on a round trip"
        );
    }
});
