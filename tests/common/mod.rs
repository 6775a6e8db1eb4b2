//! Shared by the end-to-end tests: real servers on 127.0.0.1 and a real browser.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on an ephemeral loopback port, with the peer address
/// available as `ConnectInfo`, until the test's runtime ends.
pub async fn serve(router: Router) -> SocketAddr {
    let (listener, addr) = bind().await;
    spawn(listener, router);
    addr
}

/// Binds an ephemeral loopback port, for a server whose address must be known
/// before its router is built.
pub async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// Serves `router` on `listener` until the test's runtime ends.
pub fn spawn(listener: TcpListener, router: Router) {
    tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
}

/// Whether the test must fail rather than skip when something it needs is
/// missing: under CI everything is installed by `.ci/run`.
pub fn must_run() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips the test with a printed reason, or fails it under `CI=true`.
pub fn skip(reason: &str) {
    assert!(!must_run(), "required under CI=true: {reason}");
    eprintln!("skipped: {reason}");
}

/// The Chromium binary: `$CHROMIUM`, else the first of the usual names on PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// Loads `url` in headless Chromium, lets its scripts and fetches run for up to
/// `budget` of virtual time, and returns the DOM as serialised after that.
///
/// The page reports what happened by writing into its DOM, so the outcome is read
/// from what the browser actually did (CORS checks and CSP enforcement happen in
/// the browser, not in our code). The whole run is bounded by a 60 s wall-clock
/// timeout, and the browser is killed if the test is dropped.
pub async fn dump_dom(chromium: &PathBuf, url: &str, budget: Duration) -> String {
    let profile = tempdir();
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={}", budget.as_millis()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("chromium finished within 60 s")
        .expect("chromium started");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains("<html"),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| !l.contains("dbus"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    dom
}

/// The text of the element with `id` in a serialised DOM (no nesting needed:
/// the test pages write plain text into leaf elements).
pub fn element_text<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let open = format!("id=\"{id}\">");
    let start = dom.find(&open)? + open.len();
    let len = dom.get(start..)?.find('<')?;
    dom.get(start..start + len)
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "harden-chromium-{}-{}",
        std::process::id(),
        harden::RequestId::generate()
    ));
    std::fs::create_dir_all(&dir).expect("create the profile directory");
    dir
}
