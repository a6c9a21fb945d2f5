//! Notification templates and their versions: each change is a new version and every version is
//! kept. A church's admins keep their church's templates; operators keep the platform's
//! (`church_id` NULL).

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::{DbError, DbPool, get};
use crate::domain::notification_template::TemplateParts;

/// One version of a template.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct TemplateRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Text)]
    pub email_subject: String,
    #[diesel(sql_type = Text)]
    pub email_text: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub email_html: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub sms_text: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

impl TemplateRow {
    pub fn parts(&self) -> TemplateParts {
        TemplateParts {
            title: self.title.clone(),
            body: self.body.clone(),
            email_subject: self.email_subject.clone(),
            email_text: self.email_text.clone(),
            email_html: self.email_html.clone(),
            sms_text: self.sms_text.clone(),
        }
    }
}

/// A template as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub name: String,
    pub version: i32,
    pub category: String,
    pub in_app: InAppPart,
    pub email: EmailPart,
    pub sms: Option<SmsPart>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct InAppPart {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EmailPart {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SmsPart {
    pub text: String,
}

impl From<TemplateRow> for TemplateView {
    fn from(row: TemplateRow) -> Self {
        TemplateView {
            name: row.name,
            version: row.version,
            category: row.category,
            in_app: InAppPart {
                title: row.title,
                body: row.body,
            },
            email: EmailPart {
                subject: row.email_subject,
                text: row.email_text,
                html: row.email_html,
            },
            sms: row.sms_text.map(|text| SmsPart { text }),
            created_at: row.created_at,
        }
    }
}

const COLUMNS: &str = "id, name, version, category, title, body, email_subject, email_text, \
    email_html, sms_text, created_at";

/// Templates belong to a church, or (`None`) to the platform.
const SCOPE: &str = "church_id IS NOT DISTINCT FROM $1";

/// Stores `parts` as version `1` of a new template (`first`), or the next version of an
/// existing one; `None` when that is not so (the name is taken, or there is nothing to change).
pub async fn save(
    pool: &DbPool,
    (church, author): (Option<i64>, i64),
    (name, category): (&str, &str),
    parts: &TemplateParts,
    first: bool,
) -> Result<Option<TemplateRow>, DbError> {
    let mut conn = get(pool).await?;
    let guard = if first { "NOT EXISTS" } else { "EXISTS" };
    let saved = diesel::sql_query(format!(
        "WITH latest AS (SELECT max(version) AS v FROM notification_templates \
                 WHERE {SCOPE} AND name = $2) \
         INSERT INTO notification_templates (church_id, name, version, category, title, body, \
             email_subject, email_text, email_html, sms_text, created_by) \
         SELECT $1, $2, COALESCE(latest.v, 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10 FROM latest \
         WHERE {guard} (SELECT 1 FROM notification_templates WHERE {SCOPE} AND name = $2) \
         RETURNING {COLUMNS}"
    ))
    .bind::<Nullable<BigInt>, _>(church)
    .bind::<Text, _>(name)
    .bind::<Text, _>(category)
    .bind::<Text, _>(&parts.title)
    .bind::<Text, _>(&parts.body)
    .bind::<Text, _>(&parts.email_subject)
    .bind::<Text, _>(&parts.email_text)
    .bind::<Nullable<Text>, _>(parts.email_html.as_deref())
    .bind::<Nullable<Text>, _>(parts.sms_text.as_deref())
    .bind::<BigInt, _>(author)
    .load::<TemplateRow>(&mut conn)
    .await;
    match saved {
        Ok(rows) => Ok(rows.into_iter().next()),
        // Two saves of one name at once: the unique index keeps one; the other is refused as
        // the name being taken (or changed meanwhile), not as a failure.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The latest version of `name`.
pub async fn latest(
    pool: &DbPool,
    church: Option<i64>,
    name: &str,
) -> Result<Option<TemplateRow>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<TemplateRow> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM notification_templates WHERE {SCOPE} AND name = $2 \
         ORDER BY version DESC LIMIT 1"
    ))
    .bind::<Nullable<BigInt>, _>(church)
    .bind::<Text, _>(name)
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Every template's latest version, by name.
pub async fn list(pool: &DbPool, church: Option<i64>) -> Result<Vec<TemplateRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::sql_query(format!(
        "SELECT DISTINCT ON (name) {COLUMNS} FROM notification_templates WHERE {SCOPE} \
         ORDER BY name, version DESC"
    ))
    .bind::<Nullable<BigInt>, _>(church)
    .load(&mut conn)
    .await?)
}
