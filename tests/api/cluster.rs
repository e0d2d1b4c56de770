//! Several servers on one PostgreSQL database (the scale-out deployment):
//! one audit trail in one order whatever server appends, no request failing
//! because another server exists, the stated bound of every cache, a server
//! killed under load, TLS to PostgreSQL, and readiness when the database is
//! unreachable or read-only. PostgreSQL only: skipped without it.

use crate::support::{customers, pg_url, Backend, Proc, TestServer, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use varuh::service::identity::{policy::POLICY_CACHE_MS, CACHE_MS};

/// Two servers on one fresh database, a tenant with the customers
/// collection (made through the first), and an operator's token.
async fn two_servers() -> (TestServer, TestServer, String, String) {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.peer().await;
    let t = a.tenant("Processor", false).await;
    a.collection(&t, customers()).await;
    let op = a.staff(&t, "op", "operator").await;
    (a, b, t, op)
}

/// Two servers, each with its own clients creating and reading records at
/// once: every request succeeds, records written through one are read
/// through the other, and the trail is one log that verifies, with heads
/// made on either server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale1_two_servers_share_one_trail() {
    if pg_url().is_none() {
        return;
    }
    let (a, b, t, op) = two_servers().await;
    let mut tasks = Vec::new();
    for (i, base) in [a.base.clone(), b.base.clone()].into_iter().cycle().take(12).enumerate() {
        let (http, op, t) = (reqwest::Client::new(), op.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut ids = Vec::new();
            for j in 0..25 {
                let r = http
                    .post(format!("{base}/v1/tenants/{t}/collections/customers/records"))
                    .bearer_auth(&op)
                    .json(&json!({"data": {"name": "Ana", "email": format!("c{i}.{j}@firma.si")}}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(r.status());
                let v: Value = r.json().await.unwrap();
                let id = v["id"].as_str().unwrap_or_default().to_string();
                let r = http
                    .get(format!("{base}/v1/tenants/{t}/collections/customers/records/{id}"))
                    .bearer_auth(&op)
                    .send()
                    .await
                    .unwrap();
                statuses.push(r.status());
                ids.push(id);
            }
            (statuses, ids)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let (statuses, mine) = task.await.unwrap();
        assert!(statuses.iter().all(|s| s.is_success()), "every request succeeds: {statuses:?}");
        ids.extend(mine);
    }
    assert_eq!(ids.len(), 300);
    // Written through one server, read through the other.
    for (n, id) in ids.iter().enumerate().step_by(37) {
        let other = if n % 2 == 0 { &b } else { &a };
        let (st, r) = other.get(&format!("/v1/tenants/{t}/collections/customers/records/{id}"), &op).await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    // Heads from either server; one log that verifies.
    let (_, ha) = a.post("/v1/audit/heads", &a.admin, json!({})).await;
    let (_, hb) = b.post("/v1/audit/heads", &b.admin, json!({})).await;
    assert_eq!(ha["key"], hb["key"], "one signing key for the one log");
    let (sa, sb) = (ha["tree_size"].as_u64().unwrap(), hb["tree_size"].as_u64().unwrap());
    assert!(sa >= 600 && sb >= sa, "{sa} {sb}");
    let (st, proof) = b.get(&format!("/v1/audit/proofs/consistency?first={sa}&second={sb}"), &b.admin).await;
    assert_eq!(st, StatusCode::OK, "{proof}");
    let rep = b.verify_trail().await;
    assert!(rep.ok(), "{:?}", rep.failures);
    assert!(rep.events > sb && rep.heads_checked >= 2, "{} {}", rep.events, rep.heads_checked);
    // Every create is in the log once, whichever server took it.
    let creates = a.events("record.create").await;
    assert_eq!(creates.iter().filter(|e| e["event"]["outcome"] == "ok").count(), 300);
    // And every read once: their events go alone, each server numbering
    // from what it knows and taking in the other's when the log moved on.
    let reads = a.events("record.read").await;
    let cross = ids.iter().step_by(37).count();
    assert_eq!(reads.iter().filter(|e| e["event"]["outcome"] == "ok").count(), 300 + cross);
}

/// A counter's value in a `/metrics` answer.
fn metric(m: &str, key: &str) -> u64 {
    m.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {m}"))
}

/// Idle sessions of the server's database that hold an advisory lock (the
/// trail's lock kept by mistake).
async fn idle_lock_holders(s: &TestServer) -> i64 {
    let url = s.cfg.database_url.clone().unwrap();
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid \
             WHERE l.locktype = 'advisory' AND s.state = 'idle' AND s.datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0)
    })
    .await
    .unwrap()
}

/// While another server appends, a batch of events alone (a read's) takes
/// the trail's lock first and only then gathers what waits: it goes in as
/// numbered, where sent at once the database would number it anew behind
/// the other server's events. Shown by the counts in `/metrics`; the log
/// stays one that verifies, with each read in it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale1_events_alone_take_the_lock_first_while_another_server_appends() {
    if pg_url().is_none() {
        return;
    }
    let token = "metrics token of this test";
    let a = TestServer::start_with(Backend::Postgres, |c| c.metrics_token = Some(token.into())).await;
    let b = a.peer().await;
    let t = a.tenant("Processor", false).await;
    a.collection(&t, customers()).await;
    let op = a.staff(&t, "op", "operator").await;
    let rec = format!("/v1/tenants/{t}/collections/customers/records");
    let counts = |m: &str| -> [u64; 3] {
        [
            metric(m, "varuh_audit_pushes_total{result=\"as_numbered\"}"),
            metric(m, "varuh_audit_pushes_total{result=\"renumbered\"}"),
            metric(m, "varuh_audit_lock_first_total"),
        ]
    };
    let (st, m) = a.metrics(Some(token)).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let [_, _, lock_first] = counts(&m);
    assert_eq!(lock_first, 0, "alone on the trail so far: {m}");
    // B creates, then A reads: A's read event meets B's in the log.
    let mut reads = 0;
    let mut seen = None;
    for i in 0..5 {
        let (st, r) = b.post(&rec, &op, json!({"data": {"name": "Ana", "email": format!("a{i}@firma.si")}})).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        let before = counts(&a.metrics(Some(token)).await.1);
        let (st, _) = a.get(&format!("{rec}/{}", r["id"].as_str().unwrap()), &op).await;
        assert_eq!(st, StatusCode::OK);
        reads += 1;
        let after = counts(&a.metrics(Some(token)).await.1);
        if after[2] > before[2] {
            seen = Some((before, after));
            break;
        }
        // Sent at once, the read's event was numbered anew behind B's.
        assert_eq!(after[1], before[1] + 1, "{before:?} {after:?}");
    }
    let (before, after) = seen.expect("a read while B appends takes the lock first");
    assert_eq!(after[2], before[2] + 1, "one batch of events alone: {before:?} {after:?}");
    assert_eq!(after[0], before[0] + 1, "it went in as numbered: {before:?} {after:?}");
    assert_eq!(after[1], before[1], "none numbered anew: {before:?} {after:?}");
    // The lock taken for the session was let go with the batch's commit:
    // no idle session of the database holds it.
    assert_eq!(idle_lock_holders(&a).await, 0, "no session keeps the trail's lock");
    let rep = b.verify_trail().await;
    assert!(rep.ok(), "{:?}", rep.failures);
    let events = a.events("record.read").await;
    assert_eq!(events.iter().filter(|e| e["event"]["outcome"] == "ok").count(), reads, "each read once");
}

/// While another server appends, a batch of creates lets the trail's lock
/// go before its disk flush and awaits the flush after it: shown by the
/// count in `/metrics`. Every create answered is there, from the other
/// server too, once in the log, which verifies; no session keeps the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale1_creates_let_the_lock_go_before_their_flush_while_another_server_appends() {
    if pg_url().is_none() {
        return;
    }
    let token = "metrics token of this test";
    let a = TestServer::start_with(Backend::Postgres, |c| c.metrics_token = Some(token.into())).await;
    let b = a.peer().await;
    let t = a.tenant("Processor", false).await;
    a.collection(&t, customers()).await;
    let op = a.staff(&t, "op", "operator").await;
    let rec = format!("/v1/tenants/{t}/collections/customers/records");
    let early = |m: &str| metric(m, "varuh_audit_early_commits_total");
    let (st, m) = a.metrics(Some(token)).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(early(&m), 0, "alone on the trail so far: {m}");
    let mut made = Vec::new();
    for i in 0..4 {
        let (st, r) = a.post(&rec, &op, json!({"data": {"name": "Ana", "email": format!("a{i}@firma.si")}})).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        made.push(r["id"].as_str().unwrap().to_string());
    }
    assert_eq!(early(&a.metrics(Some(token)).await.1), 0, "one server alone waits for its flush under the lock");
    // B appends, then A creates: A meets B's events and, for the next
    // second, lets the lock go before its flush.
    let mut went_early = false;
    for i in 0..10 {
        let (st, r) = b.post(&rec, &op, json!({"data": {"name": "Bor", "email": format!("b{i}@firma.si")}})).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        made.push(r["id"].as_str().unwrap().to_string());
        for k in 0..2 {
            let (st, r) =
                a.post(&rec, &op, json!({"data": {"name": "Cene", "email": format!("c{i}.{k}@firma.si")}})).await;
            assert_eq!(st, StatusCode::CREATED, "{r}");
            made.push(r["id"].as_str().unwrap().to_string());
        }
        if early(&a.metrics(Some(token)).await.1) > 0 {
            went_early = true;
            break;
        }
    }
    assert!(went_early, "a create while B appends lets the lock go before its flush");
    for id in &made {
        let (st, r) = b.get(&format!("{rec}/{id}"), &op).await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    assert_eq!(idle_lock_holders(&a).await, 0, "no session keeps the trail's lock");
    let rep = a.verify_trail().await;
    assert!(rep.ok(), "{:?}", rep.failures);
    let events = b.events("record.create").await;
    for id in &made {
        let n = events.iter().filter(|e| e["event"]["record"] == id.as_str()).count();
        assert_eq!(n, 1, "each create once in the log: {id}");
    }
}

/// Creates carrying the same new e-mail, sent to both servers at once,
/// end up at one subject: the identifier is locked across servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale1_one_subject_per_identifier_across_servers() {
    if pg_url().is_none() {
        return;
    }
    let (a, b, t, op) = two_servers().await;
    for round in 0..5 {
        let mut tasks = Vec::new();
        for base in [a.base.clone(), b.base.clone()].into_iter().cycle().take(8) {
            let (http, op, t) = (reqwest::Client::new(), op.clone(), t.clone());
            tasks.push(tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/v1/tenants/{t}/collections/customers/records"))
                    .bearer_auth(&op)
                    .json(&json!({"data": {"name": "Bor", "email": format!("same.{round}@firma.si")}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                r.json::<Value>().await.unwrap()["subject_id"].as_str().unwrap().to_string()
            }));
        }
        let mut subjects = std::collections::BTreeSet::new();
        for task in tasks {
            subjects.insert(task.await.unwrap());
        }
        assert_eq!(subjects.len(), 1, "round {round}: one person, one subject: {subjects:?}");
    }
    // The same through "find or create a subject by its identifiers".
    let mut tasks = Vec::new();
    for base in [a.base.clone(), b.base.clone()].into_iter().cycle().take(8) {
        let (http, op, t) = (reqwest::Client::new(), op.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/v1/tenants/{t}/subjects"))
                .bearer_auth(&op)
                .json(&json!({"identifiers": {"email": "both.servers@firma.si"}}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
        }));
    }
    let mut subjects = std::collections::BTreeSet::new();
    for task in tasks {
        subjects.insert(task.await.unwrap());
    }
    assert_eq!(subjects.len(), 1, "find-or-create: one subject: {subjects:?}");
}

/// Every cache has a bound on how long a change made through one server
/// takes to be seen by the other: sessions and API keys (suspension, grants,
/// logout) `CACHE_MS`, policies `POLICY_CACHE_MS`; tenants and collections
/// are immutable once made and read from the database on a miss, so the
/// other server uses them at once. Each bound is shown by moving the other
/// server's clock by exactly that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale2_caches_across_servers_have_stated_bounds() {
    if pg_url().is_none() {
        return;
    }
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.peer().await;
    // Tenants and collections: made on one, used on the other at once.
    let t = a.tenant("Controller", false).await;
    a.collection(&t, customers()).await;
    let op = a.staff(&t, "op", "operator").await;
    let rec = format!("/v1/tenants/{t}/collections/customers/records");
    let (st, r) = b.post(&rec, &op, json!({"data": {"name": "Ana", "email": "ana@firma.si"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let one = format!("{rec}/{}", r["id"].as_str().unwrap());
    // Grants: narrowed on A; B sees it within CACHE_MS.
    assert_eq!(b.get(&one, &op).await.0, StatusCode::OK);
    let (_, staff) = a.get(&format!("/v1/tenants/{t}/staff"), &a.admin).await;
    let op_id = staff
        .as_array()
        .and_then(|l| l.iter().find(|s| s["username"] == "op"))
        .map(|s| s["id"].as_str().unwrap().to_string())
        .expect("the operator is listed");
    let (st, body) = a
        .put(
            &format!("/v1/tenants/{t}/staff/{op_id}/access"),
            &a.admin,
            json!({"role": "operator", "access": {"grants": {}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(a.get(&one, &op).await.0, StatusCode::FORBIDDEN, "at once on the server that made the change");
    b.clock.advance(CACHE_MS);
    assert_eq!(b.get(&one, &op).await.0, StatusCode::FORBIDDEN, "on the other within CACHE_MS");
    // Suspension: on A; B refuses the session within CACHE_MS.
    let dpo = a.staff(&t, "dpo", "dpo").await;
    assert_eq!(b.get("/v1/auth/me", &dpo).await.0, StatusCode::OK);
    let (_, staff) = a.get(&format!("/v1/tenants/{t}/staff"), &a.admin).await;
    let dpo_id =
        staff.as_array().unwrap().iter().find(|s| s["username"] == "dpo").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.post(&format!("/v1/tenants/{t}/staff/{dpo_id}/suspend"), &a.admin, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    b.clock.advance(CACHE_MS);
    assert_eq!(b.get("/v1/auth/me", &dpo).await.0, StatusCode::UNAUTHORIZED, "suspended: refused on B too");
    // Logout: on A; the token stops working on B within CACHE_MS.
    let adm = a.staff(&t, "adm", "administrator").await;
    assert_eq!(b.get("/v1/auth/me", &adm).await.0, StatusCode::OK);
    assert_eq!(a.post("/v1/auth/logout", &adm, json!({})).await.0, StatusCode::NO_CONTENT);
    b.clock.advance(CACHE_MS);
    assert_eq!(b.get("/v1/auth/me", &adm).await.0, StatusCode::UNAUTHORIZED, "logged out: refused on B too");
    // Policy: set through A; B applies it within POLICY_CACHE_MS.
    let _ = a.staff(&t, "worker", "dpo").await;
    assert_eq!(b.login("worker", PASSWORD, json!({})).await.0, StatusCode::OK);
    a.set_policy(&t, "[networks]\nsign_in = [\"10.0.0.0/8\"]\n[lockout]\nsource_attempts_per_minute = 10000\n").await;
    b.clock.advance(POLICY_CACHE_MS);
    assert_eq!(
        b.login("worker", PASSWORD, json!({})).await.0,
        StatusCode::UNAUTHORIZED,
        "the network rule set through A holds on B"
    );
}

/// The cache of records (`store::cache`): a record read through B (and
/// kept there), then changed through A, is read as changed through B at
/// once, with no clock advanced: a rectification, a restriction, a record
/// deleted, a subject erased. Each change reaches B through the audit
/// trail's events, which B takes in before its read's own event commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale2_a_record_changed_through_one_server_is_read_changed_through_the_other() {
    if pg_url().is_none() {
        return;
    }
    let a = TestServer::start_with(Backend::Postgres, |c| c.metrics_token = Some("metrics token of this test".into()))
        .await;
    let b = a.peer().await;
    let t = a.tenant("Processor", false).await;
    a.collection(&t, customers()).await;
    let op = a.staff(&t, "op", "operator").await;
    let dpo = a.staff(&t, "dpo", "dpo").await;
    let rec = format!("/v1/tenants/{t}/collections/customers/records");
    let made = |name: &str, email: &str| json!({"data": {"name": name, "email": email}});
    let (st, one) = a.post(&rec, &op, made("Ana", "ana@firma.si")).await;
    assert_eq!(st, StatusCode::CREATED, "{one}");
    let (st, two) = a.post(&rec, &op, made("Bor", "bor@firma.si")).await;
    assert_eq!(st, StatusCode::CREATED, "{two}");
    let url = |r: &Value| format!("{rec}/{}", r["id"].as_str().unwrap());
    let (one_url, two_url) = (url(&one), url(&two));
    // Read twice through each server: kept in both caches.
    for s in [&a, &b, &a, &b] {
        for u in [&one_url, &two_url] {
            assert_eq!(s.get(u, &op).await.0, StatusCode::OK);
        }
    }
    let (st, m) = b.metrics(Some("metrics token of this test")).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let count = |what: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("varuh_record_cache_reads_total{{result=\"{what}\"}} ")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {what} count in {m}"))
    };
    // B's first read of `one` is dropped again by A's earlier events (its
    // create among them), which B takes in only with that read's event.
    let (hit, miss) = (count("hit"), count("miss"));
    assert!(hit >= 1 && hit + miss == 4, "B's second reads come from memory: {hit} hits, {miss} misses");
    assert!(m.contains("varuh_record_cache_bytes "), "{m}");
    // Rectified through A: B reads the new name at once.
    let (st, r) =
        a.call(reqwest::Method::PATCH, &one_url, Some(&op), Some(json!({"data": {"name": "Ana Novak"}}))).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, r) = b.get(&one_url, &op).await;
    assert_eq!((st, r["data"]["name"].as_str()), (StatusCode::OK, Some("Ana Novak")), "{r}");
    assert_eq!(b.get(&one_url, &op).await.1["version"], 2, "and keeps reading it");
    // Restricted through A for invoicing: B refuses that purpose at once.
    let sid = one["subject_id"].as_str().unwrap();
    assert_eq!(b.get(&format!("{one_url}?purpose=invoicing"), &op).await.0, StatusCode::OK);
    let (st, l) = a
        .post(
            &format!("/v1/tenants/{t}/subjects/{sid}/limits"),
            &dpo,
            json!({"kind": "restriction", "purposes": ["invoicing"], "reason": "contested"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    assert_eq!(b.get(&format!("{one_url}?purpose=invoicing"), &op).await.0, StatusCode::FORBIDDEN);
    // A record deleted through A: gone through B.
    assert_eq!(a.delete(&two_url, &op).await.0, StatusCode::NO_CONTENT);
    assert_eq!(b.get(&two_url, &op).await.0, StatusCode::NOT_FOUND);
    // A subject erased through A: its record is gone through B.
    let (st, e) = a.delete(&format!("/v1/tenants/{t}/subjects/{sid}"), &dpo).await;
    assert!(st.is_success(), "{st} {e}");
    assert_eq!(b.get(&one_url, &op).await.0, StatusCode::NOT_FOUND);
    assert_eq!(a.get(&one_url, &op).await.0, StatusCode::NOT_FOUND);
}

/// Two real `varuh serve` processes under load; one is SIGKILLed. The other
/// goes on answering, no acknowledged write is lost, the trail verifies, and
/// the killed one restarts and serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale3_a_server_killed_under_load() {
    if pg_url().is_none() {
        return;
    }
    let url = crate::support::fresh_pg_database().await;
    let key = "11".repeat(32);
    let dirs = tempfile::tempdir().unwrap();
    let env = |_: usize| vec![("VARUH_DATABASE_URL", url.clone()), ("VARUH_MASTER_KEY", key.clone())];
    let http = reqwest::Client::new();
    let mut one = Proc::start(&dirs.path().join("one"), &["serve"], &env(1), false);
    one.wait_ready(&http).await;
    let otp = one.one_time_password().expect("first start prints the admin's one-time password");
    let mut two = Proc::start(&dirs.path().join("two"), &["serve"], &env(2), false);
    two.wait_ready(&http).await;
    let (b1, b2) = (one.base.clone(), two.base.clone());
    // Sign in through the second server: the store is one.
    let l: Value = http
        .post(format!("{b2}/v1/auth/login"))
        .json(&json!({"username": "admin", "password": otp}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = l["token"].as_str().expect("signed in through the second server").to_string();
    let r = http
        .post(format!("{b1}/v1/auth/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": otp, "new_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let t: Value = http
        .post(format!("{b1}/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "Durable"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = t["id"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{b2}/v1/tenants/{t}/collections"))
        .bearer_auth(&token)
        .json(&crate::support::newsletter())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let base = if w % 2 == 0 { b1.clone() } else { b2.clone() };
        let (http, token, t, stop) = (http.clone(), token.clone(), t.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut failed_after_kill) = (Vec::new(), 0);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let r = http
                    .post(format!("{base}/v1/tenants/{t}/collections/newsletter/records"))
                    .bearer_auth(&token)
                    .json(&json!({"data": {"email": format!("w{w}.{i}@d.si")}}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        acked.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string())
                    }
                    Ok(r) => panic!("server {base} answered {} while serving", r.status()),
                    // The killed server's clients lose their connection.
                    Err(_) => {
                        failed_after_kill += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }
            (w, acked, failed_after_kill)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    one.child.kill().expect("SIGKILL");
    one.child.wait().unwrap();
    // The survivor keeps serving under load.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    for task in tasks {
        let (w, mine, failed) = task.await.unwrap();
        if w % 2 == 1 {
            assert_eq!(failed, 0, "the surviving server's clients saw no error");
            assert!(mine.len() > 20, "the survivor kept answering: {}", mine.len());
        }
        acked.extend(mine);
    }
    // The killed one restarts and rejoins; every acknowledged write is there.
    let mut one = Proc::start(&dirs.path().join("one"), &["serve"], &env(1), false);
    one.wait_ready(&http).await;
    for (n, id) in acked.iter().enumerate() {
        let base = if n % 2 == 0 { &one.base } else { &b2 };
        let r = http
            .get(format!("{base}/v1/tenants/{t}/collections/newsletter/records/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "acknowledged record {id} is kept");
    }
    let h: Value = http
        .post(format!("{}/v1/audit/heads", one.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = varuh::audit::note::VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
    let location = varuh::store::Location::parse(&url).unwrap();
    let rep = tokio::task::spawn_blocking(move || {
        varuh::audit::verify::verify_store(varuh::store::Store::connect_raw(&location).unwrap().as_mut(), &key, &[])
            .unwrap()
    })
    .await
    .unwrap();
    assert!(rep.ok(), "{:?}", rep.failures);
    assert!(rep.events as usize > acked.len());
    drop(two);
}

/// A URL for the suite's PostgreSQL as the TLS-only role `varuh_tls`.
fn tls_url(db_url: &str, host: &str, query: &str) -> String {
    let port = db_url.split(':').nth(2).and_then(|p| p.split('/').next()).expect("port in the URL");
    let db = db_url.rsplit('/').next().unwrap();
    format!("postgres://varuh_tls@{host}:{port}/{db}?{query}")
}

/// TLS to PostgreSQL: `require` encrypts; `verify-full` checks the chain and
/// the name (the test certificate names only `localhost`); `verify-ca` the
/// chain only; a wrong CA, a missing root file and a server that refuses
/// plain connections each give a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale4_tls_to_postgresql() {
    if pg_url().is_none() {
        return;
    }
    let Ok(ca) = std::env::var("VARUH_TEST_PG_CA") else {
        panic!("VARUH_TEST_PG_CA is not set: scripts/pg.sh starts PostgreSQL with a certificate");
    };
    let url = crate::support::fresh_pg_database().await;
    let open = |u: String| async move {
        tokio::task::spawn_blocking(move || {
            varuh::store::Store::open(&varuh::store::Location::parse(&u).unwrap(), false, 1, 1).map(|_| ())
        })
        .await
        .unwrap()
    };
    let err = |r: Result<(), varuh::store::StoreError>| r.expect_err("refused").to_string();
    // The role may not connect in the clear.
    assert!(err(open(tls_url(&url, "127.0.0.1", "sslmode=disable")).await).contains("no encryption"));
    open(tls_url(&url, "127.0.0.1", "sslmode=require")).await.expect("require: encrypted");
    open(tls_url(&url, "localhost", &format!("sslmode=verify-full&sslrootcert={ca}"))).await.expect("verify-full");
    let e = err(open(tls_url(&url, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"))).await);
    assert!(e.contains("certificate") && e.contains("name"), "{e}");
    open(tls_url(&url, "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}"))).await.expect("verify-ca");
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-ca.pem");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let kp = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&other, params.self_signed(&kp).unwrap().pem()).unwrap();
    let e =
        err(open(tls_url(&url, "localhost", &format!("sslmode=verify-full&sslrootcert={}", other.display()))).await);
    assert!(e.contains("UnknownIssuer") || e.contains("issuer"), "{e}");
    let e = err(open(tls_url(&url, "localhost", "sslmode=verify-full")).await);
    assert!(e.contains("sslrootcert"), "{e}");
    let e = err(open(tls_url(&url, "localhost", "sslmode=bogus")).await);
    assert!(e.contains("sslmode=bogus"), "{e}");
    // A whole server over verify-full: records in and out, every connection encrypted.
    let s = TestServer::start_with(Backend::Postgres, |cfg| {
        let u = cfg.database_url.clone().unwrap();
        cfg.database_url = Some(tls_url(&u, "localhost", &format!("sslmode=verify-full&sslrootcert={ca}")));
    })
    .await;
    let t = s.tenant("Encrypted", false).await;
    s.collection(&t, customers()).await;
    let op = s.staff(&t, "op", "operator").await;
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &op,
            json!({"data": {"name": "Ana", "email": "ana@firma.si"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let db = s.cfg.database_url().split('?').next().unwrap().rsplit('/').next().unwrap().to_string();
    let admin = pg_url().unwrap();
    let (plain, encrypted) = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        let row = c
            .query_one(
                "SELECT count(*) FILTER (WHERE NOT s.ssl), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
                &[&db],
            )
            .unwrap();
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    })
    .await
    .unwrap();
    assert_eq!(plain, 0, "no connection in the clear");
    assert!(encrypted >= 2, "writer and readers connected over TLS: {encrypted}");
}

/// Runs SQL on the suite's PostgreSQL as its administrator.
async fn pg_admin(sql: String) {
    let admin = pg_url().unwrap();
    tokio::task::spawn_blocking(move || {
        postgres::Client::connect(&admin, postgres::NoTls).unwrap().batch_execute(&sql).unwrap()
    })
    .await
    .unwrap()
}

/// Polls `/readyz` until it answers `want` with `says` in its body (or
/// gives up after ~10 s): the first answer after the connections were cut
/// may be "unreachable" before they are opened again.
async fn ready_until(s: &TestServer, want: StatusCode, says: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let r = s.http.get(format!("{}/readyz", s.base)).send().await.unwrap();
        let st = r.status();
        last = r.json().await.unwrap_or(Value::Null);
        if st == want && last.to_string().contains(says) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("/readyz never answered {want}: {last}");
}

/// `/readyz` tells a load balancer when the database is read-only (as a
/// failed-over primary is) or unreachable, and the server recovers by itself
/// when the database is back: its connections are opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale5_readiness_follows_the_database() {
    if pg_url().is_none() {
        return;
    }
    let s = TestServer::start(Backend::Postgres).await;
    let db = s.cfg.database_url().rsplit('/').next().unwrap().to_string();
    let kick = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid();"
    );
    assert_eq!(ready_until(&s, StatusCode::OK, "ready").await["status"], "ready");
    // Read-only, as after a failover the old primary comes back as a standby.
    pg_admin(format!("ALTER DATABASE {db} SET default_transaction_read_only = on; {kick}")).await;
    let p = ready_until(&s, StatusCode::SERVICE_UNAVAILABLE, "read-only").await;
    assert_eq!(p["type"], "https://varuh.dev/problems/not-ready");
    let (st, body) = s.post("/v1/tenants", &s.admin, json!({"name": "While read-only"})).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "a write is refused as unavailable, not as an error: {body}");
    pg_admin(format!("ALTER DATABASE {db} RESET default_transaction_read_only; {kick}")).await;
    assert_eq!(ready_until(&s, StatusCode::OK, "ready").await["status"], "ready");
    let mut created = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        created = s.post("/v1/tenants", &s.admin, json!({"name": "Writable again"})).await.0;
        if created == StatusCode::CREATED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(created, StatusCode::CREATED, "writes work again without a restart");
    // Unreachable: the database refuses connections.
    pg_admin(format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false; {kick}")).await;
    let p = ready_until(&s, StatusCode::SERVICE_UNAVAILABLE, "unreachable").await;
    assert_eq!(p["detail"], "the database is unreachable");
    pg_admin(format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true;")).await;
    assert_eq!(ready_until(&s, StatusCode::OK, "ready").await["status"], "ready");
    let rep = s.verify_trail().await;
    assert!(rep.ok(), "{:?}", rep.failures);
}

/// Reads by id that go to PostgreSQL together (`store::batch`) each get
/// their own answer: the record asked for, or 404 for an id that does not
/// exist or belongs to another collection, however many run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale6_batched_reads_answer_each_request() {
    if pg_url().is_none() {
        return;
    }
    let s = TestServer::start(Backend::Postgres).await;
    let t = s.tenant("Batched", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, crate::support::newsletter()).await;
    let op = s.staff(&t, "op", "operator").await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let mut ids = Vec::new();
    for i in 0..20 {
        let (st, r) =
            s.post(&recs, &op, json!({"data": {"name": format!("N{i}"), "email": format!("n{i}@b.si")}})).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        ids.push((r["id"].as_str().unwrap().to_string(), format!("N{i}")));
    }
    let (_, other) = s
        .post(&format!("/v1/tenants/{t}/collections/newsletter/records"), &op, json!({"data": {"email": "x@b.si"}}))
        .await;
    let other = other["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for round in 0..3 {
        for (id, name) in ids.clone() {
            let (http, url, op) = (s.http.clone(), format!("{}{recs}/{id}", s.base), op.clone());
            tasks.push(tokio::spawn(async move {
                let r = http.get(url).bearer_auth(&op).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK, "round {round}");
                let v: Value = r.json().await.unwrap();
                assert_eq!(
                    (v["id"].as_str().unwrap(), v["data"]["name"].as_str().unwrap()),
                    (id.as_str(), name.as_str())
                );
            }));
        }
        for missing in [uuid::Uuid::now_v7().to_string(), other.clone()] {
            let (http, url, op) = (s.http.clone(), format!("{}{recs}/{missing}", s.base), op.clone());
            tasks.push(tokio::spawn(async move {
                assert_eq!(http.get(url).bearer_auth(&op).send().await.unwrap().status(), StatusCode::NOT_FOUND);
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Tree heads made by either server are published (here both servers
/// append to one file, as they would POST to one receiver), and the one
/// trail verifies against every published head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale1_heads_are_published_from_either_server() {
    if pg_url().is_none() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("heads.jsonl");
    let f = file.clone();
    let a = TestServer::start_with(Backend::Postgres, move |cfg| cfg.audit_publish_file = Some(f)).await;
    let b = a.peer().await;
    let t = a.tenant("Published", false).await;
    let mut sizes = Vec::new();
    for (i, s) in [&a, &b, &a, &b].into_iter().enumerate() {
        assert_eq!(s.get(&format!("/v1/tenants/{t}"), &s.admin).await.0, StatusCode::OK, "round {i}");
        let (st, h) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{h}");
        sizes.push(h["tree_size"].as_u64().unwrap());
    }
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "each head covers the other server's events too: {sizes:?}");
    let published = varuh::audit::verify::read_published(&std::fs::read_to_string(&file).unwrap());
    assert!(published.len() >= 4, "a head from each call on either server: {}", published.len());
    let (_, h) = b.get("/v1/audit/head", &b.admin).await;
    let key = varuh::audit::note::VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
    let location = varuh::store::Location::parse(&a.cfg.database_url()).unwrap();
    let rep = tokio::task::spawn_blocking(move || {
        let mut db = varuh::store::Store::connect_raw(&location).unwrap();
        varuh::audit::verify::verify_store(db.as_mut(), &key, &published).unwrap()
    })
    .await
    .unwrap();
    assert!(rep.ok(), "{:?}", rep.failures);
    assert!(rep.published_checked >= 4, "{}", rep.published_checked);
}
