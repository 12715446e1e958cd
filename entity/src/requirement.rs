use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "requirement")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub r#type: String,
    pub data_source: String,
    pub document_number_required: bool,
    pub ref_number_required: bool,
    pub issue_at_required: bool,
    pub expires_at_required: bool,
    pub issuing_country_required: bool,
    pub issuing_state_required: bool,
    pub first_name_required: bool,
    pub middle_name_required: bool,
    pub last_name_required: bool,
    pub name_suffix_required: bool,
    pub street_required: bool,
    pub city_required: bool,
    pub state_required: bool,
    pub postal_code_required: bool,
    pub birth_date_required: bool,
    pub gender_required: bool,
    pub height_required: bool,
    pub weight_required: bool,
    pub eye_color_required: bool,
    pub hair_color_required: bool,
    pub class_required: bool,
    pub mentions_required: bool,
    pub restrictions_required: bool,
    pub raw_barcode_required: bool,
    pub face_encoding_required: bool,
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
