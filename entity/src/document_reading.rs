//! The fields read from one side of a session's document by one kind of
//! reader (`printed` = OCR of the visual zone, `machine` = barcode/MRZ),
//! kept apart so the crosschecks can compare them whichever analysis job
//! finishes second. One row per (session, side, source).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "document_reading")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub session_id: String,
    /// `front` or `back`.
    pub side: String,
    /// `printed` or `machine`.
    pub source: String,
    /// The fields (`service::document_checks::StoredFields`).
    pub fields: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
