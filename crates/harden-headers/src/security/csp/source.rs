//! `Source`: one CSP source expression.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One CSP source expression: a quoted keyword (`'self'`), a host
/// (`https://cdn.example.com`), a scheme (`data:`), a hash
/// (`'sha256-…'`) or `*`.
///
/// Any string converts into a `Source`; it is validated when the policy is
/// built, so `"self"` without its quotes, an unknown keyword such as
/// `"'selff'"`, or anything with `;`, `,`, whitespace or a control character is
/// an error quoting it rather than a policy that means something else.
///
/// ```
/// use harden_headers::security::{Csp, Source};
///
/// let csp = Csp::builder()
///     .default_src([Source::SELF])
///     .script_src([Source::SELF, "https://cdn.jsdelivr.net".into()])
///     .build()?;
/// assert_eq!(csp.to_string(), "default-src 'self';script-src 'self' https://cdn.jsdelivr.net");
///
/// let err = Csp::builder().script_src(["self"]).build().unwrap_err();
/// assert!(err.to_string().contains("did you mean `'self'`"));
/// # Ok::<(), harden_headers::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source(Cow<'static, str>);

impl Source {
    /// `'self'`: the page's own origin.
    pub const SELF: Source = Source(Cow::Borrowed("'self'"));
    /// `'none'`: nothing. Cannot be combined with other sources.
    pub const NONE: Source = Source(Cow::Borrowed("'none'"));
    /// `'unsafe-inline'`: inline scripts or styles. Ignored by CSP2+ browsers
    /// when the directive also has a nonce or a hash.
    pub const UNSAFE_INLINE: Source = Source(Cow::Borrowed("'unsafe-inline'"));
    /// `'unsafe-eval'`: `eval()` and friends.
    pub const UNSAFE_EVAL: Source = Source(Cow::Borrowed("'unsafe-eval'"));
    /// `'unsafe-hashes'`: hashes also match event handler attributes.
    pub const UNSAFE_HASHES: Source = Source(Cow::Borrowed("'unsafe-hashes'"));
    /// `'strict-dynamic'`: scripts loaded by a nonce- or hash-trusted script are
    /// trusted too; host and scheme sources are then ignored.
    pub const STRICT_DYNAMIC: Source = Source(Cow::Borrowed("'strict-dynamic'"));
    /// `'report-sample'`: violation reports carry the first 40 characters.
    pub const REPORT_SAMPLE: Source = Source(Cow::Borrowed("'report-sample'"));
    /// `'wasm-unsafe-eval'`: WebAssembly compilation without `'unsafe-eval'`.
    pub const WASM_UNSAFE_EVAL: Source = Source(Cow::Borrowed("'wasm-unsafe-eval'"));
    /// `*`: any URL except `data:`, `blob:` and `filesystem:`.
    pub const ANY: Source = Source(Cow::Borrowed("*"));
    /// `https:`: any URL over HTTPS.
    pub const HTTPS: Source = Source(Cow::Borrowed("https:"));
    /// `data:` URLs.
    pub const DATA: Source = Source(Cow::Borrowed("data:"));
    /// `blob:` URLs.
    pub const BLOB: Source = Source(Cow::Borrowed("blob:"));

    /// `'sha256-…'` for a SHA-256 digest of an inline script or style.
    pub fn sha256(digest: &[u8; 32]) -> Source {
        Source(Cow::Owned(format!("'sha256-{}'", STANDARD.encode(digest))))
    }

    /// `'sha384-…'` for a SHA-384 digest.
    pub fn sha384(digest: &[u8; 48]) -> Source {
        Source(Cow::Owned(format!("'sha384-{}'", STANDARD.encode(digest))))
    }

    /// `'sha512-…'` for a SHA-512 digest.
    pub fn sha512(digest: &[u8; 64]) -> Source {
        Source(Cow::Owned(format!("'sha512-{}'", STANDARD.encode(digest))))
    }

    /// The source as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for Source {
    fn from(s: &'static str) -> Self {
        Source(Cow::Borrowed(s))
    }
}

impl From<String> for Source {
    fn from(s: String) -> Self {
        Source(Cow::Owned(s))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
