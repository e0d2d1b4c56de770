//! Test harness: starts varuh in-process (or as the real binary) on a
//! loopback port, on a fresh SQLite file or a fresh PostgreSQL database, and
//! offers a small JSON client.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::Write;
use varuh::clock::Clock;
use varuh::config::Config;
use varuh::http::{app, AppState};
use varuh::setup::{self, Create};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `name::sqlite` and `name::postgres` tests from one async fn.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::support::pg_url().is_some() {
                    super::$name(crate::support::Backend::Postgres).await
                }
            }
        }
    };
}
pub(crate) use both;

/// The PostgreSQL server for the suite; without it, says loudly (past the
/// test harness's output capture) that only the SQLite half ran.
pub fn pg_url() -> Option<String> {
    let url = std::env::var("VARUH_TEST_PG_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** VARUH_TEST_PG_URL is not set: the PostgreSQL half of the suite was SKIPPED; only SQLite ran. \
                 Run scripts/test.sh to run both. ***\n"
            );
        });
    }
    url
}

/// A fresh PostgreSQL database on the suite's server; returns its URL.
pub async fn fresh_pg_database() -> String {
    let base = pg_url().expect("VARUH_TEST_PG_URL");
    let name = format!("varuh_t_{}", uuid::Uuid::new_v4().simple());
    let b = base.clone();
    let n = name.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&b, postgres::NoTls).expect("connect to test PostgreSQL");
        c.batch_execute(&format!("CREATE DATABASE {n}")).expect("create test database");
    })
    .await
    .unwrap();
    let (head, tail) = base.rsplit_once('/').expect("URL with a database name");
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{head}/{name}{query}")
}

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    /// Token of the system administrator.
    pub admin: String,
    pub cfg: Config,
    /// The server's clock: tests move it to expire sessions, passwords, keys.
    pub clock: Clock,
    /// The server's vault, for tests that drive a use case in process (`varuh::load`).
    pub vault: std::sync::Arc<varuh::service::Vault>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub const PASSWORD: &str = "a long test password 1";

/// The suite's default policy: the recommended one without MFA and
/// four-eyes (tests that need them set a tenant's policy), and a high
/// per-address limit, since every test signs in from 127.0.0.1, and long
/// sessions, so that tests may move the clock without losing the admin's.
pub const TEST_POLICY: &str = r#"
description = "test suite default"
[mfa]
required = "optional"
[session]
idle_minutes = 1440
absolute_hours = 720
[four_eyes]
operations = []
[lockout]
source_attempts_per_minute = 10000
"#;

/// Serves the API on a free loopback port until the task is aborted.
async fn serve(state: AppState) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    (addr, task)
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, TEST_POLICY).unwrap();
        // No scheduled retention sweep unless a test asks (its clock jumps).
        let mut cfg = Config {
            data_dir: dir.path().to_path_buf(),
            readers: 2,
            policy_file: Some(policy),
            retention_seconds: 0,
            audit_verify_seconds: 0,
            ..Config::default()
        };
        if backend == Backend::Postgres {
            cfg.database_url = Some(fresh_pg_database().await);
        }
        tweak(&mut cfg);
        let clock = Clock::default();
        let opened = setup::open(&cfg, Create::Yes, clock.clone()).await.expect("open varuh");
        let (user, otp) = opened.first_admin.clone().expect("first admin");
        let state = AppState { vault: opened.vault.clone(), max_body_bytes: cfg.max_body_bytes, secure_cookies: false };
        let (addr, task) = serve(state).await;
        let mut s = TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            admin: String::new(),
            cfg: cfg.clone(),
            clock,
            vault: opened.vault.clone(),
            _dir: dir,
            task,
        };
        s.admin = s.first_login(&user, &otp).await;
        s
    }

    /// Another server on the same database (PostgreSQL) with the same
    /// master key, as a second `varuh serve` behind a load balancer would
    /// be: its own caches, appender and writers. Tokens of one work on both.
    pub async fn peer(&self) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(self.cfg.master_key_path(), dir.path().join("master.key")).unwrap();
        let mut cfg = self.cfg.clone();
        cfg.data_dir = dir.path().to_path_buf();
        let clock = Clock::default();
        let opened = setup::open(&cfg, Create::No, clock.clone()).await.expect("open the second server");
        let state = AppState { vault: opened.vault.clone(), max_body_bytes: cfg.max_body_bytes, secure_cookies: false };
        let (addr, task) = serve(state).await;
        TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            admin: self.admin.clone(),
            cfg,
            clock,
            vault: opened.vault.clone(),
            _dir: dir,
            task,
        }
    }

    /// A new server on this one's store and data directory (as after a
    /// restart with a newer varuh): its migrations run, the admin's token
    /// still works. This server should be idle from then on.
    pub async fn reopen(&self) -> TestServer {
        let clock = Clock::default();
        let opened = setup::open(&self.cfg, Create::No, clock.clone()).await.expect("open the store again");
        let state =
            AppState { vault: opened.vault.clone(), max_body_bytes: self.cfg.max_body_bytes, secure_cookies: false };
        let (addr, task) = serve(state).await;
        TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            admin: self.admin.clone(),
            cfg: self.cfg.clone(),
            clock,
            vault: opened.vault.clone(),
            _dir: tempfile::tempdir().unwrap(),
            task,
        }
    }

    /// A server on an existing store (a restored one): `cfg` names its
    /// data directory and database; the system administrator signs in
    /// with `PASSWORD`.
    pub async fn open_existing(cfg: Config) -> TestServer {
        let clock = Clock::default();
        let opened = setup::open(&cfg, Create::No, clock.clone()).await.expect("open the restored store");
        let state = AppState { vault: opened.vault.clone(), max_body_bytes: cfg.max_body_bytes, secure_cookies: false };
        let (addr, task) = serve(state).await;
        let mut s = TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            admin: String::new(),
            cfg,
            clock,
            vault: opened.vault.clone(),
            _dir: tempfile::tempdir().unwrap(),
            task,
        };
        s.admin = s.token(varuh::setup::FIRST_ADMIN).await;
        s
    }

    /// Verifies the whole stored trail (as `varuh audit verify` does) with
    /// the key of a head made now.
    pub async fn verify_trail(&self) -> varuh::audit::verify::Report {
        let (st, h) = self.post("/v1/audit/heads", &self.admin, json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{h}");
        let key = varuh::audit::note::VerifierKey::parse(h["key"].as_str().unwrap()).unwrap();
        let location = varuh::store::Location::parse(&self.cfg.database_url()).unwrap();
        tokio::task::spawn_blocking(move || {
            let mut db = varuh::store::Store::connect_raw(&location).unwrap();
            varuh::audit::verify::verify_store(db.as_mut(), &key, &[]).unwrap()
        })
        .await
        .unwrap()
    }

    /// Logs in with a one-time password, sets `PASSWORD`, returns a token.
    pub async fn first_login(&self, user: &str, otp: &str) -> String {
        let (st, body) =
            self.call(Method::POST, "/v1/auth/login", None, Some(json!({"username": user, "password": otp}))).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        let (st, body) = self
            .call(
                Method::POST,
                "/v1/auth/password",
                Some(&token),
                Some(json!({"current_password": otp, "new_password": PASSWORD})),
            )
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
        token
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let st = resp.status();
        let text = resp.text().await.unwrap();
        (st, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POSTs JSON and takes the answer as bytes with its media type (a document).
    /// GETs a document: its status and bytes.
    pub async fn get_bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let resp = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.expect("request");
        (resp.status(), resp.bytes().await.unwrap().to_vec())
    }

    pub async fn download(&self, path: &str, token: &str, body: Value) -> (StatusCode, String, Vec<u8>) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let st = resp.status();
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (st, ct, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// `GET /metrics` with the metrics token (if any): status and text.
    pub async fn metrics(&self, token: Option<&str>) -> (StatusCode, String) {
        let mut rb = self.http.get(format!("{}/metrics", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Signs in; returns the status and the answer.
    pub async fn login(&self, user: &str, password: &str, extra: Value) -> (StatusCode, Value) {
        let mut body = json!({"username": user, "password": password});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.call(Method::POST, "/v1/auth/login", None, Some(body)).await
    }

    /// Moves the server's clock on by `ms` and signs the system
    /// administrator in again (the old session has expired by then).
    pub async fn travel(&mut self, ms: i64) {
        self.clock.advance(ms);
        self.admin = self.token(varuh::setup::FIRST_ADMIN).await;
    }

    /// A fresh token of an account whose password is `PASSWORD` (no second factor).
    pub async fn token(&self, user: &str) -> String {
        let (st, l) = self.login(user, PASSWORD, json!({})).await;
        assert_eq!(st, StatusCode::OK, "{l}");
        l["token"].as_str().unwrap().to_string()
    }

    /// Sets a tenant's policy from TOML (as the API takes it: JSON).
    pub async fn set_policy(&self, tenant: &str, toml: &str) {
        let p = varuh::domain::policy::Policy::from_toml(toml).expect("a valid policy");
        let (st, b) =
            self.put(&format!("/v1/tenants/{tenant}/policy"), &self.admin, serde_json::to_value(&p).unwrap()).await;
        assert_eq!(st, StatusCode::OK, "{b}");
    }

    /// Creates an account and returns (id, one-time password) without signing in.
    pub async fn account(&self, tenant: &str, username: &str, role: &str, access: Value) -> (String, String) {
        let (st, b) = self
            .post(
                &format!("/v1/tenants/{tenant}/staff"),
                &self.admin,
                json!({"username": username, "role": role, "access": access}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        (b["id"].as_str().unwrap().to_string(), b["one_time_password"].as_str().unwrap_or_default().to_string())
    }

    /// The audit events of an action (as the system administrator reads them).
    pub async fn events(&self, action: &str) -> Vec<Value> {
        let (st, b) = self.get(&format!("/v1/audit/events?action={action}&limit=1000"), &self.admin).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        b["events"].as_array().cloned().unwrap_or_default()
    }

    /// Creates a tenant and returns its id.
    pub async fn tenant(&self, name: &str, allow_special: bool) -> String {
        let (st, b) = self
            .post("/v1/tenants", &self.admin, json!({"name": name, "allow_special_categories": allow_special}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        b["id"].as_str().unwrap().to_string()
    }

    /// Creates a staff member in a tenant and returns a ready token. An
    /// operator is granted every operation on every collection.
    pub async fn staff(&self, tenant: &str, username: &str, role: &str) -> String {
        let access =
            if role == "operator" { json!({"grants": {"*": ["read", "write", "erase", "export"]}}) } else { json!({}) };
        self.staff_with(tenant, username, role, access).await
    }

    /// Creates a staff member with these grants and masks; returns a ready token.
    pub async fn staff_with(&self, tenant: &str, username: &str, role: &str, access: Value) -> String {
        let (st, b) = self
            .post(
                &format!("/v1/tenants/{tenant}/staff"),
                &self.admin,
                json!({"username": username, "role": role, "access": access}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        self.first_login(username, b["one_time_password"].as_str().unwrap()).await
    }

    pub async fn collection(&self, tenant: &str, def: Value) {
        let (st, b) = self.post(&format!("/v1/tenants/{tenant}/collections"), &self.admin, def).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
    }
}

/// A customer collection: the e-mail identifies the subject; the phone is
/// searchable (a switchboard may be shared).
pub fn customers() -> Value {
    json!({
        "name": "customers",
        "description": "Web shop customers",
        "purposes": ["order fulfilment", "invoicing"],
        "legal_basis": "contract",
        "subject_categories": ["customers"],
        "recipients": ["courier"],
        "source": "the data subject",
        "retention": {"kind": "period", "days": 3650},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification", "required": true},
            {"name": "phone", "type": "phone", "category": "contact", "searchable": true},
            {"name": "born", "type": "date", "category": "identification"},
            {"name": "orders", "type": "integer", "category": "commercial"}
        ]
    })
}

/// A newsletter collection, keyed by e-mail.
pub fn newsletter() -> Value {
    json!({
        "name": "newsletter",
        "purposes": ["direct marketing"],
        "legal_basis": "consent",
        "subject_categories": ["subscribers"],
        "source": "web form",
        "retention": {"kind": "until_consent_withdrawn"},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "topics", "type": "string", "category": "preferences"}
        ]
    })
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// varuh as a separate process (the real binary), for what needs one:
/// files on disk, signals, TLS.
pub struct Proc {
    pub child: std::process::Child,
    pub base: String,
    pub stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Proc {
    pub fn start(data_dir: &std::path::Path, args: &[&str], env: &[(&str, String)], tls: bool) -> Proc {
        let port = free_port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"));
        cmd.arg("--data-dir").arg(data_dir).args(args);
        if !env.iter().any(|(k, _)| *k == "VARUH_POLICY_FILE") {
            let policy = data_dir.with_extension("policy.toml");
            std::fs::write(&policy, TEST_POLICY).unwrap();
            cmd.env("VARUH_POLICY_FILE", policy);
        }
        cmd.env("VARUH_LISTEN", format!("127.0.0.1:{port}"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn varuh");
        let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let o = out.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    o.lock().unwrap().push_str(&line);
                    o.lock().unwrap().push('\n');
                }
            });
        }
        let scheme = if tls { "https" } else { "http" };
        Proc { child, base: format!("{scheme}://127.0.0.1:{port}"), stdout: out }
    }

    /// Waits until /healthz answers (or the process died).
    pub async fn wait_ready(&mut self, http: &reqwest::Client) {
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("varuh exited with {status}: {}", self.stdout.lock().unwrap());
            }
            if http.get(format!("{}/healthz", self.base)).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("varuh did not start: {}", self.stdout.lock().unwrap());
    }

    /// The one-time password printed at first start.
    pub fn one_time_password(&self) -> Option<String> {
        let out = self.stdout.lock().unwrap();
        out.lines().find_map(|l| l.trim().strip_prefix("one-time password:").map(|p| p.trim().to_string()))
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        self.child.wait().expect("wait for varuh")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SMTP server: aiosmtpd's maildir handler, refusing (550, quoting
/// the address, as real servers do) every recipient whose address starts
/// with `refused`.
const SMTP_SERVER: &str = r#"
import signal, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
class Box(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
Controller(Box(sys.argv[1]), hostname="127.0.0.1", port=int(sys.argv[2])).start()
signal.pause()
"#;

/// A real SMTP server on loopback (aiosmtpd from PyPI, scripts/deps.sh)
/// delivering into a maildir; killed on drop.
pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    pub async fn start() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = std::process::Command::new("python3")
            .args(["-c", SMTP_SERVER])
            .arg(dir.path().join("box"))
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (scripts/deps.sh installs it)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Smtp { child, port, dir };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the SMTP server did not start");
    }

    /// Every message delivered so far, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.dir.path().join("box").join("new")) else {
            return Vec::new();
        };
        rd.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver on loopback: every body POSTed to it, kept.
pub struct Hook {
    pub url: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Hook {
    /// Waits (up to 15 s) until at least `n` bodies have arrived.
    pub async fn wait(&self, n: usize) {
        for _ in 0..150 {
            if self.bodies.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{n} webhook calls did not arrive: {:?}", self.bodies.lock().unwrap());
    }

    pub async fn start() -> Hook {
        let bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
        let keep = bodies.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hook { url, bodies, task }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A real S3-compatible server on loopback (moto's standalone server from
/// PyPI, scripts/deps.sh), with one bucket; killed on drop.
pub struct S3 {
    child: std::process::Child,
    pub endpoint: String,
}

impl S3 {
    pub async fn start(bucket: &str) -> S3 {
        let port = free_port();
        let mut child = std::process::Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m moto.server (scripts/deps.sh installs moto[server])");
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http.put(format!("{endpoint}/{bucket}")).send().await {
                assert!(r.status().is_success(), "creating the bucket: {}", r.status());
                return S3 { child, endpoint };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the S3 server did not start");
    }

    /// The objects under `prefix` in `bucket`, by key (ListObjectsV2).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let body = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2&prefix={prefix}", self.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.split("<Key>").skip(1).filter_map(|k| k.split("</Key>").next()).map(str::to_string).collect()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
