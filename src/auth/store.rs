//! A tower-sessions `SessionStore` over sea-orm (no released store fits
//! sea-orm 2 / sqlx 0.9). Records are JSON in `login_session.data`, keyed by
//! the SHA-256 of the session id: the cookie's value is never stored, so a
//! copy of the database cannot be replayed as a login.

use crate::db::is_unique_violation;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::login_session;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_else(Utc::now)
}

/// The row key of a session: a digest of the id the cookie carries.
pub fn row_id(id: &Id) -> String {
    crate::ids::sha256_hex(id.to_string().as_bytes())
}

/// The record without its id (the row is keyed by the id's digest).
fn active_model(record: &Record) -> session_store::Result<login_session::ActiveModel> {
    let anonymous = Record { id: Id(0), ..record.clone() };
    let data = serde_json::to_vec(&anonymous).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok(login_session::ActiveModel {
        id: Set(row_id(&record.id)),
        data: Set(data),
        expiry_date: Set(to_chrono(record.expiry_date)),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Insert, drawing a new id on the (astronomically unlikely) collision.
        loop {
            let model = active_model(record)?;
            match login_session::Entity::insert(model).exec(&self.db).await {
                Ok(_) => return Ok(()),
                Err(e) if is_unique_violation(&e) => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        login_session::Entity::insert(active_model(record)?)
            .on_conflict(
                OnConflict::column(login_session::Column::Id)
                    .update_columns([login_session::Column::Data, login_session::Column::ExpiryDate])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = login_session::Entity::find_by_id(row_id(id))
            .filter(login_session::Column::ExpiryDate.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let mut record: Record =
            serde_json::from_slice(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        record.id = *id;
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        login_session::Entity::delete_by_id(row_id(id))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        login_session::Entity::delete_many()
            .filter(login_session::Column::ExpiryDate.lte(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
