use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "weights")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub onboarding_face_encoding_tolerance: f64,
    pub verified_account_face_encoding_tolerance: f64,
    pub driver_license_fuzzy_match_tolerance: f64,
    pub driver_license_fuzzy_match_weight: f64,
    pub state_id_fuzzy_match_tolerance: f64,
    pub state_id_fuzzy_match_weight: f64,
    pub passport_fuzzy_match_tolerance: f64,
    pub passport_fuzzy_match_weight: f64,
    pub passport_card_fuzzy_match_tolerance: f64,
    pub passport_card_fuzzy_match_weight: f64,
    pub ofac_fuzzy_match_tolerance: f64,
    pub ofac_fuzzy_match_weight: f64,
    pub suspicious_words_weight: f64,
    pub image_manipulation_weight: f64,
    pub online_duplication_weight: f64,
    pub is_identity_document_weight: f64,
    pub aamva_match_tolerance: f64,
    pub aamva_match_weight: f64,
    pub idv_session_tolerance: f64,
    pub minimum_liveness_tolerance: f64,
    pub passive_active_skip_tolerance: f64,
    pub gender_probability_tolerance: f64,
    pub gender_weight: f64,
    pub expression_tolerance: f64,
    pub age_tolerance: f64,
    pub age_weight: f64,
    pub direction_tolerance: f64,
    /// The verdict policy (knock-out / review / score per family of checks).
    pub policy: Option<Json>,
    pub created_at: DateTimeUtc,
    pub created_by: Option<String>,
    /// Why this version was written (required by the admin UI).
    pub change_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::client::Entity",
        from = "Column::ClientId",
        to = "super::client::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Client,
    #[sea_orm(has_many = "super::idv_session::Entity")]
    IdvSession,
    #[sea_orm(has_many = "super::ida_session::Entity")]
    IdaSession,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::idv_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdvSession.def()
    }
}

impl Related<super::ida_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdaSession.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
