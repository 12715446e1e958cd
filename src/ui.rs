//! The static admin UI (`ui/`), embedded in the release binary, and the
//! offline API docs page.

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AdminUser;
use crate::error::{AppError, AppResult};
use crate::rest::extract::ClientIp;
use crate::service::{audit, files};
use crate::state::AppState;

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

pub async fn admin_asset(State(state): State<AppState>, Path(path): Path<String>, request: Request) -> Response {
    if let Some(attachment_id) = path.strip_prefix("review-attachments/") {
        let (mut parts, _) = request.into_parts();
        let download = async {
            let user = AdminUser::from_request_parts(&mut parts, &state).await?;
            let ClientIp(ip) = ClientIp::from_request_parts(&mut parts, &state).await.unwrap_or(ClientIp(None));
            review_attachment(&state, &user, ip, attachment_id).await
        };
        return download.await.unwrap_or_else(IntoResponse::into_response);
    }
    if let Some(file_id) = path.strip_prefix("media/") {
        let (mut parts, _) = request.into_parts();
        let media = async {
            let user = AdminUser::from_request_parts(&mut parts, &state).await?;
            let ClientIp(ip) = ClientIp::from_request_parts(&mut parts, &state).await.unwrap_or(ClientIp(None));
            admin_media(&state, &user, ip, file_id).await
        };
        return media.await.unwrap_or_else(IntoResponse::into_response);
    }
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

/// `GET /admin/media/{file_id}`: one stored image of the logged-in user's
/// client (the platform operator: of any client), for the admin UI's `<img>` tags (the session cookie rides along;
/// SameSite=Strict keeps other sites out). Every view is audited as
/// `stored_file.view`; the bytes are never cached.
async fn admin_media(state: &AppState, user: &AdminUser, ip: Option<String>, file_id: &str) -> AppResult<Response> {
    let scope = crate::service::tenancy::Scope::new(user.client_id.clone(), user.is_platform);
    let file = files::find_in_scope(&state.db, &scope, file_id).await?;
    let bytes = files::read_bytes(&state.storage, &file).await?;
    let actor = audit::Actor::User { client_id: user.client_id.clone(), user_id: user.user_id.clone() };
    let detail = serde_json::json!({ "session_id": file.session_id, "storage_file_type_e": file.file_type });
    audit::record(&state.db, &actor, "stored_file.view", Some(("stored_file", &file.id)), ip, Some(detail)).await?;
    let content_type =
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /admin/review-attachments/{id}`: a file attached to a review note,
/// for a logged-in user of the case's client (the platform operator: of any
/// client). Images open inline, PDFs download; audited like the REST download.
async fn review_attachment(state: &AppState, user: &AdminUser, ip: Option<String>, id: &str) -> AppResult<Response> {
    let scope = crate::service::tenancy::Scope::new(user.client_id.clone(), user.is_platform);
    let actor = audit::Actor::User { client_id: user.client_id.clone(), user_id: user.user_id.clone() };
    let (att, bytes) = crate::service::review::attachments::download(&state.db, &state.storage, &scope, id, &actor, ip).await?;
    Ok(crate::rest::review::attachment_response(&att, bytes, true))
}

/// The web SDK (`sdk/web/`, the npm-ready folder), served at `/sdk/{file}`.
#[derive(rust_embed::Embed)]
#[folder = "sdk/web/"]
struct SdkAssets;

/// CSP of the capture page: nothing from other origins; framed only by the
/// client's `frame_ancestors`.
fn capture_csp(frame_ancestors: &[String]) -> String {
    let ancestors = if frame_ancestors.is_empty() { "'none'".to_string() } else { frame_ancestors.join(" ") };
    format!(
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; style-src 'self'; \
         script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )
}

/// `GET /verify/{token}`: the hosted capture page. The page shell is the
/// same for every link; the link's state (`open`, `expired`, `revoked`,
/// `finished`, `unknown`) is written into it and sets the status (200,
/// 410, 404), so a closed link answers a clear page even before any script runs.
pub async fn capture_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    use crate::service::capture::{self, LinkState};
    let resolved = match capture::resolve(&state.db, &token, chrono::Utc::now()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    // A closed link keeps the client's framing origins, so an embedded page
    // can still say that the link expired; an unknown token frames nowhere.
    let frame_ancestors = match &resolved.link {
        Some(link) => capture::settings(&state.db, &link.client_id).await.map(|s| s.frame_ancestors).unwrap_or_default(),
        None => Vec::new(),
    };
    let status = match resolved.state {
        LinkState::Open => StatusCode::OK,
        LinkState::Unknown => StatusCode::NOT_FOUND,
        LinkState::Expired | LinkState::Revoked | LinkState::Finished => StatusCode::GONE,
    };
    let Some(file) = UiAssets::get("capture/index.html") else { return AppError::not_found("page").into_response() };
    let html = String::from_utf8_lossy(&file.data).replace("__LINK_STATE__", resolved.state.as_str());
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::HeaderName::from_static("permissions-policy"), "camera=(self), geolocation=(self)".to_string()),
            (header::CONTENT_SECURITY_POLICY, capture_csp(&frame_ancestors)),
        ],
        html,
    )
        .into_response()
}

/// `GET /capture/{file}`: the capture page's scripts, styles and images.
pub async fn capture_asset(Path(path): Path<String>) -> Response {
    if path.contains("..") || path == "index.html" {
        return AppError::not_found("page").into_response();
    }
    serve(&format!("capture/{path}"))
}

/// `GET /sdk/{file}`: the web SDK module. Integrators import it from their
/// own pages, so it is readable cross-origin (an ES module needs CORS).
pub async fn sdk_asset(Path(path): Path<String>) -> Response {
    match SdkAssets::get(&path) {
        Some(file) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => AppError::not_found("resource").into_response(),
    }
}
