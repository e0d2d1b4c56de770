//! `varuh backup create | list | verify | restore`: backups from the
//! operator's shell. `create` makes one as the local operator (beside a
//! running server, ask the server: `POST /v1/system/backups`); `list`
//! reads the destinations; `verify` reads every copy back the whole way
//! (digest, decryption, a restore into a scratch store, the audit
//! verifier); `restore` loads one into an empty store of either backend
//! and replays the erasure journal before anything may serve from it.

use anyhow::{bail, Context};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use varuh::backup::{self, destination::Destination, Verified};
use varuh::config::Config;
use varuh::service::backup::{list_backups, read_journal, Listed, REPLAY_MARGIN_MS};
use varuh::service::{Actor, Vault};
use varuh::store::{queries, Location, Store};

#[derive(Subcommand)]
pub enum BackupAction {
    /// Makes a backup now, to every configured destination (then prunes them).
    Create,
    /// Lists the backups the destinations hold, newest first.
    List,
    /// Reads back every copy of a backup (the newest without an id; every
    /// backup with --all): digest, decryption, a restore into a scratch
    /// store, the audit verifier. Exits 1 if any copy fails.
    Verify {
        /// A backup id (or its first characters).
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Restores a backup (the newest without an id) into an empty store
    /// (`--to`, default the configured database) and erases again what the
    /// erasure journal says was erased after it.
    Restore {
        id: Option<String>,
        /// The destination to read the backup from (default: the first configured).
        #[arg(long)]
        from: Option<String>,
        /// The empty store to restore into (sqlite:///… or postgres://…).
        #[arg(long)]
        to: Option<String>,
    },
}

pub async fn run(cfg: &Config, action: BackupAction) -> anyhow::Result<()> {
    let settings = varuh::setup::backup_settings(cfg)?;
    if settings.destinations.is_empty() {
        bail!("no backup destination is configured (backup_destinations in varuh.toml, or VARUH_BACKUP_DESTINATIONS)");
    }
    match action {
        BackupAction::Create => {
            let _lock = super::exclusive(cfg).map_err(|_| {
                anyhow::anyhow!(
                    "a varuh server is using {}: it makes backups on its schedule, or ask it now with POST /v1/system/backups",
                    cfg.data_dir.display()
                )
            })?;
            let opened = varuh::setup::open(cfg, varuh::setup::Create::No, varuh::clock::Clock::default()).await?;
            let made = opened.vault.backup_create(&Actor::local()).await;
            let made = made.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "backup {} made: {} rows, {} bytes (encrypted to {} recipient(s)); {} old backup(s) pruned",
                made.manifest.id,
                made.manifest.rows,
                made.manifest.size,
                made.manifest.recipients.len(),
                made.pruned
            );
            for (d, o) in &made.destinations {
                println!("  {d}: {o}");
            }
            Ok(())
        }
        BackupAction::List => {
            let list = list_backups(&settings.destinations).await?;
            if list.is_empty() {
                println!("no backup yet");
            }
            for l in &list {
                println!(
                    "{}  {}  {:>12} bytes  {:>10} rows  from {}  copies: {}",
                    l.manifest.id,
                    when(l.manifest.created_at_ms),
                    l.manifest.size,
                    l.manifest.rows,
                    l.manifest.source,
                    l.copies
                        .iter()
                        .map(|c| format!(
                            "{}{}",
                            c.destination,
                            match &c.verified {
                                Some(v) if v.ok => format!(" (verified {})", when(v.at_ms)),
                                Some(v) => format!(" (FAILED verification {})", when(v.at_ms)),
                                None => String::new(),
                            }
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
        BackupAction::Verify { id, all } => {
            identities(cfg)?;
            let list = list_backups(&settings.destinations).await?;
            let chosen: Vec<&Listed> = if all { list.iter().collect() } else { vec![pick(&list, id.as_deref())?] };
            let master = varuh::setup::master_key(cfg, false)?;
            let (mut failed, mut checked) = (0, 0);
            for l in chosen {
                for c in &l.copies {
                    checked += 1;
                    let d = settings.destinations.iter().find(|d| d.name == c.destination).expect("listed from it");
                    let r = verify_copy(cfg, d, l, &master).await;
                    let v = Verified {
                        at_ms: varuh::clock::now_ms(),
                        ok: r.is_ok(),
                        detail: match &r {
                            Ok(s) => s.clone(),
                            Err(e) => format!("{e:#}"),
                        },
                    };
                    match &r {
                        Ok(s) => println!("OK   {} at {}: {s}", l.manifest.id, d.name),
                        Err(e) => {
                            failed += 1;
                            println!("FAIL {} at {}: {e:#}", l.manifest.id, d.name)
                        }
                    }
                    if let Err(e) =
                        d.put_bytes(&backup::verified_key(&l.manifest.key), serde_json::to_vec_pretty(&v)?).await
                    {
                        eprintln!("  (the result could not be recorded at {}: {e:#})", d.name);
                    }
                }
            }
            // The result also goes to the store, for the dashboard, /readyz
            // and /metrics ("the last restore test").
            let outcome = if failed > 0 {
                format!("failed: {failed} cop(ies) failed verification")
            } else {
                format!("ok: {checked} cop(ies) restored into a scratch store and verified")
            };
            let loc = Location::parse(&cfg.database_url())?;
            let recorded = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                if let Location::Sqlite(p) = &loc {
                    anyhow::ensure!(p.exists(), "no store at {}", p.display());
                }
                let mut db = Store::connect_raw(&loc)?;
                queries::record_job(db.as_mut(), "restore_test", varuh::clock::now_ms(), &outcome)?;
                Ok(())
            })
            .await?;
            if let Err(e) = recorded {
                eprintln!("  (the result could not be recorded in the store: {e:#})");
            }
            if failed > 0 {
                eprintln!("{failed} cop(ies) failed verification");
                std::process::exit(1);
            }
            Ok(())
        }
        BackupAction::Restore { id, from, to } => restore(cfg, settings, id, from, to).await,
    }
}

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn identities(cfg: &Config) -> anyhow::Result<Vec<Box<dyn age::Identity>>> {
    let f = cfg.backup_identity_file.as_ref().ok_or_else(|| {
        anyhow::anyhow!("backup_identity_file is not set: the age identity that opens the backups is needed")
    })?;
    backup::identities(f)
}

fn pick<'a>(list: &'a [Listed], id: Option<&str>) -> anyhow::Result<&'a Listed> {
    match id {
        None => list.first().ok_or_else(|| anyhow::anyhow!("the destinations hold no backup")),
        Some(id) => {
            let found: Vec<&Listed> = list.iter().filter(|l| l.manifest.id.to_string().starts_with(id)).collect();
            match found.as_slice() {
                [one] => Ok(one),
                [] => bail!("no backup {id} at the destinations (see varuh backup list)"),
                _ => bail!("{id} names several backups: give more of the id"),
            }
        }
    }
}

/// A copy to read: in place at a local directory, else downloaded into
/// the data directory; its digest checked. (file, whether it is ours to remove)
async fn fetch(cfg: &Config, d: &Destination, l: &Listed) -> anyhow::Result<(PathBuf, bool)> {
    let (file, temporary) = match d.local_file(&l.manifest.key) {
        Some(f) => (f, false),
        None => {
            std::fs::create_dir_all(&cfg.data_dir)?;
            let file = cfg.data_dir.join(format!(".fetch-{}.age", l.manifest.id));
            let _ = std::fs::remove_file(&file);
            d.get_to_file(&l.manifest.key, &file).await?;
            (file, true)
        }
    };
    let f2 = file.clone();
    let digest = tokio::task::spawn_blocking(move || backup::sha256_file(&f2)).await??;
    if digest != l.manifest.sha256 {
        if temporary {
            let _ = std::fs::remove_file(&file);
        }
        bail!("the copy is damaged: its SHA-256 is not the manifest's");
    }
    Ok((file, temporary))
}

fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    pb
}

async fn verify_copy(
    cfg: &Config,
    d: &Destination,
    l: &Listed,
    master: &varuh::crypto::MasterKey,
) -> anyhow::Result<String> {
    let (file, temporary) = fetch(cfg, d, l).await?;
    let scratch = cfg.data_dir.join(format!(".verify-{}.db", l.manifest.id));
    let r = async {
        let (file2, scratch2, m) = (file.clone(), scratch.clone(), l.manifest.clone());
        let key = varuh::audit::note::VerifierKey {
            name: cfg.audit_origin.clone(),
            public_key: master.audit_signer().public_key(),
        };
        let fingerprint = master.fingerprint();
        // Identities are not Send: read on the blocking thread.
        let id_file = cfg.backup_identity_file.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let identities = backup::identities(id_file.as_deref().unwrap_or(Path::new("")))?;
            let input = std::fs::File::open(&file2)?;
            let pb = progress(m.size, "verify");
            let reader = backup::open(pb.wrap_read(input), &identities)?;
            if reader.header.id != m.id {
                bail!("the file is not the backup its manifest names");
            }
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", scratch2.display()));
            }
            let loc = Location::Sqlite(scratch2.clone());
            drop(Store::open(&loc, true, 1, 1)?);
            let mut db = Store::connect_raw(&loc)?;
            let counts = backup::load(db.as_mut(), reader, &mut |_| {})?;
            pb.finish_and_clear();
            if counts != m.tables {
                bail!("the rows read back are not the rows the manifest counts");
            }
            let report = varuh::audit::verify::verify_store(db.as_mut(), &key, &[])?;
            if let Some(f) = report.first() {
                if m.master_key != fingerprint {
                    bail!(
                        "made under master key {}, not the configured {fingerprint}: the audit trail's signatures cannot be checked with this key ({})",
                        m.master_key,
                        f.message
                    );
                }
                bail!("the restored audit trail does not verify: {}", f.message);
            }
            Ok(format!("{} rows restored into a scratch store; audit trail of {} events verifies", m.rows, report.events))
        })
        .await?
    }
    .await;
    if temporary {
        let _ = std::fs::remove_file(&file);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
    }
    r
}

async fn restore(
    cfg: &Config,
    settings: varuh::service::backup::BackupSettings,
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> anyhow::Result<()> {
    let _lock = super::exclusive(cfg)?;
    let master = varuh::setup::master_key(cfg, false)
        .context("a restore needs the master key the backup was made under (see `varuh key export`)")?;
    let url = to.unwrap_or_else(|| cfg.database_url());
    let loc = Location::parse(&url)?;
    if let Location::Sqlite(p) = &loc {
        if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
    }
    // Migrate (creating an embedded store if there is none), then look for
    // an unfinished restore to finish.
    let loc2 = loc.clone();
    let pending = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<String>> {
        drop(Store::open(&loc2, true, 1, 1)?);
        let mut db = Store::connect_raw(&loc2)?;
        Ok(queries::job_state(db.as_mut(), "restore")?.and_then(|s| s.2))
    })
    .await??;
    let since = match pending {
        Some(state) => {
            println!("finishing an earlier restore: {state}");
            state
                .rsplit(' ')
                .next()
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| anyhow::anyhow!("the unfinished restore's mark is not readable"))?
        }
        None => {
            let dest = match &from {
                Some(f) => settings
                    .destinations
                    .iter()
                    .find(|d| d.name == *f || d.name.trim_end_matches('/') == f.trim_end_matches('/'))
                    .ok_or_else(|| anyhow::anyhow!("{f} is not a configured backup destination"))?,
                None => &settings.destinations[0],
            };
            let list = list_backups(std::slice::from_ref(dest)).await?;
            let l = pick(&list, id.as_deref())?.clone();
            if l.manifest.master_key != master.fingerprint() {
                bail!(
                    "backup {} was made under master key {}, but the configured key is {}: give the key it was made under",
                    l.manifest.id,
                    l.manifest.master_key,
                    master.fingerprint()
                );
            }
            println!(
                "restoring backup {} of {} ({} rows) from {}",
                l.manifest.id,
                when(l.manifest.created_at_ms),
                l.manifest.rows,
                dest.name
            );
            let (file, temporary) = fetch(cfg, dest, &l).await?;
            let (loc2, file2, m) = (loc.clone(), file.clone(), l.manifest.clone());
            let id_file = cfg.backup_identity_file.clone().ok_or_else(|| {
                anyhow::anyhow!("backup_identity_file is not set: the age identity that opens the backups is needed")
            })?;
            let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<backup::format::Counts> {
                let identities = backup::identities(&id_file)?;
                let pb = progress(m.size, "restore");
                let reader = backup::open(pb.wrap_read(std::fs::File::open(&file2)?), &identities)?;
                let mut db = Store::connect_raw(&loc2)?;
                let since = m.created_at_ms - REPLAY_MARGIN_MS;
                let counts = backup::load(db.as_mut(), reader, &mut |_| {})?;
                // Marked before anything else: a server will not start on
                // the store until the journal has been replayed.
                queries::mark_restore(
                    db.as_mut(),
                    Some(&format!("backup {} loaded; erasures to replay from {since}", m.id)),
                    varuh::clock::now_ms(),
                )?;
                pb.finish_and_clear();
                Ok(counts)
            })
            .await;
            if temporary {
                let _ = std::fs::remove_file(&file);
            }
            let counts = loaded??;
            println!("  {} rows in {} tables loaded", counts.iter().map(|c| c.1).sum::<u64>(), counts.len());
            l.manifest.created_at_ms - REPLAY_MARGIN_MS
        }
    };
    // The erasures made after the backup, from every destination.
    let entries = read_journal(&settings.destinations, since)
        .await
        .context("the erasure journal must be read from every destination before the store may serve")?;
    let store = {
        let loc2 = loc.clone();
        let (r, w) = (cfg.readers, cfg.writers);
        tokio::task::spawn_blocking(move || Store::open(&loc2, false, r, w)).await??
    };
    let key = varuh::audit::note::VerifierKey {
        name: cfg.audit_origin.clone(),
        public_key: master.audit_signer().public_key(),
    };
    let vault = Vault::new(
        store,
        master,
        varuh::clock::Clock::default(),
        varuh::service::Settings {
            audit_origin: cfg.audit_origin.clone(),
            backup: settings.clone(),
            ..Default::default()
        },
    );
    let n = entries.len();
    let (subjects, records) = vault.replay_erasures(entries).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "  erasure journal: {n} entries since the backup; {subjects} subject(s) and {records} record(s) erased again"
    );
    vault.store_mark_restored().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(vault);
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<varuh::audit::verify::Report> {
        let mut db = Store::connect_raw(&loc)?;
        Ok(varuh::audit::verify::verify_store(db.as_mut(), &key, &[])?)
    })
    .await??;
    match report.first() {
        None => println!("restored; the audit trail of {} events verifies", report.events),
        Some(f) => bail!("restored, but the audit trail does not verify: {}", f.message),
    }
    Ok(())
}
