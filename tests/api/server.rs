//! The server as a whole: OpenAPI matches the routes, health and readiness,
//! TLS, loopback-only without TLS, and graceful shutdown.

use crate::support::{both, Backend, Proc, TestServer, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn openapi_lists_every_route(b: Backend) {
    let s = TestServer::start(b).await;
    let (st, spec) = s.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "{}", spec["openapi"]);
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    // Every route the API offers is documented…
    let expected: Vec<(&str, &str)> = varuh::http::ROUTES.iter().map(|(m, p, _)| (*m, *p)).collect();
    let mut documented = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            documented += 1;
            assert!(
                expected.contains(&(m.as_str(), path.as_str())),
                "{m} {path} is documented but not expected by this test"
            );
            assert!(op["responses"].is_object(), "{m} {path} documents its responses");
            assert_ne!(op["x-varuh-action"], "unmapped", "{m} {path} names its action in varuh::http::ROUTES");
            // …and the server really answers it (not with "no such route").
            let url = path.replace(['{', '}'], "x");
            let resp = s
                .http
                .request(m.to_uppercase().parse().unwrap(), format!("{}{url}", s.base))
                .bearer_auth(&s.admin)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_ne!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_ne!(body["detail"], "route not found", "{m} {path} is documented but not served");
        }
    }
    assert_eq!(documented, expected.len(), "every expected route is documented");
    // An undocumented route is not served.
    let (st, p) = s.get("/v1/nothing-here", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(p["detail"], "route not found");
    let (st, r) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((st, r["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (st, _) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
}
both!(openapi_lists_every_route);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conf6_tls_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
        .arg("--data-dir")
        .arg(&data)
        .args(["init", "--tls"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("one-time password:"));
    let cert = std::fs::read(data.join("tls/cert.pem")).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let mut p = Proc::start(&data, &["serve"], &[], true);
    let url = p.base.replace("127.0.0.1", "localhost");
    let mut ok = false;
    for _ in 0..200 {
        if let Ok(r) = https.get(format!("{url}/healthz")).send().await {
            assert_eq!(r.status(), StatusCode::OK);
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ok, "TLS server answered: {}", p.stdout.lock().unwrap());
    // Under TLS the console's cookies are Secure.
    let r = https.get(format!("{url}/console/sign-in")).send().await.unwrap();
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("varuh_pre=") && cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new().get(p.base.replace("https", "http") + "/healthz").send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // No one-time password again on a second start.
    assert!(p.one_time_password().is_none());
    assert!(p.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tls_only_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
        .arg("--data-dir")
        .arg(dir.path().join("d"))
        .arg("serve")
        .env("VARUH_LISTEN", "0.0.0.0:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"));
    // A mistyped database path is refused rather than silently created.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
        .arg("--data-dir")
        .arg(dir.path().join("e"))
        .arg("serve")
        .env("VARUH_MASTER_KEY", "00".repeat(32))
        .env("VARUH_DATABASE_URL", format!("sqlite://{}/typo.db", dir.path().display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no database at"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("typo.db").exists());
}

/// AVL-3: every write acknowledged before SIGTERM is there after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avl3_sigterm_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let http = reqwest::Client::new();
    let mut p = Proc::start(&data, &["serve"], &[], false);
    p.wait_ready(&http).await;
    let otp = p.one_time_password().unwrap();
    let base = p.base.clone();
    let l: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"username": "admin", "password": otp}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = l["token"].as_str().unwrap().to_string();
    http.post(format!("{base}/v1/auth/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": otp, "new_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let t: Value = http
        .post(format!("{base}/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "Durable"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = t["id"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{base}/v1/tenants/{t}/collections"))
        .bearer_auth(&token)
        .json(&crate::support::newsletter())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = format!("{base}/v1/tenants/{t}/collections/newsletter/records");
    let mut tasks = Vec::new();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for w in 0..8 {
        let (http, url, token, count) = (http.clone(), url.clone(), token.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000 {
                match http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"data": {"email": format!("w{w}.{i}@d.si")}}))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        acked.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    // Under load, once the trail holds more than 2,048 events (proofs
    // below reach past the first block), however fast this machine is.
    for _ in 0..600 {
        if count.load(std::sync::atomic::Ordering::Relaxed) > 2_200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(p.terminate().success(), "graceful exit on SIGTERM");
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() > 50, "writes were acknowledged before the signal: {}", acked.len());
    let mut p = Proc::start(&data, &["serve"], &[], false);
    p.wait_ready(&http).await;
    let base = p.base.clone();
    let l: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The restart resumed the trail from the frontier kept with the head
    // made at shutdown: no stored leaf had to be read again.
    let out = p.stdout.lock().unwrap().clone();
    // Without the terminal colours of the text log format.
    let plain: String = out
        .split('\x1b')
        .enumerate()
        .map(|(i, part)| if i == 0 { part } else { part.split_once('m').map_or("", |(_, rest)| rest) })
        .collect();
    assert!(plain.lines().any(|l| l.contains("audit log state loaded") && l.contains("read=0")), "{plain}");
    // Proofs after the restart (block roots before the kept frontier are
    // rebuilt once from the stored leaves, then kept).
    let token0 = l["token"].as_str().unwrap().to_string();
    let h: Value = http
        .post(format!("{base}/v1/audit/heads"))
        .bearer_auth(&token0)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = varuh::audit::note::VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
    let c = varuh::audit::note::open(h["checkpoint"].as_str().unwrap(), &key).unwrap();
    assert!(c.size > 2048, "{}", c.size);
    let unhex = |v: &Value| -> varuh::audit::merkle::Hash {
        varuh::audit::unhex(v.as_str().unwrap()).unwrap().try_into().unwrap()
    };
    for seq in [3, 2050, c.size - 1] {
        let inc: Value = http
            .get(format!("{base}/v1/audit/proofs/inclusion?seq={seq}&tree_size={}", c.size))
            .bearer_auth(&token0)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let path: Vec<varuh::audit::merkle::Hash> = inc["path"].as_array().unwrap().iter().map(unhex).collect();
        assert!(
            varuh::audit::merkle::verify_inclusion(seq, c.size, &unhex(&inc["leaf_hash"]), &path, &c.root),
            "seq {seq}: {inc}"
        );
    }
    let token = l["token"].as_str().unwrap().to_string();
    let mut found = std::collections::HashSet::new();
    let mut after = String::new();
    loop {
        let q = if after.is_empty() { "?limit=1000".to_string() } else { format!("?limit=1000&after={after}") };
        let page: Vec<Value> = http
            .get(format!("{base}/v1/tenants/{t}/collections/newsletter/records{q}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap()["id"].as_str().unwrap().to_string();
        found.extend(page.into_iter().map(|r| r["id"].as_str().unwrap().to_string()));
    }
    for id in &acked {
        assert!(found.contains(id), "acknowledged record {id} was lost");
    }
    assert!(p.terminate().success());
    // The trail runs on across the restart, and each shutdown signed a head.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
        .arg("--data-dir")
        .arg(&data)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let heads: u64 =
        text.split(" stored heads").next().and_then(|l| l.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(heads >= 2, "a head at each shutdown: {text}");
    let events: u64 =
        text.split(" events,").next().and_then(|l| l.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(events as usize > acked.len(), "every acknowledged create has its event: {text}");
}
