//! Session lifecycle: `blocked_until` on both session tables, and the
//! unique index of `requirement` (client_id, user_id, type, data_source)
//! that the first migration lacked.
//!
//! NULL `client_id`/`user_id` (built-in and client-wide rows) must collide
//! too, so the index is over `COALESCE(column, '')` expressions: one
//! statement that SQLite and every PostgreSQL version accept (PostgreSQL 15's
//! `NULLS NOT DISTINCT` would leave older servers out).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

const REQUIREMENT_INDEX: &str = "ux_requirement_scope";

/// Keeps the newest row (by updated_at, then id) of each scope.
const DELETE_DUPLICATE_REQUIREMENTS: &str = r#"
DELETE FROM requirement WHERE id IN (
    SELECT r.id FROM requirement r WHERE EXISTS (
        SELECT 1 FROM requirement n
        WHERE COALESCE(n.client_id, '') = COALESCE(r.client_id, '')
          AND COALESCE(n.user_id, '') = COALESCE(r.user_id, '')
          AND n."type" = r."type"
          AND n.data_source = r.data_source
          AND (n.updated_at > r.updated_at OR (n.updated_at = r.updated_at AND n.id > r.id))
    )
)"#;

const CREATE_REQUIREMENT_INDEX: &str = r#"
CREATE UNIQUE INDEX ux_requirement_scope
    ON requirement ((COALESCE(client_id, '')), (COALESCE(user_id, '')), "type", data_source)"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [IdvSession::Table.into_iden(), IdaSession::Table.into_iden()] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(timestamp_with_time_zone_null(Lifecycle::BlockedUntil))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(DELETE_DUPLICATE_REQUIREMENTS).await?;
        db.execute_unprepared(CREATE_REQUIREMENT_INDEX).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {REQUIREMENT_INDEX}"))
            .await?;
        for table in [IdvSession::Table.into_iden(), IdaSession::Table.into_iden()] {
            manager
                .alter_table(Table::alter().table(table).drop_column(Lifecycle::BlockedUntil).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum IdvSession {
    Table,
}

#[derive(DeriveIden)]
enum IdaSession {
    Table,
}

#[derive(DeriveIden)]
enum Lifecycle {
    BlockedUntil,
}
