//! Backups (AVL-1) and the erasure journal (AVL-2), below the service
//! layer: the file a backup is (the `format` dump, gzip-compressed, then
//! encrypted with age to the operator's X25519 recipients, so that it
//! opens with the standard `age` tool), its manifest beside it, the
//! destinations (`destination`), which backups a pruning keeps, the
//! journal's objects, and the load of a backup into an empty store. The
//! master key is never in a backup: only the tenants' wrapped keys are.
//!
//! At a destination:
//! ```text
//! backups/varuh-<created ms>-<id>.age             the backup
//! backups/varuh-<created ms>-<id>.json            its manifest (written last: a backup without one is incomplete)
//! backups/varuh-<created ms>-<id>.verified.json   the last `varuh backup verify` of that copy
//! journal/<newest ms>-<id>.jsonl.gz               erasures, shipped from the store's journal
//! ```

pub mod destination;
pub mod format;

use crate::store::db::{Db, Dialect};
use crate::store::queries::{self, JournalEntry};
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// What a destination holds about one backup, beside it (no personal data).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub id: uuid::Uuid,
    /// The backup's object key at every destination.
    pub key: String,
    pub created_at_ms: i64,
    /// Bytes of the encrypted file, and their SHA-256 (hex).
    pub size: u64,
    pub sha256: String,
    pub source: String,
    pub schema_version: i64,
    pub master_key: String,
    /// Rows in all, and per table.
    pub rows: u64,
    pub tables: format::Counts,
    /// The age recipients it is encrypted to.
    pub recipients: Vec<String>,
}

/// The result of the last verification of one copy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Verified {
    pub at_ms: i64,
    pub ok: bool,
    pub detail: String,
}

pub fn backup_key(created_ms: i64, id: uuid::Uuid) -> String {
    format!("backups/varuh-{created_ms:013}-{id}.age")
}

pub fn manifest_key(backup_key: &str) -> String {
    format!("{}.json", backup_key.trim_end_matches(".age"))
}

pub fn verified_key(backup_key: &str) -> String {
    format!("{}.verified.json", backup_key.trim_end_matches(".age"))
}

/// Parses age X25519 recipients (`age1…`).
pub fn recipients(list: &[String]) -> anyhow::Result<Vec<age::x25519::Recipient>> {
    list.iter()
        .map(|r| {
            r.trim()
                .parse::<age::x25519::Recipient>()
                .map_err(|_| anyhow::anyhow!("backup recipient {:?} is not an age X25519 recipient (age1…)", r.trim()))
        })
        .collect()
}

/// Reads an age identity file (as `age-keygen` writes it).
pub fn identities(file: &Path) -> anyhow::Result<Vec<Box<dyn age::Identity>>> {
    let f = age::IdentityFile::from_file(file.display().to_string())
        .with_context(|| format!("cannot read the age identity file {}", file.display()))?;
    f.into_identities().map_err(|e| anyhow::anyhow!("the age identity file {}: {e}", file.display()))
}

/// Counts and hashes what goes through it.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hash.update(&b[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a backup of the store `db` reaches into `file`: one snapshot,
/// compressed, encrypted to `recipients`, flushed to disk. Returns its
/// manifest.
pub fn write_file(
    db: &mut dyn Db,
    file: &Path,
    recipients: &[age::x25519::Recipient],
    recipient_names: Vec<String>,
    mut header: format::Header,
) -> anyhow::Result<Manifest> {
    if recipients.is_empty() {
        bail!("no backup recipients are configured (backup_recipients: age1…): a backup is always encrypted");
    }
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .with_context(|| format!("cannot create {}", file.display()))?;
    let mut hashing = Hashing { inner: std::io::BufWriter::with_capacity(1 << 20, out), hash: Sha256::new(), bytes: 0 };
    let enc = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| anyhow::anyhow!("cannot encrypt the backup: {e}"))?;
    let sealed = enc.wrap_output(&mut hashing)?;
    let mut gz = flate2::write::GzEncoder::new(sealed, flate2::Compression::fast());
    let counts = {
        let mut buf = std::io::BufWriter::with_capacity(1 << 20, &mut gz);
        let c = format::dump(db, &mut buf, &mut header)?;
        buf.flush()?;
        c
    };
    gz.finish()?.finish()?;
    let Hashing { inner, hash, bytes } = hashing;
    let f = inner.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    Ok(Manifest {
        id: header.id,
        key: backup_key(header.created_at_ms, header.id),
        created_at_ms: header.created_at_ms,
        size: bytes,
        sha256: hex(&hash.finalize()),
        source: header.source.clone(),
        schema_version: header.schema_version,
        master_key: header.master_key.clone(),
        rows: counts.iter().map(|c| c.1).sum(),
        tables: counts,
        recipients: recipient_names,
    })
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SHA-256 (hex) of a file.
pub fn sha256_file(file: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(file)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Opens a backup file for reading: decrypted with one of `identities`,
/// decompressed, its header read. `input` is the file (perhaps wrapped by
/// a progress bar).
pub fn open<R: Read>(input: R, identities: &[Box<dyn age::Identity>]) -> anyhow::Result<format::Reader<impl Read>> {
    let d = age::Decryptor::new_buffered(BufReader::with_capacity(1 << 20, input))
        .map_err(|e| anyhow::anyhow!("not an age file, or a damaged one: {e}"))?;
    let plain = d.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| {
        anyhow::anyhow!("cannot decrypt the backup ({e}): is the identity file the one for its recipients?")
    })?;
    let gz = flate2::read::GzDecoder::new(plain);
    format::Reader::open(BufReader::with_capacity(1 << 20, gz))
}

/// The tables of a store that must be empty for a restore.
fn check_empty(db: &mut dyn Db) -> anyhow::Result<()> {
    for t in format::TABLES.iter().chain(["sessions"].iter()) {
        if queries::table_has_rows(db, t)? {
            bail!("the target store is not empty (table {t} has rows): a restore goes into an empty store only");
        }
    }
    Ok(())
}

/// Loads a backup into an empty, migrated store in one transaction (all
/// or nothing), calling `progress` with each batch's row count.
pub fn load<R: Read>(
    db: &mut dyn Db,
    reader: format::Reader<R>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<format::Counts> {
    let current = queries::schema_version(db)?;
    if reader.header.schema_version > current {
        bail!(
            "the backup has schema version {}, newer than this varuh's {current}: restore it with a newer varuh",
            reader.header.schema_version
        );
    }
    check_empty(db)?;
    let before_entries = reader.header.schema_version < queries::SUBJECT_ENTRIES_PER_BATCH;
    let mut columns = Vec::new();
    for t in &reader.header.tables {
        if !format::TABLES.contains(&t.name.as_str()) {
            bail!("the backup holds a table ({}) this varuh does not know", t.name);
        }
        let have = queries::table_columns(db, &t.name)?;
        if let Some(c) = t.columns.iter().find(|c| !have.contains(c)) {
            bail!("the backup's table {} has a column ({c}) this varuh does not know", t.name);
        }
        columns.push((t.name.clone(), t.columns.clone()));
    }
    if db.dialect() == Dialect::Sqlite {
        // A bulk load into a fresh file: a large page cache keeps the
        // indexes' B-trees in memory instead of re-reading them per row.
        db.batch("PRAGMA cache_size = -262144")?;
    }
    db.batch(if db.dialect() == Dialect::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" })?;
    let r = (|| {
        // Rows first, indexes after: each index is built once from all
        // its rows instead of split page by page as rows arrive.
        let deferred = queries::deferrable_indexes(db)?;
        for sql in &deferred.drop {
            db.batch(sql)?;
        }
        let counts = reader.rows(5_000, &mut |i, rows| {
            let (name, cols) = &columns[i];
            db.insert_rows(name, cols, &rows).with_context(|| format!("restoring table {name}"))?;
            progress(rows.len() as u64);
            Ok(())
        })?;
        if db.dialect() == Dialect::Postgres {
            db.batch("SET LOCAL maintenance_work_mem = '256MB'")?;
        }
        for sql in &deferred.create {
            db.batch(sql).with_context(|| "rebuilding the indexes: the backup breaks a key or a reference")?;
        }
        if before_entries {
            queries::fill_open_subject_run(db)?;
        }
        anyhow::Ok(counts)
    })();
    match r {
        Ok(counts) => {
            db.batch("COMMIT")?;
            Ok(counts)
        }
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The backups a pruning deletes: of `(key, created ms)`, all but the
/// newest of each of the last `daily` days (UTC) and of the last `monthly`
/// months that have a backup. The newest backup is always kept.
pub fn to_prune(backups: &[(String, i64)], daily: usize, monthly: usize) -> Vec<String> {
    let mut sorted: Vec<&(String, i64)> = backups.iter().collect();
    sorted.sort_by_key(|b| std::cmp::Reverse(b.1));
    let mut keep = std::collections::HashSet::new();
    let period = |ms: i64, monthly: bool| {
        let d =
            time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        if monthly {
            (d.year(), d.month() as u16)
        } else {
            (d.year(), d.ordinal())
        }
    };
    for (monthly, n) in [(false, daily), (true, monthly)] {
        let mut seen = Vec::new();
        for (key, ms) in &sorted {
            let p = period(*ms, monthly);
            if !seen.contains(&p) {
                if seen.len() >= n {
                    break;
                }
                seen.push(p);
                keep.insert(key.clone());
            }
        }
    }
    if let Some(newest) = sorted.first() {
        keep.insert(newest.0.clone());
    }
    sorted.iter().filter(|b| !keep.contains(&b.0)).map(|b| b.0.clone()).collect()
}

/// A journal object's key: named by its newest entry, so that a pruning
/// can tell which can no longer matter.
pub fn journal_key(newest_ms: i64, id: uuid::Uuid) -> String {
    format!("journal/{newest_ms:013}-{id}.jsonl.gz")
}

/// The newest entry's time, from a journal object's key.
pub fn journal_key_time(key: &str) -> Option<i64> {
    key.strip_prefix("journal/")?.split('-').next()?.parse().ok()
}

/// A journal object: its entries as gzip-compressed JSON lines.
pub fn encode_journal(entries: &[JournalEntry]) -> anyhow::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for e in entries {
        serde_json::to_writer(&mut gz, e)?;
        gz.write_all(b"\n")?;
    }
    Ok(gz.finish()?)
}

pub fn decode_journal(bytes: &[u8]) -> anyhow::Result<Vec<JournalEntry>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).context("a journal object is damaged")?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).context("a journal entry is damaged"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: i64, h: i64) -> i64 {
        (d * 86_400 + h * 3_600) * 1000
    }

    #[test]
    fn pruning_keeps_the_newest_of_each_day_and_month() {
        // Two a day for 70 days from 1970-01-01.
        let all: Vec<(String, i64)> =
            (0..70).flat_map(|d| [(format!("{d}a"), day(d, 1)), (format!("{d}b"), day(d, 13))]).collect();
        let gone = to_prune(&all, 3, 2);
        let kept: Vec<&String> = all.iter().map(|b| &b.0).filter(|k| !gone.contains(k)).collect();
        // Days 69, 68, 67 (their later backups); months March (day 69) and February's last (day 58).
        assert_eq!(kept, vec!["58b", "67b", "68b", "69b"]);
        let mut none_kept = to_prune(&all, 0, 0);
        none_kept.sort();
        let mut expected: Vec<String> = all.iter().filter(|b| b.0 != "69b").map(|b| b.0.clone()).collect();
        expected.sort();
        assert_eq!(none_kept, expected, "only the newest stays");
        assert!(to_prune(&[], 1, 1).is_empty());
    }

    #[test]
    fn journal_objects_round_trip() {
        let e =
            JournalEntry { tenant: uuid::Uuid::new_v4(), subject: Some(uuid::Uuid::new_v4()), record: None, at_ms: 5 };
        let bytes = encode_journal(&[e.clone(), e.clone()]).unwrap();
        assert_eq!(decode_journal(&bytes).unwrap(), vec![e.clone(), e]);
        assert!(decode_journal(b"not gzip").is_err());
        let key = journal_key(1234, uuid::Uuid::nil());
        assert_eq!(journal_key_time(&key), Some(1234));
    }
}
