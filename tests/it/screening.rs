//! Screening beyond OFAC: the UN, EU, UK and OpenSanctions files imported
//! as versioned lists (service and CLI), explained matches in the `ofac`
//! and `pep` checks, `screening/search` with a client's lists, allow-list
//! and rate limit, and re-screening that raises `identity.pep_hit`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tessera::engine::ScreeningSubject;
use tessera::service::{sanctions, tenancy};

use crate::common::{TestApp, assert_problem, backends};
use crate::sanctions_dmv::{Licence, check_row, finalize_with, ops_webhook, read_session, screening_app, verified_identity};

const UN_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-11-30T00:00:00.000Z"><INDIVIDUALS>
<INDIVIDUAL><DATAID>6908555</DATAID><FIRST_NAME>OMAR</FIRST_NAME><SECOND_NAME>HADDAD</SECOND_NAME>
<UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE><REFERENCE_NUMBER>QDi.900</REFERENCE_NUMBER><LISTED_ON>2003-01-01</LISTED_ON><GENDER>Male</GENDER>
<NATIONALITY><VALUE>Syrian Arab Republic</VALUE></NATIONALITY>
<INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Umar al-Haddad</ALIAS_NAME></INDIVIDUAL_ALIAS>
<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1970-03-04</DATE></INDIVIDUAL_DATE_OF_BIRTH>
</INDIVIDUAL></INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>"#;

const EU_XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<export generationDate="2026-11-30T18:00:00.000+01:00" xmlns="http://eu.europa.ec/fpi/fsd/export">
<sanctionEntity euReferenceNumber="EU.2755.2" logicalId="13">
<regulation regulationType="regulation" publicationDate="2022-02-25" entryIntoForceDate="2022-02-25" programme="RUS">
<publicationUrl>https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=OJ:L:2022:053I:FULL</publicationUrl></regulation>
<subjectType code="person" classificationCode="P"/>
<nameAlias firstName="Vladimir" lastName="Putin" wholeName="Vladimir Vladimirovich Putin" gender="M" strong="true"/>
<nameAlias wholeName="Wladimir Poutine" strong="false"/>
<citizenship countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION"/>
<birthdate circa="false" birthdate="1952-10-07" year="1952" countryIso2Code="RU"/>
</sanctionEntity></export>"#;

const UK_CSV: &str = "Report Date: 30-Nov-2026\n\
Last Updated,Unique ID,OFSI Group ID,Name 6,Name 1,Name 2,Name type,Regime Name,Designation Type,Date Designated,D.O.B,Nationality(/ies),Gender\n\
30/11/2026,RUS0001,14069,PUTIN,Vladimir,Vladimirovich,Primary Name,Russia,Individual,26/02/2022,07/10/1952,Russia,Male\n\
30/11/2026,CYB0010,15000,\"GRU, UNIT 26165\",,,Primary Name,Cyber,Entity,04/10/2018,,,\n";

const OS_CSV: &str = "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,program_ids,dataset,first_seen,last_seen,last_change\n\
Q1234,Person,Olaf Scholz,,1958-06-14,de,,,,,,,Every Politician;Wikidata Politically Exposed Persons,2021-12-08T00:00:00,2026-11-30T00:00:00,2025-05-06T00:00:00\n\
NK-1,Organization,Sovcomflot,,,ru,,,EU Council - RUS,,,,EU Financial Sanctions Files (FSF),2022-02-25T00:00:00,2026-11-30T00:00:00,2022-02-25T00:00:00\n";

const FTM_JSON: &str = r#"{"id": "Q567", "schema": "Person", "target": true, "datasets": ["wd_peps"], "properties": {"name": ["Emmanuel Macron"], "birthDate": ["1977-12-21"], "nationality": ["fr"], "topics": ["role.pep"]}}
"#;

fn write(dir: &std::path::Path, files: &[(&str, &str)]) {
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
}

async fn import_dir(app: &TestApp, dir: &std::path::Path) -> Vec<sanctions::ImportOutcome> {
    let mut out = Vec::new();
    for upload in sanctions::read_path(dir).unwrap() {
        out.push(sanctions::import_upload(&app.state.db, &upload, |_, _| {}).await.unwrap());
    }
    out
}

fn subject(first: &str, last: &str) -> ScreeningSubject {
    ScreeningSubject { first_name: Some(first.into()), last_name: Some(last.into()), ..Default::default() }
}

#[tokio::test]
async fn each_official_format_imports_as_its_own_versioned_list() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, |c| c.sanctions_watch_secs = 0).await;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("consolidated.xml", UN_XML), ("eu.xml", EU_XML), ("UK-Sanctions-List.csv", UK_CSV), ("targets.simple.csv", OS_CSV), ("README.txt", "not a list")]);
        let first = import_dir(&app, dir.path()).await;
        let keys: Vec<&str> = first.iter().map(|o| o.list.source.as_str()).collect();
        assert_eq!(keys.len(), 4, "{backend}: {keys:?}");
        for key in ["un", "eu", "uk", "opensanctions"] {
            let o = first.iter().find(|o| o.list.source == key).unwrap_or_else(|| panic!("{key} imported"));
            assert!(o.new_version && o.list.version.starts_with(&format!("{key}-")), "{backend}: {:?}", o.list);
        }
        assert_eq!(first.iter().map(|o| o.entries).sum::<usize>(), 1 + 1 + 2 + 2);
        assert!(import_dir(&app, dir.path()).await.iter().all(|o| !o.new_version), "{backend}: same files, same versions");

        // A new UN publication is a new version of that list only; the old one is kept.
        write(dir.path(), &[("consolidated.xml", &UN_XML.replace("QDi.900", "QDi.901"))]);
        let un = sanctions::import_upload(&app.state.db, &sanctions::read_path(&dir.path().join("consolidated.xml")).unwrap()[0], |_, _| {})
            .await
            .unwrap();
        assert!(un.new_version, "{backend}");
        let lists = entity::sanctions_list::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(lists.iter().filter(|l| l.source == "un").count(), 2, "{backend}: versions are kept");
        let current: Vec<&str> = lists.iter().filter(|l| l.is_current).map(|l| l.source.as_str()).collect();
        assert_eq!(current.len(), 4, "{backend}: one current version per list: {current:?}");

        let index = sanctions::load_current(&app.state.db).await.unwrap().expect("loaded");
        assert!(index.version().contains(&un.list.version) && index.version().split('+').count() == 4, "{}", index.version());
        let hit = |first: &str, last: &str| index.screen(&subject(first, last)).into_iter().next().map(|h| (h.list, h.entry_id));
        assert_eq!(hit("Umar", "Haddad"), Some(("UN Security Council".into(), "6908555".into())), "{backend}");
        let putin: Vec<String> = index.screen(&subject("Wladimir", "Poutine")).into_iter().map(|h| h.list).collect();
        assert!(putin.contains(&"EU Financial Sanctions".to_string()) && putin.contains(&"UK Sanctions List".to_string()), "{putin:?}");
        let pep = index.screen(&subject("Olaf", "Scholz"));
        assert!(pep[0].is_pep() && pep[0].explanation.entry.list_key == "opensanctions", "{backend}");

        assert!(sanctions::read_path(&dir.path().join("README.txt")).is_err(), "an unknown single file is an error");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn cli_detects_the_format_of_a_file_or_a_directory() {
    let data = tempfile::tempdir().unwrap();
    let lists = tempfile::tempdir().unwrap();
    write(lists.path(), &[("eu.xml", EU_XML), ("entities.ftm.json", FTM_JSON)]);
    let run = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["sanctions", "import"])
            .arg(path)
            .env("TESSERA_DATA_DIR", data.path())
            .env_remove("TESSERA_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run(lists.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("eu list imported") && stdout.contains("version: eu-"), "{stdout}");
    assert!(stdout.contains("opensanctions list imported") && stdout.contains("entries: 1"), "{stdout}");
    let single = lists.path().join("un.xml");
    std::fs::write(&single, UN_XML).unwrap();
    let out = run(&single);
    assert!(String::from_utf8_lossy(&out.stdout).contains("un list imported"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&lists.path().join("eu.xml"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("already imported"));
    let bad = lists.path().join("bad.xml");
    std::fs::write(&bad, "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL>").unwrap();
    let out = run(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("UN Security Council"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// An app whose screener holds every test list (OFAC not among them).
async fn loaded_app(backend: &'static str, per_minute: u32) -> TestApp {
    let app = TestApp::spawn_with(backend, |c| {
        c.sanctions_watch_secs = 0;
        c.screening_search_per_minute = per_minute;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("un.xml", UN_XML), ("eu.xml", EU_XML), ("uk.csv", UK_CSV), ("targets.simple.csv", OS_CSV)]);
    import_dir(&app, dir.path()).await;
    sanctions::sync_loaded(&app.state).await.unwrap().expect("loaded");
    app
}

#[tokio::test]
async fn search_explains_matches_and_follows_the_clients_lists_and_allowlist() {
    for backend in backends().await {
        let app = loaded_app(backend, 1000).await;
        let key = Some(app.demo_key.as_str());
        let search = async |body: serde_json::Value| app.post_json("/api/v1/screening/search", key, &body).await;

        let (st, _, r) = search(json!({"name": "Wladimir Poutine", "birth_date": "1952-10-07", "country": "RUS", "gender": "male"})).await;
        assert_eq!(st, 200, "{r}");
        assert_eq!((r["sanctions_hit"].as_bool(), r["pep_hit"].as_bool()), (Some(true), Some(false)), "{r}");
        let eu = r["matches"].as_array().unwrap().iter().find(|m| m["list_key"] == "eu").expect("EU match").clone();
        assert_eq!(eu["entry_id"], "13");
        assert_eq!(eu["matched_name"], "Wladimir Poutine");
        assert_eq!(eu["features"]["birth_date"]["score"], 1.0, "{eu}");
        assert_eq!(eu["features"]["country"]["score"], 1.0);
        assert_eq!(eu["features"]["gender"]["score"], 1.0);
        assert!(eu["features"]["name_tokens"].as_array().unwrap().len() >= 2);
        assert_eq!(eu["entry"]["programs"], json!(["RUS"]));
        assert_eq!(eu["entry"]["listed_on"], "2022-02-25");
        assert!(eu["entry"]["source_url"].as_str().unwrap().starts_with("https://eur-lex.europa.eu/"));
        assert_eq!(eu["entry"]["names"][0], "Vladimir Vladimirovich Putin");
        assert!(r["lists_version"].as_str().unwrap().contains("eu-"));

        // A politically exposed person is not a sanctions hit.
        let (_, _, r) = search(json!({"first_name": "Olaf", "last_name": "Scholz"})).await;
        assert_eq!((r["sanctions_hit"].as_bool(), r["pep_hit"].as_bool()), (Some(false), Some(true)), "{r}");
        assert_eq!(r["peps"][0]["category"], "pep");
        // Organisations: legal forms do not count.
        let (_, _, r) = search(json!({"name": "Sovcomflot PJSC", "kind": "entity"})).await;
        assert_eq!(r["matches"][0]["entry_id"], "NK-1", "{r}");

        // The client's lists apply to every screening; one search may narrow them.
        let (st, _, s) = app.post_json("/api/v1/screening/settings/update", key, &json!({"lists": ["un", "peps"]})).await;
        assert_eq!((st, s["lists"].clone()), (200, json!(["un", "peps"])), "{s}");
        assert_eq!(s["loaded"].as_array().unwrap().len(), 4);
        let (_, _, r) = search(json!({"name": "Vladimir Putin"})).await;
        assert!(r["matches"].as_array().unwrap().is_empty() && r["lists"] == json!(["un", "peps"]), "{r}");
        let (_, _, r) = search(json!({"name": "Vladimir Putin", "lists": ["uk"]})).await;
        assert_eq!(r["matches"][0]["list_key"], "uk", "{r}");
        assert_eq!(app.post_json("/api/v1/screening/settings/update", key, &json!({"lists": null})).await.0, 200);

        // Bad input names the field.
        for (body, field) in [
            (json!({"name": " "}), "name"),
            (json!({"name": "x", "birth_date": "1952-13-01"}), "birth_date"),
            (json!({"name": "x", "lists": ["ofac", "interpol"]}), "lists[1]"),
            (json!({"name": "x", "threshold": 2}), "threshold"),
            (json!({"name": "x", "kind": "ship"}), "kind"),
        ] {
            let (st, ct, p) = search(body).await;
            assert_problem(st, &ct, &p, 400);
            assert_eq!(p["errors"][0]["field"], field, "{p}");
        }
        assert_eq!(app.post_json("/api/v1/screening/search", None, &json!({"name": "x"})).await.0, 401);

        // A cleared false positive is left out (and said so), audited, and can be removed.
        let (st, _, a) = app
            .post_json(
                "/api/v1/screening/allowlist/create",
                key,
                &json!({"name": "Vladimir Putin", "list": "eu", "entry_id": "13", "reason": "another person, checked by phone"}),
            )
            .await;
        assert_eq!(st, 200, "{a}");
        let (_, _, r) = search(json!({"first_name": "vladimir", "last_name": "PUTIN"})).await;
        assert!(r["matches"].as_array().unwrap().iter().all(|m| m["list_key"] != "eu"), "{r}");
        assert_eq!(r["cleared"][0]["allowlist_id"], a["id"], "{r}");
        let audited = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.eq("screening.allowlist_added"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(audited.len(), 1, "{backend}");
        let (_, _, l) = app.post_json("/api/v1/screening/allowlist/list", key, &json!({})).await;
        assert_eq!((l["meta_counts"]["total"].as_u64(), l["entries"][0]["reason"].as_str()), (Some(1), Some("another person, checked by phone")));
        let (st, ct, p) = app.post_json("/api/v1/screening/allowlist/create", key, &json!({"name": "x", "list": "eu", "entry_id": "13", "reason": ""})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "reason");

        let other = tenancy::create_client(&app.state.db, "Other", false).await.unwrap();
        let other_key = tenancy::create_api_key(&app.state.db, &other.id, None, None).await.unwrap().plaintext;
        let (st, _, _) = app.post_json("/api/v1/screening/allowlist/delete", Some(&other_key), &json!({"id": a["id"]})).await;
        assert_eq!(st, 404, "{backend}: another tenant's entry is unknown");
        let (_, _, l) = app.post_json("/api/v1/screening/allowlist/list", Some(&other_key), &json!({})).await;
        assert_eq!(l["meta_counts"]["total"], 0);
        let (_, _, r) = app.post_json("/api/v1/screening/search", Some(&other_key), &json!({"name": "Vladimir Putin"})).await;
        assert!(r["matches"].as_array().unwrap().iter().any(|m| m["list_key"] == "eu"), "{backend}: the allow-list is the client's own");
        assert_eq!(app.post_json("/api/v1/screening/allowlist/delete", key, &json!({"id": a["id"]})).await.0, 200);
        let (_, _, r) = search(json!({"name": "Vladimir Putin"})).await;
        assert!(r["matches"].as_array().unwrap().iter().any(|m| m["list_key"] == "eu"), "{r}");
        // Another birth date is another subject: the cleared entry applies to this one only.
        app.cleanup().await;
    }
}

#[tokio::test]
async fn search_is_rate_limited_per_client() {
    for backend in backends().await {
        let app = loaded_app(backend, 3).await;
        for _ in 0..3 {
            assert_eq!(app.post_json("/api/v1/screening/search", Some(&app.demo_key), &json!({"name": "Olaf Scholz"})).await.0, 200);
        }
        let resp = app.http.post(app.url("/api/v1/screening/search")).bearer_auth(&app.demo_key).json(&json!({"name": "Olaf Scholz"})).send().await.unwrap();
        assert!(resp.headers().get("retry-after").is_some(), "{backend}");
        let (st, ct, p) = crate::common::read(resp).await;
        assert_problem(st, &ct, &p, 429);
        app.cleanup().await;
    }
}

/// The limit holds across processes: this test's server and a second
/// `tessera serve` process on the same database (SQLite file, PostgreSQL)
/// count a client's searches together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_rate_limit_is_shared_by_processes_on_one_database() {
    use crate::scale_out::cluster::{Instance, Shared};
    for backend in backends().await {
        let app = loaded_app(backend, 4).await;
        let env = vec![
            ("TESSERA_DATABASE_URL".to_string(), app.state.config.database_url()),
            ("TESSERA_SCREENING_SEARCH_PER_MINUTE".to_string(), "4".to_string()),
            ("TESSERA_SANCTIONS_REFRESH_HOURS".to_string(), "0".to_string()),
        ];
        let other = Instance::start(&Shared { bin: env!("CARGO_BIN_EXE_tessera").into(), env }, &[]).await;
        let search = async |base: &str| {
            let resp = app.http.post(format!("{base}/api/v1/screening/search")).bearer_auth(&app.demo_key).json(&json!({"name": "Olaf Scholz"})).send().await.unwrap();
            let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            let (st, ct, body) = crate::common::read(resp).await;
            (st, ct, body, retry_after)
        };
        // Two searches on each process: four, the limit.
        for base in [&app.base, &other.base, &app.base, &other.base] {
            let (st, _, body, _) = search(base).await;
            assert_eq!(st, 200, "{backend} {base}: {body}");
            assert_eq!(body["peps"][0]["entry"]["names"][0], "Olaf Scholz", "{backend}: the second process screens against the stored list: {body}");
        }
        // The fifth is refused on either process.
        for base in [&other.base, &app.base] {
            let (st, ct, body, retry_after) = search(base).await;
            assert_problem(st, &ct, &body, 429);
            let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
            assert!((1..=60).contains(&secs), "{backend}: {secs}");
        }
        drop(other);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn rescreening_raises_pep_and_sanctions_hits_once_each() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, |c| c.sanctions_watch_secs = 0).await;
        let scholz = verified_identity(&app, "Olaf", "Scholz", Some("1958-06-14")).await;
        let haddad = verified_identity(&app, "Umar", "Haddad", Some("1970-03-04")).await;
        let webhook = ops_webhook(&app).await;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("un.xml", UN_XML), ("targets.simple.csv", OS_CSV)]);
        import_dir(&app, dir.path()).await;
        sanctions::sync_loaded(&app.state).await.unwrap();
        assert_eq!(sanctions::rescreen_verified(&app.state).await.unwrap(), (2, 1, 1), "{backend}");

        let identity = |id: String| {
            let db = app.state.db.clone();
            async move { entity::identity::Entity::find_by_id(id).one(&db).await.unwrap().unwrap() }
        };
        let pep = identity(scholz.clone()).await;
        assert!(pep.verified && pep.ofac_status == "clear", "{backend}: a PEP stays verified");
        let listed = identity(haddad.clone()).await;
        assert!(!listed.verified && listed.ofac_status == "hit", "{backend}");
        let hits = entity::screening_hit::Entity::find().all(&app.state.db).await.unwrap();
        let of = |id: &str| hits.iter().find(|h| h.identity_id == id).unwrap_or_else(|| panic!("hit of {id}"));
        assert_eq!((of(&scholz).category.as_str(), of(&scholz).list_key.as_str(), of(&scholz).status.as_str()), ("pep", "opensanctions", "open"));
        assert_eq!((of(&haddad).category.as_str(), of(&haddad).entry_id.as_str()), ("sanction", "6908555"));
        assert_eq!(of(&haddad).explanation["entry"]["programs"], json!(["Al-Qaida"]));
        let events: Vec<(String, String)> = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::WebhookId.eq(&webhook))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.event_type, d.payload))
            .collect();
        assert!(events.iter().any(|(t, p)| t == "identity.pep_hit" && p.contains(&scholz)), "{events:?}");
        assert!(events.iter().any(|(t, p)| t == "identity.sanctions_hit" && p.contains(&haddad)), "{events:?}");
        let audit = entity::audit_log::Entity::find().filter(entity::audit_log::Column::Action.eq("identity.pep_hit")).all(&app.state.db).await.unwrap();
        assert_eq!(audit.len(), 1);

        // The next version: nothing new to say.
        assert_eq!(sanctions::rescreen_verified(&app.state).await.unwrap(), (1, 0, 0), "{backend}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn finalize_explains_the_ofac_check_and_sends_a_pep_to_review() {
    for backend in backends().await {
        let app = screening_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("targets.simple.csv", OS_CSV)]);
        import_dir(&app, dir.path()).await;
        sanctions::sync_loaded(&app.state).await.unwrap().expect("new version loaded");

        let poutine = Licence { number: "D1111111", first: "Wladimir", last: "Poutine", birth: "1952-10-07" };
        let (sid, _) = finalize_with(&app, &poutine).await;
        let evidence = check_row(&app, &sid, "ofac").await.evidence.unwrap();
        let best = &evidence["best"];
        assert_eq!((best["entry_id"].as_str(), best["list"].as_str()), (Some("10"), Some("OFAC SDN")), "{backend}: {evidence}");
        assert_eq!(best["features"]["birth_date"]["score"], 1.0, "{evidence}");
        assert_eq!(best["entry"]["programs"], json!(["RUSSIA-EO14024"]));
        assert!(best["entry"]["source_url"].as_str().unwrap().contains("ofac.treas.gov"));
        assert!(evidence["matches"].as_array().unwrap().len() >= 1 && evidence["threshold"].is_number());
        assert_eq!(check_row(&app, &sid, "pep").await.status, "pass", "{backend}: PEP data loaded: the pep check ran");

        let scholz = Licence { number: "D3333333", first: "Olaf", last: "Scholz", birth: "1958-06-14" };
        let (sid, f) = finalize_with(&app, &scholz).await;
        assert_eq!(f, json!({"verified": false, "on_sanction_list": false}), "{backend}");
        let pep = check_row(&app, &sid, "pep").await;
        assert_eq!(pep.status, "fail");
        assert_eq!(pep.evidence.as_ref().unwrap()["best"]["category"], "pep");
        assert_eq!(check_row(&app, &sid, "ofac").await.status, "pass", "{backend}: a PEP is no sanctions hit");
        let s = read_session(&app, &sid).await;
        assert_eq!(s["ofac_status_e"], "clear");
        assert!(s["reasons"].as_array().unwrap().iter().any(|r| r["check"] == "pep" && r["code"] == "pep_hit"), "{s}");
        // GraphQL shows the same explanation.
        let query = json!({"query": format!(r#"{{ idvSession(id: "{sid}") {{ checks {{ checkName status evidence }} }} }}"#)});
        let (st, _, g) = app.post_json("/graphql", Some(&app.demo_key), &query).await;
        assert_eq!(st, 200, "{g}");
        let checks = g["data"]["idvSession"]["checks"].as_array().unwrap_or_else(|| panic!("{g}"));
        let pep = checks.iter().find(|c| c["checkName"] == "pep").expect("pep check in GraphQL");
        assert_eq!(pep["evidence"]["best"]["entry"]["list_key"], "opensanctions", "{pep}");
        assert!(pep["evidence"]["best"]["features"]["name_tokens"].is_array());
        app.cleanup().await;
    }
}
