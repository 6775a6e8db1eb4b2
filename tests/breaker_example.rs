//! `examples/breaker.rs` end to end: the example's binary proxies to a real
//! upstream on 127.0.0.1 that starts failing; the breaker opens (503 +
//! `Retry-After`, `GET /breaker` says `open`) and closes again once the
//! upstream recovers. Real time, a short reset time, every wait bounded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[derive(Clone, Default)]
struct Upstream {
    failing: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

async fn item(State(up): State<Upstream>) -> (StatusCode, &'static str) {
    up.hits.fetch_add(1, Ordering::SeqCst);
    if up.failing.load(Ordering::SeqCst) {
        (StatusCode::INTERNAL_SERVER_ERROR, "broken")
    } else {
        (StatusCode::OK, "fine")
    }
}

/// The example's binary, built by `cargo test` beside this test's.
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let path = dir
        .join("examples")
        .join(format!("breaker{}", std::env::consts::EXE_SUFFIX));
    path.is_file().then_some(path)
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

async fn fetch(client: &Client<HttpConnector, Empty<Bytes>>, url: String) -> Answer {
    let res = client
        .get(url.parse().unwrap())
        .await
        .expect("the example answers");
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn state(answer: &Answer) -> String {
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    v["state"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_opens_on_a_failing_upstream_and_closes_when_it_recovers() {
    let Some(binary) = example_binary() else {
        common::skip(
            "the `breaker` example is not built (run `cargo test` without target filters)",
        );
        return;
    };
    let up = Upstream::default();
    let upstream_addr = common::serve(
        Router::new()
            .route("/item", get(item))
            .with_state(up.clone()),
    )
    .await;

    let mut child = Command::new(binary)
        .env("HARDEN_ADDR", "127.0.0.1:0")
        .env("HARDEN_UPSTREAM", format!("http://{upstream_addr}"))
        .env("HARDEN_BREAKER_THRESHOLD_PERCENT", "50")
        .env("HARDEN_BREAKER_MIN_CALLS", "3")
        .env("HARDEN_BREAKER_RESET_MS", "300")
        .env("HARDEN_BREAKER_TIMEOUT_MS", "5000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the example");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr: SocketAddr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                return addr.parse().unwrap();
            }
        }
        panic!("the example exited before listening");
    })
    .await
    .expect("the example listens within 30 s");
    // Keep reading its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let item_url = format!("http://{addr}/item");
    let status_url = format!("http://{addr}/breaker");

    let a = fetch(&client, item_url.clone()).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "fine"));
    assert_eq!(state(&fetch(&client, status_url.clone()).await), "closed");

    up.failing.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        assert_eq!(
            fetch(&client, item_url.clone()).await.status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    let hits = up.hits.load(Ordering::SeqCst);
    let open = fetch(&client, item_url.clone()).await;
    assert_eq!(open.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(open.retry_after.as_deref(), Some("1"));
    let v: serde_json::Value = serde_json::from_str(&open.body).unwrap();
    assert_eq!(v["error"]["status"], 503);
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        hits,
        "the upstream is spared"
    );
    let s = fetch(&client, status_url.clone()).await;
    assert!(
        matches!(state(&s).as_str(), "open" | "half_open"),
        "{}",
        s.body
    );

    up.failing.store(false, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..200 {
        if fetch(&client, item_url.clone()).await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(recovered, "the breaker never let a trial through");
    assert_eq!(state(&fetch(&client, status_url).await), "closed");
    child.kill().await.ok();
}
