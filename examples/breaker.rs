//! harden-breaker in front of an upstream: a reverse proxy to
//! `HARDEN_UPSTREAM` whose HTTP client is guarded by a circuit breaker, and
//! `GET /breaker` reporting its state.
//!
//! While the upstream answers 5xx (or refuses connections) more than the
//! threshold, the breaker opens: requests are answered `503` with
//! `Retry-After` at once, without touching the upstream. After the reset time
//! one trial request goes through; its success closes the breaker.
//!
//! ```sh
//! HARDEN_UPSTREAM=http://127.0.0.1:9000 cargo run --example breaker
//! curl -i http://127.0.0.1:8080/any/path      # proxied to the upstream
//! curl -s http://127.0.0.1:8080/breaker       # {"state":"closed",...}
//! ```
//!
//! Environment (all optional):
//!
//! | variable | default |
//! |---|---|
//! | `HARDEN_ADDR` | `127.0.0.1:8080` |
//! | `HARDEN_UPSTREAM` | `http://127.0.0.1:8081` (plain HTTP) |
//! | `HARDEN_BREAKER_THRESHOLD_PERCENT` | `50` (opens above it) |
//! | `HARDEN_BREAKER_MIN_CALLS` | `5` |
//! | `HARDEN_BREAKER_RESET_MS` | `2000` |
//! | `HARDEN_BREAKER_TIMEOUT_MS` | `1000` |
//!
//! A bad value stops the program at startup with a message quoting it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName};
use axum::http::uri::{Authority, PathAndQuery, Scheme, Uri};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use harden::breaker::{Breaker, BreakerService, Event, EventKind};
use harden::{ErrorResponse, Rejection, RequestIdLayer};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

/// The upstream client, guarded.
type Upstream = BreakerService<Client<HttpConnector, Body>>;

#[derive(Clone)]
struct App {
    breaker: Breaker,
    upstream: Upstream,
    authority: Authority,
}

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
    let authority = upstream_authority(&env_or("HARDEN_UPSTREAM", "http://127.0.0.1:8081"))?;
    let breaker = Breaker::builder("upstream")
        .error_threshold_percent(number("HARDEN_BREAKER_THRESHOLD_PERCENT", 50)?)
        .minimum_calls(number("HARDEN_BREAKER_MIN_CALLS", 5)?)
        .reset_timeout(Duration::from_millis(number(
            "HARDEN_BREAKER_RESET_MS",
            2000,
        )?))
        .timeout(Duration::from_millis(number(
            "HARDEN_BREAKER_TIMEOUT_MS",
            1000,
        )?))
        .on_event(|e: &Event<'_>| {
            if let EventKind::Transition { from, to } = e.kind {
                println!("breaker {}: {from} -> {to}", e.breaker);
            }
        })
        .build()?;

    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let app = App {
        upstream: breaker.layer().layer(client),
        breaker,
        authority,
    };
    let router = Router::new()
        .route("/breaker", get(status))
        .fallback(proxy)
        .with_state(app)
        .layer(RequestIdLayer::new());

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// `GET /breaker`: the breaker's state and counts.
async fn status(State(app): State<App>) -> Json<Value> {
    let s = app.breaker.stats();
    let c = s.counters;
    Json(json!({
        "state": s.state.as_str(),
        "retry_after_ms": s.retry_after.map(|d| d.as_millis() as u64),
        "in_flight": s.in_flight,
        "window": {
            "calls": s.window.calls,
            "failures": s.window.failures,
            "failure_rate_percent": s.window.failure_rate_percent(),
        },
        "counters": {
            "permitted": c.permitted,
            "rejected": c.rejected,
            "successes": c.successes,
            "failures": c.failures,
            "timeouts": c.timeouts,
            "cancelled": c.cancelled,
        },
    }))
}

/// Every other request: forwarded to the upstream through the breaker.
async fn proxy(State(app): State<App>, mut req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let uri = Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(app.authority.clone())
        .path_and_query(path)
        .build();
    let Ok(uri) = uri else {
        return ErrorResponse::new(StatusCode::BAD_REQUEST, "Invalid request target")
            .for_request(req.extensions())
            .into_response::<Body>()
            .into_response();
    };
    *req.uri_mut() = uri;
    strip_hop_by_hop(req.headers_mut());
    if let Ok(host) = HeaderValue::from_str(app.authority.as_str()) {
        req.headers_mut().insert(header::HOST, host);
    }
    let extensions = req.extensions().clone();
    match app.upstream.oneshot(req).await {
        Ok(res) => res.map(Body::new),
        // Connection refused, reset, …: counted as a failure by the breaker.
        Err(_) => ErrorResponse::new(StatusCode::BAD_GATEWAY, "")
            .rejection(Rejection::new("proxy", "upstream-unreachable"))
            .for_request(&extensions)
            .into_response::<Body>()
            .map(Body::new),
    }
}

/// Removes the headers that describe one connection, not the message
/// (RFC 9110 §7.6.1), including those `Connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// The `host:port` of a plain-HTTP upstream URL.
fn upstream_authority(url: &str) -> Result<Authority, String> {
    let bad = |why: &str| format!("HARDEN_UPSTREAM `{url}` {why}");
    let uri: Uri = url.parse().map_err(|_| bad("is not a URL"))?;
    if uri.scheme() != Some(&Scheme::HTTP) {
        return Err(bad(
            "must start with http:// (this example's client speaks plain HTTP)",
        ));
    }
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
        return Err(bad("must have no path"));
    }
    uri.authority().cloned().ok_or_else(|| bad("has no host"))
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name} `{v}` is not a valid number")),
        Err(_) => Ok(default),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
