//! Email addresses as login names: trimmed, lower-cased, one `@` with text on both sides.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("email must look like name@example.org")]
pub struct InvalidEmail;

impl EmailAddress {
    /// The most characters an address may have.
    pub const MAX_LEN: usize = 254;
    /// What [`Self::parse`] accepts, as a regular expression (for the OpenAPI document):
    /// a local part, `@`, and a domain with a dot that neither starts nor ends it; no white
    /// space or control characters inside, white space around.
    pub const PATTERN: &str = r"^\s*[^\s\x00-\x1F\x7F-\x9F@]+@[^\s\x00-\x1F\x7F-\x9F@.][^\s\x00-\x1F\x7F-\x9F@]*\.[^\s\x00-\x1F\x7F-\x9F@]*[^\s\x00-\x1F\x7F-\x9F@.]\s*$";

    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let trimmed = input.trim();
        // Counted as given, as the document's `maxLength` counts.
        if input.chars().count() > Self::MAX_LEN {
            return Err(InvalidEmail);
        }
        let email = trimmed.to_lowercase();
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(InvalidEmail);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            EmailAddress::parse(" Pastor@Grace.ORG ").unwrap().as_str(),
            "pastor@grace.org"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.org",
            "a@.org",
            "a@b.org.",
            "a b@c.org",
            "a@b@c.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
