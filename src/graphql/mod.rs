//! The dashboard's GraphQL API: `POST /graphql` (admin session cookie with
//! `X-CSRF-Token`, or a read-only API key) and GraphiQL on `GET /graphql`
//! (assets served locally, [`graphiql`]). Resolvers call the same service functions as REST;
//! nested fields go through DataLoaders created fresh for every request.

pub mod export;
pub mod graphiql;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod records;
pub mod review;
pub mod types;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, ErrorExtensions, Schema};
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::{AdminUser, ApiCaller};
use crate::error::AppError;
use crate::rest::extract::ClientIp;
use crate::service::audit::Actor;
use crate::service::tenancy::Scope;
use crate::state::AppState;

pub use mutation::MutationRoot;
pub use query::QueryRoot;

/// The dashboard's queries.
// `query::QueryRoot` (lists and node lookups) merged with `records::RecordQuery`.
#[derive(async_graphql::MergedObject)]
#[graphql(name = "Query")]
pub struct Query(QueryRoot, records::RecordQuery, review::ReviewQuery);

fn query_root() -> Query {
    Query(QueryRoot, records::RecordQuery, review::ReviewQuery)
}

/// The dashboard's writes: `mutation::MutationRoot` merged with the review mutations.
#[derive(async_graphql::MergedObject)]
#[graphql(name = "Mutation")]
pub struct Mutation(MutationRoot, review::ReviewMutation);

fn mutation_root() -> Mutation {
    Mutation(MutationRoot, review::ReviewMutation)
}

pub type TesseraSchema = Schema<Query, Mutation, EmptySubscription>;

/// Limits of the served schema (config keys `graphql_max_depth`,
/// `graphql_max_complexity`, `graphql_introspection`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
}

impl Limits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            max_depth: config.graphql_max_depth,
            max_complexity: config.graphql_max_complexity,
            introspection: config.graphql_introspection,
        }
    }
}

pub fn build_schema(limits: Limits) -> TesseraSchema {
    let mut builder = Schema::build(query_root(), mutation_root(), EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL committed as `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(query_root(), mutation_root(), EmptySubscription).finish().sdl()
}

/// What the caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum CallerRole {
    /// An integrator API key: read-only.
    ApiKey,
    /// A dashboard user with the viewer role: read-only.
    Viewer,
    /// A dashboard user with the reviewer role: reads, and works the review queue.
    Reviewer,
    /// A dashboard user with the admin role: may mutate.
    Admin,
}

/// The authenticated caller of a GraphQL request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub user_id: Option<String>,
    pub is_platform: bool,
    pub role: CallerRole,
    pub actor: Actor,
    pub ip: Option<String>,
    /// Views already audited in this request: one row per record, however
    /// many aliases ask for it.
    pub audited: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Caller {
    pub fn from_api_key(c: ApiCaller, ip: Option<String>) -> Self {
        Self {
            actor: Actor::ApiKey { client_id: c.client_id.clone(), key_id: c.key_id },
            client_id: c.client_id,
            user_id: c.user_id,
            is_platform: c.is_platform,
            role: CallerRole::ApiKey,
            ip,
            audited: Default::default(),
        }
    }

    pub fn from_admin(u: AdminUser, ip: Option<String>) -> Self {
        Self {
            actor: Actor::User { client_id: u.client_id.clone(), user_id: u.user_id.clone() },
            role: if u.is_admin() {
                CallerRole::Admin
            } else if u.can_review() {
                CallerRole::Reviewer
            } else {
                CallerRole::Viewer
            },
            client_id: u.client_id,
            user_id: Some(u.user_id),
            is_platform: u.is_platform,
            ip,
            audited: Default::default(),
        }
    }

    /// Nested lookups stay inside the caller's client (the platform
    /// operator reads the clients it names in filters).
    pub fn scope(&self) -> Scope {
        if self.is_platform { Scope::Any } else { Scope::Only(self.client_id.clone()) }
    }

    pub fn tenant(&self) -> crate::service::weights::Tenant<'_> {
        crate::service::weights::Tenant { client_id: &self.client_id, is_platform: self.is_platform }
    }

    /// Mutations: the admin role only (API keys are read-only here).
    pub fn require_admin(&self) -> Result<(), AppError> {
        match self.role {
            CallerRole::Admin => Ok(()),
            CallerRole::Viewer | CallerRole::Reviewer => Err(AppError::Forbidden("this action needs the admin role".into())),
            CallerRole::ApiKey => {
                Err(AppError::Forbidden("API keys are read-only on GraphQL; log in as an admin to mutate".into()))
            }
        }
    }

    /// Review work (assign, note, decide, confirm): the reviewer and admin roles.
    pub fn require_reviewer(&self) -> Result<(), AppError> {
        match self.role {
            CallerRole::Admin | CallerRole::Reviewer => Ok(()),
            CallerRole::Viewer => Err(AppError::Forbidden("this action needs the reviewer or admin role".into())),
            CallerRole::ApiKey => Err(AppError::Forbidden(
                "API keys are read-only on GraphQL; decide over REST (/api/v1/review/case/decide) or log in as a reviewer".into(),
            )),
        }
    }
}

/// A resolver error carrying the REST machine code in `extensions.code`.
pub fn gql_error(err: AppError) -> async_graphql::Error {
    if err.status().is_server_error() {
        tracing::error!(error = %err, code = err.code(), "graphql resolver failed");
    }
    let fields = err.field_errors().to_vec();
    async_graphql::Error::new(err.public_detail()).extend_with(|_, e| {
        e.set("code", err.code());
        e.set("status", err.status().as_u16());
        if !fields.is_empty() {
            let list: Vec<async_graphql::Value> = fields
                .iter()
                .map(|f| {
                    let mut m = async_graphql::indexmap::IndexMap::new();
                    m.insert(async_graphql::Name::new("field"), async_graphql::Value::from(f.field.clone()));
                    m.insert(async_graphql::Name::new("message"), async_graphql::Value::from(f.message.clone()));
                    async_graphql::Value::Object(m)
                })
                .collect();
            e.set("errors", async_graphql::Value::List(list));
        }
    })
}

/// `.gql()` turns an [`AppResult`](crate::error::AppResult) into a GraphQL result with the code.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, AppError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(gql_error)
    }
}

/// Runs one request for `caller` with fresh DataLoaders.
pub async fn execute(
    schema: &TesseraSchema,
    state: &AppState,
    caller: Caller,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let batch = loaders::Batch::new(state.db.clone(), caller.scope());
    let loader: types::Loaders = DataLoader::with_cache(batch, tokio::spawn, async_graphql::dataloader::HashMapCache::default());
    let request = request.data(state.clone()).data(caller).data(loader);
    let mut response = schema.execute(request).await;
    label_framework_errors(&mut response);
    response
}

/// Parse, validation and limit errors come from async-graphql itself; they
/// get the code REST uses for a bad request.
fn label_framework_errors(response: &mut async_graphql::Response) {
    for err in &mut response.errors {
        let has_code = err.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if !has_code {
            let ext = err.extensions.get_or_insert_with(Default::default);
            ext.set("code", AppError::validation("query", "").code());
        }
    }
}

/// `Authorization: Bearer` → read-only API caller; otherwise the admin
/// session cookie (the CSRF header is checked on POST by [`AdminUser`]).
pub struct GraphqlAuth(pub Caller);

impl FromRequestParts<AppState> for GraphqlAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await.unwrap_or(ClientIp(None));
        let caller = if parts.headers.contains_key(AUTHORIZATION) {
            ApiCaller::from_request_parts(parts, state).await.map(|c| Caller::from_api_key(c, ip))
        } else {
            AdminUser::from_request_parts(parts, state).await.map(|u| Caller::from_admin(u, ip))
        };
        caller.map(GraphqlAuth).map_err(error_response)
    }
}

/// A GraphQL-shaped error body with the HTTP status of the error.
fn error_response(err: AppError) -> Response {
    let status = err.status();
    let body = async_graphql::Response::from_errors(vec![gql_error(err).into_server_error(Default::default())]);
    (status, axum::Json(body)).into_response()
}

#[derive(Clone)]
struct Served(TesseraSchema);

/// `/graphql` routes, with the schema built from the config once.
pub fn router(state: &AppState) -> Router<AppState> {
    let schema = Served(build_schema(Limits::from_config(&state.config)));
    Router::new()
        .route("/graphql", get(graphiql::page).post(post))
        .route("/graphql/assets/{name}", get(graphiql::asset))
        .route("/graphql/export/idv-sessions.csv", get(export::idv_sessions_csv))
        .layer(axum::Extension(schema))
}

async fn post(
    State(state): State<AppState>,
    axum::Extension(Served(schema)): axum::Extension<Served>,
    GraphqlAuth(caller): GraphqlAuth,
    request: async_graphql_axum::GraphQLRequest,
) -> Response {
    let response = execute(&schema, &state, caller, request.into_inner()).await;
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}


