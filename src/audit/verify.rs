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
