//! A CSV of members to add (`name,phone`, as a spreadsheet exports it), read into rows that
//! parse and rows that are skipped with the reason, each named by its line in the file so that
//! the office can find and fix it. A first line `name,phone` is a header, not a member.

use std::collections::HashMap;

use serde::Serialize;

use super::{PersonName, PhoneNumber};

/// A row that will be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub row: u64,
    pub name: PersonName,
    pub phone: PhoneNumber,
}

/// A row that was not added, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkippedRow {
    /// The row's line in the file, from 1 (a header is line 1).
    pub row: u64,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct ParsedImport {
    pub rows: Vec<ImportRow>,
    pub skipped: Vec<SkippedRow>,
}

impl ParsedImport {
    /// Reads `csv`; never fails as a whole: every problem is one row's.
    pub fn parse(csv: &[u8]) -> Self {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(csv);
        let mut parsed = ParsedImport::default();
        let mut first_row_of: HashMap<String, u64> = HashMap::new();
        for (index, record) in reader.byte_records().enumerate() {
            let (row, record) = match record {
                Ok(record) => {
                    let line = line_at(csv, record.position().map(|p| p.byte()), index);
                    (line, record)
                }
                Err(e) => {
                    let line = line_at(csv, e.position().map(|p| p.byte()), index);
                    parsed.skip(line, format!("not readable as CSV: {e}"));
                    // A broken record leaves the reader's position unreliable: stop here.
                    break;
                }
            };
            let fields: Vec<&[u8]> = record.iter().collect();
            if index == 0 && is_header(&fields) {
                continue;
            }
            if fields.iter().all(|f| f.is_empty()) {
                continue;
            }
            let [name, phone] = fields[..] else {
                parsed.skip(
                    row,
                    format!("expected 2 fields (name,phone), found {}", fields.len()),
                );
                continue;
            };
            let (Ok(name), Ok(phone)) = (std::str::from_utf8(name), std::str::from_utf8(phone))
            else {
                parsed.skip(row, "not UTF-8 text".to_owned());
                continue;
            };
            let name = match PersonName::parse(name) {
                Ok(name) => name,
                Err(e) => {
                    parsed.skip(row, format!("name: {e}"));
                    continue;
                }
            };
            let phone = match PhoneNumber::parse(phone) {
                Ok(phone) => phone,
                Err(e) => {
                    parsed.skip(row, format!("phone: {e}"));
                    continue;
                }
            };
            if let Some(first) = first_row_of.get(phone.as_str()) {
                parsed.skip(row, format!("phone {phone} is already in row {first}"));
                continue;
            }
            first_row_of.insert(phone.as_str().to_owned(), row);
            parsed.rows.push(ImportRow { row, name, phone });
        }
        parsed
    }

    fn skip(&mut self, row: u64, reason: String) {
        self.skipped.push(SkippedRow { row, reason });
    }
}

/// The line (from 1) where the record starting at byte `at` is: counted from the bytes, since
/// the reader counts a blank line before a record as the record's start.
fn line_at(csv: &[u8], at: Option<u64>, index: usize) -> u64 {
    match at {
        Some(at) => {
            let mut end = (at as usize).min(csv.len());
            while end < csv.len() && matches!(csv[end], b'\r' | b'\n') {
                end += 1;
            }
            csv[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1
        }
        None => index as u64 + 1,
    }
}

fn is_header(fields: &[&[u8]]) -> bool {
    matches!(fields, [name, phone]
        if name.eq_ignore_ascii_case(b"name") && phone.eq_ignore_ascii_case(b"phone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_are_read_and_bad_ones_named_by_line() {
        let csv = "name,phone\n\
                   Ada Lovelace,+442071838750\n\
                   \"Smith, John\",+12025550101\n\
                   \n\
                   No Phone\n\
                   Bad Phone,12345\n\
                   Again,+442071838750\n\
                   ,+12025550102\n";
        let parsed = ParsedImport::parse(csv.as_bytes());
        let added: Vec<(u64, &str, &str)> = parsed
            .rows
            .iter()
            .map(|r| (r.row, r.name.as_str(), r.phone.as_str()))
            .collect();
        assert_eq!(
            added,
            [
                (2, "Ada Lovelace", "+442071838750"),
                (3, "Smith, John", "+12025550101")
            ]
        );
        let skipped: Vec<u64> = parsed.skipped.iter().map(|s| s.row).collect();
        assert_eq!(skipped, [5, 6, 7, 8]);
        assert!(parsed.skipped[0].reason.contains("expected 2 fields"));
        assert!(parsed.skipped[1].reason.starts_with("phone:"));
        assert!(parsed.skipped[2].reason.contains("already in row 2"));
        assert!(parsed.skipped[3].reason.starts_with("name:"));
    }

    #[test]
    fn without_a_header_the_first_line_is_a_member() {
        let parsed = ParsedImport::parse(b"Ada,+442071838750\r\nBen,+12025550101");
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].row, 1);
        assert!(parsed.skipped.is_empty());
    }

    #[test]
    fn bytes_that_are_not_text_are_skipped_not_a_failure() {
        let parsed = ParsedImport::parse(b"Ada,+442071838750\n\xff\xfe,+12025550101\n");
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.skipped[0].row, 2);
    }
}
