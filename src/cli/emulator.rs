//! `sdctl emulator serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sdctl::emulator::{self, EmulatorConfig};
use sdctl::Error;

use super::secrets::harden;
use super::{OutputFormat, Reporter};

/// The local Managed HSM emulator.
#[derive(Subcommand, Debug)]
pub enum EmulatorCommand {
    /// Serve the emulator until interrupted (Ctrl-C or SIGTERM). It writes
    /// STATE_DIR/emulator.json (URLs, CA, tenant, token URL, HSM base URLs),
    /// admin-credentials.json and admin.token (both 0600); state survives restarts.
    /// Each HSM answers at the root of its own origin, https://HOST:PORT_OF_HSM (a port
    /// per HSM: a free one unless given with --hsm NAME=PORT); the token endpoint and
    /// Resource Manager answer on the --listen address.
    #[command(after_help = "Examples:
  sdctl emulator serve --state-dir emu --hsm alpha --hsm beta
  sdctl emulator serve --state-dir emu --hsm alpha=8444 \\
      --listen 127.0.0.1:8443 --faults upload=503:2")]
    Serve(ServeArgs),
}

/// Arguments of `emulator serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Loopback address and port of the token endpoint and Resource Manager (port 0
    /// picks a free port); the HSMs' listeners bind the same address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory for state, the CA and credentials (created 0700).
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// Provision an HSM with this name for the administrator principal (repeatable);
    /// =PORT fixes the port of its origin (default: a free port, new at every start).
    #[arg(long = "hsm", value_name = "NAME[=PORT]", value_parser = parse_hsm)]
    hsms: Vec<(String, u16)>,
    /// Send `transfer_key` as a JSON object (the real service sends a JSON string).
    #[arg(long)]
    transfer_key_object: bool,
    /// Seconds download and upload operations stay InProgress.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    operation_seconds: f64,
    /// Faults to inject: ROUTE=KIND[:COUNT],... (routes: token, arm, download,
    /// download/pending, transferkey, upload, upload/pending, keys, roles, backup, restore,
    /// *; kinds: 429, 500, 503, latency-MS, inprogress, failed (download/pending and
    /// upload/pending only: the status read says Failed), drop, drop-after). Also settable
    /// at run time through POST /_emulator/faults with the administrator token.
    #[arg(long, value_name = "SPEC")]
    faults: Option<String>,
}

/// Runs an `emulator` subcommand and returns the exit status.
pub fn run(cmd: EmulatorCommand, format: OutputFormat) -> i32 {
    let EmulatorCommand::Serve(args) = cmd;
    let mut rep = Reporter::new(format, "emulator serve");
    // The emulated HSMs' master keys, exchange keys and token-signing key live in memory.
    harden(&mut rep);
    match serve(&rep, args) {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn serve(rep: &Reporter, args: ServeArgs) -> Result<i32, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| emulator::EmulatorError::Listen(format!("cannot start the runtime: {e}")))?;
    let faults = match &args.faults {
        Some(spec) => {
            emulator::faults::parse_spec(spec).map_err(emulator::EmulatorError::Listen)?
        }
        None => Vec::new(),
    };
    runtime.block_on(async {
        let config = EmulatorConfig {
            faults,
            listen: args.listen,
            state_dir: args.state_dir.clone(),
            hsms: args.hsms.iter().map(|(name, _)| name.clone()).collect(),
            hsm_ports: args.hsms.iter().cloned().collect(),
            transfer_key_as_object: args.transfer_key_object,
            operation_seconds: args.operation_seconds.max(0.0),
        };
        let running = emulator::start(config).await?;
        let info_path = args.state_dir.join("emulator.json");
        let info: serde_json::Value = std::fs::read(&info_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        rep.finish(&info, true, || {
            println!(
                "Managed HSM emulator listening on {} (token endpoint, Resource Manager)",
                running.url
            );
            println!("  state:       {}", args.state_dir.display());
            println!(
                "  clients:     {} (CA, tenant, token URL, HSM base URLs)",
                info_path.display()
            );
            if let Some(hsms) = info["hsms"].as_object() {
                for (name, url) in hsms {
                    println!("  HSM {name}: {}", url.as_str().unwrap_or_default());
                }
            }
            println!("Stop with Ctrl-C.");
        });
        wait_for_signal().await;
        running.shutdown().await;
        Ok(0)
    })
}

/// `--hsm NAME[=PORT]`: the name, and the port (0: any free port).
fn parse_hsm(text: &str) -> Result<(String, u16), String> {
    match text.split_once('=') {
        None => Ok((text.to_owned(), 0)),
        Some((name, port)) => port
            .parse()
            .map(|port| (name.to_owned(), port))
            .map_err(|_| format!("'{port}' is not a port number (NAME=PORT, PORT 0 to 65535)")),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
