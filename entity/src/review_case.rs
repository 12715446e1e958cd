//! A review case: a session (or an identity, after a re-screening hit) that
//! a person must decide. `state` is `open` → `in_review` → `decided`;
//! `outcome` is the effective decision (`approved` / `rejected`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "review_case")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    /// `idv_session` or `identity`.
    pub subject_kind: String,
    pub session_id: Option<String>,
    pub identity_id: Option<String>,
    pub state: String,
    /// `policy`, `admin` or `sanctions_rescreen`.
    pub opened_by: String,
    /// The reasons that opened the case: `[{check, code, message}]`.
    pub reasons: Json,
    /// The reasons' check names, each surrounded by spaces (` ofac dmv `), for the reason filter.
    pub reason_checks: String,
    /// 0 low, 1 normal, 2 high.
    pub priority: i32,
    pub assignee_id: Option<String>,
    pub sla_due_at: DateTimeUtc,
    pub outcome: Option<String>,
    pub resubmission_requested_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    /// `session_deleted` or `identity_erased`: what the case was about is
    /// gone; the case and its decisions stay without personal data.
    pub subject_removed: Option<String>,
    pub subject_removed_at: Option<DateTimeUtc>,
    /// The new session a resubmission request created for the applicant.
    pub resubmission_session_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::client::Entity",
        from = "Column::ClientId",
        to = "super::client::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Client,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
