//! Screening beyond OFAC: `sanctions_entry.details` (countries, gender,
//! identifiers, listing date, source URL, sanction or PEP) for the UN, EU,
//! UK and OpenSanctions lists; `screening_setting` (the lists a client
//! screens against); `screening_allowlist` (false positives a client
//! cleared); `screening_hit` (hits found by re-screening verified
//! identities, for review).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn client_fk(table: impl IntoIden + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("client_id"))
        .to(Client::Table, Client::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(SanctionsEntry::Table).add_column(json_null(SanctionsEntry::Details)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScreeningSetting::Table)
                    .if_not_exists()
                    .col(string(ScreeningSetting::ClientId).primary_key())
                    .col(json(ScreeningSetting::Lists))
                    .col(timestamp_with_time_zone(ScreeningSetting::UpdatedAt))
                    .foreign_key(&mut client_fk(ScreeningSetting::Table, "fk_screening_setting_client_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScreeningAllowlist::Table)
                    .if_not_exists()
                    .col(string(ScreeningAllowlist::Id).primary_key())
                    .col(string(ScreeningAllowlist::ClientId))
                    .col(string(ScreeningAllowlist::SubjectKey))
                    .col(string(ScreeningAllowlist::SubjectName))
                    .col(string_null(ScreeningAllowlist::BirthDate))
                    .col(string(ScreeningAllowlist::ListKey))
                    .col(string(ScreeningAllowlist::EntryId))
                    .col(text(ScreeningAllowlist::Reason))
                    .col(string_null(ScreeningAllowlist::CreatedBy))
                    .col(timestamp_with_time_zone(ScreeningAllowlist::CreatedAt))
                    .foreign_key(&mut client_fk(ScreeningAllowlist::Table, "fk_screening_allowlist_client_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_screening_allowlist_client_subject")
                    .table(ScreeningAllowlist::Table)
                    .col(ScreeningAllowlist::ClientId)
                    .col(ScreeningAllowlist::SubjectKey)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScreeningHit::Table)
                    .if_not_exists()
                    .col(string(ScreeningHit::Id).primary_key())
                    .col(string(ScreeningHit::ClientId))
                    .col(string(ScreeningHit::IdentityId))
                    .col(string(ScreeningHit::Category))
                    .col(string(ScreeningHit::ListKey))
                    .col(string(ScreeningHit::EntryId))
                    .col(string(ScreeningHit::EntryName))
                    .col(double(ScreeningHit::Score))
                    .col(string(ScreeningHit::ListsVersion))
                    .col(json(ScreeningHit::Explanation))
                    .col(string(ScreeningHit::Status))
                    .col(timestamp_with_time_zone(ScreeningHit::CreatedAt))
                    .foreign_key(&mut client_fk(ScreeningHit::Table, "fk_screening_hit_client_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_screening_hit_identity_entry")
                    .table(ScreeningHit::Table)
                    .col(ScreeningHit::IdentityId)
                    .col(ScreeningHit::ListKey)
                    .col(ScreeningHit::EntryId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_screening_hit_client_status")
                    .table(ScreeningHit::Table)
                    .col(ScreeningHit::ClientId)
                    .col(ScreeningHit::Status)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ScreeningHit::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ScreeningAllowlist::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ScreeningSetting::Table).if_exists().to_owned()).await?;
        manager.alter_table(Table::alter().table(SanctionsEntry::Table).drop_column(SanctionsEntry::Details).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SanctionsEntry {
    Table,
    Details,
}

#[derive(DeriveIden)]
enum ScreeningSetting {
    Table,
    ClientId,
    Lists,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScreeningAllowlist {
    Table,
    Id,
    ClientId,
    SubjectKey,
    SubjectName,
    BirthDate,
    ListKey,
    EntryId,
    Reason,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ScreeningHit {
    Table,
    Id,
    ClientId,
    IdentityId,
    Category,
    ListKey,
    EntryId,
    EntryName,
    Score,
    ListsVersion,
    Explanation,
    Status,
    CreatedAt,
}
