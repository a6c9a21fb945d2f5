//! Domain types that parse instead of validate: once built, a value is known to be well-formed.

mod chat;
mod controls;
pub mod delivery_retry;
mod email;
pub mod email_plan;
mod group_name;
mod keyword;
mod member_import;
mod merge_fields;
pub mod notification_preferences;
pub mod notification_template;
mod person_name;
mod phone;
mod quiet_hours;
mod report_period;
mod role;
mod sms_segments;
pub mod text_plan;

pub use chat::{ChannelName, ChatBody, ChatRoom};
pub use controls::Controls;
pub use email::EmailAddress;
pub use group_name::{GroupName, InvalidGroupName};
pub use keyword::OptKeyword;
pub use member_import::{ImportRow, ParsedImport, SkippedRow};
pub use merge_fields::{BodyTemplate, MergeError, Recipient};
pub use notification_preferences::{InApp, PreferenceError, Preferences};
pub use person_name::PersonName;
pub use phone::PhoneNumber;
pub use quiet_hours::{ClockTime, QuietHours, QuietHoursError, TimeZoneName, Window};
pub use report_period::{Interval, MAX_DAYS, PeriodError, ReportPeriod};
pub use role::Role;
pub use sms_segments::{Encoding, Segments};
