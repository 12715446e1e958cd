//! The failing-check filter's index covers the session id:
//! `check_result (client_id, check_name, status, session_id)` replaces
//! `(client_id, check_name, status)`, so the sessions failing a check are
//! read from the index alone (counting them no longer reads each result
//! row).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_check_result_client_check_status";
const NEW: &str = "idx_check_result_client_check_status_session";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(CheckResult::Table)
                    .col(CheckResult::ClientId)
                    .col(CheckResult::CheckName)
                    .col(CheckResult::Status)
                    .col(CheckResult::SessionId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(OLD).table(CheckResult::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(CheckResult::Table)
                    .col(CheckResult::ClientId)
                    .col(CheckResult::CheckName)
                    .col(CheckResult::Status)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(NEW).table(CheckResult::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CheckResult {
    Table,
    ClientId,
    CheckName,
    Status,
    SessionId,
}
