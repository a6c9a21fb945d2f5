use belfry::telemetry::logs::{self, LogFormat};
use clap::Parser;

#[tokio::main]
async fn main() {
    let format = LogFormat::from_env().unwrap_or_else(|message| {
        eprintln!("belfry: {message}");
        std::process::exit(2);
    });
    logs::init(format);
    let cli = belfry::cli::Cli::parse();
    if let Err(message) = belfry::cli::run(cli).await {
        eprintln!("belfry: {message}");
        std::process::exit(1);
    }
}
