//! The online commands on a bad day: faults scripted in the emulator (429 and 503 with
//! Retry-After, 500, dropped connections, slow operations, a Failed upload), one test per
//! kind, all through the CLI. Each command either succeeds, or ends with exit 4 and one line
//! saying what happened and what to do; no failing download leaves a security-domain file or
//! a temporary file behind.

#![cfg(feature = "online")]

mod common;

use std::time::{Duration, Instant};

use common::online::{assert_error_envelope, Online};
use common::Run;

const SD_FILE: &str = "sd.json";

/// An emulator with HSMs alpha and beta, and three custodians in `keys/`.
fn setup() -> Online {
    let online = Online::start(&["alpha", "beta"]);
    online.custodians();
    online
}

/// `hsm download` of a 2-of-3 security domain from alpha into `sd.json`, plus `extra`.
fn download(online: &Online, extra: &[&str]) -> Run {
    online.download("alpha", SD_FILE, extra)
}

/// [`download`], and how long it took.
fn timed_download(online: &Online, extra: &[&str]) -> (Run, Duration) {
    let started = Instant::now();
    let run = download(online, extra);
    (run, started.elapsed())
}

/// The security domain in `sd.json` is whole: `sd inspect` reads it (2-of-3, version 2).
fn assert_sd_complete(online: &Online) {
    let text = std::fs::read_to_string(online.fx.path(SD_FILE)).expect("sd.json is saved");
    let sd: serde_json::Value = serde_json::from_str(&text).expect("sd.json is whole JSON");
    assert_eq!(sd["version"], 2, "{text}");
    assert_eq!(sd["SharedKeys"]["required"], 2, "{text}");
    assert_eq!(
        sd["SharedKeys"]["enc_shares"].as_array().map(Vec::len),
        Some(3)
    );
    let run = online.fx.sdctl(&["sd", "inspect", "--sd-file", SD_FILE]);
    assert_eq!(run.code, 0, "sd inspect: {}", run.stderr);
}

/// The fixture holds exactly what it held before the command: no new security-domain
/// file, no temporary file, no fallback copy.
fn assert_nothing_left(online: &Online, before: &[String]) {
    let after = online.fx.listing(".");
    assert_eq!(after, before, "the failed download left files behind");
}

fn clear_faults(online: &Online) {
    let r = online
        .emu
        .client
        .delete(format!("{}/_emulator/faults", online.emu.url))
        .bearer_auth(online.emu.admin_token())
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// The retry notes the client printed (`sdctl: retrying ...`).
fn retry_notes(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("sdctl: retrying "))
        .collect()
}

#[test]
fn throttled_post_and_poll_wait_for_retry_after_then_succeed() {
    let online = setup();
    // A 429 means "not processed", so even the download POST may be sent again.
    // The status is read once before the POST (to know whether the HSM is new; one
    // attempt, no retry) and polled after it: the first 429 goes to that read, the second
    // to the first poll, which waits and retries.
    online.fault("download", "429", 1);
    online.fault("download/pending", "429", 2);
    let (run, elapsed) = timed_download(&online, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notes = retry_notes(&run);
    assert_eq!(notes.len(), 2, "{}", run.stderr);
    for (note, method) in notes.iter().zip(["POST", "GET"]) {
        assert!(note.contains(&format!("retrying {method} ")), "{note}");
        assert!(note.contains("in 1.0 s"), "Retry-After: 1 honoured: {note}");
        assert!(note.contains("HTTP 429"), "{note}");
        assert!(note.contains("attempt 2 of 5"), "{note}");
    }
    assert!(
        notes[0].contains("/securitydomain/download "),
        "{}",
        notes[0]
    );
    assert!(
        notes[1].contains("/securitydomain/download/pending "),
        "{}",
        notes[1]
    );
    // Two waits of Retry-After (1 s each), not the shorter backoff of 0.25..0.5 s.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(online.faults_left().is_empty());
    assert!(run.stdout.contains("Download: Success"), "{}", run.stdout);
    assert_sd_complete(&online);
}

#[test]
fn service_unavailable_on_reads_is_retried_then_succeeds() {
    let online = setup();
    // The exchange key of a new HSM (a GET): 503 twice, then the key.
    online.fault("transferkey", "503", 2);
    let run = online.hsm("beta", &["init-recovery", "--sd-exchange-key", "exch.pem"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notes = retry_notes(&run);
    assert_eq!(notes.len(), 2, "{}", run.stderr);
    assert!(notes
        .iter()
        .all(|n| n.contains("retrying GET ") && n.contains("HTTP 503") && n.contains("in 1.0 s")));
    let pem = std::fs::read_to_string(online.fx.path("exch.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    // A status poll during a download: 503 once, then Success (the first 503 goes to the
    // single read made before the POST, which is not retried).
    online.fault("download/pending", "503", 2);
    let run = download(&online, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notes = retry_notes(&run);
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].contains("retrying GET ") && notes[0].contains("HTTP 503"));
    assert!(online.faults_left().is_empty());
    assert_sd_complete(&online);
}

#[test]
fn server_error_on_the_download_post_is_not_repeated() {
    let online = setup();
    let before = online.fx.listing(".");
    for kind in ["503", "500"] {
        // Two in stock: a blind retry would use the second.
        online.fault("download", kind, 2);
        let run = download(&online, &["--output", "json"]);
        run.assert_error(
            4,
            "did not start a download; it is safe to run the command again",
        );
        assert!(
            run.stderr.contains(&format!("HTTP {kind}")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("/securitydomain/download"),
            "{}",
            run.stderr
        );
        assert!(retry_notes(&run).is_empty(), "{}", run.stderr);
        assert_eq!(
            online.faults_left(),
            vec![("download".to_owned(), kind.to_owned(), 1)],
            "the POST was sent once"
        );
        assert_error_envelope(&run, 4);
        assert_nothing_left(&online, &before);
        clear_faults(&online);
    }
    // As the message says, running it again is safe, and works.
    let run = download(&online, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_sd_complete(&online);

    // Now the HSM reports a download as Success whatever this request did: the message
    // gives both readings rather than telling the operator to delete an active HSM.
    let before = online.fx.listing(".");
    online.fault("download", "503", 1);
    let run = online.download("alpha", "sd2.json", &[]);
    run.assert_error(
        4,
        "the HSM was already activated before this command; keep the security domain saved at its activation",
    );
    assert_nothing_left(&online, &before);
}

#[test]
fn dropped_connection_while_polling_is_retried() {
    let online = setup();
    // The first drop goes to the single read made before the POST; the next two to polls.
    online.fault("download/pending", "drop", 3);
    let run = download(&online, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notes = retry_notes(&run);
    assert_eq!(notes.len(), 2, "{}", run.stderr);
    assert!(
        notes.iter().all(|n| n.contains("retrying GET ")
            && n.contains("/securitydomain/download/pending ")),
        "{notes:?}"
    );
    assert!(online.faults_left().is_empty());
    assert!(run.stdout.contains("Download: Success"), "{}", run.stdout);
    assert_sd_complete(&online);
}

#[test]
fn dropped_connection_on_the_download_post_is_not_repeated() {
    let online = setup();
    let before = online.fx.listing(".");
    online.fault("download", "drop", 2);
    let run = download(&online, &["--output", "json"]);
    run.assert_error(
        4,
        "did not start a download; it is safe to run the command again",
    );
    assert!(
        run.stderr.contains("/securitydomain/download"),
        "{}",
        run.stderr
    );
    assert!(retry_notes(&run).is_empty(), "{}", run.stderr);
    assert_eq!(
        online.faults_left(),
        vec![("download".to_owned(), "drop".to_owned(), 1)],
        "the POST was sent once"
    );
    assert_error_envelope(&run, 4);
    assert_nothing_left(&online, &before);
}

#[test]
fn slow_operation_hits_the_timeout_and_keeps_the_security_domain() {
    let online = setup();
    // More InProgress answers than a 1 s wait can ask for.
    online.fault("download/pending", "inprogress", 100);
    let (run, elapsed) = timed_download(&online, &["--timeout", "1", "--output", "json"]);
    assert!(elapsed < Duration::from_secs(8));
    run.assert_error(4, "did not finish within 1 s");
    let line = run.stderr.lines().next().unwrap();
    assert!(line.contains("sdctl hsm wait --target download"), "{line}");
    assert!(
        line.contains(&format!(
            "the security domain the HSM sent is saved in {SD_FILE}"
        )),
        "{line}"
    );
    assert_error_envelope(&run, 4);
    // It arrived before the wait: saved whole, and nothing else beside it.
    assert_sd_complete(&online);
    let leftovers: Vec<String> = online
        .fx
        .listing(".")
        .into_iter()
        .filter(|n| n != "keys" && n != "admin.token" && !n.starts_with("pp") && n != SD_FILE)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The operation went on; once the HSM answers again, 'hsm wait' sees it through.
    clear_faults(&online);
    let run = online.hsm("alpha", &["wait", "--target", "download", "--timeout", "5"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("download: Success"), "{}", run.stdout);

    // 'hsm wait' itself under a status that never ends.
    online.fault("upload/pending", "inprogress", 100);
    let run = online.hsm("alpha", &["wait", "--target", "upload", "--timeout", "1"]);
    run.assert_error(4, "did not finish within 1 s");
    assert!(
        run.stderr.contains("sdctl hsm wait --target upload"),
        "{}",
        run.stderr
    );
}

#[test]
fn failed_upload_prints_the_service_details_verbatim() {
    let online = setup();
    let run = download(&online, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Two exchange keys: the second replaces the first in the new HSM.
    for exch in ["exch1.pem", "exch2.pem"] {
        let run = online.hsm("beta", &["init-recovery", "--sd-exchange-key", exch]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    online.restore_blob(
        SD_FILE,
        "exch1.pem",
        ["keys/custodian1.key", "keys/custodian2.key"],
    );
    let blob = online.fx.read_json("blob.json");
    let stale = blob["WrappedKey"]["x5t_256"].as_str().unwrap().to_owned();
    let issued = x5t_256_of_pem(&online, "exch2.pem");
    // The emulator's status_details, as it words them.
    let details = format!(
        "WrappedKey.x5t_256 '{stale}' is not the thumbprint of this HSM's transfer key ('{issued}')"
    );

    let run = online.hsm(
        "beta",
        &[
            "upload",
            "--sd-file",
            "blob.json",
            "--restore-blob",
            "--output",
            "json",
        ],
    );
    run.assert_error(4, &format!("the security-domain upload failed: {details}"));
    assert_error_envelope(&run, 4);
    let envelope = run.json();
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with(&details),
        "{envelope}"
    );

    // Asked again later, the HSM still says Failed, with the same words.
    let run = online.hsm("beta", &["wait", "--target", "upload", "--timeout", "5"]);
    run.assert_error(4, &format!("the security-domain upload failed: {details}"));
}

#[test]
fn latency_is_only_slower() {
    let online = setup();
    online.fault("download", "latency-300", 1);
    online.fault("download/pending", "latency-300", 1);
    let (run, elapsed) = timed_download(&online, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(elapsed >= Duration::from_millis(600));
    assert!(retry_notes(&run).is_empty(), "{}", run.stderr);
    assert!(online.faults_left().is_empty());
    assert_sd_complete(&online);
}

/// `x5t_256` of the certificate in a PEM file of the fixture.
fn x5t_256_of_pem(online: &Online, pem: &str) -> String {
    sdctl::keys::load_certificate(&online.fx.path(pem))
        .unwrap()
        .x5t_256()
}

#[test]
fn a_lost_download_answer_on_a_new_hsm_is_called_what_it_is() {
    // The HSM activates, then the connection drops before the answer (the security domain)
    // arrives: the worst case of an activation, which must never pass as "try again".
    let online = setup();
    let before = online.fx.listing(".");
    online.fault("download", "drop-after", 1);
    let run = download(&online, &[]);
    run.assert_error(4, "the answer carrying the security domain was lost");
    assert!(
        run.stderr
            .contains("Do not create keys in this HSM; delete it and activate a new one"),
        "{}",
        run.stderr
    );
    assert!(retry_notes(&run).is_empty(), "{}", run.stderr);
    assert_nothing_left(&online, &before);
}

#[test]
fn a_lost_upload_answer_says_to_follow_the_upload() {
    let online = setup();
    assert_eq!(download(&online, &[]).code, 0);
    let run = online.hsm("beta", &["init-recovery", "--sd-exchange-key", "exch.pem"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    online.restore_blob(
        SD_FILE,
        "exch.pem",
        ["keys/custodian1.key", "keys/custodian3.key"],
    );
    online.fault("upload", "drop-after", 1);
    let run = online.hsm(
        "beta",
        &["upload", "--sd-file", "blob.json", "--restore-blob"],
    );
    run.assert_error(4, "follow it with 'sdctl hsm wait --target upload'");
    let run = online.hsm("beta", &["wait", "--target", "upload", "--timeout", "10"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_poll_failing_at_the_deadline_is_a_timeout_that_names_hsm_wait() {
    let online = setup();
    // The read before the POST takes one 503; every poll after it gets 503 with
    // Retry-After: 1, which cannot be waited out within --timeout 1.
    online.fault("download/pending", "503", 20);
    let run = download(&online, &["--timeout", "1"]);
    run.assert_error(4, "run 'sdctl hsm wait --target download' to keep waiting");
    assert!(run.stderr.contains("last poll:"), "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 503"), "{}", run.stderr);
    assert_sd_complete(&online);
}
