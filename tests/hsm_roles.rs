//! `sdctl hsm role ...` through the CLI against the emulator: assignments, definitions, the
//! security-domain officer role, `role check`, and what a principal without a role sees.

#![cfg(feature = "online")]

mod common;

use common::online::{assert_error_envelope, Online};
use common::Run;
use serde_json::{json, Value};

const OFFICER: &str = "0ff1ce00-0000-4000-8000-000000000001";
const NOBODY: &str = "0b0d1e50-0000-4000-8000-000000000002";
const DOWNLOAD_ACTION: &str = "Microsoft.KeyVault/managedHsm/securitydomain/download/action";
const ASSIGNMENTS_READ: &str = "Microsoft.KeyVault/managedHsm/roleAssignments/read/action";
const SD_OFFICER: &str = "Managed HSM Security Domain Officer";
const CRYPTO_USER: &str = "Managed HSM Crypto User";

/// Runs `role WORDS...` with `--output json` and checks the envelope (its command is
/// `hsm` and the words before the first option); returns `result`.
fn json_ok(online: &Online, words: &[&str]) -> Value {
    let command: Vec<&str> = words
        .iter()
        .take_while(|w| !w.starts_with("--"))
        .copied()
        .collect();
    let mut all = words.to_vec();
    all.extend(["--output", "json"]);
    let run = online.hsm("alpha", &all);
    assert_eq!(run.code, 0, "{words:?}: {}{}", run.stdout, run.stderr);
    let v = run.json();
    assert_eq!(v["sdctl_output"], 1);
    assert_eq!(v["command"], format!("hsm {}", command.join(" ")));
    assert_eq!(v["status"], "ok");
    assert_eq!(v["exit_code"], 0);
    assert!(v["error"].is_null());
    v["result"].clone()
}

/// `role check [--assignee OID] [--for STEP]...`.
fn check_words<'a>(assignee: Option<&'a str>, steps: &[&'a str]) -> Vec<&'a str> {
    let mut words = vec!["role", "check"];
    if let Some(a) = assignee {
        words.extend(["--assignee", a]);
    }
    for s in steps {
        words.extend(["--for", s]);
    }
    words
}

/// Runs `role check [--assignee OID] [--for STEP]...` on alpha as the administrator.
fn check(online: &Online, assignee: Option<&str>, steps: &[&str]) -> Run {
    online.hsm("alpha", &check_words(assignee, steps))
}

/// `role assign --role ROLE --assignee OID EXTRA...`.
fn assign_words<'a>(role: &'a str, assignee: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut words = vec!["role", "assign", "--role", role, "--assignee", assignee];
    words.extend_from_slice(extra);
    words
}

/// `role delete --assignee OID --role ROLE`.
fn unassign_words<'a>(assignee: &'a str, role: &'a str) -> [&'a str; 6] {
    ["role", "delete", "--assignee", assignee, "--role", role]
}

/// `role definition create --role-definition FILE EXTRA...`.
fn define_words<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut words = vec!["role", "definition", "create", "--role-definition", file];
    words.extend_from_slice(extra);
    words
}

fn last_line(run: &Run) -> &str {
    run.stdout.lines().last().unwrap_or("")
}

#[test]
fn list_shows_the_administrators_assignment() {
    let online = Online::start(&["alpha"]);
    let admin = online.emu.admin_oid();
    let run = online.hsm("alpha", &["role", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&admin))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(line.starts_with("Managed HSM Administrator"), "{line}");
    assert!(run.stdout.starts_with("role"), "{}", run.stdout);

    let result = json_ok(&online, &["role", "list", "--assignee", &admin]);
    let list = result["assignments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{result}");
    assert_eq!(list[0]["role_name"], "Managed HSM Administrator");
    assert_eq!(list[0]["principal_id"], admin.as_str());
    assert_eq!(list[0]["scope"], "/");
    assert!(list[0]["role_definition_id"]
        .as_str()
        .unwrap()
        .ends_with("a290e904-7015-4bba-90c8-60543313cdb4"));
    // Filters: nothing at /keys yet, nothing of another role.
    let none = json_ok(&online, &["role", "list", "--scope", "/keys"]);
    assert_eq!(none["assignments"], json!([]));
    let none = json_ok(
        &online,
        &["role", "list", "--role", "managed hsm crypto user"],
    );
    assert_eq!(none["assignments"], json!([]));
    // show by name.
    let name = list[0]["name"].as_str().unwrap();
    let shown = json_ok(&online, &["role", "show", "--name", name]);
    assert_eq!(shown["role_name"], "Managed HSM Administrator");
    assert_eq!(shown["name"], name);
}

#[test]
fn sd_officer_role_created_once_assigned_checked_and_removed() {
    let online = Online::start(&["alpha"]);
    // Created with exactly the five security-domain actions.
    let first = json_ok(&online, &["role", "create-sd-officer"]);
    assert_eq!(first["created"], true);
    let def = &first["definition"];
    assert_eq!(def["role_name"], SD_OFFICER);
    assert_eq!(def["role_type"], "CustomRole");
    let mut actions: Vec<&str> = def["permissions"][0]["data_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    actions.sort_unstable();
    assert_eq!(actions.len(), 5);
    assert!(actions
        .iter()
        .all(|a| a.starts_with("Microsoft.KeyVault/managedHsm/securitydomain/")));
    let guid = def["name"].as_str().unwrap().to_owned();

    // A second run reports it, and assigns it in the same command.
    let run = online.hsm(
        "alpha",
        &["role", "create-sd-officer", "--assignee", OFFICER],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("exists already"), "{}", run.stdout);
    assert!(run.stdout.contains(&guid), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "Assigned \"{SD_OFFICER}\" to {OFFICER} at scope /"
        )),
        "{}",
        run.stdout
    );
    let customs = json_ok(&online, &["role", "definition", "list", "--custom"]);
    assert_eq!(
        customs["definitions"].as_array().unwrap().len(),
        1,
        "no duplicate: {customs}"
    );
    // Assigning again changes nothing.
    let again = json_ok(&online, &assign_words(SD_OFFICER, OFFICER, &[]));
    assert_eq!(again["created"], false);
    let listed = online.hsm("alpha", &["role", "list", "--assignee", OFFICER]);
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);
    assert!(listed.stdout.contains(SD_OFFICER));

    // The administrator checks the officer: everything a ceremony needs is held.
    let run = check(&online, Some(OFFICER), &["download"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("securitydomain/download/action"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{SD_OFFICER} (at /)")),
        "{}",
        run.stdout
    );
    assert_eq!(last_line(&run), "All 2 data action(s) are held.");
    let report = json_ok(&online, &check_words(Some(OFFICER), &[]));
    assert_eq!(report["passed"], true);
    assert_eq!(report["principal"], OFFICER);
    assert_eq!(report["principal_from"], "assignee");
    assert_eq!(report["rows"].as_array().unwrap().len(), 5);
    // ... but not key backups.
    let run = check(&online, Some(OFFICER), &["key-backup"]);
    assert_eq!(run.code, 1, "{}", run.stdout);

    // The officer itself cannot read role assignments: one line saying so and what to do.
    online.token_for("officer.token", OFFICER);
    let run = online.hsm_as("alpha", "officer.token", &check_words(None, &["download"]));
    run.assert_error(4, ASSIGNMENTS_READ);
    assert!(
        run.stderr.contains(&format!(
            "sdctl hsm role check --assignee {OFFICER} --for download"
        )),
        "{}",
        run.stderr
    );
    // ... and the role works: the officer may read the download status (and nothing else).
    let run = online.hsm_as("alpha", "officer.token", &["status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The role cannot go while assigned; remove the assignment, then the role.
    let run = online.hsm("alpha", &["role", "definition", "delete", "--name", &guid]);
    run.assert_error(4, "assigned");
    let deleted = json_ok(&online, &unassign_words(OFFICER, SD_OFFICER));
    assert_eq!(deleted["deleted"].as_array().unwrap().len(), 1);
    assert_eq!(deleted["deleted"][0]["principal_id"], OFFICER);
    let listed = json_ok(&online, &["role", "list", "--assignee", OFFICER]);
    assert_eq!(listed["assignments"], json!([]));
    let gone = json_ok(
        &online,
        &["role", "definition", "delete", "--name", SD_OFFICER],
    );
    assert_eq!(gone["deleted"], guid.as_str());
    let customs = json_ok(&online, &["role", "definition", "list", "--custom"]);
    assert_eq!(customs["definitions"], json!([]));
}

#[test]
fn a_principal_without_a_role_is_told_which_action_is_missing() {
    let online = Online::start(&["alpha"]);
    let run = check(&online, Some(NOBODY), &["download"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let last = last_line(&run);
    assert!(
        last.starts_with(&format!(
            "MISSING {DOWNLOAD_ACTION} (and 1 more) for principal {NOBODY}: "
        )),
        "{last}"
    );
    // No officer role yet: the advice is to create one, not to hand out the administrator role.
    assert!(
        last.contains(&format!(
            "sdctl hsm role create-sd-officer --assignee {NOBODY}"
        )),
        "{last}"
    );
    assert!(run.stdout.contains("MISSING"), "{}", run.stdout);

    // JSON: check_failed, exit 1, the missing actions.
    let mut words = check_words(Some(NOBODY), &["download"]);
    words.extend(["--output", "json"]);
    let run = online.hsm("alpha", &words);
    assert_eq!(run.code, 1);
    let v = run.json();
    assert_eq!(v["command"], "hsm role check");
    assert_eq!(v["status"], "check_failed");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["result"]["passed"], false);
    assert_eq!(v["result"]["missing"][0], DOWNLOAD_ACTION);
    assert!(v["result"]["advice"]
        .as_str()
        .unwrap()
        .contains(DOWNLOAD_ACTION));

    // With the officer role defined, the advice names it.
    json_ok(&online, &["role", "create-sd-officer"]);
    let run = check(&online, Some(NOBODY), &["init-recovery"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        last_line(&run),
        format!("MISSING Microsoft.KeyVault/managedHsm/securitydomain/transferkey/read for principal {NOBODY}: ask an HSM administrator to run 'sdctl hsm role assign --role \"{SD_OFFICER}\" --assignee {NOBODY} --scope /'")
    );

    // The real call as that principal: exit 4, one line naming the action, no file left.
    online.custodians();
    online.token_for("nobody.token", NOBODY);
    let run = online.download_as("alpha", "nobody.token", "sd.json", &[]);
    run.assert_error(4, DOWNLOAD_ACTION);
    assert!(!online.fx.path("sd.json").exists());
    let run = online.hsm_as("alpha", "nobody.token", &["role", "check"]);
    run.assert_error(4, ASSIGNMENTS_READ);
    assert!(
        run.stderr.contains(&format!("--assignee {NOBODY}'")),
        "{}",
        run.stderr
    );
}

#[test]
fn the_signed_in_administrator_checks_itself() {
    let online = Online::start(&["alpha"]);
    let admin = online.emu.admin_oid();
    let run = check(&online, None, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with(&format!("Principal: {admin} (the signed-in principal)")),
        "{}",
        run.stdout
    );
    assert_eq!(last_line(&run), "All 5 data action(s) are held.");
    let run = check(&online, None, &["manage-roles"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // The administrator holds no key actions until given a crypto role.
    let run = check(&online, None, &["key-backup", "key-restore"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        last_line(&run).ends_with(&format!(
            "'sdctl hsm role assign --role \"{CRYPTO_USER}\" --assignee {admin} --scope /keys'"
        )),
        "{}",
        run.stdout
    );
    let assigned = json_ok(
        &online,
        &assign_words("21dbd100-6940-42c2-9190-5d6cb909625b", &admin, &[]),
    );
    assert_eq!(assigned["created"], true);
    assert_eq!(assigned["role_name"], CRYPTO_USER);
    let run = check(&online, None, &["key-backup", "key-restore"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // Delete it by name.
    let name = assigned["assignment"]["name"].as_str().unwrap();
    let run = online.hsm("alpha", &["role", "delete", "--name", name]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(CRYPTO_USER), "{}", run.stdout);
    let run = online.hsm("alpha", &["role", "show", "--name", name]);
    run.assert_error(4, "does not exist");
}

#[test]
fn custom_definitions_from_a_file() {
    let online = Online::start(&["alpha"]);
    online.fx.write_json(
        "auditor.json",
        &json!({"properties": {"roleName": "SD Status Reader", "description": "reads operation status",
            "assignableScopes": ["/"],
            "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/securitydomain/*"],
                             "notDataActions": ["Microsoft.KeyVault/managedHsm/securitydomain/*/action"]}]}}),
    );
    let created = json_ok(&online, &define_words("auditor.json", &[]));
    assert_eq!(created["created"], true);
    let guid = created["definition"]["name"].as_str().unwrap().to_owned();
    assert_eq!(created["definition"]["role_type"], "CustomRole");

    // Show by GUID and by name.
    let run = online.hsm("alpha", &["role", "definition", "show", "--name", &guid]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Role:        SD Status Reader"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Not data actions:"), "{}", run.stdout);
    let shown = json_ok(
        &online,
        &["role", "definition", "show", "--name", "sd status reader"],
    );
    assert_eq!(shown["name"], guid.as_str());

    // The same roleName again without --name is refused; with --name it is replaced.
    let run = online.hsm("alpha", &define_words("auditor.json", &[]));
    run.assert_error(2, &format!("pass --name {guid}"));
    let replaced = json_ok(&online, &define_words("auditor.json", &["--name", &guid]));
    assert_eq!(replaced["created"], false);

    // What it grants, through role check.
    json_ok(&online, &assign_words(&guid, NOBODY, &[]));
    let report = json_ok(&online, &check_words(Some(NOBODY), &["status"]));
    assert_eq!(report["passed"], true);
    assert_eq!(
        report["rows"][0]["granted_by"][0]["role_name"],
        "SD Status Reader"
    );
    let run = check(&online, Some(NOBODY), &["upload"]);
    assert_eq!(run.code, 1);
    assert!(
        last_line(&run).starts_with(&format!(
        "MISSING Microsoft.KeyVault/managedHsm/securitydomain/upload/action for principal {NOBODY}"
    )),
        "{}",
        run.stdout
    );

    // The table shows role names.
    let run = online.hsm("alpha", &["role", "definition", "list"]);
    assert_eq!(run.code, 0);
    for name in ["Managed HSM Administrator", CRYPTO_USER, "SD Status Reader"] {
        assert!(run.stdout.contains(name), "{}", run.stdout);
    }

    // Built-in roles cannot be replaced or deleted.
    let run = online.hsm(
        "alpha",
        &define_words(
            "auditor.json",
            &["--name", "21dbd100-6940-42c2-9190-5d6cb909625b"],
        ),
    );
    run.assert_error(2, "built-in role");
    let run = online.hsm(
        "alpha",
        &["role", "definition", "delete", "--name", CRYPTO_USER],
    );
    run.assert_error(2, "built-in role");

    // Clean up.
    let run = online.hsm("alpha", &unassign_words(NOBODY, &guid));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = online.hsm("alpha", &["role", "definition", "delete", "--name", &guid]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("SD Status Reader"), "{}", run.stdout);
}

#[test]
fn bad_inputs_are_one_line_usage_errors() {
    let online = Online::start(&["alpha"]);
    let run = online.hsm("alpha", &assign_words("Crypto Wizard", NOBODY, &[]));
    run.assert_error(
        2,
        "role 'Crypto Wizard' does not exist on this HSM; roles: ",
    );
    assert!(
        run.stderr.contains(&format!("\"{CRYPTO_USER}\"")),
        "{}",
        run.stderr
    );
    let run = online.hsm(
        "alpha",
        &assign_words(CRYPTO_USER, NOBODY, &["--scope", "/secrets"]),
    );
    run.assert_error(2, "scope '/secrets' is not valid");
    let run = online.hsm("alpha", &["role", "list", "--scope", "keys"]);
    run.assert_error(2, "scope 'keys' is not valid");
    let run = online.hsm(
        "alpha",
        &assign_words(CRYPTO_USER, "alice@contoso.com", &[]),
    );
    run.assert_error(2, "not an object id");
    let run = online.hsm("alpha", &unassign_words(NOBODY, CRYPTO_USER));
    run.assert_error(2, "holds no assignment of role");

    std::fs::write(
        online.fx.path("broken.json"),
        "{\"properties\": {\"roleName\": ",
    )
    .unwrap();
    let run = online.hsm("alpha", &define_words("broken.json", &[]));
    run.assert_error(2, "broken.json: not a JSON role definition");
    online.fx.write_json(
        "typo.json",
        &json!({"roleName": "R", "dataActon": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}),
    );
    let run = online.hsm("alpha", &define_words("typo.json", &[]));
    run.assert_error(2, "unknown key 'dataActon'");
    let run = online.hsm("alpha", &define_words("missing.json", &[]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    online.fx.write_json(
        "ok.json",
        &json!({"roleName": "R", "dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}),
    );
    let run = online.hsm("alpha", &define_words("ok.json", &["--name", "not-a-guid"]));
    run.assert_error(2, "is a GUID");

    // create-sd-officer never takes over a built-in role or a different custom one.
    let run = online.hsm(
        "alpha",
        &[
            "role",
            "create-sd-officer",
            "--role-name",
            "Managed HSM Administrator",
        ],
    );
    run.assert_error(2, "is a built-in role");
    online.fx.write_json(
        "other.json",
        &json!({"roleName": SD_OFFICER,
                "dataActions": ["Microsoft.KeyVault/managedHsm/securitydomain/*"]}),
    );
    let run = online.hsm("alpha", &define_words("other.json", &[]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = online.hsm("alpha", &["role", "create-sd-officer", "--output", "json"]);
    run.assert_error(2, "already exists with other permissions");
    assert_error_envelope(&run, 2);
    assert!(run.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothing was changed"));
}

#[test]
fn assignments_at_the_keys_scope_stay_at_that_scope() {
    let online = Online::start(&["alpha"]);
    let result = json_ok(
        &online,
        &assign_words(CRYPTO_USER, NOBODY, &["--scope", "/keys"]),
    );
    assert_eq!(result["assignment"]["scope"], "/keys", "{result}");
    let listed = json_ok(&online, &["role", "list", "--assignee", NOBODY]);
    let text = listed.to_string();
    assert!(text.contains("\"/keys\""), "{text}");
    // The Crypto User at /keys holds no security-domain action.
    let run = check(&online, Some(NOBODY), &["download"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(last_line(&run).contains(DOWNLOAD_ACTION), "{}", run.stdout);
}
