//! Where the access token comes from. The official Azure SDK for Rust (`azure_identity`)
//! does the work; sdctl picks one source, in this documented order, and says which:
//!
//! 1. `--access-token-file F` (break-glass): a bearer token, or the JSON that
//!    `az account get-access-token` prints;
//! 2. a service principal from the environment: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
//!    `AZURE_CLIENT_SECRET`, or `AZURE_CLIENT_CERTIFICATE_PATH` (PKCS#12 or PEM key and
//!    certificate; `AZURE_CLIENT_CERTIFICATE_PASSWORD` if the file is encrypted);
//! 3. workload identity: `AZURE_FEDERATED_TOKEN_FILE` with `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`;
//! 4. managed identity where the platform announces it (`IDENTITY_ENDPOINT`, App Service and
//!    Container Apps); the VM metadata service is used only with `--credential managed-identity`,
//!    so a laptop never waits on it;
//! 5. the Azure CLI's login (`az account get-access-token`).
//!
//! The first source that is configured is used; a failure is reported, not hidden by
//! trying the next one, so it is always clear which identity acted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, SecretBytes, TokenCredential};
use azure_core::http::{
    ClientOptions, ExponentialRetryOptions, HttpClient, RetryOptions, Transport,
};
use azure_identity::{
    AzureCliCredential, ClientCertificateCredential, ClientCertificateCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use serde_json::Value;
use zeroize::Zeroizing;

use super::endpoint::Cloud;
use super::jwt;
use super::HsmError;
use crate::files;

/// Which credential to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CredentialKind {
    /// The first configured source, in the order of the module documentation.
    #[default]
    Auto,
    /// A service principal from `AZURE_*` variables (secret or certificate).
    Environment,
    /// Workload identity (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// Managed identity, including the VM metadata service.
    ManagedIdentity,
    /// The Azure CLI's login.
    AzureCli,
}

/// How to obtain tokens.
#[derive(Clone, Debug, Default)]
pub struct CredentialOptions {
    /// The source.
    pub kind: CredentialKind,
    /// A file holding a token (overrides every other source).
    pub access_token_file: Option<PathBuf>,
    /// The Entra ID authority (`--authority-host`); else the cloud's.
    pub authority_host: Option<String>,
    /// The cloud, for its authority.
    pub cloud: Option<Cloud>,
    /// Extra trust anchors (PEM) for the authority's TLS certificate (`--ca-cert`).
    pub ca_pem: Option<Vec<u8>>,
    /// The tenant for the Azure CLI (`--tenant`); else its default.
    pub tenant_id: Option<String>,
}

/// A source of access tokens.
pub struct Credentials {
    source: Source,
    /// What is used, for people ("environment: client secret", "access-token file ...").
    pub description: String,
    /// Things the operator should know (a token file readable by others).
    pub warnings: Vec<String>,
}

enum Source {
    File {
        path: PathBuf,
        token: Zeroizing<String>,
    },
    Azure(Arc<dyn TokenCredential>),
}

/// Reads an environment variable; a test passes its own table.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Credentials {
    /// Chooses the credential for `options`, reading `AZURE_*` variables through `env`.
    pub fn resolve(options: &CredentialOptions, env: Env) -> Result<Credentials, HsmError> {
        if let Some(path) = &options.access_token_file {
            return Self::from_token_file(path);
        }
        let client_options = client_options(options)?;
        let kind = options.kind;
        let auto = kind == CredentialKind::Auto;
        let has = |name: &str| env(name).is_some();
        let service_principal = has("AZURE_TENANT_ID")
            && has("AZURE_CLIENT_ID")
            && (has("AZURE_CLIENT_SECRET") || has("AZURE_CLIENT_CERTIFICATE_PATH"));
        if kind == CredentialKind::Environment || (auto && service_principal) {
            return environment(env, client_options);
        }
        if kind == CredentialKind::WorkloadIdentity || (auto && has("AZURE_FEDERATED_TOKEN_FILE")) {
            let options = WorkloadIdentityCredentialOptions {
                credential_options: azure_identity::ClientAssertionCredentialOptions {
                    client_options,
                },
                ..Default::default()
            };
            let credential = WorkloadIdentityCredential::new(Some(options))
                .map_err(|e| setup_error("workload identity", e))?;
            return Ok(Self::azure(
                credential,
                "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            ));
        }
        if kind == CredentialKind::ManagedIdentity || (auto && has("IDENTITY_ENDPOINT")) {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: env("AZURE_CLIENT_ID").map(UserAssignedId::ClientId),
                client_options,
            };
            let credential = ManagedIdentityCredential::new(Some(options))
                .map_err(|e| setup_error("managed identity", e))?;
            return Ok(Self::azure(credential, "managed identity"));
        }
        let options = azure_identity::AzureCliCredentialOptions {
            tenant_id: options.tenant_id.clone(),
            ..Default::default()
        };
        let credential =
            AzureCliCredential::new(Some(options)).map_err(|e| setup_error("Azure CLI", e))?;
        Ok(Self::azure(credential, "Azure CLI login"))
    }

    fn azure(credential: Arc<dyn TokenCredential>, description: &str) -> Credentials {
        Credentials {
            source: Source::Azure(credential),
            description: description.to_owned(),
            warnings: Vec::new(),
        }
    }

    /// A token read from `path`: the bare token, or `az account get-access-token` JSON.
    pub fn from_token_file(path: &Path) -> Result<Credentials, HsmError> {
        let bytes = Zeroizing::new(files::read_bounded_nonempty(
            path,
            64 * 1024,
            "an access token",
        )?);
        let bad = |detail: &str| HsmError::TokenFile {
            path: path.to_owned(),
            detail: detail.to_owned(),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("is not UTF-8 text"))?;
        let trimmed = text.trim();
        let token = if trimmed.starts_with('{') {
            let value: Value = serde_json::from_str(trimmed)
                .map_err(|e| bad(&format!("is not valid JSON: {e}")))?;
            let field = value
                .get("accessToken")
                .or_else(|| value.get("access_token"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("JSON without 'accessToken' (expected the output of 'az account get-access-token')"))?;
            Zeroizing::new(field.to_owned())
        } else {
            Zeroizing::new(
                trimmed
                    .strip_prefix("Bearer ")
                    .unwrap_or(trimmed)
                    .to_owned(),
            )
        };
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "does not hold one access token (expected a single line)",
            ));
        }
        let mut warnings = Vec::new();
        if files::readable_by_others(path) {
            warnings.push(format!(
                "{}: access-token file is readable by other users; restrict it with 'chmod 600'",
                path.display()
            ));
        }
        Ok(Credentials {
            description: format!("access-token file {}", path.display()),
            source: Source::File {
                path: path.to_owned(),
                token,
            },
            warnings,
        })
    }

    /// An access token for `resource` (`https://managedhsm.azure.net`, or Resource Manager).
    pub async fn token(&self, resource: &str) -> Result<Zeroizing<String>, HsmError> {
        match &self.source {
            Source::File { path, token } => {
                check_file_token(path, token, resource)?;
                Ok(token.clone())
            }
            Source::Azure(credential) => {
                let scope = format!("{}/.default", resource.trim_end_matches('/'));
                let token = credential
                    .get_token(&[scope.as_str()], None)
                    .await
                    .map_err(|e| HsmError::Credential {
                        resource: resource.to_owned(),
                        detail: format!("{} failed: {}", self.description, e),
                    })?;
                Ok(Zeroizing::new(token.token.secret().to_owned()))
            }
        }
    }
}

/// Checks, before it is sent, that a token from a file is for `resource` and not expired.
fn check_file_token(path: &Path, token: &str, resource: &str) -> Result<(), HsmError> {
    let Some(claims) = jwt::claims(token) else {
        return Ok(()); // An opaque token: the service decides.
    };
    let bad = |detail: String| HsmError::TokenFile {
        path: path.to_owned(),
        detail,
    };
    if let Some(aud) = claims.get("aud").and_then(Value::as_str) {
        if aud.trim_end_matches('/') != resource.trim_end_matches('/') {
            return Err(bad(format!(
                "the token is for audience '{aud}', but this call needs a token for '{resource}'; get one with 'az account get-access-token --resource {resource}'"
            )));
        }
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        if exp <= jwt::now() {
            return Err(bad(format!(
                "the token expired {} s ago; get a new one with 'az account get-access-token --resource {resource}'",
                jwt::now() - exp
            )));
        }
    }
    Ok(())
}

/// A service principal from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and a secret or certificate.
fn environment(env: Env, client_options: ClientOptions) -> Result<Credentials, HsmError> {
    let missing = |name: &str| HsmError::Credential {
        resource: "the HSM".into(),
        detail: format!("the environment credential needs {name}"),
    };
    let tenant = env("AZURE_TENANT_ID").ok_or_else(|| missing("AZURE_TENANT_ID"))?;
    let client = env("AZURE_CLIENT_ID").ok_or_else(|| missing("AZURE_CLIENT_ID"))?;
    if let Some(secret) = env("AZURE_CLIENT_SECRET").map(Zeroizing::new) {
        let credential = ClientSecretCredential::new(
            &tenant,
            client.clone(),
            Secret::new(secret.to_string()),
            Some(ClientSecretCredentialOptions { client_options }),
        )
        .map_err(|e| setup_error("client secret", e))?;
        return Ok(Credentials::azure(
            credential,
            &format!("environment: client secret of {client}"),
        ));
    }
    let path = env("AZURE_CLIENT_CERTIFICATE_PATH")
        .ok_or_else(|| missing("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"))?;
    let password = env("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Zeroizing::new);
    let pkcs12 =
        client_certificate_pkcs12(Path::new(&path), password.as_deref().map(|p| p.as_str()))?;
    let options = ClientCertificateCredentialOptions {
        client_options,
        password: password.map(|p| Secret::new(p.to_string())),
    };
    let credential = ClientCertificateCredential::new(
        tenant,
        client.clone(),
        SecretBytes::new(pkcs12.to_vec()),
        Some(options),
    )
    .map_err(|e| setup_error("client certificate", e))?;
    Ok(Credentials::azure(
        credential,
        &format!("environment: client certificate {path} of {client}"),
    ))
}

/// The client certificate as PKCS#12 (what `azure_identity` takes): a `.pfx` as it is, a
/// PEM private key with its certificate converted in memory.
fn client_certificate_pkcs12(
    path: &Path,
    password: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    let bytes = Zeroizing::new(files::read_bounded(
        path,
        1024 * 1024,
        "a client certificate",
    )?);
    if !bytes.windows(10).any(|w| w == b"-----BEGIN") {
        return Ok(bytes);
    }
    let bad = |detail: String| HsmError::TokenFile {
        path: path.to_owned(),
        detail,
    };
    let key = match password {
        Some(p) => openssl::pkey::PKey::private_key_from_pem_callback(
            &bytes,
            crate::keys::private::passphrase_callback(p.as_bytes()),
        ),
        None => openssl::pkey::PKey::private_key_from_pem(&bytes),
    }
    .map_err(|_| bad("AZURE_CLIENT_CERTIFICATE_PATH: no usable private key in the PEM file (wrong AZURE_CLIENT_CERTIFICATE_PASSWORD?)".into()))?;
    let cert = openssl::x509::X509::from_pem(&bytes).map_err(|_| {
        bad("AZURE_CLIENT_CERTIFICATE_PATH: the PEM file holds no certificate".into())
    })?;
    let der = openssl::pkcs12::Pkcs12::builder()
        .pkey(&key)
        .cert(&cert)
        .build2(password.unwrap_or(""))
        .and_then(|p| p.to_der())
        .map_err(|e| bad(format!("cannot convert to PKCS#12: {e}")))?;
    Ok(Zeroizing::new(der))
}

/// The SDK's HTTP options: the authority, our trust anchors, and a bounded retry.
fn client_options(options: &CredentialOptions) -> Result<ClientOptions, HsmError> {
    let cloud = match (&options.authority_host, options.cloud) {
        (Some(host), _) => Some(custom_cloud(host)),
        (None, Some(Cloud::AzureCloud)) => Some(CloudConfiguration::AzurePublic),
        (None, Some(Cloud::AzureUSGovernment)) => Some(CloudConfiguration::AzureGovernment),
        (None, Some(Cloud::AzureChinaCloud)) => Some(CloudConfiguration::AzureChina),
        (None, None) => None,
    };
    let client = super::http::reqwest_client(options.ca_pem.as_deref())?;
    Ok(ClientOptions {
        cloud: cloud.map(Arc::new),
        transport: Some(Transport::new(Arc::new(client) as Arc<dyn HttpClient>)),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(300),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(20),
            max_delay: azure_core::time::Duration::seconds(5),
        }),
        ..Default::default()
    })
}

fn custom_cloud(authority_host: &str) -> CloudConfiguration {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = authority_host.trim_end_matches('/').to_owned();
    CloudConfiguration::Custom(custom)
}

fn setup_error(what: &str, e: azure_core::Error) -> HsmError {
    HsmError::Credential {
        resource: "the HSM".into(),
        detail: format!("cannot set up the {what} credential: {}", e),
    }
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;
