//! Request targets and forwarding headers through the HTTPS redirect: never a
//! panic, and every redirect goes to the configured host.
#![no_main]

use harden_core::ip::{PeerAddr, TrustedProxies};
use harden_headers::https::{Decision, HttpsRedirect};
use http::{Extensions, HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(proxies) = TrustedProxies::new(["10.0.0.0/8"]) else {
        return;
    };
    let Ok(redirect) = HttpsRedirect::builder("www.example.com")
        .exempt_prefix("/.well-known/acme-challenge/")
        .trusted_proxies(proxies)
        .build()
    else {
        return;
    };
    let mut parts = data.splitn(2, |b| *b == 0);
    let target = parts.next().unwrap_or_default();
    let proto = parts.next().unwrap_or_default();
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(proto) {
        headers.insert("x-forwarded-proto", v.clone());
        headers.insert("host", v);
    }
    let mut extensions = Extensions::new();
    extensions.insert(PeerAddr(([10, 0, 0, 2], 4000).into()));
    for method in [Method::GET, Method::POST] {
        if let Decision::Redirect(location) = redirect.decide(&method, &uri, &headers, &extensions) {
            let value = location.as_str();
            assert!(
                value.starts_with("https://www.example.com/"),
                "redirected to {value:?}"
            );
            assert!(!value.bytes().any(|b| b.is_ascii_control() || b == b' '));
        }
    }
});
