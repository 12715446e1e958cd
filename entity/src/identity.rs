use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "identity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub suffix_name: Option<String>,
    pub birth_date: Option<String>,
    pub gender: String,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub document_front_given: bool,
    pub document_front_given_at: Option<DateTimeUtc>,
    pub liveness_detected: bool,
    pub liveness_detected_at: Option<DateTimeUtc>,
    pub ofac_status: String,
    pub ofac_detected_at: Option<DateTimeUtc>,
    pub dmv_status: String,
    pub dmv_detected_at: Option<DateTimeUtc>,
    pub verified: bool,
    pub verified_at: Option<DateTimeUtc>,
    pub last_verified: Option<DateTimeUtc>,
    pub score: Option<f64>,
    pub metadata: Json,
    pub latest_idv_session_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub erased_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::idv_session::Entity")]
    IdvSession,
    #[sea_orm(has_many = "super::ida_session::Entity")]
    IdaSession,
    #[sea_orm(has_many = "super::document::Entity")]
    Document,
    #[sea_orm(has_many = "super::stored_file::Entity")]
    StoredFile,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::idv_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdvSession.def()
    }
}

impl Related<super::ida_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdaSession.def()
    }
}

impl Related<super::document::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Document.def()
    }
}

impl Related<super::stored_file::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StoredFile.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
