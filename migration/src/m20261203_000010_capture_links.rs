//! The hosted capture page: `capture_link` (a short-lived, revocable link
//! to one IDV session; only the SHA-256 of its token is stored, with the
//! device that opened it) and `capture_settings` (per client: consent text,
//! colours, logo, where to send the user back, who may frame the page).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaptureLink::Table)
                    .if_not_exists()
                    .col(string(CaptureLink::Id).primary_key())
                    .col(string(CaptureLink::ClientId))
                    .col(string(CaptureLink::SessionId))
                    .col(string(CaptureLink::TokenHash))
                    .col(string(CaptureLink::Origin))
                    .col(string_null(CaptureLink::RedirectUrl))
                    .col(timestamp_with_time_zone(CaptureLink::CreatedAt))
                    .col(timestamp_with_time_zone(CaptureLink::ExpiresAt))
                    .col(timestamp_with_time_zone_null(CaptureLink::RevokedAt))
                    .col(timestamp_with_time_zone_null(CaptureLink::OpenedAt))
                    .col(string_null(CaptureLink::Device))
                    .col(string_null(CaptureLink::Browser))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_capture_link_client_id")
                            .from(CaptureLink::Table, CaptureLink::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_capture_link_session_id")
                            .from(CaptureLink::Table, CaptureLink::SessionId)
                            .to(IdvSession::Table, IdvSession::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_capture_link_token_hash")
                    .table(CaptureLink::Table)
                    .col(CaptureLink::TokenHash)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_capture_link_session_id")
                    .table(CaptureLink::Table)
                    .col(CaptureLink::SessionId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaptureSettings::Table)
                    .if_not_exists()
                    .col(string(CaptureSettings::ClientId).primary_key())
                    .col(text_null(CaptureSettings::ConsentText))
                    .col(string_null(CaptureSettings::PrimaryColor))
                    .col(string_null(CaptureSettings::BackgroundColor))
                    .col(text_null(CaptureSettings::LogoDataUrl))
                    .col(string_null(CaptureSettings::RedirectUrl))
                    .col(json_null(CaptureSettings::FrameAncestors))
                    .col(timestamp_with_time_zone(CaptureSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_capture_settings_client_id")
                            .from(CaptureSettings::Table, CaptureSettings::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CaptureSettings::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(CaptureLink::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CaptureLink {
    Table,
    Id,
    ClientId,
    SessionId,
    TokenHash,
    /// `api` (minted by the integrator) or `handoff` (minted by the page for a phone).
    Origin,
    RedirectUrl,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    OpenedAt,
    Device,
    Browser,
}

#[derive(DeriveIden)]
enum CaptureSettings {
    Table,
    ClientId,
    ConsentText,
    PrimaryColor,
    BackgroundColor,
    LogoDataUrl,
    RedirectUrl,
    FrameAncestors,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdvSession {
    Table,
    Id,
}
