//! The `signpost` binary: read the configuration, start logging, run the server.
use clap::Parser;
use signpost::{config::Config, startup::Application, telemetry};

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    // Held until `main` returns, so that the last lines are written out.
    let _log = telemetry::init(&config.log);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("signpost cannot start: {err}");
            eprintln!("signpost cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("signpost stopped with an error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
