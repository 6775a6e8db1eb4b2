//! `Principal`: who the caller is, once authentication has verified it.

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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    subject: String,
    issuer: Option<String>,
    scopes: Vec<String>,
    session_id: Option<String>,
}

impl Principal {
    /// A principal identified by `subject` (a JWT `sub`, an API client id).
    pub fn new(subject: impl Into<String>) -> Self {
        Principal {
            subject: subject.into(),
            issuer: None,
            scopes: Vec::new(),
            session_id: None,
        }
    }

    /// Sets the issuer that vouched for the subject (a JWT `iss`). Subjects are
    /// unique only per issuer.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the granted scopes (duplicates are dropped).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self.scopes.sort_unstable();
        self.scopes.dedup();
        self
    }

    /// Sets the session id (a JWT `sid`).
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer, if known.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The granted scopes, sorted.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(String::as_str)
    }

    /// Whether `scope` was granted (exact, case-sensitive match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .binary_search_by(|s| s.as_str().cmp(scope))
            .is_ok()
    }

    /// The session id, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
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
