//! The state shared by every request: the persisted [`State`], the token-signing key, and
//! helpers for authentication, authorisation and persistence.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use axum::http::HeaderMap;
use openssl::pkey::{PKey, Private};

use super::http::ApiError;
use super::identity::{self, Claims};
use super::rbac;
use super::state::{Hsm, State};

/// Shared by every request handler.
pub struct App {
    /// The state directory.
    pub dir: PathBuf,
    /// The emulator's root URL (`https://127.0.0.1:PORT`).
    pub url: String,
    /// Everything persisted.
    pub state: Mutex<State>,
    /// The token-signing key.
    pub signing_key: PKey<Private>,
    /// The tenant.
    pub tenant: String,
    /// See [`super::EmulatorConfig::transfer_key_as_object`].
    pub transfer_key_as_object: bool,
    /// See [`super::EmulatorConfig::operation_seconds`].
    pub operation_seconds: f64,
    /// Faults still to inject.
    pub faults: super::faults::Faults,
    /// Each HSM's own origin and listener.
    pub origins: super::origins::Origins,
}

impl App {
    /// The state, locked. A poisoned lock (a handler panicked) still yields the state.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `change` on the state and saves it when `change` succeeds.
    pub fn mutate<R>(
        &self,
        change: impl FnOnce(&mut State) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut state = self.lock();
        let result = change(&mut state)?;
        state
            .save(&self.dir)
            .map_err(|e| ApiError::internal(format!("could not persist state: {e}")))?;
        Ok(result)
    }

    /// Runs `change` on HSM `name` (404 if it does not exist) and saves the state.
    pub fn mutate_hsm<R>(
        &self,
        name: &str,
        change: impl FnOnce(&mut Hsm) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        self.mutate(|state| {
            let hsm = state.hsms.get_mut(name).ok_or_else(|| {
                ApiError::not_found(format!("Managed HSM '{name}' does not exist"))
            })?;
            change(hsm)
        })
    }

    /// The base URL of HSM `name`: the root of its own origin (`https://127.0.0.1:PORT`).
    /// In process, where nothing listens, `URL/hsm/NAME` (how such requests are addressed).
    pub fn hsm_url(&self, name: &str) -> String {
        self.origins
            .url(name)
            .unwrap_or_else(|| format!("{}/hsm/{name}", self.url))
    }

    /// Checks the bearer token of a request for one of `audiences`.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        audiences: &[&str],
    ) -> Result<Claims, ApiError> {
        let unauthorized = |m: &str| ApiError::unauthorized(&self.url, &self.tenant, m);
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unauthorized("Authorization header is missing: a bearer token is required")
            })?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthorized("Authorization header is not a bearer token"))?;
        identity::verify(
            &self.signing_key,
            token.trim(),
            &self.tenant,
            audiences,
            identity::now(),
        )
        .map_err(|e| unauthorized(&e.to_string()))
    }

    /// Authenticates for the HSM data plane and checks that the caller holds `action` at
    /// `scope` on `hsm`; returns the caller's claims and a copy of the HSM.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        hsm: &str,
        scope: &str,
        action: &str,
    ) -> Result<(Claims, Hsm), ApiError> {
        let claims = self.authenticate(headers, &[identity::HSM_AUDIENCE])?;
        let state = self.lock();
        let found = state
            .hsms
            .get(hsm)
            .ok_or_else(|| ApiError::not_found(format!("Managed HSM '{hsm}' does not exist")))?;
        if !rbac::allows(found, &claims.oid, scope, action) {
            return Err(ApiError::forbidden(&rbac::action(action), &claims.oid));
        }
        Ok((claims, found.clone()))
    }
}
