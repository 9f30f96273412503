//! `sdctl shares split | combine | inspect`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use sdctl::files::{ensure_writable, write_atomic, MODE_SECRET};
use sdctl::keys::load_certificate;
use sdctl::shares::input::{combine_files, read_share, Form, ReadShare};
use sdctl::shares::output::{read_secret, OutputForm, SplitManifest, SplitOutput};
use sdctl::shares::scheme::check_split;
use sdctl::shares::{split, ShareError};
use sdctl::Error;
use serde::Serialize;
use zeroize::Zeroizing;

use super::secrets::{harden, load_keys, TokenArgs};
use super::table::Table;
use super::{OutputFormat, Reporter};

/// Split any secret among custodians, and combine it back.
#[derive(Subcommand, Debug)]
pub enum SharesCommand {
    /// Split a secret (a passphrase, a credential, a PKCS#12...) into N shares of which
    /// any K rebuild it. Each share records its set, index, K, N and a commitment to the
    /// secret, so a wrong reconstruction is detected.
    #[command(after_help = "Examples:
  sdctl shares split --threshold 3 --shares 5 --in breakglass.p12 \\
      --out-dir shares
  sdctl shares split --threshold 2 --shares 3 --in - --out-dir paper \\
      --format text
  sdctl shares split --threshold 2 --shares 3 --in secret.bin \\
      --out-dir sealed --to-certs alice.cer bob.cer carol.cer")]
    Split(SplitArgs),
    /// Rebuild a secret from K or more shares (binary, text typed back from paper, a
    /// scanned QR payload, or sealed to a custodian). Refuses shares of different sets,
    /// duplicates, too few shares, and corrupted or forged shares.
    #[command(after_help = "Examples:
  sdctl shares combine shares/share-1.share shares/share-4.share \\
      shares/share-5.share --out breakglass.p12
  sdctl shares combine sealed/*.share.jwe --keys alice.key bob.key \\
      --out secret.bin")]
    Combine(CombineArgs),
    /// Show what share files are (set, index, K of N, form) without combining them; a
    /// share typed back from paper is checked line by line.
    #[command(after_help = "Examples:
  sdctl shares inspect shares/*.share
  sdctl shares inspect paper/share-2.share.txt")]
    Inspect(InspectArgs),
}

/// The form of the shares `split` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Binary share files, NAME.share (or NAME.share.jwe with --to-certs).
    File,
    /// Text for paper, NAME.share.txt: short groups, a check per line that locates typos.
    Text,
    /// The text form plus a QR code of the share, NAME.share.svg and NAME.share.png.
    Qr,
}

/// Arguments of `shares split`.
#[derive(Args, Debug)]
pub struct SplitArgs {
    /// How many shares rebuild the secret (K, at least 2).
    #[arg(long, value_name = "K")]
    threshold: u8,
    /// How many shares to make (N, at most 255).
    #[arg(long, value_name = "N")]
    shares: u8,
    /// The secret: a file, or - for standard input (a hidden prompt at a terminal).
    #[arg(long = "in", value_name = "FILE|-")]
    input: PathBuf,
    /// Where to write the shares (created with mode 0700 if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Seal each share to a custodian's certificate (N certificates, in order): only that
    /// custodian's private key opens it.
    #[arg(long, value_name = "CERT", num_args = 1..)]
    to_certs: Vec<PathBuf>,
    /// Custodian names, comma-separated: file names of the shares (default: the
    /// certificates' file names, else share-1..share-N).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    names: Vec<String>,
    /// The form of the shares.
    #[arg(long, value_enum, default_value_t = FormatArg::File)]
    format: FormatArg,
    /// Overwrite existing share files.
    #[arg(long)]
    force: bool,
}

/// Arguments of `shares combine`.
#[derive(Args, Debug)]
pub struct CombineArgs {
    /// The share files (at least K of one set, any order, any form).
    #[arg(value_name = "SHARE", required = true)]
    shares: Vec<PathBuf>,
    /// Where to write the secret (mode 0600), or - for standard output (not a terminal).
    #[arg(long, value_name = "FILE|-")]
    out: PathBuf,
    /// Custodians' private keys that open sealed shares.
    #[arg(long, value_name = "KEY", num_args = 1..)]
    keys: Vec<PathBuf>,
    /// File with one passphrase per key, in the order of the keys.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    force: bool,
}

/// Arguments of `shares inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The share files.
    #[arg(value_name = "SHARE", required = true)]
    shares: Vec<PathBuf>,
    /// Custodians' private keys, to look inside sealed shares.
    #[arg(long, value_name = "KEY", num_args = 1..)]
    keys: Vec<PathBuf>,
    /// File with one passphrase per key, in the order of the keys.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
}

/// Runs a `shares` subcommand and returns the exit status.
pub fn run(cmd: SharesCommand, format: OutputFormat) -> i32 {
    let name = match &cmd {
        SharesCommand::Split(_) => "shares split",
        SharesCommand::Combine(_) => "shares combine",
        SharesCommand::Inspect(_) => "shares inspect",
    };
    let mut rep = Reporter::new(format, name);
    let outcome = match cmd {
        SharesCommand::Split(args) => run_split(&mut rep, args),
        SharesCommand::Combine(args) => run_combine(&mut rep, args),
        SharesCommand::Inspect(args) => run_inspect(&mut rep, args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn run_split(rep: &mut Reporter, args: SplitArgs) -> Result<i32, Error> {
    let recipients = args
        .to_certs
        .iter()
        .map(|p| Ok((p.clone(), load_certificate(p)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let names = if args.names.is_empty() {
        SplitOutput::default_names(args.shares, &recipients)
    } else {
        args.names
    };
    let output = SplitOutput {
        out_dir: args.out_dir,
        names,
        form: match args.format {
            FormatArg::File => OutputForm::File,
            FormatArg::Text => OutputForm::Text,
            FormatArg::Qr => OutputForm::Qr,
        },
        recipients,
        force: args.force,
    };
    check_split(args.threshold, args.shares)?;
    output.check(args.shares)?;
    harden(rep);
    let secret = if args.input == Path::new("-") && std::io::stdin().is_terminal() {
        prompt_secret()?
    } else {
        read_secret(&args.input)?
    };
    let shares = split(&secret, args.threshold, args.shares)?;
    let manifest = output.write(&shares, secret.len())?;
    Ok(rep.finish(&manifest, true, || print_split(&manifest)))
}

fn prompt_secret() -> Result<Zeroizing<Vec<u8>>, Error> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| {
                ShareError::Usage(format!("cannot read the secret from the terminal: {e}"))
            })
    };
    let first = ask("Secret to split (hidden, one line): ")?;
    let again = ask("The same secret again: ")?;
    if first != again {
        return Err(ShareError::Usage("the two entries differ; nothing was split".into()).into());
    }
    if first.is_empty() {
        return Err(ShareError::Usage("no secret was typed; nothing was split".into()).into());
    }
    Ok(Zeroizing::new(first.as_bytes().to_vec()))
}

fn print_split(m: &SplitManifest) {
    println!(
        "Split a {}-byte secret into {} shares; any {} rebuild it.",
        m.secret_bytes, m.count, m.threshold
    );
    println!("  set:      {}", m.set_id);
    let mut table = Table::new(&["share", "custodian", "files", "sealed to"]);
    for s in &m.shares {
        let files: Vec<String> = s.files.iter().map(|f| f.display().to_string()).collect();
        table.row(vec![
            s.index.to_string(),
            s.name.clone(),
            files.join(" "),
            s.sealed_to
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    print!("{}", table.render(2));
    println!("  manifest: {} (no secret in it)", m.manifest.display());
    println!(
        "Give each custodian their own share only; prove the set now with `sdctl shares combine` on {} of them.",
        m.threshold
    );
}

#[derive(Serialize)]
struct ShareReport {
    file: String,
    form: Form,
    set_id: String,
    index: u8,
    threshold: u8,
    count: u8,
    secret_bytes: usize,
    opened_with: Option<String>,
}

impl From<&ReadShare> for ShareReport {
    fn from(r: &ReadShare) -> Self {
        ShareReport {
            file: r.path.display().to_string(),
            form: r.form,
            set_id: r.share.set_id.to_string(),
            index: r.share.index,
            threshold: r.share.threshold,
            count: r.share.count,
            secret_bytes: r.share.secret_len(),
            opened_with: r.opened_with.as_ref().map(|p| p.display().to_string()),
        }
    }
}

fn share_table(shares: &[ShareReport]) -> Table {
    let mut table = Table::new(&["file", "form", "set", "share", "K of N", "bytes"]);
    for s in shares {
        table.row(vec![
            s.file.clone(),
            format!("{:?}", s.form).to_lowercase(),
            s.set_id[..8].to_owned(),
            s.index.to_string(),
            format!("{} of {}", s.threshold, s.count),
            s.secret_bytes.to_string(),
        ]);
    }
    table
}

fn run_combine(rep: &mut Reporter, args: CombineArgs) -> Result<i32, Error> {
    let to_stdout = args.out == Path::new("-");
    if to_stdout {
        if std::io::stdout().is_terminal() {
            return Err(ShareError::Usage(
                "refusing to print the secret on a terminal; give --out FILE or pipe it".into(),
            )
            .into());
        }
        if !rep.human() {
            return Err(ShareError::Usage(
                "--out - and --output json both need standard output; write the secret to a file"
                    .into(),
            )
            .into());
        }
    } else {
        ensure_writable(&args.out, args.force)?;
    }
    let keys = if args.keys.is_empty() {
        harden(rep);
        Vec::new()
    } else {
        load_keys(
            &args.keys,
            args.passphrase_file.as_deref(),
            &args.tokens,
            rep,
        )?
    };
    let (read, combined) = combine_files(&args.shares, &keys)?;
    for r in read.iter().filter(|r| r.trial_despite_certificate) {
        if let Some(key) = &r.opened_with {
            rep.warn(format!(
                "{}: opened by trial decryption with {}, whose certificate is not the one the share was sealed to (the share's MAC proves the key); was the certificate renewed?",
                r.path.display(),
                key.display()
            ));
        }
    }
    for &i in &combined.rejected {
        rep.warn(format!(
            "{}: share {} does not fit the others (corrupted or forged); it was left out — replace it",
            read[i].path.display(),
            read[i].share.index
        ));
    }
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(&combined.secret)
            .and_then(|_| out.flush())
            .map_err(|source| sdctl::files::FileError::Write {
                path: args.out.clone(),
                source,
            })?;
    } else {
        write_atomic(&args.out, &combined.secret, MODE_SECRET, args.force)?;
    }
    #[derive(Serialize)]
    struct Combined {
        out: String,
        set_id: String,
        threshold: u8,
        count: u8,
        secret_bytes: usize,
        shares: Vec<ShareReport>,
        used: Vec<String>,
        rejected: Vec<String>,
    }
    let name = |i: &usize| read[*i].path.display().to_string();
    let report = Combined {
        out: args.out.display().to_string(),
        set_id: combined.set_id.to_string(),
        threshold: combined.threshold,
        count: combined.count,
        secret_bytes: combined.secret.len(),
        shares: read.iter().map(ShareReport::from).collect(),
        used: combined.used.iter().map(name).collect(),
        rejected: combined.rejected.iter().map(name).collect(),
    };
    Ok(rep.finish(&report, true, || {
        if to_stdout {
            return;
        }
        println!(
            "Rebuilt the {}-byte secret of set {} from {} shares (it matches the set's commitment).",
            report.secret_bytes,
            report.set_id,
            report.used.len()
        );
        print!("{}", share_table(&report.shares).render(2));
        println!("  written to {} (mode 0600)", report.out);
    }))
}

fn run_inspect(rep: &mut Reporter, args: InspectArgs) -> Result<i32, Error> {
    let keys = if args.keys.is_empty() {
        Vec::new()
    } else {
        load_keys(
            &args.keys,
            args.passphrase_file.as_deref(),
            &args.tokens,
            rep,
        )?
    };
    let shares = args
        .shares
        .iter()
        .map(|p| read_share(p, &keys).map(|r| ShareReport::from(&r)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rep.finish(&shares, true, || {
        print!("{}", share_table(&shares).render(0));
    }))
}
