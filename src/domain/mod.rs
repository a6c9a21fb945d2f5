//! Domain types that parse instead of validate: once built, a value is known to be well-formed.

mod email;
mod keyword;
mod phone;
mod role;
mod status;

pub use email::EmailAddress;
pub use keyword::OptKeyword;
pub use phone::PhoneNumber;
pub use role::Role;
pub use status::RecipientStatus;
