//! `Principal`: who the caller is, once authentication has verified it.

use std::sync::Arc;

/// The verified caller of a request: set by authentication (harden-auth) in the
/// request extensions, read by audit and per-principal rate limits.
///
/// Holds identifiers only, never the credential that proved them.
///
/// ```
/// use harden_core::Principal;
///
/// let who = Principal::new("user-17")
///     .with_scopes(["orders:read", "orders:write"])
///     .with_session_id("sess-9");
/// assert!(who.has_scope("orders:write"));
/// assert!(!who.has_scope("admin"));
/// assert_eq!(who.session_id(), Some("sess-9"));
/// ```
///
/// Cloning is cheap: the identifiers are shared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Inner {
    subject: String,
    issuer: Option<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
    session_id: Option<String>,
}

impl Principal {
    /// A principal identified by `subject` (a JWT `sub`, an API client id).
    pub fn new(subject: impl Into<String>) -> Self {
        Principal {
            inner: Arc::new(Inner {
                subject: subject.into(),
                issuer: None,
                scopes: Vec::new(),
                roles: Vec::new(),
                session_id: None,
            }),
        }
    }

    /// Sets the issuer that vouched for the subject (a JWT `iss`). Subjects are
    /// unique only per issuer.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).issuer = Some(issuer.into());
        self
    }

    /// Sets the granted scopes (duplicates are dropped).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let inner = Arc::make_mut(&mut self.inner);
        inner.scopes = scopes.into_iter().map(Into::into).collect();
        inner.scopes.sort_unstable();
        inner.scopes.dedup();
        self
    }

    /// Sets the granted roles (duplicates are dropped).
    #[must_use]
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let inner = Arc::make_mut(&mut self.inner);
        inner.roles = roles.into_iter().map(Into::into).collect();
        inner.roles.sort_unstable();
        inner.roles.dedup();
        self
    }

    /// Sets the session id (a JWT `sid`).
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).session_id = Some(session_id.into());
        self
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The issuer, if known.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The granted scopes, sorted.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.inner.scopes.iter().map(String::as_str)
    }

    /// Whether `scope` was granted (exact, case-sensitive match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner
            .scopes
            .binary_search_by(|s| s.as_str().cmp(scope))
            .is_ok()
    }

    /// The granted roles, sorted.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.inner.roles.iter().map(String::as_str)
    }

    /// Whether `role` was granted (exact, case-sensitive match).
    pub fn has_role(&self, role: &str) -> bool {
        self.inner
            .roles
            .binary_search_by(|r| r.as_str().cmp(role))
            .is_ok()
    }

    /// The session id, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session_id.as_deref()
    }
}

/// The verified caller as an axum extractor: rejects with 401 (in the shared
/// error format) when no authentication layer put a principal in the request.
/// `Option<Principal>` never rejects, for routes where authentication is
/// optional.
#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Principal {
    type Rejection = http::Response<axum::body::Body>;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            crate::ErrorResponse::new(http::StatusCode::UNAUTHORIZED, "Authentication required")
                .rejection(crate::Rejection::new("auth", "no-principal"))
                .header(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer"),
                )
                .for_request(&parts.extensions)
                .into_response::<axum::body::Body>()
                .map(axum::body::Body::new)
        })
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_exact_and_deduplicated() {
        let p = Principal::new("s").with_scopes(["b", "a", "b", "A"]);
        assert_eq!(p.scopes().collect::<Vec<_>>(), ["A", "a", "b"]);
        assert!(p.has_scope("a"));
        assert!(p.has_scope("A"));
        assert!(!p.has_scope("a "));
        assert!(!p.has_scope(""));
    }

    #[test]
    fn roles_are_exact_and_deduplicated() {
        let p = Principal::new("s").with_roles(["admin", "ops", "admin"]);
        assert_eq!(p.roles().collect::<Vec<_>>(), ["admin", "ops"]);
        assert!(p.has_role("ops"));
        assert!(!p.has_role("Ops"));
        assert!(!p.has_scope("ops"));
    }

    #[test]
    fn issuer_and_session_are_optional() {
        let p = Principal::new("s");
        assert_eq!((p.issuer(), p.session_id()), (None, None));
        let p = p.with_issuer("https://idp").with_session_id("x");
        assert_eq!(
            (p.issuer(), p.session_id()),
            (Some("https://idp"), Some("x"))
        );
    }
}
