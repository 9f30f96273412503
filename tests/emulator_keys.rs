//! Keys over HTTPS as a Managed HSM serves them: versions, attributes, tags, `key_ops`,
//! RSA/EC/AES kinds, update, paging with `nextLink`, soft delete, recover, purge (and purge
//! protection), key operations gated by attributes and data actions, backup and restore of
//! every version, and state that survives a restart. Each check is paired with an attempt
//! to get past it.

#![cfg(feature = "online")]

mod common;

use std::collections::BTreeSet;

use common::emulator::TestEmulator;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::Verifier;
use reqwest::blocking::Response;
use sdctl::primitives::base64url;
use serde_json::{json, Value};

const HSM_AUDIENCE: &str = "https://managedhsm.azure.net";
const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";
const CRYPTO_OFFICER: &str = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778";
const CRYPTO_AUDITOR: &str = "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3";

/// An emulator with `hsms` activated and the administrator a Crypto User and a Crypto
/// Officer (recover, purge) on each.
fn ready(hsms: &[&str]) -> TestEmulator {
    let e = TestEmulator::start(hsms);
    for h in hsms {
        e.activate(h);
        e.grant_crypto_user(h);
        e.assign(h, &e.admin_oid(), CRYPTO_OFFICER, "/keys");
    }
    e
}

fn send(r: reqwest::blocking::RequestBuilder) -> Response {
    r.send().unwrap()
}

/// Asserts a Key Vault error with `status` and `code`; its message.
fn refused(r: Response, status: u16, code: &str, what: &str) -> String {
    assert_eq!(r.status(), status, "{what}");
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

fn ok(r: Response, what: &str) -> Value {
    let status = r.status();
    let body: Value = r.json().unwrap_or(Value::Null);
    assert_eq!(status, 200, "{what}: {body}");
    body
}

struct Keys<'a> {
    e: &'a TestEmulator,
    base: String,
    token: String,
}

impl<'a> Keys<'a> {
    fn new(e: &'a TestEmulator, hsm: &str) -> Self {
        Keys {
            e,
            base: e.hsm(hsm),
            token: e.admin_token(),
        }
    }
    fn with_token(e: &'a TestEmulator, hsm: &str, token: String) -> Self {
        Keys {
            e,
            base: e.hsm(hsm),
            token,
        }
    }
    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }
    fn create(&self, name: &str, body: Value) -> Response {
        send(self.e.post(
            &self.url(&format!("keys/{name}/create")),
            &self.token,
            &body,
        ))
    }
    fn get(&self, path: &str) -> Response {
        send(self.e.get(&self.url(path), &self.token))
    }
    fn post(&self, path: &str, body: Value) -> Response {
        send(self.e.post(&self.url(path), &self.token, &body))
    }
    fn patch(&self, path: &str, body: Value) -> Response {
        send(
            self.e
                .client
                .patch(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
    }
    fn delete(&self, path: &str) -> Response {
        send(
            self.e
                .client
                .delete(self.url(path))
                .bearer_auth(&self.token),
        )
    }
}

/// The version of a key id `BASE/keys/NAME/VERSION`, checked to be on the HSM's origin.
fn version_of(kid: &str, base: &str, name: &str) -> String {
    let rest = kid
        .strip_prefix(&format!("{base}/keys/{name}/"))
        .unwrap_or_else(|| panic!("kid {kid} is not {base}/keys/{name}/VERSION"));
    assert_eq!(rest.len(), 32, "{kid}");
    assert!(rest
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    rest.to_owned()
}

#[test]
fn keys_have_versions_attributes_tags_and_updates() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    assert!(k.base.starts_with("https://127.0.0.1:"), "{}", k.base);
    let first = ok(
        k.create(
            "app",
            json!({"kty": "RSA-HSM", "key_size": 2048, "tags": {"team": "payments"},
                "attributes": {"enabled": true, "exp": 4102444800u64}, "key_ops": ["sign", "verify"]}),
        ),
        "create",
    );
    let v1 = version_of(first["key"]["kid"].as_str().unwrap(), &k.base, "app");
    assert_eq!(first["key"]["kty"], "RSA-HSM");
    assert_eq!(first["key"]["key_ops"], json!(["sign", "verify"]));
    assert_eq!(first["tags"], json!({"team": "payments"}));
    assert_eq!(first["attributes"]["exp"], 4102444800u64);
    assert_eq!(
        first["attributes"]["recoveryLevel"],
        "Recoverable+Purgeable"
    );
    assert_eq!(first["attributes"]["recoverableDays"], 90);
    assert_eq!(first["attributes"]["exportable"], false);
    assert!(first["key"].get("d").is_none() && first["key"].get("p").is_none());
    // Creating again makes a new version; the key's current version is the new one.
    let second = ok(k.create("app", json!({"kty": "RSA-HSM"})), "second version");
    let v2 = version_of(second["key"]["kid"].as_str().unwrap(), &k.base, "app");
    assert_ne!(v1, v2);
    assert_ne!(first["key"]["n"], second["key"]["n"]);
    assert_eq!(
        ok(k.get("keys/app"), "get")["key"]["kid"],
        second["key"]["kid"]
    );
    assert_eq!(
        ok(k.get(&format!("keys/app/{v1}")), "get v1")["key"]["n"],
        first["key"]["n"]
    );
    let missing = "0".repeat(32);
    refused(
        k.get(&format!("keys/app/{missing}")),
        404,
        "KeyNotFound",
        "unknown version",
    );
    let versions = ok(k.get("keys/app/versions"), "versions");
    let kids: Vec<&str> = versions["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [
            format!("{}/keys/app/{v1}", k.base),
            format!("{}/keys/app/{v2}", k.base)
        ]
    );
    // Update one version: attributes, tags and key_ops change there only.
    let updated = ok(
        k.patch(&format!("keys/app/{v1}"), json!({"attributes": {"enabled": false}, "tags": {"state": "retired"}, "key_ops": ["verify"]})),
        "update v1",
    );
    assert_eq!(updated["attributes"]["enabled"], false);
    assert_eq!(updated["tags"], json!({"state": "retired"}));
    assert_eq!(updated["key"]["key_ops"], json!(["verify"]));
    assert_eq!(
        ok(k.get("keys/app"), "current")["attributes"]["enabled"],
        true
    );
    // PATCH without a version (the SDK's `update_key_properties` without one) is the current one.
    let current = ok(
        k.patch("keys/app/", json!({"tags": {"a": "b"}})),
        "update current",
    );
    assert_eq!(current["key"]["kid"], second["key"]["kid"]);
    assert_eq!(current["tags"], json!({"a": "b"}));
    // Bad updates change nothing.
    let tags: serde_json::Map<String, Value> =
        (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
    refused(
        k.patch("keys/app", json!({"tags": tags})),
        400,
        "BadParameter",
        "16 tags",
    );
    refused(
        k.patch("keys/app", json!({"attributes": {"nbf": 20, "exp": 10}})),
        400,
        "BadParameter",
        "exp before nbf",
    );
    assert_eq!(
        ok(k.get("keys/app"), "after refusals")["tags"],
        json!({"a": "b"})
    );
}

#[test]
fn rsa_ec_and_aes_keys_of_every_size_and_refused_kinds() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    for bits in [2048usize, 3072, 4096] {
        let b = ok(
            k.create(
                &format!("rsa-{bits}"),
                json!({"kty": "RSA-HSM", "key_size": bits}),
            ),
            "rsa",
        );
        let n = base64url::decode(b["key"]["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), bits / 8);
        assert_eq!(b["key"]["e"], "AQAB");
    }
    for (crv, size) in [("P-256", 32), ("P-384", 48), ("P-521", 66), ("P-256K", 32)] {
        let b = ok(
            k.create(
                &format!("ec-{}", crv.to_lowercase()),
                json!({"kty": "EC-HSM", "crv": crv}),
            ),
            crv,
        );
        assert_eq!(b["key"]["kty"], "EC-HSM");
        assert_eq!(b["key"]["crv"], crv);
        assert_eq!(b["key"]["key_ops"], json!(["sign", "verify"]));
        for c in ["x", "y"] {
            assert_eq!(
                base64url::decode(b["key"][c].as_str().unwrap())
                    .unwrap()
                    .len(),
                size,
                "{crv} {c}"
            );
        }
        assert!(b["key"].get("d").is_none());
    }
    for bits in [128, 192, 256] {
        let b = ok(
            k.create(
                &format!("aes-{bits}"),
                json!({"kty": "oct-HSM", "key_size": bits}),
            ),
            "oct",
        );
        assert_eq!(b["key"]["kty"], "oct-HSM");
        assert!(b["key"].get("k").is_none(), "never the AES key");
    }
    for (what, body) in [
        ("software RSA", json!({"kty": "RSA"})),
        ("software EC", json!({"kty": "EC", "crv": "P-256"})),
        ("RSA 1024", json!({"kty": "RSA-HSM", "key_size": 1024})),
        ("P-192", json!({"kty": "EC-HSM", "crv": "P-192"})),
        ("AES 512", json!({"kty": "oct-HSM", "key_size": 512})),
        ("no kty", json!({"key_size": 2048})),
        ("unknown op", json!({"kty": "RSA-HSM", "key_ops": ["fly"]})),
        (
            "exportable",
            json!({"kty": "RSA-HSM", "attributes": {"exportable": true}}),
        ),
    ] {
        refused(k.create("refused", body), 400, "BadParameter", what);
    }
    refused(
        k.create("bad_name", json!({"kty": "RSA-HSM"})),
        400,
        "BadParameter",
        "name",
    );
    refused(
        k.get("keys/refused"),
        404,
        "KeyNotFound",
        "nothing made by a refused create",
    );
}

/// The public key of a JWK as an OpenSSL key.
fn public_key(jwk: &Value) -> PKey<openssl::pkey::Public> {
    let b = |f: &str| {
        BigNum::from_slice(&base64url::decode(jwk[f].as_str().unwrap()).unwrap()).unwrap()
    };
    if jwk["kty"] == "EC-HSM" {
        let nid = match jwk["crv"].as_str().unwrap() {
            "P-256" => Nid::X9_62_PRIME256V1,
            "P-384" => Nid::SECP384R1,
            _ => Nid::SECP521R1,
        };
        let group = EcGroup::from_curve_name(nid).unwrap();
        PKey::from_ec_key(
            EcKey::from_public_key_affine_coordinates(&group, &b("x"), &b("y")).unwrap(),
        )
        .unwrap()
    } else {
        PKey::from_rsa(Rsa::from_public_components(b("n"), b("e")).unwrap()).unwrap()
    }
}

#[test]
fn operations_run_through_openssl_and_are_gated_by_attributes_and_key_ops() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    let digest = hash(MessageDigest::sha256(), b"pay 100 to bob").unwrap();
    let value = base64url::encode(&digest);
    // ES256 from the latest version (no version in the path) and RS256 by version.
    let ec = ok(
        k.create("signer", json!({"kty": "EC-HSM", "crv": "P-256"})),
        "ec",
    );
    let signed = ok(
        k.post("keys/signer/sign", json!({"alg": "ES256", "value": value})),
        "sign",
    );
    assert_eq!(signed["kid"], ec["key"]["kid"]);
    let raw = base64url::decode(signed["value"].as_str().unwrap()).unwrap();
    assert_eq!(raw.len(), 64);
    let sig = EcdsaSig::from_private_components(
        BigNum::from_slice(&raw[..32]).unwrap(),
        BigNum::from_slice(&raw[32..]).unwrap(),
    )
    .unwrap();
    let public = public_key(&ec["key"]);
    assert!(
        sig.verify(&digest, &public.ec_key().unwrap()).unwrap(),
        "OpenSSL verifies the HSM's ES256"
    );
    let rsa = ok(k.create("rsa", json!({"kty": "RSA-HSM"})), "rsa");
    let kid = rsa["key"]["kid"].as_str().unwrap();
    let v = version_of(kid, &k.base, "rsa");
    let signed = ok(
        k.post(
            &format!("keys/rsa/{v}/sign"),
            json!({"alg": "RS256", "value": value}),
        ),
        "rs256",
    );
    let sig = base64url::decode(signed["value"].as_str().unwrap()).unwrap();
    let public = public_key(&rsa["key"]);
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
    verifier.set_rsa_padding(Padding::PKCS1).unwrap();
    verifier.update(b"pay 100 to bob").unwrap();
    assert!(
        verifier.verify(&sig).unwrap(),
        "OpenSSL verifies the HSM's RS256"
    );
    let check = |digest: &[u8]| {
        ok(k.post("keys/rsa/verify", json!({"alg": "RS256", "digest": base64url::encode(digest), "value": signed["value"]})), "verify")["value"].clone()
    };
    assert_eq!(check(&digest), true);
    let mut other = digest.to_vec();
    other[0] ^= 1;
    assert_eq!(check(&other), false);
    // An RSA-OAEP-256 round trip, encrypting with OpenSSL from the public JWK.
    let plain = b"a data key";
    let mut ct = vec![0u8; 256];
    let rsa_public = public.rsa().unwrap();
    let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&public).unwrap();
    ctx.encrypt_init().unwrap();
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    ctx.set_rsa_oaep_md(openssl::md::Md::sha256()).unwrap();
    ctx.set_rsa_mgf1_md(openssl::md::Md::sha256()).unwrap();
    let n = ctx.encrypt(plain, Some(&mut ct)).unwrap();
    ct.truncate(n);
    assert_eq!(rsa_public.size(), 256);
    let out = ok(
        k.post(
            "keys/rsa/decrypt",
            json!({"alg": "RSA-OAEP-256", "value": base64url::encode(&ct)}),
        ),
        "decrypt",
    );
    assert_eq!(
        base64url::decode(out["value"].as_str().unwrap()).unwrap(),
        plain
    );

    // Gates: a disabled version, an expired one, one not yet valid, key_ops without sign.
    let now = sdctl::emulator::identity::now();
    let sign = json!({"alg": "RS256", "value": value});
    for (what, change) in [
        ("disabled", json!({"attributes": {"enabled": false}})),
        ("expired", json!({"attributes": {"exp": now - 10}})),
        ("not yet valid", json!({"attributes": {"nbf": now + 3600}})),
        ("key_ops without sign", json!({"key_ops": ["verify"]})),
    ] {
        let name = format!("gated-{}", what.replace([' ', '_'], "-"));
        ok(k.create(&name, json!({"kty": "RSA-HSM"})), "gated key");
        ok(k.patch(&format!("keys/{name}"), change), what);
        refused(
            k.post(&format!("keys/{name}/sign"), sign.clone()),
            403,
            "Forbidden",
            what,
        );
    }
    // Getting past the gate through an older version: the old one disabled, the new one not.
    ok(
        k.patch(
            &format!("keys/rsa/{v}"),
            json!({"attributes": {"enabled": false}}),
        ),
        "disable v1",
    );
    refused(
        k.post(&format!("keys/rsa/{v}/sign"), sign.clone()),
        403,
        "Forbidden",
        "old disabled version",
    );
    ok(k.create("rsa", json!({"kty": "RSA-HSM"})), "new version");
    ok(
        k.post("keys/rsa/sign", sign.clone()),
        "the new version signs",
    );
    refused(
        k.post("keys/rsa/fly", sign.clone()),
        404,
        "NotFound",
        "no such operation",
    );
    refused(
        k.post("keys/rsa/sign", json!({"alg": "ES256", "value": value})),
        400,
        "BadParameter",
        "wrong algorithm",
    );
}

#[test]
fn data_actions_gate_every_key_route() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    ok(k.create("k1", json!({"kty": "RSA-HSM"})), "create");
    let value = base64url::encode(&[7u8; 32]);
    // A principal with no role.
    let nobody = Keys::with_token(
        &e,
        "alpha",
        e.mint("11111111-1111-1111-1111-111111111111", HSM_AUDIENCE, 0),
    );
    refused(nobody.get("keys"), 403, "Forbidden", "list");
    refused(nobody.get("keys/k1"), 403, "Forbidden", "get");
    refused(
        nobody.post("keys/k1/sign", json!({"alg": "RS256", "value": value})),
        403,
        "Forbidden",
        "sign",
    );
    // An auditor reads but does not sign, create or delete.
    let auditor_oid = "22222222-2222-2222-2222-222222222222";
    e.assign("alpha", auditor_oid, CRYPTO_AUDITOR, "/keys");
    let auditor = Keys::with_token(&e, "alpha", e.mint(auditor_oid, HSM_AUDIENCE, 0));
    ok(auditor.get("keys/k1"), "auditor reads");
    ok(auditor.get("keys"), "auditor lists");
    refused(
        auditor.post("keys/k1/sign", json!({"alg": "RS256", "value": value})),
        403,
        "Forbidden",
        "auditor signs",
    );
    refused(
        auditor.create("k2", json!({"kty": "RSA-HSM"})),
        403,
        "Forbidden",
        "auditor creates",
    );
    refused(
        auditor.delete("keys/k1"),
        403,
        "Forbidden",
        "auditor deletes",
    );
    refused(
        auditor.post("keys/k1/backup", json!({})),
        403,
        "Forbidden",
        "auditor backs up",
    );
    // A Crypto User signs and deletes, but neither recovers nor purges (notDataActions).
    let user_oid = "33333333-3333-3333-3333-333333333333";
    e.assign("alpha", user_oid, CRYPTO_USER, "/keys");
    let user = Keys::with_token(&e, "alpha", e.mint(user_oid, HSM_AUDIENCE, 0));
    let sign = json!({"alg": "RS256", "value": value});
    ok(user.post("keys/k1/sign", sign.clone()), "user signs");
    ok(user.delete("keys/k1"), "user deletes");
    refused(
        user.post("deletedkeys/k1/recover", json!({})),
        403,
        "Forbidden",
        "user recovers",
    );
    refused(
        user.delete("deletedkeys/k1"),
        403,
        "Forbidden",
        "user purges",
    );
    // A Crypto Officer recovers, but does not sign.
    let officer_oid = "44444444-4444-4444-4444-444444444444";
    e.assign("alpha", officer_oid, CRYPTO_OFFICER, "/keys");
    let officer = Keys::with_token(&e, "alpha", e.mint(officer_oid, HSM_AUDIENCE, 0));
    ok(
        officer.post("deletedkeys/k1/recover", json!({})),
        "officer recovers",
    );
    refused(
        officer.post("keys/k1/sign", sign),
        403,
        "Forbidden",
        "officer signs",
    );
    ok(k.get("keys/k1"), "back");
}

#[test]
fn lists_come_in_pages_whose_next_links_stay_on_the_hsm() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    for i in 0..30 {
        ok(
            k.create(
                &format!("key-{i:02}"),
                json!({"kty": "oct-HSM", "key_size": 128}),
            ),
            "create",
        );
    }
    let mut url = format!("{}/keys?api-version=7.5&maxresults=7", k.base);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let page = ok(send(e.client.raw.get(&url).bearer_auth(&k.token)), "page");
        let items = page["value"].as_array().unwrap();
        assert!(items.len() <= 7);
        for item in items {
            let kid = item["kid"].as_str().unwrap();
            seen.push(
                kid.strip_prefix(&format!("{}/keys/", k.base))
                    .unwrap()
                    .to_owned(),
            );
        }
        match page["nextLink"].as_str() {
            None => break,
            Some(next) => {
                assert!(next.starts_with(&format!("{}/keys?", k.base)), "{next}");
                assert!(next.contains("api-version=7.5"), "{next}");
                url = next.to_owned();
            }
        }
    }
    assert_eq!(pages, 5);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (30, 30), "every key once");
    for bad in ["maxresults=0", "maxresults=26", "$skiptoken=garbage"] {
        let url = format!("{}/keys?api-version=7.5&{bad}", k.base);
        refused(
            send(e.client.raw.get(&url).bearer_auth(&k.token)),
            400,
            "BadParameter",
            bad,
        );
    }
}

#[test]
fn deleted_keys_are_kept_until_recovered_or_purged() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    ok(k.create("doomed", json!({"kty": "RSA-HSM"})), "v1");
    let v2 = ok(k.create("doomed", json!({"kty": "RSA-HSM"})), "v2");
    let deleted = ok(k.delete("keys/doomed"), "delete");
    assert_eq!(
        deleted["recoveryId"],
        format!("{}/deletedkeys/doomed", k.base)
    );
    assert_eq!(deleted["key"]["kid"], v2["key"]["kid"]);
    let (d, p) = (
        deleted["deletedDate"].as_u64().unwrap(),
        deleted["scheduledPurgeDate"].as_u64().unwrap(),
    );
    assert_eq!(p - d, 90 * 24 * 3600);
    refused(
        k.get("keys/doomed"),
        404,
        "KeyNotFound",
        "a deleted key is not a key",
    );
    refused(k.delete("keys/doomed"), 404, "KeyNotFound", "deleted twice");
    refused(
        k.create("doomed", json!({"kty": "RSA-HSM"})),
        409,
        "Conflict",
        "name reuse",
    );
    ok(k.get("deletedkeys/doomed"), "get deleted");
    let listed = ok(k.get("deletedkeys"), "list deleted");
    assert_eq!(listed["value"][0]["recoveryId"], deleted["recoveryId"]);
    let recovered = ok(k.post("deletedkeys/doomed/recover", json!({})), "recover");
    assert_eq!(recovered["key"]["kid"], v2["key"]["kid"]);
    assert_eq!(
        ok(k.get("keys/doomed/versions"), "versions")["value"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    refused(k.get("deletedkeys/doomed"), 404, "KeyNotFound", "recovered");
    // Delete and purge: gone for good, and the name is free again.
    ok(k.delete("keys/doomed"), "delete again");
    let r = k.delete("deletedkeys/doomed");
    assert_eq!(r.status(), 204);
    refused(k.get("deletedkeys/doomed"), 404, "KeyNotFound", "purged");
    refused(
        k.post("deletedkeys/doomed/recover", json!({})),
        404,
        "KeyNotFound",
        "recover purged",
    );
    ok(
        k.create("doomed", json!({"kty": "RSA-HSM"})),
        "name free after purge",
    );
}

#[test]
fn purge_protection_and_retention_come_from_the_arm_resource() {
    let e = TestEmulator::start(&["alpha"]);
    let c = e.credentials();
    let arm_token = e.mint(
        c["object_id"].as_str().unwrap(),
        "https://management.azure.com",
        0,
    );
    let url = format!("{}/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.KeyVault/managedHSMs/guarded?api-version=2023-07-01", e.url);
    let put = |props: Value| {
        let mut body = json!({"location": "local", "sku": {"family": "B", "name": "Standard_B1"},
            "properties": {"tenantId": c["tenant_id"], "initialAdminObjectIds": [c["object_id"]]}});
        for (key, value) in props.as_object().unwrap() {
            body["properties"][key] = value.clone();
        }
        send(e.client.put(&url).bearer_auth(&arm_token).json(&body))
    };
    refused(
        put(json!({"softDeleteRetentionInDays": 6})),
        400,
        "BadParameter",
        "6 days",
    );
    refused(
        put(json!({"softDeleteRetentionInDays": 91})),
        400,
        "BadParameter",
        "91 days",
    );
    let r = put(json!({"softDeleteRetentionInDays": 7, "enablePurgeProtection": true}));
    assert_eq!(r.status(), 201);
    let resource: Value = r.json().unwrap();
    assert_eq!(resource["properties"]["enablePurgeProtection"], true);
    e.activate("guarded");
    e.grant_crypto_user("guarded");
    // The administrator also needs the purge action: Crypto Officer at /keys.
    e.assign(
        "guarded",
        c["object_id"].as_str().unwrap(),
        "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        "/keys",
    );
    let k = Keys::new(&e, "guarded");
    let created = ok(k.create("kept", json!({"kty": "oct-HSM"})), "create");
    assert_eq!(
        created["attributes"]["recoveryLevel"],
        "CustomizedRecoverable"
    );
    assert_eq!(created["attributes"]["recoverableDays"], 7);
    let deleted = ok(k.delete("keys/kept"), "delete");
    let (d, p) = (
        deleted["deletedDate"].as_u64().unwrap(),
        deleted["scheduledPurgeDate"].as_u64().unwrap(),
    );
    assert_eq!(p - d, 7 * 24 * 3600);
    refused(
        k.delete("deletedkeys/kept"),
        403,
        "Forbidden",
        "purge under purge protection",
    );
    ok(k.get("deletedkeys/kept"), "still recoverable");
    ok(k.post("deletedkeys/kept/recover", json!({})), "recovered");
}

#[test]
fn backups_carry_every_version_and_open_only_under_the_same_security_domain() {
    let e = ready(&["alpha", "beta"]);
    let k = Keys::new(&e, "alpha");
    let v1 = ok(
        k.create(
            "moved",
            json!({"kty": "EC-HSM", "crv": "P-384", "tags": {"v": "1"}}),
        ),
        "v1",
    );
    let v2 = ok(
        k.create("moved", json!({"kty": "EC-HSM", "crv": "P-384"})),
        "v2",
    );
    let blob = ok(k.post("keys/moved/backup", json!({})), "backup");
    // Into another HSM (another security domain): refused, and nothing is made.
    let other = Keys::new(&e, "beta");
    refused(
        other.post("keys/restore", blob.clone()),
        400,
        "BadParameter",
        "other SD",
    );
    refused(
        other.get("keys/moved"),
        404,
        "KeyNotFound",
        "nothing restored",
    );
    // A changed blob is refused too.
    let mut bytes = base64url::decode(blob["value"].as_str().unwrap()).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    refused(
        k.post("keys/restore", json!({"value": base64url::encode(&bytes)})),
        400,
        "BadParameter",
        "tampered",
    );
    // Over an existing or a deleted name: 409.
    refused(
        k.post("keys/restore", blob.clone()),
        409,
        "Conflict",
        "existing name",
    );
    ok(k.delete("keys/moved"), "delete");
    refused(
        k.post("keys/restore", blob.clone()),
        409,
        "Conflict",
        "deleted name",
    );
    assert_eq!(k.delete("deletedkeys/moved").status(), 204);
    // Restored: both versions, as they were.
    let restored = ok(k.post("keys/restore", blob), "restore");
    assert_eq!(restored["key"]["kid"], v2["key"]["kid"]);
    let v1_version = version_of(v1["key"]["kid"].as_str().unwrap(), &k.base, "moved");
    let old = ok(k.get(&format!("keys/moved/{v1_version}")), "v1 back");
    assert_eq!(old["key"]["x"], v1["key"]["x"]);
    assert_eq!(old["tags"], json!({"v": "1"}));
}

#[test]
fn keys_and_deleted_keys_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let (kid, deleted_id) = {
        let e = TestEmulator::start_in(&dir, &["alpha"]);
        e.activate("alpha");
        e.grant_crypto_user("alpha");
        let k = Keys::new(&e, "alpha");
        ok(k.create("stays", json!({"kty": "RSA-HSM"})), "v1");
        let v2 = ok(
            k.create("stays", json!({"kty": "RSA-HSM", "tags": {"x": "y"}})),
            "v2",
        );
        ok(k.create("goes", json!({"kty": "oct-HSM"})), "goes");
        let d = ok(k.delete("keys/goes"), "delete");
        (
            v2["key"]["kid"].as_str().unwrap().to_owned(),
            d["recoveryId"].as_str().unwrap().to_owned(),
        )
    };
    let e = TestEmulator::start_in(&dir, &["alpha"]);
    let k = Keys::new(&e, "alpha");
    // The HSM keeps its origin across the restart only if its port is fixed; compare paths.
    let current = ok(k.get("keys/stays"), "after restart");
    let path = |u: &str| {
        u.split_once("://")
            .unwrap()
            .1
            .split_once('/')
            .unwrap()
            .1
            .to_owned()
    };
    assert_eq!(path(current["key"]["kid"].as_str().unwrap()), path(&kid));
    assert_eq!(current["tags"], json!({"x": "y"}));
    assert_eq!(
        ok(k.get("keys/stays/versions"), "versions")["value"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let deleted = ok(k.get("deletedkeys/goes"), "deleted after restart");
    assert_eq!(
        path(deleted["recoveryId"].as_str().unwrap()),
        path(&deleted_id)
    );
}

#[test]
fn a_role_on_one_key_covers_that_key_only() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    for name in ["k1", "k10"] {
        ok(k.create(name, json!({"kty": "RSA-HSM"})), name);
    }
    let oid = "66666666-6666-6666-6666-666666666666";
    e.assign("alpha", oid, CRYPTO_USER, "/keys/k1");
    let scoped = Keys::with_token(&e, "alpha", e.mint(oid, HSM_AUDIENCE, 0));
    let sign = json!({"alg": "RS256", "value": base64url::encode(&[1u8; 32])});
    ok(scoped.post("keys/k1/sign", sign.clone()), "its key");
    ok(scoped.get("keys/k1"), "reads its key");
    // Getting past the scope: a key whose name starts with the same letters, and the list.
    refused(scoped.post("keys/k10/sign", sign), 403, "Forbidden", "k10");
    refused(scoped.get("keys/k10"), 403, "Forbidden", "reads k10");
    refused(scoped.get("keys"), 403, "Forbidden", "the list is at /keys");
    refused(
        scoped.create("k2", json!({"kty": "RSA-HSM"})),
        403,
        "Forbidden",
        "another name",
    );
}

#[test]
fn a_deleted_key_is_purged_by_itself_at_its_scheduled_purge_date() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    {
        let e = TestEmulator::start_in(&dir, &["alpha"]);
        e.activate("alpha");
        e.grant_crypto_user("alpha");
        e.assign("alpha", &e.admin_oid(), CRYPTO_OFFICER, "/keys");
        let k = Keys::new(&e, "alpha");
        for name in ["due", "kept"] {
            ok(k.create(name, json!({"kty": "oct-HSM"})), name);
            ok(k.delete(&format!("keys/{name}")), "delete");
        }
    }
    // The emulator is stopped; "due" reaches its scheduled purge date (state.json edited).
    let file = dir.join("state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let due = &mut state["hsms"]["alpha"]["deleted_keys"]["due"];
    due["scheduled_purge_date"] = json!(sdctl::emulator::identity::now() - 1);
    std::fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();
    let e = TestEmulator::start_in(&dir, &["alpha"]);
    let k = Keys::new(&e, "alpha");
    refused(
        k.get("deletedkeys/due"),
        404,
        "KeyNotFound",
        "past its purge date",
    );
    refused(
        k.post("deletedkeys/due/recover", json!({})),
        404,
        "KeyNotFound",
        "recover",
    );
    let listed = ok(k.get("deletedkeys"), "list");
    let ids: Vec<&str> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["recoveryId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [format!("{}/deletedkeys/kept", k.base)]);
    ok(
        k.create("due", json!({"kty": "oct-HSM"})),
        "its name is free",
    );
    // One still within its retention keeps its name.
    refused(
        k.create("kept", json!({"kty": "oct-HSM"})),
        409,
        "Conflict",
        "still kept",
    );
}

#[test]
fn unknown_keys_and_versions_are_not_found_for_every_route() {
    let e = ready(&["alpha"]);
    let k = Keys::new(&e, "alpha");
    ok(k.create("real", json!({"kty": "RSA-HSM"})), "create");
    let none = "f".repeat(32);
    let sign = json!({"alg": "RS256", "value": base64url::encode(&[1u8; 32])});
    for (what, r) in [
        ("get", k.get("keys/ghost")),
        ("versions", k.get("keys/ghost/versions")),
        ("update", k.patch("keys/ghost", json!({"tags": {}}))),
        (
            "update a version",
            k.patch(&format!("keys/real/{none}"), json!({"tags": {}})),
        ),
        ("sign", k.post("keys/ghost/sign", sign.clone())),
        (
            "sign with a version",
            k.post(&format!("keys/real/{none}/sign"), sign.clone()),
        ),
        ("delete", k.delete("keys/ghost")),
        ("backup", k.post("keys/ghost/backup", json!({}))),
        ("deleted", k.get("deletedkeys/ghost")),
        ("recover", k.post("deletedkeys/ghost/recover", json!({}))),
        ("purge", k.delete("deletedkeys/ghost")),
    ] {
        refused(r, 404, "KeyNotFound", what);
    }
    // Malformed bodies: 400 and nothing changes.
    refused(
        k.patch("keys/real", json!({"key_ops": "sign"})),
        400,
        "BadParameter",
        "key_ops",
    );
    refused(
        k.post("keys/restore", json!({"value": "not a backup"})),
        400,
        "BadParameter",
        "restore",
    );
    refused(
        k.post("keys/restore", json!({})),
        400,
        "BadParameter",
        "restore without value",
    );
    let real = ok(k.get("keys/real"), "unchanged");
    assert_eq!(real["key"]["key_ops"].as_array().unwrap().len(), 6);
}
