use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A hit found by re-screening a verified identity against a new list
/// version: a sanctions target or a PEP. `status` starts `open`; review
/// decides it. One row per identity and list entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "screening_hit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub identity_id: String,
    /// `sanction` or `pep`.
    pub category: String,
    pub list_key: String,
    pub entry_id: String,
    pub entry_name: String,
    pub score: f64,
    pub lists_version: String,
    /// The match explanation (per-feature scores, the listed entry).
    pub explanation: Json,
    pub status: String,
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
