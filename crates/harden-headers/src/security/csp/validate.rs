//! CSP directive names and source expressions, checked against CSP Level 3.

use super::Source;
use crate::ConfigError;

/// How a directive's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sources,
    Ancestors,
    Flag,
    Sandbox,
    ReportTo,
    ReportUri,
    RequireTrustedTypesFor,
    TrustedTypes,
    Webrtc,
}

const DIRECTIVES: &[(&str, Kind)] = &[
    ("default-src", Kind::Sources),
    ("script-src", Kind::Sources),
    ("script-src-elem", Kind::Sources),
    ("script-src-attr", Kind::Sources),
    ("style-src", Kind::Sources),
    ("style-src-elem", Kind::Sources),
    ("style-src-attr", Kind::Sources),
    ("img-src", Kind::Sources),
    ("font-src", Kind::Sources),
    ("connect-src", Kind::Sources),
    ("media-src", Kind::Sources),
    ("object-src", Kind::Sources),
    ("frame-src", Kind::Sources),
    ("child-src", Kind::Sources),
    ("worker-src", Kind::Sources),
    ("manifest-src", Kind::Sources),
    ("fenced-frame-src", Kind::Sources),
    ("base-uri", Kind::Sources),
    ("form-action", Kind::Sources),
    ("frame-ancestors", Kind::Ancestors),
    ("upgrade-insecure-requests", Kind::Flag),
    ("sandbox", Kind::Sandbox),
    ("report-to", Kind::ReportTo),
    ("report-uri", Kind::ReportUri),
    ("require-trusted-types-for", Kind::RequireTrustedTypesFor),
    ("trusted-types", Kind::TrustedTypes),
    ("webrtc", Kind::Webrtc),
];

const OBSOLETE: &[(&str, &str)] = &[
    (
        "block-all-mixed-content",
        "is obsolete: browsers block mixed content anyway; use `upgrade-insecure-requests`",
    ),
    (
        "plugin-types",
        "is obsolete: plugins are gone; set `object-src 'none'`",
    ),
    ("prefetch-src", "is obsolete and ignored by browsers"),
    (
        "navigate-to",
        "was removed from CSP3 and is ignored by browsers",
    ),
    ("referrer", "is obsolete: use the `Referrer-Policy` header"),
    ("reflected-xss", "is obsolete and ignored by browsers"),
    ("require-sri-for", "is obsolete and ignored by browsers"),
    (
        "disown-opener",
        "is obsolete: use `Cross-Origin-Opener-Policy`",
    ),
];

const KEYWORDS: &[&str] = &[
    "self",
    "none",
    "unsafe-inline",
    "unsafe-eval",
    "unsafe-hashes",
    "strict-dynamic",
    "report-sample",
    "wasm-unsafe-eval",
    "unsafe-allow-redirects",
    "inline-speculation-rules",
    "trusted-types-eval",
    "report-sha256",
    "report-sha384",
    "report-sha512",
];

const SANDBOX_FLAGS: &[&str] = &[
    "allow-downloads",
    "allow-forms",
    "allow-modals",
    "allow-orientation-lock",
    "allow-pointer-lock",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-presentation",
    "allow-same-origin",
    "allow-scripts",
    "allow-storage-access-by-user-activation",
    "allow-top-navigation",
    "allow-top-navigation-by-user-activation",
    "allow-top-navigation-to-custom-protocols",
];

const NONCE_DIRECTIVES: &[&str] = &[
    "script-src",
    "script-src-elem",
    "style-src",
    "style-src-elem",
];

/// Checks a directive name and returns it in lowercase.
pub(super) fn directive_name(raw: &str) -> Result<String, ConfigError> {
    let bad = |reason| ConfigError::CspDirective {
        name: raw.to_owned(),
        reason,
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(bad(
            "a directive name is made of letters, digits and `-` only",
        ));
    }
    let name = raw.to_ascii_lowercase();
    if let Some((_, reason)) = OBSOLETE.iter().find(|(n, _)| *n == name) {
        return Err(bad(reason));
    }
    if kind_of(&name).is_none() {
        return Err(bad(
            "is not a CSP directive (a typo here would silently leave the policy open)",
        ));
    }
    Ok(name)
}

fn kind_of(name: &str) -> Option<Kind> {
    DIRECTIVES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// Checks a directive name given for per-request nonces.
pub(crate) fn nonce_directive(raw: &str) -> Result<String, ConfigError> {
    let name = directive_name(raw)?;
    if NONCE_DIRECTIVES.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(ConfigError::CspDirective {
            name,
            reason: "nonces apply only to script-src, script-src-elem, style-src and style-src-elem",
        })
    }
}

fn bad(directive: &str, value: &str, reason: &'static str) -> ConfigError {
    ConfigError::CspSource {
        directive: directive.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

pub(super) fn validate_values(name: &str, sources: &[Source]) -> Result<Vec<String>, ConfigError> {
    let kind = kind_of(name).unwrap_or(Kind::Sources);
    let none_directive = |reason| ConfigError::CspDirective {
        name: name.to_owned(),
        reason,
    };
    let mut values: Vec<String> = Vec::with_capacity(sources.len());
    for source in sources {
        let raw = source.as_str();
        check_chars(raw).map_err(|reason| bad(name, raw, reason))?;
        let value = match kind {
            Kind::Sources | Kind::Ancestors => source_expression(name, kind, raw)?,
            Kind::Flag => return Err(bad(name, raw, "this directive takes no value")),
            Kind::Sandbox => {
                let flag = raw.to_ascii_lowercase();
                if !SANDBOX_FLAGS.contains(&flag.as_str()) {
                    return Err(bad(name, raw, "is not a sandbox flag (`allow-scripts`, …)"));
                }
                flag
            }
            Kind::ReportTo => {
                if !raw
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                {
                    return Err(bad(
                        name,
                        raw,
                        "an endpoint name is letters, digits, `-`, `_` and `.`",
                    ));
                }
                raw.to_owned()
            }
            Kind::ReportUri => {
                if raw.bytes().any(|b| !is_uri_char(b)) {
                    return Err(bad(name, raw, "contains a character not allowed in a URI"));
                }
                raw.to_owned()
            }
            Kind::RequireTrustedTypesFor => {
                if !raw.eq_ignore_ascii_case("'script'") {
                    return Err(bad(name, raw, "the only value is `'script'`"));
                }
                "'script'".to_owned()
            }
            Kind::TrustedTypes => trusted_types_value(name, raw)?,
            Kind::Webrtc => {
                let v = raw.to_ascii_lowercase();
                if v != "'allow'" && v != "'block'" {
                    return Err(bad(name, raw, "the value is `'allow'` or `'block'`"));
                }
                v
            }
        };
        if !values.contains(&value) {
            values.push(value);
        }
    }
    let single = matches!(kind, Kind::ReportTo | Kind::Webrtc);
    if single && let Some(extra) = values.get(1) {
        return Err(bad(name, extra, "this directive takes a single value"));
    }
    let needs_value = matches!(
        kind,
        Kind::Sources
            | Kind::Ancestors
            | Kind::ReportTo
            | Kind::ReportUri
            | Kind::RequireTrustedTypesFor
            | Kind::Webrtc
    );
    if needs_value && values.is_empty() {
        return Err(none_directive(
            "has no value (for a source list, write `'none'` to allow nothing)",
        ));
    }
    if values.len() > 1 && values.iter().any(|v| v == "'none'") {
        return Err(bad(
            name,
            "'none'",
            "`'none'` cannot be combined with other sources: browsers would ignore it",
        ));
    }
    Ok(values)
}

/// The characters no value may contain, whatever its directive.
fn check_chars(raw: &str) -> Result<(), &'static str> {
    if raw.is_empty() {
        return Err("is empty");
    }
    for c in raw.chars() {
        match c {
            ';' => {
                return Err(
                    "contains `;`, which would end the directive and start another (header injection)",
                );
            }
            ',' => {
                return Err("contains `,`, which would start a second policy (header injection)");
            }
            c if c.is_ascii_whitespace() => {
                return Err("contains whitespace, which would split it into several sources");
            }
            c if c.is_ascii_control() => {
                return Err("contains a control character (header injection)");
            }
            c if !c.is_ascii() => {
                return Err(
                    "contains a non-ASCII character (write international host names in punycode)",
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// A source expression (CSP3 §2.3.1), normalised.
fn source_expression(directive: &str, kind: Kind, raw: &str) -> Result<String, ConfigError> {
    let fail = |reason| bad(directive, raw, reason);
    if let Some(quoted) = raw.strip_prefix('\'') {
        let Some(inner) = quoted.strip_suffix('\'') else {
            return Err(fail("opens a quote it does not close"));
        };
        if inner.is_empty() || inner.contains('\'') {
            return Err(fail("is not one quoted keyword"));
        }
        let lower = inner.to_ascii_lowercase();
        let ancestors_ok = matches!(lower.as_str(), "self" | "none");
        if kind == Kind::Ancestors && !ancestors_ok {
            return Err(fail(
                "frame-ancestors accepts only `'self'`, `'none'`, hosts and schemes",
            ));
        }
        if lower.starts_with("nonce-") {
            return Err(fail(
                "is a fixed nonce, which anyone who loads the page once can reuse: \
                 enable per-request nonces (`csp_nonce`) instead",
            ));
        }
        if let Some((algorithm, digest)) = lower
            .split_once('-')
            .filter(|(a, _)| matches!(*a, "sha256" | "sha384" | "sha512"))
        {
            let digest_as_written = inner.get(algorithm.len() + 1..).unwrap_or(digest);
            check_digest(algorithm, digest_as_written).map_err(fail)?;
            return Ok(format!("'{algorithm}-{digest_as_written}'"));
        }
        if KEYWORDS.contains(&lower.as_str()) {
            return Ok(format!("'{lower}'"));
        }
        return Err(fail("is not a CSP keyword"));
    }
    if raw.contains('\'') {
        return Err(fail("contains a quote outside a quoted keyword"));
    }
    if raw == "*" {
        return Ok(raw.to_owned());
    }
    let lower = raw.to_ascii_lowercase();
    let keyword_like = KEYWORDS.contains(&lower.as_str())
        || ["nonce-", "sha256-", "sha384-", "sha512-"]
            .iter()
            .any(|p| lower.starts_with(p));
    if keyword_like {
        return Err(ConfigError::CspUnquotedKeyword {
            directive: directive.to_owned(),
            value: raw.to_owned(),
        });
    }
    if let Some(scheme) = raw.strip_suffix(':')
        && is_scheme(scheme)
    {
        return Ok(lower);
    }
    host_source(raw).map_err(fail)?;
    Ok(raw.to_owned())
}

fn check_digest(algorithm: &str, digest: &str) -> Result<(), &'static str> {
    let (padded, unpadded, reason) = match algorithm {
        "sha256" => (44, 43, "is not a base64 SHA-256 digest (44 characters)"),
        "sha384" => (64, 64, "is not a base64 SHA-384 digest (64 characters)"),
        _ => (88, 86, "is not a base64 SHA-512 digest (88 characters)"),
    };
    let body = digest.trim_end_matches('=');
    let pads = digest.len() - body.len();
    let alphabet = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'));
    let length = body.len() == unpadded && (pads == 0 || body.len() + pads == padded);
    if alphabet && length {
        Ok(())
    } else {
        Err(reason)
    }
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `[scheme "://"] host [":" port] [path]` (CSP3 §2.3.1 host-source).
fn host_source(raw: &str) -> Result<(), &'static str> {
    let rest = match raw.split_once("://") {
        Some((scheme, rest)) => {
            if !is_scheme(scheme) {
                return Err("has an invalid scheme");
            }
            rest
        }
        None => raw,
    };
    let host_end = rest.find([':', '/']).unwrap_or(rest.len());
    let (host, after) = rest.split_at_checked(host_end).unwrap_or((rest, ""));
    check_host(host)?;
    let path = match after.strip_prefix(':') {
        Some(port_and_path) => {
            let end = port_and_path.find('/').unwrap_or(port_and_path.len());
            let (port, path) = port_and_path
                .split_at_checked(end)
                .unwrap_or((port_and_path, ""));
            let numeric = !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| p <= 65_535);
            if port != "*" && !numeric {
                return Err("has an invalid port (a number up to 65535, or `*`)");
            }
            path
        }
        None => after,
    };
    if path.contains(['?', '#']) {
        return Err("cannot carry a query or a fragment");
    }
    if path.bytes().any(|b| !is_path_char(b)) {
        return Err("contains a character not allowed in a URL path");
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("has no host");
    }
    if host == "*" {
        return Ok(());
    }
    if host.starts_with('[') {
        return Err("IPv6 literals are not host sources in CSP");
    }
    let labels = host.strip_prefix("*.").unwrap_or(host);
    let labels = labels.strip_suffix('.').unwrap_or(labels);
    if labels.contains('*') {
        return Err("a wildcard must be the whole leftmost label, as in `*.example.com`");
    }
    for label in labels.split('.') {
        if label.is_empty() {
            return Err("has an empty host label");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("contains a character not allowed in a host name");
        }
    }
    Ok(())
}

fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b'='
                | b':'
                | b'@'
                | b'%'
                | b'/'
        )
}

fn is_uri_char(b: u8) -> bool {
    is_path_char(b) || matches!(b, b'?' | b'#' | b'[' | b']')
}

fn trusted_types_value(directive: &str, raw: &str) -> Result<String, ConfigError> {
    let lower = raw.to_ascii_lowercase();
    if matches!(lower.as_str(), "'none'" | "'allow-duplicates'" | "*") {
        return Ok(lower);
    }
    let policy_name = raw.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'#' | b'=' | b'_' | b'/' | b'@' | b'.' | b'%')
    });
    if policy_name {
        Ok(raw.to_owned())
    } else {
        Err(bad(
            directive,
            raw,
            "is not a policy name, `'none'`, `'allow-duplicates'` or `*`",
        ))
    }
}
