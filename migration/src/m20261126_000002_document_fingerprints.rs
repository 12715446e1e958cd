//! Document authenticity data: `document_fingerprint` (the duplicate search
//! across sessions: a perceptual hash split into 8 indexed bands, and the
//! SHA-256 of the barcode identity) and `document_reading` (the fields each
//! reader took from each side, for the crosschecks).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BANDS: [DocumentFingerprint; 8] = [
    DocumentFingerprint::Band0,
    DocumentFingerprint::Band1,
    DocumentFingerprint::Band2,
    DocumentFingerprint::Band3,
    DocumentFingerprint::Band4,
    DocumentFingerprint::Band5,
    DocumentFingerprint::Band6,
    DocumentFingerprint::Band7,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(DocumentFingerprint::Table)
            .if_not_exists()
            .col(string(DocumentFingerprint::Id).primary_key())
            .col(string(DocumentFingerprint::ClientId))
            .col(string(DocumentFingerprint::SessionId))
            .col(string(DocumentFingerprint::Side))
            .col(string(DocumentFingerprint::Phash));
        for band in BANDS {
            table.col(big_integer(band));
        }
        table
            .col(string_null(DocumentFingerprint::BarcodeKeyHash))
            .col(timestamp_with_time_zone(DocumentFingerprint::CreatedAt))
            .col(timestamp_with_time_zone(DocumentFingerprint::UpdatedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_document_fingerprint_client_id")
                    .from(DocumentFingerprint::Table, DocumentFingerprint::ClientId)
                    .to(Client::Table, Client::Id)
                    .on_delete(ForeignKeyAction::Cascade)
                    .on_update(ForeignKeyAction::NoAction),
            );
        manager.create_table(table.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_document_fingerprint_session_side")
                    .table(DocumentFingerprint::Table)
                    .col(DocumentFingerprint::SessionId)
                    .col(DocumentFingerprint::Side)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_document_fingerprint_barcode_key_hash")
                    .table(DocumentFingerprint::Table)
                    .col(DocumentFingerprint::BarcodeKeyHash)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        for (i, band) in BANDS.into_iter().enumerate() {
            manager
                .create_index(
                    Index::create()
                        .name(format!("ix_document_fingerprint_band{i}"))
                        .table(DocumentFingerprint::Table)
                        .col(band)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DocumentReading::Table)
                    .if_not_exists()
                    .col(string(DocumentReading::Id).primary_key())
                    .col(string(DocumentReading::ClientId))
                    .col(string(DocumentReading::SessionId))
                    .col(string(DocumentReading::Side))
                    .col(string(DocumentReading::Source))
                    .col(json(DocumentReading::Fields))
                    .col(timestamp_with_time_zone(DocumentReading::CreatedAt))
                    .col(timestamp_with_time_zone(DocumentReading::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_reading_client_id")
                            .from(DocumentReading::Table, DocumentReading::ClientId)
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
                    .name("uq_document_reading_session_side_source")
                    .table(DocumentReading::Table)
                    .col(DocumentReading::SessionId)
                    .col(DocumentReading::Side)
                    .col(DocumentReading::Source)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DocumentReading::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(DocumentFingerprint::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum DocumentFingerprint {
    Table,
    Id,
    ClientId,
    SessionId,
    Side,
    Phash,
    Band0,
    Band1,
    Band2,
    Band3,
    Band4,
    Band5,
    Band6,
    Band7,
    BarcodeKeyHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DocumentReading {
    Table,
    Id,
    ClientId,
    SessionId,
    Side,
    Source,
    Fields,
    CreatedAt,
    UpdatedAt,
}
