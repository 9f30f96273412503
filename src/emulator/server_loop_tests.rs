use super::mounted;

fn routed(target: &str) -> String {
    let request = hyper::Request::builder().uri(target).body(()).unwrap();
    mounted(request, "/hsm/hsm-a").uri().to_string()
}

#[test]
fn an_hsms_listener_routes_its_paths_under_its_mount_keeping_the_query() {
    assert_eq!(
        routed("/keys/k1/create?api-version=7.4"),
        "/hsm/hsm-a/keys/k1/create?api-version=7.4"
    );
    assert_eq!(routed("/"), "/hsm/hsm-a/");
    // An absolute-form target keeps only its path: the host is the listener's anyway.
    assert_eq!(
        routed("https://127.0.0.1:1/securitydomain/download"),
        "/hsm/hsm-a/securitydomain/download"
    );
    // `*` is no path: routed to the mount's root, which answers 404.
    assert_eq!(routed("*"), "/hsm/hsm-a/");
}
