//! Service info, API info, metrics and health.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::api_key::MaybeApiCaller;
use crate::error::Problem;
use crate::metrics::ProcessStats;
use crate::service::health::{self, Level};
use crate::state::AppState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const RUST_VERSION: &str = env!("TESSERA_RUSTC_VERSION");

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(service_info))
        .routes(routes!(api_info))
        .routes(routes!(metrics))
        .routes(routes!(health_check))
        .routes(routes!(ready))
        .routes(routes!(live))
}

/// Service info: name, version, environment and where the docs and health live.
#[derive(Serialize, ToSchema)]
pub struct ServiceInfo {
    service: String,
    description: String,
    version: String,
    environment: String,
    timestamp: DateTime<Utc>,
    /// Path of the human-readable API docs.
    documentation: String,
    /// Path of the health endpoint.
    health: String,
    /// `running` while the server serves requests.
    status: String,
}

#[utoipa::path(get, path = "/", tag = "system", responses((status = 200, body = ServiceInfo)))]
async fn service_info(State(state): State<AppState>) -> Json<ServiceInfo> {
    Json(ServiceInfo {
        service: "tessera".into(),
        description: "Open-source identity verification (IDV/KYC) platform".into(),
        version: VERSION.into(),
        environment: state.config.environment.clone(),
        timestamp: Utc::now(),
        documentation: "/docs".into(),
        health: "/health".into(),
        status: "running".into(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Endpoints {
    health: String,
    ready: String,
    live: String,
    metrics: String,
    docs: String,
    api_spec: String,
}

/// API info with the endpoint map.
#[derive(Serialize, ToSchema)]
pub struct ApiInfo {
    service: String,
    version: String,
    environment: String,
    timestamp: DateTime<Utc>,
    /// Seconds since the process started.
    uptime: f64,
    endpoints: Endpoints,
}

#[utoipa::path(get, path = "/api/v1", tag = "system", responses((status = 200, body = ApiInfo)))]
async fn api_info(State(state): State<AppState>) -> Json<ApiInfo> {
    Json(ApiInfo {
        service: "tessera".into(),
        version: VERSION.into(),
        environment: state.config.environment.clone(),
        timestamp: Utc::now(),
        uptime: state.uptime_secs(),
        endpoints: Endpoints {
            health: "/health".into(),
            ready: "/health/ready".into(),
            live: "/health/live".into(),
            metrics: "/metrics".into(),
            docs: "/docs".into(),
            api_spec: "/api/v1/openapi.json".into(),
        },
    })
}

#[derive(Serialize, ToSchema)]
pub struct MemoryStats {
    /// Memory in use on the whole machine, bytes.
    used: u64,
    /// Total memory of the machine, bytes.
    total: u64,
    /// Virtual memory reserved by this process, bytes.
    external: u64,
    /// Resident set size of this process, bytes.
    rss: u64,
}

#[derive(Serialize, ToSchema)]
pub struct SystemStats {
    /// Seconds since the process started.
    uptime: f64,
    memory: MemoryStats,
    /// `user_seconds`, `system_seconds` (CPU time of this process), `cores`, `usage_percent`.
    #[schema(value_type = Object)]
    cpu: Value,
    pid: u32,
    /// The Rust toolchain that built this binary (the field keeps its documented name).
    node_version: String,
    /// `{os}-{arch}`.
    platform: String,
}

#[derive(Serialize, ToSchema)]
pub struct EnvironmentInfo {
    /// The deployment's environment name (the field keeps its documented name).
    node_env: String,
    version: String,
}

/// System metrics, served for `Accept: application/json`.
#[derive(Serialize, ToSchema)]
pub struct SystemMetrics {
    timestamp: DateTime<Utc>,
    system: SystemStats,
    environment: EnvironmentInfo,
}

/// Prometheus text by default; the JSON sample with `Accept: application/json`.
/// Public unless `metrics_public = false`, then an API key is required.
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text exposition by default; the JSON figures with `Accept: application/json`.",
        content(
            (String = "text/plain", example = "# TYPE tessera_http_requests_total counter\ntessera_http_requests_total{route=\"/health\",status=\"200\"} 3\n"),
            (SystemMetrics = "application/json"),
        )),
    (status = 401, description = "`metrics_public = false` and no valid API key was sent.", body = Problem,
        content_type = "application/problem+json"),
), security((), ("bearer" = [])))]
async fn metrics(State(state): State<AppState>, caller: MaybeApiCaller, headers: HeaderMap) -> Response {
    if !state.config.metrics_public && caller.0.is_none() {
        return crate::error::AppError::Unauthenticated("metrics need an API key (metrics_public = false)".into())
            .into_response();
    }
    let uptime = state.uptime_secs();
    let process = tokio::task::spawn_blocking(move || ProcessStats::read(uptime))
        .await
        .unwrap_or_else(|_| ProcessStats::read(uptime));
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if !wants_json {
        let text = state.metrics.render_prometheus(&process);
        return ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response();
    }
    Json(SystemMetrics {
        timestamp: Utc::now(),
        system: SystemStats {
            uptime: process.uptime_secs,
            memory: MemoryStats {
                used: process.system_used_bytes,
                total: process.system_total_bytes,
                external: process.virtual_bytes,
                rss: process.rss_bytes,
            },
            cpu: json!({
                "user_seconds": process.cpu_user_secs,
                "system_seconds": process.cpu_system_secs,
                "usage_percent": process.cpu_percent,
                "cores": process.cpu_count,
            }),
            pid: process.pid,
            node_version: RUST_VERSION.into(),
            platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        },
        environment: EnvironmentInfo { node_env: state.config.environment.clone(), version: VERSION.into() },
    })
    .into_response()
}

#[derive(Serialize, ToSchema)]
pub struct HealthChecks {
    database: String,
    /// Tessera keeps no external cache: always `not_configured`.
    cache: String,
    storage: String,
    /// Per dependency: `job_queue` now; models and sanctions lists as they arrive.
    #[schema(value_type = Object)]
    external_services: Value,
}

#[derive(Serialize, ToSchema)]
pub struct HealthDetails {
    #[schema(value_type = Object)]
    database: Value,
    #[schema(value_type = Object)]
    cache: Value,
    #[schema(value_type = Object)]
    storage: Value,
    #[schema(value_type = Object)]
    external_services: Value,
}

/// Health with checks. 503 when `status` is `error`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `degraded` or `error`.
    status: String,
    timestamp: DateTime<Utc>,
    uptime: f64,
    version: String,
    environment: String,
    checks: HealthChecks,
    details: HealthDetails,
    /// The first failing check's message; null when all is well.
    error: Option<String>,
}

#[utoipa::path(get, path = "/health", tag = "system", responses(
    (status = 200, body = Health), (status = 503, body = Health)))]
async fn health_check(State(state): State<AppState>) -> Response {
    let report = health::check(&state).await;
    let body = Health {
        status: report.status.as_str().into(),
        timestamp: Utc::now(),
        uptime: state.uptime_secs(),
        version: VERSION.into(),
        environment: state.config.environment.clone(),
        checks: HealthChecks {
            database: report.database.level.as_str().into(),
            cache: "not_configured".into(),
            storage: report.storage.level.as_str().into(),
            external_services: json!({"job_queue": report.job_queue.level.as_str(), "sanctions_lists": report.sanctions.level.as_str(), "models": report.models.level.as_str()}),
        },
        details: HealthDetails {
            database: report.database.detail.clone(),
            cache: json!({"configured": false}),
            storage: report.storage.detail.clone(),
            external_services: json!({"job_queue": report.job_queue.detail.clone(), "sanctions_lists": report.sanctions.detail.clone(), "models": report.models.detail.clone()}),
        },
        error: report.first_error(),
    };
    let status = if report.status == Level::Error { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (status, Json(body)).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct Probe {
    status: String,
    timestamp: DateTime<Utc>,
}

/// Readiness for a load balancer.
///
/// Ready when the database answers (migrations ran before the server started
/// listening) and the start-up loading of the engines' models is over: `503`
/// with `status: warming` for the few seconds it takes (a model package still
/// downloading does not hold it), `503` with `not_ready` when the database
/// does not answer.
#[utoipa::path(get, path = "/health/ready", tag = "system", responses(
    (status = 200, body = Probe), (status = 503, body = Probe)))]
async fn ready(State(state): State<AppState>) -> Response {
    let (code, status) = match health::ready(&state).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err("warming") => (StatusCode::SERVICE_UNAVAILABLE, "warming"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
    };
    (code, Json(Probe { status: status.into(), timestamp: Utc::now() })).into_response()
}

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/health/live", tag = "system", responses((status = 200, body = Probe)))]
async fn live() -> Json<Probe> {
    Json(Probe { status: "alive".into(), timestamp: Utc::now() })
}
