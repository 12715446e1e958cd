//! GraphQL dashboard API: auth (cookie + CSRF, read-only API keys, roles),
//! tenant isolation, connections, DataLoader batching (SQL statements
//! counted), mutations, aggregates, limits, and the committed schema.

use crate::common::dashboard_seed;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use crate::common::{TestApp, backends};
use serde_json::{Value, json};
use tessera::graphql::{self, Caller, CallerRole, Limits};
use tessera::service::audit::Actor;
use tessera::service::tenancy::{self, Role};
use tessera::service::weights;

const PASSWORD: &str = "correct horse battery staple";

/// POSTs a query with a bearer key; returns (status, body).
async fn gql_key(app: &TestApp, key: &str, query: &str, variables: Value) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(key)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A logged-in dashboard user: its own cookie jar and CSRF token.
pub(crate) struct Dashboard {
    http: reqwest::Client,
    csrf: String,
}

pub(crate) async fn login(app: &TestApp, client_id: &str, email: &str, role: Role) -> Dashboard {
    tenancy::create_user(&app.state.db, client_id, email, role, PASSWORD).await.unwrap();
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    Dashboard { http, csrf: me["csrf_token"].as_str().unwrap().to_string() }
}

impl Dashboard {
    async fn post(&self, app: &TestApp, query: &str, variables: Value, csrf: bool) -> (u16, Value) {
        let mut req = self.http.post(app.url("/graphql")).json(&json!({"query": query, "variables": variables}));
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn gql(&self, app: &TestApp, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(app, query, variables, true).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

pub(crate) fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}

async fn seed(app: &TestApp, client_id: &str, n: usize) -> dashboard_seed::Seeded {
    let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
    dashboard_seed::seed_sessions(&app.state.db, client_id, &w.id, n, Utc::now()).await
}

#[tokio::test]
async fn graphiql_is_served_with_local_assets_only() {
    let app = TestApp::spawn("sqlite").await;
    let resp = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("http"), "scripts from this origin only: {csp}");
    let html = resp.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn") && !html.contains("unpkg"), "{html}");
    // Every src / href of the page is a path on this server, and answers.
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            refs.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    for expected in ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "tessera-graphiql.js"] {
        assert!(refs.iter().any(|r| r.ends_with(expected)), "{expected} not referenced: {refs:?}");
    }
    for r in &refs {
        assert!(r.starts_with('/') && !r.starts_with("//"), "not a local path: {r}");
        let resp = app.http.get(app.url(r)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{r}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        let want = match r.rsplit('.').next().unwrap() {
            "js" => "text/javascript",
            "css" => "text/css",
            other => panic!("unexpected asset type {other}"),
        };
        assert!(ct.starts_with(want), "{r}: {ct}");
        let body = resp.bytes().await.unwrap();
        assert!(body.len() > 20, "{r} is empty");
    }
    let start = app.http.get(app.url("/graphql/assets/tessera-graphiql.js")).send().await.unwrap().text().await.unwrap();
    assert!(start.contains("url: '/graphql'") && start.contains("X-CSRF-Token"), "GraphiQL posts here with the login's CSRF token");
    let bundle = app.http.get(app.url("/graphql/assets/graphiql.min.js")).send().await.unwrap().text().await.unwrap();
    assert!(bundle.contains("createFetcher"), "the GraphiQL UMD bundle");
    for missing in ["/graphql/assets/nope.js", "/graphql/assets/..%2Fschema.graphql", "/graphql/assets/%2E%2E"] {
        assert_eq!(app.http.get(app.url(missing)).send().await.unwrap().status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn authentication_csrf_and_roles() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();

        let resp = app.http.post(app.url("/graphql")).json(&json!({"query": "{ me { role } }"})).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "unauthenticated");

        let (s, body) = gql_key(&app, "tsk_not-a-key", "{ me { role } }", json!({})).await;
        assert_eq!((s, code(&body)), (401, "unauthenticated"));

        let (s, body) = gql_key(&app, &app.demo_key, "{ me { clientId role canMutate } }", json!({})).await;
        assert_eq!(s, 200);
        assert_eq!(body["data"]["me"], json!({"clientId": client, "role": "API_KEY", "canMutate": false}));

        let mutation = "mutation { createApiKey(name: \"x\") { plaintext } }";
        let (_, body) = gql_key(&app, &app.demo_key, mutation, json!({})).await;
        assert_eq!(code(&body), "forbidden", "API keys are read-only: {body}");

        let admin = login(&app, &client, "admin@demo.test", Role::Admin).await;
        let (s, body) = admin.post(&app, "{ me { role } }", json!({}), false).await;
        assert_eq!((s, code(&body)), (403, "forbidden"), "a cookie POST without the CSRF header is refused");
        let body = admin.gql(&app, "{ me { role canMutate } }", json!({})).await;
        assert_eq!(body["data"]["me"], json!({"role": "ADMIN", "canMutate": true}));

        let viewer = login(&app, &client, "viewer@demo.test", Role::Viewer).await;
        let body = viewer.gql(&app, "{ me { role canMutate } }", json!({})).await;
        assert_eq!(body["data"]["me"], json!({"role": "VIEWER", "canMutate": false}));
        let body = viewer.gql(&app, mutation, json!({})).await;
        assert_eq!(code(&body), "forbidden", "a viewer cannot mutate: {body}");
        let keys = tenancy::list_api_keys(&app.state.db, &client).await.unwrap();
        assert_eq!(keys.len(), 1, "nothing was created by refused mutations");

        let body = admin.gql(&app, mutation, json!({})).await;
        assert!(body["data"]["createApiKey"]["plaintext"].as_str().unwrap().starts_with("tsk_"), "{body}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn tenant_isolation() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let other = tenancy::create_client(&app.state.db, "Other", false).await.unwrap();
        let mine = seed(&app, &app.demo_client_id, 3).await;
        let theirs = seed(&app, &other.id, 2).await;

        let q = "query($s: String!, $i: String!) { idvSession(id: $s) { id } identity(id: $i) { id } }";
        let vars = json!({"s": theirs.session_ids[0], "i": theirs.identity_ids[0]});
        let (_, body) = gql_key(&app, &app.demo_key, q, vars).await;
        assert_eq!(body["data"], json!({"idvSession": null, "identity": null}), "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        let vars = json!({"s": mine.session_ids[0], "i": mine.identity_ids[0]});
        let (_, body) = gql_key(&app, &app.demo_key, q, vars).await;
        assert_eq!(body["data"]["idvSession"]["id"], json!(mine.session_ids[0]));

        let q = "{ idvSessions(first: 50) { totalCount nodes { clientId } } identities { totalCount } }";
        let (_, body) = gql_key(&app, &app.demo_key, q, json!({})).await;
        assert_eq!(body["data"]["idvSessions"]["totalCount"], 3);
        assert_eq!(body["data"]["identities"]["totalCount"], 3);
        let nodes = body["data"]["idvSessions"]["nodes"].as_array().unwrap();
        assert!(nodes.iter().all(|n| n["clientId"] == json!(app.demo_client_id)));

        let q = "query($c: [String!]) { idvSessions(filter: {clientIds: $c}) { totalCount } }";
        let (_, body) = gql_key(&app, &app.demo_key, q, json!({"c": [other.id]})).await;
        assert_eq!(code(&body), "not_found", "another client's id cannot be probed: {body}");
        assert_eq!(body["data"], Value::Null);

        let q = "{ dashboard { totalSessions } }";
        let (_, body) = gql_key(&app, &app.demo_key, q, json!({})).await;
        assert_eq!(body["data"]["dashboard"]["totalSessions"], 3);

        // The client selector: a client sees itself only; the platform operator sees every client.
        let (_, body) = gql_key(&app, &app.demo_key, "{ clients { id name isPlatform } }", json!({})).await;
        assert_eq!(body["data"]["clients"], json!([{"id": app.demo_client_id, "name": "Demo client", "isPlatform": false}]), "{body}");
        let platform = tenancy::platform_client(&app.state.db).await.unwrap().unwrap();
        let operator = login(&app, &platform.id, "operator@platform.test", Role::Viewer).await;
        let body = operator.gql(&app, "{ clients { id isPlatform } }", json!({})).await;
        let ids: Vec<&str> = body["data"]["clients"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 3, "{body}");
        assert_eq!(ids[0], platform.id, "the platform first");
        assert!(ids.contains(&app.demo_client_id.as_str()) && ids.contains(&other.id.as_str()), "{body}");
        let body = operator
            .gql(&app, "query($c: [String!]) { idvSessions(filter: {clientIds: $c}) { totalCount } }", json!({"c": [app.demo_client_id]}))
            .await;
        assert_eq!(body["data"]["idvSessions"]["totalCount"], 3, "the operator reads a chosen client's sessions: {body}");
        // ... and opens what the list shows: node lookups search every client the operator may see.
        let q = "query($s: String!, $i: String!) { idvSession(id: $s) { id clientId } identity(id: $i) { id clientId } }";
        let body = operator.gql(&app, q, json!({"s": mine.session_ids[0], "i": mine.identity_ids[0]})).await;
        assert_eq!(body["data"]["idvSession"]["clientId"], json!(app.demo_client_id), "{body}");
        assert_eq!(body["data"]["identity"]["id"], json!(mine.identity_ids[0]), "{body}");
        let body = operator.gql(&app, q, json!({"s": theirs.session_ids[1], "i": theirs.identity_ids[1]})).await;
        assert_eq!(body["data"]["idvSession"]["clientId"], json!(other.id), "{body}");
        // A client's own viewer still cannot open the other client's records by id.
        let viewer = login(&app, &app.demo_client_id, "viewer@demo.test", Role::Viewer).await;
        let body = viewer.gql(&app, q, json!({"s": theirs.session_ids[1], "i": theirs.identity_ids[1]})).await;
        assert_eq!(body["data"], json!({"idvSession": null, "identity": null}), "{body}");

        // An admin of the other client cannot touch this client's identity.
        let their_admin = login(&app, &other.id, "admin@other.test", Role::Admin).await;
        let body = their_admin
            .gql(&app, "mutation($i: String!) { eraseIdentity(id: $i) }", json!({"i": mine.identity_ids[0]}))
            .await;
        assert_eq!(code(&body), "not_found", "{body}");
        app.cleanup().await;
    }
}

const PAGE: &str = "query($first: Int, $after: String, $filter: IdvSessionFilter, $sort: Sort) {
  idvSessions(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    nodes { id status verified score }
  }
}";

#[tokio::test]
async fn connections_page_filter_and_sort() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let seeded = seed(&app, &app.demo_client_id, 24).await;
        let key = app.demo_key.clone();

        let (_, b) = gql_key(&app, &key, PAGE, json!({"first": 10})).await;
        let c = &b["data"]["idvSessions"];
        assert_eq!(c["totalCount"], 24, "{b}");
        assert_eq!(c["pageInfo"]["hasNextPage"], true);
        assert_eq!(c["pageInfo"]["hasPreviousPage"], false);
        assert_eq!(c["nodes"][0]["id"], json!(seeded.session_ids[0]), "newest first");
        let after = c["pageInfo"]["endCursor"].clone();
        let (_, b) = gql_key(&app, &key, PAGE, json!({"first": 10, "after": after})).await;
        let c = &b["data"]["idvSessions"];
        assert_eq!(c["nodes"][0]["id"], json!(seeded.session_ids[10]));
        assert_eq!(c["pageInfo"]["hasPreviousPage"], true);

        // 6 of 24 in progress; of the 18 complete, i % 3 == 0 are rejected: 6 (i = 3, 6, ... not multiples of 4).
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"status": "IN_PROGRESS"}})).await;
        assert_eq!(b["data"]["idvSessions"]["totalCount"], 6, "{b}");
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"verdict": "PENDING"}})).await;
        assert_eq!(b["data"]["idvSessions"]["totalCount"], 6);
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"verdict": "REJECTED"}})).await;
        let rejected = (0..24).filter(|i| i % 4 != 0 && i % 3 == 0).count();
        assert_eq!(b["data"]["idvSessions"]["totalCount"], rejected);
        // One rejected session is held for review instead: it moves from REJECTED to NEEDS_REVIEW.
        {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
            entity::idv_session::Entity::update_many()
                .col_expr(entity::idv_session::Column::ReviewRequired, Expr::value(true))
                .filter(entity::idv_session::Column::Id.eq(seeded.session_ids[3].clone()))
                .exec(&app.state.db)
                .await
                .unwrap();
        }
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"verdict": "NEEDS_REVIEW"}})).await;
        assert_eq!(b["data"]["idvSessions"]["totalCount"], 1, "{b}");
        assert_eq!(b["data"]["idvSessions"]["nodes"][0]["id"], json!(seeded.session_ids[3]));
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"verdict": "REJECTED"}})).await;
        assert_eq!(b["data"]["idvSessions"]["totalCount"], rejected - 1);
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"searchTerm": "first17"}})).await;
        assert_eq!(b["data"]["idvSessions"]["nodes"][0]["id"], json!(seeded.session_ids[17]));
        let today = Utc::now().format("%Y-%m-%d").to_string();
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"startDate": "2000-01-01", "endDate": today}})).await;
        assert_eq!(b["data"]["idvSessions"]["totalCount"], 24);

        let sort = json!({"field": "SCORE", "direction": "ASC"});
        let (_, b) = gql_key(&app, &key, PAGE, json!({"first": 50, "filter": {"verdict": "VERIFIED"}, "sort": sort})).await;
        let scores: Vec<f64> = b["data"]["idvSessions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["score"].as_f64().unwrap())
            .collect();
        assert!(!scores.is_empty() && scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
        let sort = json!({"field": "CREATED_AT", "direction": "ASC"});
        let (_, b) = gql_key(&app, &key, PAGE, json!({"first": 1, "sort": sort})).await;
        assert_eq!(b["data"]["idvSessions"]["nodes"][0]["id"], json!(seeded.session_ids[23]), "oldest first");

        let (_, b) = gql_key(&app, &key, PAGE, json!({"first": 501})).await;
        assert_eq!(code(&b), "validation_failed");
        let (_, b) = gql_key(&app, &key, PAGE, json!({"filter": {"startDate": "yesterday"}})).await;
        assert_eq!(code(&b), "validation_failed");
        assert_eq!(b["errors"][0]["extensions"]["errors"][0]["field"], "startDate");
        let (_, b) = gql_key(&app, &key, PAGE, json!({"after": "garbage"})).await;
        assert_eq!(code(&b), "validation_failed");
        app.cleanup().await;
    }
}

const NESTED: &str = "query($first: Int!) {
  idvSessions(first: $first) {
    totalCount
    nodes {
      id status score
      identity { id firstName documents { id } idvSessions { id } idaSessions { id } }
      documents { id documentNumber isCurrent }
      checks { checkName status score }
      history { event at }
      weightsVersion { id idvSessionTolerance }
      deliveries { id }
    }
  }
}";

/// Runs `query` directly on the schema with a statement-counting connection.
async fn count_statements(app: &TestApp, query: &str, variables: Value) -> (usize, async_graphql::Response) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut state = app.state.clone();
    let seen = counter.clone();
    state.db.set_metric_callback(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let schema = graphql::build_schema(Limits::from_config(&app.state.config));
    let caller = Caller {
        client_id: app.demo_client_id.clone(),
        user_id: None,
        is_platform: false,
        role: CallerRole::ApiKey,
        actor: Actor::System,
        ip: None,
        audited: Default::default(),
    };
    let request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
    let response = graphql::execute(&schema, &state, caller, request).await;
    (counter.load(Ordering::SeqCst), response)
}

#[tokio::test]
async fn nested_pages_cost_a_constant_number_of_statements() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        seed(&app, &app.demo_client_id, 60).await;
        let (small, r10) = count_statements(&app, NESTED, json!({"first": 10})).await;
        assert!(r10.errors.is_empty(), "{:?}", r10.errors);
        let (large, r50) = count_statements(&app, NESTED, json!({"first": 50})).await;
        assert!(r50.errors.is_empty(), "{:?}", r50.errors);
        let data = r50.data.into_json().unwrap();
        let nodes = data["idvSessions"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 50);
        assert!(nodes.iter().all(|n| n["identity"]["id"].is_string() && n["documents"].as_array().unwrap().len() == 2));
        assert!(nodes.iter().all(|n| n["checks"].as_array().unwrap().len() == 3 && n["weightsVersion"]["id"].is_string()));
        assert!(nodes.iter().all(|n| n["identity"]["idvSessions"][0]["id"] == n["id"]));
        assert_eq!(small, large, "a 10-row and a 50-row page must cost the same number of statements");
        // count + page, then one per relation: identity, documents, checks,
        // history, weights, deliveries, identity.documents / idvSessions / idaSessions.
        assert_eq!(large, 11, "statements for a nested page");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn mutations_go_through_the_services_and_are_audited() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let seeded = seed(&app, &client, 2).await;
        let admin = login(&app, &client, "admin@demo.test", Role::Admin).await;

        let before = weights::in_force(&app.state.db, &client, None).await.unwrap();
        let mut values = serde_json::to_value(tessera::service::weights::WeightValues::from_model(&before)).unwrap();
        values["idv_session_tolerance"] = json!(0.5);
        let values: serde_json::Map<String, Value> = values
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (camel(k), v.clone()))
            .collect();
        let q = "mutation($w: WeightsValuesInput!) { updateWeights(weights: $w) { id clientId idvSessionTolerance } }";
        let b = admin.gql(&app, q, json!({"w": values})).await;
        let created = &b["data"]["updateWeights"];
        assert_eq!(created["idvSessionTolerance"], 0.5, "{b}");
        assert_eq!(created["clientId"], json!(client));
        let now_in_force = weights::in_force(&app.state.db, &client, None).await.unwrap();
        assert_eq!(created["id"], json!(now_in_force.id));
        assert_ne!(before.id, now_in_force.id);

        let mut bad = values.clone();
        bad.insert("ageTolerance".into(), json!(500.0));
        let b = admin.gql(&app, q, json!({"w": bad})).await;
        assert_eq!(code(&b), "validation_failed");
        assert_eq!(b["errors"][0]["extensions"]["errors"][0]["field"], "age_tolerance");

        // The verdict policy goes with the version; absent keeps the one in force.
        let q = "mutation($w: WeightsValuesInput!, $p: JSON) { updateWeights(weights: $w, policy: $p) { id policy } }";
        let b = admin.gql(&app, q, json!({"w": values, "p": {"dmv": "knock_out"}})).await;
        assert_eq!(b["data"]["updateWeights"]["policy"]["dmv"], "knock_out", "{b}");
        assert_eq!(b["data"]["updateWeights"]["policy"]["name_crosscheck"], "review", "absent keys take their default: {b}");
        let b = admin.gql(&app, q, json!({"w": values})).await;
        assert_eq!(b["data"]["updateWeights"]["policy"]["dmv"], "knock_out", "{b}");
        let b = admin.gql(&app, q, json!({"w": values, "p": {"face_match": "score"}})).await;
        assert_eq!(code(&b), "validation_failed", "{b}");
        assert_eq!(b["errors"][0]["extensions"]["errors"][0]["field"], "policy.face_match");
        let b = admin.gql(&app, "{ policyRules { key defaultAction checks } }", json!({})).await;
        let rules = b["data"]["policyRules"].as_array().unwrap();
        let dmv = rules.iter().find(|r| r["key"] == "dmv").unwrap_or_else(|| panic!("{b}"));
        assert_eq!((dmv["defaultAction"].as_str(), dmv["checks"][0].as_str()), (Some("review"), Some("dmv")));

        let q = "mutation { updateRequirements(input: {documentType: \"passport\", dataSource: \"mrz\", middleNameRequired: true}) { documentType middleNameRequired lastNameRequired } }";
        let b = admin.gql(&app, q, json!({})).await;
        assert_eq!(b["data"]["updateRequirements"]["middleNameRequired"], true, "{b}");
        let b = admin.gql(&app, "{ requirements(documentType: \"passport\", dataSource: \"mrz\") { middleNameRequired } }", json!({})).await;
        assert_eq!(b["data"]["requirements"][0]["middleNameRequired"], true);

        let q = "mutation { createWebhook(name: \"hook\", url: \"https://example.test/hook\") { secret webhook { id enabled } } }";
        let b = admin.gql(&app, q, json!({})).await;
        let hook_id = b["data"]["createWebhook"]["webhook"]["id"].as_str().unwrap().to_string();
        let first_secret = b["data"]["createWebhook"]["secret"].as_str().unwrap().to_string();
        let q = "mutation($id: String!) { updateWebhook(id: $id, enabled: false) { enabled disabledReason } }";
        let b = admin.gql(&app, q, json!({"id": hook_id})).await;
        assert_eq!(b["data"]["updateWebhook"]["enabled"], false, "{b}");
        let q = "mutation($id: String!) { rotateWebhookSecret(id: $id, overlapHours: 1) { secret webhook { previousSecretExpiresAt } } }";
        let b = admin.gql(&app, q, json!({"id": hook_id})).await;
        assert_ne!(b["data"]["rotateWebhookSecret"]["secret"], json!(first_secret), "{b}");
        assert!(b["data"]["rotateWebhookSecret"]["webhook"]["previousSecretExpiresAt"].is_string());
        let b = admin.gql(&app, "{ webhooks { totalCount nodes { id } } }", json!({})).await;
        assert_eq!(b["data"]["webhooks"]["totalCount"], 1);
        let b = admin.gql(&app, "mutation($id: String!) { deleteWebhook(id: $id) }", json!({"id": hook_id})).await;
        assert_eq!(b["data"]["deleteWebhook"], true);
        let b = admin.gql(&app, "mutation($id: String!) { deleteWebhook(id: $id) }", json!({"id": hook_id})).await;
        assert_eq!(code(&b), "not_found");

        let b = admin.gql(&app, "mutation { createApiKey(name: \"ci\") { plaintext apiKey { id } } }", json!({})).await;
        let key_id = b["data"]["createApiKey"]["apiKey"]["id"].as_str().unwrap().to_string();
        let plaintext = b["data"]["createApiKey"]["plaintext"].as_str().unwrap().to_string();
        let (s, _) = gql_key(&app, &plaintext, "{ me { role } }", json!({})).await;
        assert_eq!(s, 200);
        let b = admin.gql(&app, "mutation($id: String!) { revokeApiKey(id: $id) { revokedAt } }", json!({"id": key_id})).await;
        assert!(b["data"]["revokeApiKey"]["revokedAt"].is_string(), "{b}");
        let (s, _) = gql_key(&app, &plaintext, "{ me { role } }", json!({})).await;
        assert_eq!(s, 401, "a revoked key no longer authenticates");

        let iid = &seeded.identity_ids[0];
        let b = admin.gql(&app, "mutation($id: String!) { eraseIdentity(id: $id) }", json!({"id": iid})).await;
        assert_eq!(b["data"]["eraseIdentity"], true, "{b}");
        let b = admin.gql(&app, "query($id: String!) { identity(id: $id) { id } }", json!({"id": iid})).await;
        assert_eq!(b["data"]["identity"], Value::Null);

        let b = admin.gql(&app, "{ auditLog(first: 50) { totalCount nodes { action actorKind } } }", json!({})).await;
        let actions: Vec<&str> =
            b["data"]["auditLog"]["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        for expected in ["weights.update", "requirements.update", "webhook.create", "webhook.rotate_secret", "api_key.revoke", "identity.erase"] {
            assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
        }
        assert!(b["data"]["auditLog"]["nodes"].as_array().unwrap().iter().all(|n| n["actorKind"] == "user"));
        app.cleanup().await;
    }
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn dashboard_aggregates_and_what_if() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let n = 40;
        seed(&app, &app.demo_client_id, n).await;
        let q = "{ dashboard { totalSessions decidedSessions passRate averageScore medianSecondsToComplete
            failingChecks { checkName count } sessionsByStatusPerDay { day status count } sessionsPerDay { day count } } }";
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({})).await;
        let d = &b["data"]["dashboard"];
        let complete: Vec<usize> = (0..n).filter(|i| i % 4 != 0).collect();
        let verified = complete.iter().filter(|i| *i % 3 != 0).count();
        assert_eq!(d["totalSessions"], n, "{b}");
        assert_eq!(d["decidedSessions"], complete.len());
        let rate = d["passRate"].as_f64().unwrap();
        assert!((rate - verified as f64 / complete.len() as f64).abs() < 1e-9, "{rate}");
        let avg = (verified as f64 * 0.9 + (complete.len() - verified) as f64 * 0.3) / complete.len() as f64;
        assert!((d["averageScore"].as_f64().unwrap() - avg).abs() < 1e-6, "{d}");
        let mut spans: Vec<f64> = complete.iter().map(|i| 90.0 + *i as f64).collect();
        spans.sort_by(f64::total_cmp);
        let median = (spans[spans.len() / 2 - 1] + spans[spans.len() / 2]) / 2.0;
        assert_eq!(d["medianSecondsToComplete"].as_f64().unwrap(), median);
        let liveness_fails = complete.len() - verified;
        let ofac_fails = (0..n).filter(|i| i % 5 == 0).count();
        assert_eq!(d["failingChecks"][0], json!({"checkName": "liveness", "count": liveness_fails}), "{d}");
        assert_eq!(d["failingChecks"][1], json!({"checkName": "ofac", "count": ofac_fails}));
        let per_status: i64 = d["sessionsByStatusPerDay"].as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum();
        let per_day: i64 = d["sessionsPerDay"].as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum();
        assert_eq!((per_status, per_day), (n as i64, n as i64));
        assert!(d["sessionsByStatusPerDay"][0]["day"].as_str().unwrap().len() == 10);

        let (_, b) = gql_key(&app, &app.demo_key, "{ dashboard(startDate: \"2999-01-01\") { totalSessions passRate } }", json!({})).await;
        assert_eq!(b["data"]["dashboard"], json!({"totalSessions": 0, "passRate": null}), "{b}");

        let w = weights::in_force(&app.state.db, &app.demo_client_id, None).await.unwrap();
        let values: serde_json::Map<String, Value> = serde_json::to_value(weights::WeightValues::from_model(&w))
            .unwrap()
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (camel(k), v.clone()))
            .collect();
        let versions_before = weights_count(&app).await;
        let q = "query($w: WeightsValuesInput!) { whatIfRescore(weights: $w, sessions: 500) {
            sessionsScored verifiedBefore verifiedAfter changed sessions { sessionId changed proposed { verified score } } } }";
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"w": values})).await;
        let r = &b["data"]["whatIfRescore"];
        assert_eq!(r["sessionsScored"], complete.len(), "{b}");
        assert_eq!(r["verifiedBefore"], verified);
        assert_eq!(weights_count(&app).await, versions_before, "what-if writes nothing");
        let mut strict = values.clone();
        strict.insert("idvSessionTolerance".into(), json!(1.0));
        let (_, b2) = gql_key(&app, &app.demo_key, q, json!({"w": strict})).await;
        assert!(
            b2["data"]["whatIfRescore"]["verifiedAfter"].as_i64().unwrap() <= r["verifiedAfter"].as_i64().unwrap(),
            "a stricter threshold never verifies more: {b2}"
        );
        // A what-if may change the policy too: every rule on review can only hold sessions back.
        let q = "query($w: WeightsValuesInput!, $p: JSON) { whatIfRescore(weights: $w, policy: $p, sessions: 500) {
            verifiedAfter reviewAfter sessions { proposed { decision reviewRequired reasons } } } }";
        let all_review = json!({"suspicious_words": "review", "image_manipulation": "review", "is_identity_document": "review",
            "online_duplication": "review", "document_expiry": "review", "age": "review", "gender": "review", "sanctions": "review"});
        let (_, b3) = gql_key(&app, &app.demo_key, q, json!({"w": values, "p": all_review})).await;
        let r3 = &b3["data"]["whatIfRescore"];
        assert!(r3["verifiedAfter"].as_i64().unwrap() <= r["verifiedAfter"].as_i64().unwrap(), "{b3}");
        for s in r3["sessions"].as_array().unwrap() {
            assert_eq!(s["proposed"]["reviewRequired"], s["proposed"]["decision"] == "needs_review", "{s}");
        }
        let (_, bad) = gql_key(&app, &app.demo_key, q, json!({"w": values, "p": {"nope": "review"}})).await;
        assert_eq!(code(&bad), "validation_failed", "{bad}");
        assert_eq!(weights_count(&app).await, versions_before, "what-if writes nothing");
        app.cleanup().await;
    }
}

async fn weights_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::weights::Entity::find().count(&app.state.db).await.unwrap()
}

#[tokio::test]
async fn hostile_queries_are_refused_by_the_limits() {
    let app = TestApp::spawn("sqlite").await;
    seed(&app, &app.demo_client_id, 2).await;
    let mut deep = String::from("id");
    for _ in 0..8 {
        deep = format!("identity {{ idvSessions {{ {deep} }} }}");
    }
    let deep = format!("{{ idvSessions {{ nodes {{ {deep} }} }} }}");
    // Its nested lists alone make it too complex; the depth limit refuses it too.
    let (_, b) = gql_key(&app, &app.demo_key, &deep, json!({})).await;
    assert_eq!(code(&b), "validation_failed", "{b}");
    let lax = TestApp::spawn_with("sqlite", |c| c.graphql_max_complexity = 1_000_000_000_000).await;
    let (s, b) = gql_key(&lax, &lax.demo_key, &deep, json!({})).await;
    assert_eq!(s, 200);
    assert!(b["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("nested too deep"), "{b}");
    assert_eq!(code(&b), "validation_failed");
    assert!(b.get("data").is_none_or(Value::is_null));

    let fields = "nodes { id status score firstName lastName createdAt metadata settings
        identity { id firstName lastName documents { id documentNumber } idvSessions { id status } }
        documents { id documentNumber firstName lastName } checks { checkName status score detail }
        history { event at endpoint } weightsVersion { id idvSessionTolerance ageTolerance } }";
    let wide = format!("{{ a: idvSessions(first: 500) {{ {fields} }} b: idvSessions(first: 500) {{ {fields} }} }}");
    let (_, b) = gql_key(&app, &app.demo_key, &wide, json!({})).await;
    assert!(b["errors"][0]["message"].as_str().unwrap_or_else(|| panic!("{b}")).to_lowercase().contains("complex"), "{b}");
    assert_eq!(code(&b), "validation_failed");

    let (_, b) = gql_key(&app, &app.demo_key, NESTED, json!({"first": 50})).await;
    assert!(b.get("errors").is_none(), "the dashboard's own 50-row page stays within the limits: {b}");

    // Nested lists without paging count their rows too (NESTED_LIST_ESTIMATE
    // each): 100 identities × their sessions × each session's checks,
    // history and documents is refused, the same selection over 5 rows is not.
    let nested = "{ identities(first: 100) { nodes { id idvSessions { id checks { checkName status score detail }
        history { event at endpoint } documents { id documentNumber firstName } } } } }";
    let (_, b) = gql_key(&app, &app.demo_key, nested, json!({})).await;
    assert!(b["errors"][0]["message"].as_str().unwrap_or_else(|| panic!("{b}")).to_lowercase().contains("complex"), "{b}");
    assert_eq!(code(&b), "validation_failed");
    let (_, b) = gql_key(&app, &app.demo_key, &nested.replace("first: 100", "first: 5"), json!({})).await;
    assert!(b.get("errors").is_none(), "{b}");
    assert_eq!(b["data"]["identities"]["nodes"].as_array().unwrap().len(), 2, "{b}");
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let q = "{ __schema { queryType { name } } }";
    let app = TestApp::spawn("sqlite").await;
    let (_, b) = gql_key(&app, &app.demo_key, q, json!({})).await;
    assert_eq!(b["data"]["__schema"]["queryType"]["name"], "Query", "{b}");
    let app = TestApp::spawn_with("sqlite", |c| c.graphql_introspection = false).await;
    let (_, b) = gql_key(&app, &app.demo_key, q, json!({})).await;
    assert!(b["data"].is_null() || b["data"]["__schema"].is_null() || b.get("errors").is_some(), "{b}");
    assert_ne!(b["data"]["__schema"]["queryType"]["name"], "Query");
}

#[test]
fn committed_schema_matches() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");
    let sdl = graphql::sdl();
    if std::env::var("TESSERA_UPDATE_SCHEMA").is_ok() {
        std::fs::write(path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema/schema.graphql drifted from the served schema; regenerate with \
         TESSERA_UPDATE_SCHEMA=1 cargo test --test it committed_schema"
    );
}

#[tokio::test]
async fn ida_sessions_connection_with_nested_fields() {
    use tessera::service::ida::{self, IdaSettings, NewIdaSession};
    use tessera::service::types::LivenessMode;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let seeded = seed(&app, &client, 3).await;
        let mut created = vec![];
        for identity_id in &seeded.identity_ids {
            let new = NewIdaSession {
                identity_id: identity_id.clone(),
                webhook_url: None,
                liveness_mode: LivenessMode::Passive,
                metadata: Default::default(),
                settings: IdaSettings::default(),
            };
            created.push(ida::create(&app.state.db, &client, None, new, 24, "test").await.unwrap().id);
        }
        let q = "query($sort: Sort) { idaSessions(first: 10, sort: $sort) { totalCount nodes { id status
            identity { id idaSessions { id } } history { event } weightsVersion { id } checks { checkName } } } }";
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"sort": {"field": "CREATED_AT", "direction": "ASC"}})).await;
        let c = &b["data"]["idaSessions"];
        assert_eq!(c["totalCount"], 3, "{b}");
        assert_eq!(c["nodes"][0]["id"], json!(created[0]), "oldest first");
        assert_eq!(c["nodes"][0]["status"], "IN_PROGRESS");
        assert_eq!(c["nodes"][0]["identity"]["id"], json!(seeded.identity_ids[0]));
        assert_eq!(c["nodes"][0]["identity"]["idaSessions"][0]["id"], json!(created[0]));
        assert_eq!(c["nodes"][0]["history"][0]["event"], "created");
        assert!(c["nodes"][0]["weightsVersion"]["id"].is_string());

        // The detail view's images: the session's selfie, served through /admin/media.
        {
            use sea_orm::ActiveModelTrait;
            use tessera::service::files::{self, FileOwner};
            let mut png = std::io::Cursor::new(Vec::new());
            image::RgbImage::from_pixel(32, 24, image::Rgb([90, 120, 150])).write_to(&mut png, image::ImageFormat::Png).unwrap();
            let valid = files::validate_image("image", png.into_inner()).unwrap();
            let owner = FileOwner { client_id: &client, session_kind: "ida", session_id: &created[0], identity_id: Some(&seeded.identity_ids[0]) };
            let row = files::put_image(&app.state.storage, &owner, tessera::service::types::StorageFileType::Selfie, &valid).await.unwrap();
            row.insert(&app.state.db).await.unwrap();
        }
        let q = "query($id: String!) { idaSession(id: $id) { images { fileType width url } locations { captureType } } }";
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"id": created[0]})).await;
        let images = b["data"]["idaSession"]["images"].as_array().unwrap_or_else(|| panic!("{b}"));
        assert_eq!(images.len(), 1, "{b}");
        assert_eq!((images[0]["fileType"].as_str(), images[0]["width"].as_i64()), (Some("selfie"), Some(32)), "{b}");
        assert!(images[0]["url"].as_str().unwrap().starts_with("/admin/media/"), "{b}");
        assert_eq!(b["data"]["idaSession"]["locations"], json!([]));

        let other = tenancy::create_client(&app.state.db, "Other", false).await.unwrap();
        let (_, b) = gql_key(&app, &app.demo_key, "query($id: String!) { idaSession(id: $id) { id } }", json!({"id": created[1]})).await;
        assert_eq!(b["data"]["idaSession"]["id"], json!(created[1]));
        let their_admin = login(&app, &other.id, "admin@other.test", Role::Admin).await;
        let b = their_admin.gql(&app, "query($id: String!) { idaSession(id: $id) { id } }", json!({"id": created[1]})).await;
        assert_eq!(b["data"]["idaSession"], Value::Null, "{b}");
        let b = their_admin.gql(&app, "mutation { redeliverWebhookDelivery(id: \"nope\") { id } }", json!({})).await;
        assert_eq!(code(&b), "not_found", "{b}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn webhook_deliveries_documents_and_requirements_are_tenant_scoped() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use tessera::service::history::SessionKind;
    use tessera::service::{outbox, webhooks};
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let other = tenancy::create_client(&app.state.db, "Other", false).await.unwrap();
        let mine = seed(&app, &app.demo_client_id, 3).await;
        let theirs = seed(&app, &other.id, 2).await;
        let hook = |client: String, name: &'static str| {
            let app = &app;
            async move {
                let url = webhooks::WebhookUrl::parse(&format!("http://127.0.0.1:9/{name}"), webhooks::UrlPolicy::WithLoopback).unwrap();
                webhooks::create(&app.state.db, app.state.storage.master_key(), &client, webhooks::WebhookName::parse(name).unwrap(), url)
                    .await
                    .unwrap()
                    .model
                    .id
            }
        };
        let (a, _b) = (hook(app.demo_client_id.clone(), "a").await, hook(app.demo_client_id.clone(), "b").await);
        hook(other.id.clone(), "c").await;
        // Events through the outbox, as the services write them: two endpoints each.
        let db = &app.state.db;
        outbox::on_history_event(db, SessionKind::Idv, &app.demo_client_id, &mine.session_ids[0], "finalized").await.unwrap();
        outbox::on_history_event(db, SessionKind::Idv, &app.demo_client_id, &mine.session_ids[1], "consented").await.unwrap();
        outbox::on_history_event(db, SessionKind::Idv, &other.id, &theirs.session_ids[0], "finalized").await.unwrap();
        use entity::webhook_delivery as wd;
        let my_total = wd::Entity::find().filter(wd::Column::ClientId.eq(&app.demo_client_id)).count(db).await.unwrap();
        assert!(my_total >= 4, "{backend}: {my_total}");
        let to_fail = wd::Entity::find().filter(wd::Column::WebhookId.eq(&a)).one(db).await.unwrap().unwrap();
        wd::Entity::update_many()
            .col_expr(wd::Column::Status, sea_orm::sea_query::Expr::value("failed"))
            .filter(wd::Column::Id.eq(&to_fail.id))
            .exec(db)
            .await
            .unwrap();

        let q = "query($first: Int, $after: String, $filter: WebhookDeliveryFilter) {
            webhookDeliveries(first: $first, after: $after, filter: $filter) {
              totalCount pageInfo { hasNextPage endCursor }
              nodes { id webhookId eventType status sessionId } } }";
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"first": 3})).await;
        let page = &b["data"]["webhookDeliveries"];
        assert_eq!(page["totalCount"], json!(my_total), "{backend}: {b}");
        assert_eq!(page["nodes"].as_array().unwrap().len(), 3);
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        let (_, b2) = gql_key(&app, &app.demo_key, q, json!({"first": 3, "after": page["pageInfo"]["endCursor"]})).await;
        let ids = |v: &Value| -> Vec<String> {
            v["data"]["webhookDeliveries"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
        };
        let (first_ids, second_ids) = (ids(&b), ids(&b2));
        assert_eq!(first_ids.len() + second_ids.len(), my_total as usize, "{backend}: {b2}");
        assert!(first_ids.iter().all(|i| !second_ids.contains(i)), "pages do not overlap");
        let sessions: Vec<&str> = [&b, &b2]
            .iter()
            .flat_map(|v| v["data"]["webhookDeliveries"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["sessionId"].as_str()))
            .collect();
        assert!(!sessions.contains(&theirs.session_ids[0].as_str()), "{backend}: no other client's delivery");

        let count = |filter: Value| {
            let app = &app;
            async move {
                let (_, b) = gql_key(app, &app.demo_key, q, json!({"filter": filter})).await;
                assert!(b.get("errors").is_none(), "{b}");
                (b["data"]["webhookDeliveries"]["totalCount"].as_u64().unwrap(), b)
            }
        };
        let (n, b) = count(json!({"webhookId": a})).await;
        assert!(n >= 2 && n < my_total, "{backend}: {n}");
        assert!(b["data"]["webhookDeliveries"]["nodes"].as_array().unwrap().iter().all(|d| d["webhookId"] == json!(a)));
        let (n, b) = count(json!({"status": "FAILED"})).await;
        assert_eq!(n, 1, "{backend}");
        assert_eq!(b["data"]["webhookDeliveries"]["nodes"][0]["id"], json!(to_fail.id));
        assert_eq!(count(json!({"eventType": "session.updated"})).await.0, 2, "{backend}");
        assert_eq!(count(json!({"sessionId": mine.session_ids[1], "eventType": "session.updated", "webhookId": a})).await.0, 1);
        assert_eq!(count(json!({"sessionId": theirs.session_ids[0]})).await.0, 0, "{backend}: another client's session");
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"filter": {"status": "LOST"}})).await;
        assert_eq!(code(&b), "validation_failed", "{b}");

        // Documents and stored requirements by id: the caller's, or null.
        let doc_of = |client: String| async move {
            entity::document::Entity::find().filter(entity::document::Column::ClientId.eq(client)).one(db).await.unwrap().unwrap().id
        };
        let (my_doc, their_doc) = (doc_of(app.demo_client_id.clone()).await, doc_of(other.id.clone()).await);
        let set = tessera::service::requirements::RequirementSet::defaults(
            tessera::service::types::DocumentType::Passport,
            tessera::service::types::DataSource::Mrz,
        );
        let scope = |client: &str| weights::Scope { client_id: client.to_string(), user_id: None };
        let my_req = tessera::service::requirements::upsert(db, &scope(&app.demo_client_id), &set).await.unwrap().id;
        let their_req = tessera::service::requirements::upsert(db, &scope(&other.id), &set).await.unwrap().id;
        let q = "query($d: String!, $r: String!) {
            document(id: $d) { id documentNumber }
            requirement(id: $r) { id clientId documentType dataSource issuingCountryRequired streetRequired } }";
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"d": my_doc, "r": my_req})).await;
        assert!(b.get("errors").is_none(), "{backend}: {b}");
        assert_eq!(b["data"]["document"]["id"], json!(my_doc));
        let r = &b["data"]["requirement"];
        assert_eq!((r["id"].as_str(), r["clientId"].as_str()), (Some(my_req.as_str()), Some(app.demo_client_id.as_str())));
        assert_eq!((r["documentType"].as_str(), r["dataSource"].as_str()), (Some("passport"), Some("mrz")));
        assert_eq!((r["issuingCountryRequired"].as_bool(), r["streetRequired"].as_bool()), (Some(true), Some(false)));
        let (_, b) = gql_key(&app, &app.demo_key, q, json!({"d": their_doc, "r": their_req})).await;
        assert_eq!(b["data"], json!({"document": null, "requirement": null}), "{backend}: {b}");
        assert!(b.get("errors").is_none(), "{b}");
        let views = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.eq("document.view"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(views.iter().map(|v| v.target_id.as_deref()).collect::<Vec<_>>(), [Some(my_doc.as_str())], "{backend}");
        app.cleanup().await;
    }
}
