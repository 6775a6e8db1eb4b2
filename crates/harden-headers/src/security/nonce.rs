//! `CspNonce`: the per-request nonce, and its axum extractor.

use std::fmt;

/// Length of a nonce in base64: 16 bytes encode to 24 characters.
pub(crate) const NONCE_LEN: usize = 24;

/// A per-request CSP nonce: 128 random bits from the thread-local CSPRNG,
/// base64-encoded into 24 characters, held inline (no heap allocation).
///
/// With nonces on ([`SecurityHeadersBuilder::csp_nonce`](super::SecurityHeadersBuilder::csp_nonce)),
/// [`SecurityHeadersLayer`](super::SecurityHeadersLayer) puts a fresh one in
/// every request's extensions and adds `'nonce-…'` with the same value to the
/// response's policy. Write it into the page's inline elements:
/// `<script nonce="{nonce}">`. Its [`Display`](fmt::Display) is the bare value.
///
/// With the `axum` feature it is an extractor; `Option<CspNonce>` extracts
/// `None` where the layer is missing, `CspNonce` answers 500 in the shared
/// error format (a route that needs a nonce must not render without one).
///
#[cfg_attr(feature = "axum", doc = "```")]
#[cfg_attr(not(feature = "axum"), doc = "```ignore")]
/// use axum::{Router, response::Html, routing::get};
/// use harden_headers::security::{CspNonce, SecurityHeaders, SecurityHeadersLayer};
///
/// async fn page(nonce: CspNonce) -> Html<String> {
///     Html(format!(
///         "<!doctype html><script nonce=\"{nonce}\">console.log('allowed')</script>"
///     ))
/// }
///
/// let headers = SecurityHeaders::helmet().into_builder().csp_nonce(true).build()?;
/// let app: Router = Router::new()
///     .route("/", get(page))
///     .layer(SecurityHeadersLayer::new(headers));
/// # Ok::<(), harden_headers::ConfigError>(())
/// ```
///
/// Outside axum, read it from the request: `req.extensions().get::<CspNonce>()`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CspNonce([u8; NONCE_LEN]);

impl CspNonce {
    /// A fresh nonce from `rand`'s thread RNG (a CSPRNG, reseeded from the OS).
    pub fn generate() -> Self {
        let mut raw = [0u8; 16];
        rand::fill(&mut raw);
        CspNonce(encode(&raw))
    }

    /// The nonce, 24 base64 characters (`A-Z a-z 0-9 + / =`).
    pub fn as_str(&self) -> &str {
        // Only base64 characters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(crate) fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl fmt::Display for CspNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CspNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CspNonce").field(&self.as_str()).finish()
    }
}

/// Standard padded base64 of 16 bytes, written into a fixed array so that
/// there is neither an allocation nor an error path.
fn encode(raw: &[u8; 16]) -> [u8; NONCE_LEN] {
    fn symbol(v: u32) -> u8 {
        // `v` is six bits; the casts cannot truncate.
        let v = (v & 63) as u8;
        match v {
            0..=25 => b'A' + v,
            26..=51 => b'a' + (v - 26),
            52..=61 => b'0' + (v - 52),
            62 => b'+',
            _ => b'/',
        }
    }
    let mut out = [b'='; NONCE_LEN];
    let mut slots = out.iter_mut();
    for chunk in raw.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let group = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        let symbols = chunk.len() + 1;
        for k in 0..4 {
            if let Some(slot) = slots.next()
                && k < symbols
            {
                *slot = symbol(group >> (18 - 6 * k));
            }
        }
    }
    out
}

#[cfg(feature = "axum")]
pub use self::axum_impl::MissingCspNonce;

#[cfg(feature = "axum")]
mod axum_impl {
    use std::convert::Infallible;
    use std::fmt;

    use axum_core::body::Body;
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use harden_core::{ErrorResponse, Rejection};
    use http::StatusCode;
    use http::request::Parts;

    use super::CspNonce;

    /// The rejection of the [`CspNonce`] extractor when the request has no
    /// nonce: the route is not behind a
    /// [`SecurityHeadersLayer`](crate::security::SecurityHeadersLayer) with
    /// nonces on. It answers 500 in the shared error format, with a
    /// [`Rejection`] `security-headers` / `csp-nonce-missing`.
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    #[derive(Debug)]
    pub struct MissingCspNonce {
        response: ErrorResponse,
    }

    impl fmt::Display for MissingCspNonce {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "no CSP nonce on the request: is the route behind a SecurityHeadersLayer \
                 with csp_nonce(true)?",
            )
        }
    }

    impl std::error::Error for MissingCspNonce {}

    impl IntoResponse for MissingCspNonce {
        fn into_response(self) -> Response {
            self.response.into_response::<Body>().map(Body::new)
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for CspNonce {
        type Rejection = MissingCspNonce;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
            parts
                .extensions
                .get::<CspNonce>()
                .copied()
                .ok_or_else(|| MissingCspNonce {
                    response: ErrorResponse::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "CSP nonce missing",
                    )
                    .rejection(Rejection::new("security-headers", "csp-nonce-missing"))
                    .for_request(&parts.extensions),
                })
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for CspNonce {
        type Rejection = Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            Ok(parts.extensions.get::<CspNonce>().copied())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn encoding_matches_standard_base64() {
        for _ in 0..200 {
            let mut raw = [0u8; 16];
            rand::fill(&mut raw);
            assert_eq!(CspNonce(encode(&raw)).as_str(), STANDARD.encode(raw));
        }
        assert_eq!(
            CspNonce(encode(&[0xff; 16])).as_str(),
            "/////////////////////w=="
        );
        assert_eq!(
            CspNonce(encode(&[0; 16])).as_str(),
            "AAAAAAAAAAAAAAAAAAAAAA=="
        );
    }

    #[test]
    fn a_nonce_decodes_to_sixteen_bytes() {
        let n = CspNonce::generate();
        assert_eq!(n.as_str().len(), 24);
        assert_eq!(STANDARD.decode(n.as_str()).unwrap().len(), 16);
        assert_eq!(n.to_string(), n.as_str());
        assert_eq!(format!("{n:?}"), format!("CspNonce(\"{n}\")"));
    }
}
