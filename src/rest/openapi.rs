//! Completes the OpenAPI document generated from the handlers' annotations
//! with what every operation has in common, so no handler can forget it:
//!
//! - every response has a `description` (required by OpenAPI 3.1);
//! - every error response carries the `application/problem+json` schema;
//! - the problem responses any operation can give are listed: 401 for
//!   authenticated operations, 400 / 413 / 415 for operations with a body,
//!   400 for operations with query or path parameters, 409 / 422 for the
//!   `Idempotency-Key` of creating POSTs;
//! - every request body and parameter has an example, and every operation an
//!   example request (`x-codeSamples`, a `curl` command) that the `/docs`
//!   page shows.

use serde_json::{Map, Value, json};

const PROBLEM_REF: &str = "#/components/schemas/Problem";
const PROBLEM_JSON: &str = crate::error::PROBLEM_JSON;

/// Completes `doc` (the whole document as JSON) in place.
pub fn complete(doc: &mut Value) {
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            add_limits(schema);
        }
    }
    let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, method, op, &schemas);
            }
        }
    }
}

fn complete_operation(path: &str, method: &str, op: &mut Map<String, Value>, schemas: &Map<String, Value>) {
    let securities: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .map(|reqs| reqs.iter().filter_map(Value::as_object).flat_map(|o| o.keys().cloned()).collect())
        .unwrap_or_default();
    let has_body = op.contains_key("requestBody");
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| matches!(p["in"].as_str(), Some("query" | "path"))));
    let creates = method == "post" && path.ends_with("/create");
    // An id the caller cannot see (unknown, or another client's) answers 404.
    let takes_ids = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["name"].as_str().is_some_and(is_id_name)))
        || op
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .is_some_and(|c| c.values().any(|m| mentions_ids(&m["schema"], schemas, 0)));
    if let Some(id) = operation_id(path) {
        op.insert("operationId".into(), Value::String(id));
    }

    if creates {
        add_idempotency_header(op);
    }
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    if !securities.is_empty() {
        ensure_problem(responses, 401);
    }
    if has_body {
        for status in [400, 413, 415] {
            ensure_problem(responses, status);
        }
    }
    if has_params {
        ensure_problem(responses, 400);
    }
    if creates {
        ensure_problem(responses, 409);
        ensure_problem(responses, 422);
    }
    if takes_ids {
        ensure_problem(responses, 404);
    }
    for (status, response) in responses.iter_mut() {
        complete_response(status, response);
    }
    sort_responses(responses);

    add_examples(op, schemas);
    let sample = curl_sample(path, method, op, &securities);
    op.insert("x-codeSamples".into(), json!([{ "lang": "curl", "label": "curl", "source": sample }]));
}

/// A unique operation id from the path (`/api/v1/idv/session/create` →
/// `idv_session_create`); handler names repeat across groups (`create`,
/// `read`), and OpenAPI requires unique ids. Paths outside `/api/v1/` keep
/// their handler's name.
fn operation_id(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1/")?;
    let id = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with('{') { "by_id".to_string() } else { s.replace('-', "_") })
        .collect::<Vec<_>>()
        .join("_");
    (!id.is_empty()).then_some(id)
}

/// The limits every list and metadata field shares, written where the
/// server enforces them (`Page::new`, `validate_metadata`), so generated
/// clients and fuzzers know them.
fn add_limits(schema: &mut Value) {
    use crate::service::types::{MAX_SKIP, MAX_TAKE, METADATA_MAX_KEY_LEN, METADATA_MAX_KEYS};
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else { return };
    for (name, prop) in props.iter_mut() {
        let Some(prop) = prop.as_object_mut() else { continue };
        match name.as_str() {
            "take" => {
                prop.insert("minimum".into(), json!(0));
                prop.insert("maximum".into(), json!(MAX_TAKE));
            }
            "skip" => {
                prop.insert("minimum".into(), json!(0));
                prop.insert("maximum".into(), json!(MAX_SKIP));
            }
            "metadata" | "sdk_metadata" if prop.contains_key("additionalProperties") => {
                prop.insert("maxProperties".into(), json!(METADATA_MAX_KEYS));
                prop.insert("propertyNames".into(), json!({ "type": "string", "minLength": 1, "maxLength": METADATA_MAX_KEY_LEN }));
            }
            _ => {}
        }
    }
}

fn is_id_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("_ids")
}

/// Whether a request schema has a field that names an object by id.
fn mentions_ids(schema: &Value, schemas: &Map<String, Value>, depth: usize) -> bool {
    let schema = resolve(schema, schemas);
    if depth > 6 {
        return false;
    }
    let in_props = schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|props| props.iter().any(|(k, v)| is_id_name(k) || mentions_ids(v, schemas, depth + 1)));
    let in_variants = ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .any(|vs| vs.iter().any(|v| mentions_ids(v, schemas, depth + 1)));
    in_props || in_variants || schema.get("items").is_some_and(|i| mentions_ids(i, schemas, depth + 1))
}

fn add_idempotency_header(op: &mut Map<String, Value>) {
    let params = op.entry("parameters").or_insert_with(|| json!([]));
    let Some(params) = params.as_array_mut() else { return };
    if params.iter().any(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("Idempotency-Key"))) {
        return;
    }
    params.push(json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Replays the first response for the same key and body within 24 hours; another body is 422.",
        "schema": { "type": "string" }
    }));
}

fn problem_content() -> Value {
    json!({ PROBLEM_JSON: { "schema": { "$ref": PROBLEM_REF } } })
}

fn ensure_problem(responses: &mut Map<String, Value>, status: u16) {
    responses.entry(status.to_string()).or_insert_with(|| json!({ "content": problem_content() }));
}

fn complete_response(status: &str, response: &mut Value) {
    let Some(response) = response.as_object_mut() else { return };
    let code: u16 = status.parse().unwrap_or(0);
    if code >= 400 && response.get("content").and_then(Value::as_object).is_none_or(|c| c.is_empty()) {
        response.insert("content".into(), problem_content());
    }
    let missing = response.get("description").and_then(Value::as_str).is_none_or(|d| d.trim().is_empty());
    if missing {
        response.insert("description".into(), Value::String(describe_status(code).into()));
    }
}

/// What a status means on this API (the problem `code` it carries, for errors).
fn describe_status(code: u16) -> &'static str {
    match code {
        200 => "Success.",
        201 => "Created.",
        204 => "No content.",
        400 => "`validation_failed`: the body, query or a header is malformed or out of range; `errors[].field` names it.",
        401 => "`unauthenticated`: missing, invalid or revoked credentials.",
        403 => "`forbidden`: valid credentials, but the action is not allowed.",
        404 => "`not_found`: unknown id, also for an id owned by another client.",
        409 => "`conflict`: the object is in the wrong state (expired, finalized, consent missing), or a request with the same `Idempotency-Key` is still running.",
        413 => "`payload_too_large`: the body or an image is over its limit.",
        415 => "`unsupported_media_type`: wrong content type or image format.",
        422 => "`unprocessable`: readable but invalid (an undecodable image, an `Idempotency-Key` reused with another body).",
        429 => "`rate_limited`: too many attempts; wait for `Retry-After` seconds.",
        500 => "`internal_error`: logged server-side; no details are sent.",
        503 => "`unavailable`: a dependency is down or the work is not finished; retry later.",
        _ => "See the problem body.",
    }
}

fn sort_responses(responses: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(entries);
}

fn add_examples(op: &mut Map<String, Value>, schemas: &Map<String, Value>) {
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            if p.get("example").is_some() {
                continue;
            }
            let name = p["name"].as_str().unwrap_or("").to_string();
            let example = match name.to_ascii_lowercase().as_str() {
                "idempotency-key" => json!("4f9c2a4e-create-session-1"),
                _ => example_value(&p["schema"], Some(&name), schemas, 0),
            };
            if let Some(p) = p.as_object_mut() {
                p.insert("example".into(), example);
            }
        }
    }
    let Some(content) = op.get_mut("requestBody").and_then(|b| b.get_mut("content")).and_then(Value::as_object_mut) else {
        return;
    };
    for media in content.values_mut() {
        let Some(media) = media.as_object_mut() else { continue };
        if media.contains_key("example") || media.contains_key("examples") {
            continue;
        }
        let example = example_value(media.get("schema").unwrap_or(&Value::Null), None, schemas, 0);
        media.insert("example".into(), example);
    }
}

fn resolve<'a>(schema: &'a Value, schemas: &'a Map<String, Value>) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
        Some(name) => schemas.get(name).map(|s| resolve(s, schemas)).unwrap_or(schema),
        None => schema,
    }
}

/// The first non-null `type` of a schema (`["string", "null"]` → `string`).
fn primary_type(schema: &Value) -> Option<&str> {
    match &schema["type"] {
        Value::String(t) => Some(t.as_str()),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// A plausible value for a field, from its name first and its schema second.
fn example_value(schema: &Value, name: Option<&str>, schemas: &Map<String, Value>, depth: usize) -> Value {
    let schema = resolve(schema, schemas);
    if let Some(e) = schema.get("example") {
        return e.clone();
    }
    if let Some(e) = schema.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
        return e.clone();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().find(|v| v.as_str() != Some("unknown")).or(values.first()).cloned().unwrap_or(Value::Null);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema.get(key).and_then(Value::as_array) {
            let variant = variants.iter().find(|v| resolve(v, schemas)["type"] != "null");
            if let Some(v) = variant {
                return example_value(v, name, schemas, depth + 1);
            }
        }
    }
    if let Some(v) = name.and_then(|n| named_example(n, primary_type(schema))) {
        return v;
    }
    if depth > 6 {
        return Value::Null;
    }
    match primary_type(schema) {
        Some("object") => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, prop) in props {
                    let value = example_value(prop, Some(key), schemas, depth + 1);
                    if !value.is_null() {
                        out.insert(key.clone(), value);
                    }
                }
            } else if schema.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)) {
                out.insert("customer_ref".into(), json!("A-1042"));
            }
            Value::Object(out)
        }
        Some("array") => {
            let item = example_value(schema.get("items").unwrap_or(&Value::Null), name, schemas, depth + 1);
            if item.is_null() { json!([]) } else { json!([item]) }
        }
        Some("string") => Value::String(string_example(schema)),
        Some("integer") => json!(schema["minimum"].as_i64().map_or(1, |m| m.max(1))),
        Some("number") => {
            let (min, max) = (schema["minimum"].as_f64(), schema["maximum"].as_f64());
            match (min, max) {
                (Some(a), Some(b)) => json!((a + b) / 2.0),
                (Some(a), None) => json!(a),
                _ => json!(0.8),
            }
        }
        Some("boolean") => json!(true),
        _ => Value::Null,
    }
}

fn string_example(schema: &Value) -> String {
    match schema["format"].as_str() {
        Some("date-time") => "2026-01-15T09:30:00Z".into(),
        Some("date") => "1990-04-12".into(),
        Some("binary") => "(binary file)".into(),
        Some("uuid") => EXAMPLE_ID.into(),
        _ => "text".into(),
    }
}

const EXAMPLE_ID: &str = "0193e5b2-6f1a-7c3d-8e4f-5a6b7c8d9e0f";

/// A JPEG frame, base64 (a placeholder: real frames are camera pictures).
const EXAMPLE_FRAME: &str = "/9j/4AAQSkZJRgABAQAAAQABAAD/...";

fn named_example(name: &str, ty: Option<&str>) -> Option<Value> {
    let n = name.to_ascii_lowercase();
    let is_string = ty == Some("string");
    let value = match n.as_str() {
        "session_id" | "identity_id" | "id" | "webhook_id" | "delivery_id" | "key_id" | "idv_session_id"
        | "ida_session_id" | "idv_weights_id" | "user_id" | "client_id"
            if is_string =>
        {
            json!(match n.as_str() {
                "identity_id" => "0193e5b2-70aa-7b11-9c2d-3e4f5a6b7c8d",
                "client_id" => "0193e5a0-1111-7aaa-8bbb-ccccdddd0001",
                "user_id" => "0193e5a0-2222-7aaa-8bbb-ccccdddd0002",
                _ => EXAMPLE_ID,
            })
        }
        "latitude" => if is_string { json!("40.7128") } else { json!(40.7128) },
        "longitude" => if is_string { json!("-74.0060") } else { json!(-74.006) },
        "metadata" => json!({ "customer_ref": "A-1042" }),
        "sdk_metadata" => json!({ "app_version": "3.2.0", "platform": "ios" }),
        "url" | "webhook_url" if is_string => json!("https://example.com/hooks/tessera"),
        "name" if is_string => json!("Production webhook"),
        "email" if is_string => json!("ops@example.com"),
        "password" if is_string => json!("correct horse battery staple"),
        "images" => json!([EXAMPLE_FRAME]),
        "image" => json!("(binary file)"),
        "token" if is_string => json!("lvt_3q2+9ZkA1b"),
        "take" => json!(25),
        "skip" => json!(0),
        "consented" => json!(true),
        "search" | "query" | "q" if is_string => json!("Doe"),
        _ if n.ends_with("_date") && is_string => json!("2026-01-15"),
        _ if n.ends_with("_id") && is_string => json!(EXAMPLE_ID),
        _ => return None,
    };
    Some(value)
}

/// The `curl` command of one operation, built from its examples.
fn curl_sample(path: &str, method: &str, op: &Map<String, Value>, securities: &[String]) -> String {
    let mut url = String::from("$TESSERA_URL");
    let params = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut path = path.to_string();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in &params {
        let name = p["name"].as_str().unwrap_or("");
        let value = match &p["example"] {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        match p["in"].as_str() {
            Some("path") => path = path.replace(&format!("{{{name}}}"), &value),
            Some("query") if p["required"] == true || query.len() < 2 => query.push(format!("{name}={value}")),
            Some("header") if p["required"] == true || name.eq_ignore_ascii_case("Idempotency-Key") => {
                headers.push(format!("{name}: {value}"))
            }
            _ => {}
        }
    }
    url.push_str(&path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    let mut lines = vec![if method == "get" { format!("curl \"{url}\"") } else { format!("curl -X {} \"{url}\"", method.to_uppercase()) }];
    for s in securities {
        match s.as_str() {
            "bearer" => lines.push("-H \"Authorization: Bearer $TESSERA_API_KEY\"".into()),
            "sdk_client" => lines.push("-H \"X-Client-Id: $TESSERA_CLIENT_ID\"".into()),
            "admin_session" => lines.push("-b cookies.txt -H \"X-CSRF-Token: $CSRF_TOKEN\"".into()),
            _ => {}
        }
    }
    for h in headers {
        lines.push(format!("-H \"{h}\""));
    }
    if let Some(content) = op.get("requestBody").and_then(|b| b.get("content")).and_then(Value::as_object) {
        if let Some(media) = content.get("application/json") {
            lines.push("-H \"Content-Type: application/json\"".into());
            let body = serde_json::to_string(&media["example"]).unwrap_or_else(|_| "{}".into());
            lines.push(format!("-d '{}'", body.replace('\'', "'\\''")));
        } else if let Some(media) = content.get("multipart/form-data") {
            if let Some(fields) = media["example"].as_object() {
                for (k, v) in fields {
                    match v.as_str() {
                        Some("(binary file)") => lines.push(format!("-F \"{k}=@{k}.jpg\"")),
                        Some(s) => lines.push(format!("-F \"{k}={s}\"")),
                        None => lines.push(format!("-F \"{k}={v}\"")),
                    }
                }
            }
        }
    }
    if path == "/metrics" {
        lines.push("-H \"Accept: application/json\"".into());
    }
    lines.join(" \\\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_get_descriptions_and_problem_bodies() {
        let mut doc = json!({
            "components": { "schemas": {} },
            "paths": { "/api/v1/x/create": { "post": {
                "security": [{ "bearer": [] }],
                "requestBody": { "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": { "session_id": { "type": "string" }, "mode": { "enum": ["unknown", "passive"] } }
                } } } },
                "responses": { "200": {}, "404": { "description": "" } }
            } } }
        });
        complete(&mut doc);
        let op = &doc["paths"]["/api/v1/x/create"]["post"];
        assert_eq!(op["operationId"], "x_create");
        for status in ["200", "400", "401", "404", "409", "413", "415", "422"] {
            assert!(op["responses"][status]["description"].as_str().is_some_and(|d| !d.is_empty()), "{status}");
        }
        assert_eq!(op["responses"]["401"]["content"][PROBLEM_JSON]["schema"]["$ref"], PROBLEM_REF);
        assert_eq!(op["responses"]["404"]["content"][PROBLEM_JSON]["schema"]["$ref"], PROBLEM_REF);
        let example = &op["requestBody"]["content"]["application/json"]["example"];
        assert_eq!(example["session_id"], EXAMPLE_ID);
        assert_eq!(example["mode"], "passive");
        let sample = op["x-codeSamples"][0]["source"].as_str().unwrap();
        assert!(sample.contains("Authorization: Bearer") && sample.contains(EXAMPLE_ID), "{sample}");
    }
}
