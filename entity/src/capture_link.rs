use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A link to the hosted capture page of one IDV session. Only the SHA-256
/// of the token is stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "capture_link")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub session_id: String,
    pub token_hash: String,
    /// `api` or `handoff`.
    pub origin: String,
    pub redirect_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub opened_at: Option<DateTimeUtc>,
    /// `phone`, `tablet` or `desktop`, from the User-Agent that opened it.
    pub device: Option<String>,
    pub browser: Option<String>,
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
        belongs_to = "super::idv_session::Entity",
        from = "Column::SessionId",
        to = "super::idv_session::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    IdvSession,
}

impl ActiveModelBehavior for ActiveModel {}
