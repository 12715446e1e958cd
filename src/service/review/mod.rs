//! Manual review: the cases a person must decide (a session the verdict
//! policy sent to review or an admin flagged; an identity a sanctions
//! re-screening hit), their decisions (approve / reject with a reason code,
//! optionally confirmed by a second person), notes and resubmission
//! requests. See docs/review.md.
//!
//! - [`settings`]: the per-client review settings (four-eyes, SLA, reason codes);
//! - [`cases`]: opening, reading, listing, assigning, notes and the figures;
//! - [`decisions`]: deciding, four-eyes confirmation and what a decision does;
//! - [`attachments`]: files attached to notes (checked, encrypted, scoped).

pub mod attachments;
pub mod cases;
pub mod decisions;
pub mod evidence;
pub mod settings;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::service::audit::Actor;

/// Case states.
pub mod state {
    pub const OPEN: &str = "open";
    pub const IN_REVIEW: &str = "in_review";
    pub const DECIDED: &str = "decided";
}

/// What a case is about.
pub mod subject {
    pub const SESSION: &str = "idv_session";
    pub const IDENTITY: &str = "identity";
}

/// Why a case's subject is gone (`review_case.subject_removed`).
pub mod subject_removed {
    /// The session was deleted: the case keeps its decisions, without personal data.
    pub const SESSION_DELETED: &str = "session_deleted";
    /// The identity (and its sessions' personal data) was erased.
    pub const IDENTITY_ERASED: &str = "identity_erased";
    /// The reject reason code every client may use to close such a case.
    pub const REASON_CODE: &str = "subject_removed";
}

/// Who or what opened a case.
pub mod opened_by {
    /// The verdict policy's review outcome at finalize.
    pub const POLICY: &str = "policy";
    /// A person flagged the session.
    pub const ADMIN: &str = "admin";
    /// A sanctions re-screening found a verified identity on a list.
    pub const SANCTIONS_RESCREEN: &str = "sanctions_rescreen";
}

/// Decision statuses.
pub mod decision_status {
    /// Four-eyes: waiting for a second person.
    pub const PENDING: &str = "pending";
    /// In force (the latest effective decision is the case's outcome).
    pub const EFFECTIVE: &str = "effective";
    /// Four-eyes: the second person did not confirm it.
    pub const DECLINED: &str = "declined";
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    Approve,
    Reject,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Approve => "approve",
            ReviewAction::Reject => "reject",
        }
    }

    /// The case outcome this action gives.
    pub fn outcome(self) -> &'static str {
        match self {
            ReviewAction::Approve => "approved",
            ReviewAction::Reject => "rejected",
        }
    }

    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        match s {
            "approve" => Ok(ReviewAction::Approve),
            "reject" => Ok(ReviewAction::Reject),
            other => Err(AppError::validation(field, format!("expected approve or reject, got `{other}`"))),
        }
    }
}

/// Case priority: the queue shows high first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReviewPriority)]
pub enum Priority {
    Low,
    Normal,
    High,
}

impl Priority {
    pub fn as_i32(self) -> i32 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
        }
    }

    pub fn from_i32(v: i32) -> Self {
        match v {
            i32::MIN..=0 => Priority::Low,
            1 => Priority::Normal,
            _ => Priority::High,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        match s {
            "low" => Ok(Priority::Low),
            "normal" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            other => Err(AppError::validation(field, format!("expected low, normal or high, got `{other}`"))),
        }
    }
}

/// The person (or integration) acting on a case. Four-eyes compares
/// `(kind, id)`: an API key that belongs to a user acts as that user.
#[derive(Debug, Clone)]
pub struct ReviewActor {
    pub actor: Actor,
    /// `user` or `api_key`.
    pub kind: &'static str,
    pub id: String,
    pub ip: Option<String>,
}

impl ReviewActor {
    pub fn user(client_id: &str, user_id: &str, ip: Option<String>) -> Self {
        Self {
            actor: Actor::User { client_id: client_id.to_string(), user_id: user_id.to_string() },
            kind: "user",
            id: user_id.to_string(),
            ip,
        }
    }

    pub fn api_key(client_id: &str, key_id: &str, owner: Option<&str>, ip: Option<String>) -> Self {
        let actor = Actor::ApiKey { client_id: client_id.to_string(), key_id: key_id.to_string() };
        match owner {
            Some(user_id) => Self { actor, kind: "user", id: user_id.to_string(), ip },
            None => Self { actor, kind: "api_key", id: key_id.to_string(), ip },
        }
    }

    /// The user id when a person acts (for "assign to me").
    pub fn user_id(&self) -> Option<&str> {
        (self.kind == "user").then_some(self.id.as_str())
    }
}

/// One reason that opened a case (no personal data: check names and the engines' messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseReason {
    pub check: String,
    pub code: String,
    pub message: String,
}
