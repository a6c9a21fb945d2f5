//! Email addresses as login names: trimmed, lower-cased, one `@` with text on both sides.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("email must look like name@example.org")]
pub struct InvalidEmail;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let email = input.trim().to_lowercase();
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && email.len() <= 254
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
