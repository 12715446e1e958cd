//! Check results: one row per check per session. Engines that do not exist
//! (yet) or cannot run record `unavailable` with the reason, never a pass.

use chrono::Utc;
use entity::{check_result, idv_session};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::error::AppResult;
use crate::ids::new_id;
use crate::service::history::SessionKind;
use crate::service::types::CheckStatus;

pub use crate::domain::checks::names;

/// A check outcome to record.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: CheckStatus,
    pub score: Option<f64>,
    pub detail: Option<String>,
    pub evidence: Option<serde_json::Value>,
    pub engine_version: Option<String>,
}

impl Outcome {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self { status: CheckStatus::Unavailable, score: None, detail: Some(reason.into()), evidence: None, engine_version: None }
    }

    pub fn pass(score: f64, detail: impl Into<String>) -> Self {
        Self { status: CheckStatus::Pass, score: Some(score), detail: Some(detail.into()), evidence: None, engine_version: None }
    }

    pub fn fail(score: f64, detail: impl Into<String>) -> Self {
        Self { status: CheckStatus::Fail, score: Some(score), detail: Some(detail.into()), evidence: None, engine_version: None }
    }
}

/// Inserts or replaces the row for (session, check).
pub async fn record(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    check_name: &str,
    outcome: Outcome,
) -> AppResult<()> {
    let now = Utc::now();
    check_result::Entity::insert(check_result::ActiveModel {
        id: Set(new_id()),
        client_id: Set(client_id.to_string()),
        session_kind: Set(kind.as_str().to_string()),
        session_id: Set(session_id.to_string()),
        check_name: Set(check_name.to_string()),
        status: Set(outcome.status.as_str().to_string()),
        score: Set(outcome.score),
        detail: Set(outcome.detail),
        evidence: Set(outcome.evidence),
        engine_version: Set(outcome.engine_version),
        created_at: Set(now),
        updated_at: Set(now),
        session_score: Set(None),
        session_status: Set(None),
    })
    .on_conflict(
        OnConflict::columns([check_result::Column::SessionId, check_result::Column::CheckName])
            .update_columns([
                check_result::Column::Status,
                check_result::Column::Score,
                check_result::Column::Detail,
                check_result::Column::Evidence,
                check_result::Column::EngineVersion,
                check_result::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if kind == SessionKind::Idv {
        copy_session_keys(db, session_id, check_name).await?;
    }
    Ok(())
}

/// Copies an IDV session's current score and status into its result of
/// one check, where the failing-check indexes sort by them
/// (`check_result.session_score`, `session_status`). A check row is
/// written with them here; a change of the session's score or status is
/// copied into all of its results by a trigger on `idv_session` in the
/// statement that makes it (migration `m20261206_000110`).
async fn copy_session_keys(db: &impl ConnectionTrait, session_id: &str, check_name: &str) -> AppResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr, SubQueryStatement};
    let of_session = |column: idv_session::Column| {
        let select = Query::select()
            .column((idv_session::Entity, column))
            .from(idv_session::Entity)
            .and_where(Expr::col((idv_session::Entity, idv_session::Column::Id)).eq(session_id))
            .to_owned();
        SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select)))
    };
    check_result::Entity::update_many()
        .col_expr(check_result::Column::SessionScore, of_session(idv_session::Column::Score))
        .col_expr(check_result::Column::SessionStatus, of_session(idv_session::Column::Status))
        .filter(check_result::Column::SessionId.eq(session_id))
        .filter(check_result::Column::SessionKind.eq(SessionKind::Idv.as_str()))
        .filter(check_result::Column::CheckName.eq(check_name))
        .exec(db)
        .await?;
    Ok(())
}

/// Records `unavailable` only when the check has no row yet.
pub async fn record_if_absent(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    check_name: &str,
    outcome: Outcome,
) -> AppResult<()> {
    let exists = check_result::Entity::find()
        .filter(check_result::Column::SessionId.eq(session_id))
        .filter(check_result::Column::CheckName.eq(check_name))
        .one(db)
        .await?
        .is_some();
    if !exists {
        record(db, kind, client_id, session_id, check_name, outcome).await?;
    }
    Ok(())
}

pub async fn for_session(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<Vec<check_result::Model>> {
    Ok(check_result::Entity::find()
        .filter(check_result::Column::ClientId.eq(client_id))
        .filter(check_result::Column::SessionId.eq(session_id))
        .order_by_asc(check_result::Column::CheckName)
        .all(db)
        .await?)
}
