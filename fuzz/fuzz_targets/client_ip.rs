//! X-Forwarded-For, X-Forwarded-Proto and RFC 7239 Forwarded, from a trusted
//! and an untrusted peer: never a panic, and an untrusted peer's headers are
//! never believed.
#![no_main]

use harden_core::ip::{ForwardedHeader, TrustedProxies};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let Ok(xff) = TrustedProxies::new(["10.0.0.0/8", "fd00::/8"]) else {
        return;
    };
    let fwd = xff.clone().header(ForwardedHeader::Forwarded);
    for name in ["x-forwarded-for", "forwarded", "x-forwarded-proto"] {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.clone());
        headers.append(name, value.clone());
        for proxies in [&xff, &fwd] {
            for peer in ["10.0.0.2", "203.0.113.1", "fd00::1"] {
                let Ok(peer) = peer.parse() else { return };
                let client = proxies.resolve(peer, &headers);
                let _ = proxies.forwarded_scheme(peer, &headers);
                let addr = client.addr();
                assert!(
                    addr == peer || proxies.is_trusted(peer),
                    "an untrusted peer's headers were believed"
                );
                let _ = client.key();
            }
        }
    }
});
