use super::*;

#[test]
fn names_map_to_each_cloud() {
    let e = Endpoint::from_name("contoso-hsm", Cloud::AzureCloud).unwrap();
    assert_eq!(e.base_url(), "https://contoso-hsm.managedhsm.azure.net");
    assert_eq!(e.resource, "https://managedhsm.azure.net");
    let g = Endpoint::from_name("contoso", Cloud::parse("azureusgovernment").unwrap()).unwrap();
    assert_eq!(g.base_url(), "https://contoso.managedhsm.usgovcloudapi.net");
    assert_eq!(g.resource, "https://managedhsm.usgovcloudapi.net");
    assert!(Cloud::parse("Mars").is_err());
}

#[test]
fn bad_names_are_refused() {
    for name in ["ab", "1abc", "abc-", "a--b", "abc.def", &"a".repeat(25)] {
        assert!(
            Endpoint::from_name(name, Cloud::AzureCloud).is_err(),
            "{name}"
        );
    }
}

#[test]
fn urls_keep_their_path_and_refuse_plain_http() {
    let e = Endpoint::from_url("https://127.0.0.1:8443/hsm/alpha/").unwrap();
    assert_eq!(
        e.url("securitydomain/download").as_str(),
        "https://127.0.0.1:8443/hsm/alpha/securitydomain/download?api-version=7.4"
    );
    assert_eq!(e.resource, "https://managedhsm.azure.net");
    assert!(e.cloud.is_none());
    assert_eq!(e.name().as_deref(), Some("alpha"));
    assert_eq!(
        Endpoint::from_name("contoso", Cloud::AzureCloud)
            .unwrap()
            .name()
            .as_deref(),
        Some("contoso")
    );
    // The emulator's HSMs are the roots of loopback origins: the URL names no HSM.
    for origin in [
        "https://127.0.0.1:8443",
        "https://[::1]:8443/",
        "https://localhost:1",
    ] {
        assert_eq!(Endpoint::from_url(origin).unwrap().name(), None, "{origin}");
    }
    let cn = Endpoint::from_url("https://x.managedhsm.azure.cn").unwrap();
    assert_eq!(cn.cloud, Some(Cloud::AzureChinaCloud));
    assert!(Endpoint::from_url("http://127.0.0.1:8443/hsm/alpha").is_err());
    assert!(Endpoint::from_url("https://h/x?y=1").is_err());
    assert!(Endpoint::from_url("not a url").is_err());
}

#[test]
fn same_origin_compares_scheme_host_and_port() {
    let e = Endpoint::from_url("https://127.0.0.1:8443/hsm/alpha").unwrap();
    assert!(e.same_origin(&Url::parse("https://127.0.0.1:8443/hsm/alpha/x").unwrap()));
    assert!(!e.same_origin(&Url::parse("https://127.0.0.1:9443/hsm/alpha/x").unwrap()));
    assert!(!e.same_origin(&Url::parse("https://evil.example/hsm/alpha/x").unwrap()));
}

#[test]
fn the_closed_azure_germany_is_refused_saying_it_closed_in_2021() {
    for name in ["AzureGermanCloud", "azuregermancloud"] {
        let message = Cloud::parse(name).unwrap_err().to_string();
        assert!(
            message.contains("closed in 2021") && message.contains("AzureCloud"),
            "{message}"
        );
    }
    assert!(Cloud::ALL.iter().all(|c| !c.name().contains("German")));
    // Its HSM host is no cloud's: a URL there is not taken for an Azure HSM.
    let e = Endpoint::from_url("https://contoso.managedhsm.microsoftazure.de/").unwrap();
    assert_eq!(e.cloud, None);
}

#[test]
fn a_plans_clouds_are_the_clients_clouds() {
    assert_eq!(Cloud::ALL.map(Cloud::name), crate::ceremony::plan::CLOUDS);
    for name in crate::ceremony::plan::CLOUDS {
        assert!(Cloud::parse(name).is_ok(), "{name}");
    }
}
