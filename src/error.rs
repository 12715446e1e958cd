//! One error type for the whole server, rendered as RFC 9457
//! `application/problem+json`. 5xx details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A field-level validation message.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// Dotted path of the offending field (`settings.aamva_retry_e`, `image`, `X-Client-Id`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    Validation { detail: String, errors: Vec<FieldError> },
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large: {detail}")]
    PayloadTooLarge { detail: String, errors: Vec<FieldError> },
    #[error("unsupported media type: {detail}")]
    UnsupportedMediaType { detail: String, errors: Vec<FieldError> },
    #[error("unprocessable: {detail}")]
    Unprocessable { detail: String, errors: Vec<FieldError> },
    #[error("rate limited: {detail}")]
    RateLimited { detail: String, retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Work the answer depends on is still running (503 with `Retry-After`).
    #[error("still running: {detail}")]
    StillRunning { detail: String, retry_after_secs: u64 },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        AppError::Validation {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    /// 413 for the whole request (no one field is to blame).
    pub fn too_large(detail: impl Into<String>) -> Self {
        AppError::PayloadTooLarge { detail: detail.into(), errors: vec![] }
    }

    /// 413 for one field (an upload part, a base64 value).
    pub fn too_large_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        AppError::PayloadTooLarge { detail: format!("{field}: {message}"), errors: vec![FieldError::new(field, message)] }
    }

    /// 415 for the whole request (its content type).
    pub fn unsupported_media(detail: impl Into<String>) -> Self {
        AppError::UnsupportedMediaType { detail: detail.into(), errors: vec![] }
    }

    /// 415 for one field whose content is of a type not accepted there.
    pub fn unsupported_media_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        AppError::UnsupportedMediaType { detail: format!("{field}: {message}"), errors: vec![FieldError::new(field, message)] }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{err}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::StillRunning { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine code, shared by REST problems and GraphQL error extensions.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "validation_failed",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::Unprocessable { .. } => "unprocessable",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::StillRunning { .. } => "still_running",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The text a client may see. Internal errors never leak their cause.
    pub fn public_detail(&self) -> String {
        match self {
            AppError::Validation { detail, .. }
            | AppError::Unprocessable { detail, .. }
            | AppError::PayloadTooLarge { detail, .. }
            | AppError::UnsupportedMediaType { detail, .. }
            | AppError::StillRunning { detail, .. } => detail.clone(),
            AppError::Internal(_) => "an internal error occurred; it has been logged".into(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::RateLimited { detail, .. } => detail.clone(),
            AppError::MethodNotAllowed => "this method is not allowed on this path".into(),
            AppError::Unauthenticated(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::Unavailable(m) => m.clone(),
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::Validation { errors, .. }
            | AppError::Unprocessable { errors, .. }
            | AppError::PayloadTooLarge { errors, .. }
            | AppError::UnsupportedMediaType { errors, .. } => errors,
            _ => &[],
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let errors = self.field_errors();
        Problem {
            r#type: format!("/docs#problem-{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.public_detail(),
            code: self.code().to_string(),
            errors: (!errors.is_empty()).then(|| errors.to_vec()),
        }
    }
}

/// RFC 9457 problem details, plus a stable machine `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    /// A problem for a bare status code (used to wrap framework responses).
    pub fn for_status(status: StatusCode) -> Self {
        let err = match status {
            StatusCode::NOT_FOUND => AppError::not_found("resource"),
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => AppError::too_large("the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::unsupported_media("unsupported content type"),
            StatusCode::UNAUTHORIZED => AppError::Unauthenticated("credentials required".into()),
            StatusCode::FORBIDDEN => AppError::Forbidden("not allowed".into()),
            StatusCode::TOO_MANY_REQUESTS => {
                AppError::RateLimited { detail: "too many requests".into(), retry_after_secs: 1 }
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
                AppError::Unavailable("the request timed out".into())
            }
            s if s.is_client_error() => AppError::Validation {
                detail: s.canonical_reason().unwrap_or("bad request").to_lowercase(),
                errors: vec![],
            },
            _ => AppError::Internal(anyhow::anyhow!("framework status {status}")),
        };
        let mut p = err.to_problem();
        p.status = status.as_u16();
        p.title = status.canonical_reason().unwrap_or("Error").to_string();
        p
    }

    pub fn into_response_with(self, extra: Option<(header::HeaderName, HeaderValue)>) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some((name, value)) = extra {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // A dependency that is not there yet (503: no list loaded, a timeout)
        // is expected in operation; a 500 is a defect.
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, code = self.code(), "request failed");
        } else if self.status().is_server_error() {
            tracing::warn!(error = %self, code = self.code(), "request failed");
        }
        let extra = match &self {
            AppError::RateLimited { retry_after_secs, .. } | AppError::StillRunning { retry_after_secs, .. } => {
                Some((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)))
            }
            _ => None,
        };
        self.to_problem().into_response_with(extra)
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("database"))
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let p = AppError::internal("password=hunter2 leaked").to_problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("hunter2"));
    }

    #[test]
    fn validation_names_the_field() {
        let p = AppError::validation("liveness_mode", "unknown value `x`").to_problem();
        assert_eq!(p.status, 400);
        assert_eq!(p.errors.unwrap()[0].field, "liveness_mode");
    }
}

impl AppError {
    /// For the CLI: internal causes are shown (the operator is local).
    pub fn public_detail_for_cli(&self) -> String {
        match self {
            AppError::Internal(e) => format!("{e:#}"),
            other => other.public_detail(),
        }
    }
}
