//! Read-only fields. Every resolver filters by the caller's client (the
//! platform operator may name other clients in `clientIds`, as in REST).

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::Utc;

use super::types::*;
use super::{Caller, CallerRole, GqlResultExt};
use crate::error::{AppError, AppResult};
use crate::service::types::{DataSource, DocumentType, parse_date_bound};
use crate::service::{dashboard, ida, identities, idv, requirements, tenancy, webhooks, weights};
use crate::state::AppState;

pub struct QueryRoot;

fn ctx_parts<'a>(ctx: &Context<'a>) -> (&'a AppState, &'a Caller) {
    (ctx.data_unchecked::<AppState>(), ctx.data_unchecked::<Caller>())
}

/// The client ids a list may read: the caller's, or (platform operator) the named ones.
async fn list_clients(state: &AppState, caller: &Caller, requested: Option<Vec<String>>) -> AppResult<Vec<String>> {
    tenancy::list_clients(&state.db, &caller.client_id, caller.is_platform, requested.unwrap_or_default()).await
}

/// A list filter of ids, refused (400, naming the field) when too long.
fn gql_id_list(field: &str, ids: Option<Vec<String>>) -> async_graphql::Result<Vec<String>> {
    let ids = ids.unwrap_or_default();
    crate::service::types::check_id_list(field, &ids).gql()?;
    Ok(ids)
}

fn metadata_pairs(pairs: Option<Vec<MetadataPair>>) -> Vec<(String, String)> {
    pairs.unwrap_or_default().into_iter().map(|p| (p.key, p.value)).collect()
}

/// The REST session list filters, plus the verdict.
#[derive(InputObject, Default, Debug)]
pub struct IdvSessionFilter {
    /// Other clients: platform operator only.
    pub client_ids: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub identity_ids: Option<Vec<String>>,
    pub status: Option<SessionStatus>,
    pub verdict: Option<Verdict>,
    /// Words, each the start of a name, the session, identity or user id, or
    /// a metadata or SDK metadata value (case-insensitive); or a whole
    /// document number (letters and digits, separators ignored). Answered
    /// from the search index (docs/admin-ui.md).
    pub search_term: Option<String>,
    /// Created at or after (RFC 3339 or YYYY-MM-DD).
    pub start_date: Option<String>,
    /// Created at or before (RFC 3339 or YYYY-MM-DD, the whole day).
    pub end_date: Option<String>,
    /// Every pair must match exactly.
    pub metadata: Option<Vec<MetadataPair>>,
    /// Sessions with a failed result of this check (`liveness`, `ofac`, ...).
    pub failing_check: Option<String>,
    /// `true`: the sanctions screening found a hit; `false`: screened clear.
    pub sanctions_hit: Option<bool>,
    /// `driver_license`, `identification_card`, `passport`, `passport_card`.
    pub document_type: Option<String>,
    /// `local` or `azure`.
    pub liveness_provider: Option<String>,
}

/// The dashboard session list's filters, validated (400 naming the field)
/// and scoped to the clients the caller may read; shared by the list and
/// its CSV export.
pub async fn idv_list_filters(
    state: &AppState,
    caller: &Caller,
    f: IdvSessionFilter,
) -> AppResult<(idv::ListFilter, dashboard::IdvListExtras)> {
    let failing_check = f.failing_check.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if let Some(c) = &failing_check {
        let known_shape = c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !known_shape {
            return Err(AppError::validation("failingCheck", "must be a check name such as liveness or ofac"));
        }
    }
    let document_type = f
        .document_type
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|v| DocumentType::parse_field("documentType", v))
        .transpose()?;
    let liveness_provider = f
        .liveness_provider
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|v| crate::service::types::LivenessProvider::parse_field("livenessProvider", v))
        .transpose()?;
    crate::service::types::check_id_list("userIds", f.user_ids.as_deref().unwrap_or_default())?;
    crate::service::types::check_id_list("identityIds", f.identity_ids.as_deref().unwrap_or_default())?;
    let list_filter = idv::ListFilter {
        client_ids: list_clients(state, caller, f.client_ids).await?,
        user_ids: f.user_ids.unwrap_or_default(),
        identity_ids: f.identity_ids.unwrap_or_default(),
        status: f.status.map(Into::into),
        search_term: f.search_term,
        start: parse_date_bound("startDate", f.start_date.as_deref(), false)?,
        end: parse_date_bound("endDate", f.end_date.as_deref(), true)?,
        metadata: metadata_pairs(f.metadata),
        review_required: None,
    };
    let extras = dashboard::IdvListExtras {
        verdict: f.verdict.map(Into::into),
        failing_check,
        sanctions_hit: f.sanctions_hit,
        document_type,
        liveness_provider: liveness_provider.map(|p| p.as_str().to_string()),
    };
    Ok((list_filter, extras))
}

/// The REST IDA list filters.
#[derive(InputObject, Default, Debug)]
pub struct IdaSessionFilter {
    pub client_ids: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub identity_ids: Option<Vec<String>>,
    pub status: Option<SessionStatus>,
    /// `true`: authenticated; `false`: every other session.
    pub verified: Option<bool>,
    pub search_term: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub metadata: Option<Vec<MetadataPair>>,
}

/// The REST identity list filters, plus `verified`.
#[derive(InputObject, Default, Debug)]
pub struct IdentityFilter {
    pub client_ids: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub verified: Option<bool>,
    /// Every word must occur in a name, the id, external id, email, phone or a metadata value.
    pub search_term: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub metadata: Option<Vec<MetadataPair>>,
}

/// Who is asking.
#[derive(SimpleObject)]
pub struct Me {
    pub client_id: String,
    pub user_id: Option<String>,
    pub role: CallerRole,
    pub is_platform: bool,
    pub can_mutate: bool,
}

/// A client (tenant) as the dashboard's client selector shows it.
#[derive(SimpleObject)]
pub struct ClientSummary {
    pub id: String,
    pub name: String,
    pub is_platform: bool,
}

/// An audit row for a detail view of personal data.
async fn audit_view(state: &AppState, caller: &Caller, action: &str, target: (&str, &str)) -> async_graphql::Result<()> {
    let first_time = caller.audited.lock().map(|mut seen| seen.insert(format!("{action}/{}", target.1))).unwrap_or(true);
    if !first_time {
        return Ok(());
    }
    crate::service::audit::record(&state.db, &caller.actor, action, Some(target), caller.ip.clone(), None).await.gql()
}

/// Fills `createdByName` of weights versions (one statement).
async fn with_author_names(state: &AppState, caller: &Caller, mut versions: Vec<WeightsVersion>) -> AppResult<Vec<WeightsVersion>> {
    let authors: Vec<String> = versions.iter().filter_map(|v| v.created_by.clone()).collect();
    let names = weights::author_names(&state.db, caller.tenant(), &authors).await?;
    for v in &mut versions {
        v.created_by_name = v.created_by.as_ref().and_then(|c| names.get(c).cloned());
    }
    Ok(versions)
}

fn none_when_not_found<T>(r: AppResult<T>) -> async_graphql::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(super::gql_error(e)),
    }
}

#[Object]
impl QueryRoot {
    async fn me(&self, ctx: &Context<'_>) -> Me {
        let (_, c) = ctx_parts(ctx);
        Me {
            client_id: c.client_id.clone(),
            user_id: c.user_id.clone(),
            role: c.role,
            is_platform: c.is_platform,
            can_mutate: c.require_admin().is_ok(),
        }
    }

    /// The clients the caller may name in `clientIds` filters: every client
    /// for the platform operator, else only the caller's own.
    async fn clients(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ClientSummary>> {
        let (state, c) = ctx_parts(ctx);
        let rows = tenancy::visible_clients(&state.db, &c.client_id, c.is_platform).await.gql()?;
        Ok(rows.into_iter().map(|m| ClientSummary { id: m.id, name: m.name, is_platform: m.is_platform }).collect())
    }

    /// IDV sessions, newest first unless sorted otherwise. `totalCount` is
    /// exact up to 1,000 sessions (see `totalCountExact`).
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn idv_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<IdvSessionFilter>,
        sort: Option<Sort>,
    ) -> async_graphql::Result<IdvConn> {
        let (state, caller) = ctx_parts(ctx);
        let paging = PageArgs { first, after, last, before };
        let sort: dashboard::Sort = sort.into();
        // A keyed cursor of this sort seeks: `first` after it, `last` before it.
        let (page, seek) = paging.idv_page(sort).gql()?;
        let (list_filter, extras) = idv_list_filters(state, caller, filter.unwrap_or_default()).await.gql()?;
        let found = dashboard::idv_page(&state.db, &list_filter, &extras, sort, page, seek.as_ref()).await.gql()?;
        prefetch_idv_page(ctx, &found.rows).await?;
        Ok(idv_connection(found, sort))
    }

    /// IDA (re-authentication) sessions, newest first unless sorted
    /// otherwise (`SCORE` sorts by face distance).
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn ida_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<IdaSessionFilter>,
        sort: Option<Sort>,
    ) -> async_graphql::Result<Conn<IdaSession>> {
        let (state, caller) = ctx_parts(ctx);
        let page = PageArgs { first, after, last, before }.page().gql()?;
        let f = filter.unwrap_or_default();
        let list_filter = ida::ListFilter {
            client_ids: list_clients(state, caller, f.client_ids).await.gql()?,
            user_ids: gql_id_list("userIds", f.user_ids)?,
            identity_ids: gql_id_list("identityIds", f.identity_ids)?,
            status: f.status.map(Into::into),
            verified: f.verified,
            search_term: f.search_term,
            start: parse_date_bound("startDate", f.start_date.as_deref(), false).gql()?,
            end: parse_date_bound("endDate", f.end_date.as_deref(), true).gql()?,
            metadata: metadata_pairs(f.metadata),
        };
        let (rows, total) = dashboard::ida_page(&state.db, &list_filter, sort.into(), page, Utc::now()).await.gql()?;
        prefetch_ida_page(ctx, &rows).await?;
        Ok(connection(rows, total, page, IdaSession))
    }

    /// Live identities, newest first unless sorted otherwise.
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn identities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<IdentityFilter>,
        sort: Option<Sort>,
    ) -> async_graphql::Result<Conn<Identity>> {
        let (state, caller) = ctx_parts(ctx);
        let page = PageArgs { first, after, last, before }.page().gql()?;
        let f = filter.unwrap_or_default();
        let client_ids = list_clients(state, caller, f.client_ids).await.gql()?;
        let service_filter = identities::IdentityFilter {
            user_ids: gql_id_list("userIds", f.user_ids)?,
            search_term: f.search_term,
            start: parse_date_bound("startDate", f.start_date.as_deref(), false).gql()?,
            end: parse_date_bound("endDate", f.end_date.as_deref(), true).gql()?,
            metadata: metadata_pairs(f.metadata),
        };
        let (rows, total) =
            dashboard::identity_page(&state.db, &client_ids, &service_filter, f.verified, sort.into(), page).await.gql()?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        prefetch_identity_relations(ctx, &ids, &[]).await?;
        Ok(connection(rows, total, page, Identity))
    }

    /// One IDV session of the caller's client (the platform operator: of
    /// any client); `null` for any other id.
    /// A found session is a view of personal data: audited (`idv_session.view`).
    async fn idv_session(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<IdvSession>> {
        let (state, caller) = ctx_parts(ctx);
        let found = none_when_not_found(idv::find_in_scope(&state.db, &caller.scope(), &id).await)?;
        if let Some(s) = &found {
            audit_view(state, caller, "idv_session.view", ("idv_session", &s.id)).await?;
        }
        Ok(found.map(IdvSession))
    }

    /// One IDA session of the caller's client (the platform operator: of
    /// any client); `null` for any other id (audited as `ida_session.view`).
    async fn ida_session(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<IdaSession>> {
        let (state, caller) = ctx_parts(ctx);
        let found = none_when_not_found(ida::find_in_scope(&state.db, &caller.scope(), &id).await)?;
        if let Some(s) = &found {
            audit_view(state, caller, "ida_session.view", ("ida_session", &s.id)).await?;
        }
        Ok(found.map(IdaSession))
    }

    /// One live identity of the caller's client (the platform operator: of
    /// any client); `null` for any other id (audited as `identity.view`).
    async fn identity(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Identity>> {
        let (state, caller) = ctx_parts(ctx);
        let found = identities::find_live_in_scope(&state.db, &caller.scope(), &id).await.gql()?;
        if let Some(i) = &found {
            audit_view(state, caller, "identity.view", ("identity", &i.id)).await?;
        }
        Ok(found.map(Identity))
    }

    /// The weights versions written for (client, user) — exactly that scope —
    /// newest first (at most `first`, default 20); the platform defaults for
    /// the platform operator naming neither. When they all fit, the version
    /// the scope falls back to comes last (a client's: the platform default).
    async fn weights_versions(
        &self,
        ctx: &Context<'_>,
        client_id: Option<String>,
        user_id: Option<String>,
        #[graphql(default = 20)] first: u32,
    ) -> async_graphql::Result<Vec<WeightsVersion>> {
        let (state, caller) = ctx_parts(ctx);
        let limit = u64::from(first.clamp(1, 500));
        let rows = weights::list_versions(&state.db, caller.tenant(), client_id.as_deref(), user_id.as_deref(), limit)
            .await
            .gql()?;
        with_author_names(state, caller, rows.into_iter().map(Into::into).collect()).await.gql()
    }

    /// A weights version the caller may see (its client's or a platform default); `null` otherwise.
    async fn weights_version(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<WeightsVersion>> {
        let (state, caller) = ctx_parts(ctx);
        let Some(found) = none_when_not_found(weights::find_visible(&state.db, caller.tenant(), &id).await)? else {
            return Ok(None);
        };
        Ok(with_author_names(state, caller, vec![found.into()]).await.gql()?.pop())
    }

    /// The weights in force for (client, user): (client, user) → client → platform default.
    async fn weights_in_force(
        &self,
        ctx: &Context<'_>,
        client_id: Option<String>,
        user_id: Option<String>,
    ) -> async_graphql::Result<WeightsVersion> {
        let (state, caller) = ctx_parts(ctx);
        let w = weights::in_force_for(&state.db, caller.tenant(), client_id.as_deref(), user_id.as_deref()).await.gql()?;
        let mut named = with_author_names(state, caller, vec![w.into()]).await.gql()?;
        named.pop().ok_or_else(|| super::gql_error(AppError::internal("weights version lost")))
    }

    /// The requirements in force, per (document type, data source).
    async fn requirements(
        &self,
        ctx: &Context<'_>,
        client_id: Option<String>,
        user_id: Option<String>,
        document_type: Option<String>,
        data_source: Option<String>,
    ) -> async_graphql::Result<Vec<Requirement>> {
        let (state, caller) = ctx_parts(ctx);
        let doc_type = document_type.as_deref().map(|v| DocumentType::parse_field("documentType", v)).transpose().gql()?;
        let source = data_source.as_deref().map(|v| DataSource::parse_field("dataSource", v)).transpose().gql()?;
        let sets = requirements::list_for(&state.db, caller.tenant(), client_id.as_deref(), user_id.as_deref(), doc_type, source)
            .await
            .gql()?;
        Ok(sets.into_iter().map(Into::into).collect())
    }

    /// The client's webhook endpoints, newest first.
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        search_term: Option<String>,
    ) -> async_graphql::Result<Conn<Webhook>> {
        let (state, caller) = ctx_parts(ctx);
        let page = PageArgs { first, after, last, before }.page().gql()?;
        let found = webhooks::list(&state.db, &caller.client_id, page, search_term.as_deref()).await;
        into_connection(found, page, Webhook)
    }

    /// One webhook endpoint of the caller's client; `null` for any other id.
    async fn webhook(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Webhook>> {
        let (state, caller) = ctx_parts(ctx);
        Ok(none_when_not_found(webhooks::find(&state.db, &caller.client_id, &id).await)?.map(Webhook))
    }

    /// The client's API keys, newest first (dashboard users only).
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKey>> {
        let (state, caller) = ctx_parts(ctx);
        if caller.role == CallerRole::ApiKey {
            return Err(super::gql_error(AppError::Forbidden("API keys are listed to dashboard users only".into())));
        }
        Ok(tenancy::list_api_keys(&state.db, &caller.client_id).await.gql()?.into_iter().map(ApiKey).collect())
    }

    /// The client's audit log, newest first (dashboard users only).
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        action: Option<String>,
    ) -> async_graphql::Result<Conn<AuditLogEntry>> {
        let (state, caller) = ctx_parts(ctx);
        if caller.role == CallerRole::ApiKey {
            return Err(super::gql_error(AppError::Forbidden("the audit log is shown to dashboard users only".into())));
        }
        let page = PageArgs { first, after, last, before }.page().gql()?;
        let found = dashboard::audit_page(&state.db, &caller.client_id, action.as_deref(), page).await;
        into_connection(found, page, AuditLogEntry)
    }

    /// Aggregates over IDV sessions created in the window (default: all time).
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        client_ids: Option<Vec<String>>,
        start_date: Option<String>,
        end_date: Option<String>,
        #[graphql(default = 10)] top_failing_checks: u32,
    ) -> async_graphql::Result<DashboardStats> {
        let (state, caller) = ctx_parts(ctx);
        let window = dashboard::StatsWindow {
            client_ids: list_clients(state, caller, client_ids).await.gql()?,
            start: parse_date_bound("startDate", start_date.as_deref(), false).gql()?,
            end: parse_date_bound("endDate", end_date.as_deref(), true).gql()?,
        };
        let top = u64::from(top_failing_checks.min(100));
        let mut stats: DashboardStats = dashboard::stats(&state.db, &window, top).await.gql()?.into();
        stats.window = Some(window);
        Ok(stats)
    }

    /// Re-scores the client's most recent finalized sessions with proposed
    /// weights and verdict policy over their stored check results. Without
    /// `policy` the policy in force for the client is used; with it, every
    /// key is optional (absent keys take their default). Writes nothing.
    async fn what_if_rescore(
        &self,
        ctx: &Context<'_>,
        weights: WeightsValuesInput,
        policy: Option<async_graphql::Json<serde_json::Value>>,
        #[graphql(default = 100)] sessions: u32,
    ) -> async_graphql::Result<WhatIfResult> {
        let (state, caller) = ctx_parts(ctx);
        let limit = u64::from(sessions.clamp(1, 1000));
        let policy = match policy {
            Some(async_graphql::Json(p)) => crate::engine::policy::Policy::parse(p).gql()?,
            None => weights::policy_of(&weights::in_force(&state.db, &caller.client_id, None).await.gql()?),
        };
        Ok(dashboard::what_if_rescore(&state.db, &caller.client_id, &weights.values(), &policy, limit).await.gql()?.into())
    }

    /// What proposed requirements of one (document type, data source) would
    /// do to the caller's client's most recent finalized sessions of that
    /// type read from that source (at most `sessions` looked at): the fields
    /// each would lack and its verdict re-scored with the weights and policy
    /// it pinned. Absent flags keep their value in force. Writes nothing.
    async fn requirements_preview(
        &self,
        ctx: &Context<'_>,
        input: RequirementsInput,
        #[graphql(default = 100)] sessions: u32,
    ) -> async_graphql::Result<RequirementsPreview> {
        let (state, caller) = ctx_parts(ctx);
        let doc_type = DocumentType::parse_field("documentType", &input.document_type).gql()?;
        let source = DataSource::parse_field("dataSource", &input.data_source).gql()?;
        let in_force = requirements::effective(&state.db, &caller.client_id, None, doc_type, source).await.gql()?;
        let proposed = input.apply(in_force);
        let limit = u64::from(sessions.clamp(1, 1000));
        Ok(dashboard::requirements_preview(&state.db, &caller.client_id, &proposed, limit).await.gql()?.into())
    }

    /// The verdict policy's rules: key, default action, the checks each
    /// covers and what it means (for editors; docs/scoring.md explains the defaults).
    async fn policy_rules(&self) -> Vec<PolicyRule> {
        crate::engine::policy::Policy::catalogue().into_iter().map(PolicyRule::from).collect()
    }
}
