//! The words an IDV session can be found by in the dashboard's search:
//! names, ids, user id, metadata and SDK metadata values (`exact = false`,
//! matched as word prefixes) and document numbers (`exact = true`, matched
//! whole). Rewritten by the server whenever those values change.
//!
//! Each row also carries copies of its session's sort keys (`session_*`),
//! kept current by a trigger on `idv_session`, so a word's matches can be
//! put in a list's order from the lookup index alone.
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "idv_session_search")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: String,
    pub client_id: String,
    pub exact: bool,
    pub session_created_at: Option<DateTimeUtc>,
    pub session_score: Option<f64>,
    pub session_status: Option<String>,
    pub session_document_type: Option<String>,
    pub session_last_name: Option<String>,
    pub session_first_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::idv_session::Entity",
        from = "Column::SessionId",
        to = "super::idv_session::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    IdvSession,
}

impl Related<super::idv_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdvSession.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
