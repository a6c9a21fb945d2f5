//! A CSV of members to add (`name,phone`, or `name,phone,groups` with the group names split by
//! `;`, as a spreadsheet exports it), read into rows that parse and rows that are skipped with
//! the reason, each named by its line in the file so that the office can find and fix it. A
//! first line `name,phone` (or `name,phone,groups`) is a header, not a member.

use std::collections::HashMap;

use serde::Serialize;

use super::{GroupName, PersonName, PhoneNumber};

/// A row that will be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub row: u64,
    pub name: PersonName,
    pub phone: PhoneNumber,
    /// The groups to put them in (made when the church has none of that name).
    pub groups: Vec<GroupName>,
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
            let (name, phone, groups) = match fields[..] {
                [name, phone] => (name, phone, &b""[..]),
                [name, phone, groups] => (name, phone, groups),
                _ => {
                    parsed.skip(
                        row,
                        format!(
                            "expected 2 or 3 fields (name,phone,groups), found {}",
                            fields.len()
                        ),
                    );
                    continue;
                }
            };
            let (Ok(name), Ok(phone), Ok(groups)) = (
                std::str::from_utf8(name),
                std::str::from_utf8(phone),
                std::str::from_utf8(groups),
            ) else {
                parsed.skip(row, "not UTF-8 text".to_owned());
                continue;
            };
            let groups: Result<Vec<GroupName>, _> = groups
                .split(';')
                .filter(|g| !g.trim().is_empty())
                .map(GroupName::parse)
                .collect();
            let groups = match groups {
                Ok(groups) => groups,
                Err(e) => {
                    parsed.skip(row, format!("groups: {e}"));
                    continue;
                }
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
            parsed.rows.push(ImportRow {
                row,
                name,
                phone,
                groups,
            });
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
    let named = |field: &[u8], name: &[u8]| field.eq_ignore_ascii_case(name);
    match fields {
        [name, phone] => named(name, b"name") && named(phone, b"phone"),
        [name, phone, groups] => {
            named(name, b"name") && named(phone, b"phone") && named(groups, b"groups")
        }
        _ => false,
    }
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
        assert!(parsed.skipped[0].reason.contains("expected 2 or 3 fields"));
        assert!(parsed.skipped[1].reason.starts_with("phone:"));
        assert!(parsed.skipped[2].reason.contains("already in row 2"));
        assert!(parsed.skipped[3].reason.starts_with("name:"));
    }

    #[test]
    fn a_groups_column_names_groups_split_by_semicolons() {
        let csv = "Name,Phone,Groups\n\
                   Ada,+442071838750,Choir; Youth\n\
                   Ben,+12025550101,\n\
                   Cy,+12025550102,Choir;\u{7}\n";
        let parsed = ParsedImport::parse(csv.as_bytes());
        let groups: Vec<Vec<&str>> = parsed
            .rows
            .iter()
            .map(|r| r.groups.iter().map(GroupName::as_str).collect())
            .collect();
        assert_eq!(groups, [vec!["Choir", "Youth"], vec![]]);
        assert_eq!(parsed.skipped.len(), 1);
        assert!(parsed.skipped[0].reason.starts_with("groups:"));
        assert_eq!(parsed.skipped[0].row, 4);
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
