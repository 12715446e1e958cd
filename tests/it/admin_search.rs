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
        let resp = self
            .http
            .get(app.url("/graphql/export/idv-sessions.csv"))
            .query(&[("filter", filter.to_string())])
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
        for term in ["anh johnson", "D0000012", "first1", "nobody"] {
            let cond = tessera::service::session_search::condition(&[client.clone()], term).unwrap();
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
            assert_eq!(by_subquery, listed, "{backend}: {term}");
        }

        // Another client's sessions are never found, whatever the term.
        let other = tenancy::create_client(&app.state.db, "Other client", false).await.unwrap();
        dashboard_seed::seed_sessions(&app.state.db, &other.id, &w.id, 15, Utc::now()).await;
        // (The other client's session 3 carries the same document number.)
        assert_eq!(found(&app, &admin, json!({"searchTerm": "D0000003"})).await, vec![seeded.session_ids[3].clone()], "{backend}");

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
