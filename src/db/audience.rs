//! Who a send reaches: the chosen members and everyone in the chosen groups (each member once),
//! or every member, read with whether each has opted out.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::members;

/// Who a new message goes to.
pub enum Audience<'a> {
    /// These members and everyone in these groups, each once.
    Chosen {
        member_ids: &'a [i64],
        group_ids: &'a [i64],
    },
    AllMembers,
}

impl<'a> Audience<'a> {
    pub fn members(member_ids: &'a [i64]) -> Self {
        Self::Chosen {
            member_ids,
            group_ids: &[],
        }
    }
}

/// A member a send reaches.
pub(super) struct Candidate {
    pub member_id: i64,
    pub name: String,
    pub phone: String,
    pub opted_out: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    #[error("these members do not exist in your church: {0:?}")]
    UnknownMembers(Vec<i64>),
    #[error("these groups do not exist in your church: {0:?}")]
    UnknownGroups(Vec<i64>),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// The chosen members of the church, each once; an id that is not one of its members or
/// groups is an error.
pub(super) async fn candidates(
    conn: &mut AsyncPgConnection,
    church_id: i64,
    audience: &Audience<'_>,
) -> Result<Vec<Candidate>, CandidateError> {
    let mut query = members::table
        .filter(members::church_id.eq(church_id))
        .filter(members::removed_at.is_null())
        .select((
            members::id,
            members::name,
            members::phone,
            members::opted_out_at.is_not_null(),
        ))
        .order(members::id.asc())
        .into_boxed();
    if let Audience::Chosen {
        member_ids,
        group_ids,
    } = audience
    {
        let mut chosen = member_ids.to_vec();
        if !group_ids.is_empty() {
            match super::groups::members_in(conn, church_id, group_ids).await? {
                Ok(in_groups) => chosen.extend(in_groups),
                Err(missing) => return Err(CandidateError::UnknownGroups(missing)),
            }
        }
        query = query.filter(members::id.eq_any(chosen));
    }
    let found: Vec<(i64, String, String, bool)> = query.load(conn).await?;
    if let Audience::Chosen { member_ids, .. } = audience {
        let have: HashSet<i64> = found.iter().map(|(id, ..)| *id).collect();
        let mut missing: Vec<i64> = member_ids
            .iter()
            .copied()
            .filter(|id| !have.contains(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            return Err(CandidateError::UnknownMembers(missing));
        }
    }
    Ok(found
        .into_iter()
        .map(|(member_id, name, phone, opted_out)| Candidate {
            member_id,
            name,
            phone,
            opted_out,
        })
        .collect())
}
