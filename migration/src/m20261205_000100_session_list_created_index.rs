//! Newest first (the sessions list's default order) and oldest first as an
//! index walk that reads nothing else: `idv_session (client_id, created_at,
//! id)` replaces `(client_id, created_at)`. Without the id the walk read
//! every session's row for its id and sorted the sessions created in the
//! same instant, about twice the cost of the other sort indexes per session
//! walked (which matters where a walk passes many sessions to find a
//! search's matches).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_idv_session_client_created";
const NEW: &str = "idx_idv_session_client_created_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(IdvSession::Table)
                    .col(IdvSession::ClientId)
                    .col(IdvSession::CreatedAt)
                    .col(IdvSession::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(OLD).table(IdvSession::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(IdvSession::Table)
                    .col(IdvSession::ClientId)
                    .col(IdvSession::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(NEW).table(IdvSession::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IdvSession {
    Table,
    Id,
    ClientId,
    CreatedAt,
}
