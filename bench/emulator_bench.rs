//! Load benchmark of the emulator's key operations (bench/emulator.sh runs it): requests per
//! second and latency of `sign` (RSA-2048 RS256, P-256 ES256) and `get key`, with 1 and with
//! 32 concurrent clients (each its own HTTPS connection), and the emulator's resident memory
//! at rest and under load, read from /proc. Loopback only; every phase ends by itself.
//!
//! Usage: emulator-bench --state-dir DIR --hsm NAME --pid PID [--seconds S]
//! DIR is a running emulator's state directory (emulator.json, ca.pem, admin.token,
//! admin-credentials.json) whose HSM NAME is activated; PID is the emulator's process.
//! Prints Markdown tables on stdout.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const API: &str = "api-version=7.4";

struct Args {
    dir: PathBuf,
    hsm: String,
    pid: u32,
    seconds: f64,
}

fn args() -> Result<Args, String> {
    let mut dir = None;
    let mut hsm = None;
    let mut pid = None;
    let mut seconds = 5.0;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--state-dir" => dir = Some(PathBuf::from(value)),
            "--hsm" => hsm = Some(value),
            "--pid" => pid = Some(value.parse().map_err(|_| "--pid: a number")?),
            "--seconds" => seconds = value.parse().map_err(|_| "--seconds: a number")?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args {
        dir: dir.ok_or("--state-dir is required")?,
        hsm: hsm.ok_or("--hsm is required")?,
        pid: pid.ok_or("--pid is required")?,
        seconds,
    })
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A fresh HTTPS client (its own connection pool) trusting the emulator's CA.
fn client(ca: &[u8]) -> Result<reqwest::Client, String> {
    let ca = reqwest::Certificate::from_pem(ca).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())
}

/// Resident memory of `pid` in KiB: (`VmRSS`, `VmHWM`).
fn memory(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(format!("/proc/{pid}/status has no {name}"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// One kind of request the phases send.
#[derive(Clone)]
struct Probe {
    label: &'static str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
}

async fn call(c: &reqwest::Client, token: &str, probe: &Probe) -> Result<Value, String> {
    let mut request = c
        .request(probe.method.clone(), &probe.url)
        .bearer_auth(token);
    if let Some(body) = &probe.body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{} {}: {status} {text}", probe.label, probe.url));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The result of one phase.
struct Phase {
    requests: usize,
    seconds: f64,
    latencies: Vec<Duration>,
    peak_rss: u64,
}

async fn phase(
    ca: &[u8],
    token: &Arc<str>,
    probe: &Probe,
    clients: usize,
    seconds: f64,
    pid: u32,
) -> Result<Phase, String> {
    let mut connected = Vec::new();
    for _ in 0..clients {
        let c = client(ca)?;
        call(&c, token, probe).await?; // connect and warm up outside the timing
        connected.push(c);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in connected {
        let (token, probe) = (token.clone(), probe.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                call(&c, &token, &probe).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut peak_rss = 0;
    while Instant::now() < deadline {
        peak_rss = peak_rss.max(memory(pid)?.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let seconds = start.elapsed().as_secs_f64();
    peak_rss = peak_rss.max(memory(pid)?.0);
    latencies.sort();
    Ok(Phase {
        requests: latencies.len(),
        seconds,
        latencies,
        peak_rss,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    let _ = openssl::rand::rand_bytes(&mut bytes);
    sdctl::primitives::base64url::encode(&bytes)
}

async fn run(a: Args) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let info = read_json(&a.dir.join("emulator.json"))?;
    let base = info["hsms"][&a.hsm]
        .as_str()
        .ok_or(format!("emulator.json names no HSM '{}'", a.hsm))?
        .to_owned();
    let ca = std::fs::read(a.dir.join("ca.pem")).map_err(|e| e.to_string())?;
    let token: Arc<str> = std::fs::read_to_string(a.dir.join("admin.token"))
        .map_err(|e| e.to_string())?
        .trim()
        .into();
    let admin = read_json(&a.dir.join("admin-credentials.json"))?;
    let oid = admin["object_id"].as_str().ok_or("no object_id")?;
    let c = client(&ca)?;
    // The administrator may manage roles but not use keys: give it Crypto User at /keys.
    let assign = Probe {
        label: "role assignment",
        method: reqwest::Method::PUT,
        url: format!(
            "{base}/keys/providers/Microsoft.Authorization/roleAssignments/bench-crypto-user?{API}"
        ),
        body: Some(json!({"properties": {"scope": "/keys", "principalId": oid,
            "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b"}})),
    };
    call(&c, &token, &assign).await?;
    let create = |name: &str, body: Value| Probe {
        label: "create key",
        method: reqwest::Method::POST,
        url: format!("{base}/keys/{name}/create?{API}"),
        body: Some(body),
    };
    let rsa = call(
        &c,
        &token,
        &create("bench-rsa", json!({"kty": "RSA-HSM", "key_size": 2048})),
    )
    .await?;
    let ec = call(
        &c,
        &token,
        &create("bench-ec", json!({"kty": "EC-HSM", "crv": "P-256"})),
    )
    .await?;
    let kid = |bundle: &Value| {
        bundle["key"]["kid"]
            .as_str()
            .map(str::to_owned)
            .ok_or("no kid")
    };
    let (rsa_kid, ec_kid) = (kid(&rsa)?, kid(&ec)?);
    let (rest_rss, _) = memory(a.pid)?;

    let probes = [
        Probe {
            label: "sign RS256 (RSA-2048)",
            method: reqwest::Method::POST,
            url: format!("{rsa_kid}/sign?{API}"),
            body: Some(json!({"alg": "RS256", "value": random_b64(32)})),
        },
        Probe {
            label: "sign ES256 (P-256)",
            method: reqwest::Method::POST,
            url: format!("{ec_kid}/sign?{API}"),
            body: Some(json!({"alg": "ES256", "value": random_b64(32)})),
        },
        Probe {
            label: "get key",
            method: reqwest::Method::GET,
            url: format!("{base}/keys/bench-rsa?{API}"),
            body: None,
        },
    ];
    println!("| request | clients | requests/s | median ms | p99 ms | requests | RSS peak MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for probe in &probes {
        for clients in [1, 32] {
            let p = phase(&ca, &token, probe, clients, a.seconds, a.pid).await?;
            println!(
                "| {} | {clients} | {:.0} | {:.2} | {:.2} | {} | {:.1} |",
                probe.label,
                p.requests as f64 / p.seconds,
                percentile(&p.latencies, 0.5),
                percentile(&p.latencies, 0.99),
                p.requests,
                p.peak_rss as f64 / 1024.0
            );
        }
    }
    let (after_rss, hwm) = memory(a.pid)?;
    println!();
    println!("| emulator memory | MiB |");
    println!("|---|---:|");
    println!(
        "| at rest (HSM activated, two keys) | {:.1} |",
        rest_rss as f64 / 1024.0
    );
    println!("| peak under load (VmHWM) | {:.1} |", hwm as f64 / 1024.0);
    println!("| after the load | {:.1} |", after_rss as f64 / 1024.0);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let outcome = match args() {
        Ok(a) => run(a).await,
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        eprintln!("emulator-bench: {e}");
        std::process::exit(1);
    }
}
