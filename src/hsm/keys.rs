//! Keys in the HSM, enough to prove a recovery: create, show, list
//! (`POST /keys/{name}/create`, `GET /keys/{name}`, `GET /keys` with `nextLink`).

use reqwest::{Method, Url};
use serde::Serialize;
use serde_json::{json, Value};

use super::client::HsmClient;
use super::http::display_url;
use super::retry::Idempotency;
use super::HsmError;

/// Pages of `GET /keys` followed at most; a longer list is an error, not a silent cut.
pub const MAX_PAGES: usize = 100;

/// The key types a Managed HSM creates.
pub const KEY_TYPES: [&str; 3] = ["RSA-HSM", "oct-HSM", "EC-HSM"];

/// A key as the service describes it. A list entry carries no `kty` and no `key_ops`
/// (the service's list does not send them): they are empty there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key's name.
    pub name: String,
    /// The key identifier (with the version for create and show, without it in a list).
    pub kid: String,
    /// `RSA-HSM`, `oct-HSM`, `EC-HSM`; empty when not sent.
    pub kty: String,
    /// The permitted operations.
    pub key_ops: Vec<String>,
    /// `attributes.enabled`.
    pub enabled: Option<bool>,
}

/// Checks a key name: 1 to 127 letters, digits and hyphens.
pub fn check_key_name(name: &str) -> Result<(), HsmError> {
    if !name.is_empty()
        && name.len() <= 127
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Ok(());
    }
    Err(HsmError::Usage(format!(
        "key name '{}': use 1 to 127 letters, digits and hyphens",
        name.escape_debug()
    )))
}

/// The request body of a create: `kty` and `key_size` (RSA, AES) or `crv` (EC, where
/// `size` 256, 384 or 521 picks P-256, P-384 or P-521).
pub fn create_body(kty: &str, size: Option<u32>) -> Result<Value, HsmError> {
    let (allowed, default): (&[u32], u32) = match kty {
        "RSA-HSM" => (&[2048, 3072, 4096], 2048),
        "oct-HSM" => (&[128, 192, 256], 256),
        "EC-HSM" => (&[256, 384, 521], 256),
        other => {
            return Err(HsmError::Usage(format!(
                "key type '{}': use one of {}",
                other.escape_debug(),
                KEY_TYPES.join(", ")
            )))
        }
    };
    let size = size.unwrap_or(default);
    if !allowed.contains(&size) {
        let sizes: Vec<String> = allowed.iter().map(u32::to_string).collect();
        return Err(HsmError::Usage(format!(
            "key size {size} is not valid for {kty}: use {}",
            sizes.join(", ")
        )));
    }
    Ok(if kty == "EC-HSM" {
        json!({"kty": kty, "crv": format!("P-{size}")})
    } else {
        json!({"kty": kty, "key_size": size})
    })
}

/// Creates key `name` (a new version if it exists) of type `kty` (see [`KEY_TYPES`]).
/// Not repeated after a lost answer: that could make two versions.
pub async fn create_key(
    client: &HsmClient,
    name: &str,
    kty: &str,
    size: Option<u32>,
) -> Result<KeyInfo, HsmError> {
    check_key_name(name)?;
    let body = create_body(kty, size)?;
    let answer = client
        .call(
            Method::POST,
            &format!("keys/{name}/create"),
            Some(&body),
            Idempotency::Once,
        )
        .await?;
    from_bundle(name, &answer.json()?).ok_or_else(|| HsmError::BadResponse {
        url: answer.url.clone(),
        detail: "the answer has no 'key.kid'".into(),
    })
}

/// The current version of key `name`; `None` when the HSM has no such key (404).
pub async fn get_key(client: &HsmClient, name: &str) -> Result<Option<KeyInfo>, HsmError> {
    check_key_name(name)?;
    let answer = client
        .send(
            Method::GET,
            client.endpoint.url(&format!("keys/{name}")),
            None,
            Idempotency::Repeatable,
            None,
        )
        .await?;
    if answer.status == 404 {
        return Ok(None);
    }
    let answer = client.expect_ok(answer)?;
    from_bundle(name, &answer.json()?)
        .map(Some)
        .ok_or_else(|| HsmError::BadResponse {
            url: answer.url.clone(),
            detail: "the answer has no 'key.kid'".into(),
        })
}

/// Every key, following `nextLink` (only on the HSM's own origin: the token never goes
/// elsewhere) for at most [`MAX_PAGES`] pages.
pub async fn list_keys(client: &HsmClient) -> Result<Vec<KeyInfo>, HsmError> {
    let prefix = format!("{}/", client.endpoint.url("keys").path());
    let mut url = client.endpoint.url("keys");
    let mut keys = Vec::new();
    for _ in 0..MAX_PAGES {
        let answer = client
            .send(Method::GET, url, None, Idempotency::Repeatable, None)
            .await?;
        let answer = client.expect_ok(answer)?;
        let page = answer.json()?;
        let bad = |detail: String| HsmError::BadResponse {
            url: answer.url.clone(),
            detail,
        };
        let items = match &page["value"] {
            Value::Array(items) => items.as_slice(),
            Value::Null => &[],
            _ => return Err(bad("'value' is not a list of keys".into())),
        };
        for item in items {
            let kid = item["kid"]
                .as_str()
                .ok_or_else(|| bad("a key in the list has no 'kid'".into()))?;
            let name = name_from_kid(kid, &prefix)
                .ok_or_else(|| bad(format!("cannot tell the key's name from kid '{kid}'")))?;
            keys.push(KeyInfo {
                name,
                kid: kid.to_owned(),
                kty: String::new(),
                key_ops: Vec::new(),
                enabled: item["attributes"]["enabled"].as_bool(),
            });
        }
        match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
            None => return Ok(keys),
            Some(link) => {
                url = Url::parse(link)
                    .ok()
                    .filter(|u| client.endpoint.same_origin(u))
                    .ok_or_else(|| {
                        bad("'nextLink' does not point at this HSM; it is not followed".into())
                    })?;
            }
        }
    }
    Err(HsmError::BadResponse {
        url: display_url(&client.endpoint.url("keys")),
        detail: format!("the key list goes on past {MAX_PAGES} pages; it is not followed further"),
    })
}

/// A key bundle `{"key": {kid, kty, key_ops}, "attributes": {enabled}}`.
fn from_bundle(name: &str, v: &Value) -> Option<KeyInfo> {
    let key = &v["key"];
    Some(KeyInfo {
        name: name.to_owned(),
        kid: key["kid"].as_str()?.to_owned(),
        kty: key["kty"].as_str().unwrap_or_default().to_owned(),
        key_ops: key["key_ops"]
            .as_array()
            .map(|ops| {
                ops.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        enabled: v["attributes"]["enabled"].as_bool(),
    })
}

/// The key name in `kid` (`.../keys/NAME` or `.../keys/NAME/VERSION`), where `prefix` is
/// the path of the HSM's key collection with a trailing slash.
pub(crate) fn name_from_kid(kid: &str, prefix: &str) -> Option<String> {
    let path = Url::parse(kid).ok()?.path().to_owned();
    let rest = match path.strip_prefix(prefix) {
        Some(rest) => rest.to_owned(),
        None => path.rsplit_once("/keys/")?.1.to_owned(),
    };
    let name = rest.split('/').next()?;
    check_key_name(name).ok()?;
    Some(name.to_owned())
}
