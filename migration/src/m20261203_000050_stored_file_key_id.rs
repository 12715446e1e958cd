//! `stored_file.master_key_id`: the id of the master key that wraps the
//! blob's data key, so `tessera keys status` counts blobs per key with one
//! query and `tessera keys rotate` finds the ones to re-wrap. Rows written
//! before key ids existed have none (their blobs are re-wrapped by the first
//! rotation, which reads the key from the blob itself).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(StoredFile::Table).add_column(string_null(StoredFile::MasterKeyId)).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_stored_file_master_key_id")
                    .table(StoredFile::Table)
                    .col(StoredFile::MasterKeyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_stored_file_master_key_id").table(StoredFile::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(StoredFile::Table).drop_column(StoredFile::MasterKeyId).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StoredFile {
    Table,
    MasterKeyId,
}
