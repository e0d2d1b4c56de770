//! REG-5: each seed company's example (`examples/<company>/varuh.toml`)
//! loaded into a fresh store — the CLI's `varuh load` once, in process for
//! all four — with the server configured as the example's `[server]`
//! asks; then each tenant's TOMs statement must show every technical
//! measure the seed states (`expect.toml`) with the evidence it names,
//! the seed's organisational measures as text, nothing claimed that its
//! policy does not enforce, and a records of processing with an activity
//! per collection and no processor missing from the register.

use crate::support::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};

const COMPANIES: [&str; 4] = ["ham", "2mobile", "aws-processor", "eximitech"];

fn example_dir(company: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(company)
}

fn expectations(company: &str) -> toml::Table {
    let text = std::fs::read_to_string(example_dir(company).join("expect.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn list<'a>(t: &'a toml::Table, key: &str) -> Vec<&'a toml::Table> {
    t.get(key).and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|v| v.as_table()).collect()).unwrap_or_default()
}

async fn check_company(company: &str) {
    let (example, base) = varuh::load::Example::read(&example_dir(company)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let identity = dir.path().join("identity.txt");
    let gen = std::process::Command::new("age-keygen").arg("-o").arg(&identity).output().expect("age-keygen");
    let recipient = String::from_utf8_lossy(&gen.stderr).trim().trim_start_matches("Public key: ").to_string();
    let server = example.server.clone();
    let dests: Vec<String> = (0..server.backup_destinations.max(1))
        .map(|i| {
            let d = dir.path().join(format!("site-{i}"));
            std::fs::create_dir_all(&d).unwrap();
            format!("file://{}", d.display())
        })
        .collect();
    let cert = dir.path().join("cert.pem");
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.backup_destinations = dests;
        c.backup_recipients = vec![recipient];
        c.backup_seconds = server.backup_seconds;
        c.retention_seconds = 3600;
        if server.tls {
            // The statement reads whether the server serves TLS; the test server itself is plain.
            c.tls_cert = Some(cert.clone());
            c.tls_key = Some(cert);
        }
        if server.alerts {
            c.alert_webhook = Some("http://127.0.0.1:9/alerts".into());
        }
    })
    .await;
    let done = varuh::load::apply(&s.vault, &varuh::service::Actor::local(), &example, &base).await.unwrap();
    assert!(done.warnings.is_empty(), "{company}: the server is configured as asked: {:?}", done.warnings);
    assert_eq!(done.tenants.len(), example.tenants.len());
    if example.server.backup_seconds == 0 {
        let (st, made) = s.post("/v1/system/backups", &s.admin, serde_json::json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{made}");
    }
    assert!(s.vault.verify_audit_now().await.unwrap());

    let statement = |tenant: String| {
        let (http, base, tok) = (s.http.clone(), s.base.clone(), s.admin.clone());
        async move {
            let r = http.get(format!("{base}/v1/tenants/{tenant}/toms")).bearer_auth(tok).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    // The scheduled first backup runs at start; wait for it to be on record.
    let first = done.tenants[0].1.to_string();
    let mut toms = statement(first.clone()).await;
    for _ in 0..100 {
        if toms["technical"].as_array().unwrap().iter().any(|m| m["area"] == "backup") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        toms = statement(first.clone()).await;
    }
    let mut by_tenant = std::collections::BTreeMap::new();
    for (name, id) in &done.tenants {
        by_tenant.insert(name.clone(), (id.to_string(), statement(id.to_string()).await));
    }

    let expect = expectations(company);
    let measures = list(&expect, "measure");
    assert!(!measures.is_empty(), "{company}: expect.toml lists the seed's measures");
    for m in &measures {
        let tenant = m.get("tenant").and_then(|v| v.as_str()).unwrap_or(&done.tenants[0].0);
        let (_, toms) = by_tenant.get(tenant).unwrap_or_else(|| panic!("{company}: no tenant {tenant}"));
        let (area, want) = (m["area"].as_str().unwrap(), m["evidence"].as_str().unwrap());
        let found = toms["technical"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["area"] == area)
            .any(|x| x["evidence"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().contains(want)));
        assert!(found, "{company} {} ({}): {area} with evidence {want:?} not in {toms}", m["seed"], m["says"]);
    }
    for o in list(&expect, "organisational") {
        let tenant = o.get("tenant").and_then(|v| v.as_str()).unwrap_or(&done.tenants[0].0);
        let (_, toms) = &by_tenant[tenant];
        let area = o["area"].as_str().unwrap();
        assert!(
            toms["organisational"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["area"] == area && !x["text"].as_str().unwrap().is_empty()),
            "{company} {}: organisational {area} not in {toms}",
            o["seed"]
        );
    }

    // Nothing unenforced is claimed: what the statement says of MFA, four
    // eyes and networks follows the tenant's policy file, and every claim
    // has evidence.
    for spec in &example.tenants {
        let (id, toms) = &by_tenant[&spec.name];
        let claimed: Vec<&str> =
            toms["technical"].as_array().unwrap().iter().map(|m| m["area"].as_str().unwrap()).collect();
        assert!(toms["technical"].as_array().unwrap().iter().all(|m| !m["evidence"].as_array().unwrap().is_empty()));
        // Art. 9 data refused only where the tenant refuses them; analysis
        // pseudonymised only where a collection defines such an export.
        assert_eq!(claimed.contains(&"special_categories"), !spec.allow_special_categories, "{company} {}", spec.name);
        let analysed = spec.collections.iter().any(|c| c.analysis.is_some());
        assert_eq!(claimed.contains(&"pseudonymisation"), analysed, "{company} {}: pseudonymisation", spec.name);
        let policy = match &spec.policy {
            Some(p) => {
                varuh::domain::policy::Policy::from_toml(&std::fs::read_to_string(base.join(p)).unwrap()).unwrap()
            }
            None => continue,
        };
        let mfa = policy.mfa.required != varuh::domain::policy::MfaRequired::Optional;
        assert_eq!(claimed.contains(&"mfa"), mfa, "{company} {}: mfa claimed as enforced", spec.name);
        assert_eq!(claimed.contains(&"four_eyes"), !policy.four_eyes.operations.is_empty(), "{company} {}", spec.name);
        assert_eq!(claimed.contains(&"networks"), !policy.networks.sign_in.is_empty(), "{company} {}", spec.name);
        // No test restore was run here: not claimed.
        assert!(!claimed.contains(&"restore_test"), "{company}: a restore test claimed without one");

        // The records of processing: an activity per collection, the
        // processors all in the register.
        let (st, ropa) = s.get(&format!("/v1/tenants/{id}/records-of-processing"), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{ropa}");
        let acts: Vec<&str> =
            ropa["activities"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        for c in &spec.collections {
            assert!(acts.contains(&c.name.as_str()), "{company} {}: {} not in the ROPA", spec.name, c.name);
        }
        let gaps = ropa["gaps"].to_string();
        assert!(!gaps.contains("no entry for"), "{company} {}: a processor is missing: {gaps}", spec.name);
        assert!(ropa["security_measures"].to_string().contains("last successful backup"), "{company}: {ropa}");
        let (st, reg) = s.get(&format!("/v1/tenants/{id}/staff-register"), &s.admin).await;
        assert_eq!((st, reg["people"].as_array().unwrap().len()), (StatusCode::OK, spec.staff.len()), "{reg}");
    }
    // One tenant's documents read back: the ROPA and the TOMs as PDF.
    let (id, _) = &by_tenant[&done.tenants[0].0];
    let (st, pdf) = s.get_bytes(&format!("/v1/tenants/{id}/toms?format=pdf"), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    let text = crate::requests::pdf_text(&pdf);
    assert!(text.contains("Technical and organisational measures") && text.contains("Evidence"), "{text}");
    let (st, pdf) = s.get_bytes(&format!("/v1/tenants/{id}/records-of-processing?format=pdf"), &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    let text = crate::requests::pdf_text(&pdf).replace('\n', " ");
    for c in &example.tenants[0].collections {
        assert!(text.contains(&c.name), "{company}: {} not in the ROPA PDF", c.name);
    }
}

#[tokio::test]
async fn reg5_each_seed_company_loads_and_its_statement_covers_its_seed() {
    for c in COMPANIES {
        check_company(c).await;
    }
}

/// The CLI loads an example into a fresh store with one command, and
/// refuses to load it twice.
#[tokio::test]
async fn reg5_varuh_load_is_one_command_and_not_applied_twice() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("load")
            .arg(example_dir("eximitech"))
            .env_remove("VARUH_DATABASE_URL")
            .env_remove("VARUH_MASTER_KEY")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().filter(|l| l.starts_with("tenant ")).count(), 2, "{stdout}");
    assert!(stdout.contains("one-time password"), "{stdout}");
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds a tenant named"), "{:?}", again);
}
