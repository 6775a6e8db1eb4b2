//! `SecurityHeadersConfig`: security headers in a configuration file.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::header::CONTENT_SECURITY_POLICY;
use http::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::csp::{Csp, Source};
use super::headers::SecurityHeaders;
use super::permissions::{Allowlist, PermissionsPolicy};
use super::values::{
    CrossOriginEmbedderPolicy, CrossOriginOpenerPolicy, CrossOriginResourcePolicy, FrameOptions,
    ReferrerPolicy,
};
use crate::ConfigError;
use crate::hsts::{Hsts, HstsConfig};

/// The preset a configuration starts from.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecurityPreset {
    /// [`SecurityHeaders::helmet`].
    #[default]
    Helmet,
    /// [`SecurityHeaders::strict_api`].
    StrictApi,
}

/// Security headers in a configuration file; converts into
/// [`SecurityHeaders`] with `TryFrom`, validating everything the builders do.
///
/// ```toml
/// preset = "helmet"              # or "strict_api"
/// override_existing = false
/// frame_options = "deny"         # "sameorigin"
/// referrer_policy = "strict-origin-when-cross-origin"
/// cross_origin_resource_policy = "same-site"
/// omit = ["x-download-options"]  # preset headers not to send
/// remove = ["server", "x-powered-by", "x-aspnet-version"]
///
/// [csp]
/// nonce = true
/// nonce_directives = ["script-src"]
/// directives = { script-src = ["'self'", "https://cdn.jsdelivr.net"], connect-src = ["'self'"] }
///
/// [permissions_policy]
/// deny_all = true
/// features = { fullscreen = ["self"], geolocation = ["self", "https://maps.example"] }
///
/// [hsts]
/// max_age = "730d"
///
/// [headers]
/// cache-control = "no-store"
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SecurityHeadersConfig {
    /// The preset the other settings modify.
    pub preset: SecurityPreset,
    /// Content Security Policy changes.
    pub csp: Option<CspConfig>,
    /// `Permissions-Policy` changes.
    pub permissions_policy: Option<PermissionsPolicyConfig>,
    /// `Strict-Transport-Security` (the preset's one-year policy if absent).
    pub hsts: Option<HstsConfig>,
    /// `X-Frame-Options`: `"deny"` or `"sameorigin"`.
    pub frame_options: Option<FrameOptions>,
    /// `Referrer-Policy`, as its header value.
    pub referrer_policy: Option<ReferrerPolicy>,
    /// `Cross-Origin-Opener-Policy`, as its header value.
    pub cross_origin_opener_policy: Option<CrossOriginOpenerPolicy>,
    /// `Cross-Origin-Embedder-Policy`, as its header value.
    pub cross_origin_embedder_policy: Option<CrossOriginEmbedderPolicy>,
    /// `Cross-Origin-Resource-Policy`, as its header value.
    pub cross_origin_resource_policy: Option<CrossOriginResourcePolicy>,
    /// Whether headers the handler set are replaced.
    pub override_existing: bool,
    /// Extra headers, name to value.
    pub headers: BTreeMap<String, String>,
    /// Reporting API endpoints, name to URL (`Reporting-Endpoints`).
    pub reporting_endpoints: BTreeMap<String, String>,
    /// Headers of the preset not to send.
    pub omit: Vec<String>,
    /// Headers removed from every response (default `server`, `x-powered-by`).
    pub remove: Option<Vec<String>>,
}

/// Content Security Policy settings.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CspConfig {
    /// Start from the preset's policy (default) and replace the directives
    /// listed, as helmet's `useDefaults`; `false` starts empty.
    pub use_preset: bool,
    /// Directive name to sources (`[]` for `upgrade-insecure-requests`).
    pub directives: BTreeMap<String, Vec<String>>,
    /// Directives of the preset to drop.
    pub remove_directives: Vec<String>,
    /// Send as `Content-Security-Policy-Report-Only`.
    pub report_only: bool,
    /// Per-request nonces.
    pub nonce: bool,
    /// Which directives get the nonce (default `script-src`, `style-src`).
    pub nonce_directives: Option<Vec<String>>,
}

impl Default for CspConfig {
    fn default() -> Self {
        CspConfig {
            use_preset: true,
            directives: BTreeMap::new(),
            remove_directives: Vec::new(),
            report_only: false,
            nonce: false,
            nonce_directives: None,
        }
    }
}

/// `Permissions-Policy` settings. An allowlist is a list of `"self"`, `"*"`
/// and origins; `[]` denies the feature.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PermissionsPolicyConfig {
    /// Start from [`PermissionsPolicy::deny_all`].
    pub deny_all: bool,
    /// Otherwise start from the preset's policy (default) or from nothing.
    pub use_preset: bool,
    /// Feature name to allowlist.
    pub features: BTreeMap<String, Vec<String>>,
}

impl Default for PermissionsPolicyConfig {
    fn default() -> Self {
        PermissionsPolicyConfig {
            deny_all: false,
            use_preset: true,
            features: BTreeMap::new(),
        }
    }
}

fn header_name(name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        ConfigError::Core(harden_core::ConfigError::InvalidHeaderName {
            value: name.to_owned(),
        })
    })
}

fn allowlist(tokens: Vec<String>) -> Allowlist {
    let mut allow = Allowlist::none();
    for token in tokens {
        match token.as_str() {
            "*" => return Allowlist::any(),
            "self" => allow = allow.and_self(),
            _ => {
                let origin = token
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .map_or_else(|| token.clone(), str::to_owned);
                allow = allow.and_origins([origin]);
            }
        }
    }
    allow
}

impl TryFrom<SecurityHeadersConfig> for SecurityHeaders {
    type Error = ConfigError;

    fn try_from(c: SecurityHeadersConfig) -> Result<Self, ConfigError> {
        let (base, preset_permissions) = match c.preset {
            SecurityPreset::Helmet => (SecurityHeaders::helmet(), None),
            SecurityPreset::StrictApi => (
                SecurityHeaders::strict_api(),
                Some(PermissionsPolicy::deny_all()),
            ),
        };
        let preset_csp = base.csp().cloned();
        let mut b = base.into_builder();

        if let Some(csp) = c.csp {
            let mut policy = match (csp.use_preset, preset_csp) {
                (true, Some(p)) => p.into_builder(),
                _ => Csp::builder(),
            };
            for (name, sources) in csp.directives {
                policy = policy.directive(Cow::Owned(name), sources.into_iter().map(Source::from));
            }
            for name in &csp.remove_directives {
                policy = policy.remove(name);
            }
            let policy = policy.report_only(csp.report_only).build()?;
            b = b
                .without(CONTENT_SECURITY_POLICY)
                .csp(policy)
                .csp_nonce(csp.nonce);
            if let Some(directives) = csp.nonce_directives {
                b = b.csp_nonce_directives(directives);
            }
        }

        if let Some(pp) = c.permissions_policy {
            let mut policy = if pp.deny_all {
                PermissionsPolicy::deny_all().into_builder()
            } else {
                match (pp.use_preset, preset_permissions) {
                    (true, Some(p)) => p.into_builder(),
                    _ => PermissionsPolicy::builder(),
                }
            };
            for (feature, tokens) in pp.features {
                policy = policy.allow(feature, allowlist(tokens));
            }
            b = b.permissions_policy(policy.build()?);
        }

        if let Some(hsts) = c.hsts {
            b = b.hsts(Hsts::try_from(hsts)?);
        }
        if let Some(v) = c.frame_options {
            b = b.frame_options(v);
        }
        if let Some(v) = c.referrer_policy {
            b = b.referrer_policy(v);
        }
        if let Some(v) = c.cross_origin_opener_policy {
            b = b.cross_origin_opener_policy(v);
        }
        if let Some(v) = c.cross_origin_embedder_policy {
            b = b.cross_origin_embedder_policy(v);
        }
        if let Some(v) = c.cross_origin_resource_policy {
            b = b.cross_origin_resource_policy(v);
        }
        for (name, value) in c.headers {
            let name = header_name(&name)?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                ConfigError::InvalidHeaderValue {
                    name: name.to_string(),
                    value: value.clone(),
                }
            })?;
            b = b.header(name, value);
        }
        for (name, url) in &c.reporting_endpoints {
            b = b.reporting_endpoint(name, url);
        }
        for name in &c.omit {
            b = b.without(header_name(name)?);
        }
        if let Some(remove) = c.remove {
            let names = remove
                .iter()
                .map(|n| header_name(n))
                .collect::<Result<Vec<_>, _>>()?;
            b = b.strip_headers(names);
        }
        b.override_existing(c.override_existing).build()
    }
}
