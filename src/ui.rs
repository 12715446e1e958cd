//! The static admin UI (`ui/`), embedded in the release binary, and the
//! offline API docs page.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

#[derive(rust_embed::Embed)]
#[folder = "ui/"]
struct UiAssets;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Response {
    match UiAssets::get(path) {
        Some(file) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, content_type(path)),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                ),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => AppError::not_found("page").into_response(),
    }
}

pub async fn admin_index() -> Response {
    serve("index.html")
}

pub async fn admin_asset(Path(path): Path<String>) -> Response {
    if path.is_empty() || path.ends_with('/') {
        return serve("index.html");
    }
    // Client-side routes (no extension) get the app shell.
    if !path.rsplit('/').next().unwrap_or("").contains('.') {
        return serve("index.html");
    }
    serve(&path)
}

pub async fn docs_page() -> Response {
    serve("docs.html")
}

pub async fn docs_asset(Path(path): Path<String>) -> Response {
    serve(&format!("docs/{path}"))
}
