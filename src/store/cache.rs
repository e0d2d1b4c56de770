//! A server's cache of sealed records (PostgreSQL): a read by id answered
//! from memory instead of a round trip to the database, never staler than
//! the audit trail allows.
//!
//! Every change to a record, to a subject's key or to its limits is made by
//! a use case whose audit event commits in the same transaction. The trail
//! is therefore the cache's invalidation log:
//! - this server's own events drop what they name just before their batch
//!   commits and again after (`begin`, `end`); in between, those records
//!   are not served from memory;
//! - other servers' events arrive when this server's appender catches up,
//!   which every batch it writes does first (a read's own event included);
//! - a read answered from memory is checked again once its own event is
//!   durable (`still`): if an event before it in the log dropped the
//!   record, the read goes to the database. A read from memory is thus as
//!   of its event's place in the log, like a read from the database;
//! - a record read from the database is kept only if nothing dropped its
//!   subject while the read was on its way (`ticket`, `fill`).
//!
//! What an event drops ([`effect`]): nothing for reads and for actions that
//! touch no record; the records of the subject it names for the actions
//! that change one subject; every record of its tenant (or of every tenant)
//! for anything else. The cache holds ciphertext only (the rows as stored,
//! with the subject's wrapped key), and at most `max` bytes of them (their
//! ciphertext and a fixed share for the maps): when full, a sixteenth of
//! the records is dropped.

use super::queries::SealedRecord;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use uuid::Uuid;

/// What an event drops from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The records of one subject of one tenant.
    Subject(Uuid, Uuid),
    /// Every record of a tenant.
    Tenant(Uuid),
    /// Every record.
    All,
}

/// Actions that change no record, no subject key and no limit: their
/// events leave the cache alone. A name ending in `.` is a prefix.
const LEAVES_ALONE: &[&str] = &[
    "auth.",
    "staff.",
    "apikey.",
    "policy.",
    "approval.list",
    "tenant.create",
    "tenant.list",
    "tenant.read",
    "tenant.settings.",
    "tenant.incident_reset",
    "collection.",
    "subject.read",
    "subject.lookup",
    "subject.search",
    "subject.records.read",
    "subject.seen",
    "subject.access_report",
    "subject.portability",
    "subject.limit.list",
    "subject.disclosures",
    "request.",
    "consent.notice.",
    "consent.history",
    "consent.may",
    "consent.may_bulk",
    "recipient.",
    "disclosure.record",
    "record.read",
    "record.list",
    "records.export",
    "records.anonymised",
    "legal_hold.",
    "breach.",
    "processor.",
    "ropa.",
    "staff_register.",
    "toms.",
    "audit.",
    "backup.create",
    "backup.list",
];

/// Actions that change the records, key or limits of the one subject their
/// event names (without one: the whole tenant).
const ONE_SUBJECT: &[&str] = &[
    "record.create",
    "record.update",
    "record.delete",
    "subject.find_or_create",
    "subject.erase",
    "subject.limit.set",
    "subject.limit.lift",
    "consent.record",
    "retention.event",
];

/// What an event of `action` drops. Any action not listed above (a merge,
/// a split, an import, a retention run, an approval carried out, a
/// restore, or one added later) drops its tenant, or everything.
pub fn effect(action: &str, tenant: Option<Uuid>, subject: Option<Uuid>) -> Option<Effect> {
    let listed = |l: &[&str]| l.iter().any(|n| if n.ends_with('.') { action.starts_with(n) } else { action == *n });
    if listed(LEAVES_ALONE) {
        return None;
    }
    Some(match (tenant, subject) {
        (Some(t), Some(s)) if listed(ONE_SUBJECT) => Effect::Subject(t, s),
        (Some(t), _) => Effect::Tenant(t),
        (None, _) => Effect::All,
    })
}

/// The effect of an event as the appender reads it back from the log.
pub fn effect_of_row(action: &str, tenant: &str, subject: Option<&str>) -> Option<Effect> {
    let tenant = if tenant.is_empty() { None } else { Some(tenant.parse::<Uuid>().ok()) };
    let subject = subject.map(|s| s.parse::<Uuid>().ok());
    match (tenant, subject) {
        // A column varuh did not write: drop everything.
        (Some(None), _) | (_, Some(None)) => effect(action, None, None).map(|_| Effect::All),
        (t, s) => effect(action, t.flatten(), s.flatten()),
    }
}

/// How many drops are remembered for `fill`: a read from the database that
/// saw more drops than this while on its way is not kept.
const RECENT: usize = 4096;

pub struct RecordCache {
    inner: Mutex<Inner>,
    /// Bytes kept at most (`size_of`).
    max: usize,
    /// Reads answered from memory, and not.
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// (tenant, record id) → the record and the stamp it was kept with.
    map: HashMap<(Uuid, Uuid), (SealedRecord, u64)>,
    /// (tenant, subject) → its records in `map`.
    by_subject: HashMap<(Uuid, Uuid), Vec<Uuid>>,
    /// Drops so far; the last `RECENT` of them.
    drops: u64,
    recent: VecDeque<Effect>,
    /// Changes begun and not yet ended (their batch is committing).
    pending: HashMap<Effect, u32>,
    stamps: u64,
    /// `size_of` of every record kept.
    bytes: usize,
}

/// What a kept record costs in memory: its ciphertext and wrapped key, and
/// about 200 bytes for its row, its map entries and allocations.
fn size_of(r: &SealedRecord) -> usize {
    r.record.fields.len() + r.subject_key.len() + 200
}

impl Effect {
    fn covers(&self, tenant: Uuid, subject: Uuid) -> bool {
        match *self {
            Effect::Subject(t, s) => t == tenant && s == subject,
            Effect::Tenant(t) => t == tenant,
            Effect::All => true,
        }
    }
}

impl Inner {
    fn pending_on(&self, tenant: Uuid, subject: Uuid) -> bool {
        !self.pending.is_empty()
            && (self.pending.contains_key(&Effect::Subject(tenant, subject))
                || self.pending.contains_key(&Effect::Tenant(tenant))
                || self.pending.contains_key(&Effect::All))
    }

    fn remove(&mut self, tenant: Uuid, id: Uuid) {
        if let Some((r, _)) = self.map.remove(&(tenant, id)) {
            self.bytes -= size_of(&r);
            let key = (tenant, r.record.subject_id);
            if let Some(ids) = self.by_subject.get_mut(&key) {
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    self.by_subject.remove(&key);
                }
            }
        }
    }

    fn discard(&mut self, e: Effect) {
        match e {
            Effect::Subject(t, s) => {
                for id in self.by_subject.remove(&(t, s)).unwrap_or_default() {
                    if let Some((r, _)) = self.map.remove(&(t, id)) {
                        self.bytes -= size_of(&r);
                    }
                }
            }
            Effect::Tenant(t) => {
                let mut freed = 0;
                self.map.retain(|k, (r, _)| {
                    let keep = k.0 != t;
                    if !keep {
                        freed += size_of(r);
                    }
                    keep
                });
                self.bytes -= freed;
                self.by_subject.retain(|k, _| k.0 != t);
            }
            Effect::All => {
                self.map.clear();
                self.by_subject.clear();
                self.bytes = 0;
            }
        }
        self.drops += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(e);
    }
}

impl RecordCache {
    /// A cache of at most `max` bytes of records.
    pub fn new(max: usize) -> RecordCache {
        RecordCache { inner: Mutex::default(), max, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The record `id` of `tenant` and the stamp to check it with after its
    /// read's event is durable (`still`); `None`: read the database.
    pub fn get(&self, tenant: Uuid, id: Uuid) -> Option<(SealedRecord, u64)> {
        let g = self.lock();
        let hit = g.map.get(&(tenant, id)).filter(|(r, _)| !g.pending_on(tenant, r.record.subject_id));
        let n = if hit.is_some() { &self.hits } else { &self.misses };
        n.fetch_add(1, Ordering::Relaxed);
        hit.map(|(r, stamp)| (r.clone(), *stamp))
    }

    /// Whether the record served with `stamp` is still the one kept: no
    /// event has dropped it since.
    pub fn still(&self, tenant: Uuid, id: Uuid, subject: Uuid, stamp: u64) -> bool {
        let g = self.lock();
        !g.pending_on(tenant, subject) && g.map.get(&(tenant, id)).is_some_and(|(_, s)| *s == stamp)
    }

    /// Taken before a read from the database whose answer may be kept.
    pub fn ticket(&self) -> u64 {
        self.lock().drops
    }

    /// Keeps `r`, read from the database after `ticket`, unless something
    /// that covers it was dropped since or is being changed.
    pub fn fill(&self, ticket: u64, r: &SealedRecord) {
        self.fill_allowing(ticket, r, 0)
    }

    /// Keeps `r`, the first record of a new subject, just written by this
    /// server (`ticket` taken before the write), unless anything but the
    /// write's own change covered it since: its batch drops its subject
    /// once before the commit and once after (`begin`, `end`), and any
    /// other change meanwhile is one drop more.
    pub fn fill_written(&self, ticket: u64, r: &SealedRecord) {
        self.fill_allowing(ticket, r, 2)
    }

    fn fill_allowing(&self, ticket: u64, r: &SealedRecord, own: usize) {
        let (tenant, id, subject) = (r.record.tenant_id, r.record.id, r.record.subject_id);
        let mut g = self.lock();
        let since = g.drops.saturating_sub(ticket) as usize;
        if since > g.recent.len() || g.pending_on(tenant, subject) {
            return;
        }
        if g.recent.iter().rev().take(since).filter(|e| e.covers(tenant, subject)).count() > own {
            return;
        }
        let size = size_of(r);
        if size > self.max / 16 {
            return;
        }
        g.remove(tenant, id);
        if g.bytes + size > self.max {
            let out: Vec<(Uuid, Uuid)> = g.map.keys().take(g.map.len().div_ceil(16)).copied().collect();
            for (t, x) in out {
                g.remove(t, x);
            }
        }
        g.stamps += 1;
        let stamp = g.stamps;
        g.bytes += size;
        g.map.insert((tenant, id), (r.clone(), stamp));
        g.by_subject.entry((tenant, subject)).or_default().push(id);
    }

    /// Changes are about to commit: what they cover is dropped and not
    /// served or kept until `end`.
    pub fn begin(&self, effects: &[Effect]) {
        if effects.is_empty() {
            return;
        }
        let mut g = self.lock();
        for e in effects {
            *g.pending.entry(*e).or_default() += 1;
            g.discard(*e);
        }
    }

    /// The batch of `begin` has committed (or failed): dropped once more
    /// (a read from the database may have kept the old row meanwhile).
    pub fn end(&self, effects: &[Effect]) {
        if effects.is_empty() {
            return;
        }
        let mut g = self.lock();
        for e in effects {
            if let Some(n) = g.pending.get_mut(e) {
                *n -= 1;
                if *n == 0 {
                    g.pending.remove(e);
                }
            }
            g.discard(*e);
        }
    }

    /// What another server's events drop.
    pub fn discard(&self, effects: impl IntoIterator<Item = Effect>) {
        let mut g = self.lock();
        for e in effects {
            g.discard(e);
        }
    }

    /// Records kept now.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Their size (`size_of`).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::RecordRow;

    fn rec(tenant: Uuid, subject: Uuid) -> SealedRecord {
        SealedRecord {
            record: RecordRow {
                tenant_id: tenant,
                id: Uuid::new_v4(),
                collection_id: Uuid::nil(),
                subject_id: subject,
                fields: vec![1, 2, 3],
                version: 1,
                created_at: 0,
                updated_at: 0,
            },
            subject_key: vec![9],
            limited: false,
        }
    }

    #[test]
    fn every_listed_action_exists() {
        use crate::domain::access::Action;
        for n in LEAVES_ALONE.iter().chain(ONE_SUBJECT) {
            let hit =
                Action::ALL.iter().any(|a| if n.ends_with('.') { a.name().starts_with(n) } else { a.name() == *n });
            assert!(hit, "{n} names no action");
        }
        // The changes of one subject are not also left alone.
        for n in ONE_SUBJECT {
            assert!(effect(n, Some(Uuid::nil()), Some(Uuid::nil())).is_some(), "{n}");
        }
    }

    #[test]
    fn effects_follow_the_action() {
        let (t, s) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(effect("record.read", Some(t), Some(s)), None);
        assert_eq!(effect("auth.login", None, None), None);
        assert_eq!(effect("record.update", Some(t), Some(s)), Some(Effect::Subject(t, s)));
        assert_eq!(effect("record.update", Some(t), None), Some(Effect::Tenant(t)));
        assert_eq!(effect("subject.merge", Some(t), Some(s)), Some(Effect::Tenant(t)));
        assert_eq!(effect("records.import", Some(t), None), Some(Effect::Tenant(t)));
        assert_eq!(effect("backup.restore", None, None), Some(Effect::All));
        assert_eq!(effect("something.new", Some(t), Some(s)), Some(Effect::Tenant(t)));
        assert_eq!(effect_of_row("subject.erase", &t.to_string(), Some(&s.to_string())), Some(Effect::Subject(t, s)));
        assert_eq!(effect_of_row("subject.erase", "not-a-uuid", None), Some(Effect::All));
        assert_eq!(effect_of_row("record.read", "", None), None);
    }

    #[test]
    fn a_drop_removes_what_it_covers_and_nothing_else() {
        let c = RecordCache::new(1 << 20);
        let (t, u) = (Uuid::new_v4(), Uuid::new_v4());
        let (s1, s2) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, b, other) = (rec(t, s1), rec(t, s2), rec(u, s1));
        for r in [&a, &b, &other] {
            c.fill(c.ticket(), r);
        }
        assert_eq!(c.len(), 3);
        c.discard([Effect::Subject(t, s1)]);
        assert!(c.get(t, a.record.id).is_none());
        assert!(c.get(t, b.record.id).is_some());
        assert!(c.get(u, other.record.id).is_some(), "another tenant's subject of the same id stays");
        c.discard([Effect::Tenant(t)]);
        assert!(c.get(t, b.record.id).is_none());
        assert_eq!(c.len(), 1);
        c.discard([Effect::All]);
        assert!(c.is_empty());
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let c = RecordCache::new(1 << 20);
        let t = Uuid::new_v4();
        let (s, elsewhere) = (Uuid::new_v4(), Uuid::new_v4());
        let r = rec(t, s);
        // Read from the database while the subject changed: not kept.
        let ticket = c.ticket();
        c.discard([Effect::Subject(t, s)]);
        c.fill(ticket, &r);
        assert!(c.get(t, r.record.id).is_none());
        // A change to another subject meanwhile does not matter.
        let ticket = c.ticket();
        c.discard([Effect::Subject(t, elsewhere)]);
        c.fill(ticket, &r);
        assert!(c.get(t, r.record.id).is_some());
        // More drops meanwhile than are remembered: not kept.
        c.discard([Effect::All]);
        let ticket = c.ticket();
        for _ in 0..=RECENT {
            c.discard([Effect::Subject(t, elsewhere)]);
        }
        c.fill(ticket, &r);
        assert!(c.get(t, r.record.id).is_none());
    }

    #[test]
    fn a_new_subjects_record_is_kept_after_its_own_write_only() {
        let c = RecordCache::new(1 << 20);
        let (t, s) = (Uuid::new_v4(), Uuid::new_v4());
        let r = rec(t, s);
        let write = |c: &RecordCache| {
            c.begin(&[Effect::Subject(t, s)]);
            c.end(&[Effect::Subject(t, s)]);
        };
        let ticket = c.ticket();
        write(&c);
        c.fill_written(ticket, &r);
        assert!(c.get(t, r.record.id).is_some(), "its own write alone: kept");
        c.discard([Effect::All]);
        // Another change of the subject after the write (here or on another
        // server) before the record is kept: not kept.
        for other in [Effect::Subject(t, s), Effect::Tenant(t), Effect::All] {
            let ticket = c.ticket();
            write(&c);
            c.discard([other]);
            c.fill_written(ticket, &r);
            assert!(c.get(t, r.record.id).is_none(), "{other:?}");
        }
    }

    #[test]
    fn while_a_change_commits_nothing_it_covers_is_served_or_kept() {
        let c = RecordCache::new(1 << 20);
        let (t, s) = (Uuid::new_v4(), Uuid::new_v4());
        let r = rec(t, s);
        c.fill(c.ticket(), &r);
        let (_, stamp) = c.get(t, r.record.id).expect("kept");
        assert!(c.still(t, r.record.id, s, stamp));
        c.begin(&[Effect::Subject(t, s)]);
        assert!(c.get(t, r.record.id).is_none());
        assert!(!c.still(t, r.record.id, s, stamp), "a read served before the change is checked again");
        c.fill(c.ticket(), &r);
        assert!(c.get(t, r.record.id).is_none(), "not kept while the change commits");
        c.end(&[Effect::Subject(t, s)]);
        c.fill(c.ticket(), &r);
        let (_, again) = c.get(t, r.record.id).expect("kept after");
        assert_ne!(again, stamp, "kept anew, with a new stamp");
        assert!(!c.still(t, r.record.id, s, stamp));
    }

    #[test]
    fn it_keeps_at_most_its_bound() {
        let one = size_of(&rec(Uuid::nil(), Uuid::nil()));
        let c = RecordCache::new(160 * one);
        let t = Uuid::new_v4();
        let all: Vec<_> = (0..1000).map(|_| rec(t, Uuid::new_v4())).collect();
        for r in &all {
            c.fill(c.ticket(), r);
            assert!(c.len() <= 160 && c.bytes() <= 160 * one, "{} records, {} bytes", c.len(), c.bytes());
        }
        assert_eq!(c.bytes(), c.len() * one);
        let kept = all.iter().filter(|r| c.get(t, r.record.id).is_some()).count();
        assert_eq!(kept, c.len());
        assert!(kept > 100, "{kept}");
        // The subject index follows evictions: dropping everything of the
        // tenant leaves nothing behind.
        c.discard([Effect::Tenant(t)]);
        assert!(c.is_empty());
        assert_eq!(c.bytes(), 0);
        assert!(c.lock().by_subject.is_empty());
    }
}
