//! The flags every online command shares, and turning them into a client.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sdctl::hsm::credential::process_env;
use sdctl::hsm::http::read_ca_certificates;
use sdctl::hsm::status::arm_endpoint;
use sdctl::hsm::{
    AllowVia, Cloud, CredentialKind, CredentialOptions, Endpoint, HostScope, HsmClient, HsmError,
    Reach, TokenKind,
};
use sdctl::Error;

use super::progress::Spinner;
use crate::cli::Reporter;

/// Which HSM, and how to sign in.
#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("hsm").required(true).args(["hsm_name", "hsm_url"]))]
pub struct Connection {
    /// The Managed HSM's name (https://NAME.managedhsm.azure.net in AzureCloud).
    #[arg(long, value_name = "NAME")]
    pub hsm_name: Option<String>,
    /// The cloud of --hsm-name: AzureCloud, AzureUSGovernment or AzureChinaCloud
    /// (AzureGermanCloud closed in 2021 and is refused).
    #[arg(long, value_name = "CLOUD", default_value = "AzureCloud")]
    pub cloud: String,
    /// The HSM's base URL instead of a name (an emulated HSM's is https://127.0.0.1:PORT).
    #[arg(long, value_name = "URL")]
    pub hsm_url: Option<String>,
    /// Also trust these PEM CA certificates (the emulator's STATE_DIR/ca.pem), for the HSM
    /// and the sign-in authority.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Where Entra ID sign-in happens (the emulator's URL in rehearsals); default: the cloud's.
    #[arg(long, value_name = "URL")]
    pub authority_host: Option<String>,
    /// Break-glass: use the bearer token in this file (or the JSON of 'az account
    /// get-access-token'); no other credential is tried.
    #[arg(long, value_name = "FILE")]
    pub access_token_file: Option<PathBuf>,
    /// Which credential to use. auto: a service principal from AZURE_* variables, then
    /// workload identity, then managed identity where IDENTITY_ENDPOINT announces it, then
    /// the Azure CLI login; the first configured one is used, and named in the output.
    #[arg(long, value_enum, default_value_t = CredentialChoice::Auto)]
    pub credential: CredentialChoice,
    /// The tenant to ask the Azure CLI for a token in (default: its current one).
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Also send the access token to this host (exact name or IP address, any port;
    /// repeatable). Without it a token goes only to the cloud's own hosts
    /// (*.managedhsm.azure.net, management.azure.com, ...) or to a loopback address (the
    /// emulator); any other --hsm-url or --arm-url is refused before a credential is read.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_host: Vec<String>,
}

/// `--credential`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CredentialChoice {
    /// The first configured source (see --help).
    Auto,
    /// Service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or
    /// AZURE_CLIENT_CERTIFICATE_PATH.
    Environment,
    /// Workload identity (AZURE_FEDERATED_TOKEN_FILE).
    WorkloadIdentity,
    /// Managed identity, including the VM metadata service.
    ManagedIdentity,
    /// The Azure CLI's login ('az login').
    AzureCli,
}

impl Connection {
    /// The HSM endpoint named by the flags.
    pub fn endpoint(&self) -> Result<Endpoint, HsmError> {
        match (&self.hsm_name, &self.hsm_url) {
            (_, Some(url)) => Endpoint::from_url(url),
            (Some(name), None) => Endpoint::from_name(name, Cloud::parse(&self.cloud)?),
            (None, None) => Err(HsmError::Usage("give --hsm-name or --hsm-url".into())),
        }
    }

    /// The hosts, beyond the cloud's own and loopback, that tokens may go to.
    pub fn scope(&self) -> Result<HostScope, HsmError> {
        HostScope::new(&self.allow_host, AllowVia::Flag)
    }

    /// Refuses, before anything is read or sent, an HSM whose host is outside the token's
    /// scope; with `arm_url` (`Some(None)`: the cloud's own), also Resource Manager's.
    pub fn check_hosts(&self, arm_url: Option<Option<&str>>) -> Result<(), HsmError> {
        let endpoint = self.endpoint()?;
        let scope = self.scope()?;
        scope.check(endpoint.base(), TokenKind::Hsm)?;
        if let Some(arm_url) = arm_url {
            let (url, cloud) = arm_endpoint(&endpoint, arm_url)?;
            scope.check(&url, TokenKind::Arm(cloud))?;
        }
        Ok(())
    }

    /// A client for the HSM, reporting retries through `spinner`; credential warnings go
    /// to `rep`. The HSM's host is checked before any credential is consulted.
    pub fn client(&self, rep: &mut Reporter, spinner: &Spinner) -> Result<HsmClient, Error> {
        let endpoint = self.endpoint()?;
        let scope = self.scope()?;
        let reach = scope.check(endpoint.base(), TokenKind::Hsm)?;
        let ca_pem = match &self.ca_cert {
            Some(path) => Some(read_ca_certificates(path)?),
            None => None,
        };
        let kind = match self.credential {
            CredentialChoice::Auto => CredentialKind::Auto,
            CredentialChoice::Environment => CredentialKind::Environment,
            CredentialChoice::WorkloadIdentity => CredentialKind::WorkloadIdentity,
            CredentialChoice::ManagedIdentity => CredentialKind::ManagedIdentity,
            CredentialChoice::AzureCli => CredentialKind::AzureCli,
        };
        let options = CredentialOptions {
            kind,
            access_token_file: self.access_token_file.clone(),
            authority_host: self.authority_host.clone(),
            cloud: endpoint.cloud,
            ca_pem: ca_pem.clone(),
            tenant_id: self.tenant.clone(),
        };
        if let Reach::Allowed(host) = &reach {
            rep.warn(format!(
                "{host}: not a Managed HSM host of a known cloud nor loopback; the access token is sent there because --allow-host names it"
            ));
        }
        let (client, _) = HsmClient::connect(endpoint, scope, &options, &process_env)?;
        for w in &client.credentials.warnings {
            rep.warn(w.clone());
        }
        Ok(client.with_notify(spinner.notifier()))
    }
}
