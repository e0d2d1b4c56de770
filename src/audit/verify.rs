//! The offline verifier (`varuh audit verify`). It trusts nothing stored:
//! it recomputes every leaf hash from the event body, checks that positions
//! run from 0 without a gap and that each event links to the one before,
//! rebuilds the tree, checks the signature of every stored tree head and
//! that the rebuilt tree has the signed root at each head's size (which
//! also proves consistency between successive heads), and checks heads
//! published outside the database the same way. It reports the first
//! position that fails.

use super::hex;
use super::merkle::{self, Frontier, Hash};
use super::note::{self, Checkpoint, VerifierKey};
use std::collections::BTreeMap;

/// One thing found wrong. `position` is the first event involved, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub position: Option<u64>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub events: u64,
    pub heads_checked: u64,
    pub published_checked: u64,
    pub root: Option<Hash>,
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The failure at the lowest position (those without one come last).
    pub fn first(&self) -> Option<&Failure> {
        self.failures.iter().min_by_key(|f| f.position.unwrap_or(u64::MAX))
    }
}

/// A head to check against the rebuilt tree.
struct Check {
    root: Hash,
    what: String,
}

pub struct Verifier {
    frontier: Frontier,
    prev: Option<Hash>,
    last_time: i64,
    checks: BTreeMap<u64, Vec<Check>>,
    report: Report,
    /// A link found broken at this position, blamed once the next event is seen.
    broken_link: Option<u64>,
    /// The largest tree size whose head matched: events below it are intact.
    good_size: u64,
    /// Kept frontiers (where a restart resumes), checked against the rebuilt tree.
    frontiers: BTreeMap<u64, Vec<u8>>,
    /// An event with its source column filled was seen: every later one
    /// must have it too (only events from before the column may lack it).
    sourced: bool,
}

impl Verifier {
    /// `heads`: the stored heads (tree size, root column, signed note);
    /// `published`: signed notes kept outside the database.
    pub fn new(key: &VerifierKey, heads: &[(u64, Vec<u8>, String)], published: &[String]) -> Verifier {
        let mut v = Verifier {
            frontier: Frontier::default(),
            prev: None,
            last_time: i64::MIN,
            checks: BTreeMap::new(),
            report: Report::default(),
            broken_link: None,
            good_size: 0,
            sourced: false,
            frontiers: BTreeMap::new(),
        };
        let mut last: Option<(u64, Hash)> = None;
        for (size, root, text) in heads {
            v.report.heads_checked += 1;
            match note::open(text, key) {
                Err(e) => v.fail(None, format!("stored tree head of size {size}: {e}")),
                Ok(c) if c.size != *size || root.as_slice() != c.root => {
                    v.fail(None, format!("stored tree head of size {size}: its columns differ from its signed note"))
                }
                Ok(c) => {
                    if let Some((s, _)) = last {
                        if c.size <= s {
                            v.fail(None, format!("stored tree heads out of order at size {}", c.size));
                        }
                    }
                    last = Some((c.size, c.root));
                    v.checks
                        .entry(c.size)
                        .or_default()
                        .push(Check { root: c.root, what: format!("stored tree head of size {}", c.size) });
                }
            }
        }
        for text in published {
            v.report.published_checked += 1;
            match note::open(text, key) {
                Err(e) => v.fail(None, format!("published tree head: {e}")),
                Ok(Checkpoint { size, root, .. }) => v
                    .checks
                    .entry(size)
                    .or_default()
                    .push(Check { root, what: format!("published tree head of size {size}") }),
            }
        }
        v
    }

    fn fail(&mut self, position: Option<u64>, message: String) {
        // Keep the report short: the first failures tell where it starts.
        if self.report.failures.len() < 100 {
            self.report.failures.push(Failure { position, message });
        }
    }

    /// Checks that the columns queries filter on say what the (hashed) body
    /// says: otherwise an event could be hidden from "who has seen this
    /// person" while its leaf still verifies.
    pub fn columns(&mut self, pos: u64, body: &[u8], c: &crate::store::queries::AuditColumns) {
        let m = members(body);
        self.check_columns(pos, m.as_ref(), c);
    }

    fn check_columns(&mut self, pos: u64, m: Option<&Members>, c: &crate::store::queries::AuditColumns) {
        let source = match &c.source {
            None => !self.sourced,
            Some(col) => {
                self.sourced = true;
                m.is_some_and(|m| source_column(m.source) == *col)
            }
        };
        if !source {
            self.fail(Some(pos), format!("event {pos}: its source column differs from its body or is missing (edited to hide it from a scope by address)"));
        }
        let same = m.is_some_and(|m| {
            m.time == c.time_ms
                && same_value(m.tenant, c.tenant.as_deref())
                && same_value(m.actor, c.actor.as_deref())
                && same_value(m.action, Some(&c.action))
                && match m.subject {
                    Some(raw) => same_value(raw, c.subject.as_deref()) && c.subject.is_some(),
                    None => c.subject.is_none(),
                }
        });
        if !same {
            self.fail(Some(pos), format!("event {pos}: its query columns (time, tenant, actor, action, subject) differ from its body (edited to change what queries find)"));
        }
    }

    /// Feeds the next stored event (in seq order).
    pub fn event(&mut self, seq: i64, body: &[u8], stored_leaf: &[u8]) {
        self.event_with_columns(seq, body, stored_leaf, None)
    }

    /// Feeds the next stored event with its query columns, if it has them.
    pub fn event_with_columns(
        &mut self,
        seq: i64,
        body: &[u8],
        stored_leaf: &[u8],
        columns: Option<&crate::store::queries::AuditColumns>,
    ) {
        let pos = self.frontier.size();
        let parsed = members(body);
        if let Some(c) = columns {
            self.check_columns(pos, parsed.as_ref(), c);
        }
        let mut broken = false;
        let pending = self.broken_link.take();
        if seq != pos as i64 {
            let what = if seq > pos as i64 { "missing (deleted)" } else { "duplicated or out of order" };
            self.fail(Some(pos), format!("event {pos} is {what}: the next stored event has seq {seq}"));
        }
        let leaf = merkle::leaf_hash(body);
        if stored_leaf != leaf {
            self.fail(Some(pos), format!("event {pos}: the stored leaf hash does not match its body (edited)"));
        }
        match &parsed {
            None => self.fail(Some(pos), format!("event {pos}: the body is not a varuh audit event")),
            &Some(Members { seq: s, time, prev, .. }) => {
                if s != pos {
                    self.fail(
                        Some(pos),
                        format!("event {pos}: the body says it is event {s} (moved, inserted or deleted)"),
                    );
                } else if !links(prev, self.prev.as_ref()) {
                    // Which one changed, this event or the one before? The
                    // next event tells: if it still links to this one, this
                    // one is as written, and the one before was changed.
                    broken = true;
                }
                if time < self.last_time {
                    self.fail(Some(pos), format!("event {pos}: its time is earlier than the event before"));
                }
                self.last_time = time;
            }
        }
        if let Some(p) = pending {
            let prev_intact = parsed.as_ref().is_some_and(|m| links(m.prev, self.prev.as_ref()));
            self.blame_link(p, prev_intact);
        }
        if broken {
            self.broken_link = Some(pos);
        }
        self.frontier.push(leaf);
        self.prev = Some(leaf);
        let size = self.frontier.size();
        if let Some(kept) = self.frontiers.remove(&size) {
            if kept != self.frontier.to_bytes() {
                self.fail(Some(size - 1), format!("the kept frontier at tree size {size} does not match the events (appends after a restart would build on it)"));
            }
        }
        if let Some(checks) = self.checks.remove(&size) {
            if let Some(p) = self.broken_link.take() {
                self.blame_link(p, false);
            }
            let root = self.frontier.root();
            for c in checks {
                if c.root == root {
                    self.good_size = self.good_size.max(size);
                    continue;
                }
                let from = self.good_size;
                let located = self.report.failures.iter().any(|f| f.position.is_some_and(|p| p >= from && p < size));
                if located {
                    self.fail(
                        Some(size - 1),
                        format!("{}: the events up to {} do not hash to its signed root", c.what, size - 1),
                    );
                } else {
                    // Every link holds, so the chain itself was rewritten:
                    // the head can only bound where.
                    self.fail(
                        Some(from),
                        format!("{}: events {from} to {} do not hash to its signed root: at least one of them was changed and the links after it rewritten", c.what, size - 1),
                    );
                }
            }
        }
    }

    /// Reports a broken link at `p`: on event `p - 1` if event `p` is still
    /// vouched for by its successor (`next_links`), else on `p` itself.
    fn blame_link(&mut self, p: u64, next_links: bool) {
        if next_links && p > 0 {
            self.fail(
                Some(p - 1),
                format!("event {}: changed after it was written (event {p} recorded another hash for it)", p - 1),
            );
        } else {
            self.fail(
                Some(p),
                format!("event {p}: does not link to the event before it (inserted, removed or changed)"),
            );
        }
    }

    pub fn finish(mut self) -> Report {
        if let Some(p) = self.broken_link.take() {
            self.blame_link(p, false);
        }
        let n = self.frontier.size();
        for size in std::mem::take(&mut self.frontiers).into_keys() {
            self.fail(Some(n), format!("a frontier is kept at tree size {size}, but the log has only {n} events"));
        }
        let beyond: Vec<(u64, Vec<Check>)> = std::mem::take(&mut self.checks).into_iter().collect();
        for (size, checks) in beyond {
            for c in checks {
                if size == 0 && c.root == merkle::empty_root() {
                    continue;
                }
                self.fail(
                    Some(n),
                    format!(
                        "{}: the log has only {n} events (events removed from the end, or the database rolled back)",
                        c.what
                    ),
                );
            }
        }
        self.report.events = n;
        self.report.root = Some(self.frontier.root());
        self.report
    }
}

/// The members of a body that the verifier checks, read from the fixed
/// order in which varuh writes them (`seq`, `time`, `prev`, `request`,
/// `actor`, `role`, `tenant`, `action`, `outcome`, `source`, then
/// `subject` if any), without a full JSON parse. Values are raw JSON.
struct Members<'a> {
    seq: u64,
    time: i64,
    prev: &'a [u8],
    actor: &'a [u8],
    tenant: &'a [u8],
    action: &'a [u8],
    /// The raw JSON value: a string or `null`.
    source: &'a [u8],
    subject: Option<&'a [u8]>,
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn lit(&mut self, l: &[u8]) -> Option<()> {
        let end = self.i + l.len();
        (self.b.get(self.i..end)? == l).then(|| self.i = end)
    }
    /// One raw JSON value: a string (with its quotes), `null`, or a number.
    fn value(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if *self.b.get(self.i)? == b'"' {
            self.i += 1;
            loop {
                match *self.b.get(self.i)? {
                    b'\\' => self.i += 2,
                    b'"' => {
                        self.i += 1;
                        return Some(&self.b[start..self.i]);
                    }
                    _ => self.i += 1,
                }
            }
        }
        while self.b.get(self.i).is_some_and(|c| !matches!(c, b',' | b'}')) {
            self.i += 1;
        }
        (self.i > start).then(|| &self.b[start..self.i])
    }
    fn member(&mut self, name: &[u8]) -> Option<&'a [u8]> {
        self.lit(b",\"")?;
        self.lit(name)?;
        self.lit(b"\":")?;
        self.value()
    }
}

fn members(body: &[u8]) -> Option<Members<'_>> {
    let mut c = Cursor { b: body, i: 0 };
    c.lit(b"{\"seq\":")?;
    let seq = std::str::from_utf8(c.value()?).ok()?.parse().ok()?;
    let time = std::str::from_utf8(c.member(b"time")?).ok()?.parse().ok()?;
    let prev = c.member(b"prev")?;
    let prev = prev.get(1..prev.len().checked_sub(1)?)?;
    c.member(b"request")?;
    let actor = c.member(b"actor")?;
    c.member(b"role")?;
    let tenant = c.member(b"tenant")?;
    let action = c.member(b"action")?;
    c.member(b"outcome")?;
    let source = c.member(b"source")?;
    let subject = c.member(b"subject");
    Some(Members { seq, time, prev, actor, tenant, action, source, subject })
}

/// Whether `prev` (hex, "" for the first event) names this leaf hash.
fn links(prev: &[u8], last: Option<&Hash>) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    match last {
        None => prev.is_empty(),
        Some(h) => {
            prev.len() == 64
                && h.iter()
                    .zip(prev.chunks_exact(2))
                    .all(|(b, p)| p[0] == DIGITS[(b >> 4) as usize] && p[1] == DIGITS[(b & 15) as usize])
        }
    }
}

/// Whether a raw JSON value (string or null) says the same as a column.
/// The source column an event's raw `source` value calls for (what
/// `audit::source_column` wrote). An address never needs escaping in
/// JSON, so a value with a backslash is not one.
fn source_column(raw: &[u8]) -> String {
    match raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) {
        Some(inner) if !inner.contains(&b'\\') => super::source_column(std::str::from_utf8(inner).ok()),
        _ => String::new(),
    }
}

fn same_value(raw: &[u8], col: Option<&str>) -> bool {
    match col {
        None => raw == b"null",
        Some(s) => match raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) {
            Some(inner) if !inner.contains(&b'\\') => inner == s.as_bytes(),
            Some(_) => serde_json::from_slice::<String>(raw).is_ok_and(|v| v == s),
            None => false,
        },
    }
}

/// Reads published heads: a file of JSON Lines with a `checkpoint` field
/// (what varuh writes), or one bare signed note.
pub fn read_published(text: &str) -> Vec<String> {
    let lines: Vec<serde_json::Value> =
        text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect();
    if lines.is_empty() {
        return vec![text.to_string()];
    }
    lines.iter().filter_map(|v| v["checkpoint"].as_str().map(str::to_string)).collect()
}

/// Verifies the log stored in a database, page by page.
pub fn verify_store(
    db: &mut dyn crate::store::db::Db,
    key: &VerifierKey,
    published: &[String],
) -> Result<Report, crate::store::StoreError> {
    use crate::store::queries;
    let heads: Vec<(u64, Vec<u8>, String)> =
        queries::audit_heads(db)?.into_iter().map(|h| (h.tree_size as u64, h.root, h.note)).collect();
    let mut v = Verifier::new(key, &heads, published);
    v.frontiers = queries::audit_frontiers(db)?.into_iter().map(|(s, b)| (s as u64, b)).collect();
    let mut from = 0i64;
    // The subject index entries the events of the current run call for.
    let (mut run, mut entries) = (0i64, Vec::new());
    loop {
        let page = queries::audit_events_with_columns(db, from, 10_000)?;
        let Some((last, _)) = page.last() else { break };
        from = last.seq + 1;
        for (r, cols) in &page {
            while r.seq / queries::SUBJECT_RUN > run {
                check_subject_run(db, &mut v, run, &mut entries)?;
                run += 1;
            }
            if let Some(s) = &cols.subject {
                entries.push((cols.tenant.clone().unwrap_or_default(), s.clone(), r.seq));
            }
            v.event_with_columns(r.seq, &r.body, &r.leaf_hash, Some(cols));
        }
    }
    // The last run, complete or not, has the entries of its events (since
    // migration 0024, each written with its event); no run after it has any.
    if from > 0 {
        check_subject_run(db, &mut v, run, &mut entries)?;
        run += 1;
    }
    if let Some((r, seq)) = queries::first_subject_row_from(db, run)? {
        v.fail(
            Some(seq.max(0) as u64),
            format!("the subject index has a row for event {seq} (run {r}), past the last event"),
        );
    }
    Ok(v.finish())
}

/// Compares the stored subject index of one run with what its events (whose
/// columns are checked against their bodies) call for: a removed row would
/// hide an access from "who has seen this person", an added one invent it.
fn check_subject_run(
    db: &mut dyn crate::store::db::Db,
    v: &mut Verifier,
    run: i64,
    expected: &mut Vec<crate::store::queries::SubjectEntry>,
) -> Result<(), crate::store::StoreError> {
    let mut stored = crate::store::queries::subject_run_rows(db, run)?;
    stored.sort_unstable();
    expected.sort_unstable();
    if stored != *expected {
        let missing = expected.iter().filter(|e| stored.binary_search(e).is_err());
        let extra = stored.iter().filter(|e| expected.binary_search(e).is_err());
        let first = missing.chain(extra).map(|e| e.2).min().unwrap_or(run * crate::store::queries::SUBJECT_RUN);
        v.fail(Some(first.max(0) as u64), format!("event {first}: the subject index disagrees with the events (a row was removed, added or changed; subject queries would answer wrongly)"));
    }
    expected.clear();
    Ok(())
}

/// Verifies an export (JSON Lines from `GET /v1/audit/export`): the head's
/// signature, each event's leaf hash and its inclusion proof against the
/// head, that positions follow each other, and the links between events.
pub fn verify_export(text: &str, key: &VerifierKey) -> Report {
    let mut report = Report::default();
    let fail = |r: &mut Report, position: Option<u64>, message: String| r.failures.push(Failure { position, message });
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head: Option<Checkpoint> = lines
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["checkpoint"].as_str().map(str::to_string))
        .and_then(|n| note::open(&n, key).ok());
    let Some(head) = head else {
        fail(&mut report, None, "the export does not start with a tree head signed by this key".into());
        return report;
    };
    report.heads_checked = 1;
    let mut expected: Option<u64> = None;
    let mut prev: Option<Hash> = None;
    for line in lines {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                fail(&mut report, expected, "a line is not JSON".into());
                continue;
            }
        };
        let seq = v["seq"].as_u64().unwrap_or(u64::MAX);
        let pos = expected.unwrap_or(seq);
        if seq != pos {
            fail(&mut report, Some(pos), format!("event {pos} is missing or out of order: found {seq}"));
        }
        let body = v["body"].as_str().unwrap_or_default();
        let leaf = merkle::leaf_hash(body.as_bytes());
        if v["leaf_hash"].as_str() != Some(hex(&leaf).as_str()) {
            fail(&mut report, Some(seq), format!("event {seq}: the leaf hash does not match its body (edited)"));
        }
        let proof: Vec<Hash> = v["proof"]
            .as_array()
            .map(|a| {
                a.iter().filter_map(|h| h.as_str().and_then(super::unhex)).filter_map(|b| b.try_into().ok()).collect()
            })
            .unwrap_or_default();
        if !merkle::verify_inclusion(seq, head.size, &leaf, &proof, &head.root) {
            fail(&mut report, Some(seq), format!("event {seq}: not included in the signed tree head"));
        }
        match members(body.as_bytes()) {
            Some(m) if m.seq == seq => {
                if prev.is_some() && !links(m.prev, prev.as_ref()) {
                    fail(&mut report, Some(seq), format!("event {seq}: does not link to the event before it"));
                }
            }
            _ => fail(&mut report, Some(seq), format!("event {seq}: the body does not say it is event {seq}")),
        }
        prev = Some(leaf);
        expected = Some(seq.saturating_add(1));
        report.events += 1;
    }
    report.root = Some(head.root);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verifier reads the source column an event calls for from its
    /// raw JSON exactly as the appender wrote it.
    #[test]
    fn the_source_column_is_the_bodys_address_in_canonical_form() {
        for (raw, col) in [
            (&b"\"10.1.1.3\""[..], "10.1.1.3"),
            (b"\"2001:DB8:0::1\"", "2001:db8::1"),
            (b"null", ""),
            (b"\"local\"", ""),
            (b"\"10.1.1.3\\u0000\"", ""),
        ] {
            assert_eq!(source_column(raw), col, "{}", String::from_utf8_lossy(raw));
            let s: Option<String> = serde_json::from_slice(raw).unwrap();
            assert_eq!(crate::audit::source_column(s.as_deref()), col);
        }
    }
    use crate::audit::{Draft, Event};
    use crate::crypto::MasterKey;

    fn log(n: u64) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
        let mut prev = String::new();
        (0..n)
            .map(|i| {
                let ev = Event {
                    seq: i,
                    time: 1000 + i as i64,
                    prev: prev.clone(),
                    what: Draft { action: "record.read".into(), outcome: "ok".into(), ..Default::default() },
                };
                let body = serde_json::to_vec(&ev).unwrap();
                let leaf = merkle::leaf_hash(&body);
                prev = hex(&leaf);
                (i as i64, body, leaf.to_vec())
            })
            .collect()
    }

    fn run(events: &[(i64, Vec<u8>, Vec<u8>)], heads: &[(u64, Vec<u8>, String)], key: &VerifierKey) -> Report {
        let mut v = Verifier::new(key, heads, &[]);
        for (s, b, l) in events {
            v.event(*s, b, l);
        }
        v.finish()
    }

    #[test]
    fn query_columns_must_match_the_body_even_with_awkward_strings() {
        let (t, a, subj) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let ev = Event {
            seq: 0,
            time: 1234,
            prev: String::new(),
            what: Draft {
                // Client-chosen request ids may hold quotes, backslashes and look-alike members.
                request: r#"x\","action":"auth.login","subject":"#.into(),
                actor: Some(a),
                role: Some("operator".into()),
                tenant: Some(t),
                action: "record.read".into(),
                outcome: "ok".into(),
                source: Some("127.0.0.1".into()),
                subject: Some(subj),
                detail: Some(r#"say "subject":null"#.into()),
                ..Default::default()
            },
        };
        let body = serde_json::to_vec(&ev).unwrap();
        let m = members(&body).expect("parses");
        assert_eq!((m.seq, m.time), (0, 1234));
        let cols = |time: i64,
                    tenant: Option<uuid::Uuid>,
                    actor: Option<uuid::Uuid>,
                    action: &str,
                    subject: Option<uuid::Uuid>| crate::store::queries::AuditColumns {
            time_ms: time,
            tenant: tenant.map(|u| u.to_string()),
            actor: actor.map(|u| u.to_string()),
            action: action.into(),
            subject: subject.map(|u| u.to_string()),
            source: Some("127.0.0.1".into()),
        };
        let check = |c: crate::store::queries::AuditColumns| {
            let mut v = Verifier::new(&VerifierKey { name: "k".into(), public_key: [0; 32] }, &[], &[]);
            v.columns(0, &body, &c);
            v.report.failures.is_empty()
        };
        assert!(check(cols(1234, Some(t), Some(a), "record.read", Some(subj))));
        assert!(!check(cols(1234, Some(t), Some(a), "record.read", None)), "subject removed from the index");
        assert!(!check(cols(1234, Some(t), Some(a), "auth.login", Some(subj))), "action changed");
        assert!(!check(cols(1234, Some(t), Some(a), "record.read", Some(t))), "subject changed");
        assert!(!check(cols(1234, None, Some(a), "record.read", Some(subj))), "tenant removed");
        assert!(!check(cols(1234, Some(t), Some(t), "record.read", Some(subj))), "actor changed");
        assert!(!check(cols(99, Some(t), Some(a), "record.read", Some(subj))), "time changed");
        let moved = crate::store::queries::AuditColumns {
            source: Some("10.9.9.9".into()),
            ..cols(1234, Some(t), Some(a), "record.read", Some(subj))
        };
        assert!(!check(moved), "source changed");
        // Before the source column existed: none, as long as none came before.
        let old = crate::store::queries::AuditColumns {
            source: None,
            ..cols(1234, Some(t), Some(a), "record.read", Some(subj))
        };
        assert!(check(old));
    }

    #[test]
    fn an_intact_log_verifies_and_each_kind_of_tampering_is_located() {
        let mk = MasterKey::parse(&"33".repeat(32)).unwrap();
        let signer = mk.audit_signer();
        let key = VerifierKey { name: "test/audit".into(), public_key: signer.public_key() };
        let events = log(50);
        let leaves: Vec<Hash> = events.iter().map(|e| e.2.clone().try_into().unwrap()).collect();
        let head = |n: usize| {
            let c = Checkpoint { origin: "test/audit".into(), size: n as u64, root: merkle::root(&leaves[..n]) };
            (n as u64, c.root.to_vec(), note::sign(&c, "test/audit", &signer))
        };
        let heads = vec![head(20), head(50)];
        let r = run(&events, &heads, &key);
        assert!(r.ok(), "{:?}", r.failures);
        assert_eq!((r.events, r.heads_checked), (50, 2));

        // Edited body, leaf hash left alone.
        let mut e = events.clone();
        e[7].1 = String::from_utf8(e[7].1.clone()).unwrap().replace("record.read", "record.list").into_bytes();
        assert_eq!(run(&e, &heads, &key).first().unwrap().position, Some(7));
        // Edited body with a recomputed leaf hash: the next link and the head catch it.
        let mut e = events.clone();
        e[7].1 = String::from_utf8(e[7].1.clone()).unwrap().replace("record.read", "record.list").into_bytes();
        e[7].2 = merkle::leaf_hash(&e[7].1).to_vec();
        let r = run(&e, &heads, &key);
        assert_eq!(r.first().unwrap().position, Some(7), "{:?}", r.failures);
        // Only the prev link of event 8 edited (and its hash redone): 8 is blamed, not 7.
        let mut e = events.clone();
        let b8 = String::from_utf8(e[8].1.clone()).unwrap();
        let old_prev = hex(&e[7].2);
        e[8].1 = b8.replace(&old_prev, &"0".repeat(64)).into_bytes();
        e[8].2 = merkle::leaf_hash(&e[8].1).to_vec();
        let r = run(&e, &heads, &key);
        assert_eq!(r.first().unwrap().position, Some(8), "{:?}", r.failures);
        // Edited, and every later link rewritten to match: only the heads
        // catch it, and the last good head bounds where.
        let mut e = events.clone();
        e[7].1 = String::from_utf8(e[7].1.clone()).unwrap().replace("record.read", "record.list").into_bytes();
        e[7].2 = merkle::leaf_hash(&e[7].1).to_vec();
        for i in 8..e.len() {
            let body = String::from_utf8(e[i].1.clone()).unwrap().replace(&hex(&events[i - 1].2), &hex(&e[i - 1].2));
            e[i].1 = body.into_bytes();
            e[i].2 = merkle::leaf_hash(&e[i].1).to_vec();
        }
        let heads3 = vec![head(5), head(20), head(50)];
        let r = run(&e, &heads3, &key);
        assert_eq!(r.first().unwrap().position, Some(5), "{:?}", r.failures);
        assert!(r.first().unwrap().message.contains("events 5 to 19"), "{:?}", r.failures);
        // Deleted.
        let mut e = events.clone();
        e.remove(12);
        assert_eq!(run(&e, &heads, &key).first().unwrap().position, Some(12));
        // Reordered (bodies swapped, seq column kept).
        let mut e = events.clone();
        let (b30, b31) = (e[30].clone(), e[31].clone());
        e[30] = (30, b31.1, b31.2);
        e[31] = (31, b30.1, b30.2);
        assert_eq!(run(&e, &heads, &key).first().unwrap().position, Some(30));
        // Inserted.
        let mut e = events.clone();
        e.insert(40, (40, b"{\"seq\":40}".to_vec(), merkle::leaf_hash(b"{\"seq\":40}").to_vec()));
        for (i, x) in e.iter_mut().enumerate() {
            x.0 = i as i64;
        }
        assert_eq!(run(&e, &heads, &key).first().unwrap().position, Some(40));
        // Truncated at the end: the last head is beyond the log.
        let r = run(&events[..45], &heads, &key);
        assert!(!r.ok());
        assert_eq!(r.first().unwrap().position, Some(45));
        // A forged head (signed by another key).
        let other = MasterKey::parse(&"44".repeat(32)).unwrap().audit_signer();
        let c = Checkpoint { origin: "test/audit".into(), size: 50, root: merkle::root(&leaves) };
        let forged = vec![(50, c.root.to_vec(), note::sign(&c, "test/audit", &other))];
        assert!(!run(&events, &forged, &key).ok());
    }
}
