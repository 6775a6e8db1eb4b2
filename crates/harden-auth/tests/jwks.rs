//! The remote JWKS manager against a real identity provider stand-in: an
//! HTTP server on 127.0.0.1 serving keys generated here, whose answers each
//! test changes (rotation, errors, redirects, huge or slow bodies, shutdown).
//!
//! Time that matters (refresh intervals, cooldown, staleness) runs on an
//! injected clock the tests move forward; only the refresher test uses real
//! time, with short intervals and a bounded wait.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harden_auth::{
    AuthError, AuthLayer, FetchErrorKind, Issuer, JwtVerifier, RemoteJwks, RemoteJwksBuilder,
};
use harden_core::Principal;
use http::{Request, Response, StatusCode};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt as _, service_fn};

const ISS: &str = "https://idp.test/";
const AUD: &str = "orders-api";

// ---------------------------------------------------------------- keys

/// A signing key generated for the test, with its public JWK.
struct TestKey {
    kid: String,
    alg: jsonwebtoken::Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn es256(kid: &str) -> TestKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65);
        TestKey {
            kid: kid.to_owned(),
            alg: jsonwebtoken::Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..]),
            }),
        }
    }

    fn ed25519(kid: &str) -> TestKey {
        let pair = Ed25519KeyPair::generate().unwrap();
        TestKey {
            kid: kid.to_owned(),
            alg: jsonwebtoken::Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pair.to_pkcs8().unwrap().as_ref()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            }),
        }
    }

    /// An RSA-2048 key published without `alg` (the set's default applies).
    fn rsa_without_alg(kid: &str) -> TestKey {
        use aws_lc_rs::encoding::AsDer as _;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap();
        let public = pair.public_key();
        TestKey {
            kid: kid.to_owned(),
            alg: jsonwebtoken::Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(pkcs1_from_pkcs8(pkcs8.as_ref())),
            jwk: json!({
                "kty": "RSA", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            }),
        }
    }

    /// A token from `iss` signed with this key.
    fn token(&self, iss: &str, extra: Value) -> String {
        sign(&self.kid, self.alg, &self.encoding, iss, extra)
    }
}

/// jsonwebtoken's RSA signer takes PKCS#1 `RSAPrivateKey`; aws-lc-rs writes
/// PKCS#8, which wraps it in an OCTET STRING (RFC 5208):
/// `SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey } }`.
fn pkcs1_from_pkcs8(der: &[u8]) -> &[u8] {
    fn element(der: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = der[0];
        let (len, header) = match der[1] {
            n if n < 0x80 => (usize::from(n), 2),
            n => {
                let count = usize::from(n & 0x7f);
                let len = der[2..2 + count]
                    .iter()
                    .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
                (len, 2 + count)
            }
        };
        (tag, &der[header..header + len], &der[header + len..])
    }
    let (tag, info, _) = element(der);
    assert_eq!(tag, 0x30);
    let (_, _, rest) = element(info); // version
    let (_, _, rest) = element(rest); // algorithm
    let (tag, key, _) = element(rest);
    assert_eq!(tag, 0x04);
    key
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(
    kid: &str,
    alg: jsonwebtoken::Algorithm,
    key: &EncodingKey,
    iss: &str,
    extra: Value,
) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let mut claims = json!({"iss": iss, "aud": AUD, "sub": "user-17", "exp": unix_now() + 600});
    if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
        claims.extend(extra);
    }
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

/// A well-formed ES256 token naming `kid`, with a signature nobody can
/// check: enough for a token whose key is never found.
fn token_naming(kid: &str) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let claims = json!({"iss": ISS, "aud": AUD, "sub": "user-17", "exp": unix_now() + 600});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

// ---------------------------------------------------------------- the identity provider

/// How the stand-in answers `GET /jwks`.
#[derive(Clone, Debug)]
enum Mode {
    Serve,
    Status(u16),
    /// 302 to `/elsewhere` on the same server.
    Redirect,
    /// 100 KiB of body, announced by `Content-Length`.
    Huge,
    /// 100 KiB of body, without a length (read until the connection closes).
    HugeUnannounced,
    /// Answers after 3 s.
    Slow,
}

struct IdpState {
    body: Mutex<String>,
    cache_control: Mutex<Option<String>>,
    mode: Mutex<Mode>,
    jwks_requests: AtomicUsize,
    other_requests: AtomicUsize,
}

/// An HTTP/1.1 server on 127.0.0.1 that serves one JWKS and closes every
/// connection after one answer.
struct Idp {
    addr: SocketAddr,
    state: Arc<IdpState>,
    accept: tokio::task::JoinHandle<()>,
}

impl Idp {
    async fn start(body: String) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(IdpState {
            body: Mutex::new(body),
            cache_control: Mutex::new(None),
            mode: Mutex::new(Mode::Serve),
            jwks_requests: AtomicUsize::new(0),
            other_requests: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Arc::clone(&shared)));
            }
        });
        Idp {
            addr,
            state,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    fn publish(&self, body: String) {
        *self.state.body.lock().unwrap() = body;
    }

    fn cache_control(&self, value: &str) {
        *self.state.cache_control.lock().unwrap() = Some(value.to_owned());
    }

    fn mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    fn requests(&self) -> usize {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// Stops accepting: later connections are refused.
    async fn stop(&self) {
        self.accept.abort();
        for _ in 0..100 {
            if TcpStream::connect(self.addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the identity provider still accepts connections");
    }
}

async fn answer(mut stream: TcpStream, state: Arc<IdpState>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => request.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let line = String::from_utf8_lossy(&request);
    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
    if path != "/jwks" {
        state.other_requests.fetch_add(1, Ordering::SeqCst);
        let _ = stream.write_all(&response(404, "", "{}")).await;
        return;
    }
    state.jwks_requests.fetch_add(1, Ordering::SeqCst);
    let mode = state.mode.lock().unwrap().clone();
    let body = state.body.lock().unwrap().clone();
    let cache = state
        .cache_control
        .lock()
        .unwrap()
        .as_ref()
        .map(|v| format!("cache-control: {v}\r\n"))
        .unwrap_or_default();
    let huge = "x".repeat(100 * 1024);
    let bytes = match mode {
        Mode::Serve => response(200, &cache, &body),
        Mode::Status(code) => response(code, "", "{\"error\":\"down\"}"),
        Mode::Redirect => response(302, "location: /elsewhere\r\n", ""),
        Mode::Huge => response(200, "", &huge),
        Mode::HugeUnannounced => {
            let mut out =
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                    .to_vec();
            out.extend_from_slice(huge.as_bytes());
            out
        }
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            response(200, &cache, &body)
        }
    };
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

fn response(status: u16, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra_headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

// ---------------------------------------------------------------- the relying party

/// A clock the test moves forward by hand.
#[derive(Clone)]
struct FakeClock(Arc<Mutex<Instant>>);

impl FakeClock {
    fn new() -> FakeClock {
        FakeClock(Arc::new(Mutex::new(Instant::now())))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    fn install(&self, builder: RemoteJwksBuilder) -> RemoteJwksBuilder {
        let clock = self.clone();
        builder.clock(move || *clock.0.lock().unwrap())
    }
}

fn remote(idp: &Idp, clock: &FakeClock) -> RemoteJwksBuilder {
    clock.install(RemoteJwks::builder(idp.url()).allow_insecure_loopback(true))
}

fn verifier(jwks: &RemoteJwks) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience(AUD).remote(jwks.clone()))
        .build()
        .unwrap()
}

type Body = harden_core::ResponseBody<String>;

/// The auth layer around a handler that answers with the caller's subject.
fn service(verifier: JwtVerifier) -> BoxCloneService<Request<()>, Response<Body>, Infallible> {
    ServiceBuilder::new()
        .layer(BoxCloneService::layer())
        .layer(AuthLayer::builder(verifier).build().unwrap())
        .service(service_fn(|req: Request<()>| async move {
            let who = req
                .extensions()
                .get::<Principal>()
                .map(|p| p.subject().to_owned());
            Ok::<_, Infallible>(Response::new(who.unwrap_or_default()))
        }))
}

fn bearer(token: &str) -> Request<()> {
    Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap()
}

async fn text(res: Response<Body>) -> String {
    use http_body_util::BodyExt as _;
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

const MIN: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- 42: rotation

#[tokio::test]
async fn a_key_added_at_the_idp_is_accepted_through_one_refetch_within_the_cooldown() {
    let k1 = TestKey::es256("k1");
    let k2 = TestKey::es256("k2");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    let verifier = verifier(&jwks_remote);
    assert!(
        verifier
            .verify_async(&k1.token(ISS, json!({})))
            .await
            .is_ok()
    );
    assert_eq!(idp.requests(), 1);

    // The IdP publishes k2. Within the cooldown of the last fetch, a k2 token
    // is refused at once, without a fetch.
    idp.publish(jwks(&[&k1, &k2]));
    clock.advance(Duration::from_secs(10));
    let token = k2.token(ISS, json!({}));
    assert_eq!(
        verifier.verify_async(&token).await.unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(idp.requests(), 1);

    // Once the cooldown has passed, the first k2 token triggers one refetch
    // and is accepted.
    clock.advance(Duration::from_secs(21));
    let verified = verifier.verify_async(&token).await.unwrap();
    assert_eq!(verified.principal.subject(), "user-17");
    assert_eq!(idp.requests(), 2);
    assert_eq!(jwks_remote.status().key_count, 2);
    // k1 tokens were unaffected.
    assert!(
        verifier
            .verify_async(&k1.token(ISS, json!({})))
            .await
            .is_ok()
    );
    assert_eq!(idp.requests(), 2);
}

#[tokio::test]
async fn a_key_removed_at_the_idp_is_refused_after_the_max_age_refresh_cached_tokens_included() {
    let k1 = TestKey::es256("k1");
    let k2 = TestKey::ed25519("k2");
    let idp = Idp::start(jwks(&[&k1, &k2])).await;
    idp.cache_control("public, max-age=1");
    let jwks_remote = RemoteJwks::builder(idp.url())
        .allow_insecure_loopback(true)
        .min_refresh(Duration::from_millis(100))
        .build()
        .unwrap();
    let refresh = jwks_remote.spawn_refresher().unwrap();
    let verifier = verifier(&jwks_remote);
    let old = k1.token(ISS, json!({}));
    let new = k2.token(ISS, json!({}));

    // The refresher loads the set without anyone asking.
    for _ in 0..100 {
        if jwks_remote.status().loaded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(jwks_remote.status().loaded, "{:?}", jwks_remote.status());
    // Verified once, then served from the verified-token cache.
    assert!(verifier.verify(&old).is_ok());
    assert!(verifier.verify(&old).is_ok());
    assert!(verifier.verify(&new).is_ok());

    idp.publish(jwks(&[&k2]));
    let mut refused = None;
    for _ in 0..100 {
        if let Err(error) = verifier.verify(&old) {
            refused = Some(error);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        refused,
        Some(AuthError::UnknownKey),
        "k1 still accepted after 5 s of 1 s refreshes"
    );
    assert!(verifier.verify(&new).is_ok());
    assert!(idp.requests() >= 2);
    refresh.abort();
}

// ---------------------------------------------------------------- 41: unknown-kid storm

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tokens_with_unknown_kids_cost_one_fetch_per_cooldown() {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    let svc = service(verifier(&jwks_remote));
    clock.advance(Duration::from_secs(31));

    let storm = |round: usize| {
        let tasks: Vec<_> = (0..10_000)
            .map(|i| {
                let svc = svc.clone();
                let token = token_naming(&format!("rnd-{round}-{i:x}-{}", i * 7919 % 10_007));
                tokio::spawn(async move { svc.oneshot(bearer(&token)).await.unwrap().status() })
            })
            .collect();
        async move {
            let mut statuses = Vec::with_capacity(tasks.len());
            for task in tasks {
                statuses.push(task.await.unwrap());
            }
            statuses
        }
    };
    let statuses = storm(1).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert_eq!(
        idp.requests(),
        2,
        "one fetch at startup, one for the whole storm"
    );
    assert!(jwks_remote.status().unknown_kids <= 1024);

    // Still within the cooldown: a second storm costs nothing.
    clock.advance(Duration::from_secs(20));
    let statuses = storm(2).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert_eq!(idp.requests(), 2);

    // The next cooldown allows exactly one more.
    clock.advance(Duration::from_secs(11));
    let statuses = storm(3).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert_eq!(idp.requests(), 3);
    // A valid token is still served while the storm's kids are refused.
    let ok = svc
        .clone()
        .oneshot(bearer(&k1.token(ISS, json!({}))))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_kid_still_unknown_after_a_refetch_is_remembered_until_the_next_successful_fetch() {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    let verifier = verifier(&jwks_remote);

    clock.advance(Duration::from_secs(31));
    let ghost = token_naming("ghost");
    assert_eq!(
        verifier.verify_async(&ghost).await.unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(idp.requests(), 2);
    assert_eq!(jwks_remote.status().unknown_kids, 1);

    // Past the cooldown, the remembered kid triggers nothing; a new one does.
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        verifier.verify_async(&ghost).await.unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(idp.requests(), 2);
    assert_eq!(
        verifier
            .verify_async(&token_naming("other"))
            .await
            .unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(idp.requests(), 3);
    // That fetch succeeded: only the kid it did not bring is remembered now.
    assert_eq!(jwks_remote.status().unknown_kids, 1);
}

// ---------------------------------------------------------------- 42: failures and staleness

/// Loads a good set, then breaks the IdP with `mode` (or stops it): the next
/// refresh fails with `kind`, the last good set keeps verifying until
/// max_staleness has passed, then every token (cached ones included) gets
/// 503 with the configured Retry-After; a good fetch restores service.
async fn keeps_the_last_good_set_then_fails_closed(mode: Option<Mode>, kind: FetchErrorKind) {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock)
        .timeout(Duration::from_millis(300))
        .max_staleness(60 * MIN)
        .retry_after(Duration::from_secs(7))
        .build()
        .unwrap();
    jwks_remote.fetch_now().await.unwrap();
    let verifier = verifier(&jwks_remote);
    let svc = service(verifier.clone());
    let cached = k1.token(ISS, json!({}));
    assert_eq!(
        svc.clone().oneshot(bearer(&cached)).await.unwrap().status(),
        StatusCode::OK
    );

    match &mode {
        Some(mode) => idp.mode(mode.clone()),
        None => idp.stop().await,
    }
    // The refresh is due after the default 10 minutes; it fails.
    clock.advance(11 * MIN);
    let error = jwks_remote.fetch_now().await.unwrap_err();
    assert_eq!(error.kind(), kind, "{error}");
    assert!(error.to_string().contains(&idp.url()), "{error}");
    let status = jwks_remote.status();
    assert!(
        status.usable && status.consecutive_failures == 1,
        "{status:?}"
    );
    // The last good set still verifies, cached and new tokens alike.
    assert_eq!(
        svc.clone().oneshot(bearer(&cached)).await.unwrap().status(),
        StatusCode::OK
    );
    let fresh = k1.token(ISS, json!({"jti": "fresh"}));
    assert_eq!(
        svc.clone().oneshot(bearer(&fresh)).await.unwrap().status(),
        StatusCode::OK
    );

    // Past max_staleness after the refresh was due: fail closed.
    clock.advance(60 * MIN);
    assert!(!jwks_remote.status().usable);
    for token in [&cached, &fresh] {
        let res = svc.clone().oneshot(bearer(token)).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "7");
        assert!(matches!(
            verifier.verify(token),
            Err(AuthError::KeysUnavailable { .. })
        ));
    }

    if mode.is_some() {
        idp.mode(Mode::Serve);
        jwks_remote.fetch_now().await.unwrap();
        assert_eq!(
            svc.clone().oneshot(bearer(&cached)).await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(jwks_remote.status().consecutive_failures, 0);
    }
}

#[tokio::test]
async fn a_500_keeps_the_last_good_set_then_fails_closed() {
    keeps_the_last_good_set_then_fails_closed(Some(Mode::Status(500)), FetchErrorKind::Status)
        .await;
}

#[tokio::test]
async fn a_stopped_idp_keeps_the_last_good_set_then_fails_closed() {
    keeps_the_last_good_set_then_fails_closed(None, FetchErrorKind::Connect).await;
}

#[tokio::test]
async fn a_body_over_64_kib_keeps_the_last_good_set_then_fails_closed() {
    keeps_the_last_good_set_then_fails_closed(Some(Mode::Huge), FetchErrorKind::TooLarge).await;
    keeps_the_last_good_set_then_fails_closed(
        Some(Mode::HugeUnannounced),
        FetchErrorKind::TooLarge,
    )
    .await;
}

#[tokio::test]
async fn a_slow_idp_times_out_and_keeps_the_last_good_set_then_fails_closed() {
    keeps_the_last_good_set_then_fails_closed(Some(Mode::Slow), FetchErrorKind::Timeout).await;
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_keeps_the_last_good_set_then_fails_closed() {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    idp.mode(Mode::Redirect);
    let error = jwks_remote.fetch_now().await.unwrap_err();
    assert_eq!(error.kind(), FetchErrorKind::Redirect, "{error}");
    assert_eq!(
        idp.state.other_requests.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert!(jwks_remote.status().usable);

    keeps_the_last_good_set_then_fails_closed(Some(Mode::Redirect), FetchErrorKind::Redirect).await;
}

#[tokio::test]
async fn an_invalid_or_empty_document_keeps_the_last_good_set() {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    let verifier = verifier(&jwks_remote);
    for body in [
        "not json",
        "{\"keys\":[]}",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}",
    ] {
        idp.publish(body.to_owned());
        let error = jwks_remote.fetch_now().await.unwrap_err();
        assert_eq!(error.kind(), FetchErrorKind::Invalid, "{body}: {error}");
        assert!(verifier.verify(&k1.token(ISS, json!({}))).is_ok(), "{body}");
    }
    assert_eq!(jwks_remote.status().consecutive_failures, 3);
}

// ---------------------------------------------------------------- 42: nothing loaded

#[tokio::test]
async fn nothing_loaded_yet_answers_503_with_retry_after_and_never_accepts() {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    idp.mode(Mode::Status(503));
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    let verifier = verifier(&jwks_remote);
    let svc = service(verifier.clone());
    let token = k1.token(ISS, json!({}));

    // Before any fetch, and after a failed one.
    for attempt in 0..2 {
        let res = svc.clone().oneshot(bearer(&token)).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "attempt {attempt}"
        );
        assert_eq!(res.headers()["retry-after"], "5");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(
            verifier.verify_async(&token).await.unwrap_err(),
            AuthError::KeysUnavailable {
                retry_after: Duration::from_secs(5)
            }
        );
        let _ = jwks_remote.fetch_now().await;
    }
    assert_eq!(
        idp.requests(),
        2,
        "a token never triggers a fetch while nothing is loaded"
    );
    let status = jwks_remote.status();
    assert!(!status.loaded && !status.usable && status.last_success.is_none());
    assert_eq!(
        status.last_error.map(|e| e.kind()),
        Some(FetchErrorKind::Status)
    );

    idp.mode(Mode::Serve);
    jwks_remote.fetch_now().await.unwrap();
    let res = svc.oneshot(bearer(&token)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, "user-17");
}

// ---------------------------------------------------------------- 43–44: what a remote set may hold

#[tokio::test]
async fn oct_keys_and_encryption_keys_in_a_remote_set_are_ignored() {
    let ec = TestKey::es256("ec");
    let rsa = TestKey::rsa_without_alg("rsa");
    let secret = [0x5au8; 32];
    let hmac = EncodingKey::from_secret(&secret);
    let oct =
        json!({"kty": "oct", "alg": "HS256", "kid": "hmac", "k": URL_SAFE_NO_PAD.encode(secret)});
    let mut enc = TestKey::es256("enc").jwk;
    enc["use"] = json!("enc");
    let mut dup_a = TestKey::es256("dup").jwk;
    dup_a["alg"] = json!("ES256");
    let dup_b = TestKey::es256("dup").jwk;
    let doc = json!({"keys": [ec.jwk.clone(), rsa.jwk, oct, enc, dup_a, dup_b]}).to_string();
    let idp = Idp::start(doc).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    assert_eq!(
        jwks_remote.status().key_count,
        2,
        "only the EC key and the RSA key are usable"
    );

    let verifier = verifier(&jwks_remote);
    assert!(verifier.verify(&ec.token(ISS, json!({}))).is_ok());
    // RSA without `alg` is bound to the default, RS256.
    assert!(verifier.verify(&rsa.token(ISS, json!({}))).is_ok());
    let forged = sign(
        "hmac",
        jsonwebtoken::Algorithm::HS256,
        &hmac,
        ISS,
        json!({}),
    );
    assert!(verifier.verify(&forged).is_err());
    assert_eq!(
        verifier.verify(&token_naming("dup")).unwrap_err(),
        AuthError::UnknownKey
    );

    // Debug shows the URL and the state, never key material.
    let shown = format!("{jwks_remote:?}");
    assert!(
        shown.contains(&idp.url()) && shown.contains("key_count: 2"),
        "{shown}"
    );
    assert!(!shown.contains(&URL_SAFE_NO_PAD.encode(secret)), "{shown}");
    assert!(!shown.contains(ec.jwk["x"].as_str().unwrap()), "{shown}");

    // Without a default, an RSA key without `alg` is skipped.
    let strict = remote(&idp, &clock).rsa_default_alg(None).build().unwrap();
    strict.fetch_now().await.unwrap();
    assert_eq!(strict.status().key_count, 1);
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_at_build() {
    for (url, allow) in [
        ("http://idp.example/jwks", false),
        ("http://idp.example/jwks", true),
        ("http://192.168.1.10/jwks", true),
        ("http://127.0.0.1:8080/jwks", false),
    ] {
        let err = RemoteJwks::builder(url)
            .allow_insecure_loopback(allow)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("`{url}`")) && err.contains("https"),
            "{url}: {err}"
        );
    }
    assert!(
        RemoteJwks::builder("http://127.0.0.1:8080/jwks")
            .allow_insecure_loopback(true)
            .build()
            .is_ok()
    );
}

// ---------------------------------------------------------------- 45: multi-issuer

#[tokio::test]
async fn a_token_from_one_issuer_signed_with_another_issuers_key_is_refused() {
    let a = TestKey::es256("a1");
    let b = TestKey::es256("b1");
    let idp_a = Idp::start(jwks(&[&a])).await;
    let idp_b = Idp::start(jwks(&[&b])).await;
    let clock = FakeClock::new();
    let jwks_a = remote(&idp_a, &clock).build().unwrap();
    let jwks_b = remote(&idp_b, &clock).build().unwrap();
    jwks_a.fetch_now().await.unwrap();
    jwks_b.fetch_now().await.unwrap();
    let verifier = JwtVerifier::builder()
        .issuer(Issuer::new("https://a.test/").audience(AUD).remote(jwks_a))
        .issuer(Issuer::new("https://b.test/").audience(AUD).remote(jwks_b))
        .build()
        .unwrap();
    clock.advance(Duration::from_secs(31));

    assert!(
        verifier
            .verify_async(&a.token("https://a.test/", json!({})))
            .await
            .is_ok()
    );
    assert!(
        verifier
            .verify_async(&b.token("https://b.test/", json!({})))
            .await
            .is_ok()
    );
    // B's key and kid, claiming to be A: A's set is refetched once and still
    // does not hold it.
    let cross = b.token("https://a.test/", json!({}));
    assert_eq!(
        verifier.verify_async(&cross).await.unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!((idp_a.requests(), idp_b.requests()), (2, 1));
    // A's kid, signed with B's key.
    let forged = sign(
        "a1",
        jsonwebtoken::Algorithm::ES256,
        &b.encoding,
        "https://a.test/",
        json!({}),
    );
    assert_eq!(
        verifier.verify_async(&forged).await.unwrap_err(),
        AuthError::Signature
    );
    // An issuer nobody configured.
    let stranger = b.token("https://c.test/", json!({}));
    assert_eq!(
        verifier.verify_async(&stranger).await.unwrap_err(),
        AuthError::Issuer
    );
}

// ---------------------------------------------------------------- the layer's refetch path

#[tokio::test]
async fn a_token_with_a_brand_new_kid_gets_200_through_the_layer_after_one_fetch() {
    let k1 = TestKey::es256("k1");
    let k2 = TestKey::ed25519("k2");
    let idp = Idp::start(jwks(&[&k1])).await;
    let clock = FakeClock::new();
    let jwks_remote = remote(&idp, &clock).build().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    let svc = service(verifier(&jwks_remote));
    idp.publish(jwks(&[&k1, &k2]));
    clock.advance(Duration::from_secs(31));

    let res = svc
        .clone()
        .oneshot(bearer(&k2.token(ISS, json!({}))))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.extensions().get::<Principal>().map(Principal::subject),
        Some("user-17")
    );
    assert_eq!(text(res).await, "user-17");
    assert_eq!(idp.requests(), 2);

    // A kid the refetch did not bring: 401, and no second fetch.
    clock.advance(Duration::from_secs(31));
    let res = svc.oneshot(bearer(&token_naming("k9"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(idp.requests(), 3);
}

// ---------------------------------------------------------------- the refresh task

#[tokio::test]
async fn the_refresh_task_ends_when_every_handle_is_dropped() {
    let k1 = TestKey::es256("k1");
    let idp = Idp::start(jwks(&[&k1])).await;
    let jwks_remote = RemoteJwks::builder(idp.url())
        .allow_insecure_loopback(true)
        .build()
        .unwrap();
    let verifier = verifier(&jwks_remote);
    let refresh = jwks_remote.spawn_refresher().unwrap();
    jwks_remote.fetch_now().await.unwrap();
    assert!(!refresh.is_finished());
    drop(verifier);
    drop(jwks_remote);
    for _ in 0..100 {
        if refresh.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refresh.is_finished(), "the refresher outlived its key set");
}

#[test]
fn spawning_the_refresher_outside_a_runtime_is_an_error_not_a_panic() {
    let jwks_remote = RemoteJwks::builder("https://idp.test/jwks")
        .build()
        .unwrap();
    let err = jwks_remote.spawn_refresher().unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    assert!(format!("{jwks_remote:?}").contains("https://idp.test/jwks"));
}
