//! `rate_limit_window`: fixed-window request counters every process of a
//! deployment shares (one row per limited key, e.g. a client's
//! `screening/search` calls), counted and decided in one upsert.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimitWindow::Table)
                    .if_not_exists()
                    .col(string(RateLimitWindow::Key).primary_key())
                    .col(integer(RateLimitWindow::Count))
                    .col(big_integer(RateLimitWindow::WindowStart))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RateLimitWindow::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum RateLimitWindow {
    Table,
    Key,
    Count,
    WindowStart,
}
