//! The operator's CLI for staff and policy: `varuh user …` and `varuh
//! policy …`. It runs on the server's own machine with the data
//! directory, as the "local operator" (`Actor::local`: a system
//! administrator, recorded as such in the audit trail), through the same
//! use cases as the API. The writing commands refuse to run beside a
//! server on the same data directory (`exclusive`): stop it first.

pub mod backup;

use anyhow::Context;
use clap::Subcommand;
use varuh::domain::access::{Access, Role, Scope, RULES};
use varuh::domain::policy::Policy;
use varuh::service::{Actor, Vault};

#[derive(Subcommand)]
pub enum UserAction {
    /// Creates an account; prints its one-time password.
    Add {
        name: String,
        /// administrator, dpo, operator, auditor or service.
        #[arg(long, default_value = "operator")]
        role: String,
        /// The tenant (id); without it, a system account.
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
        /// Grants and masks as JSON, e.g. '{"grants":{"customers":["read"]}}'.
        #[arg(long)]
        access: Option<String>,
    },
    /// Lists accounts of a tenant (or system staff).
    List {
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
    },
    /// Suspends an account: its sessions and API keys end.
    Suspend { name: String },
    /// Reactivates a suspended account.
    Reactivate { name: String },
    /// Records offboarding items and closes the account.
    Offboard {
        name: String,
        /// access_card_returned, keys_returned, accounts_closed, devices_returned.
        #[arg(long = "item")]
        items: Vec<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Lifts the lockouts after failed sign-ins.
    Unlock { name: String },
    /// Prints a new one-time password (a lost first password, a forgotten one).
    ResetPassword { name: String },
    /// Removes the account's second factor: it enrols again at next sign-in.
    ResetMfa { name: String },
}

#[derive(Subcommand)]
pub enum PolicyAction {
    /// Prints the permission table and, with a store, the policy in force.
    Show {
        /// A tenant's policy (id); `--system` for system staff's.
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
        #[arg(long)]
        system: bool,
    },
    /// Stores a policy file (TOML) for a tenant or system staff.
    Set {
        file: std::path::PathBuf,
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
    },
    /// Checks a policy file and prints the rules it sets.
    Check { file: std::path::PathBuf },
}

#[derive(Subcommand)]
pub enum RetentionAction {
    /// Runs the retention sweep of every tenant (or one): expired records
    /// deleted or anonymised per each collection's rule, legal holds kept.
    Run {
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
        /// Find and report what would go; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `varuh retention run`: the sweep as the local operator, a line per
/// collection swept.
pub async fn retention(v: &std::sync::Arc<Vault>, action: RetentionAction) -> anyhow::Result<()> {
    let RetentionAction::Run { tenant, dry_run } = action;
    let reports = match tenant {
        Some(t) => vec![v.retention_run(&Actor::local(), t, dry_run).await?],
        None => v
            .retention_all(dry_run, 3_600_000, 0)
            .await?
            .ok_or_else(|| anyhow::anyhow!("another server runs the retention sweep now; try again later"))?,
    };
    for r in &reports {
        println!("tenant {}: {}", r.tenant, r.summary());
        for c in &r.collections {
            let (verb, n) =
                if dry_run { ("would remove", c.expired - c.held) } else { ("removed", c.deleted + c.anonymised) };
            println!(
                "  {}: {} expired, {verb} {n} ({} deleted, {} anonymised), {} subjects erased, {} held by {} legal hold(s){}",
                c.collection,
                c.expired,
                c.deleted,
                c.anonymised,
                c.subjects_erased,
                c.held,
                c.holds.len(),
                c.error.as_deref().map(|e| format!("; {e}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum KeyAction {
    /// Writes the master key for offline safekeeping: encrypted to an age
    /// recipient (`--to age1…`, opened with `age -d -i identity`), or as a
    /// recovery sheet to print (`--sheet`). Never into a backup.
    Export {
        /// Encrypt to this age X25519 recipient.
        #[arg(long)]
        to: Option<String>,
        /// A recovery sheet (plain text, to print and keep in a safe).
        #[arg(long)]
        sheet: bool,
        /// The file to write (created with mode 0600; never overwritten).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Prints the master key's fingerprint (names the key, reveals nothing).
    Fingerprint,
}

/// `varuh key …`: the master key, from its file or `VARUH_MASTER_KEY`.
pub fn key(cfg: &varuh::config::Config, action: KeyAction) -> anyhow::Result<()> {
    let master = varuh::setup::master_key(cfg, false)?;
    let (to, sheet, out) = match action {
        KeyAction::Fingerprint => {
            println!("{}", master.fingerprint());
            return Ok(());
        }
        KeyAction::Export { to, sheet, out } => (to, sheet, out),
    };
    let bytes: zeroize::Zeroizing<Vec<u8>> = match (to, sheet) {
        (Some(r), false) => {
            let p = varuh::documents::protect::Protect::Recipient(r);
            p.check("--to").map_err(|e| anyhow::anyhow!("--to: {}", e.message))?;
            let plain = zeroize::Zeroizing::new(format!("{}\n", master.to_base64().as_str()));
            zeroize::Zeroizing::new(p.seal(plain.as_bytes()).map_err(|e| anyhow::anyhow!("--to: {e}"))?)
        }
        (None, true) => zeroize::Zeroizing::new(
            format!(
                "varuh master key: recovery sheet\n\
                 fingerprint: {}\n\n\
                 {}\n\n\
                 Keep this sheet offline, in a safe, apart from the backups. To recover,\n\
                 type the 16 groups above into the master key file (master.key in the\n\
                 data directory, mode 0600) or VARUH_MASTER_KEY, spaces allowed, and check\n\
                 that `varuh key fingerprint` prints the fingerprint above.\n",
                master.fingerprint(),
                master.to_hex_groups().as_str()
            )
            .into_bytes(),
        ),
        _ => anyhow::bail!("give one of --to age1… and --sheet"),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f =
        opts.open(&out).with_context(|| format!("cannot create {} (it is never overwritten)", out.display()))?;
    std::io::Write::write_all(&mut f, &bytes).and_then(|_| f.sync_all())?;
    println!("master key {} written to {}", master.fingerprint(), out.display());
    Ok(())
}

/// Holds `<data_dir>/varuh.lock` for as long as the process runs: `serve`
/// takes it, and so do the CLI's writing commands, so that they never
/// write beside a running server (its audit appender numbers events from
/// memory). A second holder is refused with a message saying why.
pub fn exclusive(cfg: &varuh::config::Config) -> anyhow::Result<Option<std::fs::File>> {
    if !cfg.data_dir.exists() {
        return Ok(None);
    }
    let path = cfg.data_dir.join("varuh.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "a varuh server (or another varuh command) is using {}: stop it first, or do this through the API",
            cfg.data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// The permission table as text: what `varuh policy show` prints.
pub fn permission_table() -> String {
    let mut out = String::from(
        "action                     scope     roles                                  data op  four-eyes  what\n",
    );
    for r in RULES {
        let scope = match r.scope {
            Scope::System => "system",
            Scope::Tenant => "tenant",
            Scope::Account => "own",
            Scope::Anonymous => "anyone",
        };
        let roles = if r.roles.is_empty() {
            "-".to_string()
        } else {
            r.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
        };
        out.push_str(&format!(
            "{:<26} {:<9} {:<38} {:<8} {:<10} {}\n",
            r.action.name(),
            scope,
            roles,
            r.op.map(|o| o.as_str()).unwrap_or("-"),
            if r.four_eyes { "eligible" } else { "-" },
            r.summary
        ));
    }
    out.push_str("\noperator and service: only collections and operations granted to them (grants, API-key scope); masked fields read as \"***\".\n");
    out
}

pub fn read_policy(file: &std::path::Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let p = Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    p.validate().map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(p)
}

async fn staff_id(v: &Vault, a: &Actor, name: &str) -> anyhow::Result<(Option<uuid::Uuid>, uuid::Uuid)> {
    let s = v.find_staff(a, name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((s.tenant, s.id))
}

pub async fn user(v: &Vault, action: UserAction) -> anyhow::Result<()> {
    let a = Actor::local();
    let err = |e: varuh::service::ServiceError| anyhow::anyhow!("{e}");
    match action {
        UserAction::Add { name, role, tenant, access } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be administrator, dpo, operator, auditor or service"))?;
            let access: Access = match access {
                Some(j) => serde_json::from_str(&j).context("--access is not valid JSON grants")?,
                None => Access::default(),
            };
            let new = varuh::service::identity::staff::NewStaff { username: &name, role, password: None, access };
            let (info, pw) = v.create_staff(&a, tenant, new).await.map_err(err)?;
            println!("created {} ({}) id {}", info.username, info.role.as_str(), info.id);
            if let Some(pw) = pw {
                println!("one-time password: {pw}\n(must be changed at first sign-in)");
            }
        }
        UserAction::List { tenant } => {
            for s in v.list_staff(&a, tenant).await.map_err(err)? {
                let state = if s.offboarded_at.is_some() {
                    "offboarded"
                } else if s.suspended {
                    "suspended"
                } else {
                    "active"
                };
                println!(
                    "{}  {:<24} {:<13} {:<10} mfa={} locked={}",
                    s.id,
                    s.username,
                    s.role.as_str(),
                    state,
                    s.mfa_enabled,
                    s.locked
                );
            }
        }
        UserAction::Suspend { name } => {
            let (t, id) = staff_id(v, &a, &name).await?;
            v.suspend_staff(&a, t, id).await.map_err(err)?;
            println!("{name} suspended: sessions ended, API keys revoked");
        }
        UserAction::Reactivate { name } => {
            let (t, id) = staff_id(v, &a, &name).await?;
            v.reactivate_staff(&a, t, id).await.map_err(err)?;
            println!("{name} reactivated");
        }
        UserAction::Offboard { name, items, note } => {
            let (t, id) = staff_id(v, &a, &name).await?;
            for (item, _, at, _) in v.offboard_staff(&a, t, id, &items, note.as_deref()).await.map_err(err)? {
                println!("  {item}  {}", varuh::clock::rfc3339(at));
            }
            println!("{name} offboarded: account closed");
        }
        UserAction::Unlock { name } => {
            let (t, id) = staff_id(v, &a, &name).await?;
            v.unlock_staff(&a, t, id).await.map_err(err)?;
            println!("{name} unlocked");
        }
        UserAction::ResetPassword { name } => {
            let (t, id) = staff_id(v, &a, &name).await?;
            let pw = v.reset_staff_password(&a, t, id).await.map_err(err)?;
            // Printed once, to the terminal only: never logged, never stored.
            println!("one-time password for {name}: {pw}\n(must be changed at next sign-in)");
        }
        UserAction::ResetMfa { name } => {
            let (t, id) = staff_id(v, &a, &name).await?;
            v.reset_staff_mfa(&a, t, id).await.map_err(err)?;
            println!("{name}: second factor removed; enrol again at next sign-in");
        }
    }
    Ok(())
}

pub async fn policy_store(v: &Vault, action: PolicyAction) -> anyhow::Result<()> {
    let a = Actor::local();
    let err = |e: varuh::service::ServiceError| anyhow::anyhow!("{e}");
    match action {
        PolicyAction::Show { tenant, .. } => {
            let p = v.get_policy(&a, tenant).await.map_err(err)?;
            print!("{}", permission_table());
            println!(
                "\n# policy in force for {}\n{}",
                tenant.map(|t| format!("tenant {t}")).unwrap_or("system staff".into()),
                p.to_toml()
            );
            for line in p.describe() {
                println!("# - {line}");
            }
        }
        PolicyAction::Set { file, tenant } => {
            let p = read_policy(&file)?;
            v.set_policy(&a, tenant, p).await.map_err(err)?;
            println!("policy stored for {}", tenant.map(|t| format!("tenant {t}")).unwrap_or("system staff".into()));
        }
        PolicyAction::Check { .. } => unreachable!("checked without a store"),
    }
    Ok(())
}

/// `varuh import`: a CSV file into a collection.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The tenant's id.
    #[arg(long)]
    pub tenant: uuid::Uuid,
    /// The collection's name.
    #[arg(long)]
    pub collection: String,
    /// The CSV file (a header line, one contact per line).
    pub file: std::path::PathBuf,
    /// A column mapped to a field: `--map "E-pošta=email"` (repeat per column).
    #[arg(long = "map", value_name = "COLUMN=FIELD", required = true)]
    pub map: Vec<String>,
    /// The column that says whether the contact consented.
    #[arg(long)]
    pub consent_column: Option<String>,
    /// The purpose consented to (with --consent-column).
    #[arg(long)]
    pub consent_purpose: Option<String>,
    /// The version of the purpose's notice consented to.
    #[arg(long)]
    pub notice_version: Option<i64>,
    /// How consent was collected.
    #[arg(long, default_value = "import")]
    pub consent_channel: String,
    /// The column with each row's evidence of consent.
    #[arg(long)]
    pub evidence_column: Option<String>,
    /// Import the good rows and report the bad ones.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Only check the file.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn import(v: &std::sync::Arc<Vault>, args: ImportArgs) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let csv = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut columns = std::collections::BTreeMap::new();
    for m in &args.map {
        let (col, field) = m.split_once('=').ok_or_else(|| anyhow::anyhow!("--map {m}: write COLUMN=FIELD"))?;
        columns.insert(col.trim().to_string(), field.trim().to_string());
    }
    let consent = match (args.consent_column, args.consent_purpose, args.notice_version) {
        (None, None, None) => None,
        (Some(column), Some(purpose), Some(notice_version)) => Some(varuh::service::import::ConsentColumn {
            column,
            evidence_column: args.evidence_column,
            purpose,
            notice_version,
            channel: args.consent_channel,
        }),
        _ => anyhow::bail!("--consent-column, --consent-purpose and --notice-version go together"),
    };
    let total = csv.lines().count().saturating_sub(1) as u64;
    let spec = varuh::service::import::ImportSpec {
        csv,
        columns,
        consent,
        skip_bad_rows: args.skip_bad_rows,
        dry_run: args.dry_run,
    };
    let progress = std::sync::Arc::new(AtomicUsize::new(0));
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (v2, p2, collection, tenant) = (v.clone(), progress.clone(), args.collection.clone(), args.tenant);
    let work =
        tokio::spawn(async move { v2.import_records(&Actor::local(), tenant, &collection, spec, Some(p2)).await });
    while !work.is_finished() {
        bar.set_position(progress.load(Ordering::Relaxed) as u64);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bar.set_position(progress.load(Ordering::Relaxed) as u64);
    bar.finish_and_clear();
    match work.await? {
        Ok(r) => {
            println!(
                "{} rows: {} imported, {} subjects created, {} consents recorded, {} skipped{}",
                r.rows,
                r.imported,
                r.subjects_created,
                r.consents,
                r.skipped,
                if args.dry_run { " (dry run: nothing written)" } else { "" }
            );
            for e in r.errors.iter().take(50) {
                println!("  row {}: {} {}", e.row, e.column, e.problem);
            }
            Ok(())
        }
        Err(varuh::service::ServiceError::RowsInvalid(errors)) => {
            for e in errors.iter().take(50) {
                eprintln!("  row {}: {} {}", e.row, e.column, e.problem);
            }
            anyhow::bail!(
                "{} problem(s) in the rows; nothing was imported (--skip-bad-rows imports the rest)",
                errors.len()
            )
        }
        Err(e) => anyhow::bail!("{e}"),
    }
}
