//! `hsm key create | show | list`: the keys that prove a recovery or a restore.

use clap::{Args, Subcommand, ValueEnum};
use sdctl::hsm::keys::{self, KeyInfo};
use sdctl::Error;
use serde::Serialize;

use super::connect::Connection;
use super::progress::Spinner;
use crate::cli::table::Table;
use crate::cli::Reporter;

/// Keys in the HSM (needs a key role, e.g. Managed HSM Crypto User at /keys).
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key (a new version if the name exists). The HSM must be activated.
    #[command(after_help = "Examples:
  sdctl hsm key create probe-key --hsm-name contoso
  sdctl hsm key create probe-ec --kty EC-HSM --size 384 --hsm-name contoso")]
    Create(CreateArgs),
    /// Show a key's current version; exit 1 if the HSM has no key of that name.
    #[command(after_help = "Examples:
  sdctl hsm key show probe-key --hsm-name contoso-dr")]
    Show(ShowArgs),
    /// List the HSM's keys (every page of the service's list).
    #[command(after_help = "Examples:
  sdctl hsm key list --hsm-name contoso-dr
  sdctl hsm key list --hsm-name contoso-dr --output json")]
    List(ListArgs),
}

/// `--kty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kty {
    /// RSA key; --size 2048 (default), 3072 or 4096.
    #[value(name = "RSA-HSM")]
    Rsa,
    /// AES key; --size 128, 192 or 256 (default).
    #[value(name = "oct-HSM")]
    Oct,
    /// Elliptic-curve key; --size 256 (P-256, default), 384 (P-384) or 521 (P-521).
    #[value(name = "EC-HSM")]
    Ec,
}

impl Kty {
    fn name(self) -> &'static str {
        match self {
            Kty::Rsa => "RSA-HSM",
            Kty::Oct => "oct-HSM",
            Kty::Ec => "EC-HSM",
        }
    }
}

/// Arguments of `hsm key create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The key's name: 1 to 127 letters, digits and hyphens.
    #[arg(value_name = "NAME")]
    name: String,
    /// The key type.
    #[arg(long, value_enum, default_value_t = Kty::Rsa)]
    kty: Kty,
    /// Key size in bits (RSA: 2048, 3072, 4096; oct: 128, 192, 256); for EC-HSM the
    /// curve (256, 384, 521). Default: 2048, 256, 256.
    #[arg(long, value_name = "BITS")]
    size: Option<u32>,
    #[command(flatten)]
    conn: Connection,
}

/// Arguments of `hsm key show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The key's name.
    #[arg(value_name = "NAME")]
    name: String,
    #[command(flatten)]
    conn: Connection,
}

/// Arguments of `hsm key list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    conn: Connection,
}

/// The command's name for the JSON envelope.
pub fn command_name(cmd: &KeyCommand) -> &'static str {
    match cmd {
        KeyCommand::Create(_) => "hsm key create",
        KeyCommand::Show(_) => "hsm key show",
        KeyCommand::List(_) => "hsm key list",
    }
}

/// Runs a `key` subcommand.
pub async fn run(rep: &mut Reporter, cmd: KeyCommand) -> Result<i32, Error> {
    match cmd {
        KeyCommand::Create(a) => create(rep, a).await,
        KeyCommand::Show(a) => show(rep, a).await,
        KeyCommand::List(a) => list(rep, a).await,
    }
}

async fn create(rep: &mut Reporter, args: CreateArgs) -> Result<i32, Error> {
    keys::check_key_name(&args.name)?;
    keys::create_body(args.kty.name(), args.size)?;
    let spinner = Spinner::new(rep, &format!("creating key {}", args.name));
    let client = args.conn.client(rep, &spinner)?;
    let key = keys::create_key(&client, &args.name, args.kty.name(), args.size).await;
    spinner.done();
    let key = key?;
    Ok(rep.finish(&key, true, || {
        println!("Created key {} ({}).", key.name, key.kty);
        print_key(&key);
    }))
}

/// What `key show` reports: the key, or that there is none.
#[derive(Serialize)]
struct Shown {
    name: String,
    found: bool,
    key: Option<KeyInfo>,
}

async fn show(rep: &mut Reporter, args: ShowArgs) -> Result<i32, Error> {
    keys::check_key_name(&args.name)?;
    let spinner = Spinner::new(rep, &format!("reading key {}", args.name));
    let client = args.conn.client(rep, &spinner)?;
    let key = keys::get_key(&client, &args.name).await;
    spinner.done();
    let key = key?;
    let shown = Shown {
        name: args.name,
        found: key.is_some(),
        key,
    };
    Ok(rep.finish(&shown, shown.found, || match &shown.key {
        Some(key) => {
            println!("Key {} ({}).", key.name, key.kty);
            print_key(key);
        }
        None => println!("The HSM has no key named '{}'.", shown.name),
    }))
}

async fn list(rep: &mut Reporter, args: ListArgs) -> Result<i32, Error> {
    let spinner = Spinner::new(rep, "listing keys");
    let client = args.conn.client(rep, &spinner)?;
    let keys = keys::list_keys(&client).await;
    spinner.done();
    let keys = keys?;
    Ok(rep.finish(&keys, true, || {
        if keys.is_empty() {
            println!("The HSM holds no keys.");
            return;
        }
        let mut table = Table::new(&["NAME", "ENABLED", "KID"]);
        for k in &keys {
            table.row(vec![k.name.clone(), enabled(k.enabled), k.kid.clone()]);
        }
        print!("{}", table.render(0));
        println!("{} key(s).", keys.len());
    }))
}

fn enabled(e: Option<bool>) -> String {
    match e {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

fn print_key(key: &KeyInfo) {
    println!("  kid:     {}", key.kid);
    println!("  enabled: {}", enabled(key.enabled));
    println!("  ops:     {}", key.key_ops.join(", "));
}
