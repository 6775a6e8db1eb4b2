//! Content-Security-Policy sources as a configuration file could give them:
//! never a panic, and whatever builds yields a header value that cannot break
//! out of its directive.
#![no_main]

use harden_headers::security::Csp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if let Ok(csp) = Csp::builder().script_src(sources.clone()).build() {
        let value = csp.header_value().to_str().unwrap_or_default().to_owned();
        assert_eq!(value.matches(';').count(), 0, "{value:?}");
        assert!(!value.contains(','), "{value:?}");
    }
});
