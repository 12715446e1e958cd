//! Capture locations: the client's IP and the device's reported position,
//! recorded per capture (front, back, selfie).

use chrono::Utc;
use entity::capture_location;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::history::SessionKind;
use crate::service::types::CaptureType;

/// A device position, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DevicePosition {
    pub latitude: f64,
    pub longitude: f64,
}

impl DevicePosition {
    pub fn new(latitude: f64, longitude: f64) -> AppResult<Self> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(AppError::validation("latitude", "must be a number between -90 and 90"));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(AppError::validation("longitude", "must be a number between -180 and 180"));
        }
        Ok(Self { latitude, longitude })
    }

    /// From multipart text fields (clients send them as non-empty strings).
    pub fn parse(latitude: Option<&str>, longitude: Option<&str>) -> AppResult<Self> {
        let lat = parse_coord("latitude", latitude)?;
        let lon = parse_coord("longitude", longitude)?;
        Self::new(lat, lon)
    }
}

fn parse_coord(field: &str, value: Option<&str>) -> AppResult<f64> {
    let raw = value.map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| AppError::validation(field, "is required"))?;
    raw.parse::<f64>().map_err(|_| AppError::validation(field, "must be a number"))
}

/// What to record; `collect_ip` / `collect_device` follow the session settings.
pub struct Capture<'a> {
    pub kind: SessionKind,
    pub client_id: &'a str,
    pub session_id: &'a str,
    pub capture_type: CaptureType,
    pub ip: Option<String>,
    pub position: Option<DevicePosition>,
}

pub async fn record(db: &impl ConnectionTrait, c: Capture<'_>) -> AppResult<()> {
    capture_location::Entity::insert(capture_location::ActiveModel {
        id: Set(new_id()),
        client_id: Set(c.client_id.to_string()),
        session_kind: Set(c.kind.as_str().to_string()),
        session_id: Set(c.session_id.to_string()),
        capture_type: Set(c.capture_type.as_str().to_string()),
        ip_address: Set(c.ip),
        ip_latitude: Set(None),
        ip_longitude: Set(None),
        ip_country: Set(None),
        ip_region: Set(None),
        ip_city: Set(None),
        device_location: Set(c.position.map(|p| format!("{:.6},{:.6}", p.latitude, p.longitude))),
        device_latitude: Set(c.position.map(|p| p.latitude)),
        device_longitude: Set(c.position.map(|p| p.longitude)),
        device_country_name: Set(None),
        device_country_code: Set(None),
        device_admin_area: Set(None),
        device_sub_admin_area: Set(None),
        device_locality: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The newest capture of a type in a session.
pub async fn latest(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    capture_type: CaptureType,
) -> AppResult<Option<capture_location::Model>> {
    Ok(capture_location::Entity::find()
        .filter(capture_location::Column::ClientId.eq(client_id))
        .filter(capture_location::Column::SessionId.eq(session_id))
        .filter(capture_location::Column::CaptureType.eq(capture_type.as_str()))
        .order_by_desc(capture_location::Column::CreatedAt)
        .order_by_desc(capture_location::Column::Id)
        .one(db)
        .await?)
}

/// Every capture of a session (tenant-scoped), oldest first.
pub async fn list_for_session(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
) -> AppResult<Vec<capture_location::Model>> {
    Ok(capture_location::Entity::find()
        .filter(capture_location::Column::ClientId.eq(client_id))
        .filter(capture_location::Column::SessionId.eq(session_id))
        .order_by_asc(capture_location::Column::CreatedAt)
        .order_by_asc(capture_location::Column::Id)
        .all(db)
        .await?)
}
