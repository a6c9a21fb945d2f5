//! Creating accounts: `belfry admin create-user`, the demo's users, and the load generators'.
//! Each check names the command-line option it is about.

use crate::auth::password;
use crate::db::{self, churches, users};
use crate::domain::{EmailAddress, Role};

/// Creates a user of `church`; returns its id, or a message naming the option at fault.
pub async fn create_user(
    pool: &db::DbPool,
    church: i64,
    email: &str,
    name: &str,
    role: &str,
    password: String,
) -> Result<i64, String> {
    let email = EmailAddress::parse(email).map_err(|e| format!("--email: {e}"))?;
    let role = Role::parse(role).ok_or("--role must be admin or staff")?;
    let name = name.trim();
    if name.is_empty() {
        return Err("--name must not be empty".into());
    }
    if password.chars().count() < password::MIN_PASSWORD_LEN {
        return Err(format!(
            "--password must be at least {} characters",
            password::MIN_PASSWORD_LEN
        ));
    }
    if !churches::exists(pool, church)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!("--church: no church with id {church}"));
    }
    let hash = password::hash(password).await?;
    let user = users::create(
        pool,
        users::NewUser {
            church_id: church,
            email: &email,
            name,
            role,
            password_hash: &hash,
        },
    )
    .await
    .map_err(|e| {
        if e.is_unique_violation() {
            format!("--email: a user with {} exists already", email.as_str())
        } else {
            e.to_string()
        }
    })?;
    Ok(user.id)
}
