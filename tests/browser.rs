//! What only a browser enforces, checked in a real one: headless Chromium loads
//! pages from servers started here on 127.0.0.1 and reports in the DOM what it
//! allowed.
//!
//! Driver: Chromium's own `--dump-dom` with `--virtual-time-budget`, which runs
//! the page's scripts and fetches to completion and prints the resulting DOM. No
//! WebDriver or DevTools client is needed, and the outcome is read from what the
//! page could do. Without Chromium the tests skip with a printed reason, except
//! under `CI=true`, where they fail (`.ci/run` installs Debian's `chromium`).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use harden::{Cors, CspNonce, SecurityHeaders, SecurityHeadersLayer};
use serde_json::{Value, json};

const BUDGET: Duration = Duration::from_secs(10);

/// A page that reports, in its DOM, what the browser let it do against `api`:
/// a credentialed GET, and a PUT with a JSON body and a custom header (which
/// needs a preflight).
fn probe_page(api: SocketAddr) -> String {
    format!(
        r#"<!doctype html><html><body>
<p id="get">pending</p><p id="put">pending</p>
<script>
document.cookie = "sid=s3cr3t; SameSite=Lax; path=/";
const out = (id, text) => {{ document.getElementById(id).textContent = text; }};
fetch("http://{api}/api/data", {{ credentials: "include" }})
  .then(r => r.json())
  .then(j => out("get", "ok cookie=" + j.cookie))
  .catch(e => out("get", "blocked " + e.name));
fetch("http://{api}/api/data", {{
  method: "PUT",
  credentials: "include",
  headers: {{ "content-type": "application/json", "x-custom": "42" }},
  body: JSON.stringify({{ n: 1 }}),
}})
  .then(r => r.json())
  .then(j => out("put", "ok custom=" + j.custom))
  .catch(e => out("put", "blocked " + e.name));
</script></body></html>"#
    )
}

async fn serve_page(html: String) -> SocketAddr {
    common::serve(Router::new().route("/", get(move || async move { Html(html) }))).await
}

#[derive(Clone, Default)]
struct Api {
    puts: Arc<AtomicUsize>,
}

async fn read(headers: HeaderMap) -> Json<Value> {
    let cookie = headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    Json(json!({ "cookie": cookie }))
}

async fn write(State(api): State<Api>, headers: HeaderMap) -> Json<Value> {
    api.puts.fetch_add(1, Ordering::SeqCst);
    let custom = headers
        .get("x-custom")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    Json(json!({ "custom": custom }))
}

/// An allowed origin reads a credentialed response and gets its preflighted
/// PUT through; a disallowed origin is blocked by the browser, and its PUT never
/// reaches the handler because the preflight fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_enforces_the_cors_policy() {
    let Some(chromium) = common::chromium() else {
        common::skip("no Chromium on PATH (set CHROMIUM or install Debian's `chromium`)");
        return;
    };

    // Two page origins: 127.0.0.1 on two ports are two origins.
    let (listener_a, origin_a) = common::bind().await;
    let (listener_api, api_addr) = common::bind().await;

    let api_state = Api::default();
    let cors = Cors::builder()
        .allow_origin(format!("http://{origin_a}"))
        .allow_credentials(true)
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type", "x-custom"])
        .build()
        .unwrap();
    let api = Router::new()
        .route("/api/data", get(read).put(write))
        .with_state(api_state.clone())
        .layer(cors.layer())
        // The OWASP API set, CORP `same-origin` included, must not break CORS reads.
        .layer(SecurityHeadersLayer::strict_api());
    common::spawn(listener_api, api);
    let html = probe_page(api_addr);
    common::spawn(
        listener_a,
        Router::new().route("/", get(move || async move { Html(html) })),
    );
    let origin_c = serve_page(probe_page(api_addr)).await;

    let dom = common::dump_dom(&chromium, &format!("http://{origin_a}/"), BUDGET).await;
    assert_eq!(
        common::element_text(&dom, "get"),
        Some("ok cookie=sid=s3cr3t"),
        "{dom}"
    );
    assert_eq!(
        common::element_text(&dom, "put"),
        Some("ok custom=42"),
        "{dom}"
    );
    assert_eq!(api_state.puts.load(Ordering::SeqCst), 1);

    let dom = common::dump_dom(&chromium, &format!("http://{origin_c}/"), BUDGET).await;
    assert_eq!(
        common::element_text(&dom, "get"),
        Some("blocked TypeError"),
        "{dom}"
    );
    assert_eq!(
        common::element_text(&dom, "put"),
        Some("blocked TypeError"),
        "{dom}"
    );
    assert_eq!(
        api_state.puts.load(Ordering::SeqCst),
        1,
        "a failed preflight keeps the PUT from the handler"
    );
}

async fn nonce_page(nonce: CspNonce) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html><body>
<p id="nonced">not run</p><p id="unnonced">not run</p><p id="stale">not run</p>
<p id="violation">none</p>
<script nonce="{nonce}">
document.addEventListener("securitypolicyviolation", e => {{
  document.getElementById("violation").textContent = e.violatedDirective;
}});
document.getElementById("nonced").textContent = "ran";
</script>
<script>document.getElementById("unnonced").textContent = "ran";</script>
<script nonce="AAAAAAAAAAAAAAAAAAAAAA==">document.getElementById("stale").textContent = "ran";</script>
</body></html>"#
    ))
}

/// helmet's CSP with a per-request nonce: the inline script carrying this
/// response's nonce runs; one without a nonce, and one with another nonce, are
/// blocked, and the browser reports the violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_runs_only_the_nonced_inline_script() {
    let Some(chromium) = common::chromium() else {
        common::skip("no Chromium on PATH (set CHROMIUM or install Debian's `chromium`)");
        return;
    };
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .csp_nonce(true)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(nonce_page))
        .layer(SecurityHeadersLayer::new(headers));
    let addr = common::serve(app).await;

    let dom = common::dump_dom(&chromium, &format!("http://{addr}/"), BUDGET).await;
    assert_eq!(common::element_text(&dom, "nonced"), Some("ran"), "{dom}");
    assert_eq!(
        common::element_text(&dom, "unnonced"),
        Some("not run"),
        "{dom}"
    );
    assert_eq!(
        common::element_text(&dom, "stale"),
        Some("not run"),
        "{dom}"
    );
    assert_eq!(
        common::element_text(&dom, "violation"),
        Some("script-src-elem"),
        "{dom}"
    );
}
