//! m20261203_000003_verdict_policy: weights versions written before it get
//! the default verdict policy written out (a later version's own policy is
//! kept), `idv_session.review_required` exists and defaults to false, and
//! down removes both columns. SQLite always, PostgreSQL when
//! `TESSERA_TEST_POSTGRES_URL` is set.

use entity::weights;
use migration::{DEFAULT_POLICY_JSON, Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Iterable, Value,
};

const NAME: &str = "m20261203_000003_verdict_policy";

/// How many migrations run before this one.
fn before() -> u32 {
    Migrator::migrations().iter().position(|m| m.name() == NAME).expect("the migration is registered") as u32
}

/// A platform weights row without the policy column (as written before it existed).
async fn insert_old_version(db: &DatabaseConnection, id: &str) {
    let mut am = weights::ActiveModel::new();
    for col in weights::Column::iter() {
        let value: Value = match col {
            weights::Column::Id => id.into(),
            weights::Column::ClientId | weights::Column::UserId | weights::Column::CreatedBy => Option::<String>::None.into(),
            weights::Column::CreatedAt => chrono::Utc::now().into(),
            // Columns added after the policy did not exist yet.
            weights::Column::Policy | weights::Column::ChangeNote => continue,
            _ => 0.5f64.into(),
        };
        am.set(col, value);
    }
    weights::Entity::insert(am).exec_without_returning(db).await.unwrap();
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, Some(before())).await.unwrap();
    insert_old_version(db, "old").await;
    Migrator::up(db, None).await.unwrap();

    let old = weights::Entity::find_by_id("old".to_string()).one(db).await.unwrap().unwrap();
    let expected: serde_json::Value = serde_json::from_str(DEFAULT_POLICY_JSON).unwrap();
    assert_eq!(old.policy, Some(expected), "the old version got the default policy");
    db.execute_unprepared("SELECT review_required FROM idv_session").await.unwrap();

    // Down removes both columns (every later migration is rolled back first); up restores them.
    let after = Migrator::migrations().len() as u32 - before();
    Migrator::down(db, Some(after)).await.unwrap();
    assert!(db.execute_unprepared("SELECT policy FROM weights").await.is_err());
    assert!(db.execute_unprepared("SELECT review_required FROM idv_session").await.is_err());
    Migrator::up(db, None).await.unwrap();
    let old = weights::Entity::find_by_id("old".to_string()).one(db).await.unwrap().unwrap();
    assert!(old.policy.is_some());
}

#[tokio::test]
async fn sqlite_old_versions_get_the_default_policy() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    exercise(&db).await;
}

#[tokio::test]
async fn postgres_old_versions_get_the_default_policy() {
    let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        eprintln!("TESSERA_TEST_POSTGRES_URL not set; skipping PostgreSQL test");
        return;
    };
    let admin = Database::connect(&url).await.unwrap();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("tessera_vp_{}_{}", std::process::id(), nanos);
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
