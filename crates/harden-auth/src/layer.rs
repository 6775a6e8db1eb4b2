//! The tower adapter: [`AuthLayer`], [`AuthService`] and their future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harden_core::future::OnResponse;
use harden_core::{ErrorResponse, Principal, Rejection, ResponseBody};
use http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::NoClaims;
use crate::error::{AuthError, ConfigError};
use crate::verifier::{JwtVerifier, Verified};

/// What a route requires of a verified caller beyond a valid token.
///
/// ```
/// use harden_auth::Requirement;
/// use harden_core::Principal;
///
/// let admin = Requirement::any_scope(["admin"]).or_any_role(["admin"]);
/// assert!(admin.is_met_by(&Principal::new("u").with_roles(["admin"])));
/// assert!(!admin.is_met_by(&Principal::new("u").with_scopes(["read"])));
///
/// let both = Requirement::all_scopes(["orders:read", "orders:write"]);
/// assert!(!both.is_met_by(&Principal::new("u").with_scopes(["orders:read"])));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Requirement {
    any_scope: Vec<String>,
    all_scopes: Vec<String>,
    any_role: Vec<String>,
    all_roles: Vec<String>,
}

impl Requirement {
    fn empty() -> Self {
        Requirement {
            any_scope: Vec::new(),
            all_scopes: Vec::new(),
            any_role: Vec::new(),
            all_roles: Vec::new(),
        }
    }

    /// At least one of these scopes.
    pub fn any_scope<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        Requirement {
            any_scope: collect(scopes),
            ..Requirement::empty()
        }
    }

    /// Every one of these scopes.
    pub fn all_scopes<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        Requirement {
            all_scopes: collect(scopes),
            ..Requirement::empty()
        }
    }

    /// At least one of these roles.
    pub fn any_role<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Self {
        Requirement {
            any_role: collect(roles),
            ..Requirement::empty()
        }
    }

    /// Every one of these roles.
    pub fn all_roles<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Self {
        Requirement {
            all_roles: collect(roles),
            ..Requirement::empty()
        }
    }

    /// Also satisfied by any one of these roles (scopes *or* roles).
    pub fn or_any_role<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.any_role.extend(collect(roles));
        self
    }

    /// Whether `principal` meets the requirement: the "any" lists are
    /// alternatives to each other, the "all" lists must each hold fully.
    pub fn is_met_by(&self, principal: &Principal) -> bool {
        let any_listed = !self.any_scope.is_empty() || !self.any_role.is_empty();
        let any_ok = !any_listed
            || self.any_scope.iter().any(|s| principal.has_scope(s))
            || self.any_role.iter().any(|r| principal.has_role(r));
        any_ok
            && self.all_scopes.iter().all(|s| principal.has_scope(s))
            && self.all_roles.iter().all(|r| principal.has_role(r))
    }

    /// The scopes to name in the `insufficient_scope` challenge.
    fn challenge_scopes(&self) -> String {
        let mut scopes: Vec<&str> = self
            .all_scopes
            .iter()
            .chain(&self.any_scope)
            .map(String::as_str)
            .collect();
        scopes.dedup();
        scopes.join(" ")
    }

    /// The challenges for a missing principal and for an unmet requirement.
    pub(crate) fn challenges(
        &self,
        realm: &str,
    ) -> Result<(HeaderValue, HeaderValue), ConfigError> {
        self.validate()?;
        let scope = Some(self.challenge_scopes())
            .filter(|s| !s.is_empty())
            .map(|s| format!(", scope=\"{s}\""))
            .unwrap_or_default();
        Ok((
            challenge(realm, "")?,
            challenge(realm, &format!(", error=\"insufficient_scope\"{scope}"))?,
        ))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for item in self
            .any_scope
            .iter()
            .chain(&self.all_scopes)
            .chain(&self.any_role)
            .chain(&self.all_roles)
        {
            // RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
            let ok = !item.is_empty()
                && item
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !ok {
                return Err(ConfigError::Setting {
                    setting: "requirement",
                    value: item.clone(),
                    reason: "scopes and roles are non-empty printable ASCII without spaces, quotes or backslashes",
                });
            }
        }
        Ok(())
    }
}

/// `Bearer realm="…"` followed by `extra`; the realm must be quotable.
pub(crate) fn challenge(realm: &str, extra: &str) -> Result<HeaderValue, ConfigError> {
    let quotable = realm
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if realm.is_empty() || !quotable {
        return Err(ConfigError::Setting {
            setting: "realm",
            value: realm.to_owned(),
            reason: "a realm is non-empty printable ASCII without quotes or backslashes",
        });
    }
    HeaderValue::try_from(format!("Bearer realm=\"{realm}\"{extra}")).map_err(|_| {
        ConfigError::Setting {
            setting: "realm",
            value: realm.to_owned(),
            reason: "not a valid header value",
        }
    })
}

fn collect<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

/// Authenticates requests with bearer JWTs (RFC 6750) and puts the verified
/// [`Principal`] and [`Claims`](crate::Claims) in the request extensions (and
/// the principal in the response extensions, for audit).
///
/// - No token: 401 with `WWW-Authenticate: Bearer realm="…"` (or, in
///   optional mode, the request goes on without a principal).
/// - A bad token: 401 with `error="invalid_token"`; the body never says which
///   check failed. Two `Authorization` headers: 400 `invalid_request`.
/// - Valid, but a scope or role missing: 403 with
///   `error="insufficient_scope", scope="…"`.
/// - Keys not loaded yet, or too stale: 503 with `Retry-After`.
/// - CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) pass
///   without a token.
///
/// Tokens are read from the `Authorization` header, or from a cookie if one is
/// configured, never from the query string. The token never reaches a log.
pub struct AuthLayer<T = NoClaims> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    verifier: JwtVerifier<T>,
    optional: bool,
    requirement: Option<Requirement>,
    cookie: Option<String>,
    retry_after: Duration,
    challenge: HeaderValue,
    invalid_token: HeaderValue,
    invalid_request: HeaderValue,
    insufficient_scope: HeaderValue,
}

impl<T> Clone for AuthLayer<T> {
    fn clone(&self) -> Self {
        AuthLayer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for AuthLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.shared.verifier)
            .field("optional", &self.shared.optional)
            .field("requirement", &self.shared.requirement)
            .field("cookie", &self.shared.cookie)
            .finish_non_exhaustive()
    }
}

impl<T> AuthLayer<T> {
    /// A builder for a layer that authenticates with `verifier`.
    pub fn builder(verifier: JwtVerifier<T>) -> AuthLayerBuilder<T> {
        AuthLayerBuilder {
            verifier,
            optional: false,
            requirement: None,
            cookie: None,
            realm: "api".to_owned(),
            retry_after: Duration::from_secs(5),
        }
    }
}

/// Builds an [`AuthLayer`].
#[must_use]
pub struct AuthLayerBuilder<T = NoClaims> {
    verifier: JwtVerifier<T>,
    optional: bool,
    requirement: Option<Requirement>,
    cookie: Option<String>,
    realm: String,
    retry_after: Duration,
}

impl<T> fmt::Debug for AuthLayerBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayerBuilder")
            .field("optional", &self.optional)
            .field("requirement", &self.requirement)
            .field("cookie", &self.cookie)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl<T> AuthLayerBuilder<T> {
    /// Lets requests without credentials through, without a principal (a bad
    /// token is still refused).
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Requires scopes or roles of every authenticated request.
    pub fn require(mut self, requirement: Requirement) -> Self {
        self.requirement = Some(requirement);
        self
    }

    /// Also reads the token from this cookie when there is no `Authorization`
    /// header. (Cookie-borne tokens need CSRF protection of their own.)
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// The `realm` of the challenge (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The `Retry-After` of a 503 while keys are unavailable and the key
    /// source gives no better estimate (default 5 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Checks the settings and builds the layer.
    ///
    /// # Errors
    ///
    /// When the realm or cookie name could break the header they go in, or a
    /// scope or role is not a valid scope token.
    pub fn build(self) -> Result<AuthLayer<T>, ConfigError> {
        if let Some(name) = &self.cookie
            && !harden_core::syntax::is_token(name.as_bytes())
        {
            return Err(ConfigError::Setting {
                setting: "cookie",
                value: name.clone(),
                reason: "a cookie name is an RFC 9110 token",
            });
        }
        let (challenge_header, insufficient_scope) = self
            .requirement
            .clone()
            .unwrap_or_else(Requirement::empty)
            .challenges(&self.realm)?;
        Ok(AuthLayer {
            shared: Arc::new(Shared {
                challenge: challenge_header,
                invalid_token: challenge(&self.realm, ", error=\"invalid_token\"")?,
                invalid_request: challenge(&self.realm, ", error=\"invalid_request\"")?,
                insufficient_scope,
                verifier: self.verifier,
                optional: self.optional,
                requirement: self.requirement,
                cookie: self.cookie,
                retry_after: self.retry_after,
            }),
        })
    }
}

impl<S, T> Layer<S> for AuthLayer<T> {
    type Service = AuthService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service produced by [`AuthLayer`].
pub struct AuthService<S, T = NoClaims> {
    inner: S,
    shared: Arc<Shared<T>>,
}

impl<S: Clone, T> Clone for AuthService<S, T> {
    fn clone(&self) -> Self {
        AuthService {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for AuthService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("verifier", &self.shared.verifier)
            .finish_non_exhaustive()
    }
}

/// Finds the bearer token: exactly one `Authorization` header with the
/// `Bearer` scheme (any case), or else the configured cookie.
pub(crate) fn find_token<'a>(
    headers: &'a HeaderMap,
    cookie: Option<&str>,
) -> Result<Option<&'a str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    if let Some(value) = values.next() {
        if values.next().is_some() {
            return Err(AuthError::BadRequest);
        }
        let Ok(value) = value.to_str() else {
            return Err(AuthError::Malformed);
        };
        let Some((scheme, rest)) = value.split_once(' ') else {
            // A lone scheme (`Bearer`) is a bearer request without a token.
            return if value.eq_ignore_ascii_case("bearer") {
                Err(AuthError::Malformed)
            } else {
                Ok(None)
            };
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(None);
        }
        let token = rest.trim_start_matches(' ');
        if token.is_empty() {
            return Err(AuthError::Malformed);
        }
        return Ok(Some(token));
    }
    let Some(name) = cookie else {
        return Ok(None);
    };
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for pair in header.split(';') {
            let Some((n, v)) = pair.trim_matches(' ').split_once('=') else {
                continue;
            };
            if n == name {
                if found.is_some() {
                    // Two cookies of one name: one may be planted (cookie tossing).
                    return Err(AuthError::BadRequest);
                }
                found = Some(v.trim_matches('"'));
            }
        }
    }
    Ok(found.filter(|v| !v.is_empty()))
}

impl<T> Shared<T> {
    /// The answer to a refused request.
    fn refuse<B>(
        &self,
        error: &AuthError,
        extensions: &http::Extensions,
    ) -> Response<ResponseBody<B>> {
        let (status, message, challenge) = match error {
            AuthError::Missing => (
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                &self.challenge,
            ),
            AuthError::BadRequest => (
                StatusCode::BAD_REQUEST,
                "Invalid authorization request",
                &self.invalid_request,
            ),
            AuthError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "Insufficient scope",
                &self.insufficient_scope,
            ),
            AuthError::KeysUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "", &self.challenge)
            }
            _ => (
                StatusCode::UNAUTHORIZED,
                "Invalid or expired token",
                &self.invalid_token,
            ),
        };
        let mut response = ErrorResponse::new(status, message)
            .rejection(Rejection::new("auth", error.class()))
            .header(WWW_AUTHENTICATE, challenge.clone());
        if let AuthError::KeysUnavailable { retry_after } = error {
            let secs = retry_after.max(&self.retry_after).as_secs().max(1);
            response = response.header(RETRY_AFTER, HeaderValue::from(secs));
        }
        response.for_request(extensions).into_response()
    }

    /// Applies the requirement; on success puts the principal and claims in
    /// the request.
    fn admit<B>(&self, verified: Verified<T>, req: &mut Request<B>) -> Result<Principal, AuthError>
    where
        T: Send + Sync + 'static,
    {
        if let Some(requirement) = &self.requirement
            && !requirement.is_met_by(&verified.principal)
        {
            tracing::debug!(
                target: "harden_auth",
                class = "insufficient-scope",
                iss = verified.claims.issuer(),
                "bearer token lacks a required scope or role"
            );
            return Err(AuthError::InsufficientScope);
        }
        let extensions = req.extensions_mut();
        extensions.insert(verified.principal.clone());
        extensions.insert(verified.claims);
        Ok(verified.principal)
    }
}

fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        if is_preflight(&req) {
            return ResponseFuture::core(self.inner.call(req), None);
        }
        let token = match find_token(req.headers(), shared.cookie.as_deref()) {
            Ok(Some(token)) => token,
            Ok(None) if shared.optional => return ResponseFuture::core(self.inner.call(req), None),
            Ok(None) => {
                return ResponseFuture::answer(
                    shared.refuse(&AuthError::Missing, req.extensions()),
                );
            }
            Err(error) => return ResponseFuture::answer(shared.refuse(&error, req.extensions())),
        };
        match shared.verifier.check(token, unix_now()) {
            Ok(verified) => match shared.admit(verified, &mut req) {
                Ok(principal) => ResponseFuture::core(self.inner.call(req), Some(principal)),
                Err(error) => ResponseFuture::answer(shared.refuse(&error, req.extensions())),
            },
            #[cfg(feature = "remote")]
            Err(crate::verifier::Failure {
                refetch: Some(remote),
                kid,
                ..
            }) => {
                let verifier = shared.verifier.clone();
                let token = token.to_owned();
                let refetch = Box::pin(async move {
                    remote.refetch(kid).await;
                    verifier.check(&token, unix_now()).map_err(|failure| {
                        failure.log();
                        failure.error
                    })
                });
                // Keep the service that was driven to readiness for this call.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::refetch(refetch, ready, req, Arc::clone(shared))
            }
            Err(failure) => {
                failure.log();
                ResponseFuture::answer(shared.refuse(&failure.error, req.extensions()))
            }
        }
    }
}

/// Puts the principal in the response extensions, for audit.
#[derive(Debug)]
pub struct PrincipalOnResponse(Option<Principal>);

impl<B> OnResponse<B> for PrincipalOnResponse {
    fn on_response(self, response: &mut Response<B>) {
        if let Some(principal) = self.0 {
            response.extensions_mut().insert(principal);
        }
    }
}

type CoreFuture<F, B> = harden_core::future::ResponseFuture<F, B, PrincipalOnResponse>;
type Refetching<T> = Pin<Box<dyn Future<Output = Result<Verified<T>, AuthError>> + Send>>;

pin_project! {
    /// The response future of [`AuthService`]: the refusal, the inner
    /// service's response, or — when a token names a key a remote key set
    /// does not know yet — the wait for one shared refetch, then either.
    pub struct ResponseFuture<S, ReqBody, ResBody, T>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, ResBody, T>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, ResBody, T>
    where
        S: Service<Request<ReqBody>>,
    {
        Core {
            #[pin]
            future: CoreFuture<S::Future, ResBody>,
        },
        Refetch {
            refetch: Refetching<T>,
            service: Option<S>,
            request: Option<Request<ReqBody>>,
            shared: Arc<Shared<T>>,
        },
    }
}

impl<S, ReqBody, ResBody, T> ResponseFuture<S, ReqBody, ResBody, T>
where
    S: Service<Request<ReqBody>>,
{
    fn core(future: S::Future, principal: Option<Principal>) -> Self {
        ResponseFuture {
            state: State::Core {
                future: CoreFuture::inner(future, PrincipalOnResponse(principal)),
            },
        }
    }

    fn answer(response: Response<ResponseBody<ResBody>>) -> Self {
        ResponseFuture {
            state: State::Core {
                future: CoreFuture::answer(response),
            },
        }
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    fn refetch(
        refetch: Refetching<T>,
        service: S,
        request: Request<ReqBody>,
        shared: Arc<Shared<T>>,
    ) -> Self {
        ResponseFuture {
            state: State::Refetch {
                refetch,
                service: Some(service),
                request: Some(request),
                shared,
            },
        }
    }
}

impl<S, ReqBody, ResBody, T> Future for ResponseFuture<S, ReqBody, ResBody, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    T: Send + Sync + 'static,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Core { future } => return future.poll(cx),
                StateProj::Refetch {
                    refetch,
                    service,
                    request,
                    shared,
                } => {
                    let outcome = ready!(refetch.as_mut().poll(cx));
                    let (Some(mut req), Some(mut svc)) = (request.take(), service.take()) else {
                        // Polled after completion: the state was replaced
                        // before this could happen.
                        return Poll::Pending;
                    };
                    let admitted = outcome.and_then(|verified| shared.admit(verified, &mut req));
                    match admitted {
                        Ok(principal) => State::Core {
                            future: CoreFuture::inner(
                                svc.call(req),
                                PrincipalOnResponse(Some(principal)),
                            ),
                        },
                        Err(error) => State::Core {
                            future: CoreFuture::answer(shared.refuse(&error, req.extensions())),
                        },
                    }
                }
            };
            this.state.set(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Issuer, Key, KeySet};
    use jsonwebtoken::{EncodingKey, Header, encode};
    use std::convert::Infallible;
    use tower::{ServiceExt, service_fn};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn token(claims: serde_json::Value) -> String {
        encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn good(scope: &str) -> String {
        let exp = unix_now() + 600;
        token(
            serde_json::json!({"iss": "https://idp", "aud": "api", "sub": "u1", "exp": exp, "scope": scope}),
        )
    }

    fn layer(f: impl FnOnce(AuthLayerBuilder) -> AuthLayerBuilder) -> AuthLayer {
        let verifier = JwtVerifier::builder()
            .issuer(
                Issuer::new("https://idp")
                    .audience("api")
                    .keys(KeySet::new([Key::hmac(Algorithm::HS256, SECRET).unwrap()]).unwrap()),
            )
            .build()
            .unwrap();
        f(AuthLayer::builder(verifier)).build().unwrap()
    }

    async fn send(layer: &AuthLayer, req: Request<()>) -> Response<ResponseBody<String>> {
        let svc = layer.layer(service_fn(|req: Request<()>| async move {
            let who = req
                .extensions()
                .get::<Principal>()
                .map_or("anonymous".to_owned(), |p| p.subject().to_owned());
            Ok::<_, Infallible>(Response::new(who))
        }));
        svc.oneshot(req).await.unwrap()
    }

    fn bearer(value: &str) -> Request<()> {
        Request::builder()
            .header(AUTHORIZATION, value)
            .body(())
            .unwrap()
    }

    #[test]
    fn token_extraction_follows_rfc_6750() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = HeaderMap::new();
            for (n, v) in pairs {
                map.append(
                    http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            map
        };
        let find = |pairs: &[(&str, &str)], cookie: Option<&str>| {
            find_token(&headers(pairs), cookie).map(|t| t.map(str::to_owned))
        };
        assert_eq!(
            find(&[("authorization", "Bearer abc")], None),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            find(&[("authorization", "bEaReR  abc")], None),
            Ok(Some("abc".into()))
        );
        assert_eq!(find(&[("authorization", "Basic dTpw")], None), Ok(None));
        assert_eq!(
            find(&[("authorization", "Bearer")], None),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            find(&[("authorization", "Bearer ")], None),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            find(
                &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
                None
            ),
            Err(AuthError::BadRequest)
        );
        assert_eq!(
            find(&[("cookie", "x=1; at=tok")], Some("at")),
            Ok(Some("tok".into()))
        );
        assert_eq!(find(&[("cookie", "x=1; at=tok")], None), Ok(None));
        assert_eq!(
            find(&[("cookie", "at=one"), ("cookie", "at=two")], Some("at")),
            Err(AuthError::BadRequest)
        );
        // The header wins over the cookie.
        assert_eq!(
            find(
                &[("authorization", "Bearer h"), ("cookie", "at=c")],
                Some("at")
            ),
            Ok(Some("h".into()))
        );
    }

    #[tokio::test]
    async fn challenges_and_statuses() {
        let l = layer(|b| b.realm("orders").require(Requirement::any_scope(["admin"])));
        let res = send(&l, Request::new(())).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer realm=\"orders\"");

        let res = send(&l, bearer("Bearer not.a.jwt")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"orders\", error=\"invalid_token\""
        );
        assert_eq!(
            res.extensions().get::<Rejection>().unwrap().reason(),
            "malformed"
        );

        let res = send(&l, bearer(&format!("Bearer {}", good("read")))).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"orders\", error=\"insufficient_scope\", scope=\"admin\""
        );

        let res = send(&l, bearer(&format!("Bearer {}", good("read admin")))).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.extensions().get::<Principal>().unwrap().subject(), "u1");
    }

    #[tokio::test]
    async fn preflights_pass_and_optional_mode_admits_anonymous() {
        let l = layer(|b| b);
        let preflight = Request::builder()
            .method(Method::OPTIONS)
            .header("access-control-request-method", "POST")
            .body(())
            .unwrap();
        assert_eq!(send(&l, preflight).await.status(), StatusCode::OK);
        // A plain OPTIONS is not a preflight.
        let options = Request::builder().method(Method::OPTIONS).body(()).unwrap();
        assert_eq!(send(&l, options).await.status(), StatusCode::UNAUTHORIZED);

        let l = layer(AuthLayerBuilder::optional);
        let res = send(&l, Request::new(())).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.extensions().get::<Principal>().is_none());
        // A bad token is refused even in optional mode.
        assert_eq!(
            send(&l, bearer("Bearer x.y.z")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let verifier = || {
            JwtVerifier::builder()
                .issuer(
                    Issuer::new("https://idp")
                        .audience("api")
                        .keys(KeySet::new([Key::hmac(Algorithm::HS256, SECRET).unwrap()]).unwrap()),
                )
                .build()
                .unwrap()
        };
        let err = AuthLayer::builder(verifier())
            .realm("a\"b")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("a\\\"b"), "{err}");
        let err = AuthLayer::builder(verifier())
            .cookie("a b")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("`a b`"), "{err}");
        let err = AuthLayer::builder(verifier())
            .require(Requirement::any_scope(["has space"]))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("has space"), "{err}");
    }
}
