//! `JwtVerifier`: the core, with no tower in it. Checks a token and returns
//! its claims.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use harden_core::Principal;
use serde::de::DeserializeOwned;

use crate::alg::{Algorithm, Family};
use crate::claims::{Claims, ClaimsInner, NoClaims, Registered};
use crate::error::{AuthError, ConfigError};
use crate::key::{Key, KeySet, sha256};
#[cfg(feature = "remote")]
use crate::remote::RemoteJwks;
use crate::token;

/// The default clock-skew allowance for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The default number of verified tokens remembered.
pub const DEFAULT_CACHE_CAPACITY: u64 = 10_000;

/// The default longest time a verified token is remembered.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// One trusted issuer: its exact `iss`, the audiences it may issue tokens
/// for, and its keys. Tokens are matched to an issuer by `iss` first, and only
/// that issuer's keys are ever tried (RFC 8725 §3.8).
///
/// ```
/// use harden_auth::{Algorithm, Issuer, Key, KeySet};
///
/// let key = Key::hmac(Algorithm::HS256, &[7u8; 32])?;
/// let issuer = Issuer::new("https://idp.example")
///     .audience("orders-api")
///     .keys(KeySet::new([key])?);
/// # let _ = issuer;
/// # Ok::<(), harden_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Issuer {
    iss: String,
    audiences: Vec<String>,
    keys: Option<KeySource>,
    algorithms: Option<BTreeSet<Algorithm>>,
}

impl Issuer {
    /// An issuer whose tokens carry exactly this `iss`.
    pub fn new(iss: impl Into<String>) -> Self {
        Issuer {
            iss: iss.into(),
            audiences: Vec::new(),
            keys: None,
            algorithms: None,
        }
    }

    /// Adds an accepted audience: a token's `aud` must contain one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Verifies this issuer's tokens with a fixed key set.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(KeySource::Static(Arc::new(keys)));
        self
    }

    /// Verifies this issuer's tokens with the keys of a remote JWKS.
    #[cfg(feature = "remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub fn remote(mut self, jwks: RemoteJwks) -> Self {
        self.keys = Some(KeySource::Remote(jwks));
        self
    }

    /// Restricts the algorithms accepted from this issuer. By default, a
    /// static key set's own algorithms, or every asymmetric algorithm for a
    /// remote set (each key is still bound to its own one).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }
}

#[derive(Clone)]
pub(crate) enum KeySource {
    Static(Arc<KeySet>),
    #[cfg(feature = "remote")]
    Remote(RemoteJwks),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Static(set) => f.debug_tuple("Static").field(set).finish(),
            #[cfg(feature = "remote")]
            KeySource::Remote(remote) => f.debug_tuple("Remote").field(remote).finish(),
        }
    }
}

impl KeySource {
    fn current(&self) -> Result<Arc<KeySet>, AuthError> {
        match self {
            KeySource::Static(set) => Ok(Arc::clone(set)),
            #[cfg(feature = "remote")]
            KeySource::Remote(remote) => remote.current(),
        }
    }

    /// Whether keys verified earlier may still be trusted (a remote set that
    /// went stale beyond its limit fails closed, cached tokens included).
    fn usable(&self) -> bool {
        match self {
            KeySource::Static(_) => true,
            #[cfg(feature = "remote")]
            KeySource::Remote(remote) => remote.is_usable(),
        }
    }
}

/// Verifies compact JWS tokens (JWTs) against configured issuers.
///
/// Cloning is cheap: clones share keys and the verified-token cache.
///
/// What it checks, in order: the token's shape (at most 8 KiB of
/// `[A-Za-z0-9_.-]` with exactly two dots) before any decoding; the header
/// (a known `alg`, `kid` ≤ 256 bytes, no `crit`, `b64` or JWE members, no
/// `jku`/`jwk`/`x5u`/`x5c` unless allowed, the `typ` policy); that `iss` is a
/// string naming a configured issuer; the signature, with the one key of that
/// issuer named by `kid` and bound to `alg`; then `exp` (required), `nbf`,
/// `iat` (not in the future), the maximum lifetime, `aud` (required, a string
/// or an array of strings naming an accepted audience) and `sub` (required).
/// Every registered claim must have its registered type.
///
/// Successful verifications are remembered, keyed by the SHA-256 of the whole
/// token, until the token expires or the cache TTL passes, and forgotten when
/// their key leaves its set.
pub struct JwtVerifier<T = NoClaims> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    issuers: Vec<IssuerEntry>,
    leeway: i64,
    max_lifetime: Option<i64>,
    accepted_typ: Option<Vec<String>>,
    allow_key_headers: bool,
    require_subject: bool,
    cache: Option<moka::sync::Cache<[u8; 32], Arc<CacheEntry<T>>>>,
    cache_ttl: Duration,
}

struct IssuerEntry {
    iss: String,
    audiences: Vec<String>,
    keys: KeySource,
    algorithms: BTreeSet<Algorithm>,
}

struct CacheEntry<T> {
    verified: Verified<T>,
    key: Key,
    issuer: usize,
    exp: i64,
    nbf: Option<i64>,
    iat: Option<i64>,
    ttl: Ttl,
}

/// A verified token: its claims and the [`Principal`] they name.
pub struct Verified<T = NoClaims> {
    /// The claims.
    pub claims: Claims<T>,
    /// The principal: subject, issuer, scopes, roles and session id.
    pub principal: Principal,
}

impl<T> Clone for Verified<T> {
    fn clone(&self) -> Self {
        Verified {
            claims: self.claims.clone(),
            principal: self.principal.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims)
            .field("principal", &self.principal)
            .finish()
    }
}

/// Why a verification failed, with what the logs may show and, for an unknown
/// key in a remote set, what to refetch.
pub(crate) struct Failure {
    pub(crate) error: AuthError,
    pub(crate) kid: Option<String>,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) iss: Option<String>,
    #[cfg(feature = "remote")]
    pub(crate) refetch: Option<RemoteJwks>,
}

impl Failure {
    fn new(error: AuthError) -> Self {
        Failure {
            error,
            kid: None,
            alg: None,
            iss: None,
            #[cfg(feature = "remote")]
            refetch: None,
        }
    }

    /// Records the failure at debug level: class, kid, alg and iss, never
    /// the token.
    pub(crate) fn log(&self) {
        tracing::debug!(
            target: "harden_auth",
            class = self.error.class(),
            kid = self.kid.as_deref(),
            alg = self.alg.map(Algorithm::as_str),
            iss = self.iss.as_deref(),
            "bearer token refused"
        );
    }
}

impl<T> Clone for JwtVerifier<T> {
    fn clone(&self) -> Self {
        JwtVerifier {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for JwtVerifier<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field(
                "issuers",
                &self
                    .inner
                    .issuers
                    .iter()
                    .map(|i| &i.iss)
                    .collect::<Vec<_>>(),
            )
            .field("leeway_secs", &self.inner.leeway)
            .field("max_lifetime_secs", &self.inner.max_lifetime)
            .field("typ", &self.inner.accepted_typ)
            .field("cache", &self.inner.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A builder for a verifier with no custom claims; choose yours with
    /// [`JwtVerifierBuilder::claims`].
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder {
            issuers: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_lifetime: None,
            accepted_typ: None,
            allow_key_headers: false,
            require_subject: true,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            cache_ttl: DEFAULT_CACHE_TTL,
            claims: PhantomData,
        }
    }
}

/// Builds a [`JwtVerifier`]; every setting is checked in
/// [`build`](JwtVerifierBuilder::build).
#[must_use]
pub struct JwtVerifierBuilder<T = NoClaims> {
    issuers: Vec<Issuer>,
    leeway: Duration,
    max_lifetime: Option<Duration>,
    accepted_typ: Option<Vec<String>>,
    allow_key_headers: bool,
    require_subject: bool,
    cache_capacity: u64,
    cache_ttl: Duration,
    claims: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for JwtVerifierBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("issuers", &self.issuers)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl<T> JwtVerifierBuilder<T> {
    /// Adds a trusted issuer.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Your own claims type, deserialised from every verified payload.
    pub fn claims<U>(self) -> JwtVerifierBuilder<U> {
        JwtVerifierBuilder {
            issuers: self.issuers,
            leeway: self.leeway,
            max_lifetime: self.max_lifetime,
            accepted_typ: self.accepted_typ,
            allow_key_headers: self.allow_key_headers,
            require_subject: self.require_subject,
            cache_capacity: self.cache_capacity,
            cache_ttl: self.cache_ttl,
            claims: PhantomData,
        }
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 60 s, at most
    /// 5 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens that live longer than this: `exp − now` and, when `iat`
    /// is present, `exp − iat` (plus the leeway). Off by default.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Explicit typing (RFC 8725 §3.11): the header's `typ` must be one of
    /// these (e.g. `at+jwt` for RFC 9068 access tokens), compared
    /// case-insensitively with `application/` implied. Off by default.
    pub fn accept_typ<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accepted_typ = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts tokens whose header carries `jku`, `jwk`, `x5u` or `x5c`
    /// (refused by default). They are never used to find keys either way.
    pub fn allow_key_headers(mut self, allow: bool) -> Self {
        self.allow_key_headers = allow;
        self
    }

    /// Whether `sub` is required (default: yes, as RFC 9068 requires).
    pub fn require_subject(mut self, require: bool) -> Self {
        self.require_subject = require;
        self
    }

    /// How many verified tokens to remember (default 10,000); 0 turns the
    /// cache off.
    pub fn cache_capacity(mut self, capacity: u64) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The longest time a verified token is remembered (default 5 minutes);
    /// a token is never remembered past its `exp`.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Checks the configuration and builds the verifier.
    ///
    /// # Errors
    ///
    /// When there is no issuer, an issuer lacks an audience or keys, an issuer
    /// repeats, HMAC and asymmetric algorithms are mixed, the leeway exceeds
    /// 5 minutes, or a list is empty.
    pub fn build(self) -> Result<JwtVerifier<T>, ConfigError>
    where
        T: Send + Sync + 'static,
    {
        if self.issuers.is_empty() {
            return Err(ConfigError::NoIssuer);
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(ConfigError::Setting {
                setting: "leeway",
                value: format!("{}s", self.leeway.as_secs()),
                reason: "at most 300 seconds",
            });
        }
        if let Some(types) = &self.accepted_typ
            && (types.is_empty() || types.iter().any(String::is_empty))
        {
            return Err(ConfigError::Setting {
                setting: "typ",
                value: types.join(","),
                reason: "name at least one non-empty type",
            });
        }
        if self.max_lifetime.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::Setting {
                setting: "max_lifetime",
                value: "0s".to_owned(),
                reason: "a maximum lifetime must be positive",
            });
        }
        let mut issuers: Vec<IssuerEntry> = Vec::with_capacity(self.issuers.len());
        for issuer in self.issuers {
            if issuer.iss.is_empty() {
                return Err(ConfigError::Setting {
                    setting: "issuer",
                    value: String::new(),
                    reason: "an issuer is a non-empty string",
                });
            }
            if issuers.iter().any(|i| i.iss == issuer.iss) {
                return Err(ConfigError::DuplicateIssuer(issuer.iss));
            }
            if issuer.audiences.is_empty() || issuer.audiences.iter().any(String::is_empty) {
                return Err(ConfigError::NoAudience(issuer.iss));
            }
            let Some(keys) = issuer.keys else {
                return Err(ConfigError::NoKeys(issuer.iss));
            };
            let algorithms = match (&keys, issuer.algorithms) {
                (_, Some(algs)) if algs.is_empty() => {
                    return Err(ConfigError::Setting {
                        setting: "algorithms",
                        value: issuer.iss,
                        reason: "an issuer needs at least one algorithm",
                    });
                }
                (_, Some(algs)) => algs,
                (KeySource::Static(set), None) => set.algorithms().collect(),
                #[cfg(feature = "remote")]
                (KeySource::Remote(_), None) => Algorithm::ALL
                    .into_iter()
                    .filter(|a| a.family() != Family::Hmac)
                    .collect(),
            };
            #[cfg(feature = "remote")]
            if let KeySource::Remote(_) = &keys
                && let Some(hmac) = algorithms.iter().find(|a| a.family() == Family::Hmac)
            {
                return Err(ConfigError::Setting {
                    setting: "algorithms",
                    value: hmac.to_string(),
                    reason: "a remote key set never provides HMAC keys",
                });
            }
            if let KeySource::Static(set) = &keys
                && set.is_empty()
            {
                return Err(ConfigError::NoKeys(issuer.iss));
            }
            issuers.push(IssuerEntry {
                iss: issuer.iss,
                audiences: issuer.audiences,
                keys,
                algorithms,
            });
        }
        let mut used = issuers.iter().flat_map(|i| {
            let from_keys: Vec<Algorithm> = match &i.keys {
                KeySource::Static(set) => set.algorithms().collect(),
                #[cfg(feature = "remote")]
                KeySource::Remote(_) => Vec::new(),
            };
            i.algorithms.iter().copied().chain(from_keys)
        });
        let (hmac, asymmetric): (Vec<Algorithm>, Vec<Algorithm>) =
            used.by_ref().partition(|a| a.family() == Family::Hmac);
        if let (Some(&hmac), Some(&asymmetric)) = (hmac.first(), asymmetric.first()) {
            return Err(ConfigError::MixedFamilies { hmac, asymmetric });
        }
        let cache = (self.cache_capacity > 0 && !self.cache_ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(self.cache_capacity)
                .expire_after(EntryExpiry)
                .build()
        });
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                issuers,
                leeway: secs(self.leeway),
                max_lifetime: self.max_lifetime.map(secs),
                accepted_typ: self.accepted_typ,
                allow_key_headers: self.allow_key_headers,
                require_subject: self.require_subject,
                cache,
                cache_ttl: self.cache_ttl,
            }),
        })
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn unix_now(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH).map(secs).unwrap_or(0)
}

/// How long moka keeps an entry: until the token's `exp` (plus leeway) or
/// the cache TTL, whichever is first; computed when inserted.
struct EntryExpiry;

struct Ttl(Duration);

impl<T> moka::Expiry<[u8; 32], Arc<CacheEntry<T>>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<CacheEntry<T>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl.0)
    }
}

impl<T> JwtVerifier<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// Verifies `token` now.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] class of the first check that failed.
    pub fn verify(&self, token: &str) -> Result<Verified<T>, AuthError> {
        self.verify_at(token, SystemTime::now())
    }

    /// Verifies `token` as of `now` (for tests and replays).
    ///
    /// # Errors
    ///
    /// The [`AuthError`] class of the first check that failed.
    pub fn verify_at(&self, token: &str, now: SystemTime) -> Result<Verified<T>, AuthError> {
        self.check(token, unix_now(now)).map_err(|f| f.error)
    }

    /// Verifies `token`; when its `kid` is unknown to a remote key set that
    /// may be refetched now (once per cooldown, one fetch shared by all
    /// callers), waits for the refetch and tries again.
    ///
    /// # Errors
    ///
    /// As [`verify`](JwtVerifier::verify).
    pub async fn verify_async(&self, token: &str) -> Result<Verified<T>, AuthError> {
        match self.check(token, unix_now(SystemTime::now())) {
            Ok(verified) => Ok(verified),
            #[cfg(feature = "remote")]
            Err(Failure {
                refetch: Some(remote),
                kid,
                ..
            }) => {
                remote.refetch(kid).await;
                self.check(token, unix_now(SystemTime::now()))
                    .map_err(|f| f.error)
            }
            Err(failure) => Err(failure.error),
        }
    }

    /// The check, with its failure's context.
    pub(crate) fn check(&self, token: &str, now: i64) -> Result<Verified<T>, Failure> {
        let inner = &*self.inner;
        // Size first: a megabyte "token" must cost nothing, not a hash.
        if token.len() > token::MAX_TOKEN_LEN {
            return Err(Failure::new(AuthError::Malformed));
        }
        let digest = inner.cache.as_ref().map(|_| sha256(token.as_bytes()));
        if let (Some(cache), Some(digest)) = (&inner.cache, &digest)
            && let Some(entry) = cache.get(digest)
        {
            let usable = !entry.key.is_retired()
                && inner
                    .issuers
                    .get(entry.issuer)
                    .is_some_and(|i| i.keys.usable());
            if usable {
                self.check_time(entry.exp, entry.nbf, entry.iat, now)
                    .map_err(Failure::new)?;
                return Ok(entry.verified.clone());
            }
            cache.invalidate(digest);
        }

        let segments = token::split(token).map_err(Failure::new)?;
        let header =
            token::parse_header(segments.header, inner.allow_key_headers).map_err(Failure::new)?;
        let mut fail = |error: AuthError| Failure {
            error,
            kid: header.kid.clone(),
            alg: Some(header.alg),
            iss: None,
            #[cfg(feature = "remote")]
            refetch: None,
        };
        if let Some(accepted) = &inner.accepted_typ
            && !header
                .typ
                .as_deref()
                .is_some_and(|typ| token::typ_matches(typ, accepted))
        {
            return Err(fail(AuthError::WrongType));
        }
        let payload = token::decode_segment(segments.payload).map_err(&mut fail)?;
        let claims: Registered =
            serde_json::from_slice(&payload).map_err(|_| fail(AuthError::Malformed))?;
        let Some(iss) = claims.iss.as_deref() else {
            return Err(fail(AuthError::Issuer));
        };
        let Some((index, issuer)) = inner.issuers.iter().enumerate().find(|(_, i)| i.iss == iss)
        else {
            let mut failure = fail(AuthError::Issuer);
            failure.iss = Some(iss.chars().take(256).collect());
            return Err(failure);
        };
        let mut fail = |error: AuthError| {
            let mut failure = fail(error);
            failure.iss = Some(issuer.iss.clone());
            failure
        };
        if !issuer.algorithms.contains(&header.alg) {
            return Err(fail(AuthError::Algorithm));
        }
        let keys = issuer.keys.current().map_err(&mut fail)?;
        let Some(key) = keys.select(header.kid.as_deref(), header.alg) else {
            #[allow(unused_mut)]
            let mut failure = fail(AuthError::UnknownKey);
            #[cfg(feature = "remote")]
            if let KeySource::Remote(remote) = &issuer.keys
                && remote.should_refetch(header.kid.as_deref())
            {
                failure.refetch = Some(remote.clone());
            }
            return Err(failure);
        };
        let verified = jsonwebtoken::crypto::verify(
            segments.signature,
            segments.signing_input.as_bytes(),
            key.decoding(),
            header.alg.to_jwt(),
        );
        if !matches!(verified, Ok(true)) {
            return Err(fail(AuthError::Signature));
        }

        // The signature is good: now the claims.
        // `exp` is required: a token without it is malformed for us.
        let Some(exp) = claims.exp.map(|d| d.0) else {
            return Err(fail(AuthError::Malformed));
        };
        let nbf = claims.nbf.map(|d| d.0);
        let iat = claims.iat.map(|d| d.0);
        self.check_time(exp, nbf, iat, now).map_err(&mut fail)?;
        let audience = claims.aud.map(|a| a.0).unwrap_or_default();
        if !audience
            .iter()
            .any(|aud| issuer.audiences.iter().any(|accepted| accepted == aud))
        {
            return Err(fail(AuthError::Audience));
        }
        if inner.require_subject && claims.sub.as_deref().is_none_or(str::is_empty) {
            return Err(fail(AuthError::Malformed));
        }
        let custom: T = serde_json::from_slice(&payload).map_err(|_| fail(AuthError::Malformed))?;

        let mut scopes: Vec<String> = claims
            .scope
            .into_iter()
            .chain(claims.scp)
            .flat_map(|list| list.0)
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        let mut roles = claims.roles.map(|r| r.0).unwrap_or_default();
        roles.sort_unstable();
        roles.dedup();
        let mut principal = Principal::new(claims.sub.clone().unwrap_or_default())
            .with_issuer(issuer.iss.clone())
            .with_scopes(scopes.iter().cloned())
            .with_roles(roles.iter().cloned());
        if let Some(sid) = &claims.sid {
            principal = principal.with_session_id(sid.clone());
        }
        let verified = Verified {
            claims: Claims::new(ClaimsInner {
                issuer: issuer.iss.clone(),
                subject: claims.sub,
                audience,
                expires_at: exp,
                not_before: nbf,
                issued_at: iat,
                jwt_id: claims.jti,
                session_id: claims.sid,
                scopes,
                roles,
                custom,
            }),
            principal,
        };
        if let (Some(cache), Some(digest)) = (&inner.cache, digest) {
            let until_exp = exp.saturating_add(inner.leeway).saturating_sub(now);
            let until_exp = Duration::from_secs(u64::try_from(until_exp).unwrap_or(0));
            let ttl = until_exp.min(inner.cache_ttl);
            if !ttl.is_zero() {
                cache.insert(
                    digest,
                    Arc::new(CacheEntry {
                        verified: verified.clone(),
                        key: key.clone(),
                        issuer: index,
                        exp,
                        nbf,
                        iat,
                        ttl: Ttl(ttl),
                    }),
                );
            }
        }
        Ok(verified)
    }

    /// The checks that depend on the clock: `exp`, `nbf`, `iat` and the
    /// maximum lifetime. Run on every call, cache hits included, so a cached
    /// verdict always holds for the `now` it is asked about.
    fn check_time(
        &self,
        exp: i64,
        nbf: Option<i64>,
        iat: Option<i64>,
        now: i64,
    ) -> Result<(), AuthError> {
        let leeway = self.inner.leeway;
        if exp.saturating_add(leeway) < now {
            return Err(AuthError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(AuthError::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(AuthError::IssuedInFuture);
        }
        if let Some(max) = self.inner.max_lifetime {
            let limit = max.saturating_add(leeway);
            let remaining = exp.saturating_sub(now);
            let total = iat.map_or(0, |iat| exp.saturating_sub(iat));
            if remaining > limit || total > limit {
                return Err(AuthError::Lifetime);
            }
        }
        Ok(())
    }

    /// How many verified tokens are remembered (approximate; for metrics).
    pub fn cached_tokens(&self) -> u64 {
        self.inner
            .cache
            .as_ref()
            .map_or(0, moka::sync::Cache::entry_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde::Deserialize;
    use serde_json::{Value, json};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;

    fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
    }

    fn key(kid: &str) -> Key {
        Key::hmac(Algorithm::HS256, SECRET)
            .unwrap()
            .with_kid(kid)
            .unwrap()
    }

    fn verifier_with(keys: KeySet) -> JwtVerifier {
        JwtVerifier::builder()
            .issuer(Issuer::new("https://idp").audience("api").keys(keys))
            .build()
            .unwrap()
    }

    fn mint(kid: &str, claims: &Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        encode(&header, claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    fn claims(exp: i64) -> Value {
        json!({"iss": "https://idp", "aud": ["other", "api"], "sub": "u1", "exp": exp,
               "scope": "b a", "scp": ["c", "a"], "roles": ["admin"], "sid": "s-1"})
    }

    #[test]
    fn verified_claims_and_principal() {
        let v = verifier_with(KeySet::new([key("k1")]).unwrap());
        let token = mint("k1", &claims(NOW + 600));
        let ok = v.verify_at(&token, at(NOW)).unwrap();
        assert_eq!(ok.claims.subject(), Some("u1"));
        assert_eq!(ok.claims.scopes(), ["a", "b", "c"]);
        assert_eq!(ok.claims.audience(), ["other", "api"]);
        assert_eq!(ok.principal.subject(), "u1");
        assert_eq!(ok.principal.issuer(), Some("https://idp"));
        assert!(ok.principal.has_scope("c"));
        assert!(ok.principal.has_role("admin"));
        assert_eq!(ok.principal.session_id(), Some("s-1"));
    }

    #[test]
    fn cached_tokens_still_expire() {
        let v = verifier_with(KeySet::new([key("k1")]).unwrap());
        let token = mint("k1", &claims(NOW + 100));
        assert!(v.verify_at(&token, at(NOW)).is_ok());
        v.inner.cache.as_ref().unwrap().run_pending_tasks();
        assert_eq!(v.cached_tokens(), 1);
        // Served from the cache, but the time checks run on every hit.
        assert!(v.verify_at(&token, at(NOW + 150)).is_ok());
        assert_eq!(
            v.verify_at(&token, at(NOW + 161)).unwrap_err(),
            AuthError::Expired
        );
    }

    #[test]
    fn cache_entries_die_with_their_key() {
        let k1 = key("k1");
        let set = KeySet::new([k1.clone()]).unwrap();
        let v = verifier_with(set);
        let token = mint("k1", &claims(NOW + 600));
        assert!(v.verify_at(&token, at(NOW)).is_ok());
        k1.retire();
        // The cached verification is not trusted any more; the full check
        // runs again (and the static set still holds the key, so it passes).
        assert!(v.verify_at(&token, at(NOW)).is_ok());
    }

    #[test]
    fn a_token_over_the_size_cap_costs_no_hash() {
        let v = verifier_with(KeySet::new([key("k1")]).unwrap());
        let huge = "a".repeat(token::MAX_TOKEN_LEN + 1);
        assert_eq!(
            v.verify_at(&huge, at(NOW)).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(v.cached_tokens(), 0);
    }

    #[test]
    fn custom_claims_are_typed_and_refuse_duplicates() {
        #[derive(Deserialize, Debug)]
        struct Mine {
            tenant: String,
        }
        let v = JwtVerifier::builder()
            .issuer(
                Issuer::new("https://idp")
                    .audience("api")
                    .keys(KeySet::new([key("k1")]).unwrap()),
            )
            .claims::<Mine>()
            .build()
            .unwrap();
        let mut c = claims(NOW + 600);
        c["tenant"] = json!("t-9");
        let ok = v.verify_at(&mint("k1", &c), at(NOW)).unwrap();
        assert_eq!(ok.claims.custom().tenant, "t-9");
        c["tenant"] = json!(9);
        assert_eq!(
            v.verify_at(&mint("k1", &c), at(NOW)).unwrap_err(),
            AuthError::Malformed
        );
    }

    #[test]
    fn configuration_errors_quote_the_problem() {
        let hmac = KeySet::new([key("k1")]).unwrap();
        let err = JwtVerifier::builder().build().unwrap_err();
        assert!(matches!(err, ConfigError::NoIssuer));
        let err = JwtVerifier::builder()
            .issuer(Issuer::new("https://idp").keys(hmac.clone()))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("`https://idp`"), "{err}");
        let err = JwtVerifier::builder()
            .issuer(Issuer::new("https://idp").audience("a").keys(hmac.clone()))
            .issuer(Issuer::new("https://idp").audience("a").keys(hmac.clone()))
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::DuplicateIssuer(_)), "{err}");
        let err = JwtVerifier::builder()
            .issuer(Issuer::new("https://idp").audience("a").keys(hmac.clone()))
            .leeway(Duration::from_secs(3600))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("3600s"), "{err}");
        let ed = KeySet::from_jwks(
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        )
        .unwrap();
        let err = JwtVerifier::builder()
            .issuer(Issuer::new("https://a").audience("a").keys(hmac))
            .issuer(Issuer::new("https://b").audience("a").keys(ed))
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::MixedFamilies { .. }), "{err}");
    }
}
