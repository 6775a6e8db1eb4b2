//! Bearer tokens from the wire: the pre-check, the JOSE header, the claims and
//! the whole verification of `JwtVerifier`, and `AuthLayer`'s reading of the
//! `Authorization` header. Never a panic; a token is accepted only when it is
//! HS256-signed with the verifier's key and its claims pass every check; the
//! cached verifier always agrees with the uncached one.
//!
//! The first byte chooses the mode:
//! - 0: the rest is a token, verified as is;
//! - 1: the rest is `header JSON \n payload JSON`, signed with the key, so
//!   the fuzzer reaches the checks that follow the signature;
//! - 2: the rest is an `Authorization` header value, sent through the layer.
#![no_main]

use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harden_auth::{Algorithm, AuthLayer, AuthService, Issuer, JwtVerifier, Key, KeySet};
use http::{HeaderValue, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

const SECRET: &[u8] = b"a fuzzing HS256 secret, 32 bytes";
const ISS: &str = "https://idp.example";
const AUD: &str = "api";
/// 2027-01-15: the verifier's clock in modes 0 and 1.
const NOW: i64 = 1_800_000_000;
const LEEWAY: i64 = 60;

fn verifier(cache: u64) -> Option<JwtVerifier> {
    let key = Key::hmac(Algorithm::HS256, SECRET)
        .ok()?
        .with_kid("k1")
        .ok()?;
    JwtVerifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySet::new([key]).ok()?),
        )
        .max_lifetime(Duration::from_secs(86_400))
        .cache_capacity(cache)
        .build()
        .ok()
}

static UNCACHED: LazyLock<Option<JwtVerifier>> = LazyLock::new(|| verifier(0));
static CACHED: LazyLock<Option<JwtVerifier>> = LazyLock::new(|| verifier(1_000));

/// The handler behind the layer: 200.
#[derive(Clone)]
struct Ok200;

impl Service<Request<()>> for Ok200 {
    type Response = Response<()>;
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Response<()>, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        ready(Ok(Response::new(())))
    }
}

static SERVICE: LazyLock<Option<AuthService<Ok200>>> = LazyLock::new(|| {
    let verifier = verifier(1_000)?;
    Some(AuthLayer::builder(verifier).build().ok()?.layer(Ok200))
});

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
}

/// Verifies `token` with both verifiers; they must agree. When accepted, the
/// claims must pass the checks read independently from the payload.
fn check(token: &str) {
    let (Some(uncached), Some(cached)) = (&*UNCACHED, &*CACHED) else {
        return;
    };
    let plain = uncached.verify_at(token, at(NOW));
    for _ in 0..2 {
        let again = cached.verify_at(token, at(NOW));
        match (&plain, &again) {
            (Ok(_), Ok(_)) => {}
            (Err(a), Err(b)) => assert_eq!(a, b, "the cache changed the verdict"),
            _ => panic!("cached {:?} vs uncached {:?}", again.is_ok(), plain.is_ok()),
        }
    }
    let Ok(verified) = plain else {
        return;
    };
    let mut parts = token.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        panic!("accepted a token without segments");
    };
    let decode = |segment: &str| URL_SAFE_NO_PAD.decode(segment).unwrap_or_default();
    // The verifier skips members it does not read without recursion, so a
    // member nested deeper than serde_json's limit for `Value` (128) can be in
    // an accepted token: such a document cannot be cross-checked here.
    let (Ok(header), Ok(payload)) = (
        serde_json::from_slice::<Value>(&decode(h)),
        serde_json::from_slice::<Value>(&decode(p)),
    ) else {
        return;
    };
    assert_eq!(header["alg"], "HS256", "{header}");
    for refused in [
        "crit", "b64", "jku", "jwk", "x5u", "x5c", "enc", "zip", "p2c",
    ] {
        assert!(
            header.get(refused).is_none(),
            "accepted a header with `{refused}`"
        );
    }
    assert!(header["kid"].is_null() || header["kid"] == "k1", "{header}");
    assert_eq!(payload["iss"], ISS);
    let aud_ok = match &payload["aud"] {
        Value::String(s) => s == AUD,
        Value::Array(list) => list.iter().any(|a| a == AUD),
        _ => false,
    };
    assert!(aud_ok, "aud {}", payload["aud"]);
    let exp = payload["exp"].as_f64().unwrap_or(f64::NAN);
    assert!(exp + LEEWAY as f64 >= NOW as f64, "exp {exp}");
    assert!(exp <= (NOW + 86_400 + LEEWAY + 1) as f64, "exp {exp}");
    for claim in ["nbf", "iat"] {
        if let Some(t) = payload.get(claim).filter(|v| !v.is_null()) {
            let t = t.as_f64().unwrap_or(f64::NAN);
            assert!(t <= (NOW + LEEWAY + 1) as f64, "{claim} {t}");
        }
    }
    assert!(payload["sub"].is_string(), "sub {}", payload["sub"]);
    assert_eq!(verified.claims.issuer(), ISS);
    assert_eq!(
        verified.principal.subject(),
        payload["sub"].as_str().unwrap_or("")
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                check(token);
            }
        }
        1 => {
            let mut split = rest.splitn(2, |&b| b == b'\n');
            let header = split.next().unwrap_or_default();
            let payload = split.next().unwrap_or_default();
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload)
            );
            let Ok(signature) = jsonwebtoken::crypto::sign(
                input.as_bytes(),
                &jsonwebtoken::EncodingKey::from_secret(SECRET),
                jsonwebtoken::Algorithm::HS256,
            ) else {
                return;
            };
            check(&format!("{input}.{signature}"));
        }
        _ => {
            let (Some(service), Ok(value)) = (&*SERVICE, HeaderValue::from_bytes(rest)) else {
                return;
            };
            let mut req = Request::new(());
            req.headers_mut().insert(http::header::AUTHORIZATION, value);
            let mut svc = service.clone();
            let mut cx = Context::from_waker(Waker::noop());
            let future = pin!(svc.call(req));
            let Poll::Ready(Ok(res)) = future.poll(&mut cx) else {
                panic!("the layer's answer was not ready at once");
            };
            let status = res.status();
            assert!(
                matches!(
                    status,
                    StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED
                ),
                "{status}"
            );
            if status == StatusCode::UNAUTHORIZED {
                assert!(res.headers().contains_key(http::header::WWW_AUTHENTICATE));
            }
        }
    }
});
