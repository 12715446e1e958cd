//! The session's sort keys beside its search words.
//!
//! `idv_session_search` gains copies of the session's creation time, score,
//! status, document type, last and first name (`session_created_at`, …),
//! and a second lookup index carries them: `(client_id, term, exact,
//! session_id)` plus the copies (PostgreSQL: `INCLUDE`d; SQLite: trailing
//! columns). A broad word's matches are then put in the list's order from
//! that index alone — one range read, a bounded top-N sort, no session read
//! until the page's — wherever its matches lie in the order. Before, such a
//! page either walked the sort index of every session of the client up to
//! the matches, or looked each match up by id to sort it. The narrow
//! lookup index stays for what reads only the ids (a search's sessions,
//! the counts): replaced by the wide one, those reads cost 1–3 ms more per
//! page at 100,000 sessions.
//!
//! A trigger on `idv_session` copies a changed key into the session's
//! search rows, in the statement that changes it, whoever writes it (the
//! finalize, a review, the lifecycle sweeps' plain SQL). Rows written
//! afterwards take the copies when the words are rewritten
//! (`session_search::refresh`). Existing rows are filled from their
//! sessions.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_idv_session_search_sorted";
const TRIGGER: &str = "trg_idv_session_keys_to_search";
const FUNCTION: &str = "tessera_copy_session_keys_to_search";

/// The copies and the session column each copies.
const COPIES: [(&str, &str); 6] = [
    ("session_created_at", "created_at"),
    ("session_score", "score"),
    ("session_status", "status"),
    ("session_document_type", "document_type"),
    ("session_last_name", "last_name"),
    ("session_first_name", "first_name"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ColumnDef::new(IdvSessionSearch::SessionCreatedAt).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(IdvSessionSearch::SessionScore).double().null().to_owned(),
            ColumnDef::new(IdvSessionSearch::SessionStatus).string().null().to_owned(),
            ColumnDef::new(IdvSessionSearch::SessionDocumentType).string().null().to_owned(),
            ColumnDef::new(IdvSessionSearch::SessionLastName).string().null().to_owned(),
            ColumnDef::new(IdvSessionSearch::SessionFirstName).string().null().to_owned(),
        ];
        // SQLite adds one column per statement.
        for column in columns {
            manager.alter_table(Table::alter().table(IdvSessionSearch::Table).add_column(column).to_owned()).await?;
        }
        let db = manager.get_connection();
        let copies = COPIES.map(|(copy, _)| copy).join(", ");
        let sources = COPIES.map(|(_, source)| format!("idv_session.{source}")).join(", ");
        // Portable SQL: a row value from a correlated subquery, one statement.
        db.execute_unprepared(&format!(
            "UPDATE idv_session_search SET ({copies}) = \
             (SELECT {sources} FROM idv_session WHERE idv_session.id = idv_session_search.session_id)"
        ))
        .await?;
        let backend = manager.get_database_backend();
        let index = match backend {
            DatabaseBackend::Postgres => {
                format!("CREATE INDEX IF NOT EXISTS {INDEX} ON idv_session_search (client_id, term, exact, session_id) INCLUDE ({copies})")
            }
            _ => format!("CREATE INDEX IF NOT EXISTS {INDEX} ON idv_session_search (client_id, term, exact, session_id, {copies})"),
        };
        db.execute_unprepared(&index).await?;
        let set = COPIES.map(|(copy, source)| format!("{copy} = NEW.{source}")).join(", ");
        let copy = format!("UPDATE idv_session_search SET {set} WHERE session_id = NEW.id");
        let of = COPIES.map(|(_, source)| source).join(", ");
        match backend {
            DatabaseBackend::Postgres => {
                let changed = COPIES.map(|(_, s)| format!("NEW.{s} IS DISTINCT FROM OLD.{s}")).join(" OR ");
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN {copy}; RETURN NULL; END $$"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {TRIGGER} AFTER UPDATE OF {of} ON idv_session FOR EACH ROW \
                     WHEN ({changed}) EXECUTE PROCEDURE {FUNCTION}()"
                ))
                .await?;
            }
            _ => {
                let changed = COPIES.map(|(_, s)| format!("NEW.{s} IS NOT OLD.{s}")).join(" OR ");
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER UPDATE OF {of} ON idv_session FOR EACH ROW \
                     WHEN {changed} BEGIN {copy}; END"
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
        manager.drop_index(Index::drop().name(INDEX).table(IdvSessionSearch::Table).to_owned()).await?;
        for column in [
            IdvSessionSearch::SessionCreatedAt,
            IdvSessionSearch::SessionScore,
            IdvSessionSearch::SessionStatus,
            IdvSessionSearch::SessionDocumentType,
            IdvSessionSearch::SessionLastName,
            IdvSessionSearch::SessionFirstName,
        ] {
            manager.alter_table(Table::alter().table(IdvSessionSearch::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum IdvSessionSearch {
    Table,
    SessionCreatedAt,
    SessionScore,
    SessionStatus,
    SessionDocumentType,
    SessionLastName,
    SessionFirstName,
}
