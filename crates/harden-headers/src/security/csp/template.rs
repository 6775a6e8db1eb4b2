//! The precomputed CSP header and its per-request nonce fill.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::Directive;
use crate::security::nonce::{CspNonce, NONCE_LEN};

/// A CSP header ready to send: its static value, or a template and the
/// offsets where a request's nonce goes.
#[derive(Clone, Debug)]
pub(crate) struct CspHeader {
    pub(crate) name: HeaderName,
    value: HeaderValue,
    template: Bytes,
    offsets: Vec<usize>,
}

impl CspHeader {
    pub(super) fn new(
        name: HeaderName,
        value: HeaderValue,
        template: Vec<u8>,
        offsets: Vec<usize>,
    ) -> Self {
        CspHeader {
            name,
            value,
            template: Bytes::from(template),
            offsets,
        }
    }

    pub(crate) fn static_value(&self) -> &HeaderValue {
        &self.value
    }

    pub(crate) fn takes_nonce(&self) -> bool {
        !self.offsets.is_empty()
    }

    /// The value for one response: one copy of the template, the nonce written
    /// into each placeholder.
    pub(crate) fn value(&self, nonce: &CspNonce) -> HeaderValue {
        if self.offsets.is_empty() {
            return self.value.clone();
        }
        let mut buf = self.template.to_vec();
        for &at in &self.offsets {
            if let Some(slot) = buf.get_mut(at..at + NONCE_LEN) {
                slot.copy_from_slice(nonce.as_bytes());
            }
        }
        header_value_or_closed(buf)
    }
}

/// Validated sources are visible ASCII, so this cannot fail; if it ever did,
/// the policy fails closed instead of being dropped.
pub(super) fn header_value_or_closed(bytes: Vec<u8>) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(bytes))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

const NONCE_PLACEHOLDER: [u8; NONCE_LEN] = [b'A'; NONCE_LEN];

/// Which directive a nonce directive falls back to when the policy lacks it
/// (CSP3 §6.8.3, "Get the effective directive for inline checks").
pub(super) fn fallbacks(name: &str) -> &'static [&'static str] {
    match name {
        "script-src-elem" => &["script-src", "default-src"],
        "style-src-elem" => &["style-src", "default-src"],
        _ => &["default-src"],
    }
}

pub(super) fn render(
    directives: &[Directive],
    nonce_in: &[String],
    out: &mut Vec<u8>,
    at: &mut Vec<usize>,
) {
    let mut first = true;
    let mut write = |name: &str, values: &[String], nonce: bool, out: &mut Vec<u8>| {
        if !first {
            out.push(b';');
        }
        first = false;
        out.extend_from_slice(name.as_bytes());
        // A nonce next to 'none' would be ignored with it; the nonce alone
        // means "only this request's inline elements".
        let none_only = nonce && matches!(values, [v] if v == "'none'");
        if !none_only {
            for v in values {
                out.push(b' ');
                out.extend_from_slice(v.as_bytes());
            }
        }
        if nonce {
            out.extend_from_slice(b" 'nonce-");
            at.push(out.len());
            out.extend_from_slice(&NONCE_PLACEHOLDER);
            out.push(b'\'');
        }
    };
    for d in directives {
        let nonce = nonce_in.contains(&d.name);
        write(&d.name, &d.values, nonce, out);
    }
    for name in nonce_in {
        if directives.iter().any(|d| d.name == *name) {
            continue;
        }
        let inherited = fallbacks(name)
            .iter()
            .find_map(|f| directives.iter().find(|d| d.name == *f));
        if let Some(from) = inherited {
            write(name, &from.values, true, out);
        }
    }
}
