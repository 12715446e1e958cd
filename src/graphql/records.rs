//! Top-level lookups beside the dashboard lists: the webhook delivery log as
//! a connection, and single documents and stored requirement rows by id.
//! Tenant-scoped like every resolver: another client's id is `null`.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::*;
use super::{Caller, GqlResultExt};
use crate::error::{AppError, AppResult};
use crate::service::{audit, documents, outbox, requirements};
use crate::state::AppState;

/// The part of the query root defined here (merged into `QueryRoot`).
#[derive(Default)]
pub struct RecordQuery;

/// A delivery's state.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Being sent right now.
    Sending,
    Delivered,
    /// Given up (schedule exhausted, 410, or the endpoint disabled / deleted).
    Failed,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => outbox::status::PENDING,
            DeliveryStatus::Sending => outbox::status::SENDING,
            DeliveryStatus::Delivered => outbox::status::DELIVERED,
            DeliveryStatus::Failed => outbox::status::FAILED,
        }
    }
}

/// The REST delivery log filters.
#[derive(InputObject, Default, Debug)]
pub struct WebhookDeliveryFilter {
    /// Deliveries to this registered endpoint.
    pub webhook_id: Option<String>,
    pub session_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    /// `session.completed`, `identity.verified`, `webhook.test`, ...
    pub event_type: Option<String>,
}

/// A stored requirements row: the flags one scope keeps for one (document
/// type, data source).
#[derive(SimpleObject)]
pub struct StoredRequirement {
    pub id: String,
    pub client_id: Option<String>,
    /// Set when the row applies to one user of the client only.
    pub user_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(flatten)]
    pub requirement: Requirement,
}

fn none_when_not_found<T>(r: AppResult<T>) -> async_graphql::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(super::gql_error(e)),
    }
}

fn ctx_parts<'a>(ctx: &Context<'a>) -> (&'a AppState, &'a Caller) {
    (ctx.data_unchecked::<AppState>(), ctx.data_unchecked::<Caller>())
}

#[Object]
impl RecordQuery {
    /// The client's webhook delivery log, newest first.
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<WebhookDeliveryFilter>,
    ) -> async_graphql::Result<Conn<WebhookDelivery>> {
        let (state, caller) = ctx_parts(ctx);
        let page = PageArgs { first, after, last, before }.page().gql()?;
        let f = filter.unwrap_or_default();
        let service_filter = outbox::DeliveryFilter {
            webhook_id: f.webhook_id,
            session_id: f.session_id,
            status: f.status.map(|s| s.as_str().to_string()),
            event_type: f.event_type,
        };
        let found = outbox::list_deliveries(&state.db, &caller.client_id, service_filter, page)
            .await
            .map(|(logs, total)| (logs.into_iter().map(|l| l.delivery).collect::<Vec<_>>(), total));
        into_connection(found, page, WebhookDelivery)
    }

    /// One document of the caller's client; `null` for any other id. A
    /// found document is a view of personal data: audited (`document.view`).
    async fn document(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Document>> {
        let (state, caller) = ctx_parts(ctx);
        let found = none_when_not_found(documents::find_in_scope(&state.db, &caller.scope(), &id).await)?;
        if let Some(d) = &found {
            audit::record(&state.db, &caller.actor, "document.view", Some(("document", &d.id)), caller.ip.clone(), None)
                .await
                .gql()?;
        }
        Ok(found.map(Document))
    }

    /// One stored requirements row of the caller's client; `null` for any
    /// other id. (The requirements in force, stored or default: `requirements`.)
    async fn requirement(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<StoredRequirement>> {
        let (state, caller) = ctx_parts(ctx);
        let found = none_when_not_found(requirements::find(&state.db, &caller.client_id, &id).await)?;
        Ok(found.map(|m| StoredRequirement {
            id: m.id.clone(),
            client_id: m.client_id.clone(),
            user_id: m.user_id.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            requirement: requirements::RequirementSet::from_model(&m).into(),
        }))
    }
}
