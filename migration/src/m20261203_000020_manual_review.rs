//! Manual review: `review_case` (a session or identity a person must look
//! at: state, assignee, priority, SLA due time, the reasons that opened it),
//! `review_decision` (approve / reject with a reason code and a note; never
//! edited — a correction is a new row — only a four-eyes confirmation is
//! stamped once) and `review_note` (free-text notes on a case).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReviewCase::Table)
                    .if_not_exists()
                    .col(string(ReviewCase::Id).primary_key())
                    .col(string(ReviewCase::ClientId))
                    .col(string(ReviewCase::SubjectKind))
                    .col(string_null(ReviewCase::SessionId))
                    .col(string_null(ReviewCase::IdentityId))
                    .col(string(ReviewCase::State))
                    .col(string(ReviewCase::OpenedBy))
                    .col(json(ReviewCase::Reasons))
                    .col(string(ReviewCase::ReasonChecks))
                    .col(integer(ReviewCase::Priority))
                    .col(string_null(ReviewCase::AssigneeId))
                    .col(timestamp_with_time_zone(ReviewCase::SlaDueAt))
                    .col(string_null(ReviewCase::Outcome))
                    .col(timestamp_with_time_zone_null(ReviewCase::ResubmissionRequestedAt))
                    .col(timestamp_with_time_zone(ReviewCase::CreatedAt))
                    .col(timestamp_with_time_zone(ReviewCase::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ReviewCase::DecidedAt))
                    .foreign_key(&mut fk("fk_review_case_client_id", ReviewCase::Table, ReviewCase::ClientId, Client::Table, Client::Id, ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("fk_review_case_session_id", ReviewCase::Table, ReviewCase::SessionId, IdvSession::Table, IdvSession::Id, ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("fk_review_case_identity_id", ReviewCase::Table, ReviewCase::IdentityId, Identity::Table, Identity::Id, ForeignKeyAction::SetNull))
                    .foreign_key(&mut fk("fk_review_case_assignee_id", ReviewCase::Table, ReviewCase::AssigneeId, AppUser::Table, AppUser::Id, ForeignKeyAction::SetNull))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_review_case_queue", ReviewCase::Table, &[ReviewCase::ClientId, ReviewCase::State, ReviewCase::SlaDueAt]).await?;
        index(manager, "ix_review_case_session_id", ReviewCase::Table, &[ReviewCase::SessionId]).await?;
        index(manager, "ix_review_case_identity_id", ReviewCase::Table, &[ReviewCase::IdentityId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(ReviewDecision::Table)
                    .if_not_exists()
                    .col(string(ReviewDecision::Id).primary_key())
                    .col(string(ReviewDecision::ClientId))
                    .col(string(ReviewDecision::CaseId))
                    .col(string(ReviewDecision::Action))
                    .col(string(ReviewDecision::ReasonCode))
                    .col(text_null(ReviewDecision::Note))
                    .col(string(ReviewDecision::ActorKind))
                    .col(string(ReviewDecision::ActorId))
                    .col(string(ReviewDecision::Status))
                    .col(string_null(ReviewDecision::ConfirmedByKind))
                    .col(string_null(ReviewDecision::ConfirmedBy))
                    .col(timestamp_with_time_zone_null(ReviewDecision::ConfirmedAt))
                    .col(string_null(ReviewDecision::SupersedesId))
                    .col(timestamp_with_time_zone(ReviewDecision::CreatedAt))
                    .foreign_key(&mut fk("fk_review_decision_client_id", ReviewDecision::Table, ReviewDecision::ClientId, Client::Table, Client::Id, ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("fk_review_decision_case_id", ReviewDecision::Table, ReviewDecision::CaseId, ReviewCase::Table, ReviewCase::Id, ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_review_decision_case_id", ReviewDecision::Table, &[ReviewDecision::CaseId, ReviewDecision::CreatedAt]).await?;

        manager
            .create_table(
                Table::create()
                    .table(ReviewNote::Table)
                    .if_not_exists()
                    .col(string(ReviewNote::Id).primary_key())
                    .col(string(ReviewNote::ClientId))
                    .col(string(ReviewNote::CaseId))
                    .col(string(ReviewNote::AuthorKind))
                    .col(string(ReviewNote::AuthorId))
                    .col(text(ReviewNote::Body))
                    .col(timestamp_with_time_zone(ReviewNote::CreatedAt))
                    .foreign_key(&mut fk("fk_review_note_client_id", ReviewNote::Table, ReviewNote::ClientId, Client::Table, Client::Id, ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("fk_review_note_case_id", ReviewNote::Table, ReviewNote::CaseId, ReviewCase::Table, ReviewCase::Id, ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_review_note_case_id", ReviewNote::Table, &[ReviewNote::CaseId, ReviewNote::CreatedAt]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReviewNote::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ReviewDecision::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ReviewCase::Table).if_exists().to_owned()).await
    }
}

fn fk<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static, U: IntoIden + Copy + 'static, D: IntoIden + Copy + 'static>(
    name: &str,
    table: T,
    col: C,
    to_table: U,
    to_col: D,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

async fn index<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table).if_not_exists();
    for c in cols {
        idx.col(*c);
    }
    manager.create_index(idx.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewCase {
    Table,
    Id,
    ClientId,
    SubjectKind,
    SessionId,
    IdentityId,
    State,
    OpenedBy,
    Reasons,
    ReasonChecks,
    Priority,
    AssigneeId,
    SlaDueAt,
    Outcome,
    ResubmissionRequestedAt,
    CreatedAt,
    UpdatedAt,
    DecidedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewDecision {
    Table,
    Id,
    ClientId,
    CaseId,
    Action,
    ReasonCode,
    Note,
    ActorKind,
    ActorId,
    Status,
    ConfirmedByKind,
    ConfirmedBy,
    ConfirmedAt,
    SupersedesId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewNote {
    Table,
    Id,
    ClientId,
    CaseId,
    AuthorKind,
    AuthorId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Client {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdvSession {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Identity {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum AppUser {
    Table,
    Id,
}
