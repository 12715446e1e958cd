//! Audit rows: who did what to which object. No PII in `detail`.

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::error::AppResult;
use crate::ids::new_id;

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    ApiKey { client_id: String, key_id: String },
    User { client_id: String, user_id: String },
    System,
}

impl Actor {
    fn parts(&self) -> (Option<String>, &'static str, Option<String>) {
        match self {
            Actor::ApiKey { client_id, key_id } => (Some(client_id.clone()), "api_key", Some(key_id.clone())),
            Actor::User { client_id, user_id } => (Some(client_id.clone()), "user", Some(user_id.clone())),
            Actor::System => (None, "system", None),
        }
    }
}

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<(&str, &str)>,
    ip: Option<String>,
    detail: Option<serde_json::Value>,
) -> AppResult<()> {
    let (client_id, actor_kind, actor_id) = actor.parts();
    entity::audit_log::Entity::insert(entity::audit_log::ActiveModel {
        id: Set(new_id()),
        client_id: Set(client_id),
        actor_kind: Set(actor_kind.to_string()),
        actor_id: Set(actor_id),
        action: Set(action.to_string()),
        target_kind: Set(target.map(|(k, _)| k.to_string())),
        target_id: Set(target.map(|(_, id)| id.to_string())),
        ip: Set(ip),
        detail: Set(detail),
        at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
