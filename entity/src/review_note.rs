//! A free-text note on a review case.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "review_note")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub case_id: String,
    /// `user` or `api_key`.
    pub author_kind: String,
    pub author_id: String,
    pub body: String,
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
