//! Test keys generated at run time with aws-lc-rs, tokens minted by hand (for
//! malformed cases) or with `jsonwebtoken::encode`, verifiers built from the
//! public halves in every form the loaders read (PEM, DER, JWK), and a driver
//! for `AuthLayer` over a trivial handler.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::convert::Infallible;
use std::future::{Future as _, ready};
use std::pin::pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPublicKeyUncompressedBin, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use harden_auth::{Algorithm, AuthLayer, Issuer, JwtVerifier, JwtVerifierBuilder, Key, KeySet};
use harden_core::Principal;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt, service_fn};

pub const ISS: &str = "https://idp.example";
pub const AUD: &str = "api";

/// Seconds since the epoch.
pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The `SystemTime` of `secs` since the epoch.
pub fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// The standard claims of a good token, valid for ten minutes from `now`.
pub fn claims_at(now: i64) -> Value {
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "user-17",
        "exp": now + 600,
        "iat": now,
        "scope": "orders:read profile",
        "jti": "jti-0001",
    })
}

/// The standard claims, valid from the real clock's now.
pub fn claims() -> Value {
    claims_at(now())
}

/// `claims` with `key` set to `value` (or removed when `value` is `None`).
pub fn with(mut claims: Value, key: &str, value: Option<Value>) -> Value {
    let map = claims.as_object_mut().unwrap();
    match value {
        Some(v) => {
            map.insert(key.to_owned(), v);
        }
        None => {
            map.remove(key);
        }
    }
    claims
}

// ---------------------------------------------------------------- key material

static RSA_A: LazyLock<Arc<RsaKeyPair>> =
    LazyLock::new(|| Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()));
static RSA_B: LazyLock<Arc<RsaKeyPair>> =
    LazyLock::new(|| Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()));
static P256_A: LazyLock<Arc<EcdsaKeyPair>> = LazyLock::new(|| {
    Arc::new(EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
});
static P256_B: LazyLock<Arc<EcdsaKeyPair>> = LazyLock::new(|| {
    Arc::new(EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
});
static P384_A: LazyLock<Arc<EcdsaKeyPair>> = LazyLock::new(|| {
    Arc::new(EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap())
});
static P384_B: LazyLock<Arc<EcdsaKeyPair>> = LazyLock::new(|| {
    Arc::new(EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap())
});
static ED_A: LazyLock<Arc<Ed25519KeyPair>> =
    LazyLock::new(|| Arc::new(Ed25519KeyPair::generate().unwrap()));
static ED_B: LazyLock<Arc<Ed25519KeyPair>> =
    LazyLock::new(|| Arc::new(Ed25519KeyPair::generate().unwrap()));

#[derive(Clone)]
enum Material {
    Hmac(Vec<u8>),
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
    Ed(Arc<Ed25519KeyPair>),
}

/// How the verifier is given the public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo).
    Pem,
    /// `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1); RSA only.
    PemPkcs1,
    /// SubjectPublicKeyInfo DER.
    Der,
    /// PKCS#1 `RSAPublicKey` DER; RSA only.
    DerPkcs1,
    /// One JWK (with `alg` and `kid`).
    Jwk,
}

/// A signing key of the tests, bound to one algorithm, with a `kid`.
#[derive(Clone)]
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: String,
    material: Material,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestKey({} {})", self.alg, self.kid)
    }
}

impl TestKey {
    /// The first key of `alg`'s family (shared by every test in the binary).
    pub fn new(alg: Algorithm, kid: &str) -> Self {
        Self::pick(alg, kid, false)
    }

    /// A second, different key of `alg`'s family.
    pub fn other(alg: Algorithm, kid: &str) -> Self {
        Self::pick(alg, kid, true)
    }

    fn pick(alg: Algorithm, kid: &str, other: bool) -> Self {
        let material = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let len = alg.min_secret_len().unwrap();
                let fill = if other { b'B' } else { b'A' };
                let mut secret = vec![fill; len];
                secret[0] = alg.as_str().as_bytes()[4];
                Material::Hmac(secret)
            }
            Algorithm::ES256 => Material::Ec(if other {
                P256_B.clone()
            } else {
                P256_A.clone()
            }),
            Algorithm::ES384 => Material::Ec(if other {
                P384_B.clone()
            } else {
                P384_A.clone()
            }),
            Algorithm::EdDSA => Material::Ed(if other { ED_B.clone() } else { ED_A.clone() }),
            _ => Material::Rsa(if other { RSA_B.clone() } else { RSA_A.clone() }),
        };
        TestKey {
            alg,
            kid: kid.to_owned(),
            material,
        }
    }

    /// The same material under another algorithm name (for confusion tests).
    pub fn as_alg(&self, alg: Algorithm) -> Self {
        TestKey {
            alg,
            ..self.clone()
        }
    }

    /// The HMAC secret (HMAC keys only).
    pub fn secret(&self) -> &[u8] {
        match &self.material {
            Material::Hmac(s) => s,
            _ => panic!("not an HMAC key"),
        }
    }

    /// Signs `input` with this key's algorithm.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.material {
            Material::Hmac(secret) => {
                let h = match self.alg {
                    Algorithm::HS256 => aws_lc_rs::hmac::HMAC_SHA256,
                    Algorithm::HS384 => aws_lc_rs::hmac::HMAC_SHA384,
                    _ => aws_lc_rs::hmac::HMAC_SHA512,
                };
                hmac(h, secret, input)
            }
            Material::Rsa(pair) => {
                let padding: &'static dyn sig::RsaEncoding = match self.alg {
                    Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &sig::RSA_PSS_SHA256,
                    Algorithm::PS384 => &sig::RSA_PSS_SHA384,
                    Algorithm::PS512 => &sig::RSA_PSS_SHA512,
                    other => panic!("{other} with an RSA key"),
                };
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, input, &mut out).unwrap();
                out
            }
            Material::Ec(pair) => pair.sign(&rng, input).unwrap().as_ref().to_vec(),
            Material::Ed(pair) => pair.sign(input).as_ref().to_vec(),
        }
    }

    /// The standard header: `alg`, `typ: JWT`, `kid`.
    pub fn header(&self) -> Value {
        json!({"alg": self.alg.as_str(), "typ": "JWT", "kid": self.kid})
    }

    /// A token with the standard header and `claims`, signed by hand.
    pub fn token(&self, claims: &Value) -> String {
        self.token_with_header(&self.header(), claims)
    }

    /// A token with this header and these claims, signed by hand.
    pub fn token_with_header(&self, header: &Value, claims: &Value) -> String {
        self.raw_token(&header.to_string(), &claims.to_string())
    }

    /// A token from raw header and payload bytes (which need not be JSON),
    /// signed by hand.
    pub fn raw_token(&self, header: &str, payload: &str) -> String {
        self.sign_segments(&b64(header), &b64(payload))
    }

    /// `h.p.sig` for already-encoded segments.
    pub fn sign_segments(&self, header_b64: &str, payload_b64: &str) -> String {
        let input = format!("{header_b64}.{payload_b64}");
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", b64(signature))
    }

    /// A token minted by `jsonwebtoken::encode` (an independent encoder).
    pub fn encode(&self, claims: &Value) -> String {
        let alg: jsonwebtoken::Algorithm = self.alg.as_str().parse().unwrap();
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).unwrap()
    }

    /// The private key as jsonwebtoken reads it: a secret, a PKCS#1
    /// `RSAPrivateKey` (what `from_rsa_der` expects on aws-lc), or PKCS#8 for
    /// EC and Ed25519.
    pub fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        match &self.material {
            Material::Hmac(secret) => jsonwebtoken::EncodingKey::from_secret(secret),
            Material::Rsa(pair) => {
                let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
                jsonwebtoken::EncodingKey::from_rsa_der(&pkcs8_inner_key(pkcs8.as_ref()))
            }
            Material::Ec(pair) => {
                jsonwebtoken::EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref())
            }
            Material::Ed(pair) => {
                let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
                jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref())
            }
        }
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Vec<u8> {
        match &self.material {
            Material::Hmac(_) => panic!("HMAC keys have no public half"),
            Material::Rsa(pair) => pair.public_key().as_der().unwrap().as_ref().to_vec(),
            Material::Ec(pair) => pair.public_key().as_der().unwrap().as_ref().to_vec(),
            Material::Ed(pair) => pair.public_key().as_der().unwrap().as_ref().to_vec(),
        }
    }

    /// The RSA public key as PKCS#1 `RSAPublicKey` DER.
    pub fn pkcs1_der(&self) -> Vec<u8> {
        match &self.material {
            Material::Rsa(pair) => pair.public_key().as_ref().to_vec(),
            _ => panic!("PKCS#1 is for RSA keys"),
        }
    }

    /// The RSA modulus and exponent, big-endian without leading zeros.
    pub fn rsa_components(&self) -> (Vec<u8>, Vec<u8>) {
        let der = self.pkcs1_der();
        let (seq, _) = der_read(&der, 0x30);
        let (n, rest) = der_read(seq, 0x02);
        let (e, _) = der_read(rest, 0x02);
        (strip_zeros(n).to_vec(), strip_zeros(e).to_vec())
    }

    /// The public JWK, with `alg`, `kid` and `use: sig`.
    pub fn public_jwk(&self) -> Value {
        match &self.material {
            Material::Hmac(secret) => json!({
                "kty": "oct", "alg": self.alg.as_str(), "kid": self.kid, "k": b64(secret),
            }),
            Material::Rsa(_) => {
                let (n, e) = self.rsa_components();
                json!({"kty": "RSA", "alg": self.alg.as_str(), "kid": self.kid, "use": "sig",
                       "n": b64(n), "e": b64(e)})
            }
            Material::Ec(pair) => {
                let point: EcPublicKeyUncompressedBin<'static> =
                    pair.public_key().as_be_bytes().unwrap();
                let point = point.as_ref();
                let len = (point.len() - 1) / 2;
                let crv = if len == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "alg": self.alg.as_str(), "kid": self.kid,
                       "x": b64(&point[1..=len]), "y": b64(&point[len + 1..])})
            }
            Material::Ed(pair) => json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": self.kid,
                "x": b64(pair.public_key().as_ref()),
            }),
        }
    }

    /// The verifier's key, loaded from the public half in `form` (HMAC keys
    /// are always given as the secret).
    pub fn verifier_key(&self, form: Form) -> Key {
        let key = match (&self.material, form) {
            (Material::Hmac(_), Form::Jwk) => {
                return Key::from_jwk(&self.public_jwk().to_string()).unwrap();
            }
            (Material::Hmac(secret), _) => Key::hmac(self.alg, secret).unwrap(),
            (_, Form::Pem) => {
                Key::from_pem(self.alg, &pem("PUBLIC KEY", &self.spki_der())).unwrap()
            }
            (_, Form::PemPkcs1) => {
                Key::from_pem(self.alg, &pem("RSA PUBLIC KEY", &self.pkcs1_der())).unwrap()
            }
            (_, Form::Der) => Key::from_der(self.alg, &self.spki_der()).unwrap(),
            (_, Form::DerPkcs1) => Key::from_der(self.alg, &self.pkcs1_der()).unwrap(),
            (_, Form::Jwk) => return Key::from_jwk(&self.public_jwk().to_string()).unwrap(),
        };
        key.with_kid(self.kid.clone()).unwrap()
    }
}

fn hmac(alg: aws_lc_rs::hmac::Algorithm, secret: &[u8], input: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(alg, secret);
    aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
}

/// HMAC-SHA256 with an arbitrary secret (for key-confusion attacks).
pub fn hmac_sha256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    hmac(aws_lc_rs::hmac::HMAC_SHA256, secret, input)
}

/// PEM armour around `der`, 64 columns.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads one DER element with `tag`: its contents and what follows.
pub fn der_read(bytes: &[u8], tag: u8) -> (&[u8], &[u8]) {
    assert_eq!(bytes[0], tag, "DER tag");
    let (len, header) = match bytes[1] {
        l if l < 0x80 => (usize::from(l), 2),
        0x81 => (usize::from(bytes[2]), 3),
        0x82 => ((usize::from(bytes[2]) << 8) | usize::from(bytes[3]), 4),
        other => panic!("DER length form {other:#x}"),
    };
    (&bytes[header..header + len], &bytes[header + len..])
}

/// DER length bytes for `len`.
pub fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![u8::try_from(len).unwrap()],
        0x80..=0xff => vec![0x81, u8::try_from(len).unwrap()],
        _ => vec![
            0x82,
            u8::try_from(len >> 8).unwrap(),
            u8::try_from(len & 0xff).unwrap(),
        ],
    }
}

/// A DER element.
pub fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(contents.len()));
    out.extend_from_slice(contents);
    out
}

/// A DER INTEGER of a non-negative big-endian number.
pub fn der_uint(value: &[u8]) -> Vec<u8> {
    let mut v = strip_zeros(value).to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    der(0x02, &v)
}

pub fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The private key inside a PKCS#8 `PrivateKeyInfo` (for RSA, the PKCS#1
/// `RSAPrivateKey` jsonwebtoken's `from_rsa_der` wants).
fn pkcs8_inner_key(pkcs8: &[u8]) -> Vec<u8> {
    let (info, _) = der_read(pkcs8, 0x30);
    let (_version, rest) = der_read(info, 0x02);
    let (_alg, rest) = der_read(rest, 0x30);
    let (key, _) = der_read(rest, 0x04);
    key.to_vec()
}

/// `a − b` for big-endian numbers of equal length, `a ≥ b`.
pub fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    assert_eq!(a.len(), b.len());
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = u8::try_from(d).unwrap();
    }
    assert_eq!(borrow, 0, "a < b");
    out
}

/// The order n of P-256.
pub const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The field prime p of P-256.
pub const P256_P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

/// The order n of P-384.
pub const P384_N: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

// ------------------------------------------------------------------ verifiers

/// A builder for a verifier of one issuer (`ISS`, audience `AUD`) with these
/// keys, loaded from JWKs.
pub fn builder(keys: &[&TestKey]) -> JwtVerifierBuilder {
    builder_with(keys, Form::Jwk)
}

/// As [`builder`], with the public keys given in `form`.
pub fn builder_with(keys: &[&TestKey], form: Form) -> JwtVerifierBuilder {
    let set = KeySet::new(keys.iter().map(|k| k.verifier_key(form))).unwrap();
    JwtVerifier::builder().issuer(Issuer::new(ISS).audience(AUD).keys(set))
}

/// A verifier of one issuer with these keys.
pub fn verifier(keys: &[&TestKey]) -> JwtVerifier {
    builder(keys).build().unwrap()
}

/// The same verifier without its cache: every call checks everything.
pub fn uncached(keys: &[&TestKey]) -> JwtVerifier {
    builder(keys).cache_capacity(0).build().unwrap()
}

// ---------------------------------------------------------------------- layer

/// Sends `req` through `layer` around a trivial handler (200 with the
/// principal's subject), with tower's `oneshot`, and collects the body. Every
/// future here is ready on its first poll (a static key set never waits), so
/// no runtime is needed.
pub fn send<T>(layer: &AuthLayer<T>, req: Request<()>) -> Response<Bytes>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let svc = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service_fn(|req: Request<()>| {
            let who = req
                .extensions()
                .get::<Principal>()
                .map_or_else(|| "anonymous".to_owned(), |p| p.subject().to_owned());
            ready(Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                who,
            )))))
        }));
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(res)) = pin!(svc.oneshot(req)).poll(&mut cx) else {
        panic!("the layer's answer was not ready at once");
    };
    let (parts, body) = res.into_parts();
    let Poll::Ready(Ok(collected)) = pin!(body.collect()).poll(&mut cx) else {
        panic!("the body was not ready at once");
    };
    Response::from_parts(parts, collected.to_bytes())
}

/// [`send`], for async tests.
pub async fn call<T>(layer: &AuthLayer<T>, req: Request<()>) -> Response<Bytes>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    send(layer, req)
}

/// A GET with `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> Request<()> {
    Request::get("/orders")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap()
}

/// A GET with this raw `Authorization` value.
pub fn authorization(value: &[u8]) -> Request<()> {
    let mut req = Request::get("/orders").body(()).unwrap();
    req.headers_mut()
        .insert("authorization", HeaderValue::from_bytes(value).unwrap());
    req
}

/// The `WWW-Authenticate` header.
pub fn challenge(res: &Response<Bytes>) -> &str {
    res.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// The error document with its per-response members (`timestamp`,
/// `requestId`) removed, as text.
pub fn normalized_body(res: &Response<Bytes>) -> String {
    let mut doc: Value = serde_json::from_slice(res.body()).unwrap();
    let error = doc
        .get_mut("error")
        .and_then(Value::as_object_mut)
        .expect("the shared error format");
    assert!(error.remove("timestamp").is_some(), "a timestamp");
    error.remove("requestId");
    doc.to_string()
}

/// Asserts a 401 with `error="invalid_token"` in harden's error format.
pub fn assert_invalid_token(res: &Response<Bytes>, what: &str) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(
        challenge(res),
        r#"Bearer realm="api", error="invalid_token""#,
        "{what}"
    );
    assert_eq!(
        normalized_body(res),
        r#"{"error":{"message":"Invalid or expired token","status":401}}"#,
        "{what}"
    );
}
