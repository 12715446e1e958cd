//! Session history: every state change and SDK step appends an event.
//! Webhook events hang off the same call, in the same transaction
//! ([`crate::service::outbox::on_history_event`]), so the outbox never
//! disagrees with the history.

use chrono::{DateTime, Utc};
use entity::session_event;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::ids::new_id;

pub use crate::domain::SessionKind;

pub use crate::domain::history_events::{RESUBMISSION_REQUESTED, REVIEWED};

/// One history entry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    /// What happened (`created`, `consent`, `document_front_added`, `finalized`, ...).
    pub event: String,
    /// The endpoint (or `system` for background changes) that caused it.
    pub endpoint: String,
    pub at: DateTime<Utc>,
}

pub async fn append(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    event: &str,
    endpoint: &str,
    detail: Option<serde_json::Value>,
) -> AppResult<()> {
    let webhook = detail.clone();
    append_with_webhook_detail(db, kind, client_id, session_id, event, endpoint, detail, webhook.as_ref()).await
}

/// [`append`] where the webhook events read a detail other than the one
/// stored: a secret the integrator must receive (a capture link's URL)
/// never rests in the history.
#[allow(clippy::too_many_arguments)]
pub async fn append_with_webhook_detail(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    event: &str,
    endpoint: &str,
    detail: Option<serde_json::Value>,
    webhook_detail: Option<&serde_json::Value>,
) -> AppResult<()> {
    session_event::Entity::insert(session_event::ActiveModel {
        id: Set(new_id()),
        client_id: Set(client_id.to_string()),
        session_kind: Set(kind.as_str().to_string()),
        session_id: Set(session_id.to_string()),
        event: Set(event.to_string()),
        endpoint: Set(endpoint.to_string()),
        at: Set(Utc::now()),
        detail: Set(detail),
    })
    .exec_without_returning(db)
    .await?;
    crate::service::outbox::on_history_event_with(db, kind, client_id, session_id, event, webhook_detail).await
}

pub async fn list(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<Vec<HistoryItem>> {
    Ok(session_event::Entity::find()
        .filter(session_event::Column::ClientId.eq(client_id))
        .filter(session_event::Column::SessionId.eq(session_id))
        .order_by_asc(session_event::Column::At)
        .order_by_asc(session_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| HistoryItem { event: e.event, endpoint: e.endpoint, at: e.at })
        .collect())
}
