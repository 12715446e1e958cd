//! A capture of an identity authentication belongs to the identity only when
//! the authentication succeeded: captures of failed (or never finished)
//! attempts, which may show somebody else's face, are unlinked from the
//! identity and stay on their session. Data only; no schema change.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let authenticated = Query::select()
            .column(IdaSession::Id)
            .from(IdaSession::Table)
            .and_where(Expr::col(IdaSession::Authenticated).eq(true))
            .to_owned();
        let unlink = Query::update()
            .table(StoredFile::Table)
            .value(StoredFile::IdentityId, Option::<String>::None)
            .and_where(Expr::col(StoredFile::SessionKind).eq("ida"))
            .and_where(Expr::col(StoredFile::SessionId).not_in_subquery(authenticated))
            .to_owned();
        manager.exec_stmt(unlink).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The links of failed attempts were wrong; they are not restored.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum IdaSession {
    Table,
    Id,
    Authenticated,
}

#[derive(DeriveIden)]
enum StoredFile {
    Table,
    IdentityId,
    SessionKind,
    SessionId,
}
