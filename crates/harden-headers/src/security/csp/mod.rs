//! `Csp`: a typed, validated `Content-Security-Policy`, and the header template
//! that takes a per-request nonce.

use std::borrow::Cow;
use std::fmt;

use http::header::{CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY};
use http::{HeaderName, HeaderValue};

use crate::ConfigError;

mod source;
mod template;
mod validate;

pub use self::source::Source;
pub(crate) use self::template::CspHeader;
use self::template::{header_value_or_closed, render};
pub(crate) use self::validate::nonce_directive;
use self::validate::{directive_name, validate_values};

/// A validated `Content-Security-Policy`
/// ([CSP Level 3](https://www.w3.org/TR/CSP3/),
/// [MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy)).
///
/// Directives are serialised in the order they were first set, separated by
/// `;` (as helmet does). Build one with [`Csp::builder`], or start from a
/// preset with [`Csp::helmet`] / [`Csp::strict_api`] and
/// [`Csp::into_builder`].
///
/// The playbook's own policy (section 1.3), which helmet merges into its
/// defaults:
///
/// ```
/// use harden_headers::security::{Csp, Source};
///
/// let csp = Csp::helmet()
///     .into_builder()
///     .script_src([Source::SELF, Source::UNSAFE_INLINE, "https://cdn.jsdelivr.net".into()])
///     .style_src([Source::SELF, Source::UNSAFE_INLINE, "https://fonts.googleapis.com".into()])
///     .font_src([Source::SELF, "https://fonts.gstatic.com".into()])
///     .img_src([Source::SELF, Source::DATA, Source::HTTPS])
///     .connect_src([Source::SELF, "https://api.candlefish.ai".into()])
///     .build()?;
/// assert_eq!(
///     csp.header_value(),
///     "default-src 'self';base-uri 'self';font-src 'self' https://fonts.gstatic.com;\
///      form-action 'self';frame-ancestors 'self';img-src 'self' data: https:;\
///      object-src 'none';script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net;\
///      script-src-attr 'none';style-src 'self' 'unsafe-inline' https://fonts.googleapis.com;\
///      upgrade-insecure-requests;connect-src 'self' https://api.candlefish.ai"
/// );
/// # Ok::<(), harden_headers::ConfigError>(())
/// ```
///
/// (Its `'unsafe-inline'` in `script-src` lets any injected inline script run;
/// prefer a per-request nonce, see
/// [`SecurityHeadersBuilder::csp_nonce`](super::SecurityHeadersBuilder::csp_nonce).)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csp {
    directives: Vec<Directive>,
    report_only: bool,
    value: HeaderValue,
}

/// One validated directive: its lowercase name and normalised values.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Directive {
    name: String,
    values: Vec<String>,
}

/// The directives of helmet 8.3's default policy, in its order.
const HELMET: &[(&str, &[&str])] = &[
    ("default-src", &["'self'"]),
    ("base-uri", &["'self'"]),
    ("font-src", &["'self'", "https:", "data:"]),
    ("form-action", &["'self'"]),
    ("frame-ancestors", &["'self'"]),
    ("img-src", &["'self'", "data:"]),
    ("object-src", &["'none'"]),
    ("script-src", &["'self'"]),
    ("script-src-attr", &["'none'"]),
    ("style-src", &["'self'", "https:", "'unsafe-inline'"]),
    ("upgrade-insecure-requests", &[]),
];

/// The OWASP REST Security Cheat Sheet's policy for JSON APIs.
const STRICT_API: &[(&str, &[&str])] = &[
    ("default-src", &["'none'"]),
    ("frame-ancestors", &["'none'"]),
];

impl Csp {
    /// An empty builder.
    pub fn builder() -> CspBuilder {
        CspBuilder::default()
    }

    /// helmet 8.3's default policy:
    /// `default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests`.
    pub fn helmet() -> Csp {
        Csp::trusted(HELMET)
    }

    /// The OWASP REST policy for APIs: `default-src 'none';frame-ancestors 'none'`.
    pub fn strict_api() -> Csp {
        Csp::trusted(STRICT_API)
    }

    fn trusted(table: &[(&str, &[&str])]) -> Csp {
        let directives: Vec<Directive> = table
            .iter()
            .map(|(name, values)| Directive {
                name: (*name).to_owned(),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            })
            .collect();
        Csp::assemble(directives, false)
    }

    fn assemble(directives: Vec<Directive>, report_only: bool) -> Csp {
        let mut out = Vec::new();
        render(&directives, &[], &mut out, &mut Vec::new());
        Csp {
            value: header_value_or_closed(out),
            directives,
            report_only,
        }
    }

    /// A builder holding this policy, to change it.
    pub fn into_builder(self) -> CspBuilder {
        CspBuilder {
            directives: self
                .directives
                .into_iter()
                .map(|d| {
                    let sources = d.values.into_iter().map(Source::from).collect();
                    (Cow::Owned(d.name), sources)
                })
                .collect(),
            report_only: self.report_only,
        }
    }

    /// Whether the policy is sent as `Content-Security-Policy-Report-Only`.
    pub fn is_report_only(&self) -> bool {
        self.report_only
    }

    /// `Content-Security-Policy` or `Content-Security-Policy-Report-Only`.
    pub fn header_name(&self) -> HeaderName {
        if self.report_only {
            CONTENT_SECURITY_POLICY_REPORT_ONLY
        } else {
            CONTENT_SECURITY_POLICY
        }
    }

    /// The header value, without any nonce.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// The sources of directive `name`, if the policy has it.
    pub fn get(&self, name: &str) -> Option<impl Iterator<Item = &str>> {
        self.directives
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map(|d| d.values.iter().map(String::as_str))
    }

    /// The header this policy becomes, with a nonce placeholder in each of
    /// `nonce_in` that the policy has or falls back to.
    pub(crate) fn header(&self, nonce_in: &[String]) -> CspHeader {
        let mut template = Vec::new();
        let mut offsets = Vec::new();
        render(&self.directives, nonce_in, &mut template, &mut offsets);
        if offsets.is_empty() {
            template = Vec::new();
        }
        CspHeader::new(self.header_name(), self.value.clone(), template, offsets)
    }
}

impl fmt::Display for Csp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.value.to_str().unwrap_or_default())
    }
}

/// Builds a [`Csp`]. Every source is validated by [`CspBuilder::build`].
///
/// Setting a directive twice replaces its sources and keeps its position;
/// [`CspBuilder::extend`] adds to them instead.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct CspBuilder {
    directives: Vec<(Cow<'static, str>, Vec<Source>)>,
    report_only: bool,
}

macro_rules! source_directives {
    ($($method:ident => $name:literal, $what:literal;)*) => {$(
        #[doc = concat!("Sets `", $name, "`: ", $what, " ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/", $name, ")).")]
        pub fn $method<I, S>(self, sources: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<Source>,
        {
            self.directive($name, sources)
        }
    )*};
}

impl CspBuilder {
    /// Sets directive `name` (a CSP directive name such as `"script-src"`,
    /// checked at build) to `sources`, replacing any sources it had.
    ///
    /// For flag directives such as `upgrade-insecure-requests` pass no sources.
    pub fn directive<N, I, S>(mut self, name: N, sources: I) -> Self
    where
        N: Into<Cow<'static, str>>,
        I: IntoIterator<Item = S>,
        S: Into<Source>,
    {
        let name = name.into();
        let sources: Vec<Source> = sources.into_iter().map(Into::into).collect();
        match self
            .directives
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some((_, existing)) => *existing = sources,
            None => self.directives.push((name, sources)),
        }
        self
    }

    /// Adds `sources` to directive `name`, creating it if absent.
    pub fn extend<N, I, S>(mut self, name: N, sources: I) -> Self
    where
        N: Into<Cow<'static, str>>,
        I: IntoIterator<Item = S>,
        S: Into<Source>,
    {
        let name = name.into();
        let sources = sources.into_iter().map(Into::into);
        match self
            .directives
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some((_, existing)) => existing.extend(sources),
            None => self.directives.push((name, sources.collect())),
        }
        self
    }

    /// Removes directive `name`.
    pub fn remove(mut self, name: &str) -> Self {
        self.directives
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    source_directives! {
        default_src => "default-src", "the fallback for every fetch directive not set";
        script_src => "script-src", "where scripts may come from";
        script_src_elem => "script-src-elem", "`<script>` elements, overriding `script-src`";
        script_src_attr => "script-src-attr", "inline event handlers, overriding `script-src`";
        style_src => "style-src", "where stylesheets may come from";
        style_src_elem => "style-src-elem", "`<style>` and `<link>` elements, overriding `style-src`";
        style_src_attr => "style-src-attr", "`style` attributes, overriding `style-src`";
        img_src => "img-src", "images and favicons";
        font_src => "font-src", "fonts";
        connect_src => "connect-src", "`fetch`, XHR, WebSocket and EventSource targets";
        media_src => "media-src", "`<audio>` and `<video>`";
        object_src => "object-src", "`<object>` and `<embed>` (set it to `'none'`)";
        frame_src => "frame-src", "what the page may embed in frames";
        child_src => "child-src", "frames and workers (CSP2 fallback)";
        worker_src => "worker-src", "workers";
        manifest_src => "manifest-src", "web app manifests";
        base_uri => "base-uri", "what `<base href>` may point to";
        form_action => "form-action", "where forms may submit";
        frame_ancestors => "frame-ancestors", "who may frame this page (only `'self'`, `'none'`, hosts and schemes)";
    }

    /// Sets `upgrade-insecure-requests`, which makes the browser fetch `http:`
    /// sub-resources over HTTPS
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/upgrade-insecure-requests)).
    pub fn upgrade_insecure_requests(self, on: bool) -> Self {
        if on {
            self.directive("upgrade-insecure-requests", [] as [Source; 0])
        } else {
            self.remove("upgrade-insecure-requests")
        }
    }

    /// Sets `sandbox` with these flags (`"allow-scripts"`, …; none for the
    /// strictest sandbox)
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/sandbox)).
    pub fn sandbox<I, S>(self, flags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Source>,
    {
        self.directive("sandbox", flags)
    }

    /// Sends violation reports to the Reporting API endpoint named `endpoint`
    /// (declare it with a `Reporting-Endpoints` header, see
    /// [`SecurityHeadersBuilder::reporting_endpoint`](super::SecurityHeadersBuilder::reporting_endpoint))
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/report-to)).
    pub fn report_to(self, endpoint: impl Into<Source>) -> Self {
        self.directive("report-to", [endpoint])
    }

    /// Sends violation reports to these URIs (deprecated in favour of
    /// `report-to`, but the only way for Firefox until it ships the Reporting
    /// API; send both)
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/report-uri)).
    pub fn report_uri<I, S>(self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Source>,
    {
        self.directive("report-uri", uris)
    }

    /// Sets `require-trusted-types-for 'script'`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/require-trusted-types-for)).
    pub fn require_trusted_types_for_script(self) -> Self {
        self.directive("require-trusted-types-for", ["'script'"])
    }

    /// Sets `trusted-types` to these policy names (or `'none'`,
    /// `'allow-duplicates'`, `*`)
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/trusted-types)).
    pub fn trusted_types<I, S>(self, policies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Source>,
    {
        self.directive("trusted-types", policies)
    }

    /// Sends the policy as `Content-Security-Policy-Report-Only`: browsers
    /// report violations but block nothing
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy-Report-Only)).
    pub fn report_only(mut self, on: bool) -> Self {
        self.report_only = on;
        self
    }

    /// Validates every directive and source, and builds the policy.
    ///
    /// # Errors
    ///
    /// - [`ConfigError::CspDirective`]: an unknown or obsolete directive name,
    ///   or a source directive with no sources.
    /// - [`ConfigError::CspUnquotedKeyword`]: `self`, `none`, `unsafe-inline`…
    ///   without single quotes.
    /// - [`ConfigError::CspSource`]: an unknown quoted keyword, a fixed nonce,
    ///   a malformed host, scheme or hash, `'none'` with other sources, or any
    ///   `;`, `,`, whitespace, control or non-ASCII character.
    /// - [`ConfigError::SecurityHeaders`]: a policy with no directive.
    pub fn build(self) -> Result<Csp, ConfigError> {
        if self.directives.is_empty() {
            return Err(ConfigError::SecurityHeaders {
                reason: "a Content-Security-Policy needs at least one directive",
            });
        }
        let mut directives = Vec::with_capacity(self.directives.len());
        for (name, sources) in &self.directives {
            let name = directive_name(name)?;
            let values = validate_values(&name, sources)?;
            directives.push(Directive { name, values });
        }
        Ok(Csp::assemble(directives, self.report_only))
    }
}
