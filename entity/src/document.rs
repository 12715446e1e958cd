use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "document")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub session_id: String,
    pub identity_id: Option<String>,
    pub is_current: bool,
    pub r#type: String,
    pub data_source: String,
    pub document_number: Option<String>,
    pub ref_number: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub issuing_country: Option<String>,
    pub issuing_state: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub name_suffix: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub birth_date: Option<String>,
    pub gender: String,
    pub height: Option<String>,
    pub weight: Option<String>,
    pub eye_color: Option<String>,
    pub hair_color: Option<String>,
    #[sea_orm(column_name = "class")]
    pub doc_class: Option<String>,
    pub restrictions: Option<String>,
    pub endorsements: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub raw_payload: Option<String>,
    pub truncation: Option<Json>,
    pub created_at: DateTimeUtc,
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
    #[sea_orm(
        belongs_to = "super::identity::Entity",
        from = "Column::IdentityId",
        to = "super::identity::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Identity,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::identity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Identity.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
