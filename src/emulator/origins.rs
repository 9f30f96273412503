//! One loopback listener per HSM, so each HSM's data plane answers at the root of its own
//! origin (`https://127.0.0.1:PORT/keys/...`), as a Managed HSM does at
//! `https://NAME.managedhsm.azure.net/keys/...`, and the ids the emulator returns are ids the
//! official SDKs accept. The data-plane router is keyed by HSM name under an internal
//! `/hsm/{hsm}` prefix: a listener puts its HSM's prefix before every request path it
//! receives, so nothing of another HSM, the token endpoint or Resource Manager is reachable
//! through it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::EmulatorError;

/// The HSMs' origins: the base URL of each HSM with a listener, and what opens new ones.
#[derive(Default)]
pub struct Origins {
    urls: Mutex<BTreeMap<String, String>>,
    serving: Mutex<Option<Serving>>,
}

/// What a new listener needs; absent in process (nothing listens) and once stopping.
pub struct Serving {
    /// The loopback address every origin binds (the main listener's).
    pub ip: IpAddr,
    /// Ports asked for by HSM name (`--hsm NAME=PORT`); others get any free port.
    pub ports: BTreeMap<String, u16>,
    /// The TLS configuration (one certificate for every port).
    pub tls: Arc<rustls::ServerConfig>,
    /// The data-plane router.
    pub router: Router,
    /// Turns true when the emulator stops.
    pub stopped: watch::Receiver<bool>,
    /// The running listeners.
    pub tasks: Vec<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Origins {
    /// From now on, [`Origins::open`] starts listeners as `serving` says.
    pub fn serve(&self, serving: Serving) {
        *lock(&self.serving) = Some(serving);
    }

    /// The base URL of HSM `name` (`https://127.0.0.1:PORT`), once its listener runs.
    pub fn url(&self, name: &str) -> Option<String> {
        lock(&self.urls).get(name).cloned()
    }

    /// Every HSM's base URL by name.
    pub fn all(&self) -> BTreeMap<String, String> {
        lock(&self.urls).clone()
    }

    /// Starts the listener of HSM `name` unless it runs already; its base URL, or `None`
    /// when the emulator does not listen (in process) or is stopping.
    pub fn open(&self, name: &str) -> Result<Option<String>, EmulatorError> {
        let mut serving = lock(&self.serving);
        let Some(s) = serving.as_mut() else {
            return Ok(None);
        };
        if let Some(url) = self.url(name) {
            return Ok(Some(url));
        }
        let addr = SocketAddr::new(s.ip, s.ports.get(name).copied().unwrap_or(0));
        let listener = bind(addr).map_err(|e| {
            EmulatorError::Listen(format!("the listener of HSM '{name}' on {addr}: {e}"))
        })?;
        let url = origin(
            listener
                .local_addr()
                .map_err(|e| EmulatorError::Listen(e.to_string()))?,
        );
        let task = tokio::spawn(super::server_loop::run(
            listener,
            s.tls.clone(),
            s.router.clone(),
            Some(format!("/hsm/{name}")),
            s.stopped.clone(),
        ));
        s.tasks.push(task);
        lock(&self.urls).insert(name.to_owned(), url.clone());
        Ok(Some(url))
    }

    /// Stops opening listeners and hands over the running ones (to be awaited once the
    /// stop signal is sent).
    pub fn close(&self) -> Vec<JoinHandle<()>> {
        lock(&self.serving)
            .take()
            .map(|s| s.tasks)
            .unwrap_or_default()
    }
}

/// A listening socket on `addr`, reusing the address as a restarted emulator must.
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// The `https` origin of a bound address (`https://127.0.0.1:PORT`, `https://[::1]:PORT`).
pub fn origin(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("https://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    }
}
