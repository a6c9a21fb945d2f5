use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = belfry::cli::Cli::parse();
    if let Err(message) = belfry::cli::run(cli).await {
        eprintln!("belfry: {message}");
        std::process::exit(1);
    }
}
