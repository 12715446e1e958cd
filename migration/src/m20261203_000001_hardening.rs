//! Hardening: `login_throttle` (the failed-login counters every process
//! shares, updated in the statement that decides), `api_key.scope` (what a
//! key may do; NULL on older keys, read as their owner's role), and login
//! sessions keyed by a digest of the cookie's session id.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .if_not_exists()
                    .col(string(LoginThrottle::Key).primary_key())
                    .col(integer(LoginThrottle::Attempts))
                    .col(big_integer(LoginThrottle::WindowStart))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(ApiKey::Table).add_column(string_null(ApiKey::Scope)).to_owned())
            .await?;
        // Rows keyed by the plain session id cannot be found by digest: end them.
        sea_orm_migration::sea_orm::ConnectionTrait::execute_unprepared(
            manager.get_connection(),
            "DELETE FROM login_session",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(ApiKey::Table).drop_column(ApiKey::Scope).to_owned()).await?;
        manager.drop_table(Table::drop().table(LoginThrottle::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Attempts,
    WindowStart,
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Scope,
}
