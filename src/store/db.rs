//! The small SQL surface both backends implement: execute, query, and a
//! value type. All of varuh's SQL is written once (in `queries`), with `$n`
//! placeholders, and runs on SQLite and PostgreSQL alike; only the
//! migrations differ per dialect.

use super::StoreError;

/// A SQL value. Integers are always 64-bit (`BIGINT` on PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    I64(i64),
    Text(String),
    Blob(Vec<u8>),
    /// Arrays: PostgreSQL only (arguments of its functions).
    TextArray(Vec<String>),
    OptTextArray(Vec<Option<String>>),
    BlobArray(Vec<Vec<u8>>),
    OptBlobArray(Vec<Option<Vec<u8>>>),
    I64Array(Vec<i64>),
    OptI64Array(Vec<Option<i64>>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I64(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::I64(v as i64)
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Val::Blob(v)
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Val::Blob(v.to_vec())
    }
}
impl From<uuid::Uuid> for Val {
    fn from(v: uuid::Uuid) -> Self {
        Val::Text(v.to_string())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// One result row.
pub struct Row(pub Vec<Val>);

impl Row {
    pub fn i64(&self, i: usize) -> Result<i64, StoreError> {
        match &self.0[i] {
            Val::I64(v) => Ok(*v),
            _ => Err(StoreError::Corrupt(format!("column {i} is not an integer"))),
        }
    }
    /// Moves a blob out of the row (no copy).
    pub fn take_blob(&mut self, i: usize) -> Result<Vec<u8>, StoreError> {
        match std::mem::replace(&mut self.0[i], Val::Null) {
            Val::Blob(v) => Ok(v),
            _ => Err(StoreError::Corrupt(format!("column {i} is not a blob"))),
        }
    }
    /// Moves an optional text out of the row (no copy).
    pub fn take_opt_text(&mut self, i: usize) -> Result<Option<String>, StoreError> {
        match std::mem::replace(&mut self.0[i], Val::Null) {
            Val::Null => Ok(None),
            Val::Text(v) => Ok(Some(v)),
            _ => Err(StoreError::Corrupt(format!("column {i} is not text"))),
        }
    }
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match &self.0[i] {
            Val::Null => Ok(None),
            _ => self.i64(i).map(Some),
        }
    }
    pub fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.0[i] {
            Val::Null => Ok(None),
            _ => self.blob(i).map(Some),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.i64(i)? != 0)
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match &self.0[i] {
            Val::Text(v) => Ok(v.clone()),
            _ => Err(StoreError::Corrupt(format!("column {i} is not text"))),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match &self.0[i] {
            Val::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match &self.0[i] {
            Val::Blob(v) => Ok(v.clone()),
            _ => Err(StoreError::Corrupt(format!("column {i} is not a blob"))),
        }
    }
    pub fn opt_uuid(&self, i: usize) -> Result<Option<uuid::Uuid>, StoreError> {
        match &self.0[i] {
            Val::Null => Ok(None),
            _ => self.uuid(i).map(Some),
        }
    }
    pub fn uuid(&self, i: usize) -> Result<uuid::Uuid, StoreError> {
        match &self.0[i] {
            Val::Text(v) => v.parse().map_err(|_| StoreError::Corrupt(format!("column {i} is not a uuid"))),
            _ => Err(StoreError::Corrupt(format!("column {i} is not a uuid"))),
        }
    }
}

/// A connection of either backend. Statements are prepared once per
/// connection and cached by their (static) SQL text.
pub trait Db: Send {
    fn exec(&mut self, sql: &'static str, params: &[Val]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &'static str, params: &[Val]) -> Result<Vec<Row>, StoreError>;
    /// Runs statements without parameters (transaction control, DDL).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    fn dialect(&self) -> Dialect;
    /// Streams the rows of a query built at run time (a backup's table
    /// scans: names from varuh's own table list, never from input), one
    /// row at a time, without holding them all.
    fn scan(&mut self, sql: &str, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError>;
    /// Inserts rows into `table` (`columns` in order): a restore's bulk
    /// load (PostgreSQL: `COPY … FROM STDIN BINARY`).
    fn insert_rows(&mut self, table: &str, columns: &[String], rows: &[Vec<Val>]) -> Result<(), StoreError>;
    /// No transaction is open: a statement commits by itself when it
    /// returns (PostgreSQL; `false` where that is not known).
    fn autocommit(&self) -> bool {
        false
    }
    /// A transaction-control statement on the hot path (savepoints):
    /// prepared once where the backend allows it.
    fn control(&mut self, sql: &'static str) -> Result<(), StoreError> {
        self.batch(sql)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}
