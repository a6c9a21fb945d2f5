//! What a user may do. Staff send and chat for their church; admins also manage their
//! church (its staff, dead letters, limits, its own sending); operators run the platform (the
//! breaker, every church's views, client addresses) and need no church.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    // In the order of what they may do: a role may do what the ones before it may.
    Staff,
    Admin,
    Operator,
}

impl Role {
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Admin => "admin",
            Self::Staff => "staff",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        assert!(Role::Staff < Role::Admin && Role::Admin < Role::Operator);
        for role in [Role::Staff, Role::Admin, Role::Operator] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
