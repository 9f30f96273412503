//! The emulator's request handling without a socket: each request goes straight to the
//! router, as the HTTPS listener would hand it over. Nothing listens and nothing leaves the
//! process; the fuzz targets and parsing tests use it to reach every request-body parser.
//! HSM `NAME`'s data-plane path `P` is asked for as `/hsm/NAME/P` (what its own listener
//! routes it as, see [`super::origins`]).

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::Router;
use tower::ServiceExt;

use super::{server, EmulatorConfig, EmulatorError};

/// Answers are read up to this size; the emulator's answers are far smaller.
const MAX_ANSWER: usize = 16 << 20;

/// An emulator answering requests in this process.
pub struct InProcess {
    /// The main listener's routes (authority, Resource Manager, faults).
    main: Router,
    /// Every HSM's data plane, under `/hsm/NAME`.
    data: Router,
    token: String,
    runtime: tokio::runtime::Runtime,
}

/// One answer: the HTTP status and the body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl InProcess {
    /// Loads or creates an emulator state in `state_dir` with the HSMs `hsms`, as
    /// `sdctl emulator serve` would, without listening.
    pub fn new(state_dir: &Path, hsms: &[String]) -> Result<Self, EmulatorError> {
        crate::files::create_private_dir(state_dir)?;
        let config = EmulatorConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            state_dir: state_dir.to_owned(),
            hsms: hsms.to_vec(),
            hsm_ports: Default::default(),
            transfer_key_as_object: false,
            operation_seconds: 0.0,
            faults: Vec::new(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| EmulatorError::State(format!("async runtime: {e}")))?;
        // An HSM's data-plane path P is asked for as `/hsm/NAME/P`, the path its own listener
        // would route it as; every other path goes to the main listener's routes.
        let built = server::build(&config, "https://127.0.0.1:0")?;
        server::write_client_files(&built.app, state_dir)?;
        let token = crate::files::read_bounded(
            &state_dir.join(server::ADMIN_TOKEN_FILE),
            64 << 10,
            "the administrator token",
        )?;
        let token = String::from_utf8_lossy(&token).trim().to_owned();
        Ok(InProcess {
            main: built.main,
            data: built.data,
            token,
            runtime,
        })
    }

    /// Sends `body` to `path` with `method`, as the administrator when `authenticated`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        authenticated: bool,
        body: &[u8],
    ) -> Result<Answer, EmulatorError> {
        let bad = |e: String| EmulatorError::Request(format!("{method} {path}: {e}"));
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if authenticated {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let request = builder
            .body(Body::from(body.to_vec()))
            .map_err(|e| bad(e.to_string()))?;
        let router = if request.uri().path().starts_with("/hsm/") {
            self.data.clone()
        } else {
            self.main.clone()
        };
        self.runtime.block_on(async move {
            let response = router
                .oneshot(request)
                .await
                .map_err(|e| bad(e.to_string()))?;
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
                .await
                .map_err(|e| bad(e.to_string()))?;
            Ok(Answer {
                status,
                body: body.to_vec(),
            })
        })
    }
}

#[cfg(test)]
#[path = "in_process_tests.rs"]
mod tests;
