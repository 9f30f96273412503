//! The HTTPS accept loop: TLS (rustls) in front of the axum router, one task per
//! connection, handshakes bounded in time, stopped by a watch channel.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Longest a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` over TLS on `listener` until `stopped` turns true. With `mount` (an
/// HSM's listener: `/hsm/NAME`), every request's path is routed as `mount` + path.
pub async fn run(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    mount: Option<String>,
    mut stopped: watch::Receiver<bool>,
) {
    let mount: Option<Arc<str>> = mount.map(Into::into);
    let acceptor = TlsAcceptor::from(tls);
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let router = router.clone();
                let mount = mount.clone();
                // A response marked by the `drop` fault becomes a service error: hyper then
                // closes the connection without answering.
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    let request = match &mount {
                        Some(prefix) => mounted(request, prefix),
                        None => request,
                    };
                    async move {
                        let response = match router.oneshot(request).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        };
                        if response.extensions().get::<super::faults::DropConnection>().is_some() {
                            return Err(DroppedByFault);
                        }
                        Ok(response)
                    }
                });
                tokio::spawn(async move {
                    let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// `request` with `prefix` before its path (the query kept). A request target that is not
/// a path (`*`, or one that makes no URI with the prefix) is routed to `prefix` + `/`,
/// which answers 404.
fn mounted<B>(mut request: hyper::Request<B>, prefix: &str) -> hyper::Request<B> {
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let uri = format!("{prefix}{target}")
        .parse()
        .or_else(|_| format!("{prefix}/").parse());
    if let Ok(uri) = uri {
        *request.uri_mut() = uri;
    }
    request
}

/// The error that makes hyper close a connection without answering (the `drop` fault).
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedByFault {}

#[cfg(test)]
#[path = "server_loop_tests.rs"]
mod tests;
