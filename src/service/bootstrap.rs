//! First start on an empty database: a platform operator client with an
//! admin account, a demo client with an API key, default weights.

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::error::AppResult;
use crate::ids::random_token;
use crate::service::{tenancy, weights};

/// Credentials created on first start, printed once.
#[derive(Debug, Clone)]
pub struct BootstrapInfo {
    pub admin_email: String,
    pub admin_password: String,
    pub demo_client_id: String,
    pub demo_api_key: String,
}

pub const BOOTSTRAP_ADMIN_EMAIL: &str = "admin@tessera.local";

/// Creates the bootstrap data when the database has no users; `None` otherwise.
/// Processes starting at once on one database create it once: the check and
/// the writes are one transaction under the first-start lock.
pub async fn bootstrap_if_empty(db: &DatabaseConnection) -> AppResult<Option<BootstrapInfo>> {
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_first_start(&txn).await?;
    weights::ensure_platform_default(&txn).await?;
    if entity::user::Entity::find().count(&txn).await? > 0 {
        txn.commit().await?;
        return Ok(None);
    }
    let platform = match tenancy::platform_client(&txn).await? {
        Some(c) => c,
        None => tenancy::create_client(&txn, "Platform operator", true).await?,
    };
    let password = random_token(20);
    tenancy::create_user(&txn, &platform.id, BOOTSTRAP_ADMIN_EMAIL, tenancy::Role::Admin, &password).await?;
    let demo = tenancy::create_client(&txn, "Demo client", false).await?;
    let key = tenancy::create_api_key(&txn, &demo.id, None, Some("demo")).await?;
    txn.commit().await?;
    Ok(Some(BootstrapInfo {
        admin_email: BOOTSTRAP_ADMIN_EMAIL.to_string(),
        admin_password: password,
        demo_client_id: demo.id,
        demo_api_key: key.plaintext,
    }))
}
