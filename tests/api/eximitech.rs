//! EximiTech's flow (`004_…`): a customer imports its contact list (CSV,
//! with a consent column), checks "may I?" for its newsletter list, and
//! retrieves, corrects, restricts and erases its own contacts' data from
//! its own account (a service API key), through the API on both backends;
//! and the same import from the command line, with its progress bar.

use crate::support::{both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn contacts() -> Value {
    json!({
        "name": "contacts",
        "description": "The customer's newsletter contacts",
        "purposes": ["newsletter"],
        "direct_marketing": ["newsletter"],
        "legal_basis": "consent",
        "subject_categories": ["the customer's contacts"],
        "source": "the customer's own contact list",
        "retention": {"kind": "until_consent_withdrawn"},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification"},
            {"name": "visits", "type": "integer", "category": "commercial"}
        ]
    })
}

const LIST: &str = "E-pošta,Ime,Obiski,Soglasje,Dokaz\n\
ana@firma.si,Ana Novak,3,da,dvojna potrditev 2026-01-02\n\
bor@firma.si,Bor Kranjc,1,ne,\n\
cene@firma.si,Cene Zupan,,da,\n\
Ana@Firma.si,Ana N.,4,da,\n\
ni-naslov,Dana,2,da,\n";

fn import_body(csv: &str, skip: bool) -> Value {
    json!({
        "csv": csv,
        "columns": {"E-pošta": "email", "Ime": "name", "Obiski": "visits"},
        "consent": {"column": "Soglasje", "evidence_column": "Dokaz", "purpose": "newsletter", "notice_version": 1, "channel": "the customer's sign-up form"},
        "skip_bad_rows": skip
    })
}

async fn eximitech_import_consent_may_i_and_erasure(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(&t, contacts()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    s.post(
        &format!("/v1/tenants/{t}/consent-notices"),
        &dpo,
        json!({"purpose": "newsletter", "text": "Želim prejemati e-novice."}),
    )
    .await;
    // The customer's own account: a service client with a key for its contacts.
    let (svc, _) = s.account(&t, "stranka.api", "service", json!({})).await;
    let (_, k) = s
        .post(
            &format!("/v1/tenants/{t}/api-keys"),
            &s.admin,
            json!({"account": svc, "name": "import", "access": {"grants": {"*": ["read", "write", "erase", "export"]}}, "days": 30}),
        )
        .await;
    let key = k["key"].as_str().unwrap_or_else(|| panic!("{k}")).to_string();
    let import = format!("/v1/tenants/{t}/collections/contacts/import");

    // One bad row: nothing imported, the row named (never its value).
    let (st, p) = s.post(&import, &key, import_body(LIST, false)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["rows"], json!([{"row": 5, "column": "E-pošta", "problem": p["rows"][0]["problem"]}]));
    assert!(!p.to_string().contains("ni-naslov"), "{p}");
    let (_, list) = s.get(&format!("/v1/tenants/{t}/collections/contacts/records"), &key).await;
    assert_eq!(list, json!([]), "nothing half-imported");
    let (st, p) = s.post(&import, &key, json!({"csv": LIST, "columns": {"Mail": "email"}})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("columns.Mail")));
    let mut dry = import_body(LIST, true);
    dry["dry_run"] = json!(true);
    let (st, r) = s.post(&import, &key, dry).await;
    assert_eq!((st, r["rows"].as_u64(), r["imported"].as_u64()), (StatusCode::OK, Some(5), Some(0)), "{r}");

    // Skipping the bad row: four records, three people (Ana twice), consents where the column says so.
    let (st, r) = s.post(&import, &key, import_body(LIST, true)).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (r["imported"].as_u64(), r["subjects_created"].as_u64(), r["consents"].as_u64(), r["skipped"].as_u64()),
        (Some(4), Some(3), Some(3), Some(1)),
        "{r}"
    );
    assert_eq!(r["errors"][0]["row"], 5);

    // May I send the newsletter? One answer per address.
    let emails = json!(["ana@firma.si", "bor@firma.si", "cene@firma.si", "dana@firma.si"]);
    let (st, m) =
        s.post(&format!("/v1/tenants/{t}/may"), &key, json!({"purpose": "newsletter", "emails": emails})).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let allowed: Vec<bool> = m["results"].as_array().unwrap().iter().map(|a| a["allowed"].as_bool().unwrap()).collect();
    assert_eq!(allowed, [true, false, true, false], "{m}");
    let ana = m["results"][0]["subject_id"].as_str().unwrap().to_string();
    let cene = m["results"][2]["subject_id"].as_str().unwrap().to_string();

    let (_, h) = s.get(&format!("/v1/tenants/{t}/subjects/{ana}/consents"), &key).await;
    assert_eq!(h[0]["evidence"], "dvojna potrditev 2026-01-02", "the row's evidence column: {h}");
    assert_eq!(h[1]["evidence"], "imported with row 4 of a contact list", "{h}");

    // Retrieve, correct, restrict, erase — from the customer's own account.
    let (st, recs) = s.get(&format!("/v1/tenants/{t}/subjects/{ana}/records?purpose=newsletter"), &key).await;
    assert_eq!((st, recs.as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{recs}");
    let rec = format!("/v1/tenants/{t}/collections/contacts/records/{}", recs[0]["id"].as_str().unwrap());
    let (st, v) =
        s.call(reqwest::Method::PATCH, &rec, Some(&key), Some(json!({"data": {"name": "Ana Novak Kos"}}))).await;
    assert_eq!((st, v["data"]["name"].as_str()), (StatusCode::OK, Some("Ana Novak Kos")), "{v}");
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/subjects/{cene}/limits"),
            &key,
            json!({"kind": "restriction", "reason": "the contact asked"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, a) = s.get(&format!("/v1/tenants/{t}/subjects/{cene}/may?purpose=newsletter"), &key).await;
    assert_eq!(a["allowed"], false, "{a}");
    let (st, e) = s.delete(&format!("/v1/tenants/{t}/subjects/{ana}"), &key).await;
    assert_eq!(
        (st, e["records_deleted"].as_u64(), e["subject_erased"].as_bool()),
        (StatusCode::OK, Some(2), Some(true)),
        "{e}"
    );
    let (_, m) = s
        .post(&format!("/v1/tenants/{t}/may"), &key, json!({"purpose": "newsletter", "emails": ["ana@firma.si"]}))
        .await;
    assert_eq!(
        (m["results"][0]["allowed"].as_bool(), m["results"][0]["subject_id"].clone()),
        (Some(false), Value::Null)
    );
    let ev = s.events("records.import").await;
    assert!(
        ev.iter()
            .any(|e| e["event"]["detail"].as_str().unwrap_or("").contains("records=4 subjects_created=3 consents=3")),
        "{ev:?}"
    );
    assert!(!format!("{ev:?}").contains("firma.si"));
    assert!(s.verify_trail().await.ok());
}
both!(eximitech_import_consent_may_i_and_erasure);

/// `varuh import` on the server's machine: the same use case, a progress
/// bar, a summary; a bad file changes nothing and exits non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_imports_a_contact_list() {
    let s = TestServer::start(Backend::Sqlite).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(&t, contacts()).await;
    s.post(
        &format!("/v1/tenants/{t}/consent-notices"),
        &s.admin,
        json!({"purpose": "newsletter", "text": "E-novice."}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seznam.csv");
    let run = |csv: &str, extra: &[&str]| {
        std::fs::write(&file, csv).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
            .arg("--data-dir")
            .arg(&s.cfg.data_dir)
            .args(["import", "--tenant", &t, "--collection", "contacts", "--map", "E-pošta=email", "--map", "Ime=name"])
            .args(["--consent-column", "Soglasje", "--consent-purpose", "newsletter", "--notice-version", "1"])
            .args(extra)
            .arg(&file)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, out) = run(LIST, &[]);
    assert!(!ok && out.contains("row 5") && out.contains("nothing was imported"), "{out}");
    let (_, list) = s.get(&format!("/v1/tenants/{t}/collections/contacts/records"), &s.admin).await;
    assert_eq!(list, json!([]));
    let (ok, out) = run(LIST, &["--skip-bad-rows"]);
    assert!(ok, "{out}");
    assert!(out.contains("5 rows: 4 imported, 3 subjects created, 3 consents recorded, 1 skipped"), "{out}");
    let (_, list) = s.get(&format!("/v1/tenants/{t}/collections/contacts/records"), &s.admin).await;
    assert_eq!(list.as_array().unwrap().len(), 4);
}

/// An import of several chunks (500 rows each) finds a subject again in a
/// later chunk by either of its identifiers, and one that fails in a later
/// chunk (its identifiers name two subjects) leaves nothing of the chunks
/// written before it.
async fn an_import_of_many_chunks_is_whole_or_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(
        &t,
        json!({
            "name": "accounts",
            "purposes": ["support"],
            "legal_basis": "contract",
            "subject_categories": ["customers"],
            "source": "the customer",
            "retention": {"kind": "period", "days": 365},
            "fields": [
                {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
                {"name": "number", "type": "string", "category": "identification", "identifier": true},
                {"name": "phone", "type": "phone", "category": "contact", "searchable": true}
            ]
        }),
    )
    .await;
    let import = format!("/v1/tenants/{t}/collections/accounts/import");
    let body = |csv: String| json!({"csv": csv, "columns": {"email": "email", "number": "number", "phone": "phone"}});
    // 1,100 rows, 1,000 people: rows 1001-1100 are people of rows 1-100 again
    // (by e-mail in odd rows, by customer number alone in even ones); everyone
    // shares the switchboard (searchable, so never a reason to merge).
    let mut csv = String::from("email,number,phone\n");
    for i in 0..1100 {
        let k = i % 1000;
        let email = if i >= 1000 && i % 2 == 0 { format!("other{k}@x.si") } else { format!("c{k}@x.si") };
        csv.push_str(&format!("{email},N{k},+386 1 000 00 00\n"));
    }
    let (st, r) = s.post(&import, &s.admin, body(csv)).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!((r["imported"].as_u64(), r["subjects_created"].as_u64()), (Some(1100), Some(1000)), "{r}");
    let lookup = |kind: &'static str, value: String| {
        let s = &s;
        let t = t.clone();
        async move {
            let (st, v) = s
                .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": kind, "value": value}))
                .await;
            (st, v["id"].as_str().map(str::to_string))
        }
    };
    for k in [5, 8, 9, 500, 999] {
        let (st, by_mail) = lookup("email", format!("c{k}@x.si")).await;
        let (_, by_number) = lookup("number", format!("N{k}")).await;
        assert_eq!((st, &by_mail), (StatusCode::OK, &by_number), "person {k}");
        let (_, recs) = s.get(&format!("/v1/tenants/{t}/subjects/{}/records", by_mail.unwrap()), &s.admin).await;
        assert_eq!(recs.as_array().map(Vec::len), Some(if k < 100 { 2 } else { 1 }), "person {k}: {recs}");
    }
    let (st, other) = lookup("email", "other8@x.si".into()).await;
    assert_eq!((st, other), (StatusCode::OK, lookup("email", "c8@x.si".into()).await.1), "found by number");

    // 700 new people, but row 601 (in the second chunk) names person 8 by
    // e-mail and person 9 by number: refused, the first chunk undone.
    let mut csv = String::from("email,number,phone\n");
    for i in 0..700 {
        csv.push_str(&if i == 600 { "c8@x.si,N9,\n".to_string() } else { format!("d{i}@x.si,M{i},\n") });
    }
    let (st, p) = s.post(&import, &s.admin, body(csv)).await;
    assert_eq!((st, p["rows"][0]["row"].as_u64()), (StatusCode::UNPROCESSABLE_ENTITY, Some(601)), "{p}");
    for (kind, value) in [("email", "d0@x.si"), ("email", "d499@x.si"), ("number", "M10")] {
        assert_eq!(lookup(kind, value.into()).await.0, StatusCode::NOT_FOUND, "{value} was undone");
    }
    let (_, eight) = lookup("email", "c8@x.si".into()).await;
    let (_, recs) = s.get(&format!("/v1/tenants/{t}/subjects/{}/records", eight.unwrap()), &s.admin).await;
    assert_eq!(recs.as_array().map(Vec::len), Some(2), "{recs}");
    assert!(s.verify_trail().await.ok());
}
both!(an_import_of_many_chunks_is_whole_or_nothing);
