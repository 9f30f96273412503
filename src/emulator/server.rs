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
    arm, authority, backup, error_shape, gate, keys, rbac, sd, settings, tls, EmulatorConfig,
    EmulatorError,
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
    /// The main listener's root URL (`https://127.0.0.1:PORT`): token endpoint, Resource
    /// Manager, fault API.
    pub url: String,
    /// The main listener's address.
    pub addr: SocketAddr,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// The base URL of HSM `name`, the root of its own origin (`https://127.0.0.1:PORT`).
    pub fn hsm_url(&self, name: &str) -> Option<String> {
        self.app.origins.url(name)
    }

    /// Stops accepting connections and waits for every listener to end.
    pub async fn shutdown(self) {
        let origins = self.app.origins.close();
        let _ = self.stop.send(true);
        let _ = self.task.await;
        for task in origins {
            let _ = task.await;
        }
    }
}

/// Starts the emulator: loads or creates its state, CA and administrator, provisions the
/// HSMs named in `config`, serves HTTPS on the loopback address (the main listener) and on
/// one more port per HSM (its origin), and writes `emulator.json`, `admin-credentials.json`
/// and `admin.token`.
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
    let url = super::origins::origin(addr);
    let tls = tls::server_config(&config.state_dir)?;
    let built = build(&config, &url)?;
    let (stop, stopped) = watch::channel(false);
    built.app.origins.serve(super::origins::Serving {
        ip: addr.ip(),
        ports: config.hsm_ports.clone(),
        tls: tls.clone(),
        router: built.data,
        stopped: stopped.clone(),
        tasks: Vec::new(),
    });
    let names: Vec<String> = built.app.lock().hsms.keys().cloned().collect();
    let opened = names
        .iter()
        .try_for_each(|name| built.app.origins.open(name).map(|_| ()))
        .and_then(|()| write_client_files(&built.app, &config.state_dir));
    if let Err(e) = opened {
        for task in built.app.origins.close() {
            task.abort();
        }
        return Err(e);
    }
    let task = tokio::spawn(super::server_loop::run(
        listener, tls, built.main, None, stopped,
    ));
    Ok(Emulator {
        url,
        addr,
        app: built.app,
        stop,
        task,
    })
}

/// The emulator's request handling, before anything listens.
pub(super) struct Built {
    /// The shared state.
    pub app: Arc<App>,
    /// The main listener's routes: token endpoint, Resource Manager, fault API.
    pub main: Router,
    /// The data plane of every HSM, under `/hsm/{hsm}` (see [`super::origins`]).
    pub data: Router,
}

/// Loads or creates the state in `config.state_dir`, provisions the configured HSMs and
/// returns the routers of an emulator whose main listener answers at `url`.
pub(super) fn build(config: &EmulatorConfig, url: &str) -> Result<Built, EmulatorError> {
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
        origins: Default::default(),
    });
    for name in &config.hsms {
        arm::provision_default(&app, name).map_err(|e| EmulatorError::State(e.message))?;
    }
    let faults = || axum::middleware::from_fn_with_state(app.clone(), super::faults::apply);
    let main = Router::new()
        .merge(authority::routes())
        .merge(arm::routes())
        .merge(super::subscriptions::routes())
        .merge(super::faults::routes())
        .fallback(error_shape::not_found)
        .layer(faults())
        .layer(axum::middleware::from_fn(error_shape::json_errors))
        .with_state(app.clone());
    // The data plane authenticates before anything else (gate), answers every error in Key
    // Vault's shape, and sees paths without a trailing slash.
    let routes = Router::new()
        .merge(sd::routes())
        .merge(keys::routes())
        .merge(backup::routes())
        .merge(rbac::routes())
        .merge(super::rng::routes())
        .merge(settings::routes())
        .fallback(error_shape::not_found)
        .layer(faults())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            gate::gate,
        ))
        .layer(axum::middleware::from_fn(error_shape::json_errors))
        .with_state(app.clone());
    let data = Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(
            error_shape::trim_trailing_slash,
        ));
    Ok(Built { app, main, data })
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

/// Writes `emulator.json`, `admin-credentials.json` and `admin.token` for the clients.
pub(super) fn write_client_files(app: &App, dir: &Path) -> Result<(), EmulatorError> {
    let admin = app
        .lock()
        .admin
        .clone()
        .ok_or_else(|| EmulatorError::State("no administrator principal".into()))?;
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
    batch.stage(
        &dir.join(INFO_FILE),
        pretty(&info(app, dir)).as_bytes(),
        MODE_PUBLIC,
    )?;
    batch.stage(
        &dir.join(ADMIN_CREDENTIALS_FILE),
        pretty(&credentials).as_bytes(),
        MODE_SECRET,
    )?;
    batch.stage(&dir.join(ADMIN_TOKEN_FILE), token.as_bytes(), MODE_SECRET)?;
    batch.commit()?;
    Ok(())
}

/// Gives HSM `name`, created at run time, its listener and lists it in `emulator.json`.
pub(super) fn open_origin(app: &App, name: &str) -> Result<(), super::http::ApiError> {
    let opened = app.origins.open(name).and_then(|url| match url {
        Some(_) => write_info(app),
        None => Ok(()),
    });
    opened.map_err(|e| super::http::ApiError::internal(e.to_string()))
}

/// Rewrites `emulator.json` (after an HSM got its origin at run time).
fn write_info(app: &App) -> Result<(), EmulatorError> {
    let text = pretty(&info(app, &app.dir));
    files::write_atomic(&app.dir.join(INFO_FILE), text.as_bytes(), MODE_PUBLIC, true)?;
    Ok(())
}

/// What `emulator.json` says: the main listener's URL (token endpoint, authority, Resource
/// Manager), the CA, the tenant, and each HSM's base URL by name.
fn info(app: &App, dir: &Path) -> serde_json::Value {
    let names: Vec<String> = app.lock().hsms.keys().cloned().collect();
    let hsms: serde_json::Map<String, serde_json::Value> = names
        .into_iter()
        .map(|name| {
            let url = app.hsm_url(&name);
            (name, json!(url))
        })
        .collect();
    json!({
        "url": app.url,
        "ca_cert": dir.join(tls::CA_CERT_FILE),
        "tenant_id": app.tenant,
        "token_url": format!("{}/{}/oauth2/v2.0/token", app.url, app.tenant),
        "authority_host": app.url,
        "hsms": hsms,
    })
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
