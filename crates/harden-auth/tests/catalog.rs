//! The JWT attack catalog of the project's security research (§1.2 rows 1–40:
//! what jsonwebtoken does by default and the policy we add; §1.4 rows 47–49:
//! RFC 6750 extraction, errors and logs), one named test per row: each attack
//! token is refused by `JwtVerifier::verify_at` with the expected
//! [`AuthError`] class and, through `AuthLayer`, with the expected HTTP answer
//! (`refused` checks both). Rows 41–46 (remote JWKS) live in `tests/jwks.rs`.
//!
//! Keys are generated at run time with aws-lc-rs; the verifier gets their
//! public halves as PEM, DER or JWK, so every loader is exercised.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;

use std::io::Write as _;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use harden_auth::{
    Algorithm, AuthError, AuthLayer, ConfigError, Issuer, JwtVerifier, Key, KeySet, MAX_TOKEN_LEN,
    Requirement,
};
use harden_core::Rejection;
use http::{HeaderValue, Request, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::*;

/// The tests' "now": the clock when the binary started. `verify_at(t0())`
/// is exact; the layer reads the real clock, a few seconds later at most, so
/// the tests at the edge of a time window (rows 27, 29, 30, 32) check only
/// `verify_at`.
static T0_SECS: LazyLock<i64> = LazyLock::new(now);

fn t0() -> i64 {
    *T0_SECS
}

fn rs() -> TestKey {
    TestKey::new(Algorithm::RS256, "r1")
}

fn es() -> TestKey {
    TestKey::new(Algorithm::ES256, "e1")
}

fn hs() -> TestKey {
    TestKey::new(Algorithm::HS256, "h1")
}

/// Asserts that `verifier` refuses `token` as of `now` with `expected`
/// (`verify_at` only: for the tests at the edge of a time window).
#[track_caller]
fn refused_at<T>(verifier: &JwtVerifier<T>, token: &str, now: i64, expected: &AuthError, what: &str)
where
    T: DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    match verifier.verify_at(token, at(now)) {
        Ok(v) => panic!("{what}: accepted as {:?}", v.claims),
        Err(e) => assert_eq!(&e, expected, "{what}"),
    }
}

/// Asserts that `verifier` refuses `token` with `expected`, and that
/// `AuthLayer` over it answers 401 `invalid_token` in the shared error format,
/// recording the same class.
#[track_caller]
fn refused<T>(verifier: &JwtVerifier<T>, token: &str, expected: &AuthError, what: &str)
where
    T: DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    refused_at(verifier, token, t0(), expected, what);
    // Over HTTP, spaces before the token belong to the separator (RFC 6750
    // `"Bearer" 1*SP b64token`), and some bytes cannot be in a header value.
    if token.starts_with(' ') {
        return;
    }
    let Ok(value) = HeaderValue::try_from(format!("Bearer {token}")) else {
        return;
    };
    let layer = AuthLayer::builder(verifier.clone()).build().unwrap();
    let res = send(&layer, authorization(value.as_bytes()));
    assert_invalid_token(&res, what);
    assert_eq!(
        rejection_reason(&res),
        expected.class(),
        "{what} through the layer"
    );
}

/// Asserts that `verifier` accepts `token` as of `now` (`verify_at` only).
#[track_caller]
fn accepted_at<T>(verifier: &JwtVerifier<T>, token: &str, now: i64, what: &str)
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    if let Err(e) = verifier.verify_at(token, at(now)) {
        panic!("{what}: refused as {e:?}");
    }
}

/// Asserts that `verifier` accepts `token`, and `AuthLayer` over it lets the
/// request through to the handler with the token's subject.
#[track_caller]
fn accepted<T>(verifier: &JwtVerifier<T>, token: &str, what: &str)
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    accepted_at(verifier, token, t0(), what);
    let layer = AuthLayer::builder(verifier.clone()).build().unwrap();
    let res = send(&layer, bearer(token));
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{what} through the layer: {:?}",
        res.body()
    );
    assert_ne!(res.body().as_ref(), b"anonymous", "{what}");
}

fn layer(verifier: JwtVerifier) -> AuthLayer {
    AuthLayer::builder(verifier).build().unwrap()
}

/// The header of `key`'s standard tokens with `member` replaced.
fn header_with(key: &TestKey, member: &str, value: Value) -> Value {
    let mut h = key.header();
    h.as_object_mut().unwrap().insert(member.to_owned(), value);
    h
}

/// The class the layer recorded (server side only; never on the wire).
fn rejection_reason(res: &http::Response<bytes::Bytes>) -> &'static str {
    res.extensions()
        .get::<Rejection>()
        .map_or("", Rejection::reason)
}

// ------------------------------------------------------------------ §1.2 rows

#[tokio::test]
async fn row_01_alg_none_any_case_is_401() {
    let key = rs();
    let v = verifier(&[&key]);
    let good = key.token(&claims_at(t0()));
    let (_, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let l = layer(uncached(&[&key]));
    let live = b64(claims().to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = b64(header_with(&key, "alg", json!(alg)).to_string());
        // Original signature kept: the header is refused before any key is chosen.
        let kept = format!("{h}.{payload}.{signature}");
        refused(&v, &kept, &AuthError::Algorithm, alg);
        // Empty signature (`h.p.`): not even a compact JWS.
        let empty = format!("{h}.{payload}.");
        refused(&v, &empty, &AuthError::Malformed, alg);
        for token in [format!("{h}.{live}."), format!("{h}.{live}.{signature}")] {
            assert_invalid_token(&call(&l, bearer(&token)).await, alg);
        }
    }
}

#[test]
fn row_02_alg_lowercase_or_missing_is_refused() {
    let key = hs();
    let v = verifier(&[&key]);
    let c = claims_at(t0());
    for alg in [
        json!("hs256"),
        json!("Hs256"),
        json!("HS256 "),
        json!(""),
        json!(256),
    ] {
        let token = key.token_with_header(&header_with(&key, "alg", alg.clone()), &c);
        let expected = if alg.is_string() {
            AuthError::Algorithm
        } else {
            AuthError::Malformed
        };
        refused(&v, &token, &expected, &alg.to_string());
    }
    let mut h = key.header();
    h.as_object_mut().unwrap().remove("alg");
    refused(
        &v,
        &key.token_with_header(&h, &c),
        &AuthError::Malformed,
        "no alg",
    );
    let null = key.token_with_header(&header_with(&key, "alg", Value::Null), &c);
    refused(&v, &null, &AuthError::Malformed, "alg null");
}

#[test]
fn row_03_an_empty_algorithm_list_or_key_set_is_refused_at_build() {
    let key = rs();
    let set = KeySet::new([key.verifier_key(Form::Pem)]).unwrap();
    let err = JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience(AUD).keys(set).algorithms([]))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Setting {
                setting: "algorithms",
                ..
            }
        ),
        "{err}"
    );
    let err = JwtVerifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySet::new([]).unwrap()),
        )
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::NoKeys(_)), "{err}");
    let err = JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience(AUD))
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::NoKeys(_)), "{err}");
}

#[tokio::test]
async fn row_04_rs256_to_hs256_with_the_public_key_as_secret_is_refused() {
    let key = rs();
    let c = claims_at(t0());
    let spki_pem = pem("PUBLIC KEY", &key.spki_der());
    let pkcs1_pem = pem("RSA PUBLIC KEY", &key.pkcs1_der());
    for form in [
        Form::Pem,
        Form::PemPkcs1,
        Form::Der,
        Form::DerPkcs1,
        Form::Jwk,
    ] {
        let v = builder_with(&[&key], form).build().unwrap();
        for secret in [
            spki_pem.as_bytes(),
            pkcs1_pem.as_bytes(),
            &key.spki_der()[..],
            &key.pkcs1_der()[..],
        ] {
            for kid in [Some("r1"), None] {
                let mut h = json!({"alg": "HS256", "typ": "JWT"});
                if let Some(kid) = kid {
                    h["kid"] = json!(kid);
                }
                let hb = b64(h.to_string());
                let pb = b64(c.to_string());
                let sig = hmac_sha256(secret, format!("{hb}.{pb}").as_bytes());
                let token = format!("{hb}.{pb}.{}", b64(sig));
                refused(&v, &token, &AuthError::Algorithm, &format!("{form:?}"));
            }
        }
    }
    // Through the layer, with a live token.
    let hb = b64(json!({"alg": "HS256", "kid": "r1"}).to_string());
    let pb = b64(claims().to_string());
    let sig = hmac_sha256(spki_pem.as_bytes(), format!("{hb}.{pb}").as_bytes());
    let res = call(
        &layer(verifier(&[&key])),
        bearer(&format!("{hb}.{pb}.{}", b64(sig))),
    )
    .await;
    assert_invalid_token(&res, "RS256→HS256");
    assert_eq!(rejection_reason(&res), "algorithm");
}

#[test]
fn row_04b_hmac_and_asymmetric_algorithms_never_share_a_verifier() {
    let key = rs();
    let rsa_set = || KeySet::new([key.verifier_key(Form::Pem)]).unwrap();
    // {RS256, HS256} allowed with one RSA key.
    let err = JwtVerifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(rsa_set())
                .algorithms([Algorithm::RS256, Algorithm::HS256]),
        )
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::MixedFamilies { .. }), "{err}");
    // An HMAC key made of the public PEM (row 4c) beside the RSA key.
    let spki_pem = pem("PUBLIC KEY", &key.spki_der());
    let confused = Key::hmac(Algorithm::HS256, spki_pem.as_bytes())
        .unwrap()
        .with_kid("pem-as-secret")
        .unwrap();
    let set = KeySet::new([key.verifier_key(Form::Pem), confused.clone()]).unwrap();
    let err = JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience(AUD).keys(set))
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::MixedFamilies { .. }), "{err}");
    // Or under a second issuer: still one verifier, still refused.
    let err = JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience(AUD).keys(rsa_set()))
        .issuer(
            Issuer::new("https://other.example")
                .audience(AUD)
                .keys(KeySet::new([confused]).unwrap()),
        )
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::MixedFamilies { .. }), "{err}");
}

#[test]
fn row_05_a_token_of_another_family_is_refused() {
    let (r, e, h) = (rs(), es(), hs());
    let c = claims_at(t0());
    // ES256 token to an RS256 verifier, RS256 token to an HS256 verifier, …
    refused(
        &verifier(&[&r]),
        &e.token(&c),
        &AuthError::Algorithm,
        "ES→RS",
    );
    refused(
        &verifier(&[&h]),
        &r.token(&c),
        &AuthError::Algorithm,
        "RS→HS",
    );
    refused(
        &verifier(&[&e]),
        &r.token(&c),
        &AuthError::Algorithm,
        "RS→ES",
    );
    refused(
        &verifier(&[&r]),
        &h.token(&c),
        &AuthError::Algorithm,
        "HS→RS",
    );
    let ed = TestKey::new(Algorithm::EdDSA, "d1");
    refused(
        &verifier(&[&e]),
        &ed.token(&c),
        &AuthError::Algorithm,
        "Ed→ES",
    );
    // ES384 token to a P-256 verifier.
    let e384 = TestKey::new(Algorithm::ES384, "e1");
    refused(
        &verifier(&[&e]),
        &e384.token(&c),
        &AuthError::Algorithm,
        "ES384→ES256",
    );
    // Both families accepted by the issuer, but each kid is bound to one alg.
    let v = verifier(&[&r, &e]);
    accepted(&v, &r.token(&c), "RS256 r1");
    accepted(&v, &e.token(&c), "ES256 e1");
    let r_as_e = TestKey::new(Algorithm::RS256, "e1");
    refused(
        &v,
        &r_as_e.token(&c),
        &AuthError::UnknownKey,
        "RS256 naming the ES256 kid",
    );
    let e_as_r = TestKey::new(Algorithm::ES256, "r1");
    refused(
        &v,
        &e_as_r.token(&c),
        &AuthError::UnknownKey,
        "ES256 naming the RS256 kid",
    );
    // PS256 signature under RS256 (same RSA material, other padding).
    let ps_as_rs = r.as_alg(Algorithm::PS256);
    let h_rs = b64(r.header().to_string());
    let p = b64(c.to_string());
    let sig = ps_as_rs.sign(format!("{h_rs}.{p}").as_bytes());
    refused(
        &v,
        &format!("{h_rs}.{p}.{}", b64(sig)),
        &AuthError::Signature,
        "PSS as PKCS#1",
    );
}

#[test]
fn row_06_null_empty_or_truncated_signatures_are_refused() {
    let c = claims_at(t0());
    for key in [hs(), rs(), es(), TestKey::new(Algorithm::EdDSA, "d1")] {
        let v = verifier(&[&key]);
        let token = key.token(&c);
        let (input, sig_b64) = token.rsplit_once('.').unwrap();
        let sig = unb64(sig_b64);
        refused(
            &v,
            &format!("{input}."),
            &AuthError::Malformed,
            "empty signature",
        );
        let cases = [
            ("truncated to 16 bytes", sig[..16].to_vec()),
            ("one byte short", sig[..sig.len() - 1].to_vec()),
            ("one byte long", [&sig[..], &[0]].concat()),
            ("all zeros", vec![0; sig.len()]),
            ("a single zero", vec![0]),
        ];
        for (what, bytes) in cases {
            let forged = format!("{input}.{}", b64(bytes));
            refused(
                &v,
                &forged,
                &AuthError::Signature,
                &format!("{} {what}", key.alg),
            );
        }
        // jwt_tool's "broken signature": the last four characters dropped.
        let broken = &token[..token.len() - 4];
        refused(&v, broken, &AuthError::Signature, "last 4 chars dropped");
        accepted(&v, &token, "the original");
    }
}

/// Wycheproof-style ECDSA edge cases (CVE-2022-21449 "psychic signatures"):
/// zero and out-of-range `r`/`s` in the raw `r‖s` form.
#[test]
fn row_07_ecdsa_zero_and_out_of_range_signatures_are_refused() {
    let c = claims_at(t0());
    let e256 = es();
    let e384 = TestKey::new(Algorithm::ES384, "e384");
    let cases = |n: &[u8], p: Option<&[u8]>, valid_s: &[u8]| -> Vec<(String, Vec<u8>)> {
        let len = n.len();
        let zero = vec![0u8; len];
        let mut one = vec![0u8; len];
        one[len - 1] = 1;
        let n_minus_1 = sub_be(n, &one);
        let mut out = vec![
            ("r=s=0".to_owned(), [&zero[..], &zero].concat()),
            ("r=s=n".to_owned(), [n, n].concat()),
            ("r=0, s=1".to_owned(), [&zero[..], &one].concat()),
            ("r=1, s=0".to_owned(), [&one[..], &zero].concat()),
            ("r=n, s=valid".to_owned(), [n, valid_s].concat()),
            ("r=1, s=n".to_owned(), [&one[..], n].concat()),
            ("r=s=n-1".to_owned(), [&n_minus_1[..], &n_minus_1].concat()),
            ("r=s=0xff..".to_owned(), vec![0xff; 2 * len]),
        ];
        if let Some(p) = p {
            out.push(("r=s=p".to_owned(), [p, p].concat()));
        }
        out
    };
    for (key, n, p) in [
        (&e256, &P256_N[..], Some(&P256_P[..])),
        (&e384, &P384_N[..], None),
    ] {
        let v = verifier(&[key]);
        let token = key.token(&c);
        let (input, sig_b64) = token.rsplit_once('.').unwrap();
        let sig = unb64(sig_b64);
        let valid_s = &sig[n.len()..];
        for (what, forged_sig) in cases(n, p, valid_s) {
            let forged = format!("{input}.{}", b64(forged_sig));
            refused(
                &v,
                &forged,
                &AuthError::Signature,
                &format!("{} {what}", key.alg),
            );
        }
        accepted(&v, &token, "the original");
    }
}

/// ECDSA signatures are malleable: `(r, n − s)` is a second valid signature
/// of the same message. It is not a forgery, so it verifies; but it is a
/// different token string, so it must be verified on its own: the cache is
/// keyed by the whole token, never by `header.payload`.
#[test]
fn row_08_ecdsa_malleated_token_is_verified_independently() {
    let key = es();
    let c = claims_at(now());
    let original = key.token(&c);
    let (input, sig_b64) = original.rsplit_once('.').unwrap();
    let sig = unb64(sig_b64);
    let (r, s) = sig.split_at(32);
    let malleated = format!("{input}.{}", b64([r, &sub_be(&P256_N, s)[..]].concat()));
    assert_ne!(malleated, original);

    // Independently (no cache), both are valid signatures.
    let plain = uncached(&[&key]);
    plain.verify(&original).unwrap();
    plain.verify(&malleated).unwrap();
    assert_eq!(plain.cached_tokens(), 0);

    // With the cache: the original is remembered; the same `header.payload`
    // with a corrupted signature is still refused (the cache key covers the
    // signature) …
    let cached = verifier(&[&key]);
    cached.verify(&original).unwrap();
    let mut bad = sig.clone();
    bad[40] ^= 1;
    let corrupted = format!("{input}.{}", b64(&bad));
    assert_eq!(cached.verify(&corrupted).unwrap_err(), AuthError::Signature);
    settle(&cached, &original, 1);
    // … and the malleated token gets an entry of its own.
    cached.verify(&malleated).unwrap();
    settle(&cached, &original, 2);
    cached.verify(&malleated).unwrap();
    settle(&cached, &original, 2);
}

/// Waits (bounded: 5 s) for the cache's approximate entry count to reach
/// `expected`; reads of a cached token let the cache apply pending inserts.
#[track_caller]
fn settle(verifier: &JwtVerifier, token: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while verifier.cached_tokens() != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let _ = verifier.verify(token);
    }
    assert_eq!(verifier.cached_tokens(), expected);
}

#[test]
fn row_09_ecdsa_der_encoded_signature_is_refused() {
    let c = claims_at(t0());
    for key in [es(), TestKey::new(Algorithm::ES384, "e384")] {
        let v = verifier(&[&key]);
        let token = key.token(&c);
        let (input, sig_b64) = token.rsplit_once('.').unwrap();
        let sig = unb64(sig_b64);
        let (r, s) = sig.split_at(sig.len() / 2);
        let der_sig = der(0x30, &[der_uint(r), der_uint(s)].concat());
        let forged = format!("{input}.{}", b64(der_sig));
        refused(
            &v,
            &forged,
            &AuthError::Signature,
            &format!("{} DER", key.alg),
        );
    }
}

#[test]
fn row_10_rsa_keys_under_2048_bits_are_refused_at_load() {
    for bits in [512usize, 1024, 2047] {
        let mut n = vec![0xa5u8; bits.div_ceil(8)];
        let top = bits % 8;
        n[0] = if top == 0 {
            0xc3
        } else {
            (1u8 << (top - 1)) | 1
        };
        *n.last_mut().unwrap() |= 1;
        let e = [1u8, 0, 1];
        let jwk = json!({"kty": "RSA", "alg": "RS256", "kid": "small", "n": b64(&n), "e": b64(e)});
        let err = Key::from_jwk(&jwk.to_string()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("{bits} bits")),
            "{bits}: {err}"
        );
        let jwks = json!({"keys": [rs().public_jwk(), jwk]});
        let err = KeySet::from_jwks(&jwks.to_string()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("{bits} bits")),
            "{bits}: {err}"
        );
        let pkcs1 = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
        for (what, result) in [
            ("PKCS#1 DER", Key::from_der(Algorithm::RS256, &pkcs1)),
            (
                "PKCS#1 PEM",
                Key::from_pem(Algorithm::RS256, &pem("RSA PUBLIC KEY", &pkcs1)),
            ),
        ] {
            let err = result.unwrap_err();
            assert!(
                err.to_string().contains(&format!("{bits} bits")),
                "{what} {bits}: {err}"
            );
        }
    }
    // e = 1 (and even exponents) are refused too; 2048 bits are enough.
    let key = rs();
    let (n, _) = key.rsa_components();
    for e in [vec![1u8], vec![2], vec![1, 0, 0]] {
        let jwk = json!({"kty": "RSA", "alg": "RS256", "n": b64(&n), "e": b64(&e)});
        let err = Key::from_jwk(&jwk.to_string()).unwrap_err();
        assert!(err.to_string().contains("exponent"), "{e:?}: {err}");
    }
    assert!(Key::from_jwk(&key.public_jwk().to_string()).is_ok());
}

#[test]
fn row_11_short_hmac_secrets_are_refused_at_build() {
    let cases = [
        (Algorithm::HS256, 0usize),
        (Algorithm::HS256, 6),
        (Algorithm::HS256, 31),
        (Algorithm::HS384, 47),
        (Algorithm::HS512, 63),
    ];
    for (alg, len) in cases {
        let secret = if len == 6 {
            b"secret".to_vec()
        } else {
            vec![b'x'; len]
        };
        let err = Key::hmac(alg, &secret).unwrap_err();
        match &err {
            ConfigError::SecretTooShort {
                alg: a,
                len: l,
                min,
            } => {
                assert_eq!((*a, *l, Some(*min)), (alg, len, alg.min_secret_len()));
            }
            other => panic!("{alg} {len}: {other}"),
        }
        if len == 6 {
            assert!(!err.to_string().contains("secret\""), "{err}");
        }
        let oct = json!({"kty": "oct", "alg": alg.as_str(), "k": b64(&secret)});
        let err = Key::from_jwk(&oct.to_string()).unwrap_err();
        assert!(err.to_string().contains(&format!("{len} bytes")), "{err}");
    }
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let min = alg.min_secret_len().unwrap();
        assert!(
            Key::hmac(alg, &vec![b'x'; min]).is_ok(),
            "{alg} at its minimum"
        );
    }
    // An HMAC secret for a non-HMAC algorithm.
    assert!(Key::hmac(Algorithm::RS256, &[0u8; 64]).is_err());
}

/// jsonwebtoken with no crypto back end compiles, then panics at the first
/// decode. Every algorithm decoding here, with tokens minted by
/// `jsonwebtoken::encode` and keys given in every form, proves the back end
/// is compiled in.
#[test]
fn row_12_crypto_backend_present_every_algorithm_decodes() {
    let c = claims_at(t0());
    for alg in Algorithm::ALL {
        let key = TestKey::new(alg, &format!("k-{alg}"));
        let forms: &[Form] = match alg.family() {
            harden_auth::Family::Rsa => &[
                Form::Pem,
                Form::PemPkcs1,
                Form::Der,
                Form::DerPkcs1,
                Form::Jwk,
            ],
            harden_auth::Family::Hmac => &[Form::Der, Form::Jwk],
            _ => &[Form::Pem, Form::Der, Form::Jwk],
        };
        for &form in forms {
            let v = builder_with(&[&key], form)
                .cache_capacity(0)
                .build()
                .unwrap();
            let minted = key.encode(&c);
            let verified = v
                .verify_at(&minted, at(t0()))
                .unwrap_or_else(|e| panic!("{alg} {form:?}: {e:?}"));
            assert_eq!(verified.claims.subject(), Some("user-17"));
            assert_eq!(verified.principal.issuer(), Some(ISS));
            accepted(&v, &key.token(&c), &format!("{alg} {form:?} hand-signed"));
        }
    }
}

#[tokio::test]
async fn row_13_key_carrying_headers_are_refused_and_never_used() {
    let key = rs();
    let attacker = TestKey::other(Algorithm::RS256, "../../dev/null");
    let c = claims_at(t0());
    let attacker_jwk = attacker.public_jwk();
    let injected = |signer: &TestKey, kid: &str| {
        let mut h = signer.header();
        h["kid"] = json!(kid);
        h["jwk"] = attacker_jwk.clone();
        h["jku"] = json!("http://127.0.0.1:1/jwks.json");
        h["x5u"] = json!("http://127.0.0.1:1/cert.pem");
        h["x5c"] = json!(["MIIB"]);
        signer.token_with_header(&h, &c)
    };
    // Attacker-signed, every key header at once (J04): refused by default …
    let v = verifier(&[&key]);
    refused(
        &v,
        &injected(&attacker, "../../dev/null"),
        &AuthError::RefusedHeader,
        "J04",
    );
    for member in ["jwk", "jku", "x5u", "x5c"] {
        let mut h = attacker.header();
        h[member] = if member == "jwk" {
            attacker_jwk.clone()
        } else {
            json!("http://127.0.0.1:1/")
        };
        refused(
            &v,
            &attacker.token_with_header(&h, &c),
            &AuthError::RefusedHeader,
            member,
        );
    }
    // … and, when such headers are allowed, the embedded key is still never
    // used: the token names no configured key, or its signature is not ours.
    let lenient = builder(&[&key]).allow_key_headers(true).build().unwrap();
    refused(
        &lenient,
        &injected(&attacker, "../../dev/null"),
        &AuthError::UnknownKey,
        "J04 lenient",
    );
    refused(
        &lenient,
        &injected(&attacker, "r1"),
        &AuthError::Signature,
        "J04 lenient, our kid",
    );
    // 13b: a legitimately signed token carrying them: refused by default,
    // accepted (headers ignored) only when allowed.
    let legit = injected(&key, "r1");
    refused(&v, &legit, &AuthError::RefusedHeader, "J04b");
    accepted(&lenient, &legit, "J04b lenient");
    let res = call(
        &layer(verifier(&[&key])),
        bearer(&{
            let mut live = claims();
            live["sub"] = json!("x");
            let mut h = key.header();
            h["jku"] = json!("https://evil.example/jwks.json");
            key.token_with_header(&h, &live)
        }),
    )
    .await;
    assert_invalid_token(&res, "jku through the layer");
    assert_eq!(rejection_reason(&res), "refused-header");
}

#[test]
fn row_14_kid_is_an_opaque_exact_map_key() {
    let key = rs();
    let v = verifier(&[&key]);
    let c = claims_at(t0());
    let signed_with_kid = |signer: &TestKey, kid: &str| {
        signer.token_with_header(&header_with(signer, "kid", json!(kid)), &c)
    };
    for kid in [
        "../../dev/null",
        "../../../../../../dev/null",
        "/dev/null",
        "/invalid_path",
        "|sleep 10",
        "| curl http://127.0.0.1:1/",
        "x' UNION SELECT '1';--",
        "R1",
        "r1 ",
        " r1",
        "r1\u{0}",
        "r",
    ] {
        refused(&v, &signed_with_kid(&key, kid), &AuthError::UnknownKey, kid);
    }
    // jwt_tool signs the SQLi kid with the secret `1`, as HS256.
    let h = b64(json!({"alg": "HS256", "kid": "x' UNION SELECT '1';--"}).to_string());
    let p = b64(c.to_string());
    let sig = hmac_sha256(b"1", format!("{h}.{p}").as_bytes());
    refused(
        &v,
        &format!("{h}.{p}.{}", b64(sig)),
        &AuthError::Algorithm,
        "SQLi kid, HS256",
    );
    // Empty, over-long and non-string kids are malformed.
    refused(
        &v,
        &signed_with_kid(&key, ""),
        &AuthError::Malformed,
        "empty kid",
    );
    let long = "k".repeat(257);
    refused(
        &v,
        &signed_with_kid(&key, &long),
        &AuthError::Malformed,
        "257-byte kid",
    );
    for bad in [json!(7), json!(["r1"]), json!({"k": "r1"}), json!(true)] {
        let t = key.token_with_header(&header_with(&key, "kid", bad.clone()), &c);
        refused(&v, &t, &AuthError::Malformed, &bad.to_string());
    }
    // `kid: null` is an absent kid: with one RS256 key, it is that key.
    let t = key.token_with_header(&header_with(&key, "kid", Value::Null), &c);
    accepted(&v, &t, "kid null, one key of the algorithm");
    // A kid that looks like a path is just a name: configured, it matches exactly.
    let odd = TestKey::new(Algorithm::RS256, "../../dev/null");
    let v = verifier(&[&odd]);
    accepted(&v, &odd.token(&c), "path-like kid, configured");
    refused(
        &v,
        &signed_with_kid(&odd, "../../dev/nul"),
        &AuthError::UnknownKey,
        "prefix",
    );
    // With two keys of the algorithm, a token without kid matches neither.
    let second = TestKey::other(Algorithm::RS256, "r2");
    let v = verifier(&[&key, &second]);
    let mut h = key.header();
    h.as_object_mut().unwrap().remove("kid");
    refused(
        &v,
        &key.token_with_header(&h, &c),
        &AuthError::UnknownKey,
        "no kid, two keys",
    );
}

#[test]
fn row_15_crit_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let c = claims_at(t0());
    for crit in [
        json!(["urn:unknown"]),
        json!(["exp"]),
        json!([]),
        json!(null),
    ] {
        let t = key.token_with_header(&header_with(&key, "crit", crit.clone()), &c);
        refused(&v, &t, &AuthError::RefusedHeader, &crit.to_string());
    }
}

#[test]
fn row_16_b64_false_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let c = claims_at(t0());
    let mut h = key.header();
    h["b64"] = json!(false);
    h["crit"] = json!(["b64"]);
    refused(
        &v,
        &key.token_with_header(&h, &c),
        &AuthError::RefusedHeader,
        "b64+crit",
    );
    let h = header_with(&key, "b64", json!(false));
    refused(
        &v,
        &key.token_with_header(&h, &c),
        &AuthError::RefusedHeader,
        "b64 alone",
    );
    // A true RFC 7797 token (raw payload with characters outside base64url).
    let hb = b64(h.to_string());
    let raw = format!(
        "{hb}.{}.{}",
        c,
        b64(key.sign(format!("{hb}.{c}").as_bytes()))
    );
    refused(&v, &raw, &AuthError::Malformed, "unencoded payload");
}

#[test]
fn row_17_typ_is_checked_when_explicit_typing_is_configured() {
    let key = rs();
    let c = claims_at(t0());
    let typed = builder(&[&key]).accept_typ(["at+jwt"]).build().unwrap();
    let token_typ = |typ: Option<&str>| {
        let mut h = key.header();
        match typ {
            Some(t) => h["typ"] = json!(t),
            None => {
                h.as_object_mut().unwrap().remove("typ");
            }
        }
        key.token_with_header(&h, &c)
    };
    for typ in [
        Some("foo"),
        Some("JWT"),
        Some("jwt"),
        Some("text/at+jwt"),
        Some(""),
        None,
    ] {
        refused(
            &typed,
            &token_typ(typ),
            &AuthError::WrongType,
            &format!("{typ:?}"),
        );
    }
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
    ] {
        accepted(&typed, &token_typ(Some(typ)), typ);
    }
    let numeric = key.token_with_header(&header_with(&key, "typ", json!(1)), &c);
    refused(&typed, &numeric, &AuthError::Malformed, "typ 1");
    // Without the policy, `typ` is not looked at (RFC 8725 §3.11 makes it opt-in).
    accepted(
        &verifier(&[&key]),
        &token_typ(Some("foo")),
        "typ foo, no policy",
    );
    // An empty list is a configuration error.
    let err = builder(&[&key])
        .accept_typ(Vec::<String>::new())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Setting { setting: "typ", .. }),
        "{err}"
    );
}

#[test]
fn row_18_wrong_segment_counts_and_jwe_members_are_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let c = claims_at(t0());
    let good = key.token(&c);
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    for (what, token) in [
        ("empty", String::new()),
        ("..", "..".to_owned()),
        ("...", "...".to_owned()),
        ("one segment", h.to_owned()),
        ("two segments", format!("{h}.{p}")),
        ("four segments", format!("{h}.{p}.{s}.{s}")),
        ("five segments (JWE)", format!("{h}.{p}.{s}.{s}.{s}")),
        ("empty header", format!(".{p}.{s}")),
        ("empty payload", format!("{h}..{s}")),
        ("trailing dot", format!("{good}.")),
        ("leading dot", format!(".{good}")),
    ] {
        refused(&v, &token, &AuthError::Malformed, what);
    }
    let jwe = format!(
        "{}.{p}.{s}.{s}.{s}",
        b64(json!({"alg": "RSA-OAEP", "enc": "A256GCM"}).to_string())
    );
    refused(&v, &jwe, &AuthError::Malformed, "JWE");
    for (member, value) in [
        ("enc", json!("A256GCM")),
        ("zip", json!("DEF")),
        ("p2c", json!(1_200_001)),
        ("p2c", json!(1)),
    ] {
        let t = key.token_with_header(&header_with(&key, member, value), &c);
        refused(&v, &t, &AuthError::RefusedHeader, member);
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The last character of a base64url segment whose length is not a multiple
/// of 4 carries unused low bits, zero in the canonical encoding; setting the
/// lowest gives a non-canonical encoding of the same bytes.
fn non_canonical(segment: &str) -> String {
    assert_ne!(segment.len() % 4, 0, "no unused bits in {segment}");
    let last = *segment.as_bytes().last().unwrap();
    let value = ALPHABET.iter().position(|&c| c == last).unwrap();
    assert_eq!(value & 1, 0, "not canonical: {segment}");
    let changed = char::from(ALPHABET[value | 1]);
    format!("{}{changed}", &segment[..segment.len() - 1])
}

/// The first of `candidates` whose base64url form has unused trailing bits.
fn with_unused_bits(candidates: impl Iterator<Item = String>) -> String {
    candidates.map(b64).find(|s| s.len() % 4 != 0).unwrap()
}

#[test]
fn row_19_non_canonical_base64_is_refused() {
    let c = claims_at(t0());
    for key in [rs(), es(), hs()] {
        let v = verifier(&[&key]);
        let good = key.token(&c);
        for (what, token) in [
            ("padding", format!("{good}=")),
            ("padding in header", good.replacen('.', "=.", 1)),
            ("std alphabet +", good.replace(['-', '_'], "+")),
            ("std alphabet /", good.replace(['-', '_'], "/")),
            ("leading space", format!(" {good}")),
            ("trailing space", format!("{good} ")),
            ("newline", format!("{good}\n")),
            ("CRLF", format!("{good}\r\n")),
            ("tab inside", good.replacen('.', "\t.", 1)),
        ] {
            if token == good {
                continue;
            }
            refused(
                &v,
                &token,
                &AuthError::Malformed,
                &format!("{} {what}", key.alg),
            );
        }
        // Non-canonical trailing bits, re-signed so that nothing else is wrong.
        let h = with_unused_bits(
            (0..3).map(|n| header_with(&key, "pad", json!("x".repeat(n))).to_string()),
        );
        let p = with_unused_bits(
            (0..3).map(|n| with(c.clone(), "pad", Some(json!("y".repeat(n)))).to_string()),
        );
        accepted(&v, &key.sign_segments(&h, &p), "canonical");
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
                .with_decode_allow_trailing_bits(true),
        );
        for segment in [&h, &p] {
            let decoded = base64::Engine::decode(&lenient, non_canonical(segment)).unwrap();
            assert_eq!(
                decoded,
                unb64(segment),
                "same bytes under a lenient decoder"
            );
        }
        let bad_h = key.sign_segments(&non_canonical(&h), &p);
        refused(&v, &bad_h, &AuthError::Malformed, "header bits");
        let bad_p = key.sign_segments(&h, &non_canonical(&p));
        refused(&v, &bad_p, &AuthError::Malformed, "payload bits");
        // The signature's own trailing bits (RSA-2048 and P-256 signatures
        // have 4 unused bits, HMAC-SHA256 has 2).
        let token = key.sign_segments(&h, &p);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let forged = format!("{input}.{}", non_canonical(sig));
        refused(
            &v,
            &forged,
            &AuthError::Signature,
            &format!("{} signature bits", key.alg),
        );
    }
}

#[test]
fn row_20_header_or_payload_that_is_not_a_json_object_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let header = key.header().to_string();
    let payload = claims_at(t0()).to_string();
    accepted(&v, &key.raw_token(&header, &payload), "control");
    let bad = |s: &str| {
        vec![
            ("not JSON", "not json".to_owned()),
            ("array", format!("[{s}]")),
            ("trailing garbage", format!("{s} x")),
            ("trailing object", format!("{s}{{}}")),
            ("UTF-8 BOM", format!("\u{feff}{s}")),
            ("truncated", s[..s.len() - 1].to_owned()),
            ("string", format!("{:?}", s)),
            ("null", "null".to_owned()),
            ("empty", String::new()),
            (
                "invalid UTF-8",
                String::from_utf8_lossy(&[0xff, 0xfe]).into_owned(),
            ),
        ]
    };
    for (what, h) in bad(&header) {
        if h.is_empty() {
            continue; // an empty segment: covered by row 18
        }
        refused(
            &v,
            &key.raw_token(&h, &payload),
            &AuthError::Malformed,
            &format!("header {what}"),
        );
    }
    for (what, p) in bad(&payload) {
        if p.is_empty() {
            continue;
        }
        refused(
            &v,
            &key.raw_token(&header, &p),
            &AuthError::Malformed,
            &format!("payload {what}"),
        );
    }
    // Raw invalid UTF-8 bytes in a segment.
    let hb = b64(&header);
    let pb = b64([&[0xffu8, 0xfe][..], payload.as_bytes()].concat());
    refused(
        &v,
        &key.sign_segments(&hb, &pb),
        &AuthError::Malformed,
        "payload bytes not UTF-8",
    );
}

#[test]
fn row_21_duplicate_header_members_are_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let payload = claims_at(t0()).to_string();
    for header in [
        r#"{"alg":"RS256","alg":"RS256","kid":"r1"}"#,
        r#"{"alg":"HS256","alg":"RS256","kid":"r1"}"#,
        r#"{"alg":"RS256","kid":"r1","kid":"r1"}"#,
        r#"{"alg":"RS256","kid":"zz","kid":"r1"}"#,
        r#"{"alg":"RS256","kid":"r1","typ":"JWT","typ":"JWT"}"#,
    ] {
        refused(
            &v,
            &key.raw_token(header, &payload),
            &AuthError::Malformed,
            header,
        );
    }
}

#[test]
fn row_22_duplicate_registered_claims_are_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let (exp, iat) = (t0() + 600, t0());
    let base = format!(r#""iss":"{ISS}","aud":"{AUD}","sub":"user-17","iat":{iat}"#);
    for dup in [
        format!(r#"{{{base},"exp":{exp},"exp":{exp}}}"#),
        format!(r#"{{{base},"exp":1,"exp":{exp}}}"#),
        format!(r#"{{{base},"exp":{exp},"sub":"admin"}}"#),
        format!(r#"{{{base},"exp":{exp},"aud":"{AUD}"}}"#),
        format!(r#"{{{base},"exp":{exp},"iss":"{ISS}"}}"#),
        format!(r#"{{{base},"exp":{exp},"nbf":1,"nbf":1}}"#),
        format!(r#"{{{base},"exp":{exp},"scope":"a","scope":"admin"}}"#),
        format!(r#"{{{base},"exp":{exp},"roles":["user"],"roles":["admin"]}}"#),
    ] {
        refused(
            &v,
            &key.raw_token(&key.header().to_string(), &dup),
            &AuthError::Malformed,
            &dup,
        );
    }
    let ok = format!(r#"{{{base},"exp":{exp}}}"#);
    accepted(
        &v,
        &key.raw_token(&key.header().to_string(), &ok),
        "control",
    );
}

#[test]
fn row_23_duplicate_custom_claim_is_refused_by_a_derived_struct() {
    #[derive(Debug, serde::Deserialize)]
    struct Custom {
        role: String,
        #[serde(default)]
        tenant: Option<String>,
    }
    let key = rs();
    let v = builder(&[&key]).claims::<Custom>().build().unwrap();
    let base = format!(
        r#""iss":"{ISS}","aud":"{AUD}","sub":"user-17","exp":{}"#,
        t0() + 600
    );
    let header = key.header().to_string();
    let ok = key.raw_token(&header, &format!(r#"{{{base},"role":"user"}}"#));
    let verified = v.verify_at(&ok, at(t0())).unwrap();
    assert_eq!(verified.claims.custom().role, "user");
    assert_eq!(verified.claims.custom().tenant, None);
    for dup in [
        format!(r#"{{{base},"role":"user","role":"admin"}}"#),
        format!(r#"{{{base},"role":"user","tenant":"a","tenant":"b"}}"#),
    ] {
        match v.verify_at(&key.raw_token(&header, &dup), at(t0())) {
            Ok(v) => panic!("{dup}: accepted as {:?}", v.claims.custom()),
            Err(e) => assert_eq!(e, AuthError::Malformed, "{dup}"),
        }
    }
    // A custom claim of the wrong type fails the token too.
    let wrong = key.raw_token(&header, &format!(r#"{{{base},"role":7}}"#));
    assert_eq!(
        v.verify_at(&wrong, at(t0())).unwrap_err(),
        AuthError::Malformed
    );
}

/// jsonwebtoken refuses deep JSON through serde_json's recursion limit (128).
/// Here the registered claims and the header are typed structs, and members
/// they do not read are skipped by serde_json's `ignore_value`, which walks
/// nesting with a heap stack (bounded by the 8 KiB token cap), not recursion:
/// so depth in an unread member is harmless and is not refused. Depth in a
/// member that is read (a registered claim, or your own claims type) is
/// refused.
#[test]
fn row_24_deeply_nested_json_never_recurses_unbounded() {
    #[derive(Debug, serde::Deserialize)]
    struct Deep {
        #[allow(dead_code)]
        deep: Value,
    }
    let key = rs();
    let v = verifier(&[&key]);
    let reads_deep = builder(&[&key]).claims::<Deep>().build().unwrap();
    let base = claims_at(t0()).to_string();
    let open = &base[..base.len() - 1];
    let header = key.header().to_string();
    // 5000 balanced levels do not fit in 8 KiB: refused by the size cap.
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let token = key.raw_token(&header, &format!("{open},\"deep\":{nested}}}"));
    assert!(token.len() > MAX_TOKEN_LEN);
    refused(&v, &token, &AuthError::Malformed, "depth 5000");
    for depth in [200usize, 2500] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let payload = format!("{open},\"deep\":{nested}}}");
        let token = key.raw_token(&header, &payload);
        assert!(token.len() <= MAX_TOKEN_LEN, "{depth} fits the size cap");
        // Read as JSON by the claims type: serde_json's recursion limit.
        refused(
            &reads_deep,
            &token,
            &AuthError::Malformed,
            &format!("read, depth {depth}"),
        );
        // Unread: skipped without recursion.
        accepted(&v, &token, &format!("unread, depth {depth}"));
        // In a registered claim: refused.
        for claim in ["aud", "scope", "roles", "exp", "iss"] {
            let payload = format!(r#"{{"{claim}":{nested},{}"#, &base[1..]);
            let token = key.raw_token(&header, &payload);
            refused(
                &v,
                &token,
                &AuthError::Malformed,
                &format!("{claim} depth {depth}"),
            );
        }
        // Unbalanced nesting, in the payload and the header.
        let unbalanced = "[".repeat(depth * 2);
        let token = key.raw_token(&header, &format!("{open},\"deep\":{unbalanced}}}"));
        refused(
            &v,
            &token,
            &AuthError::Malformed,
            &format!("unbalanced payload {depth}"),
        );
        let token = key.raw_token(&format!(r#"{{"alg":"RS256","x":{unbalanced}}}"#), &base);
        refused(
            &v,
            &token,
            &AuthError::Malformed,
            &format!("unbalanced header {depth}"),
        );
        // Balanced in an unread header member: skipped the same way.
        let token = key.raw_token(
            &format!(r#"{{"alg":"RS256","kid":"r1","x":{nested}}}"#),
            &base,
        );
        accepted(&v, &token, &format!("unread header member, depth {depth}"));
    }
    let shallow = key.raw_token(&header, &format!("{open},\"deep\":[[1]]}}"));
    accepted(&reads_deep, &shallow, "read, depth 2");
}

#[tokio::test]
async fn row_25_an_oversized_token_is_refused_before_decoding() {
    let key = rs();
    let v = verifier(&[&key]);
    // Legitimately signed and otherwise valid: only the size is wrong.
    let sized = |target: usize| {
        let mut pad = target.saturating_sub(700) * 3 / 4;
        loop {
            let t = key.token(&with(claims_at(t0()), "pad", Some(json!("p".repeat(pad)))));
            if t.len() >= target {
                return t;
            }
            pad += 1;
        }
    };
    let at_limit = {
        let mut pad = (MAX_TOKEN_LEN - 700) * 3 / 4;
        loop {
            let t = key.token(&with(
                claims_at(t0()),
                "pad",
                Some(json!("p".repeat(pad + 1))),
            ));
            if t.len() > MAX_TOKEN_LEN {
                break key.token(&with(claims_at(t0()), "pad", Some(json!("p".repeat(pad)))));
            }
            pad += 1;
        }
    };
    assert!(at_limit.len() <= MAX_TOKEN_LEN);
    accepted(&v, &at_limit, "at the limit");
    let over = sized(MAX_TOKEN_LEN + 1);
    refused(&v, &over, &AuthError::Malformed, "just over 8 KiB");
    // A 1 MiB claims payload (a 1.4 MB token), and a megabyte of junk that
    // would not even decode: the same refusal, before any decoding.
    let mib = key.token(&with(claims(), "pad", Some(json!("p".repeat(1 << 20)))));
    assert!(mib.len() > 1_300_000);
    refused(&v, &mib, &AuthError::Malformed, "1 MiB payload");
    let junk = format!("{}.{}.{}", "*".repeat(1 << 20), "{", "\"");
    refused(&v, &junk, &AuthError::Malformed, "1 MiB of junk");
    let l = layer(verifier(&[&key]));
    assert_invalid_token(&call(&l, bearer(&mib)).await, "1 MiB through the layer");
}

#[test]
fn row_26_expired_beyond_the_leeway_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    let t = key.token(&with(claims_at(t0()), "exp", Some(json!(t0() - 120))));
    refused(&v, &t, &AuthError::Expired, "exp = now − 120");
    // A cached token expires on time too.
    let t = key.token(&claims_at(t0()));
    accepted(&v, &t, "fresh");
    accepted(&v, &t, "fresh, from the cache");
    refused_at(
        &v,
        &t,
        t0() + 600 + 61,
        &AuthError::Expired,
        "cached, then expired",
    );
}

#[test]
fn row_27_leeway_is_exact_to_the_second() {
    let key = rs();
    let plain = uncached(&[&key]);
    let exp_at = |exp: i64| key.token(&with(claims_at(t0() - 1000), "exp", Some(json!(exp))));
    accepted_at(&plain, &exp_at(t0() - 59), t0(), "exp = now − 59");
    accepted_at(&plain, &exp_at(t0() - 60), t0(), "exp = now − 60");
    refused(
        &plain,
        &exp_at(t0() - 61),
        &AuthError::Expired,
        "exp = now − 61",
    );
    let tight = builder(&[&key])
        .leeway(Duration::from_secs(5))
        .cache_capacity(0)
        .build()
        .unwrap();
    accepted_at(&tight, &exp_at(t0() - 4), t0(), "leeway 5: now − 4");
    refused(
        &tight,
        &exp_at(t0() - 6),
        &AuthError::Expired,
        "leeway 5: now − 6",
    );
    let none = builder(&[&key])
        .leeway(Duration::ZERO)
        .cache_capacity(0)
        .build()
        .unwrap();
    accepted_at(&none, &exp_at(t0()), t0(), "leeway 0: exp = now");
    refused(
        &none,
        &exp_at(t0() - 1),
        &AuthError::Expired,
        "leeway 0: now − 1",
    );
    // More than five minutes of leeway is a configuration error.
    let err = builder(&[&key])
        .leeway(Duration::from_secs(301))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Setting {
                setting: "leeway",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn row_28_exp_missing_or_malformed_is_refused() {
    let key = rs();
    let v = uncached(&[&key]);
    let c = claims_at(t0());
    refused(
        &v,
        &key.token(&with(c.clone(), "exp", None)),
        &AuthError::Expired,
        "missing",
    );
    refused(
        &v,
        &key.token(&with(c.clone(), "exp", Some(Value::Null))),
        &AuthError::Expired,
        "null",
    );
    refused(
        &v,
        &key.token(&with(c.clone(), "exp", Some(json!(-1)))),
        &AuthError::Expired,
        "negative",
    );
    for bad in [
        json!("1900000000"),
        json!(true),
        json!([t0() + 600]),
        json!({"t": 1}),
    ] {
        let t = key.token(&with(c.clone(), "exp", Some(bad.clone())));
        refused(&v, &t, &AuthError::Malformed, &bad.to_string());
    }
    let header = key.header().to_string();
    let base = format!(r#""iss":"{ISS}","aud":"{AUD}","sub":"s""#);
    for exp in [
        "1e300",
        "18446744073709551616",
        "18446744073709551615",
        "-1e300",
        "253402300800",
    ] {
        let t = key.raw_token(&header, &format!(r#"{{{base},"exp":{exp}}}"#));
        refused(&v, &t, &AuthError::Malformed, exp);
    }
    // Fractions are allowed (RFC 7519 NumericDate).
    let t = key.raw_token(&header, &format!(r#"{{{base},"exp":{}.5}}"#, t0() + 10));
    accepted(&v, &t, "fractional exp");
}

#[test]
fn row_29_maximum_lifetime_is_enforced_when_configured() {
    let key = rs();
    let c = with(claims_at(t0()), "iat", None);
    let exp_at = |exp: i64| key.token(&with(c.clone(), "exp", Some(json!(exp))));
    let ten_years = exp_at(t0() + 10 * 365 * 86_400);
    // Off by default: a long-lived token is accepted …
    accepted(&uncached(&[&key]), &ten_years, "10 years, no maximum");
    // … u64::MAX never (not a NumericDate we accept).
    let huge = key.raw_token(
        &key.header().to_string(),
        &format!(r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"s","exp":18446744073709551615}}"#),
    );
    refused(&uncached(&[&key]), &huge, &AuthError::Malformed, "u64::MAX");
    let v = builder(&[&key])
        .max_lifetime(Duration::from_secs(3600))
        .cache_capacity(0)
        .build()
        .unwrap();
    refused(&v, &ten_years, &AuthError::Lifetime, "10 years");
    // exp − now ≤ max + leeway (3600 + 60).
    accepted(&v, &exp_at(t0() + 3660), "exp − now = 3660");
    refused_at(
        &v,
        &exp_at(t0() + 3661),
        t0(),
        &AuthError::Lifetime,
        "exp − now = 3661",
    );
    // exp − iat ≤ max + leeway, even when little time remains.
    let with_iat = |iat: i64, exp: i64| {
        key.token(&with(
            with(c.clone(), "iat", Some(json!(iat))),
            "exp",
            Some(json!(exp)),
        ))
    };
    accepted(&v, &with_iat(t0() - 3000, t0() + 660), "exp − iat = 3660");
    refused(
        &v,
        &with_iat(t0() - 3001, t0() + 660),
        &AuthError::Lifetime,
        "exp − iat = 3661",
    );
    // The cache re-checks the lifetime at each `now`.
    let cached = builder(&[&key])
        .max_lifetime(Duration::from_secs(3600))
        .build()
        .unwrap();
    let t = exp_at(t0() + 4000);
    accepted_at(&cached, &t, t0() + 1000, "3000 s left");
    refused_at(
        &cached,
        &t,
        t0(),
        &AuthError::Lifetime,
        "cached, asked earlier",
    );
    let err = builder(&[&key])
        .max_lifetime(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Setting {
                setting: "max_lifetime",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn row_30_nbf_in_the_future_is_refused() {
    let key = rs();
    let v = uncached(&[&key]);
    let nbf = |n: i64| key.token(&with(claims_at(t0()), "nbf", Some(json!(n))));
    refused(
        &v,
        &nbf(t0() + 3600),
        &AuthError::NotYetValid,
        "nbf = now + 1 h",
    );
    accepted(&v, &nbf(t0() + 60), "nbf = now + 60");
    refused_at(
        &v,
        &nbf(t0() + 61),
        t0(),
        &AuthError::NotYetValid,
        "nbf = now + 61",
    );
    accepted(&v, &nbf(t0() - 10), "nbf in the past");
    // A cached token is not served before its nbf either.
    let cached = verifier(&[&key]);
    let t = nbf(t0());
    accepted(&cached, &t, "nbf = now");
    refused_at(
        &cached,
        &t,
        t0() - 61,
        &AuthError::NotYetValid,
        "cached, asked earlier",
    );
}

#[test]
fn row_31_nbf_of_the_wrong_type_is_refused() {
    let key = rs();
    let v = uncached(&[&key]);
    for bad in [
        json!("0"),
        json!(format!("{}", t0() + 3600)),
        json!(true),
        json!([0]),
    ] {
        let t = key.token(&with(claims_at(t0()), "nbf", Some(bad.clone())));
        refused(&v, &t, &AuthError::Malformed, &bad.to_string());
    }
}

#[test]
fn row_32_iat_in_the_future_or_of_the_wrong_type_is_refused() {
    let key = rs();
    let v = uncached(&[&key]);
    let iat = |i: Value| key.token(&with(claims_at(t0()), "iat", Some(i)));
    refused(
        &v,
        &iat(json!(t0() + 3600)),
        &AuthError::IssuedInFuture,
        "iat = now + 1 h",
    );
    accepted(&v, &iat(json!(t0() + 60)), "iat = now + 60");
    refused_at(
        &v,
        &iat(json!(t0() + 61)),
        t0(),
        &AuthError::IssuedInFuture,
        "iat = now + 61",
    );
    for bad in [json!("0"), json!(false), json!({})] {
        refused(
            &v,
            &iat(bad.clone()),
            &AuthError::Malformed,
            &bad.to_string(),
        );
    }
    // A verdict from the cache holds for the `now` it is asked about: a token
    // verified at a later instant is not served at an earlier one, when its
    // `iat` was still in the future.
    let cached = verifier(&[&key]);
    let t = iat(json!(t0() + 500));
    accepted_at(&cached, &t, t0() + 500, "iat = now");
    refused_at(
        &cached,
        &t,
        t0(),
        &AuthError::IssuedInFuture,
        "cached, asked earlier",
    );
}

#[test]
fn row_33_wrong_issuer_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    for iss in [
        "https://evil.example",
        "https://idp.example/",
        "HTTPS://IDP.EXAMPLE",
        "",
        "https://idp.example ",
    ] {
        let t = key.token(&with(claims_at(t0()), "iss", Some(json!(iss))));
        refused(&v, &t, &AuthError::Issuer, iss);
    }
}

#[test]
fn row_34_missing_or_wrong_typed_iss_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    refused(
        &v,
        &key.token(&with(claims_at(t0()), "iss", None)),
        &AuthError::Issuer,
        "missing",
    );
    refused(
        &v,
        &key.token(&with(claims_at(t0()), "iss", Some(Value::Null))),
        &AuthError::Issuer,
        "null",
    );
    for bad in [json!(123), json!(true), json!({"iss": ISS})] {
        let t = key.token(&with(claims_at(t0()), "iss", Some(bad.clone())));
        refused(&v, &t, &AuthError::Malformed, &bad.to_string());
    }
}

#[test]
fn row_35_iss_as_an_array_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    for bad in [json!(["evil", ISS]), json!([ISS]), json!([])] {
        let t = key.token(&with(claims_at(t0()), "iss", Some(bad.clone())));
        refused(&v, &t, &AuthError::Malformed, &bad.to_string());
    }
}

#[test]
fn row_36_a_verifier_always_has_an_issuer() {
    assert!(matches!(
        JwtVerifier::builder().build().unwrap_err(),
        ConfigError::NoIssuer
    ));
    let set = KeySet::new([rs().verifier_key(Form::Der)]).unwrap();
    let err = JwtVerifier::builder()
        .issuer(Issuer::new("").audience(AUD).keys(set.clone()))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Setting {
                setting: "issuer",
                ..
            }
        ),
        "{err}"
    );
    let err = JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience(AUD).keys(set.clone()))
        .issuer(Issuer::new(ISS).audience(AUD).keys(set))
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::DuplicateIssuer(_)), "{err}");
}

#[test]
fn row_37_an_issuer_always_has_an_audience() {
    let set = KeySet::new([rs().verifier_key(Form::Der)]).unwrap();
    for issuer in [
        Issuer::new(ISS).keys(set.clone()),
        Issuer::new(ISS).audience("").keys(set.clone()),
    ] {
        let err = JwtVerifier::builder().issuer(issuer).build().unwrap_err();
        assert!(matches!(err, ConfigError::NoAudience(_)), "{err}");
    }
}

#[test]
fn row_38_wrong_or_empty_audience_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    for aud in [
        json!("other"),
        json!([]),
        json!(["other", "more"]),
        json!("API"),
        json!("api "),
    ] {
        let t = key.token(&with(claims_at(t0()), "aud", Some(aud.clone())));
        refused(&v, &t, &AuthError::Audience, &aud.to_string());
    }
}

#[test]
fn row_39_missing_or_wrong_typed_aud_is_refused() {
    let key = rs();
    let v = verifier(&[&key]);
    refused(
        &v,
        &key.token(&with(claims_at(t0()), "aud", None)),
        &AuthError::Audience,
        "missing",
    );
    refused(
        &v,
        &key.token(&with(claims_at(t0()), "aud", Some(Value::Null))),
        &AuthError::Audience,
        "null",
    );
    for bad in [
        json!(42),
        json!([1]),
        json!([AUD, 1]),
        json!({"aud": AUD}),
        json!(true),
    ] {
        let t = key.token(&with(claims_at(t0()), "aud", Some(bad.clone())));
        refused(&v, &t, &AuthError::Malformed, &bad.to_string());
    }
}

#[test]
fn row_40_an_audience_array_containing_ours_is_accepted() {
    let key = rs();
    let v = verifier(&[&key]);
    let t = key.token(&with(claims_at(t0()), "aud", Some(json!(["other", AUD]))));
    let verified = v.verify_at(&t, at(t0())).unwrap();
    assert_eq!(verified.claims.audience(), ["other", AUD]);
    // An issuer with several audiences accepts any of them.
    let set = KeySet::new([key.verifier_key(Form::Jwk)]).unwrap();
    let v = JwtVerifier::builder()
        .issuer(Issuer::new(ISS).audience("a").audience(AUD).keys(set))
        .build()
        .unwrap();
    accepted(&v, &key.token(&claims_at(t0())), "second audience");
}

/// Two issuers: `iss` selects the keys, so a token signed with issuer B's key
/// that claims to come from A is refused, whatever `kid` it names.
#[test]
fn two_issuers_iss_selects_the_keys() {
    let a = TestKey::new(Algorithm::RS256, "a1");
    let b = TestKey::other(Algorithm::RS256, "b1");
    let b_es = TestKey::new(Algorithm::ES256, "b2");
    let b_iss = "https://b.example";
    let v =
        JwtVerifier::builder()
            .issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .keys(KeySet::new([a.verifier_key(Form::Pem)]).unwrap()),
            )
            .issuer(Issuer::new(b_iss).audience("b-api").keys(
                KeySet::new([b.verifier_key(Form::Jwk), b_es.verifier_key(Form::Der)]).unwrap(),
            ))
            .build()
            .unwrap();
    let for_a = claims_at(t0());
    let for_b = with(
        with(claims_at(t0()), "iss", Some(json!(b_iss))),
        "aud",
        Some(json!("b-api")),
    );
    let ok_a = v.verify_at(&a.token(&for_a), at(t0())).unwrap();
    assert_eq!(ok_a.principal.issuer(), Some(ISS));
    let ok_b = v.verify_at(&b.token(&for_b), at(t0())).unwrap();
    assert_eq!(ok_b.principal.issuer(), Some(b_iss));
    accepted(&v, &b_es.token(&for_b), "B's ES256 key");

    // B's key, claiming A: B's kid is not among A's keys …
    refused(
        &v,
        &b.token(&for_a),
        &AuthError::UnknownKey,
        "B-signed, iss A, kid b1",
    );
    // … and naming A's kid does not make B's signature A's.
    let b_as_a1 = TestKey::other(Algorithm::RS256, "a1");
    refused(
        &v,
        &b_as_a1.token(&for_a),
        &AuthError::Signature,
        "B-signed, iss A, kid a1",
    );
    // ES256 is B's algorithm, not A's.
    let b_es_as_a = TestKey::new(Algorithm::ES256, "b2");
    refused(
        &v,
        &b_es_as_a.token(&for_a),
        &AuthError::Algorithm,
        "B's ES256, iss A",
    );
    // A's audience is not B's.
    let b_for_a_aud = with(for_b.clone(), "aud", Some(json!(AUD)));
    refused(
        &v,
        &b.token(&b_for_a_aud),
        &AuthError::Audience,
        "iss B, aud of A",
    );
    // A token without kid from B: B has one RS256 key, so it is that one.
    let mut h = b.header();
    h.as_object_mut().unwrap().remove("kid");
    accepted(&v, &b.token_with_header(&h, &for_b), "B, no kid");
    refused(
        &v,
        &b.token_with_header(&h, &for_a),
        &AuthError::Signature,
        "B-signed, no kid, iss A",
    );
}

#[test]
fn sub_is_required_by_default() {
    let key = rs();
    let t = key.token(&with(claims_at(t0()), "sub", None));
    refused(&verifier(&[&key]), &t, &AuthError::Malformed, "no sub");
    let empty = key.token(&with(claims_at(t0()), "sub", Some(json!(""))));
    refused(&verifier(&[&key]), &empty, &AuthError::Malformed, "empty sub");
    let lenient = builder(&[&key]).require_subject(false).build().unwrap();
    accepted(&lenient, &t, "no sub, not required");
    let t = key.token(&with(claims_at(t0()), "sub", Some(json!(17))));
    refused(&lenient, &t, &AuthError::Malformed, "sub 17");
}

// ------------------------------------------------------------------ §1.4 rows

#[tokio::test]
async fn row_47_one_authorization_header_bearer_in_any_case_never_the_query() {
    let key = rs();
    let l = layer(verifier(&[&key]));
    let token = key.token(&claims());
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let res = call(&l, authorization(format!("{scheme} {token}").as_bytes())).await;
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
        assert_eq!(res.body().as_ref(), b"user-17");
    }
    // Two Authorization headers: 400 invalid_request, even if both are good.
    let mut req = bearer(&token);
    req.headers_mut()
        .append("authorization", format!("Bearer {token}").parse().unwrap());
    let res = call(&l, req).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        challenge(&res),
        r#"Bearer realm="api", error="invalid_request""#
    );
    assert_eq!(
        normalized_body(&res),
        r#"{"error":{"message":"Invalid authorization request","status":400}}"#
    );
    // The query string (RFC 6750 §2.3) and a form body are never read.
    for uri in [
        format!("/orders?access_token={token}"),
        format!("/orders?access_token={token}&x=1"),
    ] {
        let res = call(&l, Request::get(uri).body(()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&res), r#"Bearer realm="api""#);
    }
    let form = Request::post("/orders")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(())
        .unwrap();
    assert_eq!(call(&l, form).await.status(), StatusCode::UNAUTHORIZED);
    // Another scheme is no credentials; a bare `Bearer` is a bad one.
    let res = call(&l, authorization(b"Basic dXNlcjpwYXNz")).await;
    assert_eq!(
        (res.status(), challenge(&res)),
        (StatusCode::UNAUTHORIZED, r#"Bearer realm="api""#)
    );
    for bad in [
        &b"Bearer"[..],
        b"Bearer ",
        b"bearer    ",
        b"Bearer \xff\xfe",
    ] {
        assert_invalid_token(
            &call(&l, authorization(bad)).await,
            &String::from_utf8_lossy(bad),
        );
    }
    // A token with surrounding junk is not trimmed into shape.
    for value in [
        format!("Bearer {token} x"),
        format!("Bearer {token},"),
        format!("Bearer \"{token}\""),
    ] {
        assert_invalid_token(&call(&l, authorization(value.as_bytes())).await, &value);
    }
    // Several spaces after the scheme are tolerated.
    let res = call(&l, authorization(format!("Bearer   {token}").as_bytes())).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn row_48_every_refusal_is_the_same_401_never_a_500_and_preflights_pass() {
    let key = rs();
    let l = layer(verifier(&[&key]));
    let now = now();
    let c = claims_at(now);
    let good = key.token(&c);
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut bad_sig = unb64(sig);
    bad_sig[10] ^= 0x40;
    let other = TestKey::other(Algorithm::RS256, "r1");
    let failing: Vec<(&str, &str, String)> = vec![
        (
            "expired",
            "expired",
            key.token(&with(c.clone(), "exp", Some(json!(now - 3600)))),
        ),
        (
            "bad signature",
            "signature",
            format!("{input}.{}", b64(&bad_sig)),
        ),
        ("other key", "signature", other.token(&c)),
        (
            "wrong issuer",
            "issuer",
            key.token(&with(c.clone(), "iss", Some(json!("https://evil")))),
        ),
        (
            "wrong audience",
            "audience",
            key.token(&with(c.clone(), "aud", Some(json!("x")))),
        ),
        (
            "not yet valid",
            "not-yet-valid",
            key.token(&with(c.clone(), "nbf", Some(json!(now + 3600)))),
        ),
        (
            "issued in future",
            "issued-in-future",
            key.token(&with(c.clone(), "iat", Some(json!(now + 3600)))),
        ),
        (
            "unknown kid",
            "unknown-key",
            TestKey::new(Algorithm::RS256, "zz").token(&c),
        ),
        (
            "alg none",
            "algorithm",
            format!("{}.{}.{sig}", b64(r#"{"alg":"none"}"#), b64(c.to_string())),
        ),
        ("alg HS256", "algorithm", hs().token(&c)),
        (
            "crit",
            "refused-header",
            key.token_with_header(&header_with(&key, "crit", json!(["x"])), &c),
        ),
        ("malformed", "malformed", "a.b.c".to_owned()),
        ("garbage", "malformed", "!!!".to_owned()),
        ("JWE", "malformed", format!("{good}.{sig}.{sig}")),
        (
            "iss 123",
            "malformed",
            key.token(&with(c.clone(), "iss", Some(json!(123)))),
        ),
        (
            "aud 42",
            "malformed",
            key.token(&with(c.clone(), "aud", Some(json!(42)))),
        ),
        (
            "exp string",
            "malformed",
            key.token(&with(c.clone(), "exp", Some(json!("x")))),
        ),
        (
            "deep",
            "malformed",
            key.raw_token(&key.header().to_string(), &"[".repeat(3000)),
        ),
        (
            "payload not JSON",
            "malformed",
            key.raw_token(&key.header().to_string(), "\u{0}"),
        ),
        (
            "header bytes",
            "malformed",
            key.sign_segments(&b64([0xc3u8, 0x28]), &b64(c.to_string())),
        ),
        ("huge", "malformed", "a".repeat(64 * 1024)),
    ];
    let mut bodies = Vec::new();
    for (what, class, token) in &failing {
        let res = call(&l, bearer(token)).await;
        assert_invalid_token(&res, what);
        assert_eq!(rejection_reason(&res), *class, "{what}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{what}");
        assert_eq!(res.headers()["content-type"], "application/json", "{what}");
        bodies.push(normalized_body(&res));
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "every refusal reads the same: {bodies:?}");

    // Missing credentials: the bare challenge, no error attribute.
    let res = call(&l, Request::get("/orders").body(()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&res), r#"Bearer realm="api""#);
    assert_eq!(
        normalized_body(&res),
        r#"{"error":{"message":"Authentication required","status":401}}"#
    );

    // The request id, when there is one, is echoed in the body.
    let mut req = bearer(&failing[0].2);
    req.extensions_mut()
        .insert(harden_core::RequestId::from_header(&"req-42".parse().unwrap()).unwrap());
    let res = call(&l, req).await;
    let doc: Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(doc["error"]["requestId"], "req-42");

    // Insufficient scope: 403 naming the scope.
    let strict = AuthLayer::builder(verifier(&[&key]))
        .require(Requirement::any_scope(["orders:write"]))
        .build()
        .unwrap();
    let res = call(&strict, bearer(&good)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&res),
        r#"Bearer realm="api", error="insufficient_scope", scope="orders:write""#
    );
    assert_eq!(
        normalized_body(&res),
        r#"{"error":{"message":"Insufficient scope","status":403}}"#
    );
    let write = key.token(&with(
        c.clone(),
        "scope",
        Some(json!("orders:read orders:write")),
    ));
    assert_eq!(call(&strict, bearer(&write)).await.status(), StatusCode::OK);

    // A CORS preflight passes without a token; a plain OPTIONS does not.
    let preflight = Request::options("/orders")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .body(())
        .unwrap();
    let res = call(&strict, preflight).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body().as_ref(), b"anonymous");
    let plain = Request::options("/orders").body(()).unwrap();
    assert_eq!(
        call(&strict, plain).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A `MakeWriter` that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn row_49_logs_name_the_class_kid_alg_and_iss_never_the_token() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let key = hs();
    let l = layer(verifier(&[&key]));
    let c = claims();
    let good = key.token(&c);
    let (input, sig) = good.rsplit_once('.').unwrap();
    let forged = format!(
        "{input}.{}",
        b64(hmac_sha256(&[b'z'; 32], input.as_bytes()))
    );
    let expired = key.token(&with(c.clone(), "exp", Some(json!(now() - 3600))));
    let tokens = [&forged, &expired, &good];
    for token in &tokens[..2] {
        assert_invalid_token(&call(&l, bearer(token)).await, "refused");
    }
    assert_eq!(call(&l, bearer(&good)).await.status(), StatusCode::OK);
    let _ = captured.clone().flush();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("class=\"signature\""), "{log}");
    assert!(log.contains("class=\"expired\""), "{log}");
    assert!(log.contains("kid=\"h1\""), "{log}");
    assert!(log.contains("alg=\"HS256\""), "{log}");
    assert!(log.contains(&format!("iss=\"{ISS}\"")), "{log}");
    for token in tokens {
        for (i, segment) in token.split('.').enumerate() {
            assert!(
                !log.contains(segment),
                "segment {i} of a token in the log: {log}"
            );
        }
    }
    assert!(!log.contains(sig), "{log}");
    // Nor the secret, in the log or in Debug output.
    let secret = String::from_utf8_lossy(key.secret()).into_owned();
    assert!(!log.contains(&secret), "{log}");
    let shown = format!(
        "{l:?} {:?} {:?}",
        verifier(&[&key]),
        key.verifier_key(Form::Jwk)
    );
    assert!(!shown.contains(&secret), "{shown}");
    assert!(!shown.contains(&b64(key.secret())), "{shown}");
}
