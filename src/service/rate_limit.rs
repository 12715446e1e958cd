//! Fixed-window request limits shared by every process on the database
//! (several `tessera serve` behind one load balancer count together).
//!
//! A request takes its slot with one `INSERT … ON CONFLICT DO UPDATE …
//! RETURNING` on the key's `rate_limit_window` row: the count is raised (or
//! a new window started) and read back in the statement that decides, so
//! concurrent requests on any process cannot all pass a check made before
//! any of them was counted.

use chrono::Utc;
use entity::rate_limit_window;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};

use crate::error::{AppError, AppResult};

const TAKE: &str = r#"INSERT INTO rate_limit_window ("key", "count", window_start) VALUES ($1, 1, $2)
ON CONFLICT ("key") DO UPDATE SET
"count" = CASE WHEN rate_limit_window.window_start <= $3 THEN 1 ELSE rate_limit_window."count" + 1 END,
window_start = CASE WHEN rate_limit_window.window_start <= $3 THEN $2 ELSE rate_limit_window.window_start END
RETURNING "count", window_start"#;

/// Counts one request on `key`. `Ok(None)` when it is within `limit` for
/// the window of `window_secs` that holds it, `Ok(Some(secs))` (seconds
/// until that window ends) when it is over. A request over the limit is
/// counted too; the next window starts afresh.
pub async fn take(db: &impl ConnectionTrait, key: &str, limit: u32, window_secs: u64) -> AppResult<Option<u64>> {
    let now = Utc::now().timestamp();
    let expired_before = now - window_secs as i64;
    let backend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, placeholders(backend, TAKE), [key.into(), now.into(), expired_before.into()]);
    let row = db.query_one_raw(stmt).await?.ok_or_else(|| AppError::internal("rate_limit_window upsert returned no row"))?;
    let count: i32 = row.try_get("", "count")?;
    let window_start: i64 = row.try_get("", "window_start")?;
    if count as i64 > i64::from(limit) {
        return Ok(Some((window_start + window_secs as i64 - now).clamp(1, window_secs.max(1) as i64) as u64));
    }
    Ok(None)
}

/// Windows that ended before `older_than_secs` ago (housekeeping).
pub async fn delete_stale(db: &impl ConnectionTrait, older_than_secs: u64) -> AppResult<u64> {
    let cutoff = Utc::now().timestamp() - older_than_secs as i64;
    let res = rate_limit_window::Entity::delete_many().filter(rate_limit_window::Column::WindowStart.lte(cutoff)).exec(db).await?;
    Ok(res.rows_affected)
}

/// `$n` placeholders as the backend spells them.
fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => (1..=9).rev().fold(sql.to_string(), |out, n| out.replace(&format!("${n}"), &format!("?{n}"))),
    }
}
