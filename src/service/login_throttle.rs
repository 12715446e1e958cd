//! Failed-login rate limit shared by every process of a deployment.
//!
//! Each login attempt first takes a slot: one `INSERT … ON CONFLICT DO
//! UPDATE … RETURNING` adds the attempt and returns the count, so that the
//! decision and the update are one statement and concurrent attempts cannot
//! all pass a check made before any of them was counted. A successful login
//! gives its slots back (and clears the email's counter).

use chrono::Utc;
use entity::login_throttle;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};

use crate::error::{AppError, AppResult};

/// The counters one attempt is charged to.
#[derive(Debug, Clone)]
pub struct LoginKeys {
    pub email: String,
    pub address: Option<String>,
}

impl LoginKeys {
    pub fn new(email: &str, address: Option<&str>) -> Self {
        Self {
            email: format!("email:{}", email.trim().to_lowercase()),
            address: address.map(|a| format!("ip:{a}")),
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.email).chain(self.address.iter())
    }
}

const TAKE_SLOT: &str = r#"INSERT INTO login_throttle ("key", attempts, window_start) VALUES ($1, 1, $2)
ON CONFLICT ("key") DO UPDATE SET
attempts = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.attempts + 1 END,
window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END
RETURNING attempts, window_start"#;

/// Counts this attempt on every key; `Err(RateLimited)` when any key is now
/// over `max_attempts` within `window_secs` (the attempt must then not be
/// checked at all).
pub async fn take_slot(db: &impl ConnectionTrait, keys: &LoginKeys, max_attempts: u32, window_secs: u64) -> AppResult<()> {
    let now = Utc::now().timestamp();
    let expired_before = now - window_secs as i64;
    // Keys are charged in order and the first one over the limit stops the
    // attempt, so an address is charged only for attempts its email allowed.
    for key in keys.all() {
        let sql = placeholders(db.get_database_backend(), TAKE_SLOT);
        let stmt = Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [key.clone().into(), now.into(), expired_before.into()],
        );
        let row = db
            .query_one_raw(stmt)
            .await?
            .ok_or_else(|| AppError::internal("login_throttle upsert returned no row"))?;
        let attempts: i32 = row.try_get("", "attempts")?;
        let window_start: i64 = row.try_get("", "window_start")?;
        if attempts as u32 > max_attempts.max(1) {
            let secs = (window_start + window_secs as i64 - now).max(1) as u64;
            return Err(AppError::RateLimited {
                detail: format!("too many login attempts; try again in {secs} s"),
                retry_after_secs: secs,
            });
        }
    }
    Ok(())
}

/// After a successful login: the email's counter starts over and the
/// address gets its slot back.
pub async fn succeeded(db: &impl ConnectionTrait, keys: &LoginKeys) -> AppResult<()> {
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.eq(keys.email.clone()))
        .exec(db)
        .await?;
    if let Some(address) = &keys.address {
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Attempts,
                sea_orm::sea_query::ExprTrait::sub(Expr::col(login_throttle::Column::Attempts), 1),
            )
            .filter(login_throttle::Column::Key.eq(address.clone()))
            .filter(login_throttle::Column::Attempts.gt(0))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Counters whose window ended long ago (housekeeping).
pub async fn delete_stale(db: &impl ConnectionTrait, window_secs: u64) -> AppResult<u64> {
    let cutoff = Utc::now().timestamp() - window_secs as i64;
    let res = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStart.lte(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// `$n` placeholders as the backend spells them.
fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => {
            let mut out = sql.to_string();
            for n in (1..=9).rev() {
                out = out.replace(&format!("${n}"), &format!("?{n}"));
            }
            out
        }
    }
}
