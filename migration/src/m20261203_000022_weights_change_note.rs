//! `weights.change_note`: why a weights version was written, required by
//! the admin UI when a person saves a new version (older versions and
//! versions written through the REST API may have none).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Weights::Table).add_column(text_null(Weights::ChangeNote)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Weights::Table).drop_column(Weights::ChangeNote).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Weights {
    Table,
    ChangeNote,
}
