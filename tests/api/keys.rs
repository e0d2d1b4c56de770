//! The master key kept offline (issue 18, Keys): `varuh key export` to an
//! age recipient (opened with Debian's `age`) or as a printed recovery
//! sheet, both giving back the same key; `varuh key fingerprint` names it.

use crate::support::{Backend, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_key_is_exported_for_safekeeping() {
    let s = TestServer::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let varuh = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_varuh"))
            .arg("--data-dir")
            .arg(&s.cfg.data_dir)
            .args(["key"])
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let file_key = std::fs::read_to_string(s.cfg.master_key_path()).unwrap();
    let master = varuh::crypto::MasterKey::parse(&file_key).unwrap();
    let (ok, fp) = varuh(&["fingerprint"]);
    assert!(ok, "{fp}");
    assert_eq!(fp.trim(), master.fingerprint());

    // To an age recipient: the standard tool opens it.
    let id = dir.path().join("identity.txt");
    let gen = std::process::Command::new("age-keygen").arg("-o").arg(&id).output().expect("age-keygen");
    let recipient = String::from_utf8_lossy(&gen.stderr).trim().trim_start_matches("Public key: ").to_string();
    let sealed = dir.path().join("master.key.age");
    let sealed_s = sealed.to_str().unwrap();
    let (ok, out) = varuh(&["export", "--to", &recipient, "--out", sealed_s]);
    assert!(ok && out.contains(&master.fingerprint()), "{out}");
    assert!(!out.contains(file_key.trim()), "the key is not printed");
    let bytes = std::fs::read(&sealed).unwrap();
    assert!(
        bytes.starts_with(b"age-encryption.org/v1")
            && memchr::memmem::find(&bytes, file_key.trim().as_bytes()).is_none()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&sealed).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let open = std::process::Command::new("age").arg("-d").arg("-i").arg(&id).arg(&sealed).output().expect("age");
    assert!(open.status.success(), "{}", String::from_utf8_lossy(&open.stderr));
    assert_eq!(String::from_utf8_lossy(&open.stdout).trim(), file_key.trim(), "the same key");
    let (ok, out) = varuh(&["export", "--to", &recipient, "--out", sealed_s]);
    assert!(!ok && out.contains("never overwritten"), "{out}");

    // A recovery sheet: the groups typed back give the same key.
    let sheet = dir.path().join("sheet.txt");
    let (ok, out) = varuh(&["export", "--sheet", "--out", sheet.to_str().unwrap()]);
    assert!(ok, "{out}");
    let text = std::fs::read_to_string(&sheet).unwrap();
    assert!(text.contains(&format!("fingerprint: {}", master.fingerprint())), "{text}");
    let groups = text.lines().find(|l| l.split(' ').count() == 16).expect("16 groups");
    assert_eq!(varuh::crypto::MasterKey::parse(groups).unwrap().fingerprint(), master.fingerprint());

    // Bad input: a clear error, no file.
    let bad = dir.path().join("bad.age");
    for args in [
        vec!["export", "--to", "age1nope", "--out", bad.to_str().unwrap()],
        vec!["export", "--out", bad.to_str().unwrap()],
        vec!["export", "--sheet", "--to", &recipient, "--out", bad.to_str().unwrap()],
    ] {
        let (ok, out) = varuh(&args);
        assert!(!ok && (out.contains("--to") || out.contains("--sheet")), "{args:?}: {out}");
        assert!(!bad.exists());
    }
}
