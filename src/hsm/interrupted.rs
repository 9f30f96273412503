//! The security-domain POSTs (download, upload), which are not repeated blindly
//! (`super::retry`). When one fails after it may have reached the HSM (a dropped
//! connection, a 5xx), the operator must know whether the HSM acted before doing anything
//! else. The operation's status is read before the POST and again after the failure, and
//! the two readings are turned into one line of advice.

use std::time::Instant;

use reqwest::Method;
use serde_json::Value;

use super::client::HsmClient;
use super::http::{display_url, Response};
use super::operation::{Operation, State};
use super::retry::Idempotency;
use super::HsmError;

/// Sends `POST securitydomain/{download|upload}` with `body` once (429 and refused
/// connections aside) and returns its 2xx answer; a failure that may have reached the HSM
/// comes back explained ([`explain`]).
pub async fn post_operation(
    client: &HsmClient,
    operation: Operation,
    body: &Value,
) -> Result<Response, HsmError> {
    let before = Before::read(client, operation).await;
    let url = client
        .endpoint
        .url(&format!("securitydomain/{}", operation.name()));
    match client
        .send(Method::POST, url, Some(body), Idempotency::Once, None)
        .await
    {
        Ok(a) if a.status >= 500 || a.status == 429 => {
            let err = a.into_error(&client.endpoint.resource);
            Err(explain(client, operation, &before, err).await)
        }
        Ok(a) => client.expect_ok(a),
        // Only a transport failure can have lost an answer; a token refused before
        // sending (expired, wrong audience, no credential) is reported as it is.
        Err(e @ (HsmError::Network { .. } | HsmError::BadResponse { .. })) => {
            Err(explain(client, operation, &before, e).await)
        }
        Err(e) => Err(e),
    }
}

/// The operation's status before the POST.
#[derive(Clone, Debug)]
pub enum Before {
    /// None was ever started (404): the HSM is new.
    NotStarted,
    /// The last one's state.
    Seen(State),
    /// Not readable (no permission, an error); the advice is then less certain.
    Unknown,
}

impl Before {
    /// Reads the status once, without retries (a deadline of now): it is only advice, and
    /// must not slow the activation down; never fails the command.
    pub async fn read(client: &HsmClient, operation: Operation) -> Before {
        match client.last_operation(operation, Some(Instant::now())).await {
            Ok(Some(status)) => Before::Seen(status.state),
            Ok(None) => Before::NotStarted,
            Err(_) => Before::Unknown,
        }
    }
}

/// The error for a POST whose answer was lost or was a server error: asks the HSM what
/// happened and says what to do.
pub async fn explain(
    client: &HsmClient,
    operation: Operation,
    before: &Before,
    cause: HsmError,
) -> HsmError {
    let shown = display_url(
        &client
            .endpoint
            .url(&format!("securitydomain/{}", operation.name())),
    );
    // The cause names the same URL as the error it becomes: say it once.
    let cause = cause.to_string();
    let cause = cause
        .strip_prefix(&format!("{shown}: "))
        .unwrap_or(&cause)
        .to_owned();
    let (after, details) = match client.last_operation(operation, None).await {
        Ok(Some(status)) => (Some(status.state), status.status),
        Ok(None) => (None, "not started".into()),
        Err(e) => {
            return HsmError::Interrupted {
                url: shown,
                detail: format!("{cause}; and the HSM's status could not be read ({e}): run 'sdctl hsm status' before trying again"),
            }
        }
    };
    let name = operation.name();
    let advice = match (operation, before, after) {
        (_, _, None) => {
            format!("the HSM did not start a {name}; it is safe to run the command again")
        }
        (_, _, Some(State::Failed)) => {
            format!("the HSM reports the last {name} as Failed; it is safe to try again")
        }
        (Operation::Download, Before::NotStarted, Some(_)) => format!(
            "the request reached the HSM, which now reports the download as '{details}', but the answer carrying the security domain was lost: no copy of this security domain exists. Do not create keys in this HSM; delete it and activate a new one"
        ),
        (Operation::Download, Before::Seen(State::Succeeded), Some(_)) => "the HSM was already activated before this command; keep the security domain saved at its activation".to_owned(),
        (Operation::Download, _, Some(_)) => format!(
            "the HSM reports a download as '{details}'. If the HSM was new before this command, the request reached it but the answer carrying the security domain was lost, and no copy of this security domain exists: do not create keys in this HSM; delete it and activate a new one. If it was already active, this is its earlier activation: keep the security domain saved then"
        ),
        (Operation::Upload, _, Some(_)) => format!(
            "the upload reached the HSM, which reports '{details}'; follow it with 'sdctl hsm wait --target upload'"
        ),
    };
    HsmError::Interrupted {
        url: shown,
        detail: format!("{cause}; {advice}"),
    }
}
