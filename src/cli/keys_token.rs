//! `sdctl keys list-token` and the token half of `keys inspect`.

use std::path::PathBuf;

use clap::Args;
use sdctl::keys::token::inspect::{list_tokens, TokenEntry, TokenKeyReport};
use sdctl::keys::token::{Module, Pkcs11Uri};
use sdctl::keys::KeyError;
use sdctl::Error;

use super::secrets::{harden, token_access, TokenArgs};
use super::Reporter;

/// Arguments of `keys list-token`.
#[derive(Args, Debug)]
pub struct ListTokenArgs {
    /// A token URI (pkcs11:token=LABEL or serial=...): list that token's objects.
    #[arg(value_name = "URI")]
    token: Option<String>,
    /// Log in (PIN) to list private objects as well.
    #[arg(long, requires = "token")]
    login: bool,
    #[command(flatten)]
    tokens: TokenArgs,
}

/// Runs `keys list-token`.
pub fn run_list_token(rep: &mut Reporter, args: ListTokenArgs) -> Result<i32, Error> {
    harden(rep);
    let filter = args
        .token
        .as_deref()
        .map(Pkcs11Uri::parse)
        .transpose()
        .map_err(|e| KeyError::Token(e.into()))?;
    let module_path: PathBuf = filter
        .as_ref()
        .and_then(|f| f.module_path.clone())
        .or_else(|| args.tokens.pkcs11_module.clone())
        .ok_or_else(|| {
            KeyError::Usage(
                "keys list-token: give the token library with --pkcs11-module PATH (e.g. /usr/lib/softhsm/libsofthsm2.so)".into(),
            )
        })?;
    let module = Module::load(&module_path).map_err(KeyError::from)?;
    let access = token_access(&args.tokens, rep)?;
    let entries =
        list_tokens(&module, &access, filter.as_ref(), args.login).map_err(KeyError::from)?;
    if let (Some(uri), true) = (&args.token, entries.is_empty()) {
        return Err(KeyError::Usage(format!(
            "{uri}: no token matching it is present in {}",
            module_path.display()
        ))
        .into());
    }
    #[derive(serde::Serialize)]
    struct Listing<'a> {
        module: String,
        tokens: &'a [TokenEntry],
    }
    let listing = Listing {
        module: module_path.display().to_string(),
        tokens: &entries,
    };
    Ok(rep.finish(&listing, true, || print_listing(&listing.module, &entries)))
}

fn print_listing(module: &str, entries: &[TokenEntry]) {
    println!("{module}: {} token(s)", entries.len());
    for entry in entries {
        let t = &entry.token;
        println!(
            "  slot {}: '{}'  serial {}  {} {}",
            t.slot, t.label, t.serial, t.manufacturer, t.model
        );
        println!("    uri:       {}", entry.uri);
        let mut flags = Vec::new();
        if t.pin_locked {
            flags.push("USER PIN LOCKED");
        } else if t.pin_final_try {
            flags.push("next wrong PIN locks it");
        } else if t.pin_count_low {
            flags.push("wrong PINs entered before");
        }
        if t.protected_authentication_path {
            flags.push("PIN on the reader's keypad");
        }
        if !flags.is_empty() {
            println!("    PIN:       {}", flags.join(", "));
        }
        let Some(objects) = &entry.objects else {
            continue;
        };
        let seen = if entry.logged_in {
            "after login"
        } else {
            "public only; --login shows private keys"
        };
        println!("    objects ({seen}):");
        if objects.is_empty() {
            println!("      none");
        }
        for o in objects {
            let mut facts = Vec::new();
            if let Some(bits) = o.bits {
                facts.push(format!("RSA {bits}"));
            }
            match o.stays_on_token {
                Some(true) => facts.push("non-extractable".into()),
                Some(false) => facts.push("EXTRACTABLE".into()),
                None => {}
            }
            if let Some(subject) = &o.subject {
                facts.push(subject.clone());
            }
            println!(
                "      {:<12} {}  id {}  {}",
                o.class,
                o.label,
                o.id,
                facts.join(", ")
            );
            println!("                   {}", o.uri);
            if let Some(x5t) = &o.x5t_256 {
                println!("                   x5t_256 {x5t}");
            }
        }
    }
}

/// Prints what `keys inspect` found for a token key.
pub fn print_token_key_report(r: &TokenKeyReport) {
    let field = |k: &str, v: &str| println!("    {k:<13}{v}");
    println!("{}: private key on a PKCS#11 token", r.uri);
    field("module:", &r.module);
    field(
        "token:",
        &format!(
            "'{}' serial {} ({} {})",
            r.token.label, r.token.serial, r.token.manufacturer, r.token.model
        ),
    );
    field(
        "object:",
        &format!("label '{}', id {}", r.object.label, r.object.id),
    );
    field("key:", &r.key.to_string());
    if let Some(problem) = &r.wrapping_key_problem {
        field("unusable:", problem);
    }
    match &r.extractable_problem {
        Some(problem) => field("WARNING:", problem),
        None => field(
            "stays:",
            "sensitive, non-extractable (cannot leave the token)",
        ),
    }
    field("mechanisms:", &r.mechanisms.join(", "));
    match &r.certificate {
        Some(c) => {
            field("certificate:", &format!("{} (on the token)", c.subject));
            field("valid:", &format!("{} to {}", c.not_before, c.not_after));
            field("x5t_256:", &c.x5t_256);
            field("sha256:", &c.sha256_fingerprint);
        }
        None => field(
            "certificate:",
            "none on the token with this key's id (shares are then matched by trial decryption)",
        ),
    }
}
