//! The security-domain long-running operations: reading `.../pending` status and waiting
//! for Success or Failed within a time limit (`Retry-After` sets the pace).

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::Serialize;
use serde_json::Value;

use super::client::{remaining, HsmClient};
use super::retry::{parse_retry_after, Idempotency};
use super::HsmError;

/// Which operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Activation: the HSM makes a security domain for the given certificates.
    Download,
    /// Recovery: the HSM installs a restore blob.
    Upload,
}

impl Operation {
    /// `download` or `upload`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Download => "download",
            Operation::Upload => "upload",
        }
    }

    /// `security-domain download` or `security-domain upload`, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Operation::Download => "security-domain download",
            Operation::Upload => "security-domain upload",
        }
    }

    /// The status path (`securitydomain/download/pending`).
    pub fn pending_path(self) -> String {
        format!("securitydomain/{}/pending", self.name())
    }
}

/// Where an operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum State {
    /// Still running.
    InProgress,
    /// Finished well (`Success`, or `Succeeded` from some service versions).
    Succeeded,
    /// Finished badly; `status_details` says why.
    Failed,
}

/// One status answer.
#[derive(Clone, Debug, Serialize)]
pub struct OperationStatus {
    /// The state.
    pub state: State,
    /// The status word as the service sent it.
    pub status: String,
    /// The service's `status_details`, verbatim.
    pub status_details: String,
}

/// Parses `{"status": ..., "status_details": ...}`.
pub fn parse_status(v: &Value) -> Result<OperationStatus, String> {
    let status = v["status"]
        .as_str()
        .ok_or("no 'status' in the operation status")?;
    let state = match status.to_ascii_lowercase().as_str() {
        "success" | "succeeded" => State::Succeeded,
        "failed" | "canceled" | "cancelled" => State::Failed,
        "inprogress" | "running" | "notstarted" | "accepted" => State::InProgress,
        _ => return Err(format!("unknown operation status '{status}'")),
    };
    Ok(OperationStatus {
        state,
        status: status.to_owned(),
        status_details: v["status_details"]
            .as_str()
            .or(v["statusDetails"].as_str())
            .unwrap_or("")
            .to_owned(),
    })
}

/// Limits of a wait.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// Give up after this long (exit 4, the operation goes on in the HSM).
    pub timeout: Duration,
    /// Longest pause between polls when the service sends no `Retry-After`; the pauses
    /// start at a quarter second and double up to it.
    pub interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(900),
            interval: Duration::from_secs(2),
        }
    }
}

/// Told of every status seen, with the time since the wait began.
pub type Progress<'a> = &'a (dyn Fn(&OperationStatus, Duration) + Sync);

impl HsmClient {
    /// The operation's status URL: the service's `Azure-AsyncOperation` when it points at
    /// this HSM (the token is never sent elsewhere), else the documented pending path.
    pub fn status_url(&self, operation: Operation, async_operation: Option<&str>) -> Url {
        async_operation
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| self.endpoint.same_origin(u))
            .unwrap_or_else(|| self.endpoint.url(&operation.pending_path()))
    }

    /// One status read, with the service's `Retry-After`.
    pub async fn operation_status(
        &self,
        url: &Url,
        deadline: Option<Instant>,
    ) -> Result<(OperationStatus, Option<Duration>), HsmError> {
        let answer = self
            .send(
                Method::GET,
                url.clone(),
                None,
                Idempotency::Repeatable,
                deadline,
            )
            .await?;
        let answer = self.expect_ok(answer)?;
        let after = answer.header("retry-after").and_then(parse_retry_after);
        let status = parse_status(&answer.json()?).map_err(|detail| HsmError::BadResponse {
            url: answer.url.clone(),
            detail,
        })?;
        Ok((status, after))
    }

    /// The last operation's status, `None` when none was ever started (404). With
    /// `deadline` = now it is one attempt, without retries.
    pub async fn last_operation(
        &self,
        operation: Operation,
        deadline: Option<Instant>,
    ) -> Result<Option<OperationStatus>, HsmError> {
        let url = self.endpoint.url(&operation.pending_path());
        match self.operation_status(&url, deadline).await {
            Ok((status, _)) => Ok(Some(status)),
            Err(HsmError::Service { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls `url` until the operation succeeds (Ok), fails ([`HsmError::OperationFailed`]
    /// with the service's details) or `options.timeout` passes ([`HsmError::Timeout`]).
    pub async fn wait(
        &self,
        operation: Operation,
        url: &Url,
        options: WaitOptions,
        progress: Progress<'_>,
    ) -> Result<OperationStatus, HsmError> {
        let started = Instant::now();
        let deadline = started + options.timeout;
        let mut last = "not read yet".to_owned();
        let mut pace = Duration::from_millis(250).min(options.interval);
        loop {
            let (status, after) = match self.operation_status(url, Some(deadline)).await {
                Ok(s) => s,
                // A transient failure that retries could not outlast before the deadline is
                // a timeout: the operation may still finish, and 'hsm wait' can follow it.
                Err(e)
                    if remaining(deadline).is_zero()
                        || (transient(&e) && remaining(deadline) < self.retry.max_delay) =>
                {
                    return Err(timeout(
                        operation,
                        options,
                        format!("{last}; last poll: {e}"),
                    ));
                }
                Err(e) => return Err(e),
            };
            progress(&status, started.elapsed());
            match status.state {
                State::Succeeded => return Ok(status),
                State::Failed => {
                    return Err(HsmError::OperationFailed {
                        operation: operation.title(),
                        details: status.status_details,
                    })
                }
                State::InProgress => last = status.status.clone(),
            }
            let left = remaining(deadline);
            if left.is_zero() {
                return Err(timeout(operation, options, last));
            }
            let pause = after.unwrap_or(pace).min(Duration::from_secs(30)).min(left);
            pace = (pace * 2).min(options.interval);
            tokio::time::sleep(pause).await;
        }
    }
}

/// A failure worth waiting out: the network, throttling, a server error.
pub(crate) fn transient(e: &HsmError) -> bool {
    match e {
        HsmError::Network { .. } => true,
        HsmError::Service { status, .. } => matches!(status, 408 | 429 | 500..=599),
        _ => false,
    }
}

fn timeout(operation: Operation, options: WaitOptions, last: String) -> HsmError {
    HsmError::Timeout {
        operation: operation.title(),
        seconds: options.timeout.as_secs_f64().ceil() as u64,
        last,
        resume: format!("sdctl hsm wait --target {}", operation.name()),
    }
}

#[cfg(test)]
#[path = "operation_tests.rs"]
mod tests;
