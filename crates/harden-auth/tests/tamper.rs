//! Any single-byte change to a valid token is refused: never accepted, never
//! a panic. Checked exhaustively over the token alphabet and, with proptest,
//! over every byte value, for RS256, HS256 and ES256.
//!
//! A changed base64url character can leave the decoded bytes unchanged when
//! only unused trailing bits move; the strict decoder refuses such
//! non-canonical encodings, so those changes must be refused too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;

use std::sync::LazyLock;

use harden_auth::{Algorithm, AuthLayer, JwtVerifier};
use http::StatusCode;
use proptest::prelude::*;
use support::*;

/// A fixed "now" (2027-01-15) for `verify_at`.
const T0: i64 = 1_800_000_000;

struct Case {
    verifier: JwtVerifier,
    token: String,
}

fn case(alg: Algorithm) -> Case {
    let key = TestKey::new(alg, &format!("k-{alg}"));
    let verifier = verifier(&[&key]);
    let token = key.token(&claims_at(T0));
    // Verified once, so the cache holds the original while the changed
    // tokens are tried.
    verifier.verify_at(&token, at(T0)).unwrap();
    Case { verifier, token }
}

static CASES: LazyLock<[Case; 3]> = LazyLock::new(|| {
    [
        case(Algorithm::RS256),
        case(Algorithm::HS256),
        case(Algorithm::ES256),
    ]
});

/// The token with byte `index` replaced by `byte`, if that is still a string.
fn changed(token: &str, index: usize, byte: u8) -> Option<String> {
    let mut bytes = token.as_bytes().to_vec();
    if bytes[index] == byte {
        return None;
    }
    bytes[index] = byte;
    String::from_utf8(bytes).ok()
}

/// Every position, every character of the token alphabet `[A-Za-z0-9_.-]`
/// and a few separators: the changes most likely to decode.
#[test]
fn every_single_character_change_is_refused() {
    let alphabet: Vec<u8> = (b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .chain(b'0'..=b'9')
        .chain(*b"-_.=+/ \t")
        .collect();
    for case in CASES.iter() {
        let mut tried = 0u32;
        for index in 0..case.token.len() {
            for &byte in &alphabet {
                let Some(token) = changed(&case.token, index, byte) else {
                    continue;
                };
                tried += 1;
                if let Ok(v) = case.verifier.verify_at(&token, at(T0)) {
                    panic!(
                        "accepted a token changed at byte {index} ({:?} → {:?}): {token}\nclaims {:?}",
                        char::from(case.token.as_bytes()[index]),
                        char::from(byte),
                        v.claims
                    );
                }
            }
        }
        assert!(tried > 10_000, "{tried} changes tried");
        // The original is still good (and was not evicted by the attempts).
        case.verifier.verify_at(&case.token, at(T0)).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any byte value at any position, through `verify_at`.
    #[test]
    fn any_single_byte_change_is_refused(which in 0usize..3, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let case = &CASES[which];
        let index = position.index(case.token.len());
        // A non-ASCII byte in an ASCII string is invalid UTF-8: no `&str`
        // can carry it (the layer test below sends it as header bytes).
        if let Some(token) = changed(&case.token, index, byte) {
            prop_assert!(case.verifier.verify_at(&token, at(T0)).is_err(), "accepted: {}", token);
        }
    }

    /// Any byte value at any position of the `Authorization` header, through
    /// `AuthLayer`: a 401, never a 200 or a 5xx.
    #[test]
    fn any_single_byte_change_in_the_header_is_a_401(which in 0usize..3, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let alg = [Algorithm::RS256, Algorithm::HS256, Algorithm::ES256][which];
        let key = TestKey::new(alg, "k");
        let layer = AuthLayer::builder(verifier(&[&key])).build().unwrap();
        let token = key.token(&claims());
        let mut value = format!("Bearer {token}").into_bytes();
        let index = 7 + position.index(token.len());
        prop_assume!(value[index] != byte);
        value[index] = byte;
        prop_assume!(http::HeaderValue::from_bytes(&value).is_ok());
        let res = send(&layer, authorization(&value));
        prop_assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{:?}", String::from_utf8_lossy(&value));
    }
}
