//! Document requirements: which fields a document of a (type, data source)
//! must carry. Stored per (client, user, type, data source); looked up
//! (client, user) → client → built-in defaults, pair by pair.

use chrono::Utc;
use entity::requirement;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, Set};

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::types::{DataSource, DocumentType};
use crate::service::weights::{Scope, Tenant, resolve_scope};

/// Calls `$m!` with the list of every `*_required` flag, in the API reference's
/// order, so the list lives in one place.
#[macro_export]
macro_rules! for_each_requirement_flag {
    ($m:ident) => {
        $m! {
            document_number_required,
            ref_number_required,
            issue_at_required,
            expires_at_required,
            issuing_country_required,
            issuing_state_required,
            first_name_required,
            middle_name_required,
            last_name_required,
            name_suffix_required,
            street_required,
            city_required,
            state_required,
            postal_code_required,
            birth_date_required,
            gender_required,
            height_required,
            weight_required,
            eye_color_required,
            hair_color_required,
            class_required,
            mentions_required,
            restrictions_required,
            raw_barcode_required,
            face_encoding_required
        }
    };
}

macro_rules! define_set {
    ($($f:ident),*) => {
        /// The requirements in force for one (document type, data source).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct RequirementSet {
            pub doc_type: DocumentType,
            pub source: DataSource,
            $(pub $f: bool,)*
        }

        impl RequirementSet {
            /// Nothing required.
            pub fn none(doc_type: DocumentType, source: DataSource) -> Self {
                Self { doc_type, source, $($f: false,)* }
            }

            pub fn from_model(m: &requirement::Model) -> Self {
                Self {
                    doc_type: DocumentType::from_db(&m.r#type),
                    source: DataSource::from_db(&m.data_source),
                    $($f: m.$f,)*
                }
            }

            fn write_flags(&self, row: &mut requirement::ActiveModel) {
                $(row.$f = Set(self.$f);)*
            }
        }
    };
}
for_each_requirement_flag!(define_set);

/// The pairs every client has requirements for, stored or not.
pub const DEFAULT_PAIRS: [(DocumentType, DataSource); 4] = [
    (DocumentType::DriverLicense, DataSource::Barcode),
    (DocumentType::IdentificationCard, DataSource::Barcode),
    (DocumentType::Passport, DataSource::Mrz),
    (DocumentType::PassportCard, DataSource::Mrz),
];

impl RequirementSet {
    /// Built-in defaults, by what the data source reliably carries: a
    /// barcode (AAMVA PDF417) has number, names, birth and expiry dates; an
    /// MRZ also the issuing country. Nothing is required from other sources.
    pub fn defaults(doc_type: DocumentType, source: DataSource) -> Self {
        let mut set = Self::none(doc_type, source);
        if matches!(source, DataSource::Barcode | DataSource::Mrz) {
            set.document_number_required = true;
            set.first_name_required = true;
            set.last_name_required = true;
            set.birth_date_required = true;
            set.expires_at_required = true;
        }
        if source == DataSource::Mrz {
            set.issuing_country_required = true;
        }
        set
    }

    /// Names of the required fields that are absent or blank on `doc`, as
    /// the documented document body names them (`issued_at`, `class`, `gender`
    /// ...; `mentions` is read from the endorsements column, `raw_barcode`
    /// from the raw payload). A `gender` of `unknown` counts as missing.
    ///
    /// `face_encoding_required` is not checked here: the face encoding is
    /// not a document column; finalize checks it against the face match
    /// (missing as `face_encoding` when no face could be encoded).
    pub fn missing_fields(&self, doc: &entity::document::Model) -> Vec<&'static str> {
        let gender = Some(doc.gender.as_str()).filter(|g| *g != "unknown");
        let checks: [(bool, &'static str, Option<&str>); 24] = [
            (self.document_number_required, "document_number", doc.document_number.as_deref()),
            (self.ref_number_required, "ref_number", doc.ref_number.as_deref()),
            (self.issue_at_required, "issued_at", doc.issued_at.as_deref()),
            (self.expires_at_required, "expires_at", doc.expires_at.as_deref()),
            (self.issuing_country_required, "issuing_country", doc.issuing_country.as_deref()),
            (self.issuing_state_required, "issuing_state", doc.issuing_state.as_deref()),
            (self.first_name_required, "first_name", doc.first_name.as_deref()),
            (self.middle_name_required, "middle_name", doc.middle_name.as_deref()),
            (self.last_name_required, "last_name", doc.last_name.as_deref()),
            (self.name_suffix_required, "name_suffix", doc.name_suffix.as_deref()),
            (self.street_required, "street", doc.street.as_deref()),
            (self.city_required, "city", doc.city.as_deref()),
            (self.state_required, "state", doc.state.as_deref()),
            (self.postal_code_required, "postal_code", doc.postal_code.as_deref()),
            (self.birth_date_required, "birth_date", doc.birth_date.as_deref()),
            (self.gender_required, "gender", gender),
            (self.height_required, "height", doc.height.as_deref()),
            (self.weight_required, "weight", doc.weight.as_deref()),
            (self.eye_color_required, "eye_color", doc.eye_color.as_deref()),
            (self.hair_color_required, "hair_color", doc.hair_color.as_deref()),
            (self.class_required, "class", doc.doc_class.as_deref()),
            (self.mentions_required, "mentions", doc.endorsements.as_deref()),
            (self.restrictions_required, "restrictions", doc.restrictions.as_deref()),
            (self.raw_barcode_required, "raw_barcode", doc.raw_payload.as_deref()),
        ];
        checks
            .into_iter()
            .filter(|(required, _, value)| *required && value.is_none_or(|v| v.trim().is_empty()))
            .map(|(_, name, _)| name)
            .collect()
    }
}

/// The requirements in force for (client, user) and one pair: the
/// (client, user) row, else the client row, else [`RequirementSet::defaults`].
pub async fn effective(
    db: &impl ConnectionTrait,
    client_id: &str,
    user_id: Option<&str>,
    doc_type: DocumentType,
    source: DataSource,
) -> AppResult<RequirementSet> {
    let rows = stored_rows(db, client_id, user_id, Some(doc_type), Some(source)).await?;
    Ok(resolve(&rows, user_id, doc_type, source))
}

/// The requirements in force for a scope: one entry per default pair and
/// per stored pair (the client's, and the user's when a user is given),
/// narrowed by the filters; both filters given means exactly that pair.
/// Ordered by document type, then data source, in the enums' order.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: &Scope,
    doc_type: Option<DocumentType>,
    source: Option<DataSource>,
) -> AppResult<Vec<RequirementSet>> {
    let user_id = scope.user_id.as_deref();
    let rows = stored_rows(db, &scope.client_id, user_id, doc_type, source).await?;
    let mut pairs: Vec<(DocumentType, DataSource)> = match (doc_type, source) {
        (Some(t), Some(s)) => vec![(t, s)],
        _ => DEFAULT_PAIRS
            .into_iter()
            .chain(rows.iter().map(|r| (DocumentType::from_db(&r.r#type), DataSource::from_db(&r.data_source))))
            .filter(|(t, s)| doc_type.is_none_or(|f| f == *t) && source.is_none_or(|f| f == *s))
            .collect(),
    };
    pairs.sort_by_key(|(t, s)| (position(DocumentType::ALL, *t), position(DataSource::ALL, *s)));
    pairs.dedup();
    Ok(pairs.into_iter().map(|(t, s)| resolve(&rows, user_id, t, s)).collect())
}

/// One stored requirements row of the client (404 for any other id).
pub async fn find(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<requirement::Model> {
    requirement::Entity::find_by_id(id.to_string())
        .filter(requirement::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("requirement"))
}

/// [`list`] for the scope a caller addresses (see [`resolve_scope`]).
pub async fn list_for(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    client_id: Option<&str>,
    user_id: Option<&str>,
    doc_type: Option<DocumentType>,
    source: Option<DataSource>,
) -> AppResult<Vec<RequirementSet>> {
    let scope = resolve_scope(db, caller, client_id, user_id).await?;
    list(db, &scope, doc_type, source).await
}

/// [`upsert`] for the scope a caller addresses (see [`resolve_scope`]).
pub async fn update_for(
    db: &impl ConnectionTrait,
    caller: Tenant<'_>,
    client_id: Option<&str>,
    user_id: Option<&str>,
    set: &RequirementSet,
) -> AppResult<requirement::Model> {
    let scope = resolve_scope(db, caller, client_id, user_id).await?;
    upsert(db, &scope, set).await
}

fn position<T: PartialEq>(all: &[T], value: T) -> usize {
    all.iter().position(|v| *v == value).unwrap_or(usize::MAX)
}

/// Stores `set` for the scope: updates the scope's row for the pair, or
/// inserts one. A unique index over (client, user, type, source) makes a
/// concurrent first insert of the same scope lose with 409; surplus rows
/// from before that index are removed here.
pub async fn upsert(db: &impl ConnectionTrait, scope: &Scope, set: &RequirementSet) -> AppResult<requirement::Model> {
    let mut existing = scope_query(&scope.client_id, scope.user_id.as_deref())
        .filter(requirement::Column::Type.eq(set.doc_type.as_str()))
        .filter(requirement::Column::DataSource.eq(set.source.as_str()))
        .order_by_desc(requirement::Column::UpdatedAt)
        .order_by_desc(requirement::Column::Id)
        .all(db)
        .await?
        .into_iter();
    let now = Utc::now();
    let saved = match existing.next() {
        Some(row) => {
            let mut active: requirement::ActiveModel = row.into();
            set.write_flags(&mut active);
            active.updated_at = Set(now);
            active.update(db).await?
        }
        None => {
            let mut active = requirement::ActiveModel {
                id: Set(new_id()),
                client_id: Set(Some(scope.client_id.clone())),
                user_id: Set(scope.user_id.clone()),
                r#type: Set(set.doc_type.as_str().to_string()),
                data_source: Set(set.source.as_str().to_string()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            set.write_flags(&mut active);
            active.insert(db).await.map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    AppError::Conflict("a concurrent update of the same requirements was saved first; retry".into())
                } else {
                    e.into()
                }
            })?
        }
    };
    let surplus: Vec<String> = existing.map(|r| r.id).collect();
    if !surplus.is_empty() {
        requirement::Entity::delete_many().filter(requirement::Column::Id.is_in(surplus)).exec(db).await?;
    }
    Ok(saved)
}

/// The client's rows, plus the user's when a user is given; newest first.
async fn stored_rows(
    db: &impl ConnectionTrait,
    client_id: &str,
    user_id: Option<&str>,
    doc_type: Option<DocumentType>,
    source: Option<DataSource>,
) -> AppResult<Vec<requirement::Model>> {
    let mut q = requirement::Entity::find().filter(requirement::Column::ClientId.eq(client_id));
    q = match user_id {
        Some(u) => q.filter(requirement::Column::UserId.is_null().or(requirement::Column::UserId.eq(u))),
        None => q.filter(requirement::Column::UserId.is_null()),
    };
    if let Some(t) = doc_type {
        q = q.filter(requirement::Column::Type.eq(t.as_str()));
    }
    if let Some(s) = source {
        q = q.filter(requirement::Column::DataSource.eq(s.as_str()));
    }
    Ok(q.order_by_desc(requirement::Column::UpdatedAt).order_by_desc(requirement::Column::Id).all(db).await?)
}

fn scope_query(client_id: &str, user_id: Option<&str>) -> sea_orm::Select<requirement::Entity> {
    let q = requirement::Entity::find().filter(requirement::Column::ClientId.eq(client_id));
    match user_id {
        Some(u) => q.filter(requirement::Column::UserId.eq(u)),
        None => q.filter(requirement::Column::UserId.is_null()),
    }
}

/// Picks the user's row, else the client's, else the defaults, from rows
/// sorted newest first.
fn resolve(
    rows: &[requirement::Model],
    user_id: Option<&str>,
    doc_type: DocumentType,
    source: DataSource,
) -> RequirementSet {
    let for_pair = |want_user: Option<&str>| {
        rows.iter().find(|r| {
            r.r#type == doc_type.as_str() && r.data_source == source.as_str() && r.user_id.as_deref() == want_user
        })
    };
    user_id
        .and_then(|u| for_pair(Some(u)))
        .or_else(|| for_pair(None))
        .map(RequirementSet::from_model)
        .unwrap_or_else(|| RequirementSet::defaults(doc_type, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_depend_on_the_data_source() {
        let barcode = RequirementSet::defaults(DocumentType::DriverLicense, DataSource::Barcode);
        assert!(barcode.document_number_required && barcode.expires_at_required && !barcode.issuing_country_required);
        let mrz = RequirementSet::defaults(DocumentType::Passport, DataSource::Mrz);
        assert!(mrz.issuing_country_required && mrz.birth_date_required);
        assert_eq!(
            RequirementSet::defaults(DocumentType::Passport, DataSource::Ocr),
            RequirementSet::none(DocumentType::Passport, DataSource::Ocr)
        );
    }
}
