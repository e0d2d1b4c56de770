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
