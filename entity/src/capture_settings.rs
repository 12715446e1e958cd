use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A client's hosted capture page: consent text, theme, return URL.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "capture_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    pub consent_text: Option<String>,
    pub primary_color: Option<String>,
    pub background_color: Option<String>,
    pub logo_data_url: Option<String>,
    pub redirect_url: Option<String>,
    /// Origins allowed to frame the page (JSON array of strings).
    pub frame_ancestors: Option<Json>,
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

impl ActiveModelBehavior for ActiveModel {}
