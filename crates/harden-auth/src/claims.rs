//! Verified claims: the registered ones, typed strictly, and your own.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

/// The latest date accepted in a NumericDate claim: 9999-12-31T23:59:59Z.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// Custom claims for when you need none: accepts any payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoClaims;

impl<'de> Deserialize<'de> for NoClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| NoClaims)
    }
}

/// The claims of a verified token: the registered claims every verifier
/// checks, and your own `T` (deserialised with serde, so a derived struct
/// refuses duplicate members — never make authorization decisions from a
/// `serde_json::Value`, where the last duplicate silently wins).
///
/// Cloning is cheap: the claims are shared.
pub struct Claims<T = NoClaims> {
    inner: Arc<ClaimsInner<T>>,
}

pub(crate) struct ClaimsInner<T> {
    pub(crate) issuer: String,
    pub(crate) subject: Option<String>,
    pub(crate) audience: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) not_before: Option<i64>,
    pub(crate) issued_at: Option<i64>,
    pub(crate) jwt_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) custom: T,
}

impl<T> Clone for Claims<T> {
    fn clone(&self) -> Self {
        Claims {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Claims<T> {
    pub(crate) fn new(inner: ClaimsInner<T>) -> Self {
        Claims {
            inner: Arc::new(inner),
        }
    }

    /// `iss`: the issuer that signed the token (always one of the verifier's).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// `sub`: the subject.
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// `aud`: the audiences (a single string becomes one entry).
    pub fn audience(&self) -> &[String] {
        &self.inner.audience
    }

    /// `exp`, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }

    /// `nbf`, in seconds since the Unix epoch.
    pub fn not_before(&self) -> Option<i64> {
        self.inner.not_before
    }

    /// `iat`, in seconds since the Unix epoch.
    pub fn issued_at(&self) -> Option<i64> {
        self.inner.issued_at
    }

    /// `jti`: the token id.
    pub fn jwt_id(&self) -> Option<&str> {
        self.inner.jwt_id.as_deref()
    }

    /// `sid`: the session id.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session_id.as_deref()
    }

    /// The granted scopes: the space-separated `scope` claim (RFC 9068)
    /// together with the `scp` claim (an array or a space-separated string),
    /// sorted and without duplicates.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The granted roles: the `roles` claim (an array or a space-separated
    /// string), sorted and without duplicates.
    pub fn roles(&self) -> &[String] {
        &self.inner.roles
    }

    /// Whether `scope` was granted (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner
            .scopes
            .binary_search_by(|s| s.as_str().cmp(scope))
            .is_ok()
    }

    /// Whether `role` was granted (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.inner
            .roles
            .binary_search_by(|r| r.as_str().cmp(role))
            .is_ok()
    }

    /// Your own claims.
    pub fn custom(&self) -> &T {
        &self.inner.custom
    }
}

impl<T: fmt::Debug> fmt::Debug for Claims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &*self.inner;
        f.debug_struct("Claims")
            .field("iss", &c.issuer)
            .field("sub", &c.subject)
            .field("aud", &c.audience)
            .field("exp", &c.expires_at)
            .field("scopes", &c.scopes)
            .field("roles", &c.roles)
            .field("custom", &c.custom)
            .finish_non_exhaustive()
    }
}

/// The registered claims, as they must be typed. A member of the wrong type
/// fails the whole token (a wrong-typed `iss` or `aud` must never skip a check,
/// CVE-2026-25537's pattern); a member given twice fails too.
#[derive(Debug, Deserialize)]
pub(crate) struct Registered {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Option<Audience>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    pub(crate) jti: Option<String>,
    pub(crate) sid: Option<String>,
    pub(crate) scope: Option<SpaceList>,
    pub(crate) scp: Option<SpaceList>,
    pub(crate) roles: Option<SpaceList>,
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, fractions allowed,
/// between the epoch's year 0 bound and 9999-12-31. Strings, booleans and
/// out-of-range numbers are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumericDate(pub(crate) i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate (seconds since the epoch)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                if (-MAX_NUMERIC_DATE..=MAX_NUMERIC_DATE).contains(&v) {
                    Ok(NumericDate(v))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("NumericDate out of range"))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                let limit = MAX_NUMERIC_DATE as f64;
                if v.is_finite() && (-limit..=limit).contains(&v) {
                    // In range, so the cast is exact after flooring.
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `aud`: one string, or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Audience(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StringsVisitor { split: false })
            .map(Audience)
    }
}

/// A list given as an array of strings or as one space-separated string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SpaceList(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for SpaceList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StringsVisitor { split: true })
            .map(SpaceList)
    }
}

struct StringsVisitor {
    split: bool,
}

impl<'de> Visitor<'de> for StringsVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        Ok(if self.split {
            v.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            vec![v.to_owned()]
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<String>()? {
            out.push(item);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Registered, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn wrong_types_fail_instead_of_skipping_checks() {
        for json in [
            r#"{"iss":123}"#,
            r#"{"iss":["evil","good"]}"#,
            r#"{"aud":42}"#,
            r#"{"aud":[1]}"#,
            r#"{"exp":"9999999999"}"#,
            r#"{"exp":true}"#,
            r#"{"exp":1e300}"#,
            r#"{"exp":18446744073709551615}"#,
            r#"{"nbf":"0"}"#,
            r#"{"iat":"0"}"#,
            r#"{"scope":7}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"sub":"a","sub":"b"}"#,
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }

    #[test]
    fn numeric_dates_accept_fractions_and_nulls_are_absent() {
        let r = parse(r#"{"exp":1700000000.9,"nbf":null,"iat":1700000000}"#).unwrap();
        assert_eq!(r.exp, Some(NumericDate(1_700_000_000)));
        assert_eq!(r.nbf, None);
        assert_eq!(r.iat, Some(NumericDate(1_700_000_000)));
    }

    #[test]
    fn scopes_split_on_spaces_audiences_do_not() {
        let r = parse(r#"{"scope":"a  b c","scp":["d e"],"aud":"x y"}"#).unwrap();
        assert_eq!(r.scope.unwrap().0, ["a", "b", "c"]);
        assert_eq!(r.scp.unwrap().0, ["d e"]);
        assert_eq!(r.aud.unwrap().0, ["x y"]);
    }
}
