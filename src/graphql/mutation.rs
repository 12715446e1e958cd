//! Writes: the admin role only, through the same service functions as REST,
//! each in one transaction with its audit row.

use async_graphql::{Context, Object, SimpleObject};
use chrono::Utc;

use super::types::*;
use super::{Caller, GqlResultExt};
use crate::error::AppResult;
use crate::service::types::{DataSource, DocumentType};
use crate::service::webhooks::{Overlap, UrlPolicy, WebhookChanges, WebhookName, WebhookUrl};
use crate::service::{audit, documents, identities, outbox, requirements, tenancy, webhooks, weights};
use crate::state::AppState;

pub struct MutationRoot;

/// The state and caller, after checking the caller may mutate.
fn admin<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, &'a Caller)> {
    let caller = ctx.data_unchecked::<Caller>();
    caller.require_admin().gql()?;
    Ok((ctx.data_unchecked::<AppState>(), caller))
}

fn url_policy(state: &AppState) -> UrlPolicy {
    UrlPolicy::for_config(&state.config)
}

/// A webhook and its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// A new API key and its plaintext, shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub plaintext: String,
}

async fn record(
    db: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    action: &str,
    target: (&str, &str),
    detail: Option<serde_json::Value>,
) -> AppResult<()> {
    audit::record(db, &caller.actor, action, Some(target), caller.ip.clone(), detail).await
}

#[Object]
impl MutationRoot {
    /// Writes a new weights version for the caller's client (or `clientId`
    /// with the platform operator; `userId` for one user) and returns it.
    /// `policy` is the verdict policy (`{"dmv": "knock_out", ...}`; absent
    /// keys take their default); without it the version keeps the policy in
    /// force for the scope.
    async fn update_weights(
        &self,
        ctx: &Context<'_>,
        client_id: Option<String>,
        user_id: Option<String>,
        weights: WeightsValuesInput,
        policy: Option<async_graphql::Json<serde_json::Value>>,
        #[graphql(desc = "Why the weights change (stored with the version; the admin UI requires one).")]
        change_note: Option<String>,
    ) -> async_graphql::Result<WeightsVersion> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let policy = policy.map(|p| crate::engine::policy::Policy::parse(p.0)).transpose()?;
            let txn = crate::db::begin_write(&state.db).await?;
            let created_by = caller.user_id.as_ref().map(|u| format!("user:{u}"));
            let version = weights::create_version(
                &txn,
                caller.tenant(),
                client_id.as_deref(),
                user_id.as_deref(),
                weights.values(),
                policy,
                created_by,
            )
            .await?;
            let mut version = version;
            if let Some(note) = &change_note {
                version.change_note = Some(weights::set_change_note(&txn, &version.id, note).await?);
            }
            let detail = serde_json::json!({"client_id": version.client_id, "user_id": version.user_id, "change_note": version.change_note});
            record(&txn, caller, "weights.update", ("weights", &version.id), Some(detail)).await?;
            txn.commit().await?;
            Ok(version)
        };
        Ok(run.await.gql()?.into())
    }

    /// Stores the requirements of one (document type, data source); absent flags keep their value in force.
    async fn update_requirements(&self, ctx: &Context<'_>, input: RequirementsInput) -> async_graphql::Result<Requirement> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let doc_type = DocumentType::parse_field("documentType", &input.document_type)?;
            let source = DataSource::parse_field("dataSource", &input.data_source)?;
            let txn = crate::db::begin_write(&state.db).await?;
            let scope =
                weights::resolve_scope(&txn, caller.tenant(), input.client_id.as_deref(), input.user_id.as_deref()).await?;
            let current =
                requirements::effective(&txn, &scope.client_id, scope.user_id.as_deref(), doc_type, source).await?;
            let set = input.apply(current);
            let row = requirements::upsert(&txn, &scope, &set).await?;
            let detail = serde_json::json!({
                "client_id": row.client_id, "user_id": row.user_id, "type_e": row.r#type, "data_source_e": row.data_source,
            });
            record(&txn, caller, "requirements.update", ("requirement", &row.id), Some(detail)).await?;
            txn.commit().await?;
            Ok(set)
        };
        Ok(run.await.gql()?.into())
    }

    async fn create_webhook(&self, ctx: &Context<'_>, name: String, url: String) -> async_graphql::Result<WebhookWithSecret> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let name = WebhookName::parse(&name)?;
            let url = WebhookUrl::parse(&url, url_policy(state))?;
            let txn = crate::db::begin_write(&state.db).await?;
            let created = webhooks::create(&txn, state.storage.master_key(), &caller.client_id, name, url).await?;
            let detail = serde_json::json!({"url": created.model.url});
            record(&txn, caller, "webhook.create", ("webhook", &created.model.id), Some(detail)).await?;
            txn.commit().await?;
            Ok(created)
        };
        let created = run.await.gql()?;
        Ok(WebhookWithSecret { webhook: Webhook(created.model), secret: created.secret })
    }

    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: String,
        name: Option<String>,
        url: Option<String>,
        enabled: Option<bool>,
    ) -> async_graphql::Result<Webhook> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let changes = WebhookChanges {
                name: name.as_deref().map(WebhookName::parse).transpose()?,
                url: url.as_deref().map(|u| WebhookUrl::parse(u, url_policy(state))).transpose()?,
                enabled,
            };
            let detail = serde_json::json!({"fields": changes.field_names()});
            let txn = crate::db::begin_write(&state.db).await?;
            let updated = webhooks::update(&txn, &caller.client_id, &id, changes).await?;
            record(&txn, caller, "webhook.update", ("webhook", &updated.id), Some(detail)).await?;
            txn.commit().await?;
            Ok(updated)
        };
        Ok(Webhook(run.await.gql()?))
    }

    /// Deletes an endpoint; `true` when done (another client's id is `not_found`).
    async fn delete_webhook(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<bool> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            webhooks::delete(&txn, &caller.client_id, &id).await?;
            record(&txn, caller, "webhook.delete", ("webhook", &id), None).await?;
            txn.commit().await?;
            Ok(true)
        };
        run.await.gql()
    }

    /// Replaces the signing secret; the old one stays valid for `overlapHours` (default 24, at most 168).
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: String,
        overlap_hours: Option<u32>,
    ) -> async_graphql::Result<WebhookWithSecret> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let overlap = Overlap::hours(overlap_hours)?;
            let txn = crate::db::begin_write(&state.db).await?;
            let (hook, secret) =
                webhooks::rotate_secret(&txn, state.storage.master_key(), &caller.client_id, &id, overlap).await?;
            let detail = serde_json::json!({"previous_secret_expires_at": hook.previous_secret_expires_at});
            record(&txn, caller, "webhook.rotate_secret", ("webhook", &hook.id), Some(detail)).await?;
            txn.commit().await?;
            Ok((hook, secret))
        };
        let (hook, secret) = run.await.gql()?;
        Ok(WebhookWithSecret { webhook: Webhook(hook), secret })
    }

    /// Queues a `webhook.test` event for the endpoint.
    async fn send_webhook_test(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<WebhookDelivery> {
        let (state, caller) = admin(ctx)?;
        Ok(WebhookDelivery(webhooks::queue_test_event(&state.db, &caller.client_id, &id).await.gql()?))
    }

    /// Queues a delivery again (as REST `webhook/delivery/redeliver`).
    async fn redeliver_webhook_delivery(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<WebhookDelivery> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            let delivery = outbox::redeliver(&txn, &caller.client_id, &id).await?;
            record(&txn, caller, "webhook.redeliver", ("webhook_delivery", &delivery.id), None).await?;
            txn.commit().await?;
            Ok(delivery)
        };
        Ok(WebhookDelivery(run.await.gql()?))
    }

    /// Creates an API key of the caller's client; the plaintext is shown once.
    /// `scope`: `read_only`, `integrator` or `admin` (default `admin`).
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        scope: Option<String>,
    ) -> async_graphql::Result<CreatedApiKey> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let scope = scope.as_deref().map(|s| tenancy::KeyScope::parse("scope", s)).transpose()?;
            let txn = crate::db::begin_write(&state.db).await?;
            let created = tenancy::create_api_key_with_scope(
                &txn,
                &caller.client_id,
                None,
                name.as_deref(),
                scope,
                tenancy::KeyScope::Admin,
            )
            .await?;
            record(&txn, caller, "api_key.create", ("api_key", &created.model.id), None).await?;
            txn.commit().await?;
            Ok(created)
        };
        let created = run.await.gql()?;
        Ok(CreatedApiKey { api_key: ApiKey(created.model), plaintext: created.plaintext })
    }

    async fn revoke_api_key(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<ApiKey> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            let key = tenancy::revoke_api_key(&txn, &caller.client_id, &id).await?;
            record(&txn, caller, "api_key.revoke", ("api_key", &key.id), None).await?;
            txn.commit().await?;
            Ok(key)
        };
        Ok(ApiKey(run.await.gql()?))
    }

    /// Erases an identity's PII and images (as REST `identity/delete`); `true` when done.
    async fn erase_identity(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<bool> {
        let (state, caller) = admin(ctx)?;
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            let erased = identities::erase(&txn, &caller.client_id, &id, Utc::now()).await?;
            let detail = serde_json::to_value(&erased).ok();
            record(&txn, caller, "identity.erase", ("identity", &id), detail).await?;
            txn.commit().await?;
            Ok(erased)
        };
        let erased = run.await.gql()?;
        documents::delete_blobs(&state.storage, &erased.blob_keys).await;
        Ok(true)
    }
}
