//! Shared handling of secrets in the CLI: core dumps off, where passphrases come from, and
//! loading the custodians' private keys.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sdctl::keys::{load_wrapping_keys, WrappingKey};
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

/// Loads custodian wrapping keys (key `i` uses passphrase line `i`), with core dumps off.
pub fn load_keys(
    paths: &[PathBuf],
    passphrase_file: Option<&Path>,
    rep: &mut Reporter,
) -> Result<Vec<WrappingKey>, Error> {
    harden(rep);
    let source = passphrase_source(passphrase_file, rep)?;
    if let PassphraseSource::File(file) = &source {
        file.expect_lines(paths.len())?;
    }
    Ok(load_wrapping_keys(paths, &source)?)
}
