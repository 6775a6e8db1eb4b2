//! Incoming request ids: accepted only when plain, never a panic.
#![no_main]

use harden_core::RequestId;
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    if let Some(id) = RequestId::from_header(&value) {
        let s = id.as_str();
        assert!(!s.is_empty() && s.len() <= 128);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        );
    }
});
