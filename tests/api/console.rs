//! The web console over plain HTTP (issue 20): every page needs a session
//! and every form its CSRF token; the security headers; the cookie's
//! flags; sign-in with a second factor and what a refusal says; a subject
//! found without its value in any URL; another tenant's subject is "not
//! found"; English and Slovenian. The browser tests (`browser.rs`) drive
//! the same pages in Chromium.

use crate::identity::oathtool;
use crate::support::{both, customers, Backend, TestServer, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use varuh::console::PAGES;

/// A browser without a browser: keeps the console's cookies, follows no
/// redirect by itself.
pub struct Console {
    pub base: String,
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    pub lang: &'static str,
}

pub struct Answer {
    pub status: StatusCode,
    pub location: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// The value of the first hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Console {
    pub fn new(s: &TestServer) -> Console {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Console { base: s.base.clone(), http, cookies: HashMap::new(), lang: "en" }
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder) -> Answer {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let resp = rb
            .header("cookie", cookie.join("; "))
            .header("accept-language", self.lang)
            .send()
            .await
            .expect("console request");
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let location = headers.get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
        Answer { status, location, headers, body: resp.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let rb = self.http.get(format!("{}{path}", self.base));
        self.send(rb).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let rb = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(rb).await
    }

    /// Signs in through the form; returns the answer to the form's POST.
    pub async fn sign_in(&mut self, user: &str, password: &str, code: &str) -> Answer {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post("/console/sign-in", &[("csrf", &csrf), ("username", user), ("password", password), ("code", code)])
            .await
    }
}

/// Every console route: without a session a page goes to the sign-in form
/// and a form changes nothing; every answer carries the security headers.
async fn console_pages_need_a_session(b: Backend) {
    let s = TestServer::start(b).await;
    let mut c = Console::new(&s);
    let some = uuid::Uuid::now_v7().to_string();
    for (method, path, action) in PAGES {
        let p = path
            .replace("{tenant}", &some)
            .replace("{subject}", &some)
            .replace("{request}", &some)
            .replace("{breach}", &some)
            .replace("{approval}", &some)
            .replace("{staff}", &some)
            .replace("{key}", &some)
            .replace("{collection}", "customers")
            .replace("{record}", &some)
            .replace("{limit}", &some)
            .replace("{hold}", &some);
        assert!(!p.contains('{'), "a placeholder left in {p}");
        let a = if *method == "get" { c.get(&p).await } else { c.post(&p, &[("x", "1")]).await };
        let csp = a.headers.get("content-security-policy").map(|v| v.to_str().unwrap().to_string());
        assert!(
            csp.as_deref().is_some_and(|c| c.contains("frame-ancestors 'none'") && c.contains("script-src 'self'")),
            "{method} {path}: {csp:?}"
        );
        assert_eq!(a.headers.get("x-frame-options").unwrap(), "DENY", "{method} {path}");
        match action {
            None => assert_eq!(a.status, StatusCode::OK, "{method} {path} is public"),
            Some(varuh::domain::access::Action::Login) => {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path} without the form's token")
            }
            Some(varuh::domain::access::Action::Me) if *method == "post" => {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path} without the form's token")
            }
            Some(_) => {
                assert_eq!(a.status, StatusCode::SEE_OTHER, "{method} {path} without a session");
                assert_eq!(a.location, "/console/sign-in", "{method} {path}");
            }
        }
    }
}
both!(console_pages_need_a_session);

/// Sign-in with password and TOTP; the cookie's flags; a wrong code and a
/// wrong password get the same answer; signing out ends the session on
/// the server; an idle session ends and the page says so.
async fn console_sign_in_with_totp(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    let token = s.staff(&t, "dpo.ham", "dpo").await;
    let (secret, codes) = crate::identity::enrol(&s, &token).await;
    let mut c = Console::new(&s);

    let without = c.sign_in("dpo.ham", PASSWORD, "").await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert!(without.body.contains("Enter the code from your authenticator app"), "{}", without.body);
    assert!(!without.body.contains(PASSWORD), "the password is not echoed");
    let wrong_code = c.sign_in("dpo.ham", PASSWORD, "000000").await;
    let wrong_password = c.sign_in("dpo.ham", "not the password", &oathtool(&secret, &s, 0)).await;
    assert_eq!(wrong_code.status, StatusCode::UNAUTHORIZED);
    let msg = |a: &Answer| a.body.split("role=\"alert\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert_eq!(msg(&wrong_code), msg(&wrong_password), "one answer for every refusal");
    assert!(!c.cookies.contains_key("varuh_session"));

    let ok = c.sign_in("dpo.ham", PASSWORD, &oathtool(&secret, &s, 30)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{:?}", s.events("auth.login").await);
    let set: Vec<&str> = ok.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    let session = set.iter().find(|v| v.starts_with("varuh_session=")).expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "no Secure flag over plain HTTP on loopback");
    let home = c.get("/console/").await;
    assert_eq!(home.location, format!("/console/t/{t}"));
    let dash = c.get(&home.location).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("<h1>Ham</h1>") && dash.body.contains("Open requests"), "{}", dash.body);

    // A recovery code instead of the app's code works once.
    let mut other = Console::new(&s);
    let rc = other.sign_in("dpo.ham", PASSWORD, &codes[0]).await;
    assert_eq!(rc.status, StatusCode::SEE_OTHER, "{}", rc.body);
    let mut again = Console::new(&s);
    let reused = again.sign_in("dpo.ham", PASSWORD, &codes[0]).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "a recovery code is used once");

    // Signing out ends the session: the old cookie no longer works.
    let old = c.cookies.get("varuh_session").unwrap().clone();
    let out = c.post("/console/sign-out", &[("csrf", &dash.csrf())]).await;
    assert_eq!(out.location, "/console/sign-in?out=1");
    let (st, _) = s.get("/v1/auth/me", &old).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "the session ended on the server");

    // Idle longer than the policy allows: the page says the session ended.
    s.set_policy(&t, "[session]\nidle_minutes = 5\n[lockout]\nsource_attempts_per_minute = 10000\n").await;
    s.clock.advance(60_000);
    let again = c.sign_in("dpo.ham", PASSWORD, &oathtool(&secret, &s, 0)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    s.travel(6 * 60_000).await;
    let ended = c.get(&format!("/console/t/{t}")).await;
    assert_eq!(ended.location, "/console/sign-in?ended=1");
    let page = c.get(&ended.location).await;
    assert!(page.body.contains("Your session has ended"), "{}", page.body);
}
both!(console_sign_in_with_totp);

/// A form posted without its token, or with another session's, changes
/// nothing.
async fn console_forms_need_their_token(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.collection(&t, customers()).await;
    let token = s.staff(&t, "dpo.ham", "dpo").await;
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &token,
            json!({"data": {"email": "ana@example.si", "name": "Ana"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let subject = r["subject_id"].as_str().unwrap().to_string();
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let mut other = Console::new(&s);
    other.sign_in("dpo.ham", PASSWORD, "").await;
    let theirs = other.get(&format!("/console/t/{t}/subjects")).await.csrf();
    let path = format!("/console/t/{t}/subjects/{subject}/erase");
    for csrf in ["", "forged", theirs.as_str()] {
        let a = c.post(&path, &[("csrf", csrf), ("confirm", "yes")]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "token {csrf:?}");
        assert!(a.body.contains("Nothing was changed"), "{}", a.body);
    }
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}"), &token).await;
    assert_eq!(st, StatusCode::OK, "the subject is still there");
    // With its own token the same form works.
    let mine = c.get(&format!("/console/t/{t}/subjects/{subject}")).await;
    let a = c.post(&path, &[("csrf", &mine.csrf()), ("confirm", "yes")]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("The erasure is done"), "{}", a.body);
    let (st, _) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}"), &token).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "erased");
}
both!(console_forms_need_their_token);

/// A subject is found by a value sent in the form only: the redirect and
/// every link name only ids. Its page shows the records (the read is in
/// the audit trail), and another tenant's subject is "not found" — by
/// its own tenant's URL and by this tenant's.
async fn console_subjects_and_tenant_isolation(b: Backend) {
    let s = TestServer::start(b).await;
    let ham = s.tenant("Ham", false).await;
    let other = s.tenant("Other", false).await;
    for t in [&ham, &other] {
        s.collection(t, customers()).await;
    }
    let dpo = s.staff(&ham, "dpo.ham", "dpo").await;
    let dpo2 = s.staff(&other, "dpo.other", "dpo").await;
    let mut ids = Vec::new();
    for (t, tok, email) in [(&ham, &dpo, "ana@example.si"), (&other, &dpo2, "bor@example.si")] {
        let (st, r) = s
            .post(
                &format!("/v1/tenants/{t}/collections/customers/records"),
                tok,
                json!({"data": {"email": email, "name": "Ana Novak", "phone": "+386 40 123 456"}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        ids.push(r["subject_id"].as_str().unwrap().to_string());
    }
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let form = c.get(&format!("/console/t/{ham}/subjects")).await;
    let found = c
        .post(
            &format!("/console/t/{ham}/subjects"),
            &[("csrf", &form.csrf()), ("kind", "email"), ("value", "ana@example.si")],
        )
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER, "{}", found.body);
    assert_eq!(found.location, format!("/console/t/{ham}/subjects/{}", ids[0]));
    let page = c.get(&found.location).await;
    assert_eq!(page.status, StatusCode::OK);
    let main = page.body.split("<main").nth(1).unwrap();
    assert!(page.body.contains("Ana Novak") && page.body.contains("+38640123456"), "{main}");
    for part in page.body.split("href=\"").skip(1) {
        let href = part.split('"').next().unwrap();
        assert!(!href.contains('@') && !href.contains("Novak"), "no personal value in a link: {href}");
    }
    let title = page.body.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(!title.contains("Ana") && !title.contains('@'), "{title}");
    let (_, evs) =
        s.get(&format!("/v1/audit/events?action=subject.records.read&tenant={ham}&subject={}", ids[0]), &s.admin).await;
    assert!(!evs["events"].as_array().unwrap().is_empty(), "the console's read is audited");
    // A shared phone (a searchable field) names two people of this tenant:
    // both listed by id, the other tenant's not.
    let (st, r2) = s
        .post(
            &format!("/v1/tenants/{ham}/collections/customers/records"),
            &dpo,
            json!({"data": {"email": "cene@example.si", "name": "Cene Novak", "phone": "+386 40 123 456"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r2}");
    let shared = c
        .post(
            &format!("/console/t/{ham}/subjects"),
            &[("csrf", &form.csrf()), ("kind", "phone"), ("value", "+386 40 123 456")],
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    assert!(
        shared.body.contains(&ids[0]) && shared.body.contains(r2["subject_id"].as_str().unwrap()),
        "{}",
        shared.body
    );
    assert!(!shared.body.contains(&ids[1]), "not another tenant's");
    assert!(!shared.body.contains("123 456") && !shared.body.contains("38640123456"), "the value is not echoed");
    // A value nobody has.
    let none = c
        .post(
            &format!("/console/t/{ham}/subjects"),
            &[("csrf", &form.csrf()), ("kind", "email"), ("value", "nobody@example.si")],
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(!none.body.contains("nobody@example.si"), "the value is not echoed");
    // Another tenant's subject: not found both ways, nothing of it shown.
    for path in [format!("/console/t/{other}/subjects/{}", ids[1]), format!("/console/t/{ham}/subjects/{}", ids[1])] {
        let a = c.get(&path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert!(a.body.contains("not found") && !a.body.contains("bor@"), "{}", a.body);
    }
    let a = c.get(&format!("/console/t/{other}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "another tenant's dashboard");
}
both!(console_subjects_and_tenant_isolation);

/// English and Slovenian: the browser's language first, then the one
/// chosen in the form (kept in a cookie).
async fn console_speaks_english_and_slovenian(b: Backend) {
    let s = TestServer::start(b).await;
    let mut c = Console::new(&s);
    c.lang = "sl-SI,sl;q=0.9";
    let page = c.get("/console/sign-in").await;
    assert!(page.body.contains("<html lang=\"sl\">") && page.body.contains("Uporabniško ime"), "{}", page.body);
    let chosen = c.post("/console/language", &[("csrf", &page.csrf()), ("lang", "en")]).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    let page = c.get("/console/sign-in").await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("User name"), "{}", page.body);
    let bad = c.post("/console/language", &[("csrf", &page.csrf()), ("lang", "de")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
}
both!(console_speaks_english_and_slovenian);

/// Every page of the console renders for a tenant with data in it — the
/// DPO's and the tenant administrator's — in both languages, with no
/// template error and no word left untranslated; the downloads are what
/// they say.
async fn console_every_page_renders(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo.ham", "dpo").await;
    s.staff(&t, "admin.ham", "administrator").await;
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &dpo,
            json!({"data": {"email": "ana@example.si", "name": "Ana Novak", "orders": 2}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let subject = r["subject_id"].as_str().unwrap().to_string();
    let (_, req) = s
        .post(
            &format!("/v1/tenants/{t}/requests"),
            &dpo,
            json!({"kind": "access", "channel": "e-mail", "subject_id": subject}),
        )
        .await;
    let request = req["id"].as_str().unwrap().to_string();
    let (st, br) = s
        .post(
            &format!("/v1/tenants/{t}/breaches"),
            &dpo,
            json!({"kinds": ["confidentiality"], "aware_at": varuh::clock::rfc3339(s.clock.now_ms() - 3_600_000),
                   "found_by": "controller", "description": "A stolen laptop", "risk": "risk", "risk_rationale": "contact data"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{br}");
    let breach = br["id"].as_str().unwrap().to_string();
    for (user, lang) in [("dpo.ham", "en"), ("admin.ham", "sl")] {
        let mut c = Console::new(&s);
        c.lang = lang;
        let a = c.sign_in(user, PASSWORD, "").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let me = s.token(user).await;
        let (_, who) = s.get("/v1/auth/me", &me).await;
        let staff_id = who["staff_id"].as_str().unwrap().to_string();
        let mut rendered = 0;
        for (method, path, action) in PAGES {
            if *method != "get" || action.is_none() || *path == "/console/" {
                continue;
            }
            let p = path
                .replace("{tenant}", &t)
                .replace("{subject}", &subject)
                .replace("{request}", &request)
                .replace("{breach}", &breach)
                .replace("{staff}", &staff_id);
            let p = if p.ends_with("/notice") { format!("{p}?audience=authority&lang=sl") } else { p };
            let a = c.get(&p).await;
            let rule = action.unwrap().rule();
            let role = varuh::domain::Role::parse(who["role"].as_str().unwrap()).unwrap();
            if !rule.roles.contains(&role) || p.starts_with("/console/system/") {
                // The system's own pages are for system staff only.
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{user} {p}");
                continue;
            }
            assert_eq!(a.status, StatusCode::OK, "{user} {p}: {}", a.body);
            let kind = a.headers.get("content-type").unwrap().to_str().unwrap().to_string();
            if p.ends_with("/notice?audience=authority&lang=sl") {
                assert_eq!(kind, "application/pdf");
                assert!(a.body.starts_with("%PDF"), "{p}");
                continue;
            }
            assert!(kind.starts_with("text/html"), "{p}: {kind}");
            assert!(a.body.contains(&format!("<html lang=\"{lang}\">")), "{p}");
            assert!(!a.body.contains("tr."), "{p}: a word left as its key");
            rendered += 1;
        }
        assert!(rendered >= 15, "{user}: {rendered} pages");
        if user == "admin.ham" {
            assert_eq!(c.get("/console/tenants").await.status, StatusCode::OK, "a tenant's administrator sees its own");
        }
        // The downloads.
        for (p, kind) in [
            (format!("/console/t/{t}/registers/ropa?format=pdf"), "application/pdf"),
            (format!("/console/t/{t}/registers/ropa?format=csv"), "text/csv; charset=utf-8"),
            (format!("/console/t/{t}/registers/toms?format=pdf&lang=sl"), "application/pdf"),
            (format!("/console/t/{t}/registers/processors?format=csv"), "text/csv; charset=utf-8"),
            (format!("/console/t/{t}/breaches?format=csv"), "text/csv; charset=utf-8"),
            ("/console/audit?format=jsonl".to_string(), "application/x-ndjson"),
        ] {
            let a = c.get(&p).await;
            if a.status == StatusCode::FORBIDDEN {
                continue;
            }
            assert_eq!(a.status, StatusCode::OK, "{user} {p}: {}", a.body);
            assert_eq!(a.headers.get("content-type").unwrap(), kind, "{p}");
            assert!(a.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment"), "{p}");
        }
    }
}
both!(console_every_page_renders);

/// The system administrator's own pages: the tenants (and a new one), the
/// system staff with a new system auditor, the system policy.
async fn console_system_pages(b: Backend) {
    let s = TestServer::start(b).await;
    let mut c = Console::new(&s);
    let a = c.sign_in(varuh::setup::FIRST_ADMIN, PASSWORD, "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(c.get("/console/").await.location, "/console/tenants");
    let tenants = c.get("/console/tenants").await;
    let made = c.post("/console/tenants", &[("csrf", &tenants.csrf()), ("name", "Novi d.o.o.")]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert!(c.get("/console/tenants").await.body.contains("Novi d.o.o."));
    let staff = c.get("/console/system/staff").await;
    assert_eq!(staff.status, StatusCode::OK, "{}", staff.body);
    assert!(staff.body.contains(varuh::setup::FIRST_ADMIN));
    let add = c
        .post("/console/system/staff", &[("csrf", &staff.csrf()), ("username", "auditor.sys"), ("role", "auditor")])
        .await;
    assert_eq!(add.status, StatusCode::OK, "{}", add.body);
    assert!(add.body.contains("id=\"one-time-password\""), "{}", add.body);
    let (_, list) = s.get("/v1/staff", &s.admin).await;
    let id = list.as_array().unwrap().iter().find(|m| m["username"] == "auditor.sys").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.get(&format!("/console/system/staff/{id}")).await.status, StatusCode::OK);
    let p = c.get("/console/system/policy").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("[session]"), "{}", p.body);
}
both!(console_system_pages);

/// One's own language and time zone, kept with the account: set over the
/// API or in the console, they win over the browser's language on every
/// browser, and dates are shown in the zone. A bad zone is refused, naming
/// the field, and changes nothing.
async fn console_preferences_are_the_accounts(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    let token = s.staff(&t, "dpo.ham", "dpo").await;
    let (st, p) = s.put("/v1/auth/preferences", &token, json!({"language": "sl", "time_zone": "Mars/Olympus"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p.to_string().contains("time_zone"), "{p}");
    let (_, me) = s.get("/v1/auth/me", &token).await;
    assert_eq!(me["language"], serde_json::Value::Null, "nothing changed");
    let (st, p) =
        s.put("/v1/auth/preferences", &token, json!({"language": "sl", "time_zone": "Europe/Ljubljana"})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (_, me) = s.get("/v1/auth/me", &token).await;
    assert_eq!((me["language"].as_str(), me["time_zone"].as_str()), (Some("sl"), Some("Europe/Ljubljana")));

    // A browser asking for English gets Slovenian, and times in Ljubljana's zone.
    let mut c = Console::new(&s);
    c.lang = "en-GB";
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let page = c.get(&format!("/console/t/{t}/requests")).await;
    assert!(page.body.contains("<html lang=\"sl\">") && page.body.contains("Zahteve"), "{}", page.body);
    let prefs = c.get("/console/preferences").await;
    assert!(
        prefs.body.contains("id=\"pref-zone\" name=\"time_zone\" list=\"zones\" value=\"Europe&#x2f;Ljubljana\""),
        "{}",
        prefs.body
    );
    let (_, r) =
        s.post(&format!("/v1/tenants/{t}/requests"), &token, json!({"kind": "access", "channel": "letter"})).await;
    let page = c.get(&format!("/console/t/{t}/requests/{}", r["id"].as_str().unwrap())).await;
    assert!(page.body.contains(" CET") || page.body.contains(" CEST"), "times in the chosen zone: {}", page.body);
    assert!(!page.body.contains(" UTC<"), "{}", page.body);

    // Back to English and UTC in the console's own form.
    let form = c.get("/console/preferences").await;
    let bad =
        c.post("/console/preferences", &[("csrf", &form.csrf()), ("language", "en"), ("time_zone", "Nowhere")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = c.post("/console/preferences", &[("csrf", &form.csrf()), ("language", "en"), ("time_zone", "")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let (_, me) = s.get("/v1/auth/me", &token).await;
    assert_eq!((me["language"].as_str(), me["time_zone"].as_str()), (Some("en"), None));
    let page = c.get(&format!("/console/t/{t}/requests/{}", r["id"].as_str().unwrap())).await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains(" UTC"), "{}", page.body);
}
both!(console_preferences_are_the_accounts);

/// A rectification request acted on from the console: the request's page
/// links to the subject under the request; a changed field is written (a
/// masked or unchanged one is not sent back), and the request's history
/// records it; a restriction under the same request likewise.
async fn console_acts_on_a_subject_under_a_request(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.collection(&t, customers()).await;
    let dpo = s.staff(&t, "dpo.ham", "dpo").await;
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &dpo,
            json!({"data": {"email": "ana@example.si", "name": "Ana Novka", "orders": 2}}),
        )
        .await;
    let (subject, record) = (r["subject_id"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string());
    let reqs = format!("/v1/tenants/{t}/requests");
    let (_, q) =
        s.post(&reqs, &dpo, json!({"kind": "rectification", "channel": "e-mail", "subject_id": subject})).await;
    let id = q["id"].as_str().unwrap().to_string();
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let page = c.get(&format!("/console/t/{t}/requests/{id}")).await;
    assert!(!page.body.contains("act-on-subject"), "not before the identity is verified");
    let csrf = page.csrf();
    for (step, text) in [("verify", "ID card"), ("start", "")] {
        let a = c
            .post(&format!("/console/t/{t}/requests/{id}/step"), &[("csrf", &csrf), ("step", step), ("text", text)])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{step}: {}", a.body);
    }
    let page = c.get(&format!("/console/t/{t}/requests/{id}")).await;
    let link = format!("/console/t/{t}/subjects/{subject}?request={id}");
    assert!(page.body.contains(&link.replace('&', "&amp;")) || page.body.contains(&link), "{}", page.body);
    let subj = c.get(&link).await;
    assert!(subj.body.contains("Acting under the request"), "{}", subj.body);
    let a = c
        .post(
            &format!("/console/t/{t}/subjects/{subject}/records/customers/{record}"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("field.name", "Ana Novak"),
                ("orig.name", "Ana Novka"),
                ("type.name", "text"),
                ("field.orders", "2"),
                ("orig.orders", "2"),
                ("type.orders", "number"),
                ("request", &id),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let (_, rec) = s.get(&format!("/v1/tenants/{t}/collections/customers/records/{record}"), &dpo).await;
    assert_eq!(rec["data"]["name"], "Ana Novak");
    assert_eq!(rec["data"]["orders"], 2);
    assert_eq!(rec["version"], 2);
    let (_, q) = s.get(&format!("{reqs}/{id}"), &dpo).await;
    assert!(q["history"].to_string().contains(&record), "the request's history names the record: {q}");
    // Bad input: a number field given text changes nothing.
    let bad = c
        .post(
            &format!("/console/t/{t}/subjects/{subject}/records/customers/{record}"),
            &[("csrf", &csrf), ("field.orders", "many"), ("orig.orders", "2"), ("type.orders", "number")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let (_, rec) = s.get(&format!("/v1/tenants/{t}/collections/customers/records/{record}"), &dpo).await;
    assert_eq!(rec["version"], 2, "nothing changed");
    // A restriction under the request.
    let a = c
        .post(
            &format!("/console/t/{t}/subjects/{subject}/limits"),
            &[("csrf", &csrf), ("kind", "restriction"), ("reason", "accuracy contested"), ("request", &id)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let (_, limits) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/limits"), &dpo).await;
    assert_eq!(limits.as_array().unwrap().len(), 1, "{limits}");
}
both!(console_acts_on_a_subject_under_a_request);

/// A consent given on paper and a disclosure to a recipient, recorded on
/// the subject's page; a disclosure for a purpose the collection does not
/// have is refused, naming the field, and nothing is recorded.
async fn console_records_consent_and_disclosures(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.collection(&t, customers()).await;
    s.collection(&t, crate::support::newsletter()).await;
    let dpo = s.staff(&t, "dpo.ham", "dpo").await;
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &dpo,
            json!({"data": {"email": "ana@example.si", "name": "Ana Novak"}}),
        )
        .await;
    let subject = r["subject_id"].as_str().unwrap().to_string();
    let (st, n) = s
        .post(
            &format!("/v1/tenants/{t}/consent-notices"),
            &dpo,
            json!({"purpose": "direct marketing", "text": "News from Ham."}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    let (st, rc) = s
        .post(
            &format!("/v1/tenants/{t}/recipients"),
            &dpo,
            json!({"name": "courier", "description": "parcels", "email": "ops@courier.si"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{rc}");
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let page = c.get(&format!("/console/t/{t}/subjects/{subject}")).await;
    assert!(page.body.contains("Record a consent") && page.body.contains("Record a disclosure"), "{}", page.body);
    let csrf = page.csrf();
    let a = c
        .post(
            &format!("/console/t/{t}/subjects/{subject}/consents"),
            &[
                ("csrf", &csrf),
                ("purpose", "direct marketing"),
                ("notice_version", "1"),
                ("given", "yes"),
                ("channel", "paper form"),
                ("evidence", "form 17"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let (_, h) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/consents"), &dpo).await;
    assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h[0]["given"], true);
    let disclose = format!("/console/t/{t}/subjects/{subject}/disclosures");
    let bad = c
        .post(
            &disclose,
            &[
                ("csrf", &csrf),
                ("recipient", "courier"),
                ("collection", "customers"),
                ("fields", "name"),
                ("purpose", "lottery"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("purpose"), "{}", bad.body);
    let (_, d) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/disclosures"), &dpo).await;
    assert_eq!(d["disclosures"].as_array().unwrap().len(), 0, "nothing recorded: {d}");
    let ok = c
        .post(
            &disclose,
            &[
                ("csrf", &csrf),
                ("recipient", "courier"),
                ("collection", "customers"),
                ("fields", "name"),
                ("purpose", "order fulfilment"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let (_, d) = s.get(&format!("/v1/tenants/{t}/subjects/{subject}/disclosures"), &dpo).await;
    assert_eq!(d["disclosures"].as_array().unwrap().len(), 1, "{d}");
    let page = c.get(&format!("/console/t/{t}/subjects/{subject}")).await;
    assert!(page.body.contains("courier") && page.body.contains("paper form"), "{}", page.body);
}
both!(console_records_consent_and_disclosures);

/// The first sign-in of a new account in the console: the one-time
/// password leads to the password change, the policy's MFA requirement to
/// the enrolment page (QR code and the seed as text); a wrong code is
/// refused, the right one turns MFA on and shows ten recovery codes once;
/// then the dashboard. The next sign-in needs the code.
async fn console_first_login_and_mfa_enrolment(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.set_policy(&t, "[mfa]\nrequired = \"all\"\n[lockout]\nsource_attempts_per_minute = 10000\n").await;
    let (_, otp) = s.account(&t, "ana.dpo", "dpo", json!({})).await;
    let mut c = Console::new(&s);
    let a = c.sign_in("ana.dpo", &otp, "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let home = c.get("/console/").await;
    assert_eq!(home.location, "/console/password");
    // Before the password is changed, any other page leads back to it.
    let other = c.get(&format!("/console/t/{t}/requests")).await;
    assert_eq!(other.location, "/console/password");
    let form = c.get("/console/password").await;
    assert!(form.body.contains("Choose your own password"), "{}", form.body);
    let mismatch = c
        .post("/console/password", &[("csrf", &form.csrf()), ("current", &otp), ("new", PASSWORD), ("repeat", "other")])
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    let weak = c
        .post("/console/password", &[("csrf", &form.csrf()), ("current", &otp), ("new", "short"), ("repeat", "short")])
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("new_password"), "the policy's rule is named: {}", weak.body);
    let done = c
        .post(
            "/console/password",
            &[("csrf", &form.csrf()), ("current", &otp), ("new", PASSWORD), ("repeat", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(c.get("/console/").await.location, "/console/mfa");
    let mfa = c.get("/console/mfa").await;
    assert!(mfa.body.contains("data:image&#x2f;svg+xml;base64,") || mfa.body.contains("data:image/svg+xml;base64,"));
    let secret = mfa.body.split("id=\"mfa-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let wrong = c.post("/console/mfa", &[("csrf", &mfa.csrf()), ("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A wrong code makes a new seed: read it again.
    let secret2 = wrong.body.split("id=\"mfa-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert_ne!(secret, secret2);
    let ok = c.post("/console/mfa", &[("csrf", &mfa.csrf()), ("code", &oathtool(&secret2, &s, 0))]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body.matches("<li><code>").count(), 10, "ten recovery codes: {}", ok.body);
    assert_eq!(c.get("/console/").await.location, format!("/console/t/{t}"));
    let mut d = Console::new(&s);
    assert_eq!(d.sign_in("ana.dpo", PASSWORD, "").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(d.sign_in("ana.dpo", PASSWORD, &oathtool(&secret2, &s, 30)).await.status, StatusCode::SEE_OTHER);
}
both!(console_first_login_and_mfa_enrolment);

/// The tenant administrator in the console: an account made with its
/// one-time password shown once; grants and a field mask, which the
/// operator's view of a subject then shows masked; suspension; an API key
/// shown once; a bad policy refused naming the rule, nothing changed; a
/// held change rejected with a reason in the approvals queue; the audit
/// trail filtered by action.
async fn console_administration(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.collection(&t, customers()).await;
    s.staff(&t, "admin.ham", "administrator").await;
    s.staff(&t, "admin2.ham", "administrator").await;
    let dpo = s.staff(&t, "dpo.ham", "dpo").await;
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &dpo,
            json!({"data": {"email": "ana@example.si", "name": "Ana Novak", "phone": "+386 40 123 456"}}),
        )
        .await;
    let subject = r["subject_id"].as_str().unwrap().to_string();
    let mut c = Console::new(&s);
    c.sign_in("admin.ham", PASSWORD, "").await;
    let staff = c.get(&format!("/console/t/{t}/staff")).await;
    let csrf = staff.csrf();
    let made = c
        .post(&format!("/console/t/{t}/staff"), &[("csrf", &csrf), ("username", "op.ham"), ("role", "operator")])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let otp = made.body.split("id=\"one-time-password\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(otp.len() >= 12, "{otp}");
    let again = c.get(&format!("/console/t/{t}/staff")).await;
    assert!(!again.body.contains(&otp), "shown once");
    let op_token = s.first_login("op.ham", &otp).await;
    let (_, me) = s.get("/v1/auth/me", &op_token).await;
    let op_id = me["staff_id"].as_str().unwrap().to_string();
    let access = r#"{"grants": {"customers": ["read"]}, "masks": {"customers": ["phone"]}}"#;
    let set = c
        .post(
            &format!("/console/t/{t}/staff/{op_id}/access"),
            &[("csrf", &csrf), ("role", "operator"), ("access", access)],
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let bad = c
        .post(
            &format!("/console/t/{t}/staff/{op_id}/access"),
            &[("csrf", &csrf), ("role", "operator"), ("access", "{not json")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    // The operator's console shows the phone masked.
    let mut o = Console::new(&s);
    o.sign_in("op.ham", PASSWORD, "").await;
    let page = o.get(&format!("/console/t/{t}/subjects/{subject}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Ana Novak") && page.body.contains("***") && !page.body.contains("38640123456"),
        "{}",
        page.body
    );
    // Suspended: the operator's session ends.
    let susp = c.post(&format!("/console/t/{t}/staff/{op_id}/act"), &[("csrf", &csrf), ("op", "suspend")]).await;
    assert_eq!(susp.status, StatusCode::OK, "{}", susp.body);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(o.get(&format!("/console/t/{t}")).await.location, "/console/sign-in?ended=1");
    // An API key for a service account, shown once.
    let svc =
        c.post(&format!("/console/t/{t}/staff"), &[("csrf", &csrf), ("username", "shop"), ("role", "service")]).await;
    assert_eq!(svc.status, StatusCode::OK);
    let keys = c.get(&format!("/console/t/{t}/api-keys")).await;
    let select = keys.body.split("id=\"account\"").nth(1).unwrap();
    let account = select.split("<option value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let k = c
        .post(
            &format!("/console/t/{t}/api-keys"),
            &[
                ("csrf", &csrf),
                ("account", &account),
                ("name", "web shop"),
                ("days", "30"),
                ("access", r#"{"grants": {"customers": ["read"]}}"#),
            ],
        )
        .await;
    assert_eq!(k.status, StatusCode::OK, "{}", k.body);
    let key = k.body.split("id=\"api-key\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(key.starts_with("vk_"), "{key}");
    let (st, _) = s.get(&format!("/v1/tenants/{t}/collections/customers/records"), &key).await;
    assert_eq!(st, StatusCode::OK, "the key works");
    assert!(!c.get(&format!("/console/t/{t}/api-keys")).await.body.contains(&key), "shown once");
    // A bad policy: refused with the rule named; nothing changed.
    let before = s.get(&format!("/v1/tenants/{t}/policy"), &s.admin).await.1;
    let p = c.get(&format!("/console/t/{t}/policy")).await;
    assert!(p.body.contains("[password]") || p.body.contains("[mfa]"), "{}", p.body);
    let badp =
        c.post(&format!("/console/t/{t}/policy"), &[("csrf", &csrf), ("policy", "[password]\nmin_length = 2\n")]).await;
    assert_eq!(badp.status, StatusCode::OK);
    assert!(badp.body.contains("min_length"), "{}", badp.body);
    assert_eq!(s.get(&format!("/v1/tenants/{t}/policy"), &s.admin).await.1, before, "nothing changed");
    // Four-eyes on grant changes: held, then rejected with a reason by the other administrator.
    let four = "[four_eyes]\noperations = [\"grants.change\"]\n[mfa]\nrequired = \"optional\"\n[lockout]\nsource_attempts_per_minute = 10000\n";
    let set = c.post(&format!("/console/t/{t}/policy"), &[("csrf", &csrf), ("policy", four)]).await;
    assert!(set.body.contains("Saved."), "{}", set.body);
    let held = c
        .post(&format!("/console/t/{t}/staff/{op_id}/access"), &[("csrf", &csrf), ("role", "dpo"), ("access", "{}")])
        .await;
    assert!(held.body.contains("waits for a second person"), "{}", held.body);
    let mut c2 = Console::new(&s);
    c2.sign_in("admin2.ham", PASSWORD, "").await;
    let q = c2.get(&format!("/console/t/{t}/approvals")).await;
    let id = q.body.split("id=\"approval-").nth(1).unwrap().split('"').next().unwrap().to_string();
    let no_reason = c2
        .post(
            &format!("/console/t/{t}/approvals/{id}"),
            &[("csrf", &q.csrf()), ("decision", "reject"), ("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY, "a rejection needs a reason");
    let rej = c2
        .post(
            &format!("/console/t/{t}/approvals/{id}"),
            &[("csrf", &q.csrf()), ("decision", "reject"), ("reason", "not for this job")],
        )
        .await;
    assert_eq!(rej.status, StatusCode::SEE_OTHER, "{}", rej.body);
    let q = c2.get(&format!("/console/t/{t}/approvals")).await;
    assert!(q.body.contains("rejected: not for this job"), "{}", q.body);
    let (_, m) = s.get(&format!("/v1/tenants/{t}/staff/{op_id}"), &s.admin).await;
    assert_eq!(m["role"], "operator", "the rejected change did not apply");
    // The audit trail, filtered by action.
    let a = c.get("/console/audit?action=staff.create").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("staff.create") && !a.body.contains("approval.decide"), "{}", a.body);
    let badf = c.get("/console/audit?subject=not-an-id").await;
    assert_eq!(badf.status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(console_administration);

/// A request extended with a reason (the subject told) and another refused
/// with a reason; an extension without the subject told is refused and
/// changes nothing; the register lists the refused one as closed.
async fn console_request_extend_and_refuse(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    s.staff(&t, "dpo.ham", "dpo").await;
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let list = c.get(&format!("/console/t/{t}/requests")).await;
    let csrf = list.csrf();
    let mut ids = Vec::new();
    for kind in ["access", "erasure"] {
        let a = c
            .post(&format!("/console/t/{t}/requests"), &[("csrf", &csrf), ("kind", kind), ("channel", "letter")])
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        ids.push(a.location.rsplit('/').next().unwrap().to_string());
    }
    let step = |id: &str| format!("/console/t/{t}/requests/{id}/step");
    let before = c.get(&format!("/console/t/{t}/requests/{}", ids[0])).await;
    let no_tell =
        c.post(&step(&ids[0]), &[("csrf", &csrf), ("step", "extend"), ("months", "2"), ("text", "complex")]).await;
    assert_eq!(no_tell.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_tell.body);
    assert_eq!(
        c.get(&format!("/console/t/{t}/requests/{}", ids[0])).await.body.matches("Extended").count(),
        before.body.matches("Extended").count()
    );
    let ext = c
        .post(
            &step(&ids[0]),
            &[
                ("csrf", &csrf),
                ("step", "extend"),
                ("months", "2"),
                ("text", "many systems to search"),
                ("informed", "yes"),
            ],
        )
        .await;
    assert_eq!(ext.status, StatusCode::SEE_OTHER, "{}", ext.body);
    let page = c.get(&format!("/console/t/{t}/requests/{}", ids[0])).await;
    assert!(page.body.contains("many systems to search"), "{}", page.body);
    let refuse = c
        .post(&step(&ids[1]), &[("csrf", &csrf), ("step", "refuse"), ("text", "identity could not be verified")])
        .await;
    assert_eq!(refuse.status, StatusCode::SEE_OTHER, "{}", refuse.body);
    let page = c.get(&format!("/console/t/{t}/requests/{}", ids[1])).await;
    assert!(
        page.body.contains("id=\"request-state\">refused") && page.body.contains("identity could not be verified"),
        "{}",
        page.body
    );
    let bad = c.post(&step(&ids[1]), &[("csrf", &csrf), ("step", "teleport")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(console_request_extend_and_refuse);

/// Legal holds and the retention sweep in the console: a hold on a
/// subject keeps its expired record (the dry run says what would go and
/// what is held), a hold without a reason is refused, lifting it lets the
/// sweep delete the record.
async fn console_retention_holds_and_sweep(b: Backend) {
    let mut s = TestServer::start(b).await;
    let t = s.tenant("Ham", false).await;
    let mut def = customers();
    def["retention"] = json!({"kind": "period", "days": 1});
    s.collection(&t, def).await;
    let dpo = s.staff(&t, "dpo.ham", "dpo").await;
    let (_, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &dpo,
            json!({"data": {"email": "ana@example.si", "name": "Ana Novak"}}),
        )
        .await;
    let (subject, record) = (r["subject_id"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string());
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let page = c.get(&format!("/console/t/{t}/retention")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf();
    let holds = format!("/console/t/{t}/retention/holds");
    let no_reason =
        c.post(&holds, &[("csrf", &csrf), ("scope", "subject"), ("target", &subject), ("reason", " ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_reason.body);
    let set = c
        .post(&holds, &[("csrf", &csrf), ("scope", "subject"), ("target", &subject), ("reason", "court case 12/2026")])
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    s.travel(2 * 86_400_000).await;
    let mut c = Console::new(&s);
    c.sign_in("dpo.ham", PASSWORD, "").await;
    let page = c.get(&format!("/console/t/{t}/retention")).await;
    assert!(page.body.contains("court case 12&#x2f;2026"), "{}", page.body);
    let csrf = page.csrf();
    let dry = c.post(&format!("/console/t/{t}/retention/run"), &[("csrf", &csrf), ("dry_run", "yes")]).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let row = dry.body.split("<td>customers</td>").nth(1).unwrap().split("</tr>").next().unwrap().to_string();
    assert_eq!(row, "<td>1</td><td>0</td><td>0</td><td>1</td>", "expired 1, kept by the hold 1");
    let recs = format!("/v1/tenants/{t}/collections/customers/records/{record}");
    let _ = c.post(&format!("/console/t/{t}/retention/run"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&recs, &s.admin).await.0, StatusCode::OK, "held");
    let id = page.body.split("/retention/holds/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let lift = c
        .post(&format!("/console/t/{t}/retention/holds/{id}/lift"), &[("csrf", &csrf), ("reason", "case closed")])
        .await;
    assert_eq!(lift.status, StatusCode::SEE_OTHER, "{}", lift.body);
    let run = c.post(&format!("/console/t/{t}/retention/run"), &[("csrf", &csrf)]).await;
    assert!(run.body.contains("What the sweep did"), "{}", run.body);
    assert_eq!(s.get(&recs, &s.admin).await.0, StatusCode::NOT_FOUND, "deleted once the hold is lifted");
}
both!(console_retention_holds_and_sweep);
