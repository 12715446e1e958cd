//! The search index's lookup index covers what a lookup reads:
//! `idv_session_search (client_id, term, exact, session_id)` replaces
//! `(client_id, term)`, so a word's range yields its sessions from the
//! index alone instead of reading one table row per term (11,000 row reads
//! for a word matching 11,000 sessions).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_idv_session_search_client_term";
const NEW: &str = "idx_idv_session_search_lookup";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(IdvSessionSearch::Table)
                    .col(IdvSessionSearch::ClientId)
                    .col(IdvSessionSearch::Term)
                    .col(IdvSessionSearch::Exact)
                    .col(IdvSessionSearch::SessionId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(OLD).table(IdvSessionSearch::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(IdvSessionSearch::Table)
                    .col(IdvSessionSearch::ClientId)
                    .col(IdvSessionSearch::Term)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(NEW).table(IdvSessionSearch::Table).to_owned()).await
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
