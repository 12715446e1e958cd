use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Requests counted against one limited key (`screening_search:<client>`)
/// in its current fixed window; shared by every process on the database.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "rate_limit_window")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub count: i32,
    /// Unix seconds of the window's first request.
    pub window_start: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
