use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .if_not_exists()
                    .col(string(Webhook::Id).primary_key())
                    .col(string(Webhook::ClientId))
                    .col(string(Webhook::Name))
                    .col(string(Webhook::Url))
                    .col(blob(Webhook::SecretCiphertext))
                    .col(blob_null(Webhook::PreviousSecretCiphertext))
                    .col(timestamp_with_time_zone_null(
                        Webhook::PreviousSecretExpiresAt,
                    ))
                    .col(boolean(Webhook::Enabled))
                    .col(string_null(Webhook::DisabledReason))
                    .col(timestamp_with_time_zone_null(Webhook::FailingSince))
                    .col(timestamp_with_time_zone(Webhook::CreatedAt))
                    .col(timestamp_with_time_zone(Webhook::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_client_id")
                            .from(Webhook::Table, Webhook::ClientId)
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
                    .name("idx_webhook_client_id")
                    .table(Webhook::Table)
                    .col(Webhook::ClientId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .if_not_exists()
                    .col(string(WebhookDelivery::Id).primary_key())
                    .col(string(WebhookDelivery::ClientId))
                    .col(string_null(WebhookDelivery::WebhookId))
                    .col(string(WebhookDelivery::TargetUrl))
                    .col(string(WebhookDelivery::EventType))
                    .col(string_null(WebhookDelivery::SessionId))
                    .col(big_integer(WebhookDelivery::Sequence))
                    .col(text(WebhookDelivery::Payload))
                    .col(string(WebhookDelivery::Status))
                    .col(integer(WebhookDelivery::Attempts))
                    .col(timestamp_with_time_zone(WebhookDelivery::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDelivery::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDelivery::LastStatusCode))
                    .col(string_null(WebhookDelivery::LastError))
                    .col(timestamp_with_time_zone(WebhookDelivery::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_delivery_client_id")
                            .from(WebhookDelivery::Table, WebhookDelivery::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_delivery_webhook_id")
                            .from(WebhookDelivery::Table, WebhookDelivery::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::SetNull)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_client_id")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::ClientId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_next_attempt_at")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::NextAttemptAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempt::Table)
                    .if_not_exists()
                    .col(string(WebhookAttempt::Id).primary_key())
                    .col(string(WebhookAttempt::DeliveryId))
                    .col(timestamp_with_time_zone(WebhookAttempt::AttemptedAt))
                    .col(integer_null(WebhookAttempt::StatusCode))
                    .col(big_integer(WebhookAttempt::LatencyMs))
                    .col(string_null(WebhookAttempt::Error))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_attempt_delivery_id")
                            .from(WebhookAttempt::Table, WebhookAttempt::DeliveryId)
                            .to(WebhookDelivery::Table, WebhookDelivery::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempt_delivery_id")
                    .table(WebhookAttempt::Table)
                    .col(WebhookAttempt::DeliveryId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(WebhookAttempt::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(WebhookDelivery::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Webhook::Table).if_exists().to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    ClientId,
    Name,
    Url,
    SecretCiphertext,
    PreviousSecretCiphertext,
    PreviousSecretExpiresAt,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    ClientId,
    WebhookId,
    TargetUrl,
    EventType,
    SessionId,
    Sequence,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastAttemptAt,
    LastStatusCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookAttempt {
    Table,
    Id,
    DeliveryId,
    AttemptedAt,
    StatusCode,
    LatencyMs,
    Error,
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
}
