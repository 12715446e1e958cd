//! DataLoaders, created fresh for every request ([`super::execute`]): each
//! nested relation of a page costs one batched statement, whatever the
//! page size. Every lookup is limited to the caller's client scope.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{check_result, document, ida_session, identity, idv_session, session_event, webhook_delivery, weights};
use sea_orm::DatabaseConnection;

use super::gql_error;
use crate::error::AppResult;
use crate::service::dashboard;
use crate::service::tenancy::Scope;

/// The one loader type; each key type below is a relation batched on its own.
pub struct Batch {
    db: DatabaseConnection,
    scope: Scope,
}

impl Batch {
    pub fn new(db: DatabaseConnection, scope: Scope) -> Self {
        Self { db, scope }
    }
}

macro_rules! key {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(pub String);
    };
}

key!(/// An identity by id.
    IdentityById);
key!(/// A weights version by id.
    WeightsById);
key!(/// An IDV session by id.
    IdvSessionById);
key!(/// The documents of a session.
    DocumentsOfSession);
key!(/// The documents linked to an identity.
    DocumentsOfIdentity);
key!(/// The check results of a session.
    ChecksOfSession);
key!(/// The history of a session.
    HistoryOfSession);
key!(/// The webhook deliveries of a session.
    DeliveriesOfSession);
key!(/// The IDV sessions of an identity.
    IdvSessionsOfIdentity);
key!(/// The IDA sessions of an identity.
    IdaSessionsOfIdentity);
key!(/// The decisions of a review case.
    DecisionsOfCase);
key!(/// The notes of a review case.
    NotesOfCase);
key!(/// The attachments of a review note.
    AttachmentsOfNote);
key!(/// A dashboard user by id.
    UserById);

fn ids<K: AsRef<str>>(keys: &[K]) -> Vec<String> {
    keys.iter().map(|k| k.as_ref().to_string()).collect()
}

/// Every requested key gets an entry (`None` / an empty list when nothing
/// matched), so the per-request cache also remembers what does not exist.
fn complete<K, V>(keys: &[K], found: AppResult<HashMap<String, V>>) -> async_graphql::Result<HashMap<K, V>>
where
    K: std::hash::Hash + Eq + Clone + AsRef<str>,
    V: Default,
{
    let mut found = found.map_err(gql_error)?;
    Ok(keys.iter().map(|k| (k.clone(), found.remove(k.as_ref()).unwrap_or_default())).collect())
}

macro_rules! loader {
    ($key:ident => Option<$model:ty>, $fetch:path) => {
        loader!(@impl $key, Option<$model>, $fetch, Some);
    };
    ($key:ident => Vec<$model:ty>, $fetch:path) => {
        loader!(@impl $key, Vec<$model>, $fetch, std::convert::identity);
    };
    (@impl $key:ident, $value:ty, $fetch:path, $wrap:expr) => {
        impl AsRef<str> for $key {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Loader<$key> for Batch {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let found = $fetch(&self.db, &self.scope, &ids(keys)).await;
                let found = found.map(|m| m.into_iter().map(|(k, v)| (k, $wrap(v))).collect::<HashMap<String, $value>>());
                complete(keys, found)
            }
        }
    };
}

loader!(IdentityById => Option<identity::Model>, dashboard::identities_by_ids);
loader!(WeightsById => Option<weights::Model>, dashboard::weights_by_ids);
loader!(IdvSessionById => Option<idv_session::Model>, dashboard::idv_sessions_by_ids);
loader!(DocumentsOfSession => Vec<document::Model>, dashboard::documents_by_sessions);
loader!(DocumentsOfIdentity => Vec<document::Model>, dashboard::documents_by_identities);
loader!(ChecksOfSession => Vec<check_result::Model>, dashboard::checks_by_sessions);
loader!(HistoryOfSession => Vec<session_event::Model>, dashboard::events_by_sessions);
loader!(DeliveriesOfSession => Vec<webhook_delivery::Model>, dashboard::deliveries_by_sessions);
loader!(IdvSessionsOfIdentity => Vec<idv_session::Model>, dashboard::idv_sessions_by_identities);
loader!(IdaSessionsOfIdentity => Vec<ida_session::Model>, dashboard::ida_sessions_by_identities);
loader!(DecisionsOfCase => Vec<entity::review_decision::Model>, crate::service::review::cases::decisions_by_cases);
loader!(NotesOfCase => Vec<entity::review_note::Model>, crate::service::review::cases::notes_by_cases);
loader!(UserById => Option<entity::user::Model>, crate::service::review::cases::users_by_ids);
loader!(AttachmentsOfNote => Vec<entity::review_attachment::Model>, crate::service::review::attachments::by_notes);
