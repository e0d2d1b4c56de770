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

/// REG-1: the records of processing generated from the live definitions:
/// every activity with its mandatory fields, processors from the register
/// and their transfers, special categories marked, the security measures
/// stated only as far as they are in force, and the gaps listed — as
/// JSON, HTML, CSV and a PDF read back with `pdftotext`.
async fn reg1_the_records_of_processing_are_generated_with_their_gaps(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", true).await;
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/settings"),
            &s.admin,
            json!({"dpo_email": "dpo@ham.si", "dpo_name": "Mojca Ham", "controller_email": "info@ham.si"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let mut news = crate::support::newsletter();
    news["processors"] = json!(["MailerLite", "Hetzner"]);
    s.collection(&t, news).await;
    s.collection(
        &t,
        json!({"name": "staff_file", "purposes": ["employment"], "legal_basis": "legal_obligation",
               "subject_categories": ["employees"], "source": "the employee", "retention": {"kind": "permanent"},
               "erasure": {"rule": "refuse", "reason": "kept permanently by law (ZEPDSV)"},
               "fields": [{"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
                          {"name": "sick_leave", "type": "string", "category": "health"}]}),
    )
    .await;
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/processors"),
            &s.admin,
            json!({"name": "MailerLite", "role": "processor", "service": "newsletter delivery", "locations": ["LT", "US"],
                   "transfer_safeguard": "standard contractual clauses"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let url = format!("/v1/tenants/{t}/records-of-processing");
    let auditor = s.staff(&t, "aud", "auditor").await;
    let op = s.staff(&t, "op", "operator").await;
    assert_eq!(s.get(&url, &op).await.0, StatusCode::FORBIDDEN);
    let (st, r) = s.get(&url, &auditor).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!((r["controller"].as_str(), r["dpo"].as_str()), (Some("Ham d.o.o."), Some("Mojca Ham <dpo@ham.si>")));
    let acts = r["activities"].as_array().unwrap();
    assert_eq!(acts.len(), 2, "{r}");
    let news = acts.iter().find(|a| a["name"] == "newsletter").unwrap();
    assert_eq!(news["legal_basis"], "consent (Art. 6(1)(a))");
    assert_eq!(news["erasure_time_limit"], "until consent is withdrawn");
    assert_eq!(news["processors"], json!(["MailerLite (newsletter delivery; LT, US)", "Hetzner"]), "{news}");
    assert_eq!(news["transfers"], json!(["US (MailerLite: standard contractual clauses)"]), "{news}");
    let staff = acts.iter().find(|a| a["name"] == "staff_file").unwrap();
    assert_eq!(staff["special_categories"], json!(["health"]), "{staff}");
    assert_eq!(staff["erasure_time_limit"], "permanently (required by law)");
    let gaps: Vec<String> =
        r["gaps"].as_array().unwrap().iter().map(|g| format!("{}: {}", g["where"], g["missing"])).collect();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(gaps.iter().any(|g| g.contains("address")), "{gaps:?}");
    assert!(gaps.iter().any(|g| g.contains("newsletter") && g.contains("Hetzner")), "{gaps:?}");
    let security = r["security_measures"].to_string();
    assert!(security.contains("XChaCha20-Poly1305") && security.contains("tamper-evident"), "{security}");
    assert!(!security.contains("backup"), "no backup has run: not claimed: {security}");

    // The same as HTML (escaped), CSV (a row per activity) and a Slovenian PDF.
    let fetch = |q: &'static str| {
        let (http, base, tok, url) = (s.http.clone(), s.base.clone(), auditor.clone(), url.clone());
        async move {
            let r = http.get(format!("{base}{url}?{q}")).bearer_auth(tok).send().await.unwrap();
            (r.status(), r.headers()["content-type"].to_str().unwrap().to_string(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (st, ct, html) = fetch("format=html").await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "text/html; charset=utf-8"));
    assert!(html.contains("<h2>staff_file</h2>") && html.contains("Mojca Ham &lt;dpo@ham.si&gt;"), "{html}");
    let (_, _, csv) = fetch("format=csv").await;
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.lines().next().unwrap().contains("Time limit for erasure"), "{csv}");
    let (st, ct, pdf) = fetch("format=pdf&lang=sl").await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let text = crate::requests::pdf_text(&pdf).replace('\n', " ");
    for want in ["Evidenca dejavnosti obdelave", "staff_file", "do preklica privolitve", "MANJKA", "Hetzner", "health"]
    {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let (st, _, _) = fetch("format=docx").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(reg1_the_records_of_processing_are_generated_with_their_gaps);
