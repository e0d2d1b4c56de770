//! Monitoring and alerts (AVL-4): a failed backup, a failed scheduled
//! audit verification, a brute-force lockout and an unusual bulk read each
//! reach the webhook (and e-mail), show in `/readyz`'s details and in the
//! Prometheus metrics at `/metrics`, which need their token.

use crate::support::{Backend, Hook, Smtp, TestServer, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn wait_alert(hook: &Hook, kind: &str) -> Value {
    for _ in 0..200 {
        if let Some(a) = hook.bodies.lock().unwrap().iter().find(|b| b["alert"] == kind) {
            return a.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {kind} alert: {:?}", hook.bodies.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avl4_failures_and_suspicious_use_raise_alerts_readyz_and_metrics_show_them() {
    let hook = Hook::start().await;
    let smtp = Smtp::start().await;
    let blocked = tempfile::tempdir().unwrap();
    // A destination that cannot be written: a file where a directory should be.
    let not_a_dir = blocked.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.alert_webhook = Some(hook.url.clone());
        c.alert_emails = vec!["ops@varuh.test".into()];
        c.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
        c.metrics_token = Some("a metrics token of some length".into());
        c.backup_destinations = vec![not_a_dir.display().to_string()];
        c.backup_recipients = vec![recipient];
        c.backup_seconds = 0;
        c.audit_verify_seconds = 1;
    })
    .await;

    // /metrics needs its token.
    assert_eq!(s.metrics(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.metrics(Some("wrong")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.metrics(Some(&s.admin)).await.0, StatusCode::UNAUTHORIZED, "a staff token is not it");
    let (st, text) = s.metrics(Some("a metrics token of some length")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(text.contains("varuh_ready 1") && text.contains("varuh_alerts_total{kind=\"backup_failed\"} 0"), "{text}");

    // A failed backup.
    let (st, p) = s.post("/v1/system/backups", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("did not reach every destination"), "{p}");
    let a = wait_alert(&hook, "backup_failed").await;
    assert!(a["detail"].as_str().unwrap().contains("the backup failed"), "{a}");
    let (_, text) = s.metrics(Some("a metrics token of some length")).await;
    assert!(text.contains("varuh_job_last_ok{job=\"backup\"} 0"), "{text}");
    assert!(text.contains("varuh_alerts_total{kind=\"backup_failed\"} 1"), "{text}");
    let (st, ready) = s.get("/readyz", "").await;
    assert_eq!(st, StatusCode::OK);
    let jobs = ready["details"]["jobs"].as_array().unwrap();
    assert!(jobs.iter().any(|j| j["job"] == "backup" && j["ok"] == false), "{ready}");
    assert!(ready["details"]["alerts"].as_array().unwrap().iter().any(|a| a["kind"] == "backup_failed"), "{ready}");
    // The scheduled audit verification has run and found the trail intact.
    for _ in 0..100 {
        let (_, r) = s.get("/readyz", "").await;
        if r["details"]["jobs"].as_array().unwrap().iter().any(|j| j["job"] == "audit_verify" && j["ok"] == true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, text) = s.metrics(Some("a metrics token of some length")).await;
    assert!(text.contains("varuh_job_last_ok{job=\"audit_verify\"} 1"), "{text}");

    // A brute-force lockout on a tenant's account: the alert names the
    // account, never the name or a password typed.
    let t = s.tenant("Locked d.o.o.", false).await;
    let victim = s.account(&t, "victim", "operator", json!({})).await.0;
    for _ in 0..5 {
        let (st, _) = s.login("victim", "not the password at all", json!({})).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let a = wait_alert(&hook, "lockout").await;
    assert_eq!(a["tenant"].as_str(), Some(t.as_str()), "{a}");
    let text = a.to_string();
    assert!(text.contains(&victim) && !text.contains("victim\"") && !text.contains("not the password"), "{a}");

    // An unusual bulk read: over the tenant's threshold (3 subjects here).
    s.set_policy(
        &t,
        &format!("{}\n[review]\nbulk_read_subjects = 3\nbulk_read_minutes = 60\n", crate::support::TEST_POLICY),
    )
    .await;
    s.collection(&t, crate::support::customers()).await;
    let reader = s.staff_with(&t, "reader", "operator", json!({"grants": {"customers": ["read", "write"]}})).await;
    let mut subjects = Vec::new();
    for i in 0..4 {
        let (st, r) = s
            .post(
                &format!("/v1/tenants/{t}/collections/customers/records"),
                &reader,
                json!({"data": {"email": format!("c{i}@x.si"), "name": format!("C {i}")}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        subjects.push(r["subject_id"].as_str().unwrap().to_string());
    }
    for sid in &subjects[..3] {
        assert_eq!(s.get(&format!("/v1/tenants/{t}/subjects/{sid}/records"), &reader).await.0, StatusCode::OK);
    }
    assert!(!hook.bodies.lock().unwrap().iter().any(|b| b["alert"] == "bulk_read"), "not over the threshold yet");
    assert_eq!(s.get(&format!("/v1/tenants/{t}/subjects/{}/records", subjects[3]), &reader).await.0, StatusCode::OK);
    let a = wait_alert(&hook, "bulk_read").await;
    assert!(a["detail"].as_str().unwrap().contains("more than 3 subjects within 60 minutes"), "{a}");
    assert!(!a.to_string().contains("c3@x.si"), "{a}");

    // A tampered audit trail: the scheduled verification raises an alert.
    let location = varuh::store::Location::parse(&s.cfg.database_url()).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut db = varuh::store::Store::connect_raw(&location).unwrap();
        db.batch("DROP TRIGGER audit_events_no_update;").unwrap();
        db.exec("UPDATE audit_events SET action = 'tampered' WHERE seq = 3", &[]).unwrap();
    })
    .await
    .unwrap();
    let a = wait_alert(&hook, "audit_verification_failed").await;
    assert!(a["detail"].as_str().unwrap().contains("does not verify"), "{a}");

    // E-mail too.
    for _ in 0..100 {
        if smtp.messages().iter().any(|m| m.contains("varuh alert: backup failed")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(smtp.messages().iter().any(|m| m.contains("varuh alert: backup failed")), "{:?}", smtp.messages());
    let _ = PASSWORD;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_without_a_token() {
    let s = TestServer::start(Backend::Sqlite).await;
    assert_eq!(s.metrics(Some("anything")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.metrics(None).await.0, StatusCode::UNAUTHORIZED);
    let (st, r) = s.get("/readyz", "").await;
    assert_eq!((st, r["status"].as_str()), (StatusCode::OK, Some("ready")), "{r}");
    assert!(r["details"]["jobs"].as_array().unwrap().iter().all(|j| j["ok"].is_null()), "nothing ran yet: {r}");
}

/// A retention run that cannot finish (a record whose sealed value no
/// longer opens, so its anonymisation fails) raises `retention_failed`,
/// and `/readyz` shows the job's last run as failed; the record stays.
async fn a_failed_retention_run_raises_an_alert(b: Backend) {
    let hook = Hook::start().await;
    let mut s = TestServer::start_with(b, |c| {
        c.alert_webhook = Some(hook.url.clone());
        c.retention_seconds = 1;
    })
    .await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let mut orders = crate::support::customers();
    orders["name"] = json!("orders");
    orders["retention"] = json!({"kind": "period", "days": 10, "from": "created"});
    orders["erasure"] = json!({"rule": "anonymise", "keep": ["name"]});
    s.collection(&t, orders).await;
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/orders/records"),
            &s.admin,
            json!({"data": {"email": "a@z.si", "name": "A"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let location = varuh::store::Location::parse(&s.cfg.database_url()).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut db = varuh::store::Store::connect_raw(&location).unwrap();
        assert_eq!(db.exec("UPDATE records SET fields = substr(fields, 1, 20)", &[]).unwrap(), 1);
    })
    .await
    .unwrap();
    s.travel(11 * 86_400_000).await;
    let a = wait_alert(&hook, "retention_failed").await;
    assert!(a["detail"].as_str().unwrap().contains("the retention run stopped"), "{a}");
    assert!(!a.to_string().contains("a@z.si"), "{a}");
    let (_, ready) = s.get("/readyz", "").await;
    let jobs = ready["details"]["jobs"].as_array().unwrap();
    assert!(jobs.iter().any(|j| j["job"] == "retention" && j["ok"] == false), "{ready}");
    let location = varuh::store::Location::parse(&s.cfg.database_url()).unwrap();
    let left = tokio::task::spawn_blocking(move || {
        let mut db = varuh::store::Store::connect_raw(&location).unwrap();
        db.query("SELECT id FROM records", &[]).unwrap().len()
    })
    .await
    .unwrap();
    assert_eq!(left, 1, "nothing was removed");
}
crate::support::both!(a_failed_retention_run_raises_an_alert);
