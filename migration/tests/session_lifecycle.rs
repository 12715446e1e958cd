//! m20261126_000001_session_lifecycle: duplicate requirement rows are
//! reduced to the newest one, after which the unique index rejects a second
//! row of the same scope, NULL client/user included; `blocked_until` exists
//! on both session tables. SQLite always, PostgreSQL when
//! `TESSERA_TEST_POSTGRES_URL` is set.

use chrono::{Duration, Utc};
use entity::requirement;
use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    Iterable, QueryFilter,
    QueryOrder, Value,
};

/// Migrations before this one.
const BEFORE: u32 = 4;

fn row(id: &str, user_id: Option<&str>, age_secs: i64) -> requirement::ActiveModel {
    let mut am = requirement::ActiveModel::new();
    let at = Utc::now() - Duration::seconds(age_secs);
    for col in requirement::Column::iter() {
        let value: Value = match col {
            requirement::Column::Id => id.into(),
            requirement::Column::ClientId => Option::<String>::None.into(),
            requirement::Column::UserId => user_id.map(str::to_string).into(),
            requirement::Column::Type => "driver_license".into(),
            requirement::Column::DataSource => "barcode".into(),
            requirement::Column::CreatedAt | requirement::Column::UpdatedAt => at.into(),
            _ => false.into(),
        };
        am.set(col, value);
    }
    am
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, Some(BEFORE)).await.unwrap();
    for (id, user, age) in [("old", None, 30), ("newest", None, 10), ("older", None, 20), ("u-old", Some("u1"), 5), ("u-new", Some("u1"), 1)] {
        row(id, user, age).insert(db).await.unwrap();
    }
    Migrator::up(db, None).await.unwrap();

    let ids: Vec<String> = requirement::Entity::find()
        .order_by_asc(requirement::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec!["newest".to_string(), "u-new".to_string()], "newest row per scope kept");

    // NULL client and user collide like values do.
    assert!(row("again", None, 0).insert(db).await.is_err(), "duplicate NULL scope accepted");
    assert!(row("again-u", Some("u1"), 0).insert(db).await.is_err(), "duplicate user scope accepted");
    row("other-user", Some("u2"), 0).insert(db).await.unwrap();
    let mut other_source = row("mrz", None, 0);
    other_source.set(requirement::Column::DataSource, "mrz".into());
    other_source.insert(db).await.unwrap();

    for table in ["idv_session", "ida_session"] {
        db.execute_unprepared(&format!("SELECT blocked_until FROM {table}")).await.unwrap();
    }

    // Down removes the index and the columns; up again restores them.
    // (Every migration after it is rolled back first.)
    let after_lifecycle = Migrator::migrations().len() as u32 - BEFORE;
    Migrator::down(db, Some(after_lifecycle)).await.unwrap();
    row("dup-after-down", None, 0).insert(db).await.unwrap();
    assert!(db.execute_unprepared("SELECT blocked_until FROM idv_session").await.is_err());
    Migrator::up(db, None).await.unwrap();
    let left = requirement::Entity::find()
        .filter(requirement::Column::UserId.is_null())
        .filter(requirement::Column::DataSource.eq("barcode"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "re-applying the migration deduplicates again");
}

#[tokio::test]
async fn sqlite_requirement_index_and_blocked_until() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    exercise(&db).await;
}

#[tokio::test]
async fn postgres_requirement_index_and_blocked_until() {
    let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        eprintln!("TESSERA_TEST_POSTGRES_URL not set; skipping PostgreSQL test");
        return;
    };
    let admin = Database::connect(&url).await.unwrap();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("tessera_lc_{}_{}", std::process::id(), nanos);
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url.as_str(), String::new()),
    };
    let slash = base.rfind('/').expect("database name in URL");
    let db = Database::connect(&format!("{}/{}{}", &base[..slash], name, query)).await.unwrap();
    let result = tokio::spawn(async move {
        exercise(&db).await;
        db.close().await.unwrap();
    })
    .await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
