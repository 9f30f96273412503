//! Custodian steps on the air-gapped machine: each custodian makes their key pair (typing
//! their own passphrase), the witnesses check the certificates, and keys are opened for a
//! quorum.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{json, Value};

use super::engine::{continue_command, Ctx, Done, Outcome, Side, Step};
use super::ui::{labelled_digest, path_from_here, spoken_inline};
use super::{token_custodians, CeremonyError};
use crate::files::{write_atomic, MODE_PUBLIC, MODE_SECRET};
use crate::keys::check::{check_set, Severity};
use crate::keys::generate::generate_custodian;
use crate::keys::{load_certificate, load_wrapping_key, Certificate, KeyError, WrappingKey};
use crate::passphrase::{NewAttempt, PassphraseError, PassphraseSource, StrengthRule};

/// `OUT/custodians/NAME.key`.
pub fn key_path(out: &Path, name: &str) -> PathBuf {
    out.join("custodians").join(format!("{name}.key"))
}

/// `OUT/custodians/NAME.cer`.
pub fn cert_path(out: &Path, name: &str) -> PathBuf {
    out.join("custodians").join(format!("{name}.cer"))
}

/// The public facts of a custodian's certificate, for the record.
pub fn cert_facts(name: &str, cert: &Certificate) -> Vec<(&'static str, Value)> {
    vec![
        ("custodian", json!(name)),
        ("x5t_256", json!(cert.x5t_256())),
        ("sha256_fingerprint", json!(cert.sha256_fingerprint())),
        ("not_after", json!(cert.not_after().to_string())),
    ]
}

/// The step in which custodian `name` makes their key pair. A custodian who already has a
/// key (an interrupted run made it) keeps it: a second key is never made.
pub fn generate_step(name: &str) -> Step {
    let who = name.to_owned();
    Step {
        id: format!("key:{name}"),
        side: Side::Offline,
        actor: format!("custodian {name}"),
        title: format!("{name} makes their key pair"),
        explain: format!("Custodian {name} types a new passphrase privately (hidden, twice; nobody else looks). sdctl makes an RSA key pair, keeps the private key encrypted under that passphrase in custodians/{name}.key (mode 0600) and writes the self-signed certificate custodians/{name}.cer."),
        imports: None,
        action: Box::new(move |ctx| generate(ctx, &who)),
    }
}

fn generate(ctx: &mut Ctx<'_>, name: &str) -> Result<Outcome, crate::Error> {
    ctx.dir("custodians")?;
    let (key, cert) = (key_path(&ctx.out, name), cert_path(&ctx.out, name));
    if let Some(planned) = token_custodians::planned_uri(ctx, name)? {
        if cert.exists() && token_custodians::uri_path(&ctx.out, name).exists() {
            let certificate = load_certificate(&cert)?;
            return token_custodians::kept(ctx, name, &cert, &certificate);
        }
        return token_custodians::generate_on_custodian_token(ctx, name, planned, &cert);
    }
    if key.exists() {
        if !cert.exists() {
            return Err(CeremonyError::Refused(format!(
                "{} exists without its certificate {}: restore the certificate; sdctl never makes a second key for a custodian",
                key.display(),
                cert.display()
            ))
            .into());
        }
        let certificate = load_certificate(&cert)?;
        let mut done = Done::new(format!(
            "{name} already has a key pair; it is kept (a custodian never gets a second key)"
        ));
        done.outputs = vec![ctx.digest(&cert)?, ctx.digest(&key)?];
        for (k, v) in cert_facts(name, &certificate) {
            done.facts.insert(k.into(), v);
        }
        return Ok(Outcome::Done(done.fact("kept_existing_key", true)));
    }
    let Some(passphrase) = new_passphrase(ctx, name)? else {
        return Ok(Outcome::Stopped(format!(
            "Custodian {name} did not set a passphrase; nothing was made for them. When they are ready, run the same command again: the step starts over with three new attempts."
        )));
    };
    let options = ctx.plan.generate_options()?;
    let made = generate_custodian(name, &passphrase, &options)?;
    // The certificate first: a kill between the two writes leaves a certificate without a
    // key, which the next run replaces; never a key without its certificate.
    write_atomic(
        &cert,
        made.certificate.to_pem().as_bytes(),
        MODE_PUBLIC,
        true,
    )?;
    write_atomic(&key, made.key_pem.as_bytes(), MODE_SECRET, false)?;
    ctx.ui.say(&labelled_digest(
        "   ",
        &format!("Custodian {name}: read your certificate's SHA-256 fingerprint aloud:"),
        &made.certificate.sha256_fingerprint(),
    ));
    let mut done = Done::new(format!(
        "{name}'s key pair made: RSA {} bits, certificate SHA-256 fingerprint {}",
        options.bits,
        spoken_inline(&made.certificate.sha256_fingerprint())
    ))
    .fact("passphrases", ctx.passphrase_origin());
    done.outputs = vec![ctx.digest(&cert)?, ctx.digest(&key)?];
    for (k, v) in cert_facts(name, &made.certificate) {
        done.facts.insert(k.into(), v);
    }
    Ok(Outcome::Done(done))
}

/// Custodian `name`'s new passphrase: from the passphrase file, or typed at the prompt in up
/// to three attempts (each failed one recorded); `None` when no attempt succeeded or the
/// custodian ended the input (recorded as a stop).
fn new_passphrase(
    ctx: &mut Ctx<'_>,
    name: &str,
) -> Result<Option<crate::passphrase::Passphrase>, crate::Error> {
    const ATTEMPTS: usize = 3;
    let index = passphrase_index(ctx, name);
    for attempt in 1..=ATTEMPTS {
        let tried = ctx.ui.passphrases().new_attempt(
            index,
            name,
            StrengthRule::DEFAULT,
            (attempt, ATTEMPTS),
        );
        let why = match tried {
            Ok(NewAttempt::Accepted(pass)) => return Ok(Some(pass)),
            Ok(NewAttempt::Rejected(why)) => why,
            Err(PassphraseError::Prompt { reason, .. }) => {
                let question = format!("custodian {name}'s new passphrase");
                let mut facts = super::runner::stop_facts(&question);
                facts.insert("answer".into(), "no answer (input ended)".into());
                ctx.note(
                    "stopped",
                    format!("custodian {name} set no passphrase: {reason}"),
                    facts,
                )?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        ctx.ui.say(&format!(
            "   Attempt {attempt} of {ATTEMPTS} failed: {why}.{}",
            if attempt < ATTEMPTS {
                " Please try again."
            } else {
                ""
            }
        ));
        let mut facts = serde_json::Map::new();
        facts.insert("custodian".into(), name.into());
        facts.insert("what".into(), "passphrase".into());
        facts.insert("attempt".into(), attempt.into());
        facts.insert("of".into(), ATTEMPTS.into());
        facts.insert("reason".into(), why.clone().into());
        ctx.note(
            "failed-attempt",
            format!("custodian {name}'s new passphrase, attempt {attempt} of {ATTEMPTS}: {why}"),
            facts,
        )?;
    }
    let mut facts = super::runner::stop_facts(&format!("custodian {name}'s new passphrase"));
    facts.insert(
        "answer".into(),
        format!("no acceptable passphrase in {ATTEMPTS} attempts").into(),
    );
    ctx.note(
        "stopped",
        format!("custodian {name} set no passphrase in {ATTEMPTS} attempts; the step stopped"),
        facts,
    )?;
    Ok(None)
}

/// The witnesses' check of every custodian's certificate (`keys check`), with the
/// fingerprints to compare against `openssl x509 -fingerprint -sha256`.
pub fn check_step(names: Vec<String>) -> Step {
    Step {
        id: "check-keys".into(),
        side: Side::Offline,
        actor: "witnesses".into(),
        title: "Witnesses check the certificates".into(),
        explain: "Every certificate is checked as a Managed HSM wrapping key (RSA size, key usage, validity, no duplicates). Each fingerprint is shown with the openssl command that prints it; witnesses compare it with what its custodian read aloud, then confirm.".into(),
        imports: None,
        action: Box::new(move |ctx| check(ctx, &names)),
    }
}

fn check(ctx: &mut Ctx<'_>, names: &[String]) -> Result<Outcome, crate::Error> {
    let certs: Vec<PathBuf> = names.iter().map(|n| cert_path(&ctx.out, n)).collect();
    let report = check_set(
        &certs,
        &[],
        &PassphraseSource::Unavailable,
        SystemTime::now(),
    )?;
    let mut done = Done::new(format!("{} certificates checked", certs.len()));
    let mut rows = Vec::new();
    for (name, path) in names.iter().zip(&certs) {
        let cert = load_certificate(path)?;
        ctx.ui.say(&labelled_digest(
            "   ",
            &format!("{name}: SHA-256 fingerprint"),
            &cert.sha256_fingerprint(),
        ));
        ctx.ui.say(&format!(
            "      (openssl x509 -noout -fingerprint -sha256 -in {} prints the same digits, with colons)",
            path_from_here(path)
        ));
        rows.push(json!({"custodian": name, "sha256_fingerprint": cert.sha256_fingerprint(), "x5t_256": cert.x5t_256()}));
        done.inputs.push(ctx.digest(path)?);
    }
    if !report.passed {
        let problems: Vec<String> = report
            .custodians
            .iter()
            .flat_map(|r| {
                r.findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(move |f| format!("{}: {}", r.certificate, f.message))
            })
            .chain(report.set_findings.iter().map(|f| f.message.clone()))
            .collect();
        return Err(CeremonyError::Refused(format!(
            "the certificate check failed: {}",
            problems.join("; ")
        ))
        .into());
    }
    let confirmed = witnesses_confirm(
        ctx,
        "Witnesses: does each fingerprint above match the one its custodian read aloud from their own screen?",
        "the witnesses did not confirm the custodians' fingerprints: find out which certificate differs before anything leaves this machine",
    )?;
    Ok(Outcome::Done(
        done.fact("certificates", Value::from(rows))
            .fact("witnesses_confirmed", confirmed),
    ))
}

/// Asks the witnesses `question` about what was just shown. Yes: the answer for the record
/// (the question, or that `--yes` answered it). No: a refusal saying `refusal`.
pub fn witnesses_confirm(
    ctx: &mut Ctx<'_>,
    question: &str,
    refusal: &str,
) -> Result<String, crate::Error> {
    if !ctx.ui.attended() {
        ctx.ui
            .say(&format!("{question} [y/N] yes (--yes: not asked)"));
        return Ok(format!("not asked (--yes): {question}"));
    }
    if ctx.ui.confirm(question) {
        Ok(question.to_owned())
    } else {
        Err(CeremonyError::Refused(refusal.to_owned()).into())
    }
}

/// The line of a `--passphrase-file` for custodian `name`: the plan's order, then the
/// custodians of the current security domain who are no longer in the plan.
pub fn passphrase_index(ctx: &Ctx<'_>, name: &str) -> usize {
    let plan = ctx.plan.custodian_names();
    if let Some(i) = plan.iter().position(|n| n == name) {
        return i;
    }
    let retired: Vec<String> = ctx
        .state
        .current_sd
        .iter()
        .flat_map(|sd| sd.custodians.iter())
        .filter(|n| !plan.contains(n))
        .cloned()
        .collect();
    plan.len()
        + retired
            .iter()
            .position(|n| n == name)
            .unwrap_or(retired.len())
}

/// How many times a custodian may type their passphrase at the prompt within one step.
pub const PASSPHRASE_ATTEMPTS: usize = 3;

/// Opens the private keys of `names` for step `step` (each custodian's passphrase in
/// turn). A passphrase typed wrong at the prompt is recorded (`failed-attempt`) and asked
/// again, naming the custodian and counting attempts; after [`PASSPHRASE_ATTEMPTS`] the
/// step stops, recorded (`stopped`), and `Ok(Err(outcome))` says to run the same command
/// again. A wrong line of a `--passphrase-file` is an error naming the file and the line.
pub fn open_keys(
    ctx: &mut Ctx<'_>,
    step: &str,
    names: &[String],
) -> Result<Result<Vec<WrappingKey>, Outcome>, crate::Error> {
    crate::process::disable_core_dumps().ok();
    let mut keys = Vec::new();
    for name in names {
        if let Some(uri) = token_custodians::recorded_uri(ctx, name)? {
            match token_custodians::open_token_key(ctx, name, &uri) {
                Ok(key) => keys.push(key),
                Err(e) => {
                    let failed = Done::new(format!(
                        "custodian {name}'s token key could not be opened: {e}"
                    ))
                    .fact("custodian", name.as_str())
                    .fact("what", "token")
                    .fact("attempts", 1);
                    ctx.note_done(
                        step,
                        &format!("custodian {name}"),
                        "failed-attempt",
                        &failed,
                    )?;
                    return Err(e);
                }
            }
            continue;
        }
        if ctx.plan.custodian_token(name).is_some() {
            return Err(CeremonyError::Refused(format!(
                "{}: custodian {name}'s key is on a token, but the file naming it is not here; bring custodians/{name}.uri (written by the activation) to the air-gapped machine",
                token_custodians::uri_path(&ctx.out, name).display()
            ))
            .into());
        }
        let path = key_path(&ctx.out, name);
        if !path.exists() {
            return Err(CeremonyError::Refused(format!(
                "{}: custodian {name}'s key is not here; bring it to the air-gapped machine's custodians/ folder",
                path.display()
            ))
            .into());
        }
        match open_one(ctx, step, name, &path)? {
            Some(key) => keys.push(key),
            None => return Ok(Err(passphrase_stop(ctx, step, name)?)),
        }
    }
    Ok(Ok(keys))
}

/// Custodian `name`'s key at `path`; `None` after [`PASSPHRASE_ATTEMPTS`] wrong ones.
fn open_one(
    ctx: &mut Ctx<'_>,
    step: &str,
    name: &str,
    path: &Path,
) -> Result<Option<WrappingKey>, crate::Error> {
    let index = passphrase_index(ctx, name);
    let rel = ctx.rel(path);
    for attempt in 1..=PASSPHRASE_ATTEMPTS {
        ctx.ui.say(&if attempt == 1 {
            format!("   Custodian {name}: your passphrase opens {rel}.")
        } else {
            format!(
                "   Custodian {name}: type your passphrase again (attempt {attempt} of {PASSPHRASE_ATTEMPTS})."
            )
        });
        match load_wrapping_key(path, index, ctx.ui.passphrases()) {
            Ok(key) => return Ok(Some(key)),
            Err(KeyError::WrongPassphrase { .. }) => {
                if let PassphraseSource::File(file) = ctx.ui.passphrases() {
                    return Err(CeremonyError::WrongPassphraseLine {
                        file: file.path().to_owned(),
                        line: index + 1,
                        custodian: name.to_owned(),
                        key: path.to_owned(),
                    }
                    .into());
                }
                ctx.ui.say(&format!(
                    "   That passphrase does not open {rel} (custodian {name}, attempt {attempt} of {PASSPHRASE_ATTEMPTS})."
                ));
                let failed = Done::new(format!(
                    "custodian {name}'s passphrase did not open {rel} (attempt {attempt} of {PASSPHRASE_ATTEMPTS})"
                ))
                .fact("custodian", name)
                .fact("what", "passphrase")
                .fact("attempt", attempt)
                .fact("of", PASSPHRASE_ATTEMPTS);
                ctx.note_done(
                    step,
                    &format!("custodian {name}"),
                    "failed-attempt",
                    &failed,
                )?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// Records the stop after too many wrong passphrases; what people are told to do next.
fn passphrase_stop(ctx: &mut Ctx<'_>, step: &str, name: &str) -> Result<Outcome, crate::Error> {
    let stopped = Done::new(format!(
        "stopped: custodian {name}'s passphrase was typed wrong {PASSPHRASE_ATTEMPTS} times; nothing of the step was done"
    ))
    .fact("custodian", name)
    .fact("what", "passphrase")
    .fact("attempts", PASSPHRASE_ATTEMPTS)
    .fact("question", format!("custodian {name}'s passphrase"))
    .fact("answer", "no answer");
    ctx.note_done(step, &format!("custodian {name}"), "stopped", &stopped)?;
    Ok(Outcome::Stopped(format!(
        "Custodian {name}'s passphrase was typed wrong {PASSPHRASE_ATTEMPTS} times (recorded); nothing of this step was done. When {name} is ready, run the same command again: {}",
        continue_command(ctx, Side::Offline)
    )))
}
