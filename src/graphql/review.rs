//! Manual review on GraphQL: the queue, a case with what a reviewer needs
//! to decide, the figures and the settings (queries, merged into `Query`);
//! assign, note, decide, confirm, ask for a new capture (the reviewer and
//! admin roles) and flag a session or change the settings (admin) —
//! mutations merged into `MutationRoot`. Tenant-scoped like every
//! resolver: another client's case is `null`.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{document_reading, review_attachment, review_case, review_decision, review_note, sanctions_entry};

use super::loaders::{AttachmentsOfNote, DecisionsOfCase, IdentityById, IdvSessionById, NotesOfCase, UserById};
use super::types::*;
use super::{Caller, GqlResultExt};
use crate::error::AppError;
use crate::service::review::cases::{self, AssigneeFilter, CaseFilter, ReviewStats as Stats};
use crate::service::review::attachments;
use crate::service::review::decisions::{self, DecisionInput, ResubmissionLink};
use crate::service::review::settings::{self, ReviewSettings as Settings, SettingsChanges};
use crate::service::review::{self as review, CaseReason, Priority, ReviewAction, ReviewActor, evidence};
use crate::service::tenancy;
use crate::state::AppState;

fn parts<'a>(ctx: &Context<'a>) -> (&'a AppState, &'a Caller) {
    (ctx.data_unchecked::<AppState>(), ctx.data_unchecked::<Caller>())
}

/// The acting person of a review mutation (reviewer or admin).
fn reviewer<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, &'a Caller, ReviewActor)> {
    let (state, caller) = parts(ctx);
    caller.require_reviewer().gql()?;
    let user_id = caller.user_id.as_deref().ok_or_else(|| super::gql_error(AppError::Forbidden("a person must act".into())))?;
    Ok((state, caller, ReviewActor::user(&caller.client_id, user_id, caller.ip.clone())))
}

/// A case's state.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReviewCaseState {
    Open,
    InReview,
    Decided,
}

impl ReviewCaseState {
    fn as_str(self) -> &'static str {
        match self {
            ReviewCaseState::Open => review::state::OPEN,
            ReviewCaseState::InReview => review::state::IN_REVIEW,
            ReviewCaseState::Decided => review::state::DECIDED,
        }
    }

    fn from_db(s: &str) -> Self {
        match s {
            review::state::IN_REVIEW => ReviewCaseState::InReview,
            review::state::DECIDED => ReviewCaseState::Decided,
            _ => ReviewCaseState::Open,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReviewPriority")]
pub enum GqlPriority {
    Low,
    Normal,
    High,
}

impl From<Priority> for GqlPriority {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Low => GqlPriority::Low,
            Priority::Normal => GqlPriority::Normal,
            Priority::High => GqlPriority::High,
        }
    }
}

impl From<GqlPriority> for Priority {
    fn from(p: GqlPriority) -> Self {
        match p {
            GqlPriority::Low => Priority::Low,
            GqlPriority::Normal => Priority::Normal,
            GqlPriority::High => Priority::High,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReviewAction")]
pub enum GqlAction {
    Approve,
    Reject,
}

impl From<GqlAction> for ReviewAction {
    fn from(a: GqlAction) -> Self {
        match a {
            GqlAction::Approve => ReviewAction::Approve,
            GqlAction::Reject => ReviewAction::Reject,
        }
    }
}

/// One reason that opened a case.
#[derive(SimpleObject)]
pub struct ReviewReason {
    /// The check (`ofac`, `name_crosscheck`, `manual` for a flag, ...).
    pub check: String,
    pub code: String,
    pub message: String,
}

impl From<CaseReason> for ReviewReason {
    fn from(r: CaseReason) -> Self {
        Self { check: r.check, code: r.code, message: r.message }
    }
}

/// A dashboard user as the review pages show them.
#[derive(SimpleObject)]
pub struct ReviewUser {
    pub id: String,
    pub email: String,
    pub role: String,
}

impl From<entity::user::Model> for ReviewUser {
    fn from(u: entity::user::Model) -> Self {
        Self { id: u.id, email: u.email, role: u.role }
    }
}

/// A decision: never edited; a correction is a newer decision.
pub struct ReviewDecision(pub review_decision::Model);

#[Object]
impl ReviewDecision {
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// `approve` or `reject`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn reason_code(&self) -> &str {
        &self.0.reason_code
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// `user` or `api_key`.
    async fn decided_by_kind(&self) -> &str {
        &self.0.actor_kind
    }
    async fn decided_by(&self) -> &str {
        &self.0.actor_id
    }
    /// The deciding user's email (`null` for an API key without a user).
    async fn decided_by_email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        email_of(ctx, &self.0.actor_kind, &self.0.actor_id).await
    }
    /// `pending` (four-eyes: waiting for a second person), `effective` or `declined`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn confirmed_by(&self) -> Option<&str> {
        self.0.confirmed_by.as_deref()
    }
    async fn confirmed_by_email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        match (&self.0.confirmed_by_kind, &self.0.confirmed_by) {
            (Some(k), Some(id)) => email_of(ctx, k, id).await,
            _ => Ok(None),
        }
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
    async fn supersedes_id(&self) -> Option<&str> {
        self.0.supersedes_id.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

async fn email_of(ctx: &Context<'_>, kind: &str, id: &str) -> async_graphql::Result<Option<String>> {
    if kind != "user" {
        return Ok(None);
    }
    Ok(loader(ctx).load_one(UserById(id.to_string())).await?.flatten().map(|u| u.email))
}

/// A note on a case.
pub struct ReviewNote(pub review_note::Model);

#[Object]
impl ReviewNote {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn author_kind(&self) -> &str {
        &self.0.author_kind
    }
    async fn author_id(&self) -> &str {
        &self.0.author_id
    }
    async fn author_email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        email_of(ctx, &self.0.author_kind, &self.0.author_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Files attached to the note, oldest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn attachments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReviewAttachment>> {
        let rows = loader(ctx).load_one(AttachmentsOfNote(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(ReviewAttachment).collect())
    }
}

/// A file attached to a review note.
pub struct ReviewAttachment(pub review_attachment::Model);

#[Object]
impl ReviewAttachment {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn note_id(&self) -> &str {
        &self.0.note_id
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Sniffed from the bytes: `image/png`, `image/jpeg` or `application/pdf`.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn author_email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        email_of(ctx, &self.0.author_kind, &self.0.author_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Where the dashboard opens it (the admin session's cookie; audited).
    async fn download_url(&self) -> String {
        format!("/admin/review-attachments/{}", self.0.id)
    }
}

/// The fields one reader took from one side of the document.
pub struct DocumentReading(pub document_reading::Model);

#[Object]
impl DocumentReading {
    /// `front` or `back`.
    async fn side(&self) -> &str {
        &self.0.side
    }
    /// `printed` (OCR of the visual zone) or `machine` (barcode / MRZ).
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// The fields read (`document_number`, `first_name`, `birth_date`, ...).
    async fn fields(&self) -> Json<serde_json::Value> {
        Json(self.0.fields.clone())
    }
}

/// A sanctions-list entry a screening matched.
pub struct SanctionsEntry(pub sanctions_entry::Model);

#[Object]
impl SanctionsEntry {
    /// The list's entry number.
    async fn ent_num(&self) -> &str {
        &self.0.ent_num
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn entity_type(&self) -> Option<&str> {
        self.0.entity_type.as_deref()
    }
    /// The sanctions programmes.
    async fn programs(&self) -> Option<&str> {
        self.0.programs.as_deref()
    }
    async fn remarks(&self) -> Option<&str> {
        self.0.remarks.as_deref()
    }
    async fn birth_dates(&self) -> Option<Json<serde_json::Value>> {
        self.0.birth_dates.clone().map(Json)
    }
    /// Other names the entry is listed under.
    async fn aliases(&self) -> Option<Json<serde_json::Value>> {
        self.0.aliases.clone().map(Json)
    }
    async fn addresses(&self) -> Option<Json<serde_json::Value>> {
        self.0.addresses.clone().map(Json)
    }
}

/// Another session or identity a duplicate check found.
#[derive(SimpleObject)]
pub struct DuplicateLink {
    /// `idv_session` or `identity`.
    pub kind: String,
    pub id: String,
    pub check: String,
}

/// A case a person decides.
pub struct ReviewCase(pub review_case::Model);

#[Object]
impl ReviewCase {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    /// `idv_session` or `identity` (a sanctions re-screening hit).
    async fn subject_kind(&self) -> &str {
        &self.0.subject_kind
    }
    async fn session_id(&self) -> Option<&str> {
        self.0.session_id.as_deref()
    }
    async fn identity_id(&self) -> Option<&str> {
        self.0.identity_id.as_deref()
    }
    async fn state(&self) -> ReviewCaseState {
        ReviewCaseState::from_db(&self.0.state)
    }
    /// `policy`, `admin` or `sanctions_rescreen`.
    async fn opened_by(&self) -> &str {
        &self.0.opened_by
    }
    /// What opened the case, most decisive first.
    async fn reasons(&self) -> Vec<ReviewReason> {
        serde_json::from_value::<Vec<CaseReason>>(self.0.reasons.clone()).unwrap_or_default().into_iter().map(Into::into).collect()
    }
    async fn priority(&self) -> GqlPriority {
        Priority::from_i32(self.0.priority).into()
    }
    async fn assignee_id(&self) -> Option<&str> {
        self.0.assignee_id.as_deref()
    }
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ReviewUser>> {
        let Some(id) = self.0.assignee_id.clone() else { return Ok(None) };
        Ok(loader(ctx).load_one(UserById(id)).await?.flatten().map(Into::into))
    }
    async fn sla_due_at(&self) -> DateTime<Utc> {
        self.0.sla_due_at
    }
    /// Not decided and past `slaDueAt`, or decided after it.
    async fn sla_breached(&self) -> bool {
        match self.0.decided_at {
            Some(d) => d > self.0.sla_due_at,
            None => Utc::now() > self.0.sla_due_at,
        }
    }
    /// `approved` or `rejected` once decided.
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
    async fn resubmission_requested_at(&self) -> Option<DateTime<Utc>> {
        self.0.resubmission_requested_at
    }
    /// The new session the latest resubmission request created for the applicant.
    async fn resubmission_session_id(&self) -> Option<&str> {
        self.0.resubmission_session_id.as_deref()
    }
    /// `session_deleted` or `identity_erased` when what the case was about
    /// is gone: it can only be closed by a reject (reason code
    /// `subject_removed` or one of the client's reject codes).
    async fn subject_removed(&self) -> Option<&str> {
        self.0.subject_removed.as_deref()
    }
    async fn subject_removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.subject_removed_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The session under review (its documents, checks, images and history).
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<IdvSession>> {
        let Some(id) = self.0.session_id.clone() else { return Ok(None) };
        Ok(loader(ctx).load_one(IdvSessionById(id)).await?.flatten().map(IdvSession))
    }
    /// The identity of the session, or the identity a re-screening hit.
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        let Some(id) = self.0.identity_id.clone() else { return Ok(None) };
        Ok(loader(ctx).load_one(IdentityById(id)).await?.flatten().map(Identity))
    }
    /// Every decision, oldest first (the latest `effective` one is in force).
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn decisions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReviewDecision>> {
        let rows = loader(ctx).load_one(DecisionsOfCase(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(ReviewDecision).collect())
    }
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReviewNote>> {
        let rows = loader(ctx).load_one(NotesOfCase(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(ReviewNote).collect())
    }
    /// What each reader took from the document (printed vs barcode / MRZ).
    /// One statement per case: meant for the case view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn readings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DocumentReading>> {
        let Some(sid) = &self.0.session_id else { return Ok(vec![]) };
        let (state, _) = parts(ctx);
        let rows = evidence::readings(&state.db, &self.0.client_id, sid).await.gql()?;
        Ok(rows.into_iter().map(DocumentReading).collect())
    }
    /// The list entry the session's sanctions screening matched, if any.
    async fn sanctions_entry(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SanctionsEntry>> {
        let Some(sid) = &self.0.session_id else { return Ok(None) };
        let (state, _) = parts(ctx);
        let Some((list, ent)) = evidence::sanctions_entry_id(&state.db, &self.0.client_id, sid).await.gql()? else { return Ok(None) };
        Ok(evidence::sanctions_entry(&state.db, list.as_deref(), &ent).await.gql()?.map(SanctionsEntry))
    }
    /// Sessions and identities the duplicate checks found (those the caller may open).
    async fn duplicates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DuplicateLink>> {
        let Some(sid) = &self.0.session_id else { return Ok(vec![]) };
        let (state, caller) = parts(ctx);
        let session = crate::service::idv::find(&state.db, &self.0.client_id, sid).await.gql()?;
        let links = evidence::duplicates(&state.db, &caller.scope(), &session).await.gql()?;
        Ok(links.into_iter().map(|l| DuplicateLink { kind: l.kind.to_string(), id: l.id, check: l.check }).collect())
    }
}

/// The queue filters.
#[derive(InputObject, Default, Debug)]
pub struct ReviewCaseFilter {
    /// Other clients: platform operator only.
    pub client_ids: Option<Vec<String>>,
    /// Default: open and in review.
    pub states: Option<Vec<ReviewCaseState>>,
    /// A user id; `me` for the caller, `none` for unassigned cases.
    pub assignee: Option<String>,
    /// Cases opened for this check (`ofac`, `dmv`, `name_crosscheck`, `manual`, ...).
    pub reason: Option<String>,
    /// Opened at least this many hours ago.
    pub min_age_hours: Option<u32>,
}

/// The review figures.
#[derive(SimpleObject)]
pub struct ReviewStats {
    /// Cases waiting for a decision (open + in review).
    pub open_cases: u64,
    pub in_review: u64,
    pub decided: u64,
    /// Median seconds from opening to the decision.
    pub median_decision_seconds: Option<f64>,
    /// Waiting cases past their SLA due time.
    pub overdue_open: u64,
    /// Cases decided after their SLA due time.
    pub decided_late: u64,
    /// `overdueOpen + decidedLate`.
    pub sla_breaches: u64,
}

impl From<Stats> for ReviewStats {
    fn from(s: Stats) -> Self {
        Self {
            open_cases: s.open_cases,
            in_review: s.in_review,
            decided: s.decided,
            median_decision_seconds: s.median_decision_secs,
            overdue_open: s.overdue_open,
            decided_late: s.decided_late,
            sla_breaches: s.overdue_open + s.decided_late,
        }
    }
}

/// A client's review settings.
#[derive(SimpleObject)]
pub struct ReviewSettings {
    pub four_eyes: bool,
    pub sla_hours: u32,
    pub approve_codes: Vec<String>,
    pub reject_codes: Vec<String>,
    pub resubmit_codes: Vec<String>,
}

impl From<Settings> for ReviewSettings {
    fn from(s: Settings) -> Self {
        Self {
            four_eyes: s.four_eyes,
            sla_hours: s.sla_hours,
            approve_codes: s.reason_codes.approve,
            reject_codes: s.reason_codes.reject,
            resubmit_codes: s.reason_codes.resubmit,
        }
    }
}

/// A case after a decision and the decision written.
#[derive(SimpleObject)]
pub struct ReviewDecided {
    pub case: ReviewCase,
    pub decision: ReviewDecision,
}

async fn client_ids(state: &AppState, caller: &Caller, requested: Option<Vec<String>>) -> crate::error::AppResult<Vec<String>> {
    tenancy::list_clients(&state.db, &caller.client_id, caller.is_platform, requested.unwrap_or_default()).await
}

fn not_found_is_none<T>(r: crate::error::AppResult<T>) -> async_graphql::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(super::gql_error(e)),
    }
}

/// Review queries (merged into `Query`).
#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    /// The review queue: high priority first, then the earliest SLA due time.
    #[graphql(complexity = "connection_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn review_cases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ReviewCaseFilter>,
    ) -> async_graphql::Result<Conn<ReviewCase>> {
        let (state, caller) = parts(ctx);
        let page = PageArgs { first, after, last, before }.page().gql()?;
        let f = filter.unwrap_or_default();
        let states = match f.states {
            Some(s) => s.into_iter().map(|s| s.as_str().to_string()).collect(),
            None => vec![review::state::OPEN.to_string(), review::state::IN_REVIEW.to_string()],
        };
        let assignee = match f.assignee.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("none") => Some(AssigneeFilter::Unassigned),
            Some("me") => Some(AssigneeFilter::User(caller.user_id.clone().unwrap_or_default())),
            Some(id) => Some(AssigneeFilter::User(id.to_string())),
        };
        let filter = CaseFilter {
            client_ids: client_ids(state, caller, f.client_ids).await.gql()?,
            states,
            assignee,
            reason: f.reason,
            min_age_hours: cases::check_min_age_hours("minAgeHours", f.min_age_hours).gql()?,
            session_id: None,
        };
        let (rows, total) = cases::list(&state.db, &filter, page).await.gql()?;
        Ok(connection(rows, total, page, ReviewCase))
    }

    /// One case; `null` for another client's id. Audited (`review_case.view`).
    async fn review_case(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<ReviewCase>> {
        let (state, caller) = parts(ctx);
        let found = not_found_is_none(cases::find_in_scope(&state.db, &caller.scope(), &id).await)?;
        if let Some(c) = &found {
            crate::service::audit::record(&state.db, &caller.actor, "review_case.view", Some(("review_case", &c.id)), caller.ip.clone(), None)
                .await
                .gql()?;
        }
        Ok(found.map(ReviewCase))
    }

    /// A session's newest case; `null` when it has none or is another client's.
    async fn review_case_of_session(&self, ctx: &Context<'_>, session_id: String) -> async_graphql::Result<Option<ReviewCase>> {
        let (state, caller) = parts(ctx);
        Ok(not_found_is_none(cases::find_for_session(&state.db, &caller.scope(), &session_id).await)?.map(ReviewCase))
    }

    /// The next case for the caller: the first waiting case in queue order
    /// assigned to them or to nobody, other than `skip`.
    async fn next_review_case(
        &self,
        ctx: &Context<'_>,
        client_ids: Option<Vec<String>>,
        skip: Option<String>,
    ) -> async_graphql::Result<Option<ReviewCase>> {
        let (state, caller) = parts(ctx);
        let ids = self::client_ids(state, caller, client_ids).await.gql()?;
        Ok(cases::next_for(&state.db, &ids, caller.user_id.as_deref(), skip.as_deref()).await.gql()?.map(ReviewCase))
    }

    /// Open cases, median time to decision and SLA breaches.
    async fn review_stats(&self, ctx: &Context<'_>, client_ids: Option<Vec<String>>) -> async_graphql::Result<ReviewStats> {
        let (state, caller) = parts(ctx);
        let ids = self::client_ids(state, caller, client_ids).await.gql()?;
        Ok(cases::stats(&state.db, &ids, Utc::now()).await.gql()?.into())
    }

    /// The caller's client's review settings (reason codes, four-eyes, SLA).
    async fn review_settings(&self, ctx: &Context<'_>) -> async_graphql::Result<ReviewSettings> {
        let (state, caller) = parts(ctx);
        Ok(settings::get(&state.db, &caller.client_id).await.gql()?.into())
    }

    /// The users of the caller's client who may work cases.
    async fn reviewers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReviewUser>> {
        let (state, caller) = parts(ctx);
        Ok(cases::reviewers(&state.db, &caller.client_id).await.gql()?.into_iter().map(Into::into).collect())
    }
}

/// Review mutations (merged into `MutationRoot`).
#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Assigns a case: to `userId` (a reviewer or admin of the case's
    /// client), to the caller with `toMe`, or to nobody. A reviewer may
    /// assign to themselves or unassign; admins to anyone.
    async fn assign_review_case(
        &self,
        ctx: &Context<'_>,
        id: String,
        user_id: Option<String>,
        #[graphql(default)] to_me: bool,
    ) -> async_graphql::Result<ReviewCase> {
        let (state, caller, actor) = reviewer(ctx)?;
        let target = if to_me { Some(actor.id.clone()) } else { user_id };
        if target.as_deref().is_some_and(|t| t != actor.id) {
            caller.require_admin().gql()?;
        }
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            let case = cases::assign(&txn, &caller.scope(), &id, target.as_deref(), &actor, Utc::now()).await?;
            txn.commit().await?;
            Ok(case)
        };
        Ok(ReviewCase(run.await.gql()?))
    }

    /// Approves or rejects a case with one of the client's reason codes and
    /// an optional note. Under four-eyes the decision waits for a second person.
    async fn decide_review_case(
        &self,
        ctx: &Context<'_>,
        id: String,
        action: GqlAction,
        reason_code: String,
        note: Option<String>,
    ) -> async_graphql::Result<ReviewDecided> {
        let (state, caller, actor) = reviewer(ctx)?;
        let input = DecisionInput { action: action.into(), reason_code, note };
        let done = decisions::decide(&state.db, &caller.scope(), &id, input, &actor, Utc::now()).await.map_err(rename_reason).gql()?;
        Ok(ReviewDecided { case: ReviewCase(done.case), decision: ReviewDecision(done.decision) })
    }

    /// Four-eyes: confirms (or, with `confirm: false`, declines) a pending
    /// decision; its author cannot.
    async fn confirm_review_decision(
        &self,
        ctx: &Context<'_>,
        case_id: String,
        decision_id: String,
        #[graphql(default = true)] confirm: bool,
    ) -> async_graphql::Result<ReviewDecided> {
        let (state, caller, actor) = reviewer(ctx)?;
        let done = decisions::confirm(&state.db, &caller.scope(), &case_id, &decision_id, confirm, &actor, Utc::now()).await.gql()?;
        Ok(ReviewDecided { case: ReviewCase(done.case), decision: ReviewDecision(done.decision) })
    }

    async fn add_review_note(&self, ctx: &Context<'_>, case_id: String, body: String) -> async_graphql::Result<ReviewNote> {
        let (state, caller, actor) = reviewer(ctx)?;
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            let note = cases::add_note(&txn, &caller.scope(), &case_id, &body, &actor, Utc::now()).await?;
            txn.commit().await?;
            Ok(note)
        };
        Ok(ReviewNote(run.await.gql()?))
    }

    /// Asks the applicant for a new capture: a new session with a link to
    /// the hosted capture page (answered here and in the webhook
    /// `session.resubmission_requested`).
    async fn request_resubmission(
        &self,
        ctx: &Context<'_>,
        case_id: String,
        reason_code: String,
        message: Option<String>,
        #[graphql(desc = "Minutes the link works, 1..1440 (default 1440).")] ttl_minutes: Option<u32>,
    ) -> async_graphql::Result<ReviewResubmitted> {
        let (state, caller, actor) = reviewer(ctx)?;
        let run = async {
            let max = crate::service::capture::MAX_TTL_MINUTES;
            let ttl = ttl_minutes.unwrap_or(max);
            if !(1..=max).contains(&ttl) {
                return Err(AppError::validation("ttlMinutes", format!("must be between 1 and {max}")));
            }
            let link = ResubmissionLink {
                link: crate::service::capture::NewLink::from_request(Some(ttl), None)?,
                session_ttl_hours: state.config.session_ttl_hours,
                base_url: state.config.public_url(),
            };
            decisions::request_resubmission(&state.db, &caller.scope(), &case_id, &reason_code, message.as_deref(), link, &actor, Utc::now())
                .await
                .map_err(rename_reason)
        };
        let done = run.await.gql()?;
        Ok(ReviewResubmitted {
            case: ReviewCase(done.case),
            session_id: done.session_id,
            capture_link_id: done.capture_link_id,
            capture_url: done.capture_url,
            expires_at: done.capture_expires_at,
        })
    }

    /// Attaches a file (PNG, JPEG or PDF, at most 5 MB, base64) to a note of
    /// a case; the type is sniffed from the bytes and must agree with
    /// `contentType` when given.
    async fn add_review_attachment(
        &self,
        ctx: &Context<'_>,
        case_id: String,
        note_id: String,
        file_name: String,
        content_type: Option<String>,
        content_base64: String,
    ) -> async_graphql::Result<ReviewAttachment> {
        use base64::Engine;
        let (state, caller, actor) = reviewer(ctx)?;
        let run = async {
            if content_base64.len() > attachments::MAX_ATTACHMENT_BYTES / 3 * 4 + 8 {
                return Err(AppError::too_large_field("contentBase64", "attachments are limited to 5 MB"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content_base64.trim())
                .map_err(|_| AppError::validation("contentBase64", "is not valid base64"))?;
            let checked = attachments::check("contentBase64", &file_name, content_type.as_deref(), bytes).await?;
            attachments::attach(&state.db, &state.storage, &caller.scope(), &case_id, &note_id, checked, &actor, Utc::now()).await
        };
        Ok(ReviewAttachment(run.await.gql()?))
    }

    /// Flags a finalized session for review (admin).
    async fn open_review_case(
        &self,
        ctx: &Context<'_>,
        session_id: String,
        priority: Option<GqlPriority>,
        note: Option<String>,
    ) -> async_graphql::Result<ReviewCase> {
        let (state, caller, actor) = reviewer(ctx)?;
        caller.require_admin().gql()?;
        let run = async {
            if let Some(n) = note.as_deref().filter(|n| !n.trim().is_empty()) {
                cases::note_text("note", n)?;
            }
            let txn = crate::db::begin_write(&state.db).await?;
            let priority = priority.map(Into::into).unwrap_or(Priority::Normal);
            let case = cases::open_by_admin(&txn, &caller.scope(), &session_id, priority, note.as_deref(), &actor, Utc::now()).await?;
            txn.commit().await?;
            Ok(case)
        };
        Ok(ReviewCase(run.await.gql()?))
    }

    /// Changes the caller's client's review settings (admin); absent arguments keep their value.
    async fn update_review_settings(
        &self,
        ctx: &Context<'_>,
        four_eyes: Option<bool>,
        sla_hours: Option<u32>,
        approve_codes: Option<Vec<String>>,
        reject_codes: Option<Vec<String>>,
        resubmit_codes: Option<Vec<String>>,
    ) -> async_graphql::Result<ReviewSettings> {
        let (state, caller) = parts(ctx);
        caller.require_admin().gql()?;
        let changes = SettingsChanges { four_eyes, sla_hours, approve_codes, reject_codes, resubmit_codes };
        let run = async {
            let txn = crate::db::begin_write(&state.db).await?;
            let s = settings::update(&txn, &caller.client_id, changes).await?;
            let detail = serde_json::json!({ "four_eyes": s.four_eyes, "sla_hours": s.sla_hours });
            crate::service::audit::record(&txn, &caller.actor, "review.settings.update", Some(("client", &caller.client_id)), caller.ip.clone(), Some(detail))
                .await?;
            txn.commit().await?;
            Ok(s)
        };
        Ok(run.await.gql()?.into())
    }
}

/// A resubmission request's answer: the case and the new session's capture link.
#[derive(SimpleObject)]
pub struct ReviewResubmitted {
    pub case: ReviewCase,
    /// The session created for the new capture.
    pub session_id: String,
    pub capture_link_id: String,
    /// `{public_url}/verify/{token}`: where to send the applicant (shown once).
    pub capture_url: String,
    pub expires_at: DateTime<Utc>,
}

/// GraphQL names the argument `reasonCode`.
fn rename_reason(e: AppError) -> AppError {
    match e.field_errors().first() {
        Some(f) if f.field == "reason_code" => AppError::validation("reasonCode", f.message.clone()),
        _ => e,
    }
}
