//! `GET /graphql/export/idv-sessions.csv?filter=<IdvSessionFilter as JSON>&sort=<Sort as JSON>`:
//! the dashboard's session list under the same filter, as CSV, in the
//! list's order (newest first unless `sort` says otherwise). Dashboard
//! admins only (a bulk export of personal data); each export writes an
//! `idv_session.export` audit row naming the filter and the sort. The rows
//! are streamed in keyset batches of [`BATCH`] in that order, so an export
//! of a million sessions holds one batch in memory.

use async_graphql::InputType;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sea_orm::DatabaseConnection;

use super::query::{IdvSessionFilter, idv_list_filters};
use super::types::Sort;
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
    /// The list's `Sort`, as JSON (absent: newest first).
    sort: Option<String>,
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

/// A query parameter holding a GraphQL input value as JSON, parsed as that
/// input type (400 naming the parameter).
fn json_param<T: InputType>(name: &str, text: Option<&str>) -> AppResult<(Option<T>, serde_json::Value)> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((None, serde_json::Value::Null));
    };
    let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| AppError::validation(name, format!("not JSON: {e}")))?;
    let value = async_graphql::Value::from_json(raw.clone()).map_err(|e| AppError::validation(name, e.to_string()))?;
    let parsed = T::parse(Some(value)).map_err(|e| {
        AppError::validation(name, format!("not {}: {}", T::type_name(), e.into_server_error(Default::default()).message))
    })?;
    Ok((Some(parsed), raw))
}

/// Checks the caller, the filter and the sort, audits the export, and
/// returns the streaming body.
async fn start(state: &AppState, caller: &Caller, params: ExportParams) -> AppResult<Body> {
    caller.require_admin()?;
    let (filter, raw_filter) = json_param::<IdvSessionFilter>("filter", params.filter.as_deref())?;
    let (sort, raw_sort) = json_param::<Sort>("sort", params.sort.as_deref())?;
    let (list_filter, extras) = idv_list_filters(state, caller, filter.unwrap_or_default()).await?;
    let filters = dashboard::idv_condition(&state.db, &list_filter, &extras, chrono::Utc::now()).await?;
    let raw_filter = if raw_filter.is_null() { serde_json::json!({}) } else { raw_filter };
    let detail = serde_json::json!({ "filter": raw_filter, "sort": raw_sort });
    audit::record(&state.db, &caller.actor, "idv_session.export", None, caller.ip.clone(), Some(detail)).await?;
    Ok(Body::from_stream(rows(state.db.clone(), filters, sort.into())))
}

/// Where the stream is: before the header, after a key, or done.
enum Cursor {
    Start,
    After(Option<dashboard::ListKey>),
    Done,
}

fn rows(
    db: DatabaseConnection,
    filters: dashboard::IdvWhere,
    sort: dashboard::Sort,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::unfold(Cursor::Start, move |cursor| {
        let (db, filters) = (db.clone(), filters.clone());
        async move {
            let after = match cursor {
                Cursor::Start => return Some((Ok(Bytes::from_static(HEADER.as_bytes())), Cursor::After(None))),
                Cursor::After(after) => after,
                Cursor::Done => return None,
            };
            match dashboard::idv_export_batch(&db, &filters, sort, after.as_ref(), BATCH).await {
                Ok((batch, next)) => {
                    let mut out = String::new();
                    for row in &batch {
                        line(&mut out, row);
                    }
                    Some((Ok(Bytes::from(out)), next.map_or(Cursor::Done, |n| Cursor::After(Some(n)))))
                }
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

fn line(out: &mut String, s: &dashboard::ExportRow) {
    let fields = [
        s.id.clone(),
        s.created_at.to_rfc3339(),
        s.completed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        s.status.clone(),
        dashboard::verdict_of(s.verified, s.review_required).to_string(),
        s.score.map(|v| format!("{v:.4}")).unwrap_or_default(),
        s.first_name.clone().unwrap_or_default(),
        s.last_name.clone().unwrap_or_default(),
        s.document_type.clone(),
        s.user_id.clone().unwrap_or_default(),
        s.liveness_provider.clone(),
        s.ofac_status.clone(),
        dashboard::top_reason(s.reasons.as_ref()).unwrap_or_default(),
        s.failed_checks.clone().unwrap_or_default(),
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
