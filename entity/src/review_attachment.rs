//! A file attached to a review note (a screenshot, a PDF). The bytes are an
//! encrypted blob under `object_key`; the content type is the sniffed one.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "review_attachment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub case_id: String,
    pub note_id: String,
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
    pub sha256: String,
    pub object_key: String,
    /// `user` or `api_key`.
    pub author_kind: String,
    pub author_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::review_note::Entity",
        from = "Column::NoteId",
        to = "super::review_note::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    ReviewNote,
}

impl Related<super::review_note::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReviewNote.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
