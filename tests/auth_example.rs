//! `examples/auth.rs` run as a process, as a user would run it, against an
//! identity provider stand-in on 127.0.0.1 that serves a JWKS of keys
//! generated here.
//!
//! The example binary is built by `cargo build --example auth` with the
//! features and profile this test was built with, so cargo finds it up to
//! date after `cargo test` and builds it when only this test was built.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

const ISS: &str = "https://idp.test/";
const AUD: &str = "orders-api";

struct SigningKey {
    pair: EcdsaKeyPair,
    encoding: EncodingKey,
}

impl SigningKey {
    fn generate() -> SigningKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("generate");
        let encoding = EncodingKey::from_ec_der(pair.to_pkcs8v1().expect("pkcs8").as_ref());
        SigningKey { pair, encoding }
    }

    fn jwks(&self, kid: &str) -> String {
        let point = self.pair.public_key().as_ref();
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(point.get(1..33).expect("x")),
            "y": URL_SAFE_NO_PAD.encode(point.get(33..).expect("y")),
        }]})
        .to_string()
    }

    fn pem(&self) -> String {
        let der = self.pair.public_key().as_der().expect("spki");
        let b64 = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    fn token(&self, kid: Option<&str>, extra: Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 600;
        let mut claims = json!({"iss": ISS, "aud": AUD, "sub": "user-17", "exp": exp});
        if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
            claims.extend(extra);
        }
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("sign")
    }
}

/// Builds the example once per test run (a no-op when cargo finds it up to
/// date) and returns its path.
fn example_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_example).clone()
}

fn build_example() -> PathBuf {
    let mut features = Vec::new();
    if cfg!(feature = "axum") {
        features.push("axum");
    }
    if cfg!(feature = "serde") {
        features.push("serde");
    }
    if cfg!(feature = "auth-remote") {
        features.push("auth-remote");
    }
    let mut command = std::process::Command::new(env!("CARGO"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "--example",
            "auth",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit());
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("run cargo build --example auth");
    assert!(output.status.success(), "cargo build --example auth failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "auth")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the example's executable")
}

/// The example, running until the test ends.
struct Example {
    base: String,
    _child: tokio::process::Child,
}

async fn start_example(env: &[(&str, &str)]) -> Example {
    let binary = tokio::task::spawn_blocking(example_binary)
        .await
        .expect("build task");
    let mut command = tokio::process::Command::new(binary);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("HARDEN_")) {
        command.env_remove(name);
    }
    command
        .env("HARDEN_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start the example");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the example printed its address within 30 s")
        .expect("read stdout")
        .expect("a line on stdout");
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    Example {
        base,
        _child: child,
    }
}

/// Runs the example to its exit with a bad configuration.
async fn example_refuses(env: &[(&str, &str)]) -> String {
    let binary = tokio::task::spawn_blocking(example_binary)
        .await
        .expect("build task");
    let mut command = tokio::process::Command::new(binary);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("HARDEN_")) {
        command.env_remove(name);
    }
    command
        .env("HARDEN_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the example exited within 30 s")
        .expect("run the example");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a bad setting exits with 1, never a panic (101)"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn fetch(client: &reqwest::Client, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request to the example")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_example_serves_public_me_and_admin_with_keys_from_a_jwks_url() {
    let key = SigningKey::generate();
    let served = Arc::new(AtomicUsize::new(0));
    let jwks = key.jwks("k1");
    let counter = Arc::clone(&served);
    let idp = common::serve(Router::new().route(
        "/jwks",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            async move { ([("content-type", "application/json")], jwks) }
        }),
    ))
    .await;
    let jwks_url = format!("http://{idp}/jwks");
    let example = start_example(&[
        ("HARDEN_JWT_JWKS_URL", &jwks_url),
        ("HARDEN_JWT_ALLOW_INSECURE_JWKS", "1"),
        ("HARDEN_JWT_ISSUER", ISS),
        ("HARDEN_JWT_AUDIENCE", AUD),
        ("HARDEN_JWT_ALGS", "ES256,EdDSA"),
    ])
    .await;
    let http = client();
    let url = |path: &str| format!("{}{path}", example.base);

    let public = fetch(&http, &url("/public"), None).await;
    assert_eq!(public.status(), 200);

    let anonymous = fetch(&http, &url("/me"), None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );

    // The refresher loads the keys in the background (503 until then).
    let plain = key.token(Some("k1"), json!({"scope": "orders:read"}));
    let mut me = fetch(&http, &url("/me"), Some(&plain)).await;
    for _ in 0..100 {
        if me.status() != 503 {
            break;
        }
        assert!(me.headers().contains_key("retry-after"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        me = fetch(&http, &url("/me"), Some(&plain)).await;
    }
    assert_eq!(me.status(), 200);
    let body: Value = serde_json::from_str(&me.text().await.expect("body")).expect("JSON");
    assert_eq!(body["sub"], "user-17");
    assert_eq!(body["iss"], ISS);
    assert!(served.load(Ordering::SeqCst) >= 1);
    assert_eq!(fetch(&http, &url("/readyz"), None).await.status(), 200);

    let forbidden = fetch(&http, &url("/admin"), Some(&plain)).await;
    assert_eq!(forbidden.status(), 403);
    let challenge = forbidden.headers()["www-authenticate"]
        .to_str()
        .expect("ascii");
    assert!(
        challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"admin\""),
        "{challenge}"
    );

    let scp = key.token(Some("k1"), json!({"scp": ["admin"]}));
    let admin = fetch(&http, &url("/admin"), Some(&scp)).await;
    assert_eq!(admin.status(), 200);
    let scope = key.token(Some("k1"), json!({"scope": "orders:read admin"}));
    assert_eq!(
        fetch(&http, &url("/admin"), Some(&scope)).await.status(),
        200
    );

    let tampered = format!("{}x", &scp[..scp.len() - 1]);
    assert_eq!(
        fetch(&http, &url("/admin"), Some(&tampered)).await.status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_example_reads_a_pem_key_file_with_the_algorithm_named() {
    let key = SigningKey::generate();
    let dir = std::env::temp_dir().join(format!(
        "harden-auth-example-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("key.pem");
    std::fs::write(&path, key.pem()).expect("write the key");
    let path_text = path.to_str().expect("utf-8 path");
    let example = start_example(&[
        ("HARDEN_JWT_KEY_FILE", path_text),
        ("HARDEN_JWT_ISSUER", ISS),
        ("HARDEN_JWT_AUDIENCE", AUD),
        ("HARDEN_JWT_ALGS", "ES256"),
    ])
    .await;
    let http = client();
    let me = fetch(
        &http,
        &format!("{}/me", example.base),
        Some(&key.token(None, json!({}))),
    )
    .await;
    assert_eq!(me.status(), 200);
    let body: Value = serde_json::from_str(&me.text().await.expect("body")).expect("JSON");
    assert_eq!(body["sub"], "user-17");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_auth_example_stops_at_startup_on_a_bad_setting_quoting_it() {
    let stderr = example_refuses(&[
        ("HARDEN_JWT_JWKS_URL", "http://idp.example/jwks"),
        ("HARDEN_JWT_ISSUER", ISS),
        ("HARDEN_JWT_AUDIENCE", AUD),
    ])
    .await;
    assert!(
        stderr.contains("`http://idp.example/jwks`") && stderr.contains("https"),
        "{stderr}"
    );

    let stderr = example_refuses(&[
        ("HARDEN_JWT_JWKS_URL", "https://idp.example/jwks"),
        ("HARDEN_JWT_AUDIENCE", AUD),
    ])
    .await;
    assert!(stderr.contains("HARDEN_JWT_ISSUER is required"), "{stderr}");

    let stderr = example_refuses(&[
        ("HARDEN_JWT_JWKS_URL", "https://idp.example/jwks"),
        ("HARDEN_JWT_ISSUER", ISS),
        ("HARDEN_JWT_AUDIENCE", AUD),
        ("HARDEN_JWT_ALGS", "ES256,none"),
    ])
    .await;
    assert!(stderr.contains("`none`"), "{stderr}");
}
