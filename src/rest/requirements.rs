//! Document requirements per (document type, data source).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppResult, Problem};
use crate::rest::extract::{AppJson, AppQuery, ClientIp};
use crate::rest::weights::tenant;
use crate::service::audit;
use crate::service::requirements::{self, RequirementSet};
use crate::service::types::{DataSource, DocumentType, Empty};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_requirements)).routes(routes!(update_requirements))
}

macro_rules! requirement_bodies {
    ($($f:ident),*) => {
        /// The fields a document of one type, read from one data source, must carry.
        #[derive(Debug, Serialize, ToSchema)]
        pub struct Requirement {
            type_e: DocumentType,
            data_source_e: DataSource,
            $($f: bool,)*
        }

        impl From<RequirementSet> for Requirement {
            fn from(s: RequirementSet) -> Self {
                Self { type_e: s.doc_type, data_source_e: s.source, $($f: s.$f,)* }
            }
        }

        /// New requirements for one (type, data source); every flag is required.
        #[derive(Debug, Deserialize, ToSchema)]
        pub struct RequirementsUpdate {
            /// Default: the caller's client. Another client only with the platform operator's key.
            #[serde(default)]
            client_id: Option<String>,
            /// A user of that client: requirements for that user only.
            #[serde(default)]
            user_id: Option<String>,
            type_e: DocumentType,
            data_source_e: DataSource,
            $($f: bool,)*
        }

        impl RequirementsUpdate {
            fn set(&self) -> RequirementSet {
                RequirementSet { doc_type: self.type_e, source: self.data_source_e, $($f: self.$f,)* }
            }
        }
    };
}
crate::for_each_requirement_flag!(requirement_bodies);

#[derive(Debug, Serialize, ToSchema)]
pub struct RequirementsList {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequirementsQuery {
    /// Default: the caller's client. Another client only with the platform operator's key.
    client_id: Option<String>,
    /// A user of that client: that user's requirements where they differ.
    user_id: Option<String>,
    #[param(value_type = Option<DocumentType>)]
    type_e: Option<String>,
    #[param(value_type = Option<DataSource>)]
    data_source_e: Option<String>,
}

/// The requirements in force, per (document type, data source).
///
/// For each pair: the user's row, else the client's, else the defaults
/// (barcode: document number, first and last name, birth date, expiry;
/// MRZ: those and issuing country; other sources: nothing). With `type_e`
/// and `data_source_e`, exactly that pair; otherwise every default pair
/// (driver_license/barcode, identification_card/barcode, passport/mrz,
/// passport_card/mrz) and every stored pair, narrowed by whichever filter
/// is given. Unknown enum values are a 400 naming the parameter.
#[utoipa::path(get, path = "/api/v1/idv/requirements", tag = "requirements", params(RequirementsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RequirementsList),
        (status = 400, description = "Unknown `type_e` or `data_source_e`",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown client or user, or another client without the platform key",
            body = Problem, content_type = "application/problem+json")))]
async fn get_requirements(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppQuery(query): AppQuery<RequirementsQuery>,
) -> AppResult<Json<RequirementsList>> {
    let doc_type = parse_filter(query.type_e.as_deref(), |v| DocumentType::parse_field("type_e", v))?;
    let source = parse_filter(query.data_source_e.as_deref(), |v| DataSource::parse_field("data_source_e", v))?;
    let sets = requirements::list_for(
        &state.db,
        tenant(&caller),
        query.client_id.as_deref(),
        query.user_id.as_deref(),
        doc_type,
        source,
    )
    .await?;
    Ok(Json(RequirementsList { requirements: sets.into_iter().map(Into::into).collect() }))
}

/// An empty filter value counts as absent.
fn parse_filter<T>(raw: Option<&str>, parse: impl Fn(&str) -> AppResult<T>) -> AppResult<Option<T>> {
    raw.map(str::trim).filter(|v| !v.is_empty()).map(parse).transpose()
}

/// Stores the requirements for one (document type, data source).
///
/// For the caller's client, or `client_id` with the platform operator's
/// key; with `user_id`, for that user only. Replaces what was stored for
/// that scope and pair. Every flag is required.
#[utoipa::path(post, path = "/api/v1/idv/requirements/update", tag = "requirements",
    request_body = RequirementsUpdate,
    security(("bearer" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown client or user, or another client without the platform key",
            body = Problem, content_type = "application/problem+json")))]
async fn update_requirements(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<RequirementsUpdate>,
) -> AppResult<Json<Empty>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let row = requirements::update_for(
        &txn,
        tenant(&caller),
        body.client_id.as_deref(),
        body.user_id.as_deref(),
        &body.set(),
    )
    .await?;
    let actor = audit::Actor::ApiKey { client_id: caller.client_id, key_id: caller.key_id };
    let detail = serde_json::json!({
        "client_id": row.client_id, "user_id": row.user_id, "type_e": row.r#type, "data_source_e": row.data_source,
    });
    audit::record(&txn, &actor, "requirements.update", Some(("requirement", &row.id)), ip, Some(detail)).await?;
    txn.commit().await?;
    Ok(Json(Empty {}))
}
