//! Who may see what (ACC-1..3): roles, operators' grants and field masks,
//! API keys of service clients, four-eyes approvals, the access review.

use crate::support::{both, customers, newsletter, Backend, TestServer, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn acc1_auditor_reads_the_trail_not_the_data_dpo_both(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Roles", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (_, r) = s.post(&recs, &s.admin, json!({"data": {"email": "a@b.si", "name": "A"}})).await;
    let rec = r["id"].as_str().unwrap().to_string();
    let auditor = s.staff(&t, "aud", "auditor").await;
    let dpo = s.staff(&t, "dpo", "dpo").await;
    for path in [
        format!("{recs}/{rec}"),
        recs.clone(),
        format!("/v1/tenants/{t}/subjects/{}/records", r["subject_id"].as_str().unwrap()),
    ] {
        let (st, p) = s.get(&path, &auditor).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "auditor {path}: {p}");
        assert_eq!(s.get(&path, &dpo).await.0, StatusCode::OK, "dpo {path}");
    }
    for tok in [&auditor, &dpo] {
        let (st, ev) = s.get("/v1/audit/events?limit=10", tok).await;
        assert_eq!(st, StatusCode::OK, "{ev}");
        assert_eq!(s.get(&format!("/v1/tenants/{t}/access-review"), tok).await.0, StatusCode::OK);
        assert_eq!(s.get(&format!("/v1/tenants/{t}/policy"), tok).await.0, StatusCode::OK);
        assert_eq!(
            s.post(&format!("/v1/tenants/{t}/staff"), tok, json!({"username": "x", "role": "operator"})).await.0,
            StatusCode::FORBIDDEN
        );
    }
    // Refusals are recorded as denied.
    let (_, ev) = s.get("/v1/audit/events?action=record.read&limit=100", &s.admin).await;
    assert!(ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"]["outcome"] == "denied" && e["event"]["role"] == "auditor"));
}
both!(acc1_auditor_reads_the_trail_not_the_data_dpo_both);

async fn acc2_operator_sees_only_granted_collections_and_masked_fields(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Need to know", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, newsletter()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let news = format!("/v1/tenants/{t}/collections/newsletter/records");
    let (_, r) = s
        .post(&recs, &s.admin, json!({"data": {"email": "mojca@x.si", "name": "Mojca", "phone": "+386 41 555 123"}}))
        .await;
    let (st, n) = s.post(&news, &s.admin, json!({"data": {"email": "mojca@x.si", "topics": "shoes"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    let (rec, subject) = (r["id"].as_str().unwrap().to_string(), r["subject_id"].as_str().unwrap().to_string());
    let op = s
        .staff_with(&t, "op", "operator", json!({"grants": {"customers": ["read"]}, "masks": {"customers": ["phone"]}}))
        .await;
    // Read is granted on customers; the masked field reads as "***".
    let (st, got) = s.get(&format!("{recs}/{rec}"), &op).await;
    assert_eq!(st, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["phone"], "***");
    assert_eq!(got["data"]["name"], "Mojca");
    // …and a masked field is not recorded as read.
    let (_, ev) = s.get(&format!("/v1/audit/events?action=record.read&tenant={t}&limit=100"), &s.admin).await;
    let mine: Vec<&Value> =
        ev["events"].as_array().unwrap().iter().filter(|e| e["event"]["role"] == "operator").collect();
    let fields = mine.last().unwrap()["event"]["fields"].as_array().unwrap();
    assert!(fields.contains(&json!("name")) && !fields.contains(&json!("phone")), "{fields:?}");
    // Not granted: writing, erasing, another collection.
    let (st, p) = s.post(&recs, &op, json!({"data": {"email": "z@x.si", "name": "Z"}})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("write"), "{p}");
    assert_eq!(s.delete(&format!("{recs}/{rec}"), &op).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&news, &op).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.delete(&format!("/v1/tenants/{t}/subjects/{subject}"), &op).await.0, StatusCode::FORBIDDEN);
    // A subject's records: only the granted collections, masked.
    let (st, all) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/records"), &op).await;
    assert_eq!(st, StatusCode::OK);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 1, "newsletter is not granted: {all:?}");
    assert_eq!(all[0]["data"]["phone"], "***");
    let (_, admin_view) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/records"), &s.admin).await;
    assert_eq!(admin_view.as_array().unwrap().len(), 2);
    // A grant change applies at once to the running session.
    let (_, staff) = s.get(&format!("/v1/tenants/{t}/staff"), &s.admin).await;
    let id = staff[0]["id"].as_str().unwrap();
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/staff/{id}/access"),
            &s.admin,
            json!({"role": "operator", "access": {"grants": {"customers": ["read", "write"], "newsletter": ["read"]}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(s.get(&news, &op).await.0, StatusCode::OK);
    let (_, got) = s.get(&format!("{recs}/{rec}"), &op).await;
    assert_eq!(got["data"]["phone"], "+38641555123", "mask lifted");
    assert_eq!(s.post(&recs, &op, json!({"data": {"email": "z@x.si", "name": "Z"}})).await.0, StatusCode::CREATED);
    // Bad grants are refused and change nothing.
    let (st, p) = s
        .put(
            &format!("/v1/tenants/{t}/staff/{id}/access"),
            &s.admin,
            json!({"role": "operator", "access": {"grants": {"customers": ["fly"]}}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (st, p) =
        s.put(&format!("/v1/tenants/{t}/staff/{id}/access"), &s.admin, json!({"role": "wizard", "access": {}})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("role")));
    assert_eq!(s.get(&news, &op).await.0, StatusCode::OK);
}
both!(acc2_operator_sees_only_granted_collections_and_masked_fields);

async fn acc2_api_keys_are_scoped_expire_and_are_shown_once(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Shop", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, newsletter()).await;
    let (svc, otp) = s.account(&t, "shop.backend", "service", json!({})).await;
    assert!(otp.is_empty(), "a service account has no password to show");
    assert_eq!(s.login("shop.backend", "anything at all", json!({})).await.0, StatusCode::UNAUTHORIZED);
    let body = json!({"account": svc, "name": "web shop", "access": {"grants": {"newsletter": ["read", "write"]}}, "days": 30});
    let (st, k) = s.post(&format!("/v1/tenants/{t}/api-keys"), &s.admin, body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let key = k["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("vk_"));
    let news = format!("/v1/tenants/{t}/collections/newsletter/records");
    let (st, r) = s.post(&news, &key, json!({"data": {"email": "sub@x.si", "topics": "sale"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(s.get(&news, &key).await.0, StatusCode::OK);
    assert_eq!(s.get(&format!("/v1/tenants/{t}/collections/customers/records"), &key).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&format!("/v1/tenants/{t}/staff"), &key).await.0, StatusCode::FORBIDDEN);
    let other = s.tenant("Other", false).await;
    assert_eq!(s.get(&format!("/v1/tenants/{other}/collections"), &key).await.0, StatusCode::NOT_FOUND);
    // Listed without the key, with its last use.
    s.clock.advance(61_000);
    assert_eq!(s.get(&news, &key).await.0, StatusCode::OK);
    // The last use is written off the request's path: wait for it (at most 5 s).
    let mut list = Value::Null;
    for _ in 0..50 {
        list = s.get(&format!("/v1/tenants/{t}/api-keys"), &s.admin).await.1;
        if list[0]["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("key").is_none(), "{list}");
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    // Only for a service account; days within limits.
    let admin_id = s.get("/v1/auth/me", &s.admin).await.1["staff_id"].as_str().unwrap().to_string();
    let mut bad = body.clone();
    bad["account"] = json!(admin_id);
    assert_eq!(s.post(&format!("/v1/tenants/{t}/api-keys"), &s.admin, bad).await.0, StatusCode::NOT_FOUND);
    let mut bad = body.clone();
    bad["days"] = json!(0);
    assert_eq!(s.post(&format!("/v1/tenants/{t}/api-keys"), &s.admin, bad).await.1["field"], "days");
    // Expiry.
    let (_, short) = s
        .post(
            &format!("/v1/tenants/{t}/api-keys"),
            &s.admin,
            json!({"account": svc, "name": "short", "access": {"grants": {"*": ["read"]}}, "days": 1}),
        )
        .await;
    let short = short["key"].as_str().unwrap().to_string();
    assert_eq!(s.get(&news, &short).await.0, StatusCode::OK);
    s.clock.advance(86_400_000 + 1_000);
    assert_eq!(s.get(&news, &short).await.0, StatusCode::UNAUTHORIZED, "expired");
    // Revocation (the administrator signs in again: a day has passed).
    let admin = s.token("admin").await;
    let id = list[0]["id"].as_str().unwrap();
    assert_eq!(s.delete(&format!("/v1/tenants/{t}/api-keys/{id}"), &admin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&news, &key).await.0, StatusCode::UNAUTHORIZED, "revoked");
    assert_eq!(s.delete(&format!("/v1/tenants/{t}/api-keys/{id}"), &admin).await.0, StatusCode::NOT_FOUND);
    // Sign-in networks do not apply to keys; key networks do.
    let p = varuh::domain::policy::Policy::from_toml(
        "[networks]\napi_keys = [\"10.0.0.0/8\"]\n[four_eyes]\noperations = []\n",
    )
    .unwrap();
    assert_eq!(
        s.put(&format!("/v1/tenants/{t}/policy"), &admin, serde_json::to_value(&p).unwrap()).await.0,
        StatusCode::OK
    );
    let (_, k2) = s
        .post(
            &format!("/v1/tenants/{t}/api-keys"),
            &admin,
            json!({"account": svc, "name": "net", "access": {"grants": {"*": ["read"]}}, "days": 5}),
        )
        .await;
    let k2 = k2["key"].as_str().unwrap().to_string();
    assert_eq!(s.get(&news, &k2).await.0, StatusCode::UNAUTHORIZED, "127.0.0.1 is not a listed network for keys");
}
both!(acc2_api_keys_are_scoped_expire_and_are_shown_once);

async fn acc3_four_eyes_holds_erasure_grants_and_policy(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Four eyes", false).await;
    s.collection(&t, customers()).await;
    let a1 = s.staff(&t, "adm.one", "administrator").await;
    let a2 = s.staff(&t, "adm.two", "administrator").await;
    let dpo = s.staff(&t, "the.dpo", "dpo").await;
    let op = s.staff(&t, "op", "operator").await;
    s.set_policy(&t, "[four_eyes]\noperations = [\"subject.erase\", \"records.export\", \"grants.change\", \"policy.change\"]\napproval_hours = 24\n[mfa]\nrequired = \"optional\"\n").await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (_, r) = s.post(&recs, &a1, json!({"data": {"email": "gone@x.si", "name": "G"}})).await;
    let subject = r["subject_id"].as_str().unwrap().to_string();
    // The erasure is held: 202 with a pending approval, nothing erased.
    let (st, ap) = s.delete(&format!("/v1/tenants/{t}/subjects/{subject}"), &a1).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{ap}");
    assert_eq!(ap["state"], "pending");
    assert_eq!(ap["action"], "subject.erase");
    let id = ap["id"].as_str().unwrap().to_string();
    assert_eq!(s.get(&format!("/v1/tenants/{t}/subjects/{subject}"), &a1).await.0, StatusCode::OK, "not erased yet");
    // Nobody approves their own; an operator may not decide; a reject needs a reason.
    let (st, p) = s.post(&format!("/v1/tenants/{t}/approvals/{id}/approve"), &a1, json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    assert_eq!(
        s.post(&format!("/v1/tenants/{t}/approvals/{id}/approve"), &op, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (st, p) = s.post(&format!("/v1/tenants/{t}/approvals/{id}/reject"), &a2, json!({"reason": "  "})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{p}");
    // The DPO approves: it runs, as the requester.
    let (st, done) = s.post(&format!("/v1/tenants/{t}/approvals/{id}/approve"), &dpo, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "approved");
    assert_eq!(s.get(&format!("/v1/tenants/{t}/subjects/{subject}"), &a1).await.0, StatusCode::NOT_FOUND, "erased");
    assert_eq!(
        s.post(&format!("/v1/tenants/{t}/approvals/{id}/approve"), &a2, json!({})).await.0,
        StatusCode::CONFLICT,
        "decided once"
    );
    // Every step is audited, the erasure linked to its approval and run as the requester.
    let (_, ev) = s.get(&format!("/v1/audit/events?tenant={t}&action=subject.erase&limit=100"), &s.admin).await;
    let ev = ev["events"].as_array().unwrap();
    assert!(
        ev.iter().any(|e| e["event"]["detail"].as_str().unwrap_or("").contains(&format!("held for approval={id}"))),
        "{ev:?}"
    );
    let run = ev
        .iter()
        .find(|e| e["event"]["detail"].as_str().unwrap_or("").contains("records_deleted=1"))
        .expect("the erasure ran");
    assert!(run["event"]["detail"].as_str().unwrap().contains(&format!("approval={id}")));
    let me = s.get("/v1/auth/me", &a1).await.1;
    assert_eq!(run["event"]["actor"], me["staff_id"], "run as the requester");
    let (_, dec) = s.get(&format!("/v1/audit/events?tenant={t}&action=approval.decide&limit=100"), &s.admin).await;
    assert!(dec["events"].as_array().unwrap().iter().any(|e| e["event"]["outcome"] == "ok"));
    // A rejected grant change changes nothing.
    let (_, staff) = s.get(&format!("/v1/tenants/{t}/staff"), &a1).await;
    let op_id =
        staff.as_array().unwrap().iter().find(|x| x["username"] == "op").unwrap()["id"].as_str().unwrap().to_string();
    let (st, ap) = s
        .put(&format!("/v1/tenants/{t}/staff/{op_id}/access"), &a1, json!({"role": "administrator", "access": {}}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{ap}");
    let gid = ap["id"].as_str().unwrap();
    let (st, rej) = s
        .post(&format!("/v1/tenants/{t}/approvals/{gid}/reject"), &a2, json!({"reason": "not needed for the job"}))
        .await;
    assert_eq!((st, rej["state"].as_str()), (StatusCode::OK, Some("rejected")));
    let (_, one) = s.get(&format!("/v1/tenants/{t}/staff/{op_id}"), &a1).await;
    assert_eq!(one["role"], "operator");
    // An approval expires.
    let (_, ap) = s.post(&format!("/v1/tenants/{t}/collections/customers/export"), &op, json!({})).await;
    let eid = ap["id"].as_str().unwrap().to_string();
    let (_, list) = s.get(&format!("/v1/tenants/{t}/approvals"), &dpo).await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    s.clock.advance(25 * 3_600_000);
    let (dpo, op, a2) = (s.token("the.dpo").await, s.token("op").await, s.token("adm.two").await);
    let (st, p) = s.post(&format!("/v1/tenants/{t}/approvals/{eid}/approve"), &dpo, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    // An approved export is collected once, by its requester.
    let (_, ap) = s.post(&format!("/v1/tenants/{t}/collections/customers/export"), &op, json!({})).await;
    let eid = ap["id"].as_str().unwrap().to_string();
    assert_eq!(s.post(&format!("/v1/tenants/{t}/approvals/{eid}/approve"), &dpo, json!({})).await.0, StatusCode::OK);
    assert_eq!(
        s.get(&format!("/v1/tenants/{t}/approvals/{eid}/export"), &a2).await.0,
        StatusCode::NOT_FOUND,
        "not the requester's"
    );
    let (st, rows) = s.get(&format!("/v1/tenants/{t}/approvals/{eid}/export"), &op).await;
    assert_eq!(st, StatusCode::OK, "{rows}");
    assert!(rows.is_array());
    assert_eq!(s.get(&format!("/v1/tenants/{t}/approvals/{eid}/export"), &op).await.0, StatusCode::CONFLICT, "once");
    // Asked for encrypted, it is collected only encrypted (the key given again at collection).
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    let gen = std::process::Command::new("age-keygen").arg("-o").arg(&key).output().expect("age-keygen");
    let recipient = String::from_utf8_lossy(&gen.stderr).trim().trim_start_matches("Public key: ").to_string();
    let protect = json!({"protect": {"age_recipient": recipient}});
    let (st, ap) = s.post(&format!("/v1/tenants/{t}/collections/customers/export"), &op, protect.clone()).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{ap}");
    let eid = ap["id"].as_str().unwrap().to_string();
    assert_eq!(ap["command"]["protected"], true, "the approver sees it goes out encrypted: {ap}");
    assert_eq!(s.post(&format!("/v1/tenants/{t}/approvals/{eid}/approve"), &dpo, json!({})).await.0, StatusCode::OK);
    let collect = format!("/v1/tenants/{t}/approvals/{eid}/export");
    for (st, p) in [s.get(&collect, &op).await, s.post(&collect, &op, json!({})).await] {
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("protect")), "{p}");
    }
    let (st, ct, sealed) = s.download(&collect, &op, protect).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/octet-stream"));
    let file = dir.path().join("export.json.age");
    std::fs::write(&file, &sealed).unwrap();
    let open = std::process::Command::new("age").arg("-d").arg("-i").arg(&key).arg(&file).output().expect("age");
    assert!(open.status.success(), "{}", String::from_utf8_lossy(&open.stderr));
    let rows: Value = serde_json::from_slice(&open.stdout).unwrap();
    assert!(rows.is_array(), "{rows}");
    assert_eq!(s.get(&collect, &op).await.0, StatusCode::CONFLICT, "once");
}
both!(acc3_four_eyes_holds_erasure_grants_and_policy);

async fn access_review_lists_every_account_and_flags_dormant_ones(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Review", false).await;
    let _ = s
        .staff_with(
            &t,
            "active.op",
            "operator",
            json!({"grants": {"customers": ["read"]}, "masks": {"customers": ["phone"]}}),
        )
        .await;
    let (_, _) = s.account(&t, "=1+2", "auditor", json!({})).await;
    s.clock.advance(100 * 86_400_000);
    let (_, l) = s.login("active.op", PASSWORD, json!({})).await;
    assert!(l["token"].is_string(), "{l}");
    let (_, l) = s.login("admin", PASSWORD, json!({})).await;
    let admin = l["token"].as_str().unwrap().to_string();
    let (st, review) = s.get(&format!("/v1/tenants/{t}/access-review"), &admin).await;
    assert_eq!(st, StatusCode::OK, "{review}");
    let review = review.as_array().unwrap();
    assert_eq!(review.len(), 2);
    let op = review.iter().find(|r| r["account"]["username"] == "active.op").unwrap();
    assert_eq!(op["dormant"], false);
    assert_eq!(op["account"]["access"]["grants"]["customers"], json!(["read"]));
    let never = review.iter().find(|r| r["account"]["username"] != "active.op").unwrap();
    assert_eq!(never["dormant"], true, "never signed in for 100 days");
    let r =
        s.http.get(format!("{}/v1/tenants/{t}/access-review.csv", s.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,username,role,state,mfa,"));
    assert!(csv.contains("\"customers:read\"") && csv.contains("\"customers:phone\""), "{csv}");
    assert!(csv.contains("\"'=1+2\""), "a formula is defused: {csv}");
}
both!(access_review_lists_every_account_and_flags_dormant_ones);
