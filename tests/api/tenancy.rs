//! Tenant separation (CONF-4) and roles (ACC-1), checked on every route the
//! OpenAPI document lists, so a new route cannot be forgotten.

use crate::support::{both, customers, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every (method, path template) the server documents.
async fn routes(s: &TestServer) -> Vec<(Method, String)> {
    let (st, spec) = s.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            if let Ok(method) = m.to_uppercase().parse::<Method>() {
                out.push((method, path.clone()));
            }
        }
    }
    assert!(out.len() >= 20, "the document lists the routes: {out:?}");
    out
}

pub fn body_for(path: &str) -> Value {
    if path.ends_with("/records") {
        json!({"data": {"email": "x@y.si", "name": "X"}})
    } else if path.ends_with("/records/{record}") {
        json!({"data": {"name": "Y"}})
    } else if path.ends_with("/subjects/lookup") || path.ends_with("/subjects/search") {
        json!({"kind": "email", "value": "b@b.si"})
    } else if path.ends_with("/merge") {
        json!({"from": uuid::Uuid::now_v7().to_string()})
    } else if path.ends_with("/split") {
        json!({"records": [uuid::Uuid::now_v7().to_string()]})
    } else if path.ends_with("/subjects") {
        json!({"identifiers": {"email": "b@b.si"}})
    } else if path.ends_with("/limits") {
        // Not a purpose: an allowed caller gets 422, so no limit is set on the shared subject.
        json!({"kind": "objection", "purposes": ["not-a-purpose"], "reason": "objects"})
    } else if path.ends_with("/consent-notices") {
        // Not a purpose: an allowed caller gets 422 and nothing is stored.
        json!({"purpose": "not-a-purpose", "text": "t"})
    } else if path.ends_with("/consents") {
        json!({"purpose": "not-a-purpose", "given": false, "channel": "web"})
    } else if path.ends_with("/may") {
        json!({"purpose": "invoicing", "emails": ["m@x.si", "nobody@x.si"]})
    } else if path.ends_with("/recipients") {
        // A bad webhook: an allowed caller gets 422 and nothing is stored.
        json!({"name": "courier", "description": "parcels", "webhook": "ftp://x"})
    } else if path.ends_with("/disclosures") {
        json!({"recipient": "nobody", "collection": "customers", "fields": ["email"], "purpose": "invoicing", "subject_ids": [uuid::Uuid::now_v7().to_string()]})
    } else if path.ends_with("/settings") {
        // A bad reminder day: an allowed caller gets 422 and nothing changes.
        json!({"reminder_days": [7, 7]})
    } else if path.ends_with("/import") {
        // A column the file does not have: an allowed caller gets 422 and nothing is stored.
        json!({"csv": "email,name\nx@y.si,X\n", "columns": {"mail": "email"}})
    } else if path.ends_with("/retention/run") {
        // A dry run: an allowed caller gets its report and nothing changes.
        json!({"dry_run": true})
    } else if path.ends_with("/{subject}/retention-events") {
        json!({"event": "Not A Name"})
    } else if path.ends_with("/retention-events") {
        json!({"event": "Not A Name", "emails": ["x@y.si"]})
    } else if path.ends_with("/breaches") || path.ends_with("/breaches/{breach}") {
        let mut b = json!({"kinds": ["confidentiality"], "aware_at": "2026-01-05T10:00:00Z", "found_by": "controller",
            "description": "a laptop was stolen", "risk": "risk", "risk_rationale": "unencrypted disk"});
        if path.ends_with("}") {
            b["version"] = json!(1);
        }
        b
    } else if path.ends_with("/staff-register") {
        json!({"name": "Ana Novak", "started_on": "2026-01-05"})
    } else if path.ends_with("/staff-register/{entry}") {
        json!({"version": 1, "entry": {"name": "Ana Novak", "started_on": "2026-01-05"}})
    } else if path.ends_with("/processors") {
        json!({"name": format!("P {}", uuid::Uuid::now_v7()), "role": "processor", "service": "hosting"})
    } else if path.ends_with("/processors/{processor}") {
        json!({"version": 1, "entry": {"name": "P", "role": "processor", "service": "hosting"}})
    } else if path.ends_with("/breach-scope") {
        json!({"account": uuid::Uuid::nil().to_string(), "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"})
    } else if path.ends_with("/notifications") {
        json!({"audience": "authority", "phase": "initial", "to": "Informacijski pooblaščenec", "late_reason": "found late"})
    } else if path.ends_with("/legal-holds") {
        json!({"scope": "collection", "target": "no-such-collection", "reason": "x"})
    } else if path.ends_with("/lift") {
        json!({"reason": "verified"})
    } else if path.ends_with("/requests") {
        json!({"kind": "access", "channel": "e-mail"})
    } else if path.ends_with("/verify") {
        json!({"method": "ID document"})
    } else if path.ends_with("/requests/{request}/start") {
        json!({})
    } else if path.ends_with("/extend") {
        json!({"months": 1, "reason": "complex", "subject_informed": true})
    } else if path.ends_with("/complete") {
        json!({"response": "report sent"})
    } else if path.ends_with("/reject") || path.ends_with("/refuse") {
        json!({"reason": "not needed"})
    } else if path.ends_with("/access") {
        json!({"role": "operator", "access": {}})
    } else if path.ends_with("/offboard") {
        json!({"items": ["keys_returned"]})
    } else if path.ends_with("/api-keys") {
        json!({"account": uuid::Uuid::nil().to_string(), "name": "k", "access": {"grants": {"*": ["read"]}}, "days": 1})
    } else if path.ends_with("/staff") {
        json!({"username": "intruder", "role": "operator"})
    } else if path.ends_with("/collections") {
        let mut c = customers();
        c["name"] = json!("stolen");
        c
    } else {
        json!({})
    }
}

async fn conf4_other_tenant_gets_404_everywhere(b: Backend) {
    let s = TestServer::start(b).await;
    let ta = s.tenant("Tenant A", false).await;
    let tb = s.tenant("Tenant B", false).await;
    s.collection(&ta, customers()).await;
    s.collection(&tb, customers()).await;
    let (_, rec) = s
        .post(
            &format!("/v1/tenants/{tb}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": "b@b.si", "name": "B"}}),
        )
        .await;
    let rb = rec["id"].as_str().unwrap().to_string();
    let sb = rec["subject_id"].as_str().unwrap().to_string();
    let (_, sb_staff) =
        s.post(&format!("/v1/tenants/{tb}/staff"), &s.admin, json!({"username": "bob.b", "role": "operator"})).await;
    let staff_b = sb_staff["id"].as_str().unwrap().to_string();
    let admin_a = s.staff(&ta, "admin.a", "administrator").await;
    let op_a = s.staff(&ta, "op.a", "operator").await;

    let mut checked = 0;
    for (method, tpl) in routes(&s).await {
        if !tpl.contains("{tenant}") {
            continue;
        }
        let path = tpl
            .replace("{tenant}", &tb)
            .replace("{collection}", "customers")
            .replace("{record}", &rb)
            .replace("{subject}", &sb)
            .replace("{staff}", &staff_b)
            .replace("{approval}", &uuid::Uuid::now_v7().to_string())
            .replace("{request}", &uuid::Uuid::now_v7().to_string())
            .replace("{limit}", &uuid::Uuid::now_v7().to_string())
            .replace("{hold}", &uuid::Uuid::now_v7().to_string())
            .replace("{breach}", &uuid::Uuid::now_v7().to_string())
            .replace("{processor}", &uuid::Uuid::now_v7().to_string())
            .replace("{entry}", &uuid::Uuid::now_v7().to_string())
            .replace("{key}", &uuid::Uuid::now_v7().to_string())
            + if tpl.ends_with("/may") && method == Method::GET {
                "?purpose=invoicing"
            } else if tpl.ends_with("/notice") {
                "?audience=authority"
            } else {
                ""
            };
        for token in [&admin_a, &op_a] {
            let body =
                (method == Method::POST || method == Method::PUT || method == Method::PATCH).then(|| body_for(&tpl));
            let (st, p) = s.call(method.clone(), &path, Some(token), body).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{method} {tpl} answered {st}: {p}");
            assert!(!p.to_string().contains(&tb), "the problem must not echo the other tenant's id");
            checked += 1;
        }
    }
    assert!(checked >= 30, "checked {checked} route/credential pairs");

    // Nothing of B changed, and B's data still reads back for B's admin.
    let (st, got) = s.get(&format!("/v1/tenants/{tb}/collections/customers/records/{rb}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["data"]["name"], "B");
    assert_eq!(got["version"], 1);
    let (_, cols) = s.get(&format!("/v1/tenants/{tb}/collections"), &s.admin).await;
    assert_eq!(cols.as_array().unwrap().len(), 1);
    // B's one account is as it was: not suspended, not offboarded, same role.
    let (_, staff) = s.get(&format!("/v1/tenants/{tb}/staff"), &s.admin).await;
    assert_eq!(staff.as_array().unwrap().len(), 1, "{staff}");
    assert_eq!((staff[0]["state"].as_str(), staff[0]["role"].as_str()), (Some("active"), Some("operator")), "{staff}");
    // A's own tenant works for A, and A sees only itself in the tenant list.
    let (st, _) = s.get(&format!("/v1/tenants/{ta}/collections/customers"), &op_a).await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get("/v1/tenants", &admin_a).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], ta.as_str());
    // Ids from one tenant do not work through another tenant's path either.
    let (st, _) = s.get(&format!("/v1/tenants/{ta}/collections/customers/records/{rb}"), &admin_a).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get(&format!("/v1/tenants/{ta}/subjects/{sb}"), &admin_a).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
both!(conf4_other_tenant_gets_404_everywhere);

async fn every_endpoint_requires_a_token(b: Backend) {
    let s = TestServer::start(b).await;
    let open = ["/healthz", "/readyz", "/v1/auth/login"];
    for (method, tpl) in routes(&s).await {
        let path = tpl.replace(['{', '}'], "x");
        let (st, p) = s.call(method.clone(), &path, None, Some(json!({}))).await;
        if open.contains(&tpl.as_str()) {
            assert_ne!(st, StatusCode::UNAUTHORIZED, "{method} {tpl}");
            continue;
        }
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{method} {tpl}: {p}");
        // A forged token is no better than none.
        let (st, _) = s.call(method.clone(), &path, Some("forged-token"), Some(json!({}))).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{method} {tpl} with a forged token");
    }
}
both!(every_endpoint_requires_a_token);

async fn acc1_operator_cannot_admin(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Roles", false).await;
    let op = s.staff(&t, "op", "operator").await;
    let adm = s.staff(&t, "adm", "administrator").await;
    let forbidden = [
        ("/v1/tenants".to_string(), json!({"name": "X"})),
        (format!("/v1/tenants/{t}/collections"), customers()),
        (format!("/v1/tenants/{t}/staff"), json!({"username": "z", "role": "administrator"})),
        ("/v1/staff".to_string(), json!({"username": "z2", "role": "administrator"})),
    ];
    for (path, body) in &forbidden {
        let (st, p) = s.post(path, &op, body.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "operator POST {path}: {p}");
    }
    for path in ["/v1/staff".to_string(), format!("/v1/tenants/{t}/staff")] {
        let (st, _) = s.get(&path, &op).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "operator GET {path}");
    }
    // A tenant administrator manages its tenant but not the system.
    let (st, _) = s.post("/v1/tenants", &adm, json!({"name": "Y"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // /v1/staff is one's own scope: for a tenant administrator, its tenant.
    let (st, z3) = s.post("/v1/staff", &adm, json!({"username": "z3", "role": "administrator"})).await;
    assert_eq!((st, z3["tenant_id"].as_str()), (StatusCode::CREATED, Some(t.as_str())), "{z3}");
    let (st, _) = s.post(&format!("/v1/tenants/{t}/collections"), &adm, customers()).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s.post(&format!("/v1/tenants/{t}/staff"), &adm, json!({"username": "op2", "role": "operator"})).await;
    assert_eq!(st, StatusCode::CREATED);
    // Only the system tenant list for the system administrator.
    let (_, all) = s.get("/v1/tenants", &s.admin).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (st, _) = s.get("/v1/staff", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
}
both!(acc1_operator_cannot_admin);
