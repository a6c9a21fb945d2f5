//! The OpenAPI document is exact: schemathesis reads it, generates requests that keep to it and
//! requests that break it, and sends them to the real server with a church admin's and an
//! operator's token. Every check must pass: no 5xx, every answer's status, headers and body as
//! documented, every request the document allows accepted and every one it forbids refused.
//! Settings (which statuses a valid request may still get) are in `schemathesis/schemathesis.toml`.

use std::path::{Path, PathBuf};

use super::helpers::spawn_app;

/// Where `.ci/run` installs schemathesis, if it is not on `PATH`.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("BELFRY_SCHEMATHESIS") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("schemathesis"))
        .find(|candidate| candidate.is_file());
    let cached = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cache/belfry/schemathesis/bin/schemathesis"))
        .filter(|candidate| candidate.is_file());
    on_path.or(cached).expect(
        "this test runs schemathesis: .ci/run installs it, or \
         python3 -m venv ~/.cache/belfry/schemathesis && \
         ~/.cache/belfry/schemathesis/bin/pip install schemathesis",
    )
}

/// Runs every check against the server with `token`; returns schemathesis's report on failure.
async fn run(url: &str, token: &str) -> Result<(), String> {
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/schemathesis/schemathesis.toml");
    // Its example database and reports stay out of the checkout.
    let work = std::env::temp_dir().join(format!("belfry-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let output = tokio::process::Command::new(schemathesis())
        .current_dir(&work)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{url}/api/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // One worker: with two, hypothesis's parsing of its own sources (Python's `ast`, which
        // is not safe across threads) now and then fails the run with a runtime error of the
        // tool's, not a finding about the server.
        .args(["--checks", "all", "--max-examples", "10", "--workers", "1"])
        // `--checks all` outranks the config file's `enabled = false`, so the checks the file
        // explains turning off are excluded here too.
        .args([
            "--exclude-checks",
            "use_after_free,ensure_resource_availability",
        ])
        // Signing out or changing the password would end the token the run uses; the socket
        // upgrade is not plain HTTP. Each has its own tests.
        .args(["--exclude-operation-id", "logout"])
        .args(["--exclude-operation-id", "changePassword"])
        .args(["--exclude-operation-id", "refreshToken"])
        .args(["--exclude-operation-id", "openSocket"])
        .output()
        .await
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&work);
    if !output.status.success() {
        return Err(report);
    }
    // It tested the operations, not only fetched the document.
    let tested = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse::<u32>().ok());
    match tested {
        Some(n) if n >= 25 => Ok(()),
        _ => Err(format!("too few operations tested:\n{report}")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_the_document_allows_is_served_as_documented() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    if let Err(report) = run(&app.url, &admin).await {
        panic!("as a church admin:\n{report}");
    }
    let operator = app.operator().await;
    if let Err(report) = run(&app.url, &operator).await {
        panic!("as an operator:\n{report}");
    }
}
