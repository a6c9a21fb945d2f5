//! Opt-out and opt-in keywords in inbound SMS. Only a message that is the keyword alone counts
//! (case and surrounding punctuation aside), so "don't stop the reminders" opts nobody out.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptKeyword {
    OptOut,
    OptIn,
}

impl OptKeyword {
    pub fn parse(text: &str) -> Option<Self> {
        let word = text
            .trim()
            .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
            .to_ascii_uppercase();
        match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Some(Self::OptOut),
            "START" | "UNSTOP" => Some(Self::OptIn),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OptKeyword::{self, *};

    #[test]
    fn only_the_keyword_alone_counts() {
        for (text, expected) in [
            ("STOP", Some(OptOut)),
            (" stop. ", Some(OptOut)),
            ("Unsubscribe", Some(OptOut)),
            ("quit!", Some(OptOut)),
            ("cancel", Some(OptOut)),
            ("END", Some(OptOut)),
            ("start", Some(OptIn)),
            ("UNSTOP", Some(OptIn)),
            ("don't stop the reminders", None),
            ("stop it please", None),
            ("", None),
        ] {
            assert_eq!(OptKeyword::parse(text), expected, "{text:?}");
        }
    }
}
