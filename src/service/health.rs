//! Real health checks: a database round trip, a blob write + read, the job backlog.

use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use std::time::Instant;

use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Degraded,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Degraded => "degraded",
            Level::Error => "error",
        }
    }
}

pub struct CheckOutcome {
    pub level: Level,
    pub detail: Value,
    pub error: Option<String>,
}

pub struct HealthReport {
    pub status: Level,
    pub database: CheckOutcome,
    pub storage: CheckOutcome,
    pub job_queue: CheckOutcome,
    /// The sanctions list: degraded when the last refresh failed.
    pub sanctions: CheckOutcome,
    /// The engines' models: degraded while they are fetched or loaded and
    /// when some could not be loaded.
    pub models: CheckOutcome,
}

impl HealthReport {
    pub fn first_error(&self) -> Option<String> {
        [&self.database, &self.storage, &self.job_queue, &self.sanctions, &self.models]
            .iter()
            .find_map(|c| c.error.clone())
    }
}

pub async fn check(state: &AppState) -> HealthReport {
    let (database, storage) = tokio::join!(check_database(state), check_storage(state));
    let job_queue = if database.level == Level::Ok {
        check_jobs(state).await
    } else {
        CheckOutcome { level: Level::Degraded, detail: json!({}), error: None }
    };
    let (sanctions_ok, detail, error) = crate::service::sanctions::health(state);
    let sanctions = CheckOutcome { level: if sanctions_ok { Level::Ok } else { Level::Degraded }, detail, error };
    let models = check_models(state);
    let status = database.level.max(storage.level).max(job_queue.level).max(sanctions.level).max(models.level);
    HealthReport { status, database, storage, job_queue, sanctions, models }
}

/// Where the model warm-up of `tessera serve` stands.
fn check_models(state: &AppState) -> CheckOutcome {
    use crate::engine::Warmth;
    let warmth = state.engines.warmth.get();
    let detail = json!({"state": warmth.as_str(), "load_errors": state.engines.load_errors});
    let (level, error) = match warmth {
        Warmth::Warm | Warmth::OnFirstUse => (Level::Ok, None),
        Warmth::Fetching | Warmth::Warming => (Level::Degraded, None),
        Warmth::Incomplete => (
            Level::Degraded,
            Some("some engine models could not be loaded; their checks report unavailable until they are fetched".to_string()),
        ),
    };
    CheckOutcome { level, detail, error }
}

/// Whether the process should take traffic: its database answers and the
/// start-up model loading (seconds, not the package download) is over.
pub async fn ready(state: &AppState) -> Result<(), &'static str> {
    if state.engines.warmth.get() == crate::engine::Warmth::Warming {
        return Err("warming");
    }
    state.db.ping().await.map_err(|_| "database")
}

async fn check_database(state: &AppState) -> CheckOutcome {
    let start = Instant::now();
    let backend = state.db.get_database_backend();
    let stmt = Statement::from_string(backend, "SELECT 1".to_string());
    let result = tokio::time::timeout(std::time::Duration::from_secs(5), state.db.query_one_raw(stmt)).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let backend_name = format!("{backend:?}").to_lowercase();
    match result {
        Ok(Ok(Some(_))) => CheckOutcome {
            level: Level::Ok,
            detail: json!({"backend": backend_name, "latency_ms": latency_ms}),
            error: None,
        },
        Ok(Ok(None)) => failed(json!({"backend": backend_name}), "database returned no row for SELECT 1"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health: database check failed");
            failed(json!({"backend": backend_name}), "database query failed")
        }
        Err(_) => failed(json!({"backend": backend_name}), "database did not answer within 5 s"),
    }
}

async fn check_storage(state: &AppState) -> CheckOutcome {
    let start = Instant::now();
    let key = format!("health/{}", uuid::Uuid::new_v4());
    let probe = key.as_bytes().to_vec();
    let backend = state.storage.backend();
    let outcome = async {
        state.storage.put(&key, &probe).await?;
        let read = state.storage.get(&key).await?;
        state.storage.delete(&key).await?;
        anyhow::ensure!(read.as_deref() == Some(&probe[..]), "read back different bytes");
        Ok::<_, anyhow::Error>(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), outcome).await {
        Ok(Ok(())) => CheckOutcome {
            level: Level::Ok,
            detail: json!({"backend": backend, "latency_ms": start.elapsed().as_secs_f64() * 1000.0}),
            error: None,
        },
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "health: storage check failed");
            failed(json!({"backend": backend}), "blob storage write/read failed")
        }
        Err(_) => failed(json!({"backend": backend}), "blob storage did not answer within 10 s"),
    }
}

async fn check_jobs(state: &AppState) -> CheckOutcome {
    use entity::job;
    let warn_after = Duration::seconds(state.config.job_backlog_warn_secs as i64);
    let queued = job::Entity::find()
        .filter(job::Column::Status.eq("queued"))
        .count(&state.db)
        .await;
    let overdue = job::Entity::find()
        .filter(job::Column::Status.eq("queued"))
        .filter(job::Column::RunAt.lt(Utc::now() - warn_after))
        .count(&state.db)
        .await;
    match (queued, overdue) {
        (Ok(queued), Ok(overdue)) => CheckOutcome {
            level: if overdue > 0 { Level::Degraded } else { Level::Ok },
            detail: json!({"queued": queued, "overdue": overdue, "overdue_after_secs": warn_after.num_seconds()}),
            error: (overdue > 0).then(|| format!("{overdue} jobs waiting longer than {}s", warn_after.num_seconds())),
        },
        _ => CheckOutcome { level: Level::Degraded, detail: json!({}), error: Some("job backlog unknown".into()) },
    }
}

fn failed(detail: Value, message: &str) -> CheckOutcome {
    CheckOutcome { level: Level::Error, detail, error: Some(message.to_string()) }
}
