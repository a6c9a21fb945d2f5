//! `?churchId=`: the church an operator acts on. Operators belong to no church, so the admin
//! routes they share with church admins take the church from the query; a church admin may
//! name only their own (or none).

use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::http::schema;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ChurchQuery {
    /// Operators only: the church to act on. Others may name only their own.
    #[param(schema_with = schema::id)]
    pub church_id: Option<i64>,
}

impl ChurchQuery {
    /// The church an admin acts on: their own, or the one an operator names.
    pub fn admin_church(&self, user: &AuthUser) -> Result<i64, ApiError> {
        user.require_admin()?;
        user.church_scope(self.church_id)
    }

    /// The church an admin's view of the running system is limited to: their own; for an
    /// operator the one they name, or `None` (every church) when they name none.
    pub fn admin_view(&self, user: &AuthUser) -> Result<Option<i64>, ApiError> {
        user.require_admin()?;
        match (user.is_operator(), self.church_id) {
            (true, None) => Ok(None),
            _ => user.church_scope(self.church_id).map(Some),
        }
    }
}
