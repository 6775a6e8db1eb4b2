//! harden-auth on an axum app: JWT bearer authentication with keys from an
//! identity provider's JWKS (refreshed in the background) or from a key file,
//! a public route, an authenticated route and one that needs a scope.
//!
//! ```sh
//! HARDEN_JWT_JWKS_URL=https://idp.example/.well-known/jwks.json \
//! HARDEN_JWT_ISSUER=https://idp.example/ HARDEN_JWT_AUDIENCE=orders-api \
//!     cargo run --example auth
//! curl -i http://127.0.0.1:8080/public
//! curl -i http://127.0.0.1:8080/me -H "Authorization: Bearer $TOKEN"
//! curl -i http://127.0.0.1:8080/admin -H "Authorization: Bearer $TOKEN"
//! ```
//!
//! Environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `HARDEN_ADDR` | listen address (default `127.0.0.1:8080`) |
//! | `HARDEN_JWT_ISSUER` | the exact `iss` of accepted tokens (required) |
//! | `HARDEN_JWT_AUDIENCE` | accepted audiences, comma-separated (required) |
//! | `HARDEN_JWT_JWKS_URL` | the identity provider's JWKS (`https://`) |
//! | `HARDEN_JWT_KEY_FILE` | or a key file: PEM, JWK or JWKS (one of the two is required) |
//! | `HARDEN_JWT_ALGS` | accepted algorithms, comma-separated; a PEM key file needs exactly one |
//! | `HARDEN_JWT_ALLOW_INSECURE_JWKS` | `1` allows an `http://` JWKS URL to a loopback host |
//! | `RUST_LOG` | `info` |
//!
//! Routes: `GET /public` needs no token; `GET /me` answers the caller's
//! subject, issuer, scopes and roles; `GET /admin` needs the scope `admin`
//! (from a space-separated `scope` claim or an `scp` array); `GET /readyz`
//! answers 503 until the keys are loaded. Until the JWKS loads, `/me` and
//! `/admin` answer 503 with `Retry-After`: startup never waits for the
//! identity provider. A bad setting stops the program at startup with a
//! message quoting it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use harden::auth::{
    Algorithm, AuthLayer, Claims, Issuer, JwtVerifier, KeySet, RemoteJwks, Requirement,
};
use serde_json::{Value, json};

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
    let issuer = required("HARDEN_JWT_ISSUER")?;
    let audience = required("HARDEN_JWT_AUDIENCE")?;
    let audiences = list(&audience);
    if audiences.is_empty() {
        return Err("HARDEN_JWT_AUDIENCE names no audience".into());
    }
    let algs = std::env::var("HARDEN_JWT_ALGS").unwrap_or_default();
    let algorithms = list(&algs)
        .into_iter()
        .map(str::parse::<Algorithm>)
        .collect::<Result<Vec<_>, _>>()?;

    let mut issuer = Issuer::new(issuer);
    for audience in audiences {
        issuer = issuer.audience(audience);
    }
    let jwks_url = std::env::var("HARDEN_JWT_JWKS_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let key_file = std::env::var("HARDEN_JWT_KEY_FILE")
        .ok()
        .filter(|v| !v.is_empty());
    let remote = match (jwks_url, key_file) {
        (Some(url), None) => {
            let insecure = match std::env::var("HARDEN_JWT_ALLOW_INSECURE_JWKS").as_deref() {
                Ok("1") => true,
                Ok("0") | Ok("") | Err(_) => false,
                Ok(other) => {
                    return Err(format!(
                        "HARDEN_JWT_ALLOW_INSECURE_JWKS `{other}` is not `1` or `0`"
                    )
                    .into());
                }
            };
            let jwks = RemoteJwks::builder(url)
                .allow_insecure_loopback(insecure)
                .build()?;
            issuer = issuer.remote(jwks.clone());
            Some(jwks)
        }
        (None, Some(path)) => {
            // A PEM or DER key carries no algorithm: it is the one named.
            let alg = match algorithms.as_slice() {
                [alg] => Some(*alg),
                _ => None,
            };
            issuer = issuer.keys(KeySet::load(&path, alg)?);
            None
        }
        (Some(_), Some(_)) => {
            return Err("set HARDEN_JWT_JWKS_URL or HARDEN_JWT_KEY_FILE, not both".into());
        }
        (None, None) => return Err("set HARDEN_JWT_JWKS_URL or HARDEN_JWT_KEY_FILE".into()),
    };
    if !algorithms.is_empty() {
        issuer = issuer.algorithms(algorithms);
    }
    let verifier = JwtVerifier::builder().issuer(issuer).build()?;
    let authenticated = AuthLayer::builder(verifier.clone()).build()?;
    let admin = AuthLayer::builder(verifier)
        .require(Requirement::any_scope(["admin"]))
        .build()?;

    // The refresh task fetches the keys now and keeps them fresh; until the
    // first fetch succeeds, protected routes answer 503 with Retry-After.
    let _refresh = match &remote {
        Some(jwks) => Some(jwks.spawn_refresher()?),
        None => None,
    };

    let app = Router::new()
        .route("/public", get(public))
        .route("/readyz", get(ready))
        .route("/me", get(me).route_layer(authenticated))
        .route("/admin", get(admin_only).route_layer(admin))
        .with_state(remote);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}

async fn public() -> Json<Value> {
    Json(json!({ "message": "anyone may read this" }))
}

async fn me(claims: Claims) -> Json<Value> {
    Json(json!({
        "sub": claims.subject(),
        "iss": claims.issuer(),
        "scopes": claims.scopes(),
        "roles": claims.roles(),
    }))
}

async fn admin_only(claims: Claims) -> Json<Value> {
    Json(json!({ "sub": claims.subject(), "admin": true }))
}

/// Ready once the keys are loaded and fresh enough to trust.
async fn ready(State(remote): State<Option<RemoteJwks>>) -> (StatusCode, Json<Value>) {
    let Some(jwks) = remote else {
        return (
            StatusCode::OK,
            Json(json!({ "status": "pass", "keys": "file" })),
        );
    };
    let status = jwks.status();
    let code = if status.usable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let age = status.last_success.and_then(|t| t.elapsed().ok());
    (
        code,
        Json(json!({
            "status": if status.usable { "pass" } else { "fail" },
            "keys": status.key_count,
            "lastSuccessSecondsAgo": age.map(|d| d.as_secs()),
            "lastError": status.last_error.map(|e| e.to_string()),
        })),
    )
}

fn required(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is required"))
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
