use std::path::Path;

use super::*;

const EMULATOR_PLAN: &str = r#"
[ceremony]
name = "rehearsal"
output_dir = "out"
machines = "one"

[hsm]
url = "https://127.0.0.1:8443/hsm/hsm-a"

[security_domain]
quorum = 2

[[custodian]]
name = "alice"
[[custodian]]
name = "bob"
[[custodian]]
name = "carol"
"#;

fn parse(text: &str) -> Result<Plan, PlanError> {
    Plan::parse(Path::new("/plans/plan.toml"), text.as_bytes())
}

fn refused(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("plan accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_documented_example_parses() {
    let text = include_str!("../../docs/ceremonies/plan.example.toml");
    let plan = parse(text).unwrap();
    assert_eq!(plan.custodian_names(), ["alice", "bob", "carol"]);
    assert_eq!(plan.domain.quorum, 2);
    assert_eq!(plan.ceremony.machines, Machines::Two);
    assert_eq!(plan.quorum_custodians(), ["alice", "bob"]);
    assert_eq!(plan.output_dir(), Path::new("/plans/ceremony"));
    assert_eq!(plan.keys.bits, 3072);
    // The recovery HSM is left commented out until a recovery needs it.
    assert!(plan.recovery.hsm.is_none());
    assert!(plan
        .recovery_hsm()
        .unwrap_err()
        .to_string()
        .contains("add [recovery] hsm"));
    assert_eq!(plan.generate_options().unwrap().subject.len(), 2);
}

/// The example turned into a one-machine rehearsal plan, as docs/ceremonies/rehearse.md
/// describes: `machines = "one"` and the emulator's URL for `[hsm]`.
fn example_for_one_machine() -> String {
    let text = include_str!("../../docs/ceremonies/plan.example.toml");
    let from_machines = "machines = \"two\"";
    let from_hsm = "name = \"contoso-prod-mhsm\"          # https:";
    assert!(text.contains(from_machines) && text.contains(from_hsm));
    text.replacen(from_machines, "machines = \"one\"", 1)
        .replacen(
            from_hsm,
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\" # was https:",
            1,
        )
}

#[test]
fn the_example_made_a_one_machine_rehearsal_parses() {
    let plan = parse(&example_for_one_machine()).unwrap();
    assert_eq!(plan.ceremony.machines, Machines::One);
}

#[test]
fn a_real_recovery_hsm_in_a_one_machine_plan_is_refused_naming_that_entry() {
    let text = example_for_one_machine().replacen(
        "# hsm = { name = \"contoso-dr-mhsm\"",
        "hsm = { name = \"contoso-dr-mhsm\"",
        1,
    );
    let message = refused(&text);
    assert!(
        message.starts_with(
            "/plans/plan.toml: [recovery] hsm (name = \"contoso-dr-mhsm\"): refused with [ceremony] machines = \"one\""
        ),
        "{message}"
    );
    assert!(message.contains("comment it out"), "{message}");
    // The emulator's URL there is accepted.
    let text = example_for_one_machine().replacen(
        "# hsm = { name = \"contoso-dr-mhsm\", cloud = \"AzureCloud\" }",
        "hsm = { url = \"https://127.0.0.1:8443/hsm/hsm-b\" }",
        1,
    );
    assert!(parse(&text).unwrap().recovery.hsm.is_some());
}

#[test]
fn a_one_machine_plan_against_the_emulator_parses_with_defaults() {
    let plan = parse(EMULATOR_PLAN).unwrap();
    assert_eq!(plan.domain.quorum_mode, QuorumMode::Together);
    assert_eq!(plan.keys.days, 730);
    assert_eq!(plan.sha256.len(), 64);
}

#[test]
fn unsafe_or_mistyped_plans_are_refused_with_the_reason() {
    let cases = [
        ("quorum = 2", "quorum = 1", "below 2"),
        ("quorum = 2", "quorum = 4", "only 3 custodians"),
        (
            "quorum = 2",
            "quorum = 2\nquorm_mode = \"together\"",
            "quorm_mode",
        ),
        (
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\"",
            "name = \"prod\"",
            "[hsm] (name = \"prod\"): refused with [ceremony] machines = \"one\"",
        ),
        (
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\"",
            "url = \"https://10.0.0.5/hsm/a\"",
            "[hsm] (url = \"https://10.0.0.5/hsm/a\"): refused",
        ),
        (
            "[security_domain]",
            "[recovery]\nhsm = { url = \"https://127.0.0.1:8443/hsm/b\", cloud = \"Mars\" }\n[security_domain]",
            "[recovery] hsm cloud = \"Mars\": unknown cloud; use one of AzureCloud,",
        ),
        (
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\"",
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\"\ncloud = \"AzureGermanCloud\"",
            "[hsm] cloud = \"AzureGermanCloud\": Azure Germany was closed in 2021",
        ),
        (
            "[security_domain]",
            "[recovery]\nhsm = { cloud = \"AzureCloud\" }\n[security_domain]",
            "[recovery] hsm: give the HSM's name (or url)",
        ),
        (
            "[[custodian]]\nname = \"alice\"",
            "[[witness]]\nname = \"Walter\"\n[[witness]]\nname = \" \"\n[[custodian]]\nname = \"alice\"",
            "[[witness]] number 2 name: must not be empty",
        ),
        (
            "[[custodian]]\nname = \"carol\"",
            "",
            "2 [[custodian]] entries",
        ),
        ("name = \"bob\"", "name = \"Alice\"", "given twice"),
        (
            "name = \"bob\"",
            "name = \"../bob\"",
            "not a usable custodian name",
        ),
        (
            "quorum = 2",
            "quorum = 2\nquorum_custodians = [\"alice\", \"dave\"]",
            "'dave' is not",
        ),
        (
            "quorum = 2",
            "quorum = 2\nquorum_custodians = [\"alice\", \"alice\"]",
            "at least 2 different",
        ),
        ("machines = \"one\"", "machines = \"three\"", "machines"),
        (
            "[security_domain]",
            "[keys]\nbits = 1024\n[security_domain]",
            "2048, 3072 or 4096",
        ),
        (
            "[security_domain]",
            "[recovery]\nbackup_folder = \"x\"\n[security_domain]",
            "together",
        ),
        (
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\"",
            "url = \"https://127.0.0.1:8443/hsm/hsm-a\"\nname = \"x\"",
            "not both",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(EMULATOR_PLAN.contains(from), "{from}");
        let message = refused(&EMULATOR_PLAN.replacen(from, to, 1));
        assert!(message.starts_with("/plans/plan.toml: "), "{message}");
        assert!(message.contains(expected), "{expected} not in: {message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn not_toml_and_not_utf8_are_refused() {
    assert!(refused("[ceremony\nname=").contains("/plans/plan.toml"));
    let err = Plan::parse(Path::new("p.toml"), &[0xff, 0xfe]).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"));
}

#[test]
fn loopback_urls_are_told_apart() {
    assert!(is_loopback_url("https://127.0.0.1:8443/hsm/a"));
    assert!(is_loopback_url("https://[::1]:8443/hsm/a"));
    assert!(is_loopback_url("https://localhost/hsm/a"));
    assert!(!is_loopback_url("http://127.0.0.1/hsm/a"));
    assert!(!is_loopback_url("https://contoso.managedhsm.azure.net"));
    assert!(!is_loopback_url("https://127.0.0.1.evil.example/"));
    assert!(!is_loopback_url("https://127.0.0.1:443@evil.example/hsm/a"));
    assert!(!is_loopback_url("https://[::1]@evil.example/"));
    assert!(is_loopback_url("https://127.0.0.1\\@evil.example/"));
}

#[test]
fn custodian_token_uris_name_neither_code_nor_pins() {
    let with = |token: &str| {
        EMULATOR_PLAN.replacen(
            "name = \"alice\"\n",
            &format!("name = \"alice\"\ntoken = \"{token}\"\n"),
            1,
        )
    };
    let plan = parse(&with("pkcs11:token=Alice")).unwrap();
    assert_eq!(plan.custodian_token("alice"), Some("pkcs11:token=Alice"));
    assert_eq!(plan.custodian_token("bob"), None);
    for (token, why) in [
        (
            "pkcs11:token=Alice?module-path=/media/usb/x.so",
            "not taken from a plan",
        ),
        (
            "pkcs11:token=Alice?pin-source=file:/etc/pin",
            "not taken from a plan",
        ),
        ("pkcs11:token=Alice?pin-value=123456", "pin-value"),
        ("pkcs11:token=Alice;bogus=1", "unknown path attribute"),
    ] {
        let err = refused(&with(token));
        assert!(
            err.contains("[[custodian]] alice token") && err.contains(why),
            "{token}: {err}"
        );
        assert!(!err.contains("123456"), "{err}");
    }
}
