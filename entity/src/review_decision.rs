//! A decision on a review case. Never edited: a correction is a new row
//! (`supersedes_id`); under four-eyes a `pending` decision is confirmed
//! (`effective`) or declined (`declined`) once by a second person.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "review_decision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub case_id: String,
    /// `approve` or `reject`.
    pub action: String,
    pub reason_code: String,
    pub note: Option<String>,
    /// `user` or `api_key`.
    pub actor_kind: String,
    pub actor_id: String,
    /// `pending`, `effective` or `declined`.
    pub status: String,
    pub confirmed_by_kind: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub supersedes_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::review_case::Entity",
        from = "Column::CaseId",
        to = "super::review_case::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    ReviewCase,
}

impl Related<super::review_case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReviewCase.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
