//! Shared application state: cheap to clone (everything behind `Arc`).

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::Config;
use crate::engine::Engines;
use crate::engine::sanctions::ListScreener;
use crate::metrics::Metrics;
use crate::storage::BlobStore;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub storage: BlobStore,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// The installed verification engines (none by default).
    pub engines: Arc<Engines>,
    /// The loaded sanctions list and its refresh state.
    pub sanctions: Arc<SanctionsRuntime>,
    pub started_at: Instant,
    /// Set when the process starts shutting down: workers stop claiming.
    pub shutdown: Arc<Shutdown>,
}

/// The process's "stop taking new work" signal (SIGTERM / Ctrl-C).
#[derive(Debug)]
pub struct Shutdown {
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { stopping: tokio::sync::watch::Sender::new(false) }
    }
}

impl Shutdown {
    pub fn begin(&self) {
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once [`Shutdown::begin`] was called.
    pub async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}

impl AppState {
    pub fn new(db: DatabaseConnection, storage: BlobStore, config: Config) -> Self {
        Self {
            db,
            storage,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            engines: Arc::new(Engines::default()),
            sanctions: Arc::default(),
            started_at: Instant::now(),
            shutdown: Arc::default(),
        }
    }

    pub fn uptime_secs(&self) -> f64 {
        self.started_at.elapsed().as_secs_f64()
    }
}

/// Outcome of the last scheduled refresh (for `/health`).
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshStatus {
    NotRun,
    Succeeded { at: DateTime<Utc>, version: String, new_version: bool },
    Failed { at: DateTime<Utc>, error: String },
}

/// The screener the engines use plus the refresh state; one per process.
pub struct SanctionsRuntime {
    pub screener: Arc<ListScreener>,
    status: Mutex<RefreshStatus>,
}

impl Default for SanctionsRuntime {
    fn default() -> Self {
        SanctionsRuntime { screener: Arc::new(ListScreener::default()), status: Mutex::new(RefreshStatus::NotRun) }
    }
}

impl SanctionsRuntime {
    pub fn status(&self) -> RefreshStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_status(&self, s: RefreshStatus) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }

    pub fn loaded_version(&self) -> Option<String> {
        self.screener.current().map(|i| i.version().to_string())
    }
}
