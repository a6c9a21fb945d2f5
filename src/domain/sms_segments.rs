//! How many SMS segments a text takes, as carriers count them: GSM-7 when every character is in
//! the GSM 03.38 alphabet (160 per single SMS, 153 per part of a longer one; characters of the
//! extension table take two and are never split across parts), else UCS-2 (70 UTF-16 units, 67
//! per part; a surrogate pair is never split). The console counts the same way while one types
//! (`src/console/segments.js`); this count is the one the API answers and enforces.

use serde::{Deserialize, Serialize};

const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENDED: &str = "\u{c}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Encoding {
    #[default]
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

impl Segments {
    pub fn of(text: &str) -> Self {
        let gsm = text
            .chars()
            .all(|c| BASIC.contains(c) || EXTENDED.contains(c));
        let size = |c: char| match gsm {
            true if EXTENDED.contains(c) => 2,
            true => 1,
            false => c.len_utf16(),
        };
        let units: usize = text.chars().map(size).sum();
        let (single, part) = if gsm { (160, 153) } else { (70, 67) };
        let encoding = if gsm { Encoding::Gsm7 } else { Encoding::Ucs2 };
        if units <= single {
            let segments = usize::from(units > 0);
            return Self {
                encoding,
                units,
                segments,
            };
        }
        let (mut segments, mut used) = (1, 0);
        for c in text.chars() {
            let size = size(c);
            if used + size > part {
                segments += 1;
                used = 0;
            }
            used += size;
        }
        Self {
            encoding,
            units,
            segments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_fits_160_then_parts_of_153() {
        assert_eq!(Segments::of("").segments, 0);
        let one = Segments::of(&"a".repeat(160));
        assert_eq!((one.encoding, one.segments), (Encoding::Gsm7, 1));
        assert_eq!(Segments::of(&"a".repeat(161)).segments, 2);
        assert_eq!(Segments::of(&"a".repeat(306)).segments, 2);
        assert_eq!(Segments::of(&"a".repeat(307)).segments, 3);
    }

    #[test]
    fn extension_characters_count_twice_and_are_not_split() {
        let euro = Segments::of(&"€".repeat(80));
        assert_eq!((euro.units, euro.segments), (160, 1));
        // 152 plain characters then a euro sign: it goes whole into the second part.
        let split = Segments::of(&format!("{}€{}", "a".repeat(152), "a".repeat(10)));
        assert_eq!((split.units, split.segments), (164, 2));
    }

    #[test]
    fn anything_else_is_ucs2_in_utf16_units() {
        let accent = Segments::of("Grüße aus Köln, ça va?");
        assert_eq!(
            accent.encoding,
            Encoding::Ucs2,
            "ç is not in GSM-7's basic table"
        );
        let seventy = Segments::of(&"é".repeat(69).replace('é', "ł"));
        assert_eq!((seventy.encoding, seventy.segments), (Encoding::Ucs2, 1));
        assert_eq!(Segments::of(&"ł".repeat(71)).segments, 2);
        // An emoji is two UTF-16 units, never split across parts.
        let emoji = Segments::of(&format!("{}🙂", "ł".repeat(66)));
        assert_eq!((emoji.units, emoji.segments), (68, 1));
        let emoji = Segments::of(&format!("{}🙂", "ł".repeat(70)));
        assert_eq!((emoji.units, emoji.segments), (72, 2));
    }
}
