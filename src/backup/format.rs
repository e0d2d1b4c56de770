//! The backup format, the same whichever backend wrote it (so a SQLite
//! backup restores into PostgreSQL and back). Inside the age encryption
//! and the gzip compression (see `docs/backup.md`):
//!
//! ```text
//! VARUH-BACKUP 1\n
//! {header: id, time, source backend, schema version, key fingerprint, tables and columns}\n
//! per table:  'T' u32 table  ·  per row: 'R' then per column a value  ·  'E' u64 rows
//! 'Z' u64 rows in all, then the SHA-256 of every byte from the first 'T' up to 'Z'
//! ```
//!
//! A value is a tag byte — 0 null, 1 integer (8 bytes), 2 text and 3 bytes
//! (a u32 length, then the bytes); integers little-endian. The rows are
//! sealed and hashed as the store holds them: nothing is decrypted.

use crate::store::db::{Db, Dialect, Row, Val};
use crate::store::queries;
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

pub const MAGIC: &[u8] = b"VARUH-BACKUP 1\n";

/// The tables a backup holds, in restore order (each after those its
/// foreign keys name). Every table of the store is here or in
/// `NOT_BACKED_UP`: a backup refuses a store with any other.
pub const TABLES: &[&str] = &[
    "tenants",
    "staff",
    "collections",
    "subjects",
    "subject_identifiers",
    "records",
    "subject_attributes",
    "audit_events",
    "audit_heads",
    "audit_frontier",
    "audit_subject_runs",
    "password_history",
    "recovery_codes",
    "policies",
    "api_keys",
    "approvals",
    "offboarding",
    "dsr_requests",
    "anonymised_records",
    "processing_limits",
    "consent_notices",
    "consents",
    "consent_state",
    "recipients",
    "disclosures",
    "recipient_notices",
    "tenant_settings",
    "legal_holds",
    "retention_events",
    "breaches",
    "breach_notifications",
    "processors",
    "staff_register",
];

/// Not in a backup: sign-in sessions (after a restore everyone signs in
/// again), the servers' job leases, the erasure journal (shipped beside
/// the backups, never inside), the migrations' bookkeeping (the header
/// holds the schema version).
pub const NOT_BACKED_UP: &[&str] = &["sessions", "scheduled_jobs", "erasure_journal", "varuh_migrations"];

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Header {
    pub format: u32,
    pub id: uuid::Uuid,
    pub created_at_ms: i64,
    /// `sqlite` or `postgres`: where it was made (it restores into either).
    pub source: String,
    pub schema_version: i64,
    /// The fingerprint of the master key the tenants' keys are wrapped
    /// with (the key itself is never in a backup).
    pub master_key: String,
    pub tables: Vec<TableHeader>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TableHeader {
    pub name: String,
    pub columns: Vec<String>,
}

/// Rows per table, in `TABLES` order.
pub type Counts = Vec<(String, u64)>;

/// Writes a consistent copy of the store to `out`: every table read in
/// one snapshot (a read-only repeatable-read transaction on PostgreSQL, a
/// read transaction on SQLite), while writers go on.
pub fn dump(db: &mut dyn Db, out: &mut dyn Write, header: &mut Header) -> anyhow::Result<Counts> {
    db.batch(match db.dialect() {
        Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        Dialect::Sqlite => "BEGIN",
    })?;
    let r = dump_in(db, out, header);
    let _ = db.batch("COMMIT");
    r
}

fn dump_in(db: &mut dyn Db, out: &mut dyn Write, header: &mut Header) -> anyhow::Result<Counts> {
    header.schema_version = queries::schema_version(db)?;
    header.source = match db.dialect() {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    }
    .into();
    for t in queries::table_names(db)? {
        if !TABLES.contains(&t.as_str()) && !NOT_BACKED_UP.contains(&t.as_str()) {
            bail!("the store has a table ({t}) that backups do not know: this varuh cannot back it up");
        }
    }
    header.tables = TABLES
        .iter()
        .map(|t| Ok(TableHeader { name: t.to_string(), columns: queries::table_columns(db, t)? }))
        .collect::<anyhow::Result<_>>()?;
    out.write_all(MAGIC)?;
    serde_json::to_writer(&mut *out, header)?;
    out.write_all(b"\n")?;
    let mut w = Frames { out, hash: Sha256::new(), buf: Vec::with_capacity(1 << 16) };
    let mut counts = Vec::new();
    let mut total = 0u64;
    for (i, t) in header.tables.iter().enumerate() {
        w.put(b"T");
        w.put(&(i as u32).to_le_bytes());
        let mut n = 0u64;
        let mut failed: Option<std::io::Error> = None;
        db.scan(&format!("SELECT {} FROM {}", t.columns.join(", "), t.name), &mut |row: Row| {
            w.row(&row.0);
            n += 1;
            if w.buf.len() >= 1 << 16 {
                if let Err(e) = w.flush() {
                    failed = Some(e);
                    return Err(crate::store::StoreError::Unavailable("the backup could not be written".into()));
                }
            }
            Ok(())
        })
        .map_err(|e| match failed.take() {
            Some(io) => anyhow::Error::new(io).context("writing the backup"),
            None => anyhow::Error::new(e).context(format!("reading table {}", t.name)),
        })?;
        w.put(b"E");
        w.put(&n.to_le_bytes());
        counts.push((t.name.clone(), n));
        total += n;
    }
    w.put(b"Z");
    w.put(&total.to_le_bytes());
    w.flush()?;
    let digest = w.hash.finalize();
    w.out.write_all(&digest)?;
    Ok(counts)
}

/// The framed part, hashed as it is written.
struct Frames<'a> {
    out: &'a mut dyn Write,
    hash: Sha256,
    buf: Vec<u8>,
}

impl Frames<'_> {
    fn put(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    fn row(&mut self, vals: &[Val]) {
        self.buf.push(b'R');
        for v in vals {
            match v {
                Val::Null => self.buf.push(0),
                Val::I64(i) => {
                    self.buf.push(1);
                    self.buf.extend_from_slice(&i.to_le_bytes());
                }
                Val::Text(t) => {
                    self.buf.push(2);
                    self.buf.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    self.buf.extend_from_slice(t.as_bytes());
                }
                Val::Blob(b) => {
                    self.buf.push(3);
                    self.buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
                    self.buf.extend_from_slice(b);
                }
                // Never in a table: arrays are statement arguments.
                _ => self.buf.push(0),
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.hash.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Reads a backup written by `dump`: the header first, then the rows.
pub struct Reader<R: Read> {
    input: HashingReader<R>,
    pub header: Header,
}

impl<R: Read> Reader<R> {
    pub fn open(mut input: R) -> anyhow::Result<Reader<R>> {
        let mut magic = vec![0u8; MAGIC.len()];
        input.read_exact(&mut magic).context("not a varuh backup (it is too short)")?;
        if magic != MAGIC {
            bail!("not a varuh backup (or a format this varuh does not read)");
        }
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            input.read_exact(&mut b).context("the backup's header is cut short")?;
            if b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
            if line.len() > 1 << 20 {
                bail!("the backup's header is not valid");
            }
        }
        let header: Header = serde_json::from_slice(&line).context("the backup's header is not valid")?;
        if header.format != 1 {
            bail!("backup format {} is not one this varuh reads", header.format);
        }
        Ok(Reader { input: HashingReader { inner: input, hash: Sha256::new() }, header })
    }

    /// Reads every row, handing them to `each` a batch at a time (table
    /// index, rows), and checks the counts and the digest at the end.
    pub fn rows(
        mut self,
        batch: usize,
        each: &mut dyn FnMut(usize, Vec<Vec<Val>>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Counts> {
        let bad = || anyhow::anyhow!("the backup is damaged (its rows do not parse)");
        let mut counts = Vec::new();
        let mut total = 0u64;
        loop {
            match self.input.byte()? {
                b'T' => {
                    let i = self.input.u32()? as usize;
                    let t = self.header.tables.get(i).ok_or_else(bad)?;
                    if i != counts.len() {
                        return Err(bad());
                    }
                    let width = t.columns.len();
                    let mut rows = Vec::with_capacity(batch.min(1024));
                    let mut n = 0u64;
                    loop {
                        match self.input.byte()? {
                            b'R' => {
                                let mut row = Vec::with_capacity(width);
                                for _ in 0..width {
                                    row.push(self.input.value()?);
                                }
                                rows.push(row);
                                n += 1;
                                if rows.len() >= batch {
                                    each(i, std::mem::take(&mut rows))?;
                                }
                            }
                            b'E' => {
                                if !rows.is_empty() {
                                    each(i, rows)?;
                                }
                                if self.input.u64()? != n {
                                    bail!("the backup is damaged (table {} has a wrong row count)", t.name);
                                }
                                break;
                            }
                            _ => return Err(bad()),
                        }
                    }
                    counts.push((t.name.clone(), n));
                    total += n;
                }
                b'Z' => {
                    if self.input.u64()? != total || counts.len() != self.header.tables.len() {
                        bail!("the backup is damaged (it does not hold every table)");
                    }
                    let digest = std::mem::take(&mut self.input.hash).finalize();
                    let mut stored = [0u8; 32];
                    self.input.inner.read_exact(&mut stored).context("the backup is cut short")?;
                    if !bool::from(subtle::ConstantTimeEq::ct_eq(&digest[..], &stored[..])) {
                        bail!("the backup is damaged (its digest does not match its rows)");
                    }
                    let mut rest = [0u8; 1];
                    if self.input.inner.read(&mut rest)? != 0 {
                        bail!("the backup is damaged (bytes after its end)");
                    }
                    return Ok(counts);
                }
                _ => return Err(bad()),
            }
        }
    }
}

struct HashingReader<R: Read> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> HashingReader<R> {
    fn exact(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        self.inner.read_exact(buf).context("the backup is cut short")?;
        self.hash.update(&*buf);
        Ok(())
    }
    fn byte(&mut self) -> anyhow::Result<u8> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }
    fn u32(&mut self) -> anyhow::Result<u32> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn value(&mut self) -> anyhow::Result<Val> {
        Ok(match self.byte()? {
            0 => Val::Null,
            1 => Val::I64(self.u64()? as i64),
            t @ (2 | 3) => {
                let n = self.u32()? as usize;
                if n > 1 << 30 {
                    bail!("the backup is damaged (a value is too long)");
                }
                let mut v = vec![0u8; n];
                self.exact(&mut v)?;
                if t == 2 {
                    Val::Text(String::from_utf8(v).map_err(|_| anyhow::anyhow!("the backup is damaged (bad text)"))?)
                } else {
                    Val::Blob(v)
                }
            }
            _ => bail!("the backup is damaged (an unknown value tag)"),
        })
    }
}
