//! Adding a field to `Vary` without duplicating it.

use http::header::VARY;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Adds `field` to the response's `Vary` unless it is already listed (in any
/// case, on any `Vary` line) or `Vary: *` is present.
///
/// Layers whose output depends on a request header (CORS on `Origin`,
/// compression on `Accept-Encoding`) call this on every response they touch, so
/// that shared caches key on the header.
///
/// ```
/// use harden_core::vary::append_vary;
/// use http::{HeaderMap, header::{ORIGIN, VARY}};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(VARY, "accept-encoding".parse()?);
/// append_vary(&mut headers, ORIGIN);
/// append_vary(&mut headers, ORIGIN);
/// let all: Vec<_> = headers.get_all(VARY).iter().collect();
/// assert_eq!(all, ["accept-encoding", "origin"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn append_vary(headers: &mut HeaderMap, field: HeaderName) {
    let listed = headers.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|item| item == "*" || item.eq_ignore_ascii_case(field.as_str()))
        })
    });
    if !listed {
        headers.append(VARY, HeaderValue::from(field));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};

    fn vary(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn adds_to_an_empty_map() {
        let mut h = HeaderMap::new();
        append_vary(&mut h, ORIGIN);
        assert_eq!(vary(&h), ["origin"]);
    }

    #[test]
    fn never_duplicates_in_any_case_or_position() {
        let mut h = HeaderMap::new();
        h.append(VARY, HeaderValue::from_static("Accept, ORIGIN"));
        append_vary(&mut h, ORIGIN);
        assert_eq!(vary(&h), ["Accept, ORIGIN"]);
        append_vary(&mut h, ACCESS_CONTROL_REQUEST_METHOD);
        assert_eq!(
            vary(&h),
            ["Accept, ORIGIN", "access-control-request-method"]
        );
    }

    #[test]
    fn vary_star_already_covers_everything() {
        let mut h = HeaderMap::new();
        h.append(VARY, HeaderValue::from_static("*"));
        append_vary(&mut h, ORIGIN);
        assert_eq!(vary(&h), ["*"]);
    }
}
