//! The REST calls of local RBAC: role assignments at a scope, role definitions at `/`,
//! lists followed across pages (`nextLink`, on the HSM's own origin only).

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::{
    check_name, check_principal, new_guid, scope_text_eq, wire, HsmClient, HsmError, Idempotency,
    RoleAssignment, RoleDefinition, RoleDefinitionBody, Scope,
};
use crate::hsm::http::Response;

/// Pages of a list answer followed at most (the service pages with `nextLink`).
const MAX_PAGES: usize = 100;

/// The collection of role assignments (at any scope).
const ASSIGNMENTS: &str = "roleAssignments";

/// The collection of role definitions (at `/`).
const DEFINITIONS: &str = "roleDefinitions";

/// `{scope}providers/Microsoft.Authorization/{kind}[/{name}]`.
pub(super) fn path(scope: &Scope, kind: &str, name: Option<&str>) -> String {
    let base = format!(
        "{}providers/Microsoft.Authorization/{kind}",
        scope.path_prefix()
    );
    match name {
        Some(n) => format!("{base}/{n}"),
        None => base,
    }
}

/// A call on the item `name` (checked first) of `kind` at `scope`.
async fn call_item(
    client: &HsmClient,
    method: Method,
    scope: &Scope,
    kind: &str,
    name: &str,
    body: Option<&Value>,
) -> Result<Response, HsmError> {
    check_name(name)?;
    client
        .call(
            method,
            &path(scope, kind, Some(name)),
            body,
            Idempotency::Repeatable,
        )
        .await
}

/// DELETE of the item `name` of `kind` at `scope`; the service's copy of it, read by
/// `read`, when it sends one.
async fn delete_item<T>(
    client: &HsmClient,
    scope: &Scope,
    kind: &str,
    name: &str,
    read: impl Fn(&Value, &str) -> Result<T, HsmError>,
) -> Result<Option<T>, HsmError> {
    let answer = call_item(client, Method::DELETE, scope, kind, name, None).await?;
    Ok(answer.json().ok().and_then(|v| read(&v, &answer.url).ok()))
}

/// GET of a collection, following `nextLink` on the HSM's own origin.
async fn get_list(client: &HsmClient, path: &str) -> Result<Vec<(String, Value)>, HsmError> {
    let mut url = client.endpoint.url(path);
    let mut items = Vec::new();
    for _ in 0..MAX_PAGES {
        let answer = client
            .send(Method::GET, url, None, Idempotency::Repeatable, None)
            .await?;
        let answer = client.expect_ok(answer)?;
        let body = answer.json()?;
        let shown = answer.url.clone();
        let page =
            body.get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| HsmError::BadResponse {
                    url: shown.clone(),
                    detail: "expected a list {\"value\": [...]}".into(),
                })?;
        items.extend(page.iter().map(|v| (shown.clone(), v.clone())));
        let Some(next) = body
            .get("nextLink")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Ok(items);
        };
        url = Url::parse(next)
            .ok()
            .filter(|u| client.endpoint.same_origin(u))
            .ok_or_else(|| HsmError::BadResponse {
                url: shown.clone(),
                detail: format!("nextLink '{next}' is not on the HSM's own origin"),
            })?;
        if !url.query_pairs().any(|(k, _)| k == "api-version") {
            url.query_pairs_mut()
                .append_pair("api-version", crate::hsm::endpoint::API_VERSION);
        }
    }
    Err(HsmError::BadResponse {
        url: client.endpoint.url(path).to_string(),
        detail: format!("the list has more than {MAX_PAGES} pages"),
    })
}

/// Role assignments listed at `scope` (the service may include those of other scopes;
/// filter on [`RoleAssignment::scope`] when that matters).
pub async fn list_assignments(
    client: &HsmClient,
    scope: &Scope,
) -> Result<Vec<RoleAssignment>, HsmError> {
    get_list(client, &path(scope, ASSIGNMENTS, None))
        .await?
        .iter()
        .map(|(url, v)| wire::assignment(v, url, scope))
        .collect()
}

/// Role assignments at `/` and at `/keys`, each once.
pub async fn list_all_assignments(client: &HsmClient) -> Result<Vec<RoleAssignment>, HsmError> {
    let mut all = list_assignments(client, &Scope::Hsm).await?;
    for a in list_assignments(client, &Scope::Keys).await? {
        if !all.iter().any(|b| b.name.eq_ignore_ascii_case(&a.name)) {
            all.push(a);
        }
    }
    Ok(all)
}

/// The role assignment `name` at `scope`.
pub async fn get_assignment(
    client: &HsmClient,
    scope: &Scope,
    name: &str,
) -> Result<RoleAssignment, HsmError> {
    let answer = call_item(client, Method::GET, scope, ASSIGNMENTS, name, None).await?;
    wire::assignment(&answer.json()?, &answer.url, scope)
}

/// Assigns role `role_definition_id` to `principal` at `scope` under a fresh GUID name.
/// Should the service record the assignment at another scope than asked (a broader grant
/// than intended), the assignment is deleted again and an error says so.
pub async fn create_assignment(
    client: &HsmClient,
    scope: &Scope,
    role_definition_id: &str,
    principal: &str,
) -> Result<RoleAssignment, HsmError> {
    check_principal(principal)?;
    let name = new_guid()?;
    let body =
        json!({"properties": {"roleDefinitionId": role_definition_id, "principalId": principal}});
    let answer = call_item(client, Method::PUT, scope, ASSIGNMENTS, &name, Some(&body)).await?;
    let created = wire::assignment(&answer.json()?, &answer.url, scope)?;
    if !scope_text_eq(&created.scope, scope) {
        let undone = match delete_assignment(client, scope, &created.name).await {
            Ok(_) => "it was deleted again".to_owned(),
            Err(e) => format!(
                "deleting it failed ({e}); delete it with 'sdctl hsm role delete --name {}'",
                created.name
            ),
        };
        return Err(HsmError::BadResponse {
            url: answer.url,
            detail: format!(
                "asked to assign at scope {scope}, the HSM recorded scope '{}' instead; {undone}",
                created.scope
            ),
        });
    }
    Ok(created)
}

/// Deletes the role assignment `name` at `scope`; the service's copy of it when it sends one.
pub async fn delete_assignment(
    client: &HsmClient,
    scope: &Scope,
    name: &str,
) -> Result<Option<RoleAssignment>, HsmError> {
    delete_item(client, scope, ASSIGNMENTS, name, |v, url| {
        wire::assignment(v, url, scope)
    })
    .await
}

/// Every role definition (built-in and custom) listed at `/`.
pub async fn list_definitions(client: &HsmClient) -> Result<Vec<RoleDefinition>, HsmError> {
    get_list(client, &path(&Scope::Hsm, DEFINITIONS, None))
        .await?
        .iter()
        .map(|(url, v)| wire::definition(v, url))
        .collect()
}

/// A call on the role definition `name`; the definition the service answers with.
async fn call_definition(
    client: &HsmClient,
    method: Method,
    name: &str,
    body: Option<&Value>,
) -> Result<RoleDefinition, HsmError> {
    let answer = call_item(client, method, &Scope::Hsm, DEFINITIONS, name, body).await?;
    wire::definition(&answer.json()?, &answer.url)
}

/// The role definition with GUID `name`.
pub async fn get_definition(client: &HsmClient, name: &str) -> Result<RoleDefinition, HsmError> {
    call_definition(client, Method::GET, name, None).await
}

/// Creates or replaces the custom role definition with GUID `name`.
pub async fn put_definition(
    client: &HsmClient,
    name: &str,
    body: &RoleDefinitionBody,
) -> Result<RoleDefinition, HsmError> {
    call_definition(client, Method::PUT, name, Some(&body.to_json())).await
}

/// Deletes the custom role definition with GUID `name` (the service refuses while it is
/// assigned); the service's copy of it when it sends one.
pub async fn delete_definition(
    client: &HsmClient,
    name: &str,
) -> Result<Option<RoleDefinition>, HsmError> {
    delete_item(client, &Scope::Hsm, DEFINITIONS, name, wire::definition).await
}
