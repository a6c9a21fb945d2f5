//! Creating accounts: `belfry admin create-user`, `POST /api/admin/users`, the demo's users and
//! the load generators'. The rules live here once; each caller words the refusal its own way
//! (the command line names its option, HTTP answers a code).

use crate::auth::password;
use crate::db::{self, churches, users};
use crate::domain::{EmailAddress, PersonName, Role};

/// An account to create, as given.
pub struct NewAccount<'a> {
    /// `None` only for an operator.
    pub church: Option<i64>,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("email must look like name@example.org")]
    Email,
    #[error("name must be 1 to 200 characters without control characters")]
    Name,
    #[error("role must be operator, admin or staff")]
    Role,
    #[error(
        "the password must be {} to {} characters",
        password::MIN_PASSWORD_LEN,
        password::MAX_PASSWORD_LEN
    )]
    Password,
    #[error("admin and staff users belong to a church")]
    ChurchNeeded,
    #[error("no church with id {0}")]
    NoSuchChurch(i64),
    #[error("a user with {0} exists already")]
    EmailTaken(String),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Creates the account; returns the new user.
pub async fn create(
    pool: &db::DbPool,
    new: NewAccount<'_>,
) -> Result<users::UserRow, AccountError> {
    let email = EmailAddress::parse(new.email).map_err(|_| AccountError::Email)?;
    let role = Role::parse(new.role).ok_or(AccountError::Role)?;
    let name = PersonName::parse(new.name).map_err(|_| AccountError::Name)?;
    password::check_length(&new.password).map_err(|_| AccountError::Password)?;
    match new.church {
        Some(church) if !churches::exists(pool, church).await? => {
            return Err(AccountError::NoSuchChurch(church));
        }
        None if role != Role::Operator => return Err(AccountError::ChurchNeeded),
        _ => {}
    }
    let hash = password::hash(new.password)
        .await
        .map_err(AccountError::Hash)?;
    let created = users::create(
        pool,
        users::NewUser {
            church_id: new.church,
            email: &email,
            name: name.as_str(),
            role,
            password_hash: &hash,
        },
    )
    .await;
    match created {
        Ok(user) => Ok(user),
        Err(e) if e.is_unique_violation() => Err(AccountError::EmailTaken(email.as_str().into())),
        Err(e) => Err(e.into()),
    }
}

/// Creates a user for the command line; returns its id, or a message naming the option at fault.
pub async fn create_user(
    pool: &db::DbPool,
    church: Option<i64>,
    email: &str,
    name: &str,
    role: &str,
    password: String,
) -> Result<i64, String> {
    let new = NewAccount {
        church,
        email,
        name,
        role,
        password,
    };
    create(pool, new).await.map(|user| user.id).map_err(|e| {
        let option = match e {
            AccountError::Email | AccountError::EmailTaken(_) => "--email",
            AccountError::Name => "--name",
            AccountError::Role => "--role",
            AccountError::Password => "--password",
            AccountError::ChurchNeeded | AccountError::NoSuchChurch(_) => "--church",
            AccountError::Db(_) | AccountError::Hash(_) => return e.to_string(),
        };
        format!("{option}: {e}")
    })
}
