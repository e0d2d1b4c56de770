//! Retention (RET-1) and legal holds (RET-2) through the API on both
//! backends: the sweep deletes or anonymises what has expired (from the
//! last change, from creation, after a subject's event), a dry run only
//! reports, a hold keeps what it covers from the sweep and from erasure
//! until it is lifted; the CLI and the server's scheduler run the same
//! sweep.

use crate::support::{both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

fn collection(name: &str, retention: Value, erasure: Value) -> Value {
    json!({
        "name": name,
        "purposes": ["service"],
        "legal_basis": "contract",
        "subject_categories": ["customers"],
        "source": "the data subject",
        "retention": retention,
        "erasure": erasure,
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "note", "type": "string", "category": "commercial"},
            {"name": "amount", "type": "number", "category": "financial"}
        ]
    })
}

async fn setup(s: &TestServer) -> String {
    let t = s.tenant("Ham d.o.o.", false).await;
    for c in [
        collection("visits", json!({"kind": "period", "days": 30}), json!({"rule": "delete"})),
        collection(
            "orders",
            json!({"kind": "period", "days": 10, "from": "created"}),
            json!({"rule": "anonymise", "keep": ["amount"]}),
        ),
        collection(
            "contracts",
            json!({"kind": "after_event", "event": "contract_end", "days": 90}),
            json!({"rule": "delete"}),
        ),
        collection("ledger", json!({"kind": "permanent"}), json!({"rule": "refuse", "reason": "kept by law"})),
    ] {
        s.collection(&t, c).await;
    }
    t
}

async fn record(s: &TestServer, t: &str, c: &str, data: Value) -> Value {
    let (st, r) = s.post(&format!("/v1/tenants/{t}/collections/{c}/records"), &s.admin, json!({"data": data})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    r
}

fn sweep<'a>(report: &'a Value, collection: &str) -> &'a Value {
    report["collections"]
        .as_array()
        .and_then(|v| v.iter().find(|c| c["collection"] == collection))
        .unwrap_or_else(|| panic!("{collection} not in {report}"))
}

async fn ret1_the_sweep_removes_what_has_expired_and_holds_keep_it(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = setup(&s).await;
    s.staff(&t, "dpo", "dpo").await;
    let run = format!("/v1/tenants/{t}/retention/run");
    let ana = record(&s, &t, "visits", json!({"email": "ana@x.si", "note": "first visit"})).await;
    let bor = record(&s, &t, "visits", json!({"email": "bor@x.si", "note": "first visit"})).await;
    let order = record(&s, &t, "orders", json!({"email": "ana@x.si", "amount": 42.5, "note": "by phone"})).await;
    let cene = record(&s, &t, "contracts", json!({"email": "cene@x.si", "note": "yearly"})).await;
    let dana = record(&s, &t, "ledger", json!({"email": "dana@x.si", "amount": 7})).await;
    let sid = |r: &Value| r["subject_id"].as_str().unwrap().to_string();
    let events = format!("/v1/tenants/{t}/subjects/{}/retention-events", sid(&cene));
    let (st, e) = s.post(&events, &s.admin, json!({"event": "contract_end"})).await;
    assert_eq!((st, e["event"].as_str()), (StatusCode::CREATED, Some("contract_end")), "{e}");
    // Bad input: a clear error, nothing recorded.
    for (body, field) in [(json!({"event": "Contract End"}), "event"), (json!({"event": "x", "at": "soon"}), "at")] {
        let (st, p) = s.post(&events, &s.admin, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{p}");
    }
    // By e-mail, for many subjects at once (a CRM's list of ended contracts).
    let bulk = format!("/v1/tenants/{t}/retention-events");
    let (st, p) =
        s.post(&bulk, &s.admin, json!({"event": "contract_end", "emails": ["cene@x.si", "not-an-address"]})).await;
    assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("emails[1]")), "{p}");
    let (st, p) = s
        .post(&bulk, &s.admin, json!({"event": "contract_end", "emails": ["cene@x.si", "CENE@x.si", "nobody@x.si"]}))
        .await;
    assert_eq!((st, p["recorded"].as_u64(), p["unknown"].as_u64()), (StatusCode::OK, Some(1), Some(1)), "{p}");
    let nobody = format!("/v1/tenants/{t}/subjects/{}/retention-events", uuid::Uuid::now_v7());
    assert_eq!(s.post(&nobody, &s.admin, json!({"event": "contract_end"})).await.0, StatusCode::NOT_FOUND);

    // Day 20: Bor's visit changes (its 30 days count from then). Day 31: Ana's expired.
    s.travel(20 * DAY).await;
    let bor_rec = format!("/v1/tenants/{t}/collections/visits/records/{}", bor["id"].as_str().unwrap());
    let (st, _) =
        s.call(reqwest::Method::PATCH, &bor_rec, Some(&s.admin), Some(json!({"data": {"note": "again"}}))).await;
    assert_eq!(st, StatusCode::OK);
    s.travel(11 * DAY).await;
    let dpo = s.token("dpo").await;

    // A dry run reports and removes nothing.
    let (st, dry) = s.post(&run, &dpo, json!({"dry_run": true})).await;
    assert_eq!(st, StatusCode::OK, "{dry}");
    assert_eq!(
        (sweep(&dry, "visits")["expired"].as_u64(), sweep(&dry, "visits")["deleted"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(sweep(&dry, "orders")["expired"], 1);
    assert_eq!(sweep(&dry, "contracts")["expired"], 0, "90 days after the contract ended");
    assert!(dry["collections"].as_array().unwrap().iter().all(|c| c["collection"] != "ledger"), "permanent: {dry}");
    let ana_rec = format!("/v1/tenants/{t}/collections/visits/records/{}", ana["id"].as_str().unwrap());
    assert_eq!(s.get(&ana_rec, &s.admin).await.0, StatusCode::OK, "a dry run changes nothing");

    // The run: Ana's visit deleted, her order anonymised, Ana gone with her key.
    let (st, r) = s.post(&run, &dpo, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let v = sweep(&r, "visits");
    assert_eq!((v["expired"].as_u64(), v["deleted"].as_u64()), (Some(1), Some(1)), "{r}");
    let o = sweep(&r, "orders");
    assert_eq!((o["anonymised"].as_u64(), v["subjects_erased"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!(s.get(&ana_rec, &s.admin).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&bor_rec, &s.admin).await.0, StatusCode::OK, "changed on day 20: kept");
    let lookup = format!("/v1/tenants/{t}/subjects/lookup");
    let (st, _) = s.post(&lookup, &s.admin, json!({"kind": "email", "value": "ana@x.si"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "nothing of Ana remains");
    let (_, anon) = s.get(&format!("/v1/tenants/{t}/collections/orders/anonymised?limit=10"), &s.admin).await;
    assert_eq!(anon[0]["data"], json!({"amount": 42.5}), "{anon}");
    assert_eq!(anon.as_array().map(Vec::len), Some(1));
    let _ = order;

    // A legal hold on Bor: the sweep and the erasure keep his data.
    let holds = format!("/v1/tenants/{t}/legal-holds");
    let reason = "litigation: Bor Kranjc v. Ham (case 12/2026)";
    let (st, h) = s.post(&holds, &dpo, json!({"scope": "subject", "target": sid(&bor), "reason": reason})).await;
    assert_eq!(st, StatusCode::CREATED, "{h}");
    let hold = h["id"].as_str().unwrap().to_string();
    assert_eq!((h["active"].as_bool(), h["reason"].as_str()), (Some(true), Some(reason)));
    for (body, st_want, field) in [
        (
            json!({"scope": "subject", "target": "not-an-id", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("target"),
        ),
        (
            json!({"scope": "collection", "target": "nope", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("target"),
        ),
        (
            json!({"scope": "subject", "target": sid(&bor), "reason": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reason"),
        ),
        (
            json!({"scope": "subject", "target": sid(&bor), "reason": "x", "until": "2000-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("until"),
        ),
        (
            json!({"scope": "record", "target": uuid::Uuid::now_v7().to_string(), "reason": "x"}),
            StatusCode::NOT_FOUND,
            None,
        ),
    ] {
        let (st, p) = s.post(&holds, &dpo, body).await;
        assert_eq!((st, p["field"].as_str()), (st_want, field), "{p}");
    }
    let op = s.staff(&t, "op", "operator").await;
    assert_eq!(
        s.post(&holds, &op, json!({"scope": "subject", "target": sid(&bor), "reason": "x"})).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = s.get(&holds, &dpo).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "the refused ones left nothing: {list}");

    s.travel(40 * DAY).await;
    let dpo = s.token("dpo").await;
    let (_, r) = s.post(&run, &dpo, json!({})).await;
    let v = sweep(&r, "visits");
    assert_eq!((v["expired"].as_u64(), v["deleted"].as_u64(), v["held"].as_u64()), (Some(1), Some(0), Some(1)), "{r}");
    assert_eq!(v["holds"], json!([hold]));
    assert_eq!(s.get(&bor_rec, &s.admin).await.0, StatusCode::OK, "held");
    let (st, e) = s.delete(&format!("/v1/tenants/{t}/subjects/{}", sid(&bor)), &s.admin).await;
    assert_eq!(
        (st, e["records_deleted"].as_u64(), e["subject_erased"].as_bool()),
        (StatusCode::OK, Some(0), Some(false)),
        "{e}"
    );
    assert!(e["kept"][0]["reason"].as_str().unwrap().contains(&hold), "the erasure says why: {e}");
    let (st, p) = s.delete(&bor_rec, &s.admin).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert!(p["detail"].as_str().unwrap_or_default().contains("legal hold"), "{p}");

    // Lifted (with a reason, once): the next run removes it.
    let lift = format!("{holds}/{hold}/lift");
    assert_eq!(s.post(&lift, &dpo, json!({"reason": " "})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, l) = s.post(&lift, &dpo, json!({"reason": "the case was settled"})).await;
    assert_eq!(
        (st, l["active"].as_bool(), l["lift_reason"].as_str()),
        (StatusCode::OK, Some(false), Some("the case was settled"))
    );
    assert_eq!(s.post(&lift, &dpo, json!({"reason": "again"})).await.0, StatusCode::CONFLICT);
    let (_, r) = s.post(&run, &dpo, json!({})).await;
    assert_eq!(sweep(&r, "visits")["deleted"], 1, "{r}");
    assert_eq!(s.get(&bor_rec, &s.admin).await.0, StatusCode::NOT_FOUND);

    // 91 days after the contract ended: Cene's contract goes; the ledger stays.
    s.travel(20 * DAY).await;
    let dpo = s.token("dpo").await;
    let (_, r) = s.post(&run, &dpo, json!({})).await;
    assert_eq!(sweep(&r, "contracts")["deleted"], 1, "{r}");
    let (st, _) =
        s.get(&format!("/v1/tenants/{t}/collections/ledger/records/{}", dana["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::OK);

    // Audited, without values; the trail verifies.
    let ev = s.events("retention.run").await;
    assert!(ev.iter().any(|e| e["event"]["detail"].as_str().unwrap_or("").contains("deleted=1")), "{ev:?}");
    let all = format!("{ev:?}{:?}", s.events("legal_hold.set").await);
    assert!(!all.contains("Kranjc") && !all.contains("x.si"), "{all}");
    assert!(s.verify_trail().await.ok());
}
both!(ret1_the_sweep_removes_what_has_expired_and_holds_keep_it);

/// A hold on a collection or a record, one ending by itself.
async fn ret2_holds_on_a_collection_and_a_record(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = setup(&s).await;
    let run = format!("/v1/tenants/{t}/retention/run");
    let holds = format!("/v1/tenants/{t}/legal-holds");
    let a = record(&s, &t, "visits", json!({"email": "a@y.si"})).await;
    let c = record(&s, &t, "contracts", json!({"email": "c@y.si"})).await;
    s.post(
        &format!("/v1/tenants/{t}/subjects/{}/retention-events", c["subject_id"].as_str().unwrap()),
        &s.admin,
        json!({"event": "contract_end"}),
    )
    .await;
    let until = varuh::clock::rfc3339(s.clock.now_ms() + 100 * DAY);
    let (st, h) = s
        .post(
            &holds,
            &s.admin,
            json!({"scope": "collection", "target": "visits", "reason": "audit by the authority", "until": until}),
        )
        .await;
    assert_eq!((st, h["collection"].as_str()), (StatusCode::CREATED, Some("visits")), "{h}");
    let (st, _) = s.post(&holds, &s.admin, json!({"scope": "record", "target": c["id"], "reason": "evidence"})).await;
    assert_eq!(st, StatusCode::CREATED);
    s.travel(95 * DAY).await;
    let (_, r) = s.post(&run, &s.admin, json!({})).await;
    assert_eq!(
        (sweep(&r, "visits")["held"].as_u64(), sweep(&r, "contracts")["held"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let rec = |c: &str, r: &Value| format!("/v1/tenants/{t}/collections/{c}/records/{}", r["id"].as_str().unwrap());
    assert_eq!(s.get(&rec("visits", &a), &s.admin).await.0, StatusCode::OK);
    // Day 101: the collection's hold has ended by itself; the record's has not.
    s.travel(6 * DAY).await;
    let (_, r) = s.post(&run, &s.admin, json!({})).await;
    assert_eq!(
        (sweep(&r, "visits")["deleted"].as_u64(), sweep(&r, "contracts")["held"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(s.get(&rec("visits", &a), &s.admin).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&rec("contracts", &c), &s.admin).await.0, StatusCode::OK);
    let (_, list) = s.get(&holds, &s.admin).await;
    let active: Vec<bool> = list.as_array().unwrap().iter().map(|h| h["active"].as_bool().unwrap()).collect();
    assert_eq!(active, [true, false], "newest first: {list}");
}
both!(ret2_holds_on_a_collection_and_a_record);

/// The server's scheduler runs the sweep by itself.
async fn ret1_the_scheduler_sweeps_by_itself(b: Backend) {
    let mut s = TestServer::start_with(b, |c| c.retention_seconds = 1).await;
    let t = setup(&s).await;
    let a = record(&s, &t, "visits", json!({"email": "a@z.si"})).await;
    let rec = format!("/v1/tenants/{t}/collections/visits/records/{}", a["id"].as_str().unwrap());
    s.travel(31 * DAY).await;
    let mut st = StatusCode::OK;
    for _ in 0..100 {
        st = s.get(&rec, &s.admin).await.0;
        if st == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(st, StatusCode::NOT_FOUND, "the scheduled sweep removed the expired record");
    assert!(!s.events("retention.run").await.is_empty());
}
both!(ret1_the_scheduler_sweeps_by_itself);

/// `varuh retention run` on the server's machine: a dry run reports, a
/// run removes; the same sweep as the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ret1_the_cli_runs_the_sweep() {
    let s = TestServer::start(Backend::Sqlite).await;
    let t = setup(&s).await;
    let rec = record(&s, &t, "contracts", json!({"email": "c@cli.si"})).await;
    let sid = rec["subject_id"].as_str().unwrap();
    let at = varuh::clock::rfc3339(s.clock.now_ms() - 100 * DAY);
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{t}/subjects/{sid}/retention-events"),
            &s.admin,
            json!({"event": "contract_end", "at": at}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
            .arg("--data-dir")
            .arg(&s.cfg.data_dir)
            .args(["retention", "run"])
            .args(extra)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, out) = run(&["--dry-run"]);
    assert!(ok && out.contains("contracts: 1 expired, would remove 1"), "{out}");
    let path = format!("/v1/tenants/{t}/collections/contracts/records/{}", rec["id"].as_str().unwrap());
    assert_eq!(s.get(&path, &s.admin).await.0, StatusCode::OK, "a dry run removes nothing");
    let (ok, out) = run(&["--tenant", &t]);
    assert!(
        ok && out.contains("contracts: 1 expired, removed 1 (1 deleted, 0 anonymised), 1 subjects erased"),
        "{out}"
    );
    let s2 = s.reopen().await;
    assert_eq!(s2.get(&path, &s2.admin).await.0, StatusCode::NOT_FOUND);
    let (ok, out) = run(&["--tenant", "not-a-uuid"]);
    assert!(!ok && out.contains("invalid value"), "{out}");
}

/// A sweep over more than one page (10,000 subjects a page, the next one
/// found while the writer removes the one before): every expired record
/// found and removed, subjects with the event but no record in the
/// collection passed over.
async fn ret1_a_sweep_of_many_pages(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = setup(&s).await;
    let n = 10_050;
    let mut csv = String::from("email\n");
    let mut emails = Vec::new();
    for i in 0..n {
        csv.push_str(&format!("p{i}@pages.si\n"));
        emails.push(format!("p{i}@pages.si"));
    }
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/contracts/import"),
            &s.admin,
            json!({"csv": csv, "columns": {"email": "email"}}),
        )
        .await;
    assert_eq!((st, r["imported"].as_u64()), (StatusCode::OK, Some(n)), "{r}");
    // Ended contracts of people who have only a visit on record: nothing of theirs goes.
    for i in 0..30 {
        record(&s, &t, "visits", json!({"email": format!("v{i}@pages.si")})).await;
        emails.push(format!("v{i}@pages.si"));
    }
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/retention-events"),
            &s.admin,
            json!({"event": "contract_end", "emails": emails}),
        )
        .await;
    assert_eq!((st, r["recorded"].as_u64()), (StatusCode::OK, Some(n + 30)), "{r}");
    s.travel(91 * DAY).await;
    let run = format!("/v1/tenants/{t}/retention/run");
    let (_, dry) = s.post(&run, &s.admin, json!({"dry_run": true})).await;
    assert_eq!(sweep(&dry, "contracts")["expired"], n, "{dry}");
    let (_, r) = s.post(&run, &s.admin, json!({})).await;
    let c = sweep(&r, "contracts");
    assert_eq!((c["deleted"].as_u64(), c["subjects_erased"].as_u64()), (Some(n), Some(n)), "{r}");
    let (_, again) = s.post(&run, &s.admin, json!({"dry_run": true})).await;
    assert_eq!(sweep(&again, "contracts")["expired"], 0, "{again}");
    // The visits went by their own rule (30 days), not as contracts.
    assert_eq!(sweep(&r, "visits")["deleted"], 30, "{r}");
}
both!(ret1_a_sweep_of_many_pages);

/// Kept until consent is withdrawn: a consent that has expired lets the
/// sweep take the subject's records; a subject with no consent on record
/// is not touched.
async fn ret1_an_expired_consent_is_swept(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = s.tenant("EximiTech", false).await;
    s.collection(&t, crate::support::newsletter()).await;
    s.post(
        &format!("/v1/tenants/{t}/consent-notices"),
        &s.admin,
        json!({"purpose": "direct marketing", "text": "E-novice."}),
    )
    .await;
    let soon = varuh::clock::rfc3339(s.clock.now_ms() + 10 * DAY);
    let mut subjects = Vec::new();
    for (who, expires) in [("a", Some(soon.clone())), ("b", None), ("c", None)] {
        let r = record(&s, &t, "newsletter", json!({"email": format!("{who}@n.si")})).await;
        let sid = r["subject_id"].as_str().unwrap().to_string();
        if who != "c" {
            let mut body =
                json!({"purpose": "direct marketing", "given": true, "notice_version": 1, "channel": "web form"});
            if let Some(e) = expires {
                body["expires_at"] = json!(e);
            }
            let (st, c) = s.post(&format!("/v1/tenants/{t}/subjects/{sid}/consents"), &s.admin, body).await;
            assert_eq!(st, StatusCode::CREATED, "{c}");
        }
        subjects.push((sid, r["id"].as_str().unwrap().to_string()));
    }
    let run = format!("/v1/tenants/{t}/retention/run");
    let (_, r) = s.post(&run, &s.admin, json!({})).await;
    assert_eq!(sweep(&r, "newsletter")["expired"], 0, "all consents hold: {r}");
    s.travel(11 * DAY).await;
    let (_, r) = s.post(&run, &s.admin, json!({})).await;
    let n = sweep(&r, "newsletter");
    assert_eq!((n["deleted"].as_u64(), n["subjects_erased"].as_u64()), (Some(1), Some(1)), "{r}");
    let rec = |i: usize| format!("/v1/tenants/{t}/collections/newsletter/records/{}", subjects[i].1);
    assert_eq!(s.get(&rec(0), &s.admin).await.0, StatusCode::NOT_FOUND, "a's consent expired");
    assert_eq!(s.get(&rec(1), &s.admin).await.0, StatusCode::OK, "b's consent holds");
    assert_eq!(s.get(&rec(2), &s.admin).await.0, StatusCode::OK, "no consent on record: not guessed");
}
both!(ret1_an_expired_consent_is_swept);
