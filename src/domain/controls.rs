//! Which control characters a text may hold. Every text people type is refused if it holds
//! any other (C0, DEL, C1): they cannot be shown, and some cannot be stored.

/// Which control characters a text may hold; every other one (C0, DEL, C1) is refused.
#[derive(Debug, Clone, Copy)]
pub enum Controls {
    None,
    /// Tab and line feed, as in chat.
    TabsAndNewlines,
    /// Tab, line feed and carriage return, as in an SMS body.
    LineBreaks,
}

impl Controls {
    /// Whether `text` holds a control character this refuses.
    pub fn refuses_any(self, text: &str) -> bool {
        let allowed: &[char] = match self {
            Self::None => &[],
            Self::TabsAndNewlines => &['\t', '\n'],
            Self::LineBreaks => &['\t', '\n', '\r'],
        };
        text.chars()
            .any(|c| c.is_control() && !allowed.contains(&c))
    }

    /// The characters refused, as the inside of a regular-expression class (ECMA-262 and
    /// Python alike), for the OpenAPI document.
    pub fn refused_class(self) -> &'static str {
        match self {
            Self::None => r"\x00-\x1F\x7F-\x9F",
            Self::TabsAndNewlines => r"\x00-\x08\x0B-\x1F\x7F-\x9F",
            Self::LineBreaks => r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Controls;

    #[test]
    fn each_kind_allows_only_its_own() {
        assert!(Controls::None.refuses_any("a\tb"));
        assert!(!Controls::TabsAndNewlines.refuses_any("a\tb\nc"));
        assert!(Controls::TabsAndNewlines.refuses_any("a\r\n"));
        assert!(!Controls::LineBreaks.refuses_any("a\r\n"));
        for kind in [
            Controls::None,
            Controls::TabsAndNewlines,
            Controls::LineBreaks,
        ] {
            assert!(kind.refuses_any("bell\u{7}"));
            assert!(kind.refuses_any("c1\u{85}"));
            assert!(!kind.refuses_any("Grace Chapel \u{2014} \u{1F54A}"));
        }
    }
}
