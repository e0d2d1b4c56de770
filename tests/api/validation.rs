//! Bad input: every case gets an RFC 9457 problem naming the field at fault,
//! and nothing is stored. A table of cases, then generated ones.

use crate::support::{both, customers, Backend, TestServer};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Case {
    what: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: StatusCode,
    slug: &'static str,
    field: Option<&'static str>,
}

fn j(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

async fn bad_input_table_names_field_and_stores_nothing(b: Backend) {
    let s = TestServer::start_with(b, |c| c.max_body_bytes = 4096).await;
    let t = s.tenant("Validation", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let cols = format!("/v1/tenants/{t}/collections");
    let ok = json!({"email": "a@b.si", "name": "A"});
    let mut special = customers();
    special["name"] = json!("patients");
    special["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "diagnosis", "type": "string", "category": "health"}));
    let mut no_purpose = customers();
    no_purpose["name"] = json!("nopurpose");
    no_purpose["purposes"] = json!([]);
    let mut bad_basis = customers();
    bad_basis["name"] = json!("badbasis");
    bad_basis["legal_basis"] = json!("because");
    let mut no_source = customers();
    no_source["name"] = json!("nosource");
    no_source.as_object_mut().unwrap().remove("source");

    use StatusCode as S;
    let cases = vec![
        Case {
            what: "unknown collection",
            path: format!("/v1/tenants/{t}/collections/nope/records"),
            content_type: "application/json",
            body: j(json!({"data": ok})),
            status: S::NOT_FOUND,
            slug: "not-found",
            field: None,
        },
        Case {
            what: "field not in schema",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": "A", "shoe_size": 44}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.shoe_size"),
        },
        Case {
            what: "wrong type",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": "A", "orders": "many"}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.orders"),
        },
        Case {
            what: "wrong type (float for integer)",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": "A", "orders": 1.5}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.orders"),
        },
        Case {
            what: "bad date",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": "A", "born": "31.12.1990"}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.born"),
        },
        Case {
            what: "bad e-mail",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a-at-b.si", "name": "A"}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.email"),
        },
        Case {
            what: "bad phone",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": "A", "phone": "041 123"}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.phone"),
        },
        Case {
            what: "missing required field",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si"}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.name"),
        },
        Case {
            what: "required field null",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": null}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data.name"),
        },
        Case {
            what: "missing data",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data"),
        },
        Case {
            what: "data not an object",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": [1, 2]})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("data"),
        },
        Case {
            what: "unknown top-level field",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": ok, "extra": 1})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("extra"),
        },
        Case {
            what: "bad subject id",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"subject_id": "nope", "data": ok})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("subject_id"),
        },
        Case {
            what: "unknown subject id",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"subject_id": uuid::Uuid::now_v7().to_string(), "data": ok})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("subject_id"),
        },
        Case {
            what: "special category in a tenant that does not allow it",
            path: cols.clone(),
            content_type: "application/json",
            body: j(special),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("fields[5].category"),
        },
        Case {
            what: "collection without purpose",
            path: cols.clone(),
            content_type: "application/json",
            body: j(no_purpose),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("purposes"),
        },
        Case {
            what: "unknown legal basis",
            path: cols.clone(),
            content_type: "application/json",
            body: j(bad_basis),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("legal_basis"),
        },
        Case {
            what: "collection without source",
            path: cols.clone(),
            content_type: "application/json",
            body: j(no_source),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("source"),
        },
        Case {
            what: "oversize body",
            path: recs.clone(),
            content_type: "application/json",
            body: j(json!({"data": {"email": "a@b.si", "name": "x".repeat(5000)}})),
            status: S::PAYLOAD_TOO_LARGE,
            slug: "payload-too-large",
            field: None,
        },
        Case {
            what: "malformed JSON",
            path: recs.clone(),
            content_type: "application/json",
            body: b"{\"data\": {\"email\": ".to_vec(),
            status: S::BAD_REQUEST,
            slug: "malformed-json",
            field: None,
        },
        Case {
            what: "not JSON at all",
            path: recs.clone(),
            content_type: "application/json",
            body: b"email=a@b.si".to_vec(),
            status: S::BAD_REQUEST,
            slug: "malformed-json",
            field: None,
        },
        Case {
            what: "wrong content type",
            path: recs.clone(),
            content_type: "text/plain",
            body: j(json!({"data": ok})),
            status: S::UNSUPPORTED_MEDIA_TYPE,
            slug: "unsupported-media-type",
            field: None,
        },
        Case {
            what: "form content type",
            path: recs.clone(),
            content_type: "application/x-www-form-urlencoded",
            body: b"email=a@b.si".to_vec(),
            status: S::UNSUPPORTED_MEDIA_TYPE,
            slug: "unsupported-media-type",
            field: None,
        },
        Case {
            what: "duplicate collection",
            path: cols.clone(),
            content_type: "application/json",
            body: j(customers()),
            status: S::CONFLICT,
            slug: "conflict",
            field: None,
        },
        Case {
            what: "tenant name empty",
            path: "/v1/tenants".into(),
            content_type: "application/json",
            body: j(json!({"name": " "})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("name"),
        },
        Case {
            what: "bad role",
            path: format!("/v1/tenants/{t}/staff"),
            content_type: "application/json",
            body: j(json!({"username": "q", "role": "king"})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("role"),
        },
        Case {
            what: "lookup without kind",
            path: format!("/v1/tenants/{t}/subjects/lookup"),
            content_type: "application/json",
            body: j(json!({"value": "a@b.si"})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("kind"),
        },
        Case {
            what: "subject without identifiers",
            path: format!("/v1/tenants/{t}/subjects"),
            content_type: "application/json",
            body: j(json!({"identifiers": {}})),
            status: S::UNPROCESSABLE_ENTITY,
            slug: "invalid",
            field: Some("identifiers"),
        },
    ];
    let secret = "a-value-that-must-not-echo";
    for c in &cases {
        let resp = s
            .http
            .post(format!("{}{}", s.base, c.path))
            .bearer_auth(&s.admin)
            .header("content-type", c.content_type)
            .body(c.body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), c.status, "{}", c.what);
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{}", c.what);
        let p: Value = resp.json().await.unwrap();
        assert_eq!(p["type"], format!("https://varuh.dev/problems/{}", c.slug), "{}: {p}", c.what);
        assert_eq!(p["status"], c.status.as_u16(), "{}", c.what);
        assert!(p["title"].is_string() && p["detail"].is_string(), "{}", c.what);
        match c.field {
            Some(f) => assert_eq!(p["field"], f, "{}: {p}", c.what),
            None => assert!(p.get("field").is_none(), "{}: {p}", c.what),
        }
        assert!(!p.to_string().contains("a@b.si"), "{}: a problem must not echo personal values: {p}", c.what);
    }
    // Values never echo, even in type errors.
    let (st, p) = s.post(&recs, &s.admin, json!({"data": {"email": "a@b.si", "name": [secret]}})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!p.to_string().contains(secret));
    let (st, p) = s.post("/v1/tenants", &s.admin, json!({"name": 5, "allow_special_categories": secret})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!p.to_string().contains(secret), "{p}");

    // Nothing was stored by any of them.
    let (_, list) = s.get(&recs, &s.admin).await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (_, collections) = s.get(&cols, &s.admin).await;
    assert_eq!(collections.as_array().unwrap().len(), 1);
    let (_, tenants) = s.get("/v1/tenants", &s.admin).await;
    assert_eq!(tenants.as_array().unwrap().len(), 1);
    let (st, _) = s
        .post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "email", "value": "a@b.si"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "no subject was created by refused records");
}
both!(bad_input_table_names_field_and_stores_nothing);

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[a-zA-Z0-9@.+ -]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| prop::collection::vec(inner, 0..3).prop_map(Value::from))
}

/// Generated record bodies: each is either stored whole (201, and reads back
/// equal) or refused with a 422 naming a `data.` field, never a 500.
async fn generated_records_are_stored_or_refused_cleanly(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Generated", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let names = prop_oneof![Just("email"), Just("name"), Just("phone"), Just("born"), Just("orders"), Just("other")];
    let strategy = prop::collection::btree_map(names.prop_map(str::to_string), any_json(), 0..6);
    let mut runner = TestRunner::deterministic();
    let mut stored = 0;
    for _ in 0..48 {
        let data = strategy.new_tree(&mut runner).unwrap().current();
        let mut data: serde_json::Map<String, Value> = data.into_iter().collect();
        if stored < 8 {
            // Keep some cases valid so both outcomes are exercised.
            data.insert("email".into(), json!(format!("p{stored}@gen.si")));
            data.insert("name".into(), json!("Gen"));
            data.retain(|k, _| k == "email" || k == "name");
        }
        let (st, body) = s.post(&recs, &s.admin, json!({"data": data})).await;
        match st {
            StatusCode::CREATED => {
                stored += 1;
                let (_, got) = s.get(&format!("{recs}/{}", body["id"].as_str().unwrap()), &s.admin).await;
                assert_eq!(got["data"], body["data"]);
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert!(body["field"].as_str().unwrap().starts_with("data"), "{body}");
            }
            other => panic!("{other} for {data:?}: {body}"),
        }
    }
    let (_, list) = s.get(&format!("{recs}?limit=1000"), &s.admin).await;
    assert_eq!(list.as_array().unwrap().len(), stored);
    assert!(stored >= 8);
}
both!(generated_records_are_stored_or_refused_cleanly);
