//! A group's name ("Choir", "Youth group"): trimmed, 1 to 100 characters, no control
//! characters, unique in its church whatever its case (the store's index says so).

use super::Controls;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("a group's name must be 1 to 100 characters without control characters")]
pub struct InvalidGroupName;

impl GroupName {
    /// Counted as given, as the API document's `maxLength` counts.
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, InvalidGroupName> {
        let name = input.trim();
        if name.is_empty()
            || input.chars().count() > Self::MAX_LEN
            || Controls::None.refuses_any(input)
        {
            return Err(InvalidGroupName);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::GroupName;

    #[test]
    fn trims_and_refuses_empty_long_and_control() {
        assert_eq!(GroupName::parse("  Choir ").unwrap().as_str(), "Choir");
        assert!(GroupName::parse(" ").is_err());
        assert!(GroupName::parse(&"x".repeat(GroupName::MAX_LEN)).is_ok());
        assert!(GroupName::parse(&"x".repeat(GroupName::MAX_LEN + 1)).is_err());
        assert!(GroupName::parse("Choir\u{7}").is_err());
    }
}
