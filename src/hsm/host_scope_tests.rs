use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn hsm(scope: &HostScope, text: &str) -> Result<Reach, HsmError> {
    scope.check(&url(text), TokenKind::Hsm)
}

#[test]
fn cloud_hosts_and_loopback_receive_an_hsm_token() {
    let scope = HostScope::strict();
    for ok in [
        "https://contoso.managedhsm.azure.net/",
        "https://CONTOSO.ManagedHSM.Azure.NET/",
        "https://contoso.managedhsm.azure.net:443/",
        "https://contoso.privatelink.managedhsm.azure.net/",
        "https://contoso.managedhsm.usgovcloudapi.net/",
        "https://contoso.managedhsm.azure.cn/",
    ] {
        assert_eq!(hsm(&scope, ok).unwrap(), Reach::Cloud, "{ok}");
    }
    for ok in [
        "https://127.0.0.1:8443/hsm/alpha",
        "https://127.0.0.2:8443/hsm/alpha",
        "https://127.255.255.254/",
        "https://[::1]:8443/hsm/alpha",
        "https://localhost:8443/hsm/alpha",
        "https://LOCALHOST:8443/",
        // Other spellings of 127.0.0.1 that the URL parser turns into it.
        "https://0x7f.0.0.1:8443/",
        "https://2130706433:8443/",
    ] {
        assert_eq!(hsm(&scope, ok).unwrap(), Reach::Loopback, "{ok}");
    }
}

#[test]
fn every_other_host_is_refused_naming_it_and_the_flag() {
    let scope = HostScope::strict();
    for (bad, host) in [
        ("https://attacker.example/", "attacker.example"),
        ("https://managedhsm.azure.net@evil.example/", ""),
        ("https://x.managedhsm.azure.net:pw@evil.example/", ""),
        (
            "https://evil.example/x.managedhsm.azure.net",
            "evil.example",
        ),
        (
            "https://evil.example/?h=x.managedhsm.azure.net",
            "evil.example",
        ),
        (
            "https://evil.example#x.managedhsm.azure.net",
            "evil.example",
        ),
        (
            "https://x.managedhsm.azure.net.evil.example/",
            "x.managedhsm.azure.net.evil.example",
        ),
        ("https://xmanagedhsm.azure.net/", "xmanagedhsm.azure.net"),
        ("https://managedhsm.azure.net/", "managedhsm.azure.net"),
        ("https://.managedhsm.azure.net/", ""),
        (
            "https://x.managedhsm.azure.net./",
            "x.managedhsm.azure.net.",
        ),
        ("https://x.managedhsm.azure.net:8443/", "port 8443"),
        ("https://management.azure.com/", "management.azure.com"),
        ("https://10.0.0.5/", "10.0.0.5"),
        ("https://169.254.169.254/", "169.254.169.254"),
        ("https://0.0.0.0:8443/", "0.0.0.0"),
        ("https://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"),
        ("https://[fe80::1]/", "[fe80::1]"),
        ("https://localhost.evil.example/", "localhost.evil.example"),
        ("https://localhost./", "localhost."),
        ("https://127.0.0.1.nip.io/", "127.0.0.1.nip.io"),
        // IDN: a look-alike of 'azure' (Cyrillic 'а') is punycode, not the cloud's.
        ("https://x.managedhsm.\u{430}zure.net/", "xn--"),
        ("http://127.0.0.1:8443/", "only https"),
        ("http://x.managedhsm.azure.net/", "only https"),
    ] {
        let e = hsm(&scope, bad).expect_err(bad);
        let text = e.to_string();
        assert!(matches!(e, HsmError::HostNotInScope { .. }), "{bad}: {e:?}");
        assert_eq!(e.exit_code(), crate::ExitCode::BadInput, "{bad}");
        assert!(text.contains(host), "{bad}: {text}");
        assert!(!text.contains('\n'), "{bad}: {text}");
        if !text.contains("only https") && !text.contains("user information") {
            assert!(text.contains("--allow-host"), "{bad}: {text}");
        }
    }
}

#[test]
fn allow_host_admits_exactly_that_host() {
    let scope = HostScope::new(
        &[
            "Attacker.Example".into(),
            "10.0.0.5".into(),
            "fe80::1".into(),
        ],
        AllowVia::Flag,
    )
    .unwrap();
    assert_eq!(
        scope.allowed(),
        ["attacker.example", "10.0.0.5", "[fe80::1]"]
    );
    for ok in [
        "https://attacker.example/",
        "https://ATTACKER.example:9443/hsm/x",
        "https://10.0.0.5/",
        "https://[fe80::1]/",
    ] {
        assert!(
            matches!(hsm(&scope, ok).unwrap(), Reach::Allowed(_)),
            "{ok}"
        );
    }
    for bad in [
        "https://sub.attacker.example/",
        "https://attacker.example.evil.example/",
        "https://attacker.example./",
        "https://10.0.0.6/",
        "https://attacker.example@evil.example/",
        "http://attacker.example/",
    ] {
        assert!(hsm(&scope, bad).is_err(), "{bad}");
    }
}

#[test]
fn allow_host_values_must_be_bare_hosts() {
    for bad in [
        "",
        "https://attacker.example",
        "attacker.example/x",
        "user@attacker.example",
        "attacker.example:443",
        "attacker.example:",
        "attacker example",
    ] {
        let e = HostScope::new(&[bad.to_owned()], AllowVia::Flag).expect_err(bad);
        assert!(e.to_string().contains("--allow-host"), "{bad}: {e}");
    }
}

#[test]
fn a_resource_manager_token_goes_only_to_that_clouds_resource_manager() {
    let scope = HostScope::strict();
    let arm = |text: &str, cloud| scope.check(&url(text), TokenKind::Arm(cloud));
    assert_eq!(
        arm("https://management.azure.com/", Cloud::AzureCloud).unwrap(),
        Reach::Cloud
    );
    assert_eq!(
        arm(
            "https://management.usgovcloudapi.net",
            Cloud::AzureUSGovernment
        )
        .unwrap(),
        Reach::Cloud
    );
    assert_eq!(
        arm("https://127.0.0.1:8443/", Cloud::AzureCloud).unwrap(),
        Reach::Loopback
    );
    for (bad, cloud) in [
        ("https://management.usgovcloudapi.net/", Cloud::AzureCloud),
        ("https://contoso.managedhsm.azure.net/", Cloud::AzureCloud),
        (
            "https://management.azure.com.evil.example/",
            Cloud::AzureCloud,
        ),
        ("https://x.management.azure.com/", Cloud::AzureCloud),
        ("https://management.azure.com:8443/", Cloud::AzureCloud),
        ("https://attacker.example/", Cloud::AzureCloud),
    ] {
        let e = arm(bad, cloud).expect_err(bad);
        assert!(e.to_string().contains("Resource Manager"), "{bad}: {e}");
    }
}

#[test]
fn a_plan_refusal_names_the_plan_key() {
    let scope = HostScope::new(
        &[],
        AllowVia::Plan {
            plan: "plan.toml".into(),
            section: "[recovery.hsm]".into(),
        },
    )
    .unwrap();
    let e = hsm(&scope, "https://attacker.example/hsm/x").unwrap_err();
    assert!(
        e.to_string()
            .contains("add allow_hosts = [\"attacker.example\"] to [recovery.hsm] in plan.toml"),
        "{e}"
    );
}

#[test]
fn loopback_urls_are_parsed_as_the_client_parses_them() {
    assert!(is_loopback_url("https://127.0.0.1:8443/hsm/a"));
    assert!(is_loopback_url("https://[::1]:8443/hsm/a"));
    assert!(!is_loopback_url("https://127.0.0.1:443@evil.example/hsm/a"));
    assert!(!is_loopback_url("https://127.0.0.1.evil.example/"));
    assert!(!is_loopback_url("http://127.0.0.1:8443/"));
}

#[test]
fn an_azure_germany_host_gets_no_token_and_the_refusal_says_it_closed() {
    let message = hsm(
        &HostScope::strict(),
        "https://contoso.managedhsm.microsoftazure.de/",
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("closed in 2021"), "{message}");
    assert_eq!(
        cloud_of_hsm_host("contoso.managedhsm.microsoftazure.de"),
        None
    );
    // Named explicitly, it is a host like any other (a private DNS name, say).
    let allowed = HostScope::new(
        &["contoso.managedhsm.microsoftazure.de".to_owned()],
        AllowVia::Flag,
    )
    .unwrap();
    assert!(hsm(&allowed, "https://contoso.managedhsm.microsoftazure.de/").is_ok());
}

#[test]
fn the_cloud_of_a_host_needs_a_label_before_the_suffix() {
    assert_eq!(
        cloud_of_hsm_host("a.managedhsm.azure.cn"),
        Some(Cloud::AzureChinaCloud)
    );
    assert_eq!(cloud_of_hsm_host("managedhsm.azure.net"), None);
    assert_eq!(cloud_of_hsm_host("amanagedhsm.azure.net"), None);
    assert_eq!(cloud_of_hsm_host("a..managedhsm.azure.net"), None);
}

#[test]
fn a_sas_token_goes_only_with_a_blob_storage_uri() {
    let scope = HostScope::strict();
    for ok in [
        "https://acct.blob.core.windows.net/backups",
        "https://acct.privatelink.blob.core.windows.net/backups",
        "https://acct.blob.core.usgovcloudapi.net/backups",
        "https://127.0.0.1:8443/backups",
        "file:///srv/backups",
    ] {
        assert!(check_storage_host(&scope, ok).is_ok(), "{ok}");
    }
    for bad in [
        "https://attacker.example/backups",
        "https://blob.core.windows.net/backups",
        "https://acct.blob.core.windows.net.attacker.example/backups",
        "https://attacker.example/acct.blob.core.windows.net",
        "https://acct.blob.core.windows.net@attacker.example/backups",
        "https://contoso.managedhsm.azure.net/backups",
        "http://acct.blob.core.windows.net/backups",
        "file://attacker.example/share",
    ] {
        let e = check_storage_host(&scope, bad).expect_err(bad);
        assert!(matches!(e, HsmError::HostNotInScope { .. }), "{bad}: {e:?}");
    }
    let allowed = HostScope::new(&["backups.internal.example".into()], AllowVia::Flag).unwrap();
    assert!(check_storage_host(&allowed, "https://backups.internal.example/c").is_ok());
}
