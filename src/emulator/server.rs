//! Starting and stopping the emulator: state, CA, credentials files, the HTTPS listener.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::app::App;
use super::identity::{self, HSM_AUDIENCE};
use super::state::{Principal, State};
use super::{
    arm, authority, backup, error_shape, gate, keys, rbac, sd, tls, EmulatorConfig, EmulatorError,
};
use crate::files::{self, MODE_PUBLIC, MODE_SECRET};

/// File describing a running emulator for clients.
pub const INFO_FILE: &str = "emulator.json";
/// The administrator's credentials (0600).
pub const ADMIN_CREDENTIALS_FILE: &str = "admin-credentials.json";
/// A ready administrator bearer token for the HSM data plane (0600).
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// A running emulator.
pub struct Emulator {
    /// The root URL (`https://127.0.0.1:PORT`).
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Stops accepting connections and waits for the listener to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the emulator: loads or creates its state, CA and administrator, provisions the
/// HSMs named in `config`, writes `emulator.json`, `admin-credentials.json` and
/// `admin.token`, and serves HTTPS on the loopback address.
pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
    if !config.listen.ip().is_loopback() {
        return Err(EmulatorError::Listen(format!(
            "--listen {}: the emulator serves loopback addresses only (127.0.0.1 or [::1])",
            config.listen
        )));
    }
    files::create_private_dir(&config.state_dir)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| EmulatorError::Listen(format!("--listen {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| EmulatorError::Listen(e.to_string()))?;
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let url = format!("https://{host}:{}", addr.port());
    let tls = tls::server_config(&config.state_dir)?;
    let router = build(&config, &url)?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(super::server_loop::run(listener, tls, router, stopped));
    Ok(Emulator {
        url,
        addr,
        stop,
        task,
    })
}

/// Loads or creates the state in `config.state_dir`, provisions the configured HSMs, writes
/// the client files for an emulator answering at `url`, and returns the request router.
pub(super) fn build(config: &EmulatorConfig, url: &str) -> Result<Router, EmulatorError> {
    let state = load_or_init(&config.state_dir)?;
    let signing_key = PKey::private_key_from_pem(state.signing_key_pem.as_bytes())
        .map_err(|e| EmulatorError::State(format!("token signing key: {e}")))?;
    let app = Arc::new(App {
        dir: config.state_dir.clone(),
        url: url.to_owned(),
        tenant: state.tenant_id.clone(),
        state: Mutex::new(state),
        signing_key,
        transfer_key_as_object: config.transfer_key_as_object,
        operation_seconds: config.operation_seconds,
        faults: super::faults::Faults::new(config.faults.clone()),
    });
    for name in &config.hsms {
        arm::provision_default(&app, name).map_err(|e| EmulatorError::State(e.message))?;
    }
    write_client_files(&app, &config.state_dir)?;

    let routes = Router::new()
        .merge(authority::routes())
        .merge(arm::routes())
        .merge(sd::routes())
        .merge(keys::routes())
        .merge(backup::routes())
        .merge(rbac::routes())
        .merge(super::faults::routes())
        .fallback(error_shape::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::faults::apply,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            gate::gate,
        ))
        .layer(axum::middleware::from_fn(error_shape::json_errors))
        .with_state(app);
    // Paths are normalised before the routes see them.
    let router = Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(
            error_shape::trim_trailing_slash,
        ));
    Ok(router)
}

fn load_or_init(dir: &Path) -> Result<State, EmulatorError> {
    if let Some(state) = State::load(dir)? {
        return Ok(state);
    }
    let err = |e: openssl::error::ErrorStack| EmulatorError::State(e.to_string());
    let key = PKey::from_rsa(Rsa::generate(2048).map_err(err)?).map_err(err)?;
    let pem = key.private_key_to_pem_pkcs8().map_err(err)?;
    let secret: Vec<u8> = random(24);
    let state = State {
        tenant_id: uuid(),
        admin: Some(Principal {
            client_id: uuid(),
            client_secret: crate::primitives::base64url::encode(&secret),
            object_id: uuid(),
        }),
        principals: Vec::new(),
        signing_key_pem: String::from_utf8_lossy(&pem).into_owned(),
        hsms: Default::default(),
    };
    state.save(dir)?;
    Ok(state)
}

fn write_client_files(app: &App, dir: &Path) -> Result<(), EmulatorError> {
    let state = app.lock();
    let admin = state
        .admin
        .clone()
        .ok_or_else(|| EmulatorError::State("no administrator principal".into()))?;
    let hsms: serde_json::Map<String, serde_json::Value> = state
        .hsms
        .keys()
        .map(|name| (name.clone(), json!(app.hsm_url(name))))
        .collect();
    let info = json!({
        "url": app.url,
        "ca_cert": dir.join(tls::CA_CERT_FILE),
        "tenant_id": app.tenant,
        "token_url": format!("{}/{}/oauth2/v2.0/token", app.url, app.tenant),
        "authority_host": app.url,
        "hsms": hsms,
    });
    let credentials = json!({
        "tenant_id": app.tenant,
        "client_id": admin.client_id,
        "client_secret": admin.client_secret,
        "object_id": admin.object_id,
    });
    let token = identity::issue(
        &app.signing_key,
        &app.tenant,
        &admin,
        HSM_AUDIENCE,
        identity::now(),
        24 * 3600,
    )
    .map_err(EmulatorError::State)?;
    let mut batch = files::WriteBatch::new(true);
    batch.stage(&dir.join(INFO_FILE), pretty(&info).as_bytes(), MODE_PUBLIC)?;
    batch.stage(
        &dir.join(ADMIN_CREDENTIALS_FILE),
        pretty(&credentials).as_bytes(),
        MODE_SECRET,
    )?;
    batch.stage(&dir.join(ADMIN_TOKEN_FILE), token.as_bytes(), MODE_SECRET)?;
    batch.commit()?;
    Ok(())
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Random bytes from OpenSSL's CSPRNG.
pub fn random(len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    // A failing system RNG leaves zeros; OpenSSL aborts key generation in that case anyway.
    let _ = openssl::rand::rand_bytes(&mut b);
    b
}

/// A random version-4 UUID.
pub fn uuid() -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&random(16));
    crate::primitives::uuid::v4(bytes)
}
