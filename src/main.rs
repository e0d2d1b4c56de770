//! The `varuh` command: `serve` runs the server; the other subcommands are
//! the operator's CLI.

/// mimalloc: the request workers free what the store's writer and syncer
/// threads allocated (and back); glibc's allocator serialised that on its
/// arena locks.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use varuh::clock::Clock;
use varuh::config::Config;
use varuh::http::{server, AppState};
use varuh::setup::{self, Create};

#[derive(Parser)]
#[command(name = "varuh", version, about = "A personal-data vault that enforces GDPR measures")]
struct Cli {
    /// Configuration file (default: <data-dir>/varuh.toml if it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (default: ./varuh-data, or VARUH_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the data directory, master key, store and first administrator.
    Init {
        /// Also make a self-signed TLS certificate and key and use them.
        #[arg(long)]
        tls: bool,
        /// Host names for the certificate.
        #[arg(long, default_value = "localhost")]
        tls_name: Vec<String>,
    },
    /// Runs the server (on a fresh machine, initialises the embedded store first).
    Serve,
    /// Checks the configuration and prints the effective settings.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Prints the OpenAPI 3.1 document.
    Openapi,
    /// The audit trail, offline.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Staff accounts, on the server's own machine (stop the server first with SQLite).
    User {
        #[command(subcommand)]
        action: cli::UserAction,
    },
    /// Imports a CSV contact list into a collection (every row or none,
    /// unless --skip-bad-rows), as the local operator, with a progress bar.
    Import(cli::ImportArgs),
    /// Loads a whole configuration into a fresh store (an example of
    /// `examples/`, e.g. `varuh load examples/ham`): tenants, policies,
    /// settings, processors, recipients, collections, staff register.
    Load {
        /// A directory holding `varuh.toml`, or the file itself.
        path: PathBuf,
    },
    /// The master key: export it for offline safekeeping, or its fingerprint.
    Key {
        #[command(subcommand)]
        action: cli::KeyAction,
    },
    /// Backups: make, list, verify (read back the whole way), restore.
    Backup {
        #[command(subcommand)]
        action: cli::backup::BackupAction,
    },
    /// Retention: run the sweep now, or see what it would do.
    Retention {
        #[command(subcommand)]
        action: cli::RetentionAction,
    },
    /// The permission table and the security policies.
    Policy {
        #[command(subcommand)]
        action: cli::PolicyAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Verifies the audit trail in the database (or an export): leaf hashes,
    /// links, positions, the tree, the signed heads and published heads.
    /// Prints the first position that fails and exits non-zero.
    Verify {
        /// Verify this export (JSON Lines from GET /v1/audit/export) instead of the database.
        #[arg(long)]
        export: Option<PathBuf>,
        /// Heads published outside the database (the audit_publish_file), to check against.
        #[arg(long)]
        published: Vec<PathBuf>,
        /// The verifier key (`name+id+key`); default: derived from this data directory's master key.
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    Check,
}

fn audit_verify(
    cfg: &Config,
    export: Option<PathBuf>,
    published: Vec<PathBuf>,
    key: Option<String>,
) -> anyhow::Result<()> {
    use varuh::audit::{note::VerifierKey, verify};
    let key = match key {
        Some(k) => VerifierKey::parse(&k).map_err(|e| anyhow::anyhow!("--key: {e}"))?,
        None => VerifierKey {
            name: cfg.audit_origin.clone(),
            public_key: setup::master_key(cfg, false)?.audit_signer().public_key(),
        },
    };
    let started = std::time::Instant::now();
    let report = match export {
        Some(p) => verify::verify_export(
            &std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?,
            &key,
        ),
        None => {
            let mut notes = Vec::new();
            for p in &published {
                notes.extend(verify::read_published(
                    &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
                ));
            }
            let location = varuh::store::Location::parse(&cfg.database_url())?;
            let mut db = varuh::store::Store::connect_raw(&location)?;
            verify::verify_store(db.as_mut(), &key, &notes)?
        }
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "audit verify: {} events, {} stored heads, {} published heads, {:.2} s ({:.0} events/s)",
        report.events,
        report.heads_checked,
        report.published_checked,
        secs,
        report.events as f64 / secs.max(1e-9)
    );
    if let Some(root) = report.root {
        println!("root at {}: {}", report.events, varuh::audit::hex(&root));
    }
    match report.first() {
        None => {
            println!("OK: the audit trail is intact");
            Ok(())
        }
        Some(f) => {
            for x in &report.failures {
                eprintln!("FAIL{}: {}", x.position.map(|p| format!(" at {p}")).unwrap_or_default(), x.message);
            }
            eprintln!(
                "first failing position: {}",
                f.position.map(|p| p.to_string()).unwrap_or_else(|| "(a head)".into())
            );
            std::process::exit(1);
        }
    }
}

fn init_logs(cfg: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("VARUH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let file = match &cfg.log_file {
        Some(p) => Some(std::sync::Arc::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot open log file {}", p.display()))?,
        )),
        None => None,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match (cfg.log_format.as_str(), file) {
        ("json", Some(f)) => builder.json().with_writer(std::io::stderr.and(f)).init(),
        ("json", None) => builder.json().with_writer(std::io::stderr).init(),
        (_, Some(f)) => builder.with_writer(std::io::stderr.and(f)).init(),
        (_, None) => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

fn print_first_admin(first: &Option<(String, String)>) {
    if let Some((user, pw)) = first {
        // Printed once, to the terminal only: never logged, never stored.
        println!("\n  First administrator created.\n    login name:         {user}\n    one-time password:  {pw}\n  Change it at first login (POST /v1/auth/password).\n");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut cfg = Config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    if !matches!(cli.command, Command::Serve) {
        // The scheduled sweep is the server's; a command runs it only when asked.
        cfg.retention_seconds = 0;
        cfg.backup_seconds = 0;
        cfg.audit_verify_seconds = 0;
    }
    match cli.command {
        Command::Config { action: ConfigAction::Check } => {
            println!("configuration is valid");
            println!("  data_dir       = {}", cfg.data_dir.display());
            let url = cfg.database_url();
            println!(
                "  database       = {}",
                if url.starts_with("sqlite") { url.as_str() } else { "postgres (URL hidden)" }
            );
            println!("  listen         = {}", cfg.listen);
            println!("  tls            = {}", if cfg.tls_cert.is_some() { "on" } else { "off (loopback only)" });
            println!("  max_body_bytes = {}", cfg.max_body_bytes);
            println!("  smtp           = {}", if cfg.smtp_url.is_some() { "on (URL hidden)" } else { "off" });
            Ok(())
        }
        Command::Audit { action: AuditAction::Verify { export, published, key } } => {
            // The PostgreSQL client blocks: off the async runtime.
            tokio::task::spawn_blocking(move || audit_verify(&cfg, export, published, key)).await?
        }
        Command::Policy { action: cli::PolicyAction::Check { file } } => {
            let p = cli::read_policy(&file)?;
            println!("{}: valid", file.display());
            for line in p.describe() {
                println!("  - {line}");
            }
            Ok(())
        }
        Command::Policy { action: cli::PolicyAction::Show { tenant: None, system: false } } => {
            print!("{}", cli::permission_table());
            Ok(())
        }
        Command::Policy { action } => {
            let _lock = cli::exclusive(&cfg)?;
            let opened = setup::open(&cfg, Create::No, Clock::default()).await?;
            cli::policy_store(&opened.vault, action).await
        }
        Command::Key { action } => cli::key(&cfg, action),
        Command::Backup { action } => cli::backup::run(&cfg, action).await,
        Command::Retention { action } => {
            let dry = matches!(action, cli::RetentionAction::Run { dry_run: true, .. });
            let _lock = if dry { None } else { cli::exclusive(&cfg)? };
            let opened = setup::open(&cfg, Create::No, Clock::default()).await?;
            cli::retention(&opened.vault, action).await
        }
        Command::Load { path } => {
            let (example, base) = varuh::load::Example::read(&path)?;
            let _lock = cli::exclusive(&cfg)?;
            let opened = setup::open(&cfg, Create::IfDefault, Clock::default()).await?;
            print_first_admin(&opened.first_admin);
            let done = varuh::load::apply(&opened.vault, &varuh::service::Actor::local(), &example, &base).await?;
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            for (name, id) in &done.tenants {
                println!("tenant   {id}  {name}");
            }
            // Printed once, to the terminal only: never logged, never stored.
            for (user, pw) in &done.accounts {
                println!("account  {user}  one-time password: {pw}");
            }
            Ok(())
        }
        Command::Import(args) => {
            let _lock = cli::exclusive(&cfg)?;
            let opened = setup::open(&cfg, Create::No, Clock::default()).await?;
            cli::import(&opened.vault, args).await
        }
        Command::User { action } => {
            let _lock = cli::exclusive(&cfg)?;
            let opened = setup::open(&cfg, Create::No, Clock::default()).await?;
            print_first_admin(&opened.first_admin);
            cli::user(&opened.vault, action).await
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&varuh::http::openapi())?);
            Ok(())
        }
        Command::Init { tls, tls_name } => {
            init_logs(&cfg)?;
            let opened = setup::open(&cfg, Create::Yes, Clock::default()).await?;
            if tls {
                let (cert, key) = setup::self_signed_tls(&cfg, tls_name)?;
                let conf = cfg.data_dir.join("varuh.toml");
                if !conf.exists() {
                    std::fs::write(
                        &conf,
                        format!(
                            "tls_cert = {:?}\ntls_key = {:?}\n",
                            cert.display().to_string(),
                            key.display().to_string()
                        ),
                    )?;
                }
                println!("self-signed TLS certificate: {}", cert.display());
            }
            println!("varuh initialised in {}", cfg.data_dir.display());
            print_first_admin(&opened.first_admin);
            Ok(())
        }
        Command::Serve => {
            init_logs(&cfg)?;
            if cfg.tls_cert.is_none() {
                cfg.check()?;
            }
            let mut lock = cli::exclusive(&cfg)?;
            let opened = setup::open(&cfg, Create::IfDefault, Clock::default()).await?;
            if lock.is_none() {
                // A fresh machine: the data directory exists only now.
                lock = cli::exclusive(&cfg)?;
            }
            let _lock = lock;
            print_first_admin(&opened.first_admin);
            let listen = cfg.listen.parse()?;
            let state = AppState {
                vault: opened.vault.clone(),
                max_body_bytes: cfg.max_body_bytes,
                secure_cookies: cfg.tls_cert.is_some(),
            };
            let tls = match (&cfg.tls_cert, &cfg.tls_key) {
                (Some(cert), Some(key)) => Some(server::Tls { cert, key }),
                _ => None,
            };
            server::serve(state, listen, tls, None).await?;
            // A last head, so that the history up to shutdown is pinned.
            match opened.vault.make_head().await {
                Ok(h) => tracing::info!(tree_size = h.tree_size, "audit tree head made at shutdown"),
                Err(e) => tracing::error!(error = %e, "no audit tree head at shutdown"),
            }
            drop(opened);
            tracing::info!("store closed; bye");
            Ok(())
        }
    }
}
