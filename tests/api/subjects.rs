//! A subject is one person: identifiers (one person each) find and join a
//! subject; searchable attributes (shared phones, addresses) find every
//! subject that has them and never merge them; identifying values that name
//! two people are a 409 naming the fields, and nothing is written.

use crate::support::{both, customers, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Staff numbers identify as well as e-mails do.
fn staff_file() -> Value {
    json!({
        "name": "staff_file",
        "purposes": ["employment"],
        "legal_basis": "legal_obligation",
        "subject_categories": ["employees"],
        "source": "the employee",
        "retention": {"kind": "permanent"},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "identifier": true},
            {"name": "staff_no", "type": "string", "category": "identification", "identifier": true},
            {"name": "name", "type": "string", "category": "identification", "required": true},
            {"name": "address", "type": "string", "category": "contact", "searchable": true}
        ]
    })
}

async fn colleagues_sharing_a_switchboard_stay_two_people(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Firma d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let switchboard = "+386 1 300 40 00";
    let (st, ana) =
        s.post(&recs, &s.admin, json!({"data": {"email": "ana@firma.si", "name": "Ana", "phone": switchboard}})).await;
    assert_eq!(st, StatusCode::CREATED, "{ana}");
    let (st, bor) =
        s.post(&recs, &s.admin, json!({"data": {"email": "bor@firma.si", "name": "Bor", "phone": switchboard}})).await;
    assert_eq!(st, StatusCode::CREATED, "{bor}");
    assert_ne!(ana["subject_id"], bor["subject_id"], "a shared phone does not make one person");

    // Bor's e-mail finds Bor, and Bor's records show only Bor.
    let (st, found) = s
        .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "email", "value": "BOR@firma.si"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_eq!(found["id"], bor["subject_id"]);
    let (st, his) =
        s.get(&format!("/v1/tenants/{t}/subjects/{}/records", found["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{his}");
    let names: Vec<&str> = his.as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bor"]);

    // The phone finds both, says it is not an identifier, and a look-up by it
    // refuses to pick one of them.
    let search = format!("/v1/tenants/{t}/subjects/search");
    let (st, m) = s.post(&search, &s.admin, json!({"kind": "phone", "value": "+38613004000"})).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["by_identifier"], false);
    let mut got: Vec<&str> = m["subjects"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    got.sort();
    let mut want = vec![ana["subject_id"].as_str().unwrap(), bor["subject_id"].as_str().unwrap()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(m["more"], false);
    // Paged: one at a time, in id order, then nothing more.
    let (_, p1) = s.post(&search, &s.admin, json!({"kind": "phone", "value": switchboard, "limit": 1})).await;
    assert_eq!(p1["subjects"][0]["id"], want[0]);
    assert_eq!(p1["more"], true);
    let (_, p2) =
        s.post(&search, &s.admin, json!({"kind": "phone", "value": switchboard, "limit": 1, "after": want[0]})).await;
    assert_eq!(p2["subjects"][0]["id"], want[1]);
    assert_eq!(p2["more"], false);
    let (st, p) = s
        .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "phone", "value": switchboard}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("subjects/search"), "{p}");
    assert!(!p.to_string().contains("300"), "no value in the problem: {p}");
    // An identifier searched: by_identifier, one subject.
    let (_, m) = s.post(&search, &s.admin, json!({"kind": "email", "value": "ana@firma.si"})).await;
    assert_eq!(m["by_identifier"], true);
    assert_eq!(m["subjects"].as_array().unwrap().len(), 1);
    assert_eq!(m["subjects"][0]["id"], ana["subject_id"]);
    // Bad input: a clear problem.
    for (body, field) in [
        (json!({"kind": "phone", "value": switchboard, "limit": 0}), "limit"),
        (json!({"kind": "phone", "value": switchboard, "limit": 101}), "limit"),
        (json!({"kind": "phone", "value": switchboard, "after": "x"}), "after"),
        (json!({"kind": "phone", "value": "not a phone"}), "value"),
    ] {
        let (st, p) = s.post(&search, &s.admin, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["field"], field, "{p}");
    }
    // The search is audited, with the kind and no value.
    let ev = s.events("subject.search").await;
    assert!(!ev.is_empty());
    assert!(ev.iter().all(|e| !e.to_string().contains("firma.si") && !e.to_string().contains("3004000")));

    // Erasing Ana leaves Bor alone, and the phone finds only Bor.
    let (st, _) =
        s.delete(&format!("/v1/tenants/{t}/subjects/{}", ana["subject_id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    let (_, m) = s.post(&search, &s.admin, json!({"kind": "phone", "value": switchboard})).await;
    assert_eq!(m["subjects"].as_array().unwrap().len(), 1);
    assert_eq!(m["subjects"][0]["id"], bor["subject_id"]);
    let (st, one) = s
        .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "phone", "value": switchboard}))
        .await;
    assert_eq!(st, StatusCode::OK, "{one}");
    assert_eq!(one["id"], bor["subject_id"]);
}
both!(colleagues_sharing_a_switchboard_stay_two_people);

async fn identifiers_of_two_people_are_a_conflict_naming_the_fields(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, staff_file()).await;
    let recs = format!("/v1/tenants/{t}/collections/staff_file/records");
    let (_, ana) =
        s.post(&recs, &s.admin, json!({"data": {"email": "ana@ham.si", "staff_no": "Z-1", "name": "Ana"}})).await;
    let (_, bor) =
        s.post(&recs, &s.admin, json!({"data": {"email": "bor@ham.si", "staff_no": "Z-2", "name": "Bor"}})).await;
    assert_ne!(ana["subject_id"], bor["subject_id"]);
    let count = |v: &Value| v.as_array().map_or(0, |a| a.len());
    let (_, before) = s.get(&format!("{recs}?limit=100"), &s.admin).await;

    // Ana's e-mail with Bor's staff number: two people, never merged.
    let (st, p) =
        s.post(&recs, &s.admin, json!({"data": {"email": "ana@ham.si", "staff_no": "Z-2", "name": "?"}})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["type"], "https://varuh.dev/problems/identifier-conflict");
    let mut fields: Vec<&str> = p["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["data.email", "data.staff_no"], "{p}");
    assert!(!p.to_string().contains("ham.si") && !p.to_string().contains("Z-2"), "no value in the problem: {p}");
    // Into Ana's subject by id with Bor's staff number: only that field is at fault.
    let (st, p) = s
        .post(&recs, &s.admin, json!({"subject_id": ana["subject_id"], "data": {"staff_no": "Z-2", "name": "?"}}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["fields"], json!(["data.staff_no"]));
    // An update of Ana's record to Bor's e-mail.
    let (st, p) = s
        .call(
            Method::PATCH,
            &format!("{recs}/{}", ana["id"].as_str().unwrap()),
            Some(&s.admin),
            Some(json!({"data": {"email": "bor@ham.si"}})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["fields"], json!(["data.email"]));
    // Find-or-create with both: the identifiers named.
    let (st, p) = s
        .post(
            &format!("/v1/tenants/{t}/subjects"),
            &s.admin,
            json!({"identifiers": {"email": "ana@ham.si", "staff_no": "Z-2"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    let mut fields: Vec<&str> = p["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["identifiers.email", "identifiers.staff_no"], "{p}");

    // Nothing was written: the same records, Ana's unchanged, each e-mail
    // still finding its own person.
    let (_, after) = s.get(&format!("{recs}?limit=100"), &s.admin).await;
    assert_eq!(count(&after), count(&before));
    assert_eq!(count(&after), 2);
    let (_, a) = s.get(&format!("{recs}/{}", ana["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(a["data"]["email"], "ana@ham.si");
    assert_eq!(a["version"], 1);
    for (email, who) in [("ana@ham.si", &ana), ("bor@ham.si", &bor)] {
        let (_, f) = s
            .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "email", "value": email}))
            .await;
        assert_eq!(f["id"], who["subject_id"]);
    }
    // The refusals are in the audit trail as conflicts.
    let creates = s.events("record.create").await;
    assert_eq!(creates.iter().filter(|e| e["event"]["outcome"] == "conflict").count(), 2);

    // One identifier of an existing person and a new one: joined, not a conflict.
    let (st, r) =
        s.post(&recs, &s.admin, json!({"data": {"email": "ana@ham.si", "staff_no": "Z-9", "name": "Ana"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["subject_id"], ana["subject_id"]);
}
both!(identifiers_of_two_people_are_a_conflict_naming_the_fields);

async fn a_field_is_identifier_or_searchable(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    let mut def = staff_file();
    def["fields"][3]["identifier"] = json!(true);
    let (st, p) = s.post(&format!("/v1/tenants/{t}/collections"), &s.admin, def).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "fields[3].searchable");
    let (st, list) = s.get(&format!("/v1/tenants/{t}/collections"), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!list.to_string().contains("staff_file"), "nothing created: {list}");
    // The definition reads back with what it declared.
    s.collection(&t, staff_file()).await;
    let (_, c) = s.get(&format!("/v1/tenants/{t}/collections/staff_file"), &s.admin).await;
    assert_eq!(c["fields"][3]["searchable"], true, "{c}");
    assert_eq!(c["fields"][1]["identifier"], true, "{c}");
}
both!(a_field_is_identifier_or_searchable);

async fn a_dpo_merges_one_person_and_splits_off_another(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, staff_file()).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    let op = s.staff(&t, "operator", "operator").await;
    let staff = format!("/v1/tenants/{t}/collections/staff_file/records");
    let shop = format!("/v1/tenants/{t}/collections/customers/records");
    let lookup = format!("/v1/tenants/{t}/subjects/lookup");
    let subj = |id: &Value| format!("/v1/tenants/{t}/subjects/{}", id.as_str().unwrap());

    // Ana as an employee and, by her private e-mail, as a customer: two subjects.
    let (_, emp) =
        s.post(&staff, &s.admin, json!({"data": {"email": "ana@ham.si", "staff_no": "Z-1", "name": "Ana Kos"}})).await;
    let (_, cust) = s.post(&shop, &s.admin, json!({"data": {"email": "ana.kos@gmail.com", "name": "Ana K."}})).await;
    let (a, other) = (emp["subject_id"].clone(), cust["subject_id"].clone());
    assert_ne!(a, other);

    // Only a DPO or an administrator merges; bad input changes nothing.
    let merge = format!("{}/merge", subj(&a));
    let (st, _) = s.post(&merge, &op, json!({"from": other})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"from": a}), "from"),
        (json!({"from": uuid::Uuid::now_v7().to_string()}), "from"),
        (json!({"from": "not an id"}), "from"),
    ] {
        let (st, p) = s.post(&merge, &dpo, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["field"], field);
    }
    assert_eq!(s.get(&subj(&other), &s.admin).await.0, StatusCode::OK, "still there");

    let (st, m) = s.post(&merge, &dpo, json!({"from": other})).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["subject"]["id"], a);
    assert_eq!(m["records_moved"], 1);
    // One person now: both e-mails find her, both records are hers and open.
    for email in ["ana@ham.si", "ana.kos@gmail.com"] {
        let (_, f) = s.post(&lookup, &s.admin, json!({"kind": "email", "value": email})).await;
        assert_eq!(f["id"], a, "{email}");
    }
    let (_, recs) = s.get(&format!("{}/records", subj(&a)), &s.admin).await;
    let mut names: Vec<&str> = recs.as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Ana K.", "Ana Kos"]);
    let (_, moved) = s.get(&format!("{shop}/{}", cust["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(moved["subject_id"], a);
    assert_eq!(moved["data"]["email"], "ana.kos@gmail.com");
    assert_eq!(moved["version"], 2);
    // The merged subject and its key are gone.
    assert_eq!(s.get(&subj(&other), &s.admin).await.0, StatusCode::NOT_FOUND);
    let ev = s.events("subject.merge").await;
    let ok: Vec<&Value> = ev.iter().filter(|e| e["event"]["outcome"] == "ok").collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["event"]["subject"], a);
    assert!(ok[0]["event"]["detail"].as_str().unwrap().contains(other.as_str().unwrap()), "{}", ok[0]);

    // Bor's record was filed under Ana by mistake: split it off.
    let (st, bor) = s
        .post(
            &staff,
            &s.admin,
            json!({"subject_id": a, "data": {"email": "bor@ham.si", "staff_no": "Z-2", "name": "Bor"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{bor}");
    let split = format!("{}/split", subj(&a));
    let (st, _) = s.post(&split, &op, json!({"records": [bor["id"]]})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"records": []}), "records"),
        (json!({"records": [bor["id"], bor["id"]]}), "records[1]"),
        (json!({"records": [uuid::Uuid::now_v7().to_string()]}), "records[0]"),
        (json!({"records": ["x"]}), "records[0]"),
    ] {
        let (st, p) = s.post(&split, &dpo, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["field"], field, "{p}");
    }
    // A second record with Ana's e-mail cannot leave alone: the e-mail would name two people.
    let (_, again) =
        s.post(&shop, &s.admin, json!({"subject_id": a, "data": {"email": "ana@ham.si", "name": "Ana"}})).await;
    let (st, p) = s.post(&split, &dpo, json!({"records": [again["id"]]})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");

    let (st, sp) = s.post(&split, &dpo, json!({"records": [bor["id"]]})).await;
    assert_eq!(st, StatusCode::CREATED, "{sp}");
    let n = sp["subject"]["id"].clone();
    assert_ne!(n, a);
    assert_eq!(sp["records_moved"], 1);
    let (_, f) = s.post(&lookup, &s.admin, json!({"kind": "email", "value": "bor@ham.si"})).await;
    assert_eq!(f["id"], n, "Bor's e-mail finds Bor");
    let (_, f) = s.post(&lookup, &s.admin, json!({"kind": "staff_no", "value": "Z-2"})).await;
    assert_eq!(f["id"], n);
    let (_, f) = s.post(&lookup, &s.admin, json!({"kind": "email", "value": "ana@ham.si"})).await;
    assert_eq!(f["id"], a);
    let (_, his) = s.get(&format!("{}/records", subj(&n)), &s.admin).await;
    assert_eq!(his.as_array().unwrap().len(), 1);
    assert_eq!(his[0]["data"]["name"], "Bor");
    let (_, hers) = s.get(&format!("{}/records", subj(&a)), &s.admin).await;
    assert_eq!(hers.as_array().unwrap().len(), 3);
    assert!(hers.as_array().unwrap().iter().all(|r| r["data"]["name"] != "Bor"));
    let ev = s.events("subject.split").await;
    assert_eq!(ev.iter().filter(|e| e["event"]["outcome"] == "ok").count(), 1);
    let rep = s.verify_trail().await;
    assert!(rep.ok(), "{:?}", rep.failures);
}
both!(a_dpo_merges_one_person_and_splits_off_another);

/// A store as the varuh before searchable attributes left it (migrations
/// up to 9) opens with this one: migration 10 runs and every record is
/// still there, readable, and found by its identifiers.
async fn a_store_from_before_attributes_migrates_without_losing_a_record(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("2Mobile", false).await;
    // The README's old collection: phone as an identifier.
    let mut old = customers();
    old["fields"][2] = json!({"name": "phone", "type": "phone", "category": "contact", "identifier": true});
    s.collection(&t, old).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let mut made = Vec::new();
    for i in 0..20 {
        let (st, r) = s
            .post(&recs, &s.admin, json!({"data": {"email": format!("c{i}@2mobile.si"), "name": format!("C {i}"), "phone": format!("+38640{i:06}")}}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        made.push(r);
    }
    // Back to the schema of migration 9.
    let url = s.cfg.database_url();
    let dialect_pg = b == Backend::Postgres;
    tokio::task::spawn_blocking(move || {
        let loc = varuh::store::Location::parse(&url).unwrap();
        let mut db = varuh::store::Store::connect_raw(&loc).unwrap();
        db.batch("DROP INDEX subject_identifiers_record").unwrap();
        db.batch("DROP TABLE subject_attributes").unwrap();
        if dialect_pg {
            db.batch("DROP FUNCTION varuh_place_record(TEXT, TEXT, BYTEA, BIGINT, TEXT, TEXT, BYTEA, BIGINT, BIGINT, BIGINT, TEXT[], BYTEA[], BIGINT[], TEXT[], BYTEA[])").unwrap();
            db.batch(include_str!("../../src/store/migrations/postgres/0008_place_record.sql")).unwrap();
        }
        // Later migrations than 10 too (a store as it was at 9).
        db.batch("DROP TABLE dsr_requests").unwrap();
        for t in [
            "anonymised_records",
            "processing_limits",
            "consent_notices",
            "consents",
            "consent_state",
            "recipients",
            "disclosures",
            "recipient_notices",
            "tenant_settings",
            "legal_holds",
            "retention_events",
            "scheduled_jobs",
            "erasure_journal",
            "breach_notifications",
            "breaches",
            "processors",
            "staff_register",
        ] {
            db.batch(&format!("DROP TABLE {t}")).unwrap();
        }
        db.batch("ALTER TABLE subjects DROP COLUMN limits").unwrap();
        // 18: the audit trail's source column and the one-call append.
        db.batch("DROP INDEX audit_events_source").unwrap();
        db.batch("ALTER TABLE audit_events DROP COLUMN source").unwrap();
        if dialect_pg {
            db.batch("DROP FUNCTION varuh_audit_push(BIGINT, BYTEA, BIGINT, BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], BYTEA[], BYTEA[], BYTEA[])")
                .unwrap();
        }
        // 22: new records placed together.
        if dialect_pg {
            db.batch(
                "DROP FUNCTION varuh_place_records(TEXT[], TEXT[], BYTEA[], BIGINT[], TEXT[], TEXT[], BYTEA[], BIGINT[], \
                 BIGINT[], BIGINT[], BIGINT[], TEXT[], BYTEA[], BIGINT[], BIGINT[], TEXT[], BYTEA[])",
            )
            .unwrap();
            // 23: and their events with them.
            db.batch(
                "DROP FUNCTION varuh_place_records_audited(TEXT[], TEXT[], BYTEA[], BIGINT[], TEXT[], TEXT[], \
                 BYTEA[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], TEXT[], BYTEA[], BIGINT[], BIGINT[], TEXT[], \
                 BYTEA[], BIGINT, BYTEA, BIGINT, BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], BYTEA[], \
                 BYTEA[], BYTEA[])",
            )
            .unwrap();
            // 25: in one autocommit call.
            db.batch(
                "DROP FUNCTION varuh_place_records_alone(TEXT[], TEXT[], BYTEA[], BIGINT[], TEXT[], TEXT[], \
                 BYTEA[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], TEXT[], BYTEA[], BIGINT[], BIGINT[], TEXT[], \
                 BYTEA[], BIGINT, BYTEA, BIGINT, BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], BYTEA[], \
                 BYTEA[], BYTEA[], BIGINT[])",
            )
            .unwrap();
        }
        // 19: the staff's console preferences.
        db.batch("ALTER TABLE staff DROP COLUMN language").unwrap();
        db.batch("ALTER TABLE staff DROP COLUMN time_zone").unwrap();
        db.batch("DELETE FROM varuh_migrations WHERE version >= 10").unwrap();
        let top = db.query("SELECT MAX(version) FROM varuh_migrations", &[]).unwrap();
        assert_eq!(top[0].i64(0).unwrap(), 9);
    })
    .await
    .unwrap();

    let n = s.reopen().await;
    for r in &made {
        let (st, got) = n.get(&format!("{recs}/{}", r["id"].as_str().unwrap()), &n.admin).await;
        assert_eq!(st, StatusCode::OK, "{got}");
        assert_eq!(got["data"], r["data"]);
        assert_eq!(got["subject_id"], r["subject_id"]);
        let (_, f) = n
            .post(
                &format!("/v1/tenants/{t}/subjects/lookup"),
                &n.admin,
                json!({"kind": "phone", "value": r["data"]["phone"]}),
            )
            .await;
        assert_eq!(f["id"], r["subject_id"], "an old identifier still identifies");
    }
    let (_, all) = n.get(&format!("{recs}?limit=100"), &n.admin).await;
    assert_eq!(all.as_array().unwrap().len(), 20);
    // The new schema works on the migrated store.
    let (st, c) = n.post(&format!("/v1/tenants/{t}/collections"), &n.admin, staff_file()).await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let staff = format!("/v1/tenants/{t}/collections/staff_file/records");
    for who in ["a", "b"] {
        let (st, r) = n
            .post(
                &staff,
                &n.admin,
                json!({"data": {"email": format!("{who}@2mobile.si"), "name": who, "address": "Tržaška 1"}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
    }
    let (_, m) = n
        .post(&format!("/v1/tenants/{t}/subjects/search"), &n.admin, json!({"kind": "address", "value": "Tržaška 1"}))
        .await;
    assert_eq!(m["subjects"].as_array().unwrap().len(), 2, "{m}");
    let rep = n.verify_trail().await;
    assert!(rep.ok(), "{:?}", rep.failures);
}
both!(a_store_from_before_attributes_migrates_without_losing_a_record);
