//! Ceremony bundles (the files carried between the two machines): parse one of each kind
//! against a plan, check its MAC under a transfer code, then read the transcript and the
//! text it carries.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sdctl::ceremony::bundle::{carried_text, parse};
use sdctl::ceremony::plan::Plan;
use sdctl::ceremony::transcript::verify_text;
use sdctl::ceremony::transfer_code::TransferCode;

const KINDS: [&str; 4] = ["public", "security-domain", "exchange-key", "restore-blob"];

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let text = include_bytes!("../../docs/ceremonies/plan.example.toml");
        Plan::parse(Path::new("/ceremony/plan.toml"), text).expect("the example plan parses")
    })
}

fn code() -> &'static TransferCode {
    static CODE: OnceLock<TransferCode> = OnceLock::new();
    CODE.get_or_init(|| TransferCode::generate().expect("OpenSSL makes a transfer code"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bundle)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    // Let the input name its own ceremony and plan digest, so that parsing goes past the
    // plan checks.
    let mut plan = plan().clone();
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bundle) {
        if selector & 0x80 == 0 {
            if let Some(name) = value["ceremony"].as_str() {
                plan.ceremony.name = name.to_owned();
            }
            if let Some(sha) = value["plan_sha256"].as_str() {
                plan.sha256 = sha.to_owned();
            }
        }
    }
    let Ok(incoming) = parse(Path::new("bundle.json"), bundle, kind, &plan) else {
        return;
    };
    let _ = incoming.authenticate(code());
    let _ = verify_text(&incoming.transcript);
    for field in [
        "security_domain",
        "exchange_key_pem",
        "restore_blob",
        "certificates",
    ] {
        let _ = carried_text(&incoming, field);
    }
});
