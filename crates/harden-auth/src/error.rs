//! `ConfigError` (refused at startup) and `AuthError` (a request refused).

use std::fmt;
use std::time::Duration;

/// A configuration or key refused when a verifier is built or keys are loaded:
/// never a panic, never a silently weaker policy. Messages quote the offending
/// value, except secrets, of which only the length is told.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An algorithm name that is not one of [`Algorithm`](crate::Algorithm)'s.
    #[error("unknown JWS algorithm `{}` (expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512; names are case-sensitive)", .0.escape_debug())]
    UnknownAlgorithm(String),
    /// An HMAC secret shorter than the algorithm's hash output (RFC 7518 §3.2).
    #[error("the {alg} secret is {len} bytes; {alg} needs at least {min} (RFC 7518 §3.2)")]
    SecretTooShort {
        /// The algorithm.
        alg: crate::Algorithm,
        /// The secret's length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// HMAC and asymmetric algorithms in one verifier (RFC 8725bis §3.1: an
    /// attacker who knows a public key could otherwise sign with it as a secret).
    #[error(
        "the verifier mixes HMAC ({hmac}) and asymmetric ({asymmetric}) algorithms; use one verifier per key family"
    )]
    MixedFamilies {
        /// An HMAC algorithm in use.
        hmac: crate::Algorithm,
        /// An asymmetric algorithm in use.
        asymmetric: crate::Algorithm,
    },
    /// A key whose material does not suit the algorithm it is bound to.
    #[error("key {kid}: {reason}")]
    InvalidKey {
        /// The key's id as `kid "…"`, or `without kid`.
        kid: KidLabel,
        /// What is wrong with it.
        reason: String,
    },
    /// Two keys with the same `kid` in one set: a lookup would be ambiguous.
    #[error("two keys share kid `{}`; key ids must be unique", .0.escape_debug())]
    DuplicateKid(String),
    /// A key set with no usable signing key.
    #[error("the key set {0} holds no usable signature key")]
    EmptyKeySet(String),
    /// A JWK or JWKS document that is not valid JSON of the right shape.
    #[error("{source_name} is not a valid {what}: {reason}")]
    Document {
        /// Where it came from (a path, a URL, `inline`).
        source_name: String,
        /// `JWK`, `JWKS`, `PEM key`, …
        what: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// A key file that could not be read.
    #[error("cannot read key file `{path}`: {reason}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's error.
        reason: String,
    },
    /// An issuer with no audience: RFC 8725 §3.9 requires `aud` checks.
    #[error("issuer `{}` has no audience; every issuer needs at least one (RFC 8725 §3.9)", .0.escape_debug())]
    NoAudience(String),
    /// An issuer with no keys and no key source.
    #[error("issuer `{}` has no keys", .0.escape_debug())]
    NoKeys(String),
    /// The same issuer configured twice.
    #[error("issuer `{}` is configured twice", .0.escape_debug())]
    DuplicateIssuer(String),
    /// A verifier without any issuer.
    #[error("the verifier has no issuer; add one with `JwtVerifier::builder().issuer(...)`")]
    NoIssuer,
    /// Something that spawns a task was called outside a tokio runtime.
    #[error("{0} must be called inside a tokio runtime")]
    NoRuntime(&'static str),
    /// An empty or otherwise unusable value for a named setting.
    #[error("`{setting}` = `{}` is invalid: {reason}", .value.escape_debug())]
    Setting {
        /// The setting's name.
        setting: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

/// How a key is named in an error: its `kid`, or `without kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KidLabel(pub(crate) Option<String>);

impl fmt::Display for KidLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(kid) => write!(f, "with kid `{}`", kid.escape_debug()),
            None => f.write_str("without kid"),
        }
    }
}

/// Why a request's credentials were refused.
///
/// The classes are for logs and metrics; clients only ever see the RFC 6750
/// error code ([`AuthError::error_code`]) and a generic message, so a response
/// never tells an attacker which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials in the request.
    #[error("no bearer token")]
    Missing,
    /// More than one `Authorization` header, or one that is not a bearer token
    /// when a token was expected.
    #[error("ambiguous or malformed Authorization header")]
    BadRequest,
    /// The token is not a well-formed compact JWS (size, characters, segments,
    /// base64url, JSON, claim types).
    #[error("malformed token")]
    Malformed,
    /// The JOSE header carries a parameter this verifier refuses (`crit`,
    /// `b64`, `jku`, `jwk`, `x5u`, `x5c`, or a JWE parameter).
    #[error("token header carries a refused parameter")]
    RefusedHeader,
    /// `typ` does not match the explicit-typing policy.
    #[error("token type not accepted")]
    WrongType,
    /// The algorithm is not one any key of the issuer is bound to.
    #[error("algorithm not accepted")]
    Algorithm,
    /// `iss` missing or not an allowed issuer.
    #[error("issuer not accepted")]
    Issuer,
    /// No key of the issuer matches the token's `kid` and `alg`.
    #[error("no matching key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// The token lives longer than the configured maximum lifetime.
    #[error("token lifetime too long")]
    Lifetime,
    /// `aud` missing or not one of the issuer's audiences.
    #[error("audience not accepted")]
    Audience,
    /// The verified claims lack a required scope or role.
    #[error("insufficient scope")]
    InsufficientScope,
    /// The issuer's keys are not available (never loaded, or too stale to trust).
    #[error("signing keys unavailable")]
    KeysUnavailable {
        /// When a retry may succeed.
        retry_after: Duration,
    },
}

impl AuthError {
    /// A short, stable class name for logs and metric labels (`"expired"`).
    pub fn class(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::BadRequest => "bad-request",
            AuthError::Malformed => "malformed",
            AuthError::RefusedHeader => "refused-header",
            AuthError::WrongType => "wrong-type",
            AuthError::Algorithm => "algorithm",
            AuthError::Issuer => "issuer",
            AuthError::UnknownKey => "unknown-key",
            AuthError::Signature => "signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not-yet-valid",
            AuthError::IssuedInFuture => "issued-in-future",
            AuthError::Lifetime => "lifetime",
            AuthError::Audience => "audience",
            AuthError::InsufficientScope => "insufficient-scope",
            AuthError::KeysUnavailable { .. } => "keys-unavailable",
        }
    }

    /// The RFC 6750 §3.1 error code for `WWW-Authenticate`: `None` when no
    /// credentials were sent (the challenge then carries no error).
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            AuthError::Missing | AuthError::KeysUnavailable { .. } => None,
            AuthError::BadRequest => Some("invalid_request"),
            AuthError::InsufficientScope => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }
}
