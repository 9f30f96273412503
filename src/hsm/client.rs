//! [`HsmClient`]: authenticated calls to one Managed HSM's data plane, with bounded retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::Value;

use super::credential::{CredentialOptions, Credentials, Env};
use super::endpoint::{Cloud, Endpoint};
use super::host_scope::{HostScope, Reach, TokenKind};
use super::http::{display_url, is_certificate_error, network_error, reqwest_client, Response};
use super::retry::{jitter_unit, parse_retry_after, retryable_status, Idempotency, RetryPolicy};
use super::HsmError;

/// Something the client wants the operator to see while it works (a retry, a poll).
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

/// A client for one HSM.
pub struct HsmClient {
    /// The HSM.
    pub endpoint: Endpoint,
    /// Where tokens come from.
    pub credentials: Arc<Credentials>,
    /// Backoff for retried requests.
    pub retry: RetryPolicy,
    /// The hosts tokens may go to ([`super::host_scope`]), checked before every request.
    pub scope: HostScope,
    http: reqwest::Client,
    notify: Option<Notify>,
}

impl HsmClient {
    /// A client for `endpoint` signed in per `options` (read through `env`): the endpoint's
    /// host is checked against `scope` first, so that a refused host never sees a
    /// credential loaded (no token file read, no `az` run, no connection). Returns the
    /// client and why its host may receive the token.
    pub fn connect(
        endpoint: Endpoint,
        scope: HostScope,
        options: &CredentialOptions,
        env: Env,
    ) -> Result<(HsmClient, Reach), HsmError> {
        let reach = scope.check(endpoint.base(), TokenKind::Hsm)?;
        let credentials = Credentials::resolve(options, env)?;
        let client = HsmClient::new(
            endpoint,
            scope,
            Arc::new(credentials),
            options.ca_pem.as_deref(),
        )?;
        Ok((client, reach))
    }

    /// A client for `endpoint`, trusting the platform roots plus `ca_pem`; refused when
    /// the endpoint's host is outside `scope`.
    pub fn new(
        endpoint: Endpoint,
        scope: HostScope,
        credentials: Arc<Credentials>,
        ca_pem: Option<&[u8]>,
    ) -> Result<HsmClient, HsmError> {
        scope.check(endpoint.base(), TokenKind::Hsm)?;
        Ok(HsmClient {
            endpoint,
            credentials,
            retry: RetryPolicy::default(),
            scope,
            http: reqwest_client(ca_pem)?,
            notify: None,
        })
    }

    /// Which token `resource` is: the HSM's, or a cloud's Resource Manager's.
    fn token_kind(&self, resource: &str) -> Result<TokenKind, HsmError> {
        let same = |a: &str| a.trim_end_matches('/') == resource.trim_end_matches('/');
        if same(&self.endpoint.resource) {
            return Ok(TokenKind::Hsm);
        }
        Cloud::ALL
            .into_iter()
            .find(|c| same(c.resource_manager()))
            .map(TokenKind::Arm)
            .ok_or_else(|| {
                HsmError::Usage(format!(
                    "no token for '{resource}' is sent by this client (neither the HSM's nor Resource Manager's)"
                ))
            })
    }

    /// Reports retries and polls to `notify` (a spinner, a log).
    pub fn with_notify(mut self, notify: Notify) -> Self {
        self.notify = Some(notify);
        self
    }

    pub(crate) fn note(&self, message: &str) {
        if let Some(n) = &self.notify {
            n(message);
        }
    }

    /// Sends a request with the HSM's token and returns the final answer, whatever its
    /// status. Retries per `idempotency` ([`super::retry`]), never past `deadline`.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotency: Idempotency,
        deadline: Option<Instant>,
    ) -> Result<Response, HsmError> {
        self.send_for(
            &self.endpoint.resource,
            method,
            url,
            body,
            idempotency,
            deadline,
        )
        .await
    }

    /// As [`HsmClient::send`], with a token for `resource` (Resource Manager for ARM).
    pub async fn send_for(
        &self,
        resource: &str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotency: Idempotency,
        deadline: Option<Instant>,
    ) -> Result<Response, HsmError> {
        let shown = display_url(&url);
        // The last gate: whatever built this URL, the token goes only where it belongs.
        self.scope.check(&url, self.token_kind(resource)?)?;
        let body = body.map(|b| b.to_string());
        let mut attempt = 1;
        loop {
            let token = self.credentials.token(resource).await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.as_str())
                .header("accept", "application/json");
            if let Some(b) = &body {
                request = request
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            let (retry, retry_after, outcome) = match request.send().await {
                Ok(answer) => {
                    let answer = Response::read(answer).await;
                    match answer {
                        Ok(r) => {
                            let retry = retryable_status(r.status, idempotency);
                            let after = r.header("retry-after").and_then(parse_retry_after);
                            (retry, after, Ok(r))
                        }
                        Err(e) => (idempotency == Idempotency::Repeatable, None, Err(e)),
                    }
                }
                Err(e) => {
                    // An untrusted certificate does not mend itself: never retried.
                    let retry = !is_certificate_error(&e)
                        && match idempotency {
                            Idempotency::Repeatable => true,
                            Idempotency::Once => e.is_connect(),
                        };
                    (retry, None, Err(network_error(&shown, &e)))
                }
            };
            if !retry || attempt >= self.retry.max_attempts {
                return outcome;
            }
            let delay = self.retry.delay(attempt, retry_after, jitter_unit());
            if deadline.is_some_and(|d| Instant::now() + delay > d) {
                return outcome;
            }
            let why = match &outcome {
                Ok(r) => format!("HTTP {}", r.status),
                Err(HsmError::Network { detail, .. }) => detail.clone(),
                Err(e) => e.to_string(),
            };
            self.note(&format!(
                "retrying {method} {shown} in {:.1} s ({why}; attempt {} of {})",
                delay.as_secs_f64(),
                attempt + 1,
                self.retry.max_attempts
            ));
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Calls data-plane `path` and returns the 2xx answer, or the error it stands for.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Response, HsmError> {
        let answer = self
            .send(method, self.endpoint.url(path), body, idempotency, None)
            .await?;
        self.expect_ok(answer)
    }

    /// A 2xx answer as it is; any other as its error.
    pub fn expect_ok(&self, answer: Response) -> Result<Response, HsmError> {
        if answer.ok() {
            Ok(answer)
        } else {
            Err(answer.into_error(&self.endpoint.resource))
        }
    }

    /// GET of data-plane `path`, as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value, HsmError> {
        self.call(Method::GET, path, None, Idempotency::Repeatable)
            .await?
            .json()
    }
}

/// Time left before `deadline`, zero when past.
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
