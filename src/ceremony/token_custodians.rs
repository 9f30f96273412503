//! Custodians whose key is on a PKCS#11 token (the plan's `token = "pkcs11:..."`): the
//! activation makes the key on the token (or takes the existing key the URI names), writes
//! the certificate and `custodians/NAME.uri` (the key's URI, public); drills and
//! recoveries ask the custodian to insert the token and open the key there.

use std::path::{Path, PathBuf};

use super::engine::{Ctx, Done, Outcome};
use super::ui::{labelled_digest, spoken_inline};
use super::CeremonyError;
use crate::files::{read_bounded_nonempty, write_atomic, MODE_PUBLIC};
use crate::keys::token::generate::{generate_on_token, TokenKeyRequest, LABEL_PREFIX};
use crate::keys::token::{find_key, public_certificates, Pkcs11Uri, TokenError, TokenKeyFacts};
use crate::keys::{load_token_key, Certificate, KeyError, WrappingKey};

/// `OUT/custodians/NAME.uri`: the URI of a custodian's key on a token.
pub fn uri_path(out: &Path, name: &str) -> PathBuf {
    out.join("custodians").join(format!("{name}.uri"))
}

/// The plan's token URI for `name`, with the module filled in: the URI's own
/// `module-path`, else `--pkcs11-module`, else the plan's `[keys] pkcs11_module`.
pub fn planned_uri(ctx: &Ctx<'_>, name: &str) -> Result<Option<Pkcs11Uri>, crate::Error> {
    let Some(text) = ctx.plan.custodian_token(name) else {
        return Ok(None);
    };
    let mut uri = Pkcs11Uri::parse(text).map_err(|e| KeyError::Token(e.into()))?;
    fill_module(ctx, &mut uri);
    Ok(Some(uri))
}

fn fill_module(ctx: &Ctx<'_>, uri: &mut Pkcs11Uri) {
    if uri.module_path.is_none() && ctx.ui.tokens().module().is_none() {
        uri.module_path = ctx
            .plan
            .keys
            .pkcs11_module
            .as_ref()
            .map(|m| ctx.plan.resolve(m));
    }
}

/// The key URI recorded for `name` by the activation, when their key is on a token.
pub fn recorded_uri(ctx: &Ctx<'_>, name: &str) -> Result<Option<Pkcs11Uri>, crate::Error> {
    let path = uri_path(&ctx.out, name);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_bounded_nonempty(&path, 4096, "a token key URI")?;
    let text = std::str::from_utf8(&bytes).unwrap_or_default().trim();
    let mut uri = Pkcs11Uri::parse(text).map_err(|e| KeyError::Token(e.into()))?;
    let refuse = |why: String| -> crate::Error {
        CeremonyError::Refused(format!(
            "{}: {why}; restore the file the activation wrote (its SHA-256 is in the activation's record)",
            path.display()
        ))
        .into()
    };
    // The file travels on the medium: it may only say which key, never which code to load
    // or where a PIN comes from, and only on the token the plan names.
    if uri.module_path.is_some() || uri.pin_source.is_some() {
        return Err(refuse(
            "names a module-path or pin-source, which the activation never writes".into(),
        ));
    }
    if let Some(planned) = ctx.plan.custodian_token(name) {
        let planned = Pkcs11Uri::parse(planned).map_err(|e| KeyError::Token(e.into()))?;
        let differs = |want: &Option<String>, have: &Option<String>| want.is_some() && want != have;
        if differs(&planned.token, &uri.token)
            || differs(&planned.serial, &uri.serial)
            || (planned.id.is_some() && planned.id != uri.id)
            || (planned.object.is_some() && planned.object != uri.object)
        {
            return Err(refuse(format!(
                "names another token or key than the plan's token for {name} ({})",
                planned
            )));
        }
    }
    fill_module(ctx, &mut uri);
    Ok(Some(uri))
}

fn without_module(uri: &Pkcs11Uri) -> Pkcs11Uri {
    Pkcs11Uri {
        module_path: None,
        ..uri.clone()
    }
}

/// The custodian a key opened by a ceremony belongs to: the file stem of a key file, or
/// for a token key the custodian whose `custodians/NAME.uri` names it.
pub fn custodian_of(ctx: &Ctx<'_>, key_path: &Path) -> String {
    if crate::keys::token::is_pkcs11_uri(key_path) {
        let text = key_path.to_string_lossy();
        for name in ctx.plan.custodian_names() {
            if let Ok(Some(uri)) = recorded_uri(ctx, &name) {
                if without_module(&uri).to_string() == text {
                    return name;
                }
            }
        }
        return text.into_owned();
    }
    key_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The record's facts about a token key.
fn token_facts(
    done: Done,
    uri: &Pkcs11Uri,
    token: &crate::keys::token::TokenDescription,
    facts: Option<&TokenKeyFacts>,
) -> Done {
    let mut done = done
        .fact("key_location", "token")
        .fact("token_label", token.label.as_str())
        .fact("token_serial", token.serial.as_str())
        .fact("token_manufacturer", token.manufacturer.as_str())
        .fact("token_model", token.model.as_str())
        .fact("key_uri", uri.to_string());
    if let Some(f) = facts {
        done = done
            .fact("object_label", f.label.as_str())
            .fact("object_id", f.id.as_str())
            .fact("non_extractable", f.stays_on_token());
    }
    done
}

/// The activation step of a token custodian: the key is made on the token as
/// `sdctl-NAME` (or the existing key the plan's URI names, or the `sdctl-NAME` an
/// interrupted run made, is taken); its certificate and URI are written.
pub fn generate_on_custodian_token(
    ctx: &mut Ctx<'_>,
    name: &str,
    planned: Pkcs11Uri,
    cert: &Path,
) -> Result<Outcome, crate::Error> {
    let uri_file = uri_path(&ctx.out, name);
    ctx.ui.say(&format!(
        "   Custodian {name}: insert your token ({}) and type its PIN.",
        planned.token.as_deref().unwrap_or("as the plan names it")
    ));
    let names_key = planned.object.is_some() || planned.id.is_some();
    let mut existing = planned.clone();
    if !names_key {
        existing.object = Some(format!("{LABEL_PREFIX}{name}"));
    }
    let options = ctx.plan.generate_options()?;
    let (key_uri, certificate, token, facts, made) = match find_key(ctx.ui.tokens(), &existing) {
        Ok(found) => {
            let facts = found.key.facts().clone();
            if !facts.stays_on_token() {
                return Err(KeyError::Token(TokenError::Extractable {
                    uri: existing.to_string(),
                })
                .into());
            }
            let Some(certificate) = found.certificate else {
                return Err(CeremonyError::Refused(format!(
                    "{existing}: the key has no certificate beside it on the token; store the key's self-signed certificate on the token with the key's id (e.g. 'ykman piv certificates generate'), or name a token without the key so that sdctl makes one"
                ))
                .into());
            };
            prove_possession(&found.key, &certificate, &existing)?;
            let mut key_uri = existing.clone();
            key_uri.serial = Some(found.key.session().token().serial.clone());
            key_uri.module_path = None;
            let token = found.key.session().token().clone();
            (key_uri, certificate, token, Some(facts), false)
        }
        Err(TokenError::ObjectMissing { .. }) if !names_key => {
            let session = ctx.ui.tokens().session_rw(&planned)?;
            let mut request = TokenKeyRequest::new(name, options.bits, &options);
            let mut token_uri = planned.clone();
            token_uri.module_path = None;
            token_uri.serial = Some(session.token().serial.clone());
            request.uri = Some(token_uri);
            let key = generate_on_token(&session.lock(), &request)?;
            let facts = TokenKeyFacts {
                label: key.label.clone(),
                id: key.id_hex(),
                sensitive: key.protection.sensitive,
                extractable: key.protection.extractable,
                never_extractable: key.protection.never_extractable,
                always_sensitive: key.protection.always_sensitive,
            };
            (
                key.uri,
                key.certificate,
                session.token().clone(),
                Some(facts),
                true,
            )
        }
        Err(e) => return Err(KeyError::Token(e).into()),
    };
    write_atomic(cert, certificate.to_pem().as_bytes(), MODE_PUBLIC, true)?;
    write_atomic(
        &uri_file,
        format!("{key_uri}\n").as_bytes(),
        MODE_PUBLIC,
        true,
    )?;
    ctx.ui.say(&labelled_digest(
        "   ",
        &format!("Custodian {name}: read your certificate's SHA-256 fingerprint aloud:"),
        &certificate.sha256_fingerprint(),
    ));
    let summary = if made {
        format!(
            "{name}'s key pair made on {} (non-extractable): certificate SHA-256 fingerprint {}",
            token.describe(),
            spoken_inline(&certificate.sha256_fingerprint())
        )
    } else {
        format!(
            "{name}'s existing key on {} is used: certificate SHA-256 fingerprint {}",
            token.describe(),
            spoken_inline(&certificate.sha256_fingerprint())
        )
    };
    let mut done = token_facts(Done::new(summary), &key_uri, &token, facts.as_ref())
        .fact("made_on_token", made)
        .fact("pins", ctx.ui.tokens().pin_origin());
    done.outputs = vec![ctx.digest(cert)?, ctx.digest(&uri_file)?];
    for (k, v) in super::custodians::cert_facts(name, &certificate) {
        done.facts.insert(k.into(), v);
    }
    Ok(Outcome::Done(done))
}

/// Proves that the token holds the private key of `certificate`: a random value encrypted
/// to the certificate must come back decrypted by the token. Public objects (a certificate,
/// a public key) can be planted on some tokens without the PIN; the private key cannot.
fn prove_possession(
    key: &crate::keys::token::TokenKey,
    certificate: &Certificate,
    uri: &Pkcs11Uri,
) -> Result<(), crate::Error> {
    use crate::primitives::jwe::{encrypt_rsa_oaep256, CompactJwe};
    let mut challenge = zeroize::Zeroizing::new([0u8; 32]);
    openssl::rand::rand_bytes(challenge.as_mut()).map_err(|e| KeyError::Crypto {
        context: "proof of possession".into(),
        detail: e.to_string(),
    })?;
    let public = certificate
        .public_key()
        .to_openssl()
        .map_err(|detail| KeyError::Crypto {
            context: "proof of possession".into(),
            detail,
        })?;
    let sealed = encrypt_rsa_oaep256(challenge.as_ref(), &public, &serde_json::Map::new())
        .map_err(|e| KeyError::Crypto {
            context: "proof of possession".into(),
            detail: e.to_string(),
        })?;
    let opened = CompactJwe::parse(&sealed)
        .ok()
        .and_then(|jwe| jwe.decrypt_rsa(key).ok());
    if opened.as_deref().map(|p| &p[..]) != Some(&challenge[..]) {
        return Err(KeyError::Token(TokenError::Unusable {
            uri: uri.to_string(),
            detail: "the token does not hold the private key of the certificate stored with it (a value encrypted to the certificate did not come back); the key cannot be used".into(),
        })
        .into());
    }
    Ok(())
}

/// The certificate of a token custodian whose key was already made, for a rerun.
pub fn kept(
    ctx: &mut Ctx<'_>,
    name: &str,
    cert: &Path,
    certificate: &Certificate,
) -> Result<Outcome, crate::Error> {
    let mut done = Done::new(format!(
        "{name} already has a key on their token; it is kept (a custodian never gets a second key)"
    ))
    .fact("kept_existing_key", true)
    .fact("key_location", "token");
    done.outputs = vec![ctx.digest(cert)?, ctx.digest(&uri_path(&ctx.out, name))?];
    for (k, v) in super::custodians::cert_facts(name, certificate) {
        done.facts.insert(k.into(), v);
    }
    Ok(Outcome::Done(done))
}

/// Opens custodian `name`'s key on their token (asking them to insert it; its PIN is asked
/// once, never retried).
pub fn open_token_key(
    ctx: &mut Ctx<'_>,
    name: &str,
    uri: &Pkcs11Uri,
) -> Result<WrappingKey, crate::Error> {
    ctx.ui.say(&format!(
        "   Custodian {name}: insert your token ({}) and type its PIN when asked.",
        uri.token.as_deref().unwrap_or("")
    ));
    let text = uri.to_string();
    let cert = super::custodians::cert_path(&ctx.out, name);
    if cert.exists() {
        // Before the PIN: a token that shows a certificate under the key's id must show
        // the custodian's (a look-alike token never receives the PIN).
        let planned = crate::keys::load_certificate(&cert)?;
        let shown = public_certificates(ctx.ui.tokens(), uri)?;
        if !shown.is_empty() && !shown.iter().any(|c| c.der() == planned.der()) {
            return Err(KeyError::Token(TokenError::Unusable {
                uri: text,
                detail: format!(
                    "the certificate on this token is not custodian {name}'s ({}); is this {name}'s token? No PIN was asked",
                    cert.display()
                ),
            })
            .into());
        }
    }
    let mut key = load_token_key(Path::new(&text), ctx.ui.tokens())?;
    // The key is named in records by its URI without the module (as custodians/NAME.uri
    // holds it).
    key.key_path = PathBuf::from(without_module(uri).to_string());
    if cert.exists() {
        let planned = crate::keys::load_certificate(&cert)?;
        if !key.key.matches(&planned) {
            return Err(KeyError::Token(TokenError::Unusable {
                uri: text,
                detail: format!(
                    "the key on this token does not match custodian {name}'s certificate {}; is this {name}'s token?",
                    cert.display()
                ),
            })
            .into());
        }
    }
    Ok(key)
}
