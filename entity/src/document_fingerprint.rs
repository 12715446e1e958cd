//! One row per (session, side): the perceptual hash of the document image
//! and the SHA-256 of its barcode/MRZ identity, for the duplicate search
//! across sessions and tenants. No plain document data is stored here.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "document_fingerprint")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub session_id: String,
    /// `front` or `back`.
    pub side: String,
    /// 64 hex digits (256-bit pHash).
    pub phash: String,
    /// The hash's 8 bands of 32 bits, each indexed: near duplicates share one.
    pub band0: i64,
    pub band1: i64,
    pub band2: i64,
    pub band3: i64,
    pub band4: i64,
    pub band5: i64,
    pub band6: i64,
    pub band7: i64,
    /// SHA-256 hex of issuer|document number|birth date; never the values.
    pub barcode_key_hash: Option<String>,
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
