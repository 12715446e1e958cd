//! `GET /graphql/export/idv-sessions.csv?filter=<IdvSessionFilter as JSON>`:
//! the dashboard's session list under the same filter, as CSV, newest
//! first. Dashboard admins only (a bulk export of personal data); each
//! export writes an `idv_session.export` audit row naming the filter. The
//! rows are streamed in keyset pages of [`BATCH`], so an export of a
//! million sessions holds one page in memory.

use async_graphql::InputType;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::idv_session;
use futures::StreamExt;
use sea_orm::{Condition, DatabaseConnection};

use super::query::{IdvSessionFilter, idv_list_filters};
use super::{Caller, GraphqlAuth};
use crate::error::{AppError, AppResult};
use crate::service::{audit, dashboard};
use crate::state::AppState;

/// Sessions per statement.
const BATCH: u64 = 500;

const HEADER: &str =
    "session_id,created_at,completed_at,status,verdict,score,first_name,last_name,document_type,user_id,liveness_provider,sanctions,top_reason,failed_checks\r\n";

#[derive(serde::Deserialize)]
pub struct ExportParams {
    /// The list's `IdvSessionFilter`, as JSON (absent: every session).
    filter: Option<String>,
}

pub async fn idv_sessions_csv(
    State(state): State<AppState>,
    GraphqlAuth(caller): GraphqlAuth,
    Query(params): Query<ExportParams>,
) -> Response {
    match start(&state, &caller, params).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"idv-sessions.csv\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Checks the caller and the filter, audits the export, and returns the
/// streaming body.
async fn start(state: &AppState, caller: &Caller, params: ExportParams) -> AppResult<Body> {
    caller.require_admin()?;
    let raw: serde_json::Value = match params.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(text) => serde_json::from_str(text).map_err(|e| AppError::validation("filter", format!("not JSON: {e}")))?,
        None => serde_json::json!({}),
    };
    let value = async_graphql::Value::from_json(raw.clone()).map_err(|e| AppError::validation("filter", e.to_string()))?;
    let filter = IdvSessionFilter::parse(Some(value))
        .map_err(|e| AppError::validation("filter", format!("not an IdvSessionFilter: {}", e.into_server_error(Default::default()).message)))?;
    let (list_filter, extras) = idv_list_filters(state, caller, filter).await?;
    let cond = dashboard::idv_condition(&state.db, &list_filter, &extras, Utc::now()).await?;
    audit::record(&state.db, &caller.actor, "idv_session.export", None, caller.ip.clone(), Some(serde_json::json!({ "filter": raw })))
        .await?;
    Ok(Body::from_stream(rows(state.db.clone(), cond)))
}

/// Where the stream is: before the header, after a key, or done.
enum Cursor {
    Start,
    After(Option<(DateTime<Utc>, String)>),
    Done,
}

fn rows(db: DatabaseConnection, cond: Condition) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::unfold(Cursor::Start, move |cursor| {
        let (db, cond) = (db.clone(), cond.clone());
        async move {
            let after = match cursor {
                Cursor::Start => return Some((Ok(Bytes::from_static(HEADER.as_bytes())), Cursor::After(None))),
                Cursor::After(after) => after,
                Cursor::Done => return None,
            };
            match page(&db, &cond, after).await {
                Ok((text, Some(next))) => Some((Ok(Bytes::from(text)), Cursor::After(Some(next)))),
                Ok((text, None)) => Some((Ok(Bytes::from(text)), Cursor::Done)),
                Err(e) => {
                    // The status line is sent: end the body early so the
                    // download fails visibly instead of looking complete.
                    tracing::error!(error = %e, "session export failed mid-stream");
                    Some((Err(std::io::Error::other("export failed")), Cursor::Done))
                }
            }
        }
    })
    .fuse()
}

/// One page as CSV lines and the key to continue after (`None`: last page).
async fn page(
    db: &DatabaseConnection,
    cond: &Condition,
    after: Option<(DateTime<Utc>, String)>,
) -> AppResult<(String, Option<(DateTime<Utc>, String)>)> {
    let sessions = dashboard::idv_export_batch(db, cond, after, BATCH).await?;
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let client_ids: Vec<String> = sessions.iter().map(|s| s.client_id.clone()).collect();
    let failed = dashboard::failed_checks_of(db, &client_ids, &ids).await?;
    let mut out = String::new();
    for s in &sessions {
        line(&mut out, s, failed.get(&s.id).map(Vec::as_slice).unwrap_or_default());
    }
    let next = (sessions.len() as u64 == BATCH).then(|| sessions.last().map(|s| (s.created_at, s.id.clone()))).flatten();
    Ok((out, next))
}

fn line(out: &mut String, s: &idv_session::Model, failed: &[String]) {
    let fields = [
        s.id.clone(),
        s.created_at.to_rfc3339(),
        s.completed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        s.status.clone(),
        dashboard::verdict_of(s).to_string(),
        s.score.map(|v| format!("{v:.4}")).unwrap_or_default(),
        s.first_name.clone().unwrap_or_default(),
        s.last_name.clone().unwrap_or_default(),
        s.document_type.clone(),
        s.user_id.clone().unwrap_or_default(),
        s.liveness_provider.clone(),
        s.ofac_status.clone(),
        dashboard::top_reason(s.reasons.as_ref()).unwrap_or_default(),
        failed.join(" "),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell(f));
    }
    out.push_str("\r\n");
}

/// A CSV cell: quoted when needed (RFC 4180), and a leading `=`, `+`, `-`,
/// `@`, tab or carriage return defused with `'` so a spreadsheet never
/// runs a value as a formula.
pub fn cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if defused.contains([',', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }
}
