use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub is_platform: bool,
    pub liveness_provider: String,
    pub settings: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::user::Entity")]
    User,
    #[sea_orm(has_many = "super::api_key::Entity")]
    ApiKey,
    #[sea_orm(has_many = "super::weights::Entity")]
    Weights,
    #[sea_orm(has_many = "super::requirement::Entity")]
    Requirement,
    #[sea_orm(has_many = "super::identity::Entity")]
    Identity,
    #[sea_orm(has_many = "super::idv_session::Entity")]
    IdvSession,
    #[sea_orm(has_many = "super::ida_session::Entity")]
    IdaSession,
    #[sea_orm(has_many = "super::metadata_entry::Entity")]
    MetadataEntry,
    #[sea_orm(has_many = "super::session_event::Entity")]
    SessionEvent,
    #[sea_orm(has_many = "super::document::Entity")]
    Document,
    #[sea_orm(has_many = "super::stored_file::Entity")]
    StoredFile,
    #[sea_orm(has_many = "super::capture_location::Entity")]
    CaptureLocation,
    #[sea_orm(has_many = "super::check_result::Entity")]
    CheckResult,
    #[sea_orm(has_many = "super::face_template::Entity")]
    FaceTemplate,
    #[sea_orm(has_many = "super::webhook::Entity")]
    Webhook,
    #[sea_orm(has_many = "super::webhook_delivery::Entity")]
    WebhookDelivery,
    #[sea_orm(has_many = "super::idempotency_key::Entity")]
    IdempotencyKey,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::api_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKey.def()
    }
}

impl Related<super::weights::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Weights.def()
    }
}

impl Related<super::requirement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Requirement.def()
    }
}

impl Related<super::identity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Identity.def()
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

impl Related<super::metadata_entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MetadataEntry.def()
    }
}

impl Related<super::session_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SessionEvent.def()
    }
}

impl Related<super::document::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Document.def()
    }
}

impl Related<super::stored_file::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StoredFile.def()
    }
}

impl Related<super::capture_location::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CaptureLocation.def()
    }
}

impl Related<super::check_result::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CheckResult.def()
    }
}

impl Related<super::face_template::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FaceTemplate.def()
    }
}

impl Related<super::webhook::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Webhook.def()
    }
}

impl Related<super::webhook_delivery::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WebhookDelivery.def()
    }
}

impl Related<super::idempotency_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdempotencyKey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
