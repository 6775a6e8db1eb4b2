//! JWT bearer authentication for tower services, safer by default than
//! calling a JWT library by hand.
//!
//! ```
//! use harden_auth::{Algorithm, AuthLayer, Issuer, JwtVerifier, Key, KeySet, Requirement};
//! use harden_core::Principal;
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = b"an HS256 secret of at least 32 bytes";
//! let verifier = JwtVerifier::builder()
//!     .issuer(
//!         Issuer::new("https://idp.example")
//!             .audience("orders-api")
//!             .keys(KeySet::new([Key::hmac(Algorithm::HS256, secret)?.with_kid("k1")?])?),
//!     )
//!     .build()?;
//! let auth = AuthLayer::builder(verifier)
//!     .require(Requirement::any_scope(["orders:read"]))
//!     .build()?;
//!
//! let svc = ServiceBuilder::new().layer(auth).service(service_fn(|req: Request<()>| async move {
//!     let who = req.extensions().get::<Principal>().unwrap();
//!     Ok::<_, Infallible>(Response::new(format!("hello {}", who.subject())))
//! }));
//!
//! # let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() + 600;
//! # let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
//! # header.kid = Some("k1".into());
//! # let claims = serde_json::json!({"iss": "https://idp.example", "aud": "orders-api",
//! #     "sub": "user-17", "exp": exp, "scope": "orders:read"});
//! # let token = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret))?;
//! // A token signed by the issuer, with `scope: "orders:read"`.
//! let req = Request::builder().header("authorization", format!("Bearer {token}")).body(())?;
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! // No token: 401 with a Bearer challenge.
//! let res = svc.oneshot(Request::new(())).await?;
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"api\"");
//! # Ok(())
//! # }
//! ```
//!
//! # What it checks
//!
//! [`JwtVerifier`] is the core, usable without tower (the actix example calls
//! it directly). Before any decoding a token must be at most 8 KiB of
//! `[A-Za-z0-9_.-]` with exactly two dots. The header must name an algorithm
//! exactly (`none` does not exist) and carry no `crit`, `b64` or JWE members;
//! `jku`, `jwk`, `x5u` and `x5c` are refused by default and never used to find
//! keys; `kid` is an opaque map key of at most 256 bytes. `iss` must be a
//! string naming a configured [`Issuer`], and only that issuer's keys are
//! tried: the one named by `kid` and bound to the header's `alg`, so a token
//! costs at most one signature check. Then `exp` (required), `nbf`, `iat`
//! (never in the future), an optional maximum lifetime, `aud` (required) and
//! `sub` (required) are checked, with 60 s of leeway. A registered claim of the
//! wrong type fails the token; it never skips its check.
//!
//! [`Key`]s are bound to exactly one [`Algorithm`]; HMAC secrets shorter than
//! the hash output, RSA keys under 2048 bits and EC keys on the wrong curve are
//! configuration errors, and one verifier never mixes HMAC with asymmetric
//! algorithms. Signatures are checked by `jsonwebtoken` on the `aws-lc-rs`
//! back end.
//!
//! Successful verifications are cached by the SHA-256 of the whole token
//! (never by the signature: ECDSA signatures are malleable), until the token
//! expires or the cache TTL passes, and dropped when their key leaves its set,
//! so a repeated token costs a hash and a lookup instead of a signature check.
//!
//! # Over HTTP
//!
//! [`AuthLayer`] reads the token as RFC 6750 says (one `Authorization: Bearer`
//! header, the scheme in any case; optionally a cookie; never the query
//! string), answers 401 / 400 / 403 / 503 with the right `WWW-Authenticate`
//! challenge in harden's shared error format, and puts the verified
//! [`Principal`](harden_core::Principal) and [`Claims`] in the request
//! extensions. Failures are logged (at debug level, target `harden_auth`) with
//! their class, `kid`, `alg` and `iss`; never the token.
//!
//! # Features
//!
//! - `remote`: [`RemoteJwks`], keys fetched from an identity provider's JWKS
//!   over HTTPS, refreshed in the background, refetched once per cooldown for
//!   an unknown `kid`.
//! - `axum`: [`Claims`] as an extractor (and `Option<Claims<T>>`).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alg;
mod claims;
mod der;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod key;
mod layer;
#[cfg(feature = "remote")]
mod remote;
mod require;
mod token;
mod verifier;

pub use self::alg::{Algorithm, Family};
pub use self::claims::{Claims, NoClaims};
pub use self::error::{AuthError, ConfigError, KidLabel};
pub use self::key::{Key, KeySet, MAX_KID_LEN, MIN_RSA_BITS};
pub use self::layer::{
    AuthLayer, AuthLayerBuilder, AuthService, PrincipalOnResponse, Requirement, ResponseFuture,
};
#[cfg(feature = "remote")]
pub use self::remote::{
    FetchError, FetchErrorKind, JwksStatus, RefreshHandle, RemoteJwks, RemoteJwksBuilder,
};
pub use self::require::{RequireLayer, RequireService};
pub use self::token::MAX_TOKEN_LEN;
pub use self::verifier::{
    DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, DEFAULT_LEEWAY, Issuer, JwtVerifier,
    JwtVerifierBuilder, Verified,
};
