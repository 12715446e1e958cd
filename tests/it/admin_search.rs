//! The dashboard's daily-use API behind the admin UI: the indexed session
//! search (full name, exact document number, user id, metadata and SDK
//! metadata values, kept current on write and on erasure), the list's
//! filters and sorts, the CSV export (role-checked, tenancy-scoped,
//! audited), weights change notes with their authors' names, the what-if's
//! explanation and the requirements preview. On SQLite and PostgreSQL.

use crate::common::dashboard_seed;
use crate::common::{TestApp, backends};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use tessera::service::tenancy::{self, Role};
use tessera::service::weights;

const PASSWORD: &str = "correct horse battery staple";

/// A logged-in dashboard user (cookie jar + CSRF token).
struct User {
    http: reqwest::Client,
    csrf: String,
}

async fn login(app: &TestApp, client_id: &str, email: &str, role: Role) -> User {
    tenancy::create_user(&app.state.db, client_id, email, role, PASSWORD).await.unwrap();
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = http.post(app.url("/api/v1/auth/login")).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    User { http, csrf: me["csrf_token"].as_str().unwrap().to_string() }
}

impl User {
    async fn gql(&self, app: &TestApp, query: &str, variables: Value) -> Value {
        let resp = self
            .http
            .post(app.url("/graphql"))
            .header("x-csrf-token", &self.csrf)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn export(&self, app: &TestApp, filter: &Value) -> (u16, String, String) {
        self.export_sorted(app, filter, None).await
    }

    async fn export_sorted(&self, app: &TestApp, filter: &Value, sort: Option<&Value>) -> (u16, String, String) {
        let mut query = vec![("filter", filter.to_string())];
        if let Some(sort) = sort {
            query.push(("sort", sort.to_string()));
        }
        let resp = self
            .http
            .get(app.url("/graphql/export/idv-sessions.csv"))
            .query(&query)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, ct, resp.text().await.unwrap())
    }
}

const LIST: &str = "query($f: IdvSessionFilter, $s: Sort) { idvSessions(first: 100, filter: $f, sort: $s) {
    totalCount nodes { id firstName lastName score documentType livenessProvider } } }";

fn ids(body: &Value) -> Vec<String> {
    let nodes = body["data"]["idvSessions"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    nodes.iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
}

async fn found(app: &TestApp, user: &User, filter: Value) -> Vec<String> {
    ids(&user.gql(app, LIST, json!({"f": filter})).await)
}

/// Gives a seeded session a user id, metadata and SDK metadata, as the API
/// would, and re-indexes it.
async fn decorate(app: &TestApp, sid: &str, user_id: &str) {
    let row = entity::idv_session::Entity::find_by_id(sid.to_string()).one(&app.state.db).await.unwrap().unwrap();
    let mut am: entity::idv_session::ActiveModel = row.into();
    am.user_id = Set(Some(user_id.into()));
    am.first_name = Set(Some("ANH".into()));
    am.last_name = Set(Some("JOHNSON".into()));
    am.metadata = Set(json!({"order": "ORD-77-A"}));
    am.sdk_metadata = Set(json!({"app_version": "9.4.1", "device": "Pixel Nine"}));
    am.update(&app.state.db).await.unwrap();
    tessera::service::session_search::refresh(&app.state.db, &[sid.to_string()]).await.unwrap();
}

#[tokio::test]
async fn session_search_filters_sorts_and_export() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 40, Utc::now()).await;
        let admin = login(&app, &client, "admin@search.test", Role::Admin).await;
        let viewer = login(&app, &client, "viewer@search.test", Role::Viewer).await;
        let target = seeded.session_ids[7].clone();
        decorate(&app, &target, "integrator-user-42").await;

        // Full name, either order and case; a word prefix; user id; metadata and SDK metadata values.
        for term in ["ANH JOHNSON", "johnson anh", "joh", "integrator-user-42", "ord-77", "9.4.1", "pixel nine"] {
            assert_eq!(found(&app, &admin, json!({"searchTerm": term})).await, vec![target.clone()], "{backend}: search {term:?}");
        }
        // A document number only whole, separators and case ignored.
        let doc_owner = seeded.session_ids[12].clone();
        assert_eq!(found(&app, &admin, json!({"searchTerm": "D0000012"})).await, vec![doc_owner.clone()], "{backend}");
        assert_eq!(found(&app, &admin, json!({"searchTerm": "d000-0012"})).await, vec![doc_owner.clone()], "{backend}");
        assert!(found(&app, &admin, json!({"searchTerm": "D000001"})).await.is_empty(), "{backend}: no document number prefix search");
        // Words must all match; wildcards are literal.
        assert!(found(&app, &admin, json!({"searchTerm": "anh last3"})).await.is_empty(), "{backend}");
        assert!(found(&app, &admin, json!({"searchTerm": "%"})).await.is_empty(), "{backend}");
        // The old words are gone once the values change.
        decorate(&app, &seeded.session_ids[8], "someone-else").await;
        let mut both = found(&app, &admin, json!({"searchTerm": "anh johnson"})).await;
        both.sort();
        let mut expected = vec![target.clone(), seeded.session_ids[8].clone()];
        expected.sort();
        assert_eq!(both, expected, "{backend}");
        // A search too broad for id lookups runs as subqueries on the index, with the same answer.
        // Both forms: the id list for counting, a probe per session for a page.
        use tessera::service::session_search::Probe;
        for term in ["anh johnson", "D0000012", "first1", "nobody"] {
            for probe in [Probe::List, Probe::PerSession, Probe::Set] {
                let cond = tessera::service::session_search::condition(&[client.clone()], term, probe, sea_orm::ConnectionTrait::get_database_backend(&app.state.db)).unwrap();
                let mut by_subquery: Vec<String> = entity::idv_session::Entity::find()
                    .filter(cond)
                    .all(&app.state.db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| s.id)
                    .collect();
                let mut listed = found(&app, &admin, json!({"searchTerm": term})).await;
                by_subquery.sort();
                listed.sort();
                assert_eq!(by_subquery, listed, "{backend}: {term} {probe:?}");
            }
        }

        // Another client's sessions are never found, whatever the term.
        let other = tenancy::create_client(&app.state.db, "Other client", false).await.unwrap();
        dashboard_seed::seed_sessions(&app.state.db, &other.id, &w.id, 15, Utc::now()).await;
        // (The other client's session 3 carries the same document number.)
        assert_eq!(found(&app, &admin, json!({"searchTerm": "D0000003"})).await, vec![seeded.session_ids[3].clone()], "{backend}");
        // The client tests made per row (where the sessions were reached by
        // id, or probed one at a time) hold by themselves.
        {
            use entity::idv_session;
            use tessera::service::idv::{ClientCheck, clients_condition};
            use tessera::service::session_search::{Probe, condition};
            let theirs: Vec<String> = idv_session::Entity::find()
                .filter(idv_session::Column::ClientId.eq(&other.id))
                .all(&app.state.db)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id)
                .collect();
            assert_eq!(theirs.len(), 15);
            let by_id = clients_condition(std::slice::from_ref(&client), ClientCheck::PerRow).add(idv_session::Column::Id.is_in(theirs.clone()));
            assert!(idv_session::Entity::find().filter(by_id).all(&app.state.db).await.unwrap().is_empty(), "{backend}");
            let of_theirs = |cond| sea_orm::Condition::all().add(cond).add(idv_session::Column::Id.is_in(theirs.clone()));
            let db_backend = sea_orm::ConnectionTrait::get_database_backend(&app.state.db);
            let probed = of_theirs(condition(std::slice::from_ref(&client), "first1", Probe::PerSession, db_backend).unwrap());
            assert!(idv_session::Entity::find().filter(probed).all(&app.state.db).await.unwrap().is_empty(), "{backend}");
            let probed = of_theirs(condition(std::slice::from_ref(&other.id), "first1", Probe::PerSession, db_backend).unwrap());
            assert_eq!(idv_session::Entity::find().filter(probed).all(&app.state.db).await.unwrap().len(), 6, "{backend}");
        }

        // Filters: a failing check, a sanctions hit, the document type, the liveness provider.
        let liveness_fails = entity::check_result::Entity::find()
            .filter(entity::check_result::Column::ClientId.eq(&client))
            .filter(entity::check_result::Column::CheckName.eq("liveness"))
            .filter(entity::check_result::Column::Status.eq("fail"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert!(liveness_fails > 0);
        let failing = found(&app, &admin, json!({"failingCheck": "liveness"})).await;
        assert_eq!(failing.len() as u64, liveness_fails, "{backend}");
        let hit = seeded.session_ids[5].clone();
        let row = entity::idv_session::Entity::find_by_id(hit.clone()).one(&app.state.db).await.unwrap().unwrap();
        let mut am: entity::idv_session::ActiveModel = row.into();
        am.ofac_status = Set("hit".into());
        am.document_type = Set("passport".into());
        am.liveness_provider = Set("azure".into());
        am.update(&app.state.db).await.unwrap();
        assert_eq!(found(&app, &admin, json!({"sanctionsHit": true})).await, vec![hit.clone()], "{backend}");
        assert_eq!(found(&app, &admin, json!({"documentType": "passport"})).await, vec![hit.clone()], "{backend}");
        assert_eq!(found(&app, &admin, json!({"livenessProvider": "azure"})).await, vec![hit.clone()], "{backend}");
        assert_eq!(found(&app, &admin, json!({"sanctionsHit": false})).await.len(), 39, "{backend}");
        let bad = admin.gql(&app, LIST, json!({"f": {"documentType": "library_card"}})).await;
        assert_eq!(bad["errors"][0]["extensions"]["errors"][0]["field"], "documentType", "{bad}");
        let bad = admin.gql(&app, LIST, json!({"f": {"failingCheck": "Robert'); DROP"}})).await;
        assert_eq!(bad["errors"][0]["extensions"]["errors"][0]["field"], "failingCheck", "{bad}");

        // Sorting by name and by score, empty values last.
        let by_score = admin.gql(&app, LIST, json!({"s": {"field": "SCORE", "direction": "ASC"}})).await;
        let scores: Vec<Option<f64>> =
            by_score["data"]["idvSessions"]["nodes"].as_array().unwrap().iter().map(|n| n["score"].as_f64()).collect();
        let known: Vec<f64> = scores.iter().flatten().copied().collect();
        assert!(known.windows(2).all(|p| p[0] <= p[1]), "{backend}: {scores:?}");
        assert!(scores.iter().skip_while(|s| s.is_some()).all(Option::is_none), "{backend}: nulls last {scores:?}");
        let by_name = admin.gql(&app, LIST, json!({"s": {"field": "NAME", "direction": "ASC"}})).await;
        let last_names: Vec<String> = by_name["data"]["idvSessions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["lastName"].as_str().unwrap_or_default().to_string())
            .collect();
        let mut sorted = last_names.clone();
        sorted.sort();
        assert_eq!(last_names, sorted, "{backend}");

        // CSV export: the rows are the list's rows under the same filter.
        let filter = json!({"failingCheck": "liveness"});
        let audits = |action: &'static str| {
            entity::audit_log::Entity::find().filter(entity::audit_log::Column::Action.eq(action)).count(&app.state.db)
        };
        let before = audits("idv_session.export").await.unwrap();
        let (status, ct, csv) = admin.export(&app, &filter).await;
        assert_eq!(status, 200, "{backend}: {csv}");
        assert!(ct.starts_with("text/csv"), "{ct}");
        let mut lines = csv.lines();
        assert!(lines.next().unwrap().starts_with("session_id,created_at,"), "{csv}");
        let mut exported: Vec<String> = lines.map(|l| l.split(',').next().unwrap().to_string()).collect();
        let mut listed = failing.clone();
        exported.sort();
        listed.sort();
        assert_eq!(exported, listed, "{backend}: the export's rows are the filter's");
        assert!(csv.contains("liveness"), "the failed checks are exported: {csv}");
        assert_eq!(audits("idv_session.export").await.unwrap(), before + 1, "{backend}: the export is audited");
        // Tenancy: another client's ids are refused, never exported.
        let (status, _, body) = admin.export(&app, &json!({"clientIds": [other.id]})).await;
        assert!(status == 403 || status == 404, "{backend}: {status} {body}");
        assert!(!body.contains(&other.id[..8]), "{body}");
        // Roles: viewers and API keys may not export; bad filters are a 400 naming the field.
        let (status, _, _) = viewer.export(&app, &filter).await;
        assert_eq!(status, 403, "{backend}: viewers cannot export");
        let resp = app
            .http
            .get(app.url("/graphql/export/idv-sessions.csv"))
            .bearer_auth(&app.demo_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{backend}: API keys cannot export");
        let (status, ct, body) = admin.export(&app, &json!({"documentType": "library_card"})).await;
        assert_eq!(status, 400, "{body}");
        assert!(ct.starts_with("application/problem+json") && body.contains("documentType"), "{ct} {body}");
        assert_eq!(audits("idv_session.export").await.unwrap(), before + 1, "refused exports write no audit row");

        // Erasure removes the person's words from the index; the id stays findable.
        let identity = seeded.identity_ids[3].clone();
        let txn = sea_orm::TransactionTrait::begin(&app.state.db).await.unwrap();
        tessera::service::identities::erase(&txn, &client, &identity, Utc::now()).await.unwrap();
        txn.commit().await.unwrap();
        assert!(found(&app, &admin, json!({"searchTerm": "D0000003"})).await.is_empty(), "{backend}: erased data is not searchable");
        let first3 = found(&app, &admin, json!({"searchTerm": "First3"})).await;
        assert!(!first3.contains(&seeded.session_ids[3]) && first3.contains(&seeded.session_ids[30]), "{backend}: {first3:?}");
        let erased_session = seeded.session_ids[3].clone();
        assert_eq!(found(&app, &admin, json!({"searchTerm": erased_session})).await, vec![erased_session.clone()], "{backend}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn sessions_created_through_the_api_are_searchable() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let admin = login(&app, &app.demo_client_id, "admin@api-search.test", Role::Admin).await;
        let (st, _, v) = app
            .post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({"metadata": {"crm": "Lead 5521"}}))
            .await;
        assert_eq!(st, 200, "{v}");
        let sid = v["session_id"].as_str().unwrap().to_string();
        let sdk = |path: &'static str, body: Value| {
            app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send()
        };
        assert_eq!(sdk("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await.unwrap().status(), 200);
        let resp = sdk("/api/v1/sdk/idv/metadata/update", json!({"session_id": sid, "sdk_metadata": {"build": "Nightly-2211"}}))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(found(&app, &admin, json!({"searchTerm": "lead 5521"})).await, vec![sid.clone()], "{backend}: metadata at create");
        assert_eq!(found(&app, &admin, json!({"searchTerm": "nightly"})).await, vec![sid.clone()], "{backend}: SDK metadata");
        // The start-up fill is a no-op once everything is indexed.
        assert_eq!(tessera::service::session_search::backfill(&app.state.db).await.unwrap(), 0);
        app.cleanup().await;
    }
}

/// The session ids of a CSV export, in the file's order.
fn csv_ids(csv: &str) -> Vec<String> {
    csv.lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect()
}

/// Every page of the list under a filter and sort, `first` at a time,
/// following the cursors; the totals each page reported.
async fn paged(app: &TestApp, user: &User, filter: &Value, sort: &Value, first: i32) -> (Vec<String>, Vec<(u64, bool)>) {
    const PAGE: &str = "query($f: IdvSessionFilter, $s: Sort, $n: Int, $a: String) { idvSessions(first: $n, after: $a, filter: $f, sort: $s) {
        totalCount totalCountExact pageInfo { hasNextPage endCursor } nodes { id } } }";
    let (mut all, mut totals, mut after) = (vec![], vec![], Value::Null);
    loop {
        let body = user.gql(app, PAGE, json!({"f": filter, "s": sort, "n": first, "a": after})).await;
        let conn = &body["data"]["idvSessions"];
        all.extend(ids(&body));
        totals.push((conn["totalCount"].as_u64().unwrap(), conn["totalCountExact"].as_bool().unwrap()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (all, totals);
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(all.len() < 5000, "paging does not end: {body}");
    }
}

/// The list walked back from its last session, `last` at a time, following
/// each page's first cursor ("Previous"): every id in the list's order.
async fn paged_back(app: &TestApp, user: &User, filter: &Value, sort: &Value, last: i32) -> Vec<String> {
    const END: &str = "query($f: IdvSessionFilter, $s: Sort, $a: String) { idvSessions(first: 500, after: $a, filter: $f, sort: $s) {
        pageInfo { hasNextPage endCursor } nodes { id } } }";
    const BACK: &str = "query($f: IdvSessionFilter, $s: Sort, $n: Int, $b: String) { idvSessions(last: $n, before: $b, filter: $f, sort: $s) {
        pageInfo { hasPreviousPage hasNextPage startCursor } nodes { id } } }";
    // The list's last session, and its cursor.
    let mut after = Value::Null;
    let (mut all, mut before) = loop {
        let page = user.gql(app, END, json!({"f": filter, "s": sort, "a": after})).await;
        let info = &page["data"]["idvSessions"]["pageInfo"];
        if info["hasNextPage"] == false {
            let mut last = ids(&page);
            last.drain(..last.len().saturating_sub(1));
            break (last, info["endCursor"].clone());
        }
        after = info["endCursor"].clone();
    };
    while !before.is_null() {
        let body = user.gql(app, BACK, json!({"f": filter, "s": sort, "n": last, "b": before})).await;
        let conn = &body["data"]["idvSessions"];
        assert_eq!(conn["pageInfo"]["hasNextPage"], true, "{body}");
        all.splice(0..0, ids(&body));
        if !conn["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = conn["pageInfo"]["startCursor"].clone();
        assert!(all.len() < 5000, "paging back does not end: {body}");
    }
    all
}

/// The REST session list answers its `search_term` from the same index as
/// the dashboard: the same sessions for the same words, and never another
/// client's (whose seeded sessions carry the same names and numbers).
#[tokio::test]
async fn rest_list_search_finds_what_the_dashboard_finds() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 40, Utc::now()).await;
        let other = tenancy::create_client(&app.state.db, "Other client", false).await.unwrap();
        let theirs = dashboard_seed::seed_sessions(&app.state.db, &other.id, &w.id, 15, Utc::now()).await;
        let admin = login(&app, &client, "admin@rest-search.test", Role::Admin).await;
        decorate(&app, &seeded.session_ids[7], "integrator-user-42").await;
        decorate(&app, &theirs.session_ids[2], "integrator-user-42").await;
        let terms = [
            "First3".to_string(),
            "last1".into(),
            "D0000003".into(),
            "d-000 0012".into(),
            "anh johnson".into(),
            "integrator-user-42".into(),
            "ord-77".into(),
            "9.4.1".into(),
            "first".into(),
            "nobody".into(),
            seeded.session_ids[21].clone(),
            theirs.session_ids[4].clone(),
        ];
        for term in &terms {
            let (st, _, body) =
                app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"search_term": term, "take": 500})).await;
            assert_eq!(st, 200, "{backend}: {body}");
            let mut rest: Vec<String> =
                body["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap().to_string()).collect();
            let listed = admin.gql(&app, LIST, json!({"f": {"searchTerm": term}})).await;
            let mut dashboard = ids(&listed);
            assert_eq!(body["meta_counts"]["total"], listed["data"]["idvSessions"]["totalCount"], "{backend}: {term}");
            rest.sort();
            dashboard.sort();
            assert_eq!(rest, dashboard, "{backend}: {term:?}");
            assert!(rest.iter().all(|id| seeded.session_ids.contains(id)), "{backend}: {term:?} found another client's session: {rest:?}");
        }
        // The semantics are the index's: words are prefixes, numbers whole.
        let (_, _, body) = app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"search_term": "JOHN ANH"})).await;
        assert_eq!(body["sessions"][0]["session_id"], seeded.session_ids[7].as_str(), "{backend}: {body}");
        let (_, _, body) = app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"search_term": "D000001"})).await;
        assert_eq!(body["meta_counts"]["total"], 0, "{backend}: no document number prefix: {body}");
        // Combined with the other filters.
        let (_, _, body) =
            app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"search_term": "last1", "status": "in_progress"})).await;
        let in_progress: Vec<&str> = body["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
        assert_eq!(in_progress, vec![seeded.session_ids[12].as_str(), seeded.session_ids[16].as_str()], "{backend}: {body}");
        app.cleanup().await;
    }
}

/// The CSV export writes the rows in the order the list shows them (the
/// UI passes its sort), under the same filters; each row names its failed
/// checks.
#[tokio::test]
async fn export_follows_the_lists_sort_and_filters() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 40, Utc::now()).await;
        let admin = login(&app, &client, "admin@export-sort.test", Role::Admin).await;
        // Some sessions without a last name, so the name sort has empty values to put last.
        for i in [2, 9, 17] {
            let row = entity::idv_session::Entity::find_by_id(seeded.session_ids[i].clone()).one(&app.state.db).await.unwrap().unwrap();
            let mut am: entity::idv_session::ActiveModel = row.into();
            am.last_name = Set(None);
            am.update(&app.state.db).await.unwrap();
        }
        let sorts = [
            json!({"field": "SCORE", "direction": "ASC"}),
            json!({"field": "SCORE", "direction": "DESC"}),
            json!({"field": "NAME", "direction": "ASC"}),
            json!({"field": "NAME", "direction": "DESC"}),
            json!({"field": "STATUS", "direction": "ASC"}),
            json!({"field": "CREATED_AT", "direction": "ASC"}),
        ];
        for filter in [json!({}), json!({"failingCheck": "liveness"}), json!({"searchTerm": "first1"})] {
            for sort in &sorts {
                let listed = ids(&admin.gql(&app, LIST, json!({"f": filter, "s": sort})).await);
                assert!(!listed.is_empty(), "{backend}: {filter}");
                let (status, _, csv) = admin.export_sorted(&app, &filter, Some(sort)).await;
                assert_eq!(status, 200, "{backend}: {csv}");
                assert_eq!(csv_ids(&csv), listed, "{backend}: export under {filter} sorted by {sort}");
            }
        }
        // Batches join up: walked three at a time (the server sends 500),
        // every sort, both directions, across the empty values.
        use tessera::service::dashboard::{self, IdvListExtras, Sort, SortField};
        let list_filter = tessera::service::idv::ListFilter { client_ids: vec![client.clone()], ..Default::default() };
        let filters = dashboard::idv_condition(&app.state.db, &list_filter, &IdvListExtras::default(), Utc::now()).await.unwrap();
        let fields = [
            (SortField::Score, "SCORE"),
            (SortField::Name, "NAME"),
            (SortField::CompletedAt, "COMPLETED_AT"),
            (SortField::Status, "STATUS"),
            (SortField::CreatedAt, "CREATED_AT"),
            (SortField::DocumentType, "DOCUMENT_TYPE"),
        ];
        for (field, name) in fields {
            for descending in [false, true] {
                let sort = Sort { field, descending };
                let (mut walked, mut after) = (vec![], None);
                loop {
                    let (batch, next) = dashboard::idv_export_batch(&app.state.db, &filters, sort, after.as_ref(), 3).await.unwrap();
                    walked.extend(batch.into_iter().map(|r| r.id));
                    match next {
                        Some(n) => after = Some(n),
                        None => break,
                    }
                    assert!(walked.len() <= 40, "{backend}: the walk does not end");
                }
                let direction = if descending { "DESC" } else { "ASC" };
                let listed = ids(&admin.gql(&app, LIST, json!({"s": {"field": name, "direction": direction}})).await);
                assert_eq!(walked, listed, "{backend}: batches of {name} {direction}");
            }
        }
        // Without a sort: newest first, as the list.
        let (_, _, csv) = admin.export(&app, &json!({})).await;
        assert_eq!(csv_ids(&csv), ids(&admin.gql(&app, LIST, json!({})).await), "{backend}");
        // The failed checks of a row, by name: session 15 fails liveness and ofac.
        let line = csv.lines().find(|l| l.starts_with(&seeded.session_ids[15])).unwrap();
        assert!(line.ends_with(",liveness ofac"), "{backend}: {line}");
        let line = csv.lines().find(|l| l.starts_with(&seeded.session_ids[1])).unwrap();
        assert!(line.ends_with(','), "{backend}: no failed check: {line}");
        // A sort that is not the list's Sort is a 400 naming the parameter.
        for bad in [json!({"field": "SHOE_SIZE"}), json!("score")] {
            let (status, ct, body) = admin.export_sorted(&app, &json!({}), Some(&bad)).await;
            assert_eq!(status, 400, "{backend}: {body}");
            assert!(ct.starts_with("application/problem+json") && body.contains("\"sort\""), "{ct} {body}");
        }
        app.cleanup().await;
    }
}

/// Pages of a sorted list (read in two index walks when the key may be
/// empty) join up into the whole list: no session twice or missing across
/// the empty values' boundary, in either direction.
#[tokio::test]
async fn sorted_pages_join_up_across_empty_values() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 40, Utc::now()).await;
        let admin = login(&app, &client, "admin@pages.test", Role::Admin).await;
        // Empty last names, and a last name shared by sessions with and
        // without a first name (the second key's empty values).
        let names = [
            (0, None, None),
            (5, None, Some("First5")),
            (6, None, Some("First6")),
            (10, Some("Shared"), None),
            (11, Some("Shared"), Some("Bea")),
            (12, Some("Shared"), None),
            (13, Some("Shared"), Some("Ann")),
        ];
        for (i, last, first) in names {
            let row = entity::idv_session::Entity::find_by_id(seeded.session_ids[i].clone()).one(&app.state.db).await.unwrap().unwrap();
            let mut am: entity::idv_session::ActiveModel = row.into();
            am.last_name = Set(last.map(str::to_string));
            am.first_name = Set(first.map(str::to_string));
            am.update(&app.state.db).await.unwrap();
        }
        let by_name = ids(&admin.gql(&app, LIST, json!({"s": {"field": "NAME", "direction": "ASC"}})).await);
        let shared: Vec<&String> = by_name.iter().filter(|id| [10, 11, 12, 13].iter().any(|i| **id == seeded.session_ids[*i])).collect();
        let mut empty_first = [&seeded.session_ids[10], &seeded.session_ids[12]];
        empty_first.sort();
        assert_eq!(shared, [&seeded.session_ids[13], &seeded.session_ids[11], empty_first[0], empty_first[1]], "{backend}: empty first names last");
        for filter in [json!({}), json!({"failingCheck": "ofac"}), json!({"searchTerm": "last1"})] {
            for field in ["SCORE", "NAME", "COMPLETED_AT", "STATUS", "CREATED_AT"] {
                for direction in ["ASC", "DESC"] {
                    let sort = json!({"field": field, "direction": direction});
                    let whole = ids(&admin.gql(&app, LIST, json!({"f": filter, "s": sort})).await);
                    for first in [1, 4, 7] {
                        let (pages, totals) = paged(&app, &admin, &filter, &sort, first).await;
                        assert_eq!(pages, whole, "{backend}: {filter} {sort} by {first}");
                        assert!(totals.iter().all(|t| *t == (whole.len() as u64, true)), "{backend}: {totals:?}");
                        // "Previous" from the end: seeks back, the same list.
                        let back = paged_back(&app, &admin, &filter, &sort, first).await;
                        assert_eq!(back, whole, "{backend}: {filter} {sort} back by {first}");
                    }
                }
            }
        }
        // A bare position (the cursors handed out before they carried a sort
        // key) still pages by offset, and so does a cursor of another sort.
        use async_graphql::connection::{CursorType, OpaqueCursor};
        let by_name = json!({"field": "NAME", "direction": "ASC"});
        let whole = ids(&admin.gql(&app, LIST, json!({"s": by_name})).await);
        const AFTER: &str = "query($s: Sort, $a: String) { idvSessions(first: 5, after: $a, sort: $s) {
            pageInfo { hasPreviousPage endCursor } nodes { id } } }";
        let position = OpaqueCursor(6usize).encode_cursor();
        let page = admin.gql(&app, AFTER, json!({"s": by_name, "a": position})).await;
        assert_eq!(ids(&page), whole[7..12].to_vec(), "{backend}: {page}");
        assert_eq!(page["data"]["idvSessions"]["pageInfo"]["hasPreviousPage"], true, "{backend}");
        let keyed = page["data"]["idvSessions"]["pageInfo"]["endCursor"].clone();
        let next = admin.gql(&app, AFTER, json!({"s": by_name, "a": keyed})).await;
        assert_eq!(ids(&next), whole[12..17].to_vec(), "{backend}: {next}");
        let by_score = json!({"field": "SCORE", "direction": "DESC"});
        let score_whole = ids(&admin.gql(&app, LIST, json!({"s": by_score})).await);
        let other_sort = admin.gql(&app, AFTER, json!({"s": by_score, "a": keyed})).await;
        assert_eq!(ids(&other_sort), score_whole[12..17].to_vec(), "{backend}: another sort's cursor is its position");
        let forged = admin.gql(&app, AFTER, json!({"s": by_name, "a": "not-a-cursor"})).await;
        assert!(forged["errors"][0]["message"].as_str().unwrap_or_default().contains("cursor"), "{backend}: {forged}");

        // Scores: the empty ones (sessions in progress) come last both ways.
        let desc = admin.gql(&app, LIST, json!({"s": {"field": "SCORE", "direction": "DESC"}})).await;
        let scores: Vec<Option<f64>> = desc["data"]["idvSessions"]["nodes"].as_array().unwrap().iter().map(|n| n["score"].as_f64()).collect();
        assert_eq!(scores.iter().filter(|s| s.is_none()).count(), 10, "{backend}");
        assert!(scores.iter().skip_while(|s| s.is_some()).all(Option::is_none), "{backend}: {scores:?}");
        let known: Vec<f64> = scores.iter().flatten().copied().collect();
        assert!(known.windows(2).all(|p| p[0] >= p[1]), "{backend}: {scores:?}");
        app.cleanup().await;
    }
}

/// Past 1,000 matching sessions the dashboard stops counting: the total
/// says "at least", the pages still end where the sessions do. The REST
/// list keeps its exact total.
#[tokio::test]
async fn dashboard_totals_are_capped_past_a_thousand() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 1003, Utc::now()).await;
        let admin = login(&app, &client, "admin@capped.test", Role::Admin).await;
        const TOTALS: &str = "query($f: IdvSessionFilter, $a: String) { idvSessions(first: 500, after: $a, filter: $f) {
            totalCount totalCountExact pageInfo { hasNextPage endCursor } nodes { id } } }";
        let first = admin.gql(&app, TOTALS, json!({"f": {}})).await;
        let conn = &first["data"]["idvSessions"];
        assert_eq!((conn["totalCount"].as_u64(), conn["totalCountExact"].as_bool()), (Some(1000), Some(false)), "{backend}: {conn}");
        let (all, totals) = paged(&app, &admin, &json!({}), &json!({"field": "SCORE", "direction": "ASC"}), 500).await;
        assert_eq!(all.len(), 1003, "{backend}");
        assert_eq!(totals.last(), Some(&(1003, false)), "{backend}: the last page knows how many it has seen");
        // A narrower filter is counted exactly.
        let narrow = admin.gql(&app, TOTALS, json!({"f": {"searchTerm": "last100"}})).await;
        let conn = &narrow["data"]["idvSessions"];
        assert_eq!((conn["totalCount"].as_u64(), conn["totalCountExact"].as_bool()), (Some(4), Some(true)), "{backend}: {conn}");
        let (_, _, body) = app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"take": 1})).await;
        assert_eq!(body["meta_counts"]["total"], 1003, "{backend}: {}", body["meta_counts"]);
        assert_eq!(seeded.session_ids.len(), 1003);
        app.cleanup().await;
    }
}

/// A word matching more sessions than a set may hold (`First`, every one
/// of 31,000 sessions) is counted by probing the client's sessions until
/// a thousand and one are found, not by reading its whole range; combined
/// with a narrow word it is still counted exactly, and its pages are the
/// list's.
#[tokio::test]
async fn totals_of_a_word_matching_most_of_a_large_client() {
    use entity::idv_session;
    const PAGE: &str = "query($f: IdvSessionFilter) { idvSessions(first: 25, filter: $f) {
        totalCount totalCountExact pageInfo { hasNextPage } nodes { id } } }";
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 31_000, Utc::now()).await;
        let admin = login(&app, &client, "admin@wide.test", Role::Admin).await;
        let mut all = idv_session::Entity::find().filter(idv_session::Column::ClientId.eq(&client)).all(&app.state.db).await.unwrap();
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let newest = |keep: &dyn Fn(&idv_session::Model) -> bool| all.iter().filter(|s| keep(s)).take(25).map(|s| s.id.clone()).collect::<Vec<_>>();

        let body = admin.gql(&app, PAGE, json!({"f": {"searchTerm": "First"}})).await;
        let conn = &body["data"]["idvSessions"];
        assert_eq!((conn["totalCount"].as_u64(), conn["totalCountExact"].as_bool()), (Some(1000), Some(false)), "{backend}: {conn}");
        assert_eq!(ids(&body), newest(&|_| true), "{backend}");

        let last50 = |s: &idv_session::Model| s.last_name.as_deref().is_some_and(|n| n.to_lowercase().starts_with("last50"));
        let body = admin.gql(&app, PAGE, json!({"f": {"searchTerm": "First Last50"}})).await;
        let conn = &body["data"]["idvSessions"];
        let expected = all.iter().filter(|s| last50(s)).count() as u64;
        assert_eq!(expected, 111, "{backend}");
        assert_eq!((conn["totalCount"].as_u64(), conn["totalCountExact"].as_bool()), (Some(expected), Some(true)), "{backend}: {conn}");
        assert_eq!(ids(&body), newest(&last50), "{backend}");
        app.cleanup().await;
    }
}

/// SQLite keeps planner statistics: every connection samples a bounded
/// number of rows per index, and `PRAGMA optimize` runs at start and on
/// demand (after the start-up fill of the search index, tables are
/// analysed).
#[tokio::test]
async fn sqlite_planner_statistics() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn("sqlite").await;
    let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
    dashboard_seed::seed_sessions(&app.state.db, &app.demo_client_id, &w.id, 30, Utc::now()).await;
    let db = &app.state.db;
    let one = |sql: &'static str| async move {
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    assert_eq!(one("PRAGMA analysis_limit").await, 1000);
    tessera::db::optimize(db).await.unwrap();
    assert!(one("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'idv_session_search'").await > 0, "the search index has statistics");
    assert!(one("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'idv_session'").await > 0, "the sessions have statistics");
    app.cleanup().await;
}

/// PostgreSQL connections start a large table's scan at its beginning
/// (`synchronize_seqscans` off), so a capped count costs the same on every
/// page instead of depending on where another scan of the table was.
#[tokio::test]
async fn postgres_scans_start_at_the_beginning() {
    use sea_orm::ConnectionTrait;
    for backend in backends().await.into_iter().filter(|b| *b == "postgres") {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        for _ in 0..3 {
            // Each statement may take another of the pool's connections.
            let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "SHOW synchronize_seqscans")).await.unwrap().unwrap();
            assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "off");
        }
        app.cleanup().await;
    }
}

/// PostgreSQL keeps statistics of a check's name and status together, so
/// that it knows how many results fail a check (apart, it multiplied the
/// two columns' selectivities and guessed half as many).
#[tokio::test]
async fn postgres_knows_how_many_results_fail_each_check() {
    use sea_orm::ConnectionTrait;
    for backend in backends().await.into_iter().filter(|b| *b == "postgres") {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let w = weights::ensure_platform_default(db).await.unwrap();
        dashboard_seed::seed_sessions(db, &app.demo_client_id, &w.id, 400, Utc::now()).await;
        db.execute_unprepared("ANALYZE check_result").await.unwrap();
        let sql = "SELECT array_to_string(attnames, ',') AS columns, most_common_vals IS NOT NULL AS filled FROM pg_stats_ext \
                   WHERE tablename = 'check_result' AND statistics_name = 'check_result_check_status'";
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().expect("the statistics exist");
        assert_eq!(row.try_get::<String>("", "columns").unwrap(), "check_name,status");
        assert!(row.try_get::<bool>("", "filled").unwrap(), "an analyse fills them");
        app.cleanup().await;
    }
}

const WEIGHTS_FIELDS: &str = "onboardingFaceEncodingTolerance verifiedAccountFaceEncodingTolerance driverLicenseFuzzyMatchTolerance driverLicenseFuzzyMatchWeight stateIdFuzzyMatchTolerance stateIdFuzzyMatchWeight passportFuzzyMatchTolerance passportFuzzyMatchWeight passportCardFuzzyMatchTolerance passportCardFuzzyMatchWeight ofacFuzzyMatchTolerance ofacFuzzyMatchWeight suspiciousWordsWeight imageManipulationWeight onlineDuplicationWeight isIdentityDocumentWeight aamvaMatchTolerance aamvaMatchWeight idvSessionTolerance minimumLivenessTolerance passiveActiveSkipTolerance genderProbabilityTolerance genderWeight expressionTolerance ageTolerance ageWeight directionTolerance";

#[tokio::test]
async fn weights_change_notes_names_and_what_if_explanation() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 24, Utc::now()).await;
        let admin = login(&app, &client, "tuner@weights.test", Role::Admin).await;
        let current = admin.gql(&app, &format!("{{ weightsInForce {{ {WEIGHTS_FIELDS} }} }}"), json!({})).await;
        let mut values = current["data"]["weightsInForce"].clone();
        values["idvSessionTolerance"] = json!(0.97);

        // What-if: every flipped session says which check and which weight did it.
        let what_if = admin
            .gql(
                &app,
                "query($w: WeightsValuesInput!) { whatIfRescore(weights: $w) { changed sessions { sessionId changed
                    changes { field before after } differences { check before after changed } } } }",
                json!({"w": values}),
            )
            .await;
        let r = &what_if["data"]["whatIfRescore"];
        assert!(r["changed"].as_i64().unwrap() > 0, "{backend}: {what_if}");
        for s in r["sessions"].as_array().unwrap().iter().filter(|s| s["changed"] == true) {
            let changes = s["changes"].as_array().unwrap();
            assert!(changes.iter().any(|c| c["field"] == "idv_session_tolerance" && c["after"] == "0.97"), "{s}");
            let score = s["differences"].as_array().unwrap().iter().find(|d| d["check"] == "score").unwrap_or_else(|| panic!("{s}"));
            assert_eq!(score["changed"], json!(["threshold"]), "{s}");
            assert!(score["after"].as_str().unwrap().contains("idv_session_tolerance 0.97"), "{s}");
        }

        // Saving with a note: stored with the version, shown with the author's name.
        let save = "mutation($w: WeightsValuesInput!, $n: String) { updateWeights(weights: $w, changeNote: $n) { id changeNote } }";
        let blank = admin.gql(&app, save, json!({"w": values, "n": "   "})).await;
        assert_eq!(blank["errors"][0]["extensions"]["errors"][0]["field"], "changeNote", "{blank}");
        let saved = admin.gql(&app, save, json!({"w": values, "n": "Fewer false accepts after the March audit"})).await;
        let id = saved["data"]["updateWeights"]["id"].as_str().unwrap_or_else(|| panic!("{saved}")).to_string();
        let history = admin.gql(&app, "{ weightsVersions { id createdBy createdByName changeNote } }", json!({})).await;
        let top = &history["data"]["weightsVersions"][0];
        assert_eq!(top["id"], id, "{history}");
        assert_eq!(top["createdByName"], "tuner@weights.test", "{history}");
        assert_eq!(top["changeNote"], "Fewer false accepts after the March audit", "{history}");
        let platform = history["data"]["weightsVersions"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(platform["createdByName"], "Tessera (initial defaults)", "{history}");
        let audit = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.eq("weights.update"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(audit.detail.unwrap().to_string().contains("March audit"), "the note is in the audit row");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn requirements_preview_shows_the_effect_on_recent_sessions() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 12, Utc::now()).await;
        let admin = login(&app, &client, "req@preview.test", Role::Admin).await;
        let preview = "query($i: RequirementsInput!) { requirementsPreview(input: $i) { sessionsChecked newlyMissing changed
            sessions { sessionId missingInForce missingProposed changed inForce { decision } proposed { decision } } } }";
        // The seeded documents (read from the barcode) have no street: requiring it rejects the verified ones.
        let r = admin
            .gql(&app, preview, json!({"i": {"documentType": "driver_license", "dataSource": "barcode", "streetRequired": true}}))
            .await;
        let p = &r["data"]["requirementsPreview"];
        let finalized = (0..12).filter(|i| i % 4 != 0).count() as i64;
        assert_eq!(p["sessionsChecked"], finalized, "{backend}: {r}");
        assert_eq!(p["newlyMissing"], finalized, "{r}");
        // Verified under the requirements in force (complete, not rejected,
        // no sanctions fail), rejected once the street is required.
        let flipped = (0..12).filter(|i| i % 4 != 0 && i % 3 != 0 && i % 5 != 0).count() as i64;
        assert_eq!(p["changed"], flipped, "{r}");
        for s in p["sessions"].as_array().unwrap() {
            assert_eq!(s["missingProposed"], json!(["street"]), "{s}");
            if s["changed"] == true {
                assert_eq!(s["inForce"]["decision"], "verified");
                assert_eq!(s["proposed"]["decision"], "rejected");
            }
        }
        // Another data source is not affected; nothing was written.
        let r = admin
            .gql(&app, preview, json!({"i": {"documentType": "driver_license", "dataSource": "mrz", "streetRequired": true}}))
            .await;
        assert_eq!(r["data"]["requirementsPreview"]["sessionsChecked"], 0, "{r}");
        let set = tessera::service::requirements::effective(
            &app.state.db,
            &client,
            None,
            tessera::service::types::DocumentType::DriverLicense,
            tessera::service::types::DataSource::Barcode,
        )
        .await
        .unwrap();
        assert!(!set.street_required, "a preview writes nothing");
        let bad = admin.gql(&app, preview, json!({"i": {"documentType": "scroll", "dataSource": "barcode"}})).await;
        assert_eq!(bad["errors"][0]["extensions"]["errors"][0]["field"], "documentType", "{bad}");
        assert!(!seeded.session_ids.is_empty());
        app.cleanup().await;
    }
}

/// The demo client's sessions failing a check, read from the database.
async fn failing_sessions(app: &TestApp, check: &str) -> Vec<entity::idv_session::Model> {
    use entity::{check_result, idv_session};
    let failing: Vec<String> = check_result::Entity::find()
        .filter(check_result::Column::ClientId.eq(&app.demo_client_id))
        .filter(check_result::Column::CheckName.eq(check))
        .filter(check_result::Column::Status.eq("fail"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.session_id)
        .collect();
    idv_session::Entity::find().filter(idv_session::Column::Id.is_in(failing)).all(&app.state.db).await.unwrap()
}

/// The sessions failing a check, as the list sorts them by score: read from
/// the database (each session's own score, empty last, then the id).
async fn failing_by_score(app: &TestApp, check: &str, descending: bool) -> Vec<String> {
    let mut sessions = failing_sessions(app, check).await;
    sessions.sort_by(|a, b| {
        let by_score = match (a.score, b.score) {
            (Some(x), Some(y)) if descending => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => x.is_none().cmp(&y.is_none()),
        };
        by_score.then_with(|| if descending { b.id.cmp(&a.id) } else { a.id.cmp(&b.id) })
    });
    sessions.into_iter().map(|s| s.id).collect()
}

/// A list filtered by a failing check and sorted by score walks the failing
/// results in the order of the session's score kept beside them: a check
/// recorded before the session has a score sorts with the empty scores; the
/// finalize that scores the session moves it to its score, a check recorded
/// later takes the score the session has, and a review's decision (which
/// keeps the score) leaves it there. Pages join up in both directions.
#[tokio::test]
async fn failing_check_lists_sort_by_the_score_kept_beside_the_results() {
    use tessera::service::checks::{self, Outcome};
    use tessera::service::history::SessionKind;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, client) = (app.demo_key.clone(), app.demo_client_id.clone());
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        // Scores 0.9 (verified), 0.3 (rejected) and none (in progress: every 4th).
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 12, Utc::now()).await;
        let admin = login(&app, &client, "admin@failing-sort.test", Role::Admin).await;
        const CHECK: &str = "name_crosscheck";
        let differs = || Outcome::fail(0.8, "printed name differs from the barcode");
        for i in [0, 1, 3, 4, 8] {
            checks::record(&app.state.db, SessionKind::Idv, &client, &seeded.session_ids[i], CHECK, differs()).await.unwrap();
        }

        // A session through the API that fails the check before it is scored.
        let settings = json!({
            "perform_image_manipulation_test": false, "perform_aamva_test": false, "perform_ofac_test": false,
            "perform_age_test": false, "perform_gender_test": false, "perform_liveness_test": false,
        });
        let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&key), &json!({"settings": settings})).await;
        assert_eq!(st, 200, "{v}");
        let sid = v["session_id"].as_str().unwrap().to_string();
        let sdk = |path: &'static str, body: Value| app.http.post(app.url(path)).header("X-Client-Id", &client).json(&body).send();
        assert_eq!(sdk("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await.unwrap().status(), 200);
        for (name, outcome) in [
            ("face_match", Outcome::pass(1.0, "same person")),
            ("doc_back_suspicious_words", Outcome::pass(1.0, "none found")),
            ("doc_back_is_identity_document", Outcome::pass(1.0, "an identity document")),
            (CHECK, differs()),
        ] {
            checks::record(&app.state.db, SessionKind::Idv, &client, &sid, name, outcome).await.unwrap();
        }

        let filter = json!({"failingCheck": CHECK});
        let listed = |direction: &'static str| {
            let (admin, app, filter) = (&admin, &app, &filter);
            async move {
                let sort = json!({"field": "SCORE", "direction": direction});
                let whole = ids(&admin.gql(app, LIST, json!({"f": filter, "s": sort})).await);
                for first in [1, 2, 4] {
                    assert_eq!(paged(app, admin, filter, &sort, first).await.0, whole, "{direction} by {first}");
                }
                whole
            }
        };
        for (direction, descending) in [("DESC", true), ("ASC", false)] {
            let whole = listed(direction).await;
            assert_eq!(whole, failing_by_score(&app, CHECK, descending).await, "{backend}: {direction} before the finalize");
            assert_eq!(whole.len(), 6, "{backend}");
            // Unscored: among the empty scores, after the two scored sessions (1 and 3).
            let at = whole.iter().position(|s| *s == sid).unwrap();
            assert!(at >= 2, "{backend}: {direction}: {whole:?}");
        }

        let resp = sdk("/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await.unwrap();
        assert_eq!(resp.status(), 200);
        let scored = entity::idv_session::Entity::find_by_id(sid.clone()).one(&app.state.db).await.unwrap().unwrap();
        let score = scored.score.expect("finalize scores the session");
        assert!(score > 0.3, "{backend}: all scored checks passed: {score}");
        for (direction, descending) in [("DESC", true), ("ASC", false)] {
            let whole = listed(direction).await;
            assert_eq!(whole, failing_by_score(&app, CHECK, descending).await, "{backend}: {direction} after the finalize");
            if descending && score > 0.9 {
                assert_eq!(whole.first(), Some(&sid), "{backend}: the highest score first: {whole:?}");
            }
        }
        // Every result of the session carries its score now.
        let results = checks::for_session(&app.state.db, &client, &sid).await.unwrap();
        assert!(results.iter().all(|r| r.session_score == Some(score)), "{backend}: {results:?}");

        // A check recorded after the score takes it; so does a result rewritten.
        let late = &seeded.session_ids[5]; // verified, 0.9
        checks::record(&app.state.db, SessionKind::Idv, &client, late, CHECK, differs()).await.unwrap();
        checks::record(&app.state.db, SessionKind::Idv, &client, &seeded.session_ids[0], CHECK, differs()).await.unwrap();
        // The review's decision on the held session keeps its score and its place.
        let (st, _, case) = app.post_json("/api/v1/review/case/read", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{case}");
        let (st, _, done) = app
            .post_json(
                "/api/v1/review/case/decide",
                Some(&key),
                &json!({"case_id": case["case_id"], "action_e": "approve", "reason_code": "ocr_misread"}),
            )
            .await;
        assert_eq!(st, 200, "{done}");
        for (direction, descending) in [("DESC", true), ("ASC", false)] {
            let whole = listed(direction).await;
            assert_eq!(whole, failing_by_score(&app, CHECK, descending).await, "{backend}: {direction} after the review");
            assert!(whole.contains(late), "{backend}");
        }
        app.cleanup().await;
    }
}

/// The sessions failing a check, as the list sorts them by status: read
/// from the database (each session's own status, then the id).
async fn failing_by_status(app: &TestApp, check: &str, descending: bool) -> Vec<String> {
    let mut sessions = failing_sessions(app, check).await;
    sessions.sort_by(|a, b| (&a.status, &a.id).cmp(&(&b.status, &b.id)));
    if descending {
        sessions.reverse();
    }
    sessions.into_iter().map(|s| s.id).collect()
}

/// Every IDV check result of the demo client carries its session's status
/// and score.
async fn assert_copies_current(app: &TestApp, backend: &str) {
    use entity::{check_result, idv_session};
    let sessions: std::collections::HashMap<String, idv_session::Model> = idv_session::Entity::find()
        .filter(idv_session::Column::ClientId.eq(&app.demo_client_id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let results = check_result::Entity::find()
        .filter(check_result::Column::ClientId.eq(&app.demo_client_id))
        .filter(check_result::Column::SessionKind.eq("idv"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(!results.is_empty(), "{backend}");
    for r in results {
        let s = &sessions[&r.session_id];
        assert_eq!(r.session_status.as_deref(), Some(s.status.as_str()), "{backend}: {r:?}");
        assert_eq!(r.session_score, s.score, "{backend}: {r:?}");
    }
}

/// A list filtered by a failing check and sorted by status walks the
/// failing results in the order of the session's status kept beside them.
/// The database copies every change of a session's status or score into
/// its results: one through the service, one written in plain SQL (as the
/// lifecycle sweeps write theirs); a check recorded later takes the
/// status the session has. Pages join up in both directions, and the CSV
/// export follows the same order.
#[tokio::test]
async fn failing_check_lists_sort_by_the_status_kept_beside_the_results() {
    use entity::idv_session;
    use tessera::service::checks::{self, Outcome};
    use tessera::service::history::SessionKind;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        // Every 4th session in progress, the rest complete.
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 16, Utc::now()).await;
        let admin = login(&app, &client, "admin@status-sort.test", Role::Admin).await;
        const CHECK: &str = "name_crosscheck";
        let differs = || Outcome::fail(0.8, "printed name differs from the barcode");
        for i in [0, 1, 3, 4, 8, 9, 12, 13] {
            checks::record(&app.state.db, SessionKind::Idv, &client, &seeded.session_ids[i], CHECK, differs()).await.unwrap();
        }
        let filter = json!({"failingCheck": CHECK});
        let check_order = |stage: &'static str| {
            let (admin, app, filter) = (&admin, &app, &filter);
            async move {
                for (direction, descending) in [("DESC", true), ("ASC", false)] {
                    let sort = json!({"field": "STATUS", "direction": direction});
                    let expected = failing_by_status(app, CHECK, descending).await;
                    for first in [1, 3] {
                        assert_eq!(paged(app, admin, filter, &sort, first).await.0, expected, "{backend}: {stage}: {direction} by {first}");
                    }
                    assert_eq!(paged_back(app, admin, filter, &sort, 2).await, expected, "{backend}: {stage}: {direction} back");
                    let (status, _, csv) = admin.export_sorted(app, filter, Some(&sort)).await;
                    assert_eq!(status, 200, "{backend}: {stage}: {csv}");
                    assert_eq!(csv_ids(&csv), expected, "{backend}: {stage}: {direction} export");
                }
                assert_copies_current(app, backend).await;
            }
        };
        check_order("seeded").await;

        // The service changes a status (and the score with it).
        let mut blocked: idv_session::ActiveModel =
            idv_session::Entity::find_by_id(seeded.session_ids[1].clone()).one(&app.state.db).await.unwrap().unwrap().into();
        blocked.status = Set("temporarily_blocked".into());
        blocked.score = Set(Some(0.55));
        blocked.update(&app.state.db).await.unwrap();
        // A sweep's plain SQL expires one in progress.
        let expire = format!("UPDATE idv_session SET status = 'expired' WHERE id = '{}'", seeded.session_ids[4]);
        sea_orm::ConnectionTrait::execute_unprepared(&app.state.db, &expire).await.unwrap();
        check_order("after the changes").await;

        // A check recorded after the change takes the session's status.
        checks::record(&app.state.db, SessionKind::Idv, &client, &seeded.session_ids[5], CHECK, differs()).await.unwrap();
        checks::record(&app.state.db, SessionKind::Idv, &client, &seeded.session_ids[4], "face_match", differs()).await.unwrap();
        check_order("after a late check").await;
        app.cleanup().await;
    }
}

/// Past a thousand matches a broad word's or a failing check's page lies
/// wherever its matches lie in the order: near the start of the walk of
/// the sort index (found there) or far along it (the walk gives up after a
/// bound and the matches are sorted instead). Both give the list's order,
/// at any offset and by cursor. Of 12,000 sessions `First1` matches 3,111
/// (the names `Last1…`): first by name ascending, only after the 8,889
/// others by name descending.
#[tokio::test]
async fn pages_lie_wherever_the_matches_lie() {
    use async_graphql::connection::{CursorType, OpaqueCursor};
    use entity::idv_session;
    const PAGE: &str = "query($f: IdvSessionFilter, $s: Sort, $a: String) { idvSessions(first: 25, after: $a, filter: $f, sort: $s) {
        pageInfo { hasNextPage startCursor endCursor } nodes { id } } }";
    const BACK: &str = "query($f: IdvSessionFilter, $s: Sort, $b: String) { idvSessions(last: 25, before: $b, filter: $f, sort: $s) {
        pageInfo { hasPreviousPage hasNextPage } nodes { id } } }";
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 12_000, Utc::now()).await;
        let admin = login(&app, &client, "admin@broad.test", Role::Admin).await;
        let all = idv_session::Entity::find().filter(idv_session::Column::ClientId.eq(&client)).all(&app.state.db).await.unwrap();
        let word: Vec<idv_session::Model> =
            all.iter().filter(|s| s.first_name.as_deref().is_some_and(|n| n.to_lowercase().starts_with("first1"))).cloned().collect();
        assert_eq!(word.len(), 3111, "{backend}");
        let failing = failing_sessions(&app, "liveness").await;
        assert_eq!(failing.len(), 3000, "{backend}");
        let cases = [
            (json!({"searchTerm": "First1"}), &word, "NAME", "DESC"),
            (json!({"searchTerm": "First1"}), &word, "NAME", "ASC"),
            (json!({"searchTerm": "First1"}), &word, "CREATED_AT", "ASC"),
            (json!({"searchTerm": "First1"}), &word, "STATUS", "DESC"),
            (json!({"failingCheck": "liveness"}), &failing, "STATUS", "DESC"),
            (json!({"failingCheck": "liveness"}), &failing, "STATUS", "ASC"),
            (json!({"failingCheck": "liveness"}), &failing, "CREATED_AT", "DESC"),
        ];
        for (filter, matching, field, direction) in cases {
            let mut matching = matching.clone();
            matching.sort_by(|a, b| {
                let key = |s: &idv_session::Model| match field {
                    "CREATED_AT" => (s.created_at.format("%Y%m%d%H%M%S%.9f").to_string(), String::new()),
                    "NAME" => (s.last_name.clone().unwrap_or_default(), s.first_name.clone().unwrap_or_default()),
                    _ => (s.status.clone(), String::new()),
                };
                (key(a), &a.id).cmp(&(key(b), &b.id))
            });
            if direction == "DESC" {
                matching.reverse();
            }
            let expected: Vec<String> = matching.iter().map(|s| s.id.clone()).collect();
            let sort = json!({"field": field, "direction": direction});
            for offset in [0usize, 700, expected.len() - 10] {
                // A bare position pages by offset.
                let at = (offset > 0).then(|| OpaqueCursor(offset - 1).encode_cursor());
                let body = admin.gql(&app, PAGE, json!({"f": filter, "s": sort, "a": at})).await;
                let end = (offset + 25).min(expected.len());
                let case = format!("{backend}: {filter} by {field} {direction} at {offset}");
                assert_eq!(ids(&body), expected[offset..end], "{case}");
                let conn = &body["data"]["idvSessions"];
                assert_eq!(conn["pageInfo"]["hasNextPage"].as_bool(), Some(end < expected.len()), "{case}");
                // The next page, after this one's last cursor: a seek.
                if end < expected.len() {
                    let next = admin.gql(&app, PAGE, json!({"f": filter, "s": sort, "a": conn["pageInfo"]["endCursor"]})).await;
                    assert_eq!(ids(&next), expected[end..(end + 25).min(expected.len())], "{case}, next page");
                }
                // The previous page, before this one's first cursor: a seek back.
                if offset > 0 {
                    let back = admin.gql(&app, BACK, json!({"f": filter, "s": sort, "b": conn["pageInfo"]["startCursor"]})).await;
                    assert_eq!(ids(&back), expected[offset.saturating_sub(25)..offset], "{case}, previous page");
                    let info = &back["data"]["idvSessions"]["pageInfo"];
                    assert_eq!((info["hasPreviousPage"].as_bool(), info["hasNextPage"].as_bool()), (Some(offset > 25), Some(true)), "{case}");
                }
            }
        }
        app.cleanup().await;
    }
}

/// "Previous" gives the `last` sessions before the cursor's session
/// wherever it now lies: sessions created since the cursor was handed out
/// move it down the newest-first list, and the page is still full.
#[tokio::test]
async fn previous_page_is_full_after_new_sessions() {
    const FIRST: &str = "query { idvSessions(first: 25) { edges { cursor node { id } } } }";
    const BACK: &str = "query($b: String) { idvSessions(last: 25, before: $b) {
        pageInfo { hasPreviousPage hasNextPage } nodes { id } } }";
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 40, Utc::now() - chrono::Duration::hours(2)).await;
        let admin = login(&app, &client, "admin@previous.test", Role::Admin).await;
        let first = admin.gql(&app, FIRST, json!({})).await;
        let edge = &first["data"]["idvSessions"]["edges"][10];
        let (cursor, row) = (edge["cursor"].clone(), edge["node"]["id"].as_str().unwrap().to_string());
        for _ in 0..20 {
            let new = tessera::service::idv::NewSession {
                metadata: Default::default(),
                liveness_mode: tessera::service::types::LivenessMode::Passive,
                webhook_url: None,
                settings: Default::default(),
            };
            tessera::service::idv::create(&app.state.db, &client, None, new, 24, "test").await.unwrap();
        }
        let whole = ids(&admin.gql(&app, LIST, json!({})).await);
        assert_eq!(whole.iter().position(|id| *id == row), Some(30), "{backend}: the row moved down");
        let back = admin.gql(&app, BACK, json!({"b": cursor})).await;
        assert_eq!(ids(&back), whole[5..30], "{backend}: {back}");
        let info = &back["data"]["idvSessions"]["pageInfo"];
        assert_eq!((info["hasPreviousPage"].as_bool(), info["hasNextPage"].as_bool()), (Some(true), Some(true)), "{backend}");
        app.cleanup().await;
    }
}

/// A count of more than a thousand is found among the first rows of the
/// failing check's results or of a broad word's range, checked against
/// every filter; when the other filters leave fewer, the count is exact.
#[tokio::test]
async fn totals_over_a_thousand_failed_results_or_word_matches_with_and_without_a_narrowing_filter() {
    use entity::idv_session;
    const PAGE: &str = "query($f: IdvSessionFilter) { idvSessions(first: 25, filter: $f) {
        totalCount totalCountExact nodes { id } } }";
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        // 6,000 sessions: 1,200 fail `ofac` (every 5th), 4,500 complete (all but every 4th).
        dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 6_000, Utc::now()).await;
        let admin = login(&app, &client, "admin@drive.test", Role::Admin).await;
        let sessions = idv_session::Entity::find().filter(idv_session::Column::ClientId.eq(&client)).all(&app.state.db).await.unwrap();
        let failed: std::collections::HashSet<String> = failing_sessions(&app, "ofac").await.into_iter().map(|s| s.id).collect();
        assert_eq!(failed.len(), 1200, "{backend}");
        let complete = |s: &idv_session::Model| s.status == "complete";
        let total = |f: Value| {
            let (admin, app) = (&admin, &app);
            async move {
                let body = admin.gql(app, PAGE, json!({ "f": f })).await;
                let conn = &body["data"]["idvSessions"];
                (conn["totalCount"].as_u64().unwrap_or_else(|| panic!("{body}")), conn["totalCountExact"].as_bool().unwrap())
            }
        };

        assert_eq!(total(json!({"failingCheck": "ofac"})).await, (1000, false), "{backend}");
        let expected = sessions.iter().filter(|s| failed.contains(&s.id) && complete(s)).count() as u64;
        assert_eq!(expected, 900, "{backend}");
        assert_eq!(total(json!({"failingCheck": "ofac", "status": "COMPLETE"})).await, (expected, true), "{backend}");

        assert_eq!(total(json!({"searchTerm": "First"})).await, (1000, false), "{backend}");
        assert_eq!(total(json!({"searchTerm": "First", "status": "COMPLETE"})).await, (1000, false), "{backend}");
        assert_eq!(
            total(json!({"searchTerm": "First", "failingCheck": "ofac", "status": "COMPLETE"})).await,
            (expected, true),
            "{backend}"
        );
        let last1 = |s: &idv_session::Model| s.last_name.as_deref().is_some_and(|n| n.to_lowercase().starts_with("last1"));
        let expected = sessions.iter().filter(|s| last1(s) && complete(s)).count() as u64;
        assert!(expected > 0 && expected < 1000, "{backend}: {expected}");
        assert_eq!(total(json!({"searchTerm": "Last1", "status": "COMPLETE"})).await, (expected, true), "{backend}");
        app.cleanup().await;
    }
}

/// The sessions in a list's order by `field` (`CREATED_AT`, `SCORE`,
/// `STATUS`, `DOCUMENT_TYPE`, `NAME`): the key, empty values last in either
/// direction, then the id.
fn list_order(sessions: &[entity::idv_session::Model], field: &str, descending: bool) -> Vec<String> {
    use std::cmp::Ordering;
    type Keys = (Option<String>, Option<String>);
    let keys = |s: &entity::idv_session::Model| -> Keys {
        match field {
            "CREATED_AT" => (Some(s.created_at.format("%Y%m%d%H%M%S%.9f").to_string()), None),
            // Scores of 0..1 compare as their fixed-width digits.
            "SCORE" => (s.score.map(|v| format!("{v:.9}")), None),
            "STATUS" => (Some(s.status.clone()), None),
            "DOCUMENT_TYPE" => (Some(s.document_type.clone()), None),
            _ => (s.last_name.clone(), s.first_name.clone()),
        }
    };
    let along = |o: Ordering| if descending { o.reverse() } else { o };
    let key = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => along(a.cmp(b)),
        (a, b) => a.is_none().cmp(&b.is_none()),
    };
    let mut sorted = sessions.to_vec();
    sorted.sort_by(|a, b| {
        let (ka, kb) = (keys(a), keys(b));
        key(&ka.0, &kb.0).then_with(|| key(&ka.1, &kb.1)).then_with(|| along(a.id.cmp(&b.id)))
    });
    sorted.into_iter().map(|s| s.id).collect()
}

/// A broad word's pages are read from its search rows, which carry copies
/// of each session's sort keys: the database keeps the copies current
/// through every change of the session (by the service, in plain SQL), a
/// session matching the word with many of its values is listed once, and
/// a word wider than a set whose matches lie beyond the first, short walk
/// of the order is paged in the list's order in every sort, both ways.
#[tokio::test]
async fn broad_words_are_paged_from_the_sort_keys_beside_their_search_rows() {
    use entity::{idv_session, idv_session_search};
    use sea_orm::ConnectionTrait;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let w = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let seeded = dashboard_seed::seed_sessions(&app.state.db, &client, &w.id, 2400, Utc::now()).await;
        let admin = login(&app, &client, "admin@keyed.test", Role::Admin).await;
        // The 1,100 oldest sessions carry 28 values starting with `zq`
        // each: 30,800 search rows, more than a set holds, and every
        // match after the 1,300 newest sessions.
        let oldest = &seeded.session_ids[1300..];
        for (n, sid) in oldest.iter().enumerate() {
            let values: serde_json::Map<String, Value> = (0..28).map(|k| (format!("k{k}"), json!(format!("zq{n}x{k}")))).collect();
            let sql = format!("UPDATE idv_session SET sdk_metadata = '{}' WHERE id = '{sid}'", Value::Object(values));
            app.state.db.execute_unprepared(&sql).await.unwrap();
        }
        for batch in oldest.chunks(200) {
            tessera::service::session_search::refresh(&app.state.db, batch).await.unwrap();
        }
        // Keys changed after indexing: by the service, and in plain SQL.
        let mut changed: idv_session::ActiveModel =
            idv_session::Entity::find_by_id(oldest[7].clone()).one(&app.state.db).await.unwrap().unwrap().into();
        changed.score = Set(Some(0.61));
        changed.status = Set("temporarily_blocked".into());
        changed.last_name = Set(Some("Aaronson".into()));
        changed.update(&app.state.db).await.unwrap();
        for sql in [
            format!("UPDATE idv_session SET status = 'expired', score = NULL WHERE id = '{}'", oldest[9]),
            format!("UPDATE idv_session SET document_type = 'passport', last_name = NULL WHERE id = '{}'", oldest[11]),
        ] {
            app.state.db.execute_unprepared(&sql).await.unwrap();
        }

        let sessions: std::collections::HashMap<String, idv_session::Model> =
            idv_session::Entity::find().filter(idv_session::Column::ClientId.eq(&client)).all(&app.state.db).await.unwrap().into_iter().map(|s| (s.id.clone(), s)).collect();
        let rows = idv_session_search::Entity::find().filter(idv_session_search::Column::ClientId.eq(&client)).all(&app.state.db).await.unwrap();
        assert!(rows.len() > 30_800, "{backend}: {}", rows.len());
        for r in &rows {
            let s = &sessions[&r.session_id];
            let copies = (r.session_created_at, r.session_score, r.session_status.as_deref(), r.session_document_type.as_deref());
            assert_eq!(copies, (Some(s.created_at), s.score, Some(s.status.as_str()), Some(s.document_type.as_str())), "{backend}: {r:?}");
            assert_eq!((&r.session_last_name, &r.session_first_name), (&s.last_name, &s.first_name), "{backend}: {r:?}");
        }

        // With planner statistics, PostgreSQL bounds the sort too (as
        // SQLite always does).
        if app.state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            app.state.db.execute_unprepared("ANALYZE idv_session_search").await.unwrap();
        }
        let matching: Vec<idv_session::Model> = oldest.iter().map(|id| sessions[id].clone()).collect();
        let filter = json!({"searchTerm": "ZQ"});
        for (field, direction) in
            [("CREATED_AT", "DESC"), ("CREATED_AT", "ASC"), ("SCORE", "DESC"), ("SCORE", "ASC"), ("NAME", "DESC"), ("NAME", "ASC"), ("STATUS", "DESC"), ("DOCUMENT_TYPE", "ASC")]
        {
            let expected = list_order(&matching, field, direction == "DESC");
            let sort = json!({"field": field, "direction": direction});
            let (all, totals) = paged(&app, &admin, &filter, &sort, 200).await;
            assert_eq!(all, expected, "{backend}: by {field} {direction}");
            assert_eq!(totals[0], (1000, false), "{backend}");
            if field == "SCORE" || field == "NAME" {
                assert_eq!(paged_back(&app, &admin, &filter, &sort, 150).await, expected, "{backend}: by {field} {direction}, back");
            }
        }
        // A word of more than 2,000 rows but fewer sessions (28 rows each)
        // is counted exactly.
        const TOTAL: &str = "query($f: IdvSessionFilter) { idvSessions(first: 25, filter: $f) { totalCount totalCountExact } }";
        let body = admin.gql(&app, TOTAL, json!({"f": {"searchTerm": "zq1"}})).await;
        let expected = (0..oldest.len()).filter(|n| n.to_string().starts_with('1')).count() as u64;
        assert_eq!(expected, 211);
        let conn = &body["data"]["idvSessions"];
        assert_eq!((conn["totalCount"].as_u64(), conn["totalCountExact"].as_bool()), (Some(expected), Some(true)), "{backend}: {conn}");
        // By offset (a bare position), into the sessions without a score.
        use async_graphql::connection::{CursorType, OpaqueCursor};
        const PAGE: &str = "query($f: IdvSessionFilter, $s: Sort, $a: String) { idvSessions(first: 25, after: $a, filter: $f, sort: $s) { nodes { id } } }";
        let expected = list_order(&matching, "SCORE", true);
        for offset in [300usize, 1090] {
            let at = OpaqueCursor(offset - 1).encode_cursor();
            let body = admin.gql(&app, PAGE, json!({"f": filter, "s": {"field": "SCORE", "direction": "DESC"}, "a": at})).await;
            assert_eq!(ids(&body), expected[offset..(offset + 25).min(expected.len())], "{backend}: at {offset}");
        }
        app.cleanup().await;
    }
}
