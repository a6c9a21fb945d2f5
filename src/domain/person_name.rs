//! A person's name, as members and users carry it: trimmed, 1 to 200 characters, no control
//! characters (they would break SMS merge text, logs and the console's layout).

use std::fmt;

use super::Controls;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("name must be 1 to 200 characters without control characters")]
pub struct InvalidName;

impl PersonName {
    /// The most characters a name may have, counted as given (as the API document's
    /// `maxLength` counts them), surrounding spaces included.
    pub const MAX_LEN: usize = 200;

    pub fn parse(input: &str) -> Result<Self, InvalidName> {
        let name = input.trim();
        if name.is_empty()
            || input.chars().count() > Self::MAX_LEN
            // As given, as the document's pattern reads it: trimming does not excuse a form feed.
            || Controls::None.refuses_any(input)
        {
            return Err(InvalidName);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_refuses_empty_long_and_control() {
        assert_eq!(
            PersonName::parse("  Ruth Adams ").unwrap().as_str(),
            "Ruth Adams"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(PersonName::MAX_LEN)).is_ok());
        assert!(PersonName::parse(&"x".repeat(PersonName::MAX_LEN + 1)).is_err());
        // Too long as given, whatever trimming would leave.
        assert!(PersonName::parse(&format!("\u{a0}{}", "x".repeat(PersonName::MAX_LEN))).is_err());
        assert!(PersonName::parse("Ruth\u{0}").is_err());
        assert!(PersonName::parse("Ruth\nAdams").is_err());
        assert!(PersonName::parse("\u{c}Ruth").is_err());
    }
}
