use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Client::Table)
                    .if_not_exists()
                    .col(string(Client::Id).primary_key())
                    .col(string(Client::Name))
                    .col(boolean(Client::IsPlatform))
                    .col(string(Client::LivenessProvider))
                    .col(json(Client::Settings))
                    .col(timestamp_with_time_zone(Client::CreatedAt))
                    .col(timestamp_with_time_zone(Client::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .if_not_exists()
                    .col(string(AppUser::Id).primary_key())
                    .col(string(AppUser::ClientId))
                    .col(string(AppUser::Email))
                    .col(string(AppUser::PasswordHash))
                    .col(string(AppUser::Role))
                    .col(boolean(AppUser::Disabled))
                    .col(timestamp_with_time_zone(AppUser::CreatedAt))
                    .col(timestamp_with_time_zone_null(AppUser::LastLoginAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_user_client_id")
                            .from(AppUser::Table, AppUser::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_app_user_email")
                    .table(AppUser::Table)
                    .col(AppUser::Email)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKey::Table)
                    .if_not_exists()
                    .col(string(ApiKey::Id).primary_key())
                    .col(string(ApiKey::ClientId))
                    .col(string_null(ApiKey::UserId))
                    .col(string(ApiKey::Name))
                    .col(string(ApiKey::Prefix))
                    .col(string(ApiKey::KeyHash))
                    .col(timestamp_with_time_zone(ApiKey::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_key_client_id")
                            .from(ApiKey::Table, ApiKey::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_key_user_id")
                            .from(ApiKey::Table, ApiKey::UserId)
                            .to(AppUser::Table, AppUser::Id)
                            .on_delete(ForeignKeyAction::SetNull)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_key_client_id")
                    .table(ApiKey::Table)
                    .col(ApiKey::ClientId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_api_key_key_hash")
                    .table(ApiKey::Table)
                    .col(ApiKey::KeyHash)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKey::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AppUser::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Client::Table).if_exists().to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
    Name,
    IsPlatform,
    LivenessProvider,
    Settings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    ClientId,
    Email,
    PasswordHash,
    Role,
    Disabled,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Id,
    ClientId,
    UserId,
    Name,
    Prefix,
    KeyHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}
