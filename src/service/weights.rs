//! Scoring weights: immutable versions, looked up (client, user) → client →
//! platform default.

use chrono::Utc;
use entity::weights;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::error::AppResult;
use crate::ids::new_id;

/// Calls `$m!` with the list of every numeric weights field, so the list
/// lives in one place.
#[macro_export]
macro_rules! for_each_weight_field {
    ($m:ident) => {
        $m! {
            onboarding_face_encoding_tolerance,
            verified_account_face_encoding_tolerance,
            driver_license_fuzzy_match_tolerance,
            driver_license_fuzzy_match_weight,
            state_id_fuzzy_match_tolerance,
            state_id_fuzzy_match_weight,
            passport_fuzzy_match_tolerance,
            passport_fuzzy_match_weight,
            passport_card_fuzzy_match_tolerance,
            passport_card_fuzzy_match_weight,
            ofac_fuzzy_match_tolerance,
            ofac_fuzzy_match_weight,
            suspicious_words_weight,
            image_manipulation_weight,
            online_duplication_weight,
            is_identity_document_weight,
            aamva_match_tolerance,
            aamva_match_weight,
            idv_session_tolerance,
            minimum_liveness_tolerance,
            passive_active_skip_tolerance,
            gender_probability_tolerance,
            gender_weight,
            expression_tolerance,
            age_tolerance,
            age_weight,
            direction_tolerance
        }
    };
}

macro_rules! define_values {
    ($($f:ident),*) => {
        /// The numeric part of a weights version.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct WeightValues {
            $(pub $f: f64,)*
        }

        impl WeightValues {
            pub fn from_model(m: &weights::Model) -> Self {
                Self { $($f: m.$f,)* }
            }

            fn into_active(self, id: String, client_id: Option<String>, user_id: Option<String>, created_by: Option<String>) -> weights::ActiveModel {
                weights::ActiveModel {
                    id: Set(id),
                    client_id: Set(client_id),
                    user_id: Set(user_id),
                    created_at: Set(Utc::now()),
                    created_by: Set(created_by),
                    $($f: Set(self.$f),)*
                }
            }
        }
    };
}
for_each_weight_field!(define_values);

impl Default for WeightValues {
    /// Platform defaults, from the measurements in docs/engines.md.
    fn default() -> Self {
        Self {
            onboarding_face_encoding_tolerance: 0.5,
            verified_account_face_encoding_tolerance: 0.45,
            driver_license_fuzzy_match_tolerance: 0.8,
            driver_license_fuzzy_match_weight: 1.0,
            state_id_fuzzy_match_tolerance: 0.8,
            state_id_fuzzy_match_weight: 1.0,
            passport_fuzzy_match_tolerance: 0.85,
            passport_fuzzy_match_weight: 1.0,
            passport_card_fuzzy_match_tolerance: 0.85,
            passport_card_fuzzy_match_weight: 1.0,
            ofac_fuzzy_match_tolerance: 0.92,
            ofac_fuzzy_match_weight: 1.0,
            suspicious_words_weight: 1.0,
            image_manipulation_weight: 1.0,
            online_duplication_weight: 1.0,
            is_identity_document_weight: 1.0,
            aamva_match_tolerance: 0.8,
            aamva_match_weight: 1.0,
            idv_session_tolerance: 0.75,
            minimum_liveness_tolerance: 0.6,
            passive_active_skip_tolerance: 0.9,
            gender_probability_tolerance: 0.8,
            gender_weight: 0.5,
            expression_tolerance: 0.5,
            age_tolerance: 10.0,
            age_weight: 0.5,
            direction_tolerance: 15.0,
        }
    }
}

/// Writes a new immutable version and returns it.
pub async fn insert_version(
    db: &impl ConnectionTrait,
    values: WeightValues,
    client_id: Option<String>,
    user_id: Option<String>,
    created_by: Option<String>,
) -> AppResult<weights::Model> {
    Ok(values.into_active(new_id(), client_id, user_id, created_by).insert(db).await?)
}

/// The platform default version, created from [`WeightValues::default`] when absent.
pub async fn ensure_platform_default(db: &impl ConnectionTrait) -> AppResult<weights::Model> {
    let existing = weights::Entity::find()
        .filter(weights::Column::ClientId.is_null())
        .order_by_desc(weights::Column::CreatedAt)
        .order_by_desc(weights::Column::Id)
        .one(db)
        .await?;
    match existing {
        Some(w) => Ok(w),
        None => insert_version(db, WeightValues::default(), None, None, Some("bootstrap".into())).await,
    }
}

/// The version in force for (client, user): the newest (client, user) row,
/// else the newest client row, else the platform default.
pub async fn in_force(db: &impl ConnectionTrait, client_id: &str, user_id: Option<&str>) -> AppResult<weights::Model> {
    if let Some(uid) = user_id {
        if let Some(w) = newest(db, Some(client_id), Some(uid)).await? {
            return Ok(w);
        }
    }
    if let Some(w) = newest(db, Some(client_id), None).await? {
        return Ok(w);
    }
    ensure_platform_default(db).await
}

async fn newest(
    db: &impl ConnectionTrait,
    client_id: Option<&str>,
    user_id: Option<&str>,
) -> AppResult<Option<weights::Model>> {
    let mut q = weights::Entity::find();
    q = match client_id {
        Some(c) => q.filter(weights::Column::ClientId.eq(c)),
        None => q.filter(weights::Column::ClientId.is_null()),
    };
    q = match user_id {
        Some(u) => q.filter(weights::Column::UserId.eq(u)),
        None => q.filter(weights::Column::UserId.is_null()),
    };
    Ok(q.order_by_desc(weights::Column::CreatedAt).order_by_desc(weights::Column::Id).one(db).await?)
}
