//! Shared handling of secrets in the CLI: core dumps off, where passphrases come from, and
//! loading the custodians' private keys.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use sdctl::keys::token::{PinSource, TokenAccess};
use sdctl::keys::{load_wrapping_keys_with, WrappingKey};
use sdctl::passphrase::{PassphraseFile, PassphraseSource};
use sdctl::Error;

use super::Reporter;

/// Disables core dumps before private keys or tokens are touched; a failure is only a warning.
pub fn harden(rep: &mut Reporter) {
    if let Err(e) = sdctl::process::disable_core_dumps() {
        rep.warn(format!("could not disable core dumps: {e}"));
    }
}

/// Passphrases from `--passphrase-file`, else a hidden prompt when a person is at the
/// terminal, else none (an encrypted key is then an error naming --passphrase-file).
pub fn passphrase_source(
    file: Option<&Path>,
    rep: &mut Reporter,
) -> Result<PassphraseSource, Error> {
    match file {
        Some(path) => {
            let file = PassphraseFile::read(path)?;
            if file.readable_by_others() {
                rep.warn(format!(
                    "{}: passphrase file is readable by other users; restrict it with 'chmod 600'",
                    path.display()
                ));
            }
            Ok(PassphraseSource::File(file))
        }
        None if std::io::stdin().is_terminal() => Ok(PassphraseSource::Prompt),
        None => Ok(PassphraseSource::Unavailable),
    }
}

/// `--pkcs11-module PATH --pin-file FILE`: how keys named by PKCS#11 URIs are reached.
#[derive(Args, Debug, Default, Clone)]
pub struct TokenArgs {
    /// The PKCS#11 module (token library) for keys given as pkcs11: URIs, unless the URI
    /// names its own module-path (e.g. /usr/lib/softhsm/libsofthsm2.so,
    /// /usr/lib/x86_64-linux-gnu/libykcs11.so).
    #[arg(long, value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,
    /// File with one token PIN per line (mode 0600), one line per token in the order the
    /// tokens are first used; without it each PIN is asked at a hidden prompt.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
}

/// PINs from `--pin-file`, else a hidden prompt when a person is at the terminal, else none.
pub fn token_access(args: &TokenArgs, rep: &mut Reporter) -> Result<TokenAccess, Error> {
    let pins = match &args.pin_file {
        Some(path) => {
            let pins = PinSource::file(path).map_err(sdctl::keys::KeyError::from)?;
            if pins.readable_by_others() {
                rep.warn(format!(
                    "{}: PIN file is readable by other users; restrict it with 'chmod 600'",
                    path.display()
                ));
            }
            pins
        }
        None if std::io::stdin().is_terminal() => PinSource::Prompt,
        None => PinSource::Unavailable,
    };
    Ok(TokenAccess::new(args.pkcs11_module.clone(), pins))
}

/// Loads custodian wrapping keys, files or token keys (file key `i` uses passphrase line
/// `i`; each token's PIN is asked when it is first used), with core dumps off.
pub fn load_keys(
    paths: &[PathBuf],
    passphrase_file: Option<&Path>,
    tokens: &TokenArgs,
    rep: &mut Reporter,
) -> Result<Vec<WrappingKey>, Error> {
    harden(rep);
    let source = passphrase_source(passphrase_file, rep)?;
    if let PassphraseSource::File(file) = &source {
        file.expect_lines(paths.len())?;
    }
    let access = token_access(tokens, rep)?;
    let keys = load_wrapping_keys_with(paths, &source, &access)?;
    for key in &keys {
        if key.key.token().is_some_and(|t| !t.facts().stays_on_token()) {
            rep.warn(format!(
                "{}: this key can leave its token (CKA_EXTRACTABLE true or CKA_SENSITIVE false): a custodian key should be generated on the token, non-extractable",
                key.key_path.display()
            ));
        }
    }
    Ok(keys)
}
