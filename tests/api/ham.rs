//! Ham's procedures 7a-7f (`003_…` Art. 7) played through the HTTP API on
//! both backends: each request opened, verified, answered by the act it
//! asks for (which the request's history then names), and closed with the
//! response — access, rectification, erasure, restriction, portability,
//! objection — with Ham's collections: the customers, the orders (X,
//! anonymised on erasure for the annual financial analysis), the staff
//! file (Z, kept by law) and the newsletter (A, on consent).

use crate::support::{both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn collections() -> Vec<Value> {
    let base = |name: &str, purposes: Value, basis: &str| {
        json!({
            "name": name, "purposes": purposes, "legal_basis": basis, "subject_categories": ["customers"],
            "source": "the data subject", "retention": {"kind": "period", "days": 3650}, "recipients": ["courier"]
        })
    };
    let mut customers = base("customers", json!(["order fulfilment", "profiling"]), "contract");
    customers["direct_marketing"] = json!(["profiling"]);
    customers["fields"] = json!([
        {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
        {"name": "name", "type": "string", "category": "identification", "required": true},
        {"name": "address", "type": "string", "category": "contact"},
        {"name": "segment", "type": "string", "category": "profiling", "derived": true}
    ]);
    let mut orders = base("orders", json!(["order fulfilment", "annual financial analysis"]), "contract");
    orders["erasure"] = json!({"rule": "anonymise", "keep": ["amount"], "generalise": {"ordered_on": "month"}});
    orders["fields"] = json!([
        {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
        {"name": "amount", "type": "number", "category": "financial"},
        {"name": "ordered_on", "type": "date", "category": "commercial"}
    ]);
    let mut staff = base("staff_file", json!(["employment"]), "legal_obligation");
    staff["erasure"] = json!({"rule": "refuse", "reason": "the personnel file is kept permanently by law"});
    staff["retention"] = json!({"kind": "permanent"});
    staff["fields"] =
        json!([{"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true}]);
    let mut news = base("newsletter", json!(["newsletter"]), "consent");
    news["direct_marketing"] = json!(["newsletter"]);
    news["retention"] = json!({"kind": "until_consent_withdrawn"});
    news["fields"] =
        json!([{"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true}]);
    vec![customers, orders, staff, news]
}

struct Ham {
    s: TestServer,
    t: String,
    dpo: String,
}

impl Ham {
    /// Opens a request by the requester's e-mail and verifies it.
    async fn verified(&self, kind: &str, email: &str) -> String {
        let (st, r) = self
            .s
            .post(
                &format!("/v1/tenants/{}/requests", self.t),
                &self.dpo,
                json!({"kind": kind, "channel": "letter", "requester_email": email}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        let id = r["id"].as_str().unwrap().to_string();
        let (st, v) = self
            .s
            .post(&self.req(&id, "verify"), &self.dpo, json!({"method": "identity card shown at the counter"}))
            .await;
        assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("verified")), "{v}");
        let (st, _) = self.s.post(&self.req(&id, "start"), &self.dpo, json!({})).await;
        assert_eq!(st, StatusCode::OK);
        id
    }

    fn req(&self, id: &str, step: &str) -> String {
        format!("/v1/tenants/{}/requests/{id}/{step}", self.t)
    }

    /// Closes it with the response, and checks its history names the act.
    async fn answered(&self, id: &str, act: &str, response: &str) -> Value {
        let (st, v) = self.s.post(&self.req(id, "complete"), &self.dpo, json!({"response": response})).await;
        assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("done")), "{v}");
        assert_eq!(v["response"], response);
        let acts: Vec<&str> = v["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
        assert!(acts.contains(&act), "{act} not in {acts:?}");
        assert_eq!(v["overdue"], false);
        v
    }

    async fn record(&self, c: &str, data: Value) -> Value {
        let (st, r) = self
            .s
            .post(&format!("/v1/tenants/{}/collections/{c}/records", self.t), &self.s.admin, json!({"data": data}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        r
    }
}

async fn ham_procedures_7a_to_7f(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    for c in collections() {
        s.collection(&t, c).await;
    }
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let h = Ham { s, t: t.clone(), dpo };
    let c = h
        .record(
            "customers",
            json!({"email": "mojca@kos.si", "name": "Mojca Kos", "address": "Trg 1", "segment": "loyal"}),
        )
        .await;
    let sid = c["subject_id"].as_str().unwrap().to_string();
    h.record("orders", json!({"email": "mojca@kos.si", "amount": 42.5, "ordered_on": "2026-03-14"})).await;
    h.record("newsletter", json!({"email": "mojca@kos.si"})).await;
    let (_, n) =
        h.s.post(
            &format!("/v1/tenants/{t}/consent-notices"),
            &h.dpo,
            json!({"purpose": "newsletter", "text": "Ham e-novice"}),
        )
        .await;
    let (st, _) =
        h.s.post(
            &format!("/v1/tenants/{t}/subjects/{sid}/consents"),
            &h.s.admin,
            json!({"purpose": "newsletter", "given": true, "notice_version": n["version"], "channel": "web form"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    // 7a: the processing information and a copy of the data, in PDF.
    let id = h.verified("access", "Mojca@Kos.si").await;
    let (st, ct, pdf) =
        h.s.download(
            &format!("/v1/tenants/{t}/subjects/{sid}/access-report.pdf"),
            &h.dpo,
            json!({"request_id": id, "lang": "sl"}),
        )
        .await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let text = crate::requests::pdf_text(&pdf);
    for want in ["Mojca Kos", "order fulfilment", "3650 dni", "privolitev", "pritožbe"] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    h.answered(&id, "access_report", "the PDF was handed over at the counter").await;

    // 7b: the address corrected; the old one is not kept anywhere in the clear.
    let id = h.verified("rectification", "mojca@kos.si").await;
    let rec = format!("/v1/tenants/{t}/collections/customers/records/{}", c["id"].as_str().unwrap());
    let (st, v) = h
        .s
        .call(reqwest::Method::PATCH, &rec, Some(&h.dpo), Some(json!({"data": {"address": "Trg 2"}, "request_id": id})))
        .await;
    assert_eq!((st, v["data"]["address"].as_str()), (StatusCode::OK, Some("Trg 2")), "{v}");
    h.answered(&id, "rectification", "the address is corrected").await;

    // 7d: restricted while the accuracy is checked; reads are refused, then lifted.
    let id = h.verified("restriction", "mojca@kos.si").await;
    let (st, l) =
        h.s.post(
            &format!("/v1/tenants/{t}/subjects/{sid}/limits"),
            &h.dpo,
            json!({"kind": "restriction", "reason": "accuracy contested", "request_id": id}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{l}");
    let (st, _) = h.s.get(&format!("{rec}?purpose=order%20fulfilment"), &h.s.admin).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    h.answered(&id, "restriction", "processing restricted until the accuracy is verified").await;
    let lift = format!("/v1/tenants/{t}/subjects/{sid}/limits/{}/lift", l["id"].as_str().unwrap());
    let (st, _) = h.s.post(&lift, &h.dpo, json!({"reason": "accuracy verified"})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // 7f: objection to profiling and direct marketing: stopped at once, the orders go on.
    let id = h.verified("objection", "mojca@kos.si").await;
    let (st, _) =
        h.s.post(
            &format!("/v1/tenants/{t}/subjects/{sid}/limits"),
            &h.dpo,
            json!({"kind": "objection", "direct_marketing": true, "reason": "Art. 21(2)", "request_id": id}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    for (purpose, allowed) in [("profiling", false), ("newsletter", false), ("order%20fulfilment", true)] {
        let (_, a) = h.s.get(&format!("/v1/tenants/{t}/subjects/{sid}/may?purpose={purpose}"), &h.s.admin).await;
        assert_eq!(a["allowed"], allowed, "{purpose}: {a}");
    }
    h.answered(&id, "objection", "profiling and direct marketing stopped").await;

    // 7e: what she provided, machine-readable, protected for the new provider.
    let id = h.verified("portability", "mojca@kos.si").await;
    let (st, _, sealed) =
        h.s.download(
            &format!("/v1/tenants/{t}/subjects/{sid}/portability"),
            &h.dpo,
            json!({"request_id": id, "protect": {"passphrase": "geslo za novega ponudnika"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(sealed.starts_with(b"age-encryption.org/v1"));
    h.answered(&id, "portability", "the archive went to the new provider, the passphrase by phone").await;

    // 7c: erased; the order stays for the analysis, anonymised.
    let id = h.verified("erasure", "mojca@kos.si").await;
    let (st, e) = h.s.delete(&format!("/v1/tenants/{t}/subjects/{sid}?request={id}"), &h.dpo).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!((e["records_deleted"].as_u64(), e["records_anonymised"].as_u64()), (Some(2), Some(1)), "{e}");
    assert_eq!(e["subject_erased"], true);
    let v = h.answered(&id, "erasure", "erased; the order is kept anonymised for the annual analysis").await;
    assert_eq!(v["subject_id"], sid.as_str(), "the register keeps the id, never a value");
    let (st, _) =
        h.s.post(
            &format!("/v1/tenants/{t}/subjects/lookup"),
            &h.s.admin,
            json!({"kind": "email", "value": "mojca@kos.si"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = h.s.get(&format!("/v1/tenants/{t}/subjects/{sid}/access-report"), &h.dpo).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, anon) = h.s.get(&format!("/v1/tenants/{t}/collections/orders/anonymised"), &h.s.admin).await;
    assert_eq!(anon[0]["data"], json!({"amount": 42.5, "ordered_on": "2026-03"}));
    // Six requests, all answered in time; the trail verifies.
    let (_, all) = h.s.get(&format!("/v1/tenants/{t}/requests?state=done"), &h.dpo).await;
    assert_eq!(all.as_array().unwrap().len(), 6);
    assert!(h.s.verify_trail().await.ok());
}
both!(ham_procedures_7a_to_7f);
