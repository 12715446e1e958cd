//! Database connection with the settings each backend needs, and migrations.

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;

/// Connects to `url`. SQLite files get WAL, foreign keys, a busy timeout,
/// `synchronous=FULL` (NORMAL can lose a committed transaction on power
/// loss) and the first `sqlite_mmap_mb` MiB of the file read through a
/// memory map (`PRAGMA mmap_size`; 0: off), temporary b-trees in memory
/// (`PRAGMA temp_store`); `sqlite::memory:` keeps
/// sea-orm's single connection.
pub async fn connect(url: &str, max_connections: u32, sqlite_mmap_mb: u64) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if let Some(path) = sqlite_file_path(url) {
            let path = std::path::Path::new(&path);
            if let Some(dir) = path.parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
            }
            // The database holds PII and live sessions: 0600 before SQLite
            // first opens it (its -wal and -shm files copy the mode).
            crate::storage::precreate_private_file(path)?;
            for suffix in ["-wal", "-shm"] {
                let side = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                if side.exists() {
                    crate::storage::restrict_file(&side)?;
                }
            }
        }
        options.max_connections(if in_memory { 1 } else { max_connections.max(1) });
        options.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .synchronous(SqliteSynchronous::Full)
                // ANALYZE (and so PRAGMA optimize) samples about this many
                // rows per index instead of reading every row: statistics
                // good enough for the planner, in milliseconds at any size.
                .pragma("analysis_limit", ANALYSIS_LIMIT)
                // Pages read from the map instead of copied into each
                // connection's 2 MB cache by a read() per page: about 13 %
                // less CPU over the sessions-list bench, most where a
                // statement looks sessions up by id one by one.
                .pragma("mmap_size", (sqlite_mmap_mb * 1024 * 1024).to_string())
                // Temporary b-trees (a top-N sort, an IN list's set) in
                // memory instead of in a temporary file's pager: the
                // bounded sort that pages a broad word's matches took half
                // the CPU in the sqlite3 shell (less in the application).
                // The sorts here are
                // bounded by their LIMIT (+ OFFSET); an IN list's set holds
                // one index range's ids (a few MB at a million sessions).
                .pragma("temp_store", "MEMORY");
            if in_memory { o } else { o.journal_mode(SqliteJournalMode::Wal).create_if_missing(true) }
        });
    } else {
        options.max_connections(max_connections.max(2));
        // A scan of a large table starts at its beginning, not wherever
        // another scan of it is: the capped counts and walks that stop
        // after their first rows (the dashboard's "1,000+") otherwise cost
        // 5 ms or 50 ms depending on where the scan happened to start.
        options.map_sqlx_postgres_opts(|o| o.options([("synchronize_seqscans", "off")]));
    }
    Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))
}

/// Rows per index that SQLite's ANALYZE reads (`PRAGMA analysis_limit`).
const ANALYSIS_LIMIT: &str = "1000";

/// How often a server process refreshes SQLite's planner statistics.
pub const OPTIMIZE_EVERY: Duration = Duration::from_secs(3600);

/// SQLite: refreshes the query planner's statistics where they are missing
/// or stale (`PRAGMA optimize=0x10002`: every table, ANALYZE where the row
/// count moved a lot since the last one; sampled, see [`ANALYSIS_LIMIT`]).
/// Without statistics the planner may scan a client's sessions instead of
/// reading the few a search found by id. Run at start, every
/// [`OPTIMIZE_EVERY`] and after a large import; PostgreSQL's autovacuum
/// does the same there, so elsewhere nothing.
pub async fn optimize(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// Runs [`optimize`] every [`OPTIMIZE_EVERY`] (SQLite only).
pub fn spawn_optimizer(db: DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(OPTIMIZE_EVERY);
        tick.tick().await; // the first tick is now: start-up already ran it
        loop {
            tick.tick().await;
            if let Err(e) = optimize(&db).await {
                tracing::warn!(error = %e, "refreshing SQLite planner statistics failed");
            }
        }
    });
}

/// Applies the pending migrations. Several processes may start at once on
/// one PostgreSQL database (a fresh one, or after an upgrade): they apply
/// the migrations in one transaction that first takes [`lock_first_start`],
/// so one process applies them while the others wait and then find none
/// pending (without it, all but one failed to start).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::TransactionTrait;
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Migrator::up(db, None).await.context("running migrations");
    }
    let txn = db.begin().await.context("running migrations")?;
    lock_first_start(&txn).await.context("running migrations")?;
    Migrator::up(&txn, None).await.context("running migrations")?;
    txn.commit().await.context("running migrations")
}

/// PostgreSQL: takes the transaction-scoped advisory lock that serializes
/// what every starting process does once (migrations, the first start's
/// bootstrap); released at commit or rollback. Elsewhere nothing (SQLite
/// serializes writers itself).
pub async fn lock_first_start(txn: &sea_orm::DatabaseTransaction) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    /// An arbitrary key of this application's advisory lock ("tessera" in ASCII).
    const FIRST_START_LOCK: i64 = 0x7465_7373_6572_61;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FIRST_START_LOCK})")).await?;
    }
    Ok(())
}

fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.to_string())
}

/// Hides a password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}://{}:***{}", &url[..scheme], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether `e` is a unique-constraint violation (on either backend): the
/// insert lost a race or repeated a key.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact_url("sqlite://./data/t.db"), "sqlite://./data/t.db");
    }

    #[tokio::test]
    async fn every_sqlite_connection_maps_the_configured_size() {
        use sea_orm::{ConnectionTrait, Statement};
        let dir = tempfile::tempdir().unwrap();
        for (mb, bytes) in [(64u64, 64i64 << 20), (0, 0)] {
            let url = format!("sqlite://{}?mode=rwc", dir.path().join(format!("m{mb}.db")).display());
            let db = super::connect(&url, 2, mb).await.unwrap();
            // Two connections at once: the pragma is set on each.
            let (a, b) = (db.clone(), db.clone());
            let read = |db: sea_orm::DatabaseConnection| async move {
                let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), "PRAGMA mmap_size")).await.unwrap().unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            };
            let (x, y) = tokio::join!(read(a), read(b));
            assert_eq!((x, y), (bytes, bytes), "{mb} MiB");
            // Temporary b-trees in memory (2).
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), "PRAGMA temp_store")).await.unwrap().unwrap();
            assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 2);
            db.close().await.unwrap();
        }
    }
}

/// Begins a transaction that will write. On SQLite a deferred transaction
/// that reads first and writes later fails at once with SQLITE_BUSY when
/// another connection committed in between (the busy timeout does not apply
/// to that upgrade), so the write lock is taken up front with a statement
/// that writes nothing; it waits for other writers under the busy timeout.
pub async fn begin_write<C>(db: &C) -> Result<C::Transaction, sea_orm::DbErr>
where
    C: sea_orm::ConnectionTrait + sea_orm::TransactionTrait,
{
    use sea_orm::ConnectionTrait;
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        txn.execute_unprepared("UPDATE client SET name = name WHERE 1 = 0").await?;
    }
    Ok(txn)
}
