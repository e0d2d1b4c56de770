//! Backups (AVL-1) and erased-stays-erased (AVL-2), as an operator uses
//! them: a backup made through the API to a local directory and to a real
//! S3 server (moto, on loopback), opened with the standard `age` tool,
//! listed, verified the whole way (and a damaged copy caught), pruned,
//! and restored by the CLI into an empty store of either backend on a
//! new machine with the backup and the master key alone — where a subject
//! erased after the backup stays erased.

use crate::support::{pg_url, Backend, TestServer, S3};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const BUCKET: &str = "varuh-backups";

/// An age identity made by the standard tool: (identity file, recipient).
fn age_identity(dir: &Path) -> (PathBuf, String) {
    let id = dir.join("backup-identity.txt");
    let gen = std::process::Command::new("age-keygen").arg("-o").arg(&id).output().expect("age-keygen");
    assert!(gen.status.success());
    (id, String::from_utf8_lossy(&gen.stderr).trim().trim_start_matches("Public key: ").to_string())
}

/// The backup settings every process of a test shares.
struct Kit {
    dir: tempfile::TempDir,
    local: PathBuf,
    identity: PathBuf,
    recipient: String,
    s3: Option<String>,
}

impl Kit {
    fn new(s3: Option<&S3>) -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("offsite");
        std::fs::create_dir_all(&local).unwrap();
        let (identity, recipient) = age_identity(dir.path());
        let s3 = s3.map(|s| format!("s3://{BUCKET}/varuh?endpoint={}&region=eu-central-1", s.endpoint));
        Kit { dir, local, identity, recipient, s3 }
    }
    fn destinations(&self) -> Vec<String> {
        let mut d = vec![format!("file://{}", self.local.display())];
        d.extend(self.s3.clone());
        d
    }
    fn apply(&self, cfg: &mut varuh::config::Config) {
        cfg.backup_destinations = self.destinations();
        cfg.backup_recipients = vec![self.recipient.clone()];
        cfg.backup_identity_file = Some(self.identity.clone());
        cfg.backup_seconds = 0;
    }
    /// Runs `varuh backup …` with this kit's settings on `data_dir`.
    fn varuh(&self, data_dir: &Path, master: Option<&str>, args: &[&str]) -> (bool, String) {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"));
        c.arg("--data-dir")
            .arg(data_dir)
            .arg("backup")
            .args(args)
            .env("VARUH_BACKUP_DESTINATIONS", self.destinations().join(","))
            .env("VARUH_BACKUP_RECIPIENTS", &self.recipient)
            .env("VARUH_BACKUP_IDENTITY_FILE", &self.identity)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("VARUH_DATABASE_URL");
        match master {
            Some(k) => c.env("VARUH_MASTER_KEY", k),
            None => c.env_remove("VARUH_MASTER_KEY"),
        };
        let out = c.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    }
    fn local_backups(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.local.join("backups"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.retain(|p| p.extension().is_some_and(|e| e == "age"));
        v.sort();
        v
    }
}

fn s3_credentials() {
    // moto takes any key; object_store reads them from the environment.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
}

fn customers() -> Value {
    json!({
        "name": "customers",
        "purposes": ["service"],
        "legal_basis": "contract",
        "subject_categories": ["customers"],
        "source": "the data subject",
        "retention": {"kind": "period", "days": 365},
        "erasure": {"rule": "delete"},
        "fields": [
            {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
            {"name": "note", "type": "string", "category": "commercial"}
        ]
    })
}

async fn record(s: &TestServer, t: &str, email: &str, note: &str) -> Value {
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{t}/collections/customers/records"),
            &s.admin,
            json!({"data": {"email": email, "note": note}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    r
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn lookup(s: &TestServer, t: &str, email: &str) -> StatusCode {
    s.post(&format!("/v1/tenants/{t}/subjects/lookup"), &s.admin, json!({"kind": "email", "value": email})).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_on_a_new_machine_and_erased_stays_erased() {
    let kit = Kit::new(None);
    let s = TestServer::start_with(Backend::Sqlite, |c| kit.apply(c)).await;
    let t = s.tenant("Ham d.o.o.", false).await;
    s.collection(&t, customers()).await;
    let ana = record(&s, &t, "ana@ham.si", "erased after the backup").await;
    let bor = record(&s, &t, "bor@ham.si", "stays").await;
    let bor2 = record(&s, &t, "bor@ham.si", "deleted after the backup").await;
    let (ana_s, bor_s) = (ana["subject_id"].as_str().unwrap(), bor["subject_id"].as_str().unwrap());

    // Only system administrators make backups; auditors may list them.
    let tadmin = s.staff(&t, "tadmin", "administrator").await;
    assert_eq!(s.post("/v1/system/backups", &tadmin, json!({})).await.0, StatusCode::FORBIDDEN);
    let (st, made) = s.post("/v1/system/backups", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{made}");
    assert_eq!(made["destinations"].as_object().unwrap().values().collect::<Vec<_>>(), vec!["ok"], "{made}");
    let b = &made["backup"];
    assert_eq!((b["source"].as_str(), b["recipients"][0].as_str()), (Some("sqlite"), Some(kit.recipient.as_str())));
    let master_text = std::fs::read_to_string(s.cfg.master_key_path()).unwrap();
    let master = varuh::crypto::MasterKey::parse(&master_text).unwrap();
    assert_eq!(b["master_key"].as_str(), Some(master.fingerprint().as_str()));
    let files = kit.local_backups();
    assert_eq!(files.len(), 1);
    let sealed = std::fs::read(&files[0]).unwrap();
    assert_eq!(sealed.len() as u64, b["size"].as_u64().unwrap());
    assert!(sealed.starts_with(b"age-encryption.org/v1"));

    // The standard age tool opens it with the identity file, without varuh:
    // a gzip stream of varuh's dump, whose values are still sealed.
    let plain = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("age -d -i '{}' '{}' | gzip -d", kit.identity.display(), files[0].display()))
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(plain.stdout.starts_with(b"VARUH-BACKUP 1\n{"), "a readable header");
    let header: Value = serde_json::from_slice(plain.stdout[15..].split(|c| *c == b'\n').next().unwrap()).unwrap();
    assert_eq!(header["id"], b["id"]);
    assert!(header["tables"].as_array().unwrap().iter().any(|t| t["name"] == "records"));
    for secret in ["ana@ham.si", "erased after the backup", master_text.trim()] {
        assert!(memchr::memmem::find(&plain.stdout, secret.as_bytes()).is_none(), "{secret} in the clear");
        assert!(memchr::memmem::find(&sealed, secret.as_bytes()).is_none());
    }
    let (st, list) = s.get("/v1/system/backups", &s.admin).await;
    assert_eq!((st, list[0]["backup"]["id"].clone()), (StatusCode::OK, b["id"].clone()), "{list}");

    // After the backup: Ana is erased, one of Bor's records deleted; the
    // journal reaches the destination by itself.
    let (st, e) = s.delete(&format!("/v1/tenants/{t}/subjects/{ana_s}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (st, _) = s
        .delete(&format!("/v1/tenants/{t}/collections/customers/records/{}", bor2["id"].as_str().unwrap()), &s.admin)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let journal = kit.local.join("journal");
    let entries = || -> usize {
        std::fs::read_dir(&journal)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| {
                        let b = std::fs::read(e.path()).unwrap();
                        varuh::backup::decode_journal(&b).unwrap().len()
                    })
                    .sum()
            })
            .unwrap_or(0)
    };
    wait_for("the erasure journal at the destination", || entries() >= 3).await;
    let mut text = String::new();
    for f in std::fs::read_dir(&journal).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(memchr::memmem::find(&bytes, b"ana@").is_none());
        text += &format!("{:?}", varuh::backup::decode_journal(&bytes).unwrap());
    }
    assert!(!text.contains("ana@") && text.contains(ana_s), "ids only: {text}");

    // A new machine: an empty data directory, the master key from its
    // safekeeping copy, the backup destinations. Bad input first.
    let new = tempfile::tempdir().unwrap();
    let (ok, out) = kit.varuh(new.path(), None, &["restore"]);
    assert!(!ok && out.contains("master key"), "{out}");
    let other = varuh::crypto::MasterKey::parse(&"ab".repeat(32)).unwrap();
    let (ok, out) = kit.varuh(new.path(), Some(&"ab".repeat(32)), &["restore"]);
    assert!(!ok && out.contains(&other.fingerprint()) && out.contains("made under master key"), "{out}");
    let (ok, out) = kit.varuh(new.path(), Some(master_text.trim()), &["restore", "0000"]);
    assert!(!ok && out.contains("no backup 0000"), "{out}");
    let (ok, out) = kit.varuh(new.path(), Some(master_text.trim()), &["restore"]);
    assert!(ok, "{out}");
    assert!(out.contains("3 entries since the backup; 1 subject(s) and 2 record(s) erased again"), "{out}");
    assert!(out.contains("audit trail of") && out.contains("verifies"), "{out}");
    // Again: the store is not empty now.
    let (ok, out) = kit.varuh(new.path(), Some(master_text.trim()), &["restore"]);
    assert!(!ok && out.contains("not empty"), "{out}");

    let mut cfg = s.cfg.clone();
    cfg.data_dir = new.path().to_path_buf();
    std::fs::write(cfg.master_key_path(), &master_text).unwrap();
    let r = TestServer::open_existing(cfg).await;
    // Ana cannot be found, read or exported; Bor's kept record reads back.
    assert_eq!(lookup(&r, &t, "ana@ham.si").await, StatusCode::NOT_FOUND);
    assert_eq!(r.get(&format!("/v1/tenants/{t}/subjects/{ana_s}"), &r.admin).await.0, StatusCode::NOT_FOUND);
    assert_eq!(r.get(&format!("/v1/tenants/{t}/subjects/{ana_s}/records"), &r.admin).await.0, StatusCode::NOT_FOUND);
    let (st, _, export) =
        r.download(&format!("/v1/tenants/{t}/collections/customers/export"), &r.admin, json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let export = String::from_utf8_lossy(&export);
    assert!(export.contains("bor@ham.si") && !export.contains("ana@ham.si"), "{export}");
    assert!(!export.contains("deleted after the backup"), "{export}");
    let (st, recs) = r.get(&format!("/v1/tenants/{t}/subjects/{bor_s}/records"), &r.admin).await;
    assert_eq!(st, StatusCode::OK, "{recs}");
    assert!(recs.to_string().contains("stays") && !recs.to_string().contains("deleted after the backup"), "{recs}");
    let report = r.verify_trail().await;
    assert!(report.ok(), "{:?}", report.failures);
    let (_, ev) = r.get("/v1/audit/events?action=backup.restore", &r.admin).await;
    assert!(ev.to_string().contains("erasures replayed after a restore"), "{ev}");

    // The same backup restores into PostgreSQL too (and reads the same).
    if let Some(_url) = pg_url() {
        let pg = crate::support::fresh_pg_database().await;
        let new_pg = tempfile::tempdir().unwrap();
        let (ok, out) = kit.varuh(new_pg.path(), Some(master_text.trim()), &["restore", "--to", &pg]);
        assert!(ok, "{out}");
        let mut cfg = s.cfg.clone();
        cfg.data_dir = new_pg.path().to_path_buf();
        cfg.database_url = Some(pg);
        std::fs::write(cfg.master_key_path(), &master_text).unwrap();
        let p = TestServer::open_existing(cfg).await;
        assert_eq!(lookup(&p, &t, "ana@ham.si").await, StatusCode::NOT_FOUND);
        assert_eq!(lookup(&p, &t, "bor@ham.si").await, StatusCode::OK);
        let (_, recs) = p.get(&format!("/v1/tenants/{t}/subjects/{bor_s}/records"), &p.admin).await;
        assert!(recs.to_string().contains("stays"), "{recs}");
        assert!(p.verify_trail().await.ok());
    }
    drop(kit.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_go_to_s3_and_a_directory_and_verify_reads_every_copy() {
    s3_credentials();
    let s3 = S3::start(BUCKET).await;
    let kit = Kit::new(Some(&s3));
    let backend = if pg_url().is_some() { Backend::Postgres } else { Backend::Sqlite };
    let mut s = TestServer::start_with(backend, |c| {
        kit.apply(c);
        c.backup_keep_daily = 2;
        c.backup_keep_monthly = 1;
    })
    .await;
    let t = s.tenant("2Mobile d.o.o.", false).await;
    s.collection(&t, customers()).await;
    record(&s, &t, "cene@2mobile.si", "a customer").await;

    // Four backups over three days: day 1, day 2, day 3 twice.
    let mut ids = Vec::new();
    for step in 0..4 {
        if step == 1 || step == 2 {
            s.travel(86_400_000).await;
        }
        let (st, made) = s.post("/v1/system/backups", &s.admin, json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{made}");
        let d = made["destinations"].as_object().unwrap();
        assert!(d.len() == 2 && d.values().all(|v| v == "ok"), "{made}");
        ids.push(made["backup"]["id"].as_str().unwrap().to_string());
    }
    // Kept: the newest of each of the last two days (day 3's second, day 2).
    let in_s3 = s3.keys(BUCKET, "varuh/backups/").await;
    for (i, id) in ids.iter().enumerate() {
        let kept = i == 1 || i == 3;
        assert_eq!(in_s3.iter().any(|k| k.contains(id.as_str())), kept, "{i}: {in_s3:?}");
        assert_eq!(kit.local_backups().iter().any(|p| p.display().to_string().contains(id.as_str())), kept);
    }
    assert_eq!(in_s3.iter().filter(|k| k.ends_with(".age")).count(), 2, "{in_s3:?}");

    // Verify reads every copy back the whole way.
    let (ok, out) = kit.varuh(&s.cfg.data_dir, None, &["verify", "--all"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("OK   ").count(), 4, "{out}");
    assert!(out.contains("audit trail of"), "{out}");
    let (ok, out) = kit.varuh(&s.cfg.data_dir, None, &["list"]);
    assert!(ok && out.matches("(verified").count() == 4, "{out}");
    let restore_test =
        |m: varuh::service::alerts::Monitoring| m.jobs.iter().find(|j| j.job == "restore_test").unwrap().ok;
    if backend == Backend::Sqlite {
        // The last restore test is in the store (the dashboard, /readyz, /metrics).
        assert_eq!(restore_test(s.vault.monitoring().await.unwrap()), Some(true));
    }

    // A damaged copy (one byte flipped at the directory) is caught; the S3
    // copy still verifies, and the listing says which failed.
    let local = kit.local_backups();
    let newest = local.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(newest, bytes).unwrap();
    let (ok, out) = kit.varuh(&s.cfg.data_dir, None, &["verify"]);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL") && out.contains("damaged") && out.matches("OK   ").count() == 1, "{out}");
    if backend == Backend::Sqlite {
        assert_eq!(restore_test(s.vault.monitoring().await.unwrap()), Some(false), "a failed restore test shows");
    }
    let (_, list) = s.get("/v1/system/backups", &s.admin).await;
    let copies = list[0]["copies"].as_array().unwrap();
    assert_eq!(copies.iter().filter(|c| c["verified_ok"] == false).count(), 1, "{list}");

    // Bad input: no identity file, a wrong one; nothing changes.
    let wrong = tempfile::tempdir().unwrap();
    let (wrong_id, _) = age_identity(wrong.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
        .arg("--data-dir")
        .arg(&s.cfg.data_dir)
        .args(["backup", "verify", &ids[1]])
        .env("VARUH_BACKUP_DESTINATIONS", kit.destinations().join(","))
        .env("VARUH_BACKUP_RECIPIENTS", &kit.recipient)
        .env("VARUH_BACKUP_IDENTITY_FILE", &wrong_id)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("cannot decrypt"), "{text}");
    assert!(s.verify_trail().await.ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_without_destinations_or_recipients_is_refused_clearly() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (st, p) = s.post("/v1/system/backups", &s.admin, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("no backup destination"), "{p}");
    // Destinations without recipients, a bad recipient, a relative path: the configuration is refused.
    for (dest, rcpt, says) in [
        ("/tmp/x", "", "backup_recipients is empty"),
        ("/tmp/x", "age1nope", "not an age X25519 recipient"),
        ("relative/dir", "", "absolute directory"),
    ] {
        let mut cfg = s.cfg.clone();
        cfg.backup_destinations = vec![dest.into()];
        cfg.backup_recipients = if rcpt.is_empty() { vec![] } else { vec![rcpt.into()] };
        let e = varuh::setup::backup_settings(&cfg).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_makes_backups_on_its_schedule() {
    let kit = Kit::new(None);
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        kit.apply(c);
        c.backup_seconds = 1;
    })
    .await;
    wait_for("a scheduled backup", || !kit.local_backups().is_empty()).await;
    let (st, list) = s.get("/v1/system/backups", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!list.as_array().unwrap().is_empty(), "{list}");
    let (_, ready) = s.get("/readyz", "").await;
    let jobs = ready["details"]["jobs"].as_array().unwrap().clone();
    assert!(jobs.iter().any(|j| j["job"] == "backup" && j["ok"] == true), "{ready}");
    let events = s.events("backup.create").await;
    assert!(
        events.iter().any(|e| e.to_string().contains("via=local") && e.to_string().contains("rows=")),
        "audited, as the local operator: {events:?}"
    );
}
