//! Writing a split's shares to a directory, one custodian at a time, in the form asked for:
//! the binary record, the paper text form, a QR code (SVG and PNG, with the text form), or
//! sealed to each custodian's certificate. All files are written together atomically (no
//! partial set is ever left behind), shares with mode 0600, with a manifest that holds no
//! secret.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::format::Share;
use super::{qr, sealed, text, ShareError};
use crate::files::{self, WriteBatch, MODE_PUBLIC, MODE_SECRET};
use crate::keys::generate::validate_names;
use crate::keys::Certificate;

/// The manifest's file name in the output directory.
pub const MANIFEST: &str = "shares.json";

/// How each share is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputForm {
    /// The binary record, `NAME.share`.
    File,
    /// The text form for paper, `NAME.share.txt`.
    Text,
    /// The text form and a QR code of it, `NAME.share.txt`, `.svg`, `.png`.
    Qr,
}

/// Where and how to write a split.
pub struct SplitOutput {
    /// The directory (created 0700 when missing).
    pub out_dir: PathBuf,
    /// One name per share: file stems and custodian names.
    pub names: Vec<String>,
    /// The form of every share.
    pub form: OutputForm,
    /// Certificates to seal the shares to, one per share in order (or none).
    pub recipients: Vec<(PathBuf, Certificate)>,
    /// Overwrite existing files.
    pub force: bool,
}

/// One share as written.
#[derive(Clone, Debug, Serialize)]
pub struct WrittenShare {
    /// The custodian's name.
    pub name: String,
    /// The share's index in the set.
    pub index: u8,
    /// The files written for it.
    pub files: Vec<PathBuf>,
    /// For a sealed share, the certificate file it is sealed to.
    pub sealed_to: Option<PathBuf>,
    /// For a sealed share, that certificate's SHA-256 thumbprint (`x5t#S256`).
    pub sealed_to_x5t_256: Option<String>,
}

/// What a split wrote; also the manifest's content.
#[derive(Clone, Debug, Serialize)]
pub struct SplitManifest {
    /// The set id.
    pub set_id: String,
    /// How many shares rebuild the secret.
    pub threshold: u8,
    /// How many shares were made.
    pub count: u8,
    /// The secret's length in bytes.
    pub secret_bytes: usize,
    /// The form the shares were written in.
    pub form: OutputForm,
    /// Whether shares are sealed to certificates.
    pub sealed: bool,
    /// Every share.
    pub shares: Vec<WrittenShare>,
    /// The manifest file.
    pub manifest: PathBuf,
}

impl SplitOutput {
    /// Default names: the certificates' file stems when sealing, else `share-1`..`share-N`.
    pub fn default_names(count: u8, recipients: &[(PathBuf, Certificate)]) -> Vec<String> {
        if recipients.is_empty() {
            return (1..=count).map(|i| format!("share-{i}")).collect();
        }
        recipients
            .iter()
            .map(|(path, _)| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Checks names, recipients and forms against `count` before any secret is read.
    pub fn check(&self, count: u8) -> Result<(), ShareError> {
        let n = count as usize;
        if !self.recipients.is_empty() {
            if self.recipients.len() != n {
                return Err(ShareError::Usage(format!(
                    "--to-certs has {} certificate(s) but --shares is {n}: give one certificate per share",
                    self.recipients.len()
                )));
            }
            if self.form != OutputForm::File {
                return Err(ShareError::Usage(
                    "sealed shares are files (compact JWE); --to-certs goes with --format file"
                        .into(),
                ));
            }
            check_recipients(&self.recipients)?;
        }
        if self.names.len() != n {
            return Err(ShareError::Usage(format!(
                "--names has {} name(s) but --shares is {n}",
                self.names.len()
            )));
        }
        validate_names(&self.names, n)?;
        for path in self.paths_of_all() {
            files::ensure_free(&path, self.force)?;
        }
        Ok(())
    }

    fn paths(&self, name: &str) -> Vec<PathBuf> {
        let stem = |ext: &str| self.out_dir.join(format!("{name}.{ext}"));
        if !self.recipients.is_empty() {
            return vec![stem("share.jwe")];
        }
        match self.form {
            OutputForm::File => vec![stem("share")],
            OutputForm::Text => vec![stem("share.txt")],
            OutputForm::Qr => vec![stem("share.txt"), stem("share.svg"), stem("share.png")],
        }
    }

    fn paths_of_all(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self.names.iter().flat_map(|n| self.paths(n)).collect();
        all.push(self.manifest_path());
        all
    }

    fn manifest_path(&self) -> PathBuf {
        self.out_dir.join(MANIFEST)
    }

    /// Writes `shares` (from one split of a `secret_bytes`-long secret).
    pub fn write(
        &self,
        shares: &[Share],
        secret_bytes: usize,
    ) -> Result<SplitManifest, ShareError> {
        let Some(first) = shares.first() else {
            return Err(ShareError::Usage("no shares to write".into()));
        };
        self.check(first.count)?;
        files::create_private_dir(&self.out_dir)?;
        let mut batch = WriteBatch::new(self.force);
        let mut written = Vec::new();
        for (i, share) in shares.iter().enumerate() {
            let name = &self.names[i];
            let paths = self.paths(name);
            let recipient = self.recipients.get(i);
            match recipient {
                Some((_, cert)) => batch.stage(
                    &paths[0],
                    sealed::seal(share, cert)?.as_bytes(),
                    MODE_SECRET,
                )?,
                None => self.stage_plain(&mut batch, share, name, &paths)?,
            }
            written.push(WrittenShare {
                name: name.clone(),
                index: share.index,
                files: paths,
                sealed_to: recipient.map(|(p, _)| p.clone()),
                sealed_to_x5t_256: recipient.map(|(_, c)| c.x5t_256()),
            });
        }
        let manifest = SplitManifest {
            set_id: first.set_id.to_string(),
            threshold: first.threshold,
            count: first.count,
            secret_bytes,
            form: self.form,
            sealed: !self.recipients.is_empty(),
            shares: written,
            manifest: self.manifest_path(),
        };
        let json = serde_json::to_string_pretty(&manifest)
            .map_err(|e| ShareError::Crypto(e.to_string()))?;
        batch.stage(&manifest.manifest, json.as_bytes(), MODE_PUBLIC)?;
        batch.commit()?;
        Ok(manifest)
    }

    fn stage_plain(
        &self,
        batch: &mut WriteBatch,
        share: &Share,
        name: &str,
        paths: &[PathBuf],
    ) -> Result<(), ShareError> {
        let record = share.encode();
        if self.form == OutputForm::File {
            return Ok(batch.stage(&paths[0], &record, MODE_SECRET)?);
        }
        let comments = vec![
            format!(
                "sdctl share {} of {} for {name}: any {} of the {} shares rebuild the secret",
                share.index, share.count, share.threshold, share.count
            ),
            format!(
                "set {}; keep this page as safe as the secret itself",
                share.set_id
            ),
            "each line ends with two check characters after '/'; a typo is found and located"
                .into(),
        ];
        let paper = text::to_text(&record, &comments).map_err(ShareError::Usage)?;
        batch.stage(&paths[0], paper.as_bytes(), MODE_SECRET)?;
        if self.form == OutputForm::Qr {
            let payload = text::to_compact(&record);
            batch.stage(
                &paths[1],
                qr::svg(&payload).map_err(ShareError::Usage)?.as_bytes(),
                MODE_SECRET,
            )?;
            batch.stage(
                &paths[2],
                &qr::png(&payload).map_err(ShareError::Usage)?,
                MODE_SECRET,
            )?;
        }
        Ok(())
    }
}

/// Every recipient must be a usable RSA key, and no certificate may appear twice (two
/// shares for one custodian would lower the threshold).
fn check_recipients(recipients: &[(PathBuf, Certificate)]) -> Result<(), ShareError> {
    for (i, (path, cert)) in recipients.iter().enumerate() {
        if let Some(reason) = cert.public_key().encryption_problem() {
            return Err(ShareError::Usage(format!("{}: {reason}", path.display())));
        }
        if let Some((other, _)) = recipients[..i].iter().find(|(_, c)| c.der() == cert.der()) {
            return Err(ShareError::Usage(format!(
                "{} and {} are the same certificate: one custodian would hold two shares",
                other.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// How errors name the secret read from standard input (`--in -`).
pub const STDIN_NAME: &str = "standard input (--in -)";

/// The secret to split, read from `path` (`-` for standard input) into wiped memory, at
/// most the largest secret a share carries; an empty one is refused.
pub fn read_secret(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, ShareError> {
    let limit = super::format::MAX_SECRET_LEN as u64;
    let kind = "a secret to split";
    let (secret, named) = if path == Path::new("-") {
        // Errors name standard input in words: a bare "-" says nothing to people.
        let stdin = PathBuf::from(STDIN_NAME);
        let secret =
            files::read_to_end_wiped(std::io::stdin().lock(), limit).map_err(|source| {
                files::FileError::Read {
                    path: stdin.clone(),
                    source,
                }
            })?;
        if secret.len() as u64 > limit {
            return Err(files::FileError::TooLarge {
                path: stdin,
                limit,
                kind,
            }
            .into());
        }
        (secret, stdin)
    } else {
        let secret = zeroize::Zeroizing::new(files::read_bounded(path, limit, kind)?);
        (secret, path.to_owned())
    };
    // Shares of nothing would pass every later check: an empty input is a mistake.
    if secret.is_empty() {
        return Err(files::FileError::Empty { path: named, kind }.into());
    }
    Ok(secret)
}
