//! E.164 phone numbers: `+`, a country code that does not start with 0, at most 15 digits.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone number must be E.164: '+' then 8 to 15 digits, the first not 0 (e.g. +14155550123)")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// What [`Self::parse`] accepts, as a regular expression (for the OpenAPI document).
    pub const PATTERN: &str = r"^\+[1-9][0-9]{7,14}$";

    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let digits = input.strip_prefix('+').ok_or(InvalidPhoneNumber)?;
        let well_formed = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !well_formed {
            return Err(InvalidPhoneNumber);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164() {
        for ok in [
            "+14155550123",
            "+442071838750",
            "+4930123456",
            "+123456789012345",
        ] {
            assert_eq!(PhoneNumber::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "+",
            "14155550123",
            "+0123456789",
            "+1415555",
            "+1234567890123456",
            "+1 415 555 0123",
            "+1415555012a",
            "++14155550123",
            "+١٢٣٤٥٦٧٨٩",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
