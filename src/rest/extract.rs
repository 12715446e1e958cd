//! Request extractors whose rejections are problem+json naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// JSON body: 415 for another content type, 413 over the body limit, 400
/// naming the field for malformed or mistyped JSON.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, false).await.map(AppJson)
    }
}

/// Reads a JSON body; with `empty_is_object` an empty body (any content
/// type) reads as `{}`.
async fn read_json<S: Send + Sync, T: DeserializeOwned>(req: Request, state: &S, empty_is_object: bool) -> Result<T, AppError> {
    let json = is_json(req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()));
    if !json && !empty_is_object {
        return Err(AppError::unsupported_media("expected Content-Type: application/json"));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
    if empty_is_object && bytes.iter().all(u8::is_ascii_whitespace) {
        return parse_json(b"{}");
    }
    if !json {
        return Err(AppError::unsupported_media("expected Content-Type: application/json"));
    }
    parse_json(&bytes)
}

/// Like [`AppJson`] for bodies whose fields are all optional: an empty body
/// (with or without a content type) reads as `{}`.
pub struct AppJsonOrEmpty<T>(pub T);

impl<S, T> FromRequest<S> for AppJsonOrEmpty<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, true).await.map(AppJsonOrEmpty)
    }
}

pub fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

pub fn body_error(rejection: axum::extract::rejection::BytesRejection) -> AppError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::too_large("the request body is larger than the limit")
    } else {
        AppError::validation("body", "the request body could not be read")
    }
}

/// Parses JSON, reporting the path of the first offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::validation("body", "a JSON body is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = match (missing_field(&inner.to_string()), path.as_str()) {
            (Some(f), "." | "") => f,
            (Some(f), p) => format!("{p}.{f}"),
            (None, "." | "") => "body".to_string(),
            (None, p) => p.to_string(),
        };
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            clean_serde_message(&inner.to_string())
        };
        AppError::Validation { detail: format!("{field}: {message}"), errors: vec![crate::error::FieldError::new(field, message)] }
    })
}

/// `missing field `x`` → `x`.
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// serde appends " at line N column M"; keep the message short and stable.
fn clean_serde_message(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Query string with the same error reporting as [`AppJson`].
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de).map(AppQuery).map_err(|err| {
            let path = err.path().to_string();
            let message = clean_serde_message(&err.into_inner().to_string());
            let field = if path == "." { missing_field(&message).unwrap_or_else(|| "query".into()) } else { path };
            AppError::validation(field, message)
        })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        mode: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        session_id: String,
        settings: Inner,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<Outer>(br#"{"session_id": 5, "settings": {"mode": "x"}}"#).unwrap_err();
        assert_eq!(e.field_errors()[0].field, "session_id");
        let e = parse_json::<Outer>(br#"{"session_id": "a", "settings": {"mode": 1}}"#).unwrap_err();
        assert_eq!(e.field_errors()[0].field, "settings.mode");
        let e = parse_json::<Outer>(br#"{"settings": {"mode": "x"}}"#).unwrap_err();
        assert_eq!(e.field_errors()[0].field, "session_id");
        let e = parse_json::<Outer>(br#"{"session_id": "a", "settings": {}}"#).unwrap_err();
        assert_eq!(e.field_errors()[0].field, "settings.mode");
        let e = parse_json::<Outer>(br#"{"session_id": "#).unwrap_err();
        assert!(e.public_detail().contains("malformed JSON"));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}

/// The client's address when the server knows it (real connections; not
/// `oneshot` tests).
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ClientIp(ip))
    }
}

/// The same validation error, reported on `field` (the request's name for
/// it, e.g. `url` → `webhook_url`).
pub fn rename_field(e: AppError, field: &str) -> AppError {
    match e {
        AppError::Validation { errors, .. } => {
            let errors: Vec<crate::error::FieldError> =
                errors.into_iter().map(|fe| crate::error::FieldError::new(field, fe.message)).collect();
            let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            AppError::Validation { detail, errors }
        }
        other => other,
    }
}
