//! The `kameng` command: serve, migrate, admin create, openapi.

use std::io::Read;
use std::net::TcpListener;

use clap::{Parser, Subcommand};
use kameng::config::Config;
use kameng::state::AppState;

/// glibc's allocator gives threads that allocate at the same time arenas of their own (up to 8
/// per core) and does not reuse memory freed in one for another: under 64 concurrent clients
/// the server held ~55 MB more than with two arenas. mimalloc keeps the resident size down
/// without that tuning (and allocates faster on the order path).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kameng",
    version,
    about = "Headless distribution API for digital goods"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (configuration from KAMENG_* environment variables, listed below).
    #[command(after_help = kameng::config::SETTINGS_HELP)]
    Serve {
        /// Not an option: the address comes from KAMENG_BIND (e.g. KAMENG_BIND=127.0.0.1:9000).
        #[arg(long, hide = true)]
        port: Option<String>,
        /// Not an option: the address comes from KAMENG_BIND.
        #[arg(long, hide = true)]
        bind: Option<String>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document (the checked-in openapi/openapi.json is this output).
    Openapi,
    /// Seed a demo supplier, resellers, products and stock; write their keys to a file.
    Demo {
        /// Where to write the keys (the examples read this file).
        #[arg(long, default_value = "kameng-demo.json")]
        out: std::path::PathBuf,
        /// The demo shop's callback URL (the shop_checkout example listens there).
        #[arg(long, default_value = "http://127.0.0.1:9101/callback")]
        shop_callback: String,
        /// The demo supplier's webhook URL (the supplier_feed example listens there).
        #[arg(long, default_value = "http://127.0.0.1:9102/webhook")]
        supplier_webhook: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; the password comes from --password or standard input.
    Create {
        username: String,
        #[arg(long)]
        password: Option<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // A start-up failure is one line naming what failed and what to check: the cause of an
        // `Unavailable` (the database could not be opened) is that line already.
        match e.downcast_ref::<kameng::error::Error>() {
            Some(kameng::error::Error::Unavailable(cause)) => eprintln!("error: {cause}"),
            _ => eprintln!("error: {e}"),
        }
        std::process::exit(1);
    }
}

/// Binds the listen address, or says which address and which setting to change.
fn listen(bind: &str) -> Result<TcpListener, String> {
    TcpListener::bind(bind).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another process is listening there: stop it, or choose another address, \
                 e.g. KAMENG_BIND=127.0.0.1:8081"
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges: choose another, e.g. KAMENG_BIND=127.0.0.1:8080"
            }
            _ => "set KAMENG_BIND to a host:port this machine can listen on",
        };
        format!("cannot listen on {bind} (KAMENG_BIND): {e}; {hint}")
    })
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    init_tracing(&config.log_filter);
    match cli.command {
        Command::Openapi => {
            println!("{}", kameng::api::openapi::spec_json());
            Ok(())
        }
        Command::Demo {
            out,
            shop_callback,
            supplier_webhook,
        } => {
            let base = format!("http://{}", config.bind);
            // The settings this ran with, so the printed `serve` uses the same database and
            // address (the user's own values, shown back to them).
            let serve_env: String = ["KAMENG_BIND", "KAMENG_DATABASE_URL", "KAMENG_DATA_DIR"]
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v} ")))
                .collect();
            let state = AppState::init(config)?;
            let demo = kameng::demo::seed(
                &state,
                &kameng::demo::DemoOptions {
                    url: base.clone(),
                    shop_callback,
                    supplier_webhook,
                },
            )?;
            std::fs::write(&out, serde_json::to_string_pretty(&demo)?)?;
            println!(
                "{}",
                kameng::demo::instructions(&demo, &base, &out.display().to_string(), &serve_env)
            );
            Ok(())
        }
        Command::Migrate => {
            config.create_default_location()?;
            let db = kameng::db::Db::connect(&config.database_url, 1)?;
            db.migrate()?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { username, password },
        } => {
            let password = match password {
                Some(p) => p,
                None => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let state = AppState::init(config)?;
            let name = username.clone();
            let id = state
                .db
                .write(move |c| kameng::auth::admin::create_admin(c, &name, &password))?;
            println!("admin {username} created ({id})");
            Ok(())
        }
        Command::Serve { port, bind } => {
            if let Some(given) = port.or(bind) {
                return Err(format!(
                    "serve takes its address from the environment: KAMENG_BIND=127.0.0.1:{} \
                     kameng serve (see `kameng serve --help` for every setting)",
                    given.rsplit(':').next().unwrap_or(&given)
                )
                .into());
            }
            let listener = listen(&config.bind)?;
            tracing::info!(
                database = %kameng::db::open::redacted(&config.database_url),
                data_dir = %config.data_dir.display(),
                "starting"
            );
            let state = AppState::init(config)?;
            actix_web::rt::System::new().block_on(kameng::server::run(state, listener))?;
            Ok(())
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}
