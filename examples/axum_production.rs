//! The production example: a JSON API hardened as the playbook asks, on
//! embedded defaults that need no setup.
//!
//! It is meant to run behind a TLS-terminating load balancer (the playbook's
//! fly.io `force_https` setup), which it trusts only from the CIDR blocks in
//! `HARDEN_TRUSTED_PROXIES`. Layers, outside in:
//!
//! 1. request id (accepted when plain, else generated; echoed, in the span),
//! 2. client IP and scheme from the trusted proxies only,
//! 3. security headers (OWASP REST set, HSTS on HTTPS),
//! 4. HTTPS redirect to `HARDEN_CANONICAL_HOST` (403 for unsafe methods over
//!    plain HTTP; `/livez` exempt for probes),
//! 5. CORS for `HARDEN_CORS_ORIGINS` with credentials.
//!
//! Later issues add authentication, rate limits, caching, circuit breaking,
//! audit logging and compression to this same file.
//!
//! ```sh
//! cargo run --example axum_production
//! # as the load balancer would forward an HTTPS request:
//! curl -i http://127.0.0.1:8080/api/data -H 'X-Forwarded-Proto: https'
//! # plain HTTP is redirected:
//! curl -i http://127.0.0.1:8080/api/data
//! ```
//!
//! Environment (all optional):
//!
//! | variable | default |
//! |---|---|
//! | `HARDEN_ADDR` | `127.0.0.1:8080` |
//! | `HARDEN_CANONICAL_HOST` | `localhost` |
//! | `HARDEN_TRUSTED_PROXIES` | `127.0.0.1/32,::1/128` (a proxy on this machine) |
//! | `HARDEN_CORS_ORIGINS` | `https://app.example.com` |
//! | `HARDEN_ERROR_FORMAT` | `playbook` (or `problem` for RFC 9457) |
//! | `RUST_LOG` | `info` |
//!
//! A bad value stops the program at startup with a message quoting it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, ServiceExt};
use harden::ip::{ClientIp, ClientIpLayer, TrustedProxies};
use harden::{
    Cors, ErrorFormat, ErrorFormatLayer, ErrorResponse, HttpsRedirect, HttpsRedirectLayer,
    RequestIdLayer, SecurityHeadersLayer,
};
use serde_json::{Value, json};
use tower::ServiceBuilder;

type Data = Arc<Mutex<Value>>;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    if let Err(err) = run().await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = env_or("HARDEN_ADDR", "127.0.0.1:8080")
        .parse()
        .map_err(|e| format!("HARDEN_ADDR: {e}"))?;
    let proxies = TrustedProxies::new(list(&env_or(
        "HARDEN_TRUSTED_PROXIES",
        "127.0.0.1/32,::1/128",
    )))?;
    let format = match env_or("HARDEN_ERROR_FORMAT", "playbook").as_str() {
        "playbook" => ErrorFormat::Playbook,
        "problem" => ErrorFormat::Problem,
        other => {
            return Err(
                format!("HARDEN_ERROR_FORMAT `{other}` is not `playbook` or `problem`").into(),
            );
        }
    };
    let https = HttpsRedirect::builder(env_or("HARDEN_CANONICAL_HOST", "localhost"))
        .trusted_proxies(proxies.clone())
        .exempt_path("/livez")
        .build()?;
    let cors = Cors::builder()
        .allow_origins(list(&env_or(
            "HARDEN_CORS_ORIGINS",
            "https://app.example.com",
        )))
        .allow_credentials(true)
        .allow_methods(["GET", "POST", "PUT", "DELETE"])
        .allow_headers(["content-type", "authorization", "x-request-id"])
        .expose_headers(["x-request-id"])
        .build()?;

    let data: Data = Arc::new(Mutex::new(json!({ "message": "hello" })));
    let router = Router::new()
        .route("/api/data", get(read).put(replace))
        .route("/livez", get(live))
        .fallback(not_found)
        .with_state(data);
    // Wrapping the router (rather than `Router::layer`) runs the stack once per
    // request, before routing: unknown paths and unrouted methods get the same
    // treatment as everything else.
    let app = ServiceBuilder::new()
        // axum's server takes its own body type.
        .map_response(|res: http::Response<_>| res.map(axum::body::Body::new))
        .layer(RequestIdLayer::new())
        .layer(ErrorFormatLayer::new(format))
        .layer(ClientIpLayer::new(proxies))
        .layer(SecurityHeadersLayer::strict_api())
        .layer(HttpsRedirectLayer::new(https))
        .layer(cors.layer())
        .service(router);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}

async fn read(State(data): State<Data>, client: Option<axum::Extension<ClientIp>>) -> Json<Value> {
    if let Some(axum::Extension(client)) = client {
        tracing::info!(client = %client, "read");
    }
    Json(data.lock().map(|v| v.clone()).unwrap_or(Value::Null))
}

async fn replace(State(data): State<Data>, Json(value): Json<Value>) -> Json<Value> {
    if let Ok(mut stored) = data.lock() {
        *stored = value.clone();
    }
    Json(value)
}

/// Liveness: the process answers. Readiness (`/readyz`, with PostgreSQL, Redis
/// and memory checks) comes with the health module.
async fn live() -> Json<Value> {
    Json(json!({ "status": "pass" }))
}

async fn not_found(req: Request) -> Response {
    ErrorResponse::new(StatusCode::NOT_FOUND, "Not found")
        .for_request(req.extensions())
        .into_response::<axum::body::Body>()
        .map(axum::body::Body::new)
        .into_response()
}

fn list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
