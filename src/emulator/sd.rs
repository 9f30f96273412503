//! The security-domain data plane: download (activation), its pending status, the transfer
//! key, upload (recovery) and its pending status.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::server::random;
use super::state::{Blob, Operation, TransferKey};
use crate::domain::hsm::{make_security_domain, open_restore_blob};
use crate::keys::generate::{self_signed_certificate, GenerateOptions};
use crate::keys::{Certificate, PublicKey, MIN_RSA_BITS};
use crate::primitives::base64url;

/// The security-domain routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/hsm/{hsm}/securitydomain/download", post(download))
        .route(
            "/hsm/{hsm}/securitydomain/download/pending",
            get(download_pending),
        )
        .route(
            "/hsm/{hsm}/securitydomain/upload",
            get(transfer_key).post(upload),
        )
        .route(
            "/hsm/{hsm}/securitydomain/upload/pending",
            get(upload_pending),
        )
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// 202 with `body`, `Azure-AsyncOperation: status_url` and `Retry-After: 1`.
fn accepted(body: Value, status_url: &str) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(status_url) {
        response.headers_mut().insert("Azure-AsyncOperation", v);
    }
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1));
    response
}

/// Validates a CertificateInfoObject: 3..10 RSA ≥ 2048 JWKs whose `x5c[0]` agrees with
/// `n`/`e` and the thumbprints, and a quorum of 2..10 at most N.
fn certificate_info(body: &Value) -> Result<(Vec<Certificate>, usize), ApiError> {
    let bad = |m: String| ApiError::bad_parameter(m);
    let jwks = body["certificates"]
        .as_array()
        .ok_or_else(|| bad("'certificates' must be an array of JWKs".into()))?;
    if !(3..=10).contains(&jwks.len()) {
        return Err(bad(format!(
            "{} certificates given; 3 to 10 are required",
            jwks.len()
        )));
    }
    let required = body["required"]
        .as_u64()
        .ok_or_else(|| bad("'required' must be a number".into()))? as usize;
    if !(2..=10).contains(&required) || required > jwks.len() {
        return Err(bad(format!("'required' is {required}; it must be 2 to 10 and at most the number of certificates ({})", jwks.len())));
    }
    let mut certs = Vec::new();
    for (i, jwk) in jwks.iter().enumerate() {
        let at = |m: &str| bad(format!("certificates[{i}]: {m}"));
        if jwk["kty"].as_str() != Some("RSA") {
            return Err(at("kty must be RSA"));
        }
        let der = jwk["x5c"][0]
            .as_str()
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or_else(|| at("x5c[0] must hold the certificate, base64 DER"))?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| at(&format!("x5c[0] is not a certificate: {e}")))?;
        let (n, e) = (jwk["n"].as_str(), jwk["e"].as_str());
        let numbers = n
            .and_then(base64url::decode)
            .zip(e.and_then(base64url::decode))
            .ok_or_else(|| at("n and e must be base64url"))?;
        if &PublicKey::rsa(&numbers.0, &numbers.1) != cert.public_key() {
            return Err(at("n/e do not match the certificate in x5c"));
        }
        if let Some(t) = jwk["x5t"].as_str() {
            if t.trim_end_matches('=') != cert.x5t() {
                return Err(at("x5t does not match the certificate"));
            }
        }
        if let Some(t) = jwk["x5t#S256"].as_str() {
            if t.trim_end_matches('=') != cert.x5t_256() {
                return Err(at("x5t#S256 does not match the certificate"));
            }
        }
        match cert.public_key().info().bits {
            Some(bits) if bits >= MIN_RSA_BITS => {}
            _ => return Err(at("RSA keys of at least 2048 bits are required")),
        }
        certs.push(cert);
    }
    Ok((certs, required))
}

/// The HSM state a fresh activation creates: a partition configuration, a key store, and
/// the root from which key backups are protected.
fn new_state_blobs() -> Vec<Blob> {
    [
        ("mhsm-partition-config", 256),
        ("mhsm-key-store", 1024),
        ("mhsm-backup-root", 32),
    ]
    .into_iter()
    .map(|(tag, len)| Blob {
        tag: tag.into(),
        data: STANDARD.encode(random(len)),
    })
    .collect()
}

async fn download(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Result<Response, ApiError> {
    app.authorize(&headers, &hsm, "/", "securitydomain/download/action")?;
    let Json(body) = body.ok_or_else(|| {
        ApiError::bad_parameter("the body must be a CertificateInfoObject (JSON)")
    })?;
    let (certs, required) = certificate_info(&body)?;
    let sd = app.mutate_hsm(&hsm, |h| {
        if h.blobs.is_empty() {
            h.blobs = new_state_blobs();
        }
        let plain: Vec<(String, Vec<u8>)> = h
            .blobs
            .iter()
            .map(|b| (b.tag.clone(), STANDARD.decode(&b.data).unwrap_or_default()))
            .collect();
        let sd = make_security_domain(&certs, required, &plain)
            .map_err(|e| ApiError::bad_parameter(e.to_string()))?;
        let json = sd
            .to_json()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        h.activation = "Active".into();
        h.download = Some(Operation {
            final_status: "Success".into(),
            status_details: "The security domain has been downloaded and the HSM is activated."
                .into(),
            started: now(),
            duration: app.operation_seconds,
        });
        Ok(json)
    })?;
    Ok(accepted(
        json!({"value": sd}),
        &format!("{}/securitydomain/download/pending", app.hsm_url(&hsm)),
    ))
}

fn pending(op: Option<&Operation>, what: &str) -> Result<Json<Value>, ApiError> {
    let op = op.ok_or_else(|| {
        ApiError::not_found(format!(
            "no security domain {what} has been started on this HSM"
        ))
    })?;
    let status = op.status_at(now());
    let details = if status == "InProgress" {
        format!("The security domain {what} is in progress.")
    } else {
        op.status_details.clone()
    };
    Ok(Json(json!({"status": status, "status_details": details})))
}

async fn download_pending(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "securitydomain/download/read")?;
    pending(h.download.as_ref(), "download")
}

async fn upload_pending(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "securitydomain/upload/read")?;
    pending(h.upload.as_ref(), "upload")
}

async fn transfer_key(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "securitydomain/transferkey/read")?;
    if h.activation == "Active" {
        return Err(ApiError::bad_parameter("the HSM is already activated: a transfer key is only issued to a new HSM that waits for a security-domain upload"));
    }
    let key = PKey::from_rsa(Rsa::generate(2048).map_err(|e| ApiError::internal(e.to_string()))?)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let options = GenerateOptions {
        bits: 2048,
        days: 30,
        subject: Vec::new(),
    };
    let cert = self_signed_certificate(&format!("{hsm}-transfer-key"), &key, &options)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let rsa = key.rsa().map_err(|e| ApiError::internal(e.to_string()))?;
    let jwk = json!({
        "kty": "RSA",
        "key_ops": ["wrapKey", "encrypt"],
        "kid": format!("{}/keys/transferkey/{}", app.hsm_url(&hsm), super::server::uuid()),
        "n": base64url::encode(&rsa.n().to_vec()),
        "e": base64url::encode(&rsa.e().to_vec()),
        "x5c": [STANDARD.encode(cert.der())],
        "x5t#S256": cert.x5t_256(),
    });
    let private_pem = key
        .private_key_to_pem_pkcs8()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    app.mutate_hsm(&hsm, |h| {
        h.transfer_key = Some(TransferKey {
            private_pem: String::from_utf8_lossy(&private_pem).into_owned(),
            certificate: STANDARD.encode(cert.der()),
            used: false,
        });
        Ok(())
    })?;
    let transfer = if app.transfer_key_as_object {
        jwk
    } else {
        Value::from(jwk.to_string())
    };
    Ok(Json(json!({"key_format": "jwk", "transfer_key": transfer})).into_response())
}

async fn upload(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Result<Response, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "securitydomain/upload/action")?;
    if h.activation == "Active" {
        return Err(ApiError::bad_parameter(
            "the HSM is already activated; a security domain can only be uploaded to a new HSM",
        ));
    }
    let Json(body) = body.ok_or_else(|| {
        ApiError::bad_parameter("the body must be {\"value\": \"<restore blob>\"}")
    })?;
    let blob = body["value"]
        .as_str()
        .ok_or_else(|| ApiError::bad_parameter("the body must be {\"value\": \"<restore blob>\"}"))?
        .to_owned();
    let outcome = install(&h.transfer_key, &blob);
    app.mutate_hsm(&hsm, |h| {
        let (final_status, status_details) = match outcome {
            Ok(blobs) => {
                h.blobs = blobs;
                h.activation = "Active".into();
                if let Some(t) = h.transfer_key.as_mut() {
                    t.used = true;
                }
                (
                    "Success",
                    "The security domain has been restored and the HSM is activated.".to_owned(),
                )
            }
            Err(details) => ("Failed", details),
        };
        h.upload = Some(Operation {
            final_status: final_status.into(),
            status_details,
            started: now(),
            duration: app.operation_seconds,
        });
        Ok(())
    })?;
    Ok(accepted(
        json!({"status": "InProgress", "status_details": "The security domain upload is in progress."}),
        &format!("{}/securitydomain/upload/pending", app.hsm_url(&hsm)),
    ))
}

/// Checks and opens a restore blob with the HSM's transfer key; the state it carries, or
/// the precise reason for refusing it.
fn install(transfer: &Option<TransferKey>, blob: &str) -> Result<Vec<Blob>, String> {
    let key = transfer
        .as_ref()
        .ok_or("no transfer key was issued by this HSM: GET /securitydomain/upload first")?;
    if key.used {
        return Err("the transfer key of this restore blob was already used: get a new transfer key and build a new restore blob".into());
    }
    let cert_der = STANDARD
        .decode(&key.certificate)
        .map_err(|e| e.to_string())?;
    let cert = Certificate::from_der(&cert_der)?;
    let parsed = crate::domain::restore_blob::RestoreBlob::from_json(blob.as_bytes())
        .map_err(|e| format!("the restore blob is invalid: {e}"))?;
    if parsed.wrapped_key.x5t_256 != cert.x5t_256() {
        return Err(format!(
            "WrappedKey.x5t_256 '{}' is not the thumbprint of this HSM's transfer key ('{}')",
            parsed.wrapped_key.x5t_256,
            cert.x5t_256()
        ));
    }
    let private =
        PKey::private_key_from_pem(key.private_pem.as_bytes()).map_err(|e| e.to_string())?;
    let data = open_restore_blob(
        std::path::Path::new("restore blob"),
        blob.as_bytes(),
        &private,
    )
    .map_err(|e| e.to_string())?;
    Ok(data
        .into_iter()
        .map(|d| Blob {
            tag: d.tag,
            data: STANDARD.encode(&*d.plaintext),
        })
        .collect())
}
