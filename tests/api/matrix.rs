//! The authorisation matrix: every route the OpenAPI document lists ×
//! every role (and an operator without grants, system staff, no token) ×
//! own tenant / another tenant, with the expected answer derived from the
//! permission table (`varuh::domain::access`) and the action each route
//! names (`x-varuh-action`). A route without an action, or one that
//! answers other than its rule says, fails here.

use crate::support::{both, customers, Backend, TestServer};
use crate::tenancy::body_for;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use varuh::domain::access::{permit, Access, Action, Role, Scope};

struct Caller {
    name: &'static str,
    token: String,
    role: Role,
    system: bool,
    access: Access,
}

fn access(v: Value) -> Access {
    serde_json::from_value(v).unwrap()
}

/// Routes that end the caller's sessions or force new passwords: their
/// permitted calls run last, once, so the others keep working.
const LAST: &[(&str, &str)] = &[("post", "/v1/auth/logout"), ("post", "/v1/tenants/{tenant}/incident-reset")];

fn body(path: &str) -> Value {
    if path.ends_with("/policy") {
        // Keep the tenant usable for the rest of the matrix.
        json!({"mfa": {"required": "optional"}, "four_eyes": {"operations": []}, "session": {"idle_minutes": 1440, "absolute_hours": 720}, "lockout": {"source_attempts_per_minute": 10000}})
    } else if path == "/v1/tenants" {
        json!({"name": format!("T {}", uuid::Uuid::now_v7())})
    } else if path.ends_with("/password") {
        json!({"current_password": "not it", "new_password": "another long password"})
    } else if path.ends_with("/confirm") {
        json!({"code": "123456"})
    } else {
        body_for(path)
    }
}

async fn authorisation_matrix_every_route_every_role(b: Backend) {
    let s = TestServer::start(b).await;
    let (ta, tb) = (s.tenant("Tenant A", false).await, s.tenant("Tenant B", false).await);
    let mut objects = std::collections::HashMap::new();
    for t in [&ta, &tb] {
        s.collection(t, customers()).await;
        let (_, r) = s
            .post(
                &format!("/v1/tenants/{t}/collections/customers/records"),
                &s.admin,
                json!({"data": {"email": "m@x.si", "name": "M"}}),
            )
            .await;
        let (victim, _) = s.account(t, &format!("victim.{}", &t[t.len() - 6..]), "auditor", json!({})).await;
        objects.insert(
            t.clone(),
            (r["id"].as_str().unwrap().to_string(), r["subject_id"].as_str().unwrap().to_string(), victim),
        );
    }
    let all = json!({"grants": {"*": ["read", "write", "erase", "export"]}});
    let (svc, _) = s.account(&ta, "svc", "service", json!({})).await;
    let (_, k) = s
        .post(
            &format!("/v1/tenants/{ta}/api-keys"),
            &s.admin,
            json!({"account": svc, "name": "m", "access": all, "days": 5}),
        )
        .await;
    let sys_auditor = {
        let (st, b) = s.post("/v1/staff", &s.admin, json!({"username": "sys.auditor", "role": "auditor"})).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        s.first_login("sys.auditor", b["one_time_password"].as_str().unwrap()).await
    };
    let callers = vec![
        Caller {
            name: "administrator",
            token: s.staff(&ta, "c.admin", "administrator").await,
            role: Role::Administrator,
            system: false,
            access: Access::default(),
        },
        Caller {
            name: "dpo",
            token: s.staff(&ta, "c.dpo", "dpo").await,
            role: Role::Dpo,
            system: false,
            access: Access::default(),
        },
        Caller {
            name: "operator",
            token: s.staff(&ta, "c.op", "operator").await,
            role: Role::Operator,
            system: false,
            access: access(all.clone()),
        },
        Caller {
            name: "operator without grants",
            token: s.staff_with(&ta, "c.op0", "operator", json!({})).await,
            role: Role::Operator,
            system: false,
            access: Access::default(),
        },
        Caller {
            name: "auditor",
            token: s.staff(&ta, "c.aud", "auditor").await,
            role: Role::Auditor,
            system: false,
            access: Access::default(),
        },
        Caller {
            name: "service",
            token: k["key"].as_str().unwrap().to_string(),
            role: Role::Service,
            system: false,
            access: access(all.clone()),
        },
        Caller {
            name: "system administrator",
            token: s.admin.clone(),
            role: Role::Administrator,
            system: true,
            access: Access::default(),
        },
        Caller {
            name: "system auditor",
            token: sys_auditor,
            role: Role::Auditor,
            system: true,
            access: Access::default(),
        },
    ];
    let (_, spec) = s.call(Method::GET, "/openapi.json", None, None).await;
    let mut routes = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            let name = op["x-varuh-action"].as_str().unwrap_or("unmapped");
            assert_ne!(name, "unmapped", "{m} {path} has no action: add it to varuh::http::ROUTES");
            routes.push((m.clone(), path.clone(), name.to_string()));
        }
    }
    let fill = |tpl: &str, t: &str| {
        let (rec, subj, victim) = &objects[t];
        tpl.replace("{tenant}", t)
            .replace("{collection}", "customers")
            .replace("{record}", rec)
            .replace("{subject}", subj)
            .replace("{staff}", victim)
            .replace("{approval}", &uuid::Uuid::now_v7().to_string())
            .replace("{request}", &uuid::Uuid::now_v7().to_string())
            .replace("{limit}", &uuid::Uuid::now_v7().to_string())
            .replace("{hold}", &uuid::Uuid::now_v7().to_string())
            .replace("{breach}", &uuid::Uuid::now_v7().to_string())
            .replace("{processor}", &uuid::Uuid::now_v7().to_string())
            .replace("{entry}", &uuid::Uuid::now_v7().to_string())
            .replace("{key}", &uuid::Uuid::now_v7().to_string())
            .replace("{session}", &uuid::Uuid::now_v7().to_string())
            + match tpl {
                // Required query parameters, valid, so that the rule decides.
                "/v1/audit/proofs/inclusion" => "?seq=0&tree_size=1",
                "/v1/audit/proofs/consistency" => "?first=1&second=2",
                "/v1/tenants/{tenant}/subjects/{subject}/may" => "?purpose=invoicing",
                "/v1/tenants/{tenant}/breaches/{breach}/notice" => "?audience=authority",
                _ => "",
            }
    };
    let mut checked = 0;
    let mut last = Vec::new();
    for (m, tpl, name) in &routes {
        if name == "public" {
            continue;
        }
        let method: Method = m.to_uppercase().parse().unwrap();
        let with_body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| body(tpl));
        let action = Action::parse(name).unwrap_or_else(|| panic!("{m} {tpl}: unknown action {name}"));
        let rule = action.rule();
        if rule.scope == Scope::Anonymous {
            continue;
        }
        // No token: 401 everywhere else.
        let (st, _) = s.call(method.clone(), &fill(tpl, &ta), None, with_body.clone()).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {tpl} without a token");
        let collection = tpl.contains("{collection}").then_some("customers");
        for c in &callers {
            let allowed = permit(rule, c.role, c.system, &c.access, collection).is_ok();
            // Another tenant's objects are not found, whatever the role (tenant staff only).
            if tpl.contains("{tenant}") && !c.system {
                let (st, p) = s.call(method.clone(), &fill(tpl, &tb), Some(&c.token), with_body.clone()).await;
                assert_eq!(st, StatusCode::NOT_FOUND, "{} {m} {tpl} on another tenant: {p}", c.name);
                checked += 1;
            }
            if LAST.contains(&(m.as_str(), tpl.as_str())) && allowed {
                last.push((method.clone(), fill(tpl, &ta), with_body.clone(), c));
                continue;
            }
            let (st, p) = s.call(method.clone(), &fill(tpl, &ta), Some(&c.token), with_body.clone()).await;
            if allowed {
                assert_ne!(st, StatusCode::FORBIDDEN, "{} may {m} {tpl} ({name}): {p}", c.name);
                let kind = p["type"].as_str().unwrap_or("");
                assert!(
                    !(st == StatusCode::UNAUTHORIZED && kind.ends_with("/unauthenticated")),
                    "{} {m} {tpl}: {p}",
                    c.name
                );
            } else {
                assert_eq!(st, StatusCode::FORBIDDEN, "{} may not {m} {tpl} ({name}): {p}", c.name);
                assert!(p["detail"].as_str().unwrap_or("").len() > 5, "the refusal says why");
            }
            checked += 1;
        }
    }
    // The session-ending calls, last: one incident reset (after it, only
    // one's own account works), then logout for every caller allowed.
    last.sort_by_key(|(_, path, _, _)| !path.contains("incident-reset"));
    let mut reset_done = false;
    for (method, path, body, c) in last {
        if path.contains("incident-reset") {
            if reset_done {
                continue;
            }
            reset_done = true;
        }
        let (st, p) = s.call(method, &path, Some(&c.token), body).await;
        assert!(st.is_success(), "{} {path}: {st} {p}", c.name);
        checked += 1;
    }
    assert!(reset_done, "an administrator may reset the tenant");
    let n = routes.iter().filter(|r| r.2 != "public").count();
    assert!(checked >= n * callers.len(), "checked {checked} route/caller pairs for {n} routes");
}
both!(authorisation_matrix_every_route_every_role);
