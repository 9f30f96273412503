//! An emulator running in-process for tests, and a plain HTTPS client that trusts its CA.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};

/// A running emulator; stopped when dropped.
pub struct TestEmulator {
    pub url: String,
    pub dir: PathBuf,
    pub client: ApiClient,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestEmulator {
    /// Starts an emulator with HSMs `hsms` in a fresh state directory.
    pub fn start(hsms: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let mut e = Self::start_in(&dir, hsms);
        e._tmp = Some(tmp);
        e
    }

    /// Starts an emulator on `dir` (which may hold the state of an earlier run).
    pub fn start_in(dir: &Path, hsms: &[&str]) -> Self {
        Self::start_configured(dir, hsms, |_| {})
    }

    /// Starts an emulator on `dir` with HSMs `hsms` and the test defaults changed by `tweak`.
    pub fn start_configured(
        dir: &Path,
        hsms: &[&str],
        tweak: impl FnOnce(&mut sdctl::emulator::EmulatorConfig),
    ) -> Self {
        let mut config = sdctl::emulator::EmulatorConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            state_dir: dir.to_owned(),
            hsms: hsms.iter().map(|s| s.to_string()).collect(),
            hsm_ports: Default::default(),
            transfer_key_as_object: false,
            operation_seconds: 0.3,
            faults: Vec::new(),
        };
        tweak(&mut config);
        let (url_tx, url_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let running = sdctl::emulator::start(config).await.unwrap();
                url_tx.send(running.url.clone()).unwrap();
                tokio::task::spawn_blocking(move || {
                    let _ = stop_rx.recv();
                })
                .await
                .unwrap();
                running.shutdown().await;
            });
        });
        let url = url_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("emulator started");
        let client = client_for(dir);
        TestEmulator {
            url,
            dir: dir.to_owned(),
            client,
            stop: Some(stop_tx),
            thread: Some(thread),
            _tmp: None,
        }
    }

    /// Gives the administrator the Crypto User role on `hsm` (the administrator role alone
    /// holds no key data actions, as on the real service).
    pub fn grant_crypto_user(&self, hsm: &str) {
        let body = json!({"properties": {"scope": "/keys", "principalId": self.admin_oid(),
            "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b"}});
        let r = self
            .client
            .put(format!(
                "{}/keys/providers/Microsoft.Authorization/roleAssignments/crypto-user",
                self.hsm(hsm)
            ))
            .bearer_auth(self.admin_token())
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    /// The base URL of HSM `name` as `emulator.json` gives it: the root of its own origin.
    pub fn hsm(&self, name: &str) -> String {
        let url = self.info()["hsms"][name].as_str().map(str::to_owned);
        url.unwrap_or_else(|| panic!("emulator.json lists no HSM {name}"))
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.join("admin.token")).unwrap()
    }

    pub fn info(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("emulator.json")).unwrap()).unwrap()
    }

    pub fn credentials(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("admin-credentials.json")).unwrap())
            .unwrap()
    }

    /// The administrator's object id.
    pub fn admin_oid(&self) -> String {
        self.credentials()["object_id"].as_str().unwrap().to_owned()
    }

    /// Creates key `name` (RSA-HSM, 2048 bits) in `hsm` as the administrator; the answer.
    pub fn create_key(&self, hsm: &str, name: &str) -> Value {
        self.post_json(
            &format!("{}/keys/{name}/create", self.hsm(hsm)),
            &self.admin_token(),
            &json!({"kty": "RSA-HSM", "key_size": 2048}),
        )
    }

    /// The backup of key `name` in `hsm`, taken as the administrator.
    pub fn backup_key(&self, hsm: &str, name: &str) -> Value {
        self.client
            .post(format!("{}/keys/{name}/backup", self.hsm(hsm)))
            .bearer_auth(self.admin_token())
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// Restores a key `backup` into `hsm` as the administrator; the answer as it came.
    pub fn restore_key(&self, hsm: &str, backup: &Value) -> reqwest::blocking::Response {
        self.post(
            &format!("{}/keys/restore", self.hsm(hsm)),
            &self.admin_token(),
            backup,
        )
        .send()
        .unwrap()
    }

    /// A token for principal `oid` minted with the emulator's signing key (as a test of
    /// authorisation only), issued `age` seconds ago.
    pub fn mint(&self, oid: &str, audience: &str, age: u64) -> String {
        let state: Value =
            serde_json::from_slice(&std::fs::read(self.dir.join("state.json")).unwrap()).unwrap();
        let key = openssl::pkey::PKey::private_key_from_pem(
            state["signing_key_pem"].as_str().unwrap().as_bytes(),
        )
        .unwrap();
        let principal = sdctl::emulator::state::Principal {
            client_id: "test-app".into(),
            client_secret: String::new(),
            object_id: oid.into(),
        };
        let now = sdctl::emulator::identity::now();
        sdctl::emulator::identity::issue(
            &key,
            state["tenant_id"].as_str().unwrap(),
            &principal,
            audience,
            now - age,
            3600,
        )
        .unwrap()
    }

    /// Activates `hsm` for three fresh openssl-made custodians (quorum 2); the SD is dropped.
    pub fn activate(&self, hsm: &str) {
        let fx = super::Fixture::new();
        for name in ["a", "b", "c"] {
            fx.openssl_custodian(name, 2048);
        }
        let request = download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2);
        let token = self.admin_token();
        let url = format!("{}/securitydomain/download", self.hsm(hsm));
        let r = self.post(&url, &token, &request).send().unwrap();
        assert_eq!(r.status(), 202);
        assert_eq!(
            self.wait(&format!("{url}/pending"), &token)["status"],
            "Success"
        );
    }

    /// Assigns role `guid` to `principal` at `scope` (`/` or `/keys`) of `hsm`.
    pub fn assign(&self, hsm: &str, principal: &str, guid: &str, scope: &str) {
        let body = json!({"properties": {"scope": scope, "principalId": principal,
            "roleDefinitionId": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}")}});
        let at = if scope == "/" { "" } else { scope };
        let name = format!("{principal}-{guid}");
        let url = format!(
            "{}{at}/providers/Microsoft.Authorization/roleAssignments/{name}",
            self.hsm(hsm)
        );
        let r = self
            .client
            .put(url)
            .bearer_auth(self.admin_token())
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    pub fn get(&self, url: &str, token: &str) -> RequestBuilder {
        self.client.get(url).bearer_auth(token)
    }

    pub fn post(&self, url: &str, token: &str, body: &Value) -> RequestBuilder {
        self.client.post(url).bearer_auth(token).json(body)
    }

    /// GET with a token; the answer's JSON body.
    pub fn get_json(&self, url: &str, token: &str) -> Value {
        self.get(url, token).send().unwrap().json().unwrap()
    }

    /// POST a JSON body with a token; the answer's JSON body.
    pub fn post_json(&self, url: &str, token: &str, body: &Value) -> Value {
        self.post(url, token, body).send().unwrap().json().unwrap()
    }

    /// Polls a pending endpoint until it leaves InProgress (bounded: 10 s).
    pub fn wait(&self, url: &str, token: &str) -> Value {
        for _ in 0..100 {
            let v = self.get_json(url, token);
            if v["status"] != "InProgress" {
                return v;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{url} still InProgress after 10 s");
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The data-plane `api-version` the tests send (the service requires one).
pub const API_VERSION: &str = "7.4";

/// `url` with `api-version` added when it has none and is not the authority's (the
/// token endpoint and discovery documents take none).
pub fn with_api_version(url: &str) -> String {
    let authority = ["/oauth2/", "/.well-known/", "/discovery/"]
        .iter()
        .any(|p| url.contains(p));
    if authority || url.contains("api-version=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}api-version={API_VERSION}")
}

/// An HTTPS client for the emulator that sends `api-version` as the SDKs do; `raw` sends
/// URLs as given.
#[derive(Clone)]
pub struct ApiClient {
    pub raw: Client,
}

impl ApiClient {
    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.raw.get(with_api_version(url.as_ref()))
    }

    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.raw.post(with_api_version(url.as_ref()))
    }

    pub fn put(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.raw.put(with_api_version(url.as_ref()))
    }

    pub fn delete(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.raw.delete(with_api_version(url.as_ref()))
    }

    pub fn patch(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.raw.patch(with_api_version(url.as_ref()))
    }
}

/// A client trusting the CA of the emulator state in `dir`, bounded timeouts.
pub fn client_for(dir: &Path) -> ApiClient {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    ApiClient {
        raw: Client::builder()
            .tls_certs_only([ca])
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap(),
    }
}

/// The JWK of a certificate file, as the download request carries it. Built here, not with
/// the library's `certificate_jwk`, so emulator tests can send requests the library refuses
/// (small keys, duplicates) and check the emulator's own validation.
pub fn jwk(cert_path: &Path) -> Value {
    use sdctl::primitives::base64url::encode;
    // Parsed without `load_certificate`, which refuses the weak keys these tests send.
    let file = sdctl::keys::KeyFile::read(cert_path).unwrap();
    let cert = file.certificates().next().unwrap().clone();
    let sdctl::keys::PublicKey::Rsa { modulus, exponent } = cert.public_key().clone() else {
        panic!("RSA")
    };
    json!({
        "kty": "RSA", "key_ops": ["verify", "encrypt", "wrapKey"], "alg": "RSA-OAEP-256",
        "n": encode(&modulus), "e": encode(&exponent),
        "x5c": [STANDARD.encode(cert.der())], "x5t": cert.x5t(), "x5t#S256": cert.x5t_256(),
    })
}

/// A download request (CertificateInfoObject) for the certificate files `certs` in `dir`.
pub fn download_request(dir: &Path, certs: &[&str], required: usize) -> Value {
    let jwks: Vec<Value> = certs.iter().map(|c| jwk(&dir.join(c))).collect();
    json!({"certificates": jwks, "required": required})
}
