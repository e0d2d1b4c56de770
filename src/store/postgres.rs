//! PostgreSQL backend, over the synchronous `postgres` client (each
//! connection lives on one of the store's own threads, never on the async
//! runtime). Statements are prepared once per connection.

use super::db::{Db, Dialect, Row, Val};
use super::StoreError;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;

pub struct Postgres {
    client: Client,
    stmts: HashMap<usize, Statement>,
}

impl Postgres {
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let client = Client::connect(url, NoTls).map_err(|e| StoreError::Unavailable(redact(&e.to_string(), url)))?;
        Ok(Postgres { client, stmts: HashMap::new() })
    }

    fn prepare(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        let key = sql.as_ptr() as usize;
        if let Some(s) = self.stmts.get(&key) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(err)?;
        self.stmts.insert(key, s.clone());
        Ok(s)
    }
}

/// Connection errors must not echo a password given in the URL.
fn redact(msg: &str, url: &str) -> String {
    match url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).and_then(|(cred, _)| cred.split_once(':')) {
        Some((_, pw)) if !pw.is_empty() => msg.replace(pw, "***"),
        _ => msg.to_string(),
    }
}

fn err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == postgres::error::SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict;
        }
    }
    if e.is_closed() {
        return StoreError::Unavailable(e.to_string());
    }
    // The SQLSTATE always; the server's message only for classes whose
    // messages name objects (privileges, schema, resources), never values;
    // never the DETAIL, which may quote a row.
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            if ["42", "53", "55", "57"].iter().any(|c| code.starts_with(c)) {
                StoreError::Db(format!("{} (SQLSTATE {code})", db.message()))
            } else {
                StoreError::Db(format!("database error (SQLSTATE {code})"))
            }
        }
        None => StoreError::Db(e.to_string()),
    }
}

impl ToSql for Val {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::I64(v) => v.to_sql(ty, out),
            Val::Text(v) => v.to_sql(ty, out),
            Val::Blob(v) => v.to_sql(ty, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

impl Db for Postgres {
    fn exec(&mut self, sql: &'static str, params: &[Val]) -> Result<u64, StoreError> {
        let stmt = self.prepare(sql)?;
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.client.execute(&stmt, &p).map_err(err)
    }

    fn query(&mut self, sql: &'static str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.prepare(sql)?;
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let rows = self.client.query(&stmt, &p).map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut vals = Vec::with_capacity(r.len());
            for (i, col) in r.columns().iter().enumerate() {
                let v = match *col.type_() {
                    Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(err)?.map(Val::I64),
                    Type::INT4 => r.try_get::<_, Option<i32>>(i).map_err(err)?.map(|v| Val::I64(v.into())),
                    Type::INT2 => r.try_get::<_, Option<i16>>(i).map_err(err)?.map(|v| Val::I64(v.into())),
                    Type::BOOL => r.try_get::<_, Option<bool>>(i).map_err(err)?.map(|v| Val::I64(v.into())),
                    Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i).map_err(err)?.map(Val::Blob),
                    _ => r.try_get::<_, Option<String>>(i).map_err(err)?.map(Val::Text),
                };
                vals.push(v.unwrap_or(Val::Null));
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(err)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}
