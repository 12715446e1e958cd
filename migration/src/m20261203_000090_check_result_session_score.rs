//! The session's score beside its check results: `check_result.session_score`
//! (a copy of `idv_session.score`, kept by the writers of either), so the
//! failing-check index `check_result (client_id, check_name, status,
//! session_score, session_id)` lists the sessions failing a check in score
//! order. A sessions page filtered by a failing check and sorted by score is
//! then an ordered walk of that index in either direction (walking the
//! score index of all sessions, the failing ones — which score low — came
//! last when sorted by score descending). Existing rows are filled from
//! their sessions; the index replaces `(client_id, check_name, status,
//! session_id)`, which it still covers for counting.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_check_result_client_check_status_session";
const NEW: &str = "idx_check_result_client_check_status_score";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(CheckResult::Table).add_column(ColumnDef::new(CheckResult::SessionScore).double().null()).to_owned())
            .await?;
        // Portable SQL: a correlated subquery, one statement.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE check_result SET session_score = \
                 (SELECT idv_session.score FROM idv_session WHERE idv_session.id = check_result.session_id) \
                 WHERE session_kind = 'idv'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(CheckResult::Table)
                    .col(CheckResult::ClientId)
                    .col(CheckResult::CheckName)
                    .col(CheckResult::Status)
                    .col(CheckResult::SessionScore)
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
                    .col(CheckResult::SessionId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(NEW).table(CheckResult::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(CheckResult::Table).drop_column(CheckResult::SessionScore).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CheckResult {
    Table,
    ClientId,
    CheckName,
    Status,
    SessionId,
    SessionScore,
}
