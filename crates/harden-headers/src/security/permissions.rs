//! `PermissionsPolicy`: which powerful browser features the page and its frames
//! may use.

use std::borrow::Cow;

use bytes::Bytes;
use http::HeaderValue;

use crate::ConfigError;

/// Who may use a feature: nobody `()`, everyone `*`, or the page's origin and
/// listed origins `(self "https://maps.example")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowlist {
    any: bool,
    self_origin: bool,
    origins: Vec<Cow<'static, str>>,
}

impl Allowlist {
    /// `()`: nobody, not even the page itself.
    pub fn none() -> Self {
        Allowlist {
            any: false,
            self_origin: false,
            origins: Vec::new(),
        }
    }

    /// `*`: every origin, including cross-origin frames.
    pub fn any() -> Self {
        Allowlist {
            any: true,
            ..Self::none()
        }
    }

    /// `(self)`: the page's own origin.
    pub fn self_origin() -> Self {
        Allowlist {
            self_origin: true,
            ..Self::none()
        }
    }

    /// Listed origins (`https://maps.example`, `https://*.example.com`).
    pub fn origins<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        Self::none().and_origins(origins)
    }

    /// Adds the page's own origin.
    #[must_use]
    pub fn and_self(mut self) -> Self {
        self.self_origin = true;
        self
    }

    /// Adds listed origins.
    #[must_use]
    pub fn and_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    fn write(&self, out: &mut String) {
        if self.any {
            out.push('*');
            return;
        }
        out.push('(');
        let mut sep = "";
        if self.self_origin {
            out.push_str("self");
            sep = " ";
        }
        for origin in &self.origins {
            out.push_str(sep);
            out.push('"');
            out.push_str(origin);
            out.push('"');
            sep = " ";
        }
        out.push(')');
    }
}

/// A `Permissions-Policy` header
/// ([W3C](https://www.w3.org/TR/permissions-policy/),
/// [MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Permissions-Policy)).
///
/// ```
/// use harden_headers::security::{Allowlist, PermissionsPolicy};
///
/// let policy = PermissionsPolicy::builder()
///     .deny("camera")
///     .allow_self("fullscreen")
///     .allow("geolocation", Allowlist::self_origin().and_origins(["https://maps.example"]))
///     .build()?;
/// assert_eq!(
///     policy.header_value(),
///     r#"camera=(), fullscreen=(self), geolocation=(self "https://maps.example")"#
/// );
///
/// // Typos are errors, not silently ungoverned features.
/// assert!(PermissionsPolicy::builder().deny("geolocaton").build().is_err());
/// # Ok::<(), harden_headers::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionsPolicy {
    features: Vec<(Cow<'static, str>, Allowlist)>,
    value: HeaderValue,
}

/// The OWASP Secure Headers Project's list (`ci/headers_add.json`), without
/// `interest-cohort`.
const DENY_ALL: &[&str] = &[
    "accelerometer",
    "autoplay",
    "camera",
    "cross-origin-isolated",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "keyboard-map",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "sync-xhr",
    "usb",
    "web-share",
    "xr-spatial-tracking",
    "clipboard-read",
    "clipboard-write",
    "gamepad",
    "hid",
    "idle-detection",
    "serial",
    "unload",
];

impl PermissionsPolicy {
    /// An empty builder.
    pub fn builder() -> PermissionsPolicyBuilder {
        PermissionsPolicyBuilder::default()
    }

    /// The OWASP Secure Headers Project's policy: every listed feature `()`,
    /// except `sync-xhr=(self)` as OWASP has it.
    ///
    /// OWASP's `interest-cohort=()` is left out: FLoC is dead, and Chrome logs
    /// "Unrecognized feature: 'interest-cohort'" on every page that sends it.
    pub fn deny_all() -> Self {
        let features = DENY_ALL
            .iter()
            .map(|name| {
                let allow = if *name == "sync-xhr" {
                    Allowlist::self_origin()
                } else {
                    Allowlist::none()
                };
                (Cow::Borrowed(*name), allow)
            })
            .collect();
        Self::assemble(features)
    }

    fn assemble(features: Vec<(Cow<'static, str>, Allowlist)>) -> Self {
        let mut out = String::with_capacity(features.len() * 16);
        for (i, (name, allow)) in features.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            out.push('=');
            allow.write(&mut out);
        }
        // Validated names and origins are visible ASCII without `"` or `\`;
        // should that ever fail, nothing is allowed.
        let value = HeaderValue::from_maybe_shared(Bytes::from(out)).unwrap_or_else(|_| {
            HeaderValue::from_static("camera=(), geolocation=(), microphone=()")
        });
        PermissionsPolicy { features, value }
    }

    /// A builder holding this policy, to change it.
    pub fn into_builder(self) -> PermissionsPolicyBuilder {
        PermissionsPolicyBuilder {
            features: self
                .features
                .into_iter()
                .map(|(name, allow)| (name, allow, true))
                .collect(),
        }
    }

    /// The allowlist of `feature`, if the policy names it.
    pub fn get(&self, feature: &str) -> Option<&Allowlist> {
        self.features
            .iter()
            .find(|(name, _)| name == feature)
            .map(|(_, allow)| allow)
    }

    /// The header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }
}

/// Builds a [`PermissionsPolicy`]; names and origins are validated by
/// [`PermissionsPolicyBuilder::build`].
///
/// Naming a feature twice replaces its allowlist.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct PermissionsPolicyBuilder {
    /// Feature, allowlist, and whether the name must be a known feature.
    features: Vec<(Cow<'static, str>, Allowlist, bool)>,
}

impl PermissionsPolicyBuilder {
    /// Sets `feature` (a known feature name, checked at build) to `allow`.
    pub fn allow(self, feature: impl Into<Cow<'static, str>>, allow: Allowlist) -> Self {
        self.set(feature.into(), allow, true)
    }

    /// `feature=()`: nobody may use it.
    pub fn deny(self, feature: impl Into<Cow<'static, str>>) -> Self {
        self.allow(feature, Allowlist::none())
    }

    /// `feature=(self)`: only the page's own origin.
    pub fn allow_self(self, feature: impl Into<Cow<'static, str>>) -> Self {
        self.allow(feature, Allowlist::self_origin())
    }

    /// Sets a feature this crate does not know yet (only its syntax is
    /// checked): for features browsers shipped after this release.
    pub fn custom(self, feature: impl Into<Cow<'static, str>>, allow: Allowlist) -> Self {
        self.set(feature.into(), allow, false)
    }

    /// Stops naming `feature`, leaving it at the browser's default.
    pub fn remove(mut self, feature: &str) -> Self {
        self.features.retain(|(name, _, _)| name != feature);
        self
    }

    fn set(mut self, feature: Cow<'static, str>, allow: Allowlist, known: bool) -> Self {
        match self
            .features
            .iter_mut()
            .find(|(name, _, _)| *name == feature)
        {
            Some(entry) => *entry = (feature, allow, known),
            None => self.features.push((feature, allow, known)),
        }
        self
    }

    /// Validates and builds the policy.
    ///
    /// # Errors
    ///
    /// - [`ConfigError::PermissionsFeature`]: a name that is not a lowercase
    ///   structured-field key, or (except through
    ///   [`custom`](Self::custom)) not a feature this crate knows.
    /// - [`ConfigError::PermissionsOrigin`]: an allowlist entry that is not a
    ///   `scheme://host[:port]` origin.
    /// - [`ConfigError::SecurityHeaders`]: a policy that names no feature.
    pub fn build(self) -> Result<PermissionsPolicy, ConfigError> {
        if self.features.is_empty() {
            return Err(ConfigError::SecurityHeaders {
                reason: "a Permissions-Policy needs at least one feature",
            });
        }
        let mut features = Vec::with_capacity(self.features.len());
        for (name, mut allow, known) in self.features {
            check_feature(&name, known)?;
            for origin in &allow.origins {
                check_origin(origin).map_err(|reason| ConfigError::PermissionsOrigin {
                    feature: name.to_string(),
                    value: origin.to_string(),
                    reason,
                })?;
            }
            allow.origins.dedup();
            features.push((name, allow));
        }
        Ok(PermissionsPolicy::assemble(features))
    }
}

/// Feature names from the W3C registry and Chromium's list; `ch-*` client
/// hints are accepted by prefix.
const KNOWN: &[&str] = &[
    "accelerometer",
    "ambient-light-sensor",
    "attribution-reporting",
    "autoplay",
    "bluetooth",
    "browsing-topics",
    "camera",
    "captured-surface-control",
    "clipboard-read",
    "clipboard-write",
    "compute-pressure",
    "cross-origin-isolated",
    "deferred-fetch",
    "deferred-fetch-minimal",
    "digital-credentials-get",
    "direct-sockets",
    "display-capture",
    "document-domain",
    "encrypted-media",
    "execution-while-not-rendered",
    "execution-while-out-of-viewport",
    "focus-without-user-activation",
    "fullscreen",
    "gamepad",
    "geolocation",
    "gyroscope",
    "hid",
    "identity-credentials-get",
    "idle-detection",
    "join-ad-interest-group",
    "keyboard-map",
    "language-detector",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "otp-credentials",
    "payment",
    "picture-in-picture",
    "private-aggregation",
    "private-state-token-issuance",
    "private-state-token-redemption",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "rewriter",
    "run-ad-auction",
    "screen-wake-lock",
    "serial",
    "shared-storage",
    "shared-storage-select-url",
    "smart-card",
    "speaker-selection",
    "storage-access",
    "summarizer",
    "sync-xhr",
    "translator",
    "unload",
    "usb",
    "vertical-scroll",
    "web-share",
    "window-management",
    "writer",
    "xr-spatial-tracking",
];

fn check_feature(name: &str, known: bool) -> Result<(), ConfigError> {
    let bad = |reason| ConfigError::PermissionsFeature {
        name: name.to_owned(),
        reason,
    };
    let mut bytes = name.bytes();
    let syntax = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !syntax {
        return Err(bad(
            "a feature name is lowercase letters, digits and `-`, starting with a letter",
        ));
    }
    if name == "interest-cohort" {
        return Err(bad(
            "FLoC is gone and Chrome logs a console warning for this feature: leave it out",
        ));
    }
    if known && !KNOWN.contains(&name) && !name.starts_with("ch-") {
        return Err(bad(
            "is not a known feature (a typo would leave the real one ungoverned); \
             use `custom` for a feature newer than this crate",
        ));
    }
    Ok(())
}

/// `scheme "://" host [":" port]`, with an optional `*.` wildcard label.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin
        .bytes()
        .any(|b| !b.is_ascii_graphic() || b == b'"' || b == b'\\')
    {
        return Err("contains whitespace, a control character, a quote or a backslash");
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err("is not an origin (`https://example.com`); write `self` with `and_self`");
    };
    let mut scheme_bytes = scheme.bytes();
    let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err("has an invalid scheme");
    }
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']').ok_or("has an invalid IPv6 literal")?;
        let (host, after) = rest.split_at_checked(end + 1).unwrap_or((rest, ""));
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err("an origin has no path, query or fragment"),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.contains(['/', '?', '#']) || port.is_some_and(|p| p.contains(['/', '?', '#'])) {
        return Err("an origin has no path, query or fragment");
    }
    if let Some(port) = port
        && !(port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p > 0 && p <= 65_535))
    {
        return Err("has an invalid port");
    }
    if host.starts_with('[') {
        let ok = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
        return if ok {
            Ok(())
        } else {
            Err("has an invalid IPv6 literal")
        };
    }
    let labels = host.strip_prefix("*.").unwrap_or(host);
    if labels.is_empty() {
        return Err("has no host");
    }
    if labels.contains('*') {
        return Err("a wildcard must be the whole leftmost label, as in `https://*.example.com`");
    }
    if labels
        .split('.')
        .any(|l| l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err("has an invalid host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_none_self_origins_and_any() {
        let p = PermissionsPolicy::builder()
            .deny("camera")
            .allow_self("fullscreen")
            .allow(
                "geolocation",
                Allowlist::self_origin().and_origins(["https://maps.example"]),
            )
            .allow("autoplay", Allowlist::any())
            .allow(
                "payment",
                Allowlist::origins(["https://pay.example", "https://*.bank.example:8443"]),
            )
            .build()
            .unwrap();
        assert_eq!(
            p.header_value(),
            "camera=(), fullscreen=(self), geolocation=(self \"https://maps.example\"), \
             autoplay=*, payment=(\"https://pay.example\" \"https://*.bank.example:8443\")"
        );
        assert_eq!(p.get("camera"), Some(&Allowlist::none()));
    }

    /// §3.1: the OWASP list, minus `interest-cohort`.
    #[test]
    fn deny_all_is_the_owasp_list_without_interest_cohort() {
        let p = PermissionsPolicy::deny_all();
        assert_eq!(
            p.header_value(),
            "accelerometer=(), autoplay=(), camera=(), cross-origin-isolated=(), \
             display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), \
             gyroscope=(), keyboard-map=(), magnetometer=(), microphone=(), midi=(), \
             payment=(), picture-in-picture=(), publickey-credentials-get=(), \
             screen-wake-lock=(), sync-xhr=(self), usb=(), web-share=(), \
             xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(), gamepad=(), \
             hid=(), idle-detection=(), serial=(), unload=()"
        );
        assert!(
            !p.header_value()
                .to_str()
                .unwrap()
                .contains("interest-cohort")
        );
        let err = PermissionsPolicy::builder()
            .deny("interest-cohort")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("`interest-cohort`"), "{err}");
    }

    #[test]
    fn deny_all_can_be_loosened_for_one_feature() {
        let p = PermissionsPolicy::deny_all()
            .into_builder()
            .allow_self("fullscreen")
            .remove("unload")
            .build()
            .unwrap();
        let v = p.header_value().to_str().unwrap();
        assert!(v.contains("fullscreen=(self)"), "{v}");
        assert!(!v.contains("fullscreen=()"), "{v}");
        assert!(!v.contains("unload"), "{v}");
    }

    #[test]
    fn bad_feature_names_are_errors_quoting_them() {
        for bad in [
            "geolocaton",
            "Camera",
            "",
            "camera=()",
            "cam era",
            "9lives",
            "a\"b",
        ] {
            let err = PermissionsPolicy::builder().deny(bad).build().unwrap_err();
            assert!(
                matches!(err, ConfigError::PermissionsFeature { .. }),
                "{bad}: {err}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("`{}`", bad.escape_debug())),
                "{err}"
            );
        }
        let custom = PermissionsPolicy::builder()
            .custom("brand-new-api", Allowlist::none())
            .build()
            .unwrap();
        assert_eq!(custom.header_value(), "brand-new-api=()");
        assert!(
            PermissionsPolicy::builder()
                .custom("Brand New", Allowlist::none())
                .build()
                .is_err()
        );
        assert!(
            PermissionsPolicy::builder()
                .deny("ch-ua-model")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_origins_are_errors_quoting_them() {
        for bad in [
            "self",
            "'self'",
            "maps.example",
            "https://maps.example/",
            "https://maps.example/path",
            "https://maps.example\" camera=*",
            "https://maps.example)",
            "https://a b",
            "https://",
            "https://ex*ample.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://[::1",
            "1https://x.example",
            "https://x.example\r\nSet-Cookie: a=b",
            "https://x.example?q",
        ] {
            let err = PermissionsPolicy::builder()
                .allow("geolocation", Allowlist::origins([bad]))
                .build()
                .unwrap_err();
            assert!(
                matches!(err, ConfigError::PermissionsOrigin { .. }),
                "{bad}: {err}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("`{}`", bad.escape_debug())),
                "{err}"
            );
        }
        for good in [
            "https://[::1]:8443",
            "http://localhost:3000",
            "https://*.example.com",
        ] {
            assert!(
                PermissionsPolicy::builder()
                    .allow("geolocation", Allowlist::origins([good]))
                    .build()
                    .is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn an_empty_policy_is_an_error() {
        assert!(PermissionsPolicy::builder().build().is_err());
    }
}
