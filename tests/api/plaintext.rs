//! CONF-1/CONF-2: known personal values written through the API appear in
//! no file varuh writes (database, WAL, journal, logs), nor do the inputs of
//! their blind indexes, nor staff secrets (passwords, tokens, TOTP seeds and
//! codes, recovery codes, API keys, login names). The real binary runs with debug logs into the data
//! directory, and every file is read byte by byte, while running and after
//! a shutdown.

use crate::support::{customers, Proc, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Every needle must be absent from every file; the control must be present
/// somewhere (proving the scan reads what varuh wrote).
fn scan(dir: &std::path::Path, needles: &[String], control: &str) {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    assert!(
        files.iter().any(|f| f.extension().is_some_and(|e| e == "db")),
        "the database is in the data directory: {files:?}"
    );
    let mut control_seen = false;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        control_seen |= contains(&bytes, control.as_bytes());
        for n in needles {
            for form in [n.clone(), n.to_uppercase(), serde_json::to_string(n).unwrap()] {
                assert!(!contains(&bytes, form.as_bytes()), "{form:?} found in {}", f.display());
            }
        }
    }
    assert!(control_seen, "the scan found the (non-personal) tenant name, so it reads the stored bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conf1_conf2_no_plaintext_in_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = data.join("varuh.log");
    let env = [("VARUH_LOG", "debug".to_string()), ("VARUH_LOG_FILE", log.display().to_string())];
    std::fs::create_dir_all(&data).unwrap();
    let http = reqwest::Client::new();
    let mut p = Proc::start(&data, &["serve"], &env, false);
    p.wait_ready(&http).await;
    let otp = p.one_time_password().expect("the first start prints a one-time password");
    let call = |method: reqwest::Method, path: String, token: Option<String>, body: Value| {
        let http = http.clone();
        let base = p.base.clone();
        async move {
            let mut rb = http.request(method, format!("{base}{path}")).json(&body);
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            }
            let r = rb.send().await.unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, l) =
        call(reqwest::Method::POST, "/v1/auth/login".into(), None, json!({"username": "admin", "password": otp})).await;
    let token = l["token"].as_str().unwrap().to_string();
    let (st, _) = call(
        reqwest::Method::POST,
        "/v1/auth/password".into(),
        Some(token.clone()),
        json!({"current_password": otp, "new_password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let control = format!("Control Tenant {}", uuid::Uuid::new_v4().simple());
    let (_, t) = call(reqwest::Method::POST, "/v1/tenants".into(), Some(token.clone()), json!({"name": control})).await;
    let t = t["id"].as_str().unwrap().to_string();
    let (st, _) =
        call(reqwest::Method::POST, format!("/v1/tenants/{t}/collections"), Some(token.clone()), customers()).await;
    assert_eq!(st, StatusCode::CREATED);

    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let digits: String = tag.bytes().map(|b| char::from(b'0' + b % 10)).take(8).collect();
    let mut needles = Vec::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let email = format!("Zala.Vrhovnik{i}.{tag}@Primer.si");
        let name = format!("Zala Vrhovnik-{tag}-{i}");
        let phone = format!("+386 41 {digits}{i:02}");
        let (st, r) = call(
            reqwest::Method::POST,
            format!("/v1/tenants/{t}/collections/customers/records"),
            Some(token.clone()),
            json!({"data": {"email": email, "name": name, "phone": phone, "born": "1987-03-14"}}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
        // The values as given, and as normalised for the blind index.
        needles.push(email.clone());
        needles.push(email.to_lowercase());
        needles.push(name);
        needles.push(phone.clone());
        needles.push(phone.replace(' ', ""));
    }
    // Reads, updates and look-ups go through the logs too.
    for (i, id) in ids.iter().enumerate() {
        let (st, got) = call(
            reqwest::Method::GET,
            format!("/v1/tenants/{t}/collections/customers/records/{id}"),
            Some(token.clone()),
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(got["data"]["email"], needles[i * 5 + 1].as_str(), "values read back in the clear over the API");
    }
    let (st, _) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/subjects/lookup"),
        Some(token.clone()),
        json!({"kind": "email", "value": needles[0]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = call(
        reqwest::Method::PATCH,
        format!("/v1/tenants/{t}/collections/customers/records/{}", ids[0]),
        Some(token.clone()),
        json!({"data": {"name": needles[2]}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    // A refused value must not reach the logs either.
    let bad = format!("not-an-email-{tag}");
    let (st, _) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/collections/customers/records"),
        Some(token.clone()),
        json!({"data": {"email": bad, "name": "x"}}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    needles.push(bad);
    needles.push("1987-03-14".into());

    // The subject's rights: consent evidence, a recipient's contacts, the
    // DPO's e-mail in the tenant's settings, an anonymised record's kept value.
    let (_, rec) = call(
        reqwest::Method::GET,
        format!("/v1/tenants/{t}/collections/customers/records/{}", ids[1]),
        Some(token.clone()),
        Value::Null,
    )
    .await;
    let sid = rec["subject_id"].as_str().unwrap().to_string();
    let (st, n) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/consent-notices"),
        Some(token.clone()),
        json!({"purpose": "invoicing", "text": "Invoices by e-mail"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    let evidence = format!("confirmed from 198.51.100.{} token {tag}ev", digits.len());
    let (st, c) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/subjects/{sid}/consents"),
        Some(token.clone()),
        json!({"purpose": "invoicing", "given": true, "notice_version": 1, "channel": "web", "evidence": evidence}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    needles.push(evidence);
    // A breach's description and a notification's addressee (they may name people).
    let told = format!("Breach of {tag} customer files");
    let (st, br) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/breaches"),
        Some(token.clone()),
        json!({"kinds": ["confidentiality"], "aware_at": varuh::clock::rfc3339(varuh::clock::now_ms() - 60_000),
               "found_by": "controller", "description": told, "risk": "risk", "risk_rationale": "names"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    needles.push(told);
    let addressee = format!("case-{tag}@ip-rs.si");
    let (st, n) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/breaches/{}/notifications", br["id"].as_str().unwrap()),
        Some(token.clone()),
        json!({"audience": "authority", "phase": "initial", "to": addressee}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    needles.push(addressee);
    let contact = format!("privacy.{tag}@courier.si");
    let (st, r) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/recipients"),
        Some(token.clone()),
        json!({"name": "courier", "description": "parcels", "email": contact}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    needles.push(contact);
    let dpo_mail = format!("dpo.{tag}@ham.si");
    let (st, r) = call(
        reqwest::Method::PUT,
        format!("/v1/tenants/{t}/settings"),
        Some(token.clone()),
        json!({"dpo_email": dpo_mail}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    needles.push(dpo_mail);
    let hold_reason = format!("lawsuit Kranjc-{tag} v. Ham");
    let (st, h) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/legal-holds"),
        Some(token.clone()),
        json!({"scope": "subject", "target": sid, "reason": hold_reason}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{h}");
    needles.push(hold_reason);
    // A person in the staff register (an employee's name and training).
    let person = format!("Mojca Kranjc-{tag}");
    let (st, r) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/staff-register"),
        Some(token.clone()),
        json!({"name": person, "started_on": "2026-01-05", "trainings": [{"on": "2026-01-06", "topic": format!("GDPR {tag}")}]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    needles.push(person);

    // Secrets of staff: login names, passwords (generated, chosen, wrong),
    // bearer tokens, the TOTP seed and codes, recovery codes, API keys.
    let staff_name = format!("mojca.secret.{tag}");
    let (st, acct) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/staff"),
        Some(token.clone()),
        json!({"username": staff_name, "role": "dpo"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{acct}");
    let first = acct["one_time_password"].as_str().unwrap().to_string();
    let (_, l) =
        call(reqwest::Method::POST, "/v1/auth/login".into(), None, json!({"username": staff_name, "password": first}))
            .await;
    let staff_token = l["token"].as_str().unwrap().to_string();
    let chosen = format!("chosen passphrase {tag}");
    let (st, _) = call(
        reqwest::Method::POST,
        "/v1/auth/password".into(),
        Some(staff_token.clone()),
        json!({"current_password": first, "new_password": chosen}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, e) = call(reqwest::Method::POST, "/v1/auth/mfa/enrol".into(), Some(staff_token.clone()), json!({})).await;
    let seed = e["secret"].as_str().unwrap().to_string();
    let code = crate::identity::oathtool_now(&seed);
    let (st, c) =
        call(reqwest::Method::POST, "/v1/auth/mfa/confirm".into(), Some(staff_token.clone()), json!({"code": code}))
            .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let recovery: Vec<String> =
        c["recovery_codes"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    let wrong = format!("wrong guess {tag}");
    let (st, _) =
        call(reqwest::Method::POST, "/v1/auth/login".into(), None, json!({"username": staff_name, "password": wrong}))
            .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = call(
        reqwest::Method::POST,
        "/v1/auth/login".into(),
        None,
        json!({"username": staff_name, "password": chosen, "recovery_code": recovery[0]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, svc) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/staff"),
        Some(token.clone()),
        json!({"username": format!("svc.{tag}"), "role": "service"}),
    )
    .await;
    let (st, k) = call(
        reqwest::Method::POST,
        format!("/v1/tenants/{t}/api-keys"),
        Some(token.clone()),
        json!({"account": svc["id"], "name": "shop", "access": {"grants": {"*": ["read"]}}, "days": 5}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let key = k["key"].as_str().unwrap().to_string();
    let (st, _) = call(
        reqwest::Method::GET,
        format!("/v1/tenants/{t}/collections/customers/records"),
        Some(key.clone()),
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    needles.extend([
        staff_name,
        first,
        chosen,
        wrong,
        seed,
        code,
        key,
        token.clone(),
        staff_token,
        otp.clone(),
        PASSWORD.to_string(),
    ]);
    for r in &recovery {
        needles.push(r.clone());
        needles.push(r.replace('-', ""));
    }

    assert!(std::fs::metadata(&log).unwrap().len() > 0, "debug logs were written");
    scan(&data, &needles, &control);
    // After a clean shutdown (WAL checkpointed into the main file), again.
    assert!(p.terminate().success());
    scan(&data, &needles, &control);
}

/// CONF-2 on PostgreSQL: the cluster's own files (heap, WAL) hold no value
/// written through the API. Runs when scripts/test.sh provides the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conf2_no_plaintext_in_postgres_files() {
    let (Some(url), Ok(pgdata)) = (crate::support::pg_url(), std::env::var("VARUH_TEST_PG_DATADIR")) else { return };
    let s = crate::support::TestServer::start(crate::support::Backend::Postgres).await;
    let control = format!("PG Control {}", uuid::Uuid::new_v4().simple());
    let t = s.tenant(&control, false).await;
    s.collection(&t, customers()).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let mut needles = Vec::new();
    for i in 0..10 {
        let email = format!("Tina.Pg{i}.{tag}@Primer.si");
        let name = format!("Tina Pg-{tag}-{i}");
        let (st, r) = s
            .post(
                &format!("/v1/tenants/{t}/collections/customers/records"),
                &s.admin,
                json!({"data": {"email": email, "name": name}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        needles.push(email.to_lowercase());
        needles.push(email);
        needles.push(name);
    }
    // Force everything to the data files, then read the whole cluster.
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute("CHECKPOINT").unwrap();
    })
    .await
    .unwrap();
    let mut files = Vec::new();
    files_under(std::path::Path::new(&pgdata), &mut files);
    let mut control_seen = false;
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else { continue };
        control_seen |= contains(&bytes, control.as_bytes());
        for n in &needles {
            assert!(!contains(&bytes, n.as_bytes()), "{n:?} found in {}", f.display());
        }
    }
    assert!(control_seen, "the scan reads what PostgreSQL wrote");
}

/// DSR-4 (Art. 17): once an erasure is answered, the erased subject's
/// wrapped key and sealed record leave every file varuh writes within the
/// README's bound: `secure_delete` zeroes them in the pages, and the WAL,
/// which still holds the frames written before the erasure, is truncated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsr4_an_erased_subject_leaves_the_files() {
    use crate::support::{Backend, TestServer};
    let s = TestServer::start(Backend::Sqlite).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let recs = format!("/v1/tenants/{t}/collections/customers/records");
    let (_, keep) = s.post(&recs, &s.admin, json!({"data": {"email": "ostane@ham.si", "name": "Ostane"}})).await;
    let (st, gone) = s.post(&recs, &s.admin, json!({"data": {"email": "izbris@ham.si", "name": "Izbris"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{gone}");
    let url = s.cfg.database_url();
    let (sid, rid) = (gone["subject_id"].as_str().unwrap().to_string(), gone["id"].as_str().unwrap().to_string());
    let blobs = tokio::task::spawn_blocking(move || {
        let loc = varuh::store::Location::parse(&url).unwrap();
        let mut db = varuh::store::Store::connect_raw(&loc).unwrap();
        let key = db.query("SELECT wrapped_key FROM subjects WHERE id = $1", &[sid.as_str().into()]).unwrap()[0]
            .blob(0)
            .unwrap();
        let rec =
            db.query("SELECT fields FROM records WHERE id = $1", &[rid.as_str().into()]).unwrap()[0].blob(0).unwrap();
        (key, rec)
    })
    .await
    .unwrap();
    let in_files = |needle: &[u8]| {
        let mut files = Vec::new();
        files_under(&s.cfg.data_dir, &mut files);
        files.iter().filter(|f| std::fs::read(f).is_ok_and(|b| contains(&b, needle))).count()
    };
    // The scan finds them before the erasure (so it can fail), and the sealed
    // record is long enough not to occur by chance.
    assert!(blobs.1.len() > 60);
    assert!(in_files(&blobs.0) > 0 && in_files(&blobs.1) > 0, "written to the files first");

    let (st, e) =
        s.delete(&format!("/v1/tenants/{t}/subjects/{}", gone["subject_id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    // Reads and writes go on meanwhile; the bound in the README is 2 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (st, _) = s.get(&format!("{recs}/{}", keep["id"].as_str().unwrap()), &s.admin).await;
        assert_eq!(st, StatusCode::OK);
        let left = (in_files(&blobs.0), in_files(&blobs.1));
        if left == (0, 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still in {left:?} files after 5 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The rest of the data is intact.
    let (st, k) = s.get(&format!("{recs}/{}", keep["id"].as_str().unwrap()), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(k["data"]["name"], "Ostane");
}
