//! Thin axum handlers, one file per group of the API reference, merged into
//! one router whose OpenAPI document is generated from the handlers'
//! annotations and completed by [`openapi::complete`].

pub mod api_keys;
pub mod auth;
pub mod capture;
pub mod documents;
pub mod extract;
pub mod ida;
pub mod idempotency;
pub mod identities;
pub mod idv;
pub mod openapi;
pub mod requirements;
pub mod review;
pub mod sdk_ida;
pub mod screening;
pub mod sdk_idv;
pub mod system;
pub mod weights;
pub mod webhook_deliveries;
pub mod webhooks;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera API",
        description = "Identity verification (IDV) and re-authentication (IDA). Errors are RFC 9457 \
            `application/problem+json` with a stable `code` and, for validation errors, `errors[].field`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags(
        (name = "system", description = "Service info, metrics, health"),
        (name = "auth", description = "Admin / dashboard login (cookie session + CSRF token)"),
        (name = "api keys", description = "Integrator API keys"),
        (name = "weights", description = "Scoring weights: immutable versions, (client, user) → client → platform default"),
        (name = "requirements", description = "Fields a document must carry, per document type and data source"),
        (name = "webhooks", description = "Webhook endpoints of a client: signing secrets, rotation, test events, the delivery log and redelivery"),
        (name = "idv documents", description = "What an IDV session read: documents, stored images, test results; session deletion"),
        (name = "identities", description = "Verified identities of a client: list, read, document, image, erasure"),
        (name = "idv sessions", description = "Identity verification sessions, integrator side"),
        (name = "sdk idv", description = "Identity verification steps of the end user's SDK (X-Client-Id + session_id)"),
        (name = "ida sessions", description = "Identity authentication: a verified identity proves again it is the same person (selfie + liveness), integrator side"),
        (name = "capture page", description = "The hosted capture page: capture links (a short-lived token for one session, instead of X-Client-Id), page settings per client, and the page's own calls (X-Capture-Token)"),
        (name = "review", description = "Manual review: cases a person decides (approve / reject with a reason code), four-eyes confirmation, notes, resubmission requests"),
        (name = "sdk ida", description = "Identity authentication steps of the end user's SDK (X-Client-Id + session_id); no consent step"),
        (name = "screening", description = "Sanctions and PEP screening outside a session (explained matches), the lists a client screens against, its allow-list of cleared false positives"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("tsk_…").build()),
        );
        components.add_security_scheme(
            "sdk_client",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Client-Id"))),
        );
        components.add_security_scheme(
            "capture_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Capture-Token"))),
        );
        components.add_security_scheme(
            "admin_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::login::SESSION_COOKIE))),
        );
    }
}

/// Every documented route, with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(auth::router())
        .merge(api_keys::router())
        .merge(weights::router())
        .merge(requirements::router())
        .merge(webhooks::router())
        .merge(webhook_deliveries::router())
        .merge(documents::router())
        .merge(identities::router())
        .merge(idv::router())
        .merge(sdk_idv::router())
        .merge(capture::router())
        .merge(ida::router())
        .merge(sdk_ida::router())
        .merge(review::router())
        .merge(screening::router())
}

/// The OpenAPI document served at `/api/v1/openapi.json` and committed as `schema/openapi.json`.
pub fn openapi() -> serde_json::Value {
    let (_, spec) = api_router().split_for_parts();
    openapi_from(spec)
}

/// Completes a generated document: version, descriptions, problem
/// responses, examples (see [`openapi::complete`]).
pub fn openapi_from(mut spec: utoipa::openapi::OpenApi) -> serde_json::Value {
    spec.info.version = crate::rest::system::VERSION.to_string();
    let mut doc = serde_json::to_value(&spec).expect("the OpenAPI document serializes");
    openapi::complete(&mut doc);
    doc
}
