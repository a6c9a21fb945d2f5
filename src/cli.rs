//! The command line: run the server or the demo, and scriptable operations that print only the
//! new id or token on stdout.

use clap::{Parser, Subcommand};

use crate::accounts;
use crate::app::Application;
use crate::auth::{JwtKeys, TokenSubject};
use crate::config::{Config, ConfigError, DEFAULT_DATABASE_URL, Env, Source};
use crate::db::{self, churches, users};
use crate::domain::{EmailAddress, PhoneNumber};

#[derive(Parser)]
#[command(name = "belfry", about = "SMS and live delivery status for churches")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (configuration from the environment).
    Serve,
    /// Run the server with demo data and the sandbox carrier.
    Demo,
    /// Create the database if needed and run migrations.
    Migrate,
    /// Manage churches and users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print a JWT for an existing user.
    Token {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a church; prints its id.
    CreateChurch {
        #[arg(long)]
        name: String,
        /// The church's own sender number (E.164); replies to it are the church's. Without
        /// it the church sends from the platform's TELNYX_FROM_NUMBER.
        #[arg(long)]
        from_number: Option<String>,
    },
    /// Create a user; prints its id. Operators run the platform and need no church.
    CreateUser {
        #[arg(long)]
        church: Option<i64>,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        password: String,
    },
}

pub type CliResult = Result<(), String>;

fn database_url() -> String {
    Env.get("DATABASE_URL")
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

async fn pool() -> Result<db::DbPool, String> {
    db::connect_and_migrate(&database_url(), 2)
        .await
        .map_err(|e| e.to_string())
}

pub async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Serve => serve(Config::from_env().map_err(config_error)?).await,
        Command::Demo => crate::demo::run().await,
        Command::Migrate => pool().await.map(|_| ()),
        Command::Admin(AdminCommand::CreateChurch { name, from_number }) => {
            let name = name.trim();
            if name.is_empty() {
                return Err("--name must not be empty".into());
            }
            let number = from_number
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()
                .map_err(|e| format!("--from-number: {e}"))?;
            let pool = pool().await?;
            let church = churches::create(&pool, name)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(number) = &number {
                churches::set_from_number(&pool, church.id, Some(number))
                    .await
                    .map_err(|e| {
                        format!(
                            "church {} was created without a number: --from-number: {e}",
                            church.id
                        )
                    })?;
            }
            println!("{}", church.id);
            Ok(())
        }
        Command::Admin(AdminCommand::CreateUser {
            church,
            email,
            name,
            role,
            password,
        }) => {
            let id = accounts::create_user(&pool().await?, church, &email, &name, &role, password)
                .await?;
            println!("{id}");
            Ok(())
        }
        Command::Token { email } => {
            let config = Config::from_env().map_err(config_error)?;
            let email = EmailAddress::parse(&email).map_err(|e| e.to_string())?;
            let user = users::find_by_email(&pool().await?, &email)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user with email {}", email.as_str()))?;
            if user.disabled_at.is_some() {
                return Err(format!("{} is disabled", email.as_str()));
            }
            let subject = TokenSubject::of(&user).map_err(|e| e.to_string())?;
            let minted = JwtKeys::new(config.jwt)
                .mint(&subject)
                .map_err(|e| e.to_string())?;
            println!("{}", minted.token);
            Ok(())
        }
    }
}

fn config_error(e: ConfigError) -> String {
    e.to_string()
}

pub async fn serve(config: Config) -> CliResult {
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(addr = %app.addr(), public_url = app.public_url(), "belfry listening");
    let handle = app.shutdown_handle();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        handle.shutdown();
    });
    app.run().await;
    Ok(())
}
