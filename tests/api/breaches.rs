//! The breach register (BRE-1) and its clocks (BRE-2) through the API on
//! both backends: a breach found by the processor runs the controller's
//! clock (the tenant's contract hours), the authority's 72 hours and the
//! subjects' decision; notifications are kept in phases, a late one needs
//! its reasons; amendments go by version; bad input changes nothing; the
//! documents say what the register says, in English and Slovenian.

use crate::requests::pdf_text;
use crate::support::{both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

fn rfc(ms: i64) -> String {
    varuh::clock::rfc3339(ms)
}

fn clock<'a>(b: &'a Value, audience: &str) -> &'a Value {
    b["clocks"].as_array().unwrap().iter().find(|c| c["audience"] == audience).unwrap()
}

async fn notice(s: &TestServer, t: &str, id: &str, q: &str) -> (StatusCode, Vec<u8>) {
    let r = s
        .http
        .get(format!("{}/v1/tenants/{t}/breaches/{id}/notice?{q}", s.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.bytes().await.unwrap().to_vec())
}

/// A breach found by the processor: from record to the 72-hour notice.
async fn bre1_bre2_a_breach_from_record_to_the_authoritys_notice(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = s.tenant("2Mobile stranka d.o.o.", false).await;
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/settings"),
            &s.admin,
            json!({"dpo_email": "dpo@stranka.si", "breach_notice_hours": 24}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let operator = s.staff(&t, "op", "operator").await;
    let auditor = s.staff(&t, "aud", "auditor").await;
    let now = varuh::clock::now_ms();
    let aware = now - 2 * HOUR;
    let body = json!({
        "kinds": ["confidentiality"],
        "occurred_at": rfc(aware - 5 * HOUR),
        "aware_at": rfc(aware),
        "found_by": "processor",
        "description": "An SMS campaign export with Marjeta Novak's number was sent to the wrong customer",
        "subject_categories": ["customers"],
        "data_categories": ["phone numbers", "names"],
        "subjects_approx": 1200,
        "records_approx": 1200,
        "consequences": "unsolicited contact",
        "measures_taken": "the recipient deleted the file and confirmed it in writing",
        "measures_proposed": "tell the customers to ignore messages from unknown senders",
        "risk": "high",
        "risk_rationale": "names with phone numbers of 1,200 people"
    });
    let path = format!("/v1/tenants/{t}/breaches");

    // Who may record it: the DPO, not an operator; the auditor reads.
    assert_eq!(s.post(&path, &operator, body.clone()).await.0, StatusCode::FORBIDDEN);
    let (st, br) = s.post(&path, &dpo, body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    let id = br["id"].as_str().unwrap().to_string();
    assert_eq!(br["contact"], "dpo@stranka.si", "the tenant's DPO by default");
    let c = clock(&br, "controller");
    assert_eq!((c["state"].as_str(), c["due_at"].as_str()), (Some("running"), Some(rfc(aware + 24 * HOUR).as_str())));
    let a = clock(&br, "authority");
    assert_eq!((a["state"].as_str(), a["due_at"].as_str()), (Some("running"), Some(rfc(aware + 72 * HOUR).as_str())));
    assert_eq!(clock(&br, "subjects")["state"], "decision_due");
    let (st, list) = s.get(&format!("/v1/tenants/{t}/breach-clocks"), &auditor).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");

    // Bad input is refused with the field named, and changes nothing.
    for (field, bad) in [
        ("aware_at", json!(rfc(now + 5 * HOUR))),
        ("kinds", json!([])),
        ("occurred_at", json!(rfc(now))),
        ("risk_rationale", json!(" ")),
    ] {
        let mut b = body.clone();
        if field == "occurred_at" {
            b["aware_at"] = json!(rfc(now - HOUR));
        }
        b[field] = bad;
        let (st, p) = s.post(&path, &dpo, b).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let (_, all) = s.get(&path, &auditor).await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");

    // 23 hours on: the controller's clock is overdue (sessions signed in again).
    s.travel(23 * HOUR).await;
    let dpo = s.token("dpo").await;
    let (_, list) = s.get(&format!("/v1/tenants/{t}/breach-clocks"), &dpo).await;
    let first = &list[0];
    assert_eq!(
        (first["clock"]["audience"].as_str(), first["clock"]["state"].as_str()),
        (Some("controller"), Some("overdue"))
    );
    assert!(first["clock"]["hours_left"].as_f64().unwrap() < 0.0, "{list}");
    let notify = format!("{path}/{id}/notifications");
    let (st, n) = s
        .post(
            &notify,
            &dpo,
            json!({"audience": "controller", "phase": "initial", "to": "dpo@stranka.si", "channel": "e-mail"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    let (_, br) = s.get(&format!("{path}/{id}"), &dpo).await;
    assert_eq!(clock(&br, "controller")["state"], "late");
    // The controller now knows: its 72 hours start at the notice.
    let told = varuh::clock::parse_rfc3339(n["sent_at"].as_str().unwrap()).unwrap();
    assert_eq!(clock(&br, "authority")["due_at"].as_str(), Some(rfc(told + 72 * HOUR).as_str()));

    // Phases in order: no follow-up before the initial, no second initial.
    let to_ip = json!({"audience": "authority", "phase": "follow_up", "to": "Informacijski pooblaščenec"});
    let (st, p) = s.post(&notify, &dpo, to_ip.clone()).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("phase")), "{p}");
    let (st, p) =
        s.post(&notify, &dpo, json!({"audience": "controller", "phase": "initial", "to": "dpo@stranka.si"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

    // 73 hours after the notice: the authority's notification is late and needs its reasons.
    s.travel(73 * HOUR).await;
    let (dpo, auditor, operator) = (s.token("dpo").await, s.token("aud").await, s.token("op").await);
    let initial =
        json!({"audience": "authority", "phase": "initial", "to": "Informacijski pooblaščenec", "channel": "web form"});
    let (st, p) = s.post(&notify, &dpo, initial.clone()).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("late_reason")), "{p}");
    let mut late = initial.clone();
    late["late_reason"] = json!("the scope took three days to establish from the logs");
    let (st, p) = s.post(&notify, &dpo, late).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let (st, p) = s.post(&notify, &dpo, to_ip).await;
    assert_eq!(st, StatusCode::CREATED, "a follow-up phase: {p}");
    let (_, br) = s.get(&format!("{path}/{id}"), &auditor).await;
    assert_eq!(clock(&br, "authority")["state"], "late");
    assert_eq!(br["notifications"].as_array().unwrap().len(), 3, "{br}");

    // Amendments go by the version read.
    let mut change = body.clone();
    change["version"] = json!(99);
    change["contained_at"] = json!(rfc(now));
    change["subjects_decision"] = json!({"notify": true, "rationale": "phone numbers with names: high risk"});
    assert_eq!(s.put(&format!("{path}/{id}"), &dpo, change.clone()).await.0, StatusCode::CONFLICT);
    change["version"] = json!(1);
    assert_eq!(s.put(&format!("{path}/{id}"), &operator, change.clone()).await.0, StatusCode::FORBIDDEN);
    let (st, br) = s.put(&format!("{path}/{id}"), &dpo, change.clone()).await;
    assert_eq!((st, br["version"].as_i64()), (StatusCode::OK, Some(2)), "{br}");
    assert_eq!(clock(&br, "subjects")["state"], "running", "to be told without undue delay");
    assert!(clock(&br, "subjects")["due_at"].is_null());
    assert_eq!(s.put(&format!("{path}/{id}"), &dpo, change).await.0, StatusCode::CONFLICT, "version 1 is stale now");

    // The documents, in both languages, say what the register says.
    let (st, pdf) = notice(&s, &t, &id, "audience=authority&lang=sl").await;
    assert_eq!(st, StatusCode::OK);
    let text = pdf_text(&pdf);
    for want in [
        "člen 33 GDPR",
        "Informacijski pooblaščenec",
        "2Mobile stranka d.o.o.",
        "kršitev zaupnosti",
        "Marjeta Novak",
        "približno 1200",
        "dpo@stranka.si",
        "unsolicited contact",
        "Razlogi za zamudo",
        "the scope took three days",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
    let (st, en) = notice(&s, &t, &id, "audience=controller&lang=en&format=text").await;
    assert_eq!(st, StatusCode::OK);
    let en = String::from_utf8(en).unwrap();
    for want in [
        "Notice of a personal data breach to the controller",
        "Sent to: dpo@stranka.si",
        "approximately 1200",
        "Likely consequences",
        "Measures we propose the controller takes: tell the customers",
    ] {
        assert!(en.contains(want), "{want} not in:\n{en}");
    }
    let (_, subj) = notice(&s, &t, &id, "audience=subjects&lang=sl&format=pdf").await;
    let subj = pdf_text(&subj);
    assert!(subj.contains("Pomembno: kršitev varnosti vaših osebnih podatkov"), "{subj}");
    assert!(subj.replace('\n', " ").contains("To sporočilo govori samo o tej kršitvi"), "a message of its own: {subj}");
    assert!(!subj.contains("1,200 people"), "the risk rationale is not for the subjects: {subj}");
    let (st, _) = notice(&s, &t, &id, "audience=nobody").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // The audit trail names the breach, never what it says.
    let events = s.events("breach.record").await;
    let ok: Vec<&Value> = events.iter().filter(|e| e["event"]["outcome"] == "ok").collect();
    assert_eq!(ok.len(), 1, "one recorded; the refused ones audited as refused: {events:?}");
    assert!(ok[0].to_string().contains(&id));
    let all = format!("{events:?}{:?}", s.events("breach.update").await);
    assert!(!all.contains("Marjeta") && !all.contains("wrong customer"), "{all}");
    let notified = s.events("breach.notify").await;
    assert_eq!(notified.iter().filter(|e| e["event"]["outcome"] == "ok").count(), 3);
}
both!(bre1_bre2_a_breach_from_record_to_the_authoritys_notice);

/// A breach the controller found itself, judged unlikely to result in a
/// risk: documented, nothing to notify, no clock asks for anything; a
/// controller's notice makes no sense and is refused.
async fn bre1_an_unlikely_risk_is_documented_and_owes_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let now = varuh::clock::now_ms();
    let (st, br) = s
        .post(
            &format!("/v1/tenants/{t}/breaches"),
            &s.admin,
            json!({"kinds": ["availability"], "aware_at": rfc(now - HOUR), "contained_at": rfc(now), "found_by": "controller",
                   "description": "the NAS was down for an hour", "risk": "unlikely",
                   "risk_rationale": "restored from the backup within the hour; nothing was read", "closed": true}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    assert!(br["clocks"].as_array().unwrap().iter().all(|c| c["state"] == "not_required"), "{br}");
    let (_, clocks) = s.get(&format!("/v1/tenants/{t}/breach-clocks"), &s.admin).await;
    assert_eq!(clocks, json!([]));
    let id = br["id"].as_str().unwrap();
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/breaches/{id}/notifications"),
            &s.admin,
            json!({"audience": "controller", "phase": "initial", "to": "x"}),
        )
        .await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("audience")), "{p}");
    let (_, open) = s.get(&format!("/v1/tenants/{t}/breaches?open=true"), &s.admin).await;
    assert_eq!(open, json!([]), "closed");
    let (_, all) = s.get(&format!("/v1/tenants/{t}/breaches"), &s.admin).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
}
both!(bre1_an_unlikely_risk_is_documented_and_owes_nothing);

/// The clocks are reminded to the tenant's own contact (webhook and
/// e-mail): 24 and 6 hours before the authority's due time, each once
/// however many ticks; a clock met sends no more.
async fn bre2_due_clocks_are_reminded_by_webhook_and_email(b: Backend) {
    let smtp = crate::support::Smtp::start().await;
    let hook = crate::support::Hook::start().await;
    let port = smtp.port;
    let s = TestServer::start_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.notify_seconds = 1;
    })
    .await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/settings"),
            &s.admin,
            json!({"dpo_email": "dpo@ham.si", "notify_webhook": hook.url}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let aware = s.clock.now_ms() - 50 * HOUR;
    let (st, br) = s
        .post(
            &format!("/v1/tenants/{t}/breaches"),
            &s.admin,
            json!({"kinds": ["confidentiality"], "aware_at": rfc(aware), "found_by": "controller",
                   "description": "a USB key with the customer list was lost", "risk": "risk",
                   "risk_rationale": "names and addresses, no financial data"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    let id = br["id"].as_str().unwrap().to_string();
    hook.wait(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let got = hook.bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "once per step: {got:?}");
    assert_eq!(
        (got[0]["type"].as_str(), got[0]["breach_id"].as_str(), got[0]["audience"].as_str()),
        (Some("varuh.breach_reminder"), Some(id.as_str()), Some("authority"))
    );
    assert_eq!(got[0]["due_at"].as_str(), Some(rfc(aware + 72 * HOUR).as_str()));
    assert!(!got[0].to_string().contains("USB"), "no breach text in a reminder: {got:?}");
    for _ in 0..100 {
        if !smtp.messages().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mails = smtp.messages();
    assert!(mails.iter().any(|m| m.contains("dpo@ham.si") && m.contains(&id)), "{mails:?}");

    // 17 hours on: under 6 hours left, the second reminder.
    s.clock.advance(17 * HOUR);
    hook.wait(2).await;
    assert_eq!(hook.bodies.lock().unwrap()[1]["overdue"], false);
    // Notified: past the due time, no reminder comes.
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/breaches/{id}/notifications"),
            &s.admin,
            json!({"audience": "authority", "phase": "initial", "to": "Informacijski pooblaščenec"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    s.clock.advance(10 * HOUR);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(hook.bodies.lock().unwrap().len(), 2, "{:?}", hook.bodies.lock().unwrap());
}
both!(bre2_due_clocks_are_reminded_by_webhook_and_email);

/// BRE-2: the processor's notice to its controller is sent by varuh to the
/// controller's DPO e-mail and webhook (2Mobile 4.3), in the language asked,
/// once; asked for another audience or with nowhere to send it, refused
/// with the field named and nothing recorded.
async fn bre2_the_processors_notice_is_sent_to_the_controllers_dpo(b: Backend) {
    let smtp = crate::support::Smtp::start().await;
    let hook = crate::support::Hook::start().await;
    let port = smtp.port;
    let s = TestServer::start_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.notify_seconds = 1;
    })
    .await;
    let t = s.tenant("Stranka d.o.o.", false).await;
    let (st, br) = s
        .post(
            &format!("/v1/tenants/{t}/breaches"),
            &s.admin,
            json!({"kinds": ["confidentiality"], "aware_at": rfc(s.clock.now_ms() - 2 * HOUR), "found_by": "processor",
                   "description": "a support laptop with exported tickets was stolen", "risk": "risk",
                   "risk_rationale": "names and e-mail addresses of 40 customers"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    let id = br["id"].as_str().unwrap().to_string();
    let notify = format!("/v1/tenants/{t}/breaches/{id}/notifications");
    let to_controller =
        json!({"audience": "controller", "phase": "initial", "to": "the controller's DPO", "deliver": "sl"});
    // Nowhere to send it yet.
    let (st, p) = s.post(&notify, &s.admin, to_controller.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p.to_string().contains("deliver"), "{p}");
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/settings"),
            &s.admin,
            json!({"dpo_email": "dpo@stranka.si", "notify_webhook": hook.url}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    // Only the processor's notice is sent by varuh.
    let (st, p) = s
        .post(&notify, &s.admin, json!({"audience": "authority", "phase": "initial", "to": "IP", "deliver": "en"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (_, got) = s.get(&format!("/v1/tenants/{t}/breaches/{id}"), &s.admin).await;
    assert_eq!(got["notifications"].as_array().unwrap().len(), 0, "nothing recorded: {got}");

    let (st, p) = s.post(&notify, &s.admin, to_controller).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let notices = || -> Vec<serde_json::Value> {
        hook.bodies.lock().unwrap().iter().filter(|b| b["type"] == "varuh.breach_notice").cloned().collect()
    };
    for _ in 0..100 {
        if !notices().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent = notices();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0]["breach_id"].as_str(), sent[0]["audience"].as_str()), (Some(id.as_str()), Some("controller")));
    let text = sent[0]["text"].as_str().unwrap();
    assert!(text.contains("Obvestilo upravljavcu") && text.contains("support laptop"), "{text}");

    // A follow-up in English, read from the DPO's mailbox.
    let (st, p) = s
        .post(
            &notify,
            &s.admin,
            json!({"audience": "controller", "phase": "follow_up", "to": "the controller's DPO", "deliver": "en"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let english = || {
        smtp.messages()
            .into_iter()
            .map(|m| m.replace("\r\n ", " ").replace("\n ", " "))
            .filter(|m| {
                m.contains("dpo@stranka.si") && m.contains("Notice of a personal data breach to the controller")
            })
            .collect::<Vec<_>>()
    };
    for _ in 0..100 {
        if !english().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(english().len(), 1, "{:?}", smtp.messages());
    // Each is sent once.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(notices().len(), 2, "{:?}", notices());
    assert_eq!(english().len(), 1);
}
both!(bre2_the_processors_notice_is_sent_to_the_controllers_dpo);

/// BRE-3: what a compromised account, API key or address touched in a
/// window, from the audit trail; the breach's numbers prefilled from it;
/// across tenants for the processor, with the controllers to notify.
async fn bre3_the_scope_of_a_compromised_account_key_or_address(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    let other = s.tenant("Other d.o.o.", false).await;
    let (st, _) = s.put(&format!("/v1/tenants/{t}/settings"), &s.admin, json!({"dpo_email": "dpo@ham.si"})).await;
    assert_eq!(st, StatusCode::OK);
    s.collection(&t, crate::support::customers()).await;
    s.collection(&other, crate::support::customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let mut ids = Vec::new();
    for i in 0..4 {
        let (st, r) =
            s.post(&recs, &s.admin, json!({"data": {"email": format!("c{i}@ham.si"), "name": format!("C {i}")}})).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        ids.push((r["id"].as_str().unwrap().to_string(), r["subject_id"].as_str().unwrap().to_string()));
    }
    let reader = json!({"grants": {"customers": ["read"]}});
    let mallory = s.staff_with(&t, "mallory", "operator", reader.clone()).await;
    let alice = s.staff_with(&t, "alice", "operator", reader).await;
    let me = s.get("/v1/auth/me", &mallory).await.1["staff_id"].as_str().unwrap().to_string();
    // Mallory reads subject 0's record and subject 1's records; Alice reads subject 2.
    assert_eq!(s.get(&format!("{recs}/{}", ids[0].0), &mallory).await.0, StatusCode::OK);
    assert_eq!(s.get(&format!("/v1/tenants/{t}/subjects/{}/records", ids[1].1), &mallory).await.0, StatusCode::OK);
    assert_eq!(s.get(&format!("{recs}/{}", ids[2].0), &alice).await.0, StatusCode::OK);
    // A service key reads subject 3.
    let (svc, _) = s.account(&t, "shop", "service", json!({})).await;
    let (st, k) = s
        .post(
            &format!("/v1/tenants/{t}/api-keys"),
            &s.admin,
            json!({"account": svc, "name": "shop", "access": {"grants": {"customers": ["read"]}}, "days": 5}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    assert_eq!(s.get(&format!("{recs}/{}", ids[3].0), k["key"].as_str().unwrap()).await.0, StatusCode::OK);

    let now = varuh::clock::now_ms();
    let window = |by: Value| {
        let mut b = by;
        b["from"] = json!(rfc(now - HOUR));
        b["to"] = json!(rfc(now + HOUR));
        b
    };
    let scope = format!("/v1/tenants/{t}/breach-scope");
    let (st, sc) = s.post(&scope, &s.admin, window(json!({"account": me}))).await;
    assert_eq!(st, StatusCode::OK, "{sc}");
    assert_eq!(sc["subjects"], 2, "{sc}");
    let listed: Vec<&str> = sc["subject_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(listed.contains(&ids[0].1.as_str()) && listed.contains(&ids[1].1.as_str()), "{sc}");
    assert!(!listed.contains(&ids[2].1.as_str()) && !listed.contains(&ids[3].1.as_str()), "{sc}");
    let c = &sc["collections"][0];
    assert_eq!((c["collection"].as_str(), c["records"].as_u64()), (Some("customers"), Some(2)), "{sc}");
    assert_eq!(sc["data_categories"], json!(["commercial", "contact", "identification"]), "{sc}");
    assert_eq!(sc["subject_categories"], json!(["customers"]));
    assert_eq!(sc["tenants"][0]["dpo_email"], "dpo@ham.si");
    assert!(!sc.to_string().contains("c0@ham.si"), "ids and categories, no values: {sc}");

    // The key: its service account's events.
    let (st, sk) = s.post(&scope, &s.admin, window(json!({"api_key": k["id"]}))).await;
    assert_eq!(st, StatusCode::OK, "{sk}");
    assert_eq!((sk["subjects"].as_u64(), sk["subject_ids"][0].as_str()), (Some(1), Some(ids[3].1.as_str())), "{sk}");
    // The address: everyone here came from loopback.
    let (st, sa) = s.post(&scope, &s.admin, window(json!({"source": "127.0.0.1"}))).await;
    assert_eq!(st, StatusCode::OK, "{sa}");
    assert!(sa["subjects"].as_u64().unwrap() >= 4, "{sa}");
    let (_, none) = s.post(&scope, &s.admin, window(json!({"source": "203.0.113.9"}))).await;
    assert_eq!(none["subjects"], 0, "{none}");
    // A window before it all: nothing.
    let (_, early) =
        s.post(&scope, &s.admin, json!({"account": me, "from": rfc(now - 3 * HOUR), "to": rfc(now - 2 * HOUR)})).await;
    assert_eq!(early["subjects"], 0, "{early}");

    // Bad input is refused with the field named.
    for (body, field) in [
        (window(json!({"account": me, "source": "127.0.0.1"})), "account"),
        (window(json!({"source": "not an address"})), "source"),
        (json!({"account": me, "from": rfc(now), "to": rfc(now - HOUR)}), "to"),
        (window(json!({"account": me, "breach_id": uuid::Uuid::nil()})), "version"),
    ] {
        let (st, p) = s.post(&scope, &s.admin, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    assert_eq!(s.post(&scope, &alice, window(json!({"account": me}))).await.0, StatusCode::FORBIDDEN);

    // Prefill a breach's numbers and categories.
    let (st, br) = s
        .post(
            &format!("/v1/tenants/{t}/breaches"),
            &s.admin,
            json!({"kinds": ["confidentiality"], "aware_at": rfc(now), "found_by": "controller",
                   "description": "mallory's password was phished", "risk": "risk",
                   "risk_rationale": "contact data of customers", "data_categories": ["contact"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    let mut body = window(json!({"account": me}));
    body["breach_id"] = br["id"].clone();
    body["version"] = json!(1);
    let (st, pre) = s.post(&scope, &s.admin, body).await;
    assert_eq!(st, StatusCode::OK, "{pre}");
    let b2 = &pre["breach"];
    assert_eq!((b2["subjects_approx"].as_u64(), b2["records_approx"].as_u64()), (Some(2), Some(2)), "{pre}");
    assert_eq!(b2["data_categories"], json!(["contact", "commercial", "identification"]), "{pre}");
    assert_eq!(b2["version"], 2);

    // The processor: across tenants, the controllers to notify.
    let (st, all) = s.post("/v1/system/breach-scope", &s.admin, window(json!({"source": "127.0.0.1"}))).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    let tenants: Vec<&str> =
        all["tenants"].as_array().unwrap().iter().map(|t| t["tenant_id"].as_str().unwrap()).collect();
    assert!(tenants.contains(&t.as_str()), "{all}");
    assert_eq!(
        s.post("/v1/system/breach-scope", &mallory, window(json!({"account": me}))).await.0,
        StatusCode::FORBIDDEN
    );
    // The query is audited without the address asked about.
    let ev = s.events("breach.scope").await;
    assert!(ev.iter().any(|e| e["event"]["detail"].as_str().is_some_and(|d| d.contains("source=(address)"))), "{ev:?}");
    assert!(!ev.iter().any(|e| e["event"]["detail"].as_str().is_some_and(|d| d.contains("203.0.113.9"))));
}
both!(bre3_the_scope_of_a_compromised_account_key_or_address);
