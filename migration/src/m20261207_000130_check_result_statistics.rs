//! PostgreSQL: planner statistics of a check's name and status together
//! (`CREATE STATISTICS … (dependencies, mcv) ON check_name, status FROM
//! check_result`). Apart, the planner multiplies the two columns'
//! selectivities and guessed 11,363 failed liveness results of 100,000
//! sessions where there were 25,000; with that guess a page of the sessions
//! failing a check at a bare offset of 10,000, sorted by score, was read by
//! a bitmap scan of every failed result and a sort (31–33 ms in psql) while
//! the table's pages were not yet marked visible, instead of the ordered
//! walk of the failing-check index (5–11 ms). An `ANALYZE` (autovacuum's,
//! or by hand) fills the statistics. SQLite has no such statistics: nothing
//! to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("CREATE STATISTICS IF NOT EXISTS check_result_check_status (dependencies, mcv) ON check_name, status FROM check_result")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared("DROP STATISTICS IF EXISTS check_result_check_status").await?;
        Ok(())
    }
}
