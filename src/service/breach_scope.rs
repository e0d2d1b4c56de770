//! A breach's scope from the audit trail (BRE-3): given a compromised
//! account, API key or source address and a time window, what it touched
//! — the subjects, the collections with their record counts, the fields
//! and so the data categories, the exports — read from the events
//! themselves (only those that succeeded and concern personal data). For
//! a tenant, or for the processor across every tenant, with each affected
//! tenant and the DPO contact its notice goes to. The numbers can be
//! written into a breach (`prefill`).

use super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::breach::BreachDetails;
use crate::domain::Invalid;
use crate::store::queries;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use uuid::Uuid;

/// Subject ids listed in a scope (all are counted).
const MAX_LISTED: usize = 1000;
/// The longest window a scope reads.
const MAX_WINDOW_MS: i64 = 366 * 86_400_000;

/// What was compromised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeBy {
    Account(Uuid),
    ApiKey(Uuid),
    Source(std::net::IpAddr),
}

#[derive(Debug, Clone)]
pub struct ScopeQuery {
    pub by: ScopeBy,
    pub from: i64,
    pub to: i64,
}

/// One collection as touched.
#[derive(Debug, Clone, Default)]
pub struct CollectionTouched {
    pub tenant: Uuid,
    pub collection: String,
    /// Distinct records and subjects in its events.
    pub records: u64,
    pub subjects: u64,
    /// Whole-collection exports (their records are not listed one by one).
    pub exports: u64,
    pub fields: Vec<String>,
    pub data_categories: Vec<String>,
    pub subject_categories: Vec<String>,
}

/// One tenant as touched (the processor's list of controllers to notify).
#[derive(Debug, Clone, Default)]
pub struct TenantTouched {
    pub tenant: Uuid,
    pub name: String,
    pub dpo_email: Option<String>,
    pub subjects: u64,
    pub records: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub events_examined: u64,
    /// Events that succeeded and concern personal data.
    pub events_matched: u64,
    pub subjects: u64,
    /// The first subjects touched, in the order met.
    pub subject_ids: Vec<Uuid>,
    pub records: u64,
    pub collections: Vec<CollectionTouched>,
    pub data_categories: Vec<String>,
    pub subject_categories: Vec<String>,
    pub tenants: Vec<TenantTouched>,
    pub notes: Vec<String>,
}

/// What a scope reads of an event (borrowed from its body where it can:
/// millions are read). Serialised as `audit::Event`; the rest is skipped.
#[derive(serde::Deserialize)]
struct Seen<'a> {
    #[serde(borrow)]
    outcome: Cow<'a, str>,
    tenant: Option<Uuid>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(default)]
    subject: Option<Uuid>,
    #[serde(default, borrow)]
    collection: Option<Cow<'a, str>>,
    #[serde(default)]
    record: Option<Uuid>,
    #[serde(default, borrow)]
    fields: Vec<Cow<'a, str>>,
}

/// How an event's body names its source address. These bytes cannot occur
/// inside a JSON string (its quotes would be escaped there), so the first
/// match is the event's own `source`.
const SOURCE_KEY: &[u8] = b"\"source\":\"";

/// The source address of an event's body, found without parsing the rest.
fn source_of(key: &memchr::memmem::Finder, body: &[u8]) -> Option<std::net::IpAddr> {
    let at = key.find(body)? + SOURCE_KEY.len();
    let len = memchr::memchr(b'"', &body[at..])?;
    std::str::from_utf8(&body[at..at + len]).ok()?.parse().ok()
}

#[derive(Default)]
struct Tally {
    records: HashSet<Uuid>,
    subjects: HashSet<Uuid>,
    exports: u64,
    fields: BTreeSet<String>,
    /// An event named no fields (a subject's records read whole): all of them.
    all_fields: bool,
}

/// What one stretch of the log shows of a compromised account or address.
#[derive(Default)]
struct Part {
    examined: u64,
    matched: u64,
    tallies: BTreeMap<(Uuid, String), Tally>,
    /// Subjects in the order first met.
    order: Vec<(Uuid, Uuid)>,
    seen: HashSet<(Uuid, Uuid)>,
    /// Reads of a subject's records in every collection at once.
    whole: BTreeSet<(Uuid, Uuid)>,
}

impl Part {
    /// Events `lo..hi` of one tenant (or all), of one actor (or any), from
    /// one address (or any); `by_column`: the address is looked up by its
    /// column's index (events appended since the column exists).
    fn scan(
        db: &mut dyn crate::store::db::Db,
        tenant: Option<Uuid>,
        actor: Option<Uuid>,
        source: Option<std::net::IpAddr>,
        by_column: Option<std::net::IpAddr>,
        lo: i64,
        hi: i64,
    ) -> std::result::Result<Part, crate::store::StoreError> {
        let mut p = Part::default();
        let needle = memchr::memmem::Finder::new(SOURCE_KEY);
        queries::scan_audit_range(db, tenant, actor, by_column, lo, hi, &mut |body| {
            p.examined += 1;
            // By address: most events are someone else's, told apart by
            // their source alone, without parsing them.
            if let Some(ip) = source {
                if source_of(&needle, body) != Some(ip) {
                    return Ok(());
                }
            }
            if let Ok(w) = serde_json::from_slice::<Seen>(body) {
                p.take(w);
            }
            Ok(())
        })?;
        Ok(p)
    }

    fn take(&mut self, w: Seen) {
        if w.outcome != "ok" {
            return;
        }
        let data = Action::parse(&w.action).is_some_and(|a| a.rule().op.is_some());
        let (Some(t), true) = (w.tenant, data) else { return };
        self.matched += 1;
        if let Some(s) = w.subject {
            if self.seen.insert((t, s)) {
                self.order.push((t, s));
            }
        }
        let Some(c) = w.collection.map(|c| c.into_owned()) else {
            if let Some(s) = w.subject {
                self.whole.insert((t, s));
            }
            return;
        };
        let tally = self.tallies.entry((t, c)).or_default();
        if let Some(r) = w.record {
            tally.records.insert(r);
        }
        if let Some(s) = w.subject {
            tally.subjects.insert(s);
        }
        if w.action == Action::RecordsExport.name() {
            tally.exports += 1;
            tally.all_fields = true;
        }
        if w.fields.is_empty() {
            tally.all_fields = true;
        }
        tally.fields.extend(w.fields.into_iter().map(|f| f.into_owned()));
    }

    /// Adds the next stretch of the log.
    fn join(&mut self, next: Part) {
        self.examined += next.examined;
        self.matched += next.matched;
        for s in next.order {
            if self.seen.insert(s) {
                self.order.push(s);
            }
        }
        self.whole.extend(next.whole);
        for (k, t) in next.tallies {
            let mine = self.tallies.entry(k).or_default();
            mine.records.extend(t.records);
            mine.subjects.extend(t.subjects);
            mine.exports += t.exports;
            mine.fields.extend(t.fields);
            mine.all_fields |= t.all_fields;
        }
    }
}

impl Vault {
    /// The scope within one tenant.
    pub async fn breach_scope(&self, actor: &Actor, tenant: Uuid, q: ScopeQuery) -> Result<Scope> {
        let call = self.call(actor, Action::BreachScope, Some(tenant)).detail(describe(&q));
        self.run(call, |_| async move { self.scope(Some(tenant), q).await }, summarise).await
    }

    /// The scope across every tenant (the processor's), with the tenants to notify.
    pub async fn breach_scope_all(&self, actor: &Actor, q: ScopeQuery) -> Result<Scope> {
        let call = self.call(actor, Action::BreachScopeAll, None).detail(describe(&q));
        self.run(call, |_| async move { self.scope(None, q).await }, summarise).await
    }

    /// Writes a scope's numbers and categories into a breach (at the
    /// version read): the approximate numbers become the scope's, the
    /// categories are joined to those recorded.
    pub async fn prefill_breach(
        &self,
        actor: &Actor,
        tenant: Uuid,
        breach: Uuid,
        version: i64,
        scope: &Scope,
    ) -> Result<super::breaches::BreachView> {
        let current = self.get_breach(actor, tenant, breach).await?;
        let mut d: BreachDetails = current.details;
        d.subjects_approx = Some(scope.subjects);
        d.records_approx = Some(scope.records);
        for (have, add) in
            [(&mut d.data_categories, &scope.data_categories), (&mut d.subject_categories, &scope.subject_categories)]
        {
            for c in add {
                if !have.contains(c) {
                    have.push(c.clone());
                }
            }
        }
        self.update_breach(actor, tenant, breach, version, d).await
    }

    async fn scope(&self, tenant: Option<Uuid>, q: ScopeQuery) -> Result<Scope> {
        if q.to < q.from {
            return Err(Invalid::new("to", "must not be before from").into());
        }
        if q.to - q.from > MAX_WINDOW_MS {
            return Err(Invalid::new("to", "the window is at most 366 days").into());
        }
        let mut notes = Vec::new();
        let actor = match q.by {
            ScopeBy::Account(a) => Some(a),
            ScopeBy::ApiKey(k) => {
                let Some(t) = tenant else {
                    return Err(Invalid::new("api_key", "an API key is looked up in its tenant's scope").into());
                };
                let keys = self.store.read(move |db| queries::list_api_keys(db, t)).await?;
                let key = keys.into_iter().find(|r| r.id == k).ok_or(ServiceError::NotFound("API key"))?;
                notes.push(format!(
                    "events are recorded by account: these are all of the key's service account {}, any of its keys",
                    key.created_by
                ));
                Some(key.created_by)
            }
            ScopeBy::Source(_) => None,
        };
        let source = match q.by {
            ScopeBy::Source(ip) => Some(ip),
            _ => None,
        };
        let (from, to) = (q.from, q.to);
        // The window is a seq range (times never decrease along the log),
        // read in parts at once, one per core, and put together in order.
        // By address: the events since the source column exists are read
        // by its index; only older ones (a prefix of the log) by body.
        let (lo, hi, sourced) = self
            .store
            .read_latest(move |db| {
                let (lo, hi) = queries::audit_window(db, from, to)?;
                let sourced = if source.is_some() { queries::audit_first_sourced(db)? } else { i64::MAX };
                Ok((lo, hi, sourced))
            })
            .await?;
        let (scan_hi, indexed_lo) = (hi.min(sourced).max(lo), sourced.max(lo));
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4) as i64;
        let n = if scan_hi - lo < 200_000 { 1 } else { n };
        let step = (scan_hi - lo + n - 1) / n.max(1);
        let mut ranges: Vec<(i64, i64, Option<std::net::IpAddr>)> =
            (0..n).map(|i| (lo + i * step, (lo + (i + 1) * step).min(scan_hi), None)).collect();
        if source.is_some() && indexed_lo < hi {
            ranges.push((indexed_lo, hi, source));
        }
        let parts = ranges.into_iter().filter(|(a, b, _)| a < b).map(|(a, b, by_column)| {
            self.store.read_long(move |db| Part::scan(db, tenant, actor, source, by_column, a, b))
        });
        let mut all = Part::default();
        for part in futures::future::try_join_all(parts).await? {
            all.join(part);
        }
        let Part { examined, matched, mut tallies, order, whole, .. } = all;
        // A subject's records read whole: the records it has now, every
        // field (one erased since has none left to count).
        if !whole.is_empty() {
            let mut names: BTreeMap<Uuid, std::collections::HashMap<Uuid, String>> = BTreeMap::new();
            for (t, _) in &whole {
                if !names.contains_key(t) {
                    names.insert(*t, self.collection_names(*t).await?);
                }
            }
            let pairs: Vec<(Uuid, Uuid)> = whole.into_iter().collect();
            let found = self
                .store
                .read_long(move |db| {
                    let mut out = Vec::new();
                    for (t, s) in pairs {
                        for r in queries::records_of_subject(db, t, s)? {
                            out.push((t, s, r.record.collection_id, r.record.id));
                        }
                    }
                    Ok(out)
                })
                .await?;
            for (t, s, cid, rid) in found {
                let Some(name) = names.get(&t).and_then(|n| n.get(&cid)).cloned() else { continue };
                let tally = tallies.entry((t, name)).or_default();
                tally.records.insert(rid);
                tally.subjects.insert(s);
                tally.all_fields = true;
            }
        }
        let mut scope = Scope {
            events_examined: examined,
            events_matched: matched,
            subjects: order.len() as u64,
            subject_ids: order.iter().take(MAX_LISTED).map(|p| p.1).collect(),
            notes,
            ..Default::default()
        };
        let mut data_categories = BTreeSet::new();
        let mut subject_categories = BTreeSet::new();
        let mut tenants: BTreeMap<Uuid, TenantTouched> = BTreeMap::new();
        for (t, _) in &order {
            tenants.entry(*t).or_insert_with(|| TenantTouched { tenant: *t, ..Default::default() }).subjects += 1;
        }
        for ((t, name), tally) in tallies {
            let def = self.collection(t, &name).await.ok();
            let mut c = CollectionTouched {
                tenant: t,
                collection: name,
                records: tally.records.len() as u64,
                subjects: tally.subjects.len() as u64,
                exports: tally.exports,
                fields: tally.fields.iter().cloned().collect(),
                ..Default::default()
            };
            if let Some(def) = def {
                let cats: BTreeSet<String> = def
                    .def
                    .fields
                    .iter()
                    .filter(|f| tally.all_fields || tally.fields.contains(&f.name))
                    .map(|f| f.category.clone())
                    .collect();
                c.data_categories = cats.into_iter().collect();
                c.subject_categories = def.def.subject_categories.clone();
                if tally.all_fields {
                    c.fields = def.def.fields.iter().map(|f| f.name.clone()).collect();
                }
            }
            if c.exports > 0 {
                scope.notes.push(format!(
                    "collection {} was exported whole {} time(s): every record in it at the time counts",
                    c.collection, c.exports
                ));
            }
            data_categories.extend(c.data_categories.iter().cloned());
            subject_categories.extend(c.subject_categories.iter().cloned());
            scope.records += c.records;
            tenants.entry(t).or_insert_with(|| TenantTouched { tenant: t, ..Default::default() }).records += c.records;
            scope.collections.push(c);
        }
        for (id, tt) in tenants.iter_mut() {
            let id = *id;
            tt.name = self.store.read(move |db| queries::get_tenant(db, id)).await?.map(|r| r.name).unwrap_or_default();
            tt.dpo_email = self.settings(id).await?.dpo_email;
        }
        scope.data_categories = data_categories.into_iter().collect();
        scope.subject_categories = subject_categories.into_iter().collect();
        scope.tenants = tenants.into_values().collect();
        Ok(scope)
    }
}

/// The audit detail of a scope query: what kind of thing, the window;
/// never the address itself (it may be a person's).
fn describe(q: &ScopeQuery) -> String {
    let by = match &q.by {
        ScopeBy::Account(a) => format!("account={a}"),
        ScopeBy::ApiKey(k) => format!("api_key={k}"),
        ScopeBy::Source(_) => "source=(address)".to_string(),
    };
    format!("{by} from={} to={}", q.from, q.to)
}

fn summarise(s: &Scope, d: &mut crate::audit::Draft) {
    let prev = d.detail.take().unwrap_or_default();
    d.detail = Some(format!(
        "{prev} events={} subjects={} records={} tenants={}",
        s.events_matched,
        s.subjects,
        s.records,
        s.tenants.len()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Draft, Event};

    fn body(source: Option<&str>, detail: Option<&str>) -> Vec<u8> {
        let what = Draft {
            request: "r".into(),
            action: "record.read".into(),
            outcome: "ok".into(),
            source: source.map(str::to_string),
            detail: detail.map(str::to_string),
            ..Draft::default()
        };
        serde_json::to_vec(&Event { seq: 3, time: 5, prev: String::new(), what }).unwrap()
    }

    #[test]
    fn an_events_source_is_found_without_parsing_it_and_never_in_another_field() {
        let key = memchr::memmem::Finder::new(SOURCE_KEY);
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        assert_eq!(source_of(&key, &body(Some("10.1.1.3"), None)), ip("10.1.1.3"));
        assert_eq!(source_of(&key, &body(Some("2001:db8::1"), None)), ip("2001:db8::1"));
        assert_eq!(source_of(&key, &body(None, None)), None);
        assert_eq!(source_of(&key, &body(Some("local"), None)), None);
        // A detail that spells out a source is text inside a string: its
        // quotes are escaped, so it is never taken for the event's own.
        let tricky = body(None, Some(r#"x","source":"10.9.9.9"#));
        assert_eq!(source_of(&key, &tricky), None);
        let parsed: Seen = serde_json::from_slice(&tricky).unwrap();
        assert_eq!(parsed.action, "record.read");
    }
}
