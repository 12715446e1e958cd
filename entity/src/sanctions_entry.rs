use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sanctions_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub list_id: String,
    pub ent_num: String,
    pub name: String,
    pub entity_type: Option<String>,
    pub programs: Option<String>,
    pub remarks: Option<String>,
    pub birth_dates: Option<Json>,
    pub aliases: Option<Json>,
    pub addresses: Option<Json>,
    /// Countries, gender, identifiers, listing date, source URL, category
    /// (`sanction` / `pep`); absent on rows imported before these existed.
    pub details: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::sanctions_list::Entity",
        from = "Column::ListId",
        to = "super::sanctions_list::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    SanctionsList,
}

impl Related<super::sanctions_list::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SanctionsList.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
