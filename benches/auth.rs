//! Per-request cost of harden-auth beside jsonwebtoken's `decode`, in the
//! same run: for each algorithm, a token seen for the first time (the cache
//! off, so every check and the signature run), a repeated token (a cache hit)
//! and jsonwebtoken 11 alone with an equivalent `Validation` (iss, aud, exp,
//! nbf, required sub); then the whole `AuthLayer` on a trivial handler beside
//! the bare verification.
//!
//! `cargo bench --bench auth`, then `python3 benches/report.py auth` prints
//! the table of docs/PERFORMANCE.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPublicKeyUncompressedBin, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use common::{call, handler};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use harden_auth::{Algorithm, AuthLayer, Issuer, JwtVerifier, Key, KeySet};
use http::Request;
use jsonwebtoken::{DecodingKey, EncodingKey, Validation};
use serde::Deserialize;
use tower::Layer;

const ISS: &str = "https://idp.example";
const AUD: &str = "orders-api";

/// What the application reads from a token (both sides deserialise it).
#[derive(Debug, Deserialize)]
struct AppClaims {
    #[allow(dead_code)]
    sub: String,
    #[allow(dead_code)]
    scope: String,
}

/// One algorithm's token and its verifiers.
struct Setup {
    alg: Algorithm,
    token: String,
    /// harden with its default cache (warmed with `token`).
    cached: JwtVerifier,
    /// harden with `cache_capacity(0)`: every call checks everything.
    uncached: JwtVerifier,
    /// jsonwebtoken's key, built from the same public material.
    decoding: DecodingKey,
    validation: Validation,
}

fn setup(alg: Algorithm) -> Setup {
    let jwt_alg: jsonwebtoken::Algorithm = alg.as_str().parse().unwrap();
    let (encoding, key, decoding) = keys(alg);
    let key = key.with_kid("k1").unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": ISS, "aud": AUD, "sub": "user-17", "iat": now, "nbf": now,
        "exp": now + 3600, "scope": "orders:read profile", "jti": "0123456789abcdef",
    });
    let mut header = jsonwebtoken::Header::new(jwt_alg);
    header.kid = Some("k1".to_owned());
    let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
    let build = |capacity: u64| {
        JwtVerifier::builder()
            .issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .keys(KeySet::new([key.clone()]).unwrap()),
            )
            .cache_capacity(capacity)
            .build()
            .unwrap()
    };
    let cached = build(harden_auth::DEFAULT_CACHE_CAPACITY);
    cached.verify(&token).unwrap();
    let uncached = build(0);
    let mut validation = Validation::new(jwt_alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    jsonwebtoken::decode::<AppClaims>(&token, &decoding, &validation).unwrap();
    Setup {
        alg,
        token,
        cached,
        uncached,
        decoding,
        validation,
    }
}

/// A fresh key pair: jsonwebtoken's signing key, harden's verification key
/// (from SubjectPublicKeyInfo DER) and jsonwebtoken's decoding key (from the
/// raw public material, as its `from_jwk` builds it).
fn keys(alg: Algorithm) -> (EncodingKey, Key, DecodingKey) {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let secret = vec![0x5a; alg.min_secret_len().unwrap()];
            (
                EncodingKey::from_secret(&secret),
                Key::hmac(alg, &secret).unwrap(),
                DecodingKey::from_secret(&secret),
            )
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let signing = if alg == Algorithm::ES256 {
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &sig::ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let pair = EcdsaKeyPair::generate(signing).unwrap();
            let point: EcPublicKeyUncompressedBin<'static> =
                pair.public_key().as_be_bytes().unwrap();
            (
                EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref()),
                Key::from_der(alg, pair.public_key().as_der().unwrap().as_ref()).unwrap(),
                DecodingKey::from_ec_der(point.as_ref()),
            )
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::generate().unwrap();
            let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
            (
                EncodingKey::from_ed_der(pkcs8.as_ref()),
                Key::from_der(alg, pair.public_key().as_der().unwrap().as_ref()).unwrap(),
                DecodingKey::from_ed_der(pair.public_key().as_ref()),
            )
        }
        _ => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
            let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
            // jsonwebtoken's `from_rsa_der` wants PKCS#1 `RSAPrivateKey`: the
            // OCTET STRING inside PKCS#8's `PrivateKeyInfo`.
            let info = der_contents(pkcs8.as_ref(), 0x30).0;
            let rest = der_contents(info, 0x02).1;
            let rest = der_contents(rest, 0x30).1;
            let pkcs1_private = der_contents(rest, 0x04).0;
            // PKCS#1 `RSAPublicKey`: SEQUENCE { n INTEGER, e INTEGER }.
            let public = pair.public_key().as_ref();
            let seq = der_contents(public, 0x30).0;
            let (n, rest) = der_contents(seq, 0x02);
            let e = der_contents(rest, 0x02).0;
            (
                EncodingKey::from_rsa_der(pkcs1_private),
                Key::from_der(alg, pair.public_key().as_der().unwrap().as_ref()).unwrap(),
                DecodingKey::from_rsa_raw_components(strip(n), strip(e)),
            )
        }
    }
}

/// One DER element with `tag`: its contents and what follows it.
fn der_contents(bytes: &[u8], tag: u8) -> (&[u8], &[u8]) {
    assert_eq!(bytes[0], tag);
    let (len, start) = match bytes[1] {
        l if l < 0x80 => (usize::from(l), 2),
        0x81 => (usize::from(bytes[2]), 3),
        0x82 => ((usize::from(bytes[2]) << 8) | usize::from(bytes[3]), 4),
        other => panic!("DER length form {other:#x}"),
    };
    (&bytes[start..start + len], &bytes[start + len..])
}

fn strip(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
];

fn verify(c: &mut Criterion) {
    for alg in ALGORITHMS {
        let s = setup(alg);
        let mut g = c.benchmark_group(format!("auth_{}", s.alg));
        g.bench_function("jsonwebtoken decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<AppClaims>(black_box(&s.token), &s.decoding, &s.validation)
                    .unwrap()
            })
        });
        g.bench_function("harden first-seen", |b| {
            b.iter(|| s.uncached.verify(black_box(&s.token)).unwrap())
        });
        g.bench_function("harden repeated", |b| {
            b.iter(|| s.cached.verify(black_box(&s.token)).unwrap())
        });
        g.finish();
    }
}

fn layer(c: &mut Criterion) {
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let s = setup(alg);
        let header = format!("Bearer {}", s.token);
        let make = || {
            let mut r = common::get_request();
            r.headers_mut()
                .insert("authorization", header.parse().unwrap());
            r
        };
        let mut g = c.benchmark_group(format!("auth_layer_{alg}"));
        let mut bare = handler();
        g.bench_function("baseline", |b| {
            b.iter_batched(
                make,
                |r| black_box(call(&mut bare, r)),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("verify only (repeated)", |b| {
            b.iter_batched(
                make,
                |r: Request<()>| {
                    let token = &r.headers()["authorization"].to_str().unwrap()[7..];
                    black_box(s.cached.verify(token).unwrap());
                },
                BatchSize::SmallInput,
            )
        });
        let auth = AuthLayer::builder(s.cached.clone()).build().unwrap();
        let mut svc = auth.layer(handler());
        g.bench_function("harden AuthLayer (repeated)", |b| {
            b.iter_batched(
                make,
                |r| black_box(call(&mut svc, r)),
                BatchSize::SmallInput,
            )
        });
        let uncached = AuthLayer::builder(s.uncached.clone()).build().unwrap();
        let mut svc = uncached.layer(handler());
        g.bench_function("harden AuthLayer (first-seen)", |b| {
            b.iter_batched(
                make,
                |r| black_box(call(&mut svc, r)),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verify, layer
}
criterion_main!(benches);
