//! The verdict policy: `weights.policy` (JSON, the knock-out / review /
//! score action of each family of checks, stored and versioned with the
//! weights) and `idv_session.review_required` (the review outcome).
//!
//! Versions written before policies existed get the default policy written
//! out, so each row keeps explaining its verdicts even if the defaults in
//! the code change later.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The default policy as this migration writes it into existing versions
/// (the server's `engine::policy::Policy::default()`, which a unit test
/// keeps equal to this).
pub const DEFAULT_POLICY_JSON: &str = r#"{"suspicious_words":"knock_out","image_manipulation":"knock_out","is_identity_document":"knock_out","online_duplication":"knock_out","duplicate_face":"review","document_expiry":"knock_out","document_issue_date":"review","document_date_order":"knock_out","birth_date_plausibility":"knock_out","sanctions":"knock_out","face_match":"knock_out","liveness":"knock_out","name_crosscheck":"review","document_number_crosscheck":"review","address_crosscheck":"review","expiry_crosscheck":"review","dmv":"review","age":"score","gender":"score","document_validity_weight":1.0}"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Weights::Table).add_column(json_null(Weights::Policy)).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdvSession::Table)
                    .add_column(boolean(IdvSession::ReviewRequired).default(false))
                    .to_owned(),
            )
            .await?;
        let fill = Query::update()
            .table(Weights::Table)
            .value(Weights::Policy, Expr::val(DEFAULT_POLICY_JSON).cast_as(policy_type(manager)))
            .and_where(Expr::col(Weights::Policy).is_null())
            .to_owned();
        manager.exec_stmt(fill).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(IdvSession::Table).drop_column(IdvSession::ReviewRequired).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Weights::Table).drop_column(Weights::Policy).to_owned())
            .await
    }
}

/// The column's type name for the cast: `json` on PostgreSQL, text on SQLite.
fn policy_type(manager: &SchemaManager) -> Alias {
    match manager.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => Alias::new("json"),
        _ => Alias::new("text"),
    }
}

#[derive(DeriveIden)]
enum Weights {
    Table,
    Policy,
}

#[derive(DeriveIden)]
enum IdvSession {
    Table,
    ReviewRequired,
}
