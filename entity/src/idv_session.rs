use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "idv_session")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub idv_weights_id: String,
    pub status: String,
    pub document_type: String,
    pub liveness_mode: String,
    pub liveness_provider: String,
    pub webhook_url: Option<String>,
    pub metadata: Json,
    pub sdk_metadata: Json,
    pub settings: Json,
    pub finalize_settings: Option<Json>,
    pub consented: bool,
    pub consented_at: Option<DateTimeUtc>,
    pub document_front_given: bool,
    pub document_front_given_at: Option<DateTimeUtc>,
    pub document_back_given: bool,
    pub document_back_given_at: Option<DateTimeUtc>,
    pub liveness_detected: bool,
    pub liveness_detected_at: Option<DateTimeUtc>,
    pub selfie_given: bool,
    pub selfie_given_at: Option<DateTimeUtc>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub suffix_name: Option<String>,
    pub gender: String,
    pub birth_date: Option<String>,
    pub ofac_status: String,
    pub ofac_detected_at: Option<DateTimeUtc>,
    pub dmv_status: String,
    pub dmv_detected_at: Option<DateTimeUtc>,
    pub verified: Option<bool>,
    pub verified_at: Option<DateTimeUtc>,
    pub score: Option<f64>,
    pub reasons: Option<Json>,
    /// The verdict policy sent the session to review (`verified` is false).
    pub review_required: bool,
    pub identity_id: Option<String>,
    pub failed_attempts: i32,
    pub event_sequence: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    /// Set while `temporarily_blocked`: when the sweeper unblocks the session.
    pub blocked_until: Option<DateTimeUtc>,
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
    #[sea_orm(
        belongs_to = "super::weights::Entity",
        from = "Column::IdvWeightsId",
        to = "super::weights::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Weights,
    #[sea_orm(
        belongs_to = "super::identity::Entity",
        from = "Column::IdentityId",
        to = "super::identity::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Identity,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::weights::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Weights.def()
    }
}

impl Related<super::identity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Identity.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
