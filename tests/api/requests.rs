//! DSR-1: the register of data-subject requests through the API.

use crate::support::{both, customers, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn ms(s: &str) -> i64 {
    varuh::clock::parse_rfc3339(s).unwrap()
}

async fn dsr1_a_request_from_receipt_to_response(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let op = s.staff(&t, "operator", "operator").await;
    let (_, rec) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": "mojca@kos.si", "name": "Mojca"}}),
        )
        .await;
    let reqs = format!("/v1/tenants/{t}/requests");

    // Opened by e-mail: the subject is found by it, due one calendar month later.
    let body = json!({"kind": "access", "channel": "e-mail", "requester_email": "Mojca@Kos.si"});
    let (st, _) = s.post(&reqs, &op, body.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an operator does not run the register");
    let (st, r) = s.post(&reqs, &dpo, body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "received");
    assert_eq!(r["subject_id"], rec["subject_id"]);
    let received = ms(r["received_at"].as_str().unwrap());
    assert_eq!(ms(r["due_at"].as_str().unwrap()), varuh::domain::requests::add_months(received, 1));
    assert!((28..=31).contains(&r["days_left"].as_i64().unwrap()), "{r}");
    assert_eq!(r["overdue"], false);
    assert!(!r.to_string().contains("kos.si"), "the requester's e-mail is not kept: {r}");
    let one = format!("{reqs}/{}", r["id"].as_str().unwrap());

    // Nothing is done before the identity is verified.
    for step in ["start", "complete"] {
        let body = if step == "complete" { json!({"response": "sent"}) } else { json!({}) };
        let (st, p) = s.post(&format!("{one}/{step}"), &dpo, body).await;
        assert_eq!(st, StatusCode::CONFLICT, "{step}: {p}");
        assert!(p["detail"].as_str().unwrap().contains("not verified"), "{p}");
    }
    let (st, p) = s.post(&format!("{one}/verify"), &dpo, json!({"method": " "})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "method");
    let (st, v) = s.post(&format!("{one}/verify"), &dpo, json!({"method": "signed-in account"})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "verified");
    assert_eq!(v["verification"]["method"], "signed-in account");
    assert!(v["verification"]["by"].is_string() && v["verification"]["at"].is_string());
    let (st, _) = s.post(&format!("{one}/verify"), &dpo, json!({"method": "again"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, v) = s.post(&format!("{one}/start"), &dpo, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "in_progress");

    // A second request of the same kind from the same person is flagged.
    let (_, dup) = s.post(&reqs, &dpo, body).await;
    assert_eq!(dup["duplicate_of"], r["id"]);
    let (_, other) =
        s.post(&reqs, &dpo, json!({"kind": "erasure", "channel": "letter", "subject_id": rec["subject_id"]})).await;
    assert!(other["duplicate_of"].is_null(), "another kind is not a duplicate: {other}");

    let (st, p) = s.post(&format!("{one}/complete"), &dpo, json!({"response": ""})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "response");
    let (st, d) = s.post(&format!("{one}/complete"), &dpo, json!({"response": "access report sent by e-mail"})).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "done");
    assert_eq!(d["response"], "access report sent by e-mail");
    let steps: Vec<&str> = d["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(steps, ["received", "subject_found", "verified", "in_progress", "done"]);
    for (step, body) in [
        ("refuse", json!({"reason": "late"})),
        ("start", json!({})),
        ("extend", json!({"months": 1, "reason": "r", "subject_informed": true})),
    ] {
        let (st, _) = s.post(&format!("{one}/{step}"), &dpo, body).await;
        assert_eq!(st, StatusCode::CONFLICT, "{step} on a closed request");
    }
    let (st, got) = s.get(&one, &dpo).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["state"], "done");

    // Refusal needs a reason.
    let two = format!("{reqs}/{}", other["id"].as_str().unwrap());
    let (st, p) = s.post(&format!("{two}/refuse"), &dpo, json!({"reason": ""})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "reason");
    let (st, x) = s.post(&format!("{two}/refuse"), &dpo, json!({"reason": "identity could not be verified"})).await;
    assert_eq!(st, StatusCode::OK, "{x}");
    assert_eq!(x["state"], "refused");
    assert_eq!(x["refusal_reason"], "identity could not be verified");

    // Bad input: a clear problem, nothing opened.
    let (_, before) = s.get(&format!("{reqs}?limit=500"), &dpo).await;
    for (body, field) in [
        (json!({"kind": "gossip", "channel": "e-mail"}), "kind"),
        (json!({"kind": "access", "channel": ""}), "channel"),
        (json!({"kind": "access", "channel": "e-mail", "received_at": "2999-01-01T00:00:00Z"}), "received_at"),
        (json!({"kind": "access", "channel": "e-mail", "received_at": "yesterday"}), "received_at"),
        (json!({"kind": "access", "channel": "e-mail", "subject_id": uuid::Uuid::now_v7().to_string()}), "subject_id"),
        (json!({"kind": "access", "channel": "e-mail", "requester_email": "not an e-mail"}), "requester_email"),
    ] {
        let (st, p) = s.post(&reqs, &dpo, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["field"], field, "{p}");
    }
    let (_, after) = s.get(&format!("{reqs}?limit=500"), &dpo).await;
    assert_eq!(after.as_array().unwrap().len(), before.as_array().unwrap().len());
    // The audit trail has each step, with the subject and without the e-mail.
    let opened = s.events("request.open").await;
    assert!(opened.iter().all(|e| !e.to_string().contains("kos.si")));
    assert!(opened.iter().any(|e| e["event"]["subject"] == rec["subject_id"]));
    assert_eq!(s.events("request.verify").await.iter().filter(|e| e["event"]["outcome"] == "ok").count(), 1);
}
both!(dsr1_a_request_from_receipt_to_response);

async fn dsr1_deadlines_extensions_and_the_overdue_list(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let reqs = format!("/v1/tenants/{t}/requests");
    let open = |received: &str| json!({"kind": "rectification", "channel": "letter", "received_at": received});

    // Received on 31 January: due on the last day of February.
    let (st, jan) = s.post(&reqs, &dpo, open("2026-01-31T09:00:00Z")).await;
    assert_eq!(st, StatusCode::CREATED, "{jan}");
    assert_eq!(jan["due_at"], "2026-02-28T09:00:00Z");
    assert_eq!(jan["overdue"], true);
    assert!(jan["days_left"].as_i64().unwrap() < 0);
    // Too late to extend: the first month has run out.
    let j = format!("{reqs}/{}", jan["id"].as_str().unwrap());
    let (st, p) = s
        .post(&format!("{j}/extend"), &dpo, json!({"months": 1, "reason": "many records", "subject_informed": true}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "months");

    // Received now: extend by two months with a reason, the subject told.
    let (_, now) = s.post(&reqs, &dpo, json!({"kind": "access", "channel": "web form"})).await;
    let n = format!("{reqs}/{}", now["id"].as_str().unwrap());
    let received = ms(now["received_at"].as_str().unwrap());
    for (body, field) in [
        (json!({"months": 3, "reason": "r", "subject_informed": true}), "months"),
        (json!({"months": 2, "reason": " ", "subject_informed": true}), "reason"),
        (json!({"months": 2, "reason": "r", "subject_informed": false}), "subject_informed"),
    ] {
        let (st, p) = s.post(&format!("{n}/extend"), &dpo, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["field"], field);
    }
    let (st, e) = s
        .post(
            &format!("{n}/extend"),
            &dpo,
            json!({"months": 2, "reason": "complex: records in 5 systems", "subject_informed": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(ms(e["due_at"].as_str().unwrap()), varuh::domain::requests::add_months(received, 3));
    assert_eq!(e["extension"]["months"], 2);
    assert_eq!(e["extension"]["reason"], "complex: records in 5 systems");
    assert!(e["extension"]["subject_informed_at"].is_string());
    let (st, p) =
        s.post(&format!("{n}/extend"), &dpo, json!({"months": 1, "reason": "more", "subject_informed": true})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "two further months in all: {p}");

    // The overdue list: open and past due, soonest first; done ones drop out.
    let (_, nov) = s.post(&reqs, &dpo, open("2025-11-30T12:00:00Z")).await;
    let (st, list) = s.get(&format!("{reqs}?overdue=true"), &dpo).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let ids: Vec<&Value> = list.as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&nov["id"], &jan["id"]], "{list}");
    let nv = format!("{reqs}/{}", nov["id"].as_str().unwrap());
    s.post(&format!("{nv}/verify"), &dpo, json!({"method": "ID document"})).await;
    let (_, done) =
        s.post(&format!("{nv}/complete"), &dpo, json!({"response": "corrected; subject told by letter"})).await;
    assert_eq!(done["state"], "done");
    assert_eq!(done["overdue"], false, "closed, if late");
    let (_, list) = s.get(&format!("{reqs}?overdue=true"), &dpo).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], jan["id"]);
    let (_, by_state) = s.get(&format!("{reqs}?state=done"), &dpo).await;
    assert_eq!(by_state.as_array().unwrap().len(), 1);
    for q in ["state=lost", "overdue=maybe", "limit=0", "colour=red"] {
        let (st, p) = s.get(&format!("{reqs}?{q}"), &dpo).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {p}");
    }
    // The extended request counts its days to the new date.
    let (_, e) = s.get(&n, &dpo).await;
    assert!((88..=92).contains(&e["days_left"].as_i64().unwrap()), "{e}");
}
both!(dsr1_deadlines_extensions_and_the_overdue_list);

/// DSR-2 (Art. 15): the access report holds every record of the subject
/// across collections, with each collection's purposes, basis, categories,
/// retention, recipients and source, and the subject's rights.
async fn dsr2_the_access_report_holds_everything_about_the_subject(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, crate::support::newsletter()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let op = s.staff(&t, "operator", "operator").await;
    let (_, a) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": "mojca@kos.si", "name": "Mojca Kos", "orders": 3}}),
        )
        .await;
    let (_, n) = s
        .post(
            &format!("/v1/tenants/{t}/collections/newsletter/records"),
            &s.admin,
            json!({"data": {"email": "mojca@kos.si", "topics": "cheese"}}),
        )
        .await;
    assert_eq!(a["subject_id"], n["subject_id"]);
    // Someone else's record is not in it.
    s.post(
        &format!("/v1/tenants/{t}/collections/customers/records"),
        &s.admin,
        json!({"data": {"email": "bor@kos.si", "name": "Bor"}}),
    )
    .await;
    let url = format!("/v1/tenants/{t}/subjects/{}/access-report", a["subject_id"].as_str().unwrap());
    let (st, _) = s.get(&url, &op).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = s.get(&url, &dpo).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["subject_id"], a["subject_id"]);
    let cols = r["collections"].as_array().unwrap();
    assert_eq!(cols.len(), 2);
    let shop = &cols[0];
    assert_eq!(shop["collection"], "customers");
    assert_eq!(shop["purposes"], json!(["order fulfilment", "invoicing"]));
    assert_eq!(shop["legal_basis"], "contract");
    assert_eq!(shop["recipients"], json!(["courier"]));
    assert_eq!(shop["source"], "the data subject");
    assert_eq!(shop["retention"], json!({"kind": "period", "days": 3650}));
    assert_eq!(shop["data_categories"], json!(["commercial", "contact", "identification"]));
    assert_eq!(shop["records"].as_array().unwrap().len(), 1);
    assert_eq!(shop["records"][0]["data"]["name"], "Mojca Kos");
    let news = &cols[1];
    assert_eq!(news["collection"], "newsletter");
    assert_eq!(news["legal_basis"], "consent");
    assert_eq!(news["records"][0]["data"]["topics"], "cheese");
    assert!(!r.to_string().contains("Bor"), "only this subject's data: {r}");
    let rights: Vec<&str> = r["rights"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    for art in ["Art. 15", "Art. 16", "Art. 17", "Art. 18", "Art. 20", "Art. 21(2)", "Art. 7(3)", "Art. 77"] {
        assert!(rights.iter().any(|x| x.contains(art)), "{art} in {rights:?}");
    }
    assert!(r["complaint"].as_str().unwrap().contains("Informacijski pooblaščenec"));
    // Audited as a read of those fields, with the subject; never the values.
    let ev = s.events("subject.access_report").await;
    let ok: Vec<&Value> = ev.iter().filter(|e| e["event"]["outcome"] == "ok").collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["event"]["subject"], a["subject_id"]);
    assert!(!ok[0].to_string().contains("Mojca") && !ok[0].to_string().contains("cheese"));
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{}/access-report", uuid::Uuid::now_v7()), &dpo).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Answering a request: only once it is verified, and the request records it.
    let reqs = format!("/v1/tenants/{t}/requests");
    let (_, q) =
        s.post(&reqs, &dpo, json!({"kind": "access", "channel": "e-mail", "subject_id": a["subject_id"]})).await;
    let qid = q["id"].as_str().unwrap();
    let (st, p) = s.get(&format!("{url}?request={qid}"), &dpo).await;
    assert_eq!(st, StatusCode::CONFLICT, "not verified: {p}");
    let (_, bor) =
        s.post(&reqs, &dpo, json!({"kind": "access", "channel": "e-mail", "requester_email": "bor@kos.si"})).await;
    for (query, field) in
        [(format!("request={}", bor["id"].as_str().unwrap()), "request"), ("request=x".into(), "request")]
    {
        let (st, p) = s.get(&format!("{url}?{query}"), &dpo).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["field"], field);
    }
    s.post(&format!("{reqs}/{qid}/verify"), &dpo, json!({"method": "ID document"})).await;
    let (st, r2) = s.get(&format!("{url}?request={qid}"), &dpo).await;
    assert_eq!(st, StatusCode::OK, "{r2}");
    assert_eq!(r2["collections"], r["collections"]);
    let (_, q) = s.get(&format!("{reqs}/{qid}"), &dpo).await;
    let last = q["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "access_report");
    assert_eq!(last["note"], "records=2 collections=2");
    let ev = s.events("subject.access_report").await;
    assert!(ev
        .iter()
        .any(|e| e["event"]["outcome"] == "ok" && e["event"]["detail"].as_str().unwrap_or("").contains(qid)));
    s.post(&format!("{reqs}/{qid}/complete"), &dpo, json!({"response": "access report sent by e-mail"})).await;
    let (st, _) = s.get(&format!("{url}?request={qid}"), &dpo).await;
    assert_eq!(st, StatusCode::CONFLICT, "a closed request");
}
both!(dsr2_the_access_report_holds_everything_about_the_subject);

async fn dsr1_reminders_go_before_the_due_date_by_webhook_and_email(b: Backend) {
    let smtp = crate::support::Smtp::start().await;
    let hook = crate::support::Hook::start().await;
    let port = smtp.port;
    let s = TestServer::start_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.notify_seconds = 1;
    })
    .await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let op = s.staff(&t, "operator", "operator").await;
    let settings = format!("/v1/tenants/{t}/settings");
    let (st, def) = s.get(&settings, &dpo).await;
    assert_eq!((st, def["reminder_days"].clone()), (StatusCode::OK, json!([7, 1, 0])), "{def}");
    let good = json!({
        "dpo_email": "dpo@ham.si", "notify_webhook": hook.url, "reminder_days": [7, 1],
        "supervisory_authority": {"name": "Commission nationale de l'informatique et des libertés", "website": "https://www.cnil.fr"}
    });
    let (st, _) = s.put(&settings, &op, good.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let mut bad = good.clone();
    bad["dpo_email"] = json!("nobody");
    let (st, p) = s.put(&settings, &dpo, bad).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("dpo_email")));
    let (_, now) = s.get(&settings, &dpo).await;
    assert_eq!(now, def, "a refused change changed nothing");
    let (st, _) = s.put(&settings, &dpo, good).await;
    assert_eq!(st, StatusCode::OK);

    // Received 25 days ago: due in about 6 days, inside the 7-day reminder.
    let received = varuh::clock::rfc3339(s.clock.now_ms() - 25 * 86_400_000);
    let reqs = format!("/v1/tenants/{t}/requests");
    let (_, soon) = s.post(&reqs, &dpo, json!({"kind": "erasure", "channel": "e-mail", "received_at": received})).await;
    let (_, later) = s.post(&reqs, &dpo, json!({"kind": "access", "channel": "letter"})).await;
    hook.wait(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let got = hook.bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one reminder per request and day, however many ticks: {got:?}");
    assert_eq!(
        (got[0]["type"].as_str(), got[0]["request_id"].clone()),
        (Some("varuh.request_reminder"), soon["id"].clone())
    );
    assert!((3..=6).contains(&got[0]["days_left"].as_i64().unwrap()), "{got:?}");
    assert_ne!(got[0]["request_id"], later["id"]);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("dpo@ham.si") && mails[0].contains(soon["id"].as_str().unwrap()), "{}", mails[0]);

    // The access report names the tenant's supervisory authority.
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": "a@b.si", "name": "A"}}),
        )
        .await;
    let (_, rep) =
        s.get(&format!("/v1/tenants/{t}/subjects/{}/access-report", r["subject_id"].as_str().unwrap()), &dpo).await;
    assert!(rep["complaint"].as_str().unwrap().contains("cnil.fr"), "{rep}");

    // Four days on (under a day left), the 1-day reminder; the later request still gets none.
    s.clock.advance(4 * 86_400_000);
    hook.wait(2).await;
    let got = hook.bodies.lock().unwrap().clone();
    assert_eq!(got[1]["request_id"], soon["id"]);
    assert_eq!((got[1]["days_left"].as_i64(), got[1]["overdue"].as_bool()), (Some(0), Some(false)), "{got:?}");
    assert!(got.iter().all(|g| g["request_id"] != later["id"]));
}
both!(dsr1_reminders_go_before_the_due_date_by_webhook_and_email);

/// The text of a PDF, as `pdftotext` (poppler-utils) reads it.
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out =
        std::process::Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&f).arg("-").output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn unzip(zip: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut f, &mut s).unwrap();
            (f.name().unwrap().to_string(), s)
        })
        .collect()
}

async fn dsr2_dsr6_the_report_as_a_pdf_and_the_portability_archive(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let mut c = customers();
    c["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "segment", "type": "string", "category": "profiling", "derived": true}));
    s.collection(&t, c).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": "mojca@kovacic.si", "name": "Mojca Kovačič", "orders": 3, "segment": "loyal"}}),
        )
        .await;
    let sid = r["subject_id"].as_str().unwrap();
    let pdf_url = format!("/v1/tenants/{t}/subjects/{sid}/access-report.pdf");

    // Slovenian and English, read back as text.
    let (st, ct, pdf) = s.download(&pdf_url, &dpo, json!({"lang": "sl"})).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for want in [
        "Poročilo o dostopu",
        "Ham d.o.o.",
        "Mojca Kovačič",
        "Pravna podlaga",
        "pogodba",
        "Informacijski pooblaščenec",
        "Vaše pravice",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    let (_, _, pdf) = s.download(&pdf_url, &dpo, json!({})).await;
    let text = pdf_text(&pdf);
    for want in [
        "Access report (Art. 15 GDPR)",
        "Legal basis",
        "contract (Art. 6(1)(b))",
        "mojca@kovacic.si",
        "erasure (Art. 17)",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }

    // Portability: what she provided, not what the shop derived.
    let port = format!("/v1/tenants/{t}/subjects/{sid}/portability");
    let (st, ct, zip) = s.download(&port, &dpo, json!({})).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/zip"));
    let files = unzip(&zip);
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), ["customers.csv", "data.json"]);
    let data: Value = serde_json::from_str(&files["data.json"]).unwrap();
    assert_eq!(
        data["collections"]["customers"][0]["data"],
        json!({"email": "mojca@kovacic.si", "name": "Mojca Kovačič", "orders": 3})
    );
    let csv = &files["customers.csv"];
    assert!(csv.starts_with("record_id,created_at,updated_at,email,name,phone,born,orders\n"), "{csv}");
    assert!(csv.contains(",mojca@kovacic.si,Mojca Kovačič,,,3") && !csv.contains("loyal"), "{csv}");

    // Protected: to an age key the standard tool opens, or with a passphrase.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    let gen = std::process::Command::new("age-keygen").arg("-o").arg(&key).output().expect("age-keygen");
    assert!(gen.status.success());
    let recipient = String::from_utf8_lossy(&gen.stderr).trim().trim_start_matches("Public key: ").to_string();
    let (st, ct, sealed) = s.download(&port, &dpo, json!({"protect": {"age_recipient": recipient}})).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/octet-stream"));
    assert!(sealed.starts_with(b"age-encryption.org/v1") && memchr::memmem::find(&sealed, b"kovacic").is_none());
    let file = dir.path().join("p.zip.age");
    std::fs::write(&file, &sealed).unwrap();
    let open = std::process::Command::new("age").arg("-d").arg("-i").arg(&key).arg(&file).output().expect("age");
    assert!(open.status.success(), "{}", String::from_utf8_lossy(&open.stderr));
    let mut opened: Value = serde_json::from_str(&unzip(&open.stdout)["data.json"]).unwrap();
    opened["generated_at"] = data["generated_at"].clone();
    assert_eq!(opened, data, "the sealed archive is the same archive");
    let (st, _, sealed) = s.download(&pdf_url, &dpo, json!({"protect": {"passphrase": "konj-baterija-spenjač"}})).await;
    assert_eq!(st, StatusCode::OK);
    let d = age::Decryptor::new(&sealed[..]).unwrap();
    let id = age::scrypt::Identity::new(age::secrecy::SecretString::from("konj-baterija-spenjač".to_string()));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut d.decrypt(std::iter::once(&id as &dyn age::Identity)).unwrap(), &mut plain)
        .unwrap();
    assert!(plain.starts_with(b"%PDF-"));
    for (protect, field) in [
        (json!({"age_recipient": "age1nope"}), "protect.age_recipient"),
        (json!({"passphrase": "short"}), "protect.passphrase"),
        (json!({"passphrase": "long enough passphrase", "age_recipient": recipient}), "protect"),
    ] {
        let (st, p) = s.post(&port, &dpo, json!({"protect": protect})).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }

    // Answering a verified portability request: its history records the archive.
    let (_, q) = s
        .post(
            &format!("/v1/tenants/{t}/requests"),
            &dpo,
            json!({"kind": "portability", "channel": "e-mail", "subject_id": sid}),
        )
        .await;
    let one = format!("/v1/tenants/{t}/requests/{}", q["id"].as_str().unwrap());
    let (st, _, _) = s.download(&port, &dpo, json!({"request_id": q["id"]})).await;
    assert_eq!(st, StatusCode::CONFLICT, "not verified yet");
    s.post(&format!("{one}/verify"), &dpo, json!({"method": "ID document"})).await;
    let (st, _, _) =
        s.download(&port, &dpo, json!({"request_id": q["id"], "protect": {"age_recipient": recipient}})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, q) = s.get(&one, &dpo).await;
    assert!(q["history"].as_array().unwrap().iter().any(|h| h["action"] == "portability"), "{q}");
    let ev = s.events("subject.portability").await;
    assert!(
        ev.iter().any(|e| e["event"]["detail"].as_str().unwrap_or("").contains("delivery=zip+age-recipient")),
        "{ev:?}"
    );
    let ev = s.events("subject.access_report").await;
    assert!(
        ev.iter().any(|e| e["event"]["detail"].as_str().unwrap_or("").contains("delivery=pdf+age-passphrase")),
        "{ev:?}"
    );
    assert!(!format!("{ev:?}").contains("spenjač"), "the passphrase is never recorded");
}
both!(dsr2_dsr6_the_report_as_a_pdf_and_the_portability_archive);
