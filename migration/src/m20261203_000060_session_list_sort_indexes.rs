//! Indexes that let the dashboard's session list walk a client's sessions
//! in the order it shows them and stop after one page, instead of sorting
//! every matching session: one per sortable column, each ending in the id
//! (the list's tie-break), so `ORDER BY <key>, id LIMIT n` is an index walk
//! forwards or backwards on SQLite and PostgreSQL alike. (Newest first is
//! served by `idx_idv_session_client_created`, since replaced by
//! `(client_id, created_at, id)`.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Index name and its columns after `client_id`.
const INDEXES: [(&str, &[IdvSession]); 4] = [
    ("idx_idv_session_client_score", &[IdvSession::Score, IdvSession::Id]),
    ("idx_idv_session_client_name", &[IdvSession::LastName, IdvSession::FirstName, IdvSession::Id]),
    ("idx_idv_session_client_status", &[IdvSession::Status, IdvSession::Id]),
    ("idx_idv_session_client_document_type", &[IdvSession::DocumentType, IdvSession::Id]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(IdvSession::Table).col(IdvSession::ClientId).if_not_exists();
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table(IdvSession::Table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum IdvSession {
    Table,
    Id,
    ClientId,
    Score,
    LastName,
    FirstName,
    Status,
    DocumentType,
}
