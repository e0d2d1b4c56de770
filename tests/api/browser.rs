//! The console in a real headless Chromium (issue 20), driven over
//! WebDriver (`webdriver.rs`): sign-in with TOTP, a full access request
//! from receipt to its PDF, an erasure that needs a second person's
//! approval, a breach from its report to the authority's 72-hour notice,
//! and another tenant's subject URL showing "not found". Every page
//! visited is checked with axe-core (WCAG 2.1 A and AA) and the keyboard
//! reaches the forms. Where no browser can be installed the tests say they
//! skipped. With `VARUH_SCREENSHOTS=<dir>` the pages are also saved as PNG
//! (`scripts/screenshots.sh`, for `docs/console.md`).

use crate::identity::{enrol, oathtool};
use crate::support::{customers, Backend, TestServer, PASSWORD};
use crate::webdriver::Browser;
use reqwest::StatusCode;
use serde_json::json;

/// Checks the page with axe-core and, when asked, saves a screenshot.
async fn check_page(b: &Browser, name: &str) {
    if let Some(v) = b.accessibility().await {
        assert!(v.is_empty(), "{name}: accessibility violations: {v:?}");
    }
    if let Ok(dir) = std::env::var("VARUH_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        b.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png"))).await;
    }
}

/// A tenant with a customer, and a DPO with a second factor: (tenant,
/// subject, the DPO's TOTP seed).
async fn ham(s: &TestServer) -> (String, String, String) {
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let token = s.staff(&t, "dpo.ham", "dpo").await;
    let (secret, _) = enrol(s, &token).await;
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &token,
            json!({"data": {"email": "mojca@kos.si", "name": "Mojca Kos", "orders": 3}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    (t, r["subject_id"].as_str().unwrap().to_string(), secret)
}

async fn sign_in(b: &Browser, s: &TestServer, user: &str, code: &str) {
    b.go(&format!("{}/console/sign-in", s.base)).await;
    b.fill("#username", user).await;
    b.fill("#password", PASSWORD).await;
    b.fill("#code", code).await;
    b.submit("form.stack button[type=submit]").await;
}

/// Sign-in with TOTP, then an access request from receipt to the PDF
/// sent, in the browser; the tenant-isolation check at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_access_request_from_receipt_to_pdf() {
    let Some(b) = Browser::start().await else { return };
    let s = TestServer::start(Backend::Sqlite).await;
    let (t, subject, secret) = ham(&s).await;
    // The checker can fail: a page with an image without a text and no language.
    b.go("data:text/html,<html><body><img src='x.png'></body></html>").await;
    if let Some(v) = b.accessibility().await {
        assert!(v.iter().any(|v| v.starts_with("image-alt")), "axe-core finds a missing alt text: {v:?}");
    }

    b.go(&format!("{}/console/", s.base)).await;
    assert!(b.url().await.ends_with("/console/sign-in"), "{}", b.url().await);
    check_page(&b, "sign-in").await;
    // The keyboard reaches the form: skip link, then the fields.
    b.keys("\u{E004}").await; // Tab
    b.keys("\u{E004}").await;
    b.keys("\u{E004}").await;
    b.keys("\u{E004}").await;
    let focused = b.focused_id().await;
    assert!(["language", "username"].contains(&focused.as_str()), "focus went to {focused:?}");

    // Without the code: the page asks for it; with it: the dashboard.
    sign_in(&b, &s, "dpo.ham", "").await;
    assert!(b.text(".error").await.contains("Enter the code"), "{}", b.source().await);
    sign_in(&b, &s, "dpo.ham", &oathtool(&secret, &s, 30)).await;
    assert!(b.url().await.ends_with(&format!("/console/t/{t}")), "{}", b.url().await);
    assert_eq!(b.text("h1").await, "Ham d.o.o.");
    check_page(&b, "dashboard").await;

    // Receipt: the requester's e-mail finds the subject.
    b.go(&format!("{}/console/t/{t}/requests", s.base)).await;
    b.choose("#kind", "access").await;
    b.fill("#requester_email", "mojca@kos.si").await;
    b.submit("form.stack button[type=submit]").await;
    let url = b.url().await;
    assert!(url.contains("/requests/") && !url.contains("kos.si"), "{url} {}", b.source().await);
    assert_eq!(b.text("#request-state").await, "received");
    check_page(&b, "request").await;
    // Verify, start, the PDF, complete.
    b.fill("#text-verify", "ID document shown in person").await;
    b.submit("#step-verify button").await;
    assert_eq!(b.text("#request-state").await, "verified");
    b.submit("#step-start button").await;
    assert_eq!(b.text("#request-state").await, "in progress");
    b.choose("#doc-lang", "sl").await;
    b.click("#download-report").await;
    let pdf = b.downloaded(".pdf").await;
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let text = std::process::Command::new("pdftotext").arg(&pdf).arg("-").output().expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Mojca Kos"), "the report holds the subject's data: {text}");
    b.fill("#text-complete", "Report sent by registered mail").await;
    b.submit("#step-complete button").await;
    assert_eq!(b.text("#request-state").await, "done");
    let (st, evs) =
        s.get(&format!("/v1/audit/events?tenant={t}&subject={subject}&action=subject.access_report"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{evs}");
    let evs = evs["events"].as_array().unwrap();
    assert!(
        evs.iter().any(|e| e["event"]["detail"].as_str().is_some_and(|d| d.contains("request="))),
        "the report was made under the request: {evs:?}"
    );

    // Another tenant's subject: "not found", and nothing of it.
    let other = s.tenant("Other", false).await;
    s.collection(&other, customers()).await;
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{other}/collections/customers/records"),
            &s.staff(&other, "dpo.other", "dpo").await,
            json!({"data": {"email": "bor@example.si", "name": "Bor Zupan"}}),
        )
        .await;
    let theirs = r["subject_id"].as_str().unwrap();
    b.go(&format!("{}/console/t/{other}/subjects/{theirs}", s.base)).await;
    assert_eq!(b.text("h1").await, "Not found");
    assert!(!b.source().await.contains("Bor Zupan"));
    b.quit().await;
}

/// An erasure that the tenant's policy holds for four-eyes: one DPO asks,
/// the page says it waits; a second DPO approves it in the queue; then the
/// subject is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_erasure_needs_a_second_person() {
    let Some(b) = Browser::start().await else { return };
    let s = TestServer::start(Backend::Sqlite).await;
    let (t, subject, secret) = ham(&s).await;
    s.set_policy(&t, "[four_eyes]\noperations = [\"subject.erase\"]\napproval_hours = 24\n[mfa]\nrequired = \"optional\"\n[lockout]\nsource_attempts_per_minute = 10000\n").await;
    s.staff(&t, "dpo2.ham", "dpo").await;

    sign_in(&b, &s, "dpo.ham", &oathtool(&secret, &s, 30)).await;
    b.go(&format!("{}/console/t/{t}/subjects", s.base)).await;
    check_page(&b, "find-subject").await;
    b.fill("#value", "mojca@kos.si").await;
    b.submit("form.stack button[type=submit]").await;
    assert!(b.url().await.ends_with(&format!("/subjects/{subject}")), "{}", b.url().await);
    assert!(b.source().await.contains("Mojca Kos"));
    assert!(b.text("#h-erase + p + ul").await.contains("customers: the records are deleted"));
    check_page(&b, "subject").await;
    b.click("#confirm").await;
    b.submit("form[action$=\"/erase\"] button").await;
    assert!(b.text(".notice").await.contains("waits for a second person"), "{}", b.source().await);
    // The requester cannot approve its own request: no buttons for it.
    b.go(&format!("{}/console/t/{t}/approvals", s.base)).await;
    assert!(!b.source().await.contains(">Approve<"));
    b.submit("header form[action=\"/console/sign-out\"] button").await;
    assert!(b.url().await.contains("/console/sign-in?out=1"));

    sign_in(&b, &s, "dpo2.ham", "").await;
    b.go(&format!("{}/console/t/{t}/approvals", s.base)).await;
    check_page(&b, "approvals").await;
    b.submit("form input[value=approve] ~ button").await;
    assert!(b.text(".approval-state").await.starts_with("approved"), "{}", b.source().await);
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}"), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "erased once approved");
    b.quit().await;
}

/// A breach from its report to the authority's notice within 72 hours:
/// the clock runs, the notice is downloaded (Slovenian), the notification
/// recorded, the clock met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_breach_from_report_to_the_72_hour_notice() {
    let Some(b) = Browser::start().await else { return };
    let s = TestServer::start(Backend::Sqlite).await;
    let (t, _, secret) = ham(&s).await;
    sign_in(&b, &s, "dpo.ham", &oathtool(&secret, &s, 30)).await;
    b.go(&format!("{}/console/t/{t}/breaches", s.base)).await;
    check_page(&b, "breaches").await;
    let aware = varuh::clock::rfc3339(s.clock.now_ms() - 3_600_000);
    b.click("#k-c").await;
    // datetime-local takes the date and time typed as the keyboard would.
    b.set_value("#aware_at", &aware[..16]).await;
    b.fill("#description", "A laptop with the customer list was stolen").await;
    b.fill("#data_categories", "contact, orders").await;
    b.fill("#subjects_approx", "1200").await;
    b.choose("#risk", "risk").await;
    b.fill("#risk_rationale", "Contact data of customers; the disk was not encrypted").await;
    b.submit("form[action$=\"/breaches\"] button[type=submit]").await;
    assert!(b.url().await.contains("/breaches/"), "{}", b.source().await);
    assert_eq!(b.text(".clock-state[data-audience=authority]").await, "running");
    check_page(&b, "breach").await;
    b.click("#notice-authority-sl").await;
    let pdf = b.downloaded(".pdf").await;
    let text = std::process::Command::new("pdftotext").arg(&pdf).arg("-").output().expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("laptop") || text.contains("1200"), "the notice holds the register's details: {text}");
    b.choose("#audience", "authority").await;
    b.fill("#to", "Informacijski pooblaščenec, case 2026-17").await;
    b.fill("#channel", "the authority's web form").await;
    b.submit("#notify button[type=submit]").await;
    assert_eq!(b.text(".clock-state[data-audience=authority]").await, "met", "{}", b.source().await);
    b.quit().await;
}
