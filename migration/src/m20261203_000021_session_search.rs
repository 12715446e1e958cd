//! The dashboard's session search and filters at scale.
//!
//! `idv_session_search` holds the words a session can be found by (its
//! names, ids, user id, metadata and SDK metadata values: `exact = false`,
//! matched as word prefixes; its document numbers: `exact = true`, matched
//! only whole). The server rewrites a session's rows whenever one of those
//! values changes; rows of sessions written before this table existed are
//! filled at start-up. `term` compares byte-wise (`COLLATE "C"` on
//! PostgreSQL, SQLite's default), so a prefix is one index range.
//!
//! Indexes for the list's other filters and its default order:
//! `check_result (client_id, check_name, status)` (sessions failing a check)
//! and `idv_session (client_id, created_at)`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut term = string(IdvSessionSearch::Term);
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            term.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(IdvSessionSearch::Table)
                    .if_not_exists()
                    .col(string(IdvSessionSearch::SessionId))
                    .col(string(IdvSessionSearch::ClientId))
                    .col(term)
                    .col(boolean(IdvSessionSearch::Exact))
                    .primary_key(Index::create().col(IdvSessionSearch::SessionId).col(IdvSessionSearch::Term))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idv_session_search_session_id")
                            .from(IdvSessionSearch::Table, IdvSessionSearch::SessionId)
                            .to(IdvSession::Table, IdvSession::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idv_session_search_client_id")
                            .from(IdvSessionSearch::Table, IdvSessionSearch::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes = [
            Index::create()
                .name("idx_idv_session_search_client_term")
                .table(IdvSessionSearch::Table)
                .col(IdvSessionSearch::ClientId)
                .col(IdvSessionSearch::Term)
                .if_not_exists()
                .to_owned(),
            Index::create()
                .name("idx_check_result_client_check_status")
                .table(CheckResult::Table)
                .col(CheckResult::ClientId)
                .col(CheckResult::CheckName)
                .col(CheckResult::Status)
                .if_not_exists()
                .to_owned(),
            Index::create()
                .name("idx_idv_session_client_created")
                .table(IdvSession::Table)
                .col(IdvSession::ClientId)
                .col(IdvSession::CreatedAt)
                .if_not_exists()
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_check_result_client_check_status").table(CheckResult::Table).to_owned())
            .await?;
        manager
            .drop_index(Index::drop().name("idx_idv_session_client_created").table(IdvSession::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(IdvSessionSearch::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IdvSessionSearch {
    Table,
    SessionId,
    ClientId,
    Term,
    Exact,
}

#[derive(DeriveIden)]
enum IdvSession {
    Table,
    Id,
    ClientId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CheckResult {
    Table,
    ClientId,
    CheckName,
    Status,
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
}
