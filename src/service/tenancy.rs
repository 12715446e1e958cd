//! Clients (tenants), users and API keys.

use chrono::{Duration, Utc};
use entity::{api_key, client, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::service::passwords::{KEY_PREFIX, hash_password};
use crate::error::{AppError, AppResult};
use crate::ids::{new_id, random_token, sha256_hex};

/// Number of leading characters of a key kept in clear for lists.
const SHOWN_PREFIX_LEN: usize = 12;
/// `last_used_at` is written at most this often per key.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// Reads like a viewer, and works the review queue (assign, note, decide).
    Reviewer,
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> AppResult<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "reviewer" => Ok(Role::Reviewer),
            "viewer" => Ok(Role::Viewer),
            other => Err(AppError::validation("role", format!("expected admin, reviewer or viewer, got `{other}`"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
        }
    }
}

/// What an API key may do. Ordered: each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyScope {
    /// Reads only (lists, reads, downloads, GraphQL queries).
    ReadOnly,
    /// The integration: create and delete sessions, plus everything of `read_only`.
    Integrator,
    /// Also the client's administration: API keys, webhooks, weights,
    /// requirements, identity erasure.
    Admin,
}

impl KeyScope {
    pub const ALL: [KeyScope; 3] = [KeyScope::ReadOnly, KeyScope::Integrator, KeyScope::Admin];

    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            AppError::validation(field, format!("expected read_only, integrator or admin, got `{s}`"))
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::ReadOnly => "read_only",
            KeyScope::Integrator => "integrator",
            KeyScope::Admin => "admin",
        }
    }

    /// The widest scope a user of `role` may hold or hand out.
    pub fn cap_for_role(role: &str) -> Self {
        if role == Role::Admin.as_str() { KeyScope::Admin } else { KeyScope::ReadOnly }
    }
}

/// A key's scope as it applies now: what it was created with (its owner's
/// role for keys made before scopes; `admin` for a client key without an
/// owner, made by the operator), never wider than its owner's current role.
pub async fn effective_scope(db: &impl ConnectionTrait, key: &api_key::Model) -> AppResult<KeyScope> {
    let stored = key.scope.as_deref().and_then(|s| KeyScope::parse("scope", s).ok());
    let Some(owner_id) = &key.user_id else {
        return Ok(stored.unwrap_or(KeyScope::Admin));
    };
    let cap = match user::Entity::find_by_id(owner_id.clone()).one(db).await? {
        Some(u) if !u.disabled => KeyScope::cap_for_role(&u.role),
        _ => KeyScope::ReadOnly,
    };
    Ok(stored.unwrap_or(cap).min(cap))
}

pub async fn create_client(db: &impl ConnectionTrait, name: &str, is_platform: bool) -> AppResult<client::Model> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AppError::validation("name", "must be 1 to 200 characters"));
    }
    let now = Utc::now();
    let model = client::ActiveModel {
        id: Set(new_id()),
        name: Set(name.to_string()),
        is_platform: Set(is_platform),
        liveness_provider: Set("local".into()),
        settings: Set(serde_json::json!({})),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

pub async fn find_client(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<client::Model>> {
    Ok(client::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// The clients a caller may name: every client for the platform operator
/// (the platform first, then by name), else only the caller's own.
pub async fn visible_clients(db: &impl ConnectionTrait, client_id: &str, is_platform: bool) -> AppResult<Vec<client::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let query = client::Entity::find();
    let query = if is_platform { query } else { query.filter(client::Column::Id.eq(client_id)) };
    Ok(query
        .order_by_desc(client::Column::IsPlatform)
        .order_by_asc(client::Column::Name)
        .order_by_asc(client::Column::Id)
        .all(db)
        .await?)
}

/// Which clients' records a caller may read: its own client's, or — the
/// platform operator — every client's. The one answer to "may this caller
/// see that client's row" for REST, GraphQL and the admin UI: lookups by id
/// use it (so the operator can open what its lists show, and everyone else
/// gets 404 for another client's id), and batched nested lookups use it so
/// they never cross tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The caller's client only.
    Only(String),
    /// The platform operator: every client.
    Any,
}

impl Scope {
    pub fn new(own_client_id: impl Into<String>, is_platform: bool) -> Self {
        if is_platform { Scope::Any } else { Scope::Only(own_client_id.into()) }
    }

    pub fn allows(&self, client_id: &str) -> bool {
        match self {
            Scope::Only(own) => own == client_id,
            Scope::Any => true,
        }
    }

    /// The WHERE clause "the row's client is in scope" on `col`.
    pub fn condition(&self, col: impl ColumnTrait) -> sea_orm::Condition {
        match self {
            Scope::Only(id) => sea_orm::Condition::all().add(col.eq(id.clone())),
            Scope::Any => sea_orm::Condition::all(),
        }
    }

    /// `row` when its client is in scope, else 404 naming `what`.
    pub fn visible<T>(&self, row: Option<T>, client_of: impl Fn(&T) -> &str, what: &str) -> AppResult<T> {
        row.filter(|r| self.allows(client_of(r))).ok_or_else(|| AppError::not_found(what))
    }
}

/// A freshly created key: the model and the plaintext, shown once.
pub struct NewApiKey {
    pub model: api_key::Model,
    pub plaintext: String,
}

/// A key with its owner's scope (`admin` without an owner): the operator's
/// CLI and the first start.
pub async fn create_api_key(
    db: &impl ConnectionTrait,
    client_id: &str,
    user_id: Option<&str>,
    name: Option<&str>,
) -> AppResult<NewApiKey> {
    create_api_key_with_scope(db, client_id, user_id, name, None, KeyScope::Admin).await
}

/// Creates a key of `scope` (default: the widest allowed). The scope may be
/// no wider than `creator_scope` (what the creating key or user may do) nor
/// than the owner's role; wider is 403.
pub async fn create_api_key_with_scope(
    db: &impl ConnectionTrait,
    client_id: &str,
    user_id: Option<&str>,
    name: Option<&str>,
    scope: Option<KeyScope>,
    creator_scope: KeyScope,
) -> AppResult<NewApiKey> {
    if find_client(db, client_id).await?.is_none() {
        return Err(AppError::not_found("client"));
    }
    let mut allowed = creator_scope;
    if let Some(uid) = user_id {
        let owner = user::Entity::find_by_id(uid.to_string()).one(db).await?;
        match owner {
            Some(u) if u.client_id == client_id => allowed = allowed.min(KeyScope::cap_for_role(&u.role)),
            _ => return Err(AppError::not_found("user")),
        }
    }
    let scope = scope.unwrap_or(allowed);
    if scope > allowed {
        return Err(AppError::Forbidden(format!(
            "scope: `{}` is wider than this creator and owner may hand out (at most `{}`)",
            scope.as_str(),
            allowed.as_str()
        )));
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or("default");
    if name.len() > 200 {
        return Err(AppError::validation("name", "must be at most 200 characters"));
    }
    let plaintext = format!("{KEY_PREFIX}{}", random_token(40));
    let model = api_key::ActiveModel {
        id: Set(new_id()),
        client_id: Set(client_id.to_string()),
        user_id: Set(user_id.map(str::to_string)),
        name: Set(name.to_string()),
        prefix: Set(plaintext[..SHOWN_PREFIX_LEN].to_string()),
        key_hash: Set(sha256_hex(plaintext.as_bytes())),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        scope: Set(Some(scope.as_str().to_string())),
    }
    .insert(db)
    .await?;
    Ok(NewApiKey { model, plaintext })
}

pub async fn list_api_keys(db: &impl ConnectionTrait, client_id: &str) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::ClientId.eq(client_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Revokes a key of `client_id`; another client's key id answers 404.
pub async fn revoke_api_key(db: &impl ConnectionTrait, client_id: &str, key_id: &str) -> AppResult<api_key::Model> {
    let key = api_key::Entity::find_by_id(key_id.to_string())
        .filter(api_key::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("api key"))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

/// The live key and its client for a presented secret, or `None`.
pub async fn authenticate_api_key(
    db: &impl ConnectionTrait,
    presented: &str,
) -> AppResult<Option<(api_key::Model, client::Model)>> {
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 200 {
        return Ok(None);
    }
    let hash = sha256_hex(presented.as_bytes());
    let Some((key, Some(client))) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash))
        .find_also_related(client::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if key.revoked_at.is_some() {
        return Ok(None);
    }
    let now = Utc::now();
    let stale = key
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(LAST_USED_RESOLUTION_SECS));
    if stale {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id.clone()))
            .exec(db)
            .await?;
    }
    Ok(Some((key, client)))
}

pub async fn create_user(
    db: &impl ConnectionTrait,
    client_id: &str,
    email: &str,
    role: Role,
    password: &str,
) -> AppResult<user::Model> {
    let email = normalize_email(email)?;
    if password.chars().count() < 12 {
        return Err(AppError::validation("password", "must be at least 12 characters"));
    }
    if find_client(db, client_id).await?.is_none() {
        return Err(AppError::not_found("client"));
    }
    if user::Entity::find().filter(user::Column::Email.eq(email.clone())).count(db).await? > 0 {
        return Err(AppError::Conflict(format!("a user with email {email} already exists")));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)??;
    let model = user::ActiveModel {
        id: Set(new_id()),
        client_id: Set(client_id.to_string()),
        email: Set(email),
        password_hash: Set(hash),
        role: Set(role.as_str().to_string()),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    };
    Ok(model.insert(db).await?)
}

pub fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.contains(char::is_whitespace);
    if valid { Ok(email) } else { Err(AppError::validation("email", "is not an email address")) }
}

pub async fn find_user_by_email(db: &impl ConnectionTrait, email: &str) -> AppResult<Option<user::Model>> {
    let Ok(email) = normalize_email(email) else { return Ok(None) };
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?)
}

pub async fn find_user_with_client(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> AppResult<Option<(user::Model, client::Model)>> {
    Ok(match user::Entity::find_by_id(user_id.to_string()).find_also_related(client::Entity).one(db).await? {
        Some((u, Some(c))) => Some((u, c)),
        _ => None,
    })
}

pub async fn touch_last_login(db: &impl ConnectionTrait, user_id: &str) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn platform_client(db: &impl ConnectionTrait) -> AppResult<Option<client::Model>> {
    Ok(client::Entity::find()
        .filter(client::Column::IsPlatform.eq(true))
        .order_by_asc(client::Column::CreatedAt)
        .one(db)
        .await?)
}

/// The clients a list request reads: the caller's own when none is named
/// (empty ids are ignored), else each named one under the rule of
/// [`resolve_client`] (another client: platform operator only, else 404),
/// without repeats. The one answer for REST and GraphQL lists.
pub async fn list_clients(
    db: &impl ConnectionTrait,
    caller_client_id: &str,
    caller_is_platform: bool,
    requested: Vec<String>,
) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(requested.len().max(1));
    for id in requested.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let client = resolve_client(db, caller_client_id, caller_is_platform, Some(id)).await?;
        if !out.contains(&client) {
            out.push(client);
        }
    }
    if out.is_empty() {
        out.push(caller_client_id.to_string());
    }
    Ok(out)
}

/// The tenancy rule for a `client_id` in a request: absent (or empty) means
/// the caller's client; another client is addressable by the platform
/// operator only, and must exist. Everyone else gets 404, so client ids
/// cannot be probed.
pub async fn resolve_client(
    db: &impl ConnectionTrait,
    caller_client_id: &str,
    caller_is_platform: bool,
    requested: Option<&str>,
) -> AppResult<String> {
    match requested.map(str::trim).filter(|id| !id.is_empty()) {
        None => Ok(caller_client_id.to_string()),
        Some(id) if id == caller_client_id => Ok(id.to_string()),
        Some(id) if caller_is_platform => {
            Ok(find_client(db, id).await?.ok_or_else(|| AppError::not_found("client"))?.id)
        }
        Some(_) => Err(AppError::not_found("client")),
    }
}
