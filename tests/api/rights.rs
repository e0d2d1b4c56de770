//! The subject's rights through the API: erasure by each collection's rule
//! (DSR-4, Ham 7c), restriction and objection (DSR-5/6, Ham 7d/7f).

use crate::support::{both, customers, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Ham's collections X (orders: anonymised for the annual financial
/// analysis) and Z (the staff file, kept by law).
fn orders() -> Value {
    json!({
        "name": "orders",
        "purposes": ["order fulfilment", "annual financial analysis"],
        "legal_basis": "contract",
        "subject_categories": ["customers"],
        "source": "the data subject",
        "retention": {"kind": "period", "days": 3650},
        "erasure": {"rule": "anonymise", "keep": ["amount"], "generalise": {"ordered_on": "month"}},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "address", "type": "string", "category": "contact"},
            {"name": "amount", "type": "number", "category": "financial"},
            {"name": "ordered_on", "type": "date", "category": "commercial"}
        ]
    })
}

const STAFF_LAW: &str = "kept for 5 years after employment ends (ZDR-1, Art. 31)";

fn staff_file() -> Value {
    json!({
        "name": "staff_file",
        "purposes": ["employment"],
        "legal_basis": "legal_obligation",
        "subject_categories": ["employees"],
        "source": "the employee",
        "retention": {"kind": "permanent"},
        "erasure": {"rule": "refuse", "reason": STAFF_LAW},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification"}
        ]
    })
}

async fn record(s: &TestServer, t: &str, c: &str, data: Value) -> Value {
    let (st, r) = s.post(&format!("/v1/tenants/{t}/collections/{c}/records"), &s.admin, json!({"data": data})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    r
}

async fn dsr4_erasure_follows_each_collections_rule(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    for c in [customers(), orders(), staff_file()] {
        s.collection(&t, c).await;
    }
    // A bad rule is refused and no collection is made.
    let mut bad = orders();
    bad["name"] = json!("bad");
    bad["erasure"] = json!({"rule": "anonymise", "keep": ["email"]});
    let (st, p) = s.post(&format!("/v1/tenants/{t}/collections"), &s.admin, bad).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("erasure.keep[0]")), "{p}");
    let (st, _) = s.get(&format!("/v1/tenants/{t}/collections/bad"), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // A customer who also works here: records in all three collections.
    let c = record(&s, &t, "customers", json!({"email": "mojca@kos.si", "name": "Mojca Kos"})).await;
    let sid = c["subject_id"].as_str().unwrap().to_string();
    let o = record(
        &s,
        &t,
        "orders",
        json!({"email": "mojca@kos.si", "address": "Trg 1, Ljubljana", "amount": 42.5, "ordered_on": "2026-03-14"}),
    )
    .await;
    assert_eq!(o["subject_id"], sid.as_str());
    record(&s, &t, "staff_file", json!({"email": "mojca@kos.si", "name": "Mojca Kos"})).await;

    let (st, e) = s.delete(&format!("/v1/tenants/{t}/subjects/{sid}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!((e["records_deleted"].as_u64(), e["records_anonymised"].as_u64()), (Some(1), Some(1)), "{e}");
    assert_eq!(e["kept"], json!([{"collection": "staff_file", "records": 1, "reason": STAFF_LAW}]));
    assert_eq!(e["subject_erased"], false, "the staff file remains, so does the subject");
    let (_, left) = s.get(&format!("/v1/tenants/{t}/subjects/{sid}/records"), &s.admin).await;
    let left: Vec<&str> = left.as_array().unwrap().iter().map(|r| r["collection"].as_str().unwrap()).collect();
    assert_eq!(left, ["staff_file"]);
    // The order remains for the analysis: its amount and month, nothing that identifies.
    let (st, anon) = s.get(&format!("/v1/tenants/{t}/collections/orders/anonymised"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{anon}");
    assert_eq!(anon.as_array().unwrap().len(), 1);
    assert_eq!(anon[0]["data"], json!({"amount": 42.5, "ordered_on": "2026-03"}));
    assert!(anon[0].get("subject_id").is_none(), "{anon}");
    let (st, _) =
        s.get(&format!("/v1/tenants/{t}/collections/orders/records/{}", o["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Someone with nothing kept by law: erased whole, key and all.
    let c2 = record(&s, &t, "customers", json!({"email": "bor@kos.si", "name": "Bor"})).await;
    record(&s, &t, "orders", json!({"email": "bor@kos.si", "amount": 7, "ordered_on": "2026-05-01"})).await;
    let sid2 = c2["subject_id"].as_str().unwrap();
    let (st, e) = s.delete(&format!("/v1/tenants/{t}/subjects/{sid2}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!((e["records_deleted"].as_u64(), e["records_anonymised"].as_u64()), (Some(1), Some(1)), "{e}");
    assert_eq!((e["kept"].as_array().unwrap().len(), e["subject_erased"].as_bool()), (0, Some(true)));
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{sid2}"), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "email", "value": "bor@kos.si"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, anon) = s.get(&format!("/v1/tenants/{t}/collections/orders/anonymised?limit=10"), &s.admin).await;
    assert_eq!(anon.as_array().unwrap().len(), 2);
    // The events say what was done, never a value.
    let ev = s.events("subject.erase").await;
    assert_eq!(ev.len(), 2);
    let detail = ev[0]["event"]["detail"].as_str().unwrap_or_else(|| panic!("{ev:?}"));
    assert!(detail.contains("records_anonymised=1") && detail.contains("kept=[staff_file:1]"), "{detail}");
    assert!(!ev.iter().any(|e| e.to_string().contains("kos.si") || e.to_string().contains("Ljubljana")));
    assert!(s.verify_trail().await.ok());
}
both!(dsr4_erasure_follows_each_collections_rule);

async fn dsr5_a_restriction_stops_reads_but_not_storage_or_the_subjects_access(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let op = s.staff_with(&t, "op", "operator", json!({"grants": {"customers": ["read", "write"]}})).await;
    let r = record(&s, &t, "customers", json!({"email": "mojca@kos.si", "name": "Mojca"})).await;
    let other = record(&s, &t, "customers", json!({"email": "bor@kos.si", "name": "Bor"})).await;
    let sid = r["subject_id"].as_str().unwrap();
    let rec = format!("/v1/tenants/{t}/collections/customers/records/{}", r["id"].as_str().unwrap());
    let limits = format!("/v1/tenants/{t}/subjects/{sid}/limits");

    // Bad input changes nothing.
    for (body, field) in [
        (json!({"kind": "restriction", "purposes": ["marketing"], "reason": "x"}), "purposes[0]"),
        (json!({"kind": "restriction", "reason": " "}), "reason"),
        (json!({"kind": "objection", "reason": "no"}), "purposes"),
        (json!({"kind": "restriction", "direct_marketing": true, "reason": "x"}), "direct_marketing"),
    ] {
        let (st, p) = s.post(&limits, &dpo, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let (st, p) = s.post(&limits, &op, json!({"kind": "restriction", "reason": "x"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an operator does not decide restrictions: {p}");
    let (_, list) = s.get(&limits, &dpo).await;
    assert_eq!(list, json!([]));

    // Accuracy contested: every purpose restricted while it is checked (Art. 18(1)(a)).
    let (st, l) = s.post(&limits, &dpo, json!({"kind": "restriction", "reason": "accuracy contested"})).await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    assert_eq!((l["active"].as_bool(), l["purposes"].clone()), (Some(true), json!([])));
    for url in [rec.clone(), format!("{rec}?purpose=invoicing"), format!("/v1/tenants/{t}/subjects/{sid}/records")] {
        let (st, p) = s.get(&url, &op).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{url}: {p}");
        assert!(p["type"].as_str().unwrap().ends_with("/processing-restricted"), "{p}");
        assert!(p["detail"].as_str().unwrap().contains("Art. 18"), "{p}");
    }
    let (st, p) = s.get(&format!("{rec}?purpose=shoes"), &op).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose")), "{p}");
    // Legal claims, storage and the subject's own access still work.
    let (st, _) = s.get(&format!("{rec}?purpose=legal_claims"), &op).await;
    assert_eq!(st, StatusCode::OK);
    let (st, p) = s.call(reqwest::Method::PATCH, &rec, Some(&op), Some(json!({"data": {"name": "Mojca Kos"}}))).await;
    assert_eq!(st, StatusCode::OK, "rectification is storage: {p}");
    let (st, rep) = s.get(&format!("/v1/tenants/{t}/subjects/{sid}/access-report"), &dpo).await;
    assert_eq!(st, StatusCode::OK, "{rep}");
    // A listing leaves the restricted subject out, and says so in its event.
    let (_, page) = s.get(&format!("/v1/tenants/{t}/collections/customers/records?purpose=invoicing"), &op).await;
    let ids: Vec<&str> = page.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [other["id"].as_str().unwrap()]);
    let ev = s.events("record.list").await;
    assert!(
        ev.last().unwrap()["event"]["detail"].as_str().unwrap().contains("purpose=invoicing records=1 withheld=1"),
        "{ev:?}"
    );
    let refused = s.events("record.read").await;
    assert!(refused.iter().any(|e| e["event"]["outcome"] == "restricted"), "{refused:?}");

    // Lifted once the accuracy is verified: reads work again.
    let lift = format!("{limits}/{}/lift", l["id"].as_str().unwrap());
    let (st, _) = s.post(&lift, &dpo, json!({"reason": " "})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = s.get(&rec, &op).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a refused lift left the restriction on");
    let (st, _) = s.post(&lift, &dpo, json!({"reason": "address verified with the subject"})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.post(&lift, &dpo, json!({"reason": "again"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "lifted already");
    let (st, got) = s.get(&rec, &op).await;
    assert_eq!((st, got["data"]["name"].as_str()), (StatusCode::OK, Some("Mojca Kos")));
    let (_, list) = s.get(&limits, &dpo).await;
    assert_eq!(
        (list[0]["active"].as_bool(), list[0]["lift_reason"].as_str()),
        (Some(false), Some("address verified with the subject"))
    );
    assert!(s.verify_trail().await.ok());
}
both!(dsr5_a_restriction_stops_reads_but_not_storage_or_the_subjects_access);

async fn dsr6_an_objection_to_direct_marketing_blocks_every_marketing_purpose(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    let mut c = customers();
    c["purposes"] = json!(["order fulfilment", "newsletter", "offers by phone"]);
    c["direct_marketing"] = json!(["newsletter", "offers by phone"]);
    s.collection(&t, c).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let r = record(&s, &t, "customers", json!({"email": "ana@firma.si", "name": "Ana"})).await;
    let sid = r["subject_id"].as_str().unwrap();
    let rec = format!("/v1/tenants/{t}/collections/customers/records/{}", r["id"].as_str().unwrap());

    // A verified objection request, answered by the objection itself.
    let (_, q) = s
        .post(
            &format!("/v1/tenants/{t}/requests"),
            &dpo,
            json!({"kind": "objection", "channel": "e-mail", "subject_id": sid}),
        )
        .await;
    let one = format!("/v1/tenants/{t}/requests/{}", q["id"].as_str().unwrap());
    let body = json!({"kind": "objection", "direct_marketing": true, "reason": "Art. 21(2)", "request_id": q["id"]});
    let (st, p) = s.post(&format!("/v1/tenants/{t}/subjects/{sid}/limits"), &dpo, body.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "not verified yet: {p}");
    s.post(&format!("{one}/verify"), &dpo, json!({"method": "signed-in account"})).await;
    let (st, l) = s.post(&format!("/v1/tenants/{t}/subjects/{sid}/limits"), &dpo, body).await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    assert_eq!(l["request_id"], q["id"]);
    let (_, q) = s.get(&one, &dpo).await;
    assert!(q["history"].as_array().unwrap().iter().any(|h| h["action"] == "objection"), "{q}");

    for p in ["newsletter", "offers%20by%20phone"] {
        let (st, e) = s.get(&format!("{rec}?purpose={p}"), &s.admin).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{p}: {e}");
        assert!(e["detail"].as_str().unwrap().contains("direct marketing"), "{e}");
    }
    let (st, _) = s.get(&format!("{rec}?purpose=order%20fulfilment"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "the objection is to marketing, not to the orders");
    let (st, e) = s.get(&rec, &s.admin).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a limited subject is read only for a stated purpose");
    assert!(e["detail"].as_str().unwrap().contains("state the purpose"), "{e}");
    // The newsletter export leaves her out.
    let (st, list) =
        s.post(&format!("/v1/tenants/{t}/collections/customers/export?purpose=newsletter"), &s.admin, json!({})).await;
    assert_eq!((st, list.as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{list}");
}
both!(dsr6_an_objection_to_direct_marketing_blocks_every_marketing_purpose);

fn newsletter_list() -> Value {
    json!({
        "name": "newsletter",
        "purposes": ["newsletter"],
        "direct_marketing": ["newsletter"],
        "legal_basis": "consent",
        "subject_categories": ["subscribers"],
        "source": "the data subject (sign-up form)",
        "retention": {"kind": "until_consent_withdrawn"},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification"}
        ]
    })
}

const NOTICE: &str =
    "Z oddajo e-naslova soglašam, da mi EximiTech pošilja e-novice. Soglasje lahko kadar koli prekličem.";

async fn cons1_consent_given_checked_and_withdrawn(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, newsletter_list()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let auditor = s.staff(&t, "auditor", "auditor").await;
    let notices = format!("/v1/tenants/{t}/consent-notices");
    let (st, p) = s.post(&notices, &dpo, json!({"purpose": "lottery", "text": "x"})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose")), "{p}");
    let (st, n) = s.post(&notices, &dpo, json!({"purpose": "newsletter", "text": NOTICE})).await;
    assert_eq!((st, n["version"].as_i64()), (StatusCode::CREATED, Some(1)), "{n}");
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(NOTICE.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(n["sha256"], sha.as_str());
    let (_, n2) = s.post(&notices, &dpo, json!({"purpose": "newsletter", "text": format!("{NOTICE} (2)")})).await;
    assert_eq!(n2["version"], 2);
    let (st, list) = s.get(&notices, &auditor).await;
    assert_eq!((st, list.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));

    let shop = record(&s, &t, "customers", json!({"email": "ana@firma.si", "name": "Ana"})).await;
    let sub = record(&s, &t, "newsletter", json!({"email": "ana@firma.si", "name": "Ana"})).await;
    let sid = shop["subject_id"].as_str().unwrap();
    assert_eq!(sub["subject_id"], sid);
    let may = |p: &str| format!("/v1/tenants/{t}/subjects/{sid}/may?purpose={p}");
    let (st, a) = s.get(&may("newsletter"), &s.admin).await;
    assert_eq!((st, a["allowed"].as_bool()), (StatusCode::OK, Some(false)), "{a}");
    assert!(a["reason"].as_str().unwrap().contains("no consent"), "{a}");
    let (_, a) = s.get(&may("invoicing"), &s.admin).await;
    assert_eq!((a["allowed"].as_bool(), a["basis"].as_str()), (Some(true), Some("contract")), "{a}");
    let (st, _) = s.get(&may("lottery"), &s.admin).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Given: to a notice that exists, with the double opt-in as evidence.
    let consents = format!("/v1/tenants/{t}/subjects/{sid}/consents");
    let evidence = "double opt-in link confirmed 2026-12-01 10:02 from 192.0.2.7";
    for (body, field) in [
        (json!({"purpose": "newsletter", "given": true, "channel": "web form"}), "notice_version"),
        (json!({"purpose": "newsletter", "given": true, "notice_version": 9, "channel": "web form"}), "notice_version"),
        (json!({"purpose": "newsletter", "given": true, "notice_version": 1, "channel": " "}), "channel"),
        (
            json!({"purpose": "newsletter", "given": true, "notice_version": 1, "channel": "web", "expires_at": "2020-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let (st, p) = s.post(&consents, &s.admin, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let (st, h) = s.get(&consents, &s.admin).await;
    assert_eq!((st, h), (StatusCode::OK, json!([])), "bad input recorded nothing");
    let body = json!({"purpose": "newsletter", "given": true, "notice_version": 1, "channel": "double opt-in", "evidence": evidence});
    let (st, c) = s.post(&consents, &s.admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert_eq!((c["consent"]["notice_sha256"].as_str(), c["erasure"].clone()), (Some(sha.as_str()), Value::Null));
    let (_, a) = s.get(&may("newsletter"), &s.admin).await;
    assert_eq!((a["allowed"].as_bool(), a["basis"].as_str()), (Some(true), Some("consent")), "{a}");
    assert_eq!((a["consent_id"].clone(), a["notice_version"].as_i64()), (c["consent"]["id"].clone(), Some(1)));

    let (_, rep) = s.get(&format!("/v1/tenants/{t}/subjects/{sid}/access-report"), &dpo).await;
    assert_eq!(
        (rep["consents"][0]["purpose"].as_str(), rep["consents"][0]["given"].as_bool()),
        (Some("newsletter"), Some(true)),
        "{rep}"
    );
    assert!(!rep.to_string().contains("192.0.2.7"), "the evidence stays sealed in the report");
    // The mailing list: one answer per address, in order.
    let bulk = format!("/v1/tenants/{t}/may");
    let (st, r) = s
        .post(&bulk, &s.admin, json!({"purpose": "newsletter", "emails": ["Ana@Firma.si", "bor@firma.si", "not mail"]}))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!((r["checked"].as_u64(), r["allowed"].as_u64()), (Some(3), Some(1)), "{r}");
    let res = r["results"].as_array().unwrap();
    assert_eq!((res[0]["allowed"].as_bool(), res[0]["subject_id"].as_str()), (Some(true), Some(sid)));
    assert!(res[1]["subject_id"].is_null() && res[1]["reason"].as_str().unwrap().contains("no consent"), "{r}");
    assert_eq!(res[2]["reason"], "not an e-mail address");
    let (st, _) = s.post(&bulk, &s.admin, json!({"purpose": "newsletter", "emails": []})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // An objection to direct marketing beats the consent.
    let (_, l) = s
        .post(
            &format!("/v1/tenants/{t}/subjects/{sid}/limits"),
            &dpo,
            json!({"kind": "objection", "direct_marketing": true, "reason": "Art. 21(2)"}),
        )
        .await;
    let (_, a) = s.get(&may("newsletter"), &s.admin).await;
    assert_eq!(a["allowed"], false, "{a}");
    assert!(a["reason"].as_str().unwrap().contains("direct marketing"), "{a}");
    s.post(
        &format!("/v1/tenants/{t}/subjects/{sid}/limits/{}/lift", l["id"].as_str().unwrap()),
        &dpo,
        json!({"reason": "withdrawn"}),
    )
    .await;

    // Withdrawn: the newsletter record goes by its rule; the shop's, on a contract, stays.
    let (st, w) = s
        .post(&consents, &s.admin, json!({"purpose": "newsletter", "given": false, "channel": "unsubscribe link"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    assert_eq!(
        (w["erasure"]["records_deleted"].as_u64(), w["erasure"]["subject_erased"].as_bool()),
        (Some(1), Some(false)),
        "{w}"
    );
    let (st, _) = s
        .get(&format!("/v1/tenants/{t}/collections/newsletter/records/{}", sub["id"].as_str().unwrap()), &s.admin)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get(&format!("/v1/tenants/{t}/collections/customers/records/{}", shop["id"].as_str().unwrap()), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, a) = s.get(&may("newsletter"), &s.admin).await;
    assert_eq!(a["allowed"], false);
    assert!(a["reason"].as_str().unwrap().contains("withdrawn"), "{a}");
    // The history keeps both events, the evidence opened for who may read it.
    let (_, h) = s.get(&consents, &s.admin).await;
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0]["given"].as_bool(), h[0]["evidence"].as_str()), (Some(true), Some(evidence)));
    assert_eq!(h[1]["given"], false);
    let (st, _) = s.get(&consents, &auditor).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an auditor sees no evidence (personal data)");
    // Events name purposes and outcomes, never the evidence or the addresses.
    let ev = s.events("consent.record").await;
    assert!(ev.iter().any(|e| e["event"]["detail"].as_str().unwrap_or("").contains("records_deleted=1")), "{ev:?}");
    let all = format!("{:?}{:?}", ev, s.events("consent.may_bulk").await);
    assert!(!all.contains("192.0.2.7") && !all.contains("firma.si"), "{all}");
    assert!(s.verify_trail().await.ok());
}
both!(cons1_consent_given_checked_and_withdrawn);

/// Polls the subject's notices until none is pending (at most ~20 s).
async fn notices_settled(s: &TestServer, t: &str, sid: &str, n: usize) -> Value {
    let url = format!("/v1/tenants/{t}/subjects/{sid}/disclosures");
    let mut last = Value::Null;
    for _ in 0..200 {
        let (st, d) = s.get(&url, &s.admin).await;
        let Some(notices) = d["notices"].as_array().filter(|_| st == StatusCode::OK) else {
            // A loaded machine may answer 503 for a moment: ask again.
            last = json!({"status": st.as_u16(), "body": d});
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        if notices.len() >= n && notices.iter().all(|x| x["state"] != "pending" || x["attempts"].as_i64() > Some(0)) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the notices of {sid} did not settle: {last}");
}

async fn disc1_disclosures_and_art19_notices_by_webhook_and_email(b: Backend) {
    let smtp = crate::support::Smtp::start().await;
    let hook = crate::support::Hook::start().await;
    let port = smtp.port;
    let s = TestServer::start_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.smtp_from = "dpo@ham.si".into();
        c.notify_seconds = 1;
    })
    .await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let recipients = format!("/v1/tenants/{t}/recipients");
    for (body, field) in [
        (json!({"name": "courier", "description": "parcels", "webhook": "ftp://x"}), "webhook"),
        (json!({"name": "courier", "description": "parcels", "email": "not mail"}), "email"),
        (json!({"name": "courier", "description": "parcels"}), "email"),
        (json!({"name": "Courier Inc", "description": "parcels", "email": "a@b.si"}), "name"),
    ] {
        let (st, p) = s.post(&recipients, &dpo, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let courier = json!({"name": "courier", "description": "Parcel delivery", "email": "privacy@courier.si", "webhook": hook.url});
    let (st, r) = s.post(&recipients, &dpo, courier.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let (st, _) = s.post(&recipients, &dpo, courier).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let dead = format!("http://127.0.0.1:{}/gone", crate::support::free_port());
    s.post(
        &recipients,
        &dpo,
        json!({"name": "printer", "description": "Prints labels", "webhook": dead, "email": "refused@printer.si"}),
    )
    .await;
    let (_, list) = s.get(&recipients, &dpo).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["email"], "privacy@courier.si");

    let a = record(&s, &t, "customers", json!({"email": "mojca@kos.si", "name": "Mojca"})).await;
    let sid = a["subject_id"].as_str().unwrap().to_string();
    let disclose = format!("/v1/tenants/{t}/disclosures");
    let ok = json!({"recipient": "courier", "collection": "customers", "fields": ["name", "email"], "purpose": "order fulfilment", "subject_ids": [sid]});
    for (patch, field) in [
        (json!({"recipient": "nobody"}), "recipient"),
        (json!({"fields": ["shoe"]}), "fields[0]"),
        (json!({"purpose": "marketing"}), "purpose"),
        (json!({"subject_ids": [uuid::Uuid::now_v7().to_string()]}), "subjects[0]"),
    ] {
        let mut body = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, p) = s.post(&disclose, &s.admin, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let (_, d) = s.get(&format!("/v1/tenants/{t}/subjects/{sid}/disclosures"), &dpo).await;
    assert_eq!(d["disclosures"], json!([]), "bad input recorded nothing");
    let (st, n) = s.post(&disclose, &s.admin, ok).await;
    assert_eq!((st, n["recorded"].as_u64()), (StatusCode::CREATED, Some(1)), "{n}");
    let (_, d) = s.get(&format!("/v1/tenants/{t}/subjects/{sid}/disclosures"), &dpo).await;
    assert_eq!(d["recipients"], json!(["courier"]));
    assert_eq!(
        (d["disclosures"][0]["fields"].clone(), d["disclosures"][0]["basis"].as_str()),
        (json!(["name", "email"]), Some("contract"))
    );
    // The access report names the disclosure actually made.
    let (_, rep) = s.get(&format!("/v1/tenants/{t}/subjects/{sid}/access-report"), &dpo).await;
    assert_eq!(rep["disclosures"][0]["recipient"], "courier", "{rep}");
    assert_eq!(rep["disclosures"][0]["purpose"], "order fulfilment");

    // Rectified: the courier is told by webhook and by e-mail, each time recorded.
    let rec = format!("/v1/tenants/{t}/collections/customers/records/{}", a["id"].as_str().unwrap());
    let (st, _) =
        s.call(reqwest::Method::PATCH, &rec, Some(&s.admin), Some(json!({"data": {"name": "Mojca Kos"}}))).await;
    assert_eq!(st, StatusCode::OK);
    let d = notices_settled(&s, &t, &sid, 1).await;
    let n0 = &d["notices"][0];
    assert_eq!((n0["event"].as_str(), n0["state"].as_str()), (Some("rectification"), Some("sent")), "{d}");
    assert!(n0["webhook_at"].is_string() && n0["email_at"].is_string(), "{d}");
    let got = hook.bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0]["event"].as_str(), got[0]["subject_id"].as_str()), (Some("rectification"), Some(sid.as_str())));
    assert_eq!(got[0]["controller"], "Ham d.o.o.");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("privacy@courier.si") && mails[0].contains("dpo@ham.si"), "{}", mails[0]);
    assert!(mails[0].contains(&sid) && mails[0].contains("Art. 19"), "{}", mails[0]);
    assert!(!mails[0].contains("Mojca"), "the notice holds no personal value: {}", mails[0]);

    // Disclosed to a recipient that cannot be reached: the erasure still
    // answers, and the notice stays on record with its error, retried.
    s.post(&disclose, &s.admin, json!({"recipient": "printer", "collection": "customers", "fields": ["name"], "purpose": "order fulfilment", "subject_ids": [sid]})).await;
    let (st, e) = s.delete(&format!("/v1/tenants/{t}/subjects/{sid}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["recipients_notified"], json!(["courier", "printer"]));
    let d = notices_settled(&s, &t, &sid, 3).await;
    let by = |r: &str| {
        d["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["recipient"] == r && n["event"] == "erasure")
            .cloned()
            .unwrap()
    };
    assert_eq!(by("courier")["state"], "sent", "{d}");
    let p = by("printer");
    assert_eq!(p["state"], "pending", "{d}");
    let why = p["last_error"].as_str().unwrap();
    assert!(why.contains("cannot reach") && why.contains("refused the message (SMTP 550)"), "{p}");
    assert!(!why.contains("refused@"), "the server's reply quoted the address: {why}");
    assert!(hook.bodies.lock().unwrap().iter().any(|b| b["event"] == "erasure"));
    assert_eq!(smtp.messages().len(), 2);
}
both!(disc1_disclosures_and_art19_notices_by_webhook_and_email);

async fn conf5_a_pseudonymised_export_for_analysis(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let mut o = orders();
    o["analysis"] = json!({"keep": ["amount"], "generalise": {"ordered_on": "month"}});
    s.collection(&t, o).await;
    s.collection(&t, customers()).await;
    for (email, amount, day) in
        [("mojca@kos.si", 42.5, "2026-03-14"), ("mojca@kos.si", 10.0, "2026-04-02"), ("bor@kos.si", 7.0, "2026-04-20")]
    {
        record(&s, &t, "orders", json!({"email": email, "address": "Trg 1", "amount": amount, "ordered_on": day}))
            .await;
    }
    let export = format!("/v1/tenants/{t}/collections/orders/export");
    let stats = json!({"purpose": "annual financial analysis", "pseudonymise": true});
    let (st, a) = s.post(&export, &s.admin, stats.clone()).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let a = a.as_array().unwrap().clone();
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|r| r["data"].get("email").is_none() && r["data"].get("address").is_none()), "{a:?}");
    assert_eq!(a[0]["data"], json!({"amount": 42.5, "ordered_on": "2026-03"}));
    // Repeat purchases still show: one pseudonym twice, another once; none is a real id.
    let subjects: Vec<&str> = a.iter().map(|r| r["subject_id"].as_str().unwrap()).collect();
    assert_eq!(subjects[0], subjects[1]);
    assert_ne!(subjects[0], subjects[2]);
    let (_, real) = s
        .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "email", "value": "mojca@kos.si"}))
        .await;
    assert_ne!(subjects[0], real["id"].as_str().unwrap());
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{}", subjects[0]), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a pseudonym finds nobody");
    // Stable per purpose, different for another.
    let (_, again) = s.post(&export, &s.admin, stats).await;
    assert_eq!(again[0]["subject_id"], subjects[0]);
    let (_, other) = s.post(&export, &s.admin, json!({"purpose": "order fulfilment", "pseudonymise": true})).await;
    assert_ne!(other[0]["subject_id"], subjects[0]);
    // Refused without a purpose or an analysis rule.
    let (st, p) = s.post(&export, &s.admin, json!({"pseudonymise": true})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose")));
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/export"),
            &s.admin,
            json!({"purpose": "invoicing", "pseudonymise": true}),
        )
        .await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("pseudonymise")));

    // To a recipient, protected: a disclosure of each subject, an age file the key opens.
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/recipients"),
            &dpo,
            json!({"name": "auditors", "description": "annual audit", "email": "audit@firm.si"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let id = age::x25519::Identity::generate();
    let (st, ct, sealed) = s
        .download(
            &export,
            &s.admin,
            json!({"purpose": "annual financial analysis", "recipient": "auditors", "protect": {"age_recipient": id.to_public().to_string()}}),
        )
        .await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/octet-stream"));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut age::Decryptor::new(&sealed[..]).unwrap().decrypt(std::iter::once(&id as &dyn age::Identity)).unwrap(),
        &mut plain,
    )
    .unwrap();
    let list: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let (_, d) = s.get(&format!("/v1/tenants/{t}/subjects/{}/disclosures", real["id"].as_str().unwrap()), &dpo).await;
    assert_eq!(d["recipients"], json!(["auditors"]), "{d}");
    let (st, p) = s.post(&export, &s.admin, json!({"recipient": "nobody"})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("recipient")));
}
both!(conf5_a_pseudonymised_export_for_analysis);

async fn cons3_a_merge_carries_consents_limits_and_disclosures(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(&t, newsletter_list()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let (_, n) = s
        .post(&format!("/v1/tenants/{t}/consent-notices"), &dpo, json!({"purpose": "newsletter", "text": NOTICE}))
        .await;
    let a = record(&s, &t, "newsletter", json!({"email": "ana@firma.si", "name": "Ana"})).await;
    let b2 = record(&s, &t, "newsletter", json!({"email": "ana.novak@gmail.com", "name": "Ana N."})).await;
    let (into, from) = (a["subject_id"].as_str().unwrap(), b2["subject_id"].as_str().unwrap());
    let body = json!({"purpose": "newsletter", "given": true, "notice_version": n["version"], "channel": "web", "evidence": "double opt-in 10:02"});
    let (st, _) = s.post(&format!("/v1/tenants/{t}/subjects/{from}/consents"), &s.admin, body).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/subjects/{from}/limits"),
            &dpo,
            json!({"kind": "objection", "direct_marketing": true, "reason": "Art. 21(2)"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, m) = s.post(&format!("/v1/tenants/{t}/subjects/{into}/merge"), &dpo, json!({"from": from})).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    // The consent, with its evidence readable under the new key; the objection in force.
    let (_, h) = s.get(&format!("/v1/tenants/{t}/subjects/{into}/consents"), &s.admin).await;
    assert_eq!((h[0]["evidence"].as_str(), h[0]["given"].as_bool()), (Some("double opt-in 10:02"), Some(true)), "{h}");
    let (_, l) = s.get(&format!("/v1/tenants/{t}/subjects/{into}/limits"), &dpo).await;
    assert_eq!(l.as_array().map(Vec::len), Some(1), "{l}");
    let (_, ans) = s.get(&format!("/v1/tenants/{t}/subjects/{into}/may?purpose=newsletter"), &s.admin).await;
    assert!(ans["reason"].as_str().unwrap().contains("direct marketing"), "{ans}");
    let (st, _) = s
        .get(
            &format!("/v1/tenants/{t}/collections/newsletter/records/{}?purpose=newsletter", a["id"].as_str().unwrap()),
            &s.admin,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "the moved objection limits the merged subject's reads");
    let lift = format!("/v1/tenants/{t}/subjects/{into}/limits/{}/lift", l[0]["id"].as_str().unwrap());
    s.post(&lift, &dpo, json!({"reason": "withdrawn"})).await;
    let (_, ans) = s.get(&format!("/v1/tenants/{t}/subjects/{into}/may?purpose=newsletter"), &s.admin).await;
    assert_eq!((ans["allowed"].as_bool(), ans["basis"].as_str()), (Some(true), Some("consent")), "{ans}");
}
both!(cons3_a_merge_carries_consents_limits_and_disclosures);
