//! Raw SQL prepared once per connection, like diesel's own queries.
//!
//! diesel never caches a `sql_query` as a prepared statement (its text could be anything), so
//! each run costs an extra round trip to prepare it first. The hot statements of delivery are
//! raw SQL (they join `unnest` arrays) with a text that never changes: wrapped in
//! [`Prepared`], they are cached by their text and bind types, and each run is one round trip.
//! Only for SQL whose text is fixed; a text built per call would fill the cache.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;

#[derive(Debug, Clone)]
pub struct Prepared<Q>(Q);

pub trait Prepare: Sized {
    /// Caches this statement by its text (see the module documentation).
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> Prepare for Q {}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache keys the statement by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
