use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "check_result")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub session_kind: String,
    pub session_id: String,
    pub check_name: String,
    pub status: String,
    pub score: Option<f64>,
    #[sea_orm(column_type = "Text")]
    pub detail: Option<String>,
    pub evidence: Option<Json>,
    pub engine_version: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The IDV session's score (`idv_session.score`), copied here so the
    /// failing-check index lists failing sessions in score order; empty
    /// while the session has no score, and for IDA sessions.
    pub session_score: Option<f64>,
    /// The IDV session's status (`idv_session.status`), copied here so the
    /// failing-check index lists failing sessions in status order; empty
    /// for IDA sessions. Both copies are kept by a trigger on
    /// `idv_session` and written with each result.
    pub session_status: Option<String>,
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
