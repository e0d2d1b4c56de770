//! Statements of the audit trail (append-only: there is no UPDATE or DELETE here).

use super::super::db::{Db, Row, Val};
use super::super::StoreError;
use uuid::Uuid;

/// An audit event as stored.
pub struct AuditRow {
    pub seq: i64,
    pub body: Vec<u8>,
    pub leaf_hash: Vec<u8>,
}

/// The columns of an event that queries filter on (copies of body fields).
pub struct AuditIndex<'a> {
    pub seq: i64,
    pub time_ms: i64,
    pub tenant: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub action: &'a str,
    pub subject: Option<Uuid>,
    /// The source address, canonical; "" for none (`audit::source_column`).
    pub source: String,
}

/// Inserts events (index columns, body, leaf hash) with as few statements
/// as possible: up to 64 rows each, since on PostgreSQL every statement is
/// a round trip the writer waits for.
pub fn insert_audit_events(db: &mut dyn Db, events: &[(AuditIndex, Vec<u8>, [u8; 32])]) -> Result<(), StoreError> {
    const SIZES: [usize; 4] = [64, 16, 4, 1];
    static SQL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        SIZES
            .iter()
            .map(|&n| {
                let rows: Vec<String> = (0..n)
                    .map(|i| {
                        let p: Vec<String> = (1..=9).map(|c| format!("${}", 9 * i + c)).collect();
                        format!("({})", p.join(", "))
                    })
                    .collect();
                // Built once per process; prepared statements need a 'static text.
                &*Box::leak(
                    format!(
                        "INSERT INTO audit_events (seq, time_ms, tenant_id, actor_id, action, subject_id, source, body, leaf_hash) VALUES {}",
                        rows.join(", ")
                    )
                    .into_boxed_str(),
                )
            })
            .collect()
    });
    let mut rest = events;
    while !rest.is_empty() {
        let k = SIZES.iter().position(|&n| rest.len() >= n).unwrap_or(SIZES.len() - 1);
        let (now, later) = rest.split_at(SIZES[k]);
        let mut params: Vec<Val> = Vec::with_capacity(now.len() * 9);
        for (ix, body, leaf) in now {
            params.extend([
                ix.seq.into(),
                ix.time_ms.into(),
                ix.tenant.into(),
                ix.actor.into(),
                ix.action.into(),
                ix.subject.into(),
                ix.source.as_str().into(),
                body.as_slice().into(),
                leaf.as_slice().into(),
            ]);
        }
        db.exec(sql[k], &params)?;
        rest = later;
    }
    Ok(())
}

/// One event as `audit_push` takes it: its query columns, its JSON without
/// the opening brace (for the database to number it if the log moved on),
/// and its body and leaf as the caller numbered it.
#[derive(Clone)]
pub struct PushEvent<'a> {
    pub time_ms: i64,
    pub tenant: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub action: &'a str,
    pub subject: Option<Uuid>,
    pub source: String,
    pub rest: Vec<u8>,
    pub body: Vec<u8>,
    pub leaf: [u8; 32],
}

/// What a call given events by `audit::Appender::push_with` answers: its
/// own result, what the push did (`None`: nothing was appended), and which
/// of the events it sent, by index (`None`: all of them).
pub type WithPush<R> = (R, Option<Pushed>, Option<Vec<usize>>);

/// What `audit_push` did.
pub enum Pushed {
    /// The log ended where the caller thought: inserted as numbered.
    AsSent,
    /// The caller is more than `max` events behind: nothing inserted.
    Behind,
    /// Another server appended meanwhile: numbered after the log's real
    /// end by the database; the log from event `size - 1` on.
    Renumbered(Vec<TailRow>),
}

/// PostgreSQL: inserts `events` under the trail's lock in one call
/// (`varuh_audit_push`): as numbered from `size` after `last` if the log
/// still ends there, else numbered, linked and inserted after its real end.
/// With `held`, the session holds the lock (`TailLock::Session`): the call
/// lets that hold go, and the lock is held to its commit.
pub fn audit_push(
    db: &mut dyn Db,
    size: i64,
    last: Option<&[u8]>,
    max: i64,
    events: &[PushEvent],
    held: bool,
) -> Result<Pushed, StoreError> {
    let sql = if held {
        "SELECT as_sent, seq, time_ms, leaf_hash, tenant_id, subject_id, action \
         FROM varuh_audit_push_held($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    } else {
        "SELECT as_sent, seq, time_ms, leaf_hash, tenant_id, subject_id, action \
         FROM varuh_audit_push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    };
    let rows = db.query(sql, &push_params(size, last, max, events))?;
    pushed_of(rows, 0)
}

/// `audit_push`'s twelve arguments.
pub(super) fn push_params(size: i64, last: Option<&[u8]>, max: i64, events: &[PushEvent]) -> Vec<Val> {
    let opt = |f: &dyn Fn(&PushEvent) -> Option<Uuid>| {
        Val::OptTextArray(events.iter().map(|e| f(e).map(|u| u.to_string())).collect())
    };
    vec![
        size.into(),
        last.map(<[u8]>::to_vec).unwrap_or_default().into(),
        max.into(),
        Val::I64Array(events.iter().map(|e| e.time_ms).collect()),
        opt(&|e| e.tenant),
        opt(&|e| e.actor),
        Val::TextArray(events.iter().map(|e| e.action.to_string()).collect()),
        opt(&|e| e.subject),
        Val::TextArray(events.iter().map(|e| e.source.clone()).collect()),
        Val::BlobArray(events.iter().map(|e| e.rest.clone()).collect()),
        Val::BlobArray(events.iter().map(|e| e.body.clone()).collect()),
        Val::BlobArray(events.iter().map(|e| e.leaf.to_vec()).collect()),
    ]
}

/// What `varuh_audit_push` answered, its columns from `at` on.
pub(super) fn pushed_of(rows: Vec<Row>, at: usize) -> Result<Pushed, StoreError> {
    match rows.first() {
        None => return Ok(Pushed::Behind),
        Some(r) if r.bool(at)? => return Ok(Pushed::AsSent),
        Some(_) => {}
    }
    rows.into_iter().map(|r| TailRow::at(r, at + 1)).collect::<Result<Vec<_>, _>>().map(Pushed::Renumbered)
}

/// Takes the audit trail's sequencing lock for the rest of the transaction
/// (PostgreSQL: a transaction-level advisory lock, so that the servers
/// sharing one database append one after another; SQLite: the write
/// transaction is already exclusive).
pub fn lock_audit(db: &mut dyn Db) -> Result<(), StoreError> {
    if db.dialect() == super::super::db::Dialect::Postgres {
        db.exec("SELECT pg_advisory_xact_lock(1986097781, 1)", &[])?;
    }
    Ok(())
}

/// One event as the appender catches up with it: seq, time, leaf hash,
/// tenant ('' for none), subject and action (what a server's cache of
/// records needs to know of another server's events).
pub struct TailRow {
    pub seq: i64,
    pub time_ms: i64,
    pub leaf_hash: Vec<u8>,
    pub tenant: String,
    pub subject: Option<String>,
    pub action: String,
}

impl TailRow {
    /// Read from a row whose columns from `i` on are seq, time, leaf
    /// hash, tenant, subject and action.
    fn at(mut r: Row, i: usize) -> Result<TailRow, StoreError> {
        Ok(TailRow {
            seq: r.i64(i)?,
            time_ms: r.i64(i + 1)?,
            leaf_hash: r.take_blob(i + 2)?,
            tenant: r.take_opt_text(i + 3)?.unwrap_or_default(),
            subject: r.take_opt_text(i + 4)?,
            action: r.take_opt_text(i + 5)?.unwrap_or_default(),
        })
    }
}

/// Events from `from` on, at most `limit`: what other servers appended
/// since this one's last batch (and the last event this one knows). With
/// `lock`, first takes the audit trail's lock, in the same round trip on
/// PostgreSQL (`varuh_audit_tail_locked`).
pub fn audit_tail(db: &mut dyn Db, from: i64, limit: i64, lock: TailLock) -> Result<Vec<TailRow>, StoreError> {
    let sql = match (lock, db.dialect()) {
        (TailLock::Transaction, super::super::db::Dialect::Postgres) => {
            "SELECT seq, time_ms, leaf_hash, tenant_id, subject_id, action FROM varuh_audit_tail_locked($1, $2)"
        }
        (TailLock::Session, super::super::db::Dialect::Postgres) => {
            "SELECT seq, time_ms, leaf_hash, tenant_id, subject_id, action FROM varuh_audit_hold_tail($1, $2)"
        }
        _ => "SELECT seq, time_ms, leaf_hash, COALESCE(tenant_id, ''), subject_id, action FROM audit_events WHERE seq >= $1 AND seq < $1 + $2 ORDER BY seq",
    };
    db.query(sql, &[from.into(), limit.into()])?.into_iter().map(|r| TailRow::at(r, 0)).collect()
}

/// Whether a read of the log's tail first takes the trail's lock.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TailLock {
    No,
    /// To the end of the transaction (`varuh_audit_tail_locked`).
    Transaction,
    /// PostgreSQL: for the session, until `audit_push` with `held` or
    /// `release_audit` lets it go (`varuh_audit_hold_tail`, migration 0026).
    Session,
}

/// PostgreSQL: returns once the WAL is on disk up to here (after a push
/// with `held`, which commits without waiting for it): a transaction with
/// an id, committed synchronously (`varuh_audit_flushed`).
pub fn audit_flushed(db: &mut dyn Db) -> Result<(), StoreError> {
    db.query("SELECT varuh_audit_flushed()", &[])?;
    Ok(())
}

/// PostgreSQL: lets go of the trail's lock held for the session.
pub fn release_audit(db: &mut dyn Db) -> Result<(), StoreError> {
    db.exec("SELECT varuh_audit_release()", &[])?;
    Ok(())
}

/// The query columns of a stored event as they are in the table.
pub struct AuditColumns {
    pub time_ms: i64,
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    /// NULL for the events appended before the column existed.
    pub source: Option<String>,
}

/// Events from `from` with their query columns, for the verifier.
pub fn audit_events_with_columns(
    db: &mut dyn Db,
    from: i64,
    limit: i64,
) -> Result<Vec<(AuditRow, AuditColumns)>, StoreError> {
    db.query(
        "SELECT seq, body, leaf_hash, time_ms, tenant_id, actor_id, action, subject_id, source FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
        &[from.into(), limit.into()],
    )?
    .into_iter()
    .map(|mut r| {
        Ok((
            AuditRow { seq: r.i64(0)?, body: r.take_blob(1)?, leaf_hash: r.take_blob(2)? },
            AuditColumns {
                time_ms: r.i64(3)?,
                tenant: r.take_opt_text(4)?,
                actor: r.take_opt_text(5)?,
                action: r.take_opt_text(6)?.unwrap_or_default(),
                subject: r.take_opt_text(7)?,
                source: r.take_opt_text(8)?,
            },
        ))
    })
    .collect()
}

/// Leaf hashes in order, from `from` (inclusive) to `to` (exclusive).
pub fn audit_leaf_hashes(db: &mut dyn Db, from: i64, to: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    db.query(
        "SELECT seq, leaf_hash FROM audit_events WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        &[from.into(), to.into()],
    )?
    .iter()
    .map(|r| Ok((r.i64(0)?, r.blob(1)?)))
    .collect()
}

/// The last event (its seq, time and leaf hash), if any.
pub fn audit_last(db: &mut dyn Db) -> Result<Option<(i64, i64, Vec<u8>)>, StoreError> {
    db.query("SELECT seq, time_ms, leaf_hash FROM audit_events ORDER BY seq DESC LIMIT 1", &[])?
        .first()
        .map(|r| Ok((r.i64(0)?, r.i64(1)?, r.blob(2)?)))
        .transpose()
}

/// Events in order from `from`, at most `limit`: for the verifier and exports.
pub fn audit_events_from(db: &mut dyn Db, from: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
    db.query(
        "SELECT seq, body, leaf_hash FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
        &[from.into(), limit.into()],
    )?
    .iter()
    .map(audit_row)
    .collect()
}

/// Filters of an audit query; `None` matches everything.
#[derive(Default)]
pub struct AuditFilter {
    pub tenant: Option<Uuid>,
    pub subject: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub after: Option<i64>,
    pub limit: i64,
}

/// The first seq whose time is at or after `t` (one past the end if none):
/// times never decrease along the log, so a binary search on seq finds it.
pub fn audit_first_seq_at(db: &mut dyn Db, t: i64) -> Result<i64, StoreError> {
    let Some((last, _, _)) = audit_last(db)? else { return Ok(0) };
    let (mut lo, mut hi) = (0i64, last + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let time = db
            .query("SELECT time_ms FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT 1", &[mid.into()])?
            .first()
            .map(|r| r.i64(0))
            .transpose()?;
        match time {
            Some(tm) if tm < t => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// One page of events matching the filter, oldest first, after `after`.
/// A time window becomes a seq range first (no time index is kept).
pub fn audit_query(db: &mut dyn Db, f: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    let mut after = f.after.unwrap_or(-1);
    if let Some(from) = f.from_ms {
        after = after.max(audit_first_seq_at(db, from)? - 1);
    }
    let before = match f.to_ms {
        Some(to) => audit_first_seq_at(db, to)?,
        None => i64::MAX,
    };
    if let Some(subject) = f.subject {
        return audit_query_subject(db, f, subject, after, before);
    }
    let params = [
        f.tenant.into(),
        f.actor.into(),
        f.action.clone().into(),
        f.from_ms.into(),
        f.to_ms.into(),
        after.into(),
        f.limit.into(),
        f.subject.into(),
        before.into(),
    ];
    let rows = match f.actor {
        Some(_) => db.query(
            "SELECT seq, body, leaf_hash FROM audit_events WHERE actor_id = $2 AND (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
             AND (CAST($3 AS TEXT) IS NULL OR action = $3) AND (CAST($4 AS BIGINT) IS NULL OR time_ms >= $4) AND (CAST($5 AS BIGINT) IS NULL OR time_ms < $5) \
             AND seq > $6 AND seq < $9 AND (CAST($8 AS TEXT) IS NULL OR subject_id = $8) ORDER BY seq LIMIT $7",
            &params,
        )?,
        None => db.query(
            "SELECT seq, body, leaf_hash FROM audit_events WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) AND (CAST($2 AS TEXT) IS NULL OR actor_id = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR action = $3) AND (CAST($4 AS BIGINT) IS NULL OR time_ms >= $4) AND (CAST($5 AS BIGINT) IS NULL OR time_ms < $5) \
             AND seq > $6 AND seq < $9 AND (CAST($8 AS TEXT) IS NULL OR subject_id = $8) ORDER BY seq LIMIT $7",
            &params,
        )?,
    };
    rows.iter().map(audit_row).collect()
}

/// An audit row from `SELECT seq, body, leaf_hash`.
fn audit_row(r: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow { seq: r.i64(0)?, body: r.blob(1)?, leaf_hash: r.blob(2)? })
}

/// Events per run of the subject index (`audit_subject_runs`, migration
/// 0005, which has the number too).
pub const SUBJECT_RUN: i64 = 4096;

/// One entry of the subject index: tenant ('' for none), subject, seq.
pub type SubjectEntry = (String, String, i64);

/// Writes subject index entries of one run (in any order), in
/// statements of up to 256 rows: on PostgreSQL each statement is a round
/// trip, and the writer waits for all of them.
pub fn insert_subject_run(db: &mut dyn Db, run: i64, entries: &[SubjectEntry]) -> Result<(), StoreError> {
    static WIDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static NARROW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let rows = |n: usize| {
        let values: Vec<String> =
            (0..n).map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4)).collect();
        format!("INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES {}", values.join(", "))
    };
    let mut rest = entries;
    while !rest.is_empty() {
        let (n, sql) = match rest.len() {
            256.. => (256, WIDE.get_or_init(|| rows(256)).as_str()),
            16.. => (16, NARROW.get_or_init(|| rows(16)).as_str()),
            _ => (1, "INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES ($1, $2, $3, $4)"),
        };
        let (now, later) = rest.split_at(n);
        let params: Vec<Val> =
            now.iter().flat_map(|(t, s, q)| [run.into(), t.as_str().into(), s.as_str().into(), (*q).into()]).collect();
        db.exec(sql, &params)?;
        rest = later;
    }
    Ok(())
}

/// The schema version (migration 0024) from which every event naming a
/// subject has its subject index entry from the start, not only once its
/// run is complete.
pub const SUBJECT_ENTRIES_PER_BATCH: i64 = 24;

/// Writes the missing subject index entries of the open run (the events
/// after the last complete run): a store from before migration 0024 wrote
/// a run's entries only when it was complete.
pub fn fill_open_subject_run(db: &mut dyn Db) -> Result<(), StoreError> {
    const SELECT: &str = "SELECT seq / 4096, COALESCE(tenant_id, ''), subject_id, seq FROM audit_events \
        WHERE subject_id IS NOT NULL AND seq >= (SELECT (COALESCE(MAX(seq), -1) + 1) / 4096 * 4096 FROM audit_events)";
    db.batch(&match db.dialect() {
        super::super::db::Dialect::Sqlite => {
            format!("INSERT OR IGNORE INTO audit_subject_runs (run, tenant_id, subject_id, seq) {SELECT}")
        }
        super::super::db::Dialect::Postgres => {
            format!("INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) {SELECT} ON CONFLICT DO NOTHING")
        }
    })
}

/// The subject index entries events `from..to` call for, from their columns.
pub fn audit_subject_entries(db: &mut dyn Db, from: i64, to: i64) -> Result<Vec<SubjectEntry>, StoreError> {
    db.query(
        "SELECT COALESCE(tenant_id, ''), subject_id, seq FROM audit_events WHERE seq >= $1 AND seq < $2 AND subject_id IS NOT NULL ORDER BY seq",
        &[from.into(), to.into()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)))
    .collect()
}

/// The stored subject index rows of one run.
pub fn subject_run_rows(db: &mut dyn Db, run: i64) -> Result<Vec<SubjectEntry>, StoreError> {
    db.query("SELECT tenant_id, subject_id, seq FROM audit_subject_runs WHERE run = $1", &[run.into()])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)))
        .collect()
}

/// The first subject index row at run `run` or later, as (run, seq).
pub fn first_subject_row_from(db: &mut dyn Db, run: i64) -> Result<Option<(i64, i64)>, StoreError> {
    db.query("SELECT run, seq FROM audit_subject_runs WHERE run >= $1 ORDER BY run, seq LIMIT 1", &[run.into()])?
        .first()
        .map(|r| Ok((r.i64(0)?, r.i64(1)?)))
        .transpose()
}

/// A subject's events (one page, oldest first, `after < seq < before`):
/// one seek per complete run of the subject index, then a scan of the
/// events after the last complete run.
fn audit_query_subject(
    db: &mut dyn Db,
    f: &AuditFilter,
    subject: Uuid,
    after: i64,
    before: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let tenant = f.tenant.map(|t| t.to_string()).unwrap_or_default();
    let size = audit_last(db)?.map_or(0, |l| l.0 + 1);
    let indexed = size / SUBJECT_RUN * SUBJECT_RUN;
    let mut out: Vec<AuditRow> = Vec::new();
    // Both statements take the same parameters; $1 is the run, or the
    // first seq after the last complete run.
    let params = |first: i64, left: i64| -> [Val; 10] {
        [
            first.into(),
            tenant.as_str().into(),
            subject.into(),
            after.into(),
            before.into(),
            f.actor.into(),
            f.action.clone().into(),
            f.from_ms.into(),
            f.to_ms.into(),
            left.into(),
        ]
    };
    let mut run = (after + 1).max(0) / SUBJECT_RUN;
    while run * SUBJECT_RUN < indexed.min(before) && (out.len() as i64) < f.limit {
        let rows = db.query(
            "SELECT e.seq, e.body, e.leaf_hash FROM audit_subject_runs r JOIN audit_events e ON e.seq = r.seq \
             WHERE r.run = $1 AND r.tenant_id = $2 AND r.subject_id = $3 AND r.seq > $4 AND r.seq < $5 \
             AND (CAST($6 AS TEXT) IS NULL OR e.actor_id = $6) AND (CAST($7 AS TEXT) IS NULL OR e.action = $7) \
             AND (CAST($8 AS BIGINT) IS NULL OR e.time_ms >= $8) AND (CAST($9 AS BIGINT) IS NULL OR e.time_ms < $9) ORDER BY r.seq LIMIT $10",
            &params(run, f.limit - out.len() as i64),
        )?;
        out.extend(rows.iter().map(audit_row).collect::<Result<Vec<_>, _>>()?);
        run += 1;
    }
    if (out.len() as i64) < f.limit && indexed < before {
        let rows = db.query(
            "SELECT seq, body, leaf_hash FROM audit_events WHERE seq >= $1 AND seq > $4 AND seq < $5 AND subject_id = $3 AND COALESCE(tenant_id, '') = $2 \
             AND (CAST($6 AS TEXT) IS NULL OR actor_id = $6) AND (CAST($7 AS TEXT) IS NULL OR action = $7) \
             AND (CAST($8 AS BIGINT) IS NULL OR time_ms >= $8) AND (CAST($9 AS BIGINT) IS NULL OR time_ms < $9) ORDER BY seq LIMIT $10",
            &params(indexed, f.limit - out.len() as i64),
        )?;
        out.extend(rows.iter().map(audit_row).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(out)
}

#[derive(Clone)]
pub struct HeadRow {
    pub tree_size: i64,
    pub root: Vec<u8>,
    pub time_ms: i64,
    pub note: String,
}

/// Keeps the frontier at a tree size (once per size).
pub fn insert_audit_frontier(db: &mut dyn Db, tree_size: i64, stack: &[u8]) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO audit_frontier (tree_size, stack) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[tree_size.into(), stack.into()],
    )?;
    Ok(())
}

/// Every kept frontier, by tree size.
pub fn audit_frontiers(db: &mut dyn Db) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    db.query("SELECT tree_size, stack FROM audit_frontier ORDER BY tree_size", &[])?
        .iter()
        .map(|r| Ok((r.i64(0)?, r.blob(1)?)))
        .collect()
}

/// The latest kept frontier at or below `max_size`.
pub fn latest_audit_frontier(db: &mut dyn Db, max_size: i64) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    db.query(
        "SELECT tree_size, stack FROM audit_frontier WHERE tree_size <= $1 ORDER BY tree_size DESC LIMIT 1",
        &[max_size.into()],
    )?
    .first()
    .map(|r| Ok((r.i64(0)?, r.blob(1)?)))
    .transpose()
}

pub fn insert_audit_head(db: &mut dyn Db, h: &HeadRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO audit_heads (tree_size, root, time_ms, note) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[h.tree_size.into(), h.root.as_slice().into(), h.time_ms.into(), h.note.as_str().into()],
    )?;
    Ok(())
}

fn head_row(r: &Row) -> Result<HeadRow, StoreError> {
    Ok(HeadRow { tree_size: r.i64(0)?, root: r.blob(1)?, time_ms: r.i64(2)?, note: r.text(3)? })
}

pub fn audit_heads(db: &mut dyn Db) -> Result<Vec<HeadRow>, StoreError> {
    db.query("SELECT tree_size, root, time_ms, note FROM audit_heads ORDER BY tree_size", &[])?
        .iter()
        .map(head_row)
        .collect()
}

pub fn latest_audit_head(db: &mut dyn Db) -> Result<Option<HeadRow>, StoreError> {
    db.query("SELECT tree_size, root, time_ms, note FROM audit_heads ORDER BY tree_size DESC LIMIT 1", &[])?
        .first()
        .map(head_row)
        .transpose()
}

/// The seq range `lo..hi` of the events from `from_ms` to `to_ms`
/// (inclusive): two binary searches on seq.
pub fn audit_window(db: &mut dyn Db, from_ms: i64, to_ms: i64) -> Result<(i64, i64), StoreError> {
    let lo = audit_first_seq_at(db, from_ms)?;
    let hi = audit_first_seq_at(db, to_ms.saturating_add(1))?;
    Ok((lo, hi.max(lo)))
}

/// The first event with its source column filled (the events before it
/// were appended before the column existed): a binary search on seq, as
/// such events are a prefix of the log (`varuh audit verify` checks it).
pub fn audit_first_sourced(db: &mut dyn Db) -> Result<i64, StoreError> {
    let Some((last, _, _)) = audit_last(db)? else { return Ok(0) };
    let (mut lo, mut hi) = (0i64, last + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let filled = db
            .query(
                "SELECT CASE WHEN source IS NULL THEN 0 ELSE 1 END FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT 1",
                &[mid.into()],
            )?
            .first()
            .map(|r| r.i64(0))
            .transpose()?;
        match filled {
            Some(0) => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// Streams the bodies of events `lo..hi` of one tenant (or all), of one
/// actor (or any), of one source address (or any: by its column, so only
/// from `audit_first_sourced` on), in log order: a breach's scope (BRE-3).
/// By actor it walks the actor's index, by address the address's;
/// otherwise the primary key. The ids, seqs and address are formatted into
/// the statement (a streamed statement takes no parameters): typed values,
/// never text from a caller.
pub fn scan_audit_range(
    db: &mut dyn Db,
    tenant: Option<Uuid>,
    actor: Option<Uuid>,
    source: Option<std::net::IpAddr>,
    lo: i64,
    hi: i64,
    each: &mut dyn FnMut(&[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut sql = format!("SELECT body FROM audit_events WHERE seq >= {lo} AND seq < {hi}");
    if let Some(a) = actor {
        sql.push_str(&format!(" AND actor_id = '{a}'"));
    }
    if let Some(ip) = source {
        sql.push_str(&format!(" AND source = '{ip}'"));
    }
    if let Some(t) = tenant {
        sql.push_str(&format!(" AND tenant_id = '{t}'"));
    }
    sql.push_str(" ORDER BY seq");
    db.scan(&sql, &mut |r| match r.0.first() {
        Some(super::super::db::Val::Blob(b)) => each(b),
        _ => Err(StoreError::Corrupt("an audit event without a body".into())),
    })
}
