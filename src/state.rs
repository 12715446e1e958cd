//! Shared application state: cheap to clone (everything behind `Arc`).

use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Instant;

use crate::auth::login::LoginLimiter;
use crate::config::Config;
use crate::engine::Engines;
use crate::metrics::Metrics;
use crate::storage::BlobStore;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub storage: BlobStore,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub login_limiter: Arc<LoginLimiter>,
    /// The installed verification engines (none by default).
    pub engines: Arc<Engines>,
    /// The loaded sanctions list and its refresh state.
    pub sanctions: Arc<crate::service::sanctions::SanctionsRuntime>,
    pub started_at: Instant,
}

impl AppState {
    pub fn new(db: DatabaseConnection, storage: BlobStore, config: Config) -> Self {
        let login_limiter = LoginLimiter::new(
            config.login_max_failures,
            std::time::Duration::from_secs(config.login_window_secs),
        );
        Self {
            db,
            storage,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            login_limiter: Arc::new(login_limiter),
            engines: Arc::new(Engines::default()),
            sanctions: Arc::default(),
            started_at: Instant::now(),
        }
    }

    pub fn uptime_secs(&self) -> f64 {
        self.started_at.elapsed().as_secs_f64()
    }
}
