//! Tenants, collections, subjects and records through the API.

use crate::support::{both, customers, newsletter, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn records_crud_and_subject_listing(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, newsletter()).await;
    let op = s.staff(&t, "ana.operator", "operator").await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");

    // Create: the subject is created from the e-mail identifier.
    let (st, r1) = s
        .post(&recs, &op, json!({"data": {"email": "Mojca.Kos@Example.si", "name": "Mojca Kos", "phone": "+386 41 555 123", "orders": 2}}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r1}");
    assert_eq!(r1["data"]["email"], "mojca.kos@example.si");
    assert_eq!(r1["data"]["phone"], "+38641555123");
    assert_eq!(r1["version"], 1);
    let subject = r1["subject_id"].as_str().unwrap().to_string();
    let id = r1["id"].as_str().unwrap().to_string();

    // A second collection's record by the same e-mail lands on the same subject.
    let (st, n1) = s
        .post(
            &format!("/v1/tenants/{t}/collections/newsletter/records"),
            &op,
            json!({"data": {"email": "mojca.kos@example.si", "topics": "garden"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{n1}");
    assert_eq!(n1["subject_id"], subject.as_str());

    // Read back by id.
    let (st, got) = s.get(&format!("{recs}/{id}"), &op).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["data"]["name"], "Mojca Kos");
    assert_eq!(got["data"]["orders"], 2);

    // Another record with an explicit subject id.
    let (st, r2) = s
        .post(&recs, &op, json!({"subject_id": subject, "data": {"email": "mojca.kos@example.si", "name": "Mojca K."}}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r2}");

    // List the collection, in pages.
    let (st, page) = s.get(&format!("{recs}?limit=1"), &op).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page.as_array().unwrap().len(), 1);
    let last = page[0]["id"].as_str().unwrap();
    let (_, page2) = s.get(&format!("{recs}?limit=10&after={last}"), &op).await;
    assert_eq!(page2.as_array().unwrap().len(), 1);
    assert_ne!(page2[0]["id"], page[0]["id"]);

    // PATCH merges; null removes an optional field.
    let (st, p) = s
        .call(Method::PATCH, &format!("{recs}/{id}"), Some(&op), Some(json!({"data": {"orders": 3, "phone": null}})))
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["version"], 2);
    assert_eq!(p["data"]["orders"], 3);
    assert!(p["data"].get("phone").is_none());
    assert_eq!(p["data"]["name"], "Mojca Kos");

    // PUT replaces; a stale If-Match is refused and changes nothing.
    let put = s
        .http
        .put(format!("{}{recs}/{id}", s.base))
        .bearer_auth(&op)
        .header("If-Match", "\"1\"")
        .json(&json!({"data": {"email": "mojca.kos@example.si", "name": "Mojca Novak"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::PRECONDITION_FAILED);
    let put = s
        .http
        .put(format!("{}{recs}/{id}", s.base))
        .bearer_auth(&op)
        .header("If-Match", "\"2\"")
        .json(&json!({"data": {"email": "mojca.kos@example.si", "name": "Mojca Novak"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(put.headers()["etag"], "\"3\"");
    let (_, got) = s.get(&format!("{recs}/{id}"), &op).await;
    assert_eq!(got["data"]["name"], "Mojca Novak");
    assert!(got["data"].get("orders").is_none());

    // All of a subject's records, across collections.
    let (st, all) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/records"), &op).await;
    assert_eq!(st, StatusCode::OK);
    let mut cols: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["collection"].as_str().unwrap()).collect();
    cols.sort();
    assert_eq!(cols, ["customers", "customers", "newsletter"]);

    // Delete one record; it is gone, the others stay.
    let (st, _) = s.call(Method::DELETE, &format!("{recs}/{id}"), Some(&op), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get(&format!("{recs}/{id}"), &op).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.call(Method::DELETE, &format!("{recs}/{id}"), Some(&op), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Erasing the subject removes everything about them.
    let (st, e) = s.call(Method::DELETE, &format!("/v1/tenants/{t}/subjects/{subject}"), Some(&op), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(e["records_deleted"], 2);
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/records"), &op).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/subjects/lookup"),
            &op,
            json!({"kind": "email", "value": "mojca.kos@example.si"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
both!(records_crud_and_subject_listing);

async fn conf3_lookup_by_blind_index(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (_, r) = s
        .post(&recs, &s.admin, json!({"data": {"email": "peter@exi.si", "name": "Peter", "phone": "+386 1 234 5678"}}))
        .await;
    let subject = r["subject_id"].as_str().unwrap();
    let lookup = format!("/v1/tenants/{t}/subjects/lookup");
    for (kind, value) in [("email", " PETER@Exi.SI"), ("phone", "00386 1 234-5678"), ("phone", "+38612345678")] {
        let (st, got) = s.post(&lookup, &s.admin, json!({"kind": kind, "value": value})).await;
        assert_eq!(st, StatusCode::OK, "{kind} {got}");
        assert_eq!(got["id"], subject);
    }
    let (st, _) = s.post(&lookup, &s.admin, json!({"kind": "email", "value": "nobody@exi.si"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, p) = s.post(&lookup, &s.admin, json!({"kind": "email", "value": "not an email"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "value");

    // Find-or-create: the same e-mail finds the same person; a new one creates.
    let subjects = format!("/v1/tenants/{t}/subjects");
    let (st, got) =
        s.post(&subjects, &s.admin, json!({"identifiers": {"email": "Peter@exi.si", "customer_number": "C-1"}})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["id"], subject);
    let (st, _) = s.post(&lookup, &s.admin, json!({"kind": "customer_number", "value": "C-1"})).await;
    assert_eq!(st, StatusCode::OK, "the customer number was attached to the known subject");
    let (st, new) = s.post(&subjects, &s.admin, json!({"identifiers": {"customer_number": "C-2"}})).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_ne!(new["id"], subject);
    let (st, got) = s.get(&format!("{subjects}/{}", new["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["id"], new["id"]);

    // An e-mail that belongs to one subject cannot be filed under another.
    let (st, p) =
        s.post(&recs, &s.admin, json!({"subject_id": new["id"], "data": {"email": "peter@exi.si", "name": "X"}})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
}
both!(conf3_lookup_by_blind_index);

async fn auth3_generated_password_must_be_changed(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("2Mobile", false).await;
    let (st, created) =
        s.post(&format!("/v1/tenants/{t}/staff"), &s.admin, json!({"username": "Luka", "role": "operator"})).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(created["password_change_required"], true);
    let otp = created["one_time_password"].as_str().unwrap();

    let (st, _) = s
        .call(Method::POST, "/v1/auth/login", None, Some(json!({"username": "luka", "password": "wrong password!"})))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) =
        s.call(Method::POST, "/v1/auth/login", None, Some(json!({"username": "nobody", "password": otp}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, l) =
        s.call(Method::POST, "/v1/auth/login", None, Some(json!({"username": "LUKA", "password": otp}))).await;
    assert_eq!(st, StatusCode::OK);
    let token = l["token"].as_str().unwrap();
    assert_eq!(l["staff"]["password_change_required"], true);
    let (st, p) = s.get(&format!("/v1/tenants/{t}/collections"), token).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(p["type"], "https://varuh.dev/problems/password-change-required");
    // Too short a new password is refused and names the field.
    let (st, p) = s.post("/v1/auth/password", token, json!({"current_password": otp, "new_password": "short"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "new_password");
    let (st, _) = s
        .post(
            "/v1/auth/password",
            token,
            json!({"current_password": "wrong", "new_password": "a much longer password"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .post("/v1/auth/password", token, json!({"current_password": otp, "new_password": "a much longer password"}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get(&format!("/v1/tenants/{t}/collections"), token).await;
    assert_eq!(st, StatusCode::OK);
    let (st, me) = s.get("/v1/auth/me", token).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["role"], "operator");
    assert_eq!(me["tenant_id"], t.as_str());
    // The one-time password no longer works; logout ends the session.
    let (st, _) =
        s.call(Method::POST, "/v1/auth/login", None, Some(json!({"username": "luka", "password": otp}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s.call(Method::POST, "/v1/auth/logout", Some(token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get("/v1/auth/me", token).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Duplicate login names are refused.
    let (st, _) =
        s.post(&format!("/v1/tenants/{t}/staff"), &s.admin, json!({"username": "luka", "role": "operator"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    // Staff listings show names to administrators.
    let (st, list) = s.get(&format!("/v1/tenants/{t}/staff"), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list[0]["username"], "luka");
}
both!(auth3_generated_password_must_be_changed);

/// Posts a record with `data` to `path` as the administrator, on a task of
/// its own (so that many run at once); the task checks the 201 and gives
/// back the created record.
fn create_at_once(s: &TestServer, path: &str, data: serde_json::Value) -> tokio::task::JoinHandle<serde_json::Value> {
    let (http, url, token) = (s.http.clone(), format!("{}{path}", s.base), s.admin.clone());
    tokio::spawn(async move {
        let r = http.post(url).bearer_auth(token).json(&json!({ "data": data })).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<serde_json::Value>().await.unwrap()
    })
}

async fn concurrent_creates_for_one_new_email_make_one_subject(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Race", false).await;
    s.collection(&t, newsletter()).await;
    let path = format!("/v1/tenants/{t}/collections/newsletter/records");
    let tasks: Vec<_> = (0..16)
        .map(|i| create_at_once(&s, &path, json!({"email": "same@race.si", "topics": format!("t{i}")})))
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap()["subject_id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one person, one subject: {ids:?}");
}
both!(concurrent_creates_for_one_new_email_make_one_subject);

/// A record to place directly (sealed fields stand-in), with a new subject
/// if `new`; each identifier's hash is its text repeated.
fn new_record(
    t: uuid::Uuid,
    collection: uuid::Uuid,
    subject: uuid::Uuid,
    new: bool,
    idents: &[&str],
    attrs: &[&str],
) -> varuh::store::queries::NewRecord {
    use varuh::store::queries::{IdentifierRow, NewRecord, RecordRow, SubjectRow};
    let id = uuid::Uuid::now_v7();
    let row = |kind: &str, k: &&str| IdentifierRow {
        kind: kind.into(),
        hash: k.as_bytes().repeat(4),
        source_record: Some(id),
    };
    NewRecord {
        new_subject: new.then(|| SubjectRow { tenant_id: t, id: subject, wrapped_key: vec![7; 40], created_at: 1 }),
        row: RecordRow {
            tenant_id: t,
            id,
            collection_id: collection,
            subject_id: subject,
            fields: vec![1, 2, 3],
            version: 1,
            created_at: 1,
            updated_at: 1,
        },
        idents: idents.iter().map(|k| row("email", k)).collect(),
        attrs: attrs.iter().map(|k| row("phone", k)).collect(),
    }
}

/// Several new records placed in one call (`queries::place_records`; on
/// PostgreSQL one `varuh_place_records` statement): each answers as it
/// would alone, and one that cannot be written (its subject is gone) fails
/// alone while the others are placed.
async fn records_placed_together_answer_each_alone(b: Backend) {
    use varuh::store::queries::{self, NewRecord, Placement};
    let s = TestServer::start(b).await;
    let t: uuid::Uuid = s.tenant("Together", false).await.parse().unwrap();
    s.collection(&t.to_string(), newsletter()).await;
    let (a, bb, ghost, c) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let url = s.cfg.database_url();
    let (first, second, counts) = tokio::task::spawn_blocking(move || {
        let loc = varuh::store::Location::parse(&url).unwrap();
        let mut db = varuh::store::Store::connect_raw(&loc).unwrap();
        let collection =
            db.query("SELECT id FROM collections WHERE tenant_id = $1", &[t.into()]).unwrap()[0].uuid(0).unwrap();
        let record = move |subject: uuid::Uuid, new: bool, idents: &[&str], attrs: &[&str]| {
            new_record(t, collection, subject, new, idents, attrs)
        };
        let mut call = |recs: &[NewRecord]| {
            db.batch("BEGIN").unwrap();
            let out = queries::place_records(db.as_mut(), recs).unwrap();
            db.batch("COMMIT").unwrap();
            out
        };
        // A and B new; the third names a subject that does not exist (on
        // PostgreSQL the inserts together fail and each record is placed
        // again on its own).
        let first = call(&[
            record(a, true, &["a@x.si"], &["+386 1"]),
            record(bb, true, &["b@x.si"], &[]),
            record(ghost, false, &["g@x.si"], &[]),
        ]);
        // A new subject with A's e-mail goes to A; B's record with A's
        // e-mail conflicts; a second record of A with a new e-mail is placed.
        let second = call(&[
            record(c, true, &["a@x.si"], &[]),
            record(bb, false, &["a2@x.si", "a@x.si"], &[]),
            record(a, false, &["a3@x.si"], &["+386 1"]),
        ]);
        let count = |db: &mut Box<dyn varuh::store::db::Db>, sql: &'static str| {
            db.query(sql, &[t.into()]).unwrap()[0].i64(0).unwrap()
        };
        let mut db = varuh::store::Store::connect_raw(&loc).unwrap();
        let counts = [
            count(&mut db, "SELECT COUNT(*) FROM subjects WHERE tenant_id = $1"),
            count(&mut db, "SELECT COUNT(*) FROM records WHERE tenant_id = $1"),
            count(&mut db, "SELECT COUNT(*) FROM subject_identifiers WHERE tenant_id = $1"),
            count(&mut db, "SELECT COUNT(*) FROM subject_attributes WHERE tenant_id = $1"),
        ];
        (first, second, counts)
    })
    .await
    .unwrap();
    assert!(matches!(first[0], Ok(Placement::Done)), "{first:?}");
    assert!(matches!(first[1], Ok(Placement::Done)), "{first:?}");
    assert!(first[2].is_err(), "a subject that is not there: {first:?}");
    assert!(matches!(second[0], Ok(Placement::Elsewhere(x)) if x == a), "{second:?}");
    assert!(matches!(second[1], Ok(Placement::Conflict)), "{second:?}");
    assert!(matches!(second[2], Ok(Placement::Done)), "{second:?}");
    // A and B, their three records, three e-mails, two phones; nothing of
    // the ghost's record, of C, or of B's conflicting record.
    assert_eq!(counts, [2, 3, 3, 2]);
}
both!(records_placed_together_answer_each_alone);

/// PostgreSQL: a batch of creates and their events in one autocommit
/// statement (`queries::place_records_audited`, migration 0025), as the
/// writer runs it when no transaction is open. Every record placed: the
/// events go as numbered. One not placed: only the placed records' events
/// go, numbered anew by the database after the log's real end. Either way
/// each placed record has its one event, the one not placed has none and
/// is not written, and the trail verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placed_records_commit_with_their_events_in_one_statement() {
    use varuh::audit::{Appender, Draft};
    use varuh::store::queries::{self, NewRecord, Placement};
    if crate::support::pg_url().is_none() {
        return;
    }
    let s = TestServer::start(Backend::Postgres).await;
    let t: uuid::Uuid = s.tenant("Alone", false).await.parse().unwrap();
    s.collection(&t.to_string(), newsletter()).await;
    let url = s.cfg.database_url();
    let (answers, ids) = tokio::task::spawn_blocking(move || {
        let loc = varuh::store::Location::parse(&url).unwrap();
        let mut db = varuh::store::Store::connect_raw(&loc).unwrap();
        let collection =
            db.query("SELECT id FROM collections WHERE tenant_id = $1", &[t.into()]).unwrap()[0].uuid(0).unwrap();
        let record =
            |subject: uuid::Uuid, new: bool, email: &str| new_record(t, collection, subject, new, &[email], &[]);
        let appender = std::sync::Mutex::new(Appender::default());
        let mut place = |recs: Vec<NewRecord>| {
            let events: Vec<(Draft, i64)> = recs
                .iter()
                .map(|r| {
                    let d = Draft {
                        request: "r".into(),
                        action: "record.create".into(),
                        outcome: "ok".into(),
                        tenant: Some(t),
                        subject: Some(r.row.subject_id),
                        record: Some(r.row.id),
                        ..Default::default()
                    };
                    (d, 2)
                })
                .collect();
            let of: Vec<usize> = (0..recs.len()).collect();
            let (answers, pushed) = Appender::push_with(&appender, db.as_mut(), &events, |db, size, last, _, batch| {
                queries::place_records_audited(db, &recs, &of, size, last, i64::MAX, batch, false)
            })
            .unwrap();
            assert!(pushed, "the placed records' events were appended");
            (answers, recs.iter().map(|r| r.row.id).collect::<Vec<_>>())
        };
        let (a, b, c, d) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let (first, first_ids) = place(vec![record(a, true, "a@alone.si"), record(b, true, "b@alone.si")]);
        // B's address again for a new person: placed at B instead (not
        // written); C's is placed, its event numbered anew.
        let (second, second_ids) = place(vec![record(d, true, "b@alone.si"), record(c, true, "c@alone.si")]);
        // Committed with no COMMIT sent: the placed records are there, the
        // other is not (nor its subject).
        let ids = vec![first_ids, second_ids];
        let mut db = varuh::store::Store::connect_raw(&loc).unwrap();
        let stored = |db: &mut Box<dyn varuh::store::db::Db>, table: &str, id: uuid::Uuid| {
            let sql = if table == "records" {
                "SELECT COUNT(*) FROM records WHERE tenant_id = $1 AND id = $2"
            } else {
                "SELECT COUNT(*) FROM subjects WHERE tenant_id = $1 AND id = $2"
            };
            db.query(sql, &[t.into(), id.into()]).unwrap()[0].i64(0).unwrap()
        };
        for id in [ids[0][0], ids[0][1], ids[1][1]] {
            assert_eq!(stored(&mut db, "records", id), 1);
        }
        assert_eq!(stored(&mut db, "records", ids[1][0]), 0);
        assert_eq!(stored(&mut db, "subjects", d), 0);
        assert_eq!(stored(&mut db, "subjects", c), 1);
        (vec![first, second], ids)
    })
    .await
    .unwrap();
    assert!(answers[0].iter().all(|a| matches!(a, Ok(Placement::Done))), "{:?}", answers[0]);
    assert!(matches!(answers[1][0], Ok(Placement::Elsewhere(_))), "{:?}", answers[1]);
    assert!(matches!(answers[1][1], Ok(Placement::Done)), "{:?}", answers[1]);
    let placed = [ids[0][0], ids[0][1], ids[1][1]];
    let (st, ev) = s.get("/v1/audit/events?action=record.create&limit=50", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{ev}");
    let mut logged: Vec<String> =
        ev["events"].as_array().unwrap().iter().map(|e| e["event"]["record"].as_str().unwrap().to_string()).collect();
    logged.sort();
    let mut want: Vec<String> = placed.iter().map(|i| i.to_string()).collect();
    want.sort();
    assert_eq!(logged, want, "one event per placed record, none for the other");
    let report = s.verify_trail().await;
    assert!(report.ok(), "{:?}", report.failures);
}

/// Many creates at once (on PostgreSQL gathered into calls of many
/// records): distinct people get a subject each, and one person's e-mail
/// sent from several clients at once gives one subject, in every call.
async fn many_concurrent_creates_place_each_person_once(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Crowd", false).await;
    s.collection(&t, newsletter()).await;
    let path = format!("/v1/tenants/{t}/collections/newsletter/records");
    let mut tasks = Vec::new();
    for i in 0..96 {
        // Every third create is one of four shared people.
        let email = if i % 3 == 0 { format!("shared{}@crowd.si", i % 4) } else { format!("p{i}@crowd.si") };
        tasks.push((email.clone(), create_at_once(&s, &path, json!({"email": email, "topics": format!("t{i}")}))));
    }
    let mut by_email = std::collections::HashMap::<String, std::collections::HashSet<String>>::new();
    let mut records = Vec::new();
    for (email, task) in tasks {
        let v = task.await.unwrap();
        by_email.entry(email).or_default().insert(v["subject_id"].as_str().unwrap().to_string());
        records.push(v["id"].as_str().unwrap().to_string());
    }
    assert_eq!(by_email.len(), 64 + 4);
    assert!(by_email.values().all(|s| s.len() == 1), "one person, one subject: {by_email:?}");
    let subjects: std::collections::HashSet<_> = by_email.values().flatten().collect();
    assert_eq!(subjects.len(), 68);
    // Every record reads back, and the audit trail holds one create for each.
    for id in &records {
        let (st, _) = s.get(&format!("{path}/{id}"), &s.admin).await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, ev) = s.get("/v1/audit/events?action=record.create&limit=500", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{ev}");
    let mut logged: Vec<String> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["outcome"] == "ok")
        .map(|e| e["event"]["record"].as_str().unwrap_or_default().to_string())
        .collect();
    logged.sort();
    records.sort();
    assert_eq!(logged, records, "one event per record, naming it");
}
both!(many_concurrent_creates_place_each_person_once);

/// Readers keep their snapshot while no vault data changes (SQLite); a
/// write that was answered must still be seen by every read after it, even
/// while other reads keep the snapshots busy.
async fn reads_see_every_answered_write(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let op = s.staff(&t, "ana.operator", "operator").await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (_, a) = s.post(&recs, &op, json!({"data": {"email": "a@example.si", "name": "A"}})).await;
    let (_, b_) = s.post(&recs, &op, json!({"data": {"email": "b@example.si", "name": "B", "orders": 0}})).await;
    let (a, bid) = (a["id"].as_str().unwrap().to_string(), b_["id"].as_str().unwrap().to_string());
    // Background reads of A keep the readers' snapshots in use.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut busy = Vec::new();
    for _ in 0..4 {
        let (http, url, token, stop) = (s.http.clone(), format!("{}{recs}/{a}", s.base), op.clone(), stop.clone());
        busy.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(http.get(&url).bearer_auth(&token).send().await.unwrap().status(), StatusCode::OK);
                n += 1;
            }
            n
        }));
    }
    for i in 1..=40 {
        let (st, p) =
            s.call(Method::PATCH, &format!("{recs}/{bid}"), Some(&op), Some(json!({"data": {"orders": i}}))).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        let (st, got) = s.get(&format!("{recs}/{bid}"), &op).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(got["data"]["orders"], i, "read after write {i}");
        // A new subject is found by its e-mail at once.
        let email = format!("new{i}@example.si");
        let (st, _) = s.post(&recs, &op, json!({"data": {"email": email, "name": "N"}})).await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, found) =
            s.post(&format!("/v1/tenants/{t}/subjects/lookup"), &op, json!({"kind": "email", "value": email})).await;
        assert_eq!(st, StatusCode::OK, "look-up after create {i}: {found}");
    }
    let (st, _) = s.call(Method::DELETE, &format!("{recs}/{bid}"), Some(&op), None).await;
    assert!(st.is_success(), "{st}");
    let (st, _) = s.get(&format!("{recs}/{bid}"), &op).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in busy {
        assert!(t.await.unwrap() > 0);
    }
}
both!(reads_see_every_answered_write);

/// PostgreSQL: a job run without a savepoint (`Store::write_whole`) whose
/// statement failed unnoticed leaves its transaction aborted. The batch
/// then answers with an error, not with the silent ROLLBACK PostgreSQL
/// makes of a COMMIT there, its writes are gone, and the next batch works.
#[tokio::test]
async fn an_aborted_batch_without_savepoints_answers_an_error() {
    if crate::support::pg_url().is_none() {
        return;
    }
    let url = crate::support::fresh_pg_database().await;
    let store = tokio::task::spawn_blocking(move || {
        varuh::store::Store::open(&varuh::store::Location::parse(&url).unwrap(), true, 1, 1)
    })
    .await
    .unwrap()
    .unwrap();
    store.write(|db| db.batch("CREATE TABLE guard_probe (x INT)")).await.unwrap();
    let failed = store
        .write_whole(|db| {
            db.exec("INSERT INTO guard_probe VALUES (1)", &[])?;
            let _ = db.exec("SELECT 1 / 0", &[]);
            Ok(())
        })
        .await;
    assert!(failed.is_err(), "an aborted transaction is not answered as committed");
    let count = "SELECT count(*)::BIGINT FROM guard_probe";
    let n = store.read(move |db| db.query(count, &[]).and_then(|r| r[0].i64(0))).await.unwrap();
    assert_eq!(n, 0, "nothing of the failed batch is kept");
    store.write_whole(|db| db.exec("INSERT INTO guard_probe VALUES (2)", &[]).map(|_| ())).await.unwrap();
    let n = store.read(move |db| db.query(count, &[]).and_then(|r| r[0].i64(0))).await.unwrap();
    assert_eq!(n, 1);
    tokio::task::spawn_blocking(move || drop(store)).await.unwrap();
}
