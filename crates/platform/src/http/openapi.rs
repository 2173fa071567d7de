//! OpenAPI pieces every service's document shares.

use utoipa::{
    Modify,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

/// Declares the `bearer` security scheme (an EdDSA JWT from the users
/// service) that routes reference with `security(("bearer" = []))`.
#[derive(Debug, Clone, Copy)]
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Completes a service's (or the merged) OpenAPI document with what every
/// operation shares, so that the document tells the truth about every
/// answer a client can get:
///
/// - every problem answer is `application/problem+json` (utoipa writes
///   `application/json` for any body);
/// - every operation documents the statuses the shared plumbing can give
///   it, where they apply: 400 (malformed JSON or header), 401 (a route
///   with a bearer token), 404 (a path with ids), 413 and 415 (a body),
///   422 (a body or query parameters), 429 (the gateway's and the login
///   throttles) and 503 (a dependency is down).
///
/// It also says of every text that it holds no U+0000, which every service
/// refuses (422; PostgreSQL cannot store it).
///
/// A handler's own statuses (403, 409, ...) stay in its annotation.
pub fn complete(api: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        // Problems echo what was sent (a field name may hold anything).
        for (name, schema) in schemas.iter_mut() {
            if name != "Problem" && name != "FieldError" {
                without_nul(schema);
            }
        }
    }
    let items = doc
        .get_mut("paths")
        .and_then(|p| p.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut());
    for item in items {
        for (method, operation) in item.iter_mut() {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            for part in ["parameters", "requestBody"] {
                if let Some(part) = operation.get_mut(part) {
                    without_nul(part);
                }
            }
            complete_operation(operation);
        }
    }
    doc
}

/// Adds "holds no U+0000" to every string schema in the document.
fn without_nul(node: &mut serde_json::Value) {
    use serde_json::Value;
    match node {
        Value::Object(map) => {
            // Below first: the clause added here is a string schema too.
            map.values_mut().for_each(without_nul);
            let is_text = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_text && !map.contains_key("not") {
                map.insert(
                    "not".to_owned(),
                    serde_json::json!({"type": "string", "pattern": "\u{0}"}),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_nul),
        _ => {}
    }
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const PROBLEM_REF: &str = "#/components/schemas/Problem";

fn complete_operation(operation: &mut serde_json::Value) {
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let located = |place: &str| parameters.iter().any(|p| p["in"] == place);
    let has_body = operation.get("requestBody").is_some();
    let secured = operation
        .get("security")
        .and_then(|s| s.as_array())
        .is_some_and(|s| !s.is_empty());
    let mut shared: Vec<(&str, &str)> = Vec::new();
    if has_body || located("header") {
        shared.push((
            "400",
            "The body is not well-formed JSON, or a header is malformed.",
        ));
    }
    if secured {
        shared.push(("401", "No bearer token, or an invalid or expired one."));
    }
    if located("path") {
        shared.push(("404", "No such resource, or not the caller's."));
    }
    if has_body {
        shared.push(("413", "The body is over 1 MiB."));
        shared.push(("415", "The body is not application/json."));
    }
    if has_body || located("query") {
        shared.push(("422", "Invalid fields; `errors` names each."));
    }
    shared.push(("429", "Too many requests; see Retry-After."));
    shared.push(("503", "A dependency is down; see Retry-After."));

    let Some(responses) = operation
        .get_mut("responses")
        .and_then(|r| r.as_object_mut())
    else {
        return;
    };
    for response in responses.values_mut() {
        as_problem_media_type(response);
    }
    for (status, description) in shared {
        responses.entry(status).or_insert_with(|| {
            serde_json::json!({
                "description": description,
                "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
            })
        });
    }
}

/// A response whose body is the Problem schema is served as
/// `application/problem+json`.
fn as_problem_media_type(response: &mut serde_json::Value) {
    let Some(content) = response.get_mut("content").and_then(|c| c.as_object_mut()) else {
        return;
    };
    let is_problem = content
        .get("application/json")
        .is_some_and(|media| media["schema"]["$ref"] == PROBLEM_REF);
    if is_problem && let Some(media) = content.remove("application/json") {
        content.insert("application/problem+json".to_owned(), media);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn completed(operation: serde_json::Value) -> serde_json::Value {
        let api: utoipa::openapi::OpenApi = serde_json::from_value(json!({
            "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/things/{id}": {"post": operation}},
        }))
        .unwrap();
        complete(&api)["paths"]["/things/{id}"]["post"].clone()
    }

    #[test]
    fn problems_are_problem_json_and_shared_statuses_are_documented() {
        let op = completed(json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                "409": {"description": "taken", "content": {"application/json": {"schema": {"$ref": PROBLEM_REF}}}},
            },
        }));
        let responses = op["responses"].as_object().unwrap();
        let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        for status in [
            "200", "400", "401", "404", "409", "413", "415", "422", "429", "503",
        ] {
            assert!(statuses.contains(&status), "{status} missing: {statuses:?}");
        }
        assert!(
            responses["200"]["content"]
                .get("application/json")
                .is_some()
        );
        assert_eq!(
            responses["409"]["content"]["application/problem+json"]["schema"]["$ref"],
            PROBLEM_REF
        );
        assert_eq!(
            responses["409"]["description"], "taken",
            "a handler's own text stays"
        );
    }

    #[test]
    fn only_what_applies_is_added() {
        let op = completed(json!({"responses": {"200": {"description": "ok"}}}));
        let statuses: Vec<&str> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(statuses, ["200", "429", "503"]);
    }
}
