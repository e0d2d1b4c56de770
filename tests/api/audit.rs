//! The audit trail through the API and in the database: every access is an
//! event without values; administrators only; proofs verify; and tampering
//! with the stored events (edit, delete, reorder, insert) is found and located.

use crate::support::{both, customers, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use varuh::audit::{merkle, note::VerifierKey, unhex, verify};
use varuh::store::db::{Dialect, Val};
use varuh::store::{Location, Store};

fn hash(v: &Value) -> merkle::Hash {
    unhex(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

/// A server with some activity: returns it, the operator's token, tenant, subject.
async fn activity(b: Backend) -> (TestServer, String, String, String) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let op = s.staff(&t, "ana.operator", "operator").await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (st, r) = s.post(&recs, &op, json!({"data": {"email": "mojca.kos@example.si", "name": "Mojca Kos"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let (st, _) = s.get(&format!("{recs}/{}", r["id"].as_str().unwrap()), &op).await;
    assert_eq!(st, StatusCode::OK);
    (s, op, t, r["subject_id"].as_str().unwrap().to_string())
}

async fn aud1_every_access_is_recorded_without_values(b: Backend) {
    let (s, op, t, subject) = activity(b).await;
    // A failed login and a request without a token are recorded too.
    let (st, _) = s
        .call(
            reqwest::Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"username": "ana.operator", "password": "wrong password!!"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s.call(reqwest::Method::GET, "/v1/tenants", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Who has seen this person's data?
    let (st, page) = s.get(&format!("/v1/audit/events?tenant={t}&subject={subject}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let evs = page["events"].as_array().unwrap();
    let actions: Vec<&str> = evs.iter().map(|e| e["event"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["record.create", "record.read"], "{page}");
    let (_, me) = s.get("/v1/auth/me", &op).await;
    for e in evs {
        assert_eq!(e["event"]["actor"], me["staff_id"]);
        assert_eq!(e["event"]["role"], "operator");
        assert_eq!(e["event"]["outcome"], "ok");
        assert_eq!(e["event"]["source"], "127.0.0.1");
        assert_eq!(e["event"]["collection"], "customers");
        assert!(!e["event"]["request"].as_str().unwrap().is_empty());
    }
    assert_eq!(evs[1]["event"]["fields"], json!(["email", "name"]));
    // Names and ids only: no value appears anywhere in the trail.
    let (_, all) = s.get("/v1/audit/events?limit=1000", &s.admin).await;
    let text = all.to_string();
    assert!(!text.contains("mojca") && !text.contains("Mojca"), "a value leaked into the audit trail");
    for (action, outcome) in
        [("auth.login", "unauthenticated"), ("auth.session", "unauthenticated"), ("auth.login", "ok")]
    {
        assert!(
            all["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"]["action"] == action && e["event"]["outcome"] == outcome),
            "no {action} {outcome} event"
        );
    }
    // By actor, and the query itself was recorded.
    let (_, by_actor) = s
        .get(&format!("/v1/audit/events?actor={}&action=record.read", me["staff_id"].as_str().unwrap()), &s.admin)
        .await;
    assert_eq!(by_actor["events"].as_array().unwrap().len(), 1);
    let (_, queries) = s.get("/v1/audit/events?action=audit.query", &s.admin).await;
    assert!(queries["events"].as_array().unwrap().len() >= 3, "{queries}");
    // Paging: one at a time, in order.
    let (_, p1) = s.get("/v1/audit/events?limit=1", &s.admin).await;
    let after = p1["next_after"].as_u64().unwrap();
    let (_, p2) = s.get(&format!("/v1/audit/events?limit=1&after={after}"), &s.admin).await;
    assert_eq!(p2["events"][0]["seq"].as_u64().unwrap(), after + 1);
}
both!(aud1_every_access_is_recorded_without_values);

async fn aud2_only_administrators_read_the_trail(b: Backend) {
    let (s, op, _, _) = activity(b).await;
    for path in
        ["/v1/audit/events", "/v1/audit/head", "/v1/audit/proofs/consistency?first=1&second=2", "/v1/audit/export"]
    {
        let (st, _) = s.get(path, &op).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
    }
    // The refusal is recorded.
    let (_, denied) = s.get("/v1/audit/events?action=audit.query", &s.admin).await;
    assert!(denied["events"].as_array().unwrap().iter().any(|e| e["event"]["outcome"] == "denied"), "{denied}");
}
both!(aud2_only_administrators_read_the_trail);

async fn aud3_heads_and_proofs_verify(b: Backend) {
    let (s, _, _, _) = activity(b).await;
    let (st, h1) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{h1}");
    let key = VerifierKey::parse(h1["key"].as_str().unwrap()).unwrap();
    let c1 = varuh::audit::note::open(h1["checkpoint"].as_str().unwrap(), &key).unwrap();
    assert_eq!(c1.size, h1["tree_size"].as_u64().unwrap());
    s.get("/v1/tenants", &s.admin).await;
    let (_, h2) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    let c2 = varuh::audit::note::open(h2["checkpoint"].as_str().unwrap(), &key).unwrap();
    assert!(c2.size > c1.size);
    // Inclusion of event 3 in the second head.
    let (st, inc) = s.get(&format!("/v1/audit/proofs/inclusion?seq=3&tree_size={}", c2.size), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{inc}");
    let path: Vec<merkle::Hash> = inc["path"].as_array().unwrap().iter().map(hash).collect();
    assert!(merkle::verify_inclusion(3, c2.size, &hash(&inc["leaf_hash"]), &path, &c2.root));
    assert!(!merkle::verify_inclusion(4, c2.size, &hash(&inc["leaf_hash"]), &path, &c2.root));
    // Consistency between the two heads.
    let (_, cons) =
        s.get(&format!("/v1/audit/proofs/consistency?first={}&second={}", c1.size, c2.size), &s.admin).await;
    let proof: Vec<merkle::Hash> = cons["proof"].as_array().unwrap().iter().map(hash).collect();
    assert!(merkle::verify_consistency(c1.size, c2.size, &c1.root, &c2.root, &proof));
    // Bad input: a proof beyond the log.
    let (st, _) = s.get("/v1/audit/proofs/inclusion?seq=5&tree_size=100000", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/v1/audit/proofs/inclusion?seq=9&tree_size=3", &s.admin).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // An export verifies on its own.
    let resp = s.http.get(format!("{}/v1/audit/export", s.base)).bearer_auth(&s.admin).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let r = verify::verify_export(&text, &key);
    assert!(r.ok() && r.events >= c2.size, "{:?}", r.failures);
    let tampered = text.replacen("record.read", "record.list", 1);
    assert!(!verify::verify_export(&tampered, &key).ok());
}
both!(aud3_heads_and_proofs_verify);

/// Tampers with the stored trail the way someone with database access
/// could, then returns the verifier's report.
async fn tamper(b: Backend, how: &str) -> verify::Report {
    let (s, _, _, _) = activity(b).await;
    let (_, h) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    let key = VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
    let location = Location::parse(&s.cfg.database_url()).unwrap();
    let how = how.to_string();
    tokio::task::spawn_blocking(move || {
        let mut db = Store::connect_raw(&location).unwrap();
        assert!(verify::verify_store(db.as_mut(), &key, &[]).unwrap().ok(), "intact before tampering");
        // The store refuses changes.
        assert!(db.exec("UPDATE audit_events SET action = 'x' WHERE seq = 3", &[]).is_err());
        assert!(db.exec("DELETE FROM audit_events WHERE seq = 3", &[]).is_err());
        // Someone who can drop the guards goes on.
        match db.dialect() {
            Dialect::Sqlite => db.batch("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;").unwrap(),
            Dialect::Postgres => db
                .batch("DROP TRIGGER audit_events_append_only ON audit_events; GRANT UPDATE, DELETE ON audit_events TO CURRENT_USER;")
                .unwrap(),
        }
        let body = db.query("SELECT body FROM audit_events WHERE seq = 3", &[]).unwrap()[0].blob(0).unwrap();
        match how.as_str() {
            "edit" => {
                let edited = String::from_utf8(body).unwrap().replacen("\"outcome\":\"ok\"", "\"outcome\":\"denied\"", 1).into_bytes();
                db.exec("UPDATE audit_events SET body = $1 WHERE seq = 3", &[Val::Blob(edited)]).unwrap();
            }
            "edit+rehash" => {
                let edited = String::from_utf8(body).unwrap().replacen("\"outcome\":\"ok\"", "\"outcome\":\"denied\"", 1).into_bytes();
                let leaf = merkle::leaf_hash(&edited).to_vec();
                db.exec("UPDATE audit_events SET body = $1, leaf_hash = $2 WHERE seq = 3", &[Val::Blob(edited), Val::Blob(leaf)]).unwrap();
            }
            "frontier" => {
                // Where a restart resumes: later appends would build on a wrong tree.
                match db.dialect() {
                    Dialect::Sqlite => db.batch("DROP TRIGGER audit_frontier_no_update;").unwrap(),
                    Dialect::Postgres => db
                        .batch("DROP TRIGGER audit_frontier_append_only ON audit_frontier; GRANT UPDATE ON audit_frontier TO CURRENT_USER;")
                        .unwrap(),
                }
                db.exec("UPDATE audit_frontier SET stack = $1", &[Val::Blob(vec![0; 32 * 3])]).unwrap();
            }
            "columns" => {
                // The body (and so the tree) untouched; what queries find changed.
                db.exec("UPDATE audit_events SET action = 'auth.login', subject_id = NULL, time_ms = 0 WHERE seq = 3", &[]).unwrap();
            }
            "source" => {
                // Hidden from a scope by address, or pinned on another one.
                db.exec("UPDATE audit_events SET source = '10.9.9.9' WHERE seq = 3", &[]).unwrap();
            }
            "source-null" => {
                db.exec("UPDATE audit_events SET source = NULL WHERE seq = 3", &[]).unwrap();
            }
            "delete" => {
                db.exec("DELETE FROM audit_events WHERE seq = 3", &[]).unwrap();
            }
            "reorder" => {
                db.exec("UPDATE audit_events SET seq = -1 WHERE seq = 3", &[]).unwrap();
                db.exec("UPDATE audit_events SET seq = 3 WHERE seq = 4", &[]).unwrap();
                db.exec("UPDATE audit_events SET seq = 4 WHERE seq = -1", &[]).unwrap();
            }
            "insert" => {
                // Shift everything from 3 up by one, then put a forged event at 3.
                let n = db.query("SELECT COUNT(*) FROM audit_events", &[]).unwrap()[0].i64(0).unwrap();
                for seq in (3..n).rev() {
                    db.exec("UPDATE audit_events SET seq = seq + 1 WHERE seq = $1", &[Val::I64(seq)]).unwrap();
                }
                let forged = b"{\"seq\":3,\"time\":0,\"prev\":\"\",\"action\":\"record.read\"}".to_vec();
                let leaf = merkle::leaf_hash(&forged).to_vec();
                db.exec(
                    "INSERT INTO audit_events (seq, time_ms, action, body, leaf_hash) VALUES (3, 0, 'record.read', $1, $2)",
                    &[Val::Blob(forged), Val::Blob(leaf)],
                )
                .unwrap();
            }
            other => panic!("unknown tampering {other}"),
        }
        verify::verify_store(db.as_mut(), &key, &[]).unwrap()
    })
    .await
    .unwrap()
}

async fn aud3_tampering_is_caught_and_located(b: Backend) {
    for (how, at) in [
        ("edit", 3),
        ("edit+rehash", 3),
        ("columns", 3),
        ("source", 3),
        ("source-null", 3),
        ("delete", 3),
        ("reorder", 3),
        ("insert", 3),
    ] {
        let r = tamper(b, how).await;
        assert!(!r.ok(), "{how} was not caught");
        assert_eq!(r.first().unwrap().position, Some(at), "{how}: {:?}", r.failures);
    }
    let r = tamper(b, "frontier").await;
    assert!(r.failures.iter().any(|f| f.message.contains("kept frontier")), "{:?}", r.failures);
}
both!(aud3_tampering_is_caught_and_located);

/// Runs SQL on the test server's database with a plain connection.
async fn sql(s: &TestServer, script: &'static str) {
    let location = Location::parse(&s.cfg.database_url()).unwrap();
    tokio::task::spawn_blocking(move || Store::connect_raw(&location).unwrap().batch(script).unwrap()).await.unwrap();
}

async fn aud1_a_change_without_its_event_is_not_stored(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    // The audit table refuses new rows (as a full disk or a broken table would).
    match b {
        Backend::Sqlite => sql(&s, "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'refused'); END;").await,
        Backend::Postgres => {
            sql(
                &s,
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
                 CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
            )
            .await
        }
    }
    let (st, body) =
        s.post(&recs, &s.admin, json!({"data": {"email": "mojca.kos@example.si", "name": "Mojca Kos"}})).await;
    assert!(st.is_server_error(), "{st} {body}");
    assert!(!body.to_string().contains("mojca"), "{body}");
    let (st, _) =
        s.post(&format!("/v1/tenants/{t}/collections"), &s.admin, json!({"name": "other", "fields": []})).await;
    assert!(st.is_server_error() || st == StatusCode::UNPROCESSABLE_ENTITY, "{st}");
    match b {
        Backend::Sqlite => sql(&s, "DROP TRIGGER refuse_audit;").await,
        Backend::Postgres => sql(&s, "DROP TRIGGER refuse_audit ON audit_events;").await,
    }
    // Nothing of the refused change was kept: no record, no subject.
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/subjects/lookup"),
            &s.admin,
            json!({"kind": "email", "value": "mojca.kos@example.si"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s.get(&recs, &s.admin).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    // And the log is whole: the next change and its event go through.
    let (st, r) =
        s.post(&recs, &s.admin, json!({"data": {"email": "mojca.kos@example.si", "name": "Mojca Kos"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let (_, evs) =
        s.get(&format!("/v1/audit/events?tenant={t}&subject={}", r["subject_id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(evs["events"][0]["event"]["action"], "record.create", "{evs}");
    assert_eq!(evs["events"][0]["event"]["record"], r["id"]);
    let location = Location::parse(&s.cfg.database_url()).unwrap();
    let (_, h) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    let key = VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
    let rep = tokio::task::spawn_blocking(move || {
        verify::verify_store(Store::connect_raw(&location).unwrap().as_mut(), &key, &[]).unwrap()
    })
    .await
    .unwrap();
    assert!(rep.ok(), "{:?}", rep.failures);
}
both!(aud1_a_change_without_its_event_is_not_stored);

/// A tiny webhook receiver on loopback (on `port`, or any free one):
/// answers 204 and keeps each body.
async fn receiver(port: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/heads",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let url = format!("http://{}/heads", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

async fn aud4_heads_are_published_and_a_rollback_is_caught(b: Backend) {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("heads.jsonl");
    let (url, got) = receiver(0).await;
    let (f, u) = (file.clone(), url.clone());
    let s = TestServer::start_with(b, move |c| {
        c.audit_publish_file = Some(f);
        c.audit_publish_webhook = Some(u);
        c.audit_head_seconds = 1;
    })
    .await;
    let t = s.tenant("Ham d.o.o.", false).await;
    // On a schedule: a head appears without anyone asking.
    let mut scheduled = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        scheduled = got.lock().unwrap().len();
        if scheduled > 0 {
            break;
        }
    }
    assert!(scheduled > 0, "no head was published on the schedule");
    // On demand: the head of the moment reaches the file and the webhook.
    s.collection(&t, customers()).await;
    let (st, h1) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{h1}");
    let key = VerifierKey::parse(h1["key"].as_str().unwrap()).unwrap();
    let n1 = h1["tree_size"].as_u64().unwrap();
    let hooked: Value = serde_json::from_str(got.lock().unwrap().last().unwrap()).unwrap();
    assert_eq!(hooked["tree_size"].as_u64(), Some(n1), "{hooked}");
    assert_eq!(varuh::audit::note::open(hooked["checkpoint"].as_str().unwrap(), &key).unwrap().size, n1);
    s.get(&format!("/v1/tenants/{t}"), &s.admin).await;
    let (_, h2) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    let n2 = h2["tree_size"].as_u64().unwrap();
    assert!(n2 > n1);
    let published = verify::read_published(&std::fs::read_to_string(&file).unwrap());
    assert!(published.len() >= 2, "{published:?}");

    // The command-line verifier agrees with the published heads.
    let cli = |extra: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"));
        c.arg("--data-dir")
            .arg(&s.cfg.data_dir)
            .env("VARUH_DATABASE_URL", s.cfg.database_url())
            .args(["audit", "verify"])
            .args(extra);
        c.output().unwrap()
    };
    let published_arg = file.to_str().unwrap().to_string();
    let ok = cli(&["--published", &published_arg]);
    assert!(ok.status.success(), "{}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("OK"));

    // Someone with the database restores it to the state of the first head:
    // every later event and head gone, the rest intact.
    let location = Location::parse(&s.cfg.database_url()).unwrap();
    let k = key.clone();
    let p = published.clone();
    let (inside, outside) = tokio::task::spawn_blocking(move || {
        let mut db = Store::connect_raw(&location).unwrap();
        match db.dialect() {
            Dialect::Sqlite => db.batch("DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_heads_no_delete; DROP TRIGGER audit_frontier_no_delete;").unwrap(),
            Dialect::Postgres => db
                .batch(
                    "DROP TRIGGER audit_events_append_only ON audit_events; DROP TRIGGER audit_heads_append_only ON audit_heads; \
                     DROP TRIGGER audit_frontier_append_only ON audit_frontier; \
                     GRANT DELETE ON audit_events, audit_heads, audit_frontier TO CURRENT_USER;",
                )
                .unwrap(),
        }
        db.exec("DELETE FROM audit_events WHERE seq >= $1", &[Val::I64(n1 as i64)]).unwrap();
        db.exec("DELETE FROM audit_heads WHERE tree_size > $1", &[Val::I64(n1 as i64)]).unwrap();
        db.exec("DELETE FROM audit_frontier WHERE tree_size > $1", &[Val::I64(n1 as i64)]).unwrap();
        (verify::verify_store(db.as_mut(), &k, &[]).unwrap(), verify::verify_store(db.as_mut(), &k, &p).unwrap())
    })
    .await
    .unwrap();
    // From inside the database alone the rollback cannot be seen …
    assert!(inside.ok(), "{:?}", inside.failures);
    // … against the published heads it is, at the first missing event.
    assert!(!outside.ok());
    assert_eq!(outside.first().unwrap().position, Some(n1), "{:?}", outside.failures);
    let bad = cli(&["--published", &published_arg]);
    assert_eq!(bad.status.code(), Some(1), "{}", String::from_utf8_lossy(&bad.stdout));
    let text = String::from_utf8_lossy(&bad.stdout).to_string() + &String::from_utf8_lossy(&bad.stderr);
    assert!(text.contains(&format!("{n1}")) && text.contains("rolled back"), "{text}");
}
both!(aud4_heads_are_published_and_a_rollback_is_caught);

async fn aud4_publishing_needs_a_valid_webhook() {
    let mut c =
        varuh::config::Config { audit_publish_webhook: Some("ftp://example.org/x".into()), ..Default::default() };
    assert!(c.check().unwrap_err().to_string().contains("audit_publish_webhook"));
    // https is checked against the web's roots when a head is published.
    c.audit_publish_webhook = Some("https://example.org/x".into());
    assert!(c.check().is_ok());
    c.audit_publish_webhook = Some("not a url".into());
    assert!(c.check().is_err());
    c.audit_publish_webhook = Some("http://127.0.0.1:9/heads".into());
    assert!(c.check().is_ok());
}

#[tokio::test]
async fn aud4_webhook_setting_is_checked() {
    aud4_publishing_needs_a_valid_webhook().await
}

/// A webhook that refuses: the head is stored, the request says it was not
/// published, and the next head publishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud4_a_refused_publication_is_reported_and_retried() {
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}/heads");
    let u = url.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.audit_publish_webhook = Some(u);
        c.audit_head_seconds = 0;
    })
    .await;
    let (st, body) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.to_string().contains("could not be published"), "{body}");
    // The receiver comes up on that port; the next request publishes.
    let (_, got) = receiver(port).await;
    let (st, h) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{h}");
    assert_eq!(got.lock().unwrap().len(), 1);
}

async fn aud1_a_list_is_recorded_for_each_subject_shown(b: Backend) {
    let (s, op, t, subject) = activity(b).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (st, r2) =
        s.post(&recs, &op, json!({"data": {"email": "janez.novak@example.si", "name": "Janez Novak"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{r2}");
    let (st, list) = s.get(&recs, &op).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    for sid in [subject.as_str(), r2["subject_id"].as_str().unwrap()] {
        let (_, page) =
            s.get(&format!("/v1/audit/events?tenant={t}&subject={sid}&action=subject.seen"), &s.admin).await;
        let evs = page["events"].as_array().unwrap();
        assert_eq!(evs.len(), 1, "{page}");
        assert_eq!(evs[0]["event"]["detail"], "via=record.list records=1");
        assert_eq!(evs[0]["event"]["fields"], json!(["email", "name"]));
        assert_eq!(evs[0]["event"]["collection"], "customers");
    }
}
both!(aud1_a_list_is_recorded_for_each_subject_shown);

/// PostgreSQL with the roles the README recommends: the schema owned by an
/// administrative role, varuh connecting as a role that may only SELECT and
/// INSERT on the audit tables. varuh works; changing the trail is refused
/// by privilege, and the guards cannot be dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud3_postgres_app_role_can_only_insert_and_select_audit_rows() {
    if crate::support::pg_url().is_none() {
        return;
    }
    let admin_url = crate::support::fresh_pg_database().await;
    let role = format!("varuh_app_{}", uuid::Uuid::new_v4().simple());
    let (au, r) = (admin_url.clone(), role.clone());
    tokio::task::spawn_blocking(move || {
        // The administrator creates the schema (varuh's migrations) ...
        drop(Store::open(&Location::parse(&au).unwrap(), false, 1, 1).unwrap());
        let mut c = postgres::Client::connect(&au, postgres::NoTls).unwrap();
        // ... and grants the application role what it needs, and no more on the trail.
        c.batch_execute(&format!(
            "CREATE ROLE {r} LOGIN; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}; \
             REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_heads, audit_frontier, audit_subject_runs FROM {r};"
        ))
        .unwrap();
    })
    .await
    .unwrap();
    // The same URL with the application role as user.
    let (head, tail) = admin_url.split_once("://").unwrap();
    let (_, host_and_db) = tail.split_once('@').unwrap();
    let app_url = format!("{head}://{role}@{host_and_db}");
    let u = app_url.clone();
    let s = TestServer::start_with(Backend::Postgres, move |c| c.database_url = Some(u)).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": "a@example.si", "name": "A"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CREATED);
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&app_url, postgres::NoTls).unwrap();
        let n: i64 = c.query_one("SELECT COUNT(*) FROM audit_events", &[]).unwrap().get(0);
        assert!(n > 5);
        for sql in [
            "UPDATE audit_events SET action = 'x' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 1",
            "TRUNCATE audit_events",
            "UPDATE audit_heads SET note = 'x'",
            "DELETE FROM audit_subject_runs",
            "DROP TRIGGER audit_events_append_only ON audit_events",
            "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        ] {
            let e = c.batch_execute(sql).expect_err(sql);
            let e = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
            assert!(
                e.contains("permission denied") || e.contains("must be owner") || e.contains("privilege"),
                "{sql}: {e}"
            );
        }
        // Granting itself more is a no-op (a warning), not a way round.
        let _ = c.batch_execute("GRANT UPDATE, DELETE ON audit_events TO CURRENT_USER");
        assert!(c.batch_execute("UPDATE audit_events SET action = 'x' WHERE seq = 1").is_err());
    })
    .await
    .unwrap();
}

/// Proofs and exports over a log of several blocks (1024 events each),
/// where proofs use the kept block roots and two blocks of leaves.
async fn aud3_proofs_across_blocks(b: Backend) {
    let s = TestServer::start(b).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, url, token) = (s.http.clone(), format!("{}/v1/tenants", s.base), s.admin.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..160 {
                assert!(http.get(&url).bearer_auth(&token).send().await.unwrap().status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, h) = s.post("/v1/audit/heads", &s.admin, json!({})).await;
    let key = VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
    let c = varuh::audit::note::open(h["checkpoint"].as_str().unwrap(), &key).unwrap();
    assert!(c.size > 2 * 1024, "{}", c.size);
    for seq in [0, 1023, 1024, 1500, c.size - 1] {
        let (st, inc) = s.get(&format!("/v1/audit/proofs/inclusion?seq={seq}&tree_size={}", c.size), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{inc}");
        let path: Vec<merkle::Hash> = inc["path"].as_array().unwrap().iter().map(hash).collect();
        assert!(merkle::verify_inclusion(seq, c.size, &hash(&inc["leaf_hash"]), &path, &c.root), "seq {seq}");
    }
    for first in [1, 1024, 1025, 2048, c.size - 1] {
        let (_, h1) = s.get(&format!("/v1/audit/proofs/inclusion?seq=0&tree_size={first}"), &s.admin).await;
        assert!(h1["path"].is_array());
        let (st, cons) =
            s.get(&format!("/v1/audit/proofs/consistency?first={first}&second={}", c.size), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{cons}");
        // The first tree's root, from an export of everything up to it.
        let text = s
            .http
            .get(format!("{}/v1/audit/export?to={first}", s.base))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let leaves: Vec<merkle::Hash> =
            text.lines().skip(1).map(|l| hash(&serde_json::from_str::<Value>(l).unwrap()["leaf_hash"])).collect();
        assert_eq!(leaves.len() as u64, first);
        let proof: Vec<merkle::Hash> = cons["proof"].as_array().unwrap().iter().map(hash).collect();
        assert!(merkle::verify_consistency(first, c.size, &merkle::root(&leaves), &c.root, &proof), "first {first}");
    }
    let text = s
        .http
        .get(format!("{}/v1/audit/export", s.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = verify::verify_export(&text, &key);
    assert!(r.ok() && r.events > 2048, "{:?}", r.failures);
}
both!(aud3_proofs_across_blocks);

/// Who may call which audit endpoint: operators none; a tenant
/// administrator reads its tenant's events only (another tenant looks
/// absent) and makes heads, but exports (every tenant's events) are for
/// system administrators.
async fn aud2_every_audit_endpoint_has_its_rule(b: Backend) {
    let (s, op, t, subject) = activity(b).await;
    let other = s.tenant("Drugi d.o.o.", false).await;
    let tadmin = s.staff(&t, "tina.admin", "administrator").await;
    let routes: [(reqwest::Method, &str); 6] = [
        (reqwest::Method::GET, "/v1/audit/head"),
        (reqwest::Method::POST, "/v1/audit/heads"),
        (reqwest::Method::GET, "/v1/audit/proofs/inclusion?seq=0&tree_size=2"),
        (reqwest::Method::GET, "/v1/audit/proofs/consistency?first=1&second=2"),
        (reqwest::Method::GET, "/v1/audit/events"),
        (reqwest::Method::GET, "/v1/audit/export"),
    ];
    for (m, path) in &routes {
        let body = (*m == reqwest::Method::POST).then(|| json!({}));
        let (st, _) = s.call(m.clone(), path, None, body.clone()).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{path} without a token");
        let (st, _) = s.call(m.clone(), path, Some(&op), body.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path} as operator");
        let (st, _) = s.call(m.clone(), path, Some(&s.admin), body.clone()).await;
        assert!(st.is_success(), "{path} as system administrator: {st}");
        let (st, _) = s.call(m.clone(), path, Some(&tadmin), body).await;
        let want = if path.starts_with("/v1/audit/export") { StatusCode::FORBIDDEN } else { StatusCode::OK };
        assert!(st == want || (want == StatusCode::OK && st.is_success()), "{path} as tenant administrator: {st}");
    }
    // The tenant administrator's view is its own tenant.
    let (_, mine) = s.get("/v1/audit/events?limit=1000", &tadmin).await;
    assert!(mine["events"].as_array().unwrap().iter().all(|e| e["event"]["tenant"] == json!(t)), "{mine}");
    let (st, _) = s.get(&format!("/v1/audit/events?tenant={other}"), &tadmin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, page) = s.get(&format!("/v1/audit/events?tenant={t}&subject={subject}"), &tadmin).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!page["events"].as_array().unwrap().is_empty());
}
both!(aud2_every_audit_endpoint_has_its_rule);

/// Bad query parameters: a 422 problem naming the parameter, nothing echoed.
async fn aud4_bad_audit_queries_name_the_parameter(b: Backend) {
    let s = TestServer::start(b).await;
    let cases: &[(&str, &str)] = &[
        ("/v1/audit/events?limit=lots", "limit"),
        ("/v1/audit/events?limit=0", "limit"),
        ("/v1/audit/events?limit=100000", "limit"),
        ("/v1/audit/events?tenant=not-a-uuid-SECRETVALUE", "tenant"),
        ("/v1/audit/events?subject=00000000-0000-0000-0000-000000000001", "tenant"),
        ("/v1/audit/events?actor=12", "actor"),
        ("/v1/audit/events?from=yesterday", "from"),
        ("/v1/audit/events?to=2026-13-45T00:00:00Z", "to"),
        ("/v1/audit/events?after=x", "after"),
        ("/v1/audit/events?colour=red", "colour"),
        ("/v1/audit/proofs/inclusion?seq=1", "tree_size"),
        ("/v1/audit/proofs/inclusion?seq=-1&tree_size=3", "seq"),
        ("/v1/audit/proofs/inclusion?seq=5&tree_size=3", "seq"),
        ("/v1/audit/proofs/consistency?first=3&second=1", "first"),
        ("/v1/audit/proofs/consistency?first=a&second=1", "first"),
        ("/v1/audit/export?from=9&to=3", "from"),
        ("/v1/audit/export?from=x", "from"),
    ];
    for (path, field) in cases {
        let (st, p) = s.get(path, &s.admin).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {p}");
        assert_eq!(p["field"], json!(field), "{path}: {p}");
        assert!(!p.to_string().contains("SECRETVALUE"), "{path} echoed its value: {p}");
    }
}
both!(aud4_bad_audit_queries_name_the_parameter);

/// A time window: only the events of that window, oldest first.
async fn aud4_events_in_a_time_window(b: Backend) {
    let (s, _, _, _) = activity(b).await;
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(20));
    pause().await;
    let from = varuh::clock::now_ms();
    s.get("/v1/tenants", &s.admin).await;
    s.get("/v1/tenants", &s.admin).await;
    pause().await;
    let to = varuh::clock::now_ms();
    pause().await;
    s.get("/v1/tenants", &s.admin).await;
    let q = format!("/v1/audit/events?from={}&to={}", varuh::clock::rfc3339(from), varuh::clock::rfc3339(to));
    let (st, page) = s.get(&q, &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let evs = page["events"].as_array().unwrap();
    let actions: Vec<&str> = evs.iter().map(|e| e["event"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.list", "tenant.list"], "{page}");
    for e in evs {
        let t = e["event"]["time"].as_i64().unwrap();
        assert!(t >= from && t < to, "{t} outside {from}..{to}");
    }
    // With an action filter and paging inside the window.
    let (_, one) = s.get(&format!("{q}&action=tenant.list&limit=1"), &s.admin).await;
    let after = one["next_after"].as_u64().unwrap();
    let (_, two) = s.get(&format!("{q}&action=tenant.list&limit=1&after={after}"), &s.admin).await;
    assert_eq!(two["events"].as_array().unwrap().len(), 1, "{two}");
    let (_, three) =
        s.get(&format!("{q}&action=tenant.list&limit=1&after={}", two["next_after"].as_u64().unwrap()), &s.admin).await;
    assert!(three["events"].as_array().unwrap().is_empty(), "{three}");
    // A window before the log began, and one in the future, are empty.
    let (_, none) = s.get("/v1/audit/events?to=2000-01-01T00:00:00Z", &s.admin).await;
    assert!(none["events"].as_array().unwrap().is_empty());
    let (_, none) = s.get("/v1/audit/events?from=2999-01-01T00:00:00Z", &s.admin).await;
    assert!(none["events"].as_array().unwrap().is_empty());
}
both!(aud4_events_in_a_time_window);

/// A store opened without the server (no tree heads on a schedule), in a
/// fresh directory and, for PostgreSQL, a fresh database.
async fn trail_store(b: Backend) -> (tempfile::TempDir, varuh::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = varuh::config::Config {
        data_dir: dir.path().to_path_buf(),
        readers: 2,
        audit_head_seconds: 0,
        ..Default::default()
    };
    if b == Backend::Postgres {
        cfg.database_url = Some(crate::support::fresh_pg_database().await);
    }
    (dir, cfg)
}

/// "Who has seen this person" across runs of the subject index (written
/// once per 4096 events, when a run is complete) and the events after the
/// last run; a restart in the middle of a run; and a removed or added index
/// row is caught and located by the verifier.
async fn aud3_subject_queries_across_index_runs(b: Backend) {
    use varuh::audit::Draft;
    use varuh::store::queries::{self, AuditFilter, SUBJECT_RUN};
    let (_dir, cfg) = trail_store(b).await;
    let tenant = uuid::Uuid::now_v7();
    let subjects: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::now_v7()).collect();
    let append = |vault: std::sync::Arc<varuh::service::Vault>,
                  range: std::ops::Range<usize>,
                  subjects: Vec<uuid::Uuid>| async move {
        let mut tasks = Vec::new();
        for chunk in range.collect::<Vec<_>>().chunks(100) {
            let (vault, subjects, chunk) = (vault.clone(), subjects.clone(), chunk.to_vec());
            tasks.push(tokio::spawn(async move {
                for i in chunk {
                    let d = Draft {
                        request: format!("r{i}"),
                        action: "record.read".into(),
                        outcome: "ok".into(),
                        tenant: Some(tenant),
                        // Every fifth event has no subject.
                        subject: (i % 5 != 0).then(|| subjects[i % 3]),
                        ..Default::default()
                    };
                    vault.record_event(d).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    };
    let opened = varuh::setup::open(&cfg, varuh::setup::Create::Yes, varuh::clock::Clock::default()).await.unwrap();
    append(opened.vault.clone(), 0..3000, subjects.clone()).await;
    drop(opened);
    // A restart in the middle of the first run: its entries so far are written already.
    let opened = varuh::setup::open(&cfg, varuh::setup::Create::No, varuh::clock::Clock::default()).await.unwrap();
    append(opened.vault.clone(), 3000..2 * SUBJECT_RUN as usize + 500, subjects.clone()).await;
    let key = opened.vault.audit_key();
    drop(opened);
    let location = Location::parse(&cfg.database_url()).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut db = Store::connect_raw(&location).unwrap();
        let size = varuh::audit::stored_size(db.as_mut()).unwrap() as i64;
        assert!(size > 2 * SUBJECT_RUN, "{size}");
        // Two complete runs and the open one are indexed (each event's
        // entry with its batch), nothing after them.
        for run in 0..3 {
            assert!(!queries::subject_run_rows(db.as_mut(), run).unwrap().is_empty(), "run {run}");
        }
        assert_eq!(queries::first_subject_row_from(db.as_mut(), 3).unwrap(), None);
        // What the events' columns say, against what the index-backed query
        // answers, paged (pages cross runs and the tail).
        let all = queries::audit_subject_entries(db.as_mut(), 0, size).unwrap();
        for s in &subjects {
            let want: Vec<i64> = all.iter().filter(|e| e.1 == s.to_string() && e.0 == tenant.to_string()).map(|e| e.2).collect();
            assert!(want.len() > 1000, "{}", want.len());
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let f = AuditFilter { tenant: Some(tenant), subject: Some(*s), actor: None, action: None, from_ms: None, to_ms: None, after, limit: 700 };
                let page = queries::audit_query(db.as_mut(), &f).unwrap();
                got.extend(page.iter().map(|r| r.seq));
                if page.len() < 700 {
                    break;
                }
                after = page.last().map(|r| r.seq);
            }
            assert_eq!(got, want);
            // Another tenant sees none of them.
            let f = AuditFilter { tenant: Some(uuid::Uuid::now_v7()), subject: Some(*s), actor: None, action: None, from_ms: None, to_ms: None, after: None, limit: 10 };
            assert!(queries::audit_query(db.as_mut(), &f).unwrap().is_empty());
        }
        assert!(verify::verify_store(db.as_mut(), &key, &[]).unwrap().ok());
        // The index is append-only.
        assert!(db.exec("DELETE FROM audit_subject_runs WHERE run = 0", &[]).is_err());
        assert!(db.exec("UPDATE audit_subject_runs SET seq = 1 WHERE run = 0", &[]).is_err());
        match db.dialect() {
            Dialect::Sqlite => db.batch("DROP TRIGGER audit_subject_runs_no_delete;").unwrap(),
            Dialect::Postgres => db
                .batch("DROP TRIGGER audit_subject_runs_append_only ON audit_subject_runs; GRANT DELETE ON audit_subject_runs TO CURRENT_USER;")
                .unwrap(),
        }
        // Hide one access from "who has seen this person".
        let victim = all.iter().find(|e| e.2 > 1000).unwrap().clone();
        db.exec("DELETE FROM audit_subject_runs WHERE seq = $1", &[Val::I64(victim.2)]).unwrap();
        let r = verify::verify_store(db.as_mut(), &key, &[]).unwrap();
        assert_eq!(r.first().map(|f| f.position), Some(Some(victim.2 as u64)), "{:?}", r.failures);
        assert!(r.first().unwrap().message.contains("subject index"), "{:?}", r.failures);
        // Put it back; then invent an access in a complete run, and one past the last run.
        db.exec(
            "INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES ($1, $2, $3, $4)",
            &[Val::I64(victim.2 / SUBJECT_RUN), Val::Text(victim.0.clone()), Val::Text(victim.1.clone()), Val::I64(victim.2)],
        )
        .unwrap();
        assert!(verify::verify_store(db.as_mut(), &key, &[]).unwrap().ok());
        let no_subject = (SUBJECT_RUN..2 * SUBJECT_RUN).find(|q| !all.iter().any(|e| e.2 == *q)).unwrap();
        db.exec(
            "INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES (1, $1, $2, $3)",
            &[Val::Text(victim.0.clone()), Val::Text(victim.1.clone()), Val::I64(no_subject)],
        )
        .unwrap();
        let r = verify::verify_store(db.as_mut(), &key, &[]).unwrap();
        assert!(!r.ok() && r.failures.iter().any(|f| f.position == Some(no_subject as u64)), "{:?}", r.failures);
        db.exec("DELETE FROM audit_subject_runs WHERE seq = $1", &[Val::I64(no_subject)]).unwrap();
        // The open run is checked like the complete ones (its entries are
        // written with its events), and no row may follow the last event.
        let open_no_subject = (2 * SUBJECT_RUN..size).find(|q| !all.iter().any(|e| e.2 == *q)).unwrap();
        db.exec(
            "INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES (2, $1, $2, $3)",
            &[Val::Text(victim.0.clone()), Val::Text(victim.1.clone()), Val::I64(open_no_subject)],
        )
        .unwrap();
        let r = verify::verify_store(db.as_mut(), &key, &[]).unwrap();
        assert_eq!(r.first().map(|f| f.position), Some(Some(open_no_subject as u64)), "{:?}", r.failures);
        db.exec("DELETE FROM audit_subject_runs WHERE seq = $1", &[Val::I64(open_no_subject)]).unwrap();
        db.exec(
            "INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES (3, $1, $2, $3)",
            &[Val::Text(victim.0.clone()), Val::Text(victim.1.clone()), Val::I64(size)],
        )
        .unwrap();
        let r = verify::verify_store(db.as_mut(), &key, &[]).unwrap();
        assert_eq!(r.first().map(|f| f.position), Some(Some(size as u64)), "{:?}", r.failures);
    })
    .await
    .unwrap();
}
both!(aud3_subject_queries_across_index_runs);

/// AUD-3 across an upgrade: a store or backup from before migration 0024
/// (when the open run of the subject index had no entries yet) gets them
/// filled in, by the migration on upgrade and by a restore of the backup
/// into either backend, and its trail then verifies. Without the fill, the
/// verifier catches the missing entries.
async fn aud3_an_older_store_or_backup_gets_its_open_run_indexed(b: Backend) {
    use varuh::audit::Draft;
    use varuh::store::queries;
    let (dir, cfg) = trail_store(b).await;
    let tenant = uuid::Uuid::now_v7();
    let subjects: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::now_v7()).collect();
    let opened = varuh::setup::open(&cfg, varuh::setup::Create::Yes, varuh::clock::Clock::default()).await.unwrap();
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (vault, subjects) = (opened.vault.clone(), subjects.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                let d = Draft {
                    request: format!("r{c}-{i}"),
                    action: "record.read".into(),
                    outcome: "ok".into(),
                    tenant: Some(tenant),
                    subject: (i % 4 != 0).then(|| subjects[i % 3]),
                    ..Default::default()
                };
                vault.record_event(d).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let key = opened.vault.audit_key();
    drop(opened);
    let mut targets = vec![Location::parse(&format!("sqlite://{}", dir.path().join("restored.db").display())).unwrap()];
    if crate::support::pg_url().is_some() {
        targets.push(Location::parse(&crate::support::fresh_pg_database().await).unwrap());
    }
    let source = Location::parse(&cfg.database_url()).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut db = Store::connect_raw(&source).unwrap();
        let size = varuh::audit::stored_size(db.as_mut()).unwrap() as i64;
        assert!((480..queries::SUBJECT_RUN).contains(&size), "{size}");
        let entries = |db: &mut dyn varuh::store::db::Db| {
            let mut v = queries::subject_run_rows(db, 0).unwrap();
            v.sort_by_key(|e| e.2);
            v
        };
        // Written with their events: every event naming a subject has its entry.
        let expected = queries::audit_subject_entries(db.as_mut(), 0, size).unwrap();
        assert_eq!(expected.len(), 8 * 45);
        let got = entries(db.as_mut());
        assert!(got == expected, "with their events: {} entries of {}", got.len(), expected.len());
        // As a store from before migration 0024 was: no entries in the open
        // run (the append-only trigger set aside to make it so).
        match db.dialect() {
            Dialect::Sqlite => db.batch("DROP TRIGGER audit_subject_runs_no_delete;").unwrap(),
            Dialect::Postgres => db
                .batch("DROP TRIGGER audit_subject_runs_append_only ON audit_subject_runs; GRANT DELETE ON audit_subject_runs TO CURRENT_USER;")
                .unwrap(),
        }
        db.batch(&format!(
            "DELETE FROM audit_subject_runs; DELETE FROM varuh_migrations WHERE version >= {}",
            queries::SUBJECT_ENTRIES_PER_BATCH
        ))
        .unwrap();
        let r = verify::verify_store(db.as_mut(), &key, &[]).unwrap();
        assert!(!r.ok(), "missing entries are caught");
        // Its backup says schema 23, and restores with the entries filled in.
        let mut header = varuh::backup::format::Header {
            format: 1,
            id: uuid::Uuid::now_v7(),
            created_at_ms: varuh::clock::now_ms(),
            source: String::new(),
            schema_version: 0,
            master_key: String::new(),
            tables: Vec::new(),
        };
        let mut bytes = Vec::new();
        varuh::backup::format::dump(db.as_mut(), &mut bytes, &mut header).unwrap();
        assert_eq!(header.schema_version, queries::SUBJECT_ENTRIES_PER_BATCH - 1);
        for target in &targets {
            drop(Store::open(target, true, 1, 1).unwrap());
            let mut to = Store::connect_raw(target).unwrap();
            let reader = varuh::backup::format::Reader::open(&bytes[..]).unwrap();
            varuh::backup::load(to.as_mut(), reader, &mut |_| {}).unwrap();
            let got = entries(to.as_mut());
            assert!(got == expected, "restored into {target:?}: {} entries of {}", got.len(), expected.len());
            let r = verify::verify_store(to.as_mut(), &key, &[]).unwrap();
            assert!(r.ok(), "{:?}", r.failures);
        }
        // The upgrade itself: migration 0024 runs again and fills them in.
        drop(db);
        drop(Store::open(&source, false, 1, 1).unwrap());
        let mut db = Store::connect_raw(&source).unwrap();
        let got = entries(db.as_mut());
        assert!(got == expected, "after the migration: {} entries of {}", got.len(), expected.len());
        assert!(verify::verify_store(db.as_mut(), &key, &[]).unwrap().ok());
    })
    .await
    .unwrap();
}
both!(aud3_an_older_store_or_backup_gets_its_open_run_indexed);
