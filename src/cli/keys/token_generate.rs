//! `sdctl keys generate --pkcs11 URI...`: one custodian key per PKCS#11 token, made on the
//! token; only the certificates and manifest.json are written.

use std::path::Path;

use sdctl::keys::generate::{self, Manifest};
use sdctl::keys::token::generate::set::TokenSetRequest;
use sdctl::keys::token::{Pkcs11Uri, TokenError};
use sdctl::keys::KeyError;
use sdctl::Error;

use super::super::secrets::{harden, token_access};
use super::super::table::Table;
use super::super::Reporter;
use super::GenerateArgs;

/// Runs `keys generate --pkcs11 ...`.
pub(super) fn run(rep: &mut Reporter, args: GenerateArgs) -> Result<i32, Error> {
    harden(rep);
    let options = super::generate_options(&args)?;
    let uris = args
        .pkcs11
        .iter()
        .map(|u| Pkcs11Uri::parse(u).map_err(|e| KeyError::from(TokenError::from(e))))
        .collect::<Result<Vec<_>, _>>()?;
    let request = TokenSetRequest::new(&args.out_dir, uris, args.names, options, args.force)?;
    request.check_outputs_free()?;

    let access = token_access(&args.tokens, rep)?;
    let sessions = request.open(&access)?;
    let human = rep.human();
    let names = request.names();
    let custodians = request.generate(&sessions, &|i| {
        if human {
            if let (Some(name), Some(session)) = (names.get(i), sessions.get(i)) {
                eprintln!(
                    "{name}: generating an RSA-{} key pair on {} ...",
                    args.bits,
                    session.token().describe()
                );
            }
        }
    })?;
    let manifest = request.write(&custodians)?;
    Ok(rep.finish(&manifest, true, || {
        print_manifest(request.out_dir(), &manifest)
    }))
}

fn print_manifest(dir: &Path, manifest: &Manifest) {
    let Some(first) = manifest.custodians.first() else {
        return;
    };
    println!(
        "Generated {} custodian key pair(s) on their tokens; certificates in {} ({} {} bits, valid until {}).",
        manifest.custodians.len(),
        dir.display(),
        first.key_algorithm,
        first.key_bits,
        first.not_after
    );
    let mut table = Table::new(&["custodian", "token", "certificate", "SHA-256 fingerprint"]);
    for c in &manifest.custodians {
        let token = c
            .token
            .as_ref()
            .map(|t| format!("{} (serial {})", t.label, t.serial))
            .unwrap_or_default();
        table.row(vec![
            c.name.clone(),
            token,
            c.certificate_file.clone(),
            c.sha256_fingerprint.clone(),
        ]);
    }
    print!("{}", table.render(2));
    println!("Manifest: {}", dir.join(generate::MANIFEST_FILE).display());
    println!("Each private key was made on its token, sensitive and not extractable: it cannot leave the token, and no key file was written.");
    println!("Give these URIs (with --pkcs11-module) wherever the keys are needed:");
    for c in &manifest.custodians {
        if let Some(t) = &c.token {
            println!("  {}: {}", c.name, t.uri);
        }
    }
}
