//! A transaction whose BEGIN travels with its first statements, so that a transaction of two
//! dependent steps costs three round trips (BEGIN and the first statements, the second
//! statements, COMMIT) instead of five or more.
//!
//! Statements polled together (e.g. with `try_join!`) on one connection are pipelined: sent
//! without waiting for each other's answers. They are sent in the order they are first polled,
//! except that a statement not yet prepared on this connection waits for its preparation
//! first. BEGIN is a simple query sent at once, so listed first it goes first. COMMIT is not
//! pipelined: it goes in [`PipelinedTransaction::finish`], once every statement has answered,
//! so none can slip out after it.
//!
//! diesel's own `transaction` sends BEGIN on its own, so this type takes its place and keeps
//! its guarantee: a connection never goes back to the pool inside a transaction. After a
//! failure it is rolled back; if that fails too, or if the work is dropped half-way, the
//! connection is taken out of the pool and closed, which makes the server roll back.

use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

use super::{DbConn, DbError};

pub struct PipelinedTransaction {
    /// `None` once finished.
    conn: Option<DbConn>,
}

impl PipelinedTransaction {
    pub fn new(conn: DbConn) -> Self {
        Self { conn: Some(conn) }
    }

    /// The connection, to pipeline statements on.
    pub fn conn(&self) -> &AsyncPgConnection {
        self.conn.as_deref().expect("not finished")
    }

    /// Starts the transaction: poll it together with the first statements, listed first.
    pub async fn begin(&self) -> Result<(), diesel::result::Error> {
        let mut conn = self.conn();
        conn.batch_execute("BEGIN").await
    }

    /// Commits if the work succeeded, rolls back if it failed.
    pub async fn finish<T>(mut self, work: Result<T, diesel::result::Error>) -> Result<T, DbError> {
        let conn = self.conn.take().expect("finished once");
        let ending = if work.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = {
            let mut shared: &AsyncPgConnection = &conn;
            shared.batch_execute(ending).await
        };
        if ended.is_err() {
            // In an unknown state: the server rolls back when the connection closes.
            drop(Object::take(conn));
        }
        let value = work?;
        ended?;
        Ok(value)
    }
}

impl Drop for PipelinedTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Dropped before `finish`: the transaction may be open, so this connection must
            // not be reused.
            drop(Object::take(conn));
        }
    }
}
