//! The processor register (REG-2) through the API on both backends: Ham's
//! MailerLite for its newsletter, a sub-processor engaged by it, entries
//! amended by version, the collections each serves, the register's gaps
//! (a processor a collection names but the register lacks), overdue
//! reviews, and bad input refused with nothing stored.

use crate::support::{both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::json;

async fn reg2_the_processor_register(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let mut news = crate::support::newsletter();
    news["processors"] = json!(["MailerLite", "Hetzner"]);
    s.collection(&t, news).await;
    let path = format!("/v1/tenants/{t}/processors");
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let op = s.staff(&t, "op", "operator").await;
    let auditor = s.staff(&t, "aud", "auditor").await;
    let ml = json!({"name": "MailerLite", "role": "processor", "service": "newsletter delivery",
        "data_categories": ["contact"], "locations": ["LT"], "dpa_signed": "2024-03-01", "review_due": "2025-03-01",
        "security_measures": "ISO 27001 certified; TLS; encryption at rest", "contact": "privacy@mailerlite.com"});
    assert_eq!(s.post(&path, &op, ml.clone()).await.0, StatusCode::FORBIDDEN);
    let (st, p) = s.post(&path, &dpo, ml.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(p["collections"], json!(["newsletter"]), "{p}");
    assert_eq!(p["review_overdue"], true, "review due in 2025: {p}");
    let id = p["id"].as_str().unwrap().to_string();

    // Bad input: named, nothing stored.
    for (body, field) in [
        (json!({"name": "MailerLite", "role": "processor", "service": "again"}), "name"),
        (json!({"name": "AWS", "role": "sub_processor", "service": "hosting"}), "engaged_by"),
        (json!({"name": "AWS", "role": "sub_processor", "engaged_by": "Nobody", "service": "hosting"}), "engaged_by"),
        (json!({"name": "AWS", "role": "processor", "service": "hosting", "locations": ["US"]}), "transfer_safeguard"),
        (json!({"name": "AWS", "role": "processor", "service": "hosting", "dpa_signed": "yesterday"}), "dpa_signed"),
    ] {
        let (st, p) = s.post(&path, &dpo, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let (_, reg) = s.get(&path, &auditor).await;
    assert_eq!(reg["processors"].as_array().unwrap().len(), 1, "{reg}");
    assert_eq!(reg["unregistered"], json!(["Hetzner"]), "a gap: {reg}");

    // A sub-processor outside the EEA, with its safeguard.
    let (st, sub) = s
        .post(
            &path,
            &dpo,
            json!({"name": "AWS", "role": "sub_processor", "engaged_by": "MailerLite", "service": "hosting",
                   "locations": ["US", "DE"], "transfer_safeguard": "standard contractual clauses (EU) 2021/914"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sub}");
    assert_eq!(sub["collections"], json!([]));

    // Amended by version: the review moved on.
    let mut next = ml.clone();
    next["review_due"] = json!("2099-03-01");
    let one = format!("{path}/{id}");
    assert_eq!(s.put(&one, &dpo, json!({"version": 7, "entry": next})).await.0, StatusCode::CONFLICT);
    let (st, p) = s.put(&one, &dpo, json!({"version": 1, "entry": next})).await;
    assert_eq!(
        (st, p["version"].as_i64(), p["review_overdue"].as_bool()),
        (StatusCode::OK, Some(2), Some(false)),
        "{p}"
    );
    let (st, p) = s.get(&one, &auditor).await;
    assert_eq!((st, p["review_due"].as_str()), (StatusCode::OK, Some("2099-03-01")), "{p}");
    assert_eq!(s.get(&format!("{path}/{}", uuid::Uuid::now_v7()), &auditor).await.0, StatusCode::NOT_FOUND);
    // The contact is sealed: the audit trail names the entry only.
    let ev = s.events("processor.create").await;
    assert!(!format!("{ev:?}").contains("privacy@mailerlite.com"));
}
both!(reg2_the_processor_register);
