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

/// A day `days` from the server's today, as YYYY-MM-DD.
fn day(days: i64) -> String {
    let d = varuh::clock::day(varuh::clock::now_ms()) + time::Duration::days(days);
    varuh::domain::staff_register::date_text(d)
}

/// REG-3: the staff register — one view per person joining their account
/// and its offboarding records, dues on the tenant's rules (2Mobile: new
/// staff trained within 7 days), the due and overdue list, the accounts
/// it lacks, amendments by version, and bad input refused unstored.
async fn reg3_the_staff_register_lists_what_is_due_per_person(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("2Mobile d.o.o.", false).await;
    let other = s.tenant("Other d.o.o.", false).await;
    let (st, p) = s.put(&format!("/v1/tenants/{t}/settings"), &s.admin, json!({"training_within_days": 7})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let ana = s.staff(&t, "ana", "operator").await;
    let _dpo = s.staff(&t, "dpo", "dpo").await;
    let stranger = s.staff(&other, "stranger", "operator").await;
    let ana_id = s
        .get(&format!("/v1/tenants/{t}/staff"), &s.admin)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "ana")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stranger_id =
        s.get(&format!("/v1/tenants/{other}/staff"), &s.admin).await.1[0]["id"].as_str().unwrap().to_string();
    let _ = (ana, stranger);
    let path = format!("/v1/tenants/{t}/staff-register");
    let auditor = s.staff(&t, "aud", "auditor").await;
    let op = s.staff_with(&t, "op", "operator", json!({"grants": {"*": ["read"]}})).await;

    // Ana started ten days ago, signed nothing, was never trained.
    let new_ana = json!({"name": "Ana Novak", "position": "support", "started_on": day(-10), "account": ana_id});
    assert_eq!(s.post(&path, &op, new_ana.clone()).await.0, StatusCode::FORBIDDEN);
    let (st, p) = s.post(&path, &s.admin, new_ana.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let ana_entry = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["linked_account"]["username"], "ana", "{p}");
    let dues: Vec<(String, String, String)> = p["dues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().into(),
                d["due_on"].as_str().unwrap().into(),
                d["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        dues,
        vec![
            ("confidentiality".into(), day(-10), "overdue".into()),
            ("first_training".into(), day(-3), "overdue".into()),
        ],
        "7 days from the start: {p}"
    );

    // Bor was trained eleven months ago: his yearly training falls within 30 days.
    let trained = day(-340);
    let (st, bor) = s
        .post(
            &path,
            &s.admin,
            json!({"name": "Bor Kranjc", "started_on": "2020-01-06",
        "confidentiality_signed": "2020-01-06", "trainings": [{"on": trained, "topic": "GDPR refresher"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{bor}");
    assert_eq!(bor["dues"][0]["kind"], "training");
    assert_eq!(bor["dues"][0]["state"], "due", "{bor}");

    // Bad input: named, nothing stored.
    for (body, field) in [
        (json!({"name": "X", "started_on": "2026-02-30"}), "started_on"),
        (json!({"name": "X", "started_on": "2026-02-01", "left_on": "2026-01-01"}), "left_on"),
        (json!({"name": "", "started_on": "2026-02-01"}), "name"),
        (json!({"name": "X", "started_on": "2026-02-01", "account": stranger_id}), "account"),
        (json!({"name": "X", "started_on": "2026-02-01", "account": ana_id}), "account"),
        (
            json!({"name": "X", "started_on": "2026-02-01", "offboarding": {"badge_returned": "2026-02-01"}}),
            "offboarding",
        ),
    ] {
        let (st, p) = s.post(&path, &s.admin, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    let (st, reg) = s.get(&path, &auditor).await;
    assert_eq!(st, StatusCode::OK, "{reg}");
    assert_eq!(reg["people"].as_array().unwrap().len(), 2, "{reg}");
    // The list: overdue first, then by day; Bor's training within 30 days; not within 5.
    let list: Vec<&str> = reg["due"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(list, vec!["confidentiality", "first_training", "training"], "{reg}");
    let (_, near) = s.get(&format!("{path}?within_days=5"), &auditor).await;
    assert_eq!(near["due"].as_array().unwrap().len(), 2, "{near}");
    assert_eq!(s.get(&format!("{path}?within_days=999"), &auditor).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // Accounts of people without an entry are gaps (not programs, not Ana).
    let missing: Vec<&str> =
        reg["accounts_not_in_register"].as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap()).collect();
    assert_eq!(missing, vec!["aud", "dpo", "op"], "{reg}");

    // Ana signs and is trained; then she leaves: her account is offboarded
    // with two items, the register records a third; one stays open.
    let one = format!("{path}/{ana_entry}");
    let mut next = new_ana.clone();
    next["confidentiality_signed"] = json!(day(-9));
    next["trainings"] = json!([{"on": day(-2), "topic": "GDPR induction"}]);
    assert_eq!(s.put(&one, &s.admin, json!({"version": 9, "entry": next})).await.0, StatusCode::CONFLICT);
    let (st, p) = s.put(&one, &s.admin, json!({"version": 1, "entry": next})).await;
    assert_eq!((st, p["version"].as_i64()), (StatusCode::OK, Some(2)), "{p}");
    assert_eq!(p["dues"][0]["state"], "scheduled", "trained: {p}");
    let (st, items) = s
        .post(
            &format!("/v1/tenants/{t}/staff/{ana_id}/offboard"),
            &s.admin,
            json!({"items": ["accounts_closed", "keys_returned"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{items}");
    next["left_on"] = json!(day(0));
    next["offboarding"] = json!({"access_card_returned": day(0)});
    let (st, p) = s.put(&one, &s.admin, json!({"version": 2, "entry": next})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, p) = s.get(&one, &auditor).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["linked_account"]["state"], "offboarded", "{p}");
    let check: Vec<(String, Option<String>)> = p["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["item"].as_str().unwrap().into(), c["recorded_in"].as_str().map(String::from)))
        .collect();
    assert_eq!(
        check,
        vec![
            ("access_card_returned".into(), Some("register".into())),
            ("keys_returned".into(), Some("account".into())),
            ("accounts_closed".into(), Some("account".into())),
            ("devices_returned".into(), None),
        ],
        "{p}"
    );
    assert_eq!(
        p["dues"],
        json!([{"kind": "offboarding", "due_on": day(0), "state": "due"}]),
        "a leaver owes only the checklist: {p}"
    );

    // Another tenant's entry is not found; names stay out of the trail.
    assert_eq!(
        s.get(&format!("/v1/tenants/{other}/staff-register/{ana_entry}"), &s.admin).await.0,
        StatusCode::NOT_FOUND
    );
    let ev = format!("{:?}{:?}", s.events("staff_register.create").await, s.events("staff_register.update").await);
    assert!(ev.contains(&ana_entry) && !ev.contains("Ana Novak") && !ev.contains("GDPR"), "{ev}");
}
both!(reg3_the_staff_register_lists_what_is_due_per_person);

fn areas(toms: &serde_json::Value, key: &str) -> Vec<String> {
    toms[key].as_array().unwrap().iter().map(|m| m["area"].as_str().unwrap().to_string()).collect()
}

fn evidence(toms: &serde_json::Value, area: &str) -> String {
    toms["technical"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["area"] == area)
        .map(|m| m["evidence"].to_string())
        .collect()
}

/// REG-4: the TOMs statement generated from the live configuration: each
/// technical measure with its evidence, nothing claimed that is not in
/// force (optional MFA, no backup yet, no test restore, no TLS) until it
/// is, the organisational measures as the tenant wrote them, the yearly
/// review overdue, and the Slovenian PDF read back with `pdftotext`.
async fn reg4_the_toms_statement_claims_only_what_is_in_force(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("offsite");
    std::fs::create_dir_all(&local).unwrap();
    let identity = dir.path().join("identity.txt");
    let gen = std::process::Command::new("age-keygen").arg("-o").arg(&identity).output().expect("age-keygen");
    let recipient = String::from_utf8_lossy(&gen.stderr).trim().trim_start_matches("Public key: ").to_string();
    let dest = format!("file://{}", local.display());
    let (d2, r2) = (dest.clone(), recipient.clone());
    let s = TestServer::start_with(b, move |c| {
        c.backup_destinations = vec![d2];
        c.backup_recipients = vec![r2];
        c.backup_seconds = 0;
    })
    .await;
    let t = s.tenant("2Mobile d.o.o.", false).await;
    let reviewed = day(-400);
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/settings"),
            &s.admin,
            json!({"toms_reviewed_on": reviewed, "organisational_measures": [
                {"area": "physical_access", "text": "Offices locked <after hours>; visitors accompanied."},
                {"area": "clean_desk", "text": "Čista miza: no papers left on desks."}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let url = format!("/v1/tenants/{t}/toms");
    let op = s.staff(&t, "op", "operator").await;
    assert_eq!(s.get(&url, &op).await.0, StatusCode::FORBIDDEN);
    let (st, toms) = s.get(&url, &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{toms}");
    let off = areas(&toms, "not_in_force");
    for a in ["mfa", "four_eyes", "transport", "backup", "restore_test", "retention", "monitoring", "staff"] {
        assert!(off.contains(&a.to_string()), "{a} is not in force: {toms}");
    }
    let on = areas(&toms, "technical");
    for a in ["password", "session", "lockout", "access_control", "encryption", "audit_trail", "breach_procedure"] {
        assert!(on.contains(&a.to_string()), "{a} is in force: {toms}");
    }
    assert!(on.iter().all(|a| !off.contains(a)), "nothing both claimed and not: {toms}");
    assert!(toms["technical"].as_array().unwrap().iter().all(|m| !m["evidence"].as_array().unwrap().is_empty()));
    assert!(evidence(&toms, "session").contains("session.idle_minutes = 1440"), "{toms}");
    assert!(evidence(&toms, "audit_trail").contains("none on record"), "{toms}");
    let due = varuh::domain::staff_register::add_months(varuh::domain::parse_date("", &reviewed).unwrap(), 12);
    assert_eq!(toms["review_due"].as_str(), Some(varuh::domain::staff_register::date_text(due).as_str()));
    assert_eq!(toms["review_overdue"], true, "{toms}");
    assert_eq!(toms["organisational"][1]["text"], "Čista miza: no papers left on desks.");

    // Made true: MFA for all, a backup, a test restore, a verified trail, a person registered.
    let policy = crate::support::TEST_POLICY.replace("required = \"optional\"", "required = \"all\"");
    s.set_policy(&t, &policy).await;
    let (st, made) = s.post("/v1/system/backups", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{made}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
        .arg("--data-dir")
        .arg(&s.cfg.data_dir)
        .args(["backup", "verify"])
        .env("VARUH_BACKUP_DESTINATIONS", &dest)
        .env("VARUH_BACKUP_RECIPIENTS", &recipient)
        .env("VARUH_BACKUP_IDENTITY_FILE", &identity)
        .env_remove("VARUH_DATABASE_URL")
        .env_remove("VARUH_MASTER_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(s.vault.verify_audit_now().await.unwrap());
    let (st, _) = s
        .post(&format!("/v1/tenants/{t}/staff-register"), &s.admin, json!({"name": "Ana", "started_on": day(-1)}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, toms) = s.get(&url, &s.admin).await;
    let on = areas(&toms, "technical");
    for a in ["mfa", "backup", "restore_test", "staff"] {
        assert!(on.contains(&a.to_string()), "{a} is in force now: {toms}");
    }
    assert!(evidence(&toms, "mfa").contains("mfa.required = all"), "{toms}");
    let ev = evidence(&toms, "backup");
    assert!(ev.contains("backup destinations = 1") && ev.contains("last successful backup"), "{ev}");
    assert!(evidence(&toms, "restore_test").contains("last verified restore"), "{toms}");
    assert!(evidence(&toms, "audit_trail").contains("audit trail verified"), "{toms}");
    assert!(evidence(&toms, "staff").contains("confidentiality statements signed: 0 of 1"), "{toms}");
    // The records of processing say the same (Art. 30(1)(g)).
    let (_, ropa) = s.get(&format!("/v1/tenants/{t}/records-of-processing"), &s.admin).await;
    assert!(ropa["security_measures"].to_string().contains("last successful backup"), "{ropa}");

    // HTML escaped; the Slovenian PDF read back; no CSV.
    let fetch = |q: &'static str| {
        let (http, base, tok, url) = (s.http.clone(), s.base.clone(), s.admin.clone(), url.clone());
        async move {
            let r = http.get(format!("{base}{url}?{q}")).bearer_auth(tok).send().await.unwrap();
            (r.status(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (st, html) = fetch("format=html").await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("&lt;after hours&gt;") && !html.contains("<after hours>"), "{html}");
    let (st, pdf) = fetch("format=pdf&lang=sl").await;
    assert_eq!(st, StatusCode::OK);
    let text = crate::requests::pdf_text(&pdf).replace('\n', " ");
    for want in
        ["Tehnični in organizacijski ukrepi", "Dokaz", "mfa.required = all", "Čista miza", "ZAMUJENO", "Ni v veljavi"]
    {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert_eq!(fetch("format=csv").await.0, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(reg4_the_toms_statement_claims_only_what_is_in_force);

/// REG-2..4 reminders: a person's overdue statement and first training,
/// the overdue TOMs review and a processor's review due within two weeks
/// each reach the tenant's webhook once, however many ticks, without the
/// person's name.
async fn reg3_reg4_due_register_items_are_reminded_once(b: Backend) {
    let hook = crate::support::Hook::start().await;
    let s = TestServer::start_with(b, |c| c.notify_seconds = 1).await;
    let t = s.tenant("2Mobile d.o.o.", false).await;
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/settings"),
            &s.admin,
            json!({"notify_webhook": hook.url, "training_within_days": 7, "toms_reviewed_on": day(-400)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/processors"),
            &s.admin,
            json!({"name": "LivePerson", "role": "processor", "service": "chat", "review_due": day(5)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let processor = p["id"].as_str().unwrap().to_string();
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/staff-register"),
            &s.admin,
            json!({"name": "Ana Novak", "started_on": day(-10)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let entry = p["id"].as_str().unwrap().to_string();
    hook.wait(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let got = hook.bodies.lock().unwrap().clone();
    let mut seen: Vec<(String, String, bool)> = got
        .iter()
        .filter(|b| b["type"] == "varuh.register_reminder")
        .map(|b| (b["reminder"].as_str().unwrap().into(), b["about"].as_str().unwrap().into(), b["overdue"] == true))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("processor_review".into(), processor, false),
            ("staff.confidentiality".into(), entry.clone(), true),
            ("staff.first_training".into(), entry, true),
            ("toms_review".into(), t.clone(), true),
        ],
        "each once: {got:?}"
    );
    assert!(!format!("{got:?}").contains("Ana"), "no name in a reminder: {got:?}");
}
both!(reg3_reg4_due_register_items_are_reminded_once);

/// REG-1, Art. 30(2): the processor's record across its controller
/// tenants — each controller with its categories of processing, its
/// sub-processors and transfers — the server's measures, the gaps (no
/// processor contact configured, a controller without contact), as JSON,
/// CSV and a PDF read back; a tenant's administrator may not read it.
async fn reg1_the_processors_record_lists_each_controller(b: Backend) {
    let s = TestServer::start_with(b, |c| c.operator_name = Some("2Mobile d.o.o.".into())).await;
    let lipa = s.tenant("Lipa Market d.o.o.", false).await;
    let sever = s.tenant("Avtohiša Sever d.o.o.", false).await;
    s.collection(&lipa, crate::support::customers()).await;
    s.collection(&sever, crate::support::newsletter()).await;
    let (st, p) =
        s.put(&format!("/v1/tenants/{lipa}/settings"), &s.admin, json!({"dpo_email": "dpo@lipa.example"})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{lipa}/processors"),
            &s.admin,
            json!({"name": "LivePerson", "role": "sub_processor", "engaged_by": null, "service": "chat", "locations": ["US"],
                   "transfer_safeguard": "standard contractual clauses"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "a sub-processor names who engaged it: {p}");
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{lipa}/processors"),
            &s.admin,
            json!({"name": "LivePerson", "role": "processor", "service": "chat", "locations": ["US"],
                   "transfer_safeguard": "standard contractual clauses"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let url = "/v1/system/records-of-processing";
    let tadmin = s.staff(&lipa, "tadmin", "administrator").await;
    assert_eq!(s.get(url, &tadmin).await.0, StatusCode::FORBIDDEN);
    let (st, r) = s.get(url, &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["processor"], "2Mobile d.o.o.");
    let cs = r["controllers"].as_array().unwrap();
    assert_eq!(cs.len(), 2, "{r}");
    let l = cs.iter().find(|c| c["controller"] == "Lipa Market d.o.o.").unwrap();
    assert_eq!(l["dpo"], "dpo@lipa.example");
    assert!(l["categories_of_processing"][0].as_str().unwrap().starts_with("customers: "), "{l}");
    assert_eq!(l["sub_processors"], json!(["LivePerson (chat; US)"]));
    assert_eq!(l["transfers"], json!([]), "the collection does not name LivePerson: {l}");
    let gaps = r["gaps"].to_string();
    assert!(gaps.contains("operator_contact") && gaps.contains("Avtohiša Sever"), "{gaps}");
    assert!(!gaps.contains("operator_name"), "{gaps}");
    assert!(r["security_measures"].to_string().contains("XChaCha20-Poly1305"), "{r}");
    let (st, csv) = s.get_bytes(&format!("{url}?format=csv"), &s.admin).await;
    assert_eq!((st, String::from_utf8(csv).unwrap().lines().count()), (StatusCode::OK, 3));
    let (st, pdf) = s.get_bytes(&format!("{url}?format=pdf&lang=sl"), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    let text = crate::requests::pdf_text(&pdf).replace('\n', " ");
    for want in ["člen 30(2)", "Lipa Market d.o.o.", "Avtohiša Sever d.o.o.", "LivePerson", "MANJKA"] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert_eq!(s.get(&format!("{url}?format=html"), &s.admin).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(reg1_the_processors_record_lists_each_controller);
