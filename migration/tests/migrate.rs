//! Migrations run up → down → up on SQLite (always) and PostgreSQL (when
//! `TESSERA_TEST_POSTGRES_URL` is set), and every entity can be selected from
//! the resulting schema, which catches entity/migration column mismatches.

use entity::prelude::*;
use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, Set,
};

async fn select_every_entity(db: &DatabaseConnection) {
    Client::find()
        .all(db)
        .await
        .map_err(|e| format!("select client: {e}"))
        .unwrap();
    User::find()
        .all(db)
        .await
        .map_err(|e| format!("select user: {e}"))
        .unwrap();
    ApiKey::find()
        .all(db)
        .await
        .map_err(|e| format!("select api_key: {e}"))
        .unwrap();
    Weights::find()
        .all(db)
        .await
        .map_err(|e| format!("select weights: {e}"))
        .unwrap();
    Requirement::find()
        .all(db)
        .await
        .map_err(|e| format!("select requirement: {e}"))
        .unwrap();
    Identity::find()
        .all(db)
        .await
        .map_err(|e| format!("select identity: {e}"))
        .unwrap();
    IdvSession::find()
        .all(db)
        .await
        .map_err(|e| format!("select idv_session: {e}"))
        .unwrap();
    IdaSession::find()
        .all(db)
        .await
        .map_err(|e| format!("select ida_session: {e}"))
        .unwrap();
    MetadataEntry::find()
        .all(db)
        .await
        .map_err(|e| format!("select metadata_entry: {e}"))
        .unwrap();
    SessionEvent::find()
        .all(db)
        .await
        .map_err(|e| format!("select session_event: {e}"))
        .unwrap();
    Document::find()
        .all(db)
        .await
        .map_err(|e| format!("select document: {e}"))
        .unwrap();
    StoredFile::find()
        .all(db)
        .await
        .map_err(|e| format!("select stored_file: {e}"))
        .unwrap();
    CaptureLocation::find()
        .all(db)
        .await
        .map_err(|e| format!("select capture_location: {e}"))
        .unwrap();
    CheckResult::find()
        .all(db)
        .await
        .map_err(|e| format!("select check_result: {e}"))
        .unwrap();
    FaceTemplate::find()
        .all(db)
        .await
        .map_err(|e| format!("select face_template: {e}"))
        .unwrap();
    Webhook::find()
        .all(db)
        .await
        .map_err(|e| format!("select webhook: {e}"))
        .unwrap();
    WebhookDelivery::find()
        .all(db)
        .await
        .map_err(|e| format!("select webhook_delivery: {e}"))
        .unwrap();
    WebhookAttempt::find()
        .all(db)
        .await
        .map_err(|e| format!("select webhook_attempt: {e}"))
        .unwrap();
    SanctionsList::find()
        .all(db)
        .await
        .map_err(|e| format!("select sanctions_list: {e}"))
        .unwrap();
    SanctionsEntry::find()
        .all(db)
        .await
        .map_err(|e| format!("select sanctions_entry: {e}"))
        .unwrap();
    Job::find()
        .all(db)
        .await
        .map_err(|e| format!("select job: {e}"))
        .unwrap();
    AuditLog::find()
        .all(db)
        .await
        .map_err(|e| format!("select audit_log: {e}"))
        .unwrap();
    IdempotencyKey::find()
        .all(db)
        .await
        .map_err(|e| format!("select idempotency_key: {e}"))
        .unwrap();
    LoginSession::find()
        .all(db)
        .await
        .map_err(|e| format!("select login_session: {e}"))
        .unwrap();
}

async fn insert_rows(db: &DatabaseConnection) {
    let now = chrono::Utc::now();
    entity::client::ActiveModel {
        id: Set("c1".into()),
        name: Set("Acme".into()),
        is_platform: Set(false),
        liveness_provider: Set("local".into()),
        settings: Set(serde_json::json!({"a": 1})),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    entity::user::ActiveModel {
        id: Set("u1".into()),
        client_id: Set("c1".into()),
        email: Set("a@example.com".into()),
        password_hash: Set("$argon2id$...".into()),
        role: Set("admin".into()),
        disabled: Set(false),
        created_at: Set(now),
        last_login_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    entity::api_key::ActiveModel {
        id: Set("k1".into()),
        client_id: Set("c1".into()),
        user_id: Set(Some("u1".into())),
        name: Set("key".into()),
        prefix: Set("tk_abc".into()),
        key_hash: Set("00ff".into()),
        scope: Set(None),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    let w = entity::weights::ActiveModel {
        id: Set("w1".into()),
        client_id: Set(Some("c1".into())),
        user_id: Set(None),
        change_note: Set(None),
        onboarding_face_encoding_tolerance: Set(0.6),
        verified_account_face_encoding_tolerance: Set(0.5),
        driver_license_fuzzy_match_tolerance: Set(0.1),
        driver_license_fuzzy_match_weight: Set(0.1),
        state_id_fuzzy_match_tolerance: Set(0.1),
        state_id_fuzzy_match_weight: Set(0.1),
        passport_fuzzy_match_tolerance: Set(0.1),
        passport_fuzzy_match_weight: Set(0.1),
        passport_card_fuzzy_match_tolerance: Set(0.1),
        passport_card_fuzzy_match_weight: Set(0.1),
        ofac_fuzzy_match_tolerance: Set(0.1),
        ofac_fuzzy_match_weight: Set(0.1),
        suspicious_words_weight: Set(0.1),
        image_manipulation_weight: Set(0.1),
        online_duplication_weight: Set(0.1),
        is_identity_document_weight: Set(0.1),
        aamva_match_tolerance: Set(0.1),
        aamva_match_weight: Set(0.1),
        idv_session_tolerance: Set(0.1),
        minimum_liveness_tolerance: Set(0.1),
        passive_active_skip_tolerance: Set(0.1),
        gender_probability_tolerance: Set(0.1),
        gender_weight: Set(0.1),
        expression_tolerance: Set(0.1),
        age_tolerance: Set(0.1),
        age_weight: Set(0.1),
        direction_tolerance: Set(0.25),
        policy: Set(None),
        created_at: Set(now),
        created_by: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    assert_eq!(w.direction_tolerance, 0.25);
    let s = entity::idv_session::ActiveModel {
        id: Set("s1".into()),
        client_id: Set("c1".into()),
        user_id: Set(None),
        idv_weights_id: Set("w1".into()),
        status: Set("pending".into()),
        document_type: Set("driver_license".into()),
        liveness_mode: Set("passive".into()),
        liveness_provider: Set("local".into()),
        webhook_url: Set(None),
        metadata: Set(serde_json::json!({"k": "v"})),
        sdk_metadata: Set(serde_json::json!({})),
        settings: Set(serde_json::json!({})),
        finalize_settings: Set(None),
        consented: Set(true),
        consented_at: Set(Some(now)),
        document_front_given: Set(false),
        document_front_given_at: Set(None),
        document_back_given: Set(false),
        document_back_given_at: Set(None),
        liveness_detected: Set(false),
        liveness_detected_at: Set(None),
        selfie_given: Set(false),
        selfie_given_at: Set(None),
        first_name: Set(None),
        middle_name: Set(None),
        last_name: Set(None),
        suffix_name: Set(None),
        gender: Set("unknown".into()),
        birth_date: Set(Some("1990-01-31".into())),
        ofac_status: Set("pending".into()),
        ofac_detected_at: Set(None),
        dmv_status: Set("pending".into()),
        dmv_detected_at: Set(None),
        verified: Set(None),
        verified_at: Set(None),
        score: Set(Some(0.5)),
        reasons: Set(Some(serde_json::json!(["x"]))),
        review_required: Set(false),
        identity_id: Set(None),
        failed_attempts: Set(0),
        event_sequence: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
        expires_at: Set(now),
        blocked_until: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    assert_eq!(s.metadata, serde_json::json!({"k": "v"}));
    entity::document::ActiveModel {
        id: Set("d1".into()),
        client_id: Set("c1".into()),
        session_id: Set("s1".into()),
        identity_id: Set(None),
        is_current: Set(true),
        r#type: Set("driver_license".into()),
        data_source: Set("barcode".into()),
        document_number: Set(None),
        ref_number: Set(None),
        issued_at: Set(None),
        expires_at: Set(Some("2030-01-01".into())),
        issuing_country: Set(None),
        issuing_state: Set(None),
        first_name: Set(None),
        middle_name: Set(None),
        last_name: Set(None),
        name_suffix: Set(None),
        street: Set(None),
        city: Set(None),
        state: Set(None),
        postal_code: Set(None),
        birth_date: Set(None),
        gender: Set("unknown".into()),
        height: Set(None),
        weight: Set(None),
        eye_color: Set(None),
        hair_color: Set(None),
        doc_class: Set(Some("C".into())),
        restrictions: Set(None),
        endorsements: Set(None),
        raw_payload: Set(Some("@ANSI...".into())),
        truncation: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    entity::login_session::ActiveModel {
        id: Set("ls1".into()),
        data: Set(vec![0, 1, 2, 255]),
        expiry_date: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    // read back through the entity layer
    let client = Client::find_by_id("c1").one(db).await.unwrap().unwrap();
    assert_eq!(client.settings, serde_json::json!({"a": 1}));
    assert_eq!(client.find_related(User).all(db).await.unwrap().len(), 1);
    let doc = Document::find_by_id("d1").one(db).await.unwrap().unwrap();
    assert_eq!(doc.doc_class.as_deref(), Some("C"));
    let ls = LoginSession::find_by_id("ls1")
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ls.data, vec![0, 1, 2, 255]);
    let sess = IdvSession::find_by_id("s1").one(db).await.unwrap().unwrap();
    assert_eq!(sess.expires_at.timestamp_micros(), now.timestamp_micros());

    // unique index on app_user.email
    let dup = entity::user::ActiveModel {
        id: Set("u2".into()),
        client_id: Set("c1".into()),
        email: Set("a@example.com".into()),
        password_hash: Set("x".into()),
        role: Set("viewer".into()),
        disabled: Set(false),
        created_at: Set(now),
        last_login_at: Set(None),
    }
    .insert(db)
    .await;
    assert!(dup.is_err(), "duplicate email must be rejected");

    // RESTRICT: a weights version in use cannot be deleted
    assert!(
        Weights::delete_by_id("w1").exec(db).await.is_err(),
        "weights referenced by a session must not be deletable"
    );

    // SET NULL: deleting the user keeps the api key
    User::delete_by_id("u1").exec(db).await.unwrap();
    let key = ApiKey::find_by_id("k1").one(db).await.unwrap().unwrap();
    assert_eq!(key.user_id, None);

    // CASCADE: deleting the client removes its sessions and its weights in one
    // statement, even though idv_session → weights is RESTRICT
    Client::delete_by_id("c1").exec(db).await.unwrap();
    assert_eq!(IdvSession::find().count(db).await.unwrap(), 0);
    assert_eq!(ApiKey::find().count(db).await.unwrap(), 0);
    assert_eq!(Weights::find().count(db).await.unwrap(), 0);
    assert_eq!(Document::find().count(db).await.unwrap(), 0);
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("first up");
    select_every_entity(db).await;
    insert_rows(db).await;
    Migrator::down(db, None).await.expect("down");
    assert!(
        Client::find().all(db).await.is_err(),
        "tables must be gone after down"
    );
    Migrator::up(db, None).await.expect("second up");
    select_every_entity(db).await;
    insert_rows(db).await;
    // all migrations applied
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn sqlite_up_down_up() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    exercise(&db).await;
}

#[tokio::test]
async fn postgres_up_down_up() {
    let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        eprintln!("TESSERA_TEST_POSTGRES_URL not set; skipping PostgreSQL test");
        return;
    };
    let admin = Database::connect(&url).await.unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("tessera_mig_{}_{}", std::process::id(), nanos);
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();

    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url.as_str(), String::new()),
    };
    let slash = base.rfind('/').expect("database name in URL");
    let test_url = format!("{}/{}{}", &base[..slash], name, query);

    let db = Database::connect(&test_url).await.unwrap();
    // run in a task so a failure still drops the database below
    let result = tokio::spawn(async move {
        exercise(&db).await;
        db.close().await.unwrap();
    })
    .await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
