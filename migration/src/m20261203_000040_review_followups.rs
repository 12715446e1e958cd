//! Manual review, second part:
//! - `review_case.subject_removed` / `subject_removed_at`: the session was
//!   deleted (`session_deleted`) or the identity erased (`identity_erased`);
//!   the case and its decisions stay as the audit record, without personal
//!   data, and `review_case.session_id` is cleared on a delete so the
//!   session's removal no longer takes the case with it;
//! - `review_case.resubmission_session_id`: the new session a resubmission
//!   request created for the applicant (its capture link was handed back);
//! - `review_attachment`: a file attached to a case note (the bytes are an
//!   encrypted blob, like every stored file).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for col in [
            string_null(ReviewCase::SubjectRemoved),
            timestamp_with_time_zone_null(ReviewCase::SubjectRemovedAt),
            string_null(ReviewCase::ResubmissionSessionId),
        ] {
            manager.alter_table(Table::alter().table(ReviewCase::Table).add_column(col).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ReviewAttachment::Table)
                    .if_not_exists()
                    .col(string(ReviewAttachment::Id).primary_key())
                    .col(string(ReviewAttachment::ClientId))
                    .col(string(ReviewAttachment::CaseId))
                    .col(string(ReviewAttachment::NoteId))
                    .col(string(ReviewAttachment::FileName))
                    .col(string(ReviewAttachment::ContentType))
                    .col(big_integer(ReviewAttachment::ByteSize))
                    .col(string(ReviewAttachment::Sha256))
                    .col(string(ReviewAttachment::ObjectKey))
                    .col(string(ReviewAttachment::AuthorKind))
                    .col(string(ReviewAttachment::AuthorId))
                    .col(timestamp_with_time_zone(ReviewAttachment::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_review_attachment_client_id")
                            .from(ReviewAttachment::Table, ReviewAttachment::ClientId)
                            .to(Client::Table, Client::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_review_attachment_note_id")
                            .from(ReviewAttachment::Table, ReviewAttachment::NoteId)
                            .to(ReviewNote::Table, ReviewNote::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_review_attachment_note_id")
                    .table(ReviewAttachment::Table)
                    .col(ReviewAttachment::NoteId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_review_attachment_case_id")
                    .table(ReviewAttachment::Table)
                    .col(ReviewAttachment::CaseId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReviewAttachment::Table).if_exists().to_owned()).await?;
        for col in [ReviewCase::ResubmissionSessionId, ReviewCase::SubjectRemovedAt, ReviewCase::SubjectRemoved] {
            manager.alter_table(Table::alter().table(ReviewCase::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewCase {
    Table,
    SubjectRemoved,
    SubjectRemovedAt,
    ResubmissionSessionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewAttachment {
    Table,
    Id,
    ClientId,
    CaseId,
    NoteId,
    FileName,
    ContentType,
    ByteSize,
    Sha256,
    ObjectKey,
    AuthorKind,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewNote {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Client {
    Table,
    Id,
}
