//! `GET /graphql`: GraphiQL, with every asset served from this binary (no
//! CDN). The GraphiQL / React bundles are vendored unmodified in
//! `ui/vendor/graphiql/` (versions and checksums in its README); the page,
//! its start script and stylesheet are ours.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "ui/vendor/graphiql/"]
struct Vendored;

const PAGE: &str = include_str!("graphiql.html");
const START_JS: &str = include_str!("graphiql.js");
const PAGE_CSS: &str = include_str!("graphiql.css");

/// GraphiQL keeps editor state in inline `style` attributes and loads its
/// fonts as `data:` URLs; scripts and connections stay on this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

pub async fn page() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_SECURITY_POLICY, CSP), (header::CACHE_CONTROL, "no-cache")],
        Html(PAGE),
    )
        .into_response()
}

/// `GET /graphql/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let own = |body: &'static str, content_type: &'static str| {
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
    };
    match name.as_str() {
        "tessera-graphiql.js" => own(START_JS, "text/javascript; charset=utf-8"),
        "tessera-graphiql.css" => own(PAGE_CSS, "text/css; charset=utf-8"),
        _ => match Vendored::get(&name) {
            Some(file) => {
                let content_type = match name.rsplit('.').next() {
                    Some("js") => "text/javascript; charset=utf-8",
                    Some("css") => "text/css; charset=utf-8",
                    _ => "text/plain; charset=utf-8",
                };
                let headers = [
                    (header::CONTENT_TYPE, content_type),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ];
                (StatusCode::OK, headers, file.data.into_owned()).into_response()
            }
            None => crate::error::AppError::not_found("asset").into_response(),
        },
    }
}
