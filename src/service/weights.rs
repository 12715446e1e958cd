//! Scoring weights: immutable versions, looked up (client, user) → client →
//! platform default. Also the tenancy rule shared by weights and
//! requirements: which (client, user) a request may address.

use chrono::Utc;
use entity::{user, weights};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::engine::policy::Policy;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::tenancy;

pub use crate::domain::weights::{WeightValues, allowed_range};

/// Entity conversions of the numbers (the struct is domain vocabulary).
macro_rules! define_conversions {
    ($($f:ident),*) => {
        impl WeightValues {
            pub fn from_model(m: &weights::Model) -> Self {
                Self { $($f: m.$f,)* }
            }

            fn into_active(self, id: String, client_id: Option<String>, user_id: Option<String>, created_by: Option<String>, policy: &Policy, change_note: Option<String>) -> weights::ActiveModel {
                weights::ActiveModel {
                    policy: Set(Some(policy.to_json())),
                    id: Set(id),
                    client_id: Set(client_id),
                    user_id: Set(user_id),
                    created_at: Set(Utc::now()),
                    created_by: Set(created_by),
                    change_note: Set(change_note),
                    $($f: Set(self.$f),)*
                }
            }
        }
    };
}
crate::for_each_weight_field!(define_conversions);


/// Writes a new immutable version (numbers and verdict policy) and returns it.
pub async fn insert_version(
    db: &impl ConnectionTrait,
    values: WeightValues,
    policy: &Policy,
    client_id: Option<String>,
    user_id: Option<String>,
    created_by: Option<String>,
) -> AppResult<weights::Model> {
    Ok(values.into_active(new_id(), client_id, user_id, created_by, policy, None).insert(db).await?)
}

/// The verdict policy of a version (`null` in a row is the default policy).
pub fn policy_of(m: &weights::Model) -> Policy {
    Policy::from_stored(m.policy.as_ref())
}

/// The platform default version, created from [`WeightValues::default`] when absent.
pub async fn ensure_platform_default(db: &impl ConnectionTrait) -> AppResult<weights::Model> {
    let existing = weights::Entity::find()
        .filter(weights::Column::ClientId.is_null())
        .order_by_desc(weights::Column::CreatedAt)
        .order_by_desc(weights::Column::Id)
        .one(db)
        .await?;
    match existing {
        Some(w) => Ok(w),
        None => insert_version(db, WeightValues::default(), &Policy::default(), None, None, Some("bootstrap".into())).await,
    }
}

/// The version in force for (client, user): the newest (client, user) row,
/// else the newest client row, else the platform default.
pub async fn in_force(db: &impl ConnectionTrait, client_id: &str, user_id: Option<&str>) -> AppResult<weights::Model> {
    if let Some(uid) = user_id {
        if let Some(w) = newest(db, Some(client_id), Some(uid)).await? {
            return Ok(w);
        }
    }
    if let Some(w) = newest(db, Some(client_id), None).await? {
        return Ok(w);
    }
    ensure_platform_default(db).await
}

async fn newest(
    db: &impl ConnectionTrait,
    client_id: Option<&str>,
    user_id: Option<&str>,
) -> AppResult<Option<weights::Model>> {
    let mut q = weights::Entity::find();
    q = match client_id {
        Some(c) => q.filter(weights::Column::ClientId.eq(c)),
        None => q.filter(weights::Column::ClientId.is_null()),
    };
    q = match user_id {
        Some(u) => q.filter(weights::Column::UserId.eq(u)),
        None => q.filter(weights::Column::UserId.is_null()),
    };
    Ok(q.order_by_desc(weights::Column::CreatedAt).order_by_desc(weights::Column::Id).one(db).await?)
}

/// Who is asking: the caller's client and whether it is the platform operator.
#[derive(Debug, Clone, Copy)]
pub struct Tenant<'a> {
    pub client_id: &'a str,
    pub is_platform: bool,
}

/// The (client, user) a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub client_id: String,
    pub user_id: Option<String>,
}

/// The tenancy rule of per-client settings: `client_id` absent means the
/// caller's client; another client is addressable by the platform operator
/// only (anyone else, or an unknown client, gets 404 so ids cannot be
/// probed); `user_id`, when given, must be a user of that client (else 404).
/// Empty strings count as absent.
pub async fn resolve_scope(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    client_id: Option<&str>,
    user_id: Option<&str>,
) -> AppResult<Scope> {
    let client_id = tenancy::resolve_client(db, caller.client_id, caller.is_platform, client_id).await?;
    let user_id = match present(user_id) {
        None => None,
        Some(u) => {
            let owner = user::Entity::find_by_id(u.to_string()).one(db).await?;
            if owner.is_none_or(|o| o.client_id != client_id) {
                return Err(AppError::not_found("user"));
            }
            Some(u.to_string())
        }
    };
    Ok(Scope { client_id, user_id })
}

pub(crate) fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The version in force for the scope a caller addresses (see [`resolve_scope`]).
pub async fn in_force_for(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    client_id: Option<&str>,
    user_id: Option<&str>,
) -> AppResult<weights::Model> {
    let scope = resolve_scope(db, caller, client_id, user_id).await?;
    in_force(db, &scope.client_id, scope.user_id.as_deref()).await
}

/// Validates `values` and `policy` and writes them as a new version for the
/// scope the caller addresses. A platform caller naming neither client nor
/// user writes a new platform default (client_id NULL). Without a policy
/// the version keeps the policy of the version in force for that scope, so
/// changing numbers never silently changes the policy.
pub async fn create_version(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    client_id: Option<&str>,
    user_id: Option<&str>,
    values: WeightValues,
    policy: Option<Policy>,
    created_by: Option<String>,
) -> AppResult<weights::Model> {
    values.validate()?;
    if let Some(p) = &policy {
        p.validate()?;
    }
    if caller.is_platform && present(client_id).is_none() && present(user_id).is_none() {
        let policy = match policy {
            Some(p) => p,
            None => policy_of(&ensure_platform_default(db).await?),
        };
        return insert_version(db, values, &policy, None, None, created_by).await;
    }
    let scope = resolve_scope(db, caller, client_id, user_id).await?;
    let policy = match policy {
        Some(p) => p,
        None => policy_of(&in_force(db, &scope.client_id, scope.user_id.as_deref()).await?),
    };
    insert_version(db, values, &policy, Some(scope.client_id), scope.user_id, created_by).await
}

/// One version by id, when the caller may see it: platform defaults are
/// readable by everyone, a client's versions by that client and the
/// platform operator. Anything else is 404.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    id: &str,
) -> AppResult<weights::Model> {
    let found = weights::Entity::find_by_id(id.to_string()).one(db).await?;
    match found {
        Some(w) if caller.is_platform || w.client_id.as_deref().is_none_or(|c| c == caller.client_id) => Ok(w),
        _ => Err(AppError::not_found("weights")),
    }
}

/// The versions written for the scope the caller addresses (exactly that
/// client and user), newest first, at most `limit`; the platform defaults
/// when the caller is the platform operator naming neither. When the
/// scope's versions all fit, the version it falls back to follows them (a
/// user's → the client's in force, a client's → the platform default), so
/// the scope's first version can be compared with what it replaced.
pub async fn list_versions(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    client_id: Option<&str>,
    user_id: Option<&str>,
    limit: u64,
) -> AppResult<Vec<weights::Model>> {
    use sea_orm::QuerySelect;
    let (client, user) = if caller.is_platform && present(client_id).is_none() && present(user_id).is_none() {
        (None, None)
    } else {
        let scope = resolve_scope(db, caller, client_id, user_id).await?;
        (Some(scope.client_id), scope.user_id)
    };
    let mut q = weights::Entity::find();
    q = match &client {
        Some(c) => q.filter(weights::Column::ClientId.eq(c.as_str())),
        None => q.filter(weights::Column::ClientId.is_null()),
    };
    q = match &user {
        Some(u) => q.filter(weights::Column::UserId.eq(u.as_str())),
        None => q.filter(weights::Column::UserId.is_null()),
    };
    let mut rows = q.order_by_desc(weights::Column::CreatedAt).order_by_desc(weights::Column::Id).limit(limit).all(db).await?;
    if (rows.len() as u64) < limit {
        let fallback = match (&client, &user) {
            (Some(c), Some(_)) => Some(in_force(db, c, None).await?),
            (Some(_), None) => Some(ensure_platform_default(db).await?),
            (None, _) => None,
        };
        rows.extend(fallback.filter(|f| !rows.iter().any(|r| r.id == f.id)));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        WeightValues::default().validate().unwrap();
    }

    #[test]
    fn ranges_follow_the_field_meaning() {
        assert_eq!(allowed_range("age_tolerance").1, 120.0);
        assert_eq!(allowed_range("direction_tolerance").1, 90.0);
        assert_eq!(allowed_range("gender_weight").1, 100.0);
        assert_eq!(allowed_range("ofac_fuzzy_match_tolerance").1, 1.0);
        let mut v = WeightValues { age_tolerance: 121.0, idv_session_tolerance: f64::NAN, ..Default::default() };
        let fields: Vec<String> = v.validate().unwrap_err().field_errors().iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["idv_session_tolerance", "age_tolerance"]);
        v.age_tolerance = 120.0;
        v.idv_session_tolerance = 1.0;
        v.validate().unwrap();
    }
}

/// Longest change note, in characters.
pub const MAX_CHANGE_NOTE_CHARS: usize = 500;

/// Stores why a version was written (in the transaction that wrote it).
/// A blank note or one over [`MAX_CHANGE_NOTE_CHARS`] is a 400 naming `changeNote`.
pub async fn set_change_note(db: &impl ConnectionTrait, version_id: &str, note: &str) -> AppResult<String> {
    let note = note.trim();
    if note.is_empty() {
        return Err(AppError::validation("changeNote", "must say why the weights change"));
    }
    if note.chars().count() > MAX_CHANGE_NOTE_CHARS {
        return Err(AppError::validation("changeNote", format!("at most {MAX_CHANGE_NOTE_CHARS} characters")));
    }
    weights::Entity::update_many()
        .col_expr(weights::Column::ChangeNote, sea_orm::sea_query::Expr::value(note))
        .filter(weights::Column::Id.eq(version_id))
        .exec(db)
        .await?;
    Ok(note.to_string())
}

/// Who wrote each version, in words, keyed by `created_by`: a dashboard
/// user's email when the caller may see that user (same client, or the
/// platform operator), else who it was in general terms.
pub async fn author_names(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    created_by: &[String],
) -> AppResult<std::collections::HashMap<String, String>> {
    let user_ids: Vec<String> =
        created_by.iter().filter_map(|c| c.strip_prefix("user:")).map(str::to_string).collect();
    let users = if user_ids.is_empty() {
        vec![]
    } else {
        user::Entity::find().filter(user::Column::Id.is_in(user_ids)).all(db).await?
    };
    let mut names = std::collections::HashMap::new();
    for c in created_by {
        let name = if let Some(uid) = c.strip_prefix("user:") {
            match users.iter().find(|u| u.id == uid) {
                Some(u) if caller.is_platform || u.client_id == caller.client_id => u.email.clone(),
                Some(_) => "the platform operator".to_string(),
                None => "a deleted user".to_string(),
            }
        } else if c.starts_with("api_key:") {
            "an API key".to_string()
        } else if c == "bootstrap" {
            "Tessera (initial defaults)".to_string()
        } else {
            c.clone()
        };
        names.insert(c.clone(), name);
    }
    Ok(names)
}
