//! The session's status beside its check results, and both copies kept by
//! the database.
//!
//! `check_result.session_status` is a copy of `idv_session.status`, as
//! `session_score` is of its score. The index `check_result (client_id,
//! check_name, status, session_status, session_id)` lists the sessions
//! failing a check in status order. A page of them sorted by status is then
//! an ordered walk of that index in either direction. Before, the walk of
//! the status index of all sessions passed every session in progress (which
//! fail no check yet) before the first failing one when sorted by status
//! descending.
//!
//! A trigger on `idv_session` copies a changed status or score into the
//! session's IDV check results, in the statement that changes it. Every
//! writer is covered: the finalize, the review, the lifecycle sweeps (which
//! expire and block sessions in plain SQL) and whatever comes later. A
//! result written afterwards takes both copies when it is recorded
//! (`checks::record`). Existing rows are filled from their sessions.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_check_result_client_check_status_sstatus";
const TRIGGER: &str = "trg_idv_session_keys_to_check_result";
const FUNCTION: &str = "tessera_copy_session_keys";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(CheckResult::Table).add_column(ColumnDef::new(CheckResult::SessionStatus).string().null()).to_owned())
            .await?;
        let db = manager.get_connection();
        // Portable SQL: a correlated subquery, one statement.
        db.execute_unprepared(
            "UPDATE check_result SET session_status = \
             (SELECT idv_session.status FROM idv_session WHERE idv_session.id = check_result.session_id) \
             WHERE session_kind = 'idv'",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(CheckResult::Table)
                    .col(CheckResult::ClientId)
                    .col(CheckResult::CheckName)
                    .col(CheckResult::Status)
                    .col(CheckResult::SessionStatus)
                    .col(CheckResult::SessionId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        let copy = "UPDATE check_result SET session_status = NEW.status, session_score = NEW.score \
                    WHERE session_id = NEW.id AND session_kind = 'idv'";
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN {copy}; RETURN NULL; END $$"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {TRIGGER} AFTER UPDATE OF status, score ON idv_session FOR EACH ROW \
                     WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.score IS DISTINCT FROM OLD.score) \
                     EXECUTE PROCEDURE {FUNCTION}()"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER UPDATE OF status, score ON idv_session FOR EACH ROW \
                     WHEN NEW.status IS NOT OLD.status OR NEW.score IS NOT OLD.score \
                     BEGIN {copy}; END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER} ON idv_session")).await?;
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {FUNCTION}()")).await?;
            }
            _ => {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER}")).await?;
            }
        }
        manager.drop_index(Index::drop().name(INDEX).table(CheckResult::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(CheckResult::Table).drop_column(CheckResult::SessionStatus).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CheckResult {
    Table,
    ClientId,
    CheckName,
    Status,
    SessionId,
    SessionStatus,
}
