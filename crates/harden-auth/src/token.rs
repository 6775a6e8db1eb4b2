//! The checks made on a token before any cryptography: its shape, and its
//! JOSE header.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};

use crate::alg::Algorithm;
use crate::error::AuthError;
use crate::key::MAX_KID_LEN;

/// The longest token accepted, in bytes (8 KiB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The three segments of a compact JWS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segments<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
}

/// Splits a compact JWS after checking its shape: at most 8 KiB, only
/// `[A-Za-z0-9_.-]` (RFC 8725bis §3.14), exactly two dots, no empty segment.
pub(crate) fn split(token: &str) -> Result<Segments<'_>, AuthError> {
    let bytes = token.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed);
    }
    let mut dots = [0usize; 2];
    let mut count = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            b'.' => {
                if let Some(slot) = dots.get_mut(count) {
                    *slot = i;
                }
                count += 1;
            }
            _ => return Err(AuthError::Malformed),
        }
    }
    let [first, second] = dots;
    if count != 2 || first == 0 || second == first + 1 || second + 1 == bytes.len() {
        return Err(AuthError::Malformed);
    }
    // All indices are dot positions inside the ASCII-only token.
    match (
        token.get(..first),
        token.get(first + 1..second),
        token.get(second + 1..),
        token.get(..second),
    ) {
        (Some(header), Some(payload), Some(signature), Some(signing_input)) => Ok(Segments {
            header,
            payload,
            signature,
            signing_input,
        }),
        _ => Err(AuthError::Malformed),
    }
}

/// Decodes one base64url segment (no padding, canonical trailing bits).
pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed)
}

/// The JOSE header members we act on. Every member that would change how the
/// token is processed and that we do not implement is recorded as present,
/// whatever its value, so it can be refused.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default, deserialize_with = "present")]
    b64: bool,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
    #[serde(default, deserialize_with = "present")]
    enc: bool,
    #[serde(default, deserialize_with = "present")]
    zip: bool,
    #[serde(default, deserialize_with = "present")]
    p2c: bool,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The parsed and policy-checked header.
#[derive(Debug)]
pub(crate) struct CheckedHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// Parses the header segment and applies the header policy: a known `alg`
/// (exact case; `none` does not exist), a `kid` of at most 256 bytes, no
/// `crit` (we understand no extensions, RFC 7515 §4.1.11), no `b64`
/// (RFC 7797 is not for JWTs), no JWE members, and no key-carrying members
/// unless `allow_key_headers`.
pub(crate) fn parse_header(
    segment: &str,
    allow_key_headers: bool,
) -> Result<CheckedHeader, AuthError> {
    let json = decode_segment(segment)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)?;
    if header.crit || header.b64 || header.enc || header.zip || header.p2c {
        return Err(AuthError::RefusedHeader);
    }
    if !allow_key_headers && (header.jku || header.jwk || header.x5u || header.x5c) {
        return Err(AuthError::RefusedHeader);
    }
    let alg = Algorithm::from_name(&header.alg).ok_or(AuthError::Algorithm)?;
    if header
        .kid
        .as_ref()
        .is_some_and(|kid| kid.is_empty() || kid.len() > MAX_KID_LEN)
    {
        return Err(AuthError::Malformed);
    }
    Ok(CheckedHeader {
        alg,
        kid: header.kid,
        typ: header.typ,
    })
}

/// Whether a `typ` value names one of `accepted` (RFC 7515 §4.1.9: compared
/// case-insensitively, `application/` implied when there is no `/`).
pub(crate) fn typ_matches(typ: &str, accepted: &[String]) -> bool {
    let bare = strip_application(typ);
    accepted
        .iter()
        .any(|a| strip_application(a).eq_ignore_ascii_case(bare))
}

fn strip_application(typ: &str) -> &str {
    match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(typ),
        _ => typ,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn shape_is_checked_before_decoding() {
        assert!(split("a.b.c").is_ok());
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "..",
            "a..c",
            ".b.c",
            "a.b.",
            "a.b.c=",
            "a.b.c ",
            " a.b.c",
            "a.b+.c",
            "a.b/.c",
            "a.b.c\n",
            "a.{\"b\".c",
            "a.b.ç",
        ] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
        let big = format!("a.{}.c", "b".repeat(MAX_TOKEN_LEN));
        assert!(split(&big).is_err());
        let edge = format!("a.{}.c", "b".repeat(MAX_TOKEN_LEN - 4));
        assert!(split(&edge).is_ok());
    }

    #[test]
    fn refused_header_members_whatever_their_value() {
        for member in ["crit", "b64", "enc", "zip", "p2c"] {
            for value in ["null", "false", "[]", "\"x\""] {
                let h = b64(&format!(r#"{{"alg":"RS256","{member}":{value}}}"#));
                assert_eq!(
                    parse_header(&h, true).unwrap_err(),
                    AuthError::RefusedHeader,
                    "{member}={value}"
                );
            }
        }
        for member in ["jku", "jwk", "x5u", "x5c"] {
            let h = b64(&format!(r#"{{"alg":"RS256","{member}":"https://evil"}}"#));
            assert_eq!(
                parse_header(&h, false).unwrap_err(),
                AuthError::RefusedHeader
            );
            assert!(parse_header(&h, true).is_ok());
        }
    }

    #[test]
    fn alg_none_in_any_case_and_bad_kids_are_refused() {
        for alg in ["none", "None", "NONE", "nOnE", "hs256", ""] {
            let h = b64(&format!(r#"{{"alg":"{alg}"}}"#));
            assert_eq!(
                parse_header(&h, false).unwrap_err(),
                AuthError::Algorithm,
                "{alg}"
            );
        }
        let missing = b64(r#"{"typ":"JWT"}"#);
        assert_eq!(
            parse_header(&missing, false).unwrap_err(),
            AuthError::Malformed
        );
        let dup = b64(r#"{"alg":"HS256","alg":"RS256"}"#);
        assert_eq!(parse_header(&dup, false).unwrap_err(), AuthError::Malformed);
        let long_kid = b64(&format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(257)));
        assert_eq!(
            parse_header(&long_kid, false).unwrap_err(),
            AuthError::Malformed
        );
        let num_kid = b64(r#"{"alg":"RS256","kid":7}"#);
        assert_eq!(
            parse_header(&num_kid, false).unwrap_err(),
            AuthError::Malformed
        );
        let ok = b64(r#"{"alg":"RS256","kid":"../../dev/null"}"#);
        assert_eq!(
            parse_header(&ok, false).unwrap().kid.as_deref(),
            Some("../../dev/null")
        );
    }

    #[test]
    fn typ_comparison_follows_rfc_7515() {
        let accepted = vec!["at+jwt".to_owned()];
        assert!(typ_matches("at+jwt", &accepted));
        assert!(typ_matches("AT+JWT", &accepted));
        assert!(typ_matches("application/at+jwt", &accepted));
        assert!(!typ_matches("JWT", &accepted));
        assert!(!typ_matches("text/at+jwt", &accepted));
    }
}
