//! Domain types that parse instead of validate: once built, a value is known to be well-formed.

mod chat;
mod email;
mod keyword;
mod phone;
mod role;

pub use chat::{ChannelName, ChatBody, ChatRoom};
pub use email::EmailAddress;
pub use keyword::OptKeyword;
pub use phone::PhoneNumber;
pub use role::Role;
