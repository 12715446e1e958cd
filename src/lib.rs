//! Tessera: an open-source identity-verification platform.
//!
//! `build_app` returns the exact production router so tests drive it as is.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod graphql;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod models;
pub mod rest;
pub mod server;
pub mod service;
pub mod state;
pub mod storage;
pub mod ui;
pub mod workers;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::store::DbSessionStore;
use crate::config::Config;
use crate::error::{AppError, PROBLEM_JSON, Problem};
use crate::state::AppState;
use crate::storage::{BlobStore, MasterKey};

/// Connects the database, runs migrations and opens blob storage.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    storage::ensure_private_dir(&config.data_dir)?;
    service::decode_budget::configure(config.decode_budget_megapixels);
    let db = db::connect(&config.database_url(), config.database_max_connections, config.sqlite_mmap_mb).await?;
    db::migrate(&db).await?;
    service::session_search::backfill(&db).await?;
    db::optimize(&db).await?;
    let master = MasterKey::load_or_create(&config)?;
    let storage = BlobStore::from_config(&config, master)?;
    let dmv = service::dmv::provider_from_config(&config)?;
    workers::install();
    let mut state = AppState::new(db, storage, config);
    let models = models::ModelStore::new(state.config.models_dir());
    let engines = engine::Engines { dmv, ..(*state.engines).clone() };
    state.engines = std::sync::Arc::new(engine::with_local_engines(engines, &models));
    service::sanctions::install(&mut state).await?;
    Ok(state)
}

/// The whole HTTP surface.
pub fn build_app(state: AppState) -> Router {
    let (api, spec) = rest::api_router().split_for_parts();
    let spec_json = std::sync::Arc::new(
        serde_json::to_string_pretty(&rest::openapi_from(spec)).expect("OpenAPI serializes"),
    );

    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(auth::login::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(state.config.cookie_secure())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(state.config.login_ttl_hours as i64)));

    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let spec_json = spec_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], spec_json.as_str().to_owned()) }
            }),
        )
        .merge(graphql::router(&state))
        .route("/docs", get(ui::docs_page))
        .route("/docs/{*path}", get(ui::docs_asset))
        .route("/admin", get(ui::admin_index))
        .route("/admin/", get(ui::admin_index))
        .route("/admin/{*path}", get(ui::admin_asset))
        .route("/verify/{token}", get(ui::capture_page))
        .route("/capture/{*path}", get(ui::capture_asset))
        .route("/sdk/{*path}", get(ui::sdk_asset))
        .fallback(|| async { AppError::not_found("resource") })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), rest::idempotency::layer))
        .layer(sessions)
        .layer(axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(middleware::from_fn(problem_for_framework_errors))
        .layer(middleware::from_fn(protective_headers))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            AppError::internal("handler panicked").into_response()
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::debug_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()))
        }))
        .with_state(state)
}

/// The request path as it may appear in logs: a capture link's token is a
/// bearer secret (it opens the applicant's session), so `/verify/{token}`
/// is logged without it; query strings are never logged.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/verify/") { "/verify/{token}" } else { path }
}

/// Headers every answer carries: `nosniff` everywhere; API and GraphQL
/// answers (personal data) are never cached; images are attachments that
/// run nothing, so an upload that is also HTML (a polyglot) cannot be
/// opened as a page of this origin.
async fn protective_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let personal = path.starts_with("/api/") || path == "/graphql";
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if personal && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let is_image = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("image/"));
    if is_image {
        if !headers.contains_key(header::CONTENT_DISPOSITION) {
            headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
        }
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        );
    }
    response
}

/// Any error response that is not already problem+json (framework
/// rejections, layer errors) becomes one, keeping its status and headers.
async fn problem_for_framework_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Our own error bodies are JSON already (problem+json, or a JSON body
    // with meaning such as `/health`'s 503) or a page of ours (the capture
    // page of a closed link); only plain framework bodies change.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(PROBLEM_JSON) || ct.starts_with("application/json") || ct.starts_with("text/html"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = serde_json::to_vec(&Problem::for_status(status)).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Serves until `shutdown` resolves, with the background tasks of a server process.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let workers = workers::spawn(&state);
    let limits = server::ConnectionLimits::from_config(&state.config);
    let app = build_app(state.clone());
    let stop = state.shutdown.clone();
    let signal = async move {
        shutdown.await;
        // Workers stop claiming at once, while open requests drain.
        stop.begin();
    };
    server::serve_router(listener, app, limits, signal).await?;
    workers::finish(&state, workers).await;
    Ok(())
}



#[cfg(test)]
mod tests {
    #[test]
    fn a_capture_token_never_reaches_the_request_log() {
        assert_eq!(super::loggable_path("/verify/tct_secret-token"), "/verify/{token}");
        assert_eq!(super::loggable_path("/api/v1/idv/create"), "/api/v1/idv/create");
    }
}
