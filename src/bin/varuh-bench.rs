//! The vault benchmark: starts `varuh` (the release binary next to this one)
//! on a fresh store, preloads subjects over HTTP, then measures durable
//! creates, reads by id and look-ups by e-mail with N concurrent keep-alive
//! clients, and prints a table with throughput and p50/p99 latency.
//!
//!   scripts/bench.sh            (SQLite, then PostgreSQL)
//!   varuh-bench --backend sqlite --subjects 100000 --clients 32 --seconds 10
//!
//! With `--mode rights` it measures the subject's rights on a store of
//! `--subjects` contacts: CSV import, access report, erasure, bulk may-I.
//!
//! With `--mode retention` it measures the retention sweep on `--subjects`
//! expired records (each its own subject): found (dry run), then deleted.
//!
//! With `--mode backup` it measures a backup (`POST /v1/system/backups`,
//! to a local directory) and a restore (`varuh backup restore` into an
//! empty store of the same backend; `--restore-url` for PostgreSQL) of a
//! store of `--subjects` records, in MB/s of the store's size.
//!
//! With `--mode registers` it times the records of processing and the TOMs statement (JSON and
//! PDF) of a tenant with 50 collections and `--subjects` contacts.
//!
//! With `--mode audit` it measures the audit trail itself, in process on a
//! fresh SQLite store: `--clients` tasks append realistic events (a record
//! read: actor, tenant, subject, collection, record, five field names),
//! each waiting until its event is durable, for `--seconds`; then
//! `varuh audit verify`'s verifier checks the whole log on one thread.

/// mimalloc: the request workers free what the store's writer and syncer
/// threads allocated (and back); glibc's allocator serialised that on its
/// arena locks.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
struct Args {
    /// sqlite or postgres (postgres needs --database-url).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    subjects: usize,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Servers sharing the one database (PostgreSQL): clients are spread
    /// over them, as behind a load balancer.
    #[arg(long, default_value_t = 1)]
    servers: usize,
    /// vault (over HTTP, a separate server process) or audit (in process).
    #[arg(long, default_value = "vault")]
    mode: String,
    /// Every record carries the same phone, a searchable attribute (a
    /// company switchboard): creates and look-ups must not slow down with
    /// the number of records sharing it. Adds a phase: the subjects with
    /// that phone, first page.
    #[arg(long)]
    shared_phone: bool,
    /// `--mode backup` on PostgreSQL: the empty database to restore into.
    #[arg(long)]
    restore_url: Option<String>,
    /// `--mode vault`: backups run back to back (to a local directory)
    /// through the timed phases, to show what a backup costs them.
    #[arg(long)]
    backups_during: bool,
    /// `--mode scope`: audit events in the trail before the scopes are asked.
    #[arg(long, default_value_t = 10_000_000)]
    events: usize,
    /// `--mode scope`: drop the page cache before each kind of scope's
    /// first run (root), so that it reads the store from disk.
    #[arg(long)]
    cold: bool,
}

/// The one phone of `--shared-phone`.
const SWITCHBOARD: &str = "+38613004000";

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile_dir::Dir,
    envs: Vec<(&'static str, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// A temporary directory without a dev-dependency.
mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> std::io::Result<Dir> {
            let p = std::env::temp_dir().join(format!("varuh-bench-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p)?;
            Ok(Dir(p))
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn varuh_exe() -> Result<std::path::PathBuf> {
    let me = std::env::current_exe()?;
    let p = me.with_file_name("varuh");
    if !p.exists() {
        bail!("{} not found: build with `cargo build --release`", p.display());
    }
    Ok(p)
}

fn start(args: &Args) -> Result<(Server, String)> {
    start_with(args, Vec::new())
}

fn start_with(args: &Args, extra: Vec<(&'static str, String)>) -> Result<(Server, String)> {
    let dir = tempfile_dir::Dir::new()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut envs: Vec<(&str, String)> =
        vec![("VARUH_LISTEN", format!("127.0.0.1:{port}")), ("VARUH_LOG", "warn".into())];
    envs.extend(extra);
    if let Some(u) = &args.database_url {
        envs.push(("VARUH_DATABASE_URL", u.clone()));
        envs.push(("VARUH_READERS", "8".into()));
    }
    // No second factor and no four-eyes for the benchmark's accounts, and
    // no per-address sign-in limit (every client is on 127.0.0.1).
    let policy = dir.0.with_extension("policy.toml");
    std::fs::write(
        &policy,
        "[mfa]\nrequired = \"optional\"\n[four_eyes]\noperations = []\n[lockout]\nsource_attempts_per_minute = 10000\n",
    )?;
    envs.push(("VARUH_POLICY_FILE", policy.display().to_string()));
    let exe = varuh_exe()?;
    let out = Command::new(&exe).arg("--data-dir").arg(&dir.0).arg("init").envs(envs.iter().cloned()).output()?;
    let otp = match out.status.success() {
        true => String::from_utf8_lossy(&out.stdout).into_owned(),
        false => bail!("varuh init failed: {}", String::from_utf8_lossy(&out.stderr)),
    };
    let server = serve(&exe, dir, envs)?;
    let otp = otp
        .lines()
        .find_map(|l| l.trim().strip_prefix("one-time password:").map(|p| p.trim().to_string()))
        .context("no one-time password printed")?;
    Ok((server, otp))
}

/// Another server on the same database: its own data directory with the
/// same master key, its own port.
fn start_peer(first: &Server) -> Result<Server> {
    let dir = tempfile_dir::Dir::new()?;
    std::fs::copy(first._dir.0.join("master.key"), dir.0.join("master.key"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut envs = first.envs.clone();
    envs.retain(|(k, _)| *k != "VARUH_LISTEN");
    envs.push(("VARUH_LISTEN", format!("127.0.0.1:{port}")));
    serve(&varuh_exe()?, dir, envs)
}

fn serve(exe: &std::path::Path, dir: tempfile_dir::Dir, envs: Vec<(&'static str, String)>) -> Result<Server> {
    let port: u16 = envs
        .iter()
        .find(|(k, _)| *k == "VARUH_LISTEN")
        .and_then(|(_, v)| v.rsplit(':').next()?.parse().ok())
        .context("listen port")?;
    let mut child = Command::new(exe)
        .arg("--data-dir")
        .arg(&dir.0)
        .arg("serve")
        .envs(envs.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if l.contains("ERROR") {
                eprintln!("varuh: {l}");
            }
        }
    });
    Ok(Server { child, port, _dir: dir, envs })
}

/// One keep-alive HTTP/1.1 connection. The load generator shares the two
/// cores with the server, so it speaks HTTP/1.1 directly (a request is one
/// write; a response is parsed with `httparse` and must carry a
/// Content-Length) instead of through a general client: what it does not
/// spend is left to the server, as with wrk.
struct Conn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
    req: Vec<u8>,
}

async fn connect(port: u16) -> Result<Conn> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    Ok(Conn { stream, buf: Vec::with_capacity(16 * 1024), req: Vec::with_capacity(1024) })
}

async fn call(
    c: &mut Conn,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<(StatusCode, Bytes)> {
    use std::io::Write;
    c.req.clear();
    write!(c.req, "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n")?;
    if !token.is_empty() {
        write!(c.req, "authorization: Bearer {token}\r\n")?;
    }
    match body {
        Some(v) => {
            let b = serde_json::to_vec(v)?;
            write!(c.req, "content-type: application/json\r\ncontent-length: {}\r\n\r\n", b.len())?;
            c.req.extend_from_slice(&b);
        }
        None => c.req.extend_from_slice(b"\r\n"),
    }
    c.stream.write_all(&c.req).await?;
    let (status, _, body) = read_response(c).await?;
    Ok((status, body))
}

/// Reads one response: its status, `Set-Cookie` values and body.
async fn read_response(c: &mut Conn) -> Result<(StatusCode, Vec<String>, Bytes)> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = resp.parse(&c.buf)? {
            let status = StatusCode::from_u16(resp.code.context("no status")?)?;
            let len: usize = match resp.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-length")) {
                Some(h) => std::str::from_utf8(h.value)?.trim().parse()?,
                None if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED => 0,
                None => bail!("a response without Content-Length (status {status})"),
            };
            let cookies: Vec<String> = resp
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("set-cookie") || h.name.eq_ignore_ascii_case("location"))
                .map(|h| format!("{}: {}", h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value)))
                .collect();
            while c.buf.len() < head + len {
                if c.stream.read_buf(&mut c.buf).await? == 0 {
                    bail!("the server closed the connection");
                }
            }
            let body = Bytes::copy_from_slice(&c.buf[head..head + len]);
            c.buf.drain(..head + len);
            return Ok((status, cookies, body));
        }
        if c.stream.read_buf(&mut c.buf).await? == 0 {
            bail!("the server closed the connection");
        }
    }
}

/// A console request with the browser's cookies and, for a POST, a form:
/// the status, the `set-cookie:`/`location:` headers and the body.
async fn page(
    c: &mut Conn,
    method: Method,
    path: &str,
    cookies: &str,
    form: Option<&str>,
) -> Result<(StatusCode, Vec<String>, Bytes)> {
    use std::io::Write;
    c.req.clear();
    write!(c.req, "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncookie: {cookies}\r\n")?;
    match form {
        Some(f) => {
            write!(c.req, "content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n", f.len())?;
            c.req.extend_from_slice(f.as_bytes());
        }
        None => c.req.extend_from_slice(b"\r\n"),
    }
    c.stream.write_all(&c.req).await?;
    read_response(c).await
}

struct Phase {
    name: &'static str,
    ops: usize,
    secs: f64,
    lat_us: Vec<u32>,
    errors: usize,
}

impl Phase {
    fn row(&mut self) -> String {
        self.lat_us.sort_unstable();
        let pct = |p: f64| {
            self.lat_us
                .get(((self.lat_us.len() as f64 * p) as usize).min(self.lat_us.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        format!(
            "| {:<28} | {:>9} | {:>10.0} | {:>8.2} | {:>8.2} | {:>6} |",
            self.name,
            self.ops,
            self.ops as f64 / self.secs,
            pct(0.50),
            pct(0.99),
            self.errors
        )
    }
}

/// Runs `clients` connections, each calling `make(i)` for the next request
/// number i, until `limit` requests are done or `secs` pass.
async fn run<F>(
    name: &'static str,
    ports: &[u16],
    token: &str,
    clients: usize,
    limit: usize,
    secs: u64,
    make: F,
) -> Result<(Phase, Vec<Bytes>)>
where
    F: Fn(usize) -> (Method, String, Option<Value>, StatusCode) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    eprintln!("phase: {name}");
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for k in 0..clients {
        let (make, next, token) = (make.clone(), next.clone(), token.to_string());
        let port = ports[k % ports.len()];
        tasks.push(tokio::spawn(async move {
            let mut c = connect(port).await?;
            let mut lat = Vec::new();
            let mut keep = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit || Instant::now() >= deadline {
                    break;
                }
                let (m, path, body, want) = make(i);
                let t = Instant::now();
                let (st, bytes) = call(&mut c, m, &path, &token, body.as_ref()).await?;
                lat.push(t.elapsed().as_micros() as u32);
                if st != want {
                    errors += 1;
                    if errors == 1 {
                        eprintln!("{name}: {st} {}", String::from_utf8_lossy(&bytes));
                    }
                } else if name.starts_with("preload") {
                    keep.push(bytes);
                }
            }
            anyhow::Ok((lat, keep, errors))
        }));
    }
    let mut phase = Phase { name, ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let mut kept = Vec::new();
    for t in tasks {
        let (lat, keep, errors) = t.await??;
        phase.ops += lat.len();
        phase.lat_us.extend(lat);
        phase.errors += errors;
        kept.extend(keep);
    }
    phase.secs = start.elapsed().as_secs_f64();
    Ok((phase, kept))
}

fn record(i: usize, tag: &str, shared_phone: bool) -> Value {
    let phone = if shared_phone { SWITCHBOARD.to_string() } else { format!("+3864{:08}", i % 100_000_000) };
    json!({"data": {
        "email": format!("person{i}.{tag}@bench.example"),
        "name": format!("Person {i}"),
        "phone": phone,
        "born": "1980-01-01",
        "orders": i as i64 % 50
    }})
}

fn main() -> Result<()> {
    let args = Args::parse();
    match args.mode.as_str() {
        // The load generator runs on one thread, beside the server.
        "vault" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(vault(args)),
        // Appenders and the server side share the machine's cores.
        "audit" => tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(audit(args)),
        "rights" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(rights(args)),
        "retention" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(retention(args)),
        "registers" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(registers(args)),
        "backup" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(backup(args)),
        // Appenders and the scope's scan share the machine's cores.
        "scope" => tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(scope(args)),
        "console" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(console(args)),
        other => {
            bail!("--mode must be vault, audit, rights, retention, backup, registers, scope or console, not {other}")
        }
    }
}

/// A connection to a server that is starting (up to 10 s).
async fn connect_when_up(port: u16) -> Result<Conn> {
    for _ in 0..200 {
        if let Ok(conn) = connect(port).await {
            return Ok(conn);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("varuh did not start")
}

/// Signs in as the first administrator (changing its one-time password)
/// and creates a tenant: the token and the tenant's id.
async fn admin_and_tenant(c: &mut Conn, otp: &str) -> Result<(String, String)> {
    let (_, b) =
        call(c, Method::POST, "/v1/auth/login", "", Some(&json!({"username": "admin", "password": otp}))).await?;
    let token = serde_json::from_slice::<Value>(&b)?["token"].as_str().context("login")?.to_string();
    call(
        c,
        Method::POST,
        "/v1/auth/password",
        &token,
        Some(&json!({"current_password": otp, "new_password": "benchmark password 123"})),
    )
    .await?;
    let (_, b) = call(c, Method::POST, "/v1/tenants", &token, Some(&json!({"name": "Bench"}))).await?;
    let tenant = serde_json::from_slice::<Value>(&b)?["id"].as_str().context("tenant")?.to_string();
    Ok((token, tenant))
}

async fn expect(
    c: &mut Conn,
    m: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    want: StatusCode,
) -> Result<Value> {
    let (st, b) = call(c, m, path, token, body).await?;
    if st != want {
        bail!("{path}: {st} {}", String::from_utf8_lossy(&b));
    }
    Ok(serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// The subject's-rights benchmark (issue targets): `--subjects` contacts
/// imported from CSV (rows per second), then, on that store, the access
/// report and the erasure of subjects with records in five collections
/// (one client, latency), and "may I?" for a mailing list of 100,000
/// addresses (three runs).
async fn rights(args: Args) -> Result<()> {
    let (server, otp) = start(&args)?;
    let port = server.port;
    let mut c = connect_when_up(port).await?;
    let (token, t) = admin_and_tenant(&mut c, &otp).await?;
    let fields = json!([
        {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
        {"name": "name", "type": "string", "category": "identification"},
        {"name": "visits", "type": "integer", "category": "commercial"}
    ]);
    let coll = |name: &str, purpose: &str, basis: &str| {
        json!({"name": name, "purposes": [purpose], "legal_basis": basis, "subject_categories": ["customers"],
               "source": "generated", "retention": {"kind": "period", "days": 365}, "fields": fields})
    };
    let mut defs = vec![coll("contacts", "newsletter", "consent")];
    for i in 1..5 {
        defs.push(coll(&format!("c{i}"), "service", "contract"));
    }
    for d in &defs {
        expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/collections"), &token, Some(d), StatusCode::CREATED)
            .await?;
    }
    let notice = json!({"purpose": "newsletter", "text": "Newsletter, by e-mail."});
    expect(
        &mut c,
        Method::POST,
        &format!("/v1/tenants/{t}/consent-notices"),
        &token,
        Some(&notice),
        StatusCode::CREATED,
    )
    .await?;
    println!(
        "varuh-bench rights: backend={} subjects={} cores={}",
        args.backend,
        args.subjects,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    // Import: files of 50,000 rows, every other contact with consent.
    eprintln!("phase: import");
    const FILE: usize = 50_000;
    let mut import = Phase { name: "CSV import (rows)", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let start_at = Instant::now();
    let mut first = 0;
    while first < args.subjects {
        let n = FILE.min(args.subjects - first);
        let mut csv = String::with_capacity(n * 48);
        csv.push_str("email,name,visits,consent\n");
        for i in first..first + n {
            csv.push_str(&format!(
                "contact{i}@bench.example,Contact {i},{},{}\n",
                i % 40,
                if i % 2 == 0 { "da" } else { "ne" }
            ));
        }
        let body = json!({"csv": csv, "columns": {"email": "email", "name": "name", "visits": "visits"},
            "consent": {"column": "consent", "purpose": "newsletter", "notice_version": 1, "channel": "import"}});
        let t0 = Instant::now();
        let r = expect(
            &mut c,
            Method::POST,
            &format!("/v1/tenants/{t}/collections/contacts/import"),
            &token,
            Some(&body),
            StatusCode::OK,
        )
        .await?;
        import.lat_us.push(t0.elapsed().as_micros() as u32);
        import.ops += r["imported"].as_u64().unwrap_or(0) as usize;
        first += n;
    }
    import.secs = start_at.elapsed().as_secs_f64();

    // 200 subjects with a record in each of the five collections.
    eprintln!("phase: probes");
    let mut probes = Vec::new();
    for p in 0..200 {
        let data =
            json!({"data": {"email": format!("probe{p}@bench.example"), "name": format!("Probe {p}"), "visits": 1}});
        let r = expect(
            &mut c,
            Method::POST,
            &format!("/v1/tenants/{t}/collections/contacts/records"),
            &token,
            Some(&data),
            StatusCode::CREATED,
        )
        .await?;
        let sid = r["subject_id"].as_str().context("subject")?.to_string();
        for i in 1..5 {
            let data = json!({"subject_id": sid, "data": {"email": format!("probe{p}@bench.example"), "name": format!("Probe {p}"), "visits": i}});
            expect(
                &mut c,
                Method::POST,
                &format!("/v1/tenants/{t}/collections/c{i}/records"),
                &token,
                Some(&data),
                StatusCode::CREATED,
            )
            .await?;
        }
        probes.push(sid);
    }
    eprintln!("phase: access report");
    let mut report = Phase { name: "access report (5 coll.)", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let t0 = Instant::now();
    for sid in &probes {
        let t1 = Instant::now();
        let r = expect(
            &mut c,
            Method::GET,
            &format!("/v1/tenants/{t}/subjects/{sid}/access-report"),
            &token,
            None,
            StatusCode::OK,
        )
        .await?;
        report.lat_us.push(t1.elapsed().as_micros() as u32);
        if r["collections"].as_array().map(Vec::len) != Some(5) {
            report.errors += 1;
        }
        report.ops += 1;
    }
    report.secs = t0.elapsed().as_secs_f64();
    eprintln!("phase: may I (bulk)");
    let mut may = Phase { name: "may I? 100,000 addresses", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let list: Vec<String> =
        (0..100_000).map(|i| format!("contact{}@bench.example", (i * 7) % args.subjects.max(1))).collect();
    let body = json!({"purpose": "newsletter", "emails": list});
    let t0 = Instant::now();
    for _ in 0..3 {
        let t1 = Instant::now();
        let r =
            expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/may"), &token, Some(&body), StatusCode::OK).await?;
        may.lat_us.push(t1.elapsed().as_micros() as u32);
        may.ops += r["checked"].as_u64().unwrap_or(0) as usize;
        if r["allowed"].as_u64().unwrap_or(0) == 0 {
            may.errors += 1;
        }
    }
    may.secs = t0.elapsed().as_secs_f64();
    eprintln!("phase: erasure");
    let mut erase = Phase { name: "erasure (5 collections)", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let t0 = Instant::now();
    for sid in &probes {
        let t1 = Instant::now();
        let r =
            expect(&mut c, Method::DELETE, &format!("/v1/tenants/{t}/subjects/{sid}"), &token, None, StatusCode::OK)
                .await?;
        erase.lat_us.push(t1.elapsed().as_micros() as u32);
        if r["records_deleted"].as_u64() != Some(5) {
            erase.errors += 1;
        }
        erase.ops += 1;
    }
    erase.secs = t0.elapsed().as_secs_f64();
    println!(
        "| {:<28} | {:>9} | {:>10} | {:>8} | {:>8} | {:>6} |",
        "operation", "ops", "per second", "p50 ms", "p99 ms", "errors"
    );
    println!("|{:-<30}|{:->11}|{:->12}|{:->10}|{:->10}|{:->8}|", "", "", "", "", "", "");
    for p in [&mut import, &mut report, &mut erase, &mut may] {
        println!("{}", p.row());
    }
    drop(server);
    Ok(())
}

/// The retention benchmark (issue target: ≥ 100,000 expired records/s):
/// `--subjects` contacts imported into a collection kept until 0 days
/// after a subject's `contract_end`, the event recorded for all of them by
/// e-mail (lists of 100,000), then a dry run of the sweep (it finds them
/// all) and the sweep itself (it deletes them all, each subject with its
/// key), each timed.
async fn retention(args: Args) -> Result<()> {
    let (server, otp) = start(&args)?;
    let mut c = connect_when_up(server.port).await?;
    let (token, t) = admin_and_tenant(&mut c, &otp).await?;
    let def = contacts_def("contracts", json!({"kind": "after_event", "event": "contract_end", "days": 0}));
    expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/collections"), &token, Some(&def), StatusCode::CREATED)
        .await?;
    println!(
        "varuh-bench retention: backend={} records={} cores={}",
        args.backend,
        args.subjects,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    eprintln!("phase: import");
    import_contacts(&mut c, &token, &t, "contracts", args.subjects).await?;
    eprintln!("phase: contract_end events");
    let yesterday = rfc3339_days_ago(1);
    let mut events = Phase { name: "events recorded (subjects)", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let t0 = Instant::now();
    let mut first = 0;
    while first < args.subjects {
        let n = 100_000.min(args.subjects - first);
        let emails: Vec<String> = (first..first + n).map(|i| format!("contact{i}@bench.example")).collect();
        let body = json!({"event": "contract_end", "at": yesterday, "emails": emails});
        let t1 = Instant::now();
        let r = expect(
            &mut c,
            Method::POST,
            &format!("/v1/tenants/{t}/retention-events"),
            &token,
            Some(&body),
            StatusCode::OK,
        )
        .await?;
        events.lat_us.push(t1.elapsed().as_micros() as u32);
        events.ops += r["recorded"].as_u64().unwrap_or(0) as usize;
        first += n;
    }
    events.secs = t0.elapsed().as_secs_f64();
    let mut phases = vec![events];
    for (name, dry) in [("sweep, dry run (found)", true), ("sweep (records deleted)", false)] {
        eprintln!("phase: {name}");
        let t0 = Instant::now();
        let r = expect(
            &mut c,
            Method::POST,
            &format!("/v1/tenants/{t}/retention/run"),
            &token,
            Some(&json!({"dry_run": dry})),
            StatusCode::OK,
        )
        .await?;
        let secs = t0.elapsed().as_secs_f64();
        let s = &r["collections"][0];
        let n = if dry { s["expired"].as_u64() } else { s["deleted"].as_u64() }.unwrap_or(0) as usize;
        let errors = usize::from(n != args.subjects) + usize::from(s["error"].is_string());
        phases.push(Phase { name, ops: n, secs, lat_us: vec![(secs * 1e6) as u32], errors });
    }
    print_table(&mut phases);
    drop(server);
    Ok(())
}

/// The generated registers (issue 19): a tenant with 50 collections (one
/// holding `--subjects` imported contacts) and a processor register; the
/// records of processing and the TOMs statement (with a staff register of
/// 200 people) as JSON and as a PDF, 20 times each, timed.
async fn registers(args: Args) -> Result<()> {
    let (server, otp) = start(&args)?;
    let mut c = connect_when_up(server.port).await?;
    let (token, t) = admin_and_tenant(&mut c, &otp).await?;
    let settings = json!({"dpo_email": "dpo@bench.example", "controller_email": "info@bench.example",
        "controller_address": "Bench street 1, Ljubljana"});
    expect(&mut c, Method::PUT, &format!("/v1/tenants/{t}/settings"), &token, Some(&settings), StatusCode::OK).await?;
    let ml = json!({"name": "MailerLite", "role": "processor", "service": "newsletter delivery", "locations": ["LT"]});
    expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/processors"), &token, Some(&ml), StatusCode::CREATED)
        .await?;
    for i in 0..50 {
        let def = json!({"name": format!("c{i:02}"), "purposes": ["service", "invoicing"], "legal_basis": "contract",
        "subject_categories": ["customers"], "source": "generated", "processors": if i % 5 == 0 { json!(["MailerLite"]) } else { json!([]) },
        "retention": {"kind": "period", "days": 365 + i},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification"},
            {"name": "visits", "type": "integer", "category": "commercial"},
            {"name": "city", "type": "string", "category": "location"},
            {"name": "note", "type": "string", "category": "preferences"}
        ]});
        expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/collections"), &token, Some(&def), StatusCode::CREATED)
            .await?;
    }
    println!(
        "varuh-bench registers: backend={} collections=50 subjects={} cores={}",
        args.backend,
        args.subjects,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    eprintln!("phase: import");
    import_contacts(&mut c, &token, &t, "c00", args.subjects).await?;
    // A staff register of 200 people, for the TOMs statement's staff measure.
    for i in 0..200 {
        let p = json!({"name": format!("Person {i}"), "started_on": "2025-01-06", "confidentiality_signed": "2025-01-06",
            "trainings": [{"on": "2025-01-08", "topic": "GDPR induction"}]});
        expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/staff-register"), &token, Some(&p), StatusCode::CREATED)
            .await?;
    }
    let mut phases = Vec::new();
    for (name, q) in [
        ("ROPA, JSON (50 activities)", "records-of-processing?format=json"),
        ("ROPA, PDF (50 activities)", "records-of-processing?format=pdf"),
        ("TOMs, JSON", "toms?format=json"),
        ("TOMs, PDF", "toms?format=pdf"),
    ] {
        eprintln!("phase: {name}");
        let mut p = Phase { name, ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
        let t0 = Instant::now();
        for _ in 0..20 {
            let t1 = Instant::now();
            let (st, body) = call(&mut c, Method::GET, &format!("/v1/tenants/{t}/{q}"), &token, None).await?;
            p.lat_us.push(t1.elapsed().as_micros() as u32);
            if st != StatusCode::OK || body.len() < 1000 {
                p.errors += 1;
            }
            p.ops += 1;
        }
        p.secs = t0.elapsed().as_secs_f64();
        phases.push(p);
    }
    print_table(&mut phases);
    drop(server);
    Ok(())
}

/// The results as a Markdown table.
fn print_table(phases: &mut [Phase]) {
    println!(
        "| {:<28} | {:>9} | {:>10} | {:>8} | {:>8} | {:>6} |",
        "operation", "ops", "per second", "p50 ms", "p99 ms", "errors"
    );
    println!("|{:-<30}|{:->11}|{:->12}|{:->10}|{:->10}|{:->8}|", "", "", "", "", "", "");
    for p in phases {
        println!("{}", p.row());
    }
}

/// A collection of the contacts `import_contacts` writes (e-mail, name,
/// visits), kept by `retention`.
fn contacts_def(name: &str, retention: Value) -> Value {
    json!({"name": name, "purposes": ["service"], "legal_basis": "contract",
    "subject_categories": ["customers"], "source": "generated", "retention": retention,
    "fields": [
        {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
        {"name": "name", "type": "string", "category": "identification"},
        {"name": "visits", "type": "integer", "category": "commercial"}
    ]})
}

/// Imports `n` contacts into collection `c` over HTTP, 50,000 a request.
async fn import_contacts(c: &mut Conn, token: &str, t: &str, coll: &str, n: usize) -> Result<()> {
    let mut first = 0;
    while first < n {
        let k = 50_000.min(n - first);
        let mut csv = String::from("email,name,visits\n");
        for i in first..first + k {
            csv.push_str(&format!("contact{i}@bench.example,Contact {i},{}\n", i % 40));
        }
        let body = json!({"csv": csv, "columns": {"email": "email", "name": "name", "visits": "visits"}});
        expect(
            c,
            Method::POST,
            &format!("/v1/tenants/{t}/collections/{coll}/import"),
            token,
            Some(&body),
            StatusCode::OK,
        )
        .await?;
        first += k;
    }
    Ok(())
}

/// The size of the store: the SQLite file (with its WAL), or the PostgreSQL database.
fn store_bytes(url: &str) -> Result<u64> {
    let loc = varuh::store::Location::parse(url)?;
    Ok(match &loc {
        varuh::store::Location::Sqlite(p) => {
            let wal = std::fs::metadata(format!("{}-wal", p.display())).map(|m| m.len()).unwrap_or(0);
            std::fs::metadata(p)?.len() + wal
        }
        varuh::store::Location::Postgres(_) => {
            let mut db = varuh::store::Store::connect_raw(&loc)?;
            db.query("SELECT pg_database_size(current_database())", &[])?[0].i64(0)? as u64
        }
    })
}

/// A local backup destination and an age identity for it, in a directory
/// of their own, as the server's environment (no schedule: the benchmark
/// asks for each backup).
fn backup_kit() -> Result<(tempfile_dir::Dir, Vec<(&'static str, String)>)> {
    let kit = tempfile_dir::Dir::new()?;
    let identity = age::x25519::Identity::generate();
    let id_file = kit.0.join("identity.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&id_file, format!("{}\n", identity.to_string().expose_secret()))?;
    }
    let offsite = kit.0.join("offsite");
    std::fs::create_dir_all(&offsite)?;
    let envs = vec![
        ("VARUH_BACKUP_DESTINATIONS", offsite.display().to_string()),
        ("VARUH_BACKUP_RECIPIENTS", identity.to_public().to_string()),
        ("VARUH_BACKUP_IDENTITY_FILE", id_file.display().to_string()),
        ("VARUH_BACKUP_SECONDS", "0".to_string()),
        ("VARUH_RETENTION_SECONDS", "0".to_string()),
    ];
    Ok((kit, envs))
}

/// A backup of a store of `--subjects` records, then its restore.
async fn backup(args: Args) -> Result<()> {
    let (_kit, backup_envs) = backup_kit()?;
    let (server, otp) = start_with(&args, backup_envs.clone())?;
    let mut c = connect_when_up(server.port).await?;
    let (token, t) = admin_and_tenant(&mut c, &otp).await?;
    let def = json!({"name": "contacts", "purposes": ["service"], "legal_basis": "contract",
    "subject_categories": ["customers"], "source": "generated",
    "retention": {"kind": "period", "days": 3650},
    "fields": [
        {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
        {"name": "name", "type": "string", "category": "identification"},
        {"name": "visits", "type": "integer", "category": "commercial"}
    ]});
    expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/collections"), &token, Some(&def), StatusCode::CREATED)
        .await?;
    println!(
        "varuh-bench backup: backend={} records={} cores={}",
        args.backend,
        args.subjects,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    eprintln!("phase: import");
    import_contacts(&mut c, &token, &t, "contacts", args.subjects).await?;
    let url =
        args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", server._dir.0.join("varuh.db").display()));
    // Let the checkpoint copy the WAL into the file first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let u = url.clone();
    let size = tokio::task::spawn_blocking(move || store_bytes(&u)).await??;
    eprintln!("phase: backup ({:.1} MB)", size as f64 / 1e6);
    let t0 = Instant::now();
    let made = expect(&mut c, Method::POST, "/v1/system/backups", &token, None, StatusCode::CREATED).await?;
    let backup_secs = t0.elapsed().as_secs_f64();
    let file_bytes = made["backup"]["size"].as_u64().unwrap_or(0);
    let master = std::fs::read_to_string(server._dir.0.join("master.key"))?;
    drop(c);
    drop(server);
    eprintln!("phase: restore");
    let target = tempfile_dir::Dir::new()?;
    let mut cmd = Command::new(varuh_exe()?);
    cmd.arg("--data-dir")
        .arg(&target.0)
        .args(["backup", "restore"])
        .envs(backup_envs)
        .env("VARUH_MASTER_KEY", master.trim());
    if let Some(u) = &args.restore_url {
        cmd.args(["--to", u]);
    }
    let t0 = Instant::now();
    let out = cmd.output()?;
    let restore_secs = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("the restore failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let restored_url =
        args.restore_url.clone().unwrap_or_else(|| format!("sqlite://{}", target.0.join("varuh.db").display()));
    let restored = tokio::task::spawn_blocking(move || store_bytes(&restored_url)).await??;
    let mb = size as f64 / 1e6;
    println!("| {:<34} | {:>10} | {:>10} | {:>10} |", "phase", "store MB", "seconds", "MB/s");
    println!("|{:-<36}|{:->12}|{:->12}|{:->12}|", "", "", "", "");
    println!(
        "| {:<34} | {:>10.1} | {:>10.2} | {:>10.1} |",
        "backup (snapshot+gzip+age+copy)",
        mb,
        backup_secs,
        mb / backup_secs
    );
    println!(
        "| {:<34} | {:>10.1} | {:>10.2} | {:>10.1} |",
        "restore (load+journal+verify)",
        mb,
        restore_secs,
        mb / restore_secs
    );
    println!(
        "backup file {:.1} MB ({:.0}% of the store); restored store {:.1} MB",
        file_bytes as f64 / 1e6,
        100.0 * file_bytes as f64 / size as f64,
        restored as f64 / 1e6
    );
    Ok(())
}

/// RFC 3339 for `days` days before now (UTC, to the second).
fn rfc3339_days_ago(days: i64) -> String {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    varuh::clock::rfc3339(now - days * 86_400_000)
}

/// The audit micro-benchmark: durable appends with group commit, then the
/// offline verifier over everything appended.
/// A breach's scope over a large audit trail (issue 19, BRE-3): `--events`
/// events (default 10,000,000) appended in process through the audit
/// queue, as 100 accounts from 100 addresses reading, changing and
/// creating the records of 100,000 subjects in two collections of a
/// tenant; then the scope of one compromised account and of one address
/// over the whole window (the address: every event of the window read and
/// checked), three times each, and the trail verified. SQLite by default;
/// `--database-url` for PostgreSQL.
async fn scope(args: Args) -> Result<()> {
    use varuh::audit::Draft;
    use varuh::service::breach_scope::{ScopeBy, ScopeQuery};
    use varuh::service::Actor;
    let dir = tempfile_dir::Dir::new()?;
    let mut cfg = varuh::config::Config { data_dir: dir.0.clone(), audit_head_seconds: 0, ..Default::default() };
    if let Some(url) = &args.database_url {
        cfg.database_url = Some(url.clone());
    }
    let opened = varuh::setup::open(&cfg, varuh::setup::Create::Yes, varuh::clock::Clock::default()).await?;
    let vault = opened.vault.clone();
    let local = Actor::local();
    let tenant = vault.create_tenant(&local, "Bench", false).await?.id;
    for name in ["customers", "newsletter"] {
        let def = serde_json::from_value(json!({"name": name, "purposes": ["service"], "legal_basis": "contract",
        "subject_categories": ["customers"], "source": "generated", "retention": {"kind": "period", "days": 365},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification"},
            {"name": "city", "type": "string", "category": "location"},
            {"name": "visits", "type": "integer", "category": "commercial"}
        ]}))?;
        vault.create_collection(&local, tenant, def).await?;
    }
    println!(
        "varuh-bench scope: backend={} events={} cores={}",
        args.backend,
        args.events,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let actors: Arc<Vec<uuid::Uuid>> = Arc::new((0..100).map(|_| uuid::Uuid::now_v7()).collect());
    let subjects: Arc<Vec<uuid::Uuid>> = Arc::new((0..100_000).map(|_| uuid::Uuid::now_v7()).collect());
    let from = varuh::clock::now_ms() - 1000;
    eprintln!("phase: append {} events", args.events);
    let next = Arc::new(AtomicUsize::new(0));
    let total = args.events;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..256 {
        let (vault, actors, subjects, next) = (vault.clone(), actors.clone(), subjects.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                // A cheap spread: event i by account i % 100 from address
                // (i / 7) % 100, on subject (i * 7919) % 100,000.
                let (a, src, sub) = (i % 100, (i / 7) % 100, (i * 7919) % 100_000);
                let (action, fields): (&str, &[&str]) = match i % 10 {
                    0 => ("record.create", &["email", "name", "city", "visits"]),
                    1 => ("record.update", &["city"]),
                    _ => ("record.read", &["email", "name", "city", "visits"]),
                };
                let d = Draft {
                    request: uuid::Uuid::now_v7().to_string(),
                    actor: Some(actors[a]),
                    role: Some("operator".into()),
                    tenant: Some(tenant),
                    action: action.into(),
                    outcome: "ok".into(),
                    source: Some(format!("10.1.{}.{}", src / 10, src % 10)),
                    subject: Some(subjects[sub]),
                    collection: Some(if i % 3 == 0 { "newsletter" } else { "customers" }.into()),
                    record: Some(subjects[sub]),
                    fields: fields.iter().map(|f| f.to_string()).collect(),
                    detail: None,
                };
                vault.record_event(d).await?;
                if i % 1_000_000 == 0 && i > 0 {
                    eprintln!("  {i} events, {:.0}/s", i as f64 / start.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let mut append = Phase {
        name: "append (durable, grouped)",
        ops: total,
        secs: start.elapsed().as_secs_f64(),
        lat_us: vec![],
        errors: 0,
    };
    let to = varuh::clock::now_ms() + 1000;
    let mut phases = Vec::new();
    for (name, by, want) in [
        ("scope: one account", ScopeBy::Account(actors[7]), total / 100),
        ("scope: one address", ScopeBy::Source("10.1.1.3".parse()?), total / 100),
    ] {
        eprintln!("phase: {name}");
        let mut p = Phase { name, ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
        let t0 = Instant::now();
        for i in 0..3 {
            if i == 0 && args.cold {
                // The first run reads the store from disk, not the page cache.
                std::process::Command::new("sync").status()?;
                std::fs::write("/proc/sys/vm/drop_caches", "3").context("--cold needs root")?;
            }
            let t1 = Instant::now();
            let s = vault.breach_scope(&local, tenant, ScopeQuery { by: by.clone(), from, to }).await?;
            p.lat_us.push(t1.elapsed().as_micros() as u32);
            // Every hundredth event is the account's or the address's (to
            // within the spread's rounding); all of them succeeded.
            let near = |n: u64| n.abs_diff(want as u64) <= want as u64 / 50 + 7;
            if !near(s.events_matched) || s.events_examined < s.events_matched || s.records == 0 {
                eprintln!(
                    "  unexpected scope: examined {} matched {} records {}",
                    s.events_examined, s.events_matched, s.records
                );
                p.errors += 1;
            } else {
                eprintln!(
                    "  examined {} events, matched {}, {} subjects, {} records, {:.2} s",
                    s.events_examined,
                    s.events_matched,
                    s.subjects,
                    s.records,
                    t1.elapsed().as_secs_f64()
                );
            }
            p.ops += 1;
        }
        p.secs = t0.elapsed().as_secs_f64();
        phases.push(p);
    }
    append.lat_us.clear();
    print_table(&mut [append]);
    print_table(&mut phases);
    let head = vault.make_head().await?;
    let key = vault.audit_key();
    drop(vault);
    drop(opened);
    eprintln!("phase: verify");
    let location = varuh::store::Location::parse(&cfg.database_url())?;
    let report = tokio::task::spawn_blocking(move || -> Result<varuh::audit::verify::Report> {
        let mut db = varuh::store::Store::connect_raw(&location)?;
        Ok(varuh::audit::verify::verify_store(db.as_mut(), &key, &[])?)
    })
    .await??;
    if !report.ok() || report.events != head.tree_size {
        bail!("the log does not verify: {:?}", report.first());
    }
    println!("trail verified: {} events", report.events);
    Ok(())
}

async fn audit(args: Args) -> Result<()> {
    use varuh::audit::{verify, Draft};
    let dir = tempfile_dir::Dir::new()?;
    let cfg = varuh::config::Config { data_dir: dir.0.clone(), audit_head_seconds: 0, ..Default::default() };
    let opened = varuh::setup::open(&cfg, varuh::setup::Create::Yes, varuh::clock::Clock::default()).await?;
    let vault = opened.vault.clone();
    println!(
        "varuh-bench audit: backend=sqlite appenders={} seconds={} cores={}",
        args.clients,
        args.seconds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let fields: Vec<String> = ["email", "name", "phone", "born", "orders"].iter().map(|s| s.to_string()).collect();
    let (tenant, actor) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    eprintln!("phase: audit append");
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (vault, fields) = (vault.clone(), fields.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let d = Draft {
                    request: uuid::Uuid::now_v7().to_string(),
                    actor: Some(actor),
                    role: Some("operator".into()),
                    tenant: Some(tenant),
                    action: "record.read".into(),
                    outcome: "ok".into(),
                    source: Some("127.0.0.1".into()),
                    subject: Some(uuid::Uuid::now_v7()),
                    collection: Some("customers".into()),
                    record: Some(uuid::Uuid::now_v7()),
                    fields: fields.clone(),
                    detail: None,
                };
                let t = Instant::now();
                vault.record_event(d).await?;
                lat.push(t.elapsed().as_micros() as u32);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut append = Phase { name: "append (durable, grouped)", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    for t in tasks {
        let lat = t.await??;
        append.ops += lat.len();
        append.lat_us.extend(lat);
    }
    append.secs = start.elapsed().as_secs_f64();
    let head = vault.make_head().await?;
    let key = vault.audit_key();
    drop(vault);
    drop(opened);
    eprintln!("phase: audit verify");
    let location = varuh::store::Location::parse(&cfg.database_url())?;
    let (report, secs) = tokio::task::spawn_blocking(move || -> Result<(verify::Report, f64)> {
        let mut db = varuh::store::Store::connect_raw(&location)?;
        let t = Instant::now();
        let r = verify::verify_store(db.as_mut(), &key, &[])?;
        Ok((r, t.elapsed().as_secs_f64()))
    })
    .await??;
    if !report.ok() || report.events != head.tree_size {
        bail!("the log does not verify: {:?}", report.first());
    }
    let mut check =
        Phase { name: "verify (one thread)", ops: report.events as usize, secs, lat_us: Vec::new(), errors: 0 };
    // A restart: the first append resumes from the frontier kept with the
    // last head (and reads only the leaf hashes after it).
    eprintln!("phase: audit reload");
    let reopened = varuh::setup::open(&cfg, varuh::setup::Create::No, varuh::clock::Clock::default()).await?;
    let t = Instant::now();
    reopened
        .vault
        .record_event(Draft {
            request: "bench".into(),
            action: "bench.reload".into(),
            outcome: "ok".into(),
            ..Default::default()
        })
        .await?;
    let mut reload = Phase {
        name: "restart: first append",
        ops: report.events as usize,
        secs: t.elapsed().as_secs_f64(),
        lat_us: Vec::new(),
        errors: 0,
    };
    drop(reopened);
    println!(
        "| {:<28} | {:>9} | {:>10} | {:>8} | {:>8} | {:>6} |",
        "operation", "events", "per second", "p50 ms", "p99 ms", "errors"
    );
    println!("|{:-<30}|{:->11}|{:->12}|{:->10}|{:->10}|{:->8}|", "", "", "", "", "", "");
    println!("{}", append.row());
    println!("{}", check.row());
    println!("{}", reload.row());
    Ok(())
}

async fn vault(args: Args) -> Result<()> {
    if args.backend == "postgres" && args.database_url.is_none() {
        bail!("--backend postgres needs --database-url");
    }
    let kit = if args.backups_during { Some(backup_kit()?) } else { None };
    let (server, otp) = start_with(&args, kit.as_ref().map(|k| k.1.clone()).unwrap_or_default())?;
    let port = server.port;
    let mut c = connect_when_up(port).await?;
    let (token, tenant) = admin_and_tenant(&mut c, &otp).await?;
    let admin = token.clone();
    let pw = "benchmark password 123";
    let coll = json!({
        "name": "customers", "purposes": ["benchmark"], "legal_basis": "contract", "subject_categories": ["customers"],
        "source": "generated", "retention": {"kind": "period", "days": 365},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "name", "type": "string", "category": "identification", "required": true},
            {"name": "phone", "type": "phone", "category": "contact", "searchable": args.shared_phone},
            {"name": "born", "type": "date", "category": "identification"},
            {"name": "orders", "type": "integer", "category": "commercial"}
        ]
    });
    let shared = args.shared_phone;
    let (st, b) = call(&mut c, Method::POST, &format!("/v1/tenants/{tenant}/collections"), &token, Some(&coll)).await?;
    if st != StatusCode::CREATED {
        bail!("collection: {st} {}", String::from_utf8_lossy(&b));
    }
    // The load runs as an operator granted read and write on the collection:
    // the need-to-know path (role, grant and mask checks) on every request.
    let (st, b) = call(
        &mut c,
        Method::POST,
        &format!("/v1/tenants/{tenant}/staff"),
        &token,
        Some(&json!({"username": "bench.operator", "role": "operator", "access": {"grants": {"customers": ["read", "write"]}}})),
    )
    .await?;
    if st != StatusCode::CREATED {
        bail!("operator: {st} {}", String::from_utf8_lossy(&b));
    }
    let op_otp = serde_json::from_slice::<Value>(&b)?["one_time_password"].as_str().context("operator")?.to_string();
    let (_, b) = call(
        &mut c,
        Method::POST,
        "/v1/auth/login",
        "",
        Some(&json!({"username": "bench.operator", "password": op_otp})),
    )
    .await?;
    let token = serde_json::from_slice::<Value>(&b)?["token"].as_str().context("operator login")?.to_string();
    call(
        &mut c,
        Method::POST,
        "/v1/auth/password",
        &token,
        Some(&json!({"current_password": op_otp, "new_password": pw})),
    )
    .await?;
    let recs = format!("/v1/tenants/{tenant}/collections/customers/records");
    let mut peers = Vec::new();
    let mut ports = vec![port];
    for _ in 1..args.servers.max(1) {
        let p = start_peer(&server)?;
        let mut up = false;
        for _ in 0..200 {
            if connect(p.port).await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !up {
            bail!("the second server did not start");
        }
        ports.push(p.port);
        peers.push(p);
    }
    println!(
        "varuh-bench: backend={} servers={} subjects={} clients={} seconds/phase={} cores={}",
        args.backend,
        ports.len(),
        args.subjects,
        args.clients,
        args.seconds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    let r = recs.clone();
    let (mut preload, kept) =
        run("preload (create, new subject)", &ports, &token, args.clients, args.subjects, 3600, move |i| {
            (Method::POST, r.clone(), Some(record(i, "p", shared)), StatusCode::CREATED)
        })
        .await?;
    // Backups back to back through every timed phase, if asked.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let backups = match kit.is_some() {
        true => {
            let (stop, port) = (stop.clone(), port);
            Some(tokio::spawn(async move {
                let mut c = connect(port).await?;
                let (mut made, t0) = (0u32, Instant::now());
                while !stop.load(Ordering::Relaxed) {
                    expect(&mut c, Method::POST, "/v1/system/backups", &admin, None, StatusCode::CREATED).await?;
                    made += 1;
                }
                anyhow::Ok((made, t0.elapsed().as_secs_f64()))
            }))
        }
        false => None,
    };
    let ids: Arc<Vec<String>> = Arc::new(
        kept.iter()
            .filter_map(|b| serde_json::from_slice::<Value>(b).ok())
            .filter_map(|v| v["id"].as_str().map(str::to_string))
            .collect(),
    );
    let r = recs.clone();
    let (mut creates, _) =
        run("create (5 fields, durable)", &ports, &token, args.clients, usize::MAX, args.seconds, move |i| {
            (Method::POST, r.clone(), Some(record(i, "c", shared)), StatusCode::CREATED)
        })
        .await?;
    let (r, ids2) = (recs.clone(), ids.clone());
    let (mut reads, _) = run("read by id", &ports, &token, args.clients, usize::MAX, args.seconds, move |i| {
        let id = &ids2[(i.wrapping_mul(2654435761)) % ids2.len()];
        (Method::GET, format!("{r}/{id}"), None, StatusCode::OK)
    })
    .await?;
    let lookup = format!("/v1/tenants/{tenant}/subjects/lookup");
    let n = args.subjects;
    let (mut lookups, _) = run("look-up by e-mail", &ports, &token, args.clients, usize::MAX, args.seconds, move |i| {
        let k = (i.wrapping_mul(2654435761)) % n;
        (
            Method::POST,
            lookup.clone(),
            Some(json!({"kind": "email", "value": format!("person{k}.p@bench.example")})),
            StatusCode::OK,
        )
    })
    .await?;
    let mut searches = None;
    if shared {
        let search = format!("/v1/tenants/{tenant}/subjects/search");
        searches = Some(
            run("search the shared phone (20)", &ports, &token, args.clients, usize::MAX, args.seconds, move |_| {
                (Method::POST, search.clone(), Some(json!({"kind": "phone", "value": SWITCHBOARD})), StatusCode::OK)
            })
            .await?
            .0,
        );
    }
    // Sign-ins: Argon2id with the configured (default) parameters, each a new session.
    let (mut logins, _) = run("login (Argon2id)", &ports, "", args.clients, usize::MAX, args.seconds, move |_| {
        (
            Method::POST,
            "/v1/auth/login".to_string(),
            Some(json!({"username": "bench.operator", "password": pw})),
            StatusCode::OK,
        )
    })
    .await?;
    if let Some(b) = backups {
        stop.store(true, Ordering::Relaxed);
        let (made, secs) = b.await??;
        println!(
            "backups during the timed phases: {made} in {secs:.1} s ({:.1} s each)",
            secs / f64::from(made.max(1))
        );
    }
    println!(
        "| {:<28} | {:>9} | {:>10} | {:>8} | {:>8} | {:>6} |",
        "operation", "requests", "per second", "p50 ms", "p99 ms", "errors"
    );
    println!("|{:-<30}|{:->11}|{:->12}|{:->10}|{:->10}|{:->8}|", "", "", "", "", "", "");
    for p in [
        Some(&mut preload),
        Some(&mut creates),
        Some(&mut reads),
        Some(&mut lookups),
        searches.as_mut(),
        Some(&mut logins),
    ]
    .into_iter()
    .flatten()
    {
        println!("{}", p.row());
    }
    drop(server);
    Ok(())
}

/// The value of `name="csrf"` in a page.
fn csrf_of(body: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(body)?;
    let at = text.find("name=\"csrf\" value=\"").context("no form token on the page")? + 19;
    Ok(text[at..at + text[at..].find('"').context("token")?].to_string())
}

/// `--mode console`: the web console's pages with `--subjects` data
/// subjects stored (imported over the API), each asked 200 times by one
/// browser-like client with the session cookie: how long the server takes
/// to answer a page (measured at the client on loopback, so an upper bound).
async fn console(args: Args) -> Result<()> {
    let (server, otp) = start(&args)?;
    let mut c = connect_when_up(server.port).await?;
    let (token, t) = admin_and_tenant(&mut c, &otp).await?;
    let def = contacts_def("contacts", json!({"kind": "period", "days": 365}));
    expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/collections"), &token, Some(&def), StatusCode::CREATED)
        .await?;
    println!(
        "varuh-bench console: backend={} subjects={} cores={}",
        args.backend,
        args.subjects,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let t0 = Instant::now();
    eprintln!("phase: import {} subjects", args.subjects);
    import_contacts(&mut c, &token, &t, "contacts", args.subjects).await?;
    eprintln!("imported in {:.0} s", t0.elapsed().as_secs_f64());
    // Some requests and a breach, so the lists are not empty.
    for i in 0..50 {
        let body =
            json!({"kind": "access", "channel": "e-mail", "requester_email": format!("contact{i}@bench.example")});
        expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/requests"), &token, Some(&body), StatusCode::CREATED)
            .await?;
    }
    let breach = json!({"kinds": ["confidentiality"], "aware_at": rfc3339_days_ago(0), "found_by": "controller",
        "description": "A stolen laptop", "risk": "risk", "risk_rationale": "contact data"});
    expect(&mut c, Method::POST, &format!("/v1/tenants/{t}/breaches"), &token, Some(&breach), StatusCode::CREATED)
        .await?;

    // Sign in through the form, as a browser does.
    let (_, set, body) = page(&mut c, Method::GET, "/console/sign-in", "", None).await?;
    let pre = set.iter().find_map(|h| h.strip_prefix("set-cookie: varuh_pre=")).context("pre cookie")?;
    let pre = pre.split(';').next().unwrap_or("").to_string();
    let form = format!("csrf={}&username=admin&password=benchmark+password+123", csrf_of(&body)?);
    let (st, set, _) = page(&mut c, Method::POST, "/console/sign-in", &format!("varuh_pre={pre}"), Some(&form)).await?;
    anyhow::ensure!(st == StatusCode::SEE_OTHER, "sign-in: {st}");
    let session = set
        .iter()
        .find_map(|h| h.strip_prefix("set-cookie: varuh_session="))
        .context("session cookie")?
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let cookie = format!("varuh_session={session}");
    let (_, _, body) = page(&mut c, Method::GET, &format!("/console/t/{t}/subjects"), &cookie, None).await?;
    let csrf = csrf_of(&body)?;

    const N: usize = 200;
    let mut phases = Vec::new();
    let mut subjects = Vec::with_capacity(N);
    {
        let mut p = Phase { name: "find a subject (POST)", ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
        let t0 = Instant::now();
        for i in 0..N {
            let who = (i * 4999) % args.subjects;
            let form = format!("csrf={csrf}&kind=email&value=contact{who}%40bench.example");
            let t1 = Instant::now();
            let (st, hs, _) =
                page(&mut c, Method::POST, &format!("/console/t/{t}/subjects"), &cookie, Some(&form)).await?;
            p.lat_us.push(t1.elapsed().as_micros() as u32);
            match hs.iter().find_map(|h| h.strip_prefix("location: ")) {
                Some(l) if st == StatusCode::SEE_OTHER => subjects.push(l.to_string()),
                _ => p.errors += 1,
            }
            p.ops += 1;
        }
        p.secs = t0.elapsed().as_secs_f64();
        phases.push(p);
    }
    let fixed: Vec<(&'static str, String)> = vec![
        ("dashboard", format!("/console/t/{t}")),
        ("requests register", format!("/console/t/{t}/requests")),
        ("breach register", format!("/console/t/{t}/breaches")),
        ("approvals", format!("/console/t/{t}/approvals")),
        ("staff", format!("/console/t/{t}/staff")),
        ("records of processing", format!("/console/t/{t}/registers/ropa")),
        ("TOMs statement", format!("/console/t/{t}/registers/toms")),
        ("audit trail, first page", "/console/audit".to_string()),
    ];
    phases.push(get_pages(&mut c, &cookie, "a subject's page", subjects.clone()).await?);
    for (name, path) in fixed {
        eprintln!("phase: {name}");
        phases.push(get_pages(&mut c, &cookie, name, vec![path; N]).await?);
    }
    print_table(&mut phases);
    drop(server);
    Ok(())
}

/// GETs each path in turn with the session cookie: one phase.
async fn get_pages(c: &mut Conn, cookie: &str, name: &'static str, paths: Vec<String>) -> Result<Phase> {
    let mut p = Phase { name, ops: 0, secs: 0.0, lat_us: Vec::new(), errors: 0 };
    let t0 = Instant::now();
    for path in paths {
        let t1 = Instant::now();
        let (st, _, body) = page(c, Method::GET, &path, cookie, None).await?;
        p.lat_us.push(t1.elapsed().as_micros() as u32);
        if st != StatusCode::OK || body.len() < 500 {
            p.errors += 1;
            if p.errors == 1 {
                eprintln!("{name}: {st} {}", String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
            }
        }
        p.ops += 1;
    }
    p.secs = t0.elapsed().as_secs_f64();
    Ok(p)
}
