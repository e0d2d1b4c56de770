//! The offline verifier (`varuh audit verify`). It trusts nothing stored:
//! it recomputes every leaf hash from the event body, checks that positions
//! run from 0 without a gap and that each event links to the one before,
//! rebuilds the tree, checks the signature of every stored tree head and
//! that the rebuilt tree has the signed root at each head's size (which
//! also proves consistency between successive heads), and checks heads
//! published outside the database the same way. It reports the first
//! position that fails.

use super::merkle::{self, Frontier, Hash};
use super::note::{self, Checkpoint, VerifierKey};
use super::hex;
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
}

impl Verifier {
    /// `heads`: the stored heads (tree size, root column, signed note);
    /// `published`: signed notes kept outside the database.
    pub fn new(key: &VerifierKey, heads: &[(u64, Vec<u8>, String)], published: &[String]) -> Verifier {
        let mut v = Verifier { frontier: Frontier::default(), prev: None, last_time: i64::MIN, checks: BTreeMap::new(), report: Report::default() };
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
                    v.checks.entry(c.size).or_default().push(Check { root: c.root, what: format!("stored tree head of size {}", c.size) });
                }
            }
        }
        for text in published {
            v.report.published_checked += 1;
            match note::open(text, key) {
                Err(e) => v.fail(None, format!("published tree head: {e}")),
                Ok(Checkpoint { size, root, .. }) => {
                    v.checks.entry(size).or_default().push(Check { root, what: format!("published tree head of size {size}") })
                }
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

    /// Feeds the next stored event (in seq order).
    pub fn event(&mut self, seq: i64, body: &[u8], stored_leaf: &[u8]) {
        let pos = self.frontier.size();
        if seq != pos as i64 {
            let what = if seq > pos as i64 { "missing (deleted)" } else { "duplicated or out of order" };
            self.fail(Some(pos), format!("event {pos} is {what}: the next stored event has seq {seq}"));
        }
        let leaf = merkle::leaf_hash(body);
        if stored_leaf != leaf {
            self.fail(Some(pos), format!("event {pos}: the stored leaf hash does not match its body (edited)"));
        }
        match link(body) {
            None => self.fail(Some(pos), format!("event {pos}: the body is not a varuh audit event")),
            Some((s, time, prev)) => {
                if s != pos {
                    self.fail(Some(pos), format!("event {pos}: the body says it is event {s} (moved, inserted or deleted)"));
                } else if prev != self.prev.map(|h| hex(&h)).unwrap_or_default() {
                    self.fail(Some(pos), format!("event {pos}: does not link to the event before it (inserted, removed or changed before it)"));
                }
                if time < self.last_time {
                    self.fail(Some(pos), format!("event {pos}: its time is earlier than the event before"));
                }
                self.last_time = time;
            }
        }
        self.frontier.push(leaf);
        self.prev = Some(leaf);
        let size = self.frontier.size();
        if let Some(checks) = self.checks.remove(&size) {
            let root = self.frontier.root();
            for c in checks {
                if c.root != root {
                    self.fail(Some(size - 1), format!("{}: the events up to {} do not hash to its signed root (history rewritten before it)", c.what, size - 1));
                }
            }
        }
    }

    pub fn finish(mut self) -> Report {
        let n = self.frontier.size();
        let beyond: Vec<(u64, Vec<Check>)> = std::mem::take(&mut self.checks).into_iter().collect();
        for (size, checks) in beyond {
            for c in checks {
                if size == 0 && c.root == merkle::empty_root() {
                    continue;
                }
                self.fail(Some(n), format!("{}: the log has only {n} events (events removed from the end, or the database rolled back)", c.what));
            }
        }
        self.report.events = n;
        self.report.root = Some(self.frontier.root());
        self.report
    }
}

/// The seq, time and prev of a body, read from the fixed prefix varuh
/// writes (`{"seq":N,"time":T,"prev":"…"`), without a full JSON parse.
fn link(body: &[u8]) -> Option<(u64, i64, String)> {
    let s = std::str::from_utf8(body).ok()?;
    let rest = s.strip_prefix("{\"seq\":")?;
    let (seq, rest) = rest.split_once(",\"time\":")?;
    let (time, rest) = rest.split_once(",\"prev\":\"")?;
    let (prev, _) = rest.split_once('"')?;
    Some((seq.parse().ok()?, time.parse().ok()?, prev.to_string()))
}

/// Reads published heads: a file of JSON Lines with a `checkpoint` field
/// (what varuh writes), or one bare signed note.
pub fn read_published(text: &str) -> Vec<String> {
    let lines: Vec<serde_json::Value> = text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect();
    if lines.is_empty() {
        return vec![text.to_string()];
    }
    lines.iter().filter_map(|v| v["checkpoint"].as_str().map(str::to_string)).collect()
}

/// Verifies the log stored in a database, page by page.
pub fn verify_store(db: &mut dyn crate::store::db::Db, key: &VerifierKey, published: &[String]) -> Result<Report, crate::store::StoreError> {
    use crate::store::queries;
    let heads: Vec<(u64, Vec<u8>, String)> = queries::audit_heads(db)?.into_iter().map(|h| (h.tree_size as u64, h.root, h.note)).collect();
    let mut v = Verifier::new(key, &heads, published);
    let mut from = 0i64;
    loop {
        let page = queries::audit_events_from(db, from, 50_000)?;
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        for r in &page {
            v.event(r.seq, &r.body, &r.leaf_hash);
        }
    }
    Ok(v.finish())
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
    let mut prev: Option<String> = None;
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
            .map(|a| a.iter().filter_map(|h| h.as_str().and_then(super::unhex)).filter_map(|b| b.try_into().ok()).collect())
            .unwrap_or_default();
        if !merkle::verify_inclusion(seq, head.size, &leaf, &proof, &head.root) {
            fail(&mut report, Some(seq), format!("event {seq}: not included in the signed tree head"));
        }
        match link(body.as_bytes()) {
            Some((s, _, p)) if s == seq => {
                if let Some(pr) = &prev {
                    if &p != pr {
                        fail(&mut report, Some(seq), format!("event {seq}: does not link to the event before it"));
                    }
                }
            }
            _ => fail(&mut report, Some(seq), format!("event {seq}: the body does not say it is event {seq}")),
        }
        prev = Some(hex(&leaf));
        expected = Some(seq.saturating_add(1));
        report.events += 1;
    }
    report.root = Some(head.root);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Draft, Event};
    use crate::crypto::MasterKey;

    fn log(n: u64) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
        let mut prev = String::new();
        (0..n)
            .map(|i| {
                let ev = Event { seq: i, time: 1000 + i as i64, prev: prev.clone(), what: Draft { action: "record.read".into(), outcome: "ok".into(), ..Default::default() } };
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
        assert_eq!(r.first().unwrap().position, Some(8), "{:?}", r.failures);
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
