//! Tokens go only where they belong: an `--hsm-url`, `--arm-url` or plan URL on a host
//! outside the token's scope is refused (exit 2, one line naming the URL and the way to
//! allow it) before any credential is consulted. Proven three ways: a stand-in `az` first
//! on PATH records every call and is never called; a token file or client certificate
//! that does not exist is never read (reading it would fail naming it); and the hosts are
//! under `.invalid`/`.example`, which never resolve, so a connection attempt would end in
//! exit 4 instead. `--allow-host` (or a plan's `allow_hosts`) turns the refusal into an
//! attempt, which is recorded in the ceremony's transcript.

#![cfg(feature = "online")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::ceremony::{transcript, transcript_path};
use common::{Fixture, Run};

/// Hosts a token must never reach unasked, as `--hsm-url` values.
const HOSTILE: [&str; 8] = [
    "https://attacker.example/",
    "https://hsm.attacker.invalid/hsm/alpha",
    "https://managedhsm.azure.net@hsm.attacker.invalid/",
    "https://hsm.attacker.invalid/x.managedhsm.azure.net",
    "https://x.managedhsm.azure.net.attacker.invalid/",
    "https://X.MANAGEDHSM.AZURE.NET./",
    "https://10.0.0.5/hsm/alpha",
    "http://127.0.0.1:8443/hsm/alpha",
];

/// The hostile URLs the scope refuses (the others fail the URL check before it).
const SCOPE_REFUSED: [&str; 6] = [
    HOSTILE[0], HOSTILE[1], HOSTILE[3], HOSTILE[4], HOSTILE[5], HOSTILE[6],
];

/// A fixture with a stand-in `az` first on PATH that records each call in `az.called`
/// and prints a token (`az account get-access-token` JSON), so that if it were called the
/// command would go on to the network.
struct Bed {
    fx: Fixture,
    path: String,
}

impl Bed {
    fn new() -> Bed {
        let fx = Fixture::new();
        let bin = fx.path("bin");
        std::fs::create_dir(&bin).unwrap();
        let expires = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        // An unsigned token naming a principal, as the role check reads it.
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!(
            "{}.{}.c2ln",
            part(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
            part(serde_json::json!({
                "oid": "00000000-0000-0000-0000-0000000000aa",
                "aud": "https://managedhsm.azure.net",
                "exp": expires,
            }))
        );
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> {log}\nprintf '%s' '{{\"accessToken\": \"{token}\", \"expires_on\": {expires}, \"tokenType\": \"Bearer\"}}'\n",
            log = fx.path("az.called").display(),
        );
        std::fs::write(bin.join("az"), script).unwrap();
        std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        Bed { fx, path }
    }

    fn az_called(&self) -> bool {
        self.fx.path("az.called").exists()
    }

    /// A file that does not exist: reading it would fail naming it.
    fn missing(&self, name: &str) -> PathBuf {
        self.fx.path(name)
    }

    /// `sdctl ARGS` with PATH leading to the stand-in `az` and `env`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all = vec![("PATH", self.path.as_str())];
        all.extend_from_slice(env);
        self.fx.sdctl_env(args, &all)
    }
}

/// Every `hsm` subcommand that takes an endpoint, with its other required flags (files
/// that do not exist: a command that read one before the host check would name it).
fn subcommands() -> Vec<Vec<&'static str>> {
    [
        "download --sd-wrapping-keys a.cer b.cer c.cer --sd-quorum 2 --security-domain-file sd.json",
        "init-recovery --sd-exchange-key exchange.pem",
        "upload --sd-file restore-blob.json --restore-blob",
        "wait --target download",
        "status",
        "status --subscription sub --resource-group rg",
        "backup --storage-uri https://acct.blob.core.windows.net/c --token-file missing-sas.token",
        "restore --storage-uri https://acct.blob.core.windows.net/c --token-file missing-sas.token --folder mhsm-a-20240101120000",
        "role list",
        "role show --name n",
        "role assign --role r --assignee 00000000-0000-0000-0000-000000000001",
        "role delete --name n",
        "role definition list",
        "role definition show --name 00000000-0000-0000-0000-000000000002",
        "role definition create --role-definition missing-role.json",
        "role definition delete --name 00000000-0000-0000-0000-000000000002",
        "role create-sd-officer",
        "role check",
        "key create k1",
        "key show k1",
        "key list",
    ]
    .iter()
    .map(|line| line.split_whitespace().collect())
    .collect()
}

/// Sign-in flags and the environment they need.
type SignIn = (Vec<String>, Vec<(String, String)>);

/// The ways of signing in a refused run must never reach: the Azure CLI (the stand-in),
/// a token file, and a service principal's certificate file (neither file exists).
fn credential_choices(bed: &Bed) -> Vec<SignIn> {
    let cert = bed.missing("missing-client.pem").display().to_string();
    vec![
        (vec!["--credential".into(), "azure-cli".into()], vec![]),
        (
            vec![
                "--access-token-file".into(),
                bed.missing("missing.token").display().to_string(),
            ],
            vec![],
        ),
        (
            vec!["--credential".into(), "environment".into()],
            vec![
                ("AZURE_TENANT_ID".into(), "t".into()),
                ("AZURE_CLIENT_ID".into(), "c".into()),
                ("AZURE_CLIENT_CERTIFICATE_PATH".into(), cert),
            ],
        ),
    ]
}

/// Asserts a refusal before any credential: exit 2, one error line naming `needle`, no
/// file of a credential named, the stand-in `az` not called.
fn assert_refused_before_credentials(bed: &Bed, run: &Run, needle: &str, what: &str) {
    assert_eq!(run.code, 2, "{what}: {}", run.stderr);
    run.assert_error(2, needle);
    for never in [
        "missing.token",
        "missing-client.pem",
        "missing-sas.token",
        "missing-role",
    ] {
        assert!(!run.stderr.contains(never), "{what}: {}", run.stderr);
    }
    assert!(!bed.az_called(), "{what}: the stand-in az was called");
}

#[test]
fn every_hsm_subcommand_refuses_a_hostile_host_before_any_credential() {
    let bed = Bed::new();
    for (i, words) in subcommands().iter().enumerate() {
        for (credential, env) in credential_choices(&bed) {
            // Each subcommand meets every credential choice, and the hostile URLs in turn.
            let url = SCOPE_REFUSED[i % SCOPE_REFUSED.len()];
            let mut args = vec!["hsm"];
            args.extend_from_slice(words);
            args.extend(["--hsm-url", url]);
            args.extend(credential.iter().map(String::as_str));
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let run = bed.run(&args, &env);
            let what = format!("{} {url} {credential:?}", words.join(" "));
            assert_refused_before_credentials(&bed, &run, "--allow-host", &what);
        }
    }
}

#[test]
fn each_tricky_url_is_refused_naming_what_to_do() {
    let bed = Bed::new();
    for url in HOSTILE {
        for (credential, env) in credential_choices(&bed) {
            let mut args = vec!["hsm", "status", "--hsm-url", url];
            args.extend(credential.iter().map(String::as_str));
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let run = bed.run(&args, &env);
            // A user part or plain http is refused by the URL check itself (no way to
            // allow it); every other host is refused by the scope, naming the host.
            let needle = if url.contains('@') {
                "without query, fragment or user"
            } else if url.starts_with("http:") {
                "only https"
            } else {
                "--allow-host"
            };
            assert_refused_before_credentials(&bed, &run, needle, url);
        }
    }
}

#[test]
fn a_hostile_resource_manager_url_is_refused_before_any_credential() {
    let bed = Bed::new();
    for arm in [
        "https://management.azure.com.attacker.invalid/",
        "https://attacker.example/",
        "https://management.usgovcloudapi.net/",
    ] {
        // The HSM itself is the cloud's; only the Resource Manager URL is wrong.
        let run = bed.run(
            &[
                "hsm",
                "status",
                "--hsm-name",
                "contoso",
                "--subscription",
                "sub",
                "--resource-group",
                "rg",
                "--arm-url",
                arm,
                "--credential",
                "azure-cli",
            ],
            &[],
        );
        assert_refused_before_credentials(&bed, &run, "Resource Manager", arm);
        assert!(
            run.stderr.contains(arm.trim_end_matches('/')),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn allow_host_turns_the_refusal_into_an_attempt() {
    let bed = Bed::new();
    let url = "https://hsm.attacker.invalid/hsm/alpha";
    let refused = bed.run(
        &[
            "hsm",
            "status",
            "--hsm-url",
            url,
            "--credential",
            "azure-cli",
        ],
        &[],
    );
    assert_refused_before_credentials(&bed, &refused, "--allow-host hsm.attacker.invalid", url);
    // Another host named does not help: the match is exact.
    let other = bed.run(
        &[
            "hsm",
            "status",
            "--hsm-url",
            url,
            "--allow-host",
            "attacker.invalid",
            "--credential",
            "azure-cli",
        ],
        &[],
    );
    assert_refused_before_credentials(&bed, &other, "--allow-host hsm.attacker.invalid", url);
    // Named, the token is fetched (the stand-in az is called) and the HSM dialled: the
    // name does not resolve (no network here), a service error.
    let tried = bed.run(
        &[
            "hsm",
            "status",
            "--hsm-url",
            url,
            "--allow-host",
            "HSM.attacker.invalid",
            "--credential",
            "azure-cli",
        ],
        &[],
    );
    assert_eq!(tried.code, 4, "{}", tried.stderr);
    assert!(bed.az_called(), "the stand-in az was not called");
    assert!(
        tried
            .stderr
            .contains("sdctl: warning: hsm.attacker.invalid: not a Managed HSM host"),
        "{}",
        tried.stderr
    );
    assert!(tried.stderr.contains(url), "{}", tried.stderr);
}

#[test]
fn bad_allow_host_values_are_usage_errors() {
    let bed = Bed::new();
    for bad in ["https://attacker.example", "attacker.example:443", "a@b"] {
        let run = bed.run(
            &[
                "hsm",
                "status",
                "--hsm-name",
                "contoso",
                "--allow-host",
                bad,
                "--credential",
                "azure-cli",
            ],
            &[],
        );
        assert_refused_before_credentials(&bed, &run, &format!("--allow-host {bad}"), bad);
    }
}

#[test]
fn the_help_documents_allow_host() {
    let bed = Bed::new();
    for words in [
        &["hsm", "status", "--help"][..],
        &["hsm", "download", "--help"],
    ] {
        let run = bed.run(words, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("--allow-host <HOST>"), "{}", run.stdout);
    }
}

/// A two-machine plan whose `[hsm]` and `[recovery] hsm` are `hsm` and `recovery`
/// (inline TOML tables' contents).
fn plan(bed: &Bed, machines: &str, hsm: &str, recovery: &str) -> PathBuf {
    let text = format!(
        "[ceremony]\nname = \"scope\"\noutput_dir = \"ceremony\"\nmachines = \"{machines}\"\n\n[hsm]\n{hsm}\n\n[security_domain]\nquorum = 2\n\n[[custodian]]\nname = \"alice\"\n[[custodian]]\nname = \"bob\"\n[[custodian]]\nname = \"carol\"\n\n[recovery]\nhsm = {{ {recovery} }}\n"
    );
    let path = bed.fx.path("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_plan_naming_a_hostile_host_is_refused_on_the_online_machine() {
    let bed = Bed::new();
    let cloud = "name = \"contoso\"";
    let hostile = "url = \"https://hsm.attacker.invalid/hsm/b\"";
    let token = format!(
        "access_token_file = \"{}\"",
        bed.missing("missing.token").display()
    );
    for (kind, hsm, recovery, section) in [
        (
            "recover",
            cloud.to_owned(),
            hostile.to_owned(),
            "[recovery.hsm]",
        ),
        (
            "recover",
            cloud.to_owned(),
            format!("{hostile}, {token}"),
            "[recovery.hsm]",
        ),
        (
            "activate",
            format!("{hostile}\n{token}"),
            cloud.to_owned(),
            "[hsm]",
        ),
        ("rotate", hostile.to_owned(), cloud.to_owned(), "[hsm]"),
    ] {
        let plan = plan(&bed, "two", &hsm, &recovery);
        let plan = plan.display().to_string();
        let run = bed.run(
            &[
                "ceremony",
                kind,
                "--plan",
                &plan,
                "--machine",
                "online",
                "--yes",
            ],
            &[],
        );
        let want = format!("add allow_hosts = [\"hsm.attacker.invalid\"] to {section}");
        assert_refused_before_credentials(&bed, &run, &want, kind);
        // Refused before the run began: nothing recorded.
        assert!(
            !bed.fx.path("ceremony").exists(),
            "{kind}: a workspace was made"
        );
    }
    // A one-machine plan is refused anyway: its HSM must be the local emulator.
    let plan = plan(&bed, "one", hostile, cloud).display().to_string();
    let run = bed.run(&["ceremony", "activate", "--plan", &plan, "--yes"], &[]);
    assert_refused_before_credentials(
        &bed,
        &run,
        "[hsm] (url = \"https://hsm.attacker.invalid/hsm/b\"): refused with [ceremony] machines = \"one\"",
        "one",
    );
}

#[test]
fn a_plan_allowing_the_host_records_it_and_tries() {
    let bed = Bed::new();
    let recovery =
        "url = \"https://hsm.attacker.invalid/hsm/b\", allow_hosts = [\"hsm.attacker.invalid\"]";
    let plan = plan(&bed, "two", "name = \"contoso\"", recovery);
    let plan = plan.display().to_string();
    // Unattended two-machine runs authenticate their bundles with a transfer-code file.
    let code = bed.fx.path("run.code").display().to_string();
    let made = bed.run(&["ceremony", "transfer-code", "--out", &code], &[]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let run = bed.run(
        &[
            "ceremony",
            "recover",
            "--plan",
            &plan,
            "--machine",
            "online",
            "--yes",
            "--transfer-code-file",
            &code,
        ],
        &[],
    );
    // The roles step signs in (the stand-in az is called) and dials the host, which does
    // not resolve here: a service error, after the opening was recorded.
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(bed.az_called(), "the stand-in az was not called");
    assert!(
        run.stdout
            .contains("access tokens may also go to hsm.attacker.invalid"),
        "{}",
        run.stdout
    );
    let entries = transcript(&transcript_path(&bed.fx.path("ceremony"), "recover-1"));
    let opened = entries
        .iter()
        .find(|e| e["event"] == "opened")
        .expect("the opening is recorded");
    assert_eq!(
        opened["facts"]["allow_hosts"],
        serde_json::json!(["hsm.attacker.invalid"])
    );
    // A value that is not a bare host is refused naming the plan key.
    let bad = "url = \"https://hsm.attacker.invalid/hsm/b\", allow_hosts = [\"https://hsm.attacker.invalid\"]";
    let plan = self::plan(&bed, "two", "name = \"contoso\"", bad);
    std::fs::remove_dir_all(bed.fx.path("ceremony")).unwrap();
    std::fs::remove_file(bed.fx.path("az.called")).unwrap();
    let plan = plan.display().to_string();
    let run = bed.run(
        &[
            "ceremony",
            "recover",
            "--plan",
            &plan,
            "--machine",
            "online",
            "--yes",
            "--transfer-code-file",
            &code,
        ],
        &[],
    );
    assert_refused_before_credentials(&bed, &run, "[recovery.hsm] allow_hosts", "bad value");
}

#[test]
fn a_sas_token_is_not_given_for_a_storage_host_outside_the_scope() {
    let bed = Bed::new();
    // The HSM is loopback (nothing listens there: a connection would be exit 4).
    let hsm = "https://127.0.0.1:9/hsm/alpha";
    for (words, storage) in [
        (&["backup"][..], "https://attacker.example/c"),
        (
            &["restore", "--folder", "mhsm-a-20240101120000"][..],
            "https://acct.blob.core.windows.net.attacker.invalid/c",
        ),
    ] {
        let mut args = vec!["hsm"];
        args.extend_from_slice(words);
        args.extend([
            "--hsm-url",
            hsm,
            "--storage-uri",
            storage,
            "--token-file",
            "missing-sas.token",
            "--credential",
            "azure-cli",
        ]);
        let run = bed.run(&args, &[]);
        assert_refused_before_credentials(&bed, &run, "the storage SAS token is not sent", storage);
        assert!(run.stderr.contains("--allow-host"), "{}", run.stderr);
    }
    // In a plan: refused before the run begins.
    let recovery = "url = \"https://127.0.0.1:9/hsm/b\"";
    let plan = plan(&bed, "two", "name = \"contoso\"", recovery);
    let text = std::fs::read_to_string(&plan).unwrap()
        + "backup_storage_uri = \"https://attacker.example/c\"\nbackup_folder = \"mhsm-a-20240101120000\"\nbackup_token_file = \"missing-sas.token\"\n";
    std::fs::write(&plan, text).unwrap();
    let plan = plan.display().to_string();
    let run = bed.run(
        &[
            "ceremony",
            "recover",
            "--plan",
            &plan,
            "--machine",
            "online",
            "--yes",
        ],
        &[],
    );
    assert_refused_before_credentials(
        &bed,
        &run,
        "add allow_hosts = [\"attacker.example\"] to [recovery.hsm]",
        "plan backup",
    );
    assert!(!bed.fx.path("ceremony").exists(), "a workspace was made");
}
