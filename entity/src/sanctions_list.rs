use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sanctions_list")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub source: String,
    pub version: String,
    pub published_at: Option<DateTimeUtc>,
    pub imported_at: DateTimeUtc,
    pub entry_count: i32,
    pub is_current: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sanctions_entry::Entity")]
    SanctionsEntry,
}

impl Related<super::sanctions_entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SanctionsEntry.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
