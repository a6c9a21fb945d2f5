//! Chat's parsed values: which room a name means, and text fit to store and show.

use std::fmt;

use super::Controls;

/// A room people can chat in: their church's room, or a channel an admin created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatRoom {
    Church(i64),
    Channel(i64),
}

impl ChatRoom {
    /// `church:{id}` or `channel:{id}`; other rooms (`user:…`, `admins`) are not for chat.
    pub fn parse(name: &str) -> Option<Self> {
        let (kind, id) = name.split_once(':')?;
        let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
        match kind {
            "church" => Some(Self::Church(id)),
            "channel" => Some(Self::Channel(id)),
            _ => None,
        }
    }
}

impl fmt::Display for ChatRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Church(id) => write!(f, "church:{id}"),
            Self::Channel(id) => write!(f, "channel:{id}"),
        }
    }
}

/// Text people typed: trimmed, not empty, at most `MAX` characters, and without control
/// characters other than line breaks and tabs. Stored and sent as text; never interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatText<const MAX: usize>(String);

/// A message body.
pub type ChatBody = ChatText<4000>;
/// A channel's name.
pub type ChannelName = ChatText<80>;

impl<const MAX: usize> ChatText<MAX> {
    /// The most characters the text may have as given (as the document's `maxLength` counts),
    /// surrounding spaces included.
    pub const MAX_LEN: usize = MAX;

    pub fn parse(input: &str) -> Result<Self, String> {
        let text = input.trim();
        if text.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if input.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        if Controls::TabsAndNewlines.refuses_any(input) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_parse_and_print() {
        assert_eq!(ChatRoom::parse("church:3"), Some(ChatRoom::Church(3)));
        assert_eq!(ChatRoom::parse("channel:12"), Some(ChatRoom::Channel(12)));
        assert_eq!(ChatRoom::Channel(12).to_string(), "channel:12");
        for bad in [
            "user:1",
            "admins",
            "church:",
            "church:x",
            "church:-1",
            "channel:0",
        ] {
            assert_eq!(ChatRoom::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(
            ChatBody::parse("  hi\nthere ").unwrap().as_str(),
            "hi\nthere"
        );
        assert!(ChatBody::parse("   ").is_err());
        assert!(ChatBody::parse("bell\u{7}").is_err());
        assert!(ChatBody::parse(&"x".repeat(4001)).is_err());
        assert!(ChatBody::parse(&"é".repeat(4000)).is_ok());
        assert_eq!(
            ChatBody::parse("<b>bold</b>").unwrap().as_str(),
            "<b>bold</b>",
            "kept as text"
        );
        assert!(ChannelName::parse(&"n".repeat(81)).is_err());
    }
}
