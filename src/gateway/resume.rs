//! Where a reconnecting client left its rooms: `?resume=<room>:<epoch>:<seq>,…` in the URL, or
//! the `rooms` list of a `resume` frame.

use std::collections::HashMap;

use belfry_actors::protocol::ResumeItem;
use belfry_actors::rooms::ResumeFrom;

/// Resume points by room.
pub type ResumePoints = HashMap<String, ResumeFrom>;

/// Parses `room:epoch:seq` items separated by commas. Room names contain colons
/// (`church:1`), so each item is read from the right.
pub fn parse_query(raw: &str) -> Result<ResumePoints, String> {
    let mut points = HashMap::new();
    for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let mut parts = item.rsplitn(3, ':');
        let (Some(seq), Some(epoch), Some(room)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{item:?} is not <room>:<epoch>:<seq>"));
        };
        let point = point(room, epoch, seq)?;
        points.insert(room.to_owned(), point);
    }
    Ok(points)
}

fn point(room: &str, epoch: &str, seq: &str) -> Result<ResumeFrom, String> {
    if room.is_empty() || epoch.is_empty() || !epoch.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{room:?}: a room and an alphanumeric epoch are required"
        ));
    }
    let seq = seq
        .parse()
        .map_err(|_| format!("{room:?}: seq {seq:?} is not a whole number"))?;
    Ok(ResumeFrom {
        epoch: epoch.to_owned(),
        seq,
    })
}

pub fn from_items(items: Vec<ResumeItem>) -> Result<ResumePoints, String> {
    items
        .into_iter()
        .map(|i| {
            let point = point(&i.room, &i.epoch, &i.seq.to_string())?;
            Ok((i.room, point))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_with_colons_are_read_from_the_right() {
        let points = parse_query("church:1:abc123:42,user:7:zz9:0").unwrap();
        assert_eq!(
            points["church:1"],
            ResumeFrom {
                epoch: "abc123".into(),
                seq: 42
            }
        );
        assert_eq!(points["user:7"].seq, 0);
        assert_eq!(parse_query("").unwrap().len(), 0);
    }

    #[test]
    fn malformed_points_are_refused_with_the_reason() {
        assert!(parse_query("church:1").is_err());
        assert!(
            parse_query("church:1:abc:x")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(parse_query("church:1:a-b:3").is_err());
        assert!(parse_query("admins:ep:-1").is_err());
    }
}
