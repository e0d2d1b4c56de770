//! Statements of backups: the erasure journal (written by every erasure
//! and retention deletion, shipped to the backup destinations), and the
//! catalogue look-ups a backup and a restore make (a table's columns, its
//! row count).

use super::super::db::{Db, Dialect, Val};
use super::super::StoreError;
use uuid::Uuid;

/// One erasure: a whole subject (`record` none) or one record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    pub tenant: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
    pub at_ms: i64,
}

/// An erasure to journal: (subject, record), either may be absent.
pub type Erased = (Option<Uuid>, Option<Uuid>);

/// Journals erasures of one tenant, in the erasing transaction.
pub fn journal_erasures(db: &mut dyn Db, tenant: Uuid, erased: &[Erased], now: i64) -> Result<(), StoreError> {
    if erased.is_empty() {
        return Ok(());
    }
    if db.dialect() == Dialect::Postgres {
        let text = |f: fn(&Erased) -> Option<Uuid>| {
            Val::OptTextArray(erased.iter().map(|e| f(e).map(|u| u.to_string())).collect())
        };
        db.exec(
            "INSERT INTO erasure_journal (tenant_id, subject_id, record_id, at_ms) \
             SELECT $1, s, r, $4 FROM unnest($2::text[], $3::text[]) AS k(s, r)",
            &[tenant.into(), text(|e| e.0), text(|e| e.1), now.into()],
        )?;
    } else {
        let pairs: Vec<serde_json::Value> = erased
            .iter()
            .map(|(s, r)| serde_json::json!([s.map(|u| u.to_string()), r.map(|u| u.to_string())]))
            .collect();
        db.exec(
            "INSERT INTO erasure_journal (tenant_id, subject_id, record_id, at_ms) \
             SELECT $1, value ->> 0, value ->> 1, $3 FROM json_each($2)",
            &[tenant.into(), serde_json::Value::Array(pairs).to_string().into(), now.into()],
        )?;
    }
    Ok(())
}

/// The oldest journal rows not yet shipped, with their row numbers.
pub fn unshipped_journal(db: &mut dyn Db, limit: i64) -> Result<Vec<(i64, JournalEntry)>, StoreError> {
    db.query(
        "SELECT seq, tenant_id, subject_id, record_id, at_ms FROM erasure_journal ORDER BY seq LIMIT $1",
        &[limit.into()],
    )?
    .iter()
    .map(|r| {
        let opt = |i: usize| r.opt_text(i).map(|o| o.and_then(|t| t.parse().ok()));
        Ok((r.i64(0)?, JournalEntry { tenant: r.uuid(1)?, subject: opt(2)?, record: opt(3)?, at_ms: r.i64(4)? }))
    })
    .collect()
}

/// Forgets journal rows once every destination holds them.
pub fn drop_shipped_journal(db: &mut dyn Db, seqs: &[i64]) -> Result<(), StoreError> {
    if db.dialect() == Dialect::Postgres {
        db.exec("DELETE FROM erasure_journal WHERE seq = ANY($1::bigint[])", &[Val::I64Array(seqs.to_vec())])?;
    } else {
        db.exec(
            "DELETE FROM erasure_journal WHERE seq IN (SELECT value FROM json_each($1))",
            &[serde_json::to_string(seqs).unwrap_or_else(|_| "[]".into()).into()],
        )?;
    }
    Ok(())
}

/// How many journal rows wait to be shipped, and since when.
pub fn journal_backlog(db: &mut dyn Db) -> Result<(i64, Option<i64>), StoreError> {
    let r = db.query("SELECT COUNT(*), MIN(at_ms) FROM erasure_journal", &[])?;
    let r = r.first().ok_or(StoreError::NotFound)?;
    Ok((r.i64(0)?, r.opt_i64(1)?))
}

/// The columns of one of varuh's tables, in the table's order.
pub fn table_columns(db: &mut dyn Db, table: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let sql = match db.dialect() {
        Dialect::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        Dialect::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    };
    db.scan(&sql, &mut |r| {
        out.push(r.text(0)?);
        Ok(())
    })?;
    Ok(out)
}

/// Every table of the store (but SQLite's own).
pub fn table_names(db: &mut dyn Db) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        Dialect::Postgres => "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
    };
    db.scan(sql, &mut |r| {
        out.push(r.text(0)?);
        Ok(())
    })?;
    Ok(out)
}

/// The indexes (and on PostgreSQL the keys and foreign keys) of a store,
/// as statements that drop them and statements that create them again:
/// a bulk load into empty tables goes faster without them, each index
/// then built once from all its rows (the order `pg_restore` keeps).
/// SQLite's own indexes of primary keys and `UNIQUE` columns stay.
#[derive(Debug, Default)]
pub struct Deferred {
    pub drop: Vec<String>,
    pub create: Vec<String>,
}

pub fn deferrable_indexes(db: &mut dyn Db) -> Result<Deferred, StoreError> {
    let mut out = Deferred::default();
    if db.dialect() == Dialect::Sqlite {
        db.scan(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name <> 'varuh_migrations' ORDER BY name",
            &mut |r| {
                out.drop.push(format!("DROP INDEX \"{}\"", r.text(0)?.replace('"', "\"\"")));
                out.create.push(r.text(1)?);
                Ok(())
            },
        )?;
        return Ok(out);
    }
    // Foreign keys go first and come back last; keys before the plain
    // indexes come back, so that the foreign keys find them.
    let (mut fks, mut keys, mut indexes) = (Vec::new(), Vec::new(), Vec::new());
    db.scan(
        "SELECT conrelid::regclass::text, quote_ident(conname::text), pg_get_constraintdef(oid), contype::text \
         FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND contype IN ('f', 'p', 'u') \
         AND conrelid <> 'varuh_migrations'::regclass ORDER BY conrelid::regclass::text, conname",
        &mut |r| {
            let (table, name, def) = (r.text(0)?, r.text(1)?, r.text(2)?);
            let pair = (
                format!("ALTER TABLE {table} DROP CONSTRAINT {name}"),
                format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"),
            );
            if r.text(3)? == "f" {
                fks.push(pair)
            } else {
                keys.push(pair)
            }
            Ok(())
        },
    )?;
    db.scan(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = current_schema()::regnamespace \
         AND c.relname <> 'varuh_migrations' AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
         WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) ORDER BY 1",
        &mut |r| {
            indexes.push((format!("DROP INDEX {}", r.text(0)?), r.text(1)?));
            Ok(())
        },
    )?;
    for (d, _) in fks.iter().chain(&keys).chain(&indexes) {
        out.drop.push(d.clone());
    }
    for (_, c) in keys.iter().chain(&indexes).chain(&fks) {
        out.create.push(c.clone());
    }
    Ok(out)
}

/// Whether a table holds any row.
pub fn table_has_rows(db: &mut dyn Db, table: &str) -> Result<bool, StoreError> {
    let mut any = false;
    db.scan(&format!("SELECT 1 FROM {table} LIMIT 1"), &mut |_| {
        any = true;
        Ok(())
    })?;
    Ok(any)
}

/// The newest schema version applied.
pub fn schema_version(db: &mut dyn Db) -> Result<i64, StoreError> {
    let r = db.query("SELECT COALESCE(MAX(version), 0) FROM varuh_migrations", &[])?;
    r.first().ok_or(StoreError::NotFound)?.i64(0)
}

/// A scheduled job's last run: (started, finished, outcome).
pub type JobRun = (Option<i64>, Option<i64>, Option<String>);

pub fn job_state(db: &mut dyn Db, name: &str) -> Result<Option<JobRun>, StoreError> {
    db.query("SELECT last_started, last_finished, last_outcome FROM scheduled_jobs WHERE name = $1", &[name.into()])?
        .first()
        .map(|r| Ok((r.opt_i64(0)?, r.opt_i64(1)?, r.opt_text(2)?)))
        .transpose()
}

/// Marks (`Some`) or clears (`None`) an unfinished restore: a server
/// refuses to start on a store with the mark.
pub fn mark_restore(db: &mut dyn Db, state: Option<&str>, now: i64) -> Result<(), StoreError> {
    match state {
        Some(s) => db.exec(
            "INSERT INTO scheduled_jobs (name, claimed_until, claimed_by, last_started, last_outcome) \
             VALUES ('restore', 0, '', $1, $2) \
             ON CONFLICT (name) DO UPDATE SET last_started = excluded.last_started, last_outcome = excluded.last_outcome",
            &[now.into(), s.into()],
        )?,
        None => db.exec("DELETE FROM scheduled_jobs WHERE name = 'restore'", &[])?,
    };
    Ok(())
}

/// Deletes one record, wherever it is, with its identifiers and attributes
/// (a replayed erasure: nothing if it is gone already).
pub fn erase_record_again(db: &mut dyn Db, tenant: Uuid, record: Uuid) -> Result<bool, StoreError> {
    super::delete_identifiers_of_record(db, tenant, record)?;
    super::delete_attributes_of_record(db, tenant, record)?;
    Ok(db.exec("DELETE FROM records WHERE tenant_id = $1 AND id = $2", &[tenant.into(), record.into()])? > 0)
}

/// Records a job's outcome that no server claims (a verification run on
/// demand): its last start, end and outcome.
pub fn record_job(db: &mut dyn Db, name: &str, now: i64, outcome: &str) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO scheduled_jobs (name, claimed_until, claimed_by, last_started, last_finished, last_outcome) \
         VALUES ($1, 0, '', $2, $2, $3) ON CONFLICT (name) DO UPDATE SET last_started = excluded.last_started, \
         last_finished = excluded.last_finished, last_outcome = excluded.last_outcome",
        &[name.into(), now.into(), outcome.into()],
    )?;
    Ok(())
}
