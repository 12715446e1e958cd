use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A false positive a client cleared: this subject (normalised name and
/// birth date) is not that list entry. Screenings of the client skip it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "screening_allowlist")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    /// Normalised name tokens (sorted) and birth date: `name tokens|YYYY-MM-DD`.
    pub subject_key: String,
    pub subject_name: String,
    pub birth_date: Option<String>,
    pub list_key: String,
    pub entry_id: String,
    pub reason: String,
    /// The user or API key that cleared it.
    pub created_by: Option<String>,
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
}

impl ActiveModelBehavior for ActiveModel {}
