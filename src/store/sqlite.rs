//! SQLite backend: one file, WAL, `synchronous=FULL` so that a committed
//! transaction survives power loss (AVL-3); the store's writer connection
//! switches to `NORMAL` and its syncer thread fsyncs the WAL before any
//! reply (see `store/mod.rs`). One writer connection and a few
//! readers; WAL lets readers run beside the writer.

use super::db::{Db, Dialect, Row, Val};
use super::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;

pub struct Sqlite {
    conn: Connection,
    /// `$n` → `?n` translations, keyed by the static SQL's address.
    sql: HashMap<usize, String>,
}

impl Sqlite {
    /// Opens an existing database file (`create` only for `varuh init`).
    pub fn open(path: &Path, create: bool) -> Result<Self, StoreError> {
        if !create && !path.exists() {
            return Err(StoreError::Unavailable(format!(
                "no database at {} (run `varuh init` first, or check database_url)",
                path.display()
            )));
        }
        let mut flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // No memory map: in WAL mode SQLite unmaps the whole file at the
        // start of every read transaction after any commit, and with every
        // read audited there is always a commit: readers spent most of their
        // time in munmap and page faults. Reads from a small page cache
        // (reset just as often) over the OS cache cost far less.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
             PRAGMA busy_timeout=10000; PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON; \
             PRAGMA mmap_size=0;",
        )
        .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Sqlite { conn, sql: HashMap::new() })
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation {
            return StoreError::Conflict;
        }
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) {
            return StoreError::Unavailable(e.to_string());
        }
        if f.code == rusqlite::ErrorCode::DiskFull {
            return StoreError::Unavailable(super::DISK_FULL.into());
        }
    }
    StoreError::Db(e.to_string())
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::I64(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Val::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Val::TextArray(_)
            | Val::OptTextArray(_)
            | Val::BlobArray(_)
            | Val::OptBlobArray(_)
            | Val::I64Array(_)
            | Val::OptI64Array(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure("arrays are for PostgreSQL only".into()))
            }
        })
    }
}

impl Db for Sqlite {
    fn exec(&mut self, sql: &'static str, params: &[Val]) -> Result<u64, StoreError> {
        let sql = self.sql.entry(sql.as_ptr() as usize).or_insert_with(|| sql.replace('$', "?"));
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
        stmt.execute(rusqlite::params_from_iter(params.iter())).map(|n| n as u64).map_err(err)
    }

    fn query(&mut self, sql: &'static str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        let sql = self.sql.entry(sql.as_ptr() as usize).or_insert_with(|| sql.replace('$', "?"));
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
        let mut out = Vec::new();
        each_row(&mut stmt, params, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    fn scan(&mut self, sql: &str, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(err)?;
        each_row(&mut stmt, &[], each)
    }

    fn insert_rows(&mut self, table: &str, columns: &[String], rows: &[Vec<Val>]) -> Result<(), StoreError> {
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), marks.join(", "));
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        for r in rows {
            stmt.execute(rusqlite::params_from_iter(r.iter())).map_err(err)?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(err)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn control(&mut self, sql: &'static str) -> Result<(), StoreError> {
        self.conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).map_err(err)
    }
}

/// Runs a prepared statement and hands each row, as `Val`s, to `each`.
fn each_row(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[Val],
    each: &mut dyn FnMut(Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(err)?;
    while let Some(r) = rows.next().map_err(err)? {
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(match r.get_ref(i).map_err(err)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(v) => Val::I64(v),
                ValueRef::Real(v) => Val::I64(v as i64),
                ValueRef::Text(t) => Val::Text(
                    std::str::from_utf8(t).map_or_else(|_| String::from_utf8_lossy(t).into_owned(), str::to_string),
                ),
                ValueRef::Blob(b) => Val::Blob(b.to_vec()),
            });
        }
        each(Row(vals))?;
    }
    Ok(())
}
