//! Ceremony plan files (TOML): parse, then every derived view a ceremony reads.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sdctl::ceremony::plan::Plan;

fuzz_target!(|data: &[u8]| {
    let Ok(plan) = Plan::parse(Path::new("/ceremony/plan.toml"), data) else {
        return;
    };
    let _ = plan.custodian_names();
    let _ = plan.quorum_custodians();
    let _ = plan.recovery_hsm();
    let _ = plan.generate_options();
    let _ = plan.output_dir();
});
