//! `Origin`, `Access-Control-Request-Method` and `-Request-Headers` from the
//! wire: never a panic, and access is granted only to an origin that is, byte
//! for byte after lowercasing, one of the allowed ones or under the wildcard.
#![no_main]

use harden_headers::cors::{Cors, CorsAction};
use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cors) = Cors::builder()
        .allow_origins(["https://app.example.com", "https://*.example.org:8443"])
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .allow_credentials(true)
        .build()
    else {
        return;
    };
    // The input is split into the three request headers.
    let mut parts = data.splitn(3, |b| *b == 0);
    let origin = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    let names = parts.next().unwrap_or_default();
    let Ok(origin_value) = HeaderValue::from_bytes(origin) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("origin", origin_value);
    if let Ok(v) = HeaderValue::from_bytes(method) {
        headers.insert("access-control-request-method", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(names) {
        headers.insert("access-control-request-headers", v);
    }
    for request_method in [Method::GET, Method::OPTIONS] {
        let decision = cors.check(&request_method, &headers);
        let mut response = HeaderMap::new();
        decision.apply(&mut response);
        if let Some(granted) = response.get("access-control-allow-origin") {
            let lower = String::from_utf8_lossy(origin).to_ascii_lowercase();
            let ok = granted == "https://app.example.com"
                && (lower == "https://app.example.com" || lower == "https://app.example.com:443")
                || (lower.ends_with(".example.org:8443") && lower.starts_with("https://"));
            assert!(ok, "granted {granted:?} to {lower:?}");
        }
        let _ = matches!(decision.action(), CorsAction::Preflight);
    }
});
