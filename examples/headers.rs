//! harden-headers on an axum app: helmet's security headers with a CSP nonce,
//! and credentialed CORS for the origins in `HARDEN_CORS_ORIGINS`.
//!
//! ```sh
//! HARDEN_CORS_ORIGINS=https://app.example.com,https://*.preview.example.com \
//!     cargo run --example headers
//! curl -i http://127.0.0.1:8080/
//! curl -i -X OPTIONS http://127.0.0.1:8080/api/data \
//!     -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: PUT' \
//!     -H 'Access-Control-Request-Headers: content-type'
//! ```
//!
//! Environment: `HARDEN_ADDR` (default `127.0.0.1:8080`), `HARDEN_CORS_ORIGINS`
//! (comma-separated, default `https://app.example.com`). A bad origin stops the
//! program at startup with a message quoting it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use harden::{Cors, CspNonce, SecurityHeaders, SecurityHeadersLayer};
use serde_json::{Value, json};

type Data = Arc<Mutex<Value>>;

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = env_or("HARDEN_ADDR", "127.0.0.1:8080")
        .parse()
        .map_err(|e| format!("HARDEN_ADDR: {e}"))?;
    let origins = env_or("HARDEN_CORS_ORIGINS", "https://app.example.com");

    let cors = Cors::builder()
        .allow_origins(origins.split(',').map(str::trim).filter(|o| !o.is_empty()))
        .allow_credentials(true)
        .allow_methods(["GET", "POST", "PUT", "DELETE"])
        .allow_headers(["content-type", "authorization", "x-requested-with"])
        .build()?;
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .csp_nonce(true)
        .build()?;

    let data: Data = Arc::new(Mutex::new(json!({ "message": "hello" })));
    let app = Router::new()
        .route("/", get(page))
        .route("/api/data", get(read).put(replace))
        .with_state(data)
        .layer(cors.layer())
        .layer(SecurityHeadersLayer::new(headers));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

async fn page(nonce: CspNonce) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><title>harden</title></head><body>\
         <p id=\"status\">inline scripts are blocked</p>\
         <script nonce=\"{nonce}\">document.getElementById('status').textContent = \
         'this inline script ran because it carries the nonce';</script>\
         </body></html>"
    ))
}

async fn read(State(data): State<Data>) -> Json<Value> {
    let value = data.lock().map(|v| v.clone()).unwrap_or(Value::Null);
    Json(value)
}

async fn replace(State(data): State<Data>, Json(value): Json<Value>) -> Json<Value> {
    if let Ok(mut stored) = data.lock() {
        *stored = value.clone();
    }
    Json(value)
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
